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
// Threads: cpp-httplib serves each connection on one thread of a fixed pool
// (kHttpThreads); an open event stream holds one thread, which is why the
// pool is larger than kHttpMaxEventStreams. Each API call makes one blocking
// gRPC call with a kHttpRpcDeadline deadline.
#ifndef PBCHAIN_NODE_HTTP_GATEWAY_H_
#define PBCHAIN_NODE_HTTP_GATEWAY_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "pbchain/v1/node.grpc.pb.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace pbchain {

// Largest request body (POST /v1/txs). A larger Content-Length is refused
// with 413 before the body is read into memory; a POST without
// Content-Length (e.g. chunked) is refused with 411.
inline constexpr size_t kHttpMaxRequestBodyBytes = 2 * 1024 * 1024;
// Concurrent GET /v1/events/tips streams; one more gets 429.
inline constexpr int kHttpMaxEventStreams = 16;
// Tip events waiting for a slow event-stream reader; older ones are dropped
// (each event is self-contained).
inline constexpr size_t kHttpMaxQueuedEvents = 64;
// GET /v1/blocks: blocks per response by default (the newest ones) and at
// most; a response also stops before it would exceed
// kHttpMaxBlocksResponseBytes (it always carries at least one block). A cut
// response says where to continue in "nextFrom".
inline constexpr uint64_t kHttpDefaultBlocksPerPage = 20;
inline constexpr uint64_t kHttpMaxBlocksPerPage = 100;
inline constexpr size_t kHttpMaxBlocksResponseBytes = 8 * 1024 * 1024;
// A ": keepalive" comment is sent on an idle event stream this often (keeps
// proxies from closing it and notices clients that went away).
inline constexpr std::chrono::seconds kHttpEventKeepAlive{15};
// Worker threads serving connections: every event stream plus 16 for
// everything else.
inline constexpr int kHttpThreads = kHttpMaxEventStreams + 16;
// Socket read and write timeouts for one request or response.
inline constexpr std::chrono::seconds kHttpReadTimeout{10};
inline constexpr std::chrono::seconds kHttpWriteTimeout{10};
// An idle keep-alive connection is closed after this (it also bounds how long
// Shutdown waits for idle connections) or after this many requests.
inline constexpr std::chrono::seconds kHttpIdleTimeout{2};
inline constexpr size_t kHttpMaxRequestsPerConnection = 100;
// Longest request line target (414 above) and longest header line; these
// are compiled into libcpp-httplib (CPPHTTPLIB_REQUEST_URI_MAX_LENGTH and
// CPPHTTPLIB_HEADER_MAX_LENGTH; http_gateway.cc checks they agree).
inline constexpr size_t kHttpMaxUriLength = 8192;
inline constexpr size_t kHttpMaxHeaderLength = 8192;
// Most request headers (431 above).
inline constexpr size_t kHttpMaxHeaderCount = 64;
// Shutdown waits this long for ended event streams to finish their
// responses (the final chunk) before it stops the server.
inline constexpr std::chrono::seconds kHttpShutdownGrace{2};
// Deadline of each gRPC call the gateway makes.
inline constexpr std::chrono::seconds kHttpRpcDeadline{10};

struct HttpGatewayOptions {
  // "HOST:PORT" to listen on ("[::1]:PORT" for IPv6); port 0 picks a free
  // one. Loopback is recommended: the API has no authentication.
  std::string listen;
  // Concurrent GET /v1/events/tips streams (0 refuses them all).
  int max_event_streams = kHttpMaxEventStreams;
  // Interval of ": keepalive" comments on an idle event stream.
  std::chrono::milliseconds event_keepalive = kHttpEventKeepAlive;
  // Worker threads; must exceed max_event_streams.
  int threads = kHttpThreads;
  // Deadline of each gRPC call into the node.
  std::chrono::milliseconds rpc_deadline = kHttpRpcDeadline;
};

// Splits "HOST:PORT" / "[V6]:PORT" into host (brackets removed) and port
// 0..65535. INVALID_ARGUMENT naming the problem otherwise. Pure; any thread.
absl::StatusOr<std::pair<std::string, int>> ParseHttpListenAddress(
    const std::string& listen);

// The HTTP status for a gRPC status code (Google's mapping: INVALID_ARGUMENT,
// FAILED_PRECONDITION, OUT_OF_RANGE 400; UNAUTHENTICATED 401;
// PERMISSION_DENIED 403; NOT_FOUND 404; ALREADY_EXISTS, ABORTED 409;
// RESOURCE_EXHAUSTED 429; CANCELLED 499; UNIMPLEMENTED 501; UNAVAILABLE 503;
// DEADLINE_EXCEEDED 504; OK 200; others 500). Pure; any thread.
int HttpStatusFromGrpc(grpc::StatusCode code);

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
  const std::string& host() const { return host_; }

  // Ends every open event stream (each ends its HTTP response cleanly),
  // stops accepting connections and waits for the serving threads: requests
  // in progress finish (each bounded by its gRPC deadline), idle keep-alive
  // connections are closed within kHttpIdleTimeout. Call before the gRPC
  // server's Shutdown so that no call into it is still in flight. Idempotent;
  // from the owning thread.
  void Shutdown();

 private:
  class TipStream;  // one open event stream (http_gateway.cc)
  struct Route;

  HttpGateway(HttpGatewayOptions options, std::string host, int port,
              std::shared_ptr<grpc::Channel> channel);

  void InstallHandlers();
  // Serves one request of any method and path.
  void Dispatch(const httplib::Request& req, httplib::Response& res);
  void ServeAsset(const std::string& path, const httplib::Request& req,
                  httplib::Response& res);
  void ServeEvents(httplib::Response& res);
  std::unique_ptr<grpc::ClientContext> Context() const;
  bool NoStreams() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return streams_.empty();
  }

  // The route handlers: each makes one RPC (two for /v1/blocks) and fills
  // `res` with its JSON or the error.
  void GetInfo(httplib::Response& res);
  void ListBlocks(const httplib::Request& req, httplib::Response& res);
  void GetBlock(const std::string& id, httplib::Response& res);
  void GetTransaction(const std::string& txid, httplib::Response& res);
  void SubmitTransaction(const httplib::Request& req, httplib::Response& res);
  void GetAccount(const std::string& address, httplib::Response& res);
  void GetAccountHistory(const std::string& address,
                         const httplib::Request& req, httplib::Response& res);
  void GetMempool(const httplib::Request& req, httplib::Response& res);
  void ListPeers(httplib::Response& res);
  void GetChainTips(const httplib::Request& req, httplib::Response& res);
  void GetRecords(const std::string& ns, const std::string* key,
                  const httplib::Request& req, httplib::Response& res);

  const HttpGatewayOptions options_;
  const std::string host_;
  const int port_;
  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<v1::NodeService::Stub> stub_;
  const std::unique_ptr<httplib::Server> server_;
  std::thread listener_;
  bool started_ = false;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Open event streams (their count is checked against the limit).
  absl::flat_hash_set<std::shared_ptr<TipStream>> streams_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pbchain

#endif  // PBCHAIN_NODE_HTTP_GATEWAY_H_
