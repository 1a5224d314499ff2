// NodeClient: a thin, deadline-bounded client of one pbnode's NodeService
// (proto/pbchain/v1/node.proto). Every unary call carries a deadline
// (NodeClientOptions::call_timeout, default 10 s); gRPC errors come back as
// absl::Status with the same code and a message that names the node, e.g.
// "cannot reach node at 127.0.0.1:7701: Connection refused" (UNAVAILABLE) or
// "node at 127.0.0.1:7701 did not answer within 10s" (DEADLINE_EXCEEDED).
// With NodeClientOptions::tls.ca set the channel is TLS (common/tls.h), and
// a failed handshake is told in one line that names the likely cause and
// the flag to check, e.g. "cannot reach the node at 127.0.0.1:7701 over
// TLS: certificate not trusted (check --tls-ca)" (UNAVAILABLE).
//
// Thread safety: all methods may be called from any thread at the same time
// (gRPC stubs are thread-safe); the chain id cache is guarded by a mutex.
#ifndef PBCHAIN_CLIENT_NODE_CLIENT_H_
#define PBCHAIN_CLIENT_NODE_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "chain/address.h"
#include "chain/bytes.h"
#include "chain/transaction.h"
#include "common/defaults.h"
#include "common/tls.h"
#include "grpcpp/grpcpp.h"
#include "pbchain/v1/node.grpc.pb.h"

namespace pbchain::client {

// Default node address: pbnode's default --listen (common/defaults.h), also
// the first node of tools/devnet.
inline constexpr const char* kDefaultNodeAddress =
    ::pbchain::kDefaultNodeAddress;
// Default per-call deadline.
inline constexpr absl::Duration kDefaultCallTimeout = absl::Seconds(10);
// Largest message the client accepts (the node's default limit).
inline constexpr int kClientMaxMessageBytes = 4 * 1024 * 1024;

struct NodeClientOptions {
  // "HOST:PORT" of the node (IPv6 hosts in brackets).
  std::string address = kDefaultNodeAddress;
  // Deadline of each unary call and of each whole GetBlocks stream.
  absl::Duration call_timeout = kDefaultCallTimeout;
  int max_message_bytes = kClientMaxMessageBytes;
  // --tls-ca (TLS, verifying the node against this CA only) and
  // --tls-client-cert / --tls-client-key (mutual TLS). No CA: plaintext.
  ClientTlsFiles tls;
};

// Drops the log lines gRPC itself prints on stderr (e.g. "E1207 ...
// ssl_transport_security.cc] Handshake failed ..."): NodeClient reports
// every failure as one line of its own. Leaves gRPC's logging alone when
// $GRPC_VERBOSITY is set (to debug gRPC). The command-line clients call it
// first thing in main; any thread, but before starting calls.
void QuietGrpcLogging();

class NodeClient {
 public:
  // Creates a client with a channel to options.address: TLS when
  // options.tls.ca is set, else insecure. Connects lazily (the first call
  // fails with UNAVAILABLE if the node is down or the TLS handshake fails).
  // INVALID_ARGUMENT if the address is not "HOST:PORT" with a port 1..65535
  // ("node address ..."), the timeout is not positive, or a TLS file is
  // missing, unreadable or inconsistent (the message starts with the flag:
  // "--tls-ca FILE: ...", see common/tls.h).
  static absl::StatusOr<std::unique_ptr<NodeClient>> Create(
      const NodeClientOptions& options);

  // A client over an existing channel (tests use the server's
  // InProcessChannel). options.address is only used in messages.
  NodeClient(std::shared_ptr<grpc::Channel> channel, NodeClientOptions options);
  ~NodeClient();
  NodeClient(const NodeClient&) = delete;
  NodeClient& operator=(const NodeClient&) = delete;

  const NodeClientOptions& options() const { return options_; }
  const std::string& address() const { return options_.address; }
  // The channel, for services this class does not wrap (pbcli health).
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  // The raw stub, for calls this class does not wrap (set your own deadline).
  v1::NodeService::Stub& stub() { return *stub_; }

  // GetInfo. Errors: the gRPC status (UNAVAILABLE, DEADLINE_EXCEEDED, ...).
  absl::StatusOr<v1::GetInfoResponse> GetInfo();
  // The node's chain id (GetInfo once, then cached). Errors as GetInfo.
  absl::StatusOr<std::string> ChainId();

  // GetBlock by main-chain height / by hash (any branch). NOT_FOUND if the
  // node does not know the block.
  absl::StatusOr<v1::GetBlockResponse> GetBlockByHeight(uint64_t height);
  absl::StatusOr<v1::GetBlockResponse> GetBlockByHash(const Hash256& hash);

  // GetBlocks stream over [from, to] (to absent = up to the tip). Calls
  // `on_block` for each block in ascending order; stops early (OK) when it
  // returns false. The whole stream is bounded by call_timeout.
  absl::Status GetBlocks(
      uint64_t from, std::optional<uint64_t> to,
      const std::function<bool(const v1::GetBlocksResponse&)>& on_block);

  // GetTransaction. NOT_FOUND if neither the chain nor the mempool has it.
  absl::StatusOr<v1::GetTransactionResponse> GetTransaction(
      const Hash256& txid);
  // GetAccount. Never NOT_FOUND (an unseen address has balance 0).
  absl::StatusOr<v1::GetAccountResponse> GetAccount(const Address& address);
  // GetAccountHistory (newest first, paged; page_size 0 = node default).
  absl::StatusOr<v1::GetAccountHistoryResponse> GetAccountHistory(
      const Address& address, uint32_t page_size = 0,
      const std::string& page_token = "");

  // SubmitTransaction of a signed transfer; returns the txid. The node's
  // verdict keeps its code and message: FAILED_PRECONDITION (stale nonce, low
  // balance, duplicate keyed record, fee policy), INVALID_ARGUMENT (bad
  // signature, malformed), ALREADY_EXISTS (pooled or confirmed already),
  // RESOURCE_EXHAUSTED (mempool full), or a transport error.
  absl::StatusOr<Hash256> SubmitTransaction(const Transaction& tx);
  // The same, with what the node said about relaying it.
  struct SubmitReply {
    Hash256 txid;
    // Connected peers the node announces it to; nullopt from a node too old
    // to say. 0: the node had no peer (it announces the transaction to each
    // peer that connects later).
    std::optional<uint32_t> relayed_to_peers;
  };
  absl::StatusOr<SubmitReply> Submit(const Transaction& tx);

  // GetMempool (limit 0 = node default 100).
  absl::StatusOr<v1::GetMempoolResponse> GetMempool(uint32_t limit = 0);
  // One page of GetRecords of `ns`, optionally only `key`.
  absl::StatusOr<v1::GetRecordsResponse> GetRecords(
      const std::string& ns, const std::optional<std::string>& key,
      uint32_t page_size = 0, const std::string& page_token = "");
  // ListPeers.
  absl::StatusOr<v1::ListPeersResponse> ListPeers();
  // GetChainTips (limit 0 = node default 20).
  absl::StatusOr<v1::GetChainTipsResponse> GetChainTips(uint32_t limit = 0);

  // Streams WatchTips, calling `on_tip` for each message, until `on_tip`
  // returns false (OK), `max_duration` passes (OK), CancelStreams() is called
  // (CANCELLED), or the stream fails/ends (its status; a server shutdown is
  // UNAVAILABLE). Blocks the calling thread.
  absl::Status WatchTips(
      bool include_current,
      const std::function<bool(const v1::WatchTipsResponse&)>& on_tip,
      absl::Duration max_duration = absl::InfiniteDuration());

  // Cancels every stream currently running on this client (WatchTips,
  // GetBlocks) and every stream started afterwards; they return CANCELLED.
  // Callable from any thread (e.g. a signal-handling thread), but not from a
  // signal handler itself.
  void CancelStreams();

  // grpc::Status as absl::Status with the node address in the message (see
  // the file comment). Pure.
  absl::Status FromGrpc(const grpc::Status& status) const;

 private:
  std::unique_ptr<grpc::ClientContext> NewContext() const;
  void Register(grpc::ClientContext* ctx);
  void Unregister(grpc::ClientContext* ctx);

  NodeClientOptions options_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::NodeService::Stub> stub_;
  absl::Mutex mu_;
  std::optional<std::string> chain_id_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<grpc::ClientContext*> streams_ ABSL_GUARDED_BY(mu_);
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace pbchain::client

#endif  // PBCHAIN_CLIENT_NODE_CLIENT_H_
