// pbtool: offline tools on pbchain data (no network).
//
//   pbtool hash-header HEX                  hash, target, pow check and work of
//                                           an 80-byte header
//   pbtool merkle-root TXID...              merkle root of display-hex txids
//   pbtool keygen --out FILE                a new Ed25519 wallet key file
//   pbtool genesis --out FILE [options]     a genesis file for a new network
//   pbtool verify-db --datadir DIR          replay and check a datadir
//   pbtool inspect --datadir DIR [--json]   tip, work and counts of a datadir
//   pbtool export / import                  a datadir's chain as JSON and back
//   pbtool backup / restore                 RocksDB backups of a datadir
//
// Exit codes: 0 success, 1 runtime failure (I/O, a datadir that does not
// open or does not verify), 2 bad usage or bad input.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "chain/block.h"
#include "chain/chain_state.h"
#include "chain/keys.h"
#include "chain/params.h"
#include "chain/pow.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"
#include "proto/convert.h"
#include "storage/rocksdb_store.h"
#include "storage/verify.h"

namespace pbchain {
namespace {

constexpr char kUsage[] = R"(pbtool: offline tools for pbchain data

Usage:
  pbtool hash-header HEX
      HEX is an 80-byte block header as 160 hex chars (Bitcoin's layout).
      Prints one JSON object: hash (display hex, byte-reversed), target (hex),
      meets_target (bool), work (decimal string).
  pbtool merkle-root TXID...
      Prints the merkle root (display hex) of the txids (display hex), in order.
  pbtool keygen --out FILE
      Writes a new Ed25519 key as JSON {seed, public_key, address} to FILE
      (mode 0600; refuses to overwrite). Prints the address.
  pbtool genesis --out FILE [--chain-id ID] [--target-interval-ms N]
                 [--alloc ADDRESS=AMOUNT]... [--bits 0xBITS] [--pow-limit-bits 0xBITS]
                 [--reward N] [--difficulty-window N] [--genesis-time UNIX]
                 [--max-future-block-time-s N]
      Writes a genesis file. Defaults: chain id pbchain-devnet, 2000 ms target
      interval, bits 0x1f00ffff (about 65536 hashes a block: a laptop mines the
      first blocks at once, then the LWMA retarget raises the difficulty),
      pow limit 0x207fffff, reward 50, window 45, genesis time = now.
      --alloc may repeat. Prints the genesis hash.

Datadir commands (a datadir is the directory a node keeps its chain in; a
datadir in use by a running node is locked and refused: a running node makes
its own backups):
  pbtool verify-db --datadir DIR
      Replays the stored active chain from genesis with full validation and
      checks that the stored block index, height index, accounts, records and
      tip agree with the replay. Progress on stderr. Prints what it checked,
      then OK or one line per mismatch (exit 1).
  pbtool inspect --datadir DIR [--json]
      Height, tip hash, chain work, genesis hash, chain id, counts of blocks,
      index entries, accounts and records, and size on disk (--json: one
      JSON object).
  pbtool export --datadir DIR --out FILE.json
      Writes the active chain as {"format":"pbchain-export-v1","genesis":
      {...},"blocks":[...]} (blocks from height 1 in protobuf's JSON mapping).
      Refuses to overwrite FILE.
  pbtool import --datadir NEWDIR --in FILE.json
      Creates NEWDIR (which must not exist) with the file's genesis and
      validates and connects every block in order. On the first bad block it
      names it, removes NEWDIR and exits 1.
  pbtool backup --datadir DIR --to BACKUPDIR [--keep N]
      Adds an incremental backup of DIR to BACKUPDIR and keeps the newest N
      (default 5). Prints the new backup's id and the backups kept.
  pbtool restore --from BACKUPDIR --datadir NEWDIR
      Restores the newest backup into NEWDIR, which must not exist.

  pbtool help
)";

int Fail(int code, const std::string& message) {
  std::cerr << "pbtool: " << message << "\n";
  return code;
}

int HashHeader(const std::vector<std::string>& args) {
  if (args.size() != 1)
    return Fail(2, "hash-header takes exactly one argument: 160 hex chars");
  const std::string& hex = args[0];
  if (hex.size() != 2 * kHeaderSize) {
    return Fail(2, absl::StrCat("header must be 160 hex chars (80 bytes), got ",
                                hex.size()));
  }
  absl::StatusOr<Bytes> raw = HexDecode(hex);
  if (!raw.ok())
    return Fail(2, absl::StrCat("header is not hex: ", raw.status().message()));
  BlockHeader header = *BlockHeader::Parse(*raw);
  CompactDecode target = DecodeCompact(header.bits);
  bool valid_target =
      !target.negative && !target.overflow && !target.target.IsZero();
  Hash256 hash = header.Hash();
  nlohmann::ordered_json out;
  out["hash"] = hash.ToDisplayHex();
  out["target"] = target.target.ToHex();
  out["meets_target"] = valid_target && HashMeetsTarget(hash, target.target);
  out["work"] = valid_target ? BlockWork(target.target).ToDecimal() : "0";
  std::cout << out.dump() << "\n";
  return 0;
}

int MerkleRoot(const std::vector<std::string>& args) {
  if (args.empty()) return Fail(2, "merkle-root needs at least one txid");
  std::vector<Hash256> ids;
  for (const std::string& a : args) {
    absl::StatusOr<Hash256> h = Hash256::FromDisplayHex(a);
    if (!h.ok())
      return Fail(2,
                  absl::StrCat("bad txid '", a, "': ", h.status().message()));
    ids.push_back(*h);
  }
  bool mutated = false;
  Hash256 root = ComputeMerkleRoot(ids, &mutated);
  std::cout << root.ToDisplayHex() << "\n";
  if (mutated)
    std::cerr
        << "pbtool: warning: duplicate txids: a block with them is invalid\n";
  return 0;
}

// Parses "--name value" pairs; `repeated` names may appear more than once.
struct Options {
  std::vector<std::pair<std::string, std::string>> values;
  const std::string* Get(const std::string& name) const {
    for (auto it = values.rbegin(); it != values.rend(); ++it) {
      if (it->first == name) return &it->second;
    }
    return nullptr;
  }
};

// `flags` are options without a value (present = "true").
bool ParseOptions(const std::vector<std::string>& args,
                  const std::vector<std::string>& known, Options& out,
                  std::string& error,
                  const std::vector<std::string>& flags = {}) {
  for (size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i], value;
    if (name.rfind("--", 0) != 0) {
      error = absl::StrCat("unexpected argument '", name, "'");
      return false;
    }
    if (std::find(flags.begin(), flags.end(), name.substr(2)) != flags.end()) {
      out.values.emplace_back(name.substr(2), "true");
      continue;
    }
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      error = absl::StrCat(name, " needs a value");
      return false;
    }
    name = name.substr(2);
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      error = absl::StrCat("unknown option --", name);
      return false;
    }
    out.values.emplace_back(name, value);
  }
  return true;
}

bool ParseU64(const std::string& text, uint64_t& out) {
  if (text.rfind("0x", 0) == 0 || text.rfind("0X", 0) == 0) {
    return absl::SimpleHexAtoi(text.substr(2), &out);
  }
  return absl::SimpleAtoi(text, &out);
}

int WriteNewFile(const std::string& path, const std::string& content,
                 mode_t mode) {
  struct stat st;
  if (stat(path.c_str(), &st) == 0)
    return Fail(1, absl::StrCat(path, " exists; not overwriting"));
  std::ofstream out(path);
  if (!out || !(out << content) || !(out.flush()))
    return Fail(1, absl::StrCat("cannot write ", path));
  out.close();
  chmod(path.c_str(), mode);
  return 0;
}

int Keygen(const std::vector<std::string>& args) {
  Options opts;
  std::string error;
  if (!ParseOptions(args, {"out"}, opts, error)) return Fail(2, error);
  const std::string* out = opts.Get("out");
  if (out == nullptr) return Fail(2, "keygen needs --out FILE");
  absl::StatusOr<PrivateKey> generated = PrivateKey::Generate();
  if (!generated.ok())
    return Fail(1, std::string(generated.status().message()));
  const PrivateKey& key = *generated;
  nlohmann::ordered_json j;
  j["seed"] = HexEncode(key.seed());
  j["public_key"] = HexEncode(key.public_key());
  j["address"] = AddressFromPublicKey(key.public_key()).ToText();
  if (int rc = WriteNewFile(*out, j.dump(2) + "\n", 0600); rc != 0) return rc;
  std::cout << j["address"].get<std::string>() << "\n";
  return 0;
}

int Genesis(const std::vector<std::string>& args) {
  Options opts;
  std::string error;
  if (!ParseOptions(args,
                    {"out", "chain-id", "target-interval-ms", "alloc", "bits",
                     "pow-limit-bits", "reward", "difficulty-window",
                     "genesis-time", "max-future-block-time-s"},
                    opts, error)) {
    return Fail(2, error);
  }
  const std::string* out = opts.Get("out");
  if (out == nullptr) return Fail(2, "genesis needs --out FILE");

  nlohmann::ordered_json j;
  j["chain_id"] = "pbchain-devnet";
  j["target_interval_ms"] = 2000;
  j["genesis_time"] = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  j["genesis_bits"] = "0x1f00ffff";
  j["pow_limit_bits"] = "0x207fffff";
  j["block_reward"] = 50;
  j["difficulty_window"] = 45;
  j["max_future_block_time_s"] = 15;
  j["genesis_nonce"] = 0;
  j["allocations"] = nlohmann::ordered_json::array();
  struct Numeric {
    const char* option;
    const char* field;
    bool hex;
  };
  for (const Numeric& n :
       {Numeric{"target-interval-ms", "target_interval_ms", false},
        Numeric{"bits", "genesis_bits", true},
        Numeric{"pow-limit-bits", "pow_limit_bits", true},
        Numeric{"reward", "block_reward", false},
        Numeric{"difficulty-window", "difficulty_window", false},
        Numeric{"genesis-time", "genesis_time", false},
        Numeric{"max-future-block-time-s", "max_future_block_time_s", false}}) {
    if (const std::string* v = opts.Get(n.option)) {
      uint64_t value;
      if (!ParseU64(*v, value))
        return Fail(2, absl::StrCat("--", n.option, ": not a number: ", *v));
      if (n.hex) {
        j[n.field] = *v;
      } else {
        j[n.field] = value;
      }
    }
  }
  if (const std::string* v = opts.Get("chain-id")) j["chain_id"] = *v;
  for (const auto& [name, value] : opts.values) {
    if (name != "alloc") continue;
    std::vector<std::string> parts =
        absl::StrSplit(value, absl::MaxSplits('=', 1));
    uint64_t amount;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &amount)) {
      return Fail(
          2, absl::StrCat("--alloc wants ADDRESS=AMOUNT, got '", value, "'"));
    }
    j["allocations"].push_back({{"address", parts[0]}, {"amount", amount}});
  }
  absl::StatusOr<ChainParams> params = ChainParams::FromJson(j.dump());
  if (!params.ok()) return Fail(2, std::string(params.status().message()));
  if (absl::Status s = MineGenesis(*params); !s.ok())
    return Fail(2, std::string(s.message()));
  if (int rc = WriteNewFile(*out, params->ToJson(), 0644); rc != 0) return rc;
  std::cout << MakeGenesisBlock(*params).Hash().ToDisplayHex() << "\n";
  return 0;
}

// --- datadir commands -------------------------------------------------------

// One line for a status: its code name and message.
std::string StatusLine(const absl::Status& s) {
  return absl::StrCat(absl::StatusCodeToString(s.code()), ": ", s.message());
}

// Parses the options of a datadir command and checks that every name in
// `required` is present. Returns 0 or the exit code (2) after printing why.
int ParseDatadirOptions(const std::string& command,
                        const std::vector<std::string>& args,
                        const std::vector<std::string>& known,
                        const std::vector<std::string>& required, Options& opts,
                        const std::vector<std::string>& flags = {}) {
  std::string error;
  if (!ParseOptions(args, known, opts, error, flags))
    return Fail(2, absl::StrCat(command, ": ", error));
  for (const std::string& name : required) {
    if (opts.Get(name) == nullptr || opts.Get(name)->empty())
      return Fail(2, absl::StrCat(command, " needs --", name));
  }
  return 0;
}

// An existing datadir opened for reading: the store and the chain state on
// it (members destroyed in reverse order: the chain before its store).
struct OpenedDatadir {
  std::unique_ptr<RocksChainStore> store;
  std::unique_ptr<ChainState> chain;
};

// Opens DIR without creating it, with the genesis parameters it stores.
absl::StatusOr<OpenedDatadir> OpenDatadir(const std::string& dir) {
  OpenedDatadir out;
  RocksStoreOptions options;
  options.create_if_missing = false;
  absl::StatusOr<std::unique_ptr<RocksChainStore>> store =
      RocksChainStore::Open(dir, options);
  if (!store.ok()) return store.status();
  out.store = *std::move(store);
  absl::StatusOr<ChainParams> params = LoadStoredParams(*out.store);
  if (!params.ok()) return params.status();
  absl::StatusOr<std::unique_ptr<ChainState>> chain =
      ChainState::Create(*std::move(params), out.store.get());
  if (!chain.ok()) return chain.status();
  out.chain = *std::move(chain);
  return out;
}

bool PathExists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec) || ec;
}

int VerifyDb(const std::vector<std::string>& args) {
  Options opts;
  if (int rc = ParseDatadirOptions("verify-db", args, {"datadir"}, {"datadir"},
                                   opts);
      rc != 0) {
    return rc;
  }
  uint64_t last_printed = 0;
  auto progress = [&last_printed](uint64_t done, uint64_t total) {
    // Every 1000 blocks, every 5% and at the end.
    bool step = total > 0 && done * 20 / total > last_printed * 20 / total;
    if (done == total || step || done >= last_printed + 1000) {
      std::cerr << "verify-db: " << done << "/" << total << " blocks\n";
      last_printed = done;
    }
  };
  absl::StatusOr<VerifyReport> report =
      VerifyDatadir(*opts.Get("datadir"), progress);
  if (!report.ok())
    return Fail(1, absl::StrCat("verify-db: ", StatusLine(report.status())));
  std::cout << "height:          " << report->height << "\n"
            << "tip:             " << report->tip.ToDisplayHex() << "\n"
            << "blocks replayed: " << report->blocks_replayed << "\n"
            << "transactions:    " << report->transactions << "\n"
            << "index entries:   " << report->index_entries << "\n"
            << "accounts:        " << report->accounts << "\n"
            << "records:         " << report->records << "\n"
            << "address index:   " << report->address_index_entries
            << " entries\n";
  if (report->ok()) {
    std::cout << "OK\n";
    return 0;
  }
  for (const std::string& m : report->mismatches) {
    std::cout << "MISMATCH: " << m << "\n";
  }
  std::cout << "FAILED: " << report->mismatches.size() << " mismatch(es)\n";
  return 1;
}

int Inspect(const std::vector<std::string>& args) {
  Options opts;
  if (int rc = ParseDatadirOptions("inspect", args, {"datadir"}, {"datadir"},
                                   opts, {"json"});
      rc != 0) {
    return rc;
  }
  const std::string& dir = *opts.Get("datadir");
  absl::StatusOr<OpenedDatadir> d = OpenDatadir(dir);
  if (!d.ok())
    return Fail(1, absl::StrCat("inspect: ", StatusLine(d.status())));
  absl::StatusOr<StoreStats> stats = d->store->Stats();
  if (!stats.ok())
    return Fail(1, absl::StrCat("inspect: ", StatusLine(stats.status())));
  TipInfo tip = d->chain->Tip();
  nlohmann::ordered_json j;
  j["datadir"] = dir;
  j["chain_id"] = d->chain->params().chain_id;
  j["genesis_hash"] = d->chain->genesis_hash().ToDisplayHex();
  j["height"] = tip.height;
  j["tip"] = tip.hash.ToDisplayHex();
  j["chain_work"] = tip.chain_work.ToDecimal();
  j["blocks"] = stats->blocks;
  j["index_entries"] = stats->index_entries;
  j["accounts"] = stats->accounts;
  j["records"] = stats->records;
  j["address_index_entries"] = stats->address_index_entries;
  j["bytes_on_disk"] = stats->bytes_on_disk;
  if (opts.Get("json") != nullptr) {
    std::cout << j.dump() << "\n";
    return 0;
  }
  std::cout << "datadir:       " << dir << "\n"
            << "chain id:      " << d->chain->params().chain_id << "\n"
            << "genesis:       " << d->chain->genesis_hash().ToDisplayHex()
            << "\n"
            << "height:        " << tip.height << "\n"
            << "tip:           " << tip.hash.ToDisplayHex() << "\n"
            << "chain work:    " << tip.chain_work.ToDecimal() << "\n"
            << "blocks:        " << stats->blocks << "\n"
            << "index entries: " << stats->index_entries << "\n"
            << "accounts:      " << stats->accounts << "\n"
            << "records:       " << stats->records << "\n"
            << "address index: " << stats->address_index_entries << " entries\n"
            << "size on disk:  " << stats->bytes_on_disk << " bytes\n";
  return 0;
}

constexpr char kExportFormat[] = "pbchain-export-v1";

// Writes all of `data` to `f`; false on a short write.
bool WriteAll(FILE* f, const std::string& data) {
  return std::fwrite(data.data(), 1, data.size(), f) == data.size();
}

int Export(const std::vector<std::string>& args) {
  Options opts;
  if (int rc = ParseDatadirOptions("export", args, {"datadir", "out"},
                                   {"datadir", "out"}, opts);
      rc != 0) {
    return rc;
  }
  const std::string& out_path = *opts.Get("out");
  if (PathExists(out_path))
    return Fail(2,
                absl::StrCat("export: ", out_path, " exists; not overwriting"));
  absl::StatusOr<OpenedDatadir> d = OpenDatadir(*opts.Get("datadir"));
  if (!d.ok()) return Fail(1, absl::StrCat("export: ", StatusLine(d.status())));

  // "x": fail rather than overwrite a file created since the check above.
  FILE* f = std::fopen(out_path.c_str(), "wx");
  if (f == nullptr) {
    return Fail(errno == EEXIST ? 2 : 1,
                absl::StrCat("export: cannot create ", out_path, ": ",
                             std::strerror(errno)));
  }
  auto fail = [&](const std::string& why) {
    std::fclose(f);
    std::error_code ec;
    std::filesystem::remove(out_path, ec);
    return Fail(1, absl::StrCat("export: ", why, " (", out_path, " removed)"));
  };

  nlohmann::ordered_json header;
  header["format"] = kExportFormat;
  header["genesis"] = nlohmann::ordered_json::parse(
      d->chain->params().ToJson(), nullptr, /*allow_exceptions=*/false);
  std::string head = header.dump();
  head.pop_back();  // the closing brace: the blocks follow
  if (!WriteAll(f, head + ",\"blocks\":[")) return fail("write failed");

  google::protobuf::util::JsonPrintOptions print;
  print.preserve_proto_field_names = true;
  const uint32_t height = d->chain->Tip().height;
  for (uint32_t h = 1; h <= height; ++h) {
    std::optional<Hash256> hash = d->chain->ActiveHashAt(h);
    if (!hash.has_value())
      return fail(absl::StrCat("no active block at height ", h));
    absl::StatusOr<Block> block = d->chain->GetBlock(*hash);
    if (!block.ok()) {
      return fail(absl::StrCat("block at height ", h, ": ",
                               StatusLine(block.status())));
    }
    std::string json;
    auto st = google::protobuf::util::MessageToJsonString(BlockToProto(*block),
                                                          &json, print);
    if (!st.ok()) return fail(absl::StrCat("height ", h, ": ", st.ToString()));
    if (!WriteAll(f, absl::StrCat(h == 1 ? "\n" : ",\n", json)))
      return fail("write failed");
    if (h % 1000 == 0 || h == height)
      std::cerr << "export: " << h << "/" << height << " blocks\n";
  }
  if (!WriteAll(f, "\n]}\n") || std::fflush(f) != 0 || fsync(fileno(f)) != 0)
    return fail("write failed");
  if (std::fclose(f) != 0) {
    std::error_code ec;
    std::filesystem::remove(out_path, ec);
    return Fail(1, absl::StrCat("export: cannot write ", out_path));
  }
  std::cout << "exported " << height << " blocks (tip "
            << d->chain->Tip().hash.ToDisplayHex() << ") to " << out_path
            << "\n";
  return 0;
}

// Reads an export file in two streaming passes (the file is never held in
// memory as a whole, and its keys may come in any order): the first reads
// "format" and "genesis" and skips the blocks, the second creates the
// datadir and feeds it the blocks one by one as the parser meets them.
class Importer {
 public:
  explicit Importer(std::string datadir) : datadir_(std::move(datadir)) {}

  // Runs both passes over `path`. Returns the error to report, or "" if
  // every block was connected.
  std::string Run(const std::string& path) {
    for (Pass pass : {Pass::kHeader, Pass::kBlocks}) {
      pass_ = pass;
      key_.clear();
      std::ifstream in(path, std::ios::binary);
      if (!in) return absl::StrCat("cannot read ", path);
      nlohmann::json::parser_callback_t callback =
          [this](int depth, nlohmann::json::parse_event_t event,
                 nlohmann::json& parsed) {
            return OnEvent(depth, event, parsed);
          };
      nlohmann::json rest =
          nlohmann::json::parse(in, callback, /*allow_exceptions=*/false);
      if (!error_.empty()) return error_;
      if (rest.is_discarded()) return absl::StrCat(path, " is not valid JSON");
      if (pass == Pass::kHeader) {
        if (!saw_format_) return "no \"format\" field";
        if (genesis_.empty()) return "no \"genesis\" object";
        if (!Start()) return error_;
      }
    }
    return "";
  }

  uint64_t blocks() const { return blocks_; }
  ChainState* chain() const { return chain_.get(); }

  // Closes the datadir (before it is removed).
  void Close() {
    chain_.reset();
    store_.reset();
  }

 private:
  enum class Pass { kHeader, kBlocks };

  // The nlohmann parser callback. Returns false to drop values already used
  // (each block, and everything after an error).
  bool OnEvent(int depth, nlohmann::json::parse_event_t event,
               nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (!error_.empty()) return false;
    if (depth == 1 && event == Event::key) {
      key_ = parsed.get<std::string>();
      return true;
    }
    const bool complete = event == Event::value || event == Event::object_end ||
                          event == Event::array_end;
    if (depth == 1 && complete && key_ == "format") {
      if (pass_ == Pass::kHeader) {
        saw_format_ = true;
        if (!parsed.is_string() || parsed.get<std::string>() != kExportFormat) {
          error_ = absl::StrCat("not a ", kExportFormat, " file (format is ",
                                parsed.dump(), ")");
        }
      }
      return false;
    }
    if (depth == 1 && complete && key_ == "genesis") {
      if (pass_ == Pass::kHeader) {
        if (!parsed.is_object()) {
          error_ = "\"genesis\" is not an object";
        } else {
          genesis_ = parsed.dump();
        }
      }
      return false;
    }
    if (depth == 1 && complete && key_ == "blocks" && !parsed.is_array() &&
        !parsed.is_discarded()) {
      error_ = "\"blocks\" is not an array";
      return false;
    }
    if (depth == 2 && key_ == "blocks" && complete) {
      if (pass_ == Pass::kBlocks) {
        if (event == Event::object_end) {
          ImportBlock(parsed);
        } else {
          error_ = absl::StrCat("block ", blocks_, " (height ", blocks_ + 1,
                                "): not a JSON object");
        }
      }
      return false;
    }
    return true;
  }

  // Creates the datadir with the genesis of the file.
  bool Start() {
    absl::StatusOr<ChainParams> params = ParseGenesis(genesis_);
    if (!params.ok()) {
      error_ = absl::StrCat("genesis: ", params.status().message());
      return false;
    }
    absl::StatusOr<std::unique_ptr<RocksChainStore>> store =
        RocksChainStore::Open(datadir_);
    if (!store.ok()) {
      error_ = StatusLine(store.status());
      return false;
    }
    store_ = *std::move(store);
    absl::StatusOr<std::unique_ptr<ChainState>> chain =
        ChainState::Create(*std::move(params), store_.get());
    if (!chain.ok()) {
      error_ = StatusLine(chain.status());
      return false;
    }
    chain_ = *std::move(chain);
    return true;
  }

  void ImportBlock(const nlohmann::json& parsed) {
    const uint64_t index = blocks_;
    const uint64_t height = index + 1;
    auto bad = [&](const std::string& why) {
      error_ = absl::StrCat("block ", index, " (height ", height, "): ", why);
    };
    v1::Block msg;
    google::protobuf::util::JsonParseOptions options;
    auto st = google::protobuf::util::JsonStringToMessage(parsed.dump(), &msg,
                                                          options);
    if (!st.ok()) return bad(absl::StrCat("not a Block: ", st.ToString()));
    absl::StatusOr<Block> block = BlockFromProto(msg);
    if (!block.ok()) return bad(std::string(block.status().message()));
    absl::StatusOr<AcceptResult> result = chain_->AcceptBlock(*block);
    if (!result.ok()) return bad(StatusLine(result.status()));
    const std::string hash = block->Hash().ToDisplayHex();
    switch (result->status) {
      case AcceptStatus::kActive:
        break;
      case AcceptStatus::kInvalid:
        return bad(
            absl::StrCat(hash, " invalid: ", result->validation.ToString()));
      case AcceptStatus::kSideBranch:
        return bad(absl::StrCat(hash, " does not extend the active chain"));
      case AcceptStatus::kAlreadyKnown:
        return bad(absl::StrCat(hash, " appears twice"));
    }
    if (chain_->Tip().height != height) {
      return bad(absl::StrCat("the tip is at height ", chain_->Tip().height,
                              " after it"));
    }
    ++blocks_;
    if (blocks_ % 1000 == 0) std::cerr << "import: " << blocks_ << " blocks\n";
  }

  const std::string datadir_;
  Pass pass_ = Pass::kHeader;
  std::string key_;  // the top-level key being parsed
  bool saw_format_ = false;
  std::string genesis_;
  std::string error_;
  uint64_t blocks_ = 0;
  std::unique_ptr<RocksChainStore> store_;
  std::unique_ptr<ChainState> chain_;
};

int Import(const std::vector<std::string>& args) {
  Options opts;
  if (int rc = ParseDatadirOptions("import", args, {"datadir", "in"},
                                   {"datadir", "in"}, opts);
      rc != 0) {
    return rc;
  }
  const std::string& dir = *opts.Get("datadir");
  const std::string& in_path = *opts.Get("in");
  if (PathExists(dir)) {
    return Fail(2, absl::StrCat("import: ", dir,
                                " exists; import only into a new datadir"));
  }
  if (!std::ifstream(in_path, std::ios::binary))
    return Fail(2, absl::StrCat("import: cannot read ", in_path));

  Importer importer(dir);
  std::string error = importer.Run(in_path);
  if (!error.empty()) {
    importer.Close();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return Fail(1, absl::StrCat("import: ", error, " (", dir, " removed)"));
  }
  TipInfo tip = importer.chain()->Tip();
  std::cerr << "import: " << importer.blocks() << " blocks\n";
  std::cout << "imported " << importer.blocks() << " blocks into " << dir
            << ": height " << tip.height << ", tip " << tip.hash.ToDisplayHex()
            << "\n";
  return 0;
}

std::string FormatUnix(int64_t seconds) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(seconds),
                          absl::UTCTimeZone());
}

int Backup(const std::vector<std::string>& args) {
  Options opts;
  if (int rc = ParseDatadirOptions("backup", args, {"datadir", "to", "keep"},
                                   {"datadir", "to"}, opts);
      rc != 0) {
    return rc;
  }
  int keep = 5;
  if (const std::string* v = opts.Get("keep");
      v != nullptr && (!absl::SimpleAtoi(*v, &keep) || keep < 1)) {
    return Fail(
        2, absl::StrCat("backup: --keep wants a number >= 1, got '", *v, "'"));
  }
  const std::string& to = *opts.Get("to");
  RocksStoreOptions options;
  options.create_if_missing = false;
  absl::StatusOr<std::unique_ptr<RocksChainStore>> store =
      RocksChainStore::Open(*opts.Get("datadir"), options);
  if (!store.ok())
    return Fail(1, absl::StrCat("backup: ", StatusLine(store.status())));
  absl::StatusOr<uint32_t> id = (*store)->Backup(to, keep);
  if (!id.ok())
    return Fail(1, absl::StrCat("backup: ", StatusLine(id.status())));
  store->reset();
  std::cout << "backup " << *id << " written to " << to << "\n";
  absl::StatusOr<std::vector<BackupInfo>> list = ListBackups(to);
  if (!list.ok())
    return Fail(1, absl::StrCat("backup: ", StatusLine(list.status())));
  std::cout << "backups kept (oldest first):\n";
  for (const BackupInfo& b : *list) {
    std::cout << "  " << b.id << "  " << FormatUnix(b.timestamp) << "  "
              << b.size << " bytes\n";
  }
  return 0;
}

int Restore(const std::vector<std::string>& args) {
  Options opts;
  if (int rc = ParseDatadirOptions("restore", args, {"from", "datadir"},
                                   {"from", "datadir"}, opts);
      rc != 0) {
    return rc;
  }
  const std::string& dir = *opts.Get("datadir");
  if (PathExists(dir)) {
    return Fail(2, absl::StrCat("restore: ", dir,
                                " exists; restore only into a new datadir"));
  }
  if (absl::Status s = RestoreBackup(*opts.Get("from"), dir); !s.ok())
    return Fail(1, absl::StrCat("restore: ", StatusLine(s)));
  absl::StatusOr<OpenedDatadir> d = OpenDatadir(dir);
  if (!d.ok()) {
    return Fail(1, absl::StrCat("restore: the restored datadir does not open: ",
                                StatusLine(d.status())));
  }
  TipInfo tip = d->chain->Tip();
  std::cout << "restored " << dir << ": height " << tip.height << ", tip "
            << tip.hash.ToDisplayHex() << "\n";
  return 0;
}

}  // namespace
}  // namespace pbchain

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "--help" ||
      args[0] == "-h") {
    std::cout << pbchain::kUsage;
    return args.empty() ? 2 : 0;
  }
  std::string command = args[0];
  args.erase(args.begin());
  if (command == "hash-header") return pbchain::HashHeader(args);
  if (command == "merkle-root") return pbchain::MerkleRoot(args);
  if (command == "keygen") return pbchain::Keygen(args);
  if (command == "genesis") return pbchain::Genesis(args);
  if (command == "verify-db") return pbchain::VerifyDb(args);
  if (command == "inspect") return pbchain::Inspect(args);
  if (command == "export") return pbchain::Export(args);
  if (command == "import") return pbchain::Import(args);
  if (command == "backup") return pbchain::Backup(args);
  if (command == "restore") return pbchain::Restore(args);
  std::cerr << "pbtool: unknown command '" << command
            << "' (try 'pbtool help')\n";
  return 2;
}
