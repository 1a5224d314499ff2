#include "client/transfer.h"

#include <limits>
#include <string>

#include "client/inclusion.h"
#include "gtest/gtest.h"
#include "proto/convert.h"

namespace pbchain::client {
namespace {

PrivateKey Key(uint8_t b) {
  std::array<uint8_t, 32> seed{};
  seed.fill(b);
  return *PrivateKey::FromSeed(seed);
}

TEST(TransferTest, BuildSignsVerifiably) {
  const PrivateKey key = Key(1);
  TransferRequest req;
  req.recipient = AddressFromPublicKey(Key(2).public_key());
  req.amount = 250;
  req.fee = 3;
  absl::StatusOr<Transaction> tx = BuildTransfer(key, "pbchain-test", 7, req);
  ASSERT_TRUE(tx.ok()) << tx.status();
  EXPECT_EQ(tx->kind, TxKind::kTransfer);
  EXPECT_EQ(tx->chain_id, "pbchain-test");
  EXPECT_EQ(tx->nonce, 7u);
  EXPECT_EQ(tx->amount, 250u);
  EXPECT_EQ(tx->fee, 3u);
  EXPECT_EQ(tx->sender, key.public_key());
  EXPECT_EQ(tx->SenderAddress(), AddressFromPublicKey(key.public_key()));
  EXPECT_TRUE(tx->HasValidSignature());

  // Survives the proto round trip a node does, signature still valid.
  absl::StatusOr<Transaction> back =
      TransactionFromProto(TransactionToProto(*tx));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, *tx);
  EXPECT_TRUE(back->HasValidSignature());

  // Any change breaks the signature.
  Transaction tampered = *tx;
  tampered.amount = 251;
  EXPECT_FALSE(tampered.HasValidSignature());
}

TEST(TransferTest, RecordOnlyTransferToSelf) {
  const PrivateKey key = Key(3);
  TransferRequest req;
  req.recipient = AddressFromPublicKey(key.public_key());
  req.record = MakeRecord("guestbook", std::string("alice"), "hello");
  absl::StatusOr<Transaction> tx = BuildTransfer(key, "c", 0, req);
  ASSERT_TRUE(tx.ok()) << tx.status();
  ASSERT_TRUE(tx->record.has_value());
  EXPECT_EQ(tx->record->ns, "guestbook");
  EXPECT_EQ(*tx->record->key, "alice");
  EXPECT_EQ(tx->amount, 0u);
  EXPECT_TRUE(tx->HasValidSignature());
}

TEST(TransferTest, RejectsBadRequests) {
  const PrivateKey key = Key(4);
  TransferRequest base;
  base.recipient = AddressFromPublicKey(Key(5).public_key());
  base.amount = 1;

  TransferRequest overflow = base;
  overflow.amount = std::numeric_limits<uint64_t>::max();
  overflow.fee = 1;
  EXPECT_NE(CheckTransferRequest(overflow).message().find("overflows"),
            std::string::npos);
  overflow.fee = 0;
  EXPECT_TRUE(CheckTransferRequest(overflow).ok());

  TransferRequest empty = base;
  empty.amount = 0;
  EXPECT_FALSE(CheckTransferRequest(empty).ok());

  TransferRequest bad_ns = base;
  bad_ns.record = MakeRecord("Bad NS", std::nullopt, "");
  EXPECT_FALSE(CheckTransferRequest(bad_ns).ok());
  bad_ns.record = MakeRecord("pbchain.genesis", std::nullopt, "");
  EXPECT_FALSE(CheckTransferRequest(bad_ns).ok());
  bad_ns.record = MakeRecord(std::string(65, 'a'), std::nullopt, "");
  EXPECT_FALSE(CheckTransferRequest(bad_ns).ok());

  TransferRequest bad_key = base;
  bad_key.record = MakeRecord("ns", std::string(), "");
  EXPECT_FALSE(CheckTransferRequest(bad_key).ok());
  bad_key.record = MakeRecord("ns", std::string(129, 'k'), "");
  EXPECT_FALSE(CheckTransferRequest(bad_key).ok());
  bad_key.record = MakeRecord("ns", std::string(128, 'k'), "");
  EXPECT_TRUE(CheckTransferRequest(bad_key).ok());

  TransferRequest big = base;
  big.record = MakeRecord("ns", std::nullopt, std::string(65537, 'x'));
  EXPECT_FALSE(CheckTransferRequest(big).ok());
  big.record = MakeRecord("ns", std::nullopt, std::string(65536, 'x'));
  EXPECT_TRUE(CheckTransferRequest(big).ok());

  EXPECT_FALSE(BuildTransfer(key, "", 0, base).ok());
  EXPECT_FALSE(BuildTransfer(key, std::string(33, 'c'), 0, base).ok());
  EXPECT_EQ(BuildTransfer(key, "c", 0, empty).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(InclusionTest, NamesAndProgressText) {
  EXPECT_STREQ(OutcomeName(Outcome::kConfirmed), "confirmed");
  EXPECT_STREQ(OutcomeName(Outcome::kPending), "pending");
  EXPECT_STREQ(OutcomeName(Outcome::kRejected), "rejected");
  Progress p;
  p.stage = Progress::Stage::kInBlock;
  p.block_height = 42;
  p.confirmations = 1;
  p.wanted = 3;
  p.elapsed = absl::Seconds(5);
  p.timeout = absl::Seconds(60);
  EXPECT_EQ(DescribeProgress(p), "in block 42: 1/3 confirmations (5s / 60s)");
}

// PrepareTransfer must refuse bad input before making any RPC: with a client
// pointing at a port nothing listens on, a bad request is INVALID_ARGUMENT,
// not UNAVAILABLE.
TEST(TransferTest, PrepareChecksInputBeforeAnyRpc) {
  NodeClientOptions opts;
  opts.address = "127.0.0.1:1";
  opts.call_timeout = absl::Seconds(5);
  absl::StatusOr<std::unique_ptr<NodeClient>> node = NodeClient::Create(opts);
  ASSERT_TRUE(node.ok());
  TransferRequest req;
  req.amount = 0;
  absl::StatusOr<Transaction> tx = PrepareTransfer(**node, Key(6), req);
  EXPECT_EQ(tx.status().code(), absl::StatusCode::kInvalidArgument);
  req.amount = 5;
  tx = PrepareTransfer(**node, Key(6), req);
  EXPECT_EQ(tx.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(tx.status().message().find("cannot reach node at 127.0.0.1:1"),
            std::string::npos)
      << tx.status();
}

TEST(NodeClientTest, CreateValidatesAddress) {
  for (const char* bad : {"", "localhost", "host:", "host:0", "host:70000",
                          "host:abc", "::1:7000"}) {
    NodeClientOptions opts;
    opts.address = bad;
    EXPECT_EQ(NodeClient::Create(opts).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
  for (const char* good : {"127.0.0.1:7701", "[::1]:7701", "node.local:1"}) {
    NodeClientOptions opts;
    opts.address = good;
    EXPECT_TRUE(NodeClient::Create(opts).ok()) << good;
  }
}

}  // namespace
}  // namespace pbchain::client
