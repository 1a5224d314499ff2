// GossipProtocol in process: the handshake (what a Hello must carry, who is
// refused and with which Reject), the duplicate-link rule between inbound
// and outbound links to one node, Ping / Pong, a Reject from the peer, and
// peer exchange (PeerRequest / PeerList).
#include "node/p2p/gossip_protocol.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"
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

// --- Peer exchange ---

TEST_F(GossipProtocolTest, PeerRequestIsAnsweredWithConnectedPeersFirst) {
  v1::Hello listener = HonestHello("listening-peer");
  listener.set_listen_address("127.0.0.1:18300");
  std::unique_ptr<InboundPeer> other = Greeted(listener);
  v1::PeerInfo known;
  known.set_address("127.0.0.1:18301");
  known.set_node_id("known-node");
  known.set_genesis_hash(Raw(chain().genesis_hash()));
  network().AddKnown(known, AddressSource::kTracker);

  v1::Hello asker_hello = HonestHello("asker");
  asker_hello.set_listen_address("127.0.0.1:18302");
  std::unique_ptr<InboundPeer> asker = Greeted(asker_hello);
  Envelope request;
  request.mutable_peer_request()->set_max_count(10);
  ASSERT_TRUE((*asker)->Send(request));
  std::optional<Envelope> reply =
      (*asker)->WaitFor([](const Envelope& e) { return e.has_peer_list(); });
  ASSERT_TRUE(reply.has_value()) << (*asker)->Summary();
  std::vector<std::string> addresses;
  for (const v1::PeerInfo& p : reply->peer_list().peers()) {
    addresses.push_back(p.address());
    EXPECT_EQ(p.genesis_hash(), Raw(chain().genesis_hash()));
  }
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

}  // namespace
}  // namespace pbchain::p2ptest
