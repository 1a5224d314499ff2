// The node's peer-to-peer side: gossip sessions with other nodes (one
// bidirectional Gossip.Exchange stream per pair, whichever side dialed), the
// address book fed by --peer seeds, the tracker, peer exchange and local
// discovery, relay of blocks and transactions, headers-first sync
// (block_sync.h), and misbehaviour scores with temporary bans.
//
// Network is the facade the node's services use; the work is done by
//   PeerSet         (peer_set.h)        sessions, dials, scores, bans, flood
//                                       buckets, the address book;
//   GossipProtocol  (gossip_protocol.h) the session loop, handshake,
//                                       headers glue, peer exchange;
//   Relay           (relay.h)           inventory, GetData, blocks and
//                                       transactions between peers;
//   BlockSync       (block_sync.h)      headers-first download.
//
// Threads: each session has a reader (an outbound session's own thread, or
// the gRPC handler thread for inbound) and a writer (PeerLink); one
// maintenance thread dials, pings and expires; BlockSync, TrackerClient and
// local discovery have their own. Message handlers run on the session's
// reader thread and call into the Node without holding network locks.
//
// Lock order: Network's mutex, then the PeerSet's, then a Peer's, then a
// PeerLink's. Relay's mutex is a leaf; BlockSync's is taken before the
// chain's only. None is held while calling a handler, a listener or the
// Node's SubmitBlock / SubmitTransaction.
//
// Thread safety: every public method may be called from any thread.
#ifndef PBCHAIN_NODE_P2P_NETWORK_H_
#define PBCHAIN_NODE_P2P_NETWORK_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/lan_scan.h"
#include "node/core/node.h"
#include "node/p2p/address_book.h"
#include "node/p2p/block_sync.h"
#include "node/p2p/clock.h"
#include "node/p2p/gossip_dialer.h"
#include "node/p2p/gossip_protocol.h"
#include "node/p2p/network_options.h"
#include "node/p2p/peer_link.h"
#include "node/p2p/peer_set.h"
#include "node/p2p/relay.h"
#include "pbchain/v1/gossip.pb.h"
#include "pbchain/v1/node.pb.h"

namespace pbchain {

class TrackerClient;

// How often the maintenance thread dials, pings, expires and flushes the
// batched transaction announcements.
inline constexpr absl::Duration kMaintenanceInterval = absl::Milliseconds(100);
// LAN discovery (--discover-subnet / --discover-local; common/lan_scan.h)
// probes with this deadline, and scans again after this long while the
// node has no peer.
inline constexpr absl::Duration kDiscoverProbeTimeout = kScanProbeTimeout;
inline constexpr absl::Duration kDiscoverRescanInterval = absl::Seconds(30);
// Longest ban the operator may set, and longest ban reason kept (bytes).
inline constexpr absl::Duration kMaxBanDuration = absl::Hours(24 * 3650);
inline constexpr size_t kMaxBanReasonBytes = 256;

// The ban key of an operator's target: an IP address without port (IPv6
// with or without brackets; returned without them, in CanonicalIp form:
// "2001:DB8:0:0::1" is "2001:db8::1", "::ffff:10.0.0.5" is "10.0.0.5"), a
// dialable "host:port" (CanonicalAddress: an IP host canonical, a name as
// given), or else a node id (IsValidNodeId, without ':'). INVALID_ARGUMENT
// for anything else, for a loopback IP in any spelling (127.0.0.0/8, ::1,
// ::ffff:127.x.y.z: every local node shares it, so it would match none:
// ban a node id or host:port) and for an unspecified IP or host (0.0.0.0,
// ::: no peer has it).
absl::StatusOr<std::string> ParseBanTarget(const std::string& target);

class Network {
 public:
  // Seeds the address book with options.peers. Nothing runs before Start
  // but BlockSync's thread (unless options.sync_thread is false), idle.
  Network(Node* node, NetworkOptions options);
  ~Network();  // Stop()
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  // Starts dialing, the tracker client and discovery; from now on inbound
  // sessions are accepted. `advertise` overrides options.advertise when
  // non-empty (the server's port is known only once it listens).
  void Start(const std::string& advertise = "") ABSL_LOCKS_EXCLUDED(mu_);
  // Leaves the tracker, ends every session and joins every thread. Inbound
  // sessions end when their handler returns (RunInbound); call before the
  // gRPC server's Shutdown. Idempotent.
  void Stop() ABSL_LOCKS_EXCLUDED(mu_);

  // Runs an inbound session on the calling thread (the gRPC handler's)
  // until it ends. A stream that arrives before Start or after Stop, or
  // beyond the inbound limits, is refused at once.
  void RunInbound(std::unique_ptr<GossipStream> stream);

  // For NodeService.GetInfo / ListPeers: handshaken peers, whether a
  // header sync is under way, connected peers and known addresses.
  uint32_t peer_count() const { return peers_.connected_count(); }
  bool syncing() const { return sync_.syncing(); }
  // The highest block a connected peer claims (BlockSync::best_peer_height),
  // 0 with no peers. Claims, not proof: for metrics, not health.
  uint32_t best_peer_height() const { return sync_.best_peer_height(); }
  // Evidence for health (BlockSync::run_pending, validated_header_height):
  // checked headers with more work than our tip, never a claim alone.
  bool sync_run_pending() const { return sync_.run_pending(); }
  uint32_t validated_header_height() const {
    return sync_.validated_header_height();
  }
  void ListPeers(v1::ListPeersResponse* response) const {
    peers_.ListPeers(response);
  }

  // Adds addresses from the tracker (TrackerClient) or elsewhere; ignores
  // those of other networks, this node, or not "host:port".
  void AddKnown(const v1::PeerInfo& peer, AddressSource source) {
    peers_.AddKnown(peer, source);
  }
  void RemoveKnown(const std::string& address) { peers_.RemoveKnown(address); }

  // --- The operator's controls (node/admin's AdminService) -------------
  // Keeps `address` ("host:port") as a peer dialed at once and redialed
  // like a --peer seed, even with connect_only. Returns whether a session
  // with it is open already. INVALID_ARGUMENT for a malformed address or
  // this node's own advertised address.
  absl::StatusOr<bool> AddPeer(const std::string& address);
  // Ends the sessions with `target` (a "host:port" dialed or announced,
  // or a node id) and forgets its addresses. NOT_FOUND if no session and
  // no address matched; INVALID_ARGUMENT for an empty target.
  absl::StatusOr<PeerSet::Removal> DisconnectPeer(const std::string& target);
  // Bans `target` (ParseBanTarget) for `duration` (zero: the options'
  // ban_duration; at most kMaxBanDuration) with `reason` (at most
  // kMaxBanReasonBytes; empty: "banned by the operator"), ending the
  // matching sessions (their number in *sessions_closed). Returns when the
  // ban ends. INVALID_ARGUMENT naming the field for bad input;
  // RESOURCE_EXHAUSTED at kMaxOperatorBans operator bans.
  absl::StatusOr<absl::Time> Ban(const std::string& target,
                                 absl::Duration duration,
                                 const std::string& reason,
                                 uint32_t* sessions_closed);
  // Lifts the ban of `target`. NOT_FOUND if it is not banned,
  // INVALID_ARGUMENT for a malformed target.
  absl::Status Unban(const std::string& target);
  // The bans in force (the operator's and misbehaviour bans).
  std::vector<BanEntry> Bans() const { return peers_.Bans(); }

  const std::string& node_id() const { return node_->node_id(); }

  // For the metrics exporter (node/metrics): peers by direction and their
  // best height, misbehaviour and bans, gossip traffic.
  PeerSet::PeerCounts peer_counts() const { return peers_.peer_counts(); }
  uint64_t misbehaviour_points() const { return peers_.misbehaviour_points(); }
  uint64_t bans() const { return peers_.bans(); }
  const GossipCounters& gossip_counters() const {
    return peers_.gossip_counters();
  }
  const NetworkOptions& options() const { return options_; }

  // One round of the maintenance thread's work at the clock's time: joins
  // ended dial threads, closes sessions past their timeouts, heals scores,
  // pings, expires bans and requests, sends batched announcements and peer
  // requests, announces an unannounced tip, and dials. For owners that run
  // without the thread (options.maintenance_thread false, e.g. tests with
  // a FakeClock); harmless alongside it. Any thread.
  void MaintenanceStep() ABSL_LOCKS_EXCLUDED(mu_);
  // One round of BlockSync's thread (BlockSync::Step), for owners that run
  // without it (options.sync_thread false). Any thread.
  void SyncStep() { sync_.Step(); }

 private:
  void MaintenanceLoop() ABSL_LOCKS_EXCLUDED(mu_);
  void DiscoverLoop() ABSL_LOCKS_EXCLUDED(mu_);
  // Starts a thread that dials `address` and runs the session.
  void StartOutbound(const std::string& address)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Joins the dial threads that ended.
  void ReapSessions() ABSL_LOCKS_EXCLUDED(mu_);
  bool stopping() const ABSL_LOCKS_EXCLUDED(mu_);

  Node* const node_;
  NetworkOptions options_;  // advertise is set by Start, then constant
  Clock* const clock_;
  const std::shared_ptr<GossipDialer> dialer_;
  PeerSet peers_;
  BlockSync sync_;
  Relay relay_;
  GossipProtocol protocol_;

  mutable absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Dial threads (each runs its session), and the tokens of those that
  // ended.
  uint64_t next_token_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<uint64_t, std::thread> outbound_threads_ ABSL_GUARDED_BY(mu_);
  std::vector<uint64_t> finished_ ABSL_GUARDED_BY(mu_);

  // Made by Start, taken apart by Stop.
  uint64_t tip_listener_ ABSL_GUARDED_BY(mu_) = 0;
  std::unique_ptr<TrackerClient> tracker_ ABSL_GUARDED_BY(mu_);
  std::thread maintenance_ ABSL_GUARDED_BY(mu_);
  std::thread discover_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pbchain

#endif  // PBCHAIN_NODE_P2P_NETWORK_H_
