// What the node's peer-to-peer side is configured with (copied from flags
// by node/main.cc; tests fill it directly).
#ifndef PBCHAIN_NODE_P2P_NETWORK_OPTIONS_H_
#define PBCHAIN_NODE_P2P_NETWORK_OPTIONS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "common/lan_scan.h"
#include "grpcpp/security/credentials.h"
#include "node/core/node.h"
#include "node/p2p/clock.h"
#include "node/p2p/gossip_dialer.h"

namespace pbchain {

struct NetworkOptions {
  // Where other nodes reach this one ("host:port"); given to peers and the
  // tracker.
  std::string advertise;
  std::string tracker;             // "host:port" or empty
  std::vector<std::string> peers;  // --peer seeds
  // LAN discovery (common/lan_scan.h): probe every address of
  // `discover_subnet` (an IPv4 CIDR, checked by node/main.cc; empty = off),
  // neighbour-table hosts first, on ports [discover_low, discover_high].
  // --discover-subnet CIDR --discover-ports LOW-HIGH; --discover-local
  // LOW-HIGH is the subnet 127.0.0.1/32.
  std::string discover_subnet;
  int discover_low = 0;
  int discover_high = -1;
  // The neighbour table read before each scan (tests give a fixture).
  std::string discover_neighbour_table = kNeighbourTablePath;
  // Probe starts per second during a scan (kScanRatePerSecond).
  int discover_rate = kScanRatePerSecond;
  // Dial only `peers`; addresses learned elsewhere are not dialed.
  bool connect_only = false;
  int max_outbound = 8;
  int max_inbound = 32;
  absl::Duration ban_duration = absl::Minutes(10);
  // Largest gRPC message on gossip streams (same as the server's limit).
  int max_message_bytes = kMaxGrpcMessageBytes;
  // Credentials of every channel the node opens: to peers (gossip, local
  // discovery probes) and to the tracker. From --tls-ca and
  // --tls-client-cert/--tls-client-key (common/tls.h,
  // MakeChannelCredentials); null = plaintext.
  std::shared_ptr<grpc::ChannelCredentials> channel_credentials;

  // For tests. The time source of sessions, scores, bans, requests and
  // sync (null: the real clock); it must outlive the Network.
  Clock* clock = nullptr;
  // Opens outbound streams (null: gRPC, MakeGrpcGossipDialer).
  std::shared_ptr<GossipDialer> dialer;
  // Whether Start() runs the maintenance thread (dials, pings, timeouts,
  // batched announcements every kMaintenanceInterval). Without it the
  // owner calls Network::MaintenanceStep() itself.
  bool maintenance_thread = true;
  // Likewise for BlockSync's thread (requests bodies, connects them,
  // expires requests); without it the owner calls Network::SyncStep().
  bool sync_thread = true;
};

}  // namespace pbchain

#endif  // PBCHAIN_NODE_P2P_NETWORK_OPTIONS_H_
