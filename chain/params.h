// Chain parameters and the genesis block, loaded from a JSON genesis file.
// All nodes of a network share one file; its genesis hash names the network.
#ifndef PBCHAIN_CHAIN_PARAMS_H_
#define PBCHAIN_CHAIN_PARAMS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "chain/address.h"
#include "chain/block.h"

namespace pbchain {

struct Allocation {
  Address address;
  uint64_t amount = 0;
  friend bool operator==(const Allocation&, const Allocation&) = default;
};

struct ChainParams {
  std::string chain_id = "pbchain-devnet";
  int64_t target_interval_ms = 2000;     // wanted mean time between blocks
  uint32_t genesis_time = 0;             // unix seconds
  uint32_t genesis_bits = 0x1f00ffff;    // compact target of the genesis block
  uint32_t pow_limit_bits = 0x207fffff;  // easiest target ever allowed
  uint64_t block_reward = 50;            // coins minted per block
  int difficulty_window = 45;            // LWMA window N; 0 = never retarget
  int64_t max_future_block_time_s = 15;  // how far ahead of now a block may be
  std::vector<Allocation> allocations;   // initial balances
  uint32_t genesis_nonce = 0;  // makes the genesis header meet its target

  // One line of text with every consensus parameter except genesis_nonce in
  // a fixed order; committed to by the genesis block's first transaction.
  std::string CanonicalText() const;

  // Parses a genesis JSON file's contents. INVALID_ARGUMENT naming the field
  // on a missing/ill-typed field, a bad address, a chain id that is empty or
  // longer than 32 bytes, a non-positive interval, or bits that do not decode.
  // Does not check the genesis proof of work (see LoadGenesis).
  static absl::StatusOr<ChainParams> FromJson(std::string_view json);
  // Pretty JSON with every field; FromJson(ToJson()) == *this.
  std::string ToJson() const;

  friend bool operator==(const ChainParams&, const ChainParams&) = default;
};

// The genesis block these params define (deterministic).
Block MakeGenesisBlock(const ChainParams& params);

// Parses `json` and checks that the genesis header meets its own target.
// INVALID_ARGUMENT otherwise.
absl::StatusOr<ChainParams> ParseGenesis(std::string_view json);
// Reads and parses a genesis file. NOT_FOUND if it cannot be read.
absl::StatusOr<ChainParams> LoadGenesisFile(const std::string& path);

// Searches genesis_nonce so that the genesis header meets genesis_bits.
// RESOURCE_EXHAUSTED if no 32-bit nonce works (pick an easier target).
absl::Status MineGenesis(ChainParams& params);

}  // namespace pbchain

#endif  // PBCHAIN_CHAIN_PARAMS_H_
