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
  for (const std::string& bad : std::vector<std::string>{
           "", "127.0.0.1", ":7700", "host:", "host:0", "host:65536", "host:7x",
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
  EXPECT_EQ(
      book.DialCandidates(kNow, {}),
      (std::vector<std::string>{"given:1", "seedrole:1", "head:1", "full:1"}));
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

// The review's finding: in a book full of verified addresses, each
// hearsay address (which a peer can send by the hundred, and which is
// forgotten after one failed dial) pushed out a verified one.
TEST(AddressBookTest, HearsayNeverPushesOutAVerifiedAddress) {
  AddressBook book;
  for (size_t i = 0; i < kMaxKnownAddresses; ++i) {
    ASSERT_TRUE(book.Add(
        Entry("v" + std::to_string(i) + ":1", AddressSource::kTracker), kNow));
  }
  for (int i = 0; i < 10; ++i) {
    KnownAddress claim =
        Entry("claim" + std::to_string(i) + ":1", AddressSource::kExchange);
    claim.learned_from = "10.0.0." + std::to_string(i);
    EXPECT_FALSE(book.Add(claim, kNow + absl::Seconds(1)));
  }
  EXPECT_EQ(book.size(), kMaxKnownAddresses);
  for (const KnownAddress& e : book.List()) EXPECT_TRUE(e.verified) << e.address;
  // A verified newcomer still takes a place (the oldest goes).
  EXPECT_TRUE(book.Add(Entry("new:1", AddressSource::kTracker),
                       kNow + absl::Seconds(2)));
  EXPECT_EQ(book.size(), kMaxKnownAddresses);
}

TEST(AddressBookTest, HearsayDoesNotOverrideHandshakesOrEarnPriority) {
  AddressBook book;
  book.Add(Entry("node:1", AddressSource::kTracker, v1::PEER_ROLE_FULL), kNow);
  book.OnConnected("node:1", "real-id", kNow);
  KnownAddress lie =
      Entry("node:1", AddressSource::kExchange, v1::PEER_ROLE_SEED);
  lie.node_id = "attacker-id";
  book.Add(lie, kNow);
  EXPECT_EQ(book.List()[0].node_id, "real-id");
  EXPECT_EQ(book.List()[0].role, v1::PEER_ROLE_FULL);
  // A "seed" learned by exchange ranks with the full nodes.
  book.Add(
      Entry("claimed-seed:1", AddressSource::kExchange, v1::PEER_ROLE_SEED),
      kNow);
  book.Add(Entry("head:1", AddressSource::kTracker, v1::PEER_ROLE_HEAD), kNow);
  EXPECT_EQ(book.DialCandidates(kNow, {}).front(), "head:1");
  // A banned address is not dialed; hearsay (unverified) comes last.
  book.Ban("head:1", kNow + absl::Minutes(1));
  EXPECT_EQ(book.DialCandidates(kNow, {}),
            (std::vector<std::string>{"node:1", "claimed-seed:1"}));
}

KnownAddress Claimed(const std::string& address, const std::string& from) {
  KnownAddress e = Entry(address, AddressSource::kHello);
  e.learned_from = from;
  return e;
}

bool Verified(const AddressBook& book, const std::string& address) {
  for (const KnownAddress& e : book.List()) {
    if (e.address == address) return e.verified;
  }
  ADD_FAILURE() << address << " not in the book";
  return false;
}

TEST(AddressBookTest, HearsayIsUnverifiedUntilAHandshakeVerifiesIt) {
  AddressBook book;
  ASSERT_TRUE(book.Add(Claimed("claimed:1", "peer-a"), kNow));
  ASSERT_TRUE(book.Add(Entry("tracked:1", AddressSource::kTracker), kNow));
  EXPECT_FALSE(Verified(book, "claimed:1"));
  EXPECT_FALSE(book.IsVerified("claimed:1"));
  EXPECT_TRUE(book.IsVerified("tracked:1"));
  book.OnDialStarted("claimed:1", kNow);
  book.OnConnected("claimed:1", "node-a", kNow);
  EXPECT_TRUE(book.IsVerified("claimed:1"));
  // Verified, it no longer counts against its source, and a failed dial
  // only backs off.
  book.OnDialFailed("claimed:1", kNow);
  EXPECT_TRUE(book.IsVerified("claimed:1"));
  // The tracker vouches for an address a peer claimed.
  ASSERT_TRUE(book.Add(Claimed("claimed:2", "peer-a"), kNow));
  ASSERT_TRUE(book.Add(Entry("claimed:2", AddressSource::kTracker), kNow));
  EXPECT_TRUE(book.IsVerified("claimed:2"));
}

TEST(AddressBookTest, AFailedDialForgetsHearsayAndItsRedialWaitsLonger) {
  AddressBook book;
  ASSERT_TRUE(book.Add(Claimed("claimed:1", "peer-a"), kNow));
  ASSERT_EQ(book.DialCandidates(kNow, {}),
            std::vector<std::string>{"claimed:1"});
  book.OnDialStarted("claimed:1", kNow);
  book.OnDialFailed("claimed:1", kNow);
  EXPECT_EQ(book.size(), 0u) << "kept after a failed dial";
  // Named again at once: known, but not dialed before twice the interval.
  ASSERT_TRUE(book.Add(Claimed("claimed:1", "peer-b"), kNow));
  EXPECT_TRUE(book.DialCandidates(
                      kNow + 2 * kHearsayDialInterval - absl::Seconds(1), {})
                  .empty());
  const absl::Time second = kNow + 2 * kHearsayDialInterval;
  ASSERT_EQ(book.DialCandidates(second, {}).size(), 1u);
  book.OnDialStarted("claimed:1", second);
  book.OnDialFailed("claimed:1", second);
  ASSERT_TRUE(book.Add(Claimed("claimed:1", "peer-c"), second));
  EXPECT_TRUE(book.DialCandidates(
                      second + 4 * kHearsayDialInterval - absl::Seconds(1), {})
                  .empty());
  EXPECT_EQ(book.DialCandidates(second + 4 * kHearsayDialInterval, {}).size(),
            1u);
  // The wait stops growing at kMaxHearsayDialBackoff.
  absl::Time t = second + 4 * kHearsayDialInterval;
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(book.Add(Claimed("claimed:1", "peer-d"), t));
    book.OnDialStarted("claimed:1", t);
    book.OnDialFailed("claimed:1", t);
    t += kMaxHearsayDialBackoff;
  }
  ASSERT_TRUE(book.Add(Claimed("claimed:1", "peer-d"), t));
  EXPECT_EQ(book.DialCandidates(t, {}).size(), 1u);
}

TEST(AddressBookTest,
     AVerifiedHearsayAddressIsStillDialedAtMostOncePerInterval) {
  AddressBook book;
  KnownAddress exchanged = Entry("exchanged:1", AddressSource::kExchange);
  exchanged.learned_from = "peer-a";
  ASSERT_TRUE(book.Add(exchanged, kNow));
  book.OnDialStarted("exchanged:1", kNow);
  book.OnConnected("exchanged:1", "node-x", kNow);
  book.OnSessionEnded("exchanged:1", kNow + absl::Seconds(5));
  EXPECT_TRUE(book.DialCandidates(kNow + absl::Seconds(5), {}).empty());
  EXPECT_EQ(book.DialCandidates(kNow + kHearsayDialInterval, {}).size(), 1u);
  // Operator and tracker addresses are not limited this way.
  ASSERT_TRUE(book.Add(Entry("given:1", AddressSource::kSeed), kNow));
  book.OnDialStarted("given:1", kNow);
  book.OnSessionEnded("given:1", kNow + absl::Seconds(5));
  EXPECT_EQ(book.DialCandidates(kNow + absl::Seconds(5), {}),
            std::vector<std::string>{"given:1"});
}

TEST(AddressBookTest, OneSourceHoldsAtMostItsCapOfUnverifiedAddresses) {
  AddressBook book;
  for (size_t i = 0; i < kMaxUnverifiedPerSource + 10; ++i) {
    EXPECT_EQ(book.Add(Claimed("a" + std::to_string(i) + ":1", "peer-a"), kNow),
              i < kMaxUnverifiedPerSource)
        << i;
  }
  EXPECT_EQ(book.size(), kMaxUnverifiedPerSource);
  // Other sources are not affected; a verified address frees a place.
  EXPECT_TRUE(book.Add(Claimed("b0:1", "peer-b"), kNow));
  book.OnConnected("a0:1", "node-a0", kNow);
  EXPECT_TRUE(book.Add(Claimed("a-more:1", "peer-a"), kNow));
  EXPECT_FALSE(book.Add(Claimed("a-most:1", "peer-a"), kNow));
  // A full book evicts unverified entries before verified ones.
  AddressBook full;
  ASSERT_TRUE(full.Add(Claimed("claimed:1", "peer-z"), kNow));
  for (size_t i = 0; i + 1 < kMaxKnownAddresses; ++i) {
    ASSERT_TRUE(
        full.Add(Entry("t" + std::to_string(i) + ":1", AddressSource::kTracker),
                 kNow + absl::Seconds(1)));
  }
  ASSERT_TRUE(full.Add(Entry("last:1", AddressSource::kTracker),
                       kNow + absl::Seconds(2)));
  EXPECT_EQ(full.size(), kMaxKnownAddresses);
  EXPECT_FALSE(full.IsVerified("claimed:1"));
  for (const KnownAddress& e : full.List()) EXPECT_TRUE(e.verified);
}

TEST(AddressBookTest, DialsOfOneSourcesAddressesAreSpacedOut) {
  AddressBook book;
  ASSERT_TRUE(book.Add(Claimed("a1:1", "peer-a"), kNow));
  ASSERT_TRUE(book.Add(Claimed("a2:1", "peer-a"), kNow));
  ASSERT_TRUE(book.Add(Claimed("b1:1", "peer-b"), kNow));
  // One address per source at a time.
  std::vector<std::string> first = book.DialCandidates(kNow, {});
  ASSERT_EQ(first.size(), 2u);
  const std::string a = first[0] == "b1:1" ? first[1] : first[0];
  book.OnDialStarted(a, kNow);
  book.OnDialStarted("b1:1", kNow);
  EXPECT_TRUE(
      book.DialCandidates(kNow + kSourceDialInterval - absl::Seconds(1), {})
          .empty());
  std::vector<std::string> next =
      book.DialCandidates(kNow + kSourceDialInterval, {"a1:1", "a2:1"});
  EXPECT_TRUE(next.empty()) << "the dialed ones are under way";
  next = book.DialCandidates(kNow + kSourceDialInterval, {a});
  ASSERT_EQ(next.size(), 1u);
  EXPECT_NE(next[0], a);
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

TEST(AddressBookTest, HelloListenAddressFollowsTheConnection) {
  // A wildcard listen address becomes the IP the connection came from.
  EXPECT_EQ(ListenAddressFromHello("0.0.0.0:7701", "10.0.0.5"),
            "10.0.0.5:7701");
  EXPECT_EQ(ListenAddressFromHello("[::]:7701", "127.0.0.1"), "127.0.0.1:7701");
  // A real address is kept.
  EXPECT_EQ(ListenAddressFromHello("192.0.2.9:7701", "10.0.0.5"),
            "192.0.2.9:7701");
  EXPECT_EQ(ListenAddressFromHello("127.0.0.1:7701", "127.0.0.1"),
            "127.0.0.1:7701");
  // Loopback claimed from off loopback: useless to us and to others.
  EXPECT_EQ(ListenAddressFromHello("127.0.0.1:7701", "10.0.0.5"), "");
  EXPECT_EQ(ListenAddressFromHello("[::1]:7701", "10.0.0.5"), "");
  EXPECT_EQ(ListenAddressFromHello("localhost:7701", "10.0.0.5"), "");
  // No IP to compare (an in-process link): kept, but 0.0.0.0 needs one.
  EXPECT_EQ(ListenAddressFromHello("127.0.0.1:7701", ""), "127.0.0.1:7701");
  // Nothing usable.
  EXPECT_EQ(ListenAddressFromHello("", "10.0.0.5"), "");
  EXPECT_EQ(ListenAddressFromHello("0.0.0.0:7701", ""), "");
}

TEST(AddressBookTest, OnlyDialableAddressesAreSpread) {
  EXPECT_TRUE(IsSpreadableAddress("192.0.2.9:7701", "10.0.0.5"));
  EXPECT_TRUE(IsSpreadableAddress("127.0.0.1:7701", "127.0.0.1"));
  EXPECT_TRUE(IsSpreadableAddress("127.0.0.1:7701", ""));  // the tracker
  EXPECT_FALSE(IsSpreadableAddress("127.0.0.1:7701", "10.0.0.5"));
  EXPECT_FALSE(IsSpreadableAddress("0.0.0.0:7701", "127.0.0.1"));
  EXPECT_FALSE(IsSpreadableAddress("[::]:7701", ""));
  EXPECT_FALSE(IsSpreadableAddress("nonsense", ""));
}

}  // namespace
}  // namespace pbchain
