// The HTTP/JSON gateway of pbnode (`--http HOST:PORT`): the NodeService API
// as JSON over HTTP/1.1, a server-sent event stream of tip changes, and the
// block explorer's files (client/web/, embedded at build time).
//
// The gateway is a gRPC client of the node's own NodeService over
// grpc::Server::InProcessChannel, so every request goes through the same
// validation, limits and status codes as a gRPC call (one place for rules).
// Bodies are protobuf's JSON mapping (lowerCamelCase names, u64 as decimal
// strings, bytes as base64 of the internal byte order, default values
// printed). Hashes in paths use the display form (64 hex chars, byte-
// reversed). Errors are {"code":<gRPC code>,"status":"NAME","message":"..."}
// with the HTTP status from Google's gRPC -> HTTP mapping. The route table is
// in docs/OPERATIONS.md.
//
// The gateway is the facade over three parts, each in its own file:
//   node/http/http_server.h   the generic HTTP server on GNU libmicrohttpd:
//                             listen, limits, per-phase deadlines (watchdog),
//                             body handling, streamed bodies, shutdown
//   node/http/routes.h        the /v1 routes over the NodeService stub and
//                             the explorer's files (an HttpHandler); their
//                             JSON forms in node/http/api_json.h
//   node/http/event_stream.h  the server-sent event stream of tips
// This header includes them, so their limits (kHttp...) are all reachable
// from here.
//
// Threads: one thread per connection (at most kHttpMaxConnections); an open
// event stream holds its connection's thread; a watchdog thread enforces the
// connection deadlines. Each API call makes one blocking gRPC call with a
// kHttpRpcDeadline deadline.
#ifndef PBCHAIN_NODE_HTTP_HTTP_GATEWAY_H_
#define PBCHAIN_NODE_HTTP_HTTP_GATEWAY_H_

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "node/http/api_json.h"      // HttpStatusFromGrpc
#include "node/http/event_stream.h"  // kHttpMaxEventStreams, ...
#include "node/http/http_server.h"   // ParseHttpListenAddress, kHttp...
#include "node/http/routes.h"        // kHttpRpcDeadline, ...
#include "pbchain/v1/node.grpc.pb.h"

namespace pbchain {

// Shutdown waits this long for ended event streams to finish their
// responses (the final chunk) before it stops the server.
inline constexpr std::chrono::seconds kHttpShutdownGrace{2};

struct HttpGatewayOptions {
  // "HOST:PORT" to listen on ("[::1]:PORT" for IPv6); port 0 picks a free
  // one. Loopback is recommended: the API has no authentication.
  std::string listen;
  // Concurrent GET /v1/events/tips streams (0 refuses them all).
  int max_event_streams = kHttpMaxEventStreams;
  // Interval of ": keepalive" comments on an idle event stream; below
  // kHttpConnectionTimeout.
  std::chrono::milliseconds event_keepalive = kHttpEventKeepAlive;
  // Open connections; must exceed max_event_streams.
  int max_connections = kHttpMaxConnections;
  // Deadline of each gRPC call into the node.
  std::chrono::milliseconds rpc_deadline = kHttpRpcDeadline;
  // HTTPS (pbnode --http_tls): PEM certificate and key; both empty = HTTP.
  // See HttpServerOptions.
  std::string tls_cert_pem;
  std::string tls_key_pem;
};

class HttpGateway {
 public:
  // A gateway calling NodeService over `channel` (normally
  // grpc::Server::InProcessChannel of the node's server, which must outlive
  // the gateway). Nothing is bound yet. INVALID_ARGUMENT if options.listen
  // is not HOST:PORT or a limit is not positive. Any thread.
  static absl::StatusOr<std::unique_ptr<HttpGateway>> Create(
      HttpGatewayOptions options, std::shared_ptr<grpc::Channel> channel);

  // Calls Shutdown().
  ~HttpGateway();
  HttpGateway(const HttpGateway&) = delete;
  HttpGateway& operator=(const HttpGateway&) = delete;

  // Binds the listen address and starts serving on a background thread.
  // Returns the bound port (the chosen one for port 0). UNAVAILABLE with
  // the address in the message if it cannot be bound (unknown host, port in
  // use, no permission); FAILED_PRECONDITION if called twice. Call once,
  // from the thread that owns the gateway.
  absl::StatusOr<int> Start();

  // The host part of the listen address (brackets removed). Any thread.
  const std::string& host() const { return server_->host(); }

  // Ends every open event stream (each ends its HTTP response cleanly),
  // then stops the server: the listening socket is closed, every connection
  // is closed (a request half sent, an idle keep-alive), and the serving
  // threads are joined; a request being answered finishes first (bounded by
  // its gRPC deadline). Call before the gRPC server's Shutdown so that no
  // call into it is still in flight. Idempotent; from the owning thread.
  void Shutdown();

 private:
  HttpGateway(std::shared_ptr<grpc::Channel> channel,
              std::unique_ptr<v1::NodeService::Stub> stub,
              std::unique_ptr<TipEventStreams> events,
              std::unique_ptr<GatewayRoutes> routes,
              std::unique_ptr<HttpServer> server);

  // Declared in the order of construction: each part uses only those above
  // it, and the server (whose threads call the routes) is destroyed first.
  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<v1::NodeService::Stub> stub_;
  const std::unique_ptr<TipEventStreams> events_;
  const std::unique_ptr<GatewayRoutes> routes_;
  const std::unique_ptr<HttpServer> server_;
};

}  // namespace pbchain

#endif  // PBCHAIN_NODE_HTTP_HTTP_GATEWAY_H_
