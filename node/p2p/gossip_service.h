// The Gossip gRPC service: hands each inbound Exchange stream to the
// Network, which runs the session on the handler's thread (sync API: one
// thread per open session, bounded by --max-inbound).
//
// It registers Gossip.Exchange itself rather than through the generated
// v1::Gossip::Service, so that it reads WireEnvelopes (grpc_envelope.h):
// bytes that are no GossipEnvelope are charged to the peer that sent them
// instead of being taken for the end of the stream. The method name and
// the bytes on the wire are those of gossip.proto.
#ifndef PBCHAIN_NODE_P2P_GOSSIP_SERVICE_H_
#define PBCHAIN_NODE_P2P_GOSSIP_SERVICE_H_

#include "grpcpp/grpcpp.h"
#include "node/p2p/grpc_envelope.h"
#include "node/p2p/network.h"

namespace pbchain {

class GossipServiceImpl final : public grpc::Service {
 public:
  explicit GossipServiceImpl(Network* network);

  // Runs the inbound session on the handler's thread until it ends.
  grpc::Status Exchange(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::GossipEnvelope, WireEnvelope>* stream);

 private:
  Network* const network_;
};

}  // namespace pbchain

#endif  // PBCHAIN_NODE_P2P_GOSSIP_SERVICE_H_
