// pbchain.v1.NodeService (proto/pbchain/v1/node.proto) over a Node: a thin
// gRPC callback service. Every request is validated here or in
// proto/convert.h before it reaches the node; errors leave through one
// ToGrpcStatus (common/status.h).
//
// Limits the service enforces (the proto documents most of them):
//  - GetHeaders: at most kMaxLocatorHashes locator entries, at most
//    kMaxHeadersPerRequest headers per answer.
//  - GetBlocks: at most kMaxBlocksPerStream blocks per call; a longer range
//    is cut there (like the end of the chain: the caller asks again from the
//    next height).
//  - GetMempool: kDefaultMempoolLimit entries by default, kMaxMempoolLimit
//    at most.
//  - GetRecords: kDefaultRecordsPageSize per page by default,
//    kMaxRecordsPageSize at most, and a page ends before the record that
//    would take its encoded entries past kMaxRecordsResponseBytes (always at
//    least one record), with a next_page_token there.
//  - GetAccountHistory: kDefaultHistoryPageSize per page by default,
//    kMaxHistoryPageSize at most, and cut before kMaxHistoryResponseBytes
//    the same way.
//  - GetChainTips: kDefaultChainTipsLimit tips by default,
//    kMaxChainTipsLimit at most.
//  - WatchTips: at most kMaxQueuedTipEvents tip events wait for a slow
//    reader; beyond that the oldest are dropped (each message is
//    self-contained, as node.proto allows).
//  - Message size: the server's receive and send limits are set by
//    pbnode's main.cc (--max_message_bytes, default kMaxGrpcMessageBytes =
//    4 MiB, above the 1,000,000-byte consensus block limit plus protobuf
//    overhead). gRPC itself refuses a larger request with RESOURCE_EXHAUSTED
//    before any handler runs.
//
// Without a Network (unit tests), peer_count is 0, ListPeers is empty and
// syncing is false.
//
// Handlers run on gRPC's callback threads. They never wait on the network;
// they take the chain and mempool locks briefly, and BroadcastBlock /
// SubmitTransaction validate in the calling thread (signature checks).
#ifndef PBCHAIN_NODE_RPC_NODE_SERVICE_H_
#define PBCHAIN_NODE_RPC_NODE_SERVICE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"
#include "node/core/node.h"
#include "node/p2p/network.h"
#include "pbchain/v1/node.grpc.pb.h"

namespace pbchain {

inline constexpr size_t kMaxLocatorHashes = 101;
inline constexpr uint32_t kMaxHeadersPerRequest = 2000;
inline constexpr uint64_t kMaxBlocksPerStream = 1000;
inline constexpr uint32_t kDefaultMempoolLimit = 100;
inline constexpr uint32_t kMaxMempoolLimit = 1000;
inline constexpr uint32_t kDefaultRecordsPageSize = 100;
inline constexpr uint32_t kMaxRecordsPageSize = 1000;
inline constexpr uint32_t kDefaultHistoryPageSize = 50;
inline constexpr uint32_t kMaxHistoryPageSize = 500;
// Byte budgets of one GetRecords / GetAccountHistory page: the encoded
// entries (with their framing in the response). One entry is at most about
// 66 KB (a 64 KiB record payload in a transaction), so a page stays far
// below the 4 MiB gRPC message limit: 1000 records or 500 history entries
// of that size would not.
inline constexpr size_t kMaxRecordsResponseBytes = 1 << 20;
inline constexpr size_t kMaxHistoryResponseBytes = 1 << 20;
inline constexpr uint32_t kDefaultChainTipsLimit = 20;
inline constexpr uint32_t kMaxChainTipsLimit = 100;
inline constexpr size_t kMaxQueuedTipEvents = 256;
// Main-chain blocks the network hash rate estimate looks back over.
inline constexpr uint32_t kHashRateWindow = 120;

class NodeServiceImpl final : public v1::NodeService::CallbackService {
 public:
  // Serves `node`, which must outlive the service and every call on it
  // (shut the grpc::Server down before destroying the node).
  // `network` may be null (a node without peers: tests, tools).
  explicit NodeServiceImpl(Node* node, Network* network = nullptr);
  ~NodeServiceImpl();

  // Ends every open WatchTips stream with OK (the client may reconnect), so
  // that the server's Shutdown need not wait for them. Call before it.
  void EndStreams();

  // Status codes per RPC (besides INTERNAL / DATA_LOSS for store failures;
  // BroadcastBlock and SubmitTransaction: UNAVAILABLE while the node cannot
  // write its datadir, a full disk or a failed filesystem):
  //  GetInfo           never fails otherwise.
  //  GetBlock          INVALID_ARGUMENT: no selector, hash not 32 bytes.
  //                    NOT_FOUND: unknown hash or height above the tip,
  //                    or a block this node's datadir cannot read (damaged;
  //                    ask another node).
  //  GetHeaders        INVALID_ARGUMENT: more than 101 locator hashes, a
  //                    locator or stop hash not 32 bytes.
  //  GetBlocks         INVALID_ARGUMENT: to_height < from_height.
  //                    OUT_OF_RANGE: from_height above the tip. ABORTED: the
  //                    chain reorganized under the stream (retry).
  //                    CANCELLED when the client goes away. NOT_FOUND: a
  //                    block of the range the datadir cannot read (damaged).
  //  BroadcastBlock    INVALID_ARGUMENT: no block or a malformed one;
  //                    consensus verdicts are in the response. Refusals
  //                    and verdicts of both calls start with their reason
  //                    name (PROTOCOL.md section 13), then ": " and detail.
  //  GetBlockTemplate  INVALID_ARGUMENT: bad miner address text.
  //  SubmitTransaction INVALID_ARGUMENT: none, malformed, a coinbase, or a
  //                    context-free rule; others as Mempool::Add.
  //  GetTransaction    INVALID_ARGUMENT: txid not 32 bytes. NOT_FOUND.
  //  GetAccount        INVALID_ARGUMENT: bad address text.
  //  GetMempool        never fails otherwise (limit is capped).
  //  GetRecords        INVALID_ARGUMENT: bad namespace, key of 0 or >128
  //                    bytes, key together with a page token, malformed page
  //                    token or one from another namespace.
  //  GetAccountHistory INVALID_ARGUMENT: bad address text, malformed page
  //                    token.
  //  GetChainTips      never fails otherwise (limit is capped).
  //  ListPeers         never fails.
  //  WatchTips         ends with OK when the node shuts down (EndStreams;
  //                    a call arriving after that ends at once), CANCELLED
  //                    when the client goes away.
  grpc::ServerUnaryReactor* GetInfo(grpc::CallbackServerContext* ctx,
                                    const v1::GetInfoRequest* request,
                                    v1::GetInfoResponse* response) override;
  grpc::ServerUnaryReactor* GetBlock(grpc::CallbackServerContext* ctx,
                                     const v1::GetBlockRequest* request,
                                     v1::GetBlockResponse* response) override;
  grpc::ServerUnaryReactor* GetHeaders(
      grpc::CallbackServerContext* ctx, const v1::GetHeadersRequest* request,
      v1::GetHeadersResponse* response) override;
  grpc::ServerWriteReactor<v1::GetBlocksResponse>* GetBlocks(
      grpc::CallbackServerContext* ctx,
      const v1::GetBlocksRequest* request) override;
  grpc::ServerUnaryReactor* BroadcastBlock(
      grpc::CallbackServerContext* ctx,
      const v1::BroadcastBlockRequest* request,
      v1::BroadcastBlockResponse* response) override;
  grpc::ServerUnaryReactor* GetBlockTemplate(
      grpc::CallbackServerContext* ctx,
      const v1::GetBlockTemplateRequest* request,
      v1::GetBlockTemplateResponse* response) override;
  grpc::ServerUnaryReactor* SubmitTransaction(
      grpc::CallbackServerContext* ctx,
      const v1::SubmitTransactionRequest* request,
      v1::SubmitTransactionResponse* response) override;
  grpc::ServerUnaryReactor* GetTransaction(
      grpc::CallbackServerContext* ctx,
      const v1::GetTransactionRequest* request,
      v1::GetTransactionResponse* response) override;
  grpc::ServerUnaryReactor* GetAccount(
      grpc::CallbackServerContext* ctx, const v1::GetAccountRequest* request,
      v1::GetAccountResponse* response) override;
  grpc::ServerUnaryReactor* GetMempool(
      grpc::CallbackServerContext* ctx, const v1::GetMempoolRequest* request,
      v1::GetMempoolResponse* response) override;
  grpc::ServerUnaryReactor* GetRecords(
      grpc::CallbackServerContext* ctx, const v1::GetRecordsRequest* request,
      v1::GetRecordsResponse* response) override;
  grpc::ServerUnaryReactor* ListPeers(grpc::CallbackServerContext* ctx,
                                      const v1::ListPeersRequest* request,
                                      v1::ListPeersResponse* response) override;
  grpc::ServerWriteReactor<v1::WatchTipsResponse>* WatchTips(
      grpc::CallbackServerContext* ctx,
      const v1::WatchTipsRequest* request) override;
  grpc::ServerUnaryReactor* GetAccountHistory(
      grpc::CallbackServerContext* ctx,
      const v1::GetAccountHistoryRequest* request,
      v1::GetAccountHistoryResponse* response) override;
  grpc::ServerUnaryReactor* GetChainTips(
      grpc::CallbackServerContext* ctx, const v1::GetChainTipsRequest* request,
      v1::GetChainTipsResponse* response) override;

 private:
  struct OpenStreams;  // the open WatchTips streams (node_service.cc)
  Node* const node_;
  Network* const network_;
  const std::unique_ptr<OpenStreams> streams_;
};

}  // namespace pbchain

#endif  // PBCHAIN_NODE_RPC_NODE_SERVICE_H_
