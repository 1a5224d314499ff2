// pbtracker's Prometheus metrics (issue 16): a prometheus::Collectable
// reading the Registry at scrape time (nodes per network, joins, leaves,
// expiries, watchers). pbtracker serves it with common/metrics_server.h
// (--metrics_listen), next to the RpcMetrics of its gRPC server
// (pbtracker_rpc_duration_seconds). docs/OPERATIONS.md, "Metrics".
//
// Thread safety: Collect from any thread.
#ifndef PBCHAIN_TRACKER_TRACKER_METRICS_H_
#define PBCHAIN_TRACKER_TRACKER_METRICS_H_

#include <string>
#include <vector>

#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"
#include "tracker/registry.h"

namespace pbchain::tracker {

// The gRPC services of pbtracker whose methods RpcMetrics labels by name.
inline const std::vector<std::string> kTrackerRpcServices = {
    "pbchain.v1.Tracker", "grpc.health.v1.Health",
    "grpc.reflection.v1alpha.ServerReflection"};

// A genesis hash (32 raw bytes, internal order) as the `network` label:
// display hex (byte-reversed, as pbnode and explorers show it).
std::string NetworkLabel(const std::string& genesis_hash);

class TrackerMetrics : public prometheus::Collectable {
 public:
  // `registry` must outlive it.
  explicit TrackerMetrics(const Registry* registry) : registry_(registry) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const Registry* const registry_;
};

}  // namespace pbchain::tracker

#endif  // PBCHAIN_TRACKER_TRACKER_METRICS_H_
