// A real Prometheus server scraping a devnet of real processes: a tracker
// and three pbnodes (one mining), each with --metrics-listen. A PromQL
// query through Prometheus' HTTP API (/api/v1/query) must return every
// node's height (and the tracker's count of them), matching what the
// nodes say over gRPC. Prometheus runs with a temp TSDB on a free loopback
// port, a 1 s scrape interval, and is stopped and removed at the end, also
// on failure (PrometheusServer, TestNet).
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "chain/params.h"
#include "gtest/gtest.h"
#include "tests/metrics/prometheus_server.h"
#include "tests/network/net_harness.h"

namespace pbchain::nettest {
namespace {

using metricstest::PrometheusServer;

std::string Describe(const std::vector<PrometheusServer::Series>& series) {
  std::vector<std::string> parts;
  for (const PrometheusServer::Series& s : series) {
    parts.push_back(
        absl::StrCat(s.labels.count("instance") ? s.labels.at("instance") : "?",
                     "=", s.value));
  }
  return absl::StrJoin(parts, ", ");
}

TEST(PrometheusTest, ScrapesEveryNodesHeightFromADevnet) {
  TestNet net("prometheus", GenesisConfig{});
  ASSERT_TRUE(net.ok());
  TrackerProcess* tracker =
      net.StartTracker("127.0.0.1:0", {"--metrics-listen=127.0.0.1:0"});
  ASSERT_NE(tracker, nullptr);
  std::vector<NodeProcess*> nodes;
  for (int i = 1; i <= 3; ++i) {
    NodeConfig config;
    config.role = i == 1 ? "head" : "full";
    config.mine = i == 1;
    config.tracker = tracker->address();
    config.metrics_listen = "127.0.0.1:0";
    NodeProcess* n = net.StartNode(absl::StrCat("n", i), config);
    ASSERT_NE(n, nullptr);
    nodes.push_back(n);
  }
  std::set<std::string> node_targets;
  for (NodeProcess* n : nodes) node_targets.insert(n->metrics_address());

  absl::StatusOr<std::unique_ptr<PrometheusServer>> prometheus =
      PrometheusServer::Start(
          net.Sub("prometheus"),
          {{"pbnode", {node_targets.begin(), node_targets.end()}},
           {"pbtracker", {tracker->metrics_address()}}});
  ASSERT_TRUE(prometheus.ok()) << prometheus.status();

  ASSERT_TRUE(WaitForSameTip(nodes, 3, absl::Seconds(90)).has_value());
  // Prometheus has every node's height: one series per node, each at least
  // 3 once it has scraped them after the wait above.
  std::vector<PrometheusServer::Series> heights;
  ASSERT_TRUE(WaitFor(
      [&](std::string& seen) {
        absl::StatusOr<std::vector<PrometheusServer::Series>> r =
            (*prometheus)->Query("pbchain_chain_height{job=\"pbnode\"}");
        if (!r.ok()) {
          seen = std::string(r.status().message());
          return false;
        }
        heights = *r;
        seen = Describe(heights);
        std::set<std::string> instances;
        for (const PrometheusServer::Series& s : heights) {
          if (s.value < 3) return false;
          instances.insert(s.labels.at("instance"));
        }
        return instances == node_targets;
      },
      absl::Seconds(60), "Prometheus to report every node's height >= 3"));
  ASSERT_EQ(heights.size(), 3u);
  // The heights Prometheus holds are heights the nodes had: at most their
  // current ones.
  for (NodeProcess* n : nodes) {
    absl::StatusOr<v1::GetInfoResponse> info = n->Info();
    ASSERT_TRUE(info.ok()) << info.status();
    for (const PrometheusServer::Series& s : heights) {
      if (s.labels.at("instance") == n->metrics_address()) {
        EXPECT_LE(s.value, static_cast<double>(info->height())) << n->name();
      }
    }
  }

  // Every target is up, and the tracker's view agrees: three nodes in
  // this network.
  const std::string network =
      MakeGenesisBlock(net.params()).Hash().ToDisplayHex();
  ASSERT_TRUE(WaitFor(
      [&](std::string& seen) {
        absl::StatusOr<std::vector<PrometheusServer::Series>> up =
            (*prometheus)->Query("sum(up)");
        absl::StatusOr<std::vector<PrometheusServer::Series>> tracked =
            (*prometheus)
                ->Query(
                    absl::StrCat("pbtracker_nodes{network=\"", network, "\"}"));
        if (!up.ok() || !tracked.ok()) return false;
        seen = absl::StrCat("up: ", Describe(*up),
                            "; tracker: ", Describe(*tracked));
        return up->size() == 1 && (*up)[0].value == 4 && tracked->size() == 1 &&
               (*tracked)[0].value == 3;
      },
      absl::Seconds(30), "4 targets up and the tracker counting 3 nodes"));

  // A query over the RPC histogram works too (the harness' GetInfo calls).
  absl::StatusOr<std::vector<PrometheusServer::Series>> calls =
      (*prometheus)
          ->Query(
              "sum by (instance) (pbchain_rpc_duration_seconds_count{method="
              "\"pbchain.v1.NodeService/GetInfo\"})");
  ASSERT_TRUE(calls.ok()) << calls.status();
  EXPECT_EQ(calls->size(), 3u) << Describe(*calls);
}

}  // namespace
}  // namespace pbchain::nettest
