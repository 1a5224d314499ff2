// Block-level mining on top of the nonce search: rolls the coinbase extra
// nonce when the 32-bit header nonce space is exhausted.
#ifndef PBCHAIN_CHAIN_MINER_H_
#define PBCHAIN_CHAIN_MINER_H_

#include <atomic>
#include <cstdint>

#include "chain/block.h"

namespace pbchain {

struct MineOutcome {
  bool found =
      false;  // block.header.nonce (and maybe extra_nonce) now meet the target
  uint64_t hashes = 0;  // header hashes computed
};

// Mines `block` in place against the target of its header bits: searches
// every nonce on `threads` threads (<= 0: one per core); when none works,
// increments txs[0].extra_nonce, recomputes the merkle root and searches
// again. Returns when a solution is found or `abort` becomes true (then
// found = false and the block is left with some nonce). `block` must have a
// coinbase first. Blocks the calling thread; thread-safe for distinct blocks.
MineOutcome MineBlock(Block& block, int threads,
                      const std::atomic<bool>& abort);

}  // namespace pbchain

#endif  // PBCHAIN_CHAIN_MINER_H_
