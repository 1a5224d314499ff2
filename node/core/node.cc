#include "node/core/node.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>

#include "absl/strings/str_cat.h"
#include "chain/consensus.h"
#include "chain/miner.h"
#include "common/status_macros.h"
#include "glog/logging.h"

namespace pbchain {
namespace {

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr char kNodeIdFile[] = "node_id";

// Reads DATADIR/node_id, or writes a new random one (temp file + rename, so
// a crash never leaves half an id).
absl::StatusOr<std::string> LoadOrCreateNodeId(const std::string& datadir) {
  const std::filesystem::path path =
      std::filesystem::path(datadir) / kNodeIdFile;
  if (std::ifstream in(path); in) {
    std::string id;
    std::getline(in, id);
    if (!IsValidNodeId(id)) {
      return absl::DataLossError(
          absl::StrCat(path.string(),
                       " does not hold a node id (1..64 printable ASCII "
                       "chars); delete it to get a new one"));
    }
    return id;
  }
  std::random_device random;
  std::string id;
  for (int i = 0; i < 4; ++i) {
    absl::StrAppend(&id, absl::Hex(random(), absl::kZeroPad8));
  }
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << id << "\n";
    out.flush();
    if (!out) {
      return absl::InternalError(absl::StrCat("cannot write ", tmp.string()));
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot create ", path.string(), ": ", ec.message()));
  }
  return id;
}

}  // namespace

Node::Node(NodeOptions options) : options_(std::move(options)) {}

absl::StatusOr<std::unique_ptr<Node>> Node::Create(NodeOptions options) {
  if (options.mining_threads < 1) {
    return absl::InvalidArgumentError("mining threads must be at least 1");
  }
  std::unique_ptr<Node> node(new Node(std::move(options)));
  RocksStoreOptions store_options;
  // Progress of a schema upgrade, which can take a while on a long chain.
  store_options.log = [](const std::string& line) { LOG(INFO) << line; };
  PBCHAIN_ASSIGN_OR_RETURN(
      std::unique_ptr<RocksChainStore> store,
      RocksChainStore::Open(node->options_.datadir, store_options));
  node->store_ = std::move(store);
  // After the store: its lock keeps two nodes off one datadir.
  PBCHAIN_ASSIGN_OR_RETURN(std::string id,
                           LoadOrCreateNodeId(node->options_.datadir));
  node->node_id_ = id;
  PBCHAIN_ASSIGN_OR_RETURN(
      std::unique_ptr<ChainState> chain,
      ChainState::Create(node->options_.params, node->store_.get()));
  node->chain_ = std::move(chain);
  node->mempool_ =
      std::make_unique<Mempool>(node->chain_.get(), node->options_.mempool);
  if (node->options_.persist_mempool) node->LoadMempool();
  if (!node->options_.backup_dir.empty()) {
    absl::StatusOr<std::unique_ptr<PeriodicBackup>> backup =
        PeriodicBackup::Start(
            node->store_.get(),
            {node->options_.backup_dir, node->options_.backup_interval,
             node->options_.backup_keep});
    if (!backup.ok()) return backup.status();
    absl::MutexLock lock(&node->backup_mu_);
    node->backup_ = *std::move(backup);
  }
  node->housekeeping_ =
      std::thread([raw = node.get()] { raw->HousekeepingLoop(); });
  node->store_watch_ =
      std::thread([raw = node.get()] { raw->StoreWatchLoop(); });
  node->mining_threads_.store(node->options_.mining_threads);
  node->mining_mode_.store(node->options_.mine             ? kMineContinuous
                           : node->options_.mine_on_demand ? kMineOnDemand
                                                           : kMineOff);
  if (node->mining_mode_.load() != kMineOff) {
    absl::MutexLock lock(&node->miner_mu_);
    node->miner_ = std::thread([raw = node.get()] { raw->MinerLoop(); });
  }
  TipInfo tip = node->chain_->Tip();
  LOG(INFO) << "chain " << node->options_.params.chain_id << " at height "
            << tip.height << ", tip " << tip.hash.ToDisplayHex();
  return node;
}

Node::~Node() {
  Stop();
  // Members go in reverse order: mempool, chain, then the store.
}

void Node::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  tip_epoch_.fetch_add(1);
  abort_mining_.store(true);
  {
    absl::MutexLock lock(&miner_mu_);
    if (miner_.joinable()) miner_.join();
  }
  if (housekeeping_.joinable()) housekeeping_.join();
  if (store_watch_.joinable()) store_watch_.join();
  std::unique_ptr<PeriodicBackup> backup;
  {
    absl::MutexLock lock(&backup_mu_);
    // An operator's BackupNow in progress ends first.
    backup_mu_.Await(absl::Condition(
        +[](int* in_use) { return *in_use == 0; }, &backups_in_use_));
    backup = std::move(backup_);
  }
  backup.reset();  // waits for a backup in progress, without backup_mu_
  {
    // Wait for submissions in flight; refuse later ones (they would miss
    // the file written below).
    absl::MutexLock lock(&accept_mu_);
    accepting_ = false;
  }
  // mempool_ is null when Create failed before making it (then the datadir
  // may belong to another node: its file is not touched). A failed
  // filesystem is not written to again.
  if (options_.persist_mempool && mempool_ != nullptr &&
      store_health().condition != StoreCondition::kFailed) {
    if (absl::Status s = SaveMempool(); !s.ok()) {
      LOG(ERROR) << "mempool: not saved: " << s;
    } else {
      LOG(INFO) << "mempool: " << mempool_->size() << " transactions saved to "
                << mempool_file();
    }
  }
}

std::string Node::mempool_file() const {
  return (std::filesystem::path(options_.datadir) / kMempoolFileName).string();
}

absl::Status Node::SaveMempool() {
  absl::MutexLock lock(&save_mu_);
  return WriteMempoolFile(mempool_file(), mempool_->List(SIZE_MAX));
}

void Node::LoadMempool() {
  const std::string path = mempool_file();
  absl::StatusOr<std::vector<MempoolEntry>> entries = ReadMempoolFile(path);
  if (absl::IsNotFound(entries.status())) return;
  if (!entries.ok()) {
    // Never fatal: the pool starts empty and the next save replaces it.
    LOG(WARNING) << "mempool: file ignored: " << entries.status();
    return;
  }
  const MempoolLoadReport r = mempool_->Load(*entries);
  LOG(INFO) << "mempool: " << r.loaded << " of " << entries->size()
            << " transactions reloaded from " << path << " (" << r.invalid
            << " no longer valid, " << r.expired << " expired, " << r.duplicate
            << " duplicate; dropped)";
}

void Node::HousekeepingLoop() {
  absl::Time last_save = absl::Now();
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      // (A save interval below a second is taken as one second.)
      mu_.AwaitWithTimeout(absl::Condition(&stopping_),
                           std::clamp(options_.mempool_save_interval,
                                      absl::Seconds(1), kMempoolExpiryCheck));
      if (stopping_) return;
    }
    if (size_t n = mempool_->ExpireOld(); n > 0) {
      LOG(INFO) << "mempool: " << n << " expired transactions dropped";
    }
    if (options_.persist_mempool &&
        absl::Now() - last_save >= options_.mempool_save_interval) {
      last_save = absl::Now();
      if (absl::Status s = SaveMempool(); !s.ok()) {
        LOG(ERROR) << "mempool: periodic save failed: " << s;
      }
    }
  }
}

bool Node::ShouldMine() const {
  if (!writable_.load()) return false;  // blocks it could not store
  const int mode = mining_mode_.load();
  if (mode == kMineContinuous) return true;
  return mode == kMineOnDemand && mempool_->size() > 0;
}

void Node::MinerLoop() {
  uint64_t seen_wakeups = 0;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      // Sleep until there is something to do: stop, or (on demand) a new
      // transaction or tip. Re-check once a second regardless.
      // (The condition takes no other lock: absl may evaluate it anywhere.)
      auto ready = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || mining_mode_.load() == kMineContinuous ||
               wakeups_ != seen_wakeups;
      };
      mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Seconds(1));
      if (stopping_) return;
      seen_wakeups = wakeups_;
    }
    if (!ShouldMine()) {
      absl::MutexLock lock(&mu_);
      hash_rate_ = 0;
      continue;
    }
    const uint64_t epoch = tip_epoch_.load();
    absl::StatusOr<Block> block = chain_->CreateBlockTemplate(
        options_.miner_address, mempool_->SelectForBlock(kMaxBlockTxs - 1),
        NowSeconds());
    if (!block.ok()) {
      LOG(ERROR) << "miner: cannot build a template: " << block.status();
      absl::SleepFor(absl::Seconds(1));
      continue;
    }
    // When blocks come faster than one a second, median-time-past runs ahead
    // of the clock; a block too far ahead would be refused. Wait instead.
    if (int64_t{block->header.time} >
        NowSeconds() + options_.params.max_future_block_time_s - 1) {
      absl::SleepFor(absl::Milliseconds(200));
      continue;
    }
    // Abort after template_refresh (to pick up new transactions and a fresh
    // time) or as soon as the tip changes (SubmitBlock bumps the epoch and
    // sets the flag). A change while the template was built is caught here.
    abort_mining_.store(false);
    if (tip_epoch_.load() != epoch) continue;
    mining_now_.store(true);
    const absl::Time start = absl::Now();
    std::atomic<bool> timer_done{false};
    std::thread timer([&] {
      const absl::Time deadline = start + options_.template_refresh;
      while (!timer_done.load() && absl::Now() < deadline) {
        absl::SleepFor(absl::Milliseconds(20));
      }
      abort_mining_.store(true);
    });
    MineOutcome outcome =
        MineBlock(*block, mining_threads_.load(), abort_mining_);
    timer_done.store(true);
    timer.join();
    mining_now_.store(false);
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    {
      absl::MutexLock lock(&mu_);
      if (seconds > 0) {
        const double rate = outcome.hashes / seconds;
        // Smooth over a few rounds.
        hash_rate_ = hash_rate_ == 0 ? rate : 0.7 * hash_rate_ + 0.3 * rate;
      }
    }
    if (!outcome.found) continue;
    absl::StatusOr<AcceptResult> r = SubmitBlock(*block);
    if (!r.ok()) {
      // UNAVAILABLE: the datadir takes no writes, which CheckStore logged.
      if (!absl::IsUnavailable(r.status())) {
        LOG(ERROR) << "miner: storing a mined block failed: " << r.status();
      }
      continue;
    }
    if (r->status == AcceptStatus::kActive) {
      blocks_mined_.fetch_add(1);
      LOG(INFO) << "mined block " << block->Hash().ToDisplayHex()
                << " at height " << block->txs[0].height << " with "
                << block->txs.size() - 1 << " transactions";
    } else if (r->status == AcceptStatus::kInvalid) {
      LOG(WARNING) << "miner: own block rejected: " << r->validation.ToString();
    }
  }
}

absl::StatusOr<AcceptResult> Node::SubmitBlock(const Block& block) {
  if (!writable_.load()) return NotWritable();
  absl::MutexLock submit(&submit_mu_);
  const TipInfo before = chain_->Tip();
  absl::StatusOr<AcceptResult> r = chain_->AcceptBlock(block);
  if (!r.ok()) {
    // A failed write: stop mining and accepting at once (logged once).
    CheckStore();
    if (!writable_.load()) return NotWritable();
    return r;
  }
  CountVerdict(*r);
  if (!r->tip_changed()) return r;
  const ChainUpdateReport update = mempool_->OnChainUpdate(*r);
  if (!r->returned_txs.empty()) {
    LOG(INFO) << "mempool: " << update.returned_pooled.size() << " of "
              << r->returned_txs.size()
              << " transactions of undone blocks returned to the pool ("
              << update.returned_invalid << " no longer valid, "
              << update.returned_evicted << " evicted by the size limits)";
  }
  tip_epoch_.fetch_add(1);
  abort_mining_.store(true);
  TipEvent event;
  event.tip = chain_->Tip();
  event.previous_tip = before.hash;
  event.reorg_depth = static_cast<uint32_t>(r->disconnected.size());
  if (std::optional<BlockIndexEntry> e =
          chain_->GetIndexEntry(event.tip.hash)) {
    event.tx_count = e->tx_count;
  }
  if (event.reorg_depth > 0) {
    LOG(INFO) << "reorg: " << event.reorg_depth << " blocks undone, new tip "
              << event.tip.hash.ToDisplayHex() << " at " << event.tip.height;
  }
  std::vector<TipListener> listeners;
  TransactionListener tx_listener;
  {
    absl::MutexLock lock(&mu_);
    ++wakeups_;
    for (const auto& [id, l] : listeners_) listeners.push_back(l);
    tx_listener = tx_listener_;
  }
  for (const TipListener& l : listeners) l(event);
  // Returned transactions are news to peers on the winning side.
  if (tx_listener) {
    for (const Transaction& tx : update.returned_pooled) tx_listener(tx);
  }
  return r;
}

absl::StatusOr<Hash256> Node::SubmitTransaction(const Transaction& tx,
                                                size_t* relayed_to_peers) {
  // Accepted transactions are promised to be mined; not while blocks
  // cannot be stored.
  if (!writable_.load()) return NotWritable();
  absl::StatusOr<Hash256> id;
  {
    absl::ReaderMutexLock lock(&accept_mu_);
    if (!accepting_) {
      return absl::UnavailableError(
          "the node is shutting down and takes no more transactions; "
          "submit again once it is back");
    }
    id = mempool_->Add(tx);
  }
  if (id.ok()) {
    TransactionListener listener;
    {
      absl::MutexLock lock(&mu_);
      ++wakeups_;
      listener = tx_listener_;
    }
    const size_t peers = listener ? listener(tx) : 0;
    if (relayed_to_peers != nullptr) *relayed_to_peers = peers;
  }
  return id;
}

void Node::SetTransactionListener(TransactionListener listener) {
  absl::MutexLock lock(&mu_);
  tx_listener_ = std::move(listener);
}

uint64_t Node::AddTipListener(TipListener listener) {
  absl::MutexLock lock(&mu_);
  const uint64_t id = next_listener_++;
  listeners_[id] = std::move(listener);
  return id;
}

void Node::RemoveTipListener(uint64_t id) {
  absl::MutexLock lock(&mu_);
  listeners_.erase(id);
}

void Node::CountVerdict(const AcceptResult& r) {
  absl::MutexLock lock(&counters_mu_);
  if (r.status == AcceptStatus::kInvalid) {
    const size_t reason = static_cast<size_t>(r.validation.reason());
    if (reason < kRejectReasonCount) ++counters_.blocks_rejected[reason];
  }
  counters_.blocks_connected += r.connected.size();
  counters_.blocks_disconnected += r.disconnected.size();
  if (!r.disconnected.empty()) {
    const uint64_t depth = r.disconnected.size();
    ++counters_.reorgs;
    counters_.reorg_depth_sum += depth;
    size_t bucket = 0;
    while (bucket < kReorgDepthBuckets.size() &&
           depth > kReorgDepthBuckets[bucket]) {
      ++bucket;
    }
    ++counters_.reorg_depth[bucket];
  }
}

NodeCounters Node::counters() const {
  NodeCounters c;
  {
    absl::MutexLock lock(&counters_mu_);
    c = counters_;
  }
  absl::MutexLock lock(&backup_mu_);
  if (backup_ != nullptr) {
    c.backups_enabled = true;
    c.backups_taken = backup_->backups_taken();
    c.last_backup_failed = !backup_->last_status().ok();
  }
  return c;
}

double Node::HashRate() const {
  absl::MutexLock lock(&mu_);
  return hash_rate_;
}

bool Node::mining() const { return mining_now_.load(); }

bool Node::mining_enabled() const { return mining_mode_.load() != kMineOff; }

absl::Status Node::SetMining(bool enabled, int threads) {
  if (threads < 0 || threads > kMaxMiningThreads) {
    return absl::InvalidArgumentError(
        absl::StrCat("threads must be 0 (keep) or 1..", kMaxMiningThreads,
                     ", got ", threads));
  }
  if (enabled && options_.miner_address.IsZero()) {
    return absl::FailedPreconditionError(
        "the node has no miner address: start it with --miner_address");
  }
  absl::MutexLock miner_lock(&miner_mu_);
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      return absl::FailedPreconditionError("the node is stopping");
    }
  }
  if (threads > 0) mining_threads_.store(threads);
  mining_mode_.store(enabled ? kMineContinuous : kMineOff);
  // The round in progress ends (new thread count, or off), and a sleeping
  // miner wakes.
  tip_epoch_.fetch_add(1);
  abort_mining_.store(true);
  {
    absl::MutexLock lock(&mu_);
    ++wakeups_;
  }
  if (enabled && !miner_.joinable()) {
    miner_ = std::thread([this] { MinerLoop(); });
  }
  LOG(INFO) << "mining " << (enabled ? "on" : "off") << " with "
            << mining_threads_.load() << " thread(s)";
  return absl::OkStatus();
}

absl::StatusOr<uint32_t> Node::BackupNow() {
  if (options_.backup_dir.empty()) {
    return absl::FailedPreconditionError(
        "the node has no backup directory: start it with --backup_dir");
  }
  PeriodicBackup* backup = nullptr;
  {
    absl::MutexLock lock(&backup_mu_);
    if (backup_ == nullptr) {
      return absl::FailedPreconditionError("the node is stopping");
    }
    backup = backup_.get();
    ++backups_in_use_;  // Stop waits for this before it takes backup_ away
  }
  // Without backup_mu_: a backup may take long, and metrics read backup_.
  absl::StatusOr<uint32_t> id = backup->BackupNow();
  // Logged before the count drops: once it is 0, Stop may go on and the
  // node may be destroyed under this call's remaining lines.
  if (id.ok()) {
    LOG(INFO) << "backup " << *id << " taken into " << options_.backup_dir;
  }
  {
    absl::MutexLock lock(&backup_mu_);
    --backups_in_use_;
  }
  return id;
}

// --- The datadir's condition: full or failing disks, damaged reads ---

namespace {

const char* ConditionName(StoreCondition c) {
  switch (c) {
    case StoreCondition::kWritable:
      return "writable";
    case StoreCondition::kFull:
      return "disk full";
    case StoreCondition::kFailed:
      return "write failed";
  }
  return "?";
}

}  // namespace

StoreHealth Node::store_health() const {
  absl::MutexLock lock(&store_mu_);
  return store_health_;
}

StoreCondition Node::store_condition() const {
  absl::MutexLock lock(&store_mu_);
  return store_health_.condition;
}

void Node::SetStoreListener(StoreListener listener) {
  absl::MutexLock check(&check_mu_);
  StoreHealth health;
  {
    absl::MutexLock lock(&store_mu_);
    store_listener_ = listener;
    health = store_health_;
  }
  if (listener && (health.condition != StoreCondition::kWritable ||
                   health.damaged_reads > 0)) {
    listener(health);
  }
}

absl::Status Node::NotWritable() const {
  const StoreHealth health = store_health();
  return absl::UnavailableError(absl::StrCat(
      "the node cannot write its datadir (", ConditionName(health.condition),
      "): not accepting blocks or transactions until it can: ",
      health.write_error.message()));
}

void Node::StoreWatchLoop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), kStoreCheckInterval);
      if (stopping_) return;
    }
    CheckStore();
  }
}

void Node::CheckStore() {
  absl::MutexLock check(&check_mu_);
  absl::Status error = store_->WriteError();
  StoreCondition condition = error.ok() ? StoreCondition::kWritable
                             : absl::IsResourceExhausted(error)
                                 ? StoreCondition::kFull
                                 : StoreCondition::kFailed;
  const absl::Time now = absl::Now();
  if (condition == StoreCondition::kFull) {
    bool retry = false;
    {
      absl::MutexLock lock(&store_mu_);
      if (store_health_.condition == StoreCondition::kFull &&
          now >= next_resume_) {
        next_resume_ = now + kStoreRetryInterval;
        retry = true;
      }
    }
    // Quietly: a failed retry changes nothing worth a log line.
    if (retry) {
      if (store_->Resume().ok()) {
        error = absl::OkStatus();
        condition = StoreCondition::kWritable;
      } else if (absl::Status now_error = store_->WriteError();
                 !now_error.ok() && !absl::IsResourceExhausted(now_error)) {
        // Full, and then the device failed too: stop for good.
        error = now_error;
        condition = StoreCondition::kFailed;
      }
    }
  }
  StoreHealth health;
  StoreListener listener;
  {
    absl::MutexLock lock(&store_mu_);
    if (condition == store_health_.condition) return;
    if (condition == StoreCondition::kFull) {
      next_resume_ = now + kStoreRetryInterval;
    }
    store_health_.condition = condition;
    store_health_.write_error = error;
    health = store_health_;
    listener = store_listener_;
  }
  writable_.store(condition == StoreCondition::kWritable);
  switch (condition) {
    case StoreCondition::kFull:
      LOG(ERROR) << "datadir " << options_.datadir
                 << ": the disk is full: stopped mining and accepting blocks "
                    "and transactions (health: NOT_SERVING); retrying every "
                 << absl::FormatDuration(kStoreRetryInterval)
                 << " and resuming by itself once writes succeed. Free space "
                    "on the disk. ("
                 << error.message() << ")";
      break;
    case StoreCondition::kFailed:
      LOG(ERROR) << "datadir " << options_.datadir
                 << ": writing failed: " << error
                 << "; the node writes nothing more and shuts down. Every "
                    "block acknowledged before is on disk; check the disk "
                    "(kernel log), then restart the node.";
      break;
    case StoreCondition::kWritable:
      LOG(WARNING) << "datadir " << options_.datadir
                   << ": writes succeed again: mining and accepting blocks "
                      "and transactions resumed";
      {
        absl::MutexLock lock(&mu_);
        ++wakeups_;  // an on-demand miner looks again
      }
      break;
  }
  if (listener) listener(health);
}

bool Node::NoteBlockReadFailure(const Hash256& hash,
                                const absl::Status& status) {
  if (!absl::IsDataLoss(status)) return false;
  bool first_of_block = false;
  bool first_damage = false;
  {
    absl::MutexLock lock(&store_mu_);
    first_damage = store_health_.damaged_reads == 0;
    ++store_health_.damaged_reads;
    if (damaged_.size() < kMaxRememberedDamagedBlocks &&
        damaged_.insert(hash).second) {
      first_of_block = true;
      ++store_health_.damaged_blocks;
    }
  }
  if (first_of_block) {
    LOG(ERROR) << "datadir " << options_.datadir << ": block "
               << hash.ToDisplayHex() << " cannot be read: " << status
               << "; answering 'not found' for it (peers fetch it from "
                  "others). Run `pbtool verify-db` and restore the datadir "
                  "from a backup or resync it.";
  }
  if (first_damage) {
    // Under check_mu_, as CheckStore's reports: the listener sees the
    // reports in the order of the changes.
    absl::MutexLock check(&check_mu_);
    StoreHealth health;
    StoreListener listener;
    {
      absl::MutexLock lock(&store_mu_);
      health = store_health_;
      listener = store_listener_;
    }
    if (listener) listener(health);
  }
  return true;
}

}  // namespace pbchain
