#include "tracker/tracker_metrics.h"

#include <algorithm>
#include <utility>

#include "absl/strings/escaping.h"
#include "common/version.h"

namespace pbchain::tracker {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

MetricFamily One(const std::string& name, const std::string& help,
                 MetricType type, double value) {
  MetricFamily f;
  f.name = name;
  f.help = help;
  f.type = type;
  ClientMetric m;
  if (type == MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(std::move(m));
  return f;
}

}  // namespace

std::string NetworkLabel(const std::string& genesis_hash) {
  std::string reversed(genesis_hash.rbegin(), genesis_hash.rend());
  return absl::BytesToHexString(reversed);
}

std::vector<MetricFamily> TrackerMetrics::Collect() const {
  std::vector<MetricFamily> out;
  {
    MetricFamily info =
        One("pbtracker_build_info", "always 1; the software version as a label",
            MetricType::Gauge, 1);
    info.metric[0].label = {{"version", PBCHAIN_VERSION_STRING}};
    out.push_back(std::move(info));
  }
  std::vector<std::pair<std::string, size_t>> networks =
      registry_->nodes_per_network();
  std::sort(networks.begin(), networks.end());
  out.push_back(One("pbtracker_networks",
                    "networks (genesis hashes) with registered nodes",
                    MetricType::Gauge, static_cast<double>(networks.size())));
  MetricFamily nodes;
  nodes.name = "pbtracker_nodes";
  nodes.help =
      "registered nodes by network (display hex of the genesis hash); a "
      "network without nodes has no series";
  nodes.type = MetricType::Gauge;
  for (const auto& [genesis, count] : networks) {
    ClientMetric m;
    m.label = {{"network", NetworkLabel(genesis)}};
    m.gauge.value = static_cast<double>(count);
    nodes.metric.push_back(std::move(m));
  }
  out.push_back(std::move(nodes));
  const Registry::Counters c = registry_->counters();
  out.push_back(One("pbtracker_joins_total", "Join calls that gave a lease",
                    MetricType::Counter, static_cast<double>(c.joins)));
  out.push_back(One("pbtracker_joins_refused_total",
                    "Join calls refused by the registry (node id taken, "
                    "network or tracker full)",
                    MetricType::Counter, static_cast<double>(c.joins_refused)));
  out.push_back(One("pbtracker_leaves_total", "Leave calls that removed a node",
                    MetricType::Counter, static_cast<double>(c.leaves)));
  out.push_back(One("pbtracker_expiries_total",
                    "registrations removed because their lease lapsed",
                    MetricType::Counter, static_cast<double>(c.expiries)));
  out.push_back(One("pbtracker_watchers", "open WatchPeers streams",
                    MetricType::Gauge,
                    static_cast<double>(registry_->watcher_count())));
  return out;
}

}  // namespace pbchain::tracker
