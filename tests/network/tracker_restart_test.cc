// The tracker is only a rendezvous: with it killed (-9), three nodes that
// found each other through it keep relaying blocks; a tracker restarted on
// the same port learns all three again (their heartbeats get NOT_FOUND and
// they Join again).
#include <signal.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/network/net_harness.h"

namespace pbchain::nettest {
namespace {

constexpr absl::Duration kWait = absl::Seconds(45);

// True when the tracker lists exactly the node ids `want`.
bool TrackerLists(TrackerProcess& tracker, const std::string& genesis,
                  const std::set<std::string>& want, std::string& seen) {
  absl::StatusOr<v1::TrackerListPeersResponse> peers = tracker.Peers(genesis);
  if (!peers.ok()) {
    seen = peers.status().ToString();
    return false;
  }
  std::set<std::string> got;
  for (const v1::PeerInfo& p : peers->peers()) {
    got.insert(p.node_id());
    absl::StrAppend(&seen, p.node_id().substr(0, 8), "@", p.address(), " ");
  }
  return got == want;
}

TEST(TrackerRestartTest, NodesOutliveTheTrackerAndRejoinIt) {
  TestNet net("tracker_restart", GenesisConfig{.target_interval_ms = 300});
  ASSERT_TRUE(net.ok());
  const std::vector<std::string> tracker_flags = {"--heartbeat-interval=500ms",
                                                  "--lease-ttl=5s"};
  TrackerProcess* tracker = net.StartTracker("127.0.0.1:0", tracker_flags);
  ASSERT_NE(tracker, nullptr);

  std::vector<NodeProcess*> nodes;
  for (int i = 0; i < 3; ++i) {
    NodeConfig config;
    config.role = i == 0 ? "head" : "full";
    config.mine = i == 0;
    config.tracker = tracker->address();
    NodeProcess* n = net.StartNode(absl::StrCat("node", i + 1), config);
    ASSERT_NE(n, nullptr);
    nodes.push_back(n);
  }
  std::optional<v1::GetInfoResponse> tip = WaitForSameTip(nodes, 3, kWait);
  ASSERT_TRUE(tip.has_value());
  const std::string genesis = tip->genesis_hash();
  std::set<std::string> ids;
  for (NodeProcess* n : nodes) {
    absl::StatusOr<v1::GetInfoResponse> info = n->Info();
    ASSERT_TRUE(info.ok()) << info.status();
    ids.insert(info->node_id());
  }
  ASSERT_EQ(ids.size(), 3u);
  ASSERT_TRUE(WaitFor(
      [&](std::string& seen) {
        return TrackerLists(*tracker, genesis, ids, seen);
      },
      absl::Seconds(20), "the tracker to list the 3 nodes"));
  // Node 3 is linked to someone before the tracker goes away.
  ASSERT_TRUE(WaitFor(
      [&](std::string& seen) {
        seen = nodes[2]->Summary();
        absl::StatusOr<v1::GetInfoResponse> info = nodes[2]->Info();
        return info.ok() && info->peer_count() >= 1;
      },
      absl::Seconds(20), "node3 to have a peer"));

  // kill -9: no Leave, no goodbye.
  EXPECT_EQ(tracker->Kill(), 128 + SIGKILL);
  absl::StatusOr<v1::GetInfoResponse> at_kill = nodes[0]->Info();
  ASSERT_TRUE(at_kill.ok()) << at_kill.status();

  // Blocks mined after the kill reach node 3: same tip, higher than before,
  // twice over (relay keeps going, not a single lucky block).
  std::optional<v1::GetInfoResponse> after =
      WaitForSameTip(nodes, at_kill->height() + 2, kWait);
  ASSERT_TRUE(after.has_value());
  after = WaitForSameTip(nodes, after->height() + 2, kWait);
  ASSERT_TRUE(after.has_value());
  for (NodeProcess* n : nodes) {
    absl::StatusOr<v1::GetInfoResponse> info = n->Info();
    ASSERT_TRUE(info.ok()) << n->name() << ": " << info.status();
  }

  // A new tracker on the same address lists all three again.
  ASSERT_TRUE(net.RestartTracker(tracker, tracker_flags));
  EXPECT_TRUE(WaitFor(
      [&](std::string& seen) {
        return TrackerLists(*tracker, genesis, ids, seen);
      },
      kWait, "the restarted tracker to list the 3 nodes again"));
  // And the network still shares one chain.
  EXPECT_TRUE(WaitForSameTip(nodes, after->height() + 1, kWait).has_value());
}

}  // namespace
}  // namespace pbchain::nettest
