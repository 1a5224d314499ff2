// pbtool: offline tools on pbchain data (no network).
//
//   pbtool hash-header HEX                 hash, target, pow check and work of
//   an 80-byte header pbtool merkle-root TXID...             merkle root of
//   display-hex txids pbtool keygen --out FILE               a new Ed25519
//   wallet key file (mode 0600) pbtool genesis --out FILE [options]    a
//   genesis file for a new network
//
// Exit codes: 0 success, 1 runtime failure (I/O), 2 bad usage or bad input.
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "chain/block.h"
#include "chain/keys.h"
#include "chain/params.h"
#include "chain/pow.h"
#include "nlohmann/json.hpp"

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

bool ParseOptions(const std::vector<std::string>& args,
                  const std::vector<std::string>& known, Options& out,
                  std::string& error) {
  for (size_t i = 0; i < args.size(); ++i) {
    std::string name = args[i], value;
    if (name.rfind("--", 0) != 0) {
      error = absl::StrCat("unexpected argument '", name, "'");
      return false;
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
  std::cerr << "pbtool: unknown command '" << command
            << "' (try 'pbtool help')\n";
  return 2;
}
