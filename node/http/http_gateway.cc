#include "node/http/http_gateway.h"

#include <utility>

#include "absl/time/time.h"
#include "common/status_macros.h"

namespace pbchain {

static_assert(kHttpMaxConnections > kHttpMaxEventStreams,
              "event streams must leave connections for other requests");
static_assert(kHttpEventKeepAlive < kHttpConnectionTimeout,
              "an idle event stream must write before its connection times "
              "out");

absl::StatusOr<std::unique_ptr<HttpGateway>> HttpGateway::Create(
    HttpGatewayOptions options, std::shared_ptr<grpc::Channel> channel) {
  absl::StatusOr<HostPort> address = ParseHttpListenAddress(options.listen);
  if (!address.ok()) return address.status();
  if (channel == nullptr) {
    return absl::InvalidArgumentError("HttpGateway needs a channel");
  }
  if (options.max_event_streams < 0 || options.max_connections <= 0 ||
      options.max_connections <= options.max_event_streams ||
      options.event_keepalive <= std::chrono::milliseconds(0) ||
      options.event_keepalive >= kHttpConnectionTimeout ||
      options.rpc_deadline <= std::chrono::milliseconds(0)) {
    return absl::InvalidArgumentError(
        "HttpGateway limits must be positive, with more connections than "
        "event streams and a keepalive below kHttpConnectionTimeout");
  }
  auto stub = v1::NodeService::NewStub(channel);
  TipEventStreamsOptions event_options;
  event_options.max_streams = options.max_event_streams;
  event_options.keepalive = absl::FromChrono(options.event_keepalive);
  event_options.first_event_deadline = absl::FromChrono(options.rpc_deadline);
  auto events = std::make_unique<TipEventStreams>(stub.get(), event_options);
  auto routes = std::make_unique<GatewayRoutes>(stub.get(), events.get(),
                                                options.rpc_deadline);
  HttpServerOptions server_options;
  server_options.listen = options.listen;
  server_options.max_connections = options.max_connections;
  server_options.tls_cert_pem = options.tls_cert_pem;
  server_options.tls_key_pem = options.tls_key_pem;
  PBCHAIN_ASSIGN_OR_RETURN(
      std::unique_ptr<HttpServer> server,
      HttpServer::Create(std::move(server_options), routes.get()));
  return std::unique_ptr<HttpGateway>(
      new HttpGateway(std::move(channel), std::move(stub), std::move(events),
                      std::move(routes), std::move(server)));
}

HttpGateway::HttpGateway(std::shared_ptr<grpc::Channel> channel,
                         std::unique_ptr<v1::NodeService::Stub> stub,
                         std::unique_ptr<TipEventStreams> events,
                         std::unique_ptr<GatewayRoutes> routes,
                         std::unique_ptr<HttpServer> server)
    : channel_(std::move(channel)),
      stub_(std::move(stub)),
      events_(std::move(events)),
      routes_(std::move(routes)),
      server_(std::move(server)) {}

HttpGateway::~HttpGateway() { Shutdown(); }

absl::StatusOr<int> HttpGateway::Start() { return server_->Start(); }

void HttpGateway::Shutdown() {
  // Ends the streams first (each finishes its response with the last
  // chunk), then closes every connection and joins the serving threads.
  events_->Shutdown(absl::FromChrono(kHttpShutdownGrace));
  server_->Shutdown();
}

}  // namespace pbchain
