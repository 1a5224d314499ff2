// pbtool: offline tools on pbchain data (no network), and `scan`, which
// looks for nodes on a subnet.
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
//   pbtool tls-ca / tls-cert                a TLS CA and the certificates it
//                                           signs (tools/pbtool/tls_certs.h)
//   pbtool scan CIDR [--ports LOW-HIGH]     pbchain nodes on a subnet
//                                           (tools/pbtool/scan.h; network)
//
// `pbtool help COMMAND` or `pbtool COMMAND --help` explains one command;
// the command line is parsed by CLI11 (client/cli_app.h). Exit codes
// (common/exit_codes.h): 0 success, 1 runtime failure (I/O, a datadir that
// does not open or does not verify), 2 bad usage or bad input.
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
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "chain/block.h"
#include "chain/chain_state.h"
#include "chain/keys.h"
#include "chain/params.h"
#include "chain/pow.h"
#include "client/cli_app.h"
#include "common/exit_codes.h"
#include "common/status_macros.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"
#include "proto/convert.h"
#include "storage/rocksdb_store.h"
#include "storage/verify.h"
#include "tools/pbtool/scan.h"
#include "tools/pbtool/tls_certs.h"

namespace pbchain {
namespace {

// The text of each command, as `pbtool help COMMAND` and `pbtool COMMAND
// --help` print it; `pbtool --help` prints them all, in this order.
struct CommandText {
  const char* name;
  const char* text;
};
constexpr CommandText kOfflineCommands[] = {
    {"hash-header", R"(  pbtool hash-header HEX
      HEX is an 80-byte block header as 160 hex chars (Bitcoin's layout).
      Prints one JSON object: hash (display hex, byte-reversed), target (hex),
      meets_target (bool), work (decimal string).
)"},
    {"merkle-root", R"(  pbtool merkle-root TXID...
      Prints the merkle root (display hex) of the txids (display hex), in order.
)"},
    {"keygen", R"(  pbtool keygen --out FILE
      Writes a new Ed25519 key as JSON {seed, public_key, address} to FILE
      (mode 0600; refuses to overwrite). Prints the address.
)"},
    {"genesis",
     R"(  pbtool genesis --out FILE [--chain-id ID] [--target-interval-ms N]
                 [--alloc ADDRESS=AMOUNT]... [--bits 0xBITS] [--pow-limit-bits 0xBITS]
                 [--reward N] [--difficulty-window N] [--genesis-time UNIX]
                 [--max-future-block-time-s N]
      Writes a genesis file. Defaults: chain id pbchain-devnet, 2000 ms target
      interval, bits 0x1f00ffff (about 65536 hashes a block: a laptop mines the
      first blocks at once, then the LWMA retarget raises the difficulty),
      pow limit 0x207fffff, reward 50, window 45, genesis time = now.
      --alloc may repeat. Prints the genesis hash.
)"},
};
constexpr CommandText kTlsCommands[] = {
    {"tls-ca",
     R"(  pbtool tls-ca --out DIR [--name CN] [--key-type p256|ed25519] [--days N]
                [--force]
      Makes a private certificate authority for a network's TLS: DIR/ca.crt
      (give it to every node, tracker and client as --tls-ca / --tls-client-ca)
      and DIR/ca.key (mode 0600; keep it offline). Defaults: CN "pbchain CA",
      P-256, 3650 days. Refuses to overwrite unless --force.
)"},
    {"tls-cert",
     R"(  pbtool tls-cert --ca DIR --name NAME [--ip ADDR]... [--dns HOST]...
                  --out DIR [--key-type p256|ed25519] [--days N] [--force]
      Makes DIR/NAME.crt and DIR/NAME.key (0600), signed by the CA in --ca DIR,
      for serverAuth and clientAuth: one certificate serves as --tls-cert and
      --tls-client-cert. The --ip and --dns entries (each may repeat) are the
      names clients check: list every address peers dial (e.g. --ip 127.0.0.1).
      Defaults: P-256, 365 days (never beyond the CA's end). Refuses to
      overwrite unless --force.
)"},
};
constexpr CommandText kDatadirCommands[] = {
    {"verify-db", R"(  pbtool verify-db --datadir DIR
      Replays the stored active chain from genesis with full validation and
      checks that the stored block index, height index, accounts, records and
      tip agree with the replay. Progress on stderr. Prints what it checked,
      then OK or one line per mismatch (exit 1). Opens DIR read-only: works
      on a snapshot, read-only media and a running node's datadir.
)"},
    {"inspect", R"(  pbtool inspect --datadir DIR [--json]
      Height, tip hash, chain work, genesis hash, chain id, counts of blocks,
      index entries, accounts and records, and size on disk (--json: one
      JSON object). Opens DIR read-only, as verify-db (a schema-1 datadir is
      upgraded first, read-write).
)"},
    {"export", R"(  pbtool export --datadir DIR --out FILE.json
      Writes the active chain as {"format":"pbchain-export-v1","genesis":
      {...},"blocks":[...]} (blocks from height 1 in protobuf's JSON mapping).
      Refuses to overwrite FILE.
)"},
    {"import", R"(  pbtool import --datadir NEWDIR --in FILE.json
      Creates NEWDIR (which must not exist) with the file's genesis and
      validates and connects every block in order. On the first bad block it
      names it, removes NEWDIR and exits 1.
)"},
    {"backup", R"(  pbtool backup --datadir DIR --to BACKUPDIR [--keep N]
      Adds an incremental backup of DIR to BACKUPDIR and keeps the newest N
      (default 5). Prints the new backup's id and the backups kept.
)"},
    {"restore", R"(  pbtool restore --from BACKUPDIR --datadir NEWDIR
      Restores the newest backup into NEWDIR, which must not exist.
)"},
};

// pbtool --help (every command), and the text of each command.
const cli::HelpTexts& HelpTexts() {
  static const auto* texts = [] {
    std::string usage = "pbtool: offline tools for pbchain data\n\nUsage:\n";
    auto* t = new cli::HelpTexts;
    for (const CommandText& c : kOfflineCommands) {
      absl::StrAppend(&usage, c.text);
      (*t)[c.name] = c.text;
    }
    absl::StrAppend(&usage,
                    "\nTLS certificates (see docs/OPERATIONS.md, TLS):\n");
    for (const CommandText& c : kTlsCommands) {
      absl::StrAppend(&usage, c.text);
      (*t)[c.name] = c.text;
    }
    absl::StrAppend(
        &usage,
        "\nDatadir commands (a datadir is the directory a node keeps its "
        "chain in; a\ndatadir in use by a running node is locked and "
        "refused: a running node makes\nits own backups):\n");
    for (const CommandText& c : kDatadirCommands) {
      absl::StrAppend(&usage, c.text);
      (*t)[c.name] = c.text;
    }
    // --- pbtool scan (tools/pbtool/scan.h) ---
    absl::StrAppend(&usage,
                    "\nNetwork (see docs/OPERATIONS.md, LAN "
                    "discovery):\n",
                    scan::kScanHelp);
    (*t)["scan"] = scan::kScanHelp;
    // --- end pbtool scan ---
    absl::StrAppend(&usage,
                    "\n  pbtool help [COMMAND]     (the same: pbtool COMMAND "
                    "--help)\n  pbtool --version\n\nOptions may come in any "
                    "order after the command. Exit codes: 0 success,\n1 "
                    "runtime failure, 2 bad usage or bad input.\n");
    (*t)[""] = usage;
    return t;
  }();
  return *texts;
}

int Fail(int code, const std::string& message) {
  std::cerr << "pbtool: " << message << "\n";
  return code;
}

int HashHeader(const std::vector<std::string>& args) {
  if (args.size() != 1)
    return Fail(kExitUsage,
                "hash-header takes exactly one argument: 160 hex chars");
  const std::string& hex = args[0];
  if (hex.size() != 2 * kHeaderSize) {
    return Fail(kExitUsage,
                absl::StrCat("header must be 160 hex chars (80 bytes), got ",
                             hex.size()));
  }
  absl::StatusOr<Bytes> raw = HexDecode(hex);
  if (!raw.ok())
    return Fail(kExitUsage,
                absl::StrCat("header is not hex: ", raw.status().message()));
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
  return kExitOk;
}

int MerkleRoot(const std::vector<std::string>& args) {
  if (args.empty())
    return Fail(kExitUsage, "merkle-root needs at least one txid");
  std::vector<Hash256> ids;
  for (const std::string& a : args) {
    absl::StatusOr<Hash256> h = Hash256::FromDisplayHex(a);
    if (!h.ok())
      return Fail(kExitUsage,
                  absl::StrCat("bad txid '", a, "': ", h.status().message()));
    ids.push_back(*h);
  }
  bool mutated = false;
  Hash256 root = ComputeMerkleRoot(ids, &mutated);
  std::cout << root.ToDisplayHex() << "\n";
  if (mutated)
    std::cerr
        << "pbtool: warning: duplicate txids: a block with them is invalid\n";
  return kExitOk;
}

// The options given to a command, in command-line order (--alloc may
// repeat; flags have the value "true").
struct Options {
  std::vector<std::pair<std::string, std::string>> values;
  // The last value of --name, or nullptr.
  const std::string* Get(const std::string& name) const {
    for (auto it = values.rbegin(); it != values.rend(); ++it) {
      if (it->first == name) return &it->second;
    }
    return nullptr;
  }
};

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
    return Fail(kExitFailure, absl::StrCat(path, " exists; not overwriting"));
  std::ofstream out(path);
  if (!out || !(out << content) || !(out.flush()))
    return Fail(kExitFailure, absl::StrCat("cannot write ", path));
  out.close();
  chmod(path.c_str(), mode);
  return kExitOk;
}

int Keygen(const Options& opts) {
  const std::string& out = *opts.Get("out");
  absl::StatusOr<PrivateKey> generated = PrivateKey::Generate();
  if (!generated.ok())
    return Fail(kExitFailure, std::string(generated.status().message()));
  const PrivateKey& key = *generated;
  nlohmann::ordered_json j;
  j["seed"] = HexEncode(key.seed());
  j["public_key"] = HexEncode(key.public_key());
  j["address"] = AddressFromPublicKey(key.public_key()).ToText();
  if (int rc = WriteNewFile(out, j.dump(2) + "\n", 0600); rc != 0) return rc;
  std::cout << j["address"].get<std::string>() << "\n";
  return kExitOk;
}

int Genesis(const Options& opts) {
  const std::string& out = *opts.Get("out");

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
        return Fail(kExitUsage,
                    absl::StrCat("--", n.option, ": not a number: ", *v));
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
  if (!params.ok())
    return Fail(kExitUsage, std::string(params.status().message()));
  if (absl::Status s = MineGenesis(*params); !s.ok())
    return Fail(kExitUsage, std::string(s.message()));
  if (int rc = WriteNewFile(out, params->ToJson(), 0644); rc != 0) return rc;
  std::cout << MakeGenesisBlock(*params).Hash().ToDisplayHex() << "\n";
  return kExitOk;
}

// --- datadir commands -------------------------------------------------------

// One line for a status: its code name and message.
std::string StatusLine(const absl::Status& s) {
  return absl::StrCat(absl::StatusCodeToString(s.code()), ": ", s.message());
}

// An existing datadir opened for reading: the store and the chain state on
// it (members destroyed in reverse order: the chain before its store).
struct OpenedDatadir {
  std::unique_ptr<RocksChainStore> store;
  std::unique_ptr<ChainState> chain;
};

// Opens DIR without creating it, with the genesis parameters it stores.
// `read_only`: without writing a file (read-only media, a live node's
// datadir), except that a schema-1 datadir, which only a read-write open
// can upgrade, is opened read-write once.
absl::StatusOr<OpenedDatadir> OpenDatadir(const std::string& dir,
                                          bool read_only = false) {
  OpenedDatadir out;
  RocksStoreOptions options;
  options.create_if_missing = false;
  options.read_only = read_only;
  absl::StatusOr<std::unique_ptr<RocksChainStore>> opened =
      RocksChainStore::Open(dir, options);
  if (read_only && absl::IsFailedPrecondition(opened.status()) &&
      absl::StrContains(opened.status().message(), kNeedsUpgrade)) {
    options.read_only = false;
    opened = RocksChainStore::Open(dir, options);
  }
  PBCHAIN_ASSIGN_OR_RETURN(std::unique_ptr<RocksChainStore> store,
                           std::move(opened));
  out.store = std::move(store);
  PBCHAIN_ASSIGN_OR_RETURN(ChainParams params, LoadStoredParams(*out.store));
  PBCHAIN_ASSIGN_OR_RETURN(
      std::unique_ptr<ChainState> chain,
      ChainState::Create(std::move(params), out.store.get()));
  out.chain = std::move(chain);
  return out;
}

bool PathExists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec) || ec;
}

int VerifyDb(const Options& opts) {
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
    return Fail(kExitFailure,
                absl::StrCat("verify-db: ", StatusLine(report.status())));
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
    return kExitOk;
  }
  for (const std::string& m : report->mismatches) {
    std::cout << "MISMATCH: " << m << "\n";
  }
  std::cout << "FAILED: " << report->mismatches.size() << " mismatch(es)\n";
  return kExitFailure;
}

int Inspect(const Options& opts) {
  const std::string& dir = *opts.Get("datadir");
  absl::StatusOr<OpenedDatadir> d = OpenDatadir(dir, /*read_only=*/true);
  if (!d.ok())
    return Fail(kExitFailure,
                absl::StrCat("inspect: ", StatusLine(d.status())));
  absl::StatusOr<StoreStats> stats = d->store->Stats();
  if (!stats.ok())
    return Fail(kExitFailure,
                absl::StrCat("inspect: ", StatusLine(stats.status())));
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
    return kExitOk;
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
  return kExitOk;
}

constexpr char kExportFormat[] = "pbchain-export-v1";

// Writes all of `data` to `f`; false on a short write.
bool WriteAll(FILE* f, const std::string& data) {
  return std::fwrite(data.data(), 1, data.size(), f) == data.size();
}

int Export(const Options& opts) {
  const std::string& out_path = *opts.Get("out");
  if (PathExists(out_path))
    return Fail(kExitUsage,
                absl::StrCat("export: ", out_path, " exists; not overwriting"));
  absl::StatusOr<OpenedDatadir> d = OpenDatadir(*opts.Get("datadir"));
  if (!d.ok())
    return Fail(kExitFailure, absl::StrCat("export: ", StatusLine(d.status())));

  // "x": fail rather than overwrite a file created since the check above.
  FILE* f = std::fopen(out_path.c_str(), "wx");
  if (f == nullptr) {
    return Fail(errno == EEXIST ? kExitUsage : kExitFailure,
                absl::StrCat("export: cannot create ", out_path, ": ",
                             std::strerror(errno)));
  }
  auto fail = [&](const std::string& why) {
    std::fclose(f);
    std::error_code ec;
    std::filesystem::remove(out_path, ec);
    return Fail(kExitFailure,
                absl::StrCat("export: ", why, " (", out_path, " removed)"));
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
    return Fail(kExitFailure, absl::StrCat("export: cannot write ", out_path));
  }
  std::cout << "exported " << height << " blocks (tip "
            << d->chain->Tip().hash.ToDisplayHex() << ") to " << out_path
            << "\n";
  return kExitOk;
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

int Import(const Options& opts) {
  const std::string& dir = *opts.Get("datadir");
  const std::string& in_path = *opts.Get("in");
  if (PathExists(dir)) {
    return Fail(kExitUsage,
                absl::StrCat("import: ", dir,
                             " exists; import only into a new datadir"));
  }
  if (!std::ifstream(in_path, std::ios::binary))
    return Fail(kExitUsage, absl::StrCat("import: cannot read ", in_path));

  Importer importer(dir);
  std::string error = importer.Run(in_path);
  if (!error.empty()) {
    importer.Close();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return Fail(kExitFailure,
                absl::StrCat("import: ", error, " (", dir, " removed)"));
  }
  TipInfo tip = importer.chain()->Tip();
  std::cerr << "import: " << importer.blocks() << " blocks\n";
  std::cout << "imported " << importer.blocks() << " blocks into " << dir
            << ": height " << tip.height << ", tip " << tip.hash.ToDisplayHex()
            << "\n";
  return kExitOk;
}

std::string FormatUnix(int64_t seconds) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(seconds),
                          absl::UTCTimeZone());
}

int Backup(const Options& opts) {
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
    return Fail(kExitFailure,
                absl::StrCat("backup: ", StatusLine(store.status())));
  absl::StatusOr<uint32_t> id = (*store)->Backup(to, keep);
  if (!id.ok())
    return Fail(kExitFailure,
                absl::StrCat("backup: ", StatusLine(id.status())));
  store->reset();
  std::cout << "backup " << *id << " written to " << to << "\n";
  absl::StatusOr<std::vector<BackupInfo>> list = ListBackups(to);
  if (!list.ok())
    return Fail(kExitFailure,
                absl::StrCat("backup: ", StatusLine(list.status())));
  std::cout << "backups kept (oldest first):\n";
  for (const BackupInfo& b : *list) {
    std::cout << "  " << b.id << "  " << FormatUnix(b.timestamp) << "  "
              << b.size << " bytes\n";
  }
  return kExitOk;
}

int Restore(const Options& opts) {
  const std::string& dir = *opts.Get("datadir");
  if (PathExists(dir)) {
    return Fail(kExitUsage,
                absl::StrCat("restore: ", dir,
                             " exists; restore only into a new datadir"));
  }
  if (absl::Status s = RestoreBackup(*opts.Get("from"), dir); !s.ok())
    return Fail(kExitFailure, absl::StrCat("restore: ", StatusLine(s)));
  absl::StatusOr<OpenedDatadir> d = OpenDatadir(dir);
  if (!d.ok()) {
    return Fail(kExitFailure,
                absl::StrCat("restore: the restored datadir does not open: ",
                             StatusLine(d.status())));
  }
  TipInfo tip = d->chain->Tip();
  std::cout << "restored " << dir << ": height " << tip.height << ", tip "
            << tip.hash.ToDisplayHex() << "\n";
  return kExitOk;
}

// The exit code of a tls-ca / tls-cert failure: 2 for bad input (options,
// the CA directory, a file that exists), 1 for the rest.
int TlsFail(const std::string& command, const absl::Status& s) {
  const bool usage = absl::IsInvalidArgument(s) || absl::IsAlreadyExists(s);
  return Fail(usage ? kExitUsage : kExitFailure,
              absl::StrCat(command, ": ", s.message()));
}

// The --key-type and --days of a tls command into `key_type` and `days`.
absl::Status TlsCommonOptions(const Options& opts, tlsgen::KeyType& key_type,
                              int& days) {
  if (const std::string* k = opts.Get("key-type")) {
    absl::StatusOr<tlsgen::KeyType> parsed = tlsgen::ParseKeyType(*k);
    if (!parsed.ok()) return parsed.status();
    key_type = *parsed;
  }
  if (const std::string* d = opts.Get("days")) {
    if (!absl::SimpleAtoi(*d, &days)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--days '", *d, "': not a number"));
    }
  }
  return absl::OkStatus();
}

void PrintWritten(const tlsgen::Written& w, tlsgen::KeyType type) {
  std::cout << "wrote " << w.cert_path << " (" << tlsgen::KeyTypeName(type)
            << ", valid until "
            << absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", w.not_after,
                                absl::UTCTimeZone())
            << (w.clipped_to_ca ? ", the CA's end" : "") << ") and "
            << w.key_path << " (mode 0600)\n";
}

int TlsCa(const Options& opts) {
  tlsgen::CaOptions options;
  options.out_dir = *opts.Get("out");
  if (const std::string* name = opts.Get("name")) options.name = *name;
  options.force = opts.Get("force") != nullptr;
  if (absl::Status s = TlsCommonOptions(opts, options.key_type, options.days);
      !s.ok()) {
    return TlsFail("tls-ca", s);
  }
  absl::StatusOr<tlsgen::Written> w = tlsgen::MakeCa(options);
  if (!w.ok()) return TlsFail("tls-ca", w.status());
  PrintWritten(*w, options.key_type);
  return kExitOk;
}

int TlsCert(const Options& opts) {
  tlsgen::CertOptions options;
  options.ca_dir = *opts.Get("ca");
  options.name = *opts.Get("name");
  options.out_dir = *opts.Get("out");
  options.force = opts.Get("force") != nullptr;
  for (const auto& [name, value] : opts.values) {
    if (name == "ip") options.ips.push_back(value);
    if (name == "dns") options.dns.push_back(value);
  }
  if (absl::Status s = TlsCommonOptions(opts, options.key_type, options.days);
      !s.ok()) {
    return TlsFail("tls-cert", s);
  }
  absl::StatusOr<tlsgen::Written> w = tlsgen::MakeCert(options);
  if (!w.ok()) return TlsFail("tls-cert", w.status());
  PrintWritten(*w, options.key_type);
  if (options.ips.empty() && options.dns.empty()) {
    std::cerr << "pbtool: note: no --ip or --dns: the certificate names no "
                 "address, so it can only identify a client\n";
  }
  return kExitOk;
}

// Parses the command line and runs its command; returns the exit code.
int Main(int argc, char** argv) {
  CLI::App app;
  cli::CommandLine line(app, "pbtool", HelpTexts());
  std::vector<std::string> args;
  Options opts;
  // --NAME VALUE of `command`, kept in opts in command-line order.
  auto value = [&opts](CLI::App* command, const std::string& name,
                       const std::string& type) {
    return command
        ->add_option_function<std::string>("--" + name,
                                           [&opts, name](const std::string& v) {
                                             opts.values.emplace_back(name, v);
                                           })
        ->type_name(type)
        ->trigger_on_parse();
  };
  // A --NAME that must be given, not empty.
  auto required = [&value](CLI::App* command, const std::string& name,
                           const std::string& type) {
    return value(command, name, type)->required()->check(cli::NonEmpty());
  };

  using Command = int (*)(const Options&);
  std::map<const CLI::App*, Command> commands;
  CLI::App* hash_header = line.AddCommand("hash-header", &args);
  CLI::App* merkle_root = line.AddCommand("merkle-root", &args);
  CLI::App* keygen = line.AddCommand("keygen", &args);
  required(keygen, "out", "FILE");
  commands[keygen] = Keygen;
  CLI::App* genesis = line.AddCommand("genesis", &args);
  required(genesis, "out", "FILE");
  for (const char* name :
       {"chain-id", "target-interval-ms", "bits", "pow-limit-bits", "reward",
        "difficulty-window", "genesis-time", "max-future-block-time-s"}) {
    value(genesis, name, "VALUE");
  }
  value(genesis, "alloc", "ADDRESS=AMOUNT");  // may repeat: kept in order
  commands[genesis] = Genesis;
  CLI::App* verify_db = line.AddCommand("verify-db", &args);
  required(verify_db, "datadir", "DIR");
  commands[verify_db] = VerifyDb;
  CLI::App* inspect = line.AddCommand("inspect", &args);
  required(inspect, "datadir", "DIR");
  inspect
      ->add_flag_callback("--json",
                          [&opts] { opts.values.emplace_back("json", "true"); })
      ->disable_flag_override();
  commands[inspect] = Inspect;
  CLI::App* export_command = line.AddCommand("export", &args);
  required(export_command, "datadir", "DIR");
  required(export_command, "out", "FILE.json");
  commands[export_command] = Export;
  CLI::App* import = line.AddCommand("import", &args);
  required(import, "datadir", "NEWDIR");
  required(import, "in", "FILE.json");
  commands[import] = Import;
  CLI::App* backup = line.AddCommand("backup", &args);
  required(backup, "datadir", "DIR");
  required(backup, "to", "BACKUPDIR");
  value(backup, "keep", "N");
  commands[backup] = Backup;
  CLI::App* restore = line.AddCommand("restore", &args);
  required(restore, "from", "BACKUPDIR");
  required(restore, "datadir", "NEWDIR");
  commands[restore] = Restore;
  auto force_flag = [&opts](CLI::App* command) {
    command
        ->add_flag_callback(
            "--force", [&opts] { opts.values.emplace_back("force", "true"); })
        ->disable_flag_override();
  };
  CLI::App* tls_ca = line.AddCommand("tls-ca", &args);
  required(tls_ca, "out", "DIR");
  value(tls_ca, "name", "CN");
  value(tls_ca, "key-type", "p256|ed25519");
  value(tls_ca, "days", "N");
  force_flag(tls_ca);
  commands[tls_ca] = TlsCa;
  CLI::App* tls_cert = line.AddCommand("tls-cert", &args);
  required(tls_cert, "ca", "DIR");
  required(tls_cert, "name", "NAME");
  required(tls_cert, "out", "DIR");
  value(tls_cert, "ip", "ADDR");   // may repeat
  value(tls_cert, "dns", "HOST");  // may repeat
  value(tls_cert, "key-type", "p256|ed25519");
  value(tls_cert, "days", "N");
  force_flag(tls_cert);
  commands[tls_cert] = TlsCert;

  // --- pbtool scan (tools/pbtool/scan.h) ---
  CLI::App* scan_command = line.AddCommand("scan", &args);
  for (const char* name : {"ports", "timeout", "rate", "tls-ca",
                           "tls-client-cert", "tls-client-key"}) {
    value(scan_command, name, "VALUE");
  }
  scan_command
      ->add_flag_callback("--json",
                          [&opts] { opts.values.emplace_back("json", "true"); })
      ->disable_flag_override();
  // --- end pbtool scan ---

  if (std::optional<int> done = line.Parse(argc, argv)) return *done;
  if (line.command() == nullptr) {
    std::cout << HelpTexts().at("");
    return kExitUsage;
  }
  if (line.command() == hash_header) return HashHeader(args);
  if (line.command() == merkle_root) return MerkleRoot(args);
  if (line.command() == scan_command) {  // --- pbtool scan ---
    if (!line.CheckArgCount(1, 1)) return kExitUsage;
    scan::ScanCommandOptions scan_options;
    scan_options.cidr = args[0];
    auto get = [&opts](const char* name, std::string* out) {
      if (const std::string* v = opts.Get(name)) *out = *v;
    };
    get("ports", &scan_options.ports);
    get("timeout", &scan_options.timeout_ms);
    get("rate", &scan_options.rate);
    get("tls-ca", &scan_options.tls.ca);
    get("tls-client-cert", &scan_options.tls.cert);
    get("tls-client-key", &scan_options.tls.key);
    scan_options.json = opts.Get("json") != nullptr;
    return scan::RunScanCommand(scan_options, std::cout, std::cerr);
  }
  if (!line.CheckArgCount(0, 0)) return kExitUsage;
  return commands.at(line.command())(opts);
}

}  // namespace
}  // namespace pbchain

int main(int argc, char** argv) { return pbchain::Main(argc, argv); }
