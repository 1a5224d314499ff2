#include "common/metrics_server.h"

#include <arpa/inet.h>

#include <algorithm>
#include <chrono>
#include <exception>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "google/protobuf/descriptor.h"

namespace pbchain {

absl::StatusOr<HostPort> ParseMetricsListenAddress(const std::string& listen) {
  HostPortRules rules;
  rules.allow_port_zero = true;
  absl::StatusOr<HostPort> parsed = ParseHostPort(listen, rules);
  if (!parsed.ok()) return parsed.status();
  if (parsed->host == "localhost") parsed->host = "127.0.0.1";
  unsigned char buffer[sizeof(struct in6_addr)];
  const bool numeric =
      parsed->is_ipv6() ? inet_pton(AF_INET6, parsed->host.c_str(), buffer) == 1
                        : inet_pton(AF_INET, parsed->host.c_str(), buffer) == 1;
  if (!numeric) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", listen,
                     "': the host must be a numeric IP address ([v6] in "
                     "brackets) or localhost, e.g. 127.0.0.1:9100"));
  }
  return parsed;
}

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(
    const std::string& listen) {
  absl::StatusOr<HostPort> address = ParseMetricsListenAddress(listen);
  if (!address.ok()) return address.status();
  std::unique_ptr<prometheus::Exposer> exposer;
  try {
    // civetweb's listening_ports syntax is ours: "1.2.3.4:9100",
    // "[::1]:9100".
    exposer = std::make_unique<prometheus::Exposer>(address->ToString(),
                                                    kMetricsServerThreads);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve metrics on ", address->ToString(),
                     " (address in use or not local?): ", e.what()));
  }
  std::vector<int> ports = exposer->GetListeningPorts();
  if (ports.empty() || ports[0] <= 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot serve metrics on ", address->ToString(), ": no port bound"));
  }
  HostPort bound = *address;
  bound.port = ports[0];
  std::unique_ptr<MetricsServer> server(
      new MetricsServer(std::move(exposer), std::move(bound)));
  server->Register(server->empty_);
  return server;
}

MetricsServer::~MetricsServer() = default;

void MetricsServer::Register(
    const std::shared_ptr<prometheus::Collectable>& collectable) {
  exposer_->RegisterCollectable(collectable);
}

namespace {

using grpc::experimental::InterceptionHookPoints;

// One call: created when it arrives, records when its status is sent.
class RpcInterceptor : public grpc::experimental::Interceptor {
 public:
  RpcInterceptor(RpcMetrics* metrics, std::string path)
      : metrics_(metrics),
        path_(std::move(path)),
        start_(std::chrono::steady_clock::now()) {}
  ~RpcInterceptor() override {
    if (!recorded_) Finish(grpc::StatusCode::CANCELLED);
  }

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            InterceptionHookPoints::PRE_SEND_STATUS)) {
      Finish(methods->GetSendStatus().error_code());
    }
    methods->Proceed();
  }

 private:
  void Finish(grpc::StatusCode code) {
    if (recorded_) return;
    recorded_ = true;
    const std::chrono::duration<double> elapsed =
        std::chrono::steady_clock::now() - start_;
    metrics_->Record(path_, code, elapsed.count());
  }

  RpcMetrics* const metrics_;
  const std::string path_;
  const std::chrono::steady_clock::time_point start_;
  bool recorded_ = false;  // hooks of one call never run concurrently
};

class RpcInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit RpcInterceptorFactory(RpcMetrics* metrics) : metrics_(metrics) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new RpcInterceptor(metrics_,
                              info->method() != nullptr ? info->method() : "");
  }

 private:
  RpcMetrics* const metrics_;
};

}  // namespace

RpcMetrics::RpcMetrics(const std::string& prefix,
                       const std::vector<std::string>& services)
    : durations_(prometheus::BuildHistogram()
                     .Name(prefix + "_rpc_duration_seconds")
                     .Help("gRPC calls by method and status code: time from "
                           "arrival to the status being sent (_count: calls)")
                     .Register(registry_)) {
  const google::protobuf::DescriptorPool* pool =
      google::protobuf::DescriptorPool::generated_pool();
  for (const std::string& name : services) {
    const google::protobuf::ServiceDescriptor* service =
        pool->FindServiceByName(name);
    if (service == nullptr) continue;
    for (int i = 0; i < service->method_count(); ++i) {
      methods_.push_back(
          absl::StrCat("/", name, "/", service->method(i)->name()));
    }
  }
  std::sort(methods_.begin(), methods_.end());
}

std::shared_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
RpcMetrics::InterceptorFactory() {
  return std::make_shared<RpcInterceptorFactory>(this);
}

std::string RpcMetrics::MethodLabel(const std::string& path) const {
  if (!std::binary_search(methods_.begin(), methods_.end(), path)) {
    return kOtherMethod;
  }
  return path.substr(1);  // without the leading '/'
}

void RpcMetrics::Record(const std::string& path, grpc::StatusCode code,
                        double seconds) {
  durations_
      .Add({{"method", MethodLabel(path)}, {"code", StatusCodeName(code)}},
           kRpcDurationBuckets)
      .Observe(seconds);
}

}  // namespace pbchain
