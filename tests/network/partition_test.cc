// A network split in two and healed. Groups A = {a1, a2} and B = {b1, b2}
// are linked inside each group with --connect-only --peer, and by ONE cross
// link a2 -> b1 that runs through a TCP proxy the test controls. While cut,
// A mines continuously and B mines only on demand (one block, with a
// transaction A never sees); after healing, all four nodes end on A's chain
// (more work), and B's transaction is not lost: it is back in a mempool or
// confirmed again in another block of the winning chain.
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/network/net_harness.h"
#include "tests/network/tcp_proxy.h"

namespace pbchain::nettest {
namespace {

constexpr absl::Duration kWait = absl::Seconds(60);

// True if `node` lists a connected peer with this node id.
bool ConnectedTo(NodeProcess& node, const std::string& node_id,
                 std::string& seen) {
  absl::StatusOr<v1::ListPeersResponse> peers = node.Peers();
  if (!peers.ok()) {
    absl::StrAppend(&seen, node.name(), ": ", peers.status().ToString(), "; ");
    return false;
  }
  absl::StrAppend(&seen, node.name(), " connected to");
  for (const v1::ConnectedPeer& p : peers->connected()) {
    absl::StrAppend(&seen, " ", p.info().node_id().substr(0, 8));
  }
  absl::StrAppend(&seen, "; ");
  return FindConnected(*peers, node_id) != nullptr;
}

TEST(PartitionTest, HealedNetworkFollowsTheChainWithMoreWork) {
  TestNet net("partition", GenesisConfig{.target_interval_ms = 200});
  ASSERT_TRUE(net.ok());

  // --connect-only nodes need a --peer each, so a2 and b2 get their ports
  // first: a1 and a2 dial each other, so do b1 and b2 (duplicate links are
  // the nodes' business), and a2 also dials the proxy in front of b1.
  const uint16_t a2_port = ReserveLoopbackPort();
  const uint16_t b2_port = ReserveLoopbackPort();
  ASSERT_NE(a2_port, 0);
  ASSERT_NE(b2_port, 0);
  const std::string a2_address = absl::StrCat("127.0.0.1:", a2_port);
  const std::string b2_address = absl::StrCat("127.0.0.1:", b2_port);

  NodeConfig a1_config;
  a1_config.mine = true;
  a1_config.connect_only = true;
  a1_config.peers = {a2_address};
  NodeProcess* a1 = net.StartNode("a1", a1_config);
  ASSERT_NE(a1, nullptr);
  NodeConfig b1_config;
  b1_config.mine_on_demand = true;
  b1_config.connect_only = true;
  b1_config.peers = {b2_address};
  NodeProcess* b1 = net.StartNode("b1", b1_config);
  ASSERT_NE(b1, nullptr);

  std::unique_ptr<TcpProxy> proxy = TcpProxy::Start(PortOf(b1->address()));
  ASSERT_NE(proxy, nullptr);
  NodeConfig a2_config;
  a2_config.listen = a2_address;
  a2_config.connect_only = true;
  a2_config.peers = {a1->address(), proxy->address()};
  NodeProcess* a2 = net.StartNode("a2", a2_config);
  ASSERT_NE(a2, nullptr);
  NodeConfig b2_config;
  b2_config.listen = b2_address;
  b2_config.connect_only = true;
  b2_config.peers = {b1->address()};
  NodeProcess* b2 = net.StartNode("b2", b2_config);
  ASSERT_NE(b2, nullptr);
  const std::vector<NodeProcess*> all = {a1, a2, b1, b2};

  // 1. Linked: one chain, and the cross link really runs through the proxy.
  ASSERT_TRUE(WaitForSameTip(all, 3, kWait).has_value());
  EXPECT_GE(proxy->relayed_connections(), 1);
  absl::StatusOr<v1::GetInfoResponse> a2_info = a2->Info();
  absl::StatusOr<v1::GetInfoResponse> b1_info = b1->Info();
  ASSERT_TRUE(a2_info.ok() && b1_info.ok());
  const std::string a2_id = a2_info->node_id();
  const std::string b1_id = b1_info->node_id();
  ASSERT_TRUE(WaitFor(
      [&](std::string& seen) {
        return ConnectedTo(*b1, a2_id, seen) && ConnectedTo(*a2, b1_id, seen);
      },
      absl::Seconds(20), "a2 and b1 to be linked through the proxy"));

  // 2. Cut: both ends notice the link is gone.
  proxy->Cut();
  ASSERT_TRUE(WaitFor(
      [&](std::string& seen) {
        return !ConnectedTo(*b1, a2_id, seen) && !ConnectedTo(*a2, b1_id, seen);
      },
      absl::Seconds(30), "a2 and b1 to drop the cut link"));

  // 3. B confirms a transaction in its own one-block branch; A never sees it.
  const Address payee = AddressFromPublicKey(net.funded_key(3).public_key());
  absl::StatusOr<std::string> txid =
      SubmitTransfer(*b1, net.params(), net.funded_key(2), payee, 777);
  ASSERT_TRUE(txid.ok()) << txid.status();
  std::string b_block;  // B's block holding the transaction
  ASSERT_TRUE(WaitFor(
      [&](std::string& seen) {
        absl::StatusOr<v1::GetTransactionResponse> t = b1->Transaction(*txid);
        if (!t.ok()) {
          seen = t.status().ToString();
          return false;
        }
        seen = absl::StrCat("in_mempool=", t->in_mempool());
        b_block = t->block_hash();
        return !t->in_mempool() && b_block.size() == 32;
      },
      kWait, "b1 to mine the transaction"));
  ASSERT_TRUE(WaitFor(
      [&](std::string& seen) {
        absl::StatusOr<v1::GetTransactionResponse> t = b2->Transaction(*txid);
        seen = t.ok() ? DisplayHex(t->block_hash()) : t.status().ToString();
        return t.ok() && t->block_hash() == b_block;
      },
      absl::Seconds(30), "b2 to receive B's block"));
  for (NodeProcess* a : {a1, a2}) {
    absl::StatusOr<v1::GetTransactionResponse> t = a->Transaction(*txid);
    EXPECT_EQ(t.status().code(), absl::StatusCode::kNotFound)
        << a->name() << " knows B's transaction across the cut: "
        << (t.ok() ? DisplayHex(t->block_hash()) : t.status().ToString());
  }

  // A outgrows B (B mines nothing more: its mempool is empty).
  absl::StatusOr<v1::GetInfoResponse> b_tip = b1->Info();
  ASSERT_TRUE(b_tip.ok()) << b_tip.status();
  EXPECT_EQ(b_tip->tip_hash(), b_block) << "B mined past its one block";
  v1::GetInfoResponse a_tip;
  ASSERT_TRUE(WaitFor(
      [&](std::string& seen) {
        absl::StatusOr<v1::GetInfoResponse> a = a1->Info();
        if (!a.ok()) return false;
        a_tip = *a;
        seen = absl::StrCat("A h=", a->height(), " work=", a->chain_work(),
                            "; B h=", b_tip->height(),
                            " work=", b_tip->chain_work());
        return a->height() >= b_tip->height() + 3 &&
               CompareDecimal(a->chain_work(), b_tip->chain_work()) > 0;
      },
      kWait, "A to have clearly more work than B"));
  // Still cut: B has not moved to A's chain.
  {
    absl::StatusOr<v1::GetInfoResponse> b = b2->Info();
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b->tip_hash(), b_block) << "B's tip moved while cut";
  }

  // 4. Heal: everyone ends on A's chain.
  const int relayed_before_heal = proxy->relayed_connections();
  proxy->Heal();
  std::optional<v1::GetInfoResponse> final_tip =
      WaitForSameTip(all, a_tip.height(), absl::Seconds(90));
  ASSERT_TRUE(final_tip.has_value());
  EXPECT_GT(proxy->relayed_connections(), relayed_before_heal)
      << "the nodes converged without the healed link?";
  EXPECT_GE(CompareDecimal(final_tip->chain_work(), a_tip.chain_work()), 0);
  for (NodeProcess* n : all) {
    absl::StatusOr<v1::GetBlockResponse> a_block =
        n->BlockByHash(a_tip.tip_hash());
    ASSERT_TRUE(a_block.ok()) << n->name() << ": " << a_block.status();
    EXPECT_TRUE(a_block->in_main_chain())
        << n->name() << ": A's tip from before the heal is not active";
  }
  absl::StatusOr<v1::GetBlockResponse> old_b = b1->BlockByHash(b_block);
  ASSERT_TRUE(old_b.ok()) << old_b.status();
  EXPECT_FALSE(old_b->in_main_chain()) << "B's block is still active on b1";

  // 5. B's transaction survived the reorg: pooled again, or confirmed in a
  //    block of the winning chain other than B's old one.
  EXPECT_TRUE(WaitFor(
      [&](std::string& seen) {
        for (NodeProcess* n : all) {
          absl::StatusOr<v1::GetTransactionResponse> t = n->Transaction(*txid);
          if (!t.ok()) {
            absl::StrAppend(&seen, n->name(), ": ", t.status().ToString(),
                            "; ");
            continue;
          }
          absl::StrAppend(&seen, n->name(), ": in_mempool=", t->in_mempool(),
                          " block=", DisplayHex(t->block_hash()).substr(0, 16),
                          "; ");
          if (t->in_mempool()) return true;
          if (t->block_hash().size() == 32 && t->block_hash() != b_block) {
            return true;
          }
        }
        return false;
      },
      kWait, "B's transaction back in a mempool or in another active block"));
}

}  // namespace
}  // namespace pbchain::nettest
