#include "chain/transaction.h"

#include "chain/consensus.h"
#include "gtest/gtest.h"
#include "tests/chain/test_chain.h"

namespace pbchain {
namespace {

using testing::MakeTransfer;
using testing::TestKey;
using testing::TestParams;

TEST(TransactionTest, EncodingLayoutIsByteExact) {
  Transaction tx;
  tx.kind = TxKind::kTransfer;
  tx.chain_id = "c";
  tx.sender.fill(0x11);
  tx.recipient.bytes.fill(0x22);
  tx.amount = 0x0102030405060708ULL;
  tx.fee = 3;
  tx.nonce = 4;
  tx.signature.fill(0x33);
  Bytes s = tx.SigningBytes();
  // version, kind, chain id (len + bytes), sender 32, recipient 20, amount,
  // fee, nonce, has_record.
  ASSERT_EQ(s.size(), 1u + 1 + 1 + 1 + 32 + 20 + 8 + 8 + 8 + 1);
  EXPECT_EQ(s[0], kTxVersion);
  EXPECT_EQ(s[1], 0);
  EXPECT_EQ(s[2], 1);
  EXPECT_EQ(s[3], 'c');
  EXPECT_EQ(s[4], 0x11);
  EXPECT_EQ(s[36], 0x22);
  EXPECT_EQ(s[56], 0x08);  // amount little-endian
  EXPECT_EQ(s[63], 0x01);
  EXPECT_EQ(s.back(), 0);  // no record
  Bytes full = tx.Encode();
  EXPECT_EQ(full.size(), s.size() + 64);
  EXPECT_EQ(full.back(), 0x33);
}

TEST(TransactionTest, RoundTripWithRecordAndCoinbase) {
  ChainParams p = TestParams(2);
  Transaction tx =
      MakeTransfer(p, TestKey(0), AddressFromPublicKey(TestKey(1).public_key()),
                   10, 2, 7, DataRecord{"shop.orders", "order-1", "monkey x2"});
  absl::StatusOr<Transaction> back = Transaction::Decode(tx.Encode());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, tx);
  EXPECT_TRUE(back->HasValidSignature());

  Transaction cb;
  cb.kind = TxKind::kCoinbase;
  cb.chain_id = "x";
  cb.amount = 50;
  cb.height = 9;
  cb.extra_nonce = 123;
  back = Transaction::Decode(cb.Encode());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, cb);
  EXPECT_FALSE(back->HasValidSignature());
}

TEST(TransactionTest, SignatureCoversEveryField) {
  ChainParams p = TestParams(2);
  Transaction tx =
      MakeTransfer(p, TestKey(0), AddressFromPublicKey(TestKey(1).public_key()),
                   10, 2, 0, DataRecord{"n", "k", "v"});
  ASSERT_TRUE(tx.HasValidSignature());
  auto tamper = [&](auto mutate) {
    Transaction t = tx;
    mutate(t);
    return t.HasValidSignature();
  };
  EXPECT_FALSE(tamper([](Transaction& t) { t.amount += 1; }));
  EXPECT_FALSE(tamper([](Transaction& t) { t.fee += 1; }));
  EXPECT_FALSE(tamper([](Transaction& t) { t.nonce += 1; }));
  EXPECT_FALSE(tamper([](Transaction& t) { t.chain_id = "other"; }));
  EXPECT_FALSE(tamper([](Transaction& t) { t.recipient.bytes[0] ^= 1; }));
  EXPECT_FALSE(tamper([](Transaction& t) { t.record->payload = "w"; }));
  EXPECT_FALSE(tamper([](Transaction& t) { t.record->key.reset(); }));
  EXPECT_FALSE(tamper([](Transaction& t) { t.signature[5] ^= 1; }));
  EXPECT_FALSE(
      tamper([](Transaction& t) { t.sender = TestKey(1).public_key(); }));
}

TEST(TransactionTest, DecodeRejectsMalformed) {
  ChainParams p = TestParams(2);
  Bytes good = MakeTransfer(p, TestKey(0), Address{}, 1, 0, 0).Encode();
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(Transaction::Decode(ByteSpan(good.data(), n)).ok())
        << "prefix " << n;
  }
  Bytes bad_version = good;
  bad_version[0] = 2;
  EXPECT_FALSE(Transaction::Decode(bad_version).ok());
  Bytes bad_kind = good;
  bad_kind[1] = 7;
  EXPECT_FALSE(Transaction::Decode(bad_kind).ok());
  Bytes trailing = good;
  trailing.push_back(1);
  EXPECT_FALSE(Transaction::Decode(trailing).ok());
  EXPECT_FALSE(Transaction::Decode(Bytes(kMaxTxSize + 1)).ok());
}

TEST(TransactionTest, NamespaceRules) {
  EXPECT_TRUE(IsValidNamespace("votes"));
  EXPECT_TRUE(IsValidNamespace("shop.orders-2_x"));
  EXPECT_FALSE(IsValidNamespace(""));
  EXPECT_FALSE(IsValidNamespace("Votes"));
  EXPECT_FALSE(IsValidNamespace("a b"));
  EXPECT_FALSE(IsValidNamespace(std::string(65, 'a')));
}

}  // namespace
}  // namespace pbchain
