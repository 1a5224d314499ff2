// Consensus limits of pbchain protocol version 1. Every number here is part
// of the rules all nodes must share; docs/PROTOCOL.md lists them too.
#ifndef PBCHAIN_CHAIN_CONSENSUS_H_
#define PBCHAIN_CHAIN_CONSENSUS_H_

#include <cstddef>
#include <cstdint>

namespace pbchain {

// Canonical encoding version byte of transactions.
inline constexpr uint8_t kTxVersion = 1;
// Block header version this software produces and accepts.
inline constexpr uint32_t kBlockVersion = 1;

inline constexpr size_t kMaxChainIdLen = 32;
inline constexpr size_t kMaxNamespaceLen = 64;
inline constexpr size_t kMaxRecordKeyLen = 128;
inline constexpr size_t kMaxRecordPayload = 65536;

// Size of a block = 80 header bytes + the full encodings of its transactions.
inline constexpr size_t kMaxBlockSize = 1'000'000;
inline constexpr size_t kMaxBlockTxs = 10'000;
// Largest single transaction (a transfer with a maximal record fits).
inline constexpr size_t kMaxTxSize = 70'000;

// A block's time must be above the median of this many previous blocks.
inline constexpr int kMedianTimeSpan = 11;

// Namespace reserved for the genesis parameter record.
inline constexpr char kGenesisNamespace[] = "pbchain.genesis";

}  // namespace pbchain

#endif  // PBCHAIN_CHAIN_CONSENSUS_H_
