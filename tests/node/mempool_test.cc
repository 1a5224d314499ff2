#include "node/core/mempool.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "chain/chain_state.h"
#include "chain/memory_store.h"
#include "chain/miner.h"
#include "gtest/gtest.h"
#include "tests/chain/test_chain.h"

namespace pbchain {
namespace {

using testing::MakeBlock;
using testing::MakeTransfer;
using testing::TestKey;
using testing::TestParams;

constexpr int64_t kChainNow = int64_t{testing::kTestGenesisTime} + 1'000'000;

Address Addr(int i) { return AddressFromPublicKey(TestKey(i).public_key()); }

class MempoolTest : public ::testing::Test {
 protected:
  void SetUp() override { Init(8, 1'000'000); }

  void Init(int n_keys, uint64_t funds) {
    params_ = TestParams(n_keys, funds);
    store_ = std::make_unique<MemoryChainStore>();
    ChainStateOptions o;
    o.clock = [] { return kChainNow; };
    chain_ = *ChainState::Create(params_, store_.get(), o);
  }

  std::unique_ptr<Mempool> MakePool(MempoolOptions o = {}) {
    o.clock = [this] { return now_; };
    return std::make_unique<Mempool>(chain_.get(), o);
  }

  Transaction Pay(int from, uint64_t amount, uint64_t fee, uint64_t nonce,
                  std::optional<DataRecord> record = std::nullopt) {
    return MakeTransfer(params_, TestKey(from), Addr(7), amount, fee, nonce,
                        std::move(record));
  }

  // Builds a block from the pool's selection, mines, accepts it and tells
  // the pool. Returns the block.
  Block MineFromPool(Mempool& pool, size_t max_txs = 1000) {
    absl::StatusOr<Block> b = chain_->CreateBlockTemplate(
        Addr(6), pool.SelectForBlock(max_txs), kChainNow);
    EXPECT_TRUE(b.ok());
    std::atomic<bool> abort{false};
    EXPECT_TRUE(MineBlock(*b, 1, abort).found);
    absl::StatusOr<AcceptResult> r = chain_->AcceptBlock(*b);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r->status, AcceptStatus::kActive);
    pool.OnChainUpdate(*r);
    return *b;
  }

  ChainParams params_;
  std::unique_ptr<MemoryChainStore> store_;
  std::unique_ptr<ChainState> chain_;
  absl::Time now_ = absl::FromUnixSeconds(1'800'000'000);
};

TEST_F(MempoolTest, AddAndReaders) {
  auto pool = MakePool();
  Transaction tx = Pay(0, 10, 2, 0);
  absl::StatusOr<Hash256> id = pool->Add(tx);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, tx.Id());
  EXPECT_TRUE(pool->Contains(tx.Id()));
  EXPECT_EQ(pool->Get(tx.Id()), tx);
  EXPECT_FALSE(pool->Get(Pay(0, 11, 2, 0).Id()).has_value());
  EXPECT_EQ(pool->size(), 1u);
  EXPECT_EQ(pool->bytes(), tx.Encode().size());
  EXPECT_EQ(pool->NextNonce(Addr(0)), 1u);
  EXPECT_EQ(pool->NextNonce(Addr(1)), 0u);
  std::vector<MempoolEntry> list = pool->List(10);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].txid, tx.Id());
  EXPECT_EQ(list[0].fee, 2u);
  EXPECT_EQ(list[0].size, tx.Encode().size());
  EXPECT_EQ(list[0].received, now_);
  EXPECT_EQ(list[0].tx, tx);
  EXPECT_TRUE(pool->List(0).empty());
}

TEST_F(MempoolTest, InvalidArgumentForCoinbaseAndContextFreeFailures) {
  auto pool = MakePool();
  Transaction cb;
  cb.kind = TxKind::kCoinbase;
  cb.chain_id = params_.chain_id;
  cb.amount = 50;
  EXPECT_EQ(pool->Add(cb).status().code(), absl::StatusCode::kInvalidArgument);

  Transaction wrong_chain = Pay(0, 10, 1, 0);
  wrong_chain.chain_id = "other-net";
  wrong_chain.Sign(TestKey(0));
  absl::Status s = pool->Add(wrong_chain).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("tx-wrong-chain"), std::string::npos) << s;

  Transaction tampered = Pay(0, 10, 1, 0);
  tampered.amount = 11;  // signature no longer matches
  s = pool->Add(tampered).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("tx-bad-signature"), std::string::npos) << s;

  s = pool->Add(Pay(0, 0, 1, 0)).status();  // no amount, no record
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("tx-empty"), std::string::npos) << s;

  s = pool->Add(Pay(0, UINT64_MAX, 1, 0)).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("tx-overflow"), std::string::npos) << s;

  s = pool->Add(Pay(0, 0, 0, 0, DataRecord{"Bad NS", "k", "x"})).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_EQ(pool->size(), 0u);
}

TEST_F(MempoolTest, AlreadyExistsForPooledAndConfirmed) {
  auto pool = MakePool();
  Transaction tx = Pay(0, 10, 1, 0);
  ASSERT_TRUE(pool->Add(tx).ok());
  EXPECT_EQ(pool->Add(tx).status().code(), absl::StatusCode::kAlreadyExists);

  Transaction rec = Pay(1, 0, 0, 0, DataRecord{"names", "alice", "x"});
  ASSERT_TRUE(pool->Add(rec).ok());
  MineFromPool(*pool);
  EXPECT_EQ(pool->size(), 0u);
  // Confirmed transactions are found through the chain's tx index.
  EXPECT_EQ(pool->Add(rec).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(pool->Add(tx).status().code(), absl::StatusCode::kAlreadyExists);
  // Another transaction reusing a confirmed nonce: the nonce is used.
  EXPECT_EQ(pool->Add(Pay(0, 11, 1, 0)).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(MempoolTest, NonceGapsAndUsedNoncesAreRefused) {
  auto pool = MakePool();
  absl::Status s = pool->Add(Pay(0, 10, 1, 1)).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("tx-bad-nonce"), std::string::npos) << s;
  ASSERT_TRUE(pool->Add(Pay(0, 10, 1, 0)).ok());
  EXPECT_EQ(pool->Add(Pay(0, 10, 1, 2)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(pool->Add(Pay(0, 10, 1, 1)).ok());
  EXPECT_EQ(pool->NextNonce(Addr(0)), 2u);
  MineFromPool(*pool);
  EXPECT_EQ(pool->NextNonce(Addr(0)), 2u);
  EXPECT_EQ(pool->Add(Pay(0, 99, 1, 1)).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(pool->Add(Pay(0, 99, 1, 2)).ok());
}

TEST_F(MempoolTest, BalanceCountsPendingSpends) {
  Init(2, 1000);
  auto pool = MakePool();
  ASSERT_TRUE(pool->Add(Pay(0, 600, 10, 0)).ok());
  // 600 + 10 pending: 390 left.
  absl::Status s = pool->Add(Pay(0, 390, 1, 1)).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("tx-insufficient-funds"), std::string::npos) << s;
  EXPECT_TRUE(pool->Add(Pay(0, 389, 1, 1)).ok());
  EXPECT_EQ(pool->size(), 2u);
}

TEST_F(MempoolTest, MinFeeAndPerSenderLimit) {
  MempoolOptions o;
  o.min_fee = 5;
  o.max_txs_per_sender = 3;
  auto pool = MakePool(o);
  absl::Status s = pool->Add(Pay(0, 10, 4, 0)).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("minimum"), std::string::npos) << s;
  for (uint64_t n = 0; n < 3; ++n)
    ASSERT_TRUE(pool->Add(Pay(0, 10, 5, n)).ok());
  s = pool->Add(Pay(0, 10, 5, 3)).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("limit"), std::string::npos) << s;
  EXPECT_TRUE(pool->Add(Pay(1, 10, 5, 0)).ok());
}

TEST_F(MempoolTest, DefaultsAreDocumented) {
  MempoolOptions o;
  EXPECT_EQ(o.max_txs, 50'000u);
  EXPECT_EQ(o.max_bytes, 64u * 1024 * 1024);
  EXPECT_EQ(o.expiry, absl::Hours(1));
  EXPECT_EQ(o.min_fee, 0u);
  EXPECT_EQ(o.max_txs_per_sender, 64u);
}

TEST_F(MempoolTest, KeyedRecordUniqueAgainstPoolAndChain) {
  auto pool = MakePool();
  ASSERT_TRUE(pool->Add(Pay(0, 0, 0, 0, DataRecord{"names", "bob", "a"})).ok());
  absl::Status s =
      pool->Add(Pay(1, 0, 0, 0, DataRecord{"names", "bob", "b"})).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("claimed"), std::string::npos) << s;
  // Unkeyed records in the same namespace never collide.
  EXPECT_TRUE(pool->Add(Pay(1, 0, 0, 0, DataRecord{"names", {}, "b"})).ok());
  EXPECT_TRUE(pool->Add(Pay(2, 0, 0, 0, DataRecord{"names", {}, "b"})).ok());

  MineFromPool(*pool);
  ASSERT_TRUE(chain_->GetRecord("names", "bob")->has_value());
  s = pool->Add(Pay(3, 0, 0, 0, DataRecord{"names", "bob", "c"})).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("tx-duplicate-record"), std::string::npos) << s;
}

TEST_F(MempoolTest, SelectionIsFeeOrderedAcrossSendersAndNonceOrderedWithin) {
  auto pool = MakePool();
  Transaction a0 = Pay(0, 10, 1, 0);
  Transaction a1 = Pay(0, 10, 10, 1);
  Transaction b0 = Pay(1, 10, 5, 0);
  Transaction c0 = Pay(2, 10, 3, 0);
  Transaction c1 = Pay(2, 10, 2, 1);
  for (const Transaction& tx : {a0, a1, b0, c0, c1}) {
    ASSERT_TRUE(pool->Add(tx).ok());
  }
  std::vector<Transaction> sel = pool->SelectForBlock(100);
  // a1 pays the most but must wait for a0, which pays the least.
  EXPECT_EQ(sel, (std::vector<Transaction>{b0, c0, c1, a0, a1}));
  EXPECT_EQ(pool->SelectForBlock(2), (std::vector<Transaction>{b0, c0}));
  EXPECT_TRUE(pool->SelectForBlock(0).empty());
}

TEST_F(MempoolTest, ReplacementNeedsHigherFeeAndRechecksLaterNonces) {
  Init(2, 1000);
  auto pool = MakePool();
  Transaction a0 = Pay(0, 100, 2, 0);
  Transaction a1 = Pay(0, 800, 1, 1);
  ASSERT_TRUE(pool->Add(a0).ok());
  ASSERT_TRUE(pool->Add(a1).ok());

  absl::Status s = pool->Add(Pay(0, 500, 2, 0)).status();  // equal fee
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("replacement needs a higher fee"),
            std::string::npos)
      << s;
  EXPECT_EQ(pool->Add(Pay(0, 500, 1, 0)).status().code(),
            absl::StatusCode::kFailedPrecondition);

  // A higher fee replaces a0 but leaves too little for a1: a1 goes.
  Transaction a0b = Pay(0, 500, 3, 0);
  ASSERT_TRUE(pool->Add(a0b).ok());
  EXPECT_FALSE(pool->Contains(a0.Id()));
  EXPECT_TRUE(pool->Contains(a0b.Id()));
  EXPECT_FALSE(pool->Contains(a1.Id()));
  EXPECT_EQ(pool->size(), 1u);
  EXPECT_EQ(pool->NextNonce(Addr(0)), 1u);

  // A replacement that keeps later ones valid keeps them.
  Transaction a1b = Pay(0, 100, 1, 1);
  ASSERT_TRUE(pool->Add(a1b).ok());
  Transaction a0c = Pay(0, 400, 4, 0);
  ASSERT_TRUE(pool->Add(a0c).ok());
  EXPECT_TRUE(pool->Contains(a1b.Id()));
  EXPECT_EQ(pool->size(), 2u);
  EXPECT_EQ(pool->bytes(), a0c.Encode().size() + a1b.Encode().size());
}

TEST_F(MempoolTest, ReplacementMayTakeOverItsOwnRecordClaim) {
  auto pool = MakePool();
  ASSERT_TRUE(pool->Add(Pay(0, 0, 1, 0, DataRecord{"names", "z", "a"})).ok());
  Transaction better = Pay(0, 0, 2, 0, DataRecord{"names", "z", "b"});
  ASSERT_TRUE(pool->Add(better).ok());
  EXPECT_EQ(pool->size(), 1u);
  // The claim moved to the replacement.
  EXPECT_EQ(
      pool->Add(Pay(1, 0, 5, 0, DataRecord{"names", "z", "c"})).status().code(),
      absl::StatusCode::kFailedPrecondition);
}

TEST_F(MempoolTest, FullPoolEvictsLowestFeeRateOrRefuses) {
  MempoolOptions o;
  o.max_txs = 3;
  auto pool = MakePool(o);
  Transaction a0 = Pay(0, 10, 1, 0);
  Transaction a1 = Pay(0, 10, 9, 1);  // evicted with a0
  Transaction b0 = Pay(1, 10, 2, 0);
  ASSERT_TRUE(pool->Add(a0).ok());
  ASSERT_TRUE(pool->Add(a1).ok());
  ASSERT_TRUE(pool->Add(b0).ok());

  // Not higher than the lowest (1): refused.
  absl::Status s = pool->Add(Pay(2, 10, 1, 0)).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_EQ(pool->size(), 3u);

  Transaction c0 = Pay(2, 10, 3, 0);
  ASSERT_TRUE(pool->Add(c0).ok());
  EXPECT_FALSE(pool->Contains(a0.Id()));
  EXPECT_FALSE(pool->Contains(a1.Id()));
  EXPECT_TRUE(pool->Contains(b0.Id()));
  EXPECT_TRUE(pool->Contains(c0.Id()));
  EXPECT_EQ(pool->size(), 2u);

  // A sender's own predecessors are never evicted for it: only b0 could
  // go, and it pays more.
  MempoolOptions o2;
  o2.max_txs = 2;
  auto two = MakePool(o2);
  ASSERT_TRUE(two->Add(Pay(0, 10, 1, 0)).ok());
  ASSERT_TRUE(two->Add(Pay(1, 10, 5, 0)).ok());
  EXPECT_EQ(two->Add(Pay(0, 10, 3, 1)).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(two->size(), 2u);

  // Byte limit: room for two transactions only.
  MempoolOptions ob;
  ob.max_bytes = a0.Encode().size() * 2 + 10;
  auto small = MakePool(ob);
  ASSERT_TRUE(small->Add(Pay(0, 10, 1, 0)).ok());
  ASSERT_TRUE(small->Add(Pay(1, 10, 2, 0)).ok());
  EXPECT_EQ(small->Add(Pay(2, 10, 1, 0)).status().code(),
            absl::StatusCode::kResourceExhausted);
  Transaction d0 = Pay(3, 10, 4, 0);
  ASSERT_TRUE(small->Add(d0).ok());
  EXPECT_EQ(small->size(), 2u);
  EXPECT_LE(small->bytes(), ob.max_bytes);
  EXPECT_FALSE(small->Contains(Pay(0, 10, 1, 0).Id()));
}

TEST_F(MempoolTest, ConfirmedTransactionsLeaveAfterABlock) {
  auto pool = MakePool();
  Transaction a0 = Pay(0, 10, 5, 0);
  Transaction a1 = Pay(0, 10, 5, 1);
  Transaction b0 = Pay(1, 10, 1, 0);
  for (const Transaction& tx : {a0, a1, b0}) ASSERT_TRUE(pool->Add(tx).ok());
  Block b = MineFromPool(*pool, /*max_txs=*/2);
  ASSERT_EQ(b.txs.size(), 3u);  // coinbase + a0 + a1
  EXPECT_EQ(b.txs[1], a0);
  EXPECT_EQ(b.txs[2], a1);
  EXPECT_EQ(pool->size(), 1u);
  EXPECT_TRUE(pool->Contains(b0.Id()));
  EXPECT_EQ(pool->bytes(), b0.Encode().size());
  EXPECT_EQ(pool->NextNonce(Addr(0)), 2u);
  MineFromPool(*pool);
  EXPECT_EQ(pool->size(), 0u);
  EXPECT_EQ(pool->bytes(), 0u);
}

TEST_F(MempoolTest, BlockWithAConflictingTransactionDropsTheInvalidOnes) {
  auto pool = MakePool();
  Transaction a0 = Pay(0, 10, 1, 0);
  Transaction a1 = Pay(0, 10, 1, 1);
  Transaction b0 = Pay(1, 10, 1, 0);
  for (const Transaction& tx : {a0, a1, b0}) ASSERT_TRUE(pool->Add(tx).ok());
  // Someone else's block spends sender 0's nonce 0 differently.
  Transaction other = Pay(0, 20, 1, 0);
  Block g = *chain_->GetBlock(chain_->Tip().hash);
  Block blk = MakeBlock(params_, g.header, 0, {other}, Addr(5));
  absl::StatusOr<AcceptResult> r = chain_->AcceptBlock(blk);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->status, AcceptStatus::kActive);
  pool->OnChainUpdate(*r);
  // a0 lost its nonce; a1 (nonce 1) is still valid on the new tip.
  EXPECT_FALSE(pool->Contains(a0.Id()));
  EXPECT_TRUE(pool->Contains(a1.Id()));
  EXPECT_TRUE(pool->Contains(b0.Id()));
  EXPECT_EQ(pool->size(), 2u);
  EXPECT_EQ(pool->bytes(), a1.Encode().size() + b0.Encode().size());
}

TEST_F(MempoolTest, ReorgReturnsTransactionsToThePool) {
  auto pool = MakePool();
  Block g = *chain_->GetBlock(chain_->Tip().hash);
  Transaction a0 = Pay(0, 10, 1, 0, DataRecord{"names", "carol", "x"});
  ASSERT_TRUE(pool->Add(a0).ok());
  Block a1 = MineFromPool(*pool);
  ASSERT_EQ(a1.txs.size(), 2u);
  EXPECT_EQ(pool->size(), 0u);
  // Sender 0 goes on from the confirmed nonce.
  Transaction next = Pay(0, 10, 1, 1);
  ASSERT_TRUE(pool->Add(next).ok());

  // A longer sibling branch without a0.
  Block b1 = MakeBlock(params_, g.header, 0, {}, Addr(5), 11);
  Block b2 = MakeBlock(params_, b1.header, 1, {}, Addr(5), 12);
  absl::StatusOr<AcceptResult> r1 = chain_->AcceptBlock(b1);
  ASSERT_TRUE(r1.ok());
  ASSERT_EQ(r1->status, AcceptStatus::kSideBranch);
  pool->OnChainUpdate(*r1);
  EXPECT_EQ(pool->size(), 1u);
  absl::StatusOr<AcceptResult> r2 = chain_->AcceptBlock(b2);
  ASSERT_TRUE(r2.ok());
  ASSERT_EQ(r2->status, AcceptStatus::kActive);
  ASSERT_EQ(r2->returned_txs.size(), 1u);
  pool->OnChainUpdate(*r2);

  EXPECT_TRUE(pool->Contains(a0.Id()));
  EXPECT_TRUE(pool->Contains(next.Id()));
  EXPECT_EQ(pool->size(), 2u);
  EXPECT_EQ(pool->NextNonce(Addr(0)), 2u);
  EXPECT_EQ(pool->SelectForBlock(10), (std::vector<Transaction>{a0, next}));
  // The returned record is claimed again.
  EXPECT_EQ(pool->Add(Pay(1, 0, 9, 0, DataRecord{"names", "carol", "y"}))
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  // And a block from the pool confirms both on the new branch.
  MineFromPool(*pool);
  EXPECT_EQ(pool->size(), 0u);
  EXPECT_EQ(chain_->GetAccount(Addr(0))->nonce, 2u);
}

// Issue 15: a deep reorganisation returned 104 transactions of one sender
// and the per-sender limit kept 64, silently stranding the rest.
TEST_F(MempoolTest, MoreReturnedTransactionsThanThePerSenderLimitAreAllKept) {
  auto pool = MakePool();  // max_txs_per_sender 64
  constexpr uint64_t kReturned = 104;
  Block g = *chain_->GetBlock(chain_->Tip().hash);
  std::vector<Transaction> txs;
  for (uint64_t n = 0; n < kReturned; ++n) txs.push_back(Pay(0, 10, 1, n));
  Block a1 = MakeBlock(params_, g.header, 0, txs, Addr(6), 1);
  ASSERT_EQ(chain_->AcceptBlock(a1)->status, AcceptStatus::kActive);
  // Sender 0 pools more on top, up to its limit.
  ASSERT_TRUE(pool->Add(Pay(0, 10, 1, kReturned)).ok());

  Block b1 = MakeBlock(params_, g.header, 0, {}, Addr(5), 11);
  Block b2 = MakeBlock(params_, b1.header, 1, {}, Addr(5), 12);
  ASSERT_EQ(chain_->AcceptBlock(b1)->status, AcceptStatus::kSideBranch);
  absl::StatusOr<AcceptResult> r = chain_->AcceptBlock(b2);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->status, AcceptStatus::kActive);
  ASSERT_EQ(r->returned_txs.size(), kReturned);
  ChainUpdateReport report = pool->OnChainUpdate(*r);

  EXPECT_EQ(report.returned_pooled.size(), kReturned);
  EXPECT_EQ(report.returned_invalid, 0u);
  EXPECT_EQ(report.returned_evicted, 0u);
  EXPECT_EQ(report.pooled_dropped, 0u);
  EXPECT_EQ(pool->size(), kReturned + 1);
  EXPECT_EQ(pool->NextNonce(Addr(0)), kReturned + 1);
  for (const Transaction& tx : txs) EXPECT_TRUE(pool->Contains(tx.Id()));
  // Announced in nonce order, so a peer never sees a gap.
  for (size_t i = 0; i < report.returned_pooled.size(); ++i) {
    EXPECT_EQ(report.returned_pooled[i].nonce, i);
  }
  EXPECT_EQ(pool->stats().returned_pooled, kReturned);
  // The sender's own submissions still count against the limit (1 of 64).
  EXPECT_TRUE(pool->Add(Pay(0, 10, 1, kReturned + 1)).ok());
  // And a block confirms them all.
  MineFromPool(*pool);
  EXPECT_EQ(pool->size(), 0u);
  EXPECT_EQ(chain_->GetAccount(Addr(0))->nonce, kReturned + 2);
}

TEST_F(MempoolTest, ReturnedTransactionsThatNoLongerFitAreCounted) {
  // Room for 3: of 5 returned, 2 are evicted (lowest fee rate), 1 is spent
  // by the new branch; none vanishes uncounted.
  MempoolOptions o;
  o.max_txs = 3;
  auto pool = MakePool(o);
  Block g = *chain_->GetBlock(chain_->Tip().hash);
  std::vector<Transaction> a_txs = {Pay(0, 10, 1, 0), Pay(1, 10, 9, 0),
                                    Pay(2, 10, 9, 0), Pay(3, 10, 9, 0),
                                    Pay(4, 10, 2, 0), Pay(5, 10, 3, 0)};
  Block a1 = MakeBlock(params_, g.header, 0, a_txs, Addr(6), 1);
  ASSERT_EQ(chain_->AcceptBlock(a1)->status, AcceptStatus::kActive);
  // The new branch spends sender 5's nonce 0 otherwise.
  Block b1 = MakeBlock(params_, g.header, 0, {Pay(5, 20, 1, 0)}, Addr(5), 11);
  Block b2 = MakeBlock(params_, b1.header, 1, {}, Addr(5), 12);
  ASSERT_EQ(chain_->AcceptBlock(b1)->status, AcceptStatus::kSideBranch);
  absl::StatusOr<AcceptResult> r = chain_->AcceptBlock(b2);
  ASSERT_EQ(r->status, AcceptStatus::kActive);
  ChainUpdateReport report = pool->OnChainUpdate(*r);
  EXPECT_EQ(report.returned_pooled.size(), 3u);
  EXPECT_EQ(report.returned_evicted, 2u);
  EXPECT_EQ(report.returned_invalid, 1u);
  EXPECT_TRUE(pool->Contains(a_txs[1].Id()));
  EXPECT_TRUE(pool->Contains(a_txs[2].Id()));
  EXPECT_TRUE(pool->Contains(a_txs[3].Id()));
  MempoolStats stats = pool->stats();
  EXPECT_EQ(stats.returned_pooled, 3u);
  EXPECT_EQ(stats.returned_evicted, 2u);
  EXPECT_EQ(stats.returned_invalid, 1u);
}

TEST_F(MempoolTest, TopTxidsFollowTheBlockSelectionOrder) {
  auto pool = MakePool();
  Transaction a0 = Pay(0, 10, 1, 0);
  Transaction a1 = Pay(0, 10, 50, 1);
  Transaction b0 = Pay(1, 10, 5, 0);
  for (const Transaction& tx : {a0, a1, b0}) ASSERT_TRUE(pool->Add(tx).ok());
  EXPECT_EQ(pool->TopTxids(10),
            (std::vector<Hash256>{b0.Id(), a0.Id(), a1.Id()}));
  EXPECT_EQ(pool->TopTxids(1), (std::vector<Hash256>{b0.Id()}));
}

// --- The mempool file ---

class MempoolFileTest : public MempoolTest {
 protected:
  void SetUp() override {
    MempoolTest::SetUp();
    char tmpl[] = "/tmp/mempool_file_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/" + kMempoolFileName;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string dir_;
  std::string path_;
};

TEST_F(MempoolFileTest, RoundTripKeepsTimesAndReturnedMarks) {
  auto pool = MakePool();
  Transaction a0 = Pay(0, 10, 1, 0, DataRecord{"names", "dave", "x"});
  Transaction a1 = Pay(0, 10, 3, 1);
  Transaction b0 = Pay(1, 10, 2, 0);
  ASSERT_TRUE(pool->Add(a0).ok());
  now_ += absl::Seconds(7);
  ASSERT_TRUE(pool->Add(a1).ok());
  ASSERT_TRUE(pool->Add(b0).ok());
  std::vector<MempoolEntry> listed = pool->List(100);
  listed[2].returned = true;
  ASSERT_TRUE(WriteMempoolFile(path_, listed).ok());
  EXPECT_FALSE(std::filesystem::exists(path_ + ".tmp"));

  absl::StatusOr<std::vector<MempoolEntry>> read = ReadMempoolFile(path_);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*read)[i].tx, listed[i].tx);
    EXPECT_EQ((*read)[i].txid, listed[i].txid);
    EXPECT_EQ((*read)[i].received, listed[i].received);
    EXPECT_EQ((*read)[i].returned, i == 2);
  }

  // A fresh pool takes them back in any file order (nonce order per sender
  // is restored), keeping the received times (expiry goes on from them).
  std::reverse(read->begin(), read->end());
  auto fresh = MakePool();
  MempoolLoadReport report = fresh->Load(*read);
  EXPECT_EQ(report.loaded, 3u);
  EXPECT_EQ(report.invalid, 0u);
  EXPECT_EQ(fresh->size(), 3u);
  EXPECT_EQ(fresh->NextNonce(Addr(0)), 2u);
  EXPECT_EQ(fresh->SelectForBlock(10), pool->SelectForBlock(10));
  now_ += kMempoolDefaultExpiry - absl::Seconds(3);
  EXPECT_EQ(fresh->ExpireOld(), 2u);  // a0 (and a1 after it) are older
  EXPECT_EQ(fresh->size(), 1u);
}

TEST_F(MempoolFileTest, LoadRevalidatesAgainstTheTip) {
  auto pool = MakePool();
  Transaction a0 = Pay(0, 10, 1, 0);
  Transaction a1 = Pay(0, 10, 1, 1);
  Transaction b0 = Pay(1, 10, 1, 0);
  Transaction c0 = Pay(2, 10, 1, 0);
  for (const Transaction& tx : {a0, a1, b0, c0}) {
    ASSERT_TRUE(pool->Add(tx).ok());
  }
  std::vector<MempoolEntry> saved = pool->List(100);
  // While the node was down, a block spent sender 0's nonce 0 otherwise
  // (a0 is invalid, a1 still fits) and confirmed b0.
  Block g = *chain_->GetBlock(chain_->Tip().hash);
  Block blk = MakeBlock(params_, g.header, 0, {Pay(0, 20, 1, 0), b0}, Addr(5));
  ASSERT_EQ(chain_->AcceptBlock(blk)->status, AcceptStatus::kActive);
  // A forged entry: a bad signature.
  MempoolEntry forged = saved.back();
  forged.tx.amount += 1;
  saved.push_back(forged);
  // An entry older than the expiry.
  MempoolEntry old = saved.front();
  old.tx = Pay(3, 10, 1, 0);
  old.received = now_ - kMempoolDefaultExpiry - absl::Seconds(1);
  saved.push_back(old);

  auto fresh = MakePool();
  MempoolLoadReport report = fresh->Load(saved);
  EXPECT_EQ(report.loaded, 2u);   // a1, c0
  EXPECT_EQ(report.invalid, 3u);  // a0, b0 (confirmed), the forged one
  EXPECT_EQ(report.expired, 1u);
  EXPECT_TRUE(fresh->Contains(a1.Id()));
  EXPECT_TRUE(fresh->Contains(c0.Id()));
  EXPECT_EQ(fresh->size(), 2u);
}

TEST_F(MempoolFileTest, DamagedFilesAreDataLossNeverACrash) {
  auto pool = MakePool();
  ASSERT_TRUE(pool->Add(Pay(0, 10, 1, 0)).ok());
  ASSERT_TRUE(pool->Add(Pay(1, 10, 1, 0)).ok());
  const Bytes good = EncodeMempoolFile(pool->List(100));
  ASSERT_TRUE(DecodeMempoolFile(good).ok());
  EXPECT_EQ(DecodeMempoolFile(EncodeMempoolFile({}))->size(), 0u);

  // Every truncation and every single-bit flip is refused as DATA_LOSS.
  for (size_t n = 0; n < good.size(); ++n) {
    Bytes cut(good.begin(), good.begin() + n);
    EXPECT_EQ(DecodeMempoolFile(cut).status().code(),
              absl::StatusCode::kDataLoss)
        << n;
  }
  for (size_t i = 0; i < good.size(); ++i) {
    Bytes flipped = good;
    flipped[i] ^= 0x10;
    EXPECT_EQ(DecodeMempoolFile(flipped).status().code(),
              absl::StatusCode::kDataLoss)
        << i;
  }
  Bytes trailing = good;
  trailing.push_back(0);
  EXPECT_EQ(DecodeMempoolFile(trailing).status().code(),
            absl::StatusCode::kDataLoss);

  EXPECT_EQ(ReadMempoolFile(path_).status().code(),
            absl::StatusCode::kNotFound);
  {
    std::ofstream out(path_, std::ios::binary);
    out << "not a mempool file at all, just some text that is long enough "
           "to hold a header and a checksum";
  }
  absl::StatusOr<std::vector<MempoolEntry>> read = ReadMempoolFile(path_);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(read.status().message().find("magic"), std::string::npos)
      << read.status();
  // A write replaces the damaged file atomically.
  ASSERT_TRUE(WriteMempoolFile(path_, pool->List(100)).ok());
  EXPECT_EQ(ReadMempoolFile(path_)->size(), 2u);
}

TEST_F(MempoolTest, ExpiryUsesTheInjectedClock) {
  auto pool = MakePool();
  const absl::Time t0 = now_;
  Transaction a0 = Pay(0, 10, 1, 0);
  ASSERT_TRUE(pool->Add(a0).ok());
  now_ = t0 + absl::Minutes(30);
  Transaction b0 = Pay(1, 10, 1, 0);
  ASSERT_TRUE(pool->Add(b0).ok());
  now_ = t0 + absl::Minutes(40);
  Transaction a1 = Pay(0, 10, 1, 1);  // young, but follows a0
  ASSERT_TRUE(pool->Add(a1).ok());

  now_ = t0 + absl::Minutes(59);
  EXPECT_EQ(pool->ExpireOld(), 0u);
  now_ = t0 + absl::Minutes(61);
  EXPECT_EQ(pool->ExpireOld(), 2u);
  EXPECT_FALSE(pool->Contains(a0.Id()));
  EXPECT_FALSE(pool->Contains(a1.Id()));
  EXPECT_TRUE(pool->Contains(b0.Id()));
  now_ = t0 + absl::Minutes(91);
  EXPECT_EQ(pool->ExpireOld(), 1u);
  EXPECT_EQ(pool->size(), 0u);
  EXPECT_EQ(pool->bytes(), 0u);
}

TEST_F(MempoolTest, ConcurrentAddsFromDistinctSenders) {
  auto pool = MakePool();
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20;
  // Sign up front so the threads race on the pool, not on signing.
  std::vector<std::vector<Transaction>> txs(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    for (int n = 0; n < kPerThread; ++n) {
      txs[t].push_back(Pay(t, 1, static_cast<uint64_t>(n % 5), n));
    }
  }
  std::atomic<int> failures{0};
  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done.load()) {
      std::vector<Transaction> sel = pool->SelectForBlock(1000);
      if (sel.size() > pool->options().max_txs) failures.fetch_add(1);
      (void)pool->List(5);
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (const Transaction& tx : txs[t]) {
        if (!pool->Add(tx).ok()) failures.fetch_add(1);
      }
    });
  }
  for (std::thread& th : threads) th.join();
  done.store(true);
  reader.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(pool->size(), static_cast<size_t>(kThreads * kPerThread));
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(pool->NextNonce(Addr(t)), static_cast<uint64_t>(kPerThread));
  }
}

}  // namespace
}  // namespace pbchain
