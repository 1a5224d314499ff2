// The tracker's peer registry: which nodes of which network (genesis hash)
// are live, their leases, and the subscriptions that watch them. Pure logic:
// no gRPC, no protobuf, no threads of its own; time comes from an injected
// clock so tests can move it. pbtracker's gRPC service (tracker_service.h)
// converts messages to and from these types and runs the expiry timer.
//
// Every limit below is a named constant; pbtracker's flags override the
// defaults and docs/OPERATIONS.md ("pbtracker") lists them.
#ifndef PBCHAIN_TRACKER_REGISTRY_H_
#define PBCHAIN_TRACKER_REGISTRY_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/random/random.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/host_port.h"

namespace pbchain::tracker {

// Field limits of tracker.proto / types.proto.
inline constexpr size_t kMaxNodeIdChars = 64;
using ::pbchain::kMaxAddressBytes;  // common/host_port.h
inline constexpr size_t kMaxLeaseIdChars = 64;
inline constexpr size_t kHashBytes = 32;

// Defaults of the registry's options (and of pbtracker's flags).
inline constexpr absl::Duration kDefaultLeaseTtl = absl::Seconds(10);
inline constexpr absl::Duration kDefaultHeartbeatInterval = absl::Seconds(2);
inline constexpr size_t kDefaultMaxPeersPerNetwork = 1000;
inline constexpr size_t kDefaultMaxNetworks = 64;
inline constexpr size_t kDefaultMaxWatchers = 1024;
inline constexpr double kDefaultMaxJoinsPerSecond = 50;

// Hard ceilings. A PeerEvent is at most ~430 bytes on the wire (64-char id,
// 255-byte address, two hashes), and a WatchPeers snapshot is one message
// under the 1 MiB limit, so a network holds at most 2000 peers.
inline constexpr size_t kMaxPeersPerNetworkLimit = 2000;
// Client IPs whose join rate is tracked at once; idle ones are forgotten
// first, and when all are busy a new IP is refused for a moment.
inline constexpr size_t kMaxTrackedClientIps = 4096;
// Changes queued for one watcher. A watcher further behind is dropped (its
// stream ends with RESOURCE_EXHAUSTED and it subscribes again), so memory
// stays bounded by watchers x this. Heartbeat UPDATEs of one node coalesce
// in the queue, so only joins and leaves fill it.
inline constexpr size_t kMaxQueuedWatchChanges = 1024;
// Changes per WatchPeers message after the snapshot.
inline constexpr size_t kMaxChangesPerWatchMessage = 256;

// Role a node announced. Values are pbchain.v1.PeerRole's numbers.
enum class Role { kHead = 1, kSeed = 2, kFull = 3 };

// A registered node as the registry shows it (ListPeers, watch events).
struct Peer {
  std::string node_id;
  std::string address;
  Role role = Role::kFull;
  std::string genesis_hash;  // 32 bytes
  uint64_t height = 0;
  std::string tip_hash;  // empty or 32 bytes
  absl::Time last_seen;  // last Join / Heartbeat, registry clock
};

enum class ChangeType { kAdded = 1, kRemoved = 2, kUpdated = 3 };

// One change of a network's peer set. For kRemoved, `peer` is as it was last
// known.
struct PeerChange {
  ChangeType type = ChangeType::kAdded;
  Peer peer;
};

// What a node sends to Join (the fields of pbchain.v1.JoinRequest).
struct JoinInput {
  std::string node_id;
  std::string address;
  std::string genesis_hash;
  int role = 0;  // raw PeerRole number; 0 (unspecified) means full
  uint64_t height = 0;
  std::string tip_hash;
};

// A lease granted by Join or renewed by Heartbeat.
struct Lease {
  std::string lease_id;
  absl::Time expires;
  absl::Duration heartbeat_interval;
  absl::Duration ttl;
};

struct RegistryOptions {
  // A node not heard from (Join / Heartbeat) for this long is expired.
  absl::Duration lease_ttl = kDefaultLeaseTtl;
  // Heartbeat period suggested to nodes; well below lease_ttl.
  absl::Duration heartbeat_interval = kDefaultHeartbeatInterval;
  size_t max_peers_per_network = kDefaultMaxPeersPerNetwork;
  size_t max_networks = kDefaultMaxNetworks;
  size_t max_watchers = kDefaultMaxWatchers;
  // Token bucket per client IP: this many joins per second, bursts of as
  // many.
  double max_joins_per_second = kDefaultMaxJoinsPerSecond;
  std::function<absl::Time()> clock = [] { return absl::Now(); };
};

// Field checks shared by the registry and the service. Each returns OK or
// INVALID_ARGUMENT with a message naming `field`. Pure; any thread.
//
// 1..64 printable ASCII characters, no spaces.
absl::Status ValidateNodeId(absl::string_view id, absl::string_view field);
// A dialable address under common/host_port.h's rules (ParseHostPort).
absl::Status ValidateAddress(absl::string_view address,
                             absl::string_view field);
// Exactly 32 bytes, or also empty when `allow_empty`.
absl::Status ValidateHash(absl::string_view hash, absl::string_view field,
                          bool allow_empty);
// A known PeerRole number; 0 (unspecified) is read as full.
absl::StatusOr<Role> ParseRole(int role);
// Every field of a Join request (the checks above, in field order).
absl::Status ValidateJoinInput(const JoinInput& input);

class Registry;

// One subscription to the changes of one network, made by Registry::Watch.
// It first yields a snapshot (every live node as kAdded), then the changes
// in order. Thread-safe.
class Watcher {
 public:
  struct Batch {
    bool snapshot = false;
    std::vector<std::shared_ptr<const PeerChange>> changes;
  };

  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

  // The next message's worth: the snapshot first (whole, whatever its size),
  // then at most `max_changes` queued changes. OK(nullopt) when nothing is
  // pending (the notify callback given to Watch fires when something is).
  // Not OK once the subscription has ended, with the reason:
  // RESOURCE_EXHAUSTED (fell more than kMaxQueuedWatchChanges behind) or the
  // status given to Registry::CloseWatchers. Any thread.
  absl::StatusOr<std::optional<Batch>> Next(size_t max_changes);

  const std::string& genesis_hash() const { return genesis_hash_; }

 private:
  friend class Registry;
  using Snapshot = std::vector<std::shared_ptr<const PeerChange>>;

  Watcher(uint64_t id, std::string genesis_hash, std::string exclude_node_id,
          std::function<void()> notify, Snapshot snapshot);

  enum class PushResult {
    kQueued,   // queued, coalesced or ignored: nobody needs waking
    kWoke,     // went from nothing pending to pending: run notify_
    kDropped,  // fell too far behind and ended: run notify_, forget it
  };
  // Queues `change` (unless it concerns the excluded node).
  PushResult Push(const std::shared_ptr<const PeerChange>& change);
  // Ends the subscription with `why`; returns true if it was still open.
  bool End(absl::Status why);

  const uint64_t id_;
  const std::string genesis_hash_;
  const std::string exclude_node_id_;
  // Runs without any registry lock held; see Registry::Watch.
  const std::function<void()> notify_;

  absl::Mutex mu_;
  std::optional<Snapshot> snapshot_ ABSL_GUARDED_BY(mu_);
  std::deque<std::shared_ptr<const PeerChange>> queue_ ABSL_GUARDED_BY(mu_);
  // Sequence number of queue_.front(); each pushed change takes the next.
  uint64_t front_seq_ ABSL_GUARDED_BY(mu_) = 0;
  // Node id -> sequence number of its queued kUpdated change while that is
  // its latest queued change: a newer update replaces it in place.
  absl::flat_hash_map<std::string, uint64_t> coalescible_ ABSL_GUARDED_BY(mu_);
  absl::Status ended_ ABSL_GUARDED_BY(mu_);
};

// The registry. Every method is thread-safe and returns quickly (no I/O);
// notify callbacks of watchers run on the calling thread after the registry
// lock is released.
class Registry {
 public:
  // `options` must have lease_ttl > 0, heartbeat_interval > 0,
  // max_joins_per_second > 0 and nonzero counts (pbtracker's main checks).
  explicit Registry(RegistryOptions options);

  // Takes one join token of `client_ip` (any text naming the client).
  // RESOURCE_EXHAUSTED "too many joins from IP, retry in ..." when its
  // bucket is empty or when kMaxTrackedClientIps other IPs are all busy.
  absl::Status AdmitJoin(absl::string_view client_ip);

  // Registers `input` with a new lease. A node id already registered from
  // another address is refused with ALREADY_EXISTS while its lease lives,
  // unless that address equals `unreachable_address` (the caller probed it
  // and found it dead). Joining again from the same address replaces the old
  // lease; with another genesis the node moves to that network.
  // INVALID_ARGUMENT for a malformed field, RESOURCE_EXHAUSTED when the
  // network or the number of networks is full.
  absl::StatusOr<Lease> Join(const JoinInput& input,
                             absl::string_view unreachable_address = {});

  // Address of the live registration of `node_id`, if any.
  std::optional<std::string> RegisteredAddress(absl::string_view node_id);

  // Renews the lease and records height / tip. INVALID_ARGUMENT for a
  // malformed field; NOT_FOUND for an unknown node id, a wrong lease id or
  // an expired lease (the node then Joins again).
  absl::StatusOr<Lease> Heartbeat(absl::string_view node_id,
                                  absl::string_view lease_id, uint64_t height,
                                  absl::string_view tip_hash);

  // Removes the node at once. INVALID_ARGUMENT / NOT_FOUND as Heartbeat.
  absl::Status Leave(absl::string_view node_id, absl::string_view lease_id);

  // Live nodes of network `genesis_hash` except `exclude_node_id`, seeds
  // first, then heads, then full nodes (by node id within a role). With
  // 0 < limit < count, the answer holds every seed (up to limit) and a
  // random choice of the others. INVALID_ARGUMENT for a malformed hash or
  // exclude id.
  absl::StatusOr<std::vector<Peer>> List(absl::string_view genesis_hash,
                                         size_t limit,
                                         absl::string_view exclude_node_id);

  // Removes every node whose lease has run out; returns how many.
  size_t Expire();

  // Subscribes to network `genesis_hash` (leaving out `exclude_node_id`).
  // The snapshot is pending at once: call Next after Watch returns. After
  // that, `notify` is called whenever the watcher goes from nothing pending
  // to something pending (changes, or its end); it runs on the thread that
  // changed the registry, after the registry lock is released, and must not
  // block. Call Unwatch when done.
  // INVALID_ARGUMENT for a malformed hash or exclude id; RESOURCE_EXHAUSTED
  // when max_watchers are subscribed; UNAVAILABLE after CloseWatchers.
  absl::StatusOr<std::shared_ptr<Watcher>> Watch(
      absl::string_view genesis_hash, absl::string_view exclude_node_id,
      std::function<void()> notify);

  // Ends the subscription (if still open) and forgets it. Idempotent.
  void Unwatch(Watcher& watcher);

  // Ends every subscription with `why` and refuses new ones (shutdown).
  void CloseWatchers(const absl::Status& why);

  size_t peer_count() const;
  size_t network_count() const;
  size_t watcher_count() const;

  // For metrics (tracker/tracker_metrics.h): registrations per network
  // (genesis hash, raw 32 bytes -> nodes; expired ones not swept yet
  // included), and what happened since start.
  std::vector<std::pair<std::string, size_t>> nodes_per_network() const;
  struct Counters {
    uint64_t joins = 0;          // Join calls that gave a lease
    uint64_t joins_refused = 0;  // Join calls refused after validation
    uint64_t leaves = 0;         // Leave calls that removed a node
    uint64_t expiries = 0;       // registrations removed for a lapsed lease
  };
  Counters counters() const;
  const RegistryOptions& options() const { return options_; }

 private:
  struct Entry {
    Peer peer;
    std::string lease_id;
    absl::Time expiry;
  };
  struct JoinBucket {
    double tokens = 0;
    absl::Time refilled;
  };
  // Watchers to notify once the lock is released.
  using NotifyList = std::vector<std::shared_ptr<Watcher>>;

  // OK if `peer` may take its node id (free, expired, same address, or the
  // old address is `unreachable`); ALREADY_EXISTS otherwise.
  absl::Status ClaimNodeIdLocked(const Peer& peer,
                                 absl::string_view unreachable, absl::Time now,
                                 NotifyList& notify)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<Lease> JoinLocked(Entry entry, absl::Time now,
                                   absl::string_view unreachable,
                                   NotifyList& notify)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::shared_ptr<Watcher>> WatchLocked(
      const std::string& genesis_hash, const std::string& exclude_node_id,
      std::function<void()> notify_fn, absl::Time now, NotifyList& notify)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<Entry*> FindLeaseLocked(absl::string_view node_id,
                                         absl::string_view lease_id,
                                         absl::Time now, NotifyList& notify)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckRoomLocked(const std::string& genesis_hash, absl::Time now,
                               NotifyList& notify)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AddLocked(Entry entry, NotifyList& notify)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RemoveLocked(absl::string_view node_id, NotifyList& notify)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  size_t ExpireLocked(absl::Time now, const std::string* only_genesis,
                      NotifyList& notify) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PublishLocked(ChangeType type, const Peer& peer, NotifyList& notify)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::vector<const Entry*> LiveEntriesLocked(absl::string_view genesis_hash,
                                              absl::string_view exclude,
                                              absl::Time now) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PruneIdleBucketsLocked(absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Lease LeaseOf(const Entry& entry) const;
  static void Notify(const NotifyList& notify);

  const RegistryOptions options_;

  mutable absl::Mutex mu_;
  // Node id -> registration. Node ids are unique across networks because
  // Heartbeat and Leave carry no genesis hash.
  absl::flat_hash_map<std::string, Entry> nodes_ ABSL_GUARDED_BY(mu_);
  // Genesis hash -> node ids of that network; a network with no nodes is
  // erased.
  absl::flat_hash_map<std::string, absl::flat_hash_set<std::string>> networks_
      ABSL_GUARDED_BY(mu_);
  // Genesis hash -> watcher id -> watcher. Kept apart from networks_ so that
  // watching a network does not create it.
  absl::flat_hash_map<std::string,
                      absl::flat_hash_map<uint64_t, std::shared_ptr<Watcher>>>
      watchers_ ABSL_GUARDED_BY(mu_);
  size_t watcher_count_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_watcher_id_ ABSL_GUARDED_BY(mu_) = 1;
  bool watchers_closed_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status close_reason_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, JoinBucket> join_buckets_
      ABSL_GUARDED_BY(mu_);
  absl::BitGen random_ ABSL_GUARDED_BY(mu_);  // List's sampling only
  Counters counters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pbchain::tracker

#endif  // PBCHAIN_TRACKER_REGISTRY_H_
