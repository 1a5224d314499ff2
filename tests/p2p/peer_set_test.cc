// PeerSet through the Network, on a FakeClock: scores that add up to a ban
// at exactly kBanScore, the flood bucket and its refill, bans by node id
// and IP and their expiry, score decay, and the maintenance round (pings,
// silence and hello timeouts, peer exchange, dialing).
#include "node/p2p/peer_set.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "node/p2p/network.h"
#include "tests/p2p/p2p_harness.h"

namespace pbchain::p2ptest {
namespace {

class PeerSetTest : public P2pTest {
 protected:
  // An Inventory with a hash of 31 bytes: kMalformedPoints.
  static Envelope Malformed() {
    Envelope e;
    e.mutable_inventory()->add_block_hashes(std::string(31, '\x01'));
    return e;
  }
  static Envelope Ping(uint64_t nonce) {
    Envelope e;
    e.mutable_ping()->set_nonce(nonce);
    return e;
  }
  // Bans `node_id` (connecting from `remote`) with five malformed messages.
  void Ban(const std::string& node_id,
           const std::string& remote = kLoopbackRemote) {
    std::unique_ptr<InboundPeer> peer = Greeted(HonestHello(node_id), remote);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE((*peer)->Send(Malformed()));
    ASSERT_TRUE((*peer)->WaitForReject(v1::REJECT_CODE_BANNED).has_value())
        << (*peer)->Summary();
    ASSERT_TRUE((*peer)->WaitForEnd());
  }
  // Whether a new session from `node_id` is admitted (else: refused BANNED).
  bool Admitted(const std::string& node_id,
                const std::string& remote = kLoopbackRemote) {
    return Admitted(HonestHello(node_id), remote);
  }
  bool Admitted(const v1::Hello& hello, const std::string& remote) {
    std::unique_ptr<InboundPeer> peer = Open(remote);
    EXPECT_TRUE((*peer)->Send(HelloEnvelope(hello)));
    EXPECT_TRUE((*peer)->Send(Ping(77)));
    std::optional<Envelope> answer = (*peer)->WaitFor([](const Envelope& e) {
      return e.has_reject() || (e.has_pong() && e.pong().nonce() == 77);
    });
    EXPECT_TRUE(answer.has_value()) << (*peer)->Summary();
    if (!answer || answer->has_pong()) return answer.has_value();
    EXPECT_EQ(answer->reject().code(), v1::REJECT_CODE_BANNED)
        << (*peer)->Summary();
    return false;
  }
  static bool IsPing(const Envelope& e) { return e.has_ping(); }
  static bool IsPeerRequest(const Envelope& e) { return e.has_peer_request(); }
};

TEST_F(PeerSetTest, ScoresAddUpToABanAtExactlyOneHundred) {
  std::unique_ptr<InboundPeer> peer = Greeted("adds-up");
  for (int i = 1; i <= 4; ++i) {
    ASSERT_TRUE((*peer)->Send(Malformed()));
    ASSERT_TRUE((*peer)->Sync()) << "closed at score " << 20 * i;
    EXPECT_EQ(ScoreOf("adds-up"), std::optional<int>(20 * i));
  }
  EXPECT_EQ((*peer)->Count([](const Envelope& e) { return e.has_reject(); }),
            0);
  ASSERT_TRUE((*peer)->Send(Malformed()));
  std::optional<v1::Reject> reject =
      (*peer)->WaitForReject(v1::REJECT_CODE_BANNED);
  ASSERT_TRUE(reject.has_value()) << (*peer)->Summary();
  EXPECT_EQ(reject->message(), "banned: Inventory hash not 32 bytes");
  EXPECT_TRUE((*peer)->WaitForEnd());
  EXPECT_TRUE(WaitUntil([&] { return network().peer_count() == 0; }));
}

TEST_F(PeerSetTest, TheFloodBucketHoldsABurstAndRefillsWithTime) {
  std::unique_ptr<InboundPeer> peer = Greeted("chatty");
  // Greeted's Ping took one token, these all but one, Sync's the last.
  for (int i = 0; i < static_cast<int>(kFloodBurst) - 2; ++i) {
    ASSERT_TRUE((*peer)->Send(Ping(10 + i)));
  }
  ASSERT_TRUE((*peer)->Sync());
  EXPECT_EQ(ScoreOf("chatty"), std::optional<int>(0));
  // Empty bucket: a point a message (three Pings and Sync's).
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*peer)->Send(Ping(5000 + i)));
  ASSERT_TRUE((*peer)->Sync());
  EXPECT_EQ(ScoreOf("chatty"), std::optional<int>(4));
  // A second refills kFloodRatePerSecond tokens (the debt of 4 first).
  clock().Advance(absl::Seconds(1));
  for (int i = 0; i < 400; ++i) ASSERT_TRUE((*peer)->Send(Ping(6000 + i)));
  ASSERT_TRUE((*peer)->Sync());
  EXPECT_EQ(ScoreOf("chatty"), std::optional<int>(4));
  // Flooding on: banned once the points reach kBanScore.
  for (int i = 0; i < 300; ++i) {
    if (!(*peer)->Send(Ping(7000 + i))) break;
  }
  EXPECT_TRUE((*peer)->WaitForReject(v1::REJECT_CODE_BANNED).has_value())
      << (*peer)->Summary();
  EXPECT_TRUE((*peer)->WaitForEnd());
}

TEST_F(PeerSetTest, ABannedNodeIsRefusedUntilTheBanExpires) {
  Ban("banned-node");
  EXPECT_FALSE(Admitted("banned-node"));
  // On loopback the IP is not banned (every devnet node shares it).
  EXPECT_TRUE(Admitted("loopback-neighbour"));
  clock().Advance(NetworkOptions().ban_duration - absl::Seconds(1));
  network().MaintenanceStep();
  EXPECT_FALSE(Admitted("banned-node"));
  clock().Advance(absl::Seconds(2));
  network().MaintenanceStep();
  EXPECT_TRUE(Admitted("banned-node"));
}

TEST_F(PeerSetTest, ABanOffLoopbackCoversTheIp) {
  Ban("public-node", kPublicRemote);
  EXPECT_FALSE(Admitted("another-id", kPublicRemote));
  EXPECT_TRUE(Admitted("another-id", "ipv4:10.1.2.4:45000"));
  EXPECT_TRUE(Admitted("another-id-2", "ipv6:[2001:db8::7]:45000"));
}

// The operator bans the address a peer is known by: a Hello claiming an
// unspecified host ("0.0.0.0:7700") from 10.1.2.3 is 10.1.2.3:7700.
TEST_F(PeerSetTest, AnOperatorBanOfHostPortCoversAWildcardClaim) {
  uint32_t closed = 0;
  ASSERT_TRUE(network()
                  .Ban(std::string(kRemoteIp) + ":7700", absl::Hours(1), "test",
                       &closed)
                  .ok());
  v1::Hello wildcard = HonestHello("wildcard-node");
  wildcard.set_listen_address("0.0.0.0:7700");
  EXPECT_FALSE(Admitted(wildcard, kPublicRemote));
  v1::Hello wildcard6 = HonestHello("wildcard-node-6");
  wildcard6.set_listen_address("[::]:7700");
  EXPECT_FALSE(Admitted(wildcard6, kPublicRemote));
  // The same claim from another IP is another address.
  v1::Hello other = HonestHello("other-node");
  other.set_listen_address("0.0.0.0:7700");
  EXPECT_TRUE(Admitted(other, "ipv4:10.1.2.4:45000"));
  // And another port of the banned IP is not banned either.
  v1::Hello other_port = HonestHello("other-port");
  other_port.set_listen_address("0.0.0.0:7701");
  EXPECT_TRUE(Admitted(other_port, kPublicRemote));
}

// An operator's IP ban in another spelling matches gRPC's peer text.
TEST_F(PeerSetTest, AnOperatorBanOfAnIpMatchesAnySpelling) {
  uint32_t closed = 0;
  ASSERT_TRUE(
      network().Ban("2001:DB8:0:0::7", absl::Hours(1), "test", &closed).ok());
  ASSERT_TRUE(
      network().Ban("::ffff:10.1.2.3", absl::Hours(1), "test", &closed).ok());
  EXPECT_FALSE(Admitted("v6-node", "ipv6:[2001:db8::7]:45000"));
  EXPECT_FALSE(Admitted("v4-node", kPublicRemote));
  EXPECT_TRUE(Admitted("v6-other", "ipv6:[2001:db8::8]:45000"));
  // And a host:port ban in another spelling matches the claimed address.
  ASSERT_TRUE(network()
                  .Ban("[2001:DB8:0::9]:7700", absl::Hours(1), "test", &closed)
                  .ok());
  v1::Hello claim = HonestHello("v6-claim");
  claim.set_listen_address("[2001:db8::9]:7700");
  EXPECT_FALSE(Admitted(claim, "ipv6:[2001:db8::9]:45000"));
}

TEST_F(PeerSetTest, ScoresHealOverTime) {
  std::unique_ptr<InboundPeer> peer = Greeted("slipped");
  ASSERT_TRUE((*peer)->Send(Malformed()));
  ASSERT_TRUE((*peer)->Sync());
  ASSERT_EQ(ScoreOf("slipped"), std::optional<int>(20));
  network().MaintenanceStep();
  ASSERT_TRUE((*peer)->Sync());
  EXPECT_EQ(ScoreOf("slipped"), std::optional<int>(20)) << "healed too soon";
  clock().Advance(kScoreDecayInterval);
  network().MaintenanceStep();
  ASSERT_TRUE((*peer)->Sync());
  EXPECT_EQ(ScoreOf("slipped"), std::optional<int>(10));
  clock().Advance(kScoreDecayInterval);
  network().MaintenanceStep();
  ASSERT_TRUE((*peer)->Sync());  // also keeps it from falling silent
  EXPECT_EQ(ScoreOf("slipped"), std::optional<int>(0));
  clock().Advance(kScoreDecayInterval);
  network().MaintenanceStep();
  ASSERT_TRUE((*peer)->Sync());
  EXPECT_EQ(ScoreOf("slipped"), std::optional<int>(0)) << "below zero?";
}

TEST_F(PeerSetTest, PeersArePingedAndTheirPongsChecked) {
  std::unique_ptr<InboundPeer> peer = Greeted("pinged");
  network().MaintenanceStep();
  std::optional<Envelope> ping = (*peer)->WaitFor(IsPing);
  ASSERT_TRUE(ping.has_value()) << (*peer)->Summary();
  EXPECT_NE(ping->ping().nonce(), 0u);
  ASSERT_TRUE((*peer)->Sync());  // after the automatic Pong
  EXPECT_EQ(ScoreOf("pinged"), std::optional<int>(0));
  // Not again before kPingInterval.
  network().MaintenanceStep();
  ASSERT_TRUE((*peer)->Sync());
  EXPECT_EQ((*peer)->Count(IsPing), 1);
  clock().Advance(kPingInterval + absl::Seconds(1));
  network().MaintenanceStep();
  ASSERT_TRUE((*peer)->Sync());
  EXPECT_EQ((*peer)->Count(IsPing), 2);
  // The same Pong twice: the second answers no Ping.
  Envelope pong;
  pong.mutable_pong()->set_nonce(ping->ping().nonce());
  ASSERT_TRUE((*peer)->Send(pong));
  ASSERT_TRUE((*peer)->Sync());
  EXPECT_EQ(ScoreOf("pinged"), std::optional<int>(kProtocolViolationPoints));
}

TEST_F(PeerSetTest, ASilentPeerIsDropped) {
  std::unique_ptr<InboundPeer> silent = Greeted("silent");
  std::unique_ptr<InboundPeer> talker = Greeted("talker");
  clock().Advance(kPeerSilenceTimeout - absl::Seconds(1));
  ASSERT_TRUE((*talker)->Sync());
  network().MaintenanceStep();
  // That step pinged both; the fake answers a Ping with a Pong on arrival.
  // Wait for the Ping so the silent peer's Pong is queued before the Sync
  // below (otherwise it could be handled after the next Advance, and count
  // as a word spoken then: the test raced under load).
  ASSERT_TRUE((*silent)
                  ->WaitFor([](const Envelope& e) { return e.has_ping(); })
                  .has_value());
  ASSERT_TRUE((*silent)->Sync()) << "dropped before its timeout";
  clock().Advance(kPeerSilenceTimeout + absl::Seconds(1));
  ASSERT_TRUE((*talker)->Sync());
  network().MaintenanceStep();
  // The silent peer's last word was its Sync before the second advance;
  // the talker spoke since.
  EXPECT_TRUE((*silent)->WaitForEnd()) << (*silent)->Summary();
  EXPECT_TRUE((*talker)->Sync()) << (*talker)->Summary();
}

TEST_F(PeerSetTest, AStreamWithoutAHelloIsClosedAfterTheHelloTimeout) {
  std::unique_ptr<InboundPeer> mute = Open();
  ASSERT_TRUE((*mute)->WaitForHello().has_value());
  network().MaintenanceStep();
  EXPECT_FALSE((*mute)->ended());
  clock().Advance(kHelloTimeout + absl::Seconds(1));
  network().MaintenanceStep();
  EXPECT_TRUE((*mute)->WaitForEnd()) << (*mute)->Summary();
  // A greeted peer is not subject to it.
  std::unique_ptr<InboundPeer> greeted = Greeted("greeted");
  clock().Advance(kHelloTimeout + absl::Seconds(1));
  network().MaintenanceStep();
  EXPECT_TRUE((*greeted)->Sync());
}

TEST_F(PeerSetTest, PeersAreAskedForAddressesEachExchangeInterval) {
  std::unique_ptr<InboundPeer> peer = Greeted("exchanger");
  network().MaintenanceStep();
  ASSERT_TRUE((*peer)->WaitFor(IsPeerRequest).has_value());
  network().MaintenanceStep();
  ASSERT_TRUE((*peer)->Sync());
  EXPECT_EQ((*peer)->Count(IsPeerRequest), 1);
  clock().Advance(kPeerExchangeInterval + absl::Seconds(1));
  ASSERT_TRUE((*peer)->Sync());  // not silent
  network().MaintenanceStep();
  ASSERT_TRUE((*peer)->Sync());
  EXPECT_EQ((*peer)->Count(IsPeerRequest), 2);
}

class InboundStreamLimitTest : public PeerSetTest {
 protected:
  void Configure(NetworkOptions& options) override { options.max_inbound = 0; }
};

TEST_F(InboundStreamLimitTest, StreamsBeyondTheLimitAreRefusedAtOnce) {
  // 2 * max_inbound + 8 streams may be open at once, handshakes included.
  std::vector<std::unique_ptr<InboundPeer>> open;
  for (int i = 0; i < 8; ++i) {
    open.push_back(Open());
    ASSERT_TRUE((*open.back())->WaitForHello().has_value());
  }
  std::unique_ptr<InboundPeer> extra = Open();
  std::optional<v1::Reject> reject =
      (*extra)->WaitForReject(v1::REJECT_CODE_TOO_MANY_PEERS);
  ASSERT_TRUE(reject.has_value()) << (*extra)->Summary();
  EXPECT_EQ(reject->message(), "no room for more inbound streams");
  EXPECT_TRUE((*extra)->WaitForEnd());
  EXPECT_EQ((*extra)->Count([](const Envelope& e) { return e.has_hello(); }),
            0);
  // With max_inbound 0, a Hello is refused too.
  ASSERT_TRUE((*open[0])->Send(HelloEnvelope(HonestHello("no-room"))));
  EXPECT_TRUE(
      (*open[0])->WaitForReject(v1::REJECT_CODE_TOO_MANY_PEERS).has_value());
}

class DialTest : public PeerSetTest {
 protected:
  void Configure(NetworkOptions& options) override {
    options.peers = {"127.0.0.1:19001"};
    options.max_outbound = 2;
  }
  void Learn(const std::string& address) {
    v1::PeerInfo info;
    info.set_address(address);
    info.set_genesis_hash(Raw(chain().genesis_hash()));
    network().AddKnown(info, AddressSource::kTracker);
  }
};

TEST_F(DialTest, SeedsFirstAndNoMoreThanMaxOutbound) {
  Learn("127.0.0.1:19002");
  Learn("127.0.0.1:19003");
  Learn("127.0.0.1:17001");  // our own advertised address
  network().MaintenanceStep();
  ASSERT_NE(dialer().WaitForDial("127.0.0.1:19001"), nullptr);
  ASSERT_TRUE(WaitUntil([&] { return dialer().dialed().size() == 2; }));
  network().MaintenanceStep();  // both slots taken
  const std::vector<std::string> dialed = dialer().dialed();
  ASSERT_EQ(dialed.size(), 2u);
  EXPECT_EQ(std::count(dialed.begin(), dialed.end(), "127.0.0.1:17001"), 0);
}

class ConnectOnlyTest : public DialTest {
 protected:
  void Configure(NetworkOptions& options) override {
    DialTest::Configure(options);
    options.connect_only = true;
  }
};

TEST_F(ConnectOnlyTest, OnlySeedsAreDialed) {
  Learn("127.0.0.1:19002");
  network().MaintenanceStep();
  ASSERT_NE(dialer().WaitForDial("127.0.0.1:19001"), nullptr);
  network().MaintenanceStep();
  EXPECT_EQ(dialer().dialed(), std::vector<std::string>{"127.0.0.1:19001"});
}

TEST(BanIpTest, TheIpOfTheTransportAddressOffLoopbackOnly) {
  EXPECT_EQ(BanIp("ipv4:10.1.2.3:5678"), "10.1.2.3");
  EXPECT_EQ(BanIp("ipv6:[2001:db8::1]:5678"), "2001:db8::1");
  EXPECT_EQ(BanIp("ipv6:%5B2001:db8::1%5D:5678"), "2001:db8::1");
  EXPECT_EQ(BanIp("ipv4:127.0.0.1:5678"), "");
  EXPECT_EQ(BanIp("ipv4:127.3.4.5:5678"), "");
  EXPECT_EQ(BanIp("ipv6:[::1]:5678"), "");
  EXPECT_EQ(BanIp("ipv6:[::ffff:127.0.0.1]:5678"), "");
  EXPECT_EQ(BanIp("unix:/tmp/node.sock"), "");
}

}  // namespace
}  // namespace pbchain::p2ptest
