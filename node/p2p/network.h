// The node's peer-to-peer side: gossip sessions with other nodes (one
// bidirectional Gossip.Exchange stream per pair, whichever side dialed), the
// address book fed by --peer seeds, the tracker, peer exchange and local
// discovery, relay of blocks and transactions, headers-first sync
// (block_sync.h), and misbehaviour scores with temporary bans.
//
// Threads: each session has a reader (an outbound session's own thread, or
// the gRPC handler thread for inbound) and a writer (PeerLink); one
// maintenance thread dials, pings and expires; BlockSync, TrackerClient and
// local discovery have their own. Message handlers run on the session's
// reader thread and call into the Node without holding network locks.
//
// Thread safety: every public method may be called from any thread.
#ifndef PBCHAIN_NODE_P2P_NETWORK_H_
#define PBCHAIN_NODE_P2P_NETWORK_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "node/p2p/address_book.h"
#include "node/p2p/block_sync.h"
#include "node/core/node.h"
#include "node/p2p/peer_link.h"
#include "pbchain/v1/gossip.pb.h"
#include "pbchain/v1/node.pb.h"

namespace pbchain {

class TrackerClient;

// Misbehaviour: a peer whose score reaches kBanScore is disconnected and
// banned for NetworkOptions::ban_duration. Points per offence:
inline constexpr int kBanScore = 100;
inline constexpr int kInvalidBlockPoints = 100;  // also invalid headers
inline constexpr int kMalformedPoints = 20;      // undecodable, wrong sizes
inline constexpr int kOversizedListPoints = 50;  // a list over its cap
inline constexpr int kProtocolViolationPoints = 10;
inline constexpr int kInvalidTransactionPoints = 10;  // context-free failure
// Unsolicited messages (everything but answers to our requests) above this
// rate cost 1 point each: a token bucket of kFloodBurst tokens refilled at
// kFloodRatePerSecond.
inline constexpr double kFloodRatePerSecond = 500;
inline constexpr double kFloodBurst = 2000;
// Scores heal: kScoreDecay points every kScoreDecayInterval, so that an
// honest peer's rare slips never add up to a ban.
inline constexpr int kScoreDecay = 10;
inline constexpr absl::Duration kScoreDecayInterval = absl::Minutes(1);

// Caps of gossip lists (gossip.proto).
inline constexpr int kMaxInventoryHashes = 1000;
inline constexpr int kMaxGetDataBlocks = 128;
inline constexpr int kMaxPeerListEntries = 100;
inline constexpr int kMaxGossipLocatorHashes = 101;

// Session timing.
inline constexpr absl::Duration kHelloTimeout = absl::Seconds(10);
// Dialing gives up after this; a session shorter than kStableSession counts
// as a failed dial (backoff before the next).
inline constexpr absl::Duration kConnectTimeout = absl::Seconds(5);
inline constexpr absl::Duration kStableSession = absl::Seconds(30);
// How often the maintenance thread dials, pings, expires and flushes the
// batched transaction announcements.
inline constexpr absl::Duration kMaintenanceInterval = absl::Milliseconds(100);
inline constexpr absl::Duration kPingInterval = absl::Seconds(20);
// A peer silent this long (no message, not even a Pong) is dropped.
inline constexpr absl::Duration kPeerSilenceTimeout = absl::Seconds(60);
inline constexpr absl::Duration kPeerExchangeInterval = absl::Seconds(60);
// Hashes remembered per peer (what it has / was sent) and per node (what
// was rejected), to keep messages from looping and bodies from travelling
// twice.
inline constexpr size_t kMaxKnownPerPeer = 5000;
inline constexpr size_t kMaxRecentRejects = 20000;
// A transaction asked of one peer is not asked of another for this long.
inline constexpr absl::Duration kTxRequestTimeout = absl::Seconds(30);
inline constexpr size_t kMaxTxRequests = 50000;
inline constexpr int kMaxTxRequestsPerPeer = 5000;
// Likewise for relayed blocks.
inline constexpr absl::Duration kBlockRequestTimeout = absl::Seconds(10);
inline constexpr size_t kMaxBlockRequests = 10000;
// Local discovery probes at most this many ports, each with this deadline.
inline constexpr int kMaxDiscoverPorts = 1024;
inline constexpr absl::Duration kDiscoverProbeTimeout = absl::Milliseconds(500);

struct NetworkOptions {
  // Where other nodes reach this one ("host:port"); given to peers and the
  // tracker.
  std::string advertise;
  std::string tracker;             // "host:port" or empty
  std::vector<std::string> peers;  // --peer seeds
  // --discover-local: probe 127.0.0.1 ports [discover_low, discover_high].
  int discover_low = 0;
  int discover_high = -1;
  // Dial only `peers`; addresses learned elsewhere are not dialed.
  bool connect_only = false;
  int max_outbound = 8;
  int max_inbound = 32;
  absl::Duration ban_duration = absl::Minutes(10);
  // Largest gRPC message on gossip streams (same as the server's limit).
  int max_message_bytes = kMaxGrpcMessageBytes;
};

// A set of hashes that forgets the oldest past its capacity.
class RecentHashes {
 public:
  explicit RecentHashes(size_t capacity) : capacity_(capacity) {}
  bool contains(const Hash256& h) const { return set_.contains(h); }
  void insert(const Hash256& h);
  // Forgets `h` (its slot in the age order is reclaimed when it expires).
  void erase(const Hash256& h) { set_.erase(h); }

 private:
  size_t capacity_;
  absl::flat_hash_set<Hash256> set_;
  std::deque<Hash256> order_;
};

class Network {
 public:
  Network(Node* node, NetworkOptions options);
  ~Network();  // Stop()
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  // Starts dialing, the tracker client and discovery; from now on inbound
  // sessions are accepted. `advertise` overrides options.advertise when
  // non-empty (the server's port is known only once it listens).
  void Start(const std::string& advertise = "");
  // Leaves the tracker, ends every session and joins every thread. Inbound
  // sessions end when their handler returns (RunInbound); call before the
  // gRPC server's Shutdown.
  void Stop();

  // Runs an inbound session on the gRPC handler thread until it ends.
  void RunInbound(std::unique_ptr<GossipStream> stream);

  // For NodeService.GetInfo / ListPeers.
  uint32_t peer_count() const;
  bool syncing() const { return sync_.syncing(); }
  void ListPeers(v1::ListPeersResponse* response) const;

  // Adds addresses from the tracker (TrackerClient) or elsewhere.
  void AddKnown(const v1::PeerInfo& peer, AddressSource source);
  void RemoveKnown(const std::string& address);

  const std::string& node_id() const { return node_->node_id(); }
  const NetworkOptions& options() const { return options_; }

 private:
  struct Peer {
    uint64_t id = 0;
    bool inbound = false;
    std::string dial_address;  // outbound: the address we dialed
    std::unique_ptr<PeerLink> link;
    absl::Time connected_since;
    // Guarded by the network's mu_.
    bool hello_done = false;
    std::string node_id;
    std::string listen_address;
    std::string remote_ip;  // transport address, for bans off loopback
    v1::PeerRole role = v1::PEER_ROLE_UNSPECIFIED;
    uint64_t height = 0;
    Hash256 tip;
    int score = 0;
    absl::Time last_message;
    double flood_tokens = kFloodBurst;
    absl::Time flood_refill;
    uint64_t ping_nonce = 0;  // outstanding Ping, 0 if none
    absl::Time ping_sent;
    absl::Time last_decay;
    bool peer_request_outstanding = false;
    int tx_requested = 0;               // our GetData txids it owes
    std::vector<Hash256> tx_announce;   // batched for the next Inventory
    RecentHashes known{kMaxKnownPerPeer};
    // Blocks we GetData'd from it and it has not sent yet (a one-shot
    // ticket: a block sent again draws from the flood bucket).
    RecentHashes asked_blocks{kMaxGetDataBlocks * 8};
  };
  using PeerPtr = std::shared_ptr<Peer>;

  void RunSession(PeerPtr peer);
  void DialLoopOnce(absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);
  void MaintenanceLoop();
  void DiscoverLoop();
  void StartOutbound(const std::string& address)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReapSessions() ABSL_LOCKS_EXCLUDED(mu_);

  // Handlers, on the session's reader thread. Each returns false to end the
  // session.
  bool Handle(const PeerPtr& peer, const v1::GossipEnvelope& message);
  bool HandleHello(const PeerPtr& peer, const v1::Hello& hello);
  void HandleInventory(const PeerPtr& peer, const v1::Inventory& inv);
  void HandleGetData(const PeerPtr& peer, const v1::GetData& request);
  void HandleBlock(const PeerPtr& peer, const v1::BlockMsg& message);
  void HandleTransaction(const PeerPtr& peer, const v1::TransactionMsg& msg);
  void HandleGetHeaders(const PeerPtr& peer, const v1::GetHeaders& request);
  void HandleHeaders(const PeerPtr& peer, const v1::Headers& headers);
  void HandlePeerRequest(const PeerPtr& peer, const v1::PeerRequest& request);
  void HandlePeerList(const PeerPtr& peer, const v1::PeerList& list);
  void HandleNotFound(const PeerPtr& peer, const v1::NotFound& message);

  // Adds to the peer's score; at kBanScore bans it and ends the session.
  void Misbehaving(const PeerPtr& peer, int points, const std::string& why);
  void Misbehaving(uint64_t peer_id, int points, const std::string& why);
  // Sends a Reject and ends the session once it is written.
  void RejectAndClose(const PeerPtr& peer, v1::RejectCode code,
                      const std::string& why);
  bool SendTo(uint64_t peer_id, v1::GossipEnvelope message);
  // Charges one unsolicited message to the peer's flood bucket.
  bool ChargeFlood(const PeerPtr& peer) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Relay of what this node accepted (tip listener / transaction listener).
  void AnnounceBlock(const Hash256& hash, uint32_t height);
  void AnnounceTransaction(const Hash256& txid);

  v1::Hello MakeHello() const;
  v1::GossipEnvelope TakeTxAnnouncements(Peer& peer)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ForgetTxRequest(const Hash256& txid) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Inbound streams open at once, handshakes included: room for every
  // allowed peer plus as many again (and a few) still saying hello.
  int MaxInboundSessions() const { return 2 * options_.max_inbound + 8; }
  bool IsBannedLocked(const std::string& node_id, const std::string& ip,
                      absl::Time now) const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  Node* const node_;
  NetworkOptions options_;  // advertise is set by Start, then constant
  BlockSync sync_;

  mutable absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_peer_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<uint64_t, PeerPtr> peers_ ABSL_GUARDED_BY(mu_);
  AddressBook book_ ABSL_GUARDED_BY(mu_);
  // Outbound session threads, and the ids of those that ended.
  std::map<uint64_t, std::thread> outbound_threads_ ABSL_GUARDED_BY(mu_);
  std::vector<uint64_t> finished_ ABSL_GUARDED_BY(mu_);
  int inbound_sessions_ ABSL_GUARDED_BY(mu_) = 0;
  // Addresses that turned out to be this node.
  absl::flat_hash_set<std::string> self_addresses_ ABSL_GUARDED_BY(mu_);
  RecentHashes recent_rejects_ ABSL_GUARDED_BY(mu_){kMaxRecentRejects};
  // Transactions asked for: by whom and when.
  std::map<Hash256, std::pair<uint64_t, absl::Time>> tx_requests_
      ABSL_GUARDED_BY(mu_);
  std::map<Hash256, absl::Time> block_requests_ ABSL_GUARDED_BY(mu_);
  Hash256 last_announced_ ABSL_GUARDED_BY(mu_);
  absl::Time last_exchange_ ABSL_GUARDED_BY(mu_);

  uint64_t tip_listener_ = 0;
  std::unique_ptr<TrackerClient> tracker_;
  std::thread maintenance_;
  std::thread discover_;
};

}  // namespace pbchain

#endif  // PBCHAIN_NODE_P2P_NETWORK_H_
