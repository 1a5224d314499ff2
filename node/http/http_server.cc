#include "node/http/http_server.h"

#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "glog/logging.h"

namespace pbchain {

namespace {

// How often the watchdog looks for connections past their deadline.
constexpr absl::Duration kWatchdogPeriod = absl::Milliseconds(500);
// Bytes libmicrohttpd asks a streamed body for at a time.
constexpr size_t kStreamBlockBytes = 4096;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

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
// already turned '+' in the query into ' '): the server decodes the query
// itself (DecodeQuery), and the handler the path, per segment (so that
// "%2F" can stay inside a segment); bad escapes are refused instead of
// passed on.
size_t KeepEscaped(void*, MHD_Connection*, char* s) { return std::strlen(s); }

MHD_Result CollectArgument(void* cls, MHD_ValueKind, const char* key,
                           const char* value) {
  static_cast<std::vector<std::pair<std::string, std::string>>*>(cls)
      ->emplace_back(key != nullptr ? key : "", value != nullptr ? value : "");
  return MHD_YES;
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
                                   QuoteForMessage(k ? raw_value : raw_key));
      return;
    }
    if (!IsUtf8(*k) || !IsUtf8(*v)) {
      req.bad_query = absl::StrCat("query parameter ", QuoteForMessage(raw_key),
                                   ": not valid UTF-8");
      return;
    }
    req.params.emplace_back(std::move(*k), std::move(*v));
  }
}

}  // namespace

absl::StatusOr<HostPort> ParseHttpListenAddress(const std::string& listen) {
  HostPortRules rules;
  rules.allow_port_zero = true;
  // Names pass here and are refused by Start (AI_NUMERICHOST): a name is an
  // address that cannot be bound, like a port in use, not a malformed one
  // (pbnode exits 1 for it, 2 for a malformed --http; tests/gateway).
  return ParseHostPort(listen, rules);
}

std::optional<std::string> PercentDecode(absl::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return std::nullopt;
    const int hi = HexValue(in[i + 1]);
    const int lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

bool IsUtf8(absl::string_view s) {
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

std::string QuoteForMessage(absl::string_view s) {
  constexpr size_t kMax = 80;
  if (s.size() <= kMax) return absl::StrCat("'", s, "'");
  return absl::StrCat("'", s.substr(0, kMax), "...'");
}

bool HttpRequest::has_param(std::string_view name) const {
  return std::any_of(params.begin(), params.end(),
                     [&](const auto& p) { return p.first == name; });
}

std::string HttpRequest::get_param_value(std::string_view name) const {
  for (const auto& [key, value] : params) {
    if (key == name) return value;
  }
  return "";
}

// A request in progress: created when its headers are in, deleted when
// libmicrohttpd reports it completed.
struct HttpServer::Exchange {
  HttpRequest req;
  BodyPlan plan = BodyPlan::kNone;
  // Refused from its headers: `refusal` is the answer.
  bool refused = false;
  HttpResponse refusal;
};

// A streamed body: the response's `body`, then the pieces of its source.
struct HttpServer::BodyFeed {
  std::unique_ptr<HttpBodySource> source;
  std::string pending;  // text being sent
  size_t sent = 0;      // of `pending`
};

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Create(
    HttpServerOptions options, HttpHandler* handler) {
  PBCHAIN_ASSIGN_OR_RETURN(HostPort address,
                           ParseHttpListenAddress(options.listen));
  if (handler == nullptr) {
    return absl::InvalidArgumentError("HttpServer needs a handler");
  }
  const auto zero = std::chrono::milliseconds(0);
  if (options.tls_cert_pem.empty() != options.tls_key_pem.empty()) {
    return absl::InvalidArgumentError(
        "HTTPS needs both a certificate and its key");
  }
  if (!options.tls_cert_pem.empty() &&
      MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
    return absl::FailedPreconditionError(
        "this libmicrohttpd was built without TLS: HTTPS is not available");
  }
  if (options.max_connections <= 0 ||
      options.connection_timeout < std::chrono::seconds(1) ||
      options.request_head_deadline <= zero || options.body_deadline <= zero ||
      options.response_deadline <= zero ||
      options.connection_memory_bytes == 0 || options.max_header_count == 0) {
    return absl::InvalidArgumentError(
        "HttpServer limits and deadlines must be positive");
  }
  return std::unique_ptr<HttpServer>(
      new HttpServer(std::move(options), address.host, address.port, handler));
}

HttpServer::HttpServer(HttpServerOptions options, std::string host, int port,
                       HttpHandler* handler)
    : options_(std::move(options)),
      host_(std::move(host)),
      port_(port),
      handler_(handler) {}

HttpServer::~HttpServer() { Shutdown(); }

absl::StatusOr<int> HttpServer::Start() {
  if (started_) return absl::FailedPreconditionError("already started");
  if (stopped_) return absl::FailedPreconditionError("shut down");
  // The server binds the socket itself (for precise errors and port 0) and
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

  // Captureless lambdas: C callbacks with access to the server's privates.
  MHD_AccessHandlerCallback on_request =
      [](void* cls, MHD_Connection* connection, const char* url,
         const char* method, const char* /*version*/, const char* upload_data,
         size_t* upload_data_size, void** con_cls) -> MHD_Result {
    return static_cast<MHD_Result>(static_cast<HttpServer*>(cls)->OnRequest(
        connection, url, method, upload_data, upload_data_size, con_cls));
  };
  MHD_RequestCompletedCallback on_completed = [](void* cls,
                                                 MHD_Connection* connection,
                                                 void** con_cls,
                                                 MHD_RequestTerminationCode) {
    delete static_cast<Exchange*>(*con_cls);
    *con_cls = nullptr;
    // The next request's head is due.
    auto* server = static_cast<HttpServer*>(cls);
    server->SetDeadline(
        connection, absl::FromChrono(server->options_.request_head_deadline));
  };
  MHD_NotifyConnectionCallback on_connection =
      [](void* cls, MHD_Connection* connection, void** /*socket_context*/,
         MHD_ConnectionNotificationCode code) {
        auto* server = static_cast<HttpServer*>(cls);
        if (code == MHD_CONNECTION_NOTIFY_STARTED) {
          server->ConnectionOpened(connection);
        } else {
          // Before libmicrohttpd closes the socket.
          server->ConnectionClosed(connection);
        }
      };
  // HTTPS options, when configured (libmicrohttpd copies nothing: the
  // strings live in options_, as long as the daemon).
  const bool tls = !options_.tls_cert_pem.empty();
  std::vector<MHD_OptionItem> tls_options;
  if (tls) {
    tls_options.push_back({MHD_OPTION_HTTPS_MEM_CERT, 0,
                           const_cast<char*>(options_.tls_cert_pem.c_str())});
    tls_options.push_back({MHD_OPTION_HTTPS_MEM_KEY, 0,
                           const_cast<char*>(options_.tls_key_pem.c_str())});
    tls_options.push_back(
        {MHD_OPTION_HTTPS_PRIORITIES, 0, const_cast<char*>(kHttpsPriorities)});
  }
  tls_options.push_back({MHD_OPTION_END, 0, nullptr});
  daemon_ = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
          MHD_USE_AUTO | MHD_USE_ITC | MHD_USE_ERROR_LOG |
          (tls ? MHD_USE_TLS : 0),
      0, nullptr, nullptr, on_request, this,             //
      MHD_OPTION_EXTERNAL_LOGGER, &LogFromMhd, nullptr,  //
      MHD_OPTION_LISTEN_SOCKET, static_cast<MHD_socket>(fd),
      MHD_OPTION_CONNECTION_LIMIT,
      static_cast<unsigned int>(options_.max_connections),
      MHD_OPTION_CONNECTION_TIMEOUT,
      static_cast<unsigned int>(options_.connection_timeout.count()),
      MHD_OPTION_CONNECTION_MEMORY_LIMIT,
      static_cast<size_t>(options_.connection_memory_bytes),
      MHD_OPTION_UNESCAPE_CALLBACK, &KeepEscaped, nullptr,
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, this,    //
      MHD_OPTION_NOTIFY_CONNECTION, on_connection, this,  //
      MHD_OPTION_ARRAY, tls_options.data(),               //
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

void HttpServer::Shutdown() {
  stopped_ = true;
  if (daemon_ != nullptr) {
    // Closes the listening socket and every connection, and joins the
    // connection threads.
    MHD_stop_daemon(daemon_);
    daemon_ = nullptr;
  }
  if (watchdog_.joinable()) {
    {
      absl::MutexLock lock(&mu_);
      watchdog_stop_ = true;
    }
    watchdog_.join();
  }
}

int HttpServer::OnRequest(MHD_Connection* connection, const char* url,
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
        if (!exchange->refused) handler_->Handle(req, res);
        return Send(connection, res);
      }
      case BodyPlan::kRead:
      case BodyPlan::kDiscard:
        SetDeadline(connection, absl::FromChrono(options_.body_deadline));
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
          options_.max_request_body_bytes) {
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
    handler_->Handle(exchange->req, res);
  }
  return Send(connection, res);
}

HttpServer::BodyPlan HttpServer::CheckHeaders(MHD_Connection* connection,
                                              const HttpRequest& req,
                                              bool& refused,
                                              HttpResponse& res) const {
  refused = true;
  const bool takes_body = handler_->TakesBody(req);
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
      chunked || !length_ok || length > options_.max_discarded_body_bytes
          ? BodyPlan::kAnswerFirst
      : length > 0 ? BodyPlan::kDiscard
                   : BodyPlan::kNone;

  const int headers =
      MHD_get_connection_values(connection, MHD_HEADER_KIND, nullptr, nullptr);
  if (headers > static_cast<int>(options_.max_header_count)) {
    handler_->Refuse(
        431,
        absl::ResourceExhaustedError(absl::StrCat(
            "more than ", options_.max_header_count, " request headers")),
        res);
    return unused_body;
  }
  if (chunked) {
    handler_->Refuse(
        411,
        absl::InvalidArgumentError(
            "chunked request bodies are not accepted: send the body with a "
            "Content-Length header"),
        res);
    return unused_body;
  }
  if (!length_ok) {
    handler_->Refuse(400,
                     absl::InvalidArgumentError(absl::StrCat(
                         "Content-Length ", QuoteForMessage(length_text),
                         " is not a number")),
                     res);
    return unused_body;
  }
  if (const char* encoding = MHD_lookup_connection_value(
          connection, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_ENCODING);
      encoding != nullptr &&
      !absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(encoding),
                              "identity")) {
    handler_->Refuse(415,
                     absl::InvalidArgumentError(absl::StrCat(
                         "Content-Encoding ", QuoteForMessage(encoding),
                         " is not accepted: send the body uncompressed")),
                     res);
    return unused_body;
  }
  if (takes_body && length_text == nullptr) {
    handler_->Refuse(411,
                     absl::InvalidArgumentError(
                         "a request body needs a Content-Length header"),
                     res);
    return unused_body;
  }
  if (takes_body && length > options_.max_request_body_bytes) {
    handler_->Refuse(413,
                     absl::ResourceExhaustedError(absl::StrCat(
                         "request body larger than ",
                         options_.max_request_body_bytes, " bytes")),
                     res);
    return BodyPlan::kAnswerFirst;
  }
  refused = false;
  if (takes_body) return length > 0 ? BodyPlan::kRead : BodyPlan::kNone;
  return unused_body;
}

int HttpServer::Send(MHD_Connection* connection, HttpResponse& res) {
  const bool is_stream = res.stream != nullptr;
  MHD_Response* response = nullptr;
  if (is_stream) {
    auto* feed = new BodyFeed{std::move(res.stream), std::move(res.body)};
    MHD_ContentReaderCallback read = [](void* cls, uint64_t, char* buf,
                                        size_t max) -> ssize_t {
      auto* f = static_cast<BodyFeed*>(cls);
      while (f->sent == f->pending.size()) {
        std::optional<std::string> next = f->source->Next();
        if (!next) return MHD_CONTENT_READER_END_OF_STREAM;
        f->pending = std::move(*next);
        f->sent = 0;
      }
      const size_t n = std::min(max, f->pending.size() - f->sent);
      std::memcpy(buf, f->pending.data() + f->sent, n);
      f->sent += n;
      return static_cast<ssize_t>(n);
    };
    MHD_ContentReaderFreeCallback free_feed = [](void* cls) {
      delete static_cast<BodyFeed*>(cls);
    };
    response = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, kStreamBlockBytes, read, feed, free_feed);
    if (response == nullptr) free_feed(feed);
  } else if (res.static_body.has_value()) {
    response = MHD_create_response_from_buffer(
        res.static_body->size(), const_cast<char*>(res.static_body->data()),
        MHD_RESPMEM_PERSISTENT);
  } else {
    // The body is handed over, not copied.
    auto* body = new std::string(std::move(res.body));
    response = MHD_create_response_from_buffer_with_free_callback_cls(
        body->size(), body->data(),
        [](void* cls) { delete static_cast<std::string*>(cls); }, body);
    if (response == nullptr) delete body;
  }
  SetDeadline(connection, is_stream
                              ? absl::InfiniteDuration()
                              : absl::FromChrono(options_.response_deadline));
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

void HttpServer::ConnectionOpened(MHD_Connection* connection) {
  const MHD_ConnectionInfo* info =
      MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
  if (info == nullptr) return;
  ConnectionState state;
  state.fd = info->connect_fd;
  state.deadline =
      absl::Now() + absl::FromChrono(options_.request_head_deadline);
  absl::MutexLock lock(&mu_);
  connections_[connection] = state;
}

void HttpServer::ConnectionClosed(MHD_Connection* connection) {
  absl::MutexLock lock(&mu_);
  connections_.erase(connection);
}

void HttpServer::SetDeadline(MHD_Connection* connection,
                             absl::Duration from_now) {
  const absl::Time deadline = from_now == absl::InfiniteDuration()
                                  ? absl::InfiniteFuture()
                                  : absl::Now() + from_now;
  absl::MutexLock lock(&mu_);
  auto it = connections_.find(connection);
  if (it == connections_.end()) return;
  it->second.deadline = deadline;
}

void HttpServer::Watchdog() {
  absl::MutexLock lock(&mu_);
  while (!watchdog_stop_) {
    mu_.AwaitWithTimeout(absl::Condition(&watchdog_stop_), kWatchdogPeriod);
    const absl::Time now = absl::Now();
    for (auto& [connection, state] : connections_) {
      if (state.deadline <= now) {
        // The connection's thread sees the socket end and closes it.
        shutdown(state.fd, SHUT_RDWR);
        state.deadline = absl::InfiniteFuture();
      }
    }
  }
}

}  // namespace pbchain
