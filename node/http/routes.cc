#include "node/http/routes.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "chain/bytes.h"
#include "common/status.h"
#include "google/protobuf/util/json_util.h"
#include "node/http/web_assets.h"

namespace pbchain {

namespace {

constexpr char kEventStreamType[] = "text/event-stream";

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

GatewayRoutes::GatewayRoutes(v1::NodeService::Stub* stub,
                             TipEventStreams* events,
                             std::chrono::milliseconds rpc_deadline)
    : stub_(stub), events_(events), rpc_deadline_(rpc_deadline) {}

bool GatewayRoutes::TakesBody(const HttpRequest& req) const {
  return req.method == "POST" && req.path == "/v1/txs";
}

void GatewayRoutes::Refuse(int http_status, const absl::Status& error,
                           HttpResponse& res) const {
  SetApiError(res, http_status, ToGrpcStatus(error).error_code(),
              error.message());
}

std::unique_ptr<grpc::ClientContext> GatewayRoutes::Context() const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + rpc_deadline_);
  return ctx;
}

void GatewayRoutes::Handle(const HttpRequest& req, HttpResponse& res) {
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
      SetBadRequest(res, absl::StrCat("path: bad percent-encoding in ",
                                      QuoteForMessage(raw)));
      return;
    }
    if (!IsUtf8(*decoded)) {
      SetBadRequest(res, absl::StrCat("path: ", QuoteForMessage(raw),
                                      " does not decode to valid UTF-8"));
      return;
    }
    segments.push_back(std::move(*decoded));
  }
  const bool get = req.method == "GET" || req.method == "HEAD";

  if (segments.empty() || segments[0] != "v1") {
    if (!get) {
      res.set_header("Allow", "GET, HEAD");
      SetApiError(
          res, 405, grpc::StatusCode::UNIMPLEMENTED,
          absl::StrCat("method ", req.method, " not allowed on ",
                       QuoteForMessage(raw_path), "; allowed: GET, HEAD"));
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
    SetApiError(res, 404, grpc::StatusCode::NOT_FOUND,
                absl::StrCat("no route ", QuoteForMessage(raw_path)));
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
    SetApiError(res, 405, grpc::StatusCode::UNIMPLEMENTED,
                absl::StrCat("method ", req.method, " not allowed on ",
                             QuoteForMessage(raw_path), "; allowed: ", allow));
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

void GatewayRoutes::ServeAsset(const std::string& path, HttpResponse& res) {
  const WebAsset* asset = FindWebAsset(path == "/" ? "/index.html" : path);
  if (asset == nullptr) {
    SetApiError(res, 404, grpc::StatusCode::NOT_FOUND,
                absl::StrCat("no such file ", QuoteForMessage(path)));
    return;
  }
  res.status = 200;
  res.set_header("Cache-Control", "no-cache");
  res.static_body = asset->data;
  res.content_type = std::string(asset->content_type);
}

void GatewayRoutes::GetInfo(HttpResponse& res) {
  v1::GetInfoResponse response;
  grpc::Status status =
      stub_->GetInfo(Context().get(), v1::GetInfoRequest(), &response);
  ReplyWithMessage(res, status, response);
}

void GatewayRoutes::ListBlocks(const HttpRequest& req, HttpResponse& res) {
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
    std::optional<std::string> json = ToApiJson(block);
    if (!json) {
      ctx->TryCancel();
      reader->Finish();
      return SetApiError(res, 500, grpc::StatusCode::INTERNAL,
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

void GatewayRoutes::GetBlock(const std::string& id, HttpResponse& res) {
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
                          QuoteForMessage(id)));
  }
  v1::GetBlockResponse response;
  grpc::Status status = stub_->GetBlock(Context().get(), request, &response);
  ReplyWithMessage(res, status, response);
}

void GatewayRoutes::GetTransaction(const std::string& txid, HttpResponse& res) {
  std::optional<std::string> bytes = DisplayHashToBytes(txid);
  if (!bytes) {
    return SetBadRequest(
        res, absl::StrCat("txid: want 64 hex chars (display order), got ",
                          QuoteForMessage(txid)));
  }
  v1::GetTransactionRequest request;
  request.set_txid(*bytes);
  v1::GetTransactionResponse response;
  grpc::Status status =
      stub_->GetTransaction(Context().get(), request, &response);
  ReplyWithMessage(res, status, response);
}

void GatewayRoutes::SubmitTransaction(const HttpRequest& req,
                                      HttpResponse& res) {
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
  ReplyWithMessage(res, status, response);
}

void GatewayRoutes::GetAccount(const std::string& address, HttpResponse& res) {
  v1::GetAccountRequest request;
  request.set_address(address);
  v1::GetAccountResponse response;
  grpc::Status status = stub_->GetAccount(Context().get(), request, &response);
  ReplyWithMessage(res, status, response);
}

void GatewayRoutes::GetAccountHistory(const std::string& address,
                                      const HttpRequest& req,
                                      HttpResponse& res) {
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
  ReplyWithMessage(res, status, response);
}

void GatewayRoutes::GetMempool(const HttpRequest& req, HttpResponse& res) {
  absl::StatusOr<std::optional<uint64_t>> limit =
      QueryNumber(req, "limit", std::numeric_limits<uint32_t>::max());
  if (!limit.ok()) return SetBadRequest(res, limit.status().message());
  v1::GetMempoolRequest request;
  request.set_limit(static_cast<uint32_t>(limit->value_or(0)));
  v1::GetMempoolResponse response;
  grpc::Status status = stub_->GetMempool(Context().get(), request, &response);
  ReplyWithMessage(res, status, response);
}

void GatewayRoutes::ListPeers(HttpResponse& res) {
  v1::ListPeersResponse response;
  grpc::Status status =
      stub_->ListPeers(Context().get(), v1::ListPeersRequest(), &response);
  ReplyWithMessage(res, status, response);
}

void GatewayRoutes::GetChainTips(const HttpRequest& req, HttpResponse& res) {
  absl::StatusOr<std::optional<uint64_t>> limit =
      QueryNumber(req, "limit", std::numeric_limits<uint32_t>::max());
  if (!limit.ok()) return SetBadRequest(res, limit.status().message());
  v1::GetChainTipsRequest request;
  request.set_limit(static_cast<uint32_t>(limit->value_or(0)));
  v1::GetChainTipsResponse response;
  grpc::Status status =
      stub_->GetChainTips(Context().get(), request, &response);
  ReplyWithMessage(res, status, response);
}

void GatewayRoutes::GetRecords(const std::string& ns, const std::string* key,
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
  ReplyWithMessage(res, status, response);
}

void GatewayRoutes::ServeEvents(HttpResponse& res) {
  absl::StatusOr<std::unique_ptr<HttpBodySource>> stream = events_->Open();
  if (!stream.ok()) return SetGrpcError(res, ToGrpcStatus(stream.status()));
  res.status = 200;
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.content_type = kEventStreamType;
  res.stream = std::move(*stream);
}

}  // namespace pbchain
