// Headers-first sync: when a peer has a chain with more work, ask it for
// headers from a block locator, check them (ChainState::CheckHeaderChain:
// links, proof of work, bits, time) before any body is fetched, then fetch
// the bodies in batches from every peer that has them, and connect them in
// order. A peer that sends an invalid header or block is reported for
// misbehaviour; the rest of its chain is dropped.
//
// A run cannot hold the node hostage: a run whose next body nobody is
// asked for and nobody can be asked for (its peers answered NotFound, did
// not answer within kSyncRequestTimeout, or left) is dropped at once, and
// so is a run that made no progress for kRunStallTimeout. Peers whose
// headers answer ends inside the run (or who, asked from the run's end,
// have nothing newer) are asked for its bodies too. A peer that sent a
// run's headers and does not serve their bodies gets a strike (once per
// run); strikes past kWithheldRunFreeStrikes cost kWithheldRunPoints each.
// While a run is pending, a header answer that builds on our tip and beats
// it but not the run (blocks mined on our chain) is fetched at once, and
// once such a block moved our tip the node does not count as syncing (it
// relays and announces as usual).
//
// Memory is bounded: at most kMaxPendingHeaders headers wait for bodies,
// and bodies are requested only kDownloadWindow blocks ahead of the next
// block to connect.
//
// Thread safety: every public method may be called from any thread. One
// thread of its own connects blocks and sends requests.
#ifndef PBCHAIN_NODE_P2P_BLOCK_SYNC_H_
#define PBCHAIN_NODE_P2P_BLOCK_SYNC_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "chain/block.h"
#include "chain/chain_state.h"
#include "node/core/node.h"
#include "node/p2p/clock.h"
#include "pbchain/v1/gossip.pb.h"

namespace pbchain {

// Headers per GetHeaders answer (as NodeService.GetHeaders).
inline constexpr uint32_t kMaxHeadersPerMessage = 2000;
// Most headers waiting for their bodies.
inline constexpr size_t kMaxPendingHeaders = 100'000;
// Blocks asked for in one GetData / at most in flight from one peer.
inline constexpr size_t kBlocksPerRequest = 16;
inline constexpr size_t kMaxBlocksInFlightPerPeer = 64;
// Bodies are requested at most this many blocks ahead of the next one to
// connect (bounds the bodies held out of order).
inline constexpr size_t kDownloadWindow = 512;
// A request not answered in this time goes to another peer.
inline constexpr absl::Duration kSyncRequestTimeout = absl::Seconds(15);
// Invalid bodies for one run (each punishes its sender) before the run is
// dropped.
inline constexpr int kMaxBodyFailures = 3;
// How often sync progress is logged while syncing.
inline constexpr absl::Duration kSyncLogInterval = absl::Seconds(2);

// Runs whose bodies are withheld (docs/PROTOCOL.md 21.3). Each body request
// has kSyncRequestTimeout; a run that took no headers, received no body and
// connected no block for kRunStallTimeout is dropped however its peers
// answer.
inline constexpr absl::Duration kRunStallTimeout = absl::Seconds(60);
// A peer that sent headers of a run and then answers a body request of it
// with NotFound or not at all gets one strike per run; each strike past
// kWithheldRunFreeStrikes costs kWithheldRunPoints (an honest peer may
// reorganize between its headers and our request, rarely twice).
inline constexpr int kWithheldRunFreeStrikes = 2;
inline constexpr int kWithheldRunPoints = 50;
// While a run is pending, a header answer that builds on our tip and beats
// it but not the run, of at most this many blocks, has its bodies asked for
// at once (they arrive as relayed blocks).
inline constexpr size_t kMaxTipExtensionBlocks = 16;

class BlockSync {
 public:
  // What sync needs from the network.
  struct Hooks {
    // Queues a message to a peer; false if the peer is gone.
    std::function<bool(uint64_t peer, v1::GossipEnvelope message)> send;
    // Adds to a peer's misbehaviour score.
    std::function<void(uint64_t peer, int points, const std::string& why)>
        misbehaving;
  };

  // Starts the sync thread (unless `start_thread` is false: the owner then
  // calls Step). Request timeouts and progress logs follow `clock` (which
  // must outlive it); the thread wakes at least every 100 ms of real time
  // to look at it.
  BlockSync(Node* node, Hooks hooks, Clock* clock = Clock::Real(),
            bool start_thread = true);
  ~BlockSync();  // Stop()
  // Ends and joins the sync thread; Step does nothing afterwards.
  void Stop();
  // One round of the sync thread's work at the clock's time: expires
  // requests (a header request goes to the next peer), drops a run that no
  // longer beats our chain, asks peers for bodies, and connects the bodies
  // that are next in line (on the calling thread). Any thread; for owners
  // without the sync thread (tests).
  void Step() ABSL_LOCKS_EXCLUDED(mu_);

  // `peer` claims a chain we lack (its hello has more work, or it announced
  // a block whose parent we do not know): ask it for headers, now or when
  // the current header request is answered.
  void RequestHeaders(uint64_t peer);
  // An answer to our GetHeaders. Unsolicited answers cost the peer.
  void OnHeaders(uint64_t peer, const std::vector<BlockHeader>& headers);
  // A block body from `peer`. True if sync asked for it (it is then
  // connected in order by the sync thread); false for other blocks.
  bool OnBlock(uint64_t peer, const Hash256& hash, Block block);
  // The peer lacks these blocks: ask someone else.
  void OnNotFound(uint64_t peer, const std::vector<Hash256>& hashes);
  // The highest block the peer is known to have (hello, announcements).
  void OnPeerHeight(uint64_t peer, uint32_t height);
  void OnPeerGone(uint64_t peer);

  // True while headers are being asked for, or a chain with more work than
  // ours is being downloaded and our tip is still the run's base (or its
  // block being connected): false once a block that is not the run's moved
  // the tip.
  bool syncing() const;
  // The highest block height any connected peer is known to have (its
  // hello, announcements, headers; lowered when it fails to serve a run),
  // 0 with no peers. Claims, not proof (a Hello may say any height): for
  // metrics and logs, never for health or consensus.
  uint32_t best_peer_height() const ABSL_LOCKS_EXCLUDED(mu_);

  // Evidence, not claims (for health): headers received and checked
  // (links, proof of work, bits, time) that carry more work than our tip.
  // An outstanding header request, or a Hello's height, is no evidence.
  //
  // True while such a run is being downloaded and our tip is still the
  // run's base (or its block being connected): syncing() without its
  // "a header request is outstanding" part.
  bool run_pending() const ABSL_LOCKS_EXCLUDED(mu_);
  // The height of the last header of that run (whatever moved our tip
  // meanwhile), 0 when no run out-works our tip.
  uint32_t validated_header_height() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct InFlight {
    uint64_t peer;
    absl::Time since;
  };
  void Loop();
  bool RunPendingLocked() const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Sends the messages and blame collected under the lock (never send while
  // holding mu_: the network calls in here with its own locks released, and
  // sending takes them).
  void Flush() ABSL_LOCKS_EXCLUDED(mu_);
  void SendGetHeaders(uint64_t peer) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Checks an answer and adopts, extends or ignores the run.
  void AddHeaders(uint64_t peer, const std::vector<BlockHeader>& headers)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AskNextHeaderPeer() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DropRun() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drops a run whose work does not beat our tip once no more of its
  // headers are coming (empty or short answer, timeout, peer gone, cap).
  void DropRunWithoutMoreWork() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ExpireRequests(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A header answer that is not adopted: a peer whose answer ends inside
  // the run has its blocks; an answer that builds on our tip and beats it
  // (not the run) has its bodies asked for at once.
  void NoteOtherAnswer(uint64_t peer, const std::vector<BlockHeader>& run,
                       size_t trusted, const HeaderChainCheck& check)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A body request of the run to `peer` failed (NotFound, timeout): a
  // strike if the peer sent the run's headers and has served none of its
  // bodies (once per run).
  void Strike(uint64_t peer, const char* what)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drops a run that out-works our tip but whose next body is neither
  // received, nor asked for, nor claimed by any peer; or that made no
  // progress for kRunStallTimeout.
  void DropUnservedRun(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AssignRequests(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Connects the bodies that are next in line; returns false if none was.
  bool ConnectNext();
  uint32_t PendingHeight(size_t i) const ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return base_height_ + 1 + static_cast<uint32_t>(i);
  }

  Node* const node_;
  const Hooks hooks_;
  Clock* const clock_;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  // The header run being downloaded: pending_[0] builds on the block at
  // base_height_, which is stored.
  std::deque<BlockHeader> pending_ ABSL_GUARDED_BY(mu_);
  std::deque<Hash256> pending_hashes_ ABSL_GUARDED_BY(mu_);
  uint32_t base_height_ ABSL_GUARDED_BY(mu_) = 0;
  UInt256 pending_work_ ABSL_GUARDED_BY(mu_);
  uint64_t run_peer_ ABSL_GUARDED_BY(mu_) = 0;  // who sent the run
  // Peers that sent headers of the run, and those of them struck for not
  // serving its bodies.
  absl::flat_hash_set<uint64_t> run_sources_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<uint64_t> struck_ ABSL_GUARDED_BY(mu_);
  // Peers that delivered a body of the run: not struck for it (a slow link
  // or a damaged block is not withholding).
  absl::flat_hash_set<uint64_t> served_ ABSL_GUARDED_BY(mu_);
  // The run's block ConnectNext is storing (out of received_, not yet
  // stored): it counts as served.
  std::optional<Hash256> connecting_ ABSL_GUARDED_BY(mu_);
  // Withheld runs per peer (for the session's life).
  absl::flat_hash_map<uint64_t, int> strikes_ ABSL_GUARDED_BY(mu_);
  // When the run last took headers, received a body or connected a block.
  absl::Time last_progress_ ABSL_GUARDED_BY(mu_);
  // Our tip when the run was adopted or last connected a block: a tip
  // elsewhere was moved by a block that is not the run's.
  Hash256 run_tip_ ABSL_GUARDED_BY(mu_);
  // The outstanding GetHeaders, and peers waiting for their turn.
  std::optional<uint64_t> header_peer_ ABSL_GUARDED_BY(mu_);
  absl::Time header_since_ ABSL_GUARDED_BY(mu_);
  // The run's last hash if the outstanding GetHeaders' locator began with it
  // (an empty answer then says the peer has the whole run).
  std::optional<Hash256> header_from_run_end_ ABSL_GUARDED_BY(mu_);
  std::deque<uint64_t> header_queue_ ABSL_GUARDED_BY(mu_);
  // Peers whose header request timed out (their late answer is ignored).
  absl::flat_hash_set<uint64_t> late_header_peers_ ABSL_GUARDED_BY(mu_);
  int body_failures_ ABSL_GUARDED_BY(mu_) = 0;
  // Bodies asked for, and bodies received that wait for their turn.
  absl::flat_hash_map<Hash256, InFlight> in_flight_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<uint64_t, size_t> in_flight_count_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<Hash256, std::pair<uint64_t, Block>> received_
      ABSL_GUARDED_BY(mu_);
  std::map<uint64_t, uint32_t> peer_height_ ABSL_GUARDED_BY(mu_);
  // A peer whose last answer was full: ask it for more once there is room.
  std::optional<uint64_t> more_from_ ABSL_GUARDED_BY(mu_);
  size_t next_peer_ ABSL_GUARDED_BY(mu_) = 0;  // round robin of requests
  std::vector<std::pair<uint64_t, v1::GossipEnvelope>> outbox_
      ABSL_GUARDED_BY(mu_);
  struct Blame {
    uint64_t peer;
    int points;
    std::string why;
  };
  std::vector<Blame> blame_ ABSL_GUARDED_BY(mu_);
  // Progress log.
  absl::Time last_log_ ABSL_GUARDED_BY(mu_);
  uint64_t connected_since_log_ ABSL_GUARDED_BY(mu_) = 0;

  std::thread thread_;
};

}  // namespace pbchain

#endif  // PBCHAIN_NODE_P2P_BLOCK_SYNC_H_
