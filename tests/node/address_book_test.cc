#include "node/p2p/address_book.h"

#include "gtest/gtest.h"

namespace pbchain {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

KnownAddress Entry(const std::string& address, AddressSource source,
                   v1::PeerRole role = v1::PEER_ROLE_FULL) {
  KnownAddress e;
  e.address = address;
  e.source = source;
  e.role = role;
  return e;
}

TEST(AddressBookTest, CheckPeerAddressNamesWhatIsWrong) {
  EXPECT_TRUE(CheckPeerAddress("127.0.0.1:7700").ok());
  EXPECT_TRUE(CheckPeerAddress("node.example:1").ok());
  EXPECT_TRUE(CheckPeerAddress("[::1]:65535").ok());
  for (const std::string& bad : std::vector<std::string>{"", "127.0.0.1", ":7700", "host:", "host:0", "host:65536", "host:7x",
        "::1:7700", "[::1:7700", std::string(251, 'a') + ":7700"}) {
    EXPECT_FALSE(CheckPeerAddress(bad).ok()) << bad;
  }
}

TEST(AddressBookTest, CandidatesPutSeedsFirstThenRolesAndSkipBackoff) {
  AddressBook book;
  book.Add(Entry("full:1", AddressSource::kTracker), kNow);
  book.Add(Entry("head:1", AddressSource::kTracker, v1::PEER_ROLE_HEAD), kNow);
  book.Add(Entry("seedrole:1", AddressSource::kTracker, v1::PEER_ROLE_SEED),
           kNow);
  book.Add(Entry("given:1", AddressSource::kSeed), kNow);
  EXPECT_EQ(book.DialCandidates(kNow, {}),
            (std::vector<std::string>{"given:1", "seedrole:1", "head:1",
                                      "full:1"}));
  // A failed dial waits (1 s doubling) before it is a candidate again.
  book.OnDialFailed("head:1", kNow);
  EXPECT_EQ(book.DialCandidates(kNow, {"full:1"}),
            (std::vector<std::string>{"given:1", "seedrole:1"}));
  EXPECT_EQ(book.DialCandidates(kNow + absl::Seconds(3), {}).size(), 4u);
  book.OnConnected("head:1", "id-head", kNow);
  EXPECT_EQ(book.DialCandidates(kNow, {}).size(), 3u) << "still backing off";
  book.OnSessionEnded("head:1", kNow);  // a long session: good again
  EXPECT_EQ(book.DialCandidates(kNow, {}).size(), 4u);
  // Connected node ids are skipped whatever address they were learned at.
  EXPECT_EQ(book.DialCandidates(kNow, {"id-head"}).size(), 3u);
}

TEST(AddressBookTest, LearnedAddressesAreForgottenAfterRepeatedFailures) {
  AddressBook book;
  book.Add(Entry("learned:1", AddressSource::kExchange), kNow);
  book.Add(Entry("given:1", AddressSource::kSeed), kNow);
  for (int i = 0; i < kMaxDialFailures; ++i) {
    book.OnDialFailed("learned:1", kNow);
    book.OnDialFailed("given:1", kNow);
  }
  ASSERT_EQ(book.size(), 1u);
  EXPECT_EQ(book.List()[0].address, "given:1");
  // Seeds back off at most kMaxDialBackoff.
  EXPECT_EQ(book.DialCandidates(kNow + kMaxDialBackoff, {}).size(), 1u);
  book.Remove("given:1");  // the tracker cannot remove a --peer seed
  EXPECT_EQ(book.size(), 1u);
}

TEST(AddressBookTest, StaysBoundedAndKeepsSeeds) {
  AddressBook book;
  book.Add(Entry("given:1", AddressSource::kSeed), kNow);
  for (size_t i = 0; i < kMaxKnownAddresses + 50; ++i) {
    book.Add(Entry("n" + std::to_string(i) + ":1", AddressSource::kExchange),
             kNow + absl::Seconds(i));
  }
  EXPECT_EQ(book.size(), kMaxKnownAddresses);
  bool seed_kept = false;
  for (const KnownAddress& e : book.List()) {
    seed_kept = seed_kept || e.address == "given:1";
  }
  EXPECT_TRUE(seed_kept);
}

TEST(AddressBookTest, HearsayDoesNotOverrideHandshakesOrEarnPriority) {
  AddressBook book;
  book.Add(Entry("node:1", AddressSource::kTracker, v1::PEER_ROLE_FULL), kNow);
  book.OnConnected("node:1", "real-id", kNow);
  KnownAddress lie = Entry("node:1", AddressSource::kExchange,
                           v1::PEER_ROLE_SEED);
  lie.node_id = "attacker-id";
  book.Add(lie, kNow);
  EXPECT_EQ(book.List()[0].node_id, "real-id");
  EXPECT_EQ(book.List()[0].role, v1::PEER_ROLE_FULL);
  // A "seed" learned by exchange ranks with the full nodes.
  book.Add(Entry("claimed-seed:1", AddressSource::kExchange,
                 v1::PEER_ROLE_SEED),
           kNow);
  book.Add(Entry("head:1", AddressSource::kTracker, v1::PEER_ROLE_HEAD), kNow);
  EXPECT_EQ(book.DialCandidates(kNow, {}).front(), "head:1");
  // A banned address is not dialed.
  book.Ban("head:1", kNow + absl::Minutes(1));
  EXPECT_EQ(book.DialCandidates(kNow, {}).front(), "claimed-seed:1");
}

TEST(AddressBookTest, BansExpire) {
  AddressBook book;
  book.Ban("bad-node", kNow + absl::Minutes(10));
  EXPECT_TRUE(book.IsBanned("bad-node", kNow));
  EXPECT_FALSE(book.IsBanned("good-node", kNow));
  EXPECT_FALSE(book.IsBanned("bad-node", kNow + absl::Minutes(10)));
  book.ExpireBans(kNow + absl::Minutes(11));
  EXPECT_FALSE(book.IsBanned("bad-node", kNow));
  // Bounded: the ban ending first is forgotten.
  for (size_t i = 0; i < kMaxBans + 1; ++i) {
    book.Ban("n" + std::to_string(i), kNow + absl::Seconds(100 + i));
  }
  EXPECT_FALSE(book.IsBanned("n0", kNow));
  EXPECT_TRUE(book.IsBanned("n1", kNow));
}

}  // namespace
}  // namespace pbchain
