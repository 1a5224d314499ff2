#include "node/p2p/gossip_dialer.h"

#include <chrono>
#include <utility>

#include "absl/time/clock.h"
#include "grpcpp/grpcpp.h"
#include "pbchain/v1/gossip.grpc.pb.h"

namespace pbchain {
namespace {

using Envelope = v1::GossipEnvelope;

// The dialing side of a gossip stream.
class ClientGossipStream final : public GossipStream {
 public:
  explicit ClientGossipStream(std::shared_ptr<grpc::Channel> channel)
      : stub_(v1::Gossip::NewStub(std::move(channel))),
        stream_(stub_->Exchange(&context_)) {}
  ~ClientGossipStream() override {
    context_.TryCancel();
    (void)stream_->Finish();
  }
  bool Read(Envelope* message) override { return stream_->Read(message); }
  bool Write(const Envelope& message) override {
    return stream_->Write(message);
  }
  void Cancel() override { context_.TryCancel(); }
  void CloseWrites() override { stream_->WritesDone(); }
  std::string RemoteAddress() const override { return context_.peer(); }

 private:
  std::unique_ptr<v1::Gossip::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<Envelope, Envelope>> stream_;
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
