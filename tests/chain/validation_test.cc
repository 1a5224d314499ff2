// Each consensus rule broken once: the block or transaction is rejected with
// that rule's reason, and the untouched version passes.
#include "chain/validation.h"

#include "chain/chain_state.h"
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

class ValidationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    params_ = TestParams(3, 1000);
    ChainStateOptions opts;
    opts.clock = [this] { return now_; };
    state_ = *ChainState::Create(params_, &store_, opts);
    genesis_ = MakeGenesisBlock(params_);
    a_ = AddressFromPublicKey(TestKey(0).public_key());
    b_ = AddressFromPublicKey(TestKey(1).public_key());
  }

  Transaction Pay(uint64_t amount, uint64_t fee = 1, uint64_t nonce = 0,
                  std::optional<DataRecord> rec = std::nullopt) {
    return MakeTransfer(params_, TestKey(0), b_, amount, fee, nonce,
                        std::move(rec));
  }
  // Re-mines a block after a test changed it, keeping the merkle root honest
  // unless `keep_root`.
  void Remine(Block& b, bool keep_root = false) {
    if (!keep_root) b.header.merkle_root = BlockMerkleRoot(b);
    std::atomic<bool> abort{false};
    b.header.nonce = 0;
    MineBlock(b, 1, abort);
  }
  RejectReason Accept(const Block& b) {
    absl::StatusOr<AcceptResult> r = state_->AcceptBlock(b);
    EXPECT_TRUE(r.ok()) << r.status();
    return r->validation.reason();
  }

  ChainParams params_;
  MemoryChainStore store_;
  std::unique_ptr<ChainState> state_;
  Block genesis_;
  Address a_, b_;
  int64_t now_ = testing::kTestGenesisTime + 100;
};

TEST_F(ValidationTest, ValidBlockIsAccepted) {
  Block b = MakeBlock(params_, genesis_.header, 0, {Pay(10)});
  EXPECT_EQ(Accept(b), RejectReason::kNone);
  EXPECT_EQ(state_->GetAccount(a_)->balance, 1000u - 11);
  EXPECT_EQ(state_->GetAccount(b_)->balance, 1000u + 10);
  EXPECT_EQ(state_->GetAccount(a_)->nonce, 1u);
}

TEST_F(ValidationTest, TxWrongChain) {
  Transaction tx = Pay(10);
  tx.chain_id = "other";
  tx.Sign(TestKey(0));
  EXPECT_EQ(CheckTransaction(tx, params_).reason(),
            RejectReason::kTxWrongChain);
  EXPECT_EQ(Accept(MakeBlock(params_, genesis_.header, 0, {tx})),
            RejectReason::kTxWrongChain);
}

TEST_F(ValidationTest, TxBadSignature) {
  Transaction tx = Pay(10);
  tx.signature[0] ^= 1;
  EXPECT_EQ(Accept(MakeBlock(params_, genesis_.header, 0, {tx})),
            RejectReason::kTxBadSignature);
}

TEST_F(ValidationTest, BadSignatureFoundInBigBlockIsTheFirstOne) {
  // Enough transfers for the parallel signature check.
  std::vector<Transaction> txs;
  for (uint64_t n = 0; n < 300; ++n) txs.push_back(Pay(1, 0, n));
  txs[150].signature[3] ^= 1;
  txs[250].signature[3] ^= 1;
  EXPECT_EQ(FirstBadSignature(txs), 150u);
  Block b = MakeBlock(params_, genesis_.header, 0, txs);
  absl::StatusOr<AcceptResult> r = state_->AcceptBlock(b);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->validation.reason(), RejectReason::kTxBadSignature);
  EXPECT_NE(r->validation.message().find("transaction 151"), std::string::npos)
      << r->validation.message();  // index 0 is the coinbase
  txs[150].signature[3] ^= 1;
  txs[250].signature[3] ^= 1;
  EXPECT_EQ(FirstBadSignature(txs), std::nullopt);
}

TEST_F(ValidationTest, TxEmptyAndOverflowAndMalformedRecord) {
  EXPECT_EQ(CheckTransaction(Pay(0, 1), params_).reason(),
            RejectReason::kTxEmpty);
  EXPECT_TRUE(
      CheckTransaction(Pay(0, 1, 0, DataRecord{"v", "k", ""}), params_).ok());
  EXPECT_EQ(CheckTransaction(Pay(UINT64_MAX, 1), params_).reason(),
            RejectReason::kTxOverflow);
  EXPECT_EQ(CheckTransaction(
                Pay(1, 1, 0, DataRecord{"Bad NS", std::nullopt, ""}), params_)
                .reason(),
            RejectReason::kTxMalformed);
  EXPECT_EQ(
      CheckTransaction(Pay(1, 1, 0, DataRecord{"v", std::string(129, 'k'), ""}),
                       params_)
          .reason(),
      RejectReason::kTxMalformed);
  EXPECT_EQ(CheckTransaction(
                Pay(1, 1, 0, DataRecord{kGenesisNamespace, std::nullopt, ""}),
                params_)
                .reason(),
            RejectReason::kTxMalformed);
}

TEST_F(ValidationTest, TxBadNonce) {
  EXPECT_EQ(Accept(MakeBlock(params_, genesis_.header, 0, {Pay(10, 1, 1)})),
            RejectReason::kTxBadNonce);
}

TEST_F(ValidationTest, TxInsufficientFunds) {
  EXPECT_EQ(Accept(MakeBlock(params_, genesis_.header, 0, {Pay(1000, 1)})),
            RejectReason::kTxInsufficientFunds);
}

TEST_F(ValidationTest, TxDuplicateRecordInChainAndInBlock) {
  DataRecord vote{"votes", "voter-1", "a"};
  Block b1 = MakeBlock(params_, genesis_.header, 0, {Pay(0, 0, 0, vote)});
  ASSERT_EQ(Accept(b1), RejectReason::kNone);
  Transaction again = MakeTransfer(params_, TestKey(1), b_, 0, 0, 0,
                                   DataRecord{"votes", "voter-1", "b"});
  EXPECT_EQ(Accept(MakeBlock(params_, b1.header, 1, {again})),
            RejectReason::kTxDuplicateRecord);
  Transaction t1 = MakeTransfer(params_, TestKey(1), b_, 0, 0, 0,
                                DataRecord{"votes", "v2", "a"});
  Transaction t2 = MakeTransfer(params_, TestKey(2), b_, 0, 0, 0,
                                DataRecord{"votes", "v2", "b"});
  EXPECT_EQ(Accept(MakeBlock(params_, b1.header, 1, {t1, t2})),
            RejectReason::kTxDuplicateRecord);
  // Keyless records never collide.
  Transaction k1 = MakeTransfer(params_, TestKey(1), b_, 0, 0, 0,
                                DataRecord{"log", std::nullopt, "x"});
  Transaction k2 = MakeTransfer(params_, TestKey(2), b_, 0, 0, 0,
                                DataRecord{"log", std::nullopt, "x"});
  EXPECT_EQ(Accept(MakeBlock(params_, b1.header, 1, {k1, k2})),
            RejectReason::kNone);
}

TEST_F(ValidationTest, HeaderBadVersion) {
  Block b = MakeBlock(params_, genesis_.header, 0, {});
  b.header.version = 2;
  Remine(b);
  EXPECT_EQ(Accept(b), RejectReason::kHeaderBadVersion);
}

TEST_F(ValidationTest, HeaderBadPow) {
  Block b = MakeBlock(params_, genesis_.header, 0, {});
  // Find a nonce that does NOT meet the target.
  while (HashMeetsTarget(b.Hash(), DecodeCompact(b.header.bits).target))
    ++b.header.nonce;
  EXPECT_EQ(Accept(b), RejectReason::kHeaderBadPow);
  b.header.bits = 0x2100ffff;  // a valid target, but above the pow limit
  Remine(b);
  EXPECT_EQ(CheckBlock(b, params_).reason(), RejectReason::kHeaderBadPow);
  // Against the chain too: the header's own rules (PROTOCOL.md 13.3 rules
  // 1-3) come before the comparison with the retarget rule (13.4 rule 3),
  // and both before any signature is checked.
  EXPECT_EQ(Accept(b), RejectReason::kHeaderBadPow);
  b.header.bits = 0;  // no target at all
  EXPECT_EQ(CheckBlock(b, params_).reason(), RejectReason::kHeaderBadPow);
  EXPECT_EQ(Accept(b), RejectReason::kHeaderBadPow);
}

TEST_F(ValidationTest, FeeSumOverflowIsRejected) {
  // Two senders whose fees together exceed u64: the sum must not wrap.
  ChainParams p = params_;
  p.allocations = {{a_, UINT64_MAX - 1001}, {b_, 1000}};
  ASSERT_TRUE(MineGenesis(p).ok());
  MemoryChainStore store;
  ChainStateOptions opts;
  opts.clock = [this] { return now_; };
  auto state = *ChainState::Create(p, &store, opts);
  Transaction t1 = MakeTransfer(p, TestKey(0), a_, 1, UINT64_MAX - 1002, 0);
  Transaction t2 = MakeTransfer(p, TestKey(1), b_, 1, 990, 0);
  Block b = MakeBlock(p, MakeGenesisBlock(p).header, 0, {t1, t2});
  ASSERT_EQ(b.txs[0].amount,
            p.block_reward + (UINT64_MAX - 1002) + 990);  // wrapped
  EXPECT_EQ(state->AcceptBlock(b)->validation.reason(),
            RejectReason::kBlockBadCoinbase);
  // A fee that no coinbase could carry is refused up front, and never put
  // into a template.
  Transaction huge = MakeTransfer(p, TestKey(0), a_, 1, UINT64_MAX - 10, 0);
  EXPECT_EQ(state->CheckTransactionOnTip(huge, {})->reason(),
            RejectReason::kTxOverflow);
  std::vector<Transaction> candidates = {huge};
  EXPECT_EQ(state->CreateBlockTemplate(b_, candidates, now_)->txs.size(), 1u);
}

TEST_F(ValidationTest, HeaderBadBits) {
  Block b = MakeBlock(params_, genesis_.header, 0, {});
  b.header.bits = 0x207ffff0;  // valid and easy, but not what the rule says
  Remine(b);
  EXPECT_EQ(Accept(b), RejectReason::kHeaderBadBits);
}

TEST_F(ValidationTest, HeaderTimeTooOldAndTooNew) {
  Block old_time = MakeBlock(params_, genesis_.header, 0, {});
  old_time.header.time = genesis_.header.time;  // not above median-time-past
  Remine(old_time);
  EXPECT_EQ(Accept(old_time), RejectReason::kHeaderTimeTooOld);
  Block future = MakeBlock(params_, genesis_.header, 0, {});
  future.header.time =
      static_cast<uint32_t>(now_ + params_.max_future_block_time_s + 1);
  Remine(future);
  EXPECT_EQ(Accept(future), RejectReason::kHeaderTimeTooNew);
  now_ += 10;  // the same block becomes valid later: it was not marked failed
  EXPECT_EQ(Accept(future), RejectReason::kNone);
}

TEST_F(ValidationTest, HeaderUnknownAndInvalidParent) {
  BlockHeader fake = genesis_.header;
  fake.nonce += 12345;
  EXPECT_EQ(Accept(MakeBlock(params_, fake, 0, {})),
            RejectReason::kHeaderUnknownParent);
  Block bad = MakeBlock(params_, genesis_.header, 0,
                        {Pay(10, 1, 5)});  // bad nonce: fails on connect
  EXPECT_EQ(Accept(bad), RejectReason::kTxBadNonce);
  EXPECT_EQ(Accept(MakeBlock(params_, bad.header, 1, {})),
            RejectReason::kHeaderInvalidParent);
}

TEST_F(ValidationTest, BlockBadMerkleRoot) {
  Block b = MakeBlock(params_, genesis_.header, 0, {Pay(10)});
  b.header.merkle_root.bytes[0] ^= 1;
  Remine(b, /*keep_root=*/true);
  EXPECT_EQ(Accept(b), RejectReason::kBlockBadMerkleRoot);
}

TEST_F(ValidationTest, BlockDuplicateTx) {
  Transaction tx = Pay(10);
  Block b = MakeBlock(params_, genesis_.header, 0, {tx, tx});
  EXPECT_EQ(Accept(b), RejectReason::kBlockDuplicateTx);
}

TEST_F(ValidationTest, BlockMutatedMerkleTreeRejected) {
  // [cb, t1, t2] and [cb, t1, t2, t2] share a merkle root; the second must
  // not be accepted under the first's header.
  Block b = MakeBlock(params_, genesis_.header, 0, {Pay(10), Pay(10, 1, 1)});
  Block mutated = b;
  mutated.txs.push_back(mutated.txs.back());
  ASSERT_EQ(BlockMerkleRoot(mutated), b.header.merkle_root);
  EXPECT_EQ(Accept(mutated), RejectReason::kBlockDuplicateTx);
  EXPECT_EQ(Accept(b), RejectReason::kNone);
}

TEST_F(ValidationTest, BlockTooLargeAndTooManyTxs) {
  std::vector<Transaction> big;
  for (uint64_t n = 0; n < 20; ++n) {
    big.push_back(Pay(
        0, 0, n, DataRecord{"blob", std::nullopt, std::string(60000, 'x')}));
  }
  EXPECT_EQ(Accept(MakeBlock(params_, genesis_.header, 0, big)),
            RejectReason::kBlockTooLarge);
  Block many = MakeBlock(params_, genesis_.header, 0, {});
  Transaction tiny = Pay(1, 0);
  many.txs.resize(kMaxBlockTxs + 1, tiny);
  Remine(many);
  EXPECT_EQ(CheckBlock(many, params_, false).reason(),
            RejectReason::kBlockTooManyTxs);
}

TEST_F(ValidationTest, BlockCoinbaseRules) {
  Block none = MakeBlock(params_, genesis_.header, 0, {Pay(10)});
  none.txs.erase(none.txs.begin());
  Remine(none);
  EXPECT_EQ(Accept(none), RejectReason::kBlockNoCoinbase);

  Block extra = MakeBlock(params_, genesis_.header, 0, {});
  extra.txs.push_back(extra.txs[0]);
  extra.txs.back().extra_nonce = 99;
  Remine(extra);
  EXPECT_EQ(Accept(extra), RejectReason::kBlockExtraCoinbase);

  Block greedy = MakeBlock(params_, genesis_.header, 0, {Pay(10, 3)});
  greedy.txs[0].amount += 1;
  Remine(greedy);
  EXPECT_EQ(Accept(greedy), RejectReason::kBlockBadCoinbase);

  Block wrong_height = MakeBlock(params_, genesis_.header, 0, {});
  wrong_height.txs[0].height = 5;
  Remine(wrong_height);
  EXPECT_EQ(Accept(wrong_height), RejectReason::kBlockBadCoinbase);
}

TEST(MedianTimeTest, Median) {
  std::vector<int64_t> t = {5, 1, 9, 3, 7};
  EXPECT_EQ(MedianTime(t), 5);
  EXPECT_EQ(RejectReasonName(RejectReason::kTxBadNonce), "tx-bad-nonce");
}

}  // namespace
}  // namespace pbchain
