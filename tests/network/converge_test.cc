// A tracker and five real pbnode processes find each other through the
// tracker and converge: node1 (head) mines, node2 is a seed, nodes 3..5 are
// full nodes. All reach the same tip, the tracker lists all five with their
// roles, every node has a peer, and transactions cross the network both ways.
#include <map>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/network/net_harness.h"

namespace pbchain::nettest {
namespace {

constexpr absl::Duration kConverge = absl::Seconds(60);

TEST(ConvergeTest, FiveNodesThroughATrackerShareOneChain) {
  TestNet net("converge", GenesisConfig{.target_interval_ms = 200});
  ASSERT_TRUE(net.ok());
  TrackerProcess* tracker = net.StartTracker(
      "127.0.0.1:0", {"--heartbeat-interval=500ms", "--lease-ttl=5s"});
  ASSERT_NE(tracker, nullptr);

  std::vector<NodeProcess*> nodes;
  const std::vector<std::string> roles = {"head", "seed", "full", "full",
                                          "full"};
  for (int i = 0; i < 5; ++i) {
    NodeConfig config;
    config.role = roles[i];
    config.mine = i == 0;
    config.tracker = tracker->address();
    NodeProcess* n = net.StartNode(absl::StrCat("node", i + 1), config);
    ASSERT_NE(n, nullptr);
    nodes.push_back(n);
  }

  // 1. One chain everywhere, a few blocks high.
  std::optional<v1::GetInfoResponse> tip = WaitForSameTip(nodes, 5, kConverge);
  ASSERT_TRUE(tip.has_value());
  const std::string genesis = tip->genesis_hash();
  ASSERT_EQ(genesis.size(), 32u);

  // 2. The tracker lists all five, each with the role it announced.
  std::map<std::string, v1::PeerRole> want_roles;
  const std::vector<v1::PeerRole> proto_roles = {
      v1::PEER_ROLE_HEAD, v1::PEER_ROLE_SEED, v1::PEER_ROLE_FULL,
      v1::PEER_ROLE_FULL, v1::PEER_ROLE_FULL};
  for (int i = 0; i < 5; ++i) {
    absl::StatusOr<v1::GetInfoResponse> info = nodes[i]->Info();
    ASSERT_TRUE(info.ok()) << info.status();
    EXPECT_EQ(info->role(), proto_roles[i]) << nodes[i]->name();
    EXPECT_EQ(info->genesis_hash(), genesis) << nodes[i]->name();
    ASSERT_FALSE(info->node_id().empty()) << nodes[i]->name();
    want_roles[info->node_id()] = proto_roles[i];
  }
  ASSERT_EQ(want_roles.size(), 5u) << "node ids are not distinct";
  EXPECT_TRUE(WaitFor(
      [&](std::string& seen) {
        absl::StatusOr<v1::TrackerListPeersResponse> peers =
            tracker->Peers(genesis);
        if (!peers.ok()) {
          seen = peers.status().ToString();
          return false;
        }
        std::map<std::string, v1::PeerRole> got;
        for (const v1::PeerInfo& p : peers->peers()) {
          got[p.node_id()] = p.role();
          absl::StrAppend(&seen, p.node_id().substr(0, 8), "@", p.address(),
                          "/", v1::PeerRole_Name(p.role()), " ");
          EXPECT_EQ(p.genesis_hash(), genesis);
        }
        return got == want_roles;
      },
      absl::Seconds(20), "the tracker to list the 5 nodes with their roles"));
  // Its snapshot order: seeds first, then head, then full nodes.
  {
    absl::StatusOr<v1::TrackerListPeersResponse> peers =
        tracker->Peers(genesis);
    ASSERT_TRUE(peers.ok()) << peers.status();
    ASSERT_EQ(peers->peers_size(), 5);
    EXPECT_EQ(peers->peers(0).role(), v1::PEER_ROLE_SEED);
    EXPECT_EQ(peers->peers(1).role(), v1::PEER_ROLE_HEAD);
  }

  // 3. Every node has at least one gossip peer, and ListPeers agrees.
  EXPECT_TRUE(WaitFor(
      [&](std::string& seen) {
        bool all = true;
        for (NodeProcess* n : nodes) {
          absl::StatusOr<v1::GetInfoResponse> info = n->Info();
          absl::StatusOr<v1::ListPeersResponse> peers = n->Peers();
          if (!info.ok() || !peers.ok()) {
            absl::StrAppend(&seen, n->name(), ": error; ");
            all = false;
            continue;
          }
          absl::StrAppend(&seen, n->name(), " peer_count=", info->peer_count(),
                          " connected=", peers->connected_size(), "; ");
          if (info->peer_count() < 1 || peers->connected_size() < 1) {
            all = false;
          }
        }
        return all;
      },
      absl::Seconds(20), "every node to have a gossip peer"));
  // A connected peer is a real node of this network, shown with its role.
  for (NodeProcess* n : nodes) {
    absl::StatusOr<v1::ListPeersResponse> peers = n->Peers();
    ASSERT_TRUE(peers.ok()) << peers.status();
    for (const v1::ConnectedPeer& p : peers->connected()) {
      auto it = want_roles.find(p.info().node_id());
      ASSERT_NE(it, want_roles.end())
          << n->name() << " lists an unknown peer " << p.info().node_id();
      EXPECT_EQ(p.info().role(), it->second) << n->name();
      EXPECT_EQ(p.misbehavior_score(), 0) << n->name();
    }
  }

  // 4. A transaction submitted to node 1 is confirmed on node 5, and one
  //    submitted to node 5 (relayed to the miner) is confirmed on node 1.
  const Address payee = AddressFromPublicKey(net.funded_key(3).public_key());
  absl::StatusOr<std::string> tx1 =
      SubmitTransfer(*nodes[0], net.params(), net.funded_key(0), payee, 1234);
  ASSERT_TRUE(tx1.ok()) << tx1.status();
  absl::StatusOr<std::string> tx5 =
      SubmitTransfer(*nodes[4], net.params(), net.funded_key(1), payee, 4321);
  ASSERT_TRUE(tx5.ok()) << tx5.status();

  auto confirmed_on = [&](NodeProcess* n, const std::string& txid) {
    return WaitFor(
        [&](std::string& seen) {
          absl::StatusOr<v1::GetTransactionResponse> t = n->Transaction(txid);
          if (!t.ok()) {
            seen = t.status().ToString();
            return false;
          }
          seen = absl::StrCat("in_mempool=", t->in_mempool(),
                              " block_height=", t->block_height());
          return !t->in_mempool() && t->block_hash().size() == 32 &&
                 t->confirmations() >= 1;
        },
        kConverge,
        absl::StrCat(n->name(), " to confirm tx ",
                     DisplayHex(txid).substr(0, 16)));
  };
  EXPECT_TRUE(confirmed_on(nodes[4], *tx1));
  EXPECT_TRUE(confirmed_on(nodes[0], *tx5));
  // And the whole network agrees on the block that holds tx1.
  ASSERT_TRUE(WaitForSameTip(nodes, tip->height() + 1, kConverge).has_value());
  absl::StatusOr<v1::GetTransactionResponse> on5 = nodes[4]->Transaction(*tx1);
  absl::StatusOr<v1::GetTransactionResponse> on1 = nodes[0]->Transaction(*tx1);
  ASSERT_TRUE(on5.ok() && on1.ok());
  EXPECT_EQ(on5->block_hash(), on1->block_hash());
}

}  // namespace
}  // namespace pbchain::nettest
