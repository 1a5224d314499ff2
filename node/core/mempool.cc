#include "node/core/mempool.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <queue>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "chain/hash.h"
#include "chain/store.h"
#include "chain/validation.h"
#include "common/status_macros.h"

namespace pbchain {
namespace {

using R = RejectReason;

// True for the reasons CheckTransaction gives (no state needed).
bool IsContextFree(RejectReason reason) {
  switch (reason) {
    case R::kTxMalformed:
    case R::kTxWrongChain:
    case R::kTxBadSignature:
    case R::kTxEmpty:
    case R::kTxOverflow:
    case R::kTxTooLarge:
      return true;
    default:
      return false;
  }
}

absl::Status Rejected(const ValidationResult& v) {
  return IsContextFree(v.reason())
             ? absl::InvalidArgumentError(v.ToString())
             : absl::FailedPreconditionError(v.ToString());
}

// a.fee / a.size < b.fee / b.size, exactly.
bool RateBelow(uint64_t a_fee, size_t a_size, uint64_t b_fee, size_t b_size) {
  using U = unsigned __int128;
  return U{a_fee} * b_size < U{b_fee} * a_size;
}

}  // namespace

bool Mempool::RateLess::operator()(const RateKey& a, const RateKey& b) const {
  if (RateBelow(a.fee, a.size, b.fee, b.size)) return true;
  if (RateBelow(b.fee, b.size, a.fee, a.size)) return false;
  if (a.seq != b.seq) return a.seq > b.seq;  // newest first
  return a.txid < b.txid;
}

Mempool::Mempool(ChainState* chain, MempoolOptions options)
    : chain_(chain), options_(std::move(options)) {}

absl::Time Mempool::Now() const {
  return options_.clock ? options_.clock() : absl::Now();
}

Mempool::Entry Mempool::MakeEntry(const Transaction& tx, absl::Time received,
                                  uint64_t seq) {
  Entry e;
  e.tx = tx;
  e.txid = tx.Id();
  e.sender = tx.SenderAddress();
  e.size = tx.Encode().size();
  e.received = received;
  e.seq = seq;
  if (tx.record && tx.record->key) {
    e.claim = RecordIndexKey(tx.record->ns, tx.record->key, e.txid);
  }
  return e;
}

void Mempool::InsertLocked(Entry entry) {
  Hash256 txid = entry.txid;
  by_sender_[entry.sender][entry.tx.nonce] = txid;
  by_rate_.insert(KeyOf(entry));
  if (entry.claim) claims_[*entry.claim] = txid;
  bytes_ += entry.size;
  entries_.emplace(txid, std::move(entry));
}

void Mempool::RemoveLocked(const Hash256& txid) {
  auto it = entries_.find(txid);
  if (it == entries_.end()) return;
  const Entry& e = it->second;
  auto s = by_sender_.find(e.sender);
  if (s != by_sender_.end()) {
    auto n = s->second.find(e.tx.nonce);
    if (n != s->second.end() && n->second == txid) s->second.erase(n);
    if (s->second.empty()) by_sender_.erase(s);
  }
  by_rate_.erase(KeyOf(e));
  if (e.claim) {
    auto c = claims_.find(*e.claim);
    if (c != claims_.end() && c->second == txid) claims_.erase(c);
  }
  bytes_ -= e.size;
  entries_.erase(it);
}

size_t Mempool::RemoveWithLaterLocked(const Hash256& txid) {
  auto it = entries_.find(txid);
  if (it == entries_.end()) return 0;
  Address sender = it->second.sender;
  uint64_t nonce = it->second.tx.nonce;
  std::vector<Hash256> doomed;
  auto s = by_sender_.find(sender);
  if (s != by_sender_.end()) {
    for (auto n = s->second.upper_bound(nonce); n != s->second.end(); ++n) {
      doomed.push_back(n->second);
    }
  }
  doomed.push_back(txid);
  for (const Hash256& id : doomed) RemoveLocked(id);
  return doomed.size();
}

std::vector<Transaction> Mempool::PendingLocked(const Address& sender,
                                                uint64_t from,
                                                uint64_t to) const {
  std::vector<Transaction> out;
  auto s = by_sender_.find(sender);
  if (s == by_sender_.end()) return out;
  for (auto n = s->second.lower_bound(from);
       n != s->second.end() && n->first < to; ++n) {
    out.push_back(entries_.at(n->second).tx);
  }
  return out;
}

void Mempool::RecheckLaterLocked(const Address& sender, uint64_t tip_nonce,
                                 uint64_t after) {
  auto s = by_sender_.find(sender);
  if (s == by_sender_.end()) return;
  std::vector<Transaction> pending =
      PendingLocked(sender, tip_nonce, after + 1);
  std::vector<Hash256> later;
  for (auto n = s->second.upper_bound(after); n != s->second.end(); ++n) {
    later.push_back(n->second);
  }
  if (later.empty()) return;
  // One pass over the whole nonce chain (linear, not one replay per tx).
  const size_t before = pending.size();
  for (const Hash256& id : later) pending.push_back(entries_.at(id).tx);
  absl::StatusOr<size_t> valid = chain_->CheckSequenceOnTip(pending);
  const size_t first_bad =
      valid.ok() ? (*valid > before ? *valid - before : 0) : 0;
  if (first_bad < later.size()) RemoveWithLaterLocked(later[first_bad]);
}

absl::flat_hash_set<Hash256> Mempool::EnforceLimitsLocked() {
  absl::flat_hash_set<Hash256> evicted;
  while (!by_rate_.empty() &&
         (entries_.size() > options_.max_txs || bytes_ > options_.max_bytes)) {
    const Entry& lowest = entries_.at(by_rate_.begin()->txid);
    auto s = by_sender_.find(lowest.sender);
    if (s != by_sender_.end()) {
      for (auto n = s->second.lower_bound(lowest.tx.nonce);
           n != s->second.end(); ++n) {
        evicted.insert(n->second);
      }
    }
    RemoveWithLaterLocked(by_rate_.begin()->txid);
  }
  return evicted;
}

size_t Mempool::SubmittedCountLocked(const Address& sender) const {
  auto s = by_sender_.find(sender);
  if (s == by_sender_.end()) return 0;
  size_t n = 0;
  for (const auto& [nonce, id] : s->second) {
    n += entries_.at(id).returned ? 0 : 1;
  }
  return n;
}

absl::StatusOr<Hash256> Mempool::Add(const Transaction& tx) {
  if (tx.IsCoinbase()) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(RejectReasonName(R::kTxMalformed)),
                     ": a coinbase cannot be submitted"));
  }
  // Context-free checks (the signature) before taking the lock.
  ValidationResult cf = CheckTransaction(tx, chain_->params());
  if (!cf.ok()) return absl::InvalidArgumentError(cf.ToString());
  const absl::Time now = Now();

  absl::MutexLock lock(&mu_);
  Entry entry = MakeEntry(tx, now, next_seq_);
  const Hash256 txid = entry.txid;
  const Address sender = entry.sender;
  if (entries_.contains(txid)) {
    return absl::AlreadyExistsError(
        absl::StrCat("tx-already-known: transaction ", txid.ToDisplayHex(),
                     " is already pooled"));
  }
  {
    auto confirmed = chain_->GetTransaction(txid);
    if (!confirmed.ok()) return confirmed.status();
    if (confirmed->has_value()) {
      return absl::AlreadyExistsError(
          absl::StrCat("tx-already-known: transaction ", txid.ToDisplayHex(),
                       " is already confirmed"));
    }
  }
  if (tx.fee < options_.min_fee) {
    return absl::FailedPreconditionError(
        absl::StrCat("mempool-fee-too-low: fee ", tx.fee,
                     " is below the minimum ", options_.min_fee));
  }
  PBCHAIN_ASSIGN_OR_RETURN(AccountState account, chain_->GetAccount(sender));
  const uint64_t tip_nonce = account.nonce;
  if (tx.nonce < tip_nonce) {
    return absl::FailedPreconditionError(absl::StrCat(
        std::string(RejectReasonName(R::kTxBadNonce)), ": nonce ", tx.nonce,
        " is already used (next on chain ", tip_nonce, ")"));
  }

  // Replacement or append.
  std::optional<Hash256> replaced;
  size_t replaced_size = 0;
  auto s = by_sender_.find(sender);
  const size_t pooled = SubmittedCountLocked(sender);
  uint64_t next_nonce = tip_nonce;
  if (s != by_sender_.end()) {
    if (auto last = s->second.rbegin();
        last != s->second.rend() && last->first >= tip_nonce) {
      next_nonce = last->first + 1;
    }
    if (auto n = s->second.find(tx.nonce); n != s->second.end()) {
      const Entry& old = entries_.at(n->second);
      if (tx.fee <= old.tx.fee) {
        return absl::FailedPreconditionError(absl::StrCat(
            "mempool-replacement-fee: replacement needs a higher fee (pooled "
            "transaction pays ",
            old.tx.fee, ")"));
      }
      replaced = old.txid;
      replaced_size = old.size;
    }
  }
  if (!replaced) {
    if (tx.nonce != next_nonce) {
      return absl::FailedPreconditionError(absl::StrCat(
          std::string(RejectReasonName(R::kTxBadNonce)), ": nonce ", tx.nonce,
          ", expected ", next_nonce, " (gaps are not pooled)"));
    }
    if (pooled >= options_.max_txs_per_sender) {
      return absl::FailedPreconditionError(absl::StrCat(
          "mempool-sender-limit: sender has ", pooled,
          " pooled transactions (limit ", options_.max_txs_per_sender, ")"));
    }
  }
  if (entry.claim) {
    auto c = claims_.find(*entry.claim);
    if (c != claims_.end() && (!replaced || c->second != *replaced)) {
      return absl::FailedPreconditionError(absl::StrCat(
          std::string(RejectReasonName(R::kTxDuplicateRecord)), ": record '",
          tx.record->ns, "' key '", *tx.record->key,
          "' is claimed by pooled transaction ", c->second.ToHex()));
    }
  }
  // The signature was checked above (CheckTransaction), outside the lock.
  absl::StatusOr<ValidationResult> v = chain_->CheckTransactionOnTip(
      tx, PendingLocked(sender, tip_nonce, tx.nonce),
      /*verify_signature=*/false);
  if (!v.ok()) return v.status();
  if (!v->ok()) return Rejected(*v);

  // Room: plan the evictions before changing anything.
  size_t count_after = entries_.size() + 1 - (replaced ? 1 : 0);
  size_t bytes_after = bytes_ + entry.size - replaced_size;
  std::vector<Hash256> victims;
  if (count_after > options_.max_txs || bytes_after > options_.max_bytes) {
    absl::flat_hash_map<Hash256, bool> planned;
    for (const RateKey& k : by_rate_) {
      if (count_after <= options_.max_txs &&
          bytes_after <= options_.max_bytes) {
        break;
      }
      if (planned.contains(k.txid)) continue;
      const Entry& victim = entries_.at(k.txid);
      if (victim.sender == sender) continue;  // never evict own predecessors
      if (!RateBelow(k.fee, k.size, tx.fee, entry.size)) break;
      std::vector<Hash256> group = {k.txid};
      const auto& nonces = by_sender_.at(victim.sender);
      for (auto n = nonces.upper_bound(victim.tx.nonce); n != nonces.end();
           ++n) {
        group.push_back(n->second);
      }
      for (const Hash256& id : group) {
        if (planned.contains(id)) continue;
        planned[id] = true;
        victims.push_back(id);
        --count_after;
        bytes_after -= entries_.at(id).size;
      }
    }
    if (count_after > options_.max_txs || bytes_after > options_.max_bytes) {
      return absl::ResourceExhaustedError(
          absl::StrCat("mempool-full: ", entries_.size(), " txs, ", bytes_,
                       " bytes held and the fee rate of ", tx.fee, "/",
                       entry.size, " bytes is not above the lowest pooled"));
    }
  }

  for (const Hash256& id : victims) RemoveLocked(id);
  if (replaced) RemoveLocked(*replaced);
  InsertLocked(std::move(entry));
  ++next_seq_;
  if (replaced) RecheckLaterLocked(sender, tip_nonce, tx.nonce);
  return txid;
}

std::vector<Transaction> Mempool::SelectForBlock(size_t max_txs) const {
  absl::ReaderMutexLock lock(&mu_);
  using It = std::map<uint64_t, Hash256>::const_iterator;
  struct Head {
    const Entry* entry;
    It next;
    It end;
  };
  auto worse = [](const Head& a, const Head& b) {
    // priority_queue pops the greatest: the best rate, then the oldest.
    const Entry& x = *a.entry;
    const Entry& y = *b.entry;
    if (RateBelow(x.tx.fee, x.size, y.tx.fee, y.size)) return true;
    if (RateBelow(y.tx.fee, y.size, x.tx.fee, x.size)) return false;
    return x.seq > y.seq;
  };
  std::priority_queue<Head, std::vector<Head>, decltype(worse)> heads(worse);
  for (const auto& [sender, nonces] : by_sender_) {
    if (nonces.empty()) continue;
    It first = nonces.begin();
    heads.push(
        Head{&entries_.at(first->second), std::next(first), nonces.end()});
  }
  std::vector<Transaction> out;
  while (!heads.empty() && out.size() < max_txs) {
    Head h = heads.top();
    heads.pop();
    out.push_back(h.entry->tx);
    if (h.next != h.end) {
      heads.push(Head{&entries_.at(h.next->second), std::next(h.next), h.end});
    }
  }
  return out;
}

std::vector<Mempool::Entry> Mempool::TakeEntriesLocked() {
  std::vector<Entry> out;
  out.reserve(entries_.size());
  for (auto& [id, e] : entries_) out.push_back(std::move(e));
  std::sort(out.begin(), out.end(),
            [](const Entry& a, const Entry& b) { return a.seq < b.seq; });
  entries_.clear();
  by_sender_.clear();
  by_rate_.clear();
  claims_.clear();
  bytes_ = 0;
  return out;
}

absl::flat_hash_set<Hash256> Mempool::RebuildLocked(
    std::vector<Entry> candidates) {
  // Per sender, in nonce order (the first candidate of a nonce wins).
  absl::flat_hash_map<Address, std::map<uint64_t, size_t>> groups;
  for (size_t i = 0; i < candidates.size(); ++i) {
    groups[candidates[i].sender].emplace(candidates[i].tx.nonce, i);
  }
  for (const auto& [sender, nonces] : groups) {
    absl::StatusOr<AccountState> account = chain_->GetAccount(sender);
    if (!account.ok()) continue;  // cannot check them: drop
    // The contiguous run of nonces from the account's next one, then one
    // linear check of the run against the new tip.
    uint64_t expected = account->nonce;
    size_t submitted = 0;
    std::vector<size_t> run;
    std::vector<Transaction> txs;
    absl::flat_hash_map<std::string, bool> run_claims;
    for (auto n = nonces.lower_bound(expected); n != nonces.end(); ++n) {
      const Entry& e = candidates[n->second];
      if (n->first != expected) break;
      // Returned transactions do not count against the per-sender limit.
      if (!e.returned && submitted >= options_.max_txs_per_sender) break;
      if (e.claim &&
          (claims_.contains(*e.claim) || run_claims.contains(*e.claim)))
        break;
      if (e.claim) run_claims[*e.claim] = true;
      if (!e.returned) ++submitted;
      run.push_back(n->second);
      txs.push_back(e.tx);
      ++expected;
    }
    absl::StatusOr<size_t> valid = chain_->CheckSequenceOnTip(txs);
    if (!valid.ok()) continue;  // cannot check them: drop
    for (size_t i = 0; i < *valid; ++i)
      InsertLocked(std::move(candidates[run[i]]));
  }
  return EnforceLimitsLocked();
}

ChainUpdateReport Mempool::OnChainUpdate(const AcceptResult& r) {
  const absl::Time now = Now();
  absl::MutexLock lock(&mu_);
  for (const Transaction& tx : r.confirmed_txs) {
    if (!tx.IsCoinbase()) RemoveLocked(tx.Id());
  }
  // Candidates: what is left (in arrival order), then the returned ones.
  std::vector<Entry> candidates = TakeEntriesLocked();
  const size_t pooled_before = candidates.size();
  absl::flat_hash_map<Hash256, bool> seen;
  for (const Entry& e : candidates) seen[e.txid] = true;
  std::vector<Hash256> returned_ids;
  for (const Transaction& tx : r.returned_txs) {
    if (tx.IsCoinbase()) continue;
    Entry e = MakeEntry(tx, now, next_seq_++);
    if (seen.contains(e.txid)) continue;
    seen[e.txid] = true;
    e.returned = true;
    returned_ids.push_back(e.txid);
    candidates.push_back(std::move(e));
  }
  std::vector<Hash256> before_ids;
  before_ids.reserve(pooled_before);
  for (size_t i = 0; i < pooled_before; ++i) {
    before_ids.push_back(candidates[i].txid);
  }

  ChainUpdateReport report;
  const absl::flat_hash_set<Hash256> evicted =
      RebuildLocked(std::move(candidates));
  for (const Hash256& id : before_ids) {
    report.pooled_dropped += entries_.contains(id) ? 0 : 1;
  }
  std::vector<const Entry*> kept;
  for (const Hash256& id : returned_ids) {
    auto it = entries_.find(id);
    if (it != entries_.end()) {
      kept.push_back(&it->second);
    } else if (evicted.contains(id)) {
      ++report.returned_evicted;
    } else {
      ++report.returned_invalid;
    }
  }
  // Each sender's nonces in order (a peer takes them in the order given).
  std::sort(kept.begin(), kept.end(), [](const Entry* a, const Entry* b) {
    if (a->sender != b->sender) return a->sender < b->sender;
    return a->tx.nonce < b->tx.nonce;
  });
  for (const Entry* e : kept) report.returned_pooled.push_back(e->tx);
  stats_.returned_pooled += report.returned_pooled.size();
  stats_.returned_invalid += report.returned_invalid;
  stats_.returned_evicted += report.returned_evicted;
  return report;
}

MempoolLoadReport Mempool::Load(const std::vector<MempoolEntry>& entries) {
  MempoolLoadReport report;
  const absl::Time cutoff = Now() - options_.expiry;
  // Context-free checks (the signature) before taking the lock.
  std::vector<const MempoolEntry*> sound;
  for (const MempoolEntry& e : entries) {
    if (e.received < cutoff) {
      ++report.expired;
    } else if (e.tx.IsCoinbase() ||
               !CheckTransaction(e.tx, chain_->params()).ok()) {
      ++report.invalid;
    } else {
      sound.push_back(&e);
    }
  }
  absl::MutexLock lock(&mu_);
  std::vector<Entry> candidates = TakeEntriesLocked();
  absl::flat_hash_map<Hash256, bool> seen;
  for (const Entry& e : candidates) seen[e.txid] = true;
  std::vector<Hash256> loaded_ids;
  for (const MempoolEntry* e : sound) {
    Entry entry = MakeEntry(e->tx, e->received, next_seq_++);
    if (seen.contains(entry.txid)) {
      ++report.duplicate;
      continue;
    }
    seen[entry.txid] = true;
    entry.returned = e->returned;
    loaded_ids.push_back(entry.txid);
    candidates.push_back(std::move(entry));
  }
  RebuildLocked(std::move(candidates));
  for (const Hash256& id : loaded_ids) {
    if (entries_.contains(id)) {
      ++report.loaded;
    } else {
      ++report.invalid;
    }
  }
  return report;
}

size_t Mempool::ExpireOld() {
  const absl::Time cutoff = Now() - options_.expiry;
  absl::MutexLock lock(&mu_);
  std::vector<Hash256> old;
  for (const auto& [id, e] : entries_) {
    if (e.received < cutoff) old.push_back(id);
  }
  size_t dropped = 0;
  for (const Hash256& id : old) dropped += RemoveWithLaterLocked(id);
  return dropped;
}

std::optional<Transaction> Mempool::Get(const Hash256& txid) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = entries_.find(txid);
  if (it == entries_.end()) return std::nullopt;
  return it->second.tx;
}

bool Mempool::Contains(const Hash256& txid) const {
  absl::ReaderMutexLock lock(&mu_);
  return entries_.contains(txid);
}

size_t Mempool::size() const {
  absl::ReaderMutexLock lock(&mu_);
  return entries_.size();
}

size_t Mempool::bytes() const {
  absl::ReaderMutexLock lock(&mu_);
  return bytes_;
}

std::vector<MempoolEntry> Mempool::List(size_t limit) const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<const Entry*> all;
  all.reserve(entries_.size());
  for (const auto& [id, e] : entries_) all.push_back(&e);
  std::sort(all.begin(), all.end(),
            [](const Entry* a, const Entry* b) { return a->seq < b->seq; });
  std::vector<MempoolEntry> out;
  for (const Entry* e : all) {
    if (out.size() >= limit) break;
    out.push_back(MempoolEntry{e->tx, e->txid, e->size, e->tx.fee, e->received,
                               e->returned});
  }
  return out;
}

std::vector<Hash256> Mempool::TopTxids(size_t limit) const {
  std::vector<Hash256> out;
  for (const Transaction& tx : SelectForBlock(limit)) out.push_back(tx.Id());
  return out;
}

MempoolStats Mempool::stats() const {
  absl::ReaderMutexLock lock(&mu_);
  return stats_;
}

uint64_t Mempool::NextNonce(const Address& sender) const {
  absl::StatusOr<AccountState> account = chain_->GetAccount(sender);
  uint64_t next = account.ok() ? account->nonce : 0;
  absl::ReaderMutexLock lock(&mu_);
  auto s = by_sender_.find(sender);
  if (s != by_sender_.end() && !s->second.empty()) {
    next = std::max(next, s->second.rbegin()->first + 1);
  }
  return next;
}

// ---------------------------------------------------------------------------
// The mempool file

namespace {

constexpr char kMempoolMagic[8] = {'P', 'B', 'M', 'E', 'M', 'P', 'L', '\n'};
constexpr uint8_t kFlagReturned = 0x01;
// Fixed bytes: magic, version, count, checksum; per entry: received,
// flags, length.
constexpr size_t kFileHeaderBytes = 8 + 4 + 8;
constexpr size_t kFileChecksumBytes = 32;
constexpr size_t kEntryHeaderBytes = 8 + 1 + 4;

absl::Status Damaged(const std::string& why) {
  return absl::DataLossError(absl::StrCat("mempool file: ", why));
}

absl::Status ErrnoError(const char* what, const std::string& path) {
  return absl::InternalError(
      absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

}  // namespace

Bytes EncodeMempoolFile(const std::vector<MempoolEntry>& entries) {
  ByteWriter w;
  w.Raw(ByteSpan(reinterpret_cast<const uint8_t*>(kMempoolMagic),
                 sizeof(kMempoolMagic)));
  w.U32(kMempoolFileVersion);
  w.U64(entries.size());
  for (const MempoolEntry& e : entries) {
    w.U64(static_cast<uint64_t>(absl::ToUnixMicros(e.received)));
    w.U8(e.returned ? kFlagReturned : 0);
    const Bytes encoded = e.tx.Encode();
    w.U32(static_cast<uint32_t>(encoded.size()));
    w.Raw(encoded);
  }
  const Hash256 sum = Sha256(w.bytes());
  w.Raw(sum.bytes);
  return w.Take();
}

absl::StatusOr<std::vector<MempoolEntry>> DecodeMempoolFile(ByteSpan data) {
  if (data.size() < kFileHeaderBytes + kFileChecksumBytes) {
    return Damaged(absl::StrCat("too short (", data.size(), " bytes)"));
  }
  if (!std::equal(kMempoolMagic, kMempoolMagic + sizeof(kMempoolMagic),
                  data.begin())) {
    return Damaged("wrong magic (not a mempool file)");
  }
  const ByteSpan body = data.first(data.size() - kFileChecksumBytes);
  const Hash256 sum = Sha256(body);
  if (!std::equal(sum.bytes.begin(), sum.bytes.end(),
                  data.begin() + body.size())) {
    return Damaged("checksum mismatch (truncated or corrupted)");
  }
  ByteReader r(body.subspan(sizeof(kMempoolMagic)));
  uint32_t version = 0;
  uint64_t count = 0;
  if (!r.U32(version) || !r.U64(count)) return Damaged("truncated header");
  if (version != kMempoolFileVersion) {
    return Damaged(absl::StrCat("unknown version ", version, " (this node ",
                                "writes ", kMempoolFileVersion, ")"));
  }
  if (count > r.remaining() / kEntryHeaderBytes) {
    return Damaged(absl::StrCat("count ", count, " does not fit the file"));
  }
  std::vector<MempoolEntry> out;
  // The count is the file's word until its entries are read: reserve only
  // what a small file needs (a crafted count must not allocate gigabytes).
  out.reserve(std::min<uint64_t>(count, 4096));
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t received = 0;
    uint8_t flags = 0;
    uint32_t length = 0;
    ByteSpan encoded;
    if (!r.U64(received) || !r.U8(flags) || !r.U32(length) ||
        !r.Raw(length, encoded)) {
      return Damaged(absl::StrCat("entry ", i, " is truncated"));
    }
    if ((flags & ~kFlagReturned) != 0) {
      return Damaged(absl::StrCat("entry ", i, " has unknown flags"));
    }
    absl::StatusOr<Transaction> tx = Transaction::Decode(encoded);
    if (!tx.ok()) {
      return Damaged(absl::StrCat("entry ", i, ": ", tx.status().message()));
    }
    MempoolEntry e;
    e.tx = *std::move(tx);
    e.txid = e.tx.Id();
    e.size = encoded.size();
    e.fee = e.tx.fee;
    e.received = absl::FromUnixMicros(static_cast<int64_t>(received));
    e.returned = (flags & kFlagReturned) != 0;
    out.push_back(std::move(e));
  }
  if (!r.AtEnd()) return Damaged("trailing bytes after the last entry");
  return out;
}

absl::Status WriteMempoolFile(const std::string& path,
                              const std::vector<MempoolEntry>& entries) {
  const Bytes data = EncodeMempoolFile(entries);
  const std::string tmp = path + ".tmp";
  const int fd =
      ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoError("cannot create", tmp);
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      absl::Status s = ErrnoError("cannot write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    absl::Status s = ErrnoError("cannot sync", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  }
  if (::close(fd) != 0) {
    absl::Status s = ErrnoError("cannot close", tmp);
    ::unlink(tmp.c_str());
    return s;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    absl::Status s = ErrnoError("cannot rename to", path);
    ::unlink(tmp.c_str());
    return s;
  }
  // The rename is durable once the directory is synced.
  const std::filesystem::path parent =
      std::filesystem::path(path).parent_path();
  const std::string dir =
      parent.empty() ? std::filesystem::path(".").string() : parent.string();
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return ErrnoError("cannot open directory", dir);
  const int rc = ::fsync(dir_fd);
  ::close(dir_fd);
  if (rc != 0) return ErrnoError("cannot sync directory", dir);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<MempoolEntry>> ReadMempoolFile(
    const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return absl::NotFoundError(absl::StrCat(path, " does not exist"));
    }
    return ErrnoError("cannot open", path);
  }
  Bytes data;
  uint8_t buffer[64 * 1024];
  while (true) {
    const ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      absl::Status s = ErrnoError("cannot read", path);
      ::close(fd);
      return s;
    }
    if (n == 0) break;
    if (data.size() + static_cast<size_t>(n) > kMaxMempoolFileBytes) {
      ::close(fd);
      return Damaged(absl::StrCat(path, " is larger than ",
                                  kMaxMempoolFileBytes, " bytes"));
    }
    data.insert(data.end(), buffer, buffer + n);
  }
  ::close(fd);
  return DecodeMempoolFile(data);
}

}  // namespace pbchain
