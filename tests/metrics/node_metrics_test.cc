// NodeMetrics (node/metrics) on a real Node (RocksDB in a temp dir) and its
// Network, peers played through fake gossip streams (tests/p2p harness):
// the exposition prometheus-cpp writes for it is parsed back, and values
// follow what the node does (blocks, rejects, reorgs, peers, gossip,
// misbehaviour and bans).
#include "node/metrics/node_metrics.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chain/validation.h"
#include "gtest/gtest.h"
#include "prometheus/text_serializer.h"
#include "tests/metrics/metrics_util.h"
#include "tests/p2p/p2p_harness.h"

namespace pbchain::p2ptest {
namespace {

using metricstest::Find;
using metricstest::Sample;

class NodeMetricsTest : public P2pTest {
 protected:
  // One scrape: Collect, serialized as Prometheus would read it, parsed.
  std::vector<Sample> Scrape() {
    NodeMetrics metrics(&node(), &network());
    text_ = prometheus::TextSerializer().Serialize(metrics.Collect());
    absl::StatusOr<std::vector<Sample>> samples =
        metricstest::ParseExposition(text_);
    EXPECT_TRUE(samples.ok()) << samples.status();
    return samples.ok() ? *samples : std::vector<Sample>{};
  }
  double Value(const std::string& name,
               const std::map<std::string, std::string>& labels = {}) {
    std::optional<double> v = Find(Scrape(), name, labels);
    EXPECT_TRUE(v.has_value()) << name << " missing in:\n" << text_;
    return v.value_or(-1);
  }
  std::string text_;
};

TEST_F(NodeMetricsTest, ChainMetricsFollowNewBlocks) {
  std::vector<Sample> before = Scrape();
  EXPECT_EQ(Find(before, "pbchain_chain_height"), 0);
  EXPECT_EQ(Find(before, "pbchain_blocks_connected_total"), 0);
  const double work_before = *Find(before, "pbchain_chain_work");
  EXPECT_GT(work_before, 0);
  Extend();
  Extend();
  std::vector<Sample> after = Scrape();
  EXPECT_EQ(Find(after, "pbchain_chain_height"), 2);
  EXPECT_EQ(Find(after, "pbchain_blocks_connected_total"), 2);
  EXPECT_GT(*Find(after, "pbchain_chain_work"), work_before);
  EXPECT_GT(*Find(after, "pbchain_store_size_bytes"), 0);
  EXPECT_EQ(Find(after, "pbchain_store_condition", {{"condition", "writable"}}),
            1);
  EXPECT_EQ(Find(after, "pbchain_store_condition", {{"condition", "failed"}}),
            0);
  EXPECT_EQ(Find(after, "pbchain_reorgs_total"), 0);
  // The test blocks carry the harness's genesis-based times: the age is
  // a number of seconds, not NaN.
  const std::optional<double> age = Find(after, "pbchain_tip_age_seconds");
  ASSERT_TRUE(age.has_value());
  EXPECT_EQ(*age, *age);
  const std::map<std::string, std::string> types = metricstest::Types(text_);
  EXPECT_EQ(types.at("pbchain_chain_height"), "gauge");
  EXPECT_EQ(types.at("pbchain_blocks_connected_total"), "counter");
  EXPECT_EQ(types.at("pbchain_reorg_depth_blocks"), "histogram");
}

TEST_F(NodeMetricsTest, RejectedBlocksAreCountedByReason) {
  const std::string merkle(RejectReasonName(RejectReason::kBlockBadMerkleRoot));
  const std::string pow(RejectReasonName(RejectReason::kHeaderBadPow));
  EXPECT_EQ(Value("pbchain_blocks_rejected_total", {{"reason", merkle}}), 0);
  Block bad = BlockOn(chain().Tip().hash);
  bad.header.merkle_root.bytes[0] ^= 0xff;
  Solve(bad.header);
  absl::StatusOr<AcceptResult> r = node().SubmitBlock(bad);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->status, AcceptStatus::kInvalid);
  std::vector<Sample> s = Scrape();
  EXPECT_EQ(Find(s, "pbchain_blocks_rejected_total", {{"reason", merkle}}), 1);
  EXPECT_EQ(Find(s, "pbchain_blocks_rejected_total", {{"reason", pow}}), 0);
  EXPECT_EQ(Find(s, "pbchain_blocks_connected_total"), 0);
  // Every reason has its series (rate() works from the first scrape).
  int reasons = 0;
  for (const Sample& sample : s) {
    reasons += sample.name == "pbchain_blocks_rejected_total";
  }
  EXPECT_EQ(reasons, static_cast<int>(kRejectReasonCount) - 1);
}

TEST_F(NodeMetricsTest, ReorgsAreCountedWithTheirDepth) {
  const Block a1 = Extend();
  const Hash256 genesis = a1.header.prev_hash;
  // A competing branch from genesis: equal work first (a1 stays), then
  // more work (one block of a1 undone).
  Block b1 = BlockOn(genesis, {}, /*extra=*/1);
  ASSERT_TRUE(node().SubmitBlock(b1).ok());
  ASSERT_EQ(chain().Tip().hash, a1.Hash());
  Block b2 = BlockOn(b1.Hash());
  absl::StatusOr<AcceptResult> r = node().SubmitBlock(b2);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->disconnected.size(), 1u);
  std::vector<Sample> s = Scrape();
  EXPECT_EQ(Find(s, "pbchain_reorgs_total"), 1);
  EXPECT_EQ(Find(s, "pbchain_blocks_disconnected_total"), 1);
  EXPECT_EQ(Find(s, "pbchain_blocks_connected_total"), 3);  // a1, b1, b2
  EXPECT_EQ(Find(s, "pbchain_reorg_depth_blocks_count"), 1);
  EXPECT_EQ(Find(s, "pbchain_reorg_depth_blocks_sum"), 1);
  EXPECT_EQ(Find(s, "pbchain_reorg_depth_blocks_bucket", {{"le", "1"}}), 1);
  EXPECT_EQ(Find(s, "pbchain_reorg_depth_blocks_bucket", {{"le", "+Inf"}}), 1);
  EXPECT_EQ(Find(s, "pbchain_chain_height"), 2);
}

TEST_F(NodeMetricsTest, PeersGossipMisbehaviourAndBans) {
  EXPECT_EQ(Value("pbchain_peers", {{"direction", "inbound"}}), 0);
  std::unique_ptr<InboundPeer> peer = Greeted("metrics-peer");
  std::vector<Sample> s = Scrape();
  EXPECT_EQ(Find(s, "pbchain_peers", {{"direction", "inbound"}}), 1);
  EXPECT_EQ(Find(s, "pbchain_peers", {{"direction", "outbound"}}), 0);
  EXPECT_GE(*Find(s, "pbchain_gossip_messages_total",
                  {{"kind", "hello"}, {"direction", "received"}}),
            1);
  EXPECT_GT(*Find(s, "pbchain_gossip_bytes_total",
                  {{"kind", "hello"}, {"direction", "received"}}),
            0);
  // Our Hello went out (the harness waits for it before Greeted returns).
  EXPECT_TRUE(WaitUntil([&] {
    return Find(Scrape(), "pbchain_gossip_messages_total",
                {{"kind", "hello"}, {"direction", "sent"}})
               .value_or(0) >= 1;
  }));
  EXPECT_EQ(Find(s, "pbchain_misbehaviour_points_total"), 0);
  EXPECT_EQ(Find(s, "pbchain_peer_bans_total"), 0);

  // A hash of the wrong size: 20 points, no ban.
  Envelope inv;
  inv.mutable_inventory()->add_block_hashes(std::string(31, '\x01'));
  ASSERT_TRUE((*peer)->Send(inv));
  ASSERT_TRUE((*peer)->Sync());
  s = Scrape();
  EXPECT_EQ(Find(s, "pbchain_misbehaviour_points_total"), 20);
  EXPECT_EQ(Find(s, "pbchain_peer_bans_total"), 0);
  EXPECT_GE(*Find(s, "pbchain_gossip_messages_total",
                  {{"kind", "inventory"}, {"direction", "received"}}),
            1);

  // An invalid block: 100 points, a ban, and a rejected block.
  Block bad = BlockOn(chain().Tip().hash);
  bad.header.merkle_root.bytes[0] ^= 0xff;
  Solve(bad.header);
  ASSERT_TRUE((*peer)->Send(BlockEnvelope(bad)));
  ASSERT_TRUE((*peer)->WaitForReject(v1::REJECT_CODE_BANNED).has_value())
      << (*peer)->Summary();
  EXPECT_TRUE(WaitUntil([&] {
    return Find(Scrape(), "pbchain_peers", {{"direction", "inbound"}}) == 0;
  }));
  s = Scrape();
  EXPECT_EQ(Find(s, "pbchain_peer_bans_total"), 1);
  EXPECT_EQ(Find(s, "pbchain_misbehaviour_points_total"), 120);
  EXPECT_EQ(Find(s, "pbchain_blocks_rejected_total",
                 {{"reason", std::string(RejectReasonName(
                                 RejectReason::kBlockBadMerkleRoot))}}),
            1);
  EXPECT_GE(*Find(s, "pbchain_gossip_messages_total",
                  {{"kind", "reject"}, {"direction", "sent"}}),
            1);
}

TEST_F(NodeMetricsTest, SyncPeerBestHeightFollowsHellos) {
  EXPECT_EQ(Value("pbchain_sync_peer_best_height"), 0);
  EXPECT_EQ(Value("pbchain_sync_active"), 0);
  v1::Hello hello = HonestHello("tall-peer");
  hello.set_height(7);
  std::unique_ptr<InboundPeer> peer = Greeted(hello);
  EXPECT_EQ(Value("pbchain_sync_peer_best_height"), 7);
  peer.reset();  // hangs up: its height is forgotten
  EXPECT_TRUE(WaitUntil(
      [&] { return Find(Scrape(), "pbchain_sync_peer_best_height") == 0; }));
}

// A node of its own (in dir_/backed) with periodic backups every 50 ms.
TEST_F(NodeMetricsTest, BackupsAreCounted) {
  NodeOptions options;
  options.datadir = dir_ + "/backed";
  options.params = params();
  options.backup_dir = dir_ + "/backups";
  options.backup_interval = absl::Milliseconds(50);
  options.backup_keep = 2;
  absl::StatusOr<std::unique_ptr<Node>> backed = Node::Create(options);
  ASSERT_TRUE(backed.ok()) << backed.status();
  NodeMetrics metrics(backed->get(), nullptr);
  auto scrape = [&] {
    absl::StatusOr<std::vector<Sample>> s = metricstest::ParseExposition(
        prometheus::TextSerializer().Serialize(metrics.Collect()));
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *s : std::vector<Sample>{};
  };
  EXPECT_EQ(Find(scrape(), "pbchain_backups_enabled"), 1);
  EXPECT_TRUE(WaitUntil([&] {
    return Find(scrape(), "pbchain_backups_total").value_or(0) >= 2;
  }));
  EXPECT_EQ(Find(scrape(), "pbchain_backup_last_failed"), 0);
  // The test fixture's node has none.
  EXPECT_EQ(Value("pbchain_backups_enabled"), 0);
  EXPECT_EQ(Value("pbchain_backups_total"), 0);
}

TEST_F(NodeMetricsTest, WithoutANetworkThePeerMetricsAreLeftOut) {
  NodeMetrics metrics(&node(), nullptr);
  const std::string text =
      prometheus::TextSerializer().Serialize(metrics.Collect());
  absl::StatusOr<std::vector<Sample>> s = metricstest::ParseExposition(text);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(Find(*s, "pbchain_chain_height").has_value());
  EXPECT_FALSE(Find(*s, "pbchain_peers").has_value());
  EXPECT_FALSE(Find(*s, "pbchain_gossip_messages_total").has_value());
}

}  // namespace
}  // namespace pbchain::p2ptest
