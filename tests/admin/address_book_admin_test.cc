// The address book's operator controls (node/p2p/address_book.h) that the
// admin API uses: bans with reasons, listing and lifting them, forgetting
// seeds and a node's addresses, clearing a backoff.
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
