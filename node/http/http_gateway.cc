#include "node/http/http_gateway.h"

#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <deque>
#include <limits>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "chain/bytes.h"
#include "common/status.h"
#include "glog/logging.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"
#include "node/http/web_assets.h"

namespace pbchain {

static_assert(kHttpMaxConnections > kHttpMaxEventStreams,
              "event streams must leave connections for other requests");
static_assert(kHttpEventKeepAlive < kHttpConnectionTimeout,
              "an idle event stream must write before its connection times "
              "out");

// One HTTP request as the handlers see it.
struct HttpRequest {
  std::string method;
  // The path as sent (still percent-encoded: an escaped '/' stays inside its
  // segment), without the query.
  std::string path;
  // The query's parameters, decoded, in order.
  std::vector<std::pair<std::string, std::string>> params;
  // Set if the query could not be decoded: the 400 message.
  std::string bad_query;
  std::string body;

  bool has_param(std::string_view name) const {
    return std::any_of(params.begin(), params.end(),
                       [&](const auto& p) { return p.first == name; });
  }
  // The first value of `name` ("" if absent).
  std::string get_param_value(std::string_view name) const {
    for (const auto& [key, value] : params) {
      if (key == name) return value;
    }
    return "";
  }
};

// What a handler answers: a body (or an embedded file), or an event stream.
struct HttpResponse {
  int status = 500;
  std::string content_type;
  std::string body;
  const WebAsset* asset = nullptr;  // sent instead of `body` when set
  std::vector<std::pair<std::string, std::string>> headers;
  // An event stream: its first event is `body`.
  std::shared_ptr<HttpGateway::TipStream> stream;

  void set_content(std::string content, const char* type) {
    body = std::move(content);
    content_type = type;
  }
  void set_header(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
  }
};

namespace {

constexpr char kJsonType[] = "application/json";
constexpr char kEventStreamType[] = "text/event-stream";

// protobuf's JSON mapping as the route contract fixes it: lowerCamelCase
// names, default values printed, one line.
std::optional<std::string> ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(message, &out, options)
           .ok()) {
    return std::nullopt;
  }
  return out;
}

// The error body {"code":N,"status":"NAME","message":"..."} with `http`.
void SetError(HttpResponse& res, int http, grpc::StatusCode code,
              absl::string_view message) {
  nlohmann::json body = {{"code", static_cast<int>(code)},
                         {"status", StatusCodeName(code)},
                         {"message", std::string(message)}};
  res.status = http;
  // Messages may quote request bytes: invalid UTF-8 is replaced, not thrown.
  res.set_content(
      body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
      kJsonType);
}

void SetGrpcError(HttpResponse& res, const grpc::Status& status) {
  SetError(res, HttpStatusFromGrpc(status.error_code()), status.error_code(),
           status.error_message());
}

void SetBadRequest(HttpResponse& res, absl::string_view message) {
  SetError(res, 400, grpc::StatusCode::INVALID_ARGUMENT, message);
}

// The response of a unary call: its JSON, or the error.
void Reply(HttpResponse& res, const grpc::Status& status,
           const google::protobuf::Message& message) {
  if (!status.ok()) {
    SetGrpcError(res, status);
    return;
  }
  std::optional<std::string> json = ToJson(message);
  if (!json) {
    SetError(res, 500, grpc::StatusCode::INTERNAL, "response has no JSON form");
    return;
  }
  res.status = 200;
  res.set_content(*json, kJsonType);
}

// Decodes %XX escapes of one path segment ('+' stays '+'). Null on a
// malformed escape.
std::optional<std::string> PercentDecode(absl::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return std::nullopt;
    const int hi = HexDigitValue(in[i + 1]);
    const int lo = HexDigitValue(in[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

// A query parameter as an unsigned decimal number no larger than `max`.
// nullopt if absent; an error naming the parameter if malformed.
absl::StatusOr<std::optional<uint64_t>> QueryNumber(
    const HttpRequest& req, const char* name,
    uint64_t max = std::numeric_limits<uint64_t>::max()) {
  if (!req.has_param(name)) return std::optional<uint64_t>();
  const std::string text = req.get_param_value(name);
  uint64_t value = 0;
  const bool digits = !text.empty() && text.size() <= 20 &&
                      std::all_of(text.begin(), text.end(),
                                  [](char c) { return c >= '0' && c <= '9'; });
  if (!digits || !absl::SimpleAtoi(text, &value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("query parameter '", name,
                     "': want an unsigned decimal number, got '", text, "'"));
  }
  if (value > max) {
    return absl::InvalidArgumentError(absl::StrCat(
        "query parameter '", name, "': ", value, " is above ", max));
  }
  return std::optional<uint64_t>(value);
}

// A display-form hash (64 hex chars, byte-reversed) as protobuf bytes in
// internal order.
std::optional<std::string> DisplayHashToBytes(absl::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  absl::StatusOr<Hash256> hash =
      Hash256::FromDisplayHex(std::string_view(hex.data(), hex.size()));
  if (!hash.ok()) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(hash->bytes.data()),
                     hash->bytes.size());
}

std::string Quote(absl::string_view s) {
  constexpr size_t kMax = 80;
  if (s.size() <= kMax) return absl::StrCat("'", s, "'");
  return absl::StrCat("'", s.substr(0, kMax), "...'");
}

// The API routes: path pattern ("*" = one non-empty segment) and method.
enum class Api {
  kInfo,
  kBlocks,
  kBlock,
  kTx,
  kSubmitTx,
  kAccount,
  kHistory,
  kMempool,
  kPeers,
  kTips,
  kRecords,
  kRecord,
  kEvents,
};

struct ApiRoute {
  Api api;
  const char* method;
  std::vector<std::string_view> pattern;
};

const std::vector<ApiRoute>& ApiRoutes() {
  static const auto* const routes = new std::vector<ApiRoute>{
      {Api::kInfo, "GET", {"v1", "info"}},
      {Api::kBlocks, "GET", {"v1", "blocks"}},
      {Api::kBlock, "GET", {"v1", "blocks", "*"}},
      {Api::kSubmitTx, "POST", {"v1", "txs"}},
      {Api::kTx, "GET", {"v1", "txs", "*"}},
      {Api::kAccount, "GET", {"v1", "accounts", "*"}},
      {Api::kHistory, "GET", {"v1", "accounts", "*", "history"}},
      {Api::kMempool, "GET", {"v1", "mempool"}},
      {Api::kPeers, "GET", {"v1", "peers"}},
      {Api::kTips, "GET", {"v1", "tips"}},
      {Api::kRecords, "GET", {"v1", "records", "*"}},
      {Api::kRecord, "GET", {"v1", "records", "*", "*"}},
      {Api::kEvents, "GET", {"v1", "events", "tips"}},
  };
  return *routes;
}

bool Matches(const ApiRoute& route, const std::vector<std::string>& segments,
             std::vector<std::string>& params) {
  if (route.pattern.size() != segments.size()) return false;
  std::vector<std::string> found;
  for (size_t i = 0; i < segments.size(); ++i) {
    if (route.pattern[i] == "*") {
      if (segments[i].empty()) return false;
      found.push_back(segments[i]);
    } else if (route.pattern[i] != segments[i]) {
      return false;
    }
  }
  params = std::move(found);
  return true;
}

}  // namespace

// One open GET /v1/events/tips stream: a WatchTips call on the gateway's
// channel whose messages wait here, as JSON, for the HTTP thread serving the
// stream. gRPC callbacks fill it; the HTTP thread drains it.
class HttpGateway::TipStream final
    : public grpc::ClientReadReactor<v1::WatchTipsResponse>,
      public std::enable_shared_from_this<TipStream> {
 public:
  enum class Next { kEvent, kEnd, kTimeout };

  // Starts the call (the current tip first). Keeps itself alive until the
  // call is done.
  void Begin(v1::NodeService::Stub* stub) {
    {
      absl::MutexLock lock(&mu_);
      self_ = shared_from_this();
    }
    request_.set_include_current(true);
    stub->async()->WatchTips(&context_, &request_, this);
    StartRead(&response_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the call is ending: OnDone follows
    std::optional<std::string> json = ToJson(response_);
    {
      absl::MutexLock lock(&mu_);
      if (json) events_.push_back(std::move(*json));
      while (events_.size() > kHttpMaxQueuedEvents) events_.pop_front();
    }
    StartRead(&response_);
  }

  void OnDone(const grpc::Status& status) override {
    std::shared_ptr<TipStream> last_reference;
    {
      absl::MutexLock lock(&mu_);
      done_ = true;
      status_ = status;
      last_reference = std::move(self_);
    }
  }  // may destroy this, as gRPC allows in OnDone

  // Ends the call (OnDone follows promptly). Any thread, any time.
  void Cancel() { context_.TryCancel(); }

  // Waits up to `timeout` for the next event (into `event`) or the end of
  // the call (its status into `status`; queued events come first).
  Next Wait(absl::Duration timeout, std::string& event, grpc::Status& status) {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(this, &TipStream::Ready), timeout);
    if (!events_.empty()) {
      event = std::move(events_.front());
      events_.pop_front();
      return Next::kEvent;
    }
    if (done_) {
      status = status_;
      return Next::kEnd;
    }
    return Next::kTimeout;
  }

  // Blocks until OnDone has run (after Cancel, promptly).
  void AwaitDone() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&done_));
  }

 private:
  bool Ready() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return done_ || !events_.empty();
  }

  grpc::ClientContext context_;
  v1::WatchTipsRequest request_;
  v1::WatchTipsResponse response_;
  absl::Mutex mu_;
  std::deque<std::string> events_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<TipStream> self_ ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<HostPort> ParseHttpListenAddress(const std::string& listen) {
  HostPortRules rules;
  rules.allow_port_zero = true;
  rules.numeric_host = true;
  return ParseHostPort(listen, rules);
}

int HttpStatusFromGrpc(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return 200;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
      return 400;
    case grpc::StatusCode::UNAUTHENTICATED:
      return 401;
    case grpc::StatusCode::PERMISSION_DENIED:
      return 403;
    case grpc::StatusCode::NOT_FOUND:
      return 404;
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::ABORTED:
      return 409;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return 429;
    case grpc::StatusCode::CANCELLED:
      return 499;
    case grpc::StatusCode::UNIMPLEMENTED:
      return 501;
    case grpc::StatusCode::UNAVAILABLE:
      return 503;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return 504;
    default:
      return 500;
  }
}

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
  return std::unique_ptr<HttpGateway>(new HttpGateway(
      std::move(options), address->host, address->port, std::move(channel)));
}

HttpGateway::HttpGateway(HttpGatewayOptions options, std::string host, int port,
                         std::shared_ptr<grpc::Channel> channel)
    : options_(std::move(options)),
      host_(std::move(host)),
      port_(port),
      channel_(std::move(channel)),
      stub_(v1::NodeService::NewStub(channel_)) {}

HttpGateway::~HttpGateway() { Shutdown(); }

// A request in progress: created when its headers are in, deleted when
// libmicrohttpd reports it completed.
struct HttpGateway::Exchange {
  HttpRequest req;
  BodyPlan plan = BodyPlan::kNone;
  // Refused from its headers: `refusal` is the answer.
  bool refused = false;
  HttpResponse refusal;
};

// One TCP connection (libmicrohttpd's socket_context): its socket, and the
// deadline of its current phase (guarded by HttpGateway::conn_mu_).
struct HttpGateway::Connection {
  int fd = -1;
  absl::Time deadline = absl::InfiniteFuture();
};

// An event stream's HTTP body: the events of a TipStream as SSE text.
struct HttpGateway::EventFeed {
  HttpGateway* gateway;
  std::shared_ptr<TipStream> stream;
  absl::Duration keepalive;
  std::string pending;  // text being sent
  size_t sent = 0;      // of `pending`
};

namespace {

// libmicrohttpd's own messages (refused connections, protocol errors) go to
// the log, at most one a second, so that a flood of bad connections cannot
// flood the log.
void LogFromMhd(void*, const char* format, va_list ap) {
  static std::atomic<int64_t> last_ms{0};
  const int64_t now = absl::ToUnixMillis(absl::Now());
  int64_t last = last_ms.load();
  if (now - last < 1000 || !last_ms.compare_exchange_strong(last, now)) return;
  char text[512];
  std::vsnprintf(text, sizeof text, format, ap);
  LOG(WARNING) << "http: " << absl::StripTrailingAsciiWhitespace(text);
}

// Leaves the path and the query's %XX escapes as sent (libmicrohttpd has
// already turned '+' in the query into ' '): the gateway decodes them
// itself, per path segment (so that "%2F" stays inside a record key), and
// refuses bad escapes instead of passing them on.
size_t KeepEscaped(void*, MHD_Connection*, char* s) { return std::strlen(s); }

MHD_Result CollectArgument(void* cls, MHD_ValueKind, const char* key,
                           const char* value) {
  static_cast<std::vector<std::pair<std::string, std::string>>*>(cls)
      ->emplace_back(key != nullptr ? key : "", value != nullptr ? value : "");
  return MHD_YES;
}

// True if `s` is well-formed UTF-8 (what protobuf's string fields require).
bool IsUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates, above U+10FFFF.
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

// The query parameters ('+' already a space, %XX escapes as sent), decoded
// into req.params; req.bad_query says what is wrong otherwise.
void DecodeQuery(const std::vector<std::pair<std::string, std::string>>& raw,
                 HttpRequest& req) {
  for (const auto& [raw_key, raw_value] : raw) {
    std::optional<std::string> k = PercentDecode(raw_key);
    std::optional<std::string> v = PercentDecode(raw_value);
    if (!k || !v) {
      req.bad_query = absl::StrCat("query: bad percent-encoding in ",
                                   Quote(k ? raw_value : raw_key));
      return;
    }
    if (!IsUtf8(*k) || !IsUtf8(*v)) {
      req.bad_query =
          absl::StrCat("query parameter ", Quote(raw_key), ": not valid UTF-8");
      return;
    }
    req.params.emplace_back(std::move(*k), std::move(*v));
  }
}

}  // namespace

absl::StatusOr<int> HttpGateway::Start() {
  if (started_) return absl::FailedPreconditionError("already started");
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::FailedPreconditionError("shut down");
  }
  // The gateway binds the socket itself (for precise errors and port 0) and
  // hands it to libmicrohttpd, which closes it when the daemon stops.
  addrinfo hints{};
  // "localhost" means 127.0.0.1 (what the printed address suggests), not
  // ::1, whichever /etc/hosts lists first.
  hints.ai_family = host_ == "localhost" ? AF_INET : AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  // Numeric addresses only (and "localhost", from /etc/hosts): a listen
  // address never costs a DNS query.
  hints.ai_flags =
      AI_PASSIVE | AI_NUMERICSERV | (host_ == "localhost" ? 0 : AI_NUMERICHOST);
  addrinfo* found = nullptr;
  const std::string port_text = std::to_string(port_);
  if (const int rc =
          getaddrinfo(host_.c_str(), port_text.c_str(), &hints, &found);
      rc != 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", options_.listen, ": ", gai_strerror(rc)));
  }
  int fd = -1;
  int err = 0;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      err = errno;
      continue;
    }
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 ||
        listen(fd, SOMAXCONN) != 0) {
      err = errno;
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  if (fd < 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", options_.listen, ": ", strerror(err)));
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof bound;
  int port = port_;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len) == 0) {
    port = bound.ss_family == AF_INET6
               ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
               : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  }

  // Captureless lambdas: C callbacks with access to the gateway's privates.
  MHD_AccessHandlerCallback on_request =
      [](void* cls, MHD_Connection* connection, const char* url,
         const char* method, const char* /*version*/, const char* upload_data,
         size_t* upload_data_size, void** con_cls) -> MHD_Result {
    return static_cast<MHD_Result>(static_cast<HttpGateway*>(cls)->OnRequest(
        connection, url, method, upload_data, upload_data_size, con_cls));
  };
  MHD_RequestCompletedCallback on_completed =
      [](void* cls, MHD_Connection* connection, void** con_cls,
         MHD_RequestTerminationCode) {
        delete static_cast<Exchange*>(*con_cls);
        *con_cls = nullptr;
        // The next request's head is due.
        static_cast<HttpGateway*>(cls)->SetDeadline(
            connection, absl::FromChrono(kHttpRequestHeadDeadline));
      };
  MHD_NotifyConnectionCallback on_connection =
      [](void* cls, MHD_Connection* connection, void** socket_context,
         MHD_ConnectionNotificationCode code) {
        auto* gateway = static_cast<HttpGateway*>(cls);
        if (code == MHD_CONNECTION_NOTIFY_STARTED) {
          const MHD_ConnectionInfo* info = MHD_get_connection_info(
              connection, MHD_CONNECTION_INFO_CONNECTION_FD);
          if (info == nullptr) return;
          auto* c = new Connection;
          c->fd = info->connect_fd;
          c->deadline =
              absl::Now() + absl::FromChrono(kHttpRequestHeadDeadline);
          absl::MutexLock lock(&gateway->conn_mu_);
          gateway->connections_.insert(c);
          *socket_context = c;
        } else if (*socket_context != nullptr) {
          // Before libmicrohttpd closes the socket.
          auto* c = static_cast<Connection*>(*socket_context);
          {
            absl::MutexLock lock(&gateway->conn_mu_);
            gateway->connections_.erase(c);
          }
          delete c;
          *socket_context = nullptr;
        }
      };
  daemon_ = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
          MHD_USE_AUTO | MHD_USE_ITC | MHD_USE_ERROR_LOG,
      0, nullptr, nullptr, on_request, this,             //
      MHD_OPTION_EXTERNAL_LOGGER, &LogFromMhd, nullptr,  //
      MHD_OPTION_LISTEN_SOCKET, static_cast<MHD_socket>(fd),
      MHD_OPTION_CONNECTION_LIMIT,
      static_cast<unsigned int>(options_.max_connections),
      MHD_OPTION_CONNECTION_TIMEOUT,
      static_cast<unsigned int>(kHttpConnectionTimeout.count()),
      MHD_OPTION_CONNECTION_MEMORY_LIMIT,
      static_cast<size_t>(kHttpConnectionMemoryBytes),
      MHD_OPTION_UNESCAPE_CALLBACK, &KeepEscaped, nullptr,
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, this,    //
      MHD_OPTION_NOTIFY_CONNECTION, on_connection, this,  //
      MHD_OPTION_END);
  if (daemon_ == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot start the HTTP server on ", options_.listen,
                     " (libmicrohttpd refused its options; see the log)"));
  }
  started_ = true;
  watchdog_ = std::thread([this] { Watchdog(); });
  return port;
}

void HttpGateway::Shutdown() {
  std::vector<std::shared_ptr<TipStream>> open;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
    open.assign(streams_.begin(), streams_.end());
  }
  // Each stream's body sees the end and finishes its response (the last
  // chunk); wait for that, bounded, before stopping the server (which would
  // cut a stream between two chunks).
  for (const std::shared_ptr<TipStream>& stream : open) stream->Cancel();
  open.clear();
  {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(this, &HttpGateway::NoStreams),
                         absl::FromChrono(kHttpShutdownGrace));
  }
  if (daemon_ != nullptr) {
    // Closes the listening socket and every connection, and joins the
    // connection threads.
    MHD_stop_daemon(daemon_);
    daemon_ = nullptr;
  }
  if (watchdog_.joinable()) {
    {
      absl::MutexLock lock(&conn_mu_);
      watchdog_stop_ = true;
    }
    watchdog_.join();
  }
}

int HttpGateway::OnRequest(MHD_Connection* connection, const char* url,
                           const char* method, const char* upload_data,
                           size_t* upload_data_size, void** con_cls) {
  auto* exchange = static_cast<Exchange*>(*con_cls);
  if (exchange == nullptr) {
    // The headers are in; no body has been read.
    exchange = new Exchange;
    *con_cls = exchange;
    HttpRequest& req = exchange->req;
    req.method = method;
    req.path = url;
    std::vector<std::pair<std::string, std::string>> raw;
    MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND,
                              &CollectArgument, &raw);
    DecodeQuery(raw, req);
    exchange->plan =
        CheckHeaders(connection, req, exchange->refused, exchange->refusal);
    switch (exchange->plan) {
      case BodyPlan::kAnswerFirst: {
        // Answering before the body makes libmicrohttpd close the
        // connection's reading side: the body is never read.
        HttpResponse res = std::move(exchange->refusal);
        if (!exchange->refused) Dispatch(req, res);
        return Send(connection, res);
      }
      case BodyPlan::kRead:
      case BodyPlan::kDiscard:
        SetDeadline(connection, absl::FromChrono(kHttpBodyDeadline));
        return MHD_YES;
      case BodyPlan::kNone:
        // Answered at the final call (answering now would make
        // libmicrohttpd close the connection instead of keeping it alive).
        SetDeadline(connection, absl::InfiniteDuration());
        return MHD_YES;
    }
  }
  if (*upload_data_size > 0) {
    // libmicrohttpd reads no more than Content-Length, which CheckHeaders
    // bounded; the size check is a second line.
    if (exchange->plan == BodyPlan::kRead) {
      if (exchange->req.body.size() + *upload_data_size >
          kHttpMaxRequestBodyBytes) {
        return MHD_NO;  // closes the connection
      }
      exchange->req.body.append(upload_data, *upload_data_size);
    }
    *upload_data_size = 0;
    return MHD_YES;
  }
  // The final call: the whole request is in.
  SetDeadline(connection, absl::InfiniteDuration());
  HttpResponse res;
  if (exchange->refused) {
    res = std::move(exchange->refusal);
  } else {
    Dispatch(exchange->req, res);
  }
  return Send(connection, res);
}

HttpGateway::BodyPlan HttpGateway::CheckHeaders(MHD_Connection* connection,
                                                const HttpRequest& req,
                                                bool& refused,
                                                HttpResponse& res) const {
  refused = true;
  // Only POST /v1/txs takes a body.
  const bool takes_body = req.method == "POST" && req.path == "/v1/txs";
  const bool chunked =
      MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
                                  MHD_HTTP_HEADER_TRANSFER_ENCODING) != nullptr;
  const char* length_text = MHD_lookup_connection_value(
      connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
  uint64_t length = 0;
  const bool length_ok =
      length_text == nullptr || absl::SimpleAtoi(length_text, &length);
  // A refusal, or an answer that does not need the body: drop a small body
  // (so the connection can stay open and the client is sure to read the
  // answer), answer before a large or chunked one.
  const BodyPlan unused_body =
      chunked || !length_ok || length > kHttpMaxDiscardedBodyBytes
          ? BodyPlan::kAnswerFirst
      : length > 0 ? BodyPlan::kDiscard
                   : BodyPlan::kNone;

  const int headers =
      MHD_get_connection_values(connection, MHD_HEADER_KIND, nullptr, nullptr);
  if (headers > static_cast<int>(kHttpMaxHeaderCount)) {
    SetError(
        res, 431, grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("more than ", kHttpMaxHeaderCount, " request headers"));
    return unused_body;
  }
  if (chunked) {
    SetError(res, 411, grpc::StatusCode::INVALID_ARGUMENT,
             "chunked request bodies are not accepted: send the body with a "
             "Content-Length header");
    return unused_body;
  }
  if (!length_ok) {
    SetBadRequest(res, absl::StrCat("Content-Length ", Quote(length_text),
                                    " is not a number"));
    return unused_body;
  }
  if (const char* encoding = MHD_lookup_connection_value(
          connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_ENCODING);
      encoding != nullptr &&
      !absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(encoding),
                              "identity")) {
    SetError(res, 415, grpc::StatusCode::INVALID_ARGUMENT,
             absl::StrCat("Content-Encoding ", Quote(encoding),
                          " is not accepted: send the body uncompressed"));
    return unused_body;
  }
  if (takes_body && length_text == nullptr) {
    SetError(res, 411, grpc::StatusCode::INVALID_ARGUMENT,
             "a request body needs a Content-Length header");
    return unused_body;
  }
  if (takes_body && length > kHttpMaxRequestBodyBytes) {
    SetError(res, 413, grpc::StatusCode::RESOURCE_EXHAUSTED,
             absl::StrCat("request body larger than ", kHttpMaxRequestBodyBytes,
                          " bytes"));
    return BodyPlan::kAnswerFirst;
  }
  refused = false;
  if (takes_body) return length > 0 ? BodyPlan::kRead : BodyPlan::kNone;
  return unused_body;
}

void HttpGateway::SetDeadline(MHD_Connection* connection,
                              absl::Duration from_now) {
  const MHD_ConnectionInfo* info =
      MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  if (info == nullptr || info->socket_context == nullptr) return;
  auto* c = static_cast<Connection*>(info->socket_context);
  absl::MutexLock lock(&conn_mu_);
  c->deadline = from_now == absl::InfiniteDuration() ? absl::InfiniteFuture()
                                                     : absl::Now() + from_now;
}

void HttpGateway::Watchdog() {
  absl::MutexLock lock(&conn_mu_);
  while (!watchdog_stop_) {
    conn_mu_.AwaitWithTimeout(absl::Condition(&watchdog_stop_),
                              absl::Milliseconds(500));
    const absl::Time now = absl::Now();
    for (Connection* c : connections_) {
      if (c->deadline <= now) {
        // The connection's thread sees the socket end and closes it.
        shutdown(c->fd, SHUT_RDWR);
        c->deadline = absl::InfiniteFuture();
      }
    }
  }
}

int HttpGateway::Send(MHD_Connection* connection, HttpResponse& res) {
  const bool is_stream = res.stream != nullptr;
  MHD_Response* response = nullptr;
  if (is_stream) {
    auto* feed = new EventFeed{this, std::move(res.stream),
                               absl::FromChrono(options_.event_keepalive),
                               std::move(res.body)};
    MHD_ContentReaderCallback read = [](void* cls, uint64_t, char* buf,
                                        size_t max) -> ssize_t {
      auto* f = static_cast<EventFeed*>(cls);
      if (f->sent == f->pending.size()) {
        std::string event;
        grpc::Status end;
        switch (f->stream->Wait(f->keepalive, event, end)) {
          case TipStream::Next::kEvent:
            f->pending = absl::StrCat("event: tip\ndata: ", event, "\n\n");
            break;
          case TipStream::Next::kTimeout:
            f->pending = ": keepalive\n\n";
            break;
          case TipStream::Next::kEnd:
            return MHD_CONTENT_READER_END_OF_STREAM;
        }
        f->sent = 0;
      }
      const size_t n = std::min(max, f->pending.size() - f->sent);
      std::memcpy(buf, f->pending.data() + f->sent, n);
      f->sent += n;
      return static_cast<ssize_t>(n);
    };
    MHD_ContentReaderFreeCallback free_feed = [](void* cls) {
      auto* f = static_cast<EventFeed*>(cls);
      f->gateway->ReleaseStream(f->stream);
      delete f;
    };
    constexpr size_t kBlock = 4096;
    response = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, kBlock, read,
                                                 feed, free_feed);
    if (response == nullptr) free_feed(feed);
  } else if (res.asset != nullptr) {
    response = MHD_create_response_from_buffer(
        res.asset->data.size(), const_cast<char*>(res.asset->data.data()),
        MHD_RESPMEM_PERSISTENT);
  } else {
    // The body is handed over, not copied.
    auto* body = new std::string(std::move(res.body));
    response = MHD_create_response_from_buffer_with_free_callback_cls(
        body->size(), body->data(),
        [](void* cls) { delete static_cast<std::string*>(cls); }, body);
    if (response == nullptr) delete body;
  }
  SetDeadline(connection, is_stream ? absl::InfiniteDuration()
                                    : absl::FromChrono(kHttpResponseDeadline));
  if (response == nullptr) return MHD_NO;
  if (!res.content_type.empty()) {
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                            res.content_type.c_str());
  }
  MHD_add_response_header(response, "X-Content-Type-Options", "nosniff");
  for (const auto& [name, value] : res.headers) {
    MHD_add_response_header(response, name.c_str(), value.c_str());
  }
  const MHD_Result queued = MHD_queue_response(
      connection, static_cast<unsigned int>(res.status), response);
  MHD_destroy_response(response);  // the connection keeps its reference
  return queued;
}

void HttpGateway::ReleaseStream(const std::shared_ptr<TipStream>& stream) {
  stream->Cancel();
  stream->AwaitDone();
  absl::MutexLock lock(&mu_);
  streams_.erase(stream);
}

std::unique_ptr<grpc::ClientContext> HttpGateway::Context() const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + options_.rpc_deadline);
  return ctx;
}

void HttpGateway::Dispatch(const HttpRequest& req, HttpResponse& res) {
  // Route on the raw path so that an escaped '/' inside a segment (a record
  // key) stays inside it.
  const absl::string_view raw_path = req.path;
  if (raw_path.empty() || raw_path.front() != '/') {
    SetBadRequest(res, "request target must start with '/'");
    return;
  }
  if (!req.bad_query.empty()) {
    SetBadRequest(res, req.bad_query);
    return;
  }
  std::vector<std::string> segments;
  for (absl::string_view raw :
       absl::StrSplit(raw_path.substr(1), '/', absl::AllowEmpty())) {
    std::optional<std::string> decoded = PercentDecode(raw);
    if (!decoded) {
      SetBadRequest(res,
                    absl::StrCat("path: bad percent-encoding in ", Quote(raw)));
      return;
    }
    if (!IsUtf8(*decoded)) {
      SetBadRequest(res, absl::StrCat("path: ", Quote(raw),
                                      " does not decode to valid UTF-8"));
      return;
    }
    segments.push_back(std::move(*decoded));
  }
  const bool get = req.method == "GET" || req.method == "HEAD";

  if (segments.empty() || segments[0] != "v1") {
    if (!get) {
      res.set_header("Allow", "GET, HEAD");
      SetError(res, 405, grpc::StatusCode::UNIMPLEMENTED,
               absl::StrCat("method ", req.method, " not allowed on ",
                            Quote(raw_path), "; allowed: GET, HEAD"));
      return;
    }
    ServeAsset(absl::StrCat("/", absl::StrJoin(segments, "/")), res);
    return;
  }

  const ApiRoute* route = nullptr;
  std::vector<std::string> params;
  for (const ApiRoute& r : ApiRoutes()) {
    if (Matches(r, segments, params)) {
      route = &r;
      break;
    }
  }
  if (route == nullptr) {
    SetError(res, 404, grpc::StatusCode::NOT_FOUND,
             absl::StrCat("no route ", Quote(raw_path)));
    return;
  }
  const bool is_get_route = std::string_view(route->method) == "GET";
  const bool allowed =
      is_get_route ? (req.method == "GET" ||
                      (req.method == "HEAD" && route->api != Api::kEvents))
                   : req.method == route->method;
  if (!allowed) {
    const std::string allow = !is_get_route                ? route->method
                              : route->api == Api::kEvents ? "GET"
                                                           : "GET, HEAD";
    res.set_header("Allow", allow);
    SetError(res, 405, grpc::StatusCode::UNIMPLEMENTED,
             absl::StrCat("method ", req.method, " not allowed on ",
                          Quote(raw_path), "; allowed: ", allow));
    return;
  }

  switch (route->api) {
    case Api::kInfo:
      return GetInfo(res);
    case Api::kBlocks:
      return ListBlocks(req, res);
    case Api::kBlock:
      return GetBlock(params[0], res);
    case Api::kTx:
      return GetTransaction(params[0], res);
    case Api::kSubmitTx:
      return SubmitTransaction(req, res);
    case Api::kAccount:
      return GetAccount(params[0], res);
    case Api::kHistory:
      return GetAccountHistory(params[0], req, res);
    case Api::kMempool:
      return GetMempool(req, res);
    case Api::kPeers:
      return ListPeers(res);
    case Api::kTips:
      return GetChainTips(req, res);
    case Api::kRecords:
      return GetRecords(params[0], nullptr, req, res);
    case Api::kRecord:
      return GetRecords(params[0], &params[1], req, res);
    case Api::kEvents:
      return ServeEvents(res);
  }
}

void HttpGateway::ServeAsset(const std::string& path, HttpResponse& res) {
  const WebAsset* asset = FindWebAsset(path == "/" ? "/index.html" : path);
  if (asset == nullptr) {
    SetError(res, 404, grpc::StatusCode::NOT_FOUND,
             absl::StrCat("no such file ", Quote(path)));
    return;
  }
  res.status = 200;
  res.set_header("Cache-Control", "no-cache");
  res.asset = asset;
  res.content_type = std::string(asset->content_type);
}

void HttpGateway::GetInfo(HttpResponse& res) {
  v1::GetInfoResponse response;
  grpc::Status status =
      stub_->GetInfo(Context().get(), v1::GetInfoRequest(), &response);
  Reply(res, status, response);
}

void HttpGateway::ListBlocks(const HttpRequest& req, HttpResponse& res) {
  absl::StatusOr<std::optional<uint64_t>> from = QueryNumber(req, "from");
  if (!from.ok()) return SetBadRequest(res, from.status().message());
  absl::StatusOr<std::optional<uint64_t>> to = QueryNumber(req, "to");
  if (!to.ok()) return SetBadRequest(res, to.status().message());
  if (*from && *to && **to < **from) {
    return SetBadRequest(res, absl::StrCat("query parameter 'to' (", **to,
                                           ") is below 'from' (", **from, ")"));
  }

  v1::GetInfoResponse info;
  grpc::Status status =
      stub_->GetInfo(Context().get(), v1::GetInfoRequest(), &info);
  if (!status.ok()) return SetGrpcError(res, status);
  const uint64_t tip = info.height();
  constexpr uint64_t kBack = kHttpDefaultBlocksPerPage - 1;

  // [first, last_wanted]: what the caller asked for, clipped at the tip;
  // without "from", the kHttpDefaultBlocksPerPage blocks ending there.
  uint64_t last_wanted = *to ? std::min(**to, tip) : tip;
  uint64_t first;
  if (*from) {
    first = **from;
  } else {
    first = last_wanted >= kBack ? last_wanted - kBack : 0;
  }
  // At most kHttpMaxBlocksPerPage in this response. A "from" above the tip
  // goes to the node as is (OUT_OF_RANGE -> 400).
  uint64_t end = first;
  if (first <= last_wanted) {
    end = last_wanted - first >= kHttpMaxBlocksPerPage - 1
              ? first + (kHttpMaxBlocksPerPage - 1)
              : last_wanted;
  }

  v1::GetBlocksRequest request;
  request.set_from_height(first);
  request.set_to_height(end);
  std::unique_ptr<grpc::ClientContext> ctx = Context();
  std::unique_ptr<grpc::ClientReader<v1::GetBlocksResponse>> reader =
      stub_->GetBlocks(ctx.get(), request);
  std::string body = "{\"blocks\":[";
  uint64_t count = 0;
  std::optional<uint64_t> last_height;
  std::optional<uint64_t> next_from;
  v1::GetBlocksResponse block;
  while (reader->Read(&block)) {
    std::optional<std::string> json = ToJson(block);
    if (!json) {
      ctx->TryCancel();
      reader->Finish();
      return SetError(res, 500, grpc::StatusCode::INTERNAL,
                      "block has no JSON form");
    }
    // Room for the closing fields (tipHeight and nextFrom: < 100 bytes).
    if (count > 0 &&
        body.size() + json->size() + 100 > kHttpMaxBlocksResponseBytes) {
      next_from = block.height();
      ctx->TryCancel();
      break;
    }
    if (count > 0) body.push_back(',');
    body += *json;
    ++count;
    last_height = block.height();
  }
  status = reader->Finish();
  const bool cut = next_from.has_value();
  if (!status.ok() &&
      !(cut && status.error_code() == grpc::StatusCode::CANCELLED)) {
    return SetGrpcError(res, status);
  }
  if (!cut && last_height && *last_height < last_wanted) {
    next_from = *last_height + 1;
  }
  absl::StrAppend(&body, "],\"tipHeight\":\"", tip, "\"");
  if (next_from) absl::StrAppend(&body, ",\"nextFrom\":\"", *next_from, "\"");
  body += "}";
  res.status = 200;
  res.set_content(body, kJsonType);
}

void HttpGateway::GetBlock(const std::string& id, HttpResponse& res) {
  v1::GetBlockRequest request;
  const bool all_digits = std::all_of(
      id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (std::optional<std::string> hash = DisplayHashToBytes(id)) {
    request.set_hash(*hash);
  } else if (uint64_t height = 0;
             all_digits && id.size() <= 20 && absl::SimpleAtoi(id, &height)) {
    request.set_height(height);
  } else {
    return SetBadRequest(
        res, absl::StrCat("block id: want a decimal height or a 64-hex-char "
                          "block hash (display order), got ",
                          Quote(id)));
  }
  v1::GetBlockResponse response;
  grpc::Status status = stub_->GetBlock(Context().get(), request, &response);
  Reply(res, status, response);
}

void HttpGateway::GetTransaction(const std::string& txid, HttpResponse& res) {
  std::optional<std::string> bytes = DisplayHashToBytes(txid);
  if (!bytes) {
    return SetBadRequest(
        res, absl::StrCat("txid: want 64 hex chars (display order), got ",
                          Quote(txid)));
  }
  v1::GetTransactionRequest request;
  request.set_txid(*bytes);
  v1::GetTransactionResponse response;
  grpc::Status status =
      stub_->GetTransaction(Context().get(), request, &response);
  Reply(res, status, response);
}

void HttpGateway::SubmitTransaction(const HttpRequest& req, HttpResponse& res) {
  v1::SubmitTransactionRequest request;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  if (auto s = google::protobuf::util::JsonStringToMessage(req.body, &request,
                                                           options);
      !s.ok()) {
    return SetBadRequest(
        res, absl::StrCat(
                 "body: not a SubmitTransactionRequest: ",
                 absl::string_view(s.message().data(), s.message().size())));
  }
  v1::SubmitTransactionResponse response;
  grpc::Status status =
      stub_->SubmitTransaction(Context().get(), request, &response);
  Reply(res, status, response);
}

void HttpGateway::GetAccount(const std::string& address, HttpResponse& res) {
  v1::GetAccountRequest request;
  request.set_address(address);
  v1::GetAccountResponse response;
  grpc::Status status = stub_->GetAccount(Context().get(), request, &response);
  Reply(res, status, response);
}

void HttpGateway::GetAccountHistory(const std::string& address,
                                    const HttpRequest& req, HttpResponse& res) {
  absl::StatusOr<std::optional<uint64_t>> page_size =
      QueryNumber(req, "pageSize", std::numeric_limits<uint32_t>::max());
  if (!page_size.ok()) return SetBadRequest(res, page_size.status().message());
  v1::GetAccountHistoryRequest request;
  request.set_address(address);
  request.set_page_size(static_cast<uint32_t>(page_size->value_or(0)));
  if (req.has_param("pageToken")) {
    request.set_page_token(req.get_param_value("pageToken"));
  }
  v1::GetAccountHistoryResponse response;
  grpc::Status status =
      stub_->GetAccountHistory(Context().get(), request, &response);
  Reply(res, status, response);
}

void HttpGateway::GetMempool(const HttpRequest& req, HttpResponse& res) {
  absl::StatusOr<std::optional<uint64_t>> limit =
      QueryNumber(req, "limit", std::numeric_limits<uint32_t>::max());
  if (!limit.ok()) return SetBadRequest(res, limit.status().message());
  v1::GetMempoolRequest request;
  request.set_limit(static_cast<uint32_t>(limit->value_or(0)));
  v1::GetMempoolResponse response;
  grpc::Status status = stub_->GetMempool(Context().get(), request, &response);
  Reply(res, status, response);
}

void HttpGateway::ListPeers(HttpResponse& res) {
  v1::ListPeersResponse response;
  grpc::Status status =
      stub_->ListPeers(Context().get(), v1::ListPeersRequest(), &response);
  Reply(res, status, response);
}

void HttpGateway::GetChainTips(const HttpRequest& req, HttpResponse& res) {
  absl::StatusOr<std::optional<uint64_t>> limit =
      QueryNumber(req, "limit", std::numeric_limits<uint32_t>::max());
  if (!limit.ok()) return SetBadRequest(res, limit.status().message());
  v1::GetChainTipsRequest request;
  request.set_limit(static_cast<uint32_t>(limit->value_or(0)));
  v1::GetChainTipsResponse response;
  grpc::Status status =
      stub_->GetChainTips(Context().get(), request, &response);
  Reply(res, status, response);
}

void HttpGateway::GetRecords(const std::string& ns, const std::string* key,
                             const HttpRequest& req, HttpResponse& res) {
  absl::StatusOr<std::optional<uint64_t>> page_size =
      QueryNumber(req, "pageSize", std::numeric_limits<uint32_t>::max());
  if (!page_size.ok()) return SetBadRequest(res, page_size.status().message());
  v1::GetRecordsRequest request;
  request.set_namespace_(ns);
  if (key != nullptr) request.set_key(*key);
  request.set_page_size(static_cast<uint32_t>(page_size->value_or(0)));
  if (req.has_param("pageToken")) {
    request.set_page_token(req.get_param_value("pageToken"));
  }
  v1::GetRecordsResponse response;
  grpc::Status status = stub_->GetRecords(Context().get(), request, &response);
  Reply(res, status, response);
}

void HttpGateway::ServeEvents(HttpResponse& res) {
  auto stream = std::make_shared<TipStream>();
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      return SetError(res, 503, grpc::StatusCode::UNAVAILABLE,
                      "the node is shutting down");
    }
    if (streams_.size() >= static_cast<size_t>(options_.max_event_streams)) {
      return SetError(
          res, 429, grpc::StatusCode::RESOURCE_EXHAUSTED,
          absl::StrCat("too many event streams open (at most ",
                       options_.max_event_streams, "); try again later"));
    }
    streams_.insert(stream);
  }
  stream->Begin(stub_.get());

  // The first message (the current tip) comes at once: wait for it, so that
  // a failing call is an HTTP error rather than an empty 200 stream.
  std::string first;
  grpc::Status status;
  switch (
      stream->Wait(absl::FromChrono(options_.rpc_deadline), first, status)) {
    case TipStream::Next::kEvent:
      break;
    case TipStream::Next::kEnd:
      ReleaseStream(stream);
      // OK or CANCELLED: the call was ended by Shutdown.
      if (status.ok() || status.error_code() == grpc::StatusCode::CANCELLED) {
        status = grpc::Status(grpc::StatusCode::UNAVAILABLE,
                              "the node is shutting down");
      }
      return SetGrpcError(res, status);
    case TipStream::Next::kTimeout:
      ReleaseStream(stream);
      return SetError(res, 504, grpc::StatusCode::DEADLINE_EXCEEDED,
                      "no tip from the node in time");
  }

  // Send() turns the stream into the response body (EventFeed), which
  // releases the stream when the response is gone.
  res.status = 200;
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.set_content(absl::StrCat("event: tip\ndata: ", first, "\n\n"),
                  kEventStreamType);
  res.stream = std::move(stream);
}

}  // namespace pbchain
