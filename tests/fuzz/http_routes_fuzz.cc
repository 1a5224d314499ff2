// Fuzzes the HTTP gateway's request handling after the HTTP parser
// (libmicrohttpd): the query decoding the server does (percent escapes,
// UTF-8), then GatewayRoutes::Handle, which routes the raw path (segments,
// escapes, UTF-8), checks the method, parses each route's path and query
// parameters (hashes, addresses, numbers, namespaces, the body of POST
// /v1/txs) and serves embedded files.
//
// Input: "METHOD\nTARGET\nBODY": the method (at most 16 bytes), the request
// target (path, then an optional "?query" split at '&' and '=' with '+' as a
// space, as libmicrohttpd hands it over) and the body (for POST /v1/txs).
//
// The routes' stub points at 127.0.0.1:1 with a zero RPC deadline, so every
// request that gets as far as its gRPC call fails with a deadline error
// (a 5xx JSON answer) without a network round trip; what is fuzzed is
// everything the gateway does before and after that call. Event streams
// get a zero first-event deadline for the same reason.
//
// Properties: no crash; every answer has a status in 200..599 and a body
// (or an embedded file); a 4xx/5xx answer is JSON.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_split.h"
#include "grpcpp/grpcpp.h"
#include "node/http/event_stream.h"
#include "node/http/http_server.h"
#include "node/http/routes.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using namespace pbchain;

// Longest method the harness passes on (libmicrohttpd takes any token).
constexpr size_t kMaxMethodBytes = 16;

struct Gateway {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::NodeService::Stub> stub;
  std::unique_ptr<TipEventStreams> events;
  std::unique_ptr<GatewayRoutes> routes;
};

Gateway& SharedGateway() {
  static Gateway* const gateway = [] {
    auto* g = new Gateway;
    g->channel =
        grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials());
    g->stub = v1::NodeService::NewStub(g->channel);
    TipEventStreamsOptions options;
    options.first_event_deadline = absl::ZeroDuration();
    g->events = std::make_unique<TipEventStreams>(g->stub.get(), options);
    g->routes = std::make_unique<GatewayRoutes>(g->stub.get(), g->events.get(),
                                                std::chrono::milliseconds(0));
    return g;
  }();
  return *gateway;
}

// What http_server.cc does with libmicrohttpd's arguments (DecodeQuery).
void DecodeQuery(absl::string_view query, HttpRequest& req) {
  if (query.empty()) return;
  for (absl::string_view pair : absl::StrSplit(query, '&')) {
    std::pair<std::string, std::string> kv =
        absl::StrSplit(pair, absl::MaxSplits('=', 1));
    for (std::string* s : {&kv.first, &kv.second}) {
      for (char& c : *s) {
        if (c == '+') c = ' ';
      }
    }
    std::optional<std::string> k = PercentDecode(kv.first);
    std::optional<std::string> v = PercentDecode(kv.second);
    if (!k || !v) {
      req.bad_query = "query: bad percent-encoding";
      return;
    }
    if (!IsUtf8(*k) || !IsUtf8(*v)) {
      req.bad_query = "query: not valid UTF-8";
      return;
    }
    req.params.emplace_back(std::move(*k), std::move(*v));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pbchain::fuzz::QuietProtobufLogs();
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<absl::string_view> parts =
      absl::StrSplit(input, absl::MaxSplits('\n', 2));
  if (parts.size() < 2 || parts[0].empty() ||
      parts[0].size() > kMaxMethodBytes) {
    return 0;
  }
  HttpRequest req;
  req.method = std::string(parts[0]);
  const absl::string_view target = parts[1];
  const size_t q = target.find('?');
  req.path = std::string(target.substr(0, q));
  if (q != absl::string_view::npos) DecodeQuery(target.substr(q + 1), req);
  Gateway& gateway = SharedGateway();
  if (gateway.routes->TakesBody(req) && parts.size() == 3) {
    req.body = std::string(parts[2]);
  }
  HttpResponse res;
  gateway.routes->Handle(req, res);
  FUZZ_CHECK(res.status >= 200 && res.status <= 599);
  if (res.status >= 400) {
    FUZZ_CHECK(!res.body.empty() && res.body.front() == '{');
    FUZZ_CHECK(res.content_type.find("json") != std::string::npos);
  }
  return 0;
}
