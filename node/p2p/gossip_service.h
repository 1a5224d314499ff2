// The Gossip gRPC service: hands each inbound Exchange stream to the
// Network, which runs the session on the handler's thread (sync API: one
// thread per open session, bounded by --max-inbound).
#ifndef PBCHAIN_NODE_P2P_GOSSIP_SERVICE_H_
#define PBCHAIN_NODE_P2P_GOSSIP_SERVICE_H_

#include "grpcpp/grpcpp.h"
#include "node/p2p/network.h"
#include "pbchain/v1/gossip.grpc.pb.h"

namespace pbchain {

class GossipServiceImpl final : public v1::Gossip::Service {
 public:
  explicit GossipServiceImpl(Network* network) : network_(network) {}

  grpc::Status Exchange(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::GossipEnvelope, v1::GossipEnvelope>* stream)
      override;

 private:
  Network* const network_;
};

}  // namespace pbchain

#endif  // PBCHAIN_NODE_P2P_GOSSIP_SERVICE_H_
