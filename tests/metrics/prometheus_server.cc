#include "tests/metrics/prometheus_server.h"

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "tests/metrics/metrics_util.h"
#include "tests/network/net_harness.h"

namespace pbchain::metricstest {
namespace {

// Percent-encodes a query parameter.
std::string UrlEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppend(&out, "%", absl::Hex(c, absl::kZeroPad2));
    }
  }
  return out;
}

// Whether child `pid` has exited (a zombie not reaped yet, or gone),
// without reaping it (ChildProcess::Wait does).
bool Exited(pid_t pid) {
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(stat)),
                   std::istreambuf_iterator<char>());
  const size_t paren = text.rfind(')');
  return paren == std::string::npos || paren + 2 >= text.size() ||
         text[paren + 2] == 'Z' || text[paren + 2] == 'X';
}

}  // namespace

absl::StatusOr<std::unique_ptr<PrometheusServer>> PrometheusServer::Start(
    const std::string& dir, const Jobs& jobs) {
  std::filesystem::create_directories(dir);
  const std::string config = dir + "/prometheus.yml";
  {
    std::ofstream out(config, std::ios::trunc);
    out << "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
        << "  evaluation_interval: 1s\nscrape_configs:\n";
    for (const auto& [job, targets] : jobs) {
      out << "  - job_name: " << job << "\n    static_configs:\n"
          << "      - targets: ['" << absl::StrJoin(targets, "', '") << "']\n";
    }
    if (!out.flush()) return absl::InternalError("cannot write " + config);
  }
  auto server = std::unique_ptr<PrometheusServer>(new PrometheusServer());
  server->log_path_ = dir + "/prometheus.log";
  // The port was free a moment ago; if another process took it since,
  // Prometheus exits and we try another.
  for (int attempt = 0; attempt < 3; ++attempt) {
    const uint16_t port = nettest::ReserveLoopbackPort();
    if (port == 0) return absl::UnavailableError("no free loopback port");
    server->address_ = absl::StrCat("127.0.0.1:", port);
    server->child_ = std::make_unique<testing::ChildProcess>(
        kPrometheusBinary,
        std::vector<std::string>{
            "--config.file=" + config, "--storage.tsdb.path=" + dir + "/tsdb",
            "--web.listen-address=" + server->address_, "--log.level=warn"},
        server->log_path_);
    if (!server->child_->started()) {
      return absl::InternalError("cannot start prometheus");
    }
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    bool exited = false;
    while (absl::Now() < deadline) {
      absl::StatusOr<HttpResponse> r =
          HttpGet(server->address_, "/-/ready", absl::Seconds(2));
      if (r.ok() && r->status == 200) return server;
      if (Exited(server->child_->pid())) {
        exited = true;
        break;
      }
      absl::SleepFor(absl::Milliseconds(200));
    }
    server->child_.reset();
    if (!exited) {
      return absl::DeadlineExceededError(
          "prometheus did not become ready in 60 s; see " + server->log_path_);
    }
  }
  return absl::UnavailableError("prometheus exited at start 3 times; see " +
                                server->log_path_);
}

PrometheusServer::~PrometheusServer() {
  if (child_ == nullptr) return;
  child_->Kill(SIGTERM);
  child_->Wait(std::chrono::seconds(10));  // SIGKILL after it
}

absl::StatusOr<std::vector<PrometheusServer::Series>> PrometheusServer::Query(
    const std::string& promql) const {
  absl::StatusOr<HttpResponse> r =
      HttpGet(address_, "/api/v1/query?query=" + UrlEncode(promql));
  if (!r.ok()) return r.status();
  nlohmann::json j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::DataLossError("not JSON: " + r->body.substr(0, 200));
  }
  if (j.value("status", "") != "success") {
    return absl::InternalError("query failed: " + r->body.substr(0, 300));
  }
  const nlohmann::json& data = j["data"];
  if (data.value("resultType", "") != "vector") {
    return absl::InternalError("not a vector: " + r->body.substr(0, 300));
  }
  std::vector<Series> out;
  for (const nlohmann::json& item : data["result"]) {
    Series s;
    for (const auto& [k, v] : item["metric"].items()) {
      s.labels[k] = v.get<std::string>();
    }
    const std::string value = item["value"][1].get<std::string>();
    if (!absl::SimpleAtod(value, &s.value)) {
      return absl::DataLossError("bad value " + value);
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace pbchain::metricstest
