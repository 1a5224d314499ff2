// TrackerMetrics (tracker/tracker_metrics.h) on a Registry with a fake
// clock: the exposition prometheus-cpp writes for it, parsed back, follows
// joins, refused joins, leaves, expiries and watchers, per network.
#include "tracker/tracker_metrics.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "prometheus/text_serializer.h"
#include "tests/metrics/metrics_util.h"

namespace pbchain::tracker {
namespace {

using metricstest::Find;
using metricstest::Sample;

const std::string kGenesisA(32, 'A');
std::string GenesisB() {
  std::string g(32, 'B');
  g[0] = '\x01';  // display hex is byte-reversed: ...01 at the end
  return g;
}

JoinInput Node(const std::string& id, const std::string& address,
               const std::string& genesis) {
  JoinInput input;
  input.node_id = id;
  input.address = address;
  input.genesis_hash = genesis;
  input.height = 1;
  input.tip_hash = std::string(32, 't');
  return input;
}

class TrackerMetricsTest : public ::testing::Test {
 protected:
  TrackerMetricsTest() {
    RegistryOptions options;
    options.clock = [this] { return now_; };
    options.max_peers_per_network = 2;
    registry_ = std::make_unique<Registry>(options);
  }
  std::vector<Sample> Scrape() {
    TrackerMetrics metrics(registry_.get());
    text_ = prometheus::TextSerializer().Serialize(metrics.Collect());
    absl::StatusOr<std::vector<Sample>> s = metricstest::ParseExposition(text_);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *s : std::vector<Sample>{};
  }

  absl::Time now_ = absl::FromUnixSeconds(1'700'000'000);
  std::unique_ptr<Registry> registry_;
  std::string text_;
};

TEST_F(TrackerMetricsTest, NetworkLabelIsDisplayHex) {
  std::string want;
  for (int i = 0; i < 31; ++i) want += "42";
  EXPECT_EQ(NetworkLabel(GenesisB()), want + "01");
  EXPECT_EQ(NetworkLabel(std::string("\x01\x02", 2)), "0201");
}

TEST_F(TrackerMetricsTest, CountsFollowTheRegistry) {
  const std::string a = NetworkLabel(kGenesisA);
  const std::string b = NetworkLabel(GenesisB());
  std::vector<Sample> s = Scrape();
  EXPECT_EQ(Find(s, "pbtracker_networks"), 0);
  EXPECT_FALSE(Find(s, "pbtracker_nodes").has_value());
  EXPECT_EQ(Find(s, "pbtracker_joins_total"), 0);

  absl::StatusOr<Lease> a1 =
      registry_->Join(Node("a1", "127.0.0.1:7001", kGenesisA));
  ASSERT_TRUE(a1.ok()) << a1.status();
  ASSERT_TRUE(registry_->Join(Node("a2", "127.0.0.1:7002", kGenesisA)).ok());
  ASSERT_TRUE(registry_->Join(Node("b1", "127.0.0.1:7003", GenesisB())).ok());
  // Network A is full (max 2): refused by the registry.
  EXPECT_FALSE(registry_->Join(Node("a3", "127.0.0.1:7004", kGenesisA)).ok());
  // Malformed: refused before the registry counts anything.
  EXPECT_FALSE(registry_->Join(Node("", "127.0.0.1:7005", kGenesisA)).ok());
  absl::StatusOr<std::shared_ptr<Watcher>> watcher =
      registry_->Watch(kGenesisA, "", [] {});
  ASSERT_TRUE(watcher.ok()) << watcher.status();

  s = Scrape();
  EXPECT_EQ(Find(s, "pbtracker_networks"), 2);
  EXPECT_EQ(Find(s, "pbtracker_nodes", {{"network", a}}), 2);
  EXPECT_EQ(Find(s, "pbtracker_nodes", {{"network", b}}), 1);
  EXPECT_EQ(Find(s, "pbtracker_joins_total"), 3);
  EXPECT_EQ(Find(s, "pbtracker_joins_refused_total"), 1);
  EXPECT_EQ(Find(s, "pbtracker_watchers"), 1);
  EXPECT_EQ(Find(s, "pbtracker_leaves_total"), 0);
  EXPECT_EQ(Find(s, "pbtracker_expiries_total"), 0);

  ASSERT_TRUE(registry_->Leave("a1", a1->lease_id).ok());
  registry_->Unwatch(**watcher);
  s = Scrape();
  EXPECT_EQ(Find(s, "pbtracker_leaves_total"), 1);
  EXPECT_EQ(Find(s, "pbtracker_nodes", {{"network", a}}), 1);
  EXPECT_EQ(Find(s, "pbtracker_watchers"), 0);

  // Every lease lapses: both left are expired, and their networks go.
  now_ += kDefaultLeaseTtl + absl::Seconds(1);
  EXPECT_EQ(registry_->Expire(), 2u);
  s = Scrape();
  EXPECT_EQ(Find(s, "pbtracker_expiries_total"), 2);
  EXPECT_EQ(Find(s, "pbtracker_networks"), 0);
  EXPECT_FALSE(Find(s, "pbtracker_nodes").has_value());
  EXPECT_EQ(Find(s, "pbtracker_build_info").value_or(0), 1);
}

}  // namespace
}  // namespace pbchain::tracker
