#include "node/p2p/gossip_dialer.h"

#include <chrono>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "glog/logging.h"
#include "grpcpp/grpcpp.h"
#include "node/p2p/grpc_envelope.h"
#include "pbchain/v1/node.grpc.pb.h"

namespace pbchain {
namespace {

using Envelope = v1::GossipEnvelope;

// Addresses whose failed dial was logged (once each until one succeeds);
// forgotten all at once beyond this many.
constexpr size_t kMaxWarnedAddresses = 1024;

// Why the connection of `channel` (in TRANSIENT_FAILURE) failed, as gRPC
// says it: a call that does not wait for a connection fails at once with
// the channel's last connection error.
std::string ConnectFailure(const std::shared_ptr<grpc::Channel>& channel) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(500));
  v1::GetInfoRequest request;
  v1::GetInfoResponse response;
  const grpc::Status status =
      v1::NodeService::NewStub(channel)->GetInfo(&context, request, &response);
  return status.error_message();
}

// True if `reason` says no connection was made at all (the address is
// refused, unreachable or silent): normal churn, not worth a warning. Other
// failures came after the TCP connection: a TLS handshake, or a TLS server
// closing a plaintext connection ("Socket closed", "Connection reset").
bool NotReached(const std::string& reason) {
  return absl::StrContains(reason, "Connection refused") ||
         absl::StrContains(reason, "No route to host") ||
         absl::StrContains(reason, "Network is unreachable") ||
         absl::StrContains(reason, "Deadline Exceeded") ||
         absl::StrContains(reason, "Timeout occurred") ||
         absl::StrContains(reason, "DNS resolution failed");
}

// The dialing side of a gossip stream. Like the generated Gossip stub's
// Exchange, but it reads WireEnvelopes (grpc_envelope.h), so that bytes
// that are no GossipEnvelope are reported, not taken for the end.
class ClientGossipStream final : public GossipStream {
 public:
  explicit ClientGossipStream(std::shared_ptr<grpc::Channel> channel)
      : channel_(std::move(channel)),
        method_(kGossipExchangeMethod,
                grpc::internal::RpcMethod::BIDI_STREAMING, channel_),
        stream_(grpc::internal::ClientReaderWriterFactory<
                Envelope, WireEnvelope>::Create(channel_.get(), method_,
                                                &context_)) {}
  ~ClientGossipStream() override {
    context_.TryCancel();
    (void)stream_->Finish();
  }
  bool Read(Envelope* message) override {
    return ReadMessage(message) == ReadResult::kMessage;
  }
  ReadResult ReadMessage(Envelope* message) override {
    WireEnvelope wire;
    if (!stream_->Read(&wire)) return ReadResult::kEnded;
    if (wire.undecodable) return ReadResult::kUndecodable;
    *message = std::move(wire.message);
    return ReadResult::kMessage;
  }
  bool Write(const Envelope& message) override {
    return stream_->Write(message);
  }
  void Cancel() override { context_.TryCancel(); }
  void CloseWrites() override { stream_->WritesDone(); }
  std::string RemoteAddress() const override { return context_.peer(); }

 private:
  const std::shared_ptr<grpc::Channel> channel_;
  const grpc::internal::RpcMethod method_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<Envelope, WireEnvelope>> stream_;
};

class GrpcGossipDialer final : public GossipDialer {
 public:
  GrpcGossipDialer(int max_message_bytes,
                   std::shared_ptr<grpc::ChannelCredentials> credentials)
      : max_message_bytes_(max_message_bytes),
        tls_(credentials != nullptr),
        credentials_(credentials != nullptr
                         ? std::move(credentials)
                         : grpc::InsecureChannelCredentials()) {}

  std::unique_ptr<GossipStream> Dial(
      const std::string& address,
      const std::function<bool()>& cancelled) override {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(max_message_bytes_);
    args.SetMaxSendMessageSize(max_message_bytes_);
    // A dead peer is redialed by the network with its own backoff.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 1000);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
    std::shared_ptr<grpc::Channel> channel =
        grpc::CreateCustomChannel(address, credentials_, args);
    // Connect first, in slices, so that a stopping network never waits for
    // a dead address; the stream is started only on a live connection. The
    // deadline bounds real I/O, so it is on the real clock.
    const absl::Time give_up = absl::Now() + kConnectTimeout;
    while (absl::Now() < give_up && !cancelled()) {
      if (channel->WaitForConnected(std::chrono::system_clock::now() +
                                    std::chrono::milliseconds(250))) {
        Forget(address);
        return std::make_unique<ClientGossipStream>(std::move(channel));
      }
      // One connection attempt per dial: once it failed (refused, or closed
      // before the HTTP/2 handshake) gRPC would only retry on its own, so
      // the dial ends here and the network's backoff and limits decide on
      // the next (address_book.h).
      if (channel->GetState(false) == GRPC_CHANNEL_TRANSIENT_FAILURE) {
        WarnOnce(address, ConnectFailure(channel));
        break;
      }
    }
    return nullptr;
  }

 private:
  void Forget(const std::string& address) {
    absl::MutexLock lock(&mu_);
    warned_.erase(address);
  }

  // Logs a failure that happened on a live TCP connection (TLS, most
  // likely), once per address.
  void WarnOnce(const std::string& address, const std::string& reason) {
    if (NotReached(reason)) return;
    {
      absl::MutexLock lock(&mu_);
      if (warned_.size() >= kMaxWarnedAddresses) warned_.clear();
      if (!warned_.insert(address).second) return;
    }
    LOG(WARNING) << "peer " << address << ": connection failed (" << reason
                 << ")"
                 << (tls_ ? "; with TLS: is the peer's certificate signed by "
                            "--tls-ca and issued for this address, and does "
                            "the peer require a client certificate "
                            "(--tls-client-cert)?"
                          : "; dialing in plaintext: if the peer serves TLS, "
                            "give --tls-ca");
  }

  const int max_message_bytes_;
  const bool tls_;
  const std::shared_ptr<grpc::ChannelCredentials> credentials_;
  absl::Mutex mu_;
  absl::flat_hash_set<std::string> warned_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<GossipDialer> MakeGrpcGossipDialer(
    int max_message_bytes,
    std::shared_ptr<grpc::ChannelCredentials> credentials) {
  return std::make_unique<GrpcGossipDialer>(max_message_bytes,
                                            std::move(credentials));
}

}  // namespace pbchain
