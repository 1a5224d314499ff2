// A real Prometheus server (Debian's /usr/bin/prometheus) for tests: a
// config scraping the given targets every second, its TSDB in a directory
// of the caller's temp dir, its web API on a free loopback port, and a
// PromQL instant query through /api/v1/query. The process is stopped
// (SIGTERM, SIGKILL after a grace) when the object is destroyed, also when
// the test fails; it dies with the test process too (PR_SET_PDEATHSIG).
//
// Thread safety: one thread.
#ifndef PBCHAIN_TESTS_METRICS_PROMETHEUS_SERVER_H_
#define PBCHAIN_TESTS_METRICS_PROMETHEUS_SERVER_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tests/util/process.h"

namespace pbchain::metricstest {

inline constexpr char kPrometheusBinary[] = "/usr/bin/prometheus";

class PrometheusServer {
 public:
  // job name -> "HOST:PORT" targets (each serving /metrics).
  using Jobs = std::map<std::string, std::vector<std::string>>;

  // Writes DIR/prometheus.yml, starts Prometheus with its TSDB in DIR/tsdb
  // and waits (up to 60 s) until it answers /-/ready. Loopback only.
  static absl::StatusOr<std::unique_ptr<PrometheusServer>> Start(
      const std::string& dir, const Jobs& jobs);
  ~PrometheusServer();

  // "127.0.0.1:PORT" of its web API.
  const std::string& address() const { return address_; }
  const std::string& log_path() const { return log_path_; }

  // One sample of an instant vector: its labels and value.
  struct Series {
    std::map<std::string, std::string> labels;
    double value = 0;
  };
  // Runs `promql` through /api/v1/query; the vector's series. An error
  // status for a failed request or a non-vector result.
  absl::StatusOr<std::vector<Series>> Query(const std::string& promql) const;

 private:
  PrometheusServer() = default;
  std::unique_ptr<testing::ChildProcess> child_;
  std::string address_;
  std::string log_path_;
};

}  // namespace pbchain::metricstest

#endif  // PBCHAIN_TESTS_METRICS_PROMETHEUS_SERVER_H_
