// The node's peers: the gossip sessions open right now (inbound and
// outbound, before and after their handshake), the dials under way, the
// address book, misbehaviour scores and temporary bans, flood buckets,
// pings, and sending to a peer. It knows nothing of blocks or
// transactions: the protocol handlers (gossip_protocol.h, relay.h) judge
// messages, the PeerSet keeps the score.
//
// Locking: one mutex for the set (sessions, address book, dials) and one
// per Peer for that peer's changing fields, always taken in that order
// (set, then peer), never the other way round. Nothing here calls out
// (Node, BlockSync, Relay) while holding either; messages are queued on
// PeerLinks, which never block.
//
// Thread safety: every public method may be called from any thread.
#ifndef PBCHAIN_NODE_P2P_PEER_SET_H_
#define PBCHAIN_NODE_P2P_PEER_SET_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "chain/bytes.h"
#include "node/p2p/address_book.h"
#include "node/p2p/clock.h"
#include "node/p2p/gossip_counters.h"
#include "node/p2p/network_options.h"
#include "node/p2p/peer_link.h"
#include "pbchain/v1/gossip.pb.h"
#include "pbchain/v1/node.pb.h"

namespace pbchain {

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

// Most entries of a PeerList (gossip.proto).
inline constexpr int kMaxPeerListEntries = 100;

// Session timing. A stream that has not said Hello after kHelloTimeout is
// closed; so is a peer silent (no message, not even a Pong) for
// kPeerSilenceTimeout. Pings go out every kPingInterval, PeerRequests to
// every peer every kPeerExchangeInterval.
inline constexpr absl::Duration kHelloTimeout = absl::Seconds(10);
inline constexpr absl::Duration kPingInterval = absl::Seconds(20);
inline constexpr absl::Duration kPeerSilenceTimeout = absl::Seconds(60);
inline constexpr absl::Duration kPeerExchangeInterval = absl::Seconds(60);
// An outbound session shorter than this counts as a failed dial (backoff
// before the next).
inline constexpr absl::Duration kStableSession = absl::Seconds(30);
// Dial-backs (outbound dials that verify a connected inbound peer's
// claimed listen address) in flight at once. They do not count against
// max_outbound: a node with a full outbound set still verifies, and so
// passes on, its inbound peers' addresses.
inline constexpr int kMaxDialBacksInFlight = 2;

// The IP to ban for a gRPC transport address: "ipv4:1.2.3.4:5678" ->
// "1.2.3.4", "ipv6:%5B2001:db8::1%5D:5678" -> "2001:db8::1"; empty for
// loopback (127/8, ::1, ::ffff:127.x) and unix sockets, where every node of
// a devnet shares one address and only node ids tell peers apart.
std::string BanIp(const std::string& transport_address);

// Sends a Reject (message cut to 256 bytes) and ends the session once it is
// written. Any thread.
void RejectAndClose(PeerLink& link, v1::RejectCode code,
                    const std::string& why);

// One gossip session. The const fields are fixed when the session is
// registered; the rest change under `mu`.
struct Peer {
  // A session on `link` that started at `now` (PeerSet::AddSession makes
  // them).
  Peer(uint64_t id, bool inbound, std::string dial_address,
       std::unique_ptr<PeerLink> link, absl::Time now, bool verifying = false);
  Peer(const Peer&) = delete;
  Peer& operator=(const Peer&) = delete;

  const uint64_t id;
  const bool inbound;
  const std::string dial_address;  // outbound: the address we dialed
  // Outbound to an address only a peer claimed (unverified): we wait for
  // the peer's Hello before sending ours, and if its node is connected
  // already the session only verifies the address (PeerSet::DialBack).
  const bool verifying;
  const std::unique_ptr<PeerLink> link;
  const std::string remote_ip;  // BanIp of the transport address
  // The IP of the transport address, loopback included ("" for unix: or
  // in-process links): what a claimed unspecified host is replaced by.
  const std::string observed_ip;
  const absl::Time connected_since;

  // Taken after the PeerSet's mutex, never before it.
  mutable absl::Mutex mu;
  // The handshake: set once by PeerSet::Admit.
  bool hello_done ABSL_GUARDED_BY(mu) = false;
  std::string node_id ABSL_GUARDED_BY(mu);
  std::string listen_address ABSL_GUARDED_BY(mu);
  v1::PeerRole role ABSL_GUARDED_BY(mu) = v1::PEER_ROLE_UNSPECIFIED;
  uint64_t height ABSL_GUARDED_BY(mu) = 0;
  Hash256 tip ABSL_GUARDED_BY(mu);
  // Score, flood bucket, liveness.
  int score ABSL_GUARDED_BY(mu) = 0;
  absl::Time last_decay ABSL_GUARDED_BY(mu);
  absl::Time last_message ABSL_GUARDED_BY(mu);
  double flood_tokens ABSL_GUARDED_BY(mu) = kFloodBurst;
  absl::Time flood_refill ABSL_GUARDED_BY(mu);
  uint64_t ping_nonce ABSL_GUARDED_BY(mu) = 0;  // outstanding Ping, 0: none
  absl::Time ping_sent ABSL_GUARDED_BY(mu);
  bool peer_request_outstanding ABSL_GUARDED_BY(mu) = false;
  // A verifying session that proved its address (DialBack): its end is
  // no failed dial.
  bool dial_back_done ABSL_GUARDED_BY(mu) = false;
};
using PeerPtr = std::shared_ptr<Peer>;

class PeerSet {
 public:
  // `node_id` and `genesis_hash` (32 raw bytes) are this node's; the seeds
  // of options.peers go into the address book. `clock` must outlive it.
  PeerSet(const NetworkOptions& options, std::string node_id,
          std::string genesis_hash, Clock* clock);
  PeerSet(const PeerSet&) = delete;
  PeerSet& operator=(const PeerSet&) = delete;

  // --- Lifecycle ----------------------------------------------------------

  // Accepts sessions from now on; `advertise` (our own address) is never
  // dialed.
  void Open(const std::string& advertise) ABSL_LOCKS_EXCLUDED(mu_);
  // Refuses new sessions and dials, and closes every open link. Returns
  // false if it was closed already.
  bool Close() ABSL_LOCKS_EXCLUDED(mu_);
  bool closing() const ABSL_LOCKS_EXCLUDED(mu_);

  // --- Sessions -----------------------------------------------------------

  // Inbound streams open at once, handshakes included, are bounded (room
  // for every allowed peer plus as many again, and a few, still saying
  // hello). kTaken counts this stream until ReleaseInboundSlot.
  enum class InboundSlot { kTaken, kFull, kClosed };
  InboundSlot TakeInboundSlot() ABSL_LOCKS_EXCLUDED(mu_);
  void ReleaseInboundSlot() ABSL_LOCKS_EXCLUDED(mu_);
  // Blocks until every inbound slot is released, closing the links of new
  // sessions every second meanwhile. Call after Close().
  void AwaitInboundDrained() ABSL_LOCKS_EXCLUDED(mu_);

  // Registers a session on `link` (an outbound one ends the dial of
  // `dial_address`). Returns null, and shuts the link down, once closing.
  PeerPtr AddSession(std::unique_ptr<PeerLink> link, bool inbound,
                     const std::string& dial_address) ABSL_LOCKS_EXCLUDED(mu_);
  // Unregisters an ended session; an outbound one is recorded in the
  // address book (a short session as a failed dial). Returns whether it
  // had completed its handshake.
  bool RemoveSession(const Peer& peer) ABSL_LOCKS_EXCLUDED(mu_);

  // --- Dialing ------------------------------------------------------------

  // Addresses to dial now, up to the free outbound slots, skipping our own
  // addresses, peers connected or being dialed, banned ones, and (with
  // connect_only) all but the seeds. Each is counted as a dial under way
  // until AddSession or DialFailed. Empty once closing. The unverified
  // listen address of a connected inbound peer is not skipped: dialing it
  // back verifies it (DialBack).
  std::vector<std::string> TakeDialTargets(absl::Time now)
      ABSL_LOCKS_EXCLUDED(mu_);
  // The dial of `address` did not connect: backoff in the address book.
  void DialFailed(const std::string& address) ABSL_LOCKS_EXCLUDED(mu_);

  // --- Handshake ----------------------------------------------------------

  // A verifying session (Peer::verifying) got the well-formed Hello
  // `hello`. If its node is connected already by another link, the dialed
  // address is verified in the address book and true is returned: the
  // caller ends the session without sending our Hello, so the other link
  // stays (it is no failed dial). False: go on with the handshake.
  bool DialBack(const PeerPtr& peer, const v1::Hello& hello)
      ABSL_LOCKS_EXCLUDED(mu_);

  // The verdict on a well-formed Hello.
  struct Admission {
    // REJECT_CODE_UNSPECIFIED: admitted. Otherwise the session is refused
    // with this code and message (not yet sent).
    v1::RejectCode reject = v1::REJECT_CODE_UNSPECIFIED;
    std::string why;
    // A link to the same node this one replaces (to be closed).
    PeerPtr replaced;
  };
  // Admits `peer`, whose Hello is `hello` (tip hash `tip`): refused if it
  // is this node (its address is then never dialed again), if its node id
  // or IP is banned, if the duplicate-link rule keeps another link to the
  // same node, or if the inbound peers are at max_inbound. Otherwise the
  // peer's fields are filled from the Hello and its listen address goes to
  // the address book, unverified (AddressSource::kHello, learned from this
  // peer) unless it is the address we dialed, which the handshake verifies.
  //
  // Two links to one node (both dialed at once): both ends keep the link
  // dialed by the node with the smaller id, so they agree. The same node
  // dialing twice (two addresses of one node): only the dialer decides,
  // dropping its newer link; the acceptor keeps both until then, so the two
  // ends never drop both.
  Admission Admit(const PeerPtr& peer, const v1::Hello& hello,
                  const Hash256& tip) ABSL_LOCKS_EXCLUDED(mu_);

  // --- Traffic ------------------------------------------------------------

  // Records that a message arrived from `peer` (liveness). After the
  // handshake, kinds that are not answers to our requests (everything but
  // Block, Headers, NotFound, Pong, Hello) draw from its flood bucket.
  struct Arrival {
    bool hello_done = false;
    bool flooding = false;  // the bucket was empty: charge a point
  };
  Arrival OnMessage(Peer& peer, const v1::GossipEnvelope& message)
      ABSL_LOCKS_EXCLUDED(peer.mu);
  // Charges one unsolicited message to the peer's flood bucket; false if
  // the bucket was empty.
  bool ChargeFlood(Peer& peer) ABSL_LOCKS_EXCLUDED(peer.mu);
  // A Pong: true if it answers our outstanding Ping (which is then done).
  bool OnPong(Peer& peer, uint64_t nonce) ABSL_LOCKS_EXCLUDED(peer.mu);
  // Our PeerRequest to `peer` is outstanding / was answered (true if it
  // was outstanding).
  void ExpectPeerList(Peer& peer) ABSL_LOCKS_EXCLUDED(peer.mu);
  bool TakePeerList(Peer& peer) ABSL_LOCKS_EXCLUDED(peer.mu);

  // --- Scores -------------------------------------------------------------

  // Adds to the peer's score (logging the offence); when it reaches
  // kBanScore, bans its node id, IP (off loopback) and dialed address for
  // ban_duration, and ends the session with a Reject(BANNED).
  void Misbehaving(const PeerPtr& peer, int points, const std::string& why)
      ABSL_LOCKS_EXCLUDED(mu_);
  // The same by peer id; no-op if the session has ended.
  void Misbehaving(uint64_t peer_id, int points, const std::string& why)
      ABSL_LOCKS_EXCLUDED(mu_);

  // --- Sending and listing ------------------------------------------------

  // Queues `message` to the session `peer_id`; false if it has ended or its
  // queue is over its limits.
  bool SendTo(uint64_t peer_id, v1::GossipEnvelope message)
      ABSL_LOCKS_EXCLUDED(mu_);
  // The sessions that completed their handshake.
  std::vector<PeerPtr> Connected() const ABSL_LOCKS_EXCLUDED(mu_);
  uint32_t connected_count() const ABSL_LOCKS_EXCLUDED(mu_);
  // NodeService.ListPeers: connected peers, then known addresses.
  void ListPeers(v1::ListPeersResponse* response) const
      ABSL_LOCKS_EXCLUDED(mu_);
  // An answer to `asker`'s PeerRequest: up to `want` verified addresses
  // (AddressBook), connected peers first (known alive), then the address
  // book's good ones; never the asker's own address, never an address
  // only a peer claimed.
  v1::PeerList PeerListFor(const Peer& asker, int want) const
      ABSL_LOCKS_EXCLUDED(mu_);

  // --- Address book -------------------------------------------------------

  // Adds an address from the tracker, peer exchange or discovery; ignored
  // if it is of another network, this node, or not "host:port". `from` is
  // the peer that sent it (peer exchange: the source its per-source cap
  // and dial limit count against), null for the node's own sources.
  void AddKnown(const v1::PeerInfo& info, AddressSource source,
                const Peer* from = nullptr) ABSL_LOCKS_EXCLUDED(mu_);
  void RemoveKnown(const std::string& address) ABSL_LOCKS_EXCLUDED(mu_);

  // --- The operator's controls (the admin API, via Network) -------------

  // Keeps `address` (checked by the caller) as a seed, dialed at once
  // (backoff cleared) and even with connect_only. Returns whether a
  // session dialed to or announcing that address is open already.
  bool AddOperatorPeer(const std::string& address) ABSL_LOCKS_EXCLUDED(mu_);
  struct Removal {
    uint32_t sessions_closed = 0;
    uint32_t addresses_forgotten = 0;
  };
  // Ends the sessions whose node id, dialed address or announced listen
  // address is `target`, and forgets the addresses of `target` (seeds and
  // operator peers too).
  Removal DisconnectPeer(const std::string& target) ABSL_LOCKS_EXCLUDED(mu_);
  // The operator's ban (AddressBook::OperatorBan) of `key` (a node id,
  // "host:port" or IP, see Network::Ban) until `until`; ends the matching
  // sessions with Reject(BANNED) and returns how many. RESOURCE_EXHAUSTED
  // at kMaxOperatorBans.
  absl::StatusOr<uint32_t> BanKey(const std::string& key, absl::Time until,
                                  const std::string& reason)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Lifts a ban; false if `key` was not banned.
  bool Unban(const std::string& key) ABSL_LOCKS_EXCLUDED(mu_);
  // The bans in force.
  std::vector<BanEntry> Bans() const ABSL_LOCKS_EXCLUDED(mu_);
  // --- Metrics (node/metrics) ---------------------------------------------

  // Handshaken sessions by direction.
  struct PeerCounts {
    uint32_t inbound = 0;
    uint32_t outbound = 0;
  };
  PeerCounts peer_counts() const ABSL_LOCKS_EXCLUDED(mu_);
  // Misbehaviour points charged and bans imposed since start.
  uint64_t misbehaviour_points() const { return misbehaviour_points_.load(); }
  uint64_t bans() const { return bans_.load(); }
  // Every session's link counts its messages here (AddSession).
  const GossipCounters& gossip_counters() const { return *gossip_counters_; }

  // --- Maintenance --------------------------------------------------------

  // One round of upkeep at `now`: closes streams without a Hello after
  // kHelloTimeout and peers silent for kPeerSilenceTimeout, heals scores,
  // pings, expires bans and (unless connect_only) sends every peer a
  // PeerRequest each kPeerExchangeInterval.
  void Maintain(absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  bool IsBannedLocked(const std::string& node_id, const std::string& ip,
                      absl::Time now) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  int MaxInboundSessions() const { return 2 * options_.max_inbound + 8; }
  // Who a peer is, for the address book's per-source limits: its IP
  // (Peer::remote_ip, empty on loopback) if known, else its node id.
  static std::string SourceKey(const std::string& remote_ip,
                               const std::string& node_id) {
    return remote_ip.empty() ? node_id : remote_ip;
  }

  const NetworkOptions& options_;
  const std::string node_id_;
  const std::string genesis_hash_;
  Clock* const clock_;

  mutable absl::Mutex mu_;
  bool open_ ABSL_GUARDED_BY(mu_) = false;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_peer_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<uint64_t, PeerPtr> peers_ ABSL_GUARDED_BY(mu_);
  // Addresses being dialed (they count against max_outbound, except the
  // dial-backs among them, also in dialing_back_).
  absl::flat_hash_set<std::string> dialing_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<std::string> dialing_back_ ABSL_GUARDED_BY(mu_);
  int inbound_sessions_ ABSL_GUARDED_BY(mu_) = 0;
  AddressBook book_ ABSL_GUARDED_BY(mu_);
  // Addresses that turned out to be this node.
  absl::flat_hash_set<std::string> self_addresses_ ABSL_GUARDED_BY(mu_);
  absl::Time last_exchange_ ABSL_GUARDED_BY(mu_);
  // Addresses the operator added at run time (AddOperatorPeer): seeds.
  absl::flat_hash_set<std::string> operator_peers_ ABSL_GUARDED_BY(mu_);

  // Metrics (see peer_counts and the accessors after it).
  const std::shared_ptr<GossipCounters> gossip_counters_ =
      std::make_shared<GossipCounters>();
  std::atomic<uint64_t> misbehaviour_points_{0};
  std::atomic<uint64_t> bans_{0};
};

}  // namespace pbchain

#endif  // PBCHAIN_NODE_P2P_PEER_SET_H_
