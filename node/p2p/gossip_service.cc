#include "node/p2p/gossip_service.h"

#include <memory>
#include <string>

namespace pbchain {
namespace {

using Envelope = v1::GossipEnvelope;

// The accepting side of a gossip stream; lives no longer than the handler.
class ServerGossipStream final : public GossipStream {
 public:
  ServerGossipStream(grpc::ServerContext* context,
                     grpc::ServerReaderWriter<Envelope, Envelope>* stream)
      : context_(context), stream_(stream) {}
  bool Read(Envelope* message) override { return stream_->Read(message); }
  bool Write(const Envelope& message) override {
    return stream_->Write(message);
  }
  void Cancel() override { context_->TryCancel(); }
  void CloseWrites() override {}  // the handler's return ends the stream
  std::string RemoteAddress() const override { return context_->peer(); }

 private:
  grpc::ServerContext* const context_;
  grpc::ServerReaderWriter<Envelope, Envelope>* const stream_;
};

}  // namespace

grpc::Status GossipServiceImpl::Exchange(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<Envelope, Envelope>* stream) {
  network_->RunInbound(std::make_unique<ServerGossipStream>(context, stream));
  return grpc::Status::OK;
}

}  // namespace pbchain
