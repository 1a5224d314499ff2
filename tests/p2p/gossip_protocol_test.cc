// GossipProtocol in process: the handshake (what a Hello must carry, who is
// refused and with which Reject), the duplicate-link rule between inbound
// and outbound links to one node, Ping / Pong, a Reject from the peer, and
// peer exchange (PeerRequest / PeerList).
#include "node/p2p/gossip_protocol.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "node/p2p/address_book.h"
#include "node/p2p/gossip_dialer.h"
#include "node/p2p/gossip_service.h"
#include "node/p2p/grpc_envelope.h"
#include "node/p2p/network.h"
#include "node/p2p/wire.h"
#include "tests/p2p/p2p_harness.h"

namespace pbchain::p2ptest {
namespace {

class GossipProtocolTest : public P2pTest {
 protected:
  // Dials `address` (learned from the tracker as `node_id`'s) at the next
  // maintenance step and completes the handshake as `node_id`. Returns the
  // remote end of the outbound session.
  std::shared_ptr<FakeRemote> Outbound(const std::string& address,
                                       const std::string& node_id) {
    v1::PeerInfo info;
    info.set_address(address);
    info.set_genesis_hash(Raw(chain().genesis_hash()));
    network().AddKnown(info, AddressSource::kTracker);
    network().MaintenanceStep();
    std::shared_ptr<FakeRemote> remote = dialer().WaitForDial(address);
    EXPECT_NE(remote, nullptr) << "no dial of " << address;
    if (remote == nullptr) return nullptr;
    EXPECT_TRUE(remote->WaitForHello().has_value());
    EXPECT_TRUE(remote->Send(HelloEnvelope(HonestHello(node_id))));
    EXPECT_TRUE(remote->Sync()) << remote->Summary();
    return remote;
  }

  // Sends a PeerRequest for `want` addresses from `peer` and returns the
  // addresses of the answer.
  std::vector<std::string> AskForPeers(InboundPeer& peer, int want) {
    const int before =
        peer->Count([](const Envelope& e) { return e.has_peer_list(); });
    Envelope request;
    request.mutable_peer_request()->set_max_count(want);
    EXPECT_TRUE(peer->Send(request));
    std::vector<std::string> addresses;
    if (!WaitUntil([&] {
          return peer->Count([](const Envelope& e) {
            return e.has_peer_list();
          }) > before;
        })) {
      ADD_FAILURE() << "no PeerList: " << peer->Summary();
      return addresses;
    }
    int seen = 0;
    peer->Count([&](const Envelope& e) {
      if (e.has_peer_list() && seen++ == before) {
        for (const v1::PeerInfo& p : e.peer_list().peers()) {
          addresses.push_back(p.address());
          EXPECT_EQ(p.genesis_hash(), Raw(chain().genesis_hash()));
        }
      }
      return false;
    });
    return addresses;
  }

  // Whether `address` is in the address book (ListPeers' known).
  bool Known(const std::string& address) {
    v1::ListPeersResponse peers;
    network().ListPeers(&peers);
    for (const v1::PeerInfo& p : peers.known()) {
      if (p.address() == address) return true;
    }
    return false;
  }

  // Connected peers seen as inbound / outbound links.
  int Connected(bool inbound) {
    v1::ListPeersResponse peers;
    network().ListPeers(&peers);
    int n = 0;
    for (const v1::ConnectedPeer& p : peers.connected()) {
      n += p.inbound() == inbound ? 1 : 0;
    }
    return n;
  }
};

TEST_F(GossipProtocolTest, TheNodeSpeaksFirstWithAnHonestHello) {
  std::unique_ptr<InboundPeer> peer = Open();
  std::optional<v1::Hello> hello = (*peer)->WaitForHello();
  ASSERT_TRUE(hello.has_value()) << (*peer)->Summary();
  EXPECT_EQ(hello->genesis_hash(), Raw(chain().genesis_hash()));
  EXPECT_EQ(hello->tip_hash(), Raw(chain().Tip().hash));
  EXPECT_EQ(hello->node_id(), node().node_id());
  EXPECT_EQ(hello->listen_address(), "127.0.0.1:17001");
  EXPECT_EQ(hello->protocol_version(), kProtocolVersion);
  EXPECT_EQ(network().peer_count(), 0u) << "counted before its Hello";
}

TEST_F(GossipProtocolTest, FirstMessageMustBeAHello) {
  std::unique_ptr<InboundPeer> peer = Open();
  Envelope ping;
  ping.mutable_ping()->set_nonce(7);
  ASSERT_TRUE((*peer)->Send(ping));
  EXPECT_TRUE(
      (*peer)->WaitForReject(v1::REJECT_CODE_PROTOCOL_VIOLATION).has_value())
      << (*peer)->Summary();
  EXPECT_TRUE((*peer)->WaitForEnd());
  EXPECT_EQ((*peer)->Count([](const Envelope& e) { return e.has_pong(); }), 0);
  EXPECT_EQ(network().peer_count(), 0u);
}

TEST_F(GossipProtocolTest, WrongGenesisIsRefusedButNotBanned) {
  const std::string id = "other-network-node";
  {
    std::unique_ptr<InboundPeer> peer = Open(kPublicRemote);
    v1::Hello hello = HonestHello(id);
    hello.set_genesis_hash(std::string(32, '\x42'));
    ASSERT_TRUE((*peer)->Send(HelloEnvelope(hello)));
    EXPECT_TRUE(
        (*peer)->WaitForReject(v1::REJECT_CODE_WRONG_GENESIS).has_value())
        << (*peer)->Summary();
    EXPECT_TRUE((*peer)->WaitForEnd());
  }
  EXPECT_EQ(network().peer_count(), 0u);
  // Neither its node id nor its IP was banned.
  std::unique_ptr<InboundPeer> again = Greeted(HonestHello(id), kPublicRemote);
  EXPECT_EQ(ScoreOf(id), std::optional<int>(0));
}

TEST_F(GossipProtocolTest, AnotherProtocolVersionIsRefused) {
  std::unique_ptr<InboundPeer> peer = Open();
  v1::Hello hello = HonestHello("future-node");
  hello.set_protocol_version(kProtocolVersion + 1);
  ASSERT_TRUE((*peer)->Send(HelloEnvelope(hello)));
  EXPECT_TRUE(
      (*peer)->WaitForReject(v1::REJECT_CODE_PROTOCOL_VERSION).has_value())
      << (*peer)->Summary();
  EXPECT_TRUE((*peer)->WaitForEnd());
  EXPECT_EQ(network().peer_count(), 0u);
}

TEST_F(GossipProtocolTest, MalformedHellosAreRefused) {
  struct Case {
    const char* what;
    std::function<void(v1::Hello&)> spoil;
  };
  const Case cases[] = {
      {"empty node id", [](v1::Hello& h) { h.set_node_id(""); }},
      {"node id with a space", [](v1::Hello& h) { h.set_node_id("a b"); }},
      {"node id of 65 chars",
       [](v1::Hello& h) { h.set_node_id(std::string(65, 'a')); }},
      {"tip hash of 31 bytes",
       [](v1::Hello& h) { h.set_tip_hash(std::string(31, '\x01')); }},
      {"tip hash of 33 bytes",
       [](v1::Hello& h) { h.set_tip_hash(std::string(33, '\x01')); }},
      {"chain work not a number",
       [](v1::Hello& h) { h.set_chain_work("12x"); }},
      {"listen address without a port",
       [](v1::Hello& h) { h.set_listen_address("example.org"); }},
      {"user agent of 65 bytes",
       [](v1::Hello& h) { h.set_user_agent(std::string(65, 'u')); }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    std::unique_ptr<InboundPeer> peer = Open();
    v1::Hello hello = HonestHello("malformed-hello-node");
    c.spoil(hello);
    ASSERT_TRUE((*peer)->Send(HelloEnvelope(hello)));
    EXPECT_TRUE((*peer)->WaitForReject(v1::REJECT_CODE_MALFORMED).has_value())
        << (*peer)->Summary();
    EXPECT_TRUE((*peer)->WaitForEnd());
    EXPECT_EQ(network().peer_count(), 0u);
  }
}

TEST_F(GossipProtocolTest, AConnectionToItselfIsRefused) {
  std::unique_ptr<InboundPeer> peer = Open();
  ASSERT_TRUE((*peer)->Send(HelloEnvelope(HonestHello(node().node_id()))));
  std::optional<v1::Reject> reject =
      (*peer)->WaitForReject(v1::REJECT_CODE_DUPLICATE_CONNECTION);
  ASSERT_TRUE(reject.has_value()) << (*peer)->Summary();
  EXPECT_EQ(reject->message(), "connected to itself");
  EXPECT_TRUE((*peer)->WaitForEnd());
  EXPECT_EQ(network().peer_count(), 0u);
}

TEST_F(GossipProtocolTest, ADialToItselfIsNeverRepeated) {
  const std::string address = "127.0.0.1:18100";
  v1::PeerInfo info;
  info.set_address(address);
  info.set_genesis_hash(Raw(chain().genesis_hash()));
  network().AddKnown(info, AddressSource::kTracker);
  network().MaintenanceStep();
  std::shared_ptr<FakeRemote> remote = dialer().WaitForDial(address);
  ASSERT_NE(remote, nullptr);
  // The node reached itself: its own Hello comes back.
  std::optional<v1::Hello> hello = remote->WaitForHello();
  ASSERT_TRUE(hello.has_value());
  ASSERT_TRUE(remote->Send(HelloEnvelope(*hello)));
  EXPECT_TRUE(
      remote->WaitForReject(v1::REJECT_CODE_DUPLICATE_CONNECTION).has_value());
  EXPECT_TRUE(remote->WaitForEnd());
  // Far past any backoff, and announced again: never dialed again.
  network().AddKnown(info, AddressSource::kTracker);
  clock().Advance(absl::Hours(1));
  network().MaintenanceStep();
  network().MaintenanceStep();
  EXPECT_EQ(dialer().dialed(), std::vector<std::string>{address});
}

TEST_F(GossipProtocolTest, ASecondHelloCostsTenPoints) {
  std::unique_ptr<InboundPeer> peer = Greeted("twice-hello");
  ASSERT_TRUE((*peer)->Send(HelloEnvelope(HonestHello("twice-hello"))));
  ASSERT_TRUE((*peer)->Sync());
  EXPECT_EQ(ScoreOf("twice-hello"), std::optional<int>(10));
}

TEST_F(GossipProtocolTest, TheSameNodeDialingTwiceKeepsBothInboundLinks) {
  // Two addresses of one node: only the dialer (the peer) decides which to
  // drop, so the acceptor keeps both.
  std::unique_ptr<InboundPeer> first = Greeted("two-address-node");
  std::unique_ptr<InboundPeer> second = Greeted("two-address-node");
  EXPECT_TRUE((*first)->Sync());
  EXPECT_TRUE((*second)->Sync());
  EXPECT_EQ(network().peer_count(), 2u);
}

TEST_F(GossipProtocolTest, AnInboundLinkFromASmallerIdReplacesOurDial) {
  // Both dialed at once: the link dialed by the smaller id survives, here
  // the peer's (kSmallNodeId sorts before our 32 hex chars).
  std::shared_ptr<FakeRemote> out = Outbound("127.0.0.1:18200", kSmallNodeId);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(Connected(/*inbound=*/false), 1);
  std::unique_ptr<InboundPeer> in = Greeted(kSmallNodeId);
  std::optional<v1::Reject> reject =
      out->WaitForReject(v1::REJECT_CODE_DUPLICATE_CONNECTION);
  ASSERT_TRUE(reject.has_value()) << out->Summary();
  EXPECT_EQ(reject->message(), "replaced by another link to the same node");
  EXPECT_TRUE(out->WaitForEnd());
  EXPECT_TRUE((*in)->Sync());
  EXPECT_TRUE(WaitUntil([&] { return Connected(/*inbound=*/false) == 0; }));
  EXPECT_EQ(Connected(/*inbound=*/true), 1);
}

TEST_F(GossipProtocolTest, AnInboundLinkFromALargerIdYieldsToOurDial) {
  std::shared_ptr<FakeRemote> out = Outbound("127.0.0.1:18201", kLargeNodeId);
  ASSERT_NE(out, nullptr);
  std::unique_ptr<InboundPeer> in = Open();
  ASSERT_TRUE((*in)->Send(HelloEnvelope(HonestHello(kLargeNodeId))));
  std::optional<v1::Reject> reject =
      (*in)->WaitForReject(v1::REJECT_CODE_DUPLICATE_CONNECTION);
  ASSERT_TRUE(reject.has_value()) << (*in)->Summary();
  EXPECT_EQ(reject->message(), "already connected to this node");
  EXPECT_TRUE((*in)->WaitForEnd());
  EXPECT_TRUE(out->Sync()) << "our dial was dropped: " << out->Summary();
  EXPECT_EQ(Connected(/*inbound=*/false), 1);
  EXPECT_EQ(Connected(/*inbound=*/true), 0);
}

TEST_F(GossipProtocolTest, OurSecondDialToTheSameNodeIsDropped) {
  std::shared_ptr<FakeRemote> first = Outbound("127.0.0.1:18202", "multi");
  ASSERT_NE(first, nullptr);
  v1::PeerInfo info;
  info.set_address("127.0.0.1:18203");  // another address of the same node
  info.set_genesis_hash(Raw(chain().genesis_hash()));
  network().AddKnown(info, AddressSource::kTracker);
  network().MaintenanceStep();
  std::shared_ptr<FakeRemote> second = dialer().WaitForDial("127.0.0.1:18203");
  ASSERT_NE(second, nullptr);
  ASSERT_TRUE(second->Send(HelloEnvelope(HonestHello("multi"))));
  EXPECT_TRUE(
      second->WaitForReject(v1::REJECT_CODE_DUPLICATE_CONNECTION).has_value())
      << second->Summary();
  EXPECT_TRUE(second->WaitForEnd());
  EXPECT_TRUE(first->Sync());
}

class MaxInboundTest : public GossipProtocolTest {
 protected:
  void Configure(NetworkOptions& options) override { options.max_inbound = 1; }
};

TEST_F(MaxInboundTest, InboundPeersBeyondTheLimitAreRefused) {
  std::unique_ptr<InboundPeer> first = Greeted("first-inbound");
  std::unique_ptr<InboundPeer> second = Open();
  ASSERT_TRUE((*second)->Send(HelloEnvelope(HonestHello("second-inbound"))));
  EXPECT_TRUE(
      (*second)->WaitForReject(v1::REJECT_CODE_TOO_MANY_PEERS).has_value())
      << (*second)->Summary();
  EXPECT_TRUE((*second)->WaitForEnd());
  EXPECT_TRUE((*first)->Sync());
  EXPECT_EQ(network().peer_count(), 1u);
}

TEST_F(GossipProtocolTest, PingIsAnsweredAndAPongForNoPingCostsTenPoints) {
  std::unique_ptr<InboundPeer> peer = Greeted("pinger");
  Envelope ping;
  ping.mutable_ping()->set_nonce(4242);
  ASSERT_TRUE((*peer)->Send(ping));
  EXPECT_TRUE((*peer)
                  ->WaitFor([](const Envelope& e) {
                    return e.has_pong() && e.pong().nonce() == 4242;
                  })
                  .has_value());
  EXPECT_EQ(ScoreOf("pinger"), std::optional<int>(0));
  Envelope pong;
  pong.mutable_pong()->set_nonce(99);
  ASSERT_TRUE((*peer)->Send(pong));
  ASSERT_TRUE((*peer)->Sync());
  EXPECT_EQ(ScoreOf("pinger"), std::optional<int>(10));
}

TEST_F(GossipProtocolTest, ARejectOfTheSessionEndsIt) {
  std::unique_ptr<InboundPeer> peer = Greeted("rejecter");
  // A Reject about one message (with its hash) keeps the session.
  Envelope about_block;
  about_block.mutable_reject()->set_code(v1::REJECT_CODE_INVALID);
  about_block.mutable_reject()->set_hash(std::string(32, '\x07'));
  ASSERT_TRUE((*peer)->Send(about_block));
  ASSERT_TRUE((*peer)->Sync());
  EXPECT_EQ(network().peer_count(), 1u);
  // A Reject of the whole session ends it, at no cost.
  Envelope refusal;
  refusal.mutable_reject()->set_code(v1::REJECT_CODE_TOO_MANY_PEERS);
  ASSERT_TRUE((*peer)->Send(refusal));
  EXPECT_TRUE((*peer)->WaitForEnd()) << (*peer)->Summary();
  EXPECT_TRUE(WaitUntil([&] { return network().peer_count() == 0; }));
}

TEST_F(GossipProtocolTest, AnEmptyMessageCostsTwentyPoints) {
  std::unique_ptr<InboundPeer> peer = Greeted("empty-sender");
  ASSERT_TRUE((*peer)->Send(Envelope()));
  ASSERT_TRUE((*peer)->Sync());
  EXPECT_EQ(ScoreOf("empty-sender"), std::optional<int>(20));
}

// A message kind this node does not know (field 14 of the envelope, as a
// newer protocol revision might add) is ignored: no points, the session
// goes on.
TEST_F(GossipProtocolTest, AnUnknownMessageKindIsIgnored) {
  std::unique_ptr<InboundPeer> peer = Greeted("newer-peer");
  Envelope unknown;
  // Tag (14 << 3 | 2), an empty length-delimited body.
  ASSERT_TRUE(unknown.ParseFromString(std::string("\x72\x00", 2)));
  ASSERT_EQ(unknown.body_case(), Envelope::BODY_NOT_SET);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE((*peer)->Send(unknown));
  ASSERT_TRUE((*peer)->Sync()) << (*peer)->Summary();
  EXPECT_EQ(ScoreOf("newer-peer"), std::optional<int>(0));
  EXPECT_FALSE((*peer)->ended());
}

// --- Peer exchange ---

TEST_F(GossipProtocolTest, PeerRequestIsAnsweredWithConnectedPeersFirst) {
  // A peer we dialed: its address is verified by the handshake.
  std::shared_ptr<FakeRemote> other = Outbound("127.0.0.1:18300", "dialed");
  ASSERT_NE(other, nullptr);
  v1::PeerInfo known;
  known.set_address("127.0.0.1:18301");
  known.set_node_id("known-node");
  known.set_genesis_hash(Raw(chain().genesis_hash()));
  network().AddKnown(known, AddressSource::kTracker);

  v1::Hello asker_hello = HonestHello("asker");
  asker_hello.set_listen_address("127.0.0.1:18302");
  std::unique_ptr<InboundPeer> asker = Greeted(asker_hello);
  std::vector<std::string> addresses = AskForPeers(*asker, 10);
  // The connected peer first, then the book; never the asker itself.
  ASSERT_EQ(addresses.size(), 2u) << (*asker)->Summary();
  EXPECT_EQ(addresses[0], "127.0.0.1:18300");
  EXPECT_EQ(addresses[1], "127.0.0.1:18301");

  Envelope one;
  one.mutable_peer_request()->set_max_count(1);
  ASSERT_TRUE((*asker)->Send(one));
  ASSERT_TRUE((*asker)->Sync());
  EXPECT_EQ((*asker)->Count([](const Envelope& e) {
    return e.has_peer_list() && e.peer_list().peers_size() == 1;
  }),
            1);
}

// --- Addresses peers claim (docs/PROTOCOL.md, addresses) ---

// The scenario: an inbound peer claims a listen address where
// nothing speaks gossip (a port that accepts and closes). The address is
// passed on to nobody, forgotten after the failed dial, and however often
// the peer comes back to claim it again it is dialed at most once per
// kHearsayDialInterval, the wait doubling after each failure.
TEST_F(GossipProtocolTest,
       AClaimedListenAddressIsNeitherPassedOnNorDialedBeyondItsLimit) {
  const std::string claimed = "127.0.0.1:18500";
  v1::Hello claim = HonestHello("claimer");
  claim.set_listen_address(claimed);
  std::unique_ptr<InboundPeer> asker = Greeted("asker");
  {
    std::unique_ptr<InboundPeer> claimer = Greeted(claim);
    const std::vector<std::string> listed = AskForPeers(*asker, 10);
    EXPECT_EQ(std::count(listed.begin(), listed.end(), claimed), 0)
        << "an unverified address was passed on";
  }
  const absl::Time start = clock().Now();
  std::vector<absl::Duration> dials;  // when, from the start
  for (int second = 0; second < 70; ++second) {
    if (second % 5 == 0) {
      Greeted(claim);  // comes back, claims it again, leaves
    }
    network().MaintenanceStep();
    std::shared_ptr<FakeRemote> remote =
        dialer().WaitForDial(claimed, absl::Milliseconds(100));
    if (remote != nullptr) {
      dials.push_back(clock().Now() - start);
      remote->Hangup();  // accepts, then closes
      EXPECT_TRUE(remote->WaitForEnd());
      EXPECT_TRUE(WaitUntil([&] { return !Known(claimed); }))
          << "kept after a failed dial";
    }
    clock().Advance(absl::Seconds(1));
  }
  // Dialed at 0 s and 60 s (30 s doubled after the first failure); the
  // next would be at 180 s.
  ASSERT_EQ(dials.size(), 2u);
  EXPECT_EQ(dials[0], absl::ZeroDuration());
  EXPECT_EQ(dials[1], 2 * kHearsayDialInterval);
  network().Stop();  // joins every dial under way
  const std::vector<std::string> all = dialer().dialed();
  EXPECT_EQ(std::count(all.begin(), all.end(), claimed), 2);
}

// The listen address an inbound peer claims is dialed back while the peer
// is connected: the node waits for the Hello there, and as it comes from
// the connected node the address is verified and the extra link closed
// without a Hello of ours (the inbound link stays). From then on the
// address is passed on.
TEST_F(GossipProtocolTest,
       AClaimedAddressIsVerifiedByADialBackAndThenPassedOn) {
  const std::string claimed = "127.0.0.1:18510";
  v1::Hello claim = HonestHello("real-node");
  claim.set_listen_address(claimed);
  std::unique_ptr<InboundPeer> asker = Greeted("asker");
  std::unique_ptr<InboundPeer> claimer = Greeted(claim);
  std::vector<std::string> listed = AskForPeers(*asker, 10);
  EXPECT_EQ(std::count(listed.begin(), listed.end(), claimed), 0);
  network().MaintenanceStep();
  std::shared_ptr<FakeRemote> remote = dialer().WaitForDial(claimed);
  ASSERT_NE(remote, nullptr);
  ASSERT_TRUE(remote->Send(HelloEnvelope(claim)));
  EXPECT_TRUE(remote->WaitForEnd()) << remote->Summary();
  EXPECT_EQ(remote->Count([](const Envelope& e) { return e.has_hello(); }), 0)
      << remote->Summary();
  EXPECT_TRUE(WaitUntil([&] {
    const std::vector<std::string> now = AskForPeers(*asker, 10);
    return std::count(now.begin(), now.end(), claimed) == 1;
  }));
  EXPECT_TRUE((*claimer)->Sync()) << "the inbound link was dropped";
  EXPECT_EQ(ScoreOf("real-node"), std::optional<int>(0));
  // Verified and connected: not dialed again (within the silence timeout,
  // so that the inbound link stays).
  clock().Advance(kHearsayDialInterval);
  network().MaintenanceStep();
  EXPECT_EQ(dialer().WaitForDial(claimed, absl::Milliseconds(200)), nullptr);
}

// The review's finding: a connected node whose listen address is not yet
// verified had its node id left out of the skip list, so another address
// of the same node (here the tracker's) was dialed while it was connected.
TEST_F(GossipProtocolTest, AConnectedNodeIsNotDialedAtItsOtherAddresses) {
  const std::string tracker_listed = "127.0.0.1:18530";
  const std::string claimed = "127.0.0.1:18531";
  v1::PeerInfo info;
  info.set_address(tracker_listed);
  info.set_node_id("twice-known");
  info.set_genesis_hash(Raw(chain().genesis_hash()));
  v1::Hello claim = HonestHello("twice-known");
  claim.set_listen_address(claimed);
  std::unique_ptr<InboundPeer> claimer = Greeted(claim);
  network().AddKnown(info, AddressSource::kTracker);
  network().MaintenanceStep();
  // The claimed address is dialed back; the tracker's is not dialed.
  std::shared_ptr<FakeRemote> back = dialer().WaitForDial(claimed);
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(dialer().WaitForDial(tracker_listed, absl::Milliseconds(300)),
            nullptr);
  ASSERT_TRUE(back->Send(HelloEnvelope(claim)));
  EXPECT_TRUE(back->WaitForEnd()) << back->Summary();
  EXPECT_TRUE((*claimer)->Sync()) << "the inbound link was dropped";
}

// A claimed address whose node is not connected (it left) becomes a
// session of its own when the dial finds a node there: the node speaks
// after the peer's Hello, and the address is verified.
TEST_F(GossipProtocolTest,
       AClaimedAddressOfANodeThatLeftIsVerifiedByItsHandshake) {
  const std::string claimed = "127.0.0.1:18520";
  v1::Hello claim = HonestHello("left-node");
  claim.set_listen_address(claimed);
  std::unique_ptr<InboundPeer> asker = Greeted("asker");
  Greeted(claim);  // says hello, leaves
  network().MaintenanceStep();
  std::shared_ptr<FakeRemote> remote = dialer().WaitForDial(claimed);
  ASSERT_NE(remote, nullptr);
  ASSERT_TRUE(remote->Send(HelloEnvelope(claim)));
  ASSERT_TRUE(remote->WaitForHello().has_value()) << remote->Summary();
  ASSERT_TRUE(remote->Sync()) << remote->Summary();
  EXPECT_EQ(ScoreOf("left-node"), std::optional<int>(0));
  const std::vector<std::string> listed = AskForPeers(*asker, 10);
  EXPECT_EQ(std::count(listed.begin(), listed.end(), claimed), 1);
}

// One peer fills at most kMaxUnverifiedPerSource entries of the book, and
// the addresses it named are dialed one at a time, kSourceDialInterval
// apart.
TEST_F(GossipProtocolTest,
       OnePeerNamesAtMostItsCapAndItsAddressesAreDialedSlowly) {
  std::shared_ptr<FakeRemote> out = Outbound("127.0.0.1:18600", "lister");
  ASSERT_NE(out, nullptr);
  ASSERT_TRUE(
      out->WaitFor([](const Envelope& e) { return e.has_peer_request(); })
          .has_value());
  Envelope list;
  std::vector<std::string> named;
  for (int i = 0; i < kMaxPeerListEntries; ++i) {
    v1::PeerInfo* p = list.mutable_peer_list()->add_peers();
    p->set_address(absl::StrCat("127.0.0.1:", 21000 + i));
    p->set_genesis_hash(Raw(chain().genesis_hash()));
    named.push_back(p->address());
  }
  ASSERT_TRUE(out->Send(list));
  ASSERT_TRUE(out->Sync());
  int kept = 0;
  for (const std::string& address : named) kept += Known(address) ? 1 : 0;
  EXPECT_EQ(kept, static_cast<int>(kMaxUnverifiedPerSource));

  network().MaintenanceStep();
  clock().Advance(kSourceDialInterval - absl::Seconds(1));
  network().MaintenanceStep();
  network().Stop();  // joins every dial under way
  int dialed = 0;
  for (const std::string& address : dialer().dialed()) {
    dialed += std::count(named.begin(), named.end(), address);
  }
  EXPECT_EQ(dialed, 1);
}

TEST_F(GossipProtocolTest, OnlyAnsweredPeerRequestsFillTheAddressBook) {
  auto known_addresses = [&] {
    v1::ListPeersResponse peers;
    network().ListPeers(&peers);
    std::vector<std::string> out;
    for (const v1::PeerInfo& p : peers.known()) out.push_back(p.address());
    return out;
  };
  auto list_of = [&](const std::string& address) {
    Envelope e;
    v1::PeerInfo* p = e.mutable_peer_list()->add_peers();
    p->set_address(address);
    p->set_node_id(absl::StrCat("node-at-", address));
    p->set_genesis_hash(Raw(chain().genesis_hash()));
    return e;
  };
  // An inbound peer was never asked: its list is ignored.
  std::unique_ptr<InboundPeer> in = Greeted("unasked");
  ASSERT_TRUE((*in)->Send(list_of("127.0.0.1:18400")));
  ASSERT_TRUE((*in)->Sync());
  EXPECT_EQ(ScoreOf("unasked"), std::optional<int>(0));

  // Our dial asks at once; its answer is taken, but only once.
  std::shared_ptr<FakeRemote> out = Outbound("127.0.0.1:18401", "asked");
  ASSERT_NE(out, nullptr);
  EXPECT_TRUE(
      out->WaitFor([](const Envelope& e) { return e.has_peer_request(); })
          .has_value());
  ASSERT_TRUE(out->Send(list_of("127.0.0.1:18402")));
  ASSERT_TRUE(out->Send(list_of("127.0.0.1:18403")));
  ASSERT_TRUE(out->Sync());
  const std::vector<std::string> known = known_addresses();
  EXPECT_EQ(std::count(known.begin(), known.end(), "127.0.0.1:18400"), 0);
  EXPECT_EQ(std::count(known.begin(), known.end(), "127.0.0.1:18402"), 1);
  EXPECT_EQ(std::count(known.begin(), known.end(), "127.0.0.1:18403"), 0);
}

TEST_F(GossipProtocolTest, APeerListOverItsCapCostsFiftyPoints) {
  std::unique_ptr<InboundPeer> peer = Greeted("big-list");
  Envelope list;
  for (int i = 0; i < kMaxPeerListEntries + 1; ++i) {
    v1::PeerInfo* p = list.mutable_peer_list()->add_peers();
    p->set_address(absl::StrCat("127.0.0.1:", 20000 + i));
  }
  ASSERT_TRUE((*peer)->Send(list));
  ASSERT_TRUE((*peer)->Sync());
  EXPECT_EQ(ScoreOf("big-list"), std::optional<int>(kOversizedListPoints));
}

// --- Bytes that are no GossipEnvelope, over real gRPC streams ---

// Field 1 (hello) claims a length far beyond the message: undecodable.
const std::string kGarbage("\x0a\xff\xff\xff\x0f\x01\x02", 7);

// One Gossip.Exchange call that sends and receives raw bytes (GenericStub),
// one operation at a time, each waited for at most kWait.
class RawCall {
 public:
  explicit RawCall(const std::string& address)
      : stub_(
            grpc::CreateChannel(address, grpc::InsecureChannelCredentials())) {
    context_.set_deadline(std::chrono::system_clock::now() +
                          std::chrono::seconds(120));
    call_ = stub_.PrepareCall(&context_, kGossipExchangeMethod, &cq_);
    call_->StartCall(this);
    started_ = Next();
  }
  ~RawCall() {
    context_.TryCancel();
    void* tag;
    bool ok;
    if (pending_ > 0) {
      // The cancel completes the operation left under way.
      (void)cq_.AsyncNext(
          &tag, &ok,
          std::chrono::system_clock::now() + absl::ToChronoMilliseconds(kWait));
    }
    if (started_) call_->Finish(&status_, this);
    cq_.Shutdown();
    while (cq_.Next(&tag, &ok)) {
    }
  }
  RawCall(const RawCall&) = delete;
  RawCall& operator=(const RawCall&) = delete;

  bool started() const { return started_; }
  bool Write(const std::string& bytes) {
    if (pending_ > 0) return false;
    grpc::Slice slice(bytes);
    grpc::ByteBuffer buffer(&slice, 1);
    call_->Write(buffer, this);
    return Next();
  }
  // Reads until a message `match` accepts (nullopt: the stream ended or
  // kWait passed).
  std::optional<Envelope> ReadUntil(
      const std::function<bool(const Envelope&)>& match) {
    while (pending_ == 0) {
      grpc::ByteBuffer in;
      call_->Read(&in, this);
      if (!Next()) return std::nullopt;
      std::vector<grpc::Slice> slices;
      if (!in.Dump(&slices).ok()) return std::nullopt;
      std::string bytes;
      for (const grpc::Slice& slice : slices) {
        bytes.append(reinterpret_cast<const char*>(slice.begin()),
                     slice.size());
      }
      Envelope message;
      if (message.ParseFromString(bytes) && match(message)) return message;
    }
    return std::nullopt;
  }
  // A Ping answered: the node still serves this stream.
  bool PingPong(uint64_t nonce) {
    Envelope ping;
    ping.mutable_ping()->set_nonce(nonce);
    return Write(ping.SerializeAsString()) &&
           ReadUntil([nonce](const Envelope& e) {
             return e.has_pong() && e.pong().nonce() == nonce;
           }).has_value();
  }

 private:
  // Waits for the one operation under way; false if it failed or kWait
  // passed (it then stays pending until the destructor cancels the call).
  bool Next() {
    ++pending_;
    void* tag = nullptr;
    bool ok = false;
    const auto deadline =
        std::chrono::system_clock::now() + absl::ToChronoMilliseconds(kWait);
    if (cq_.AsyncNext(&tag, &ok, deadline) !=
        grpc::CompletionQueue::GOT_EVENT) {
      return false;
    }
    --pending_;
    return ok;
  }

  grpc::GenericStub stub_;
  grpc::ClientContext context_;
  grpc::CompletionQueue cq_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call_;
  grpc::Status status_;
  bool started_ = false;
  int pending_ = 0;  // operations under way (at most one)
};

// The node's Gossip service on a real gRPC server on loopback.
// The review's finding: dial-backs were ordinary outbound dials, so a node
// whose outbound set was full never verified (and never passed on) its
// inbound peers' addresses. They have a budget of their own.
class OneOutboundTest : public GossipProtocolTest {
 protected:
  void Configure(NetworkOptions& options) override { options.max_outbound = 1; }
};

TEST_F(OneOutboundTest, AFullOutboundSetStillDialsBack) {
  std::shared_ptr<FakeRemote> out = Outbound("127.0.0.1:18540", "the-out");
  ASSERT_NE(out, nullptr);
  const std::string claimed = "127.0.0.1:18541";
  v1::Hello claim = HonestHello("inbound-node");
  claim.set_listen_address(claimed);
  std::unique_ptr<InboundPeer> asker = Greeted("asker");
  std::unique_ptr<InboundPeer> claimer = Greeted(claim);
  network().MaintenanceStep();
  std::shared_ptr<FakeRemote> back = dialer().WaitForDial(claimed);
  ASSERT_NE(back, nullptr) << "no dial-back with the outbound set full";
  ASSERT_TRUE(back->Send(HelloEnvelope(claim)));
  EXPECT_TRUE(back->WaitForEnd()) << back->Summary();
  EXPECT_TRUE(WaitUntil([&] {
    const std::vector<std::string> listed = AskForPeers(*asker, 10);
    return std::count(listed.begin(), listed.end(), claimed) == 1;
  }));
  EXPECT_TRUE(out->Sync()) << "the outbound peer was dropped";
  EXPECT_TRUE((*claimer)->Sync());
}

class GrpcGossipTest : public GossipProtocolTest {
 protected:
  void SetUp() override {
    GossipProtocolTest::SetUp();
    if (HasFatalFailure()) return;
    service_ = std::make_unique<GossipServiceImpl>(&network());
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
  }
  void TearDown() override {
    if (network_) network_->Stop();  // ends the sessions first
    if (server_) {
      server_->Shutdown(std::chrono::system_clock::now() +
                        std::chrono::seconds(5));
    }
    GossipProtocolTest::TearDown();
  }
  std::string address() const { return absl::StrCat("127.0.0.1:", port_); }

  std::unique_ptr<GossipServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(GrpcGossipTest, UndecodableBytesCostTheSenderPointsAndTheSessionGoesOn) {
  RawCall call(address());
  ASSERT_TRUE(call.started());
  ASSERT_TRUE(call.Write(
      HelloEnvelope(HonestHello("garbage-sender")).SerializeAsString()));
  ASSERT_TRUE(call.ReadUntil([](const Envelope& e) { return e.has_hello(); }));
  ASSERT_TRUE(call.PingPong(1));
  EXPECT_EQ(ScoreOf("garbage-sender"), std::optional<int>(0));

  ASSERT_TRUE(call.Write(kGarbage));
  ASSERT_TRUE(call.PingPong(2)) << "the session ended on undecodable bytes";
  EXPECT_EQ(ScoreOf("garbage-sender"), std::optional<int>(kMalformedPoints));

  // Enough of them add up to a ban.
  for (int i = 1; i < kBanScore / kMalformedPoints; ++i) {
    ASSERT_TRUE(call.Write(kGarbage));
  }
  std::optional<Envelope> reject = call.ReadUntil([](const Envelope& e) {
    return e.has_reject() && e.reject().code() == v1::REJECT_CODE_BANNED;
  });
  EXPECT_TRUE(reject.has_value());
  EXPECT_TRUE(WaitUntil([&] { return !ScoreOf("garbage-sender"); }));
}

TEST_F(GrpcGossipTest, UndecodableBytesBeforeTheHelloEndTheSession) {
  RawCall call(address());
  ASSERT_TRUE(call.started());
  ASSERT_TRUE(call.Write(kGarbage));
  EXPECT_TRUE(call.ReadUntil([](const Envelope& e) {
    return e.has_reject() && e.reject().code() == v1::REJECT_CODE_MALFORMED;
  }));
  // Then the stream ends.
  EXPECT_FALSE(call.ReadUntil([](const Envelope&) { return true; }));
}

// A scripted Gossip server for the dialing side: whatever the dialer sends,
// it answers with a Hello, undecodable bytes and a Ping (raw ByteBuffers,
// registered like GossipServiceImpl registers itself).
class ScriptedGossipService final : public grpc::Service {
 public:
  ScriptedGossipService() {
    AddMethod(new grpc::internal::RpcServiceMethod(
        kGossipExchangeMethod, grpc::internal::RpcMethod::BIDI_STREAMING,
        new grpc::internal::BidiStreamingHandler<
            ScriptedGossipService, grpc::ByteBuffer, grpc::ByteBuffer>(
            [](ScriptedGossipService*, grpc::ServerContext*,
               grpc::ServerReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>*
                   stream) {
              Envelope hello;
              hello.mutable_hello()->set_node_id("scripted");
              Envelope ping;
              ping.mutable_ping()->set_nonce(9);
              for (const std::string& bytes :
                   {hello.SerializeAsString(), kGarbage,
                    ping.SerializeAsString()}) {
                grpc::Slice slice(bytes);
                grpc::ByteBuffer buffer(&slice, 1);
                if (!stream->Write(buffer)) break;
              }
              grpc::ByteBuffer in;
              while (stream->Read(&in)) {
              }
              return grpc::Status::OK;
            },
            this)));
  }
};

TEST(GrpcGossipDialerTest, UndecodableBytesAreReportedNotTakenForTheEnd) {
  ScriptedGossipService service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  {
    std::unique_ptr<GossipDialer> dialer =
        MakeGrpcGossipDialer(kMaxGrpcMessageBytes);
    std::unique_ptr<GossipStream> stream =
        dialer->Dial(absl::StrCat("127.0.0.1:", port), [] { return false; });
    ASSERT_NE(stream, nullptr);
    Envelope hello;
    hello.mutable_hello()->set_node_id("dialer");
    ASSERT_TRUE(stream->Write(hello));
    Envelope message;
    ASSERT_EQ(stream->ReadMessage(&message), ReadResult::kMessage);
    EXPECT_EQ(message.hello().node_id(), "scripted");
    EXPECT_EQ(stream->ReadMessage(&message), ReadResult::kUndecodable);
    ASSERT_EQ(stream->ReadMessage(&message), ReadResult::kMessage);
    EXPECT_EQ(message.ping().nonce(), 9u);
    stream->CloseWrites();
    EXPECT_EQ(stream->ReadMessage(&message), ReadResult::kEnded);
  }
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
}

}  // namespace
}  // namespace pbchain::p2ptest
