// The gossip protocol of one session (docs/PROTOCOL.md, gossip.proto): the
// reader loop that sends our Hello and dispatches every message the peer
// sends, the handshake (Hello), keep-alive (Ping / Pong), Reject, the
// headers glue to BlockSync (GetHeaders / Headers) and peer exchange
// (PeerRequest / PeerList). Inventory, GetData, Block, Transaction and
// NotFound go to the Relay.
//
// A session must open with a Hello; before it nothing else is accepted.
// Every message refreshes the peer's liveness; unsolicited kinds draw from
// its flood bucket (PeerSet::OnMessage).
//
// Thread safety: RunSession runs on the session's reader thread (an
// inbound session's gRPC handler, an outbound session's dial thread);
// MakeHello from any thread.
#ifndef PBCHAIN_NODE_P2P_GOSSIP_PROTOCOL_H_
#define PBCHAIN_NODE_P2P_GOSSIP_PROTOCOL_H_

#include "node/core/node.h"
#include "node/p2p/block_sync.h"
#include "node/p2p/network_options.h"
#include "node/p2p/peer_set.h"
#include "node/p2p/relay.h"
#include "pbchain/v1/gossip.pb.h"

namespace pbchain {

// Most locator hashes of a GetHeaders (gossip.proto).
inline constexpr int kMaxGossipLocatorHashes = 101;

class GossipProtocol {
 public:
  // All pointers must outlive it; `options` is read for advertise (set
  // before the first session) and connect_only.
  GossipProtocol(Node* node, const NetworkOptions* options, PeerSet* peers,
                 Relay* relay, BlockSync* sync);
  GossipProtocol(const GossipProtocol&) = delete;
  GossipProtocol& operator=(const GossipProtocol&) = delete;

  // Runs the registered session `peer` until it ends (the stream breaks,
  // the peer is refused or banned, or the network closes its link), then
  // unregisters it from the PeerSet, the Relay and BlockSync and shuts its
  // link down. Blocks the calling thread.
  void RunSession(const PeerPtr& peer);

  // Our Hello: genesis, tip, chain work, advertised address, node id.
  v1::Hello MakeHello() const;

 private:
  // Each returns false to end the session.
  bool Handle(const PeerPtr& peer, const v1::GossipEnvelope& message);
  bool HandleHello(const PeerPtr& peer, const v1::Hello& hello);
  bool HandleReject(const PeerPtr& peer, const v1::Reject& reject);
  void HandleGetHeaders(const PeerPtr& peer, const v1::GetHeaders& request);
  void HandleHeaders(const PeerPtr& peer, const v1::Headers& headers);
  void HandlePeerRequest(const PeerPtr& peer, const v1::PeerRequest& request);
  void HandlePeerList(const PeerPtr& peer, const v1::PeerList& list);

  Node* const node_;
  const NetworkOptions* const options_;
  PeerSet* const peers_;
  Relay* const relay_;
  BlockSync* const sync_;
};

}  // namespace pbchain

#endif  // PBCHAIN_NODE_P2P_GOSSIP_PROTOCOL_H_
