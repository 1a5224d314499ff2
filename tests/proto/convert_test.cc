// proto/convert.h: domain -> proto -> domain round trips (the canonical bytes
// and hashes survive), and each malformed message is refused with
// INVALID_ARGUMENT naming its field.
#include "proto/convert.h"

#include <string>

#include "chain/consensus.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/chain/test_chain.h"

namespace pbchain {
namespace {

using ::pbchain::testing::MakeBlock;
using ::pbchain::testing::MakeTransfer;
using ::pbchain::testing::TestKey;
using ::pbchain::testing::TestParams;
using ::testing::HasSubstr;

class ConvertTest : public ::testing::Test {
 protected:
  ConvertTest()
      : params_(TestParams(2)),
        to_(AddressFromPublicKey(TestKey(1).public_key())) {}

  Transaction Transfer(std::optional<DataRecord> record = std::nullopt) const {
    return MakeTransfer(params_, TestKey(0), to_, 7, 1, 3, std::move(record));
  }
  Block SomeBlock() const {
    std::vector<Transaction> txs = {
        Transfer(DataRecord{"app.shop", "order-1", "two apples"}),
        MakeTransfer(params_, TestKey(0), to_, 0, 1, 4,
                     DataRecord{"app.chat", std::nullopt, "hello"})};
    Block genesis = MakeGenesisBlock(params_);
    return MakeBlock(params_, genesis.header, 0, std::move(txs), to_, 42);
  }

  ChainParams params_;
  Address to_;
};

// Expects `result` to be INVALID_ARGUMENT mentioning `field`.
template <typename T>
void ExpectRejected(const absl::StatusOr<T>& result, const std::string& field) {
  ASSERT_FALSE(result.ok()) << "accepted; expected a complaint about " << field;
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr(field));
}

TEST_F(ConvertTest, TransferRoundTrips) {
  Transaction tx = Transfer(DataRecord{"app.votes", "ballot-9", "yes"});
  v1::Transaction msg = TransactionToProto(tx);
  EXPECT_EQ(msg.version(), 1u);
  EXPECT_EQ(msg.kind(), v1::TRANSACTION_KIND_TRANSFER);
  EXPECT_EQ(msg.sender_pubkey().size(), 32u);
  EXPECT_EQ(msg.recipient().size(), 20u);
  EXPECT_EQ(msg.signature().size(), 64u);
  EXPECT_EQ(msg.height(), 0u);
  EXPECT_TRUE(msg.has_record());
  EXPECT_TRUE(msg.record().has_key());

  // Through the wire too.
  v1::Transaction parsed;
  ASSERT_TRUE(parsed.ParseFromString(msg.SerializeAsString()));
  absl::StatusOr<Transaction> back = TransactionFromProto(parsed);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, tx);
  EXPECT_EQ(back->Id(), tx.Id());
  EXPECT_TRUE(back->HasValidSignature());
}

TEST_F(ConvertTest, CoinbaseRoundTripsWithoutTransferFields) {
  Block block = SomeBlock();
  const Transaction& cb = block.txs[0];
  ASSERT_TRUE(cb.IsCoinbase());
  v1::Transaction msg = TransactionToProto(cb);
  EXPECT_EQ(msg.kind(), v1::TRANSACTION_KIND_COINBASE);
  EXPECT_TRUE(msg.sender_pubkey().empty());
  EXPECT_TRUE(msg.signature().empty());
  EXPECT_EQ(msg.fee(), 0u);
  EXPECT_EQ(msg.nonce(), 0u);
  EXPECT_EQ(msg.height(), 1u);
  EXPECT_EQ(msg.extra_nonce(), 42u);
  absl::StatusOr<Transaction> back = TransactionFromProto(msg);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, cb);
}

TEST_F(ConvertTest, RecordKeyPresenceSurvives) {
  DataRecord unkeyed{"app.chat", std::nullopt, "hi"};
  v1::DataRecord msg = DataRecordToProto(unkeyed);
  EXPECT_FALSE(msg.has_key());
  absl::StatusOr<DataRecord> back = DataRecordFromProto(msg);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, unkeyed);

  // An empty but present key stays present (validation rejects it later).
  DataRecord empty_key{"app.chat", std::string(), ""};
  back = DataRecordFromProto(DataRecordToProto(empty_key));
  ASSERT_TRUE(back.ok());
  ASSERT_TRUE(back->key.has_value());
  EXPECT_EQ(*back, empty_key);

  // Transactions without a record have none after the round trip.
  absl::StatusOr<Transaction> tx =
      TransactionFromProto(TransactionToProto(Transfer()));
  ASSERT_TRUE(tx.ok());
  EXPECT_FALSE(tx->record.has_value());
}

TEST_F(ConvertTest, HeaderAndBlockRoundTrip) {
  Block block = SomeBlock();
  v1::Block msg = BlockToProto(block);
  ASSERT_EQ(msg.transactions_size(), 3);
  EXPECT_EQ(msg.header().prev_hash(),
            std::string(reinterpret_cast<const char*>(
                            block.header.prev_hash.bytes.data()),
                        32));
  v1::Block parsed;
  ASSERT_TRUE(parsed.ParseFromString(msg.SerializeAsString()));
  absl::StatusOr<Block> back = BlockFromProto(parsed);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, block);
  EXPECT_EQ(back->Hash(), block.Hash());
  EXPECT_EQ(BlockMerkleRoot(*back), block.header.merkle_root);
  EXPECT_EQ(back->Encode(), block.Encode());

  absl::StatusOr<BlockHeader> header =
      BlockHeaderFromProto(BlockHeaderToProto(block.header));
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(*header, block.header);
}

TEST_F(ConvertTest, RejectsBadTransactionShapes) {
  const v1::Transaction good = TransactionToProto(Transfer());
  ASSERT_TRUE(TransactionFromProto(good).ok());
  auto with = [&](auto edit) {
    v1::Transaction m = good;
    edit(m);
    return TransactionFromProto(m);
  };
  ExpectRejected(with([](auto& m) { m.set_version(2); }), "version");
  ExpectRejected(with([](auto& m) { m.set_version(0); }), "version");
  ExpectRejected(
      with([](auto& m) { m.set_kind(v1::TRANSACTION_KIND_UNSPECIFIED); }),
      "kind");
  ExpectRejected(
      with([](auto& m) { m.set_kind(static_cast<v1::TransactionKind>(7)); }),
      "kind");
  ExpectRejected(with([](auto& m) { m.set_chain_id(std::string(33, 'c')); }),
                 "chain_id");
  ExpectRejected(with([](auto& m) { m.set_recipient(std::string(19, 'r')); }),
                 "recipient");
  ExpectRejected(with([](auto& m) { m.set_recipient(std::string(21, 'r')); }),
                 "recipient");
  ExpectRejected(
      with([](auto& m) { m.set_sender_pubkey(std::string(31, 'k')); }),
      "sender_pubkey");
  ExpectRejected(with([](auto& m) { m.clear_sender_pubkey(); }),
                 "sender_pubkey");
  ExpectRejected(with([](auto& m) { m.set_signature(std::string(63, 's')); }),
                 "signature");
  ExpectRejected(with([](auto& m) { m.clear_signature(); }), "signature");
  ExpectRejected(with([](auto& m) { m.set_height(5); }), "height");
  ExpectRejected(with([](auto& m) { m.set_extra_nonce(5); }), "extra_nonce");
  // A 32-byte chain id is fine.
  EXPECT_TRUE(with([](auto& m) { m.set_chain_id(std::string(32, 'c')); }).ok());
}

TEST_F(ConvertTest, RejectsTransferFieldsOnACoinbase) {
  const v1::Transaction good = TransactionToProto(SomeBlock().txs[0]);
  ASSERT_TRUE(TransactionFromProto(good).ok());
  auto with = [&](auto edit) {
    v1::Transaction m = good;
    edit(m);
    return TransactionFromProto(m);
  };
  ExpectRejected(with([](auto& m) { m.set_fee(1); }), "fee");
  ExpectRejected(with([](auto& m) { m.set_nonce(1); }), "nonce");
  ExpectRejected(
      with([](auto& m) { m.set_sender_pubkey(std::string(32, 'k')); }),
      "sender_pubkey");
  ExpectRejected(with([](auto& m) { m.set_signature(std::string(64, 's')); }),
                 "signature");
  ExpectRejected(with([](auto& m) { m.clear_recipient(); }), "recipient");
}

TEST_F(ConvertTest, RejectsOversizedRecords) {
  const v1::Transaction good =
      TransactionToProto(Transfer(DataRecord{"app.x", "k", "p"}));
  auto with = [&](auto edit) {
    v1::Transaction m = good;
    edit(*m.mutable_record());
    return TransactionFromProto(m);
  };
  ExpectRejected(with([](auto& r) {
                   r.set_namespace_(std::string(kMaxNamespaceLen + 1, 'n'));
                 }),
                 "record.namespace");
  ExpectRejected(
      with([](auto& r) { r.set_key(std::string(kMaxRecordKeyLen + 1, 'k')); }),
      "record.key");
  ExpectRejected(with([](auto& r) {
                   r.set_payload(std::string(kMaxRecordPayload + 1, 'p'));
                 }),
                 "record.payload");
  // At the limits: accepted.
  EXPECT_TRUE(with([](auto& r) {
                r.set_namespace_(std::string(kMaxNamespaceLen, 'n'));
                r.set_key(std::string(kMaxRecordKeyLen, 'k'));
                r.set_payload(std::string(kMaxRecordPayload, 'p'));
              }).ok());
}

TEST_F(ConvertTest, RejectsBadBlocks) {
  const v1::Block good = BlockToProto(SomeBlock());
  auto with = [&](auto edit) {
    v1::Block m = good;
    edit(m);
    return BlockFromProto(m);
  };
  ExpectRejected(with([](auto& m) { m.clear_header(); }), "header");
  ExpectRejected(
      with([](auto& m) { m.mutable_header()->set_prev_hash("short"); }),
      "prev_hash");
  ExpectRejected(with([](auto& m) {
                   m.mutable_header()->set_merkle_root(std::string(33, 'm'));
                 }),
                 "merkle_root");
  ExpectRejected(
      with([](auto& m) { m.mutable_transactions(2)->set_recipient("x"); }),
      "transactions[2].recipient");
  ExpectRejected(with([](auto& m) {
                   for (size_t i = m.transactions_size(); i <= kMaxBlockTxs;
                        ++i) {
                     *m.add_transactions() = m.transactions(1);
                   }
                 }),
                 "transactions");
  ExpectRejected(BlockHeaderFromProto(v1::BlockHeader()), "prev_hash");
}

}  // namespace
}  // namespace pbchain
