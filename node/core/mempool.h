// The memory pool: transactions that are valid on the chain tip (together
// with the same sender's pooled transactions of lower nonce) and wait for a
// block. Each sender's pooled transactions have consecutive nonces starting
// at its next nonce on the tip: a gap is refused (there is no orphan pool).
//
// Fee ordering: eviction and block selection rank transactions by fee rate
// (fee per byte of the canonical encoding, compared exactly by
// cross-multiplication), because blocks are limited in bytes; ties go to the
// transaction that arrived first. A replacement (same sender and nonce) only
// needs a strictly higher plain fee.
//
// Thread safety: every public method may be called from any thread; one
// internal mutex serializes them. The mempool calls into ChainState while
// holding its own mutex (lock order: mempool, then chain); ChainState never
// calls the mempool.
#ifndef PBCHAIN_NODE_CORE_MEMPOOL_H_
#define PBCHAIN_NODE_CORE_MEMPOOL_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "chain/address.h"
#include "chain/bytes.h"
#include "chain/chain_state.h"
#include "chain/transaction.h"

namespace pbchain {

// Default limits of MempoolOptions.
inline constexpr size_t kMempoolDefaultMaxTxs = 50'000;
inline constexpr size_t kMempoolDefaultMaxBytes = 64 * 1024 * 1024;  // 64 MiB
inline constexpr absl::Duration kMempoolDefaultExpiry = absl::Hours(1);
// The devnet default lets zero-fee data records in; spam is bounded by the
// size limits (and zero-fee transactions are the first evicted).
inline constexpr uint64_t kMempoolDefaultMinFee = 0;
// The per-sender limit counts the transactions a sender submitted (by the
// API or a peer). Transactions a reorganisation returns to the pool do not
// count against it: they were in blocks already, so they are bounded by
// the blocks undone, and dropping them would strand the sender's later
// nonces (see OnChainUpdate). The pool's size limits still apply.
inline constexpr size_t kMempoolDefaultMaxTxsPerSender = 64;

// The mempool file (DATADIR/mempool.dat, docs/OPERATIONS.md): written on a
// clean shutdown and every NodeOptions::mempool_save_interval, reloaded and
// revalidated at start. Layout (integers little-endian):
//   magic "PBMEMPL\n" (8 bytes), u32 version (kMempoolFileVersion),
//   u64 count, count x { u64 received (Unix microseconds), u8 flags
//   (bit 0: returned by a reorganisation), u32 length, length bytes of the
//   transaction's canonical encoding }, then SHA-256 of everything before.
inline constexpr char kMempoolFileName[] = "mempool.dat";
inline constexpr uint32_t kMempoolFileVersion = 1;
// A larger file is not read (twice the default byte limit, plus framing).
inline constexpr size_t kMaxMempoolFileBytes = 256 * 1024 * 1024;

struct MempoolOptions {
  // Most transactions held at once.
  size_t max_txs = kMempoolDefaultMaxTxs;
  // Most bytes (sum of canonical encodings) held at once.
  size_t max_bytes = kMempoolDefaultMaxBytes;
  // ExpireOld drops transactions received longer ago than this.
  absl::Duration expiry = kMempoolDefaultExpiry;
  // Transactions paying less are refused.
  uint64_t min_fee = kMempoolDefaultMinFee;
  // Most pooled transactions of one sender (a chain of nonces).
  size_t max_txs_per_sender = kMempoolDefaultMaxTxsPerSender;
  // The clock stamping received times (tests inject one). Default absl::Now.
  std::function<absl::Time()> clock;
};

// One pooled transaction as listed by Mempool::List.
struct MempoolEntry {
  Transaction tx;
  Hash256 txid;
  size_t size = 0;  // bytes of the canonical encoding
  uint64_t fee = 0;
  absl::Time received;
  // Taken back from a block a reorganisation undid (not counted against
  // the per-sender limit).
  bool returned = false;
};

// What OnChainUpdate did with the transactions the reorganisation returned
// and with the pool (for the log, the relay and the counters).
struct ChainUpdateReport {
  // Returned transactions now pooled again, in nonce order per sender: to
  // be announced to peers.
  std::vector<Transaction> returned_pooled;
  // Returned transactions not valid on the new tip (their nonce or funds
  // were used by the new branch, a record key was taken, ...).
  size_t returned_invalid = 0;
  // Returned transactions evicted because the pool was over its size
  // limits (lowest fee rate first).
  size_t returned_evicted = 0;
  // Transactions pooled before that are no longer valid on the new tip.
  size_t pooled_dropped = 0;
};

// What Mempool::Load did with the transactions of a mempool file.
struct MempoolLoadReport {
  size_t loaded = 0;     // pooled again
  size_t invalid = 0;    // not valid on the tip (or a bad signature)
  size_t expired = 0;    // received longer than options.expiry ago
  size_t duplicate = 0;  // pooled already (or twice in the file)
};

// Counters since the pool was made (shown in the log; the node's metrics).
struct MempoolStats {
  uint64_t returned_pooled = 0;
  uint64_t returned_invalid = 0;
  uint64_t returned_evicted = 0;
};

class Mempool {
 public:
  // `chain` must outlive the mempool.
  Mempool(ChainState* chain, MempoolOptions options = {});

  Mempool(const Mempool&) = delete;
  Mempool& operator=(const Mempool&) = delete;

  // Validates `tx` against the tip plus the pool and adds it; answers at
  // once. Returns its txid, or:
  //  INVALID_ARGUMENT   a coinbase, or a context-free failure (malformed,
  //                     wrong chain, bad signature, empty, overflow, too
  //                     large); message "reason-name: message".
  //  ALREADY_EXISTS     the txid is pooled, or its keyed record is on chain
  //                     written by this very transaction (a confirmed
  //                     transaction without a keyed record is refused as
  //                     FAILED_PRECONDITION: its nonce is used).
  //  FAILED_PRECONDITION a rule against tip + pool: nonce used or a gap,
  //                     funds (counting the sender's pooled spends), a keyed
  //                     record on chain or claimed by another pooled
  //                     transaction, fee below min_fee, the per-sender limit,
  //                     or "replacement needs a higher fee".
  //  RESOURCE_EXHAUSTED the pool is full and the fee rate of `tx` is not
  //                     higher than that of the pooled transactions it would
  //                     have to evict (the sender's own are never evicted
  //                     for it). Otherwise the lowest fee-rate transactions
  //                     (with their senders' later nonces) are evicted.
  //  other codes        store errors from the chain (INTERNAL, DATA_LOSS).
  // A replacement (same sender and nonce as a pooled transaction, strictly
  // higher fee) replaces that one; the sender's later transactions are then
  // checked again and the first invalid one is dropped with those after it.
  absl::StatusOr<Hash256> Add(const Transaction& tx) ABSL_LOCKS_EXCLUDED(mu_);

  // Up to `max_txs` pooled transactions, best fee rate first while keeping
  // each sender's nonce order (a sender's transaction is ranked by its own
  // fee rate once its predecessors are taken; no ancestor scoring). Meant as
  // the candidates of ChainState::CreateBlockTemplate, which skips any that
  // became invalid.
  std::vector<Transaction> SelectForBlock(size_t max_txs) const
      ABSL_LOCKS_EXCLUDED(mu_);

  // Follows a change of the chain: drops r.confirmed_txs, takes back
  // r.returned_txs (quietly dropping those no longer valid; a pooled
  // transaction wins over a returned one with the same sender and nonce),
  // then checks every pooled transaction against the new tip and drops the
  // invalid ones (with their senders' later nonces), and evicts the lowest
  // fee rates if the returned ones overfilled the pool. O(pool) chain checks.
  // Returned transactions do not count against max_txs_per_sender; no
  // returned transaction is dropped without being counted in the report
  // (and in stats()). Call after every AcceptBlock whose result changed the
  // tip.
  ChainUpdateReport OnChainUpdate(const AcceptResult& r)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Takes back `entries` (from a mempool file, ReadMempoolFile): each is
  // checked in full (signature, then against the tip with its sender's
  // lower nonces) and keeps its received time and returned mark; those
  // received longer than options.expiry ago are dropped. Already pooled
  // transactions stay. Evicts the lowest fee rates if over the limits.
  MempoolLoadReport Load(const std::vector<MempoolEntry>& entries)
      ABSL_LOCKS_EXCLUDED(mu_);

  // Drops transactions received longer than options.expiry ago, with their
  // senders' later nonces. Returns how many were dropped in all.
  size_t ExpireOld() ABSL_LOCKS_EXCLUDED(mu_);

  // Readers.
  std::optional<Transaction> Get(const Hash256& txid) const
      ABSL_LOCKS_EXCLUDED(mu_);
  bool Contains(const Hash256& txid) const ABSL_LOCKS_EXCLUDED(mu_);
  // Number of pooled transactions.
  size_t size() const ABSL_LOCKS_EXCLUDED(mu_);
  // Sum of their canonical encoding sizes.
  size_t bytes() const ABSL_LOCKS_EXCLUDED(mu_);
  // Up to `limit` entries in arrival order (oldest first).
  std::vector<MempoolEntry> List(size_t limit) const ABSL_LOCKS_EXCLUDED(mu_);
  // The txids of up to `limit` pooled transactions in SelectForBlock's
  // order (best fee rate first, each sender's nonces in order): what a new
  // peer is told about.
  std::vector<Hash256> TopTxids(size_t limit) const ABSL_LOCKS_EXCLUDED(mu_);
  MempoolStats stats() const ABSL_LOCKS_EXCLUDED(mu_);
  // The nonce the sender's next transaction must carry: its tip nonce plus
  // its pooled transactions. If the chain read fails, counts from the
  // pooled transactions alone (0 if none).
  uint64_t NextNonce(const Address& sender) const ABSL_LOCKS_EXCLUDED(mu_);

  const MempoolOptions& options() const { return options_; }

 private:
  struct Entry {
    Transaction tx;
    Hash256 txid;
    Address sender;
    size_t size = 0;
    absl::Time received;
    uint64_t seq = 0;                  // arrival order
    std::optional<std::string> claim;  // record index key of a keyed record
    bool returned = false;             // see MempoolEntry::returned
  };
  // Orders entries by fee rate, lowest first; among equal rates the newest
  // first (evicted before older ones).
  struct RateKey {
    uint64_t fee;
    size_t size;
    uint64_t seq;
    Hash256 txid;
  };
  struct RateLess {
    bool operator()(const RateKey& a, const RateKey& b) const;
  };
  static RateKey KeyOf(const Entry& e) {
    return RateKey{e.tx.fee, e.size, e.seq, e.txid};
  }

  absl::Time Now() const;
  // Makes an Entry (no checks).
  Entry MakeEntry(const Transaction& tx, absl::Time received, uint64_t seq);
  void InsertLocked(Entry entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RemoveLocked(const Hash256& txid) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Removes `txid` and the same sender's pooled transactions of higher
  // nonce. Returns how many were removed.
  size_t RemoveWithLaterLocked(const Hash256& txid)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The sender's pooled transactions with from <= nonce < to, in order.
  std::vector<Transaction> PendingLocked(const Address& sender, uint64_t from,
                                         uint64_t to) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Re-checks the sender's pooled transactions of nonce > `after` (the ones
  // up to `after` are assumed valid); drops the first invalid one and all
  // after it.
  void RecheckLaterLocked(const Address& sender, uint64_t tip_nonce,
                          uint64_t after) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Evicts the lowest fee rates until both size limits hold. Returns the
  // evicted txids.
  absl::flat_hash_set<Hash256> EnforceLimitsLocked()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Empties the pool and takes back every candidate that is valid on the
  // tip: per sender, the contiguous run of nonces from its tip nonce (the
  // first candidate of a nonce wins; at most max_txs_per_sender of them
  // not returned), checked in one pass. Then enforces the size limits.
  // Returns the txids evicted by the limits.
  absl::flat_hash_set<Hash256> RebuildLocked(std::vector<Entry> candidates)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The pooled entries, in arrival order (moved out; the pool is left
  // inconsistent until RebuildLocked).
  std::vector<Entry> TakeEntriesLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // How many of the sender's pooled transactions count against the
  // per-sender limit (not returned ones).
  size_t SubmittedCountLocked(const Address& sender) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  ChainState* const chain_;
  const MempoolOptions options_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<Hash256, Entry> entries_ ABSL_GUARDED_BY(mu_);
  // sender -> nonce -> txid.
  absl::flat_hash_map<Address, std::map<uint64_t, Hash256>> by_sender_
      ABSL_GUARDED_BY(mu_);
  std::set<RateKey, RateLess> by_rate_ ABSL_GUARDED_BY(mu_);
  // Keyed-record index key -> the pooled txid that writes it.
  absl::flat_hash_map<std::string, Hash256> claims_ ABSL_GUARDED_BY(mu_);
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 0;
  MempoolStats stats_ ABSL_GUARDED_BY(mu_);
};

// The mempool file's bytes for `entries` (see kMempoolFileName). Pure.
Bytes EncodeMempoolFile(const std::vector<MempoolEntry>& entries);
// Parses a mempool file. DATA_LOSS with a reason for a wrong magic, an
// unknown version, a bad checksum, truncation, trailing bytes or an
// undecodable transaction. Pure; never crashes on any input.
absl::StatusOr<std::vector<MempoolEntry>> DecodeMempoolFile(ByteSpan data);
// Writes `entries` to `path` atomically: a temp file next to it, fsync,
// rename, fsync of the directory. INTERNAL (with errno text) on failure;
// the old file is then left as it was.
absl::Status WriteMempoolFile(const std::string& path,
                              const std::vector<MempoolEntry>& entries);
// Reads and parses `path`. NOT_FOUND if it does not exist, DATA_LOSS if it
// is damaged or larger than kMaxMempoolFileBytes, INTERNAL if unreadable.
absl::StatusOr<std::vector<MempoolEntry>> ReadMempoolFile(
    const std::string& path);

}  // namespace pbchain

#endif  // PBCHAIN_NODE_CORE_MEMPOOL_H_
