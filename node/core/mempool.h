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
inline constexpr size_t kMempoolDefaultMaxTxsPerSender = 64;

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
  // Call after every AcceptBlock whose result changed the tip.
  void OnChainUpdate(const AcceptResult& r) ABSL_LOCKS_EXCLUDED(mu_);

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
  // Evicts the lowest fee rates until both size limits hold.
  void EnforceLimitsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

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
};

}  // namespace pbchain

#endif  // PBCHAIN_NODE_CORE_MEMPOOL_H_
