#include "chain/chain_state.h"

#include <map>
#include <random>
#include <set>
#include <tuple>

#include "chain/consensus.h"
#include "chain/memory_store.h"
#include "chain/pow.h"
#include "gtest/gtest.h"
#include "tests/chain/test_chain.h"

namespace pbchain {
namespace {

using testing::MakeBlock;
using testing::MakeTransfer;
using testing::TestKey;
using testing::TestParams;

ChainStateOptions FixedClock() {
  ChainStateOptions o;
  o.clock = [] { return int64_t{testing::kTestGenesisTime} + 1'000'000; };
  return o;
}

std::map<Address, AccountState> Accounts(ChainStore& store) {
  std::map<Address, AccountState> out;
  EXPECT_TRUE(store
                  .ForEachAccount([&](const Address& a, const AccountState& s) {
                    out[a] = s;
                    return absl::OkStatus();
                  })
                  .ok());
  return out;
}

std::vector<std::pair<std::string, RecordLocation>> Records(ChainStore& store) {
  return *store.ScanRecords("", "", 1'000'000);
}

TEST(ChainStateTest, GenesisAllocationsAndParamsRecord) {
  ChainParams p = TestParams(2, 777);
  MemoryChainStore store;
  auto state = *ChainState::Create(p, &store, FixedClock());
  EXPECT_EQ(state->Tip().height, 0u);
  EXPECT_EQ(state->Tip().hash, MakeGenesisBlock(p).Hash());
  EXPECT_EQ(
      state->GetAccount(AddressFromPublicKey(TestKey(1).public_key()))->balance,
      777u);
  auto records = state->ListRecords(kGenesisNamespace, "", 10);
  ASSERT_TRUE(records.ok());
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].record.payload, p.CanonicalText());
}

TEST(ChainStateTest, ReopenResumesAndRejectsOtherGenesis) {
  ChainParams p = TestParams(2);
  MemoryChainStore store;
  Hash256 tip;
  {
    auto state = *ChainState::Create(p, &store, FixedClock());
    Block b1 = MakeBlock(p, MakeGenesisBlock(p).header, 0, {});
    ASSERT_EQ(state->AcceptBlock(b1)->status, AcceptStatus::kActive);
    tip = b1.Hash();
  }
  auto again = ChainState::Create(p, &store, FixedClock());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->Tip().hash, tip);
  EXPECT_EQ((*again)->Tip().height, 1u);

  ChainParams other = p;
  other.chain_id = "another-net";
  ASSERT_TRUE(MineGenesis(other).ok());
  auto wrong = ChainState::Create(other, &store, FixedClock());
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ChainStateTest, ReorgToMoreWorkReturnsTransactionsAndFirstSeenWinsTies) {
  ChainParams p = TestParams(2);
  MemoryChainStore store;
  auto state = *ChainState::Create(p, &store, FixedClock());
  Block g = MakeGenesisBlock(p);
  Address a = AddressFromPublicKey(TestKey(0).public_key());
  Address b = AddressFromPublicKey(TestKey(1).public_key());
  Transaction pay =
      MakeTransfer(p, TestKey(0), b, 100, 1, 0, DataRecord{"votes", "v1", "x"});

  Block a1 = MakeBlock(p, g.header, 0, {pay}, a, /*extra=*/1);
  Block b1 = MakeBlock(p, g.header, 0, {}, b, /*extra=*/2);
  ASSERT_EQ(state->AcceptBlock(a1)->status, AcceptStatus::kActive);
  // Equal work: the first seen (a1) stays.
  ASSERT_EQ(state->AcceptBlock(b1)->status, AcceptStatus::kSideBranch);
  EXPECT_EQ(state->Tip().hash, a1.Hash());
  EXPECT_EQ(state->GetAccount(b)->balance, 1'000'100u);
  EXPECT_TRUE(state->GetRecord("votes", "v1")->has_value());

  // b2 gives the b branch more work: reorg.
  Block b2 = MakeBlock(p, b1.header, 1, {}, b, 3);
  absl::StatusOr<AcceptResult> r = state->AcceptBlock(b2);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, AcceptStatus::kActive);
  EXPECT_EQ(r->disconnected, std::vector<Hash256>{a1.Hash()});
  EXPECT_EQ(r->connected, (std::vector<Hash256>{b1.Hash(), b2.Hash()}));
  ASSERT_EQ(r->returned_txs.size(), 1u);
  EXPECT_EQ(r->returned_txs[0].Id(), pay.Id());
  EXPECT_EQ(state->Tip().hash, b2.Hash());
  EXPECT_EQ(state->GetAccount(a)->balance, 1'000'000u);  // payment undone
  EXPECT_EQ(state->GetAccount(b)->balance,
            1'000'000u + 100u);  // two rewards of 50
  EXPECT_FALSE(state->GetRecord("votes", "v1")->has_value());  // record undone
  EXPECT_EQ(state->ActiveHashAt(1), b1.Hash());
  EXPECT_FALSE(state->IsActive(a1.Hash()));
}

TEST(ChainStateTest, InvalidBlockDeepInBranchFallsBackToBestValid) {
  ChainParams p = TestParams(2);
  MemoryChainStore store;
  auto state = *ChainState::Create(p, &store, FixedClock());
  Block g = MakeGenesisBlock(p);
  Address b = AddressFromPublicKey(TestKey(1).public_key());
  Block m1 = MakeBlock(p, g.header, 0, {}, b, 1);
  ASSERT_EQ(state->AcceptBlock(m1)->status, AcceptStatus::kActive);
  // Side branch x1 (valid), x2 (overspends: invalid on connect), x3.
  Block x1 = MakeBlock(p, g.header, 0, {}, b, 2);
  Block x2 = MakeBlock(p, x1.header, 1,
                       {MakeTransfer(p, TestKey(0), b, 5'000'000, 0, 0)}, b, 3);
  ASSERT_EQ(state->AcceptBlock(x1)->status, AcceptStatus::kSideBranch);
  absl::StatusOr<AcceptResult> r = state->AcceptBlock(x2);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, AcceptStatus::kInvalid);
  EXPECT_EQ(r->validation.reason(), RejectReason::kTxInsufficientFunds);
  // Back on m1 (x1 has equal work but was seen later).
  EXPECT_EQ(state->Tip().hash, m1.Hash());
  EXPECT_TRUE(state->GetIndexEntry(x2.Hash())->status & kBlockFailed);
  EXPECT_EQ(state->AcceptBlock(MakeBlock(p, x2.header, 2, {}, b, 4))
                ->validation.reason(),
            RejectReason::kHeaderInvalidParent);
}

// A store whose Commit fails on demand (a full disk, an I/O error).
class FlakyStore : public MemoryChainStore {
 public:
  int fail_commit_after = -1;  // commits left before one fails; -1 = never
  absl::Status Commit(const StateDelta& d) override {
    if (fail_commit_after == 0) {
      fail_commit_after = -1;
      return absl::InternalError("injected commit failure");
    }
    if (fail_commit_after > 0) --fail_commit_after;
    return MemoryChainStore::Commit(d);
  }
};

// A reorg cut short by a store error, towards a branch that turns out
// invalid further up: after a restart the node must settle on the best valid
// chain (the old one), not on wherever the reorg stopped.
TEST(ChainStateTest, InterruptedReorgSettlesOnBestValidChainAfterRestart) {
  ChainParams p = TestParams(2);
  FlakyStore store;
  Block g = MakeGenesisBlock(p);
  Address b = AddressFromPublicKey(TestKey(1).public_key());
  Block a1 = MakeBlock(p, g.header, 0, {}, b, 1);
  Block a2 = MakeBlock(p, a1.header, 1, {}, b, 2);
  Block b1 = MakeBlock(p, g.header, 0, {}, b, 3);
  Block b2 =
      MakeBlock(p, b1.header, 1, {MakeTransfer(p, TestKey(0), b, 1, 0, 7)}, b,
                4);  // bad nonce: fails when connected
  Block b3 = MakeBlock(p, b2.header, 2, {}, b, 5);
  {
    auto state = *ChainState::Create(p, &store, FixedClock());
    for (const Block* blk : {&a1, &a2, &b1, &b2}) {
      ASSERT_TRUE(state->AcceptBlock(*blk).ok());
    }
    ASSERT_EQ(state->Tip().hash, a2.Hash());
    store.fail_commit_after = 1;  // the second disconnect fails
    EXPECT_FALSE(state->AcceptBlock(b3).ok());
  }
  auto reopened = ChainState::Create(p, &store, FixedClock());
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ((*reopened)->Tip().hash, a2.Hash());
  EXPECT_TRUE((*reopened)->GetIndexEntry(b2.Hash())->status & kBlockFailed);
}

TEST(ChainStateTest, ListRecordsPagesWithinANamespace) {
  ChainParams p = TestParams(3);
  MemoryChainStore store;
  auto state = *ChainState::Create(p, &store, FixedClock());
  Address b = AddressFromPublicKey(TestKey(1).public_key());
  std::vector<Transaction> txs;
  for (int i = 0; i < 3; ++i) {
    txs.push_back(
        MakeTransfer(p, TestKey(i), b, 0, 0, 0,
                     DataRecord{"shop", "item" + std::to_string(i), "x"}));
  }
  ASSERT_EQ(state->AcceptBlock(MakeBlock(p, MakeGenesisBlock(p).header, 0, txs))
                ->status,
            AcceptStatus::kActive);
  auto page1 = state->ListRecords("shop", "", 2);
  ASSERT_TRUE(page1.ok());
  ASSERT_EQ(page1->size(), 2u);
  auto page2 = state->ListRecords("shop", page1->back().index_key, 2);
  ASSERT_EQ(page2->size(), 1u);
  EXPECT_EQ(page2->front().record.key, "item2");
  // A cursor from before the namespace starts at its beginning.
  EXPECT_EQ(state->ListRecords("shop", "a", 10)->size(), 3u);
  EXPECT_TRUE(state->ListRecords("sho", "", 10)->empty());
}

TEST(ChainStateTest, TemplateSkipsInvalidCandidatesAndIsValid) {
  ChainParams p = TestParams(2);
  MemoryChainStore store;
  auto state = *ChainState::Create(p, &store, FixedClock());
  Address b = AddressFromPublicKey(TestKey(1).public_key());
  std::vector<Transaction> candidates = {
      MakeTransfer(p, TestKey(0), b, 10, 2, 0),
      MakeTransfer(p, TestKey(0), b, 10, 2, 5),  // nonce gap: skipped
      MakeTransfer(p, TestKey(0), b, 10, 3, 1),
      MakeTransfer(p, TestKey(1), b, 9'999'999, 0, 0),  // overspend: skipped
  };
  absl::StatusOr<Block> t =
      state->CreateBlockTemplate(b, candidates, testing::kTestGenesisTime + 5);
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->txs.size(), 3u);
  EXPECT_EQ(t->txs[0].amount, p.block_reward + 5);
  std::atomic<bool> abort{false};
  ASSERT_TRUE(MineBlock(*t, 1, abort).found);
  EXPECT_EQ(state->AcceptBlock(*t)->status, AcceptStatus::kActive);
  EXPECT_EQ(state->GetAccount(b)->balance,
            1'000'000u + 20 + p.block_reward + 5);

  auto check =
      state->CheckTransactionOnTip(MakeTransfer(p, TestKey(0), b, 1, 0, 1), {});
  ASSERT_TRUE(check.ok());
  EXPECT_EQ(check->reason(), RejectReason::kTxBadNonce);
  Transaction next = MakeTransfer(p, TestKey(0), b, 1, 0, 2);
  EXPECT_TRUE(state->CheckTransactionOnTip(next, {})->ok());
  std::vector<Transaction> pending = {next};
  EXPECT_EQ(state
                ->CheckTransactionOnTip(MakeTransfer(p, TestKey(0), b, 1, 0, 3),
                                        pending)
                ->reason(),
            RejectReason::kNone);
}

// Re-mines `h` after an edit (the test target accepts about half of all
// hashes).
void Remine(BlockHeader& h, const ChainParams& p) {
  const UInt256 target =
      *TargetFromBits(h.bits, DecodeCompact(p.pow_limit_bits).target);
  while (!HashMeetsTarget(h.Hash(), target)) ++h.nonce;
}

// Headers-first sync checks a peer's header chain before any body arrives.
TEST(ChainStateTest, CheckHeaderChainValidatesLinksProofOfWorkAndContext) {
  ChainParams p = TestParams(1);
  MemoryChainStore source_store, fresh_store;
  auto source = *ChainState::Create(p, &source_store, FixedClock());
  auto fresh = *ChainState::Create(p, &fresh_store, FixedClock());
  std::vector<BlockHeader> headers;
  BlockHeader parent = MakeGenesisBlock(p).header;
  for (uint32_t h = 0; h < 30; ++h) {
    Block b = MakeBlock(p, parent, h, {});
    ASSERT_EQ(source->AcceptBlock(b)->status, AcceptStatus::kActive);
    headers.push_back(b.header);
    parent = b.header;
  }

  HeaderChainCheck all = fresh->CheckHeaderChain(headers);
  EXPECT_TRUE(all.failure.ok()) << all.failure.message();
  EXPECT_EQ(all.valid, 30u);
  EXPECT_EQ(all.height, 30u);
  EXPECT_EQ(all.last_hash, source->Tip().hash);
  EXPECT_EQ(all.chain_work, source->Tip().chain_work);
  EXPECT_EQ(fresh->Tip().height, 0u) << "checking stores nothing";

  // A continuation checked on its own fails (its parent is not stored)...
  std::span<const BlockHeader> tail(headers.begin() + 15, headers.end());
  EXPECT_EQ(fresh->CheckHeaderChain(tail).failure.reason(),
            RejectReason::kHeaderUnknownParent);
  // ...but passes with the earlier headers given as trusted context.
  HeaderChainCheck resumed = fresh->CheckHeaderChain(headers, 15);
  EXPECT_EQ(resumed.valid, 30u);
  EXPECT_EQ(resumed.chain_work, all.chain_work);

  {  // Bits that do not decode to a target the hash meets.
    std::vector<BlockHeader> bad = headers;
    bad[10].bits = 0x1d00ffff;
    HeaderChainCheck c = fresh->CheckHeaderChain(bad);
    EXPECT_EQ(c.valid, 10u);
    EXPECT_EQ(c.failure.reason(), RejectReason::kHeaderBadPow);
  }
  {  // Valid proof of work, but not the bits the retarget rule wants.
    std::vector<BlockHeader> bad(headers.begin(), headers.begin() + 8);
    bad[7].bits = 0x207ffffe;
    Remine(bad[7], p);
    HeaderChainCheck c = fresh->CheckHeaderChain(bad);
    EXPECT_EQ(c.valid, 7u);
    EXPECT_EQ(c.failure.reason(), RejectReason::kHeaderBadBits);
  }
  {  // Too far in the future (may become valid later).
    std::vector<BlockHeader> bad(headers.begin(), headers.begin() + 5);
    bad[4].time = static_cast<uint32_t>(testing::kTestGenesisTime + 1'000'000 +
                                        p.max_future_block_time_s + 60);
    Remine(bad[4], p);
    HeaderChainCheck c = fresh->CheckHeaderChain(bad);
    EXPECT_EQ(c.valid, 4u);
    EXPECT_EQ(c.failure.reason(), RejectReason::kHeaderTimeTooNew);
  }
  {  // Out of order.
    std::vector<BlockHeader> bad = headers;
    std::swap(bad[5], bad[6]);
    HeaderChainCheck c = fresh->CheckHeaderChain(bad);
    EXPECT_EQ(c.valid, 5u);
    EXPECT_EQ(c.failure.reason(), RejectReason::kHeaderUnknownParent);
  }
}

TEST(ChainStateTest, LocatorStartsAtTipAndEndsAtGenesis) {
  ChainParams p = TestParams(1);
  MemoryChainStore store;
  auto state = *ChainState::Create(p, &store, FixedClock());
  BlockHeader parent = MakeGenesisBlock(p).header;
  for (uint32_t h = 0; h < 40; ++h) {
    Block b = MakeBlock(p, parent, h, {});
    ASSERT_EQ(state->AcceptBlock(b)->status, AcceptStatus::kActive);
    parent = b.header;
  }
  std::vector<Hash256> loc = state->GetLocator();
  EXPECT_EQ(loc.front(), state->Tip().hash);
  EXPECT_EQ(loc.back(), MakeGenesisBlock(p).Hash());
  EXPECT_LT(loc.size(), 20u);
}

// After any sequence of blocks on competing branches (some invalid), the
// state equals a replay of the best chain from genesis into a fresh store,
// and the tip is the block with the most work, the first seen among equals.
TEST(ChainStateTest, RandomizedReorgsMatchReplayOfBestChain) {
  constexpr int kKeys = 4;
  ChainParams p = TestParams(kKeys, 1000);
  std::vector<Address> addrs;
  for (int i = 0; i < kKeys; ++i)
    addrs.push_back(AddressFromPublicKey(TestKey(i).public_key()));

  size_t reorgs = 0, invalid_detected = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    std::mt19937_64 rng(seed);
    MemoryChainStore store;
    auto state = *ChainState::Create(p, &store, FixedClock());

    // The test's own model of each valid block: height, header, accounts.
    struct Model {
      BlockHeader header;
      uint32_t height;
      std::map<Address, AccountState> accounts;
      std::set<std::string> keys;
      uint64_t arrival;
    };
    std::vector<Model> valid;
    Model g{MakeGenesisBlock(p).header, 0, {}, {}, 0};
    for (const Address& a : addrs) g.accounts[a] = AccountState{1000, 0};
    valid.push_back(g);
    uint64_t arrival = 1;

    for (int step = 0; step < 60; ++step) {
      // Prefer recent blocks as parents so branches grow and compete.
      size_t lo = valid.size() > 8 ? valid.size() - 8 : 0;
      const Model parent = valid[lo + rng() % (valid.size() - lo)];
      Model child = parent;
      std::vector<Transaction> txs;
      int ntx = rng() % 4;
      for (int t = 0; t < ntx; ++t) {
        int from = rng() % kKeys, to = rng() % kKeys;
        AccountState& s = child.accounts[addrs[from]];
        uint64_t amount = rng() % 50, fee = rng() % 3;
        if (s.balance < amount + fee) continue;
        std::optional<DataRecord> rec;
        if (rng() % 3 == 0) {
          std::string key = "k" + std::to_string(rng() % 6);
          if (child.keys.contains(key)) continue;
          child.keys.insert(key);
          rec = DataRecord{"votes", key, "p"};
        }
        if (amount == 0 && !rec) amount = 1;
        if (s.balance < amount + fee) continue;
        txs.push_back(MakeTransfer(p, TestKey(from), addrs[to], amount, fee,
                                   s.nonce, rec));
        s.balance -= amount + fee;
        s.nonce += 1;
        child.accounts[addrs[to]].balance += amount;
      }
      bool make_invalid = rng() % 10 == 0;
      if (make_invalid) {
        // An overspend that only the state can catch.
        txs.push_back(MakeTransfer(p, TestKey(0), addrs[1], 1'000'000, 0,
                                   child.accounts[addrs[0]].nonce));
      }
      Address miner = addrs[rng() % kKeys];
      uint64_t fees = 0;
      for (const Transaction& tx : txs) fees += tx.fee;
      Block b = MakeBlock(p, parent.header, parent.height, txs, miner, rng());
      absl::StatusOr<AcceptResult> r = state->AcceptBlock(b);
      ASSERT_TRUE(r.ok()) << r.status();
      if (!r->disconnected.empty()) ++reorgs;
      if (r->status == AcceptStatus::kInvalid) ++invalid_detected;
      if (make_invalid) {
        // It may be detected now (if its branch became best) or never.
        EXPECT_NE(r->status, AcceptStatus::kActive);
        continue;
      }
      ASSERT_NE(r->status, AcceptStatus::kInvalid) << r->validation.ToString();
      child.accounts[miner].balance += p.block_reward + fees;
      child.header = b.header;
      child.height = parent.height + 1;
      child.arrival = arrival++;
      valid.push_back(child);
    }

    // Expected tip: most work (= height here), first seen among equals.
    const Model* best = &valid[0];
    for (const Model& m : valid) {
      if (m.height > best->height) best = &m;
    }
    EXPECT_EQ(state->Tip().hash, best->header.Hash()) << "seed " << seed;

    // The model's accounts at the tip agree.
    for (const auto& [addr, acct] : best->accounts) {
      EXPECT_EQ(*state->GetAccount(addr), acct) << "seed " << seed;
    }

    // Replay the active chain into a fresh store: identical state.
    MemoryChainStore replay_store;
    auto replay = *ChainState::Create(p, &replay_store, FixedClock());
    for (uint32_t h = 1; h <= state->Tip().height; ++h) {
      Block b = *state->GetBlock(*state->ActiveHashAt(h));
      ASSERT_EQ(replay->AcceptBlock(b)->status, AcceptStatus::kActive);
    }
    EXPECT_EQ(replay->Tip().hash, state->Tip().hash);
    EXPECT_EQ(Accounts(replay_store), Accounts(store)) << "seed " << seed;
    EXPECT_EQ(Records(replay_store), Records(store)) << "seed " << seed;
  }
  // The sequences really did reorganize and meet invalid blocks.
  EXPECT_GT(reorgs, 5u);
  EXPECT_GT(invalid_detected, 0u);
}

TEST(ChainStateTest, TransactionIndexFollowsTheActiveChain) {
  ChainParams p = TestParams(2);
  MemoryChainStore store;
  auto state = *ChainState::Create(p, &store, FixedClock());
  Block g = MakeGenesisBlock(p);
  Address a = AddressFromPublicKey(TestKey(0).public_key());
  Address b = AddressFromPublicKey(TestKey(1).public_key());

  // Genesis transactions are indexed too.
  ASSERT_EQ(g.txs.size(), 3u);
  for (uint32_t i = 0; i < g.txs.size(); ++i) {
    auto found = state->GetTransaction(g.txs[i].Id());
    ASSERT_TRUE(found.ok()) << found.status();
    ASSERT_TRUE(found->has_value());
    EXPECT_EQ((*found)->first.Id(), g.txs[i].Id());
    EXPECT_EQ((*found)->second, (TxLocation{g.Hash(), 0, i}));
  }

  Transaction pay = MakeTransfer(p, TestKey(0), b, 100, 1, 0);
  EXPECT_EQ(*state->GetTransaction(pay.Id()), std::nullopt);
  Block a1 = MakeBlock(p, g.header, 0, {pay}, a, /*extra=*/1);
  ASSERT_EQ(state->AcceptBlock(a1)->status, AcceptStatus::kActive);
  auto found = state->GetTransaction(pay.Id());
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->first.Encode(), pay.Encode());
  EXPECT_EQ((*found)->second, (TxLocation{a1.Hash(), 1, 1}));
  EXPECT_EQ(state->Tip().height - (*found)->second.height + 1, 1u);
  auto cb = state->GetTransaction(a1.txs[0].Id());
  ASSERT_TRUE(cb.ok() && cb->has_value());
  EXPECT_EQ((*cb)->second, (TxLocation{a1.Hash(), 1, 0}));

  // A side branch is not indexed.
  Block b1 = MakeBlock(p, g.header, 0, {}, b, /*extra=*/2);
  ASSERT_EQ(state->AcceptBlock(b1)->status, AcceptStatus::kSideBranch);
  EXPECT_EQ(*state->GetTransaction(b1.txs[0].Id()), std::nullopt);

  // Reorg onto b1-b2: a1's transactions leave the index, b's enter it.
  Block b2 = MakeBlock(p, b1.header, 1, {}, b, 3);
  ASSERT_EQ(state->AcceptBlock(b2)->status, AcceptStatus::kActive);
  EXPECT_EQ(*state->GetTransaction(pay.Id()), std::nullopt);
  EXPECT_EQ(*state->GetTransaction(a1.txs[0].Id()), std::nullopt);
  EXPECT_EQ((*state->GetTransaction(b1.txs[0].Id()))->second,
            (TxLocation{b1.Hash(), 1, 0}));
  EXPECT_EQ((*state->GetTransaction(b2.txs[0].Id()))->second,
            (TxLocation{b2.Hash(), 2, 0}));

  // The payment confirmed again on the new branch, at its new place.
  Block b3 = MakeBlock(p, b2.header, 2, {pay}, b, 4);
  ASSERT_EQ(state->AcceptBlock(b3)->status, AcceptStatus::kActive);
  found = state->GetTransaction(pay.Id());
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->second, (TxLocation{b3.Hash(), 3, 1}));
  Block b4 = MakeBlock(p, b3.header, 3, {}, b, 5);
  ASSERT_EQ(state->AcceptBlock(b4)->status, AcceptStatus::kActive);
  EXPECT_EQ(state->Tip().height - (*found)->second.height + 1, 2u);

  // Back to the a branch, which has the payment at height 1 again.
  Block a2 = MakeBlock(p, a1.header, 1, {}, a, 6);
  Block a3 = MakeBlock(p, a2.header, 2, {}, a, 7);
  Block a4 = MakeBlock(p, a3.header, 3, {}, a, 8);
  Block a5 = MakeBlock(p, a4.header, 4, {}, a, 9);
  for (const Block* blk : {&a2, &a3, &a4, &a5}) {
    ASSERT_TRUE(state->AcceptBlock(*blk).ok());
  }
  ASSERT_EQ(state->Tip().hash, a5.Hash());
  EXPECT_EQ((*state->GetTransaction(pay.Id()))->second,
            (TxLocation{a1.Hash(), 1, 1}));
  EXPECT_EQ(*state->GetTransaction(b3.txs[0].Id()), std::nullopt);
  EXPECT_EQ(*state->GetTransaction(b1.txs[0].Id()), std::nullopt);
}

TEST(ChainStateTest, TransactionIndexDisagreeingWithBlocksIsDataLoss) {
  ChainParams p = TestParams(2);
  MemoryChainStore store;
  auto state = *ChainState::Create(p, &store, FixedClock());
  Block g = MakeGenesisBlock(p);
  Address b = AddressFromPublicKey(TestKey(1).public_key());
  Transaction pay = MakeTransfer(p, TestKey(0), b, 100, 1, 0);
  Block b1 = MakeBlock(p, g.header, 0, {pay}, b, 1);
  ASSERT_EQ(state->AcceptBlock(b1)->status, AcceptStatus::kActive);

  auto tamper = [&](TxLocation loc) {
    StateDelta d;
    d.txs.emplace_back(pay.Id(), loc);
    d.new_tip = b1.Hash();
    ASSERT_TRUE(store.Commit(d).ok());
  };
  tamper(TxLocation{b1.Hash(), 1, 0});  // the coinbase's position
  EXPECT_EQ(state->GetTransaction(pay.Id()).status().code(),
            absl::StatusCode::kDataLoss);
  tamper(TxLocation{b1.Hash(), 1, 7});  // past the end
  EXPECT_EQ(state->GetTransaction(pay.Id()).status().code(),
            absl::StatusCode::kDataLoss);
  tamper(TxLocation{g.Hash(), 1, 1});  // a block not at that height
  EXPECT_EQ(state->GetTransaction(pay.Id()).status().code(),
            absl::StatusCode::kDataLoss);
  tamper(TxLocation{b1.Hash(), 1, 1});  // repaired
  EXPECT_TRUE(state->GetTransaction(pay.Id()).ok());
}

// ----- address history and chain tips -----

// Every entry of `address`'s history, paging `page_size` at a time.
std::vector<AddressHistoryEntry> FullHistory(const ChainState& state,
                                             const Address& address,
                                             size_t page_size,
                                             size_t* pages = nullptr) {
  std::vector<AddressHistoryEntry> out;
  std::optional<TxPosition> before;
  size_t n = 0;
  for (; n < 1000; ++n) {
    absl::StatusOr<AddressHistoryPage> page =
        state.GetAddressHistory(address, before, page_size);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) break;
    EXPECT_LE(page->entries.size(), page_size);
    out.insert(out.end(), page->entries.begin(), page->entries.end());
    if (!page->next) break;
    EXPECT_EQ(page->entries.size(), page_size);
    EXPECT_EQ(*page->next, (TxPosition{page->entries.back().height,
                                       page->entries.back().index}));
    before = page->next;
  }
  if (pages != nullptr) *pages = n + 1;
  return out;
}

TEST(ChainStateTest, AddressHistoryAmountsAndPaging) {
  ChainParams p = TestParams(3, 1000);
  MemoryChainStore store;
  auto state = *ChainState::Create(p, &store, FixedClock());
  const Block g = MakeGenesisBlock(p);
  const Address a0 = AddressFromPublicKey(TestKey(0).public_key());
  const Address a1 = AddressFromPublicKey(TestKey(1).public_key());
  const Address a2 = AddressFromPublicKey(TestKey(2).public_key());
  Address miner;
  miner.bytes.fill(0x77);
  // Block 1: a0 pays a1 10 (fee 2); a0 pays itself 5 (fee 1).
  const Transaction pay = MakeTransfer(p, TestKey(0), a1, 10, 2, 0);
  const Transaction self = MakeTransfer(p, TestKey(0), a0, 5, 1, 1);
  Block b1 = MakeBlock(p, g.header, 0, {pay, self}, miner, 1);
  ASSERT_EQ(state->AcceptBlock(b1)->status, AcceptStatus::kActive);
  // Blocks 2..6: a0 pays a2 1 each.
  BlockHeader parent = b1.header;
  for (uint32_t h = 1; h < 6; ++h) {
    Block b =
        MakeBlock(p, parent, h, {MakeTransfer(p, TestKey(0), a2, 1, 0, h + 1)},
                  miner, h + 1);
    ASSERT_EQ(state->AcceptBlock(b)->status, AcceptStatus::kActive);
    parent = b.header;
  }

  absl::StatusOr<AddressHistoryPage> first =
      state->GetAddressHistory(a0, std::nullopt, 50);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->tip_height, 6u);
  EXPECT_EQ(first->next, std::nullopt);
  // 5 payments to a2, the self-transfer (once), the payment, the allocation.
  const std::vector<AddressHistoryEntry>& all = first->entries;
  ASSERT_EQ(all.size(), 8u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(all[i].height, 6 - i);
    EXPECT_EQ(all[i].index, 1u);
    EXPECT_EQ(all[i].received, 0u);
    EXPECT_EQ(all[i].sent, 1u);
  }
  EXPECT_EQ(all[5].txid, self.Id());
  EXPECT_EQ(all[5].index, 2u);
  EXPECT_EQ(all[5].received, 5u);
  EXPECT_EQ(all[5].sent, 6u);
  EXPECT_EQ(all[6].txid, pay.Id());
  EXPECT_EQ(all[6].tx.Encode(), pay.Encode());
  EXPECT_EQ(all[6].block_hash, b1.Hash());
  EXPECT_EQ(all[6].block_time, b1.header.time);
  EXPECT_EQ(all[6].received, 0u);
  EXPECT_EQ(all[6].sent, 12u);
  EXPECT_EQ(all[7].height, 0u);
  EXPECT_EQ(all[7].block_hash, g.Hash());
  EXPECT_EQ(all[7].received, 1000u);  // the genesis allocation
  EXPECT_EQ(all[7].sent, 0u);

  // The recipient and the miner.
  std::vector<AddressHistoryEntry> r1 = FullHistory(*state, a1, 50);
  ASSERT_EQ(r1.size(), 2u);
  EXPECT_EQ(r1[0].txid, pay.Id());
  EXPECT_EQ(r1[0].received, 10u);
  EXPECT_EQ(r1[0].sent, 0u);
  std::vector<AddressHistoryEntry> m = FullHistory(*state, miner, 50);
  ASSERT_EQ(m.size(), 6u);
  EXPECT_EQ(m[5].txid, b1.txs[0].Id());
  EXPECT_EQ(m[5].index, 0u);
  EXPECT_EQ(m[5].received, p.block_reward + 3);  // reward + fees
  EXPECT_EQ(m[5].sent, 0u);

  // Pages of 3 give the same entries, each once: 3 + 3 + 2.
  size_t pages = 0;
  std::vector<AddressHistoryEntry> paged = FullHistory(*state, a0, 3, &pages);
  EXPECT_EQ(pages, 3u);
  ASSERT_EQ(paged.size(), all.size());
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(paged[i].txid, all[i].txid);
  // A page size equal to the count ends without a next position.
  absl::StatusOr<AddressHistoryPage> exact =
      state->GetAddressHistory(a0, std::nullopt, 8);
  EXPECT_EQ(exact->next, std::nullopt);
  // One less: the next page starts after the 7th entry (the payment).
  EXPECT_EQ(state->GetAddressHistory(a0, std::nullopt, 7)->next,
            (TxPosition{1, 1}));

  // Unknown address: empty. Limit 0: INVALID_ARGUMENT.
  Address nobody;
  nobody.bytes.fill(0x99);
  EXPECT_TRUE(
      state->GetAddressHistory(nobody, std::nullopt, 10)->entries.empty());
  EXPECT_EQ(state->GetAddressHistory(a0, std::nullopt, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ChainStateTest, AddressHistoryFollowsReorgs) {
  ChainParams p = TestParams(2);
  MemoryChainStore store;
  auto state = *ChainState::Create(p, &store, FixedClock());
  const Block g = MakeGenesisBlock(p);
  const Address a1 = AddressFromPublicKey(TestKey(1).public_key());
  Address ma, mb;
  ma.bytes.fill(0xa0);
  mb.bytes.fill(0xb0);
  const Transaction pay = MakeTransfer(p, TestKey(0), a1, 10, 1, 0);
  Block a_1 = MakeBlock(p, g.header, 0, {pay}, ma, 1);
  ASSERT_EQ(state->AcceptBlock(a_1)->status, AcceptStatus::kActive);
  ASSERT_EQ(FullHistory(*state, a1, 10).size(), 2u);
  ASSERT_EQ(FullHistory(*state, ma, 10).size(), 1u);
  // A heavier branch without the payment replaces a_1.
  Block b_1 = MakeBlock(p, g.header, 0, {}, mb, 2);
  Block b_2 = MakeBlock(p, b_1.header, 1, {}, mb, 3);
  ASSERT_EQ(state->AcceptBlock(b_1)->status, AcceptStatus::kSideBranch);
  ASSERT_EQ(state->AcceptBlock(b_2)->status, AcceptStatus::kActive);
  std::vector<AddressHistoryEntry> h1 = FullHistory(*state, a1, 10);
  ASSERT_EQ(h1.size(), 1u);  // only the allocation is left
  EXPECT_EQ(h1[0].height, 0u);
  EXPECT_TRUE(FullHistory(*state, ma, 10).empty());
  std::vector<AddressHistoryEntry> hb = FullHistory(*state, mb, 10);
  ASSERT_EQ(hb.size(), 2u);
  EXPECT_EQ(hb[0].block_hash, b_2.Hash());
  EXPECT_EQ(hb[1].block_hash, b_1.Hash());
  // The payment confirmed again on the new branch shows at its new place.
  Block b_3 = MakeBlock(p, b_2.header, 2, {pay}, mb, 4);
  ASSERT_EQ(state->AcceptBlock(b_3)->status, AcceptStatus::kActive);
  h1 = FullHistory(*state, a1, 10);
  ASSERT_EQ(h1.size(), 2u);
  EXPECT_EQ(h1[0].block_hash, b_3.Hash());
  EXPECT_EQ(h1[0].height, 3u);
}

TEST(ChainStateTest, ChainTipsListsBranchesWithStatusAndForkPoint) {
  ChainParams p = TestParams(2);
  MemoryChainStore store;
  auto state = *ChainState::Create(p, &store, FixedClock());
  const Block g = MakeGenesisBlock(p);
  const Address b = AddressFromPublicKey(TestKey(1).public_key());
  auto tips = state->GetChainTips(10);
  ASSERT_EQ(tips.size(), 1u);
  EXPECT_EQ(tips[0].hash, g.Hash());
  EXPECT_EQ(tips[0].status, ChainTipStatus::kActive);

  // Main chain m1..m4; a valid fork f2, f3 from m1; a fork x1..x5 from
  // genesis where x2 overspends (so x2..x5 end up failed).
  std::vector<Block> main{MakeBlock(p, g.header, 0, {}, b, 1)};
  for (uint32_t h = 1; h < 4; ++h) {
    main.push_back(MakeBlock(p, main.back().header, h, {}, b, 1));
  }
  for (const Block& m : main) {
    ASSERT_EQ(state->AcceptBlock(m)->status, AcceptStatus::kActive);
  }
  Block f2 = MakeBlock(p, main[0].header, 1, {}, b, 20);
  Block f3 = MakeBlock(p, f2.header, 2, {}, b, 21);
  ASSERT_EQ(state->AcceptBlock(f2)->status, AcceptStatus::kSideBranch);
  ASSERT_EQ(state->AcceptBlock(f3)->status, AcceptStatus::kSideBranch);
  Block x1 = MakeBlock(p, g.header, 0, {}, b, 30);
  Block x2 =
      MakeBlock(p, x1.header, 1,
                {MakeTransfer(p, TestKey(0), b, 5'000'000, 0, 0)}, b, 31);
  Block x3 = MakeBlock(p, x2.header, 2, {}, b, 32);
  Block x4 = MakeBlock(p, x3.header, 3, {}, b, 33);
  Block x5 = MakeBlock(p, x4.header, 4, {}, b, 34);
  ASSERT_EQ(state->AcceptBlock(x1)->status, AcceptStatus::kSideBranch);
  ASSERT_EQ(state->AcceptBlock(x2)->status, AcceptStatus::kSideBranch);
  ASSERT_EQ(state->AcceptBlock(x3)->status, AcceptStatus::kSideBranch);
  ASSERT_EQ(state->AcceptBlock(x4)->status, AcceptStatus::kSideBranch);
  // x5 gives the x branch more work: connecting x2 fails, x2..x5 are marked
  // failed and the node stays on m4.
  ASSERT_EQ(state->AcceptBlock(x5)->status, AcceptStatus::kInvalid);
  ASSERT_EQ(state->Tip().hash, main.back().Hash());

  tips = state->GetChainTips(10);
  ASSERT_EQ(tips.size(), 3u);
  EXPECT_EQ(tips[0].hash, main.back().Hash());
  EXPECT_EQ(tips[0].height, 4u);
  EXPECT_EQ(tips[0].branch_length, 0u);
  EXPECT_EQ(tips[0].fork_hash, main.back().Hash());
  EXPECT_EQ(tips[0].status, ChainTipStatus::kActive);
  EXPECT_EQ(tips[0].chain_work, state->Tip().chain_work);
  EXPECT_EQ(tips[0].time, main.back().header.time);
  // By height: x5 (5) before f3 (3).
  EXPECT_EQ(tips[1].hash, x5.Hash());
  EXPECT_EQ(tips[1].height, 5u);
  EXPECT_EQ(tips[1].branch_length, 5u);
  EXPECT_EQ(tips[1].fork_hash, g.Hash());
  EXPECT_EQ(tips[1].status, ChainTipStatus::kInvalid);
  EXPECT_EQ(tips[2].hash, f3.Hash());
  EXPECT_EQ(tips[2].height, 3u);
  EXPECT_EQ(tips[2].branch_length, 2u);
  EXPECT_EQ(tips[2].fork_hash, main[0].Hash());
  EXPECT_EQ(tips[2].status, ChainTipStatus::kValidFork);
  EXPECT_EQ(tips[2].chain_work, state->GetIndexEntry(f3.Hash())->chain_work);
  EXPECT_EQ(tips[2].time, f3.header.time);

  // Bounded: the main tip counts.
  tips = state->GetChainTips(2);
  ASSERT_EQ(tips.size(), 2u);
  EXPECT_EQ(tips[1].hash, x5.Hash());
  EXPECT_TRUE(state->GetChainTips(0).empty());
}

// The tips follow blocks as they arrive (a block stops being a tip when a
// child arrives), across reorgs both ways, an invalid child of the main tip,
// and a reopen that rebuilds them from the stored index.
TEST(ChainStateTest, ChainTipsFollowReorgsInvalidChildrenAndReopen) {
  ChainParams p = TestParams(2);
  MemoryChainStore store;
  auto state = *ChainState::Create(p, &store, FixedClock());
  const Block g = MakeGenesisBlock(p);
  const Address m = AddressFromPublicKey(TestKey(1).public_key());
  auto summary = [](const std::vector<ChainTip>& tips) {
    std::vector<std::tuple<Hash256, uint32_t, uint32_t, Hash256, int>> out;
    for (const ChainTip& t : tips) {
      out.emplace_back(t.hash, t.height, t.branch_length, t.fork_hash,
                       static_cast<int>(t.status));
    }
    return out;
  };
  using Tip = std::tuple<Hash256, uint32_t, uint32_t, Hash256, int>;
  constexpr int kActive = static_cast<int>(ChainTipStatus::kActive);
  constexpr int kFork = static_cast<int>(ChainTipStatus::kValidFork);
  constexpr int kInvalid = static_cast<int>(ChainTipStatus::kInvalid);

  // a1..a3, then b2..b4 from a1 takes over.
  Block a1 = MakeBlock(p, g.header, 0, {}, m, 1);
  Block a2 = MakeBlock(p, a1.header, 1, {}, m, 1);
  Block a3 = MakeBlock(p, a2.header, 2, {}, m, 1);
  for (const Block& b : {a1, a2, a3}) {
    ASSERT_EQ(state->AcceptBlock(b)->status, AcceptStatus::kActive);
  }
  EXPECT_EQ(summary(state->GetChainTips(10)),
            (std::vector<Tip>{{a3.Hash(), 3, 0, a3.Hash(), kActive}}));
  Block b2 = MakeBlock(p, a1.header, 1, {}, m, 2);
  Block b3 = MakeBlock(p, b2.header, 2, {}, m, 2);
  Block b4 = MakeBlock(p, b3.header, 3, {}, m, 2);
  ASSERT_EQ(state->AcceptBlock(b2)->status, AcceptStatus::kSideBranch);
  EXPECT_EQ(summary(state->GetChainTips(10)),
            (std::vector<Tip>{{a3.Hash(), 3, 0, a3.Hash(), kActive},
                              {b2.Hash(), 2, 1, a1.Hash(), kFork}}));
  ASSERT_EQ(state->AcceptBlock(b3)->status, AcceptStatus::kSideBranch);
  ASSERT_EQ(state->AcceptBlock(b4)->status, AcceptStatus::kActive);
  EXPECT_EQ(summary(state->GetChainTips(10)),
            (std::vector<Tip>{{b4.Hash(), 4, 0, b4.Hash(), kActive},
                              {a3.Hash(), 3, 2, a1.Hash(), kFork}}));

  // a4 on the old branch (equal work: b4 stays), then a5 takes it back.
  Block a4 = MakeBlock(p, a3.header, 3, {}, m, 1);
  ASSERT_EQ(state->AcceptBlock(a4)->status, AcceptStatus::kSideBranch);
  EXPECT_EQ(summary(state->GetChainTips(10)),
            (std::vector<Tip>{{b4.Hash(), 4, 0, b4.Hash(), kActive},
                              {a4.Hash(), 4, 3, a1.Hash(), kFork}}));
  Block a5 = MakeBlock(p, a4.header, 4, {}, m, 1);
  ASSERT_EQ(state->AcceptBlock(a5)->status, AcceptStatus::kActive);
  EXPECT_EQ(summary(state->GetChainTips(10)),
            (std::vector<Tip>{{a5.Hash(), 5, 0, a5.Hash(), kActive},
                              {b4.Hash(), 4, 3, a1.Hash(), kFork}}));

  // A child of the main tip that overspends: stored, marked failed, a tip
  // of its own while the main tip (now with a child) stays first.
  Block c6 = MakeBlock(p, a5.header, 5,
                       {MakeTransfer(p, TestKey(0), m, 5'000'000, 0, 0)}, m, 3);
  ASSERT_EQ(state->AcceptBlock(c6)->status, AcceptStatus::kInvalid);
  ASSERT_EQ(state->Tip().hash, a5.Hash());
  const std::vector<Tip> want{{a5.Hash(), 5, 0, a5.Hash(), kActive},
                              {c6.Hash(), 6, 1, a5.Hash(), kInvalid},
                              {b4.Hash(), 4, 3, a1.Hash(), kFork}};
  EXPECT_EQ(summary(state->GetChainTips(10)), want);
  EXPECT_EQ(summary(state->GetChainTips(2)),
            (std::vector<Tip>(want.begin(), want.begin() + 2)));

  // Reopened from the store: the same tips.
  state.reset();
  auto reopened = ChainState::Create(p, &store, FixedClock());
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  EXPECT_EQ(summary((*reopened)->GetChainTips(10)), want);
}

}  // namespace
}  // namespace pbchain
