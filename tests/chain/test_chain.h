// Helpers for kernel tests: an easy-PoW network, funded keys, and blocks
// built on any parent (so tests can grow side branches).
#ifndef PBCHAIN_TESTS_CHAIN_TEST_CHAIN_H_
#define PBCHAIN_TESTS_CHAIN_TEST_CHAIN_H_

#include <atomic>
#include <vector>

#include "chain/block.h"
#include "chain/keys.h"
#include "chain/miner.h"
#include "chain/params.h"

namespace pbchain::testing {

inline constexpr uint32_t kTestGenesisTime = 1'700'000'000;

// Deterministic key number `i`.
inline PrivateKey TestKey(int i) {
  std::array<uint8_t, 32> seed{};
  seed[0] = static_cast<uint8_t>(i + 1);
  seed[31] = 0x5a;
  return *PrivateKey::FromSeed(seed);
}

// A regtest-like network: the easiest target, no retargeting, `n_keys` keys
// funded with `funds` each.
inline ChainParams TestParams(int n_keys = 4, uint64_t funds = 1'000'000) {
  ChainParams p;
  p.chain_id = "pbchain-test";
  p.target_interval_ms = 1000;
  p.genesis_time = kTestGenesisTime;
  p.genesis_bits = 0x207fffff;
  p.pow_limit_bits = 0x207fffff;
  p.block_reward = 50;
  p.difficulty_window = 0;
  p.max_future_block_time_s = 15;
  for (int i = 0; i < n_keys; ++i) {
    p.allocations.push_back(
        {AddressFromPublicKey(TestKey(i).public_key()), funds});
  }
  (void)MineGenesis(p);
  return p;
}

// A signed transfer.
inline Transaction MakeTransfer(
    const ChainParams& p, const PrivateKey& from, const Address& to,
    uint64_t amount, uint64_t fee, uint64_t nonce,
    std::optional<DataRecord> record = std::nullopt) {
  Transaction tx;
  tx.kind = TxKind::kTransfer;
  tx.chain_id = p.chain_id;
  tx.recipient = to;
  tx.amount = amount;
  tx.fee = fee;
  tx.nonce = nonce;
  tx.record = std::move(record);
  tx.Sign(from);
  return tx;
}

// A mined block on `parent` (header and height given) carrying `txs`, paying
// the reward plus fees to `miner`. `extra` makes sibling blocks differ.
inline Block MakeBlock(const ChainParams& p, const BlockHeader& parent_header,
                       uint32_t parent_height, std::vector<Transaction> txs,
                       const Address& miner = Address{}, uint64_t extra = 0) {
  Block b;
  Transaction cb;
  cb.kind = TxKind::kCoinbase;
  cb.chain_id = p.chain_id;
  cb.recipient = miner;
  cb.height = parent_height + 1;
  cb.extra_nonce = extra;
  uint64_t fees = 0;
  for (const Transaction& tx : txs) fees += tx.fee;
  cb.amount = p.block_reward + fees;
  b.txs.push_back(cb);
  for (Transaction& tx : txs) b.txs.push_back(std::move(tx));
  b.header.version = 1;
  b.header.prev_hash = parent_header.Hash();
  b.header.time = parent_header.time + 1;
  b.header.bits = p.genesis_bits;
  b.header.merkle_root = BlockMerkleRoot(b);
  std::atomic<bool> abort{false};
  MineBlock(b, 1, abort);
  return b;
}

}  // namespace pbchain::testing

#endif  // PBCHAIN_TESTS_CHAIN_TEST_CHAIN_H_
