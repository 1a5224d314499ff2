// A generic HTTP/1.1 server on GNU libmicrohttpd (Debian's
// libmicrohttpd-dev) that bounds what a hostile client can make it hold. It
// knows nothing of pbchain's routes or of gRPC: it parses requests, applies
// the limits below and hands each request to an HttpHandler.
//
// Why libmicrohttpd rather than cpp-httplib: the request line and headers
// live in a fixed per-connection pool (kHttpConnectionMemoryBytes), the
// number of connections is capped (kHttpMaxConnections), bodies are never
// decompressed, the server can answer from the headers before any body is
// read, and stopping the daemon closes every connection. Slow clients are
// cut by the server's per-phase deadlines, enforced by a watchdog thread.
//
// Threads: one thread per connection (at most max_connections), which runs
// the handler (so a handler may block; a streamed body holds its
// connection's thread); one watchdog thread; Start and Shutdown on the
// owning thread.
#ifndef PBCHAIN_NODE_HTTP_HTTP_SERVER_H_
#define PBCHAIN_NODE_HTTP_HTTP_SERVER_H_

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/host_port.h"

struct MHD_Connection;
struct MHD_Daemon;

namespace pbchain {

// Largest request body the server reads (for a request whose handler takes
// one). The body must come with a Content-Length (411 otherwise, and for any
// Transfer-Encoding); a larger one is refused with 413 before any of the
// body is read, and the connection is closed. Bodies with a Content-Encoding
// other than identity get 415 (the server never decompresses).
inline constexpr size_t kHttpMaxRequestBodyBytes = 2 * 1024 * 1024;
// A body the server will not use (sent with a request that takes none, or
// with one refused from its headers) is read and dropped if it is at most
// this large, so that the client gets the answer and the connection stays
// open; a larger or chunked one is not read: the answer comes first and the
// connection is closed (a client still sending may then see a reset).
inline constexpr size_t kHttpMaxDiscardedBodyBytes = 64 * 1024;
// Deadlines of a connection's phases, enforced by a watchdog thread that
// shuts the socket down: a request's line and headers must have arrived
// within kHttpRequestHeadDeadline of the connection opening or of the
// previous response; its body within kHttpBodyDeadline of its headers; a
// response (other than a streamed one) must be sent within
// kHttpResponseDeadline. So a client trickling bytes cannot hold a
// connection, whatever its pace.
inline constexpr std::chrono::seconds kHttpRequestHeadDeadline{10};
inline constexpr std::chrono::seconds kHttpBodyDeadline{10};
inline constexpr std::chrono::seconds kHttpResponseDeadline{30};
// Open connections (each served by its own thread), streamed responses
// included. Connections beyond it are accepted and closed at once.
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

// A listen address: "HOST:PORT" / "[V6]:PORT" with a port 0..65535
// (common/host_port.h). INVALID_ARGUMENT naming the problem otherwise. The
// host is checked for form only: HttpServer::Start binds numeric hosts and
// localhost and refuses any other name with UNAVAILABLE, without resolving
// it (no DNS query). Pure; any thread.
absl::StatusOr<HostPort> ParseHttpListenAddress(const std::string& listen);

// Decodes the %XX escapes of `in` ('+' stays '+'). nullopt on a malformed
// escape. Pure; any thread.
std::optional<std::string> PercentDecode(absl::string_view in);

// True if `s` is well-formed UTF-8 (no overlong forms, surrogates or code
// points above U+10FFFF). Pure; any thread.
bool IsUtf8(absl::string_view s);

// `s` in single quotes for an error message, cut to 80 bytes ("...'" then).
// Pure; any thread.
std::string QuoteForMessage(absl::string_view s);

// One HTTP request, as a handler sees it.
struct HttpRequest {
  std::string method;
  // The path as sent (still percent-encoded: an escaped '/' stays inside its
  // segment), without the query.
  std::string path;
  // The query's parameters, percent-decoded ('+' is a space), in order.
  std::vector<std::pair<std::string, std::string>> params;
  // Set if the query could not be decoded (a bad escape, not UTF-8): the
  // message for the client. `params` then holds the parameters before it.
  std::string bad_query;
  // The body, read only if the handler's TakesBody said so.
  std::string body;

  // True if the query has a parameter `name`. Any thread.
  bool has_param(std::string_view name) const;
  // The first value of parameter `name` ("" if absent). Any thread.
  std::string get_param_value(std::string_view name) const;
};

// The rest of a streamed response body, produced while the client reads it.
// The server destroys it when the response ends or is abandoned (client
// gone, deadline, Shutdown), on the connection's thread.
class HttpBodySource {
 public:
  virtual ~HttpBodySource() = default;
  // The next piece of the body, blocking until there is one; nullopt at the
  // end of the body. Called on the connection's thread, one call at a time.
  virtual std::optional<std::string> Next() = 0;
};

// What a handler answers.
struct HttpResponse {
  int status = 500;
  // The Content-Type header; none if empty.
  std::string content_type;
  // The body (with `stream`: its first bytes).
  std::string body;
  // Sent instead of `body` when set, without a copy: the bytes must outlive
  // the server (embedded files).
  std::optional<std::string_view> static_body;
  // More headers, in order. Every response also carries
  // "X-Content-Type-Options: nosniff".
  std::vector<std::pair<std::string, std::string>> headers;
  // A streamed body (chunked, no response deadline): `body`, then each
  // piece of `stream` until it ends.
  std::unique_ptr<HttpBodySource> stream;

  // Sets the body and its Content-Type. Any thread.
  void set_content(std::string content, std::string_view type) {
    body = std::move(content);
    content_type = std::string(type);
  }
  // Adds a header. Any thread.
  void set_header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
  }
};

// What an HttpServer serves: every request of any method and path.
class HttpHandler {
 public:
  virtual ~HttpHandler() = default;
  // True if `req` (its method and path; no body yet) takes a body: only then
  // is a body read into req.body (at most max_request_body_bytes, with a
  // Content-Length). Called on a connection thread; must not block.
  virtual bool TakesBody(const HttpRequest& req) const = 0;
  // Answers `req` into `res` (whose status starts at 500). Called on the
  // request's connection thread, concurrently for different connections;
  // may block (the connection waits).
  virtual void Handle(const HttpRequest& req, HttpResponse& res) = 0;
  // Fills `res` with the answer to a request the server refuses from its
  // headers: HTTP status `http_status` (400, 411, 413, 415, 431) and
  // `error` (INVALID_ARGUMENT or RESOURCE_EXHAUSTED, with a message for the
  // client). Called on a connection thread; must not block.
  virtual void Refuse(int http_status, const absl::Status& error,
                      HttpResponse& res) const = 0;
};

struct HttpServerOptions {
  // "HOST:PORT" to listen on ("[::1]:PORT" for IPv6); port 0 picks a free
  // one. Checked by ParseHttpListenAddress.
  std::string listen;
  int max_connections = kHttpMaxConnections;
  // libmicrohttpd's idle timeout, in whole seconds (at least 1).
  std::chrono::seconds connection_timeout = kHttpConnectionTimeout;
  std::chrono::milliseconds request_head_deadline = kHttpRequestHeadDeadline;
  std::chrono::milliseconds body_deadline = kHttpBodyDeadline;
  std::chrono::milliseconds response_deadline = kHttpResponseDeadline;
  size_t connection_memory_bytes = kHttpConnectionMemoryBytes;
  size_t max_header_count = kHttpMaxHeaderCount;
  size_t max_request_body_bytes = kHttpMaxRequestBodyBytes;
  size_t max_discarded_body_bytes = kHttpMaxDiscardedBodyBytes;
  // HTTPS: the PEM certificate (chain, leaf first) and its PEM private key
  // (P-256 or Ed25519, unencrypted PKCS#8, as `pbtool tls-cert` makes
  // them). Both empty = plain HTTP; both set = TLS 1.2/1.3 only (GnuTLS,
  // through libmicrohttpd), no client certificates.
  std::string tls_cert_pem;
  std::string tls_key_pem;
};

// GnuTLS priorities of the HTTPS server: GnuTLS's defaults, TLS 1.2 and 1.3
// only.
inline constexpr char kHttpsPriorities[] =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";

class HttpServer {
 public:
  // A server for `handler` (which must outlive it). Nothing is bound yet.
  // INVALID_ARGUMENT if options.listen is not HOST:PORT (see
  // ParseHttpListenAddress), a limit or deadline is not positive, or only
  // one of tls_cert_pem / tls_key_pem is set; FAILED_PRECONDITION for TLS
  // when libmicrohttpd was built without it. Any thread.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Create(
      HttpServerOptions options, HttpHandler* handler);

  // Calls Shutdown().
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds the listen address and starts serving on background threads.
  // Returns the bound port (the chosen one for port 0). UNAVAILABLE with
  // the address in the message if it cannot be bound (unknown host, port in
  // use, no permission); INTERNAL if libmicrohttpd refuses to start (for
  // HTTPS also: GnuTLS refused the certificate or key);
  // FAILED_PRECONDITION if called twice or after Shutdown. Call once, from
  // the thread that owns the server.
  absl::StatusOr<int> Start();

  // The host part of the listen address (brackets removed). Any thread.
  const std::string& host() const { return host_; }

  // Stops the server: the listening socket is closed, every connection is
  // closed (a request half sent, an idle keep-alive, a streamed response),
  // and the serving threads are joined; a handler running finishes first.
  // Idempotent; from the owning thread.
  void Shutdown();

 private:
  struct Exchange;  // a request in progress (libmicrohttpd's con_cls)
  struct BodyFeed;  // a streamed body as libmicrohttpd reads it
  // What the watchdog knows of one open connection.
  struct ConnectionState {
    int fd = -1;
    // When the connection's current phase must be over.
    absl::Time deadline = absl::InfiniteFuture();
  };
  // What to do with a request once its headers are in: refuse it (header
  // count, chunked or compressed bodies, body size), and read, drop or
  // leave its body.
  enum class BodyPlan { kNone, kRead, kDiscard, kAnswerFirst };

  HttpServer(HttpServerOptions options, std::string host, int port,
             HttpHandler* handler);

  // libmicrohttpd's access handler: called once when the headers are in,
  // then per piece of body, then once more at the end of the body.
  // MHD_YES/MHD_NO as libmicrohttpd wants.
  int OnRequest(MHD_Connection* connection, const char* url, const char* method,
                const char* upload_data, size_t* upload_data_size,
                void** con_cls);
  // Decides the BodyPlan of `req` from its headers; when it refuses the
  // request it sets `refused` and fills `res` through the handler.
  BodyPlan CheckHeaders(MHD_Connection* connection, const HttpRequest& req,
                        bool& refused, HttpResponse& res) const;
  // Queues `res` on the connection. MHD_YES/MHD_NO as libmicrohttpd wants.
  int Send(MHD_Connection* connection, HttpResponse& res);

  // Connection tracking, from libmicrohttpd's callbacks: a connection is
  // registered when it opens (its request head due) and forgotten before
  // its socket is closed, so the watchdog never shuts down a descriptor
  // that was reused.
  void ConnectionOpened(MHD_Connection* connection);
  void ConnectionClosed(MHD_Connection* connection);
  // Sets the deadline of `connection`'s current phase (InfiniteDuration:
  // none).
  void SetDeadline(MHD_Connection* connection, absl::Duration from_now);
  // The watchdog thread: shuts down the socket of every connection past its
  // deadline, until Shutdown.
  void Watchdog();

  const HttpServerOptions options_;
  const std::string host_;
  const int port_;
  HttpHandler* const handler_;
  // Set by Start and Shutdown (owning thread only).
  MHD_Daemon* daemon_ = nullptr;
  bool started_ = false;
  bool stopped_ = false;
  std::thread watchdog_;

  absl::Mutex mu_;
  // Open connections and their deadlines, for the watchdog.
  absl::flat_hash_map<MHD_Connection*, ConnectionState> connections_
      ABSL_GUARDED_BY(mu_);
  bool watchdog_stop_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace pbchain

#endif  // PBCHAIN_NODE_HTTP_HTTP_SERVER_H_
