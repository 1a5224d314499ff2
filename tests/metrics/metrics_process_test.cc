// pbnode and pbtracker with --metrics-listen, as real processes on
// loopback: /metrics is scraped over HTTP, parsed, and the required metric
// names are present with values that match what the network did (blocks
// mined and relayed, peers, tracker joins, gRPC calls). Bad
// --metrics-listen values and a port in use stop the binaries before they
// start anything.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "chain/params.h"
#include "gtest/gtest.h"
#include "tests/metrics/metrics_util.h"
#include "tests/network/net_harness.h"
#include "tests/util/process.h"

namespace pbchain::nettest {
namespace {

using metricstest::Find;
using metricstest::Sample;

// Every metric family docs/OPERATIONS.md promises for a node with peers
// (histograms by their _count sample).
const char* const kNodeMetrics[] = {
    "pbchain_build_info",
    "pbchain_chain_height",
    "pbchain_tip_age_seconds",
    "pbchain_chain_work",
    "pbchain_blocks_connected_total",
    "pbchain_blocks_disconnected_total",
    "pbchain_blocks_rejected_total",
    "pbchain_reorgs_total",
    "pbchain_reorg_depth_blocks_count",
    "pbchain_hash_rate_hashes_per_second",
    "pbchain_mining",
    "pbchain_blocks_mined_total",
    "pbchain_mempool_transactions",
    "pbchain_mempool_bytes",
    "pbchain_mempool_reorg_returned_transactions_total",
    "pbchain_store_size_bytes",
    "pbchain_store_condition",
    "pbchain_store_damaged_reads_total",
    "pbchain_store_damaged_blocks",
    "pbchain_backups_enabled",
    "pbchain_backups_total",
    "pbchain_backup_last_failed",
    "pbchain_peers",
    "pbchain_sync_active",
    "pbchain_sync_peer_best_height",
    "pbchain_misbehaviour_points_total",
    "pbchain_peer_bans_total",
    "pbchain_gossip_messages_total",
    "pbchain_gossip_bytes_total",
    "pbchain_rpc_duration_seconds_count",
};
const char* const kTrackerMetrics[] = {
    "pbtracker_build_info",
    "pbtracker_networks",
    "pbtracker_nodes",
    "pbtracker_joins_total",
    "pbtracker_joins_refused_total",
    "pbtracker_leaves_total",
    "pbtracker_expiries_total",
    "pbtracker_watchers",
    "pbtracker_rpc_duration_seconds_count",
};

std::vector<Sample> Scrape(const Process& p) {
  absl::StatusOr<metricstest::HttpResponse> r =
      metricstest::HttpGet(p.metrics_address(), "/metrics");
  EXPECT_TRUE(r.ok()) << p.name() << ": " << r.status();
  if (!r.ok()) return {};
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->headers.find("text/plain"), std::string::npos) << r->headers;
  absl::StatusOr<std::vector<Sample>> s = metricstest::ParseExposition(r->body);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *s : std::vector<Sample>{};
}

// The metric family names of an exposition with `prefix` (histogram
// samples by their family: _bucket, _count and _sum stripped).
std::set<std::string> Families(const std::string& address,
                               const std::string& prefix) {
  absl::StatusOr<metricstest::HttpResponse> r =
      metricstest::HttpGet(address, "/metrics");
  EXPECT_TRUE(r.ok()) << r.status();
  std::set<std::string> out;
  if (!r.ok()) return out;
  for (const auto& [name, type] : metricstest::Types(r->body)) {
    if (name.rfind(prefix, 0) == 0) out.insert(name);
  }
  return out;
}

// The metric names in docs/OPERATIONS.md's "Metrics" tables with `prefix`.
std::set<std::string> Documented(const std::string& prefix) {
  std::ifstream in(std::string(PBCHAIN_SOURCE_DIR) + "/docs/OPERATIONS.md");
  const std::string doc((std::istreambuf_iterator<char>(in)),
                        std::istreambuf_iterator<char>());
  EXPECT_FALSE(doc.empty());
  std::set<std::string> out;
  const std::regex row("\\n\\| `(" + prefix + "[a-z_]+)` \\|");
  for (std::sregex_iterator it(doc.begin(), doc.end(), row), end; it != end;
       ++it) {
    out.insert((*it)[1]);
  }
  return out;
}


TEST(MetricsProcessTest, NodesAndTrackerExportWhatTheyDo) {
  TestNet net("metrics_process", GenesisConfig{});
  ASSERT_TRUE(net.ok());
  TrackerProcess* tracker =
      net.StartTracker("127.0.0.1:0", {"--metrics-listen=127.0.0.1:0"});
  ASSERT_NE(tracker, nullptr);
  ASSERT_FALSE(tracker->metrics_address().empty());
  NodeConfig miner;
  miner.role = "head";
  miner.mine = true;
  miner.tracker = tracker->address();
  miner.metrics_listen = "127.0.0.1:0";
  NodeProcess* n1 = net.StartNode("n1", miner);
  ASSERT_NE(n1, nullptr);
  NodeConfig follower;
  follower.tracker = tracker->address();
  follower.peers = {n1->address()};
  follower.metrics_listen = "localhost:0";
  NodeProcess* n2 = net.StartNode("n2", follower);
  ASSERT_NE(n2, nullptr);
  EXPECT_EQ(n2->metrics_address().rfind("127.0.0.1:", 0), 0u)
      << n2->metrics_address();
  ASSERT_TRUE(WaitForSameTip({n1, n2}, 3, absl::Seconds(60)).has_value());

  // n2's height as its metrics say equals what GetInfo says once both
  // agree (the tip may move between two reads: poll).
  ASSERT_TRUE(WaitFor(
      [&](std::string& seen) {
        absl::StatusOr<v1::GetInfoResponse> info = n2->Info();
        if (!info.ok()) return false;
        std::optional<double> h = Find(Scrape(*n2), "pbchain_chain_height");
        seen =
            absl::StrCat("info ", info->height(), ", metric ", h.value_or(-1));
        return h.has_value() && *h == static_cast<double>(info->height()) &&
               *h >= 3;
      },
      absl::Seconds(30), "n2's height metric to match GetInfo"));

  for (NodeProcess* n : {n1, n2}) {
    SCOPED_TRACE(n->name());
    const std::vector<Sample> s = Scrape(*n);
    for (const char* name : kNodeMetrics) {
      EXPECT_TRUE(Find(s, name).has_value()) << name << " missing";
    }
    EXPECT_GE(*Find(s, "pbchain_chain_height"), 3);
    EXPECT_GE(*Find(s, "pbchain_blocks_connected_total"), 3);
    EXPECT_GT(*Find(s, "pbchain_store_size_bytes"), 0);
    EXPECT_EQ(Find(s, "pbchain_store_condition", {{"condition", "writable"}}),
              1);
    EXPECT_EQ(*Find(s, "pbchain_peers", {{"direction", "inbound"}}) +
                  *Find(s, "pbchain_peers", {{"direction", "outbound"}}),
              1);
  }
  const std::vector<Sample> s1 = Scrape(*n1);
  EXPECT_GE(*Find(s1, "pbchain_blocks_mined_total"), 3);
  EXPECT_GE(*Find(s1, "pbchain_gossip_messages_total",
                  {{"kind", "hello"}, {"direction", "sent"}}),
            1);
  const std::vector<Sample> s2 = Scrape(*n2);
  EXPECT_EQ(*Find(s2, "pbchain_blocks_mined_total"), 0);
  EXPECT_EQ(*Find(s2, "pbchain_hash_rate_hashes_per_second"), 0);
  // One link between them: whoever dialed it, both ends agree.
  EXPECT_EQ(Find(s2, "pbchain_peers", {{"direction", "outbound"}}),
            Find(s1, "pbchain_peers", {{"direction", "inbound"}}));
  // n2 got its blocks from n1 by gossip (relay or sync).
  EXPECT_GE(*Find(s2, "pbchain_gossip_messages_total",
                  {{"kind", "block"}, {"direction", "received"}}),
            1);
  EXPECT_GT(*Find(s2, "pbchain_gossip_bytes_total",
                  {{"kind", "block"}, {"direction", "received"}}),
            0);

  // gRPC calls by method and code: the GetInfo calls made above.
  const double before =
      Find(Scrape(*n2), "pbchain_rpc_duration_seconds_count",
           {{"method", "pbchain.v1.NodeService/GetInfo"}, {"code", "OK"}})
          .value_or(0);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(n2->Info().ok());
  EXPECT_EQ(
      Find(Scrape(*n2), "pbchain_rpc_duration_seconds_count",
           {{"method", "pbchain.v1.NodeService/GetInfo"}, {"code", "OK"}}),
      before + 3);
  absl::StatusOr<v1::GetBlockResponse> missing = n2->BlockAt(1'000'000);
  ASSERT_FALSE(missing.ok());
  EXPECT_GE(*Find(Scrape(*n2), "pbchain_rpc_duration_seconds_count",
                  {{"method", "pbchain.v1.NodeService/GetBlock"},
                   {"code", "NOT_FOUND"}}),
            1);

  // The tracker: both nodes in this network, their joins and heartbeats.
  const std::string network =
      MakeGenesisBlock(net.params()).Hash().ToDisplayHex();
  const std::vector<Sample> t = Scrape(*tracker);
  for (const char* name : kTrackerMetrics) {
    EXPECT_TRUE(Find(t, name).has_value()) << name << " missing";
  }
  EXPECT_EQ(Find(t, "pbtracker_nodes", {{"network", network}}), 2);
  EXPECT_EQ(Find(t, "pbtracker_networks"), 1);
  EXPECT_GE(*Find(t, "pbtracker_joins_total"), 2);
  EXPECT_GE(*Find(t, "pbtracker_rpc_duration_seconds_count",
                  {{"method", "pbchain.v1.Tracker/Join"}, {"code", "OK"}}),
            2);

  // docs/OPERATIONS.md lists exactly what the binaries export.
  EXPECT_EQ(Families(n1->metrics_address(), "pbchain_"),
            Documented("pbchain_"));
  EXPECT_EQ(Families(tracker->metrics_address(), "pbtracker_"),
            Documented("pbtracker_"));

  // A node that leaves is counted and gone from its network.
  EXPECT_EQ(n2->Stop(), 0);
  ASSERT_TRUE(WaitFor(
      [&](std::string& seen) {
        const std::vector<Sample> now = Scrape(*tracker);
        std::optional<double> nodes =
            Find(now, "pbtracker_nodes", {{"network", network}});
        std::optional<double> leaves = Find(now, "pbtracker_leaves_total");
        seen = absl::StrCat("nodes ", nodes.value_or(-1), ", leaves ",
                            leaves.value_or(-1));
        return nodes == 1 && leaves >= 1;
      },
      absl::Seconds(20), "the tracker to count n2's leave"));
}

TEST(MetricsProcessTest, BadMetricsAddressesStopTheBinariesFirst) {
  TestNet net("metrics_flags", GenesisConfig{});
  ASSERT_TRUE(net.ok());
  const std::string pbnode = BinaryPath("pbnode");
  const std::string pbtracker = BinaryPath("pbtracker");
  const std::string datadir = net.Sub("never");
  const std::string node_args =
      absl::StrCat(" --genesis=", net.genesis_path(), " --datadir=", datadir);
  int code = 0;
  for (const std::string bad :
       {"nohost", "example.com:9100", "127.0.0.1:99999"}) {
    std::string out = testing::RunShellCommand(
        absl::StrCat(pbnode, node_args, " --metrics-listen=", bad), &code);
    EXPECT_EQ(code, 2) << out;
    EXPECT_NE(out.find("--metrics_listen"), std::string::npos) << out;
    EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
    out = testing::RunShellCommand(absl::StrCat(pbtracker, " --listen=127.0.0.1:0",
                                  " --metrics-listen=", bad),
                     &code);
    EXPECT_EQ(code, 2) << out;
    EXPECT_NE(out.find("--metrics_listen"), std::string::npos) << out;
  }
  // A port in use: exit 1 with one line, before the datadir is made.
  TrackerProcess* tracker =
      net.StartTracker("127.0.0.1:0", {"--metrics-listen=127.0.0.1:0"});
  ASSERT_NE(tracker, nullptr);
  std::string out =
      testing::RunShellCommand(absl::StrCat(pbnode, node_args,
                              " --metrics-listen=", tracker->metrics_address()),
                 &code);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find(tracker->metrics_address()), std::string::npos) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1) << out;
  EXPECT_FALSE(std::filesystem::exists(datadir));
  out =
      testing::RunShellCommand(absl::StrCat(pbtracker, " --listen=127.0.0.1:0",
                              " --metrics-listen=", tracker->metrics_address()),
                 &code);
  EXPECT_EQ(code, 1) << out;
}

}  // namespace
}  // namespace pbchain::nettest
