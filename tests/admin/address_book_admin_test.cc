// The address book's operator controls (node/p2p/address_book.h) that the
// admin API uses: bans with reasons, listing and lifting them, forgetting
// seeds and a node's addresses, clearing a backoff.
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "node/p2p/address_book.h"

namespace pbchain {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

KnownAddress Entry(const std::string& address, AddressSource source,
                   const std::string& node_id = "") {
  KnownAddress e;
  e.address = address;
  e.source = source;
  e.node_id = node_id;
  return e;
}

TEST(AddressBookAdminTest, BansKeepTheirReasonAndCanBeLifted) {
  AddressBook book;
  book.Ban("node-b", kNow + absl::Minutes(5), "testing");
  book.Ban("10.0.0.1", kNow + absl::Minutes(1), "flood");
  book.Ban("gone", kNow - absl::Seconds(1), "expired");
  std::vector<BanEntry> bans = book.Bans(kNow);
  ASSERT_EQ(bans.size(), 2u);  // the expired one is not in force
  EXPECT_EQ(bans[0].key, "10.0.0.1");
  EXPECT_EQ(bans[0].reason, "flood");
  EXPECT_EQ(bans[0].until, kNow + absl::Minutes(1));
  EXPECT_EQ(bans[1].key, "node-b");
  EXPECT_EQ(bans[1].reason, "testing");
  EXPECT_TRUE(book.IsBanned("node-b", kNow));
  EXPECT_TRUE(book.Unban("node-b"));
  EXPECT_FALSE(book.IsBanned("node-b", kNow));
  EXPECT_FALSE(book.Unban("node-b"));
  EXPECT_EQ(book.Bans(kNow).size(), 1u);
}

// Misbehaviour bans fill their own table; the operator's are never pushed
// out by them and are bounded by kMaxOperatorBans of their own.
TEST(AddressBookAdminTest, OperatorBansAreNotEvictedByMisbehaviourBans) {
  AddressBook book;
  // An operator ban that ends before every misbehaviour ban below: the
  // first one a full table would have forgotten.
  ASSERT_TRUE(
      book.OperatorBan("10.9.9.9", kNow + absl::Minutes(1), "op", kNow).ok());
  for (size_t i = 0; i < kMaxBans + 10; ++i) {
    book.Ban(absl::StrCat("peer-", i), kNow + absl::Hours(1) + absl::Seconds(i),
             "flood");
  }
  EXPECT_TRUE(book.IsBanned("10.9.9.9", kNow));
  EXPECT_EQ(book.Bans(kNow).size(), kMaxBans + 1);
  EXPECT_FALSE(book.IsBanned("peer-0", kNow));  // the earliest ending went
  EXPECT_TRUE(book.IsBanned(absl::StrCat("peer-", kMaxBans + 9), kNow));
  // A misbehaviour ban of an operator-banned key only extends it.
  book.Ban("10.9.9.9", kNow + absl::Hours(2), "flood");
  for (const BanEntry& ban : book.Bans(kNow)) {
    if (ban.key != "10.9.9.9") continue;
    EXPECT_EQ(ban.reason, "op");
    EXPECT_EQ(ban.until, kNow + absl::Hours(2));
  }
  for (size_t i = 0; i < kMaxBans + 10; ++i) {
    book.Ban(absl::StrCat("more-", i), kNow + absl::Hours(3), "flood");
  }
  EXPECT_TRUE(book.IsBanned("10.9.9.9", kNow));
}

TEST(AddressBookAdminTest, OperatorBansAreBoundedOnTheirOwn) {
  AddressBook book;
  for (size_t i = 0; i < kMaxOperatorBans; ++i) {
    ASSERT_TRUE(book.OperatorBan(absl::StrCat("node-", i),
                                 kNow + absl::Minutes(1), "op", kNow)
                    .ok());
  }
  absl::Status full =
      book.OperatorBan("one-more", kNow + absl::Minutes(1), "op", kNow);
  EXPECT_TRUE(absl::IsResourceExhausted(full)) << full;
  // Banning a key again is no new ban; misbehaviour bans still go in.
  EXPECT_TRUE(
      book.OperatorBan("node-0", kNow + absl::Minutes(2), "again", kNow).ok());
  book.Ban("misbehaving", kNow + absl::Minutes(1), "flood");
  EXPECT_TRUE(book.IsBanned("misbehaving", kNow));
  // A lifted ban makes room; so does an expired one.
  EXPECT_TRUE(book.Unban("node-1"));
  EXPECT_TRUE(
      book.OperatorBan("one-more", kNow + absl::Minutes(1), "op", kNow).ok());
  EXPECT_TRUE(absl::IsResourceExhausted(
      book.OperatorBan("two-more", kNow + absl::Minutes(1), "op", kNow)));
  const absl::Time later = kNow + absl::Minutes(1) + absl::Seconds(1);
  EXPECT_TRUE(
      book.OperatorBan("two-more", later + absl::Minutes(1), "op", later).ok());
  EXPECT_TRUE(book.IsBanned("node-0", later));  // it was extended to 2 min
}

TEST(AddressBookAdminTest, ForgetDropsSeedsAndANodesAddresses) {
  AddressBook book;
  book.Add(Entry("seed:1", AddressSource::kSeed), kNow);
  book.Add(Entry("a:1", AddressSource::kTracker, "node-a"), kNow);
  book.Add(Entry("a:2", AddressSource::kTracker, "node-a"), kNow);
  book.Add(Entry("b:1", AddressSource::kTracker, "node-b"), kNow);
  book.Remove("seed:1");  // the tracker's removal keeps seeds
  EXPECT_EQ(book.size(), 4u);
  EXPECT_EQ(book.Forget("seed:1"), 1u);  // the operator's does not
  EXPECT_EQ(book.Forget("seed:1"), 0u);
  EXPECT_EQ(book.ForgetNode("node-a"), 2u);
  ASSERT_EQ(book.size(), 1u);
  EXPECT_EQ(book.List()[0].address, "b:1");
}

TEST(AddressBookAdminTest, MakeDueClearsTheBackoff) {
  AddressBook book;
  book.Add(Entry("seed:1", AddressSource::kSeed), kNow);
  book.OnDialFailed("seed:1", kNow);
  book.OnDialFailed("seed:1", kNow);
  EXPECT_TRUE(book.DialCandidates(kNow, {}).empty());
  book.MakeDue("seed:1", kNow);
  EXPECT_EQ(book.DialCandidates(kNow, {}),
            (std::vector<std::string>{"seed:1"}));
}

}  // namespace
}  // namespace pbchain
