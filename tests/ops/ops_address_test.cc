// A node listening on a wildcard address (--listen 0.0.0.0:0, no
// --advertise) advertises the unspecified host, and whoever it talks to
// keeps the address the connection came from (docs/PROTOCOL.md
// "Addresses"): its Hello carries 0.0.0.0:PORT, the tracker lists it at
// 127.0.0.1:PORT (the IP its Join came from), and a peer it dialed stores
// it at 127.0.0.1:PORT. On loopback every observed IP is 127.0.0.1; the
// Hello check shows it came from the observer, not from the advertiser.
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/network/gossip_client.h"
#include "tests/network/net_harness.h"
#include "tests/util/pbnode_process.h"

namespace pbchain::opstest {
namespace {

using nettest::GenesisConfig;
using nettest::NodeConfig;
using nettest::NodeProcess;
using nettest::TestNet;

constexpr absl::Duration kWait = absl::Seconds(30);

TEST(AddressTest, WildcardListenIsKnownByTheAddressItWasSeenFrom) {
  TestNet net("ops_address", GenesisConfig{});
  ASSERT_TRUE(net.ok());
  nettest::TrackerProcess* tracker = net.StartTracker();
  ASSERT_NE(tracker, nullptr);
  NodeProcess* peer = net.StartNode("peer", NodeConfig{});
  ASSERT_NE(peer, nullptr);
  absl::StatusOr<v1::GetInfoResponse> peer_info = peer->Info();
  ASSERT_TRUE(peer_info.ok()) << peer_info.status();
  const std::string genesis = peer_info->genesis_hash();

  // Started by hand: the harness would dial the printed 0.0.0.0 address.
  testing::RunningPbnode wild = testing::StartPbnode(
      net.Sub("wild"), net.genesis_path(), net.Sub("wild.log"),
      {"--listen=0.0.0.0:0", "--tracker=" + tracker->address(),
       "--peer=" + peer->address()});
  ASSERT_NE(wild.stub, nullptr);
  ASSERT_EQ(wild.address.rfind("0.0.0.0:", 0), 0u) << wild.address;
  const uint16_t port = nettest::PortOf(wild.address);
  ASSERT_NE(port, 0);
  const std::string observed = absl::StrCat("127.0.0.1:", port);

  // What it advertises: the unspecified host, never 127.0.0.1.
  nettest::GossipSession session(observed);
  ASSERT_TRUE(
      session.Send(nettest::MakeHello(genesis, nettest::RandomNodeId())));
  std::optional<v1::Hello> hello = session.WaitForHello(kWait);
  ASSERT_TRUE(hello.has_value()) << session.ReceivedSummary();
  EXPECT_EQ(hello->listen_address(), absl::StrCat("0.0.0.0:", port));
  const std::string wild_id = hello->node_id();

  // The tracker lists it at the address its Join came from.
  EXPECT_TRUE(nettest::WaitFor(
      [&](std::string& seen) {
        absl::StatusOr<v1::TrackerListPeersResponse> list =
            tracker->Peers(genesis);
        if (!list.ok()) {
          seen = list.status().ToString();
          return false;
        }
        seen = list->DebugString();
        for (const v1::PeerInfo& p : list->peers()) {
          if (p.node_id() == wild_id) return p.address() == observed;
        }
        return false;
      },
      kWait, "the tracker to list the wildcard node at " + observed));

  // The peer it dialed stores it (inbound, from its Hello) at the address
  // the connection came from.
  EXPECT_TRUE(nettest::WaitFor(
      [&](std::string& seen) {
        absl::StatusOr<v1::ListPeersResponse> peers = peer->Peers();
        if (!peers.ok()) {
          seen = peers.status().ToString();
          return false;
        }
        seen = peers->DebugString();
        const v1::ConnectedPeer* c = nettest::FindConnected(*peers, wild_id);
        return c != nullptr && c->inbound() && c->info().address() == observed;
      },
      kWait, "the peer to know the wildcard node at " + observed));
  wild.process->Kill(SIGTERM);
  EXPECT_EQ(wild.process->Wait(std::chrono::seconds(20)), 0);
}

}  // namespace
}  // namespace pbchain::opstest
