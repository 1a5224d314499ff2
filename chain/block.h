// Block headers (Bitcoin's exact 80-byte layout), blocks, the merkle root and
// the canonical block encoding used for storage and size limits.
#ifndef PBCHAIN_CHAIN_BLOCK_H_
#define PBCHAIN_CHAIN_BLOCK_H_

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "absl/status/statusor.h"
#include "chain/bytes.h"
#include "chain/transaction.h"

namespace pbchain {

inline constexpr size_t kHeaderSize = 80;
using HeaderBytes = std::array<uint8_t, kHeaderSize>;

struct BlockHeader {
  uint32_t version = 1;
  Hash256 prev_hash;    // internal byte order
  Hash256 merkle_root;  // internal byte order
  uint32_t time = 0;    // unix seconds
  uint32_t bits = 0;    // compact target
  uint32_t nonce = 0;

  // version | prev_hash | merkle_root | time | bits | nonce, integers
  // little-endian: exactly Bitcoin's serialization.
  HeaderBytes Serialize() const;
  static BlockHeader Deserialize(const HeaderBytes& bytes);
  // INVALID_ARGUMENT unless `data` is exactly 80 bytes.
  static absl::StatusOr<BlockHeader> Parse(ByteSpan data);
  // SHA256d of the 80 bytes (internal order; display with ToDisplayHex()).
  Hash256 Hash() const;

  friend bool operator==(const BlockHeader&, const BlockHeader&) = default;
};

struct Block {
  BlockHeader header;
  std::vector<Transaction> txs;  // txs[0] is the coinbase

  Hash256 Hash() const { return header.Hash(); }
  // 80 + the sum of the transactions' full encodings (the consensus size).
  size_t ConsensusSize() const;
  // Storage encoding: 80 header bytes, u32 tx count, then each transaction's
  // full encoding. Self-delimiting.
  Bytes Encode() const;
  // INVALID_ARGUMENT on malformed or trailing bytes, or more than
  // kMaxBlockTxs transactions.
  static absl::StatusOr<Block> Decode(ByteSpan data);

  friend bool operator==(const Block&, const Block&) = default;
};

// Bitcoin's merkle root over `txids` (pairs hashed with SHA256d, the last
// entry duplicated on odd levels). Sets *mutated when two equal adjacent
// hashes were paired at any level (the CVE-2012-2459 ambiguity); callers also
// reject duplicate txids outright. The root of an empty list is zero.
Hash256 ComputeMerkleRoot(std::vector<Hash256> txids, bool* mutated = nullptr);

// The merkle root of a block's transactions.
Hash256 BlockMerkleRoot(const Block& block, bool* mutated = nullptr);

}  // namespace pbchain

#endif  // PBCHAIN_CHAIN_BLOCK_H_
