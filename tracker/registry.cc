#include "tracker/registry.h"

#include <sys/random.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/host_port.h"
#include "common/status_macros.h"

namespace pbchain::tracker {
namespace {

absl::Status Invalid(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

// Index of the first byte outside printable ASCII or a space, or npos.
size_t FirstBadChar(absl::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] <= ' ' || text[i] > '~') return i;
  }
  return absl::string_view::npos;
}

absl::Status ValidateLeaseId(absl::string_view lease_id) {
  if (lease_id.empty()) return Invalid("lease_id", "missing");
  if (lease_id.size() > kMaxLeaseIdChars) {
    return Invalid("lease_id",
                   absl::StrCat(lease_id.size(), " characters, at most ",
                                kMaxLeaseIdChars));
  }
  return absl::OkStatus();
}

// 128 random bits from the kernel's CSPRNG, as 32 hex chars: a lease id
// must not be guessable, or anyone could renew or end another's lease.
absl::StatusOr<std::string> NewLeaseId() {
  std::array<char, 16> bytes;
  if (getrandom(bytes.data(), bytes.size(), 0) !=
      static_cast<ssize_t>(bytes.size())) {
    return absl::InternalError("getrandom failed");
  }
  return absl::BytesToHexString(absl::string_view(bytes.data(), bytes.size()));
}

int RoleRank(Role role) {
  switch (role) {
    case Role::kSeed:
      return 0;
    case Role::kHead:
      return 1;
    case Role::kFull:
      return 2;
  }
  return 3;
}

// Seeds first, then heads, then full nodes; by node id within a role.
bool ListedBefore(const Peer& a, const Peer& b) {
  if (RoleRank(a.role) != RoleRank(b.role)) {
    return RoleRank(a.role) < RoleRank(b.role);
  }
  return a.node_id < b.node_id;
}

// Whether watchers need an UPDATED change (last_seen alone does not count).
bool DetailsDiffer(const Peer& a, const Peer& b) {
  return a.address != b.address || a.role != b.role || a.height != b.height ||
         a.tip_hash != b.tip_hash;
}

}  // namespace

absl::Status ValidateNodeId(absl::string_view id, absl::string_view field) {
  if (id.empty()) return Invalid(field, "missing");
  if (id.size() > kMaxNodeIdChars) {
    return Invalid(field, absl::StrCat(id.size(), " characters, at most ",
                                       kMaxNodeIdChars));
  }
  if (size_t bad = FirstBadChar(id); bad != absl::string_view::npos) {
    return Invalid(field, absl::StrCat("character ", bad,
                                       " is not printable ASCII or is a "
                                       "space"));
  }
  return absl::OkStatus();
}

absl::Status ValidateAddress(absl::string_view address,
                             absl::string_view field) {
  if (address.empty()) return Invalid(field, "missing");
  absl::StatusOr<HostPort> parsed = ParseHostPort(address);
  if (!parsed.ok()) {
    // "address 'x': why" -> "FIELD: 'x': why"
    absl::string_view why = parsed.status().message();
    absl::ConsumePrefix(&why, "address ");
    return Invalid(field, why);
  }
  return absl::OkStatus();
}

absl::Status ValidateHash(absl::string_view hash, absl::string_view field,
                          bool allow_empty) {
  if (hash.size() == kHashBytes || (allow_empty && hash.empty())) {
    return absl::OkStatus();
  }
  return Invalid(field, absl::StrCat("want ", kHashBytes,
                                     allow_empty ? " bytes or none" : " bytes",
                                     ", got ", hash.size()));
}

absl::StatusOr<Role> ParseRole(int role) {
  switch (role) {
    case 0:  // unspecified: types.proto reads it as full
    case static_cast<int>(Role::kFull):
      return Role::kFull;
    case static_cast<int>(Role::kHead):
      return Role::kHead;
    case static_cast<int>(Role::kSeed):
      return Role::kSeed;
  }
  return Invalid("role", absl::StrCat("unknown PeerRole value ", role));
}

// --- Watcher ---------------------------------------------------------------

Watcher::Watcher(uint64_t id, std::string genesis_hash,
                 std::string exclude_node_id, std::function<void()> notify,
                 Snapshot snapshot)
    : id_(id),
      genesis_hash_(std::move(genesis_hash)),
      exclude_node_id_(std::move(exclude_node_id)),
      notify_(std::move(notify)),
      snapshot_(std::move(snapshot)) {}

absl::StatusOr<std::optional<Watcher::Batch>> Watcher::Next(
    size_t max_changes) {
  absl::MutexLock lock(&mu_);
  if (!ended_.ok()) return ended_;
  Batch batch;
  if (snapshot_.has_value()) {
    batch.snapshot = true;
    batch.changes = std::move(*snapshot_);
    snapshot_.reset();
    return batch;
  }
  if (queue_.empty()) return std::nullopt;
  const size_t n = std::min(std::max<size_t>(max_changes, 1), queue_.size());
  for (size_t i = 0; i < n; ++i) {
    auto it = coalescible_.find(queue_.front()->peer.node_id);
    if (it != coalescible_.end() && it->second == front_seq_) {
      coalescible_.erase(it);
    }
    batch.changes.push_back(std::move(queue_.front()));
    queue_.pop_front();
    ++front_seq_;
  }
  return batch;
}

Watcher::PushResult Watcher::Push(
    const std::shared_ptr<const PeerChange>& change) {
  absl::MutexLock lock(&mu_);
  const std::string& node_id = change->peer.node_id;
  if (!ended_.ok() || node_id == exclude_node_id_) return PushResult::kQueued;
  if (change->type == ChangeType::kUpdated) {
    // The node's latest queued change is an update nobody has read yet:
    // the newer one replaces it (same position, so order is kept).
    if (auto it = coalescible_.find(node_id); it != coalescible_.end()) {
      queue_[it->second - front_seq_] = change;
      return PushResult::kQueued;
    }
  } else {
    coalescible_.erase(node_id);
  }
  if (queue_.size() >= kMaxQueuedWatchChanges) {
    ended_ = absl::ResourceExhaustedError(
        absl::StrCat("watcher fell more than ", kMaxQueuedWatchChanges,
                     " changes behind and was dropped; watch again"));
    queue_.clear();
    coalescible_.clear();
    snapshot_.reset();
    return PushResult::kDropped;
  }
  const bool was_idle = queue_.empty() && !snapshot_.has_value();
  queue_.push_back(change);
  if (change->type == ChangeType::kUpdated) {
    coalescible_[node_id] = front_seq_ + queue_.size() - 1;
  }
  return was_idle ? PushResult::kWoke : PushResult::kQueued;
}

bool Watcher::End(absl::Status why) {
  absl::MutexLock lock(&mu_);
  if (!ended_.ok()) return false;
  ended_ = std::move(why);
  queue_.clear();
  coalescible_.clear();
  snapshot_.reset();
  return true;
}

// --- Registry --------------------------------------------------------------

Registry::Registry(RegistryOptions options) : options_(std::move(options)) {}

absl::Status Registry::AdmitJoin(absl::string_view client_ip) {
  const absl::Time now = options_.clock();
  const double rate = options_.max_joins_per_second;
  const double burst = std::max(1.0, rate);
  absl::MutexLock lock(&mu_);
  auto it = join_buckets_.find(client_ip);
  if (it == join_buckets_.end()) {
    if (join_buckets_.size() >= kMaxTrackedClientIps) {
      PruneIdleBucketsLocked(now);
    }
    if (join_buckets_.size() >= kMaxTrackedClientIps) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "too many joins from IP ", client_ip, ", retry in 1s (",
          kMaxTrackedClientIps, " client IPs are joining at once)"));
    }
    it = join_buckets_.emplace(client_ip, JoinBucket{burst, now}).first;
  }
  JoinBucket& bucket = it->second;
  const double elapsed =
      std::max(0.0, absl::ToDoubleSeconds(now - bucket.refilled));
  bucket.tokens = std::min(burst, bucket.tokens + elapsed * rate);
  bucket.refilled = now;
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    return absl::OkStatus();
  }
  const absl::Duration wait = absl::Ceil(
      absl::Seconds((1.0 - bucket.tokens) / rate), absl::Milliseconds(1));
  return absl::ResourceExhaustedError(absl::StrCat("too many joins from IP ",
                                                   client_ip, ", retry in ",
                                                   absl::FormatDuration(wait)));
}

void Registry::PruneIdleBucketsLocked(absl::Time now) {
  const double rate = options_.max_joins_per_second;
  const double burst = std::max(1.0, rate);
  // A bucket that has refilled is the same as no bucket: forget it.
  absl::erase_if(join_buckets_, [&](const auto& item) {
    const JoinBucket& b = item.second;
    return b.tokens + absl::ToDoubleSeconds(now - b.refilled) * rate >= burst;
  });
}

absl::Status ValidateJoinInput(const JoinInput& input) {
  PBCHAIN_RETURN_IF_ERROR(ValidateNodeId(input.node_id, "node_id"));
  PBCHAIN_RETURN_IF_ERROR(ValidateAddress(input.address, "address"));
  PBCHAIN_RETURN_IF_ERROR(
      ValidateHash(input.genesis_hash, "genesis_hash", false));
  PBCHAIN_RETURN_IF_ERROR(ValidateHash(input.tip_hash, "tip_hash", true));
  return ParseRole(input.role).status();
}

absl::StatusOr<Lease> Registry::Join(const JoinInput& input,
                                     absl::string_view unreachable_address) {
  PBCHAIN_RETURN_IF_ERROR(ValidateJoinInput(input));
  absl::StatusOr<Role> role = ParseRole(input.role);
  PBCHAIN_ASSIGN_OR_RETURN(std::string lease_id, NewLeaseId());

  const absl::Time now = options_.clock();
  Entry entry;
  entry.peer.node_id = input.node_id;
  entry.peer.address = input.address;
  entry.peer.role = *role;
  entry.peer.genesis_hash = input.genesis_hash;
  entry.peer.height = input.height;
  entry.peer.tip_hash = input.tip_hash;
  entry.peer.last_seen = now;
  entry.lease_id = std::move(lease_id);
  entry.expiry = now + options_.lease_ttl;

  NotifyList notify;
  absl::StatusOr<Lease> result;
  {
    absl::MutexLock lock(&mu_);
    result = JoinLocked(std::move(entry), now, unreachable_address, notify);
    ++(result.ok() ? counters_.joins : counters_.joins_refused);
  }
  Notify(notify);
  return result;
}

absl::Status Registry::ClaimNodeIdLocked(const Peer& peer,
                                         absl::string_view unreachable,
                                         absl::Time now, NotifyList& notify) {
  auto it = nodes_.find(peer.node_id);
  if (it == nodes_.end()) return absl::OkStatus();
  if (it->second.expiry <= now) {
    // Expired but not swept yet: it is gone, and watchers hear so first.
    RemoveLocked(peer.node_id, notify);
    ++counters_.expiries;
    return absl::OkStatus();
  }
  const std::string& old_address = it->second.peer.address;
  // A live registration from another address keeps its id, so that one
  // node cannot take over another's identity.
  if (old_address != peer.address && old_address != unreachable) {
    return absl::AlreadyExistsError(absl::StrCat(
        "node_id ", peer.node_id, " is registered from ", old_address,
        " with a live lease; it can move to another address once that one "
        "is unreachable or its lease has expired"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Lease> Registry::JoinLocked(Entry entry, absl::Time now,
                                           absl::string_view unreachable,
                                           NotifyList& notify) {
  const std::string id = entry.peer.node_id;
  absl::Status claim = ClaimNodeIdLocked(entry.peer, unreachable, now, notify);
  if (!claim.ok()) return claim;
  auto it = nodes_.find(id);
  if (it == nodes_.end() ||
      it->second.peer.genesis_hash != entry.peer.genesis_hash) {
    absl::Status room = CheckRoomLocked(entry.peer.genesis_hash, now, notify);
    if (!room.ok()) return room;
    it = nodes_.find(id);  // CheckRoomLocked may have expired entries
  }
  const Lease lease = LeaseOf(entry);
  if (it == nodes_.end()) {
    AddLocked(std::move(entry), notify);
  } else if (it->second.peer.genesis_hash != entry.peer.genesis_hash) {
    RemoveLocked(id, notify);  // the node moved to another network
    AddLocked(std::move(entry), notify);
  } else {
    const bool changed = DetailsDiffer(it->second.peer, entry.peer);
    it->second = std::move(entry);
    if (changed) PublishLocked(ChangeType::kUpdated, it->second.peer, notify);
  }
  return lease;
}

std::optional<std::string> Registry::RegisteredAddress(
    absl::string_view node_id) {
  const absl::Time now = options_.clock();
  absl::MutexLock lock(&mu_);
  auto it = nodes_.find(node_id);
  if (it == nodes_.end() || it->second.expiry <= now) return std::nullopt;
  return it->second.peer.address;
}

absl::StatusOr<Lease> Registry::Heartbeat(absl::string_view node_id,
                                          absl::string_view lease_id,
                                          uint64_t height,
                                          absl::string_view tip_hash) {
  PBCHAIN_RETURN_IF_ERROR(ValidateNodeId(node_id, "node_id"));
  PBCHAIN_RETURN_IF_ERROR(ValidateLeaseId(lease_id));
  PBCHAIN_RETURN_IF_ERROR(ValidateHash(tip_hash, "tip_hash", true));
  const absl::Time now = options_.clock();
  NotifyList notify;
  absl::StatusOr<Lease> result;
  {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Entry*> entry =
        FindLeaseLocked(node_id, lease_id, now, notify);
    if (entry.ok()) {
      Peer& peer = (*entry)->peer;
      const bool changed = peer.height != height || peer.tip_hash != tip_hash;
      peer.height = height;
      peer.tip_hash = std::string(tip_hash);
      peer.last_seen = now;
      (*entry)->expiry = now + options_.lease_ttl;
      if (changed) PublishLocked(ChangeType::kUpdated, peer, notify);
      result = LeaseOf(**entry);
    } else {
      result = entry.status();
    }
  }
  Notify(notify);
  return result;
}

absl::Status Registry::Leave(absl::string_view node_id,
                             absl::string_view lease_id) {
  PBCHAIN_RETURN_IF_ERROR(ValidateNodeId(node_id, "node_id"));
  PBCHAIN_RETURN_IF_ERROR(ValidateLeaseId(lease_id));
  const absl::Time now = options_.clock();
  NotifyList notify;
  absl::Status result;
  {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Entry*> entry =
        FindLeaseLocked(node_id, lease_id, now, notify);
    if (entry.ok()) {
      RemoveLocked(node_id, notify);
      ++counters_.leaves;
    } else {
      result = entry.status();
    }
  }
  Notify(notify);
  return result;
}

absl::StatusOr<Registry::Entry*> Registry::FindLeaseLocked(
    absl::string_view node_id, absl::string_view lease_id, absl::Time now,
    NotifyList& notify) {
  auto it = nodes_.find(node_id);
  if (it == nodes_.end() || it->second.lease_id != lease_id) {
    return absl::NotFoundError(
        absl::StrCat("node_id ", node_id,
                     " has no registration with this lease_id; Join again"));
  }
  if (it->second.expiry <= now) {
    RemoveLocked(node_id, notify);  // not swept yet; it is gone all the same
    ++counters_.expiries;
    return absl::NotFoundError(absl::StrCat("the lease of node_id ", node_id,
                                            " has expired; Join again"));
  }
  return &it->second;
}

absl::StatusOr<std::vector<Peer>> Registry::List(
    absl::string_view genesis_hash, size_t limit,
    absl::string_view exclude_node_id) {
  PBCHAIN_RETURN_IF_ERROR(ValidateHash(genesis_hash, "genesis_hash", false));
  if (!exclude_node_id.empty()) {
    PBCHAIN_RETURN_IF_ERROR(ValidateNodeId(exclude_node_id, "exclude_node_id"));
  }
  const absl::Time now = options_.clock();
  absl::MutexLock lock(&mu_);
  std::vector<const Entry*> live =
      LiveEntriesLocked(genesis_hash, exclude_node_id, now);
  std::vector<Peer> peers;
  if (limit == 0 || live.size() <= limit) {
    for (const Entry* e : live) peers.push_back(e->peer);
  } else {
    // Seeds are where new nodes bootstrap, so they are always offered; the
    // rest is a random sample, so that callers spread over the network.
    std::vector<const Entry*> seeds;
    std::vector<const Entry*> others;
    for (const Entry* e : live) {
      (e->peer.role == Role::kSeed ? seeds : others).push_back(e);
    }
    std::shuffle(seeds.begin(), seeds.end(), random_);
    std::shuffle(others.begin(), others.end(), random_);
    for (const Entry* e : seeds) {
      if (peers.size() < limit) peers.push_back(e->peer);
    }
    for (const Entry* e : others) {
      if (peers.size() < limit) peers.push_back(e->peer);
    }
  }
  std::sort(peers.begin(), peers.end(), ListedBefore);
  return peers;
}

std::vector<const Registry::Entry*> Registry::LiveEntriesLocked(
    absl::string_view genesis_hash, absl::string_view exclude,
    absl::Time now) const {
  std::vector<const Entry*> live;
  auto network = networks_.find(genesis_hash);
  if (network == networks_.end()) return live;
  for (const std::string& id : network->second) {
    const Entry& entry = nodes_.at(id);
    if (entry.expiry > now && id != exclude) live.push_back(&entry);
  }
  return live;
}

size_t Registry::Expire() {
  const absl::Time now = options_.clock();
  NotifyList notify;
  size_t removed = 0;
  {
    absl::MutexLock lock(&mu_);
    removed = ExpireLocked(now, nullptr, notify);
    PruneIdleBucketsLocked(now);
  }
  Notify(notify);
  return removed;
}

size_t Registry::ExpireLocked(absl::Time now, const std::string* only_genesis,
                              NotifyList& notify) {
  std::vector<std::string> dead;
  if (only_genesis != nullptr) {
    auto network = networks_.find(*only_genesis);
    if (network == networks_.end()) return 0;
    for (const std::string& id : network->second) {
      if (nodes_.at(id).expiry <= now) dead.push_back(id);
    }
  } else {
    for (const auto& [id, entry] : nodes_) {
      if (entry.expiry <= now) dead.push_back(id);
    }
  }
  for (const std::string& id : dead) RemoveLocked(id, notify);
  counters_.expiries += dead.size();
  return dead.size();
}

absl::Status Registry::CheckRoomLocked(const std::string& genesis_hash,
                                       absl::Time now, NotifyList& notify) {
  auto network = networks_.find(genesis_hash);
  if (network == networks_.end()) {
    if (networks_.size() < options_.max_networks) return absl::OkStatus();
    ExpireLocked(now, nullptr, notify);  // a dead network frees its slot
    if (networks_.size() < options_.max_networks) return absl::OkStatus();
    return absl::ResourceExhaustedError(
        absl::StrCat("the tracker already serves ", options_.max_networks,
                     " networks (--max-networks); try later"));
  }
  if (network->second.size() < options_.max_peers_per_network) {
    return absl::OkStatus();
  }
  ExpireLocked(now, &genesis_hash, notify);
  network = networks_.find(genesis_hash);
  if (network == networks_.end() ||
      network->second.size() < options_.max_peers_per_network) {
    return absl::OkStatus();
  }
  return absl::ResourceExhaustedError(
      absl::StrCat("network is full: ", options_.max_peers_per_network,
                   " peers (--max-peers-per-network); try later"));
}

void Registry::AddLocked(Entry entry, NotifyList& notify) {
  const std::string id = entry.peer.node_id;
  networks_[entry.peer.genesis_hash].insert(id);
  auto [it, inserted] = nodes_.insert_or_assign(id, std::move(entry));
  PublishLocked(ChangeType::kAdded, it->second.peer, notify);
}

void Registry::RemoveLocked(absl::string_view node_id, NotifyList& notify) {
  auto it = nodes_.find(node_id);
  if (it == nodes_.end()) return;
  Peer peer = std::move(it->second.peer);
  nodes_.erase(it);
  auto network = networks_.find(peer.genesis_hash);
  if (network != networks_.end()) {
    network->second.erase(peer.node_id);
    if (network->second.empty()) networks_.erase(network);
  }
  PublishLocked(ChangeType::kRemoved, peer, notify);
}

void Registry::PublishLocked(ChangeType type, const Peer& peer,
                             NotifyList& notify) {
  auto network = watchers_.find(peer.genesis_hash);
  if (network == watchers_.end()) return;
  // One immutable change shared by every watcher's queue.
  auto change = std::make_shared<const PeerChange>(PeerChange{type, peer});
  auto& watchers = network->second;
  for (auto it = watchers.begin(); it != watchers.end();) {
    const Watcher::PushResult result = it->second->Push(change);
    if (result != Watcher::PushResult::kQueued) notify.push_back(it->second);
    if (result == Watcher::PushResult::kDropped) {
      watchers.erase(it++);
      --watcher_count_;
    } else {
      ++it;
    }
  }
  if (watchers.empty()) watchers_.erase(network);
}

absl::StatusOr<std::shared_ptr<Watcher>> Registry::Watch(
    absl::string_view genesis_hash, absl::string_view exclude_node_id,
    std::function<void()> notify_fn) {
  PBCHAIN_RETURN_IF_ERROR(ValidateHash(genesis_hash, "genesis_hash", false));
  if (!exclude_node_id.empty()) {
    PBCHAIN_RETURN_IF_ERROR(ValidateNodeId(exclude_node_id, "exclude_node_id"));
  }
  const absl::Time now = options_.clock();
  NotifyList notify;
  absl::StatusOr<std::shared_ptr<Watcher>> watcher;
  {
    absl::MutexLock lock(&mu_);
    watcher =
        WatchLocked(std::string(genesis_hash), std::string(exclude_node_id),
                    std::move(notify_fn), now, notify);
  }
  Notify(notify);
  return watcher;
}

absl::StatusOr<std::shared_ptr<Watcher>> Registry::WatchLocked(
    const std::string& genesis_hash, const std::string& exclude_node_id,
    std::function<void()> notify_fn, absl::Time now, NotifyList& notify) {
  if (watchers_closed_) return absl::UnavailableError(close_reason_.message());
  if (watcher_count_ >= options_.max_watchers) {
    return absl::ResourceExhaustedError(
        absl::StrCat("too many watchers: ", options_.max_watchers,
                     " (--max-watchers); try later"));
  }
  // Sweep first, so that the snapshot and the changes after it agree (no
  // REMOVED for a node the snapshot left out as expired).
  ExpireLocked(now, &genesis_hash, notify);
  std::vector<Peer> peers;
  for (const Entry* e : LiveEntriesLocked(genesis_hash, exclude_node_id, now)) {
    peers.push_back(e->peer);
  }
  std::sort(peers.begin(), peers.end(), ListedBefore);
  Watcher::Snapshot snapshot;
  for (Peer& peer : peers) {
    snapshot.push_back(std::make_shared<const PeerChange>(
        PeerChange{ChangeType::kAdded, std::move(peer)}));
  }
  const uint64_t id = next_watcher_id_++;
  // The constructor is private (only the registry makes watchers).
  std::shared_ptr<Watcher> watcher(
      new Watcher(id, genesis_hash, exclude_node_id, std::move(notify_fn),
                  std::move(snapshot)));
  watchers_[genesis_hash].emplace(id, watcher);
  ++watcher_count_;
  return watcher;
}

void Registry::Unwatch(Watcher& watcher) {
  absl::MutexLock lock(&mu_);
  auto network = watchers_.find(watcher.genesis_hash_);
  if (network != watchers_.end() && network->second.erase(watcher.id_) > 0) {
    --watcher_count_;
    if (network->second.empty()) watchers_.erase(network);
  }
  watcher.End(absl::CancelledError("unwatched"));
}

void Registry::CloseWatchers(const absl::Status& why) {
  NotifyList notify;
  {
    absl::MutexLock lock(&mu_);
    watchers_closed_ = true;
    close_reason_ = why;
    for (auto& [genesis, watchers] : watchers_) {
      for (auto& [id, watcher] : watchers) {
        if (watcher->End(why)) notify.push_back(watcher);
      }
    }
    watchers_.clear();
    watcher_count_ = 0;
  }
  Notify(notify);
}

size_t Registry::peer_count() const {
  absl::MutexLock lock(&mu_);
  return nodes_.size();
}

size_t Registry::network_count() const {
  absl::MutexLock lock(&mu_);
  return networks_.size();
}

std::vector<std::pair<std::string, size_t>> Registry::nodes_per_network()
    const {
  absl::MutexLock lock(&mu_);
  std::vector<std::pair<std::string, size_t>> out;
  out.reserve(networks_.size());
  for (const auto& [genesis, ids] : networks_) {
    out.emplace_back(genesis, ids.size());
  }
  return out;
}

Registry::Counters Registry::counters() const {
  absl::MutexLock lock(&mu_);
  return counters_;
}

size_t Registry::watcher_count() const {
  absl::MutexLock lock(&mu_);
  return watcher_count_;
}

Lease Registry::LeaseOf(const Entry& entry) const {
  return Lease{entry.lease_id, entry.expiry, options_.heartbeat_interval,
               options_.lease_ttl};
}

void Registry::Notify(const NotifyList& notify) {
  for (const std::shared_ptr<Watcher>& watcher : notify) {
    if (watcher->notify_) watcher->notify_();
  }
}

}  // namespace pbchain::tracker
