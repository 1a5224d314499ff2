// Relay of blocks and transactions between peers: the Inventory / GetData /
// Block / Transaction / NotFound handlers, announcements of what this node
// accepted, and the bookkeeping that keeps messages from looping and bodies
// from travelling twice (what each peer knows, what was asked of whom, what
// was rejected). Blocks that a header sync asked for are handed to
// BlockSync; everything else relayed is submitted to the Node here.
//
// Thread safety: every public method may be called from any thread; the
// handlers run on the session's reader thread. Relay's mutex is never held
// while calling the Node, BlockSync or the PeerSet.
#ifndef PBCHAIN_NODE_P2P_RELAY_H_
#define PBCHAIN_NODE_P2P_RELAY_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "chain/bytes.h"
#include "node/core/node.h"
#include "node/p2p/block_sync.h"
#include "node/p2p/clock.h"
#include "node/p2p/peer_set.h"
#include "pbchain/v1/gossip.pb.h"

namespace pbchain {

// Caps of gossip lists (gossip.proto).
inline constexpr int kMaxInventoryHashes = 1000;
inline constexpr int kMaxGetDataBlocks = 128;
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
// A peer that completes the handshake is told about up to this many pooled
// transactions (best fee rate first, each sender's nonces in order), so a
// transaction accepted while the node had no peer is not kept to itself.
inline constexpr size_t kMaxMempoolAnnounce = 1000;
// A transaction this node announced and still holds unconfirmed is
// announced again to every peer (whether or not it was told before: it may
// have refused it as a nonce gap, or restarted) after kReannounceFirst,
// then after twice the previous wait, at most kReannounceMaxInterval, until
// it leaves the mempool. At most kMaxReannouncePerRound per maintenance
// round; at most kMaxReannounceTracked tracked at once (the rest are
// announced once).
inline constexpr absl::Duration kReannounceFirst = absl::Seconds(30);
inline constexpr absl::Duration kReannounceMaxInterval = absl::Minutes(8);
inline constexpr size_t kMaxReannouncePerRound = 1000;
inline constexpr size_t kMaxReannounceTracked = 50000;

// A set of hashes that forgets the oldest past its capacity.
// Not thread-safe.
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

class Relay {
 public:
  // All pointers must outlive the Relay.
  Relay(Node* node, PeerSet* peers, BlockSync* sync, Clock* clock);
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  // A session starts / ended: its relay state is made / dropped (its
  // outstanding transaction requests may then be asked of others).
  void AddPeer(uint64_t peer_id) ABSL_LOCKS_EXCLUDED(mu_);
  void RemovePeer(uint64_t peer_id) ABSL_LOCKS_EXCLUDED(mu_);
  // The peer's Hello named `tip`: it has that block.
  void MarkKnown(uint64_t peer_id, const Hash256& hash)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Handlers, on the peer's reader thread. Malformed or oversized lists,
  // undecodable bodies and invalid blocks / transactions are charged to
  // the peer's score (peer_set.h).
  //
  // Inventory: unknown blocks (not rejected, not asked of anyone in the
  // last kBlockRequestTimeout, not while syncing) and unknown transactions
  // (not asked of anyone) are requested with one GetData.
  void HandleInventory(const PeerPtr& peer, const v1::Inventory& inv)
      ABSL_LOCKS_EXCLUDED(mu_);
  // GetData: the bodies we have (blocks from the chain, transactions from
  // the mempool), then one NotFound for the rest.
  void HandleGetData(const PeerPtr& peer, const v1::GetData& request)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Block: to BlockSync if it asked for it; otherwise a relayed block,
  // submitted unless its chain has less work than our tip. An invalid one
  // is answered with a Reject(INVALID) and kInvalidBlockPoints; an unknown
  // parent starts a header request instead.
  void HandleBlock(const PeerPtr& peer, const v1::BlockMsg& message)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Transaction: submitted to the mempool; a context-free failure costs
  // kInvalidTransactionPoints, a coinbase kMalformedPoints.
  void HandleTransaction(const PeerPtr& peer, const v1::TransactionMsg& msg)
      ABSL_LOCKS_EXCLUDED(mu_);
  // NotFound: the requests it names are free to go to other peers.
  void HandleNotFound(const PeerPtr& peer, const v1::NotFound& message)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Relay of what this node accepted. A block is announced at once to
  // every connected peer that does not know it; transactions are batched
  // per peer and sent by Maintain (or at once when a batch is full), and
  // scheduled for re-announcement (kReannounceFirst). AnnounceTransaction
  // returns the number of connected peers it was queued for.
  void AnnounceBlock(const Hash256& hash, uint32_t height)
      ABSL_LOCKS_EXCLUDED(mu_);
  size_t AnnounceTransaction(const Hash256& txid) ABSL_LOCKS_EXCLUDED(mu_);
  // Schedules pooled transactions that were not announced through
  // AnnounceTransaction (reloaded from the mempool file) for
  // re-announcement, kReannounceFirst from now.
  void ScheduleReannounce(const std::vector<Hash256>& txids)
      ABSL_LOCKS_EXCLUDED(mu_);
  // How many transactions wait for re-announcement (for tests and logs).
  size_t reannounce_tracked() const ABSL_LOCKS_EXCLUDED(mu_);

  // One round of upkeep at `now`: tells each peer that completed its
  // handshake since the last round about the mempool (kMaxMempoolAnnounce),
  // re-announces the transactions that are due (kMaxReannouncePerRound),
  // sends the batched transaction announcements, expires requests, and
  // announces our tip if it was not (blocks are not relayed during a
  // download).
  void Maintain(absl::Time now) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // What one session knows and owes.
  struct PeerState {
    RecentHashes known{kMaxKnownPerPeer};
    // Blocks we GetData'd from it and it has not sent yet (a one-shot
    // ticket: a block sent again draws from the flood bucket).
    RecentHashes asked_blocks{kMaxGetDataBlocks * 8};
    int tx_requested = 0;              // our GetData txids it owes
    std::vector<Hash256> tx_announce;  // batched for the next Inventory
    bool mempool_announced = false;    // told about the mempool once
  };
  // When a transaction is next re-announced, and the wait after that.
  struct Reannounce {
    absl::Time due;
    absl::Duration interval;
  };

  // Null once the session has ended.
  PeerState* StateLocked(uint64_t peer_id) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The batched txids as Inventory messages of at most kMaxInventoryHashes.
  static std::vector<v1::GossipEnvelope> TakeTxAnnouncements(PeerState& state);
  void ForgetTxRequest(const Hash256& txid) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Tracks `txid` for re-announcement at `due` (no-op if tracked or full).
  void ScheduleLocked(const Hash256& txid, absl::Time due,
                      absl::Duration interval)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Maintain's parts, each taking the lock itself (none held on entry).
  void AnnounceMempoolToNewPeers(const std::vector<PeerPtr>& connected)
      ABSL_LOCKS_EXCLUDED(mu_);
  void ReannounceDue(absl::Time now, const std::vector<PeerPtr>& connected)
      ABSL_LOCKS_EXCLUDED(mu_);

  Node* const node_;
  PeerSet* const peers_;
  BlockSync* const sync_;
  Clock* const clock_;

  mutable absl::Mutex mu_;
  std::map<uint64_t, PeerState> state_ ABSL_GUARDED_BY(mu_);
  RecentHashes recent_rejects_ ABSL_GUARDED_BY(mu_){kMaxRecentRejects};
  // Transactions asked for: of whom and when.
  std::map<Hash256, std::pair<uint64_t, absl::Time>> tx_requests_
      ABSL_GUARDED_BY(mu_);
  std::map<Hash256, absl::Time> block_requests_ ABSL_GUARDED_BY(mu_);
  Hash256 last_announced_ ABSL_GUARDED_BY(mu_);
  // Transactions to re-announce, by txid and by due time.
  std::map<Hash256, Reannounce> reannounce_ ABSL_GUARDED_BY(mu_);
  std::set<std::pair<absl::Time, Hash256>> reannounce_queue_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace pbchain

#endif  // PBCHAIN_NODE_P2P_RELAY_H_
