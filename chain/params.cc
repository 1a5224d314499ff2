#include "chain/params.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "chain/consensus.h"
#include "chain/pow.h"
#include "chain/pow_search.h"
#include "nlohmann/json.hpp"

namespace pbchain {
namespace {

using Json = nlohmann::json;

absl::Status FieldError(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("genesis field '", field, "': ", what));
}

// Reads an unsigned integer field that may be a JSON number or a "0x..." /
// decimal string (bits are easier to read in hex).
absl::Status GetUint(const Json& j, const char* field, uint64_t max,
                     uint64_t& out, bool required = true) {
  if (!j.contains(field)) {
    return required ? FieldError(field, "missing") : absl::OkStatus();
  }
  const Json& v = j.at(field);
  uint64_t value = 0;
  if (v.is_number_unsigned()) {
    value = v.get<uint64_t>();
  } else if (v.is_number_integer()) {
    if (v.get<int64_t>() < 0) return FieldError(field, "must not be negative");
    value = v.get<uint64_t>();
  } else if (v.is_string()) {
    // Strictly decimal digits, or 0x followed by hex digits: no sign, no
    // spaces, no octal (a client in another language must read the same).
    const std::string s = v.get<std::string>();
    const bool hex =
        s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    const std::string digits = hex ? s.substr(2) : s;
    const bool well_formed =
        !digits.empty() &&
        std::all_of(digits.begin(), digits.end(), [&](char c) {
          return hex ? std::isxdigit(static_cast<unsigned char>(c)) != 0
                     : (c >= '0' && c <= '9');
        });
    if (!well_formed)
      return FieldError(field, "not a decimal or 0x-hex number");
    try {
      value = std::stoull(digits, nullptr, hex ? 16 : 10);
    } catch (...) {
      return FieldError(field, "out of range");
    }
  } else {
    return FieldError(field, "must be a number");
  }
  if (value > max) return FieldError(field, absl::StrCat("exceeds ", max));
  out = value;
  return absl::OkStatus();
}

}  // namespace

std::string ChainParams::CanonicalText() const {
  std::string out = absl::StrFormat(
      "pbchain-genesis-v1 chain_id=%s target_interval_ms=%d genesis_time=%u "
      "genesis_bits=0x%08x pow_limit_bits=0x%08x block_reward=%u "
      "difficulty_window=%d max_future_block_time_s=%d",
      chain_id, target_interval_ms, genesis_time, genesis_bits, pow_limit_bits,
      block_reward, difficulty_window, max_future_block_time_s);
  for (const Allocation& a : allocations) {
    absl::StrAppend(&out, " alloc=", a.address.ToText(), ":", a.amount);
  }
  return out;
}

absl::StatusOr<ChainParams> ChainParams::FromJson(std::string_view text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded())
    return absl::InvalidArgumentError("genesis is not valid JSON");
  if (!j.is_object())
    return absl::InvalidArgumentError("genesis must be a JSON object");
  ChainParams p;
  if (!j.contains("chain_id") || !j["chain_id"].is_string()) {
    return FieldError("chain_id", "missing or not a string");
  }
  p.chain_id = j["chain_id"].get<std::string>();
  if (p.chain_id.empty() || p.chain_id.size() > kMaxChainIdLen) {
    return FieldError("chain_id", "must be 1..32 bytes");
  }
  for (char c : p.chain_id) {
    if (c < 0x21 || c > 0x7e)
      return FieldError("chain_id", "must be printable ASCII without spaces");
  }
  uint64_t v;
  if (auto s = GetUint(j, "target_interval_ms", 86'400'000, v); !s.ok())
    return s;
  if (v == 0) return FieldError("target_interval_ms", "must be positive");
  p.target_interval_ms = static_cast<int64_t>(v);
  if (auto s = GetUint(j, "genesis_time", UINT32_MAX, v); !s.ok()) return s;
  p.genesis_time = static_cast<uint32_t>(v);
  if (auto s = GetUint(j, "genesis_bits", UINT32_MAX, v); !s.ok()) return s;
  p.genesis_bits = static_cast<uint32_t>(v);
  if (auto s = GetUint(j, "pow_limit_bits", UINT32_MAX, v); !s.ok()) return s;
  p.pow_limit_bits = static_cast<uint32_t>(v);
  if (auto s = GetUint(j, "block_reward", UINT64_MAX, v); !s.ok()) return s;
  p.block_reward = v;
  if (auto s = GetUint(j, "difficulty_window", 10'000, v); !s.ok()) return s;
  p.difficulty_window = static_cast<int>(v);
  if (auto s = GetUint(j, "max_future_block_time_s", 86'400, v); !s.ok())
    return s;
  p.max_future_block_time_s = static_cast<int64_t>(v);
  if (auto s = GetUint(j, "genesis_nonce", UINT32_MAX, v); !s.ok()) return s;
  p.genesis_nonce = static_cast<uint32_t>(v);

  CompactDecode limit = DecodeCompact(p.pow_limit_bits);
  if (limit.negative || limit.overflow || limit.target == UInt256(0)) {
    return FieldError("pow_limit_bits", "does not decode to a positive target");
  }
  if (absl::StatusOr<UInt256> t = TargetFromBits(p.genesis_bits, limit.target);
      !t.ok()) {
    return FieldError("genesis_bits", t.status().message());
  }

  if (j.contains("allocations")) {
    const Json& allocs = j["allocations"];
    if (!allocs.is_array())
      return FieldError("allocations", "must be an array");
    uint64_t total = 0;
    for (const Json& a : allocs) {
      if (!a.is_object() || !a.contains("address") ||
          !a["address"].is_string()) {
        return FieldError("allocations", "each entry needs an address string");
      }
      absl::StatusOr<Address> addr =
          Address::FromText(a["address"].get<std::string>());
      if (!addr.ok()) return FieldError("allocations", addr.status().message());
      uint64_t amount;
      if (auto s = GetUint(a, "amount", UINT64_MAX, amount); !s.ok()) return s;
      if (amount > UINT64_MAX - total)
        return FieldError("allocations", "total overflows u64");
      total += amount;
      p.allocations.push_back({*addr, amount});
    }
  }
  // The genesis block must be a block this software can store and decode.
  if (p.allocations.size() > kMaxBlockTxs - 1) {
    return FieldError("allocations",
                      absl::StrCat("at most ", kMaxBlockTxs - 1, " entries"));
  }
  if (p.CanonicalText().size() > kMaxRecordPayload) {
    return FieldError(
        "allocations",
        absl::StrCat("too many: the parameter text exceeds ", kMaxRecordPayload,
                     " bytes (about 1000 allocations fit)"));
  }
  return p;
}

std::string ChainParams::ToJson() const {
  Json j;
  j["chain_id"] = chain_id;
  j["target_interval_ms"] = target_interval_ms;
  j["genesis_time"] = genesis_time;
  j["genesis_bits"] = absl::StrFormat("0x%08x", genesis_bits);
  j["pow_limit_bits"] = absl::StrFormat("0x%08x", pow_limit_bits);
  j["block_reward"] = block_reward;
  j["difficulty_window"] = difficulty_window;
  j["max_future_block_time_s"] = max_future_block_time_s;
  j["genesis_nonce"] = genesis_nonce;
  Json allocs = Json::array();
  for (const Allocation& a : allocations) {
    allocs.push_back({{"address", a.address.ToText()}, {"amount", a.amount}});
  }
  j["allocations"] = allocs;
  return j.dump(2) + "\n";
}

Block MakeGenesisBlock(const ChainParams& params) {
  Block block;
  // The first transaction commits to every parameter; the others (if any)
  // are the initial allocations. All are coinbase-kind at height 0.
  Transaction commit;
  commit.kind = TxKind::kCoinbase;
  commit.chain_id = params.chain_id;
  commit.height = 0;
  commit.extra_nonce = 0;
  commit.record =
      DataRecord{kGenesisNamespace, std::nullopt, params.CanonicalText()};
  block.txs.push_back(std::move(commit));
  for (size_t i = 0; i < params.allocations.size(); ++i) {
    Transaction alloc;
    alloc.kind = TxKind::kCoinbase;
    alloc.chain_id = params.chain_id;
    alloc.recipient = params.allocations[i].address;
    alloc.amount = params.allocations[i].amount;
    alloc.height = 0;
    alloc.extra_nonce = i + 1;
    block.txs.push_back(std::move(alloc));
  }
  block.header.version = 1;
  block.header.time = params.genesis_time;
  block.header.bits = params.genesis_bits;
  block.header.nonce = params.genesis_nonce;
  block.header.merkle_root = BlockMerkleRoot(block);
  return block;
}

absl::StatusOr<ChainParams> ParseGenesis(std::string_view json) {
  absl::StatusOr<ChainParams> params = ChainParams::FromJson(json);
  if (!params.ok()) return params;
  UInt256 target = DecodeCompact(params->genesis_bits).target;
  if (!HashMeetsTarget(MakeGenesisBlock(*params).Hash(), target)) {
    return absl::InvalidArgumentError(
        "genesis header does not meet its target: wrong genesis_nonce (make "
        "the file with 'pbtool genesis')");
  }
  return params;
}

absl::StatusOr<ChainParams> LoadGenesisFile(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    return absl::NotFoundError(absl::StrCat("cannot read genesis file ", path));
  std::stringstream buf;
  buf << in.rdbuf();
  absl::StatusOr<ChainParams> p = ParseGenesis(buf.str());
  if (!p.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", p.status().message()));
  }
  return p;
}

absl::Status MineGenesis(ChainParams& params) {
  Block genesis = MakeGenesisBlock(params);
  Hash256 target = DecodeCompact(params.genesis_bits).target.ToHash();
  std::atomic<bool> abort{false};
  // Single-threaded from nonce 0 so that the same params always give the
  // same genesis_nonce.
  SearchResult r = SearchNonces(genesis.header.Serialize(), target.bytes, 0,
                                UINT32_MAX, abort);
  if (!r.nonce) {
    return absl::ResourceExhaustedError(
        "no genesis nonce meets the target; pick easier bits");
  }
  params.genesis_nonce = *r.nonce;
  return absl::OkStatus();
}

}  // namespace pbchain
