// Unit tests of the shop logic (client/apps/shop.h): catalogue lookup,
// namespaces, costs, the affordability message, and order verification
// against real signed transactions (built with the client library, converted
// with proto/convert.h as the node would return them).
#include "client/apps/shop.h"

#include <array>
#include <optional>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "chain/keys.h"
#include "client/transfer.h"
#include "gtest/gtest.h"
#include "proto/convert.h"

namespace pbchain::apps {
namespace {

PrivateKey Key(uint8_t fill) {
  std::array<uint8_t, 32> seed;
  seed.fill(fill);
  return *PrivateKey::FromSeed(ByteSpan(seed.data(), seed.size()));
}

Address AddressOfKey(const PrivateKey& k) {
  return AddressFromPublicKey(k.public_key());
}

TEST(CatalogueTest, TwelveMonkeysWithDistinctIdsAndPositivePrices) {
  const std::vector<CatalogueItem>& items = Catalogue();
  ASSERT_EQ(items.size(), 12u);
  std::set<std::string> ids;
  for (const CatalogueItem& i : items) {
    EXPECT_GT(i.price, 0u) << i.id;
    EXPECT_TRUE(ids.insert(i.id).second) << "duplicate id " << i.id;
  }
}

TEST(CatalogueTest, FindItemByIdNameOrNumber) {
  const CatalogueItem* c = FindItem("capuchin");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->name, "Capuchin");
  EXPECT_EQ(c->price, 200u);
  EXPECT_EQ(FindItem("CAPUCHIN"), c);
  EXPECT_EQ(FindItem("Golden lion tamarin"), FindItem("tamarin"));
  EXPECT_EQ(FindItem("1"), &Catalogue()[0]);
  EXPECT_EQ(FindItem("12"), &Catalogue()[11]);
  EXPECT_EQ(FindItem("0"), nullptr);
  EXPECT_EQ(FindItem("13"), nullptr);
  EXPECT_EQ(FindItem("gorilla"), nullptr);  // an ape, not a monkey
  EXPECT_EQ(FindItem(""), nullptr);
}

TEST(NamespacesTest, ValidAndInvalidShopNames) {
  absl::StatusOr<ShopNamespaces> ns = NamespacesFor("monkeys");
  ASSERT_TRUE(ns.ok()) << ns.status();
  EXPECT_EQ(ns->shop, "shop.monkeys");
  EXPECT_EQ(ns->shoppers, "shop.monkeys.shoppers");
  EXPECT_EQ(ns->orders, "shop.monkeys.orders");
  // The longest name still gives valid (<= 64 char) namespaces.
  ns = NamespacesFor(std::string(kMaxShopNameLen, 'a'));
  ASSERT_TRUE(ns.ok());
  EXPECT_EQ(ns->shoppers.size(), 64u);
  EXPECT_FALSE(NamespacesFor(std::string(kMaxShopNameLen + 1, 'a')).ok());
  EXPECT_FALSE(NamespacesFor("").ok());
  EXPECT_FALSE(NamespacesFor("Monkeys").ok());
  // A '.' would let shop "x.shoppers" collide with shop "x".
  EXPECT_FALSE(NamespacesFor("x.shoppers").ok());
  EXPECT_FALSE(NamespacesFor("a b").ok());
}

TEST(CostTest, OrderCostAndAffordableQuantity) {
  const CatalogueItem& capuchin = *FindItem("capuchin");
  EXPECT_EQ(*OrderCost(capuchin, 3), 600u);
  EXPECT_EQ(OrderCost(capuchin, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(OrderCost(capuchin, kMaxOrderQuantity + 1).ok());
  CatalogueItem huge{"x", "X", UINT64_MAX / 2 + 1};
  EXPECT_EQ(OrderCost(huge, 2).status().code(),
            absl::StatusCode::kInvalidArgument);         // overflow
  EXPECT_EQ(AffordableQuantity(capuchin, 1000, 1), 4u);  // 801 needed for 4
  EXPECT_EQ(AffordableQuantity(capuchin, 801, 1), 4u);
  EXPECT_EQ(AffordableQuantity(capuchin, 800, 1), 3u);
  EXPECT_EQ(AffordableQuantity(capuchin, 200, 1), 0u);
  EXPECT_EQ(AffordableQuantity(capuchin, 0, 0), 0u);
}

TEST(AffordTest, MessagesPeopleSee) {
  const CatalogueItem& capuchin = *FindItem("capuchin");
  absl::Status s = CheckAffordable(capuchin, 3, 1, 400);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "Not enough coins: 3 x Capuchin cost 600, you have 400");
  // Enough for the monkeys but not for the fee.
  s = CheckAffordable(capuchin, 3, 1, 600);
  EXPECT_EQ(s.message(),
            "Not enough coins: 3 x Capuchin cost 600 plus fee 1, you have 600");
  // Exactly enough.
  EXPECT_TRUE(CheckAffordable(capuchin, 3, 1, 601).ok());
  EXPECT_TRUE(CheckAffordable(capuchin, 3, 0, 600).ok());
  // Pending spending is explained.
  s = CheckAffordable(capuchin, 1, 1, 150, 50);
  EXPECT_EQ(s.message(),
            "Not enough coins: 1 x Capuchin cost 200, you have 150 (200 "
            "confirmed, 50 pending in the mempool)");
  // Bad quantity is bad input, not "not enough coins".
  EXPECT_EQ(CheckAffordable(capuchin, 0, 1, 1000).code(),
            absl::StatusCode::kInvalidArgument);
  // A fee that overflows with the cost is refused, not wrapped.
  EXPECT_FALSE(CheckAffordable(capuchin, 1, UINT64_MAX, UINT64_MAX).ok());
}

TEST(PayloadTest, OrderAndShopperPayloads) {
  const Address a = AddressOfKey(Key(1));
  EXPECT_EQ(OrderKey(a, 7), a.ToText() + "/7");
  EXPECT_EQ(OrderPayload(*FindItem("baboon"), 2),
            R"({"item":"baboon","qty":2,"price":350})");
  EXPECT_EQ(ShopperPayload("Ann \"A\""), R"({"name":"Ann \"A\""})");
  EXPECT_TRUE(CheckShopperName("alice").ok());
  EXPECT_FALSE(CheckShopperName("").ok());
  EXPECT_FALSE(CheckShopperName(" alice").ok());
  EXPECT_FALSE(CheckShopperName("a\nb").ok());
  EXPECT_FALSE(CheckShopperName(std::string(65, 'a')).ok());
}

// An order record and its transaction, as GetRecords / GetTransaction would
// return them.
struct OrderFixture {
  v1::RecordEntry entry;
  v1::Transaction tx;
};

OrderFixture MakeOrder(const PrivateKey& shopper, const Address& paid_to,
                       uint64_t amount, uint64_t nonce,
                       std::optional<std::string> key, std::string payload) {
  client::TransferRequest req;
  req.recipient = paid_to;
  req.amount = amount;
  req.fee = 1;
  req.record = client::MakeRecord("shop.monkeys.orders", key, payload);
  absl::StatusOr<Transaction> tx =
      client::BuildTransfer(shopper, "pbchain-test", nonce, req);
  EXPECT_TRUE(tx.ok()) << tx.status();
  OrderFixture f;
  f.tx = TransactionToProto(*tx);
  *f.entry.mutable_record() = f.tx.record();
  f.entry.set_txid(std::string(32, 'x'));
  f.entry.set_block_height(5);
  f.entry.set_sender_address(AddressOfKey(shopper).ToText());
  return f;
}

class VerifyOrderTest : public ::testing::Test {
 protected:
  PrivateKey shopper_ = Key(1);
  Address shopper_addr_ = AddressOfKey(shopper_);
  Address owner_ = AddressOfKey(Key(2));
  std::string ns_ = "shop.monkeys.orders";
  std::string Payload(const std::string& item, uint64_t qty, uint64_t price) {
    return absl::StrCat(R"({"item":")", item, R"(","qty":)", qty,
                        R"(,"price":)", price, "}");
  }
};

TEST_F(VerifyOrderTest, AcceptsAnOrderThatPaidTheOwner) {
  // Keyless, as Buy writes them: the transaction is the order.
  OrderFixture f = MakeOrder(shopper_, owner_, 400, 3, std::nullopt,
                             OrderPayload(*FindItem("capuchin"), 2));
  absl::StatusOr<Order> o = VerifyOrder(f.entry, f.tx, ns_, owner_);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->shopper, shopper_addr_.ToText());
  EXPECT_EQ(o->item, "capuchin");
  EXPECT_EQ(o->qty, 2u);
  EXPECT_EQ(o->price, 200u);
  EXPECT_EQ(o->paid, 400u);
  EXPECT_EQ(o->fee, 1u);
  EXPECT_EQ(o->block_height, 5u);
  // Keyed "<sender>/<nonce>", as earlier versions wrote them: still counted.
  f = MakeOrder(shopper_, owner_, 400, 3, OrderKey(shopper_addr_, 3),
                OrderPayload(*FindItem("capuchin"), 2));
  o = VerifyOrder(f.entry, f.tx, ns_, owner_);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->qty, 2u);
}

TEST_F(VerifyOrderTest, RejectsARecordItsTransactionDoesNotCarry) {
  OrderFixture f = MakeOrder(shopper_, owner_, 200, 0, std::nullopt,
                             Payload("capuchin", 1, 200));
  ASSERT_TRUE(VerifyOrder(f.entry, f.tx, ns_, owner_).ok());
  OrderFixture other = f;
  other.entry.mutable_record()->set_payload(Payload("capuchin", 2, 200));
  EXPECT_FALSE(VerifyOrder(other.entry, other.tx, ns_, owner_).ok());
  other = f;
  other.entry.mutable_record()->set_key(OrderKey(shopper_addr_, 0));
  EXPECT_FALSE(VerifyOrder(other.entry, other.tx, ns_, owner_).ok());
  // The listed sender must be the transaction's.
  other = f;
  other.entry.set_sender_address(AddressOfKey(Key(4)).ToText());
  EXPECT_FALSE(VerifyOrder(other.entry, other.tx, ns_, owner_).ok());
}

TEST_F(VerifyOrderTest, RejectsUnderpaymentWrongPriceAndWrongRecipient) {
  // Paid 399 for 2 x 200.
  OrderFixture f = MakeOrder(shopper_, owner_, 399, 0, std::nullopt,
                             Payload("capuchin", 2, 200));
  absl::StatusOr<Order> o = VerifyOrder(f.entry, f.tx, ns_, owner_);
  EXPECT_FALSE(o.ok());
  EXPECT_NE(o.status().message().find("paid 399 instead of 400"),
            std::string::npos)
      << o.status();
  // Claims a price of 1 and pays 1: the catalogue price decides.
  f = MakeOrder(shopper_, owner_, 1, 0, std::nullopt,
                Payload("capuchin", 1, 1));
  o = VerifyOrder(f.entry, f.tx, ns_, owner_);
  EXPECT_FALSE(o.ok());
  EXPECT_NE(o.status().message().find("catalogue price 200"),
            std::string::npos);
  // Paid the right amount to someone else.
  f = MakeOrder(shopper_, AddressOfKey(Key(3)), 200, 0, std::nullopt,
                Payload("capuchin", 1, 200));
  o = VerifyOrder(f.entry, f.tx, ns_, owner_);
  EXPECT_FALSE(o.ok());
  EXPECT_NE(o.status().message().find("not paid to the owner"),
            std::string::npos);
}

TEST_F(VerifyOrderTest, RejectsBadKeysAndPayloads) {
  // Keyed orders (earlier versions): the key names another address than
  // the signer.
  const Address other = AddressOfKey(Key(4));
  OrderFixture f = MakeOrder(shopper_, owner_, 200, 0, OrderKey(other, 0),
                             Payload("capuchin", 1, 200));
  EXPECT_FALSE(VerifyOrder(f.entry, f.tx, ns_, owner_).ok());
  // Key nonce differs from the transaction nonce.
  f = MakeOrder(shopper_, owner_, 200, 1, OrderKey(shopper_addr_, 0),
                Payload("capuchin", 1, 200));
  EXPECT_FALSE(VerifyOrder(f.entry, f.tx, ns_, owner_).ok());
  // Leading zero in the nonce.
  f = MakeOrder(shopper_, owner_, 200, 1, shopper_addr_.ToText() + "/01",
                Payload("capuchin", 1, 200));
  EXPECT_FALSE(VerifyOrder(f.entry, f.tx, ns_, owner_).ok());
  // Unknown item, zero quantity, not JSON.
  for (const std::string& payload :
       {Payload("gorilla", 1, 200), Payload("capuchin", 0, 200),
        std::string("2 capuchins please"),
        std::string(R"({"item":"capuchin"})")}) {
    f = MakeOrder(shopper_, owner_, 200, 0, std::nullopt, payload);
    EXPECT_FALSE(VerifyOrder(f.entry, f.tx, ns_, owner_).ok()) << payload;
  }
  // Sanity: the same fixture with a good payload passes.
  f = MakeOrder(shopper_, owner_, 200, 0, std::nullopt,
                Payload("capuchin", 1, 200));
  EXPECT_TRUE(VerifyOrder(f.entry, f.tx, ns_, owner_).ok());
  // The record must be in the orders namespace.
  EXPECT_FALSE(VerifyOrder(f.entry, f.tx, "shop.other.orders", owner_).ok());
}

TEST(RecordParseTest, OwnerAndShopperRecords) {
  const Address owner = AddressOfKey(Key(2));
  const Address someone = AddressOfKey(Key(5));
  v1::RecordEntry e;
  e.mutable_record()->set_namespace_("shop.monkeys");
  e.mutable_record()->set_key(kOwnerKey);
  e.mutable_record()->set_payload(owner.ToText());
  e.set_sender_address(owner.ToText());
  absl::StatusOr<Address> parsed = ParseOwnerRecord(e);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, owner);
  // Someone claiming the shop for another address: the name is unusable.
  e.set_sender_address(someone.ToText());
  EXPECT_EQ(ParseOwnerRecord(e).status().code(),
            absl::StatusCode::kFailedPrecondition);

  v1::RecordEntry s;
  s.mutable_record()->set_namespace_("shop.monkeys.shoppers");
  s.mutable_record()->set_key(someone.ToText());
  s.mutable_record()->set_payload(ShopperPayload("bob"));
  s.set_sender_address(owner.ToText());
  s.set_block_height(9);
  absl::StatusOr<Shopper> shopper = ParseShopperRecord(s, owner);
  ASSERT_TRUE(shopper.ok()) << shopper.status();
  EXPECT_EQ(shopper->name, "bob");
  EXPECT_EQ(shopper->address, someone.ToText());
  EXPECT_EQ(shopper->block_height, 9u);
  // Only the owner's registrations count.
  s.set_sender_address(someone.ToText());
  EXPECT_FALSE(ParseShopperRecord(s, owner).ok());
}

}  // namespace
}  // namespace pbchain::apps
