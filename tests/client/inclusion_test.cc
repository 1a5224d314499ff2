// SubmitAndWait / WaitForInclusion against a real pbnode that does not mine
// (so nothing confirms unless the test wants it): accepted, pending,
// rejected at submission, and vanished from the mempool (replaced by a
// higher-fee transaction with the same nonce).
#include "client/inclusion.h"

#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "client/transfer.h"
#include "client/wallet.h"
#include "gtest/gtest.h"
#include "tests/client/client_harness.h"

namespace pbchain::client {
namespace {

class InclusionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<testing::TempDir>("inclusion_test");
    const std::string d = dir_->path().string();
    absl::StatusOr<Wallet> w = CreateWallet(d + "/w.json");
    ASSERT_TRUE(w.ok()) << w.status();
    wallet_ = std::make_unique<Wallet>(std::move(*w));
    testing::Result g = testing::RunProcess(
        testing::Bin("pbtool"),
        {"genesis", "--out", d + "/genesis.json", "--chain-id",
         "pbchain-inclusion", "--bits", "0x1f7fffff", "--alloc",
         wallet_->address.ToText() + "=1000"},
        d);
    ASSERT_EQ(g.code, 0) << g.Show();
    std::optional<testing::Node> n =
        testing::StartNode(d, "idle", d + "/genesis.json", {});
    ASSERT_TRUE(n.has_value());
    node_ = std::make_unique<testing::Node>(std::move(*n));
    NodeClientOptions opts;
    opts.address = node_->address;
    absl::StatusOr<std::unique_ptr<NodeClient>> c = NodeClient::Create(opts);
    ASSERT_TRUE(c.ok()) << c.status();
    client_ = std::move(*c);
    other_ = AddressFromPublicKey(PrivateKey::Generate()->public_key());
  }
  void TearDown() override {
    if (node_) testing::StopNode(*node_);
  }

  std::unique_ptr<testing::TempDir> dir_;
  std::unique_ptr<Wallet> wallet_;
  std::unique_ptr<testing::Node> node_;
  std::unique_ptr<NodeClient> client_;
  Address other_;
};

TEST_F(InclusionTest, AcceptedPendingAndRejected) {
  TransferRequest req;
  req.recipient = other_;
  req.amount = 10;

  // 0 confirmations: accepted, nothing waited for.
  WaitOptions no_wait;
  no_wait.confirmations = 0;
  absl::StatusOr<WriteResult> a =
      SendTransfer(*client_, wallet_->key, req, no_wait);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->outcome, Outcome::kAccepted);
  EXPECT_TRUE(a->in_mempool);

  // 1 confirmation on a node that does not mine: pending, with progress.
  WaitOptions short_wait;
  short_wait.timeout = absl::Milliseconds(1500);
  std::vector<Progress::Stage> stages;
  absl::StatusOr<WriteResult> p =
      SendTransfer(*client_, wallet_->key, req, short_wait,
                   [&](const Progress& pr) { stages.push_back(pr.stage); });
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->outcome, Outcome::kPending);
  EXPECT_TRUE(p->in_mempool);
  EXPECT_NE(p->reason.find("mempool"), std::string::npos) << p->reason;
  ASSERT_GE(stages.size(), 2u);
  EXPECT_EQ(stages[0], Progress::Stage::kSubmitted);
  EXPECT_EQ(stages[1], Progress::Stage::kInMempool);
  // The pending nonce moved on: both pooled transactions are there.
  absl::StatusOr<v1::GetAccountResponse> acct =
      client_->GetAccount(wallet_->address);
  ASSERT_TRUE(acct.ok());
  EXPECT_EQ(acct->pending_nonce(), 2u);

  // More than the balance: rejected at submission with the node's reason.
  TransferRequest too_much = req;
  too_much.amount = 5000;
  absl::StatusOr<WriteResult> r =
      SendTransfer(*client_, wallet_->key, too_much, short_wait);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->outcome, Outcome::kRejected);
  EXPECT_EQ(r->reject_code, absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(r->reason.find("tx-insufficient-funds"), std::string::npos)
      << r->reason;
  EXPECT_FALSE(r->vanished);

  // A stale nonce: rejected (tx-bad-nonce).
  TransferRequest stale = req;
  stale.nonce = 0;
  absl::StatusOr<Transaction> tx =
      PrepareTransfer(*client_, wallet_->key, stale);
  ASSERT_TRUE(tx.ok());
  tx->amount = 11;  // a different transaction with nonce 0 and the same fee
  tx->Sign(wallet_->key);
  absl::StatusOr<WriteResult> s = SubmitAndWait(*client_, *tx, short_wait);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->outcome, Outcome::kRejected);
  EXPECT_FALSE(s->reason.empty());

  // The same transaction again: ALREADY_EXISTS counts as accepted.
  absl::StatusOr<Transaction> first =
      PrepareTransfer(*client_, wallet_->key, req);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(SubmitAndWait(*client_, *first, no_wait).ok());
  absl::StatusOr<WriteResult> again = SubmitAndWait(*client_, *first, no_wait);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->outcome, Outcome::kAccepted);
}

TEST_F(InclusionTest, ReplacedTransactionVanishes) {
  TransferRequest req;
  req.recipient = other_;
  req.amount = 10;
  req.fee = 0;
  absl::StatusOr<Transaction> low =
      PrepareTransfer(*client_, wallet_->key, req);
  ASSERT_TRUE(low.ok()) << low.status();
  req.fee = 5;
  req.nonce = low->nonce;
  absl::StatusOr<Transaction> high =
      PrepareTransfer(*client_, wallet_->key, req);
  ASSERT_TRUE(high.ok()) << high.status();

  WaitOptions wait;
  wait.timeout = absl::Seconds(60);
  wait.vanish_grace = absl::Milliseconds(500);
  absl::Mutex mu;
  bool in_mempool = false;
  absl::StatusOr<WriteResult> result;
  std::thread waiter([&] {
    result = SubmitAndWait(*client_, *low, wait, [&](const Progress& p) {
      if (p.stage == Progress::Stage::kInMempool) {
        absl::MutexLock lock(&mu);
        in_mempool = true;
      }
    });
  });
  {
    absl::MutexLock lock(&mu);
    mu.AwaitWithTimeout(absl::Condition(&in_mempool), absl::Seconds(30));
  }
  // Replace it: same nonce, higher fee.
  absl::StatusOr<WriteResult> replaced =
      SubmitAndWait(*client_, *high, WaitOptions{.confirmations = 0});
  waiter.join();
  ASSERT_TRUE(replaced.ok()) << replaced.status();
  EXPECT_EQ(replaced->outcome, Outcome::kAccepted);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->outcome, Outcome::kRejected);
  EXPECT_TRUE(result->vanished);
  EXPECT_NE(result->reason.find("left the mempool"), std::string::npos)
      << result->reason;

  // An unknown txid: rejected (unknown), not vanished.
  absl::StatusOr<WriteResult> unknown =
      WaitForInclusion(*client_, Hash256(), wait);
  ASSERT_TRUE(unknown.ok()) << unknown.status();
  EXPECT_EQ(unknown->outcome, Outcome::kRejected);
  EXPECT_FALSE(unknown->vanished);
  // The replacement is still waiting: pending after a short wait.
  WaitOptions brief;
  brief.timeout = absl::Milliseconds(600);
  absl::StatusOr<WriteResult> pending =
      WaitForInclusion(*client_, high->Id(), brief);
  ASSERT_TRUE(pending.ok()) << pending.status();
  EXPECT_EQ(pending->outcome, Outcome::kPending);
}

}  // namespace
}  // namespace pbchain::client
