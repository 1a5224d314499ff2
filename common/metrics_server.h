// A Prometheus exposition endpoint (GET /metrics, text format) on a
// HOST:PORT, served by prometheus-cpp's Exposer (civetweb). pbnode and
// pbtracker start one for --metrics_listen; what they export is theirs
// (prometheus::Collectable objects registered here), plus the per-method
// gRPC call metrics both share (RpcMetrics, a server interceptor).
//
// Thread safety: Register from any thread; the server answers scrapes on
// its own threads (kMetricsServerThreads) until destroyed. RpcMetrics:
// any thread.
#ifndef PBCHAIN_COMMON_METRICS_SERVER_H_
#define PBCHAIN_COMMON_METRICS_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/host_port.h"
#include "grpcpp/support/server_interceptor.h"
#include "grpcpp/support/status.h"
#include "prometheus/collectable.h"
#include "prometheus/exposer.h"
#include "prometheus/family.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace pbchain {

// Threads answering scrapes (a scrape is a short request; Prometheus sends
// one at a time per target).
inline constexpr int kMetricsServerThreads = 2;

// A --metrics_listen value: HOST:PORT with HOST a numeric IPv4 address, an
// IPv6 address in brackets or "localhost" (= 127.0.0.1), and port 0..65535
// (0 picks a free port). INVALID_ARGUMENT saying what is wrong.
absl::StatusOr<HostPort> ParseMetricsListenAddress(const std::string& listen);

class MetricsServer {
 public:
  // Parses `listen` (ParseMetricsListenAddress: INVALID_ARGUMENT) and
  // starts serving /metrics on it; UNAVAILABLE if it cannot be bound (e.g.
  // the port is in use). Serves an empty exposition until Register.
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(
      const std::string& listen);
  // Stops serving (waits for scrapes in progress).
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Adds `collectable` to what /metrics answers; the server holds it only
  // weakly (a collectable destroyed first simply disappears).
  void Register(const std::shared_ptr<prometheus::Collectable>& collectable);

  // The bound address: host as given ("localhost" as 127.0.0.1), the
  // chosen port for port 0; address() is "host:port" ("[::1]:9100").
  const std::string& host() const { return host_.host; }
  int port() const { return host_.port; }
  std::string address() const { return host_.ToString(); }

 private:
  MetricsServer(std::unique_ptr<prometheus::Exposer> exposer, HostPort bound)
      : exposer_(std::move(exposer)), host_(std::move(bound)) {}

  // Registered at start, empty: /metrics answers 200 before any Register.
  const std::shared_ptr<prometheus::Registry> empty_ =
      std::make_shared<prometheus::Registry>();
  std::unique_ptr<prometheus::Exposer> exposer_;
  HostPort host_;
};

// Upper bounds (seconds) of the gRPC call duration histogram buckets.
inline const std::vector<double> kRpcDurationBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1,    0.25,  0.5,    1,     2.5,  5,     10};
// The label of calls to a method not in RpcMetrics' list.
inline constexpr char kOtherMethod[] = "other";

// gRPC calls by method and status code: one histogram,
// PREFIX_rpc_duration_seconds{method, code}, whose _count is the number of
// calls. `method` is "package.Service/Method" for the methods named at
// construction and "other" for any other path (so the label set stays
// bounded whatever clients send); `code` is the status name ("OK",
// "NOT_FOUND", ...; StatusCodeName). A call's duration runs from the
// interceptor's creation (the call arrived) to its status being sent (for a
// stream: its end); a call that ends without a status (the client went
// away) counts as CANCELLED when gRPC lets it go.
class RpcMetrics : public prometheus::Collectable {
 public:
  // `prefix` "pbchain" -> pbchain_rpc_duration_seconds. `services` are
  // full service names ("pbchain.v1.NodeService"); their methods are taken
  // from the protobuf generated descriptor pool (a service not linked in
  // adds none).
  RpcMetrics(const std::string& prefix,
             const std::vector<std::string>& services);

  // A factory for GrpcServerConfig::interceptors (common/server.h), which
  // records every call here. This object must outlive the server.
  std::shared_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
  InterceptorFactory();

  // Records one call of `path` ("/package.Service/Method").
  void Record(const std::string& path, grpc::StatusCode code, double seconds);
  // The method label of `path`.
  std::string MethodLabel(const std::string& path) const;

  std::vector<prometheus::MetricFamily> Collect() const override {
    return registry_.Collect();
  }

 private:
  std::vector<std::string> methods_;  // "/package.Service/Method", sorted
  prometheus::Registry registry_;
  prometheus::Family<prometheus::Histogram>& durations_;
};

}  // namespace pbchain

#endif  // PBCHAIN_COMMON_METRICS_SERVER_H_
