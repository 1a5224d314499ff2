// The /v1 routes of the HTTP gateway (the table is in docs/OPERATIONS.md)
// and the explorer's files: an HttpHandler that turns each request into one
// NodeService call (two for GET /v1/blocks) and its answer into JSON
// (node/http/api_json.h). Hashes in paths use the display form (64 hex
// chars, byte-reversed). Every other GET path is a file of client/web/.
#ifndef PBCHAIN_NODE_HTTP_ROUTES_H_
#define PBCHAIN_NODE_HTTP_ROUTES_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"
#include "node/http/api_json.h"
#include "node/http/event_stream.h"
#include "node/http/http_server.h"
#include "pbchain/v1/node.grpc.pb.h"

namespace pbchain {

// GET /v1/blocks: blocks per response by default (the newest ones) and at
// most; a response also stops before it would exceed
// kHttpMaxBlocksResponseBytes (it always carries at least one block). A cut
// response says where to continue in "nextFrom".
inline constexpr uint64_t kHttpDefaultBlocksPerPage = 20;
inline constexpr uint64_t kHttpMaxBlocksPerPage = 100;
inline constexpr size_t kHttpMaxBlocksResponseBytes = 8 * 1024 * 1024;
// Deadline of each gRPC call the gateway makes.
inline constexpr std::chrono::seconds kHttpRpcDeadline{10};

class GatewayRoutes final : public HttpHandler {
 public:
  // Routes calling `stub` with `rpc_deadline` on each call, and serving
  // GET /v1/events/tips from `events`; both must outlive this object. Any
  // thread.
  GatewayRoutes(v1::NodeService::Stub* stub, TipEventStreams* events,
                std::chrono::milliseconds rpc_deadline);

  // Only POST /v1/txs takes a body. Any thread.
  bool TakesBody(const HttpRequest& req) const override;

  // Serves one request of any method and path: a /v1 route (one blocking
  // gRPC call, two for /v1/blocks; an event stream holds the connection
  // thread while open), an embedded file for other GET and HEAD paths, or
  // the JSON error (400 for a malformed path or query, 404 for no route or
  // file, 405 with Allow for a method the path does not take). Any
  // connection thread.
  void Handle(const HttpRequest& req, HttpResponse& res) override;

  // The JSON error body for a request the server refused. Any thread.
  void Refuse(int http_status, const absl::Status& error,
              HttpResponse& res) const override;

 private:
  std::unique_ptr<grpc::ClientContext> Context() const;

  void ServeAsset(const std::string& path, HttpResponse& res);
  void ServeEvents(HttpResponse& res);
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

  v1::NodeService::Stub* const stub_;
  TipEventStreams* const events_;
  const std::chrono::milliseconds rpc_deadline_;
};

}  // namespace pbchain

#endif  // PBCHAIN_NODE_HTTP_ROUTES_H_
