// --discover-local: a node with no tracker and no --peer finds the nodes of
// its network among the 127.0.0.1 ports it probes, and ignores a node of
// another network listening in the same range.
#include <algorithm>
#include <cstdlib>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/network/net_harness.h"

namespace pbchain::nettest {
namespace {

constexpr absl::Duration kWait = absl::Seconds(40);

// Two free loopback ports at most 1,000 apart (the probe range is capped).
std::pair<uint16_t, uint16_t> NearbyPorts() {
  const uint16_t a = ReserveLoopbackPort();
  for (int i = 0; i < 500; ++i) {
    const uint16_t b = ReserveLoopbackPort();
    if (b != a && b != 0 && std::abs(int{a} - int{b}) <= 1000) return {a, b};
  }
  return {0, 0};
}

TEST(DiscoverTest, FindsNodesOfItsNetworkOnLocalPorts) {
  TestNet net("discover", GenesisConfig{.target_interval_ms = 300});
  ASSERT_TRUE(net.ok());
  TestNet other("discover_other",
                GenesisConfig{.chain_id = "pbchain-other",
                              .target_interval_ms = 300});
  ASSERT_TRUE(other.ok());

  const auto [port1, port2] = NearbyPorts();
  ASSERT_NE(port1, 0) << "no two free loopback ports close together";
  NodeConfig miner;
  miner.role = "head";
  miner.mine = true;
  miner.listen = absl::StrCat("127.0.0.1:", port1);
  NodeProcess* n1 = net.StartNode("node1", miner);
  ASSERT_NE(n1, nullptr);
  miner.listen = absl::StrCat("127.0.0.1:", port2);
  NodeProcess* stranger = other.StartNode("stranger", miner);
  ASSERT_NE(stranger, nullptr);

  NodeConfig finder;
  finder.extra = {absl::StrCat("--discover-local=", std::min(port1, port2),
                               "-", std::max(port1, port2))};
  NodeProcess* n2 = net.StartNode("node2", finder);
  ASSERT_NE(n2, nullptr);

  absl::StatusOr<v1::GetInfoResponse> n1_info = n1->Info();
  absl::StatusOr<v1::GetInfoResponse> stranger_info = stranger->Info();
  ASSERT_TRUE(n1_info.ok() && stranger_info.ok());
  ASSERT_TRUE(WaitFor(
      [&](std::string& seen) {
        absl::StatusOr<v1::ListPeersResponse> peers = n2->Peers();
        seen = n2->Summary();
        return peers.ok() && FindConnected(*peers, n1_info->node_id());
      },
      kWait, "node2 to connect to node1 found by port probing"));
  ASSERT_TRUE(WaitForSameTip({n1, n2}, 3, kWait).has_value());

  // The node of the other network was probed too, and left alone.
  absl::StatusOr<v1::ListPeersResponse> peers = n2->Peers();
  ASSERT_TRUE(peers.ok());
  EXPECT_EQ(FindConnected(*peers, stranger_info->node_id()), nullptr);
  for (const v1::PeerInfo& known : peers->known()) {
    EXPECT_NE(known.node_id(), stranger_info->node_id());
  }
  EXPECT_EQ(n2->Info()->genesis_hash(), n1_info->genesis_hash());
}

}  // namespace
}  // namespace pbchain::nettest
