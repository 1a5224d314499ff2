#include "node/p2p/gossip_service.h"

#include <memory>
#include <string>
#include <utility>

namespace pbchain {
namespace {

using Envelope = v1::GossipEnvelope;

// The accepting side of a gossip stream; lives no longer than the handler.
class ServerGossipStream final : public GossipStream {
 public:
  ServerGossipStream(grpc::ServerContext* context,
                     grpc::ServerReaderWriter<Envelope, WireEnvelope>* stream)
      : context_(context), stream_(stream) {}
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
  void Cancel() override { context_->TryCancel(); }
  void CloseWrites() override {}  // the handler's return ends the stream
  std::string RemoteAddress() const override { return context_->peer(); }

 private:
  grpc::ServerContext* const context_;
  grpc::ServerReaderWriter<Envelope, WireEnvelope>* const stream_;
};

}  // namespace

GossipServiceImpl::GossipServiceImpl(Network* network) : network_(network) {
  AddMethod(new grpc::internal::RpcServiceMethod(
      kGossipExchangeMethod, grpc::internal::RpcMethod::BIDI_STREAMING,
      new grpc::internal::BidiStreamingHandler<GossipServiceImpl, WireEnvelope,
                                               Envelope>(
          [](GossipServiceImpl* service, grpc::ServerContext* context,
             grpc::ServerReaderWriter<Envelope, WireEnvelope>* stream) {
            return service->Exchange(context, stream);
          },
          this)));
}

grpc::Status GossipServiceImpl::Exchange(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<Envelope, WireEnvelope>* stream) {
  network_->RunInbound(std::make_unique<ServerGossipStream>(context, stream));
  return grpc::Status::OK;
}

}  // namespace pbchain
