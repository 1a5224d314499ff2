// A full node without the network: the chain on its RocksDB datadir, the
// mempool, the miner, periodic backups and tip notifications. The gRPC
// services (node_service.h) and, later, gossip are thin layers over it.
//
// Thread safety: every public method may be called from any thread.
#ifndef PBCHAIN_NODE_CORE_NODE_H_
#define PBCHAIN_NODE_CORE_NODE_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "chain/chain_state.h"
#include "common/version.h"
#include "node/core/mempool.h"
#include "storage/periodic_backup.h"
#include "storage/rocksdb_store.h"

namespace pbchain {

// A node id (PeerInfo.node_id): 1..64 printable ASCII chars, no spaces.
inline bool IsValidNodeId(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (c <= ' ' || c > '~') return false;
  }
  return true;
}

// Largest gRPC message the node accepts or sends (a maximal block, 1 MB of
// canonical bytes, is well under it in protobuf form). --max_message_bytes.
inline constexpr int kMaxGrpcMessageBytes = 4 * 1024 * 1024;

// Concurrent calls (including open streams) one client connection may have.
inline constexpr int kMaxConcurrentStreams = 100;

// Most threads the miner may search nonces with (--mining_threads, the
// admin API's SetMining).
inline constexpr int kMaxMiningThreads = 64;

// Software version reported in node info.
inline constexpr char kNodeVersion[] = "pbnode/" PBCHAIN_VERSION_STRING;

// How often a running node writes its mempool file (besides on Stop).
inline constexpr absl::Duration kMempoolDefaultSaveInterval = absl::Minutes(5);

struct NodeOptions {
  std::string datadir;
  ChainParams params;
  // Mining: continuously, or only while the mempool holds transactions.
  bool mine = false;
  bool mine_on_demand = false;
  Address miner_address;
  int mining_threads = 1;
  MempoolOptions mempool;
  // Node role shown in node info ("head", "seed" or "full").
  std::string role = "full";
  // Periodic backups (off when backup_dir is empty).
  std::string backup_dir;
  absl::Duration backup_interval = absl::Hours(1);
  int backup_keep = 5;
  // The miner rebuilds its template at least this often (new transactions,
  // fresh time) and reports hash rate at that granularity.
  absl::Duration template_refresh = absl::Seconds(1);
  // The mempool file, DATADIR/mempool.dat (kMempoolFileName): reloaded and
  // revalidated at start, written on Stop and every mempool_save_interval.
  // --persist_mempool, --mempool_save_interval.
  bool persist_mempool = true;
  absl::Duration mempool_save_interval = kMempoolDefaultSaveInterval;
};

// Whether the node can write its datadir (see Node::store_condition).
enum class StoreCondition {
  kWritable,  // writes succeed
  kFull,      // the disk is full: not mining or accepting, retrying
  kFailed,    // the filesystem failed: the node must stop
};

// What the node tells the operator about its datadir: health (pbnode's
// grpc.health.v1 entries); the counters are for the metrics of issue 16.
struct StoreHealth {
  StoreCondition condition = StoreCondition::kWritable;
  absl::Status write_error;     // OK while kWritable
  uint64_t damaged_reads = 0;   // block reads that found damage
  uint64_t damaged_blocks = 0;  // distinct blocks among them
};

// While the disk is full the node tries to resume writing this often.
inline constexpr absl::Duration kStoreRetryInterval = absl::Seconds(5);
// How often the node looks at its store for a failed background write
// (a flush or compaction) when nothing else made it look.
inline constexpr absl::Duration kStoreCheckInterval = absl::Seconds(1);
// Distinct damaged blocks the node remembers (to log each once); beyond
// that, damage is still counted but logged no more.
inline constexpr size_t kMaxRememberedDamagedBlocks = 1000;

// --- Event counts for the metrics exporter (node/metrics, issue 16) ---

// Block verdicts are counted by RejectReason (validation.h), whose values
// run 0..kBlockMalformed.
inline constexpr size_t kRejectReasonCount =
    static_cast<size_t>(RejectReason::kBlockMalformed) + 1;
// Upper bounds (blocks disconnected) of the reorg depth histogram buckets;
// deeper reorgs go to a last, unbounded bucket.
inline constexpr std::array<uint32_t, 7> kReorgDepthBuckets = {1,  2,  3,  5,
                                                               10, 25, 100};

// What the node counted since it started (NodeCounters: Node::counters()).
struct NodeCounters {
  uint64_t blocks_connected = 0;     // to the active chain, reorgs included
  uint64_t blocks_disconnected = 0;  // undone by reorgs
  // SubmitBlock verdicts kInvalid, by ValidationResult::reason.
  std::array<uint64_t, kRejectReasonCount> blocks_rejected{};
  uint64_t reorgs = 0;  // tip changes that disconnected a block
  // Reorgs by depth: reorg_depth[i] counts depths in
  // (kReorgDepthBuckets[i-1], kReorgDepthBuckets[i]]; the last entry those
  // above kReorgDepthBuckets.back(). Not cumulative.
  std::array<uint64_t, kReorgDepthBuckets.size() + 1> reorg_depth{};
  uint64_t reorg_depth_sum = 0;  // blocks disconnected by all reorgs
  // Periodic backups (all 0 / false without --backup_dir).
  bool backups_enabled = false;
  uint64_t backups_taken = 0;
  bool last_backup_failed = false;
};

// One change of the main-chain tip.
struct TipEvent {
  TipInfo tip;
  Hash256 previous_tip;
  uint32_t reorg_depth = 0;  // blocks disconnected (0 for a plain extension)
  uint32_t tx_count = 0;     // transactions in the new tip block
};

class Node {
 public:
  // Opens (or creates) the datadir, the chain state and the mempool (with
  // the transactions of the mempool file that are still valid, when
  // options.persist_mempool; a damaged file is logged and ignored), and
  // starts the miner and backups as the options say. Errors from opening the
  // datadir as RocksChainStore::Open / ChainState::Create return them.
  static absl::StatusOr<std::unique_ptr<Node>> Create(NodeOptions options);
  // Stop()s, then closes the chain and the store.
  ~Node();
  // Stops mining and backups, then writes the mempool file (when
  // options.persist_mempool); idempotent. Queries keep working.
  void Stop();

  // Writes the mempool to the mempool file now (atomically). INTERNAL if it
  // cannot be written (the previous file stays). Any thread.
  absl::Status SaveMempool();
  // DATADIR/mempool.dat.
  std::string mempool_file() const;

  // This node's id (see PeerInfo.node_id): 32 random lowercase hex chars
  // made at first start and kept in DATADIR/node_id.
  const std::string& node_id() const { return node_id_; }
  ChainState& chain() { return *chain_; }
  Mempool& mempool() { return *mempool_; }
  const NodeOptions& options() const { return options_; }

  // Validates and adds a block (from an RPC, a peer or the local miner).
  // On a tip change: updates the mempool, restarts the miner on the new tip
  // and notifies tip listeners (on this thread, after the chain lock is
  // released). Errors are store failures only (UNAVAILABLE once the datadir
  // takes no writes, see store_health); verdicts are in the result.
  absl::StatusOr<AcceptResult> SubmitBlock(const Block& block);
  // Adds a transaction to the mempool (see Mempool::Add for the codes) and
  // wakes an on-demand miner (UNAVAILABLE while the datadir takes no
  // writes, and once Stop began: the mempool file is written last). When added and `relayed_to_peers` is not
  // null, sets it to the number of connected peers the transaction listener
  // will announce it to (0 without a listener: no network, or no peer yet;
  // it is then announced to each peer that connects later).
  absl::StatusOr<Hash256> SubmitTransaction(const Transaction& tx,
                                            size_t* relayed_to_peers = nullptr);

  // Called with every transaction SubmitTransaction added to the mempool
  // (from the API or a peer) and every transaction a reorganisation
  // returned to it, on the submitting thread; must not block. Returns the
  // number of peers it will be announced to. The network relays them; null
  // removes the listener.
  using TransactionListener = std::function<size_t(const Transaction&)>;
  void SetTransactionListener(TransactionListener listener);

  // Tip listeners are called for every tip change, in order, on the thread
  // that caused it; they must not block. Returns an id for removal.
  using TipListener = std::function<void(const TipEvent&)>;
  uint64_t AddTipListener(TipListener listener);
  void RemoveTipListener(uint64_t id);

  // Whether the datadir takes writes. On the first failed write the node
  // stops mining and answers SubmitBlock / SubmitTransaction with
  // UNAVAILABLE (logged once). A full disk (kFull) is retried every
  // kStoreRetryInterval and the node resumes by itself once writes
  // succeed; any other failure (kFailed) is final: the owner must shut the
  // node down. Any thread.
  StoreHealth store_health() const;
  StoreCondition store_condition() const;

  // Called on every change of store_health()'s condition and on the first
  // damaged read, on the thread that noticed (the node's store watcher, a
  // submitting or reading thread); must not block or call back into the
  // node. Set it once, before the node serves; null removes it. Called at
  // once if the condition is not kWritable or damage was seen.
  using StoreListener = std::function<void(const StoreHealth&)>;
  void SetStoreListener(StoreListener listener) ABSL_LOCKS_EXCLUDED(check_mu_);

  // A read of block `hash` for someone else (a peer, an API call) failed
  // with `status`. DATA_LOSS is damage in the datadir: counted, logged once
  // per block, and reported to the store listener the first time. Returns
  // whether it was damage (the caller then answers "not found" and the
  // asker fetches the block elsewhere). Any thread.
  bool NoteBlockReadFailure(const Hash256& hash, const absl::Status& status)
      ABSL_LOCKS_EXCLUDED(check_mu_, store_mu_);

  // Local hash rate (hashes per second over the last few template rounds)
  // and whether the miner is working right now.
  double HashRate() const;
  bool mining() const;
  uint64_t blocks_mined() const { return blocks_mined_.load(); }

  // --- Run-time control (the admin API, node/admin) ---------------------
  // Mines continuously (`enabled`) or not at all (which also ends
  // mine_on_demand), searching nonces with `threads` threads (0 keeps the
  // number); the miner thread starts if it was not running and the round
  // in progress ends at once. FAILED_PRECONDITION to enable mining without
  // a miner address (options.miner_address is zero) or once Stop began;
  // INVALID_ARGUMENT for threads over kMaxMiningThreads. Any thread.
  absl::Status SetMining(bool enabled, int threads)
      ABSL_LOCKS_EXCLUDED(miner_mu_, mu_);
  // Whether the miner is meant to work (continuously or on demand; see
  // mining() for whether it works right now) and with how many threads.
  bool mining_enabled() const;
  int mining_threads() const { return mining_threads_.load(); }
  // Takes a backup into options.backup_dir now (keeping the newest
  // backup_keep; one at a time with the periodic backups) and returns its
  // id. FAILED_PRECONDITION without a backup_dir or once Stop began;
  // errors of RocksChainStore::Backup. Any thread; takes as long as the
  // backup.
  absl::StatusOr<uint32_t> BackupNow() ABSL_LOCKS_EXCLUDED(backup_mu_);
  // Event counts since start (blocks connected and rejected, reorgs,
  // backups), for metrics. Any thread.
  NodeCounters counters() const ABSL_LOCKS_EXCLUDED(counters_mu_, backup_mu_);
  // Bytes of the live RocksDB database (RocksChainStore::LiveSizeBytes).
  uint64_t store_size_bytes() const { return store_->LiveSizeBytes(); }

 private:
  explicit Node(NodeOptions options);
  void MinerLoop();
  // Counts a SubmitBlock verdict in counters_.
  void CountVerdict(const AcceptResult& r) ABSL_LOCKS_EXCLUDED(counters_mu_);
  void HousekeepingLoop();
  bool ShouldMine() const;
  // Takes back the mempool file's transactions (logs what it did).
  void LoadMempool();
  // Store condition: reads the store's write error, resumes a full disk at
  // most every kStoreRetryInterval, logs and notifies changes.
  void StoreWatchLoop();
  void CheckStore() ABSL_LOCKS_EXCLUDED(check_mu_, store_mu_);
  // The answer to submissions while the datadir does not take writes.
  absl::Status NotWritable() const ABSL_LOCKS_EXCLUDED(store_mu_);

  const NodeOptions options_;
  std::string node_id_;
  std::unique_ptr<RocksChainStore> store_;
  std::unique_ptr<ChainState> chain_;
  std::unique_ptr<Mempool> mempool_;
  // Counted in SubmitBlock; read by counters(). A leaf lock.
  mutable absl::Mutex counters_mu_;
  NodeCounters counters_ ABSL_GUARDED_BY(counters_mu_);
  // The backup thread: made by Create, taken away by Stop; BackupNow uses
  // it (counting itself in backups_in_use_) and counters() reads it.
  mutable absl::Mutex backup_mu_;
  std::unique_ptr<PeriodicBackup> backup_ ABSL_GUARDED_BY(backup_mu_);
  // BackupNow calls running on backup_ without backup_mu_.
  int backups_in_use_ ABSL_GUARDED_BY(backup_mu_) = 0;

  // Serializes SubmitBlock's accept + mempool update + notification, so
  // listeners see tip events in order.
  absl::Mutex submit_mu_;
  // Serializes writes of the mempool file.
  absl::Mutex save_mu_;
  // Transactions are taken (reader) until Stop closes the pool for its last
  // save (writer): nothing is accepted after the mempool file is written.
  absl::Mutex accept_mu_;
  bool accepting_ ABSL_GUARDED_BY(accept_mu_) = true;

  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t wakeups_ ABSL_GUARDED_BY(mu_) = 0;  // tip changes and new txs
  std::map<uint64_t, TipListener> listeners_ ABSL_GUARDED_BY(mu_);
  TransactionListener tx_listener_ ABSL_GUARDED_BY(mu_);
  uint64_t next_listener_ ABSL_GUARDED_BY(mu_) = 1;
  double hash_rate_ ABSL_GUARDED_BY(mu_) = 0;

  // What the miner does (SetMining changes it): kMineOff, kMineContinuous
  // or kMineOnDemand, and its thread count.
  enum MiningMode : int { kMineOff, kMineContinuous, kMineOnDemand };
  std::atomic<int> mining_mode_{kMineOff};
  std::atomic<int> mining_threads_{1};
  // Starting (Create, SetMining) and joining (Stop) the miner thread;
  // taken before mu_.
  absl::Mutex miner_mu_ ABSL_ACQUIRED_BEFORE(mu_);

  std::atomic<bool> abort_mining_{false};
  std::atomic<uint64_t> tip_epoch_{0};  // bumped on every tip change and Stop
  std::atomic<bool> mining_now_{false};
  std::atomic<uint64_t> blocks_mined_{0};
  std::thread miner_ ABSL_GUARDED_BY(miner_mu_);
  std::thread housekeeping_;  // mempool expiry and periodic saves

  // Store condition (see store_health). check_mu_: CheckStore runs one at a
  // time, and the store listener is called under it (in order).
  absl::Mutex check_mu_ ABSL_ACQUIRED_BEFORE(store_mu_);
  mutable absl::Mutex store_mu_;
  StoreHealth store_health_ ABSL_GUARDED_BY(store_mu_);
  absl::flat_hash_set<Hash256> damaged_ ABSL_GUARDED_BY(store_mu_);
  StoreListener store_listener_ ABSL_GUARDED_BY(store_mu_);
  absl::Time next_resume_ ABSL_GUARDED_BY(store_mu_) = absl::InfinitePast();
  std::atomic<bool> writable_{true};
  std::thread store_watch_;
};

// How often the node drops expired mempool transactions.
inline constexpr absl::Duration kMempoolExpiryCheck = absl::Seconds(10);

}  // namespace pbchain

#endif  // PBCHAIN_NODE_CORE_NODE_H_
