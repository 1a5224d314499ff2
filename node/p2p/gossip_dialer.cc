#include "node/p2p/gossip_dialer.h"

#include <chrono>
#include <utility>

#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "node/p2p/grpc_envelope.h"

namespace pbchain {
namespace {

using Envelope = v1::GossipEnvelope;

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
  explicit GrpcGossipDialer(int max_message_bytes)
      : max_message_bytes_(max_message_bytes) {}

  std::unique_ptr<GossipStream> Dial(
      const std::string& address,
      const std::function<bool()>& cancelled) override {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(max_message_bytes_);
    args.SetMaxSendMessageSize(max_message_bytes_);
    // A dead peer is redialed by the network with its own backoff.
    args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 1000);
    args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
    std::shared_ptr<grpc::Channel> channel = grpc::CreateCustomChannel(
        address, grpc::InsecureChannelCredentials(), args);
    // Connect first, in slices, so that a stopping network never waits for
    // a dead address; the stream is started only on a live connection. The
    // deadline bounds real I/O, so it is on the real clock.
    const absl::Time give_up = absl::Now() + kConnectTimeout;
    while (absl::Now() < give_up && !cancelled()) {
      if (channel->WaitForConnected(std::chrono::system_clock::now() +
                                    std::chrono::milliseconds(250))) {
        return std::make_unique<ClientGossipStream>(std::move(channel));
      }
      // One connection attempt per dial: once it failed (refused, or closed
      // before the HTTP/2 handshake) gRPC would only retry on its own, so
      // the dial ends here and the network's backoff and limits decide on
      // the next (address_book.h).
      if (channel->GetState(false) == GRPC_CHANNEL_TRANSIENT_FAILURE) break;
    }
    return nullptr;
  }

 private:
  const int max_message_bytes_;
};

}  // namespace

std::unique_ptr<GossipDialer> MakeGrpcGossipDialer(int max_message_bytes) {
  return std::make_unique<GrpcGossipDialer>(max_message_bytes);
}

}  // namespace pbchain
