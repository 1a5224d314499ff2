#include "chain/miner.h"

#include "chain/pow.h"
#include "chain/pow_search.h"

namespace pbchain {

MineOutcome MineBlock(Block& block, int threads,
                      const std::atomic<bool>& abort) {
  MineOutcome outcome;
  const std::array<uint8_t, 32> target =
      DecodeCompact(block.header.bits).target.ToHash().bytes;
  while (!abort.load(std::memory_order_relaxed)) {
    SearchResult r =
        SearchNoncesParallel(block.header.Serialize(), target, threads, abort);
    outcome.hashes += r.hashes;
    if (r.nonce) {
      block.header.nonce = *r.nonce;
      outcome.found = true;
      return outcome;
    }
    if (abort.load(std::memory_order_relaxed)) break;
    block.txs[0].extra_nonce += 1;
    block.header.merkle_root = BlockMerkleRoot(block);
  }
  return outcome;
}

}  // namespace pbchain
