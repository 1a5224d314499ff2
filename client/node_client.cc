#include "client/node_client.h"

#include <cstdlib>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/host_port.h"
#include "common/status_macros.h"
#include "grpc/support/log.h"
#include "proto/convert.h"

namespace pbchain::client {

void QuietGrpcLogging() {
  if (std::getenv("GRPC_VERBOSITY") != nullptr) return;
  gpr_set_log_function([](gpr_log_func_args*) {});
}

absl::StatusOr<std::unique_ptr<NodeClient>> NodeClient::Create(
    const NodeClientOptions& options) {
  // The one host:port parser of pbchain: an address pbnode accepts for its
  // peers is accepted here too, and a host cannot smuggle a resolver scheme
  // ("dns:", "unix:") into the gRPC target.
  if (absl::StatusOr<HostPort> parsed = ParseHostPort(options.address);
      !parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("node ", parsed.status().message()));
  }
  if (options.call_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("call timeout must be positive");
  }
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      MakeChannelCredentials(options.tls);
  if (!credentials.ok()) return credentials.status();
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(options.max_message_bytes);
  args.SetMaxSendMessageSize(options.max_message_bytes);
  // Fail fast on a dead node instead of retrying a refused connection.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  auto channel =
      grpc::CreateCustomChannel(options.address, *std::move(credentials), args);
  return std::make_unique<NodeClient>(std::move(channel), options);
}

NodeClient::NodeClient(std::shared_ptr<grpc::Channel> channel,
                       NodeClientOptions options)
    : options_(std::move(options)),
      channel_(std::move(channel)),
      stub_(v1::NodeService::NewStub(channel_)) {}

NodeClient::~NodeClient() = default;

std::unique_ptr<grpc::ClientContext> NodeClient::NewContext() const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + options_.call_timeout));
  return ctx;
}

namespace {

// What a failed connection's message says about TLS, as one short reason
// naming the flag to check; "" when it says nothing about TLS. gRPC (with
// BoringSSL/OpenSSL) reports handshake failures as UNAVAILABLE with the
// SSL library's reason in the text: "CERTIFICATE_VERIFY_FAILED", "Peer
// name X is not in peer certificate", "WRONG_VERSION_NUMBER" (TLS to a
// plaintext server), alerts the server sent ("CERTIFICATE_REQUIRED",
// "HANDSHAKE_FAILURE", "BAD_CERTIFICATE", "UNKNOWN_CA"), and a plaintext
// client at a TLS server only sees the connection closed.
std::string TlsReason(const std::string& message, bool tls) {
  const std::string m = absl::AsciiStrToLower(message);
  if (tls) {
    if (absl::StrContains(m, "peer name") ||
        absl::StrContains(m, "not in peer certificate")) {
      return "the node's certificate does not name this host (connect with "
             "a name or IP address in its subjectAltName)";
    }
    if (absl::StrContains(m, "certificate_verify_failed") ||
        absl::StrContains(m, "certificate verify failed")) {
      return "certificate not trusted (check --tls-ca)";
    }
    if (absl::StrContains(m, "certificate_required") ||
        absl::StrContains(m, "bad_certificate") ||
        absl::StrContains(m, "unknown_ca") ||
        absl::StrContains(m, "alert handshake failure") ||
        absl::StrContains(m, "handshake_failure")) {
      return "the node refused the client certificate (check "
             "--tls-client-cert and --tls-client-key)";
    }
    if (absl::StrContains(m, "wrong_version_number") ||
        absl::StrContains(m, "wrong version number") ||
        absl::StrContains(m, "packet_length_too_long") ||
        absl::StrContains(m, "http_request")) {
      return "the node does not speak TLS (drop --tls-ca, or give the node "
             "a certificate)";
    }
    if (absl::StrContains(m, "handshake") || absl::StrContains(m, "ssl")) {
      return "TLS handshake failed";
    }
    // With TLS 1.3 a server that wants a client certificate and did not
    // get one (or did not trust it) just closes the connection.
    if (absl::StrContains(m, "socket closed") ||
        absl::StrContains(m, "connection reset") ||
        absl::StrContains(m, "end of tcp stream")) {
      return "the node closed the connection during the handshake (does it "
             "require a client certificate? check --tls-client-cert and "
             "--tls-client-key)";
    }
    return "";
  }
  if (absl::StrContains(m, "socket closed") ||
      absl::StrContains(m, "connection reset") ||
      absl::StrContains(m, "end of tcp stream") ||
      absl::StrContains(m, "endpoint closing")) {
    return "connection closed during setup; if the node serves TLS, give "
           "--tls-ca";
  }
  return "";
}

}  // namespace

absl::Status NodeClient::FromGrpc(const grpc::Status& s) const {
  if (s.ok()) return absl::OkStatus();
  const auto code = static_cast<absl::StatusCode>(s.error_code());
  switch (s.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      if (const std::string reason =
              TlsReason(s.error_message(), options_.tls.enabled());
          !reason.empty()) {
        return absl::Status(
            code, absl::StrCat(
                      options_.tls.enabled() ? "cannot reach the node at "
                                             : "cannot reach node at ",
                      options_.address,
                      options_.tls.enabled() ? " over TLS: " : ": ", reason));
      }
      return absl::Status(
          code, absl::StrCat("cannot reach node at ", options_.address, ": ",
                             s.error_message()));
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return absl::Status(
          code,
          absl::StrCat("node at ", options_.address, " did not answer within ",
                       absl::FormatDuration(options_.call_timeout)));
    case grpc::StatusCode::CANCELLED:
      return absl::Status(code, "cancelled");
    default:
      return absl::Status(code, s.error_message());
  }
}

void NodeClient::Register(grpc::ClientContext* ctx) {
  absl::MutexLock lock(&mu_);
  if (cancelled_) ctx->TryCancel();
  streams_.insert(ctx);
}

void NodeClient::Unregister(grpc::ClientContext* ctx) {
  absl::MutexLock lock(&mu_);
  streams_.erase(ctx);
}

void NodeClient::CancelStreams() {
  absl::MutexLock lock(&mu_);
  cancelled_ = true;
  for (grpc::ClientContext* ctx : streams_) ctx->TryCancel();
}

absl::StatusOr<v1::GetInfoResponse> NodeClient::GetInfo() {
  auto ctx = NewContext();
  v1::GetInfoResponse resp;
  grpc::Status s = stub_->GetInfo(ctx.get(), v1::GetInfoRequest(), &resp);
  if (!s.ok()) return FromGrpc(s);
  {
    absl::MutexLock lock(&mu_);
    if (!chain_id_) chain_id_ = resp.chain_id();
  }
  return resp;
}

absl::StatusOr<std::string> NodeClient::ChainId() {
  {
    absl::MutexLock lock(&mu_);
    if (chain_id_) return *chain_id_;
  }
  PBCHAIN_ASSIGN_OR_RETURN(v1::GetInfoResponse info, GetInfo());
  return info.chain_id();
}

absl::StatusOr<v1::GetBlockResponse> NodeClient::GetBlockByHeight(
    uint64_t height) {
  auto ctx = NewContext();
  v1::GetBlockRequest req;
  req.set_height(height);
  v1::GetBlockResponse resp;
  grpc::Status s = stub_->GetBlock(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpc(s);
  return resp;
}

absl::StatusOr<v1::GetBlockResponse> NodeClient::GetBlockByHash(
    const Hash256& hash) {
  auto ctx = NewContext();
  v1::GetBlockRequest req;
  req.set_hash(std::string(hash.bytes.begin(), hash.bytes.end()));
  v1::GetBlockResponse resp;
  grpc::Status s = stub_->GetBlock(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpc(s);
  return resp;
}

absl::Status NodeClient::GetBlocks(
    uint64_t from, std::optional<uint64_t> to,
    const std::function<bool(const v1::GetBlocksResponse&)>& on_block) {
  auto ctx = NewContext();
  v1::GetBlocksRequest req;
  req.set_from_height(from);
  if (to) req.set_to_height(*to);
  Register(ctx.get());
  auto reader = stub_->GetBlocks(ctx.get(), req);
  v1::GetBlocksResponse block;
  bool stopped = false;
  while (reader->Read(&block)) {
    if (!on_block(block)) {
      stopped = true;
      ctx->TryCancel();
      break;
    }
  }
  grpc::Status s = reader->Finish();
  Unregister(ctx.get());
  if (stopped) return absl::OkStatus();
  return FromGrpc(s);
}

absl::StatusOr<v1::GetTransactionResponse> NodeClient::GetTransaction(
    const Hash256& txid) {
  auto ctx = NewContext();
  v1::GetTransactionRequest req;
  req.set_txid(std::string(txid.bytes.begin(), txid.bytes.end()));
  v1::GetTransactionResponse resp;
  grpc::Status s = stub_->GetTransaction(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpc(s);
  return resp;
}

absl::StatusOr<v1::GetAccountResponse> NodeClient::GetAccount(
    const Address& address) {
  auto ctx = NewContext();
  v1::GetAccountRequest req;
  req.set_address(address.ToText());
  v1::GetAccountResponse resp;
  grpc::Status s = stub_->GetAccount(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpc(s);
  return resp;
}

absl::StatusOr<v1::GetAccountHistoryResponse> NodeClient::GetAccountHistory(
    const Address& address, uint32_t page_size, const std::string& page_token) {
  auto ctx = NewContext();
  v1::GetAccountHistoryRequest req;
  req.set_address(address.ToText());
  req.set_page_size(page_size);
  req.set_page_token(page_token);
  v1::GetAccountHistoryResponse resp;
  grpc::Status s = stub_->GetAccountHistory(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpc(s);
  return resp;
}

absl::StatusOr<Hash256> NodeClient::SubmitTransaction(const Transaction& tx) {
  PBCHAIN_ASSIGN_OR_RETURN(SubmitReply reply, Submit(tx));
  return reply.txid;
}

absl::StatusOr<NodeClient::SubmitReply> NodeClient::Submit(
    const Transaction& tx) {
  auto ctx = NewContext();
  v1::SubmitTransactionRequest req;
  *req.mutable_transaction() = TransactionToProto(tx);
  v1::SubmitTransactionResponse resp;
  grpc::Status s = stub_->SubmitTransaction(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpc(s);
  absl::StatusOr<Hash256> txid = Hash256::FromBytes(AsBytes(resp.txid()));
  if (!txid.ok()) {
    return absl::InternalError(absl::StrCat("node at ", options_.address,
                                            " returned a malformed txid"));
  }
  SubmitReply reply;
  reply.txid = *txid;
  if (resp.has_relayed_to_peers()) {
    reply.relayed_to_peers = resp.relayed_to_peers();
  }
  return reply;
}

absl::StatusOr<v1::GetMempoolResponse> NodeClient::GetMempool(uint32_t limit) {
  auto ctx = NewContext();
  v1::GetMempoolRequest req;
  req.set_limit(limit);
  v1::GetMempoolResponse resp;
  grpc::Status s = stub_->GetMempool(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpc(s);
  return resp;
}

absl::StatusOr<v1::GetRecordsResponse> NodeClient::GetRecords(
    const std::string& ns, const std::optional<std::string>& key,
    uint32_t page_size, const std::string& page_token) {
  auto ctx = NewContext();
  v1::GetRecordsRequest req;
  req.set_namespace_(ns);
  if (key) req.set_key(*key);
  req.set_page_size(page_size);
  req.set_page_token(page_token);
  v1::GetRecordsResponse resp;
  grpc::Status s = stub_->GetRecords(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpc(s);
  return resp;
}

absl::StatusOr<v1::ListPeersResponse> NodeClient::ListPeers() {
  auto ctx = NewContext();
  v1::ListPeersResponse resp;
  grpc::Status s = stub_->ListPeers(ctx.get(), v1::ListPeersRequest(), &resp);
  if (!s.ok()) return FromGrpc(s);
  return resp;
}

absl::StatusOr<v1::GetChainTipsResponse> NodeClient::GetChainTips(
    uint32_t limit) {
  auto ctx = NewContext();
  v1::GetChainTipsRequest req;
  req.set_limit(limit);
  v1::GetChainTipsResponse resp;
  grpc::Status s = stub_->GetChainTips(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpc(s);
  return resp;
}

absl::Status NodeClient::WatchTips(
    bool include_current,
    const std::function<bool(const v1::WatchTipsResponse&)>& on_tip,
    absl::Duration max_duration) {
  grpc::ClientContext ctx;
  const bool bounded = max_duration != absl::InfiniteDuration();
  if (bounded) ctx.set_deadline(absl::ToChronoTime(absl::Now() + max_duration));
  v1::WatchTipsRequest req;
  req.set_include_current(include_current);
  Register(&ctx);
  auto reader = stub_->WatchTips(&ctx, req);
  v1::WatchTipsResponse tip;
  bool stopped = false;
  while (reader->Read(&tip)) {
    if (!on_tip(tip)) {
      stopped = true;
      ctx.TryCancel();
      break;
    }
  }
  grpc::Status s = reader->Finish();
  Unregister(&ctx);
  if (stopped) return absl::OkStatus();
  if (bounded && s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::OkStatus();
  }
  if (s.ok()) {
    return absl::UnavailableError(
        absl::StrCat("node at ", options_.address, " ended the tip stream"));
  }
  return FromGrpc(s);
}

}  // namespace pbchain::client
