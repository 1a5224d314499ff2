#include "node/http_gateway.h"

#include <httplib.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <limits>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "chain/bytes.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"
#include "node/web_assets.h"

namespace pbchain {

// The limits compiled into libcpp-httplib are the ones the header names.
static_assert(kHttpMaxUriLength == CPPHTTPLIB_REQUEST_URI_MAX_LENGTH);
static_assert(kHttpMaxHeaderLength == CPPHTTPLIB_HEADER_MAX_LENGTH);
static_assert(kHttpThreads > kHttpMaxEventStreams,
              "event streams must leave threads for other requests");

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

constexpr std::array<const char*, 17> kCodeNames = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

const char* CodeName(grpc::StatusCode code) {
  const int i = static_cast<int>(code);
  return i >= 0 && i < static_cast<int>(kCodeNames.size()) ? kCodeNames[i]
                                                           : "UNKNOWN";
}

// The error body {"code":N,"status":"NAME","message":"..."} with `http`.
void SetError(httplib::Response& res, int http, grpc::StatusCode code,
              absl::string_view message) {
  nlohmann::json body = {{"code", static_cast<int>(code)},
                         {"status", CodeName(code)},
                         {"message", std::string(message)}};
  res.status = http;
  // Messages may quote request bytes: invalid UTF-8 is replaced, not thrown.
  res.set_content(
      body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
      kJsonType);
}

void SetGrpcError(httplib::Response& res, const grpc::Status& status) {
  SetError(res, HttpStatusFromGrpc(status.error_code()), status.error_code(),
           status.error_message());
}

void SetBadRequest(httplib::Response& res, absl::string_view message) {
  SetError(res, 400, grpc::StatusCode::INVALID_ARGUMENT, message);
}

// The response of a unary call: its JSON, or the error.
void Reply(httplib::Response& res, const grpc::Status& status,
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
    const httplib::Request& req, const char* name,
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

absl::StatusOr<std::pair<std::string, int>> ParseHttpListenAddress(
    const std::string& listen) {
  const size_t colon = listen.rfind(':');
  if (colon == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("want HOST:PORT, got '", listen, "'"));
  }
  std::string host = listen.substr(0, colon);
  const std::string port_text = listen.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "an IPv6 host must be in brackets ([::1]:PORT), got '", listen, "'"));
  }
  if (host.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("no host in '", listen,
                     "' (use 127.0.0.1 for loopback, 0.0.0.0 for all)"));
  }
  int port = -1;
  if (port_text.empty() || port_text.size() > 5 ||
      !std::all_of(port_text.begin(), port_text.end(),
                   [](char c) { return c >= '0' && c <= '9'; }) ||
      !absl::SimpleAtoi(port_text, &port) || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat(
        "port must be 0..65535 (0 picks a free one), got '", port_text, "'"));
  }
  return std::make_pair(host, port);
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
  absl::StatusOr<std::pair<std::string, int>> address =
      ParseHttpListenAddress(options.listen);
  if (!address.ok()) return address.status();
  if (channel == nullptr) {
    return absl::InvalidArgumentError("HttpGateway needs a channel");
  }
  if (options.max_event_streams < 0 || options.threads <= 0 ||
      options.threads <= options.max_event_streams ||
      options.event_keepalive <= std::chrono::milliseconds(0) ||
      options.rpc_deadline <= std::chrono::milliseconds(0)) {
    return absl::InvalidArgumentError(
        "HttpGateway limits must be positive, with more threads than event "
        "streams");
  }
  return std::unique_ptr<HttpGateway>(new HttpGateway(
      std::move(options), address->first, address->second, std::move(channel)));
}

HttpGateway::HttpGateway(HttpGatewayOptions options, std::string host, int port,
                         std::shared_ptr<grpc::Channel> channel)
    : options_(std::move(options)),
      host_(std::move(host)),
      port_(port),
      channel_(std::move(channel)),
      stub_(v1::NodeService::NewStub(channel_)),
      server_(std::make_unique<httplib::Server>()) {
  InstallHandlers();
}

HttpGateway::~HttpGateway() { Shutdown(); }

void HttpGateway::InstallHandlers() {
  httplib::Server& s = *server_;
  const int threads = options_.threads;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  s.set_payload_max_length(kHttpMaxRequestBodyBytes);
  s.set_read_timeout(kHttpReadTimeout);
  s.set_write_timeout(kHttpWriteTimeout);
  s.set_keep_alive_timeout(kHttpIdleTimeout.count());
  s.set_keep_alive_max_count(kHttpMaxRequestsPerConnection);
  s.set_tcp_nodelay(true);

  // Before the body is read: refuse what would make the server read an
  // unbounded body or many headers. A Content-Length above the limit is
  // refused by the library (payload_max_length: 413) without keeping the
  // body.
  s.set_pre_routing_handler([](const httplib::Request& req,
                               httplib::Response& res) {
    if (req.headers.size() > kHttpMaxHeaderCount) {
      SetError(
          res, 431, grpc::StatusCode::RESOURCE_EXHAUSTED,
          absl::StrCat("more than ", kHttpMaxHeaderCount, " request headers"));
      return httplib::Server::HandlerResponse::Handled;
    }
    const bool has_body_method =
        req.method == "POST" || req.method == "PUT" || req.method == "PATCH";
    if (has_body_method && (!req.has_header("Content-Length") ||
                            req.has_header("Transfer-Encoding"))) {
      SetError(res, 411, grpc::StatusCode::INVALID_ARGUMENT,
               "a request body needs a Content-Length header (chunked "
               "bodies are not accepted)");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });

  // Every method and path goes to Dispatch, which knows the routes (so a
  // known path with the wrong method is 405, not 404).
  const std::string any = R"([\s\S]*)";
  auto dispatch = [this](const httplib::Request& req, httplib::Response& res) {
    Dispatch(req, res);
  };
  s.Get(any, dispatch);
  s.Post(any, dispatch);
  s.Put(any, dispatch);
  s.Patch(any, dispatch);
  s.Delete(any, dispatch);
  s.Options(any, dispatch);

  // Errors the library makes itself (400 bad request line, 413 body too
  // large, 414 URI too long, ...) get the same JSON shape.
  s.set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty() || res.is_chunked_content_provider_) {
          return httplib::Server::HandlerResponse::Unhandled;
        }
        grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
        std::string message = absl::StrCat("HTTP error ", res.status);
        switch (res.status) {
          case 400:
            code = grpc::StatusCode::INVALID_ARGUMENT;
            message = "malformed HTTP request";
            break;
          case 404:
            code = grpc::StatusCode::NOT_FOUND;
            break;
          case 413:
            code = grpc::StatusCode::RESOURCE_EXHAUSTED;
            message = absl::StrCat("request body larger than ",
                                   kHttpMaxRequestBodyBytes, " bytes");
            break;
          case 414:
            code = grpc::StatusCode::RESOURCE_EXHAUSTED;
            message = absl::StrCat("request target longer than ",
                                   kHttpMaxUriLength, " bytes");
            break;
          case 431:
            code = grpc::StatusCode::RESOURCE_EXHAUSTED;
            message = "request headers too large";
            break;
          default:
            code = res.status >= 500 ? grpc::StatusCode::INTERNAL
                                     : grpc::StatusCode::INVALID_ARGUMENT;
        }
        const int status = res.status;
        SetError(res, status, code, message);
        return httplib::Server::HandlerResponse::Handled;
      }));
  s.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        SetError(res, 500, grpc::StatusCode::INTERNAL, "internal error");
      });
  s.set_post_routing_handler(
      [](const httplib::Request&, httplib::Response& res) {
        res.set_header("X-Content-Type-Options", "nosniff");
      });
}

absl::StatusOr<int> HttpGateway::Start() {
  if (started_) return absl::FailedPreconditionError("already started");
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::FailedPreconditionError("shut down");
  }
  int port = port_;
  errno = 0;
  if (port_ == 0) {
    port = server_->bind_to_any_port(host_);
  } else if (!server_->bind_to_port(host_, port_)) {
    port = -1;
  }
  if (port <= 0) {
    const int err = errno;
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", options_.listen,
        err != 0 ? absl::StrCat(": ", strerror(err))
                 : std::string(": unknown host or address in use")));
  }
  started_ = true;
  auto listening = std::make_shared<std::atomic<bool>>(false);
  listener_ = std::thread([this, listening] {
    server_->listen_after_bind();
    listening->store(true);
  });
  // stop() is a no-op until the server runs: wait for it, so that a
  // Shutdown right after Start cannot miss it.
  while (!server_->is_running() && !listening->load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
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
  // Each stream's provider sees the end and finishes its response (the
  // last chunk); wait for that, bounded, before stopping the server (which
  // would cut a stream between two chunks).
  for (const std::shared_ptr<TipStream>& stream : open) stream->Cancel();
  open.clear();
  {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(this, &HttpGateway::NoStreams),
                         absl::FromChrono(kHttpShutdownGrace));
  }
  if (started_) {
    server_->stop();
    if (listener_.joinable()) listener_.join();
  }
}

std::unique_ptr<grpc::ClientContext> HttpGateway::Context() const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + options_.rpc_deadline);
  return ctx;
}

void HttpGateway::Dispatch(const httplib::Request& req,
                           httplib::Response& res) {
  // Route on the raw target so that an escaped '/' inside a segment (a
  // record key) stays inside it.
  const absl::string_view target = req.target;
  const absl::string_view raw_path = target.substr(0, target.find('?'));
  if (raw_path.empty() || raw_path.front() != '/') {
    SetBadRequest(res, "request target must start with '/'");
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
    ServeAsset(absl::StrCat("/", absl::StrJoin(segments, "/")), req, res);
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

void HttpGateway::ServeAsset(const std::string& path,
                             const httplib::Request& req,
                             httplib::Response& res) {
  const WebAsset* asset = FindWebAsset(path == "/" ? "/index.html" : path);
  if (asset == nullptr) {
    SetError(res, 404, grpc::StatusCode::NOT_FOUND,
             absl::StrCat("no such file ", Quote(path)));
    return;
  }
  res.status = 200;
  res.set_header("Cache-Control", "no-cache");
  res.set_content(asset->data.data(), asset->data.size(),
                  std::string(asset->content_type));
}

void HttpGateway::GetInfo(httplib::Response& res) {
  v1::GetInfoResponse response;
  grpc::Status status =
      stub_->GetInfo(Context().get(), v1::GetInfoRequest(), &response);
  Reply(res, status, response);
}

void HttpGateway::ListBlocks(const httplib::Request& req,
                             httplib::Response& res) {
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

void HttpGateway::GetBlock(const std::string& id, httplib::Response& res) {
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

void HttpGateway::GetTransaction(const std::string& txid,
                                 httplib::Response& res) {
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

void HttpGateway::SubmitTransaction(const httplib::Request& req,
                                    httplib::Response& res) {
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

void HttpGateway::GetAccount(const std::string& address,
                             httplib::Response& res) {
  v1::GetAccountRequest request;
  request.set_address(address);
  v1::GetAccountResponse response;
  grpc::Status status = stub_->GetAccount(Context().get(), request, &response);
  Reply(res, status, response);
}

void HttpGateway::GetAccountHistory(const std::string& address,
                                    const httplib::Request& req,
                                    httplib::Response& res) {
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

void HttpGateway::GetMempool(const httplib::Request& req,
                             httplib::Response& res) {
  absl::StatusOr<std::optional<uint64_t>> limit =
      QueryNumber(req, "limit", std::numeric_limits<uint32_t>::max());
  if (!limit.ok()) return SetBadRequest(res, limit.status().message());
  v1::GetMempoolRequest request;
  request.set_limit(static_cast<uint32_t>(limit->value_or(0)));
  v1::GetMempoolResponse response;
  grpc::Status status = stub_->GetMempool(Context().get(), request, &response);
  Reply(res, status, response);
}

void HttpGateway::ListPeers(httplib::Response& res) {
  v1::ListPeersResponse response;
  grpc::Status status =
      stub_->ListPeers(Context().get(), v1::ListPeersRequest(), &response);
  Reply(res, status, response);
}

void HttpGateway::GetChainTips(const httplib::Request& req,
                               httplib::Response& res) {
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
                             const httplib::Request& req,
                             httplib::Response& res) {
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

void HttpGateway::ServeEvents(httplib::Response& res) {
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
  auto release = [this, stream] {
    stream->Cancel();
    stream->AwaitDone();
    absl::MutexLock lock(&mu_);
    streams_.erase(stream);
  };
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
      release();
      if (status.ok()) {
        status = grpc::Status(grpc::StatusCode::UNAVAILABLE,
                              "the node is shutting down");
      }
      return SetGrpcError(res, status);
    case TipStream::Next::kTimeout:
      release();
      return SetError(res, 504, grpc::StatusCode::DEADLINE_EXCEEDED,
                      "no tip from the node in time");
  }

  res.status = 200;
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  const absl::Duration keepalive = absl::FromChrono(options_.event_keepalive);
  res.set_chunked_content_provider(
      kEventStreamType,
      [stream, keepalive, pending = std::move(first)](
          size_t, httplib::DataSink& sink) mutable -> bool {
        std::string event = std::move(pending);
        pending.clear();
        grpc::Status end;
        if (event.empty()) {
          switch (stream->Wait(keepalive, event, end)) {
            case TipStream::Next::kEvent:
              break;
            case TipStream::Next::kTimeout: {
              constexpr std::string_view kKeepAlive = ": keepalive\n\n";
              return sink.write(kKeepAlive.data(), kKeepAlive.size());
            }
            case TipStream::Next::kEnd:
              // The last chunk, then false: the library closes the
              // connection (rather than keeping it idle, which would hold
              // up Shutdown).
              sink.done();
              return false;
          }
        }
        const std::string text =
            absl::StrCat("event: tip\ndata: ", event, "\n\n");
        return sink.write(text.data(), text.size());
      },
      [release](bool) { release(); });
}

}  // namespace pbchain
