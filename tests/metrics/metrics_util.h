// Test helpers for metrics: a minimal HTTP/1.1 GET over a loopback TCP
// socket, and a parser of the Prometheus text exposition format (version
// 0.0.4) into samples, so tests read values by name and labels.
#ifndef PBCHAIN_TESTS_METRICS_METRICS_UTIL_H_
#define PBCHAIN_TESTS_METRICS_METRICS_UTIL_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace pbchain::metricstest {

struct HttpResponse {
  int status = 0;
  std::string headers;  // the status line and headers
  std::string body;
};

// GET `target` ("/metrics?x") from `host_port` ("127.0.0.1:9100"), with
// "Connection: close", reading until the server closes; fails after
// `timeout`. Loopback addresses only (a test must not reach further).
absl::StatusOr<HttpResponse> HttpGet(const std::string& host_port,
                                     const std::string& target,
                                     absl::Duration timeout = absl::Seconds(5));

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Every sample line of a text exposition; INVALID_ARGUMENT naming the first
// line that does not parse. Comments (# HELP, # TYPE) are checked for form
// only.
absl::StatusOr<std::vector<Sample>> ParseExposition(const std::string& text);

// The value of the sample `name` whose labels include `labels` (all of
// them); nullopt if there is none. With several, the first.
std::optional<double> Find(
    const std::vector<Sample>& samples, const std::string& name,
    const std::map<std::string, std::string>& labels = {});

// The `# TYPE` of each metric family ("counter", "gauge", "histogram").
std::map<std::string, std::string> Types(const std::string& text);

}  // namespace pbchain::metricstest

#endif  // PBCHAIN_TESTS_METRICS_METRICS_UTIL_H_
