#include "common/server.h"

#include <signal.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/host_port.h"
#include "glog/logging.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"

namespace pbchain {
namespace {

sigset_t TerminationSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  return signals;
}

}  // namespace

void BlockTerminationSignals() {
  const sigset_t signals = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

int WaitForTerminationSignal() {
  const sigset_t signals = TerminationSignals();
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  return signal_number;
}

void InitLogging(const char* argv0) {
  FLAGS_logtostderr = true;
  google::InitGoogleLogging(argv0);
}

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(
    const GrpcServerConfig& config,
    const std::vector<grpc::Service*>& services) {
  HostPortRules rules;
  rules.allow_port_zero = true;
  absl::StatusOr<HostPort> listen = ParseHostPort(config.listen, rules);
  if (!listen.ok()) return listen.status();

  // The health descriptor is linked in (and so listed by reflection) only
  // if something refers to it.
  (void)grpc::health::v1::HealthCheckRequest::descriptor();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  std::unique_ptr<GrpcServer> out(new GrpcServer());
  grpc::ServerBuilder builder;
  builder.AddListeningPort(config.listen,
                           config.credentials != nullptr
                               ? config.credentials
                               : grpc::InsecureServerCredentials(),
                           &out->port_);
  if (!config.interceptors.empty()) {
    // The builder owns its factories (unique_ptr); ours are shared so the
    // config stays copyable: wrap each in a forwarding factory.
    struct Forward : grpc::experimental::ServerInterceptorFactoryInterface {
      explicit Forward(std::shared_ptr<
                       grpc::experimental::ServerInterceptorFactoryInterface>
                           f)
          : factory(std::move(f)) {}
      grpc::experimental::Interceptor* CreateServerInterceptor(
          grpc::experimental::ServerRpcInfo* info) override {
        return factory->CreateServerInterceptor(info);
      }
      std::shared_ptr<grpc::experimental::ServerInterceptorFactoryInterface>
          factory;
    };
    std::vector<std::unique_ptr<
        grpc::experimental::ServerInterceptorFactoryInterface>>
        factories;
    for (const auto& f : config.interceptors) {
      factories.push_back(std::make_unique<Forward>(f));
    }
    builder.experimental().SetInterceptorCreators(std::move(factories));
  }
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             config.max_concurrent_streams);
  // gRPC sets SO_REUSEPORT by default: a second node started on a port in
  // use would bind it too and the kernel would split new connections
  // between the two. A busy port must be an error.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  if (config.min_client_ping_interval_ms > 0) {
    builder.AddChannelArgument(
        GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
        config.min_client_ping_interval_ms);
    builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  }
  builder.SetMaxReceiveMessageSize(config.max_message_bytes);
  builder.SetMaxSendMessageSize(config.max_message_bytes);
  for (grpc::Service* service : services) builder.RegisterService(service);
  out->server_ = builder.BuildAndStart();
  if (out->server_ == nullptr || out->port_ == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", config.listen,
                     " (address in use, or not an address of this host?)"));
  }
  const std::string& text = config.listen;
  out->host_ = text.substr(0, text.rfind(':'));
  return out;
}

GrpcServer::~GrpcServer() {
  if (server_ != nullptr && !stopped_) Stop(absl::ZeroDuration());
}

std::string GrpcServer::address() const {
  return absl::StrCat(host_, ":", port_);
}

void GrpcServer::SetNotServing() {
  if (server_ == nullptr) return;
  if (grpc::HealthCheckServiceInterface* health =
          server_->GetHealthCheckService()) {
    health->Shutdown();
  }
}

void GrpcServer::Stop(absl::Duration grace) {
  if (stopped_ || server_ == nullptr) return;
  stopped_ = true;
  SetNotServing();
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server_->Wait();
}

}  // namespace pbchain
