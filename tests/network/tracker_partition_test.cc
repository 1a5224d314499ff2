// A partition between a node and its tracker: the node reaches the tracker
// only through a TcpProxy, which is cut long enough for the tracker to drop
// the node's lease and for every backoff to grow, then healed. The node must
// be registered again within seconds of the heal (issue 15: it used to take
// 12 to 55 s, the channel's reconnect backoff adding to the client's own).
#include <iostream>
#include <set>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/network/net_harness.h"
#include "tests/network/tcp_proxy.h"

namespace pbchain::nettest {
namespace {

// How long the link stays cut: well past the lease (so the tracker forgets
// the node) and long enough for any exponential backoff to have grown.
constexpr absl::Duration kCut = absl::Seconds(30);
// What the test asserts: registered again this soon after the heal. The
// client retries every second or so; the rest is room for a loaded machine.
constexpr absl::Duration kRejoinBound = absl::Seconds(8);
// How long the test waits for the rejoin at all (so that a failure shows
// how long it did take).
constexpr absl::Duration kRejoinWait = absl::Seconds(75);

bool Lists(TrackerProcess& tracker, const std::string& genesis,
           const std::string& node_id, std::string& seen) {
  absl::StatusOr<v1::TrackerListPeersResponse> peers = tracker.Peers(genesis);
  if (!peers.ok()) {
    seen = peers.status().ToString();
    return false;
  }
  seen.clear();
  for (const v1::PeerInfo& p : peers->peers()) {
    absl::StrAppend(&seen, p.node_id().substr(0, 8), "@", p.address(), " ");
    if (p.node_id() == node_id) return true;
  }
  return false;
}

TEST(TrackerPartitionTest, NodeRejoinsWithinSecondsOfTheHeal) {
  TestNet net("tracker_partition", GenesisConfig{});
  ASSERT_TRUE(net.ok());
  TrackerProcess* tracker = net.StartTracker(
      "127.0.0.1:0", {"--heartbeat-interval=500ms", "--lease-ttl=3s"});
  ASSERT_NE(tracker, nullptr);
  const std::string& tracker_address = tracker->address();
  uint32_t tracker_port = 0;
  ASSERT_TRUE(absl::SimpleAtoi(
      tracker_address.substr(tracker_address.rfind(':') + 1), &tracker_port))
      << tracker_address;
  std::unique_ptr<TcpProxy> proxy =
      TcpProxy::Start(static_cast<uint16_t>(tracker_port));
  ASSERT_NE(proxy, nullptr);

  NodeConfig config;
  config.tracker = proxy->address();
  NodeProcess* node = net.StartNode("node1", config);
  ASSERT_NE(node, nullptr);
  absl::StatusOr<v1::GetInfoResponse> info = node->Info();
  ASSERT_TRUE(info.ok()) << info.status();
  const std::string genesis = info->genesis_hash();
  const std::string node_id = info->node_id();

  ASSERT_TRUE(WaitFor(
      [&](std::string& seen) {
        return Lists(*tracker, genesis, node_id, seen);
      },
      absl::Seconds(30), "the tracker to list the node"));

  const absl::Time cut_at = absl::Now();
  proxy->Cut();
  ASSERT_TRUE(WaitFor(
      [&](std::string& seen) {
        return !Lists(*tracker, genesis, node_id, seen);
      },
      absl::Seconds(30), "the tracker to drop the node's lease"));
  // The scenario's length, not a guess at the machine's speed.
  absl::SleepFor(kCut - (absl::Now() - cut_at));
  const int connections_before = proxy->relayed_connections();
  EXPECT_GT(proxy->refused_connections(), 0) << "the node never retried";

  proxy->Heal();
  const absl::Time healed_at = absl::Now();
  const bool rejoined = WaitFor(
      [&](std::string& seen) {
        return Lists(*tracker, genesis, node_id, seen);
      },
      kRejoinWait, "the node to be listed again after the heal");
  const absl::Duration took = absl::Now() - healed_at;
  ASSERT_TRUE(rejoined);
  EXPECT_LE(took, kRejoinBound)
      << "rejoined " << absl::FormatDuration(took) << " after the heal";
  EXPECT_GT(proxy->relayed_connections(), connections_before);
  std::cout << "rejoined " << absl::FormatDuration(took) << " after a cut of "
            << absl::FormatDuration(kCut) << "\n";
}

}  // namespace
}  // namespace pbchain::nettest
