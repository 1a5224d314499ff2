// The node's Prometheus metrics (issue 16): a prometheus::Collectable that
// reads the node's state and counters at scrape time, so nothing is updated
// on the hot paths but a few counters the node and the network keep anyway
// (Node::counters, PeerSet's misbehaviour, bans and GossipCounters).
// docs/OPERATIONS.md, "Metrics", lists every metric; the names are below
// as constants where tests look them up.
//
// pbnode serves it with common/metrics_server.h (--metrics_listen), next to
// the RpcMetrics of its gRPC server.
//
// Thread safety: Collect from any thread, concurrently with the node.
#ifndef PBCHAIN_NODE_METRICS_NODE_METRICS_H_
#define PBCHAIN_NODE_METRICS_NODE_METRICS_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "node/core/node.h"
#include "node/p2p/network.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace pbchain {

// The node's metric names (a few; the rest are in node_metrics.cc and
// docs/OPERATIONS.md).
inline constexpr char kMetricChainHeight[] = "pbchain_chain_height";
inline constexpr char kMetricBlocksRejected[] = "pbchain_blocks_rejected_total";
inline constexpr char kMetricPeers[] = "pbchain_peers";

// The gRPC services of pbnode whose methods RpcMetrics labels by name.
inline const std::vector<std::string> kNodeRpcServices = {
    "pbchain.v1.NodeService", "pbchain.v1.Gossip", "grpc.health.v1.Health",
    "grpc.reflection.v1alpha.ServerReflection"};

class NodeMetrics : public prometheus::Collectable {
 public:
  // `node` must outlive it; `network` may be null (a node without peers:
  // the peer and gossip metrics are left out) and must outlive it too.
  // `now` is the clock of tip age (tests).
  NodeMetrics(
      Node* node, const Network* network,
      std::function<absl::Time()> now = [] { return absl::Now(); });

  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  Node* const node_;
  const Network* const network_;
  const std::function<absl::Time()> now_;
};

}  // namespace pbchain

#endif  // PBCHAIN_NODE_METRICS_NODE_METRICS_H_
