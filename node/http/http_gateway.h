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
// HTTP itself is GNU libmicrohttpd (Debian's libmicrohttpd-dev), chosen over
// cpp-httplib because it bounds what a hostile client can make the server
// hold: the request line and headers live in a fixed per-connection pool
// (kHttpConnectionMemoryBytes), the number of connections is capped
// (kHttpMaxConnections), bodies are never decompressed, the gateway can
// answer from the headers before any body is read, and stopping the daemon
// closes every connection. Slow clients are cut by the gateway's deadlines.
//
// Threads: one thread per connection (at most kHttpMaxConnections); an open
// event stream holds its connection's thread; a watchdog thread enforces the
// connection deadlines. Each API call makes one
// blocking gRPC call with a kHttpRpcDeadline deadline.
#ifndef PBCHAIN_NODE_HTTP_HTTP_GATEWAY_H_
#define PBCHAIN_NODE_HTTP_HTTP_GATEWAY_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/host_port.h"
#include "grpcpp/grpcpp.h"
#include "pbchain/v1/node.grpc.pb.h"

struct MHD_Connection;
struct MHD_Daemon;

namespace pbchain {
struct HttpRequest;   // one HTTP request, as the handlers see it
struct HttpResponse;  // what a handler answers
}  // namespace pbchain

namespace pbchain {

// Largest request body (POST /v1/txs). The body must come with a
// Content-Length (411 otherwise, and for any Transfer-Encoding); a larger one
// is refused with 413 before any of the body is read, and the connection is
// closed. Bodies with a Content-Encoding other than identity get 415 (the
// gateway never decompresses).
inline constexpr size_t kHttpMaxRequestBodyBytes = 2 * 1024 * 1024;
// A body the gateway will not use (sent with a request that takes none, or
// with one refused from its headers) is read and dropped if it is at most
// this large, so that the client gets the answer and the connection stays
// open; a larger or chunked one is not read: the answer comes first and the
// connection is closed (a client still sending may then see a reset).
inline constexpr size_t kHttpMaxDiscardedBodyBytes = 64 * 1024;
// Deadlines of a connection's phases, enforced by a watchdog thread that
// shuts the socket down: a request's line and headers must have arrived
// within kHttpRequestHeadDeadline of the connection opening or of the
// previous response; its body within kHttpBodyDeadline of its headers; a
// response (other than an event stream) must be sent within
// kHttpResponseDeadline. So a client trickling bytes cannot hold a
// connection, whatever its pace.
inline constexpr std::chrono::seconds kHttpRequestHeadDeadline{10};
inline constexpr std::chrono::seconds kHttpBodyDeadline{10};
inline constexpr std::chrono::seconds kHttpResponseDeadline{30};
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
// proxies from closing it, notices clients that went away, and keeps the
// stream's connection under kHttpConnectionTimeout, which it must be below).
inline constexpr std::chrono::seconds kHttpEventKeepAlive{5};
// Open connections (each served by its own thread), event streams included.
// Connections beyond it are accepted and closed at once.
inline constexpr int kHttpMaxConnections = 64;
// A connection on which nothing arrives or leaves for this long is closed
// (libmicrohttpd's own timeout; the deadlines above bound the rest).
inline constexpr std::chrono::seconds kHttpConnectionTimeout{10};
// Memory of one connection for the request line, the headers and the
// response headers (libmicrohttpd's per-connection pool). A request whose
// line and headers do not fit (about half of it) is answered by
// libmicrohttpd itself with 414 or 431 and closed.
inline constexpr size_t kHttpConnectionMemoryBytes = 64 * 1024;
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
  // Interval of ": keepalive" comments on an idle event stream; below
  // kHttpConnectionTimeout.
  std::chrono::milliseconds event_keepalive = kHttpEventKeepAlive;
  // Open connections; must exceed max_event_streams.
  int max_connections = kHttpMaxConnections;
  // Deadline of each gRPC call into the node.
  std::chrono::milliseconds rpc_deadline = kHttpRpcDeadline;
};

// The --http listen address: "HOST:PORT" / "[V6]:PORT" with a numeric host
// or localhost (never resolved) and a port 0..65535 (common/host_port.h).
// INVALID_ARGUMENT naming the problem otherwise. Pure; any thread.
absl::StatusOr<HostPort> ParseHttpListenAddress(const std::string& listen);

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
  // then stops the server: the listening socket is closed, every connection
  // is closed (a request half sent, an idle keep-alive), and the serving
  // threads are joined; a request being answered finishes first (bounded by
  // its gRPC deadline). Call before the gRPC server's Shutdown so that no
  // call into it is still in flight. Idempotent; from the owning thread.
  void Shutdown();

 private:
  friend struct HttpResponse;
  class TipStream;    // one open event stream (http_gateway.cc)
  struct EventFeed;   // an event stream's HTTP body
  struct Exchange;    // a request in progress (libmicrohttpd's con_cls)
  struct Connection;  // a TCP connection's socket and current deadline

  HttpGateway(HttpGatewayOptions options, std::string host, int port,
              std::shared_ptr<grpc::Channel> channel);

  // libmicrohttpd's access handler: called once when the headers are in,
  // then per piece of body, then once more at the end of the body.
  int OnRequest(MHD_Connection* connection, const char* url, const char* method,
                const char* upload_data, size_t* upload_data_size,
                void** con_cls);
  // What to do with a request once its headers are in: refuse it (header
  // count, chunked or compressed bodies, body size: `res` holds the
  // answer), and read, drop or leave its body.
  enum class BodyPlan { kNone, kRead, kDiscard, kAnswerFirst };
  BodyPlan CheckHeaders(MHD_Connection* connection, const HttpRequest& req,
                        bool& refused, HttpResponse& res) const;
  // Sets the deadline of `connection`'s current phase (InfiniteFuture: none).
  void SetDeadline(MHD_Connection* connection, absl::Duration from_now);
  // The watchdog thread: shuts down the socket of every connection past its
  // deadline, until Shutdown.
  void Watchdog();
  // Queues `res` on the connection. MHD_YES/MHD_NO as libmicrohttpd wants.
  int Send(MHD_Connection* connection, HttpResponse& res);
  // Serves one request of any method and path.
  void Dispatch(const HttpRequest& req, HttpResponse& res);
  void ServeAsset(const std::string& path, HttpResponse& res);
  void ServeEvents(HttpResponse& res);
  // Ends an event stream's call and forgets it (its HTTP body is gone).
  void ReleaseStream(const std::shared_ptr<TipStream>& stream);
  std::unique_ptr<grpc::ClientContext> Context() const;
  bool NoStreams() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return streams_.empty();
  }

  // The route handlers: each makes one RPC (two for /v1/blocks) and fills
  // `res` with its JSON or the error.
  void GetInfo(HttpResponse& res);
  void ListBlocks(const HttpRequest& req, HttpResponse& res);
  void GetBlock(const std::string& id, HttpResponse& res);
  void GetTransaction(const std::string& txid, HttpResponse& res);
  void SubmitTransaction(const HttpRequest& req, HttpResponse& res);
  void GetAccount(const std::string& address, HttpResponse& res);
  void GetAccountHistory(const std::string& address, const HttpRequest& req,
                         HttpResponse& res);
  void GetMempool(const HttpRequest& req, HttpResponse& res);
  void ListPeers(HttpResponse& res);
  void GetChainTips(const HttpRequest& req, HttpResponse& res);
  void GetRecords(const std::string& ns, const std::string* key,
                  const HttpRequest& req, HttpResponse& res);

  const HttpGatewayOptions options_;
  const std::string host_;
  const int port_;
  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<v1::NodeService::Stub> stub_;
  // Set by Start, cleared by Shutdown (owning thread only).
  MHD_Daemon* daemon_ = nullptr;
  bool started_ = false;
  std::thread watchdog_;

  // Open connections, for the watchdog. An entry is removed (under the
  // mutex) before libmicrohttpd closes its socket, so the watchdog never
  // shuts down a descriptor that was reused.
  absl::Mutex conn_mu_;
  absl::flat_hash_set<Connection*> connections_ ABSL_GUARDED_BY(conn_mu_);
  bool watchdog_stop_ ABSL_GUARDED_BY(conn_mu_) = false;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Open event streams (their count is checked against the limit).
  absl::flat_hash_set<std::shared_ptr<TipStream>> streams_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pbchain

#endif  // PBCHAIN_NODE_HTTP_HTTP_GATEWAY_H_
