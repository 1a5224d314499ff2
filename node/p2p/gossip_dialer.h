// Opening outbound gossip streams. The node dials over gRPC; tests hand the
// Network a dialer of their own that returns in-process fake streams.
//
// Thread safety: Dial may be called from several dial threads at once.
#ifndef PBCHAIN_NODE_P2P_GOSSIP_DIALER_H_
#define PBCHAIN_NODE_P2P_GOSSIP_DIALER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "grpcpp/security/credentials.h"
#include "node/p2p/peer_link.h"

namespace pbchain {

// Dialing gives up after this.
inline constexpr absl::Duration kConnectTimeout = absl::Seconds(5);

class GossipDialer {
 public:
  virtual ~GossipDialer() = default;

  // Connects to `address` ("host:port") and opens a Gossip.Exchange stream
  // on the live connection. Gives up (returns null) when the connection
  // attempt fails (the gRPC dialer makes one attempt per dial), after
  // kConnectTimeout, or soon after `cancelled()` turns true (the network
  // is stopping).
  // Called on a dial thread; blocks.
  virtual std::unique_ptr<GossipStream> Dial(
      const std::string& address, const std::function<bool()>& cancelled) = 0;
};

// Dials over gRPC with `credentials` (null: plaintext; TLS ones from
// common/tls.h check the peer's certificate against the address dialed),
// with messages up to `max_message_bytes` each way. A dial that fails
// while setting up the connection (a TLS handshake refused either way, a
// TLS peer dialed in plaintext: anything but a refused or unreachable
// address) is logged as a warning with gRPC's reason, once per address
// until a dial to it succeeds.
std::unique_ptr<GossipDialer> MakeGrpcGossipDialer(
    int max_message_bytes,
    std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);

}  // namespace pbchain

#endif  // PBCHAIN_NODE_P2P_GOSSIP_DIALER_H_
