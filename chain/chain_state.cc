#include "chain/chain_state.h"

#include <algorithm>
#include <chrono>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "chain/consensus.h"
#include "chain/difficulty.h"
#include "chain/pow.h"
#include "common/status_macros.h"

namespace pbchain {
namespace {

using R = RejectReason;

absl::Status Propagate(const absl::Status& s, absl::string_view what) {
  return absl::Status(s.code(), absl::StrCat(what, ": ", s.message()));
}

}  // namespace

// Account and record state of the tip plus the changes of the transactions
// applied so far; remembers first-read values for the undo data.
class ChainState::View {
 public:
  explicit View(ChainStore* store) : store_(store) {}

  absl::StatusOr<AccountState> Get(const Address& a) {
    if (auto it = current_.find(a); it != current_.end()) {
      return it->second.value_or(AccountState{});
    }
    PBCHAIN_ASSIGN_OR_RETURN(std::optional<AccountState> stored,
                             store_->GetAccount(a));
    current_.emplace(a, stored);
    original_.emplace_back(a, stored);
    return stored.value_or(AccountState{});
  }
  // `a` must have been read with Get first.
  void Set(const Address& a, const AccountState& s) { current_[a] = s; }

  absl::StatusOr<bool> RecordExists(const std::string& key) {
    if (created_set_.contains(key)) return true;
    PBCHAIN_ASSIGN_OR_RETURN(std::optional<RecordLocation> loc,
                             store_->GetRecord(key));
    return loc.has_value();
  }
  void AddRecord(const std::string& key, const RecordLocation& loc) {
    created_set_.insert(key);
    created_.emplace_back(key, loc);
  }

  // The delta that writes this view's changes, and the undo that reverts them.
  void Finish(StateDelta& delta, BlockUndo& undo) const {
    for (const auto& [addr, before] : original_) {
      delta.accounts.emplace_back(addr, current_.at(addr));
      undo.prev_accounts.emplace_back(addr, before);
    }
    for (const auto& [key, loc] : created_) {
      delta.records.emplace_back(key, loc);
      undo.created_records.push_back(key);
    }
  }

 private:
  ChainStore* store_;
  absl::flat_hash_map<Address, std::optional<AccountState>> current_;
  std::vector<std::pair<Address, std::optional<AccountState>>> original_;
  absl::flat_hash_set<std::string> created_set_;
  std::vector<std::pair<std::string, RecordLocation>> created_;
};

namespace {

// Applies a record to the view if it is new. kTxDuplicateRecord otherwise.
absl::StatusOr<ValidationResult> ApplyRecord(ChainState::View& view,
                                             const Transaction& tx,
                                             const Hash256& txid,
                                             const RecordLocation& where) {
  if (!tx.record) return ValidationResult::Valid();
  std::string key = RecordIndexKey(tx.record->ns, tx.record->key, txid);
  PBCHAIN_ASSIGN_OR_RETURN(bool exists, view.RecordExists(key));
  if (exists) {
    return ValidationResult::Invalid(
        R::kTxDuplicateRecord,
        absl::StrCat("record '", tx.record->ns, "' key '",
                     tx.record->key.value_or(""), "' already exists"));
  }
  view.AddRecord(key, where);
  return ValidationResult::Valid();
}

}  // namespace

// Applies one transfer (already checked context-free) to `view`. Changes the
// view only if the transfer is valid.
static absl::StatusOr<ValidationResult> ApplyTransfer(
    ChainState::View& view, const Transaction& tx, const Hash256& txid,
    const RecordLocation& where) {
  Address from = tx.SenderAddress();
  PBCHAIN_ASSIGN_OR_RETURN(AccountState sender, view.Get(from));
  if (tx.nonce != sender.nonce) {
    return ValidationResult::Invalid(
        R::kTxBadNonce,
        absl::StrCat("nonce ", tx.nonce, ", expected ", sender.nonce));
  }
  uint64_t cost = tx.amount + tx.fee;  // no overflow: CheckTransaction
  if (sender.balance < cost) {
    return ValidationResult::Invalid(
        R::kTxInsufficientFunds,
        absl::StrCat("balance ", sender.balance, " < amount + fee ", cost));
  }
  PBCHAIN_ASSIGN_OR_RETURN(AccountState recipient, view.Get(tx.recipient));
  if (from != tx.recipient && recipient.balance > UINT64_MAX - tx.amount) {
    return ValidationResult::Invalid(R::kTxRecipientOverflow,
                                     "recipient balance overflows");
  }
  if (tx.record && tx.record->key) {
    PBCHAIN_ASSIGN_OR_RETURN(
        bool exists,
        view.RecordExists(RecordIndexKey(tx.record->ns, tx.record->key, txid)));
    if (exists) {
      return ValidationResult::Invalid(
          R::kTxDuplicateRecord,
          absl::StrCat("record '", tx.record->ns, "' key '", *tx.record->key,
                       "' already exists"));
    }
  }
  // Valid: apply.
  AccountState s = sender;
  s.balance -= cost;
  s.nonce += 1;
  view.Set(from, s);
  if (tx.amount == 0) return ApplyRecord(view, tx, txid, where);
  PBCHAIN_ASSIGN_OR_RETURN(AccountState r, view.Get(tx.recipient));
  AccountState rs = r;
  rs.balance += tx.amount;
  view.Set(tx.recipient, rs);
  return ApplyRecord(view, tx, txid, where);
}

// Credits a coinbase-kind transaction to `view`.
static absl::StatusOr<ValidationResult> ApplyCoinbase(
    ChainState::View& view, const Transaction& tx, const Hash256& txid,
    const RecordLocation& where) {
  if (tx.amount == 0) return ApplyRecord(view, tx, txid, where);
  PBCHAIN_ASSIGN_OR_RETURN(AccountState r, view.Get(tx.recipient));
  if (r.balance > UINT64_MAX - tx.amount) {
    return ValidationResult::Invalid(R::kBlockBadCoinbase,
                                     "miner balance overflows");
  }
  AccountState rs = r;
  rs.balance += tx.amount;
  view.Set(tx.recipient, rs);
  return ApplyRecord(view, tx, txid, where);
}

ChainState::ChainState(ChainParams params, ChainStore* store,
                       ChainStateOptions options)
    : params_(std::move(params)), store_(store), options_(std::move(options)) {
  genesis_hash_ = MakeGenesisBlock(params_).Hash();
}

absl::StatusOr<std::unique_ptr<ChainState>> ChainState::Create(
    ChainParams params, ChainStore* store, ChainStateOptions options) {
  std::unique_ptr<ChainState> state(
      new ChainState(std::move(params), store, std::move(options)));
  PBCHAIN_RETURN_IF_ERROR(state->Load());
  return state;
}

int64_t ChainState::Now() const {
  if (options_.clock) return options_.clock();
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

ChainState::Node* ChainState::Lookup(const Hash256& hash) const {
  auto it = index_.find(hash);
  return it == index_.end() ? nullptr : it->second.get();
}

ChainState::Node* ChainState::AddNode(const BlockIndexEntry& entry) {
  auto node = std::make_unique<Node>();
  node->entry = entry;
  node->parent = entry.height == 0 ? nullptr : Lookup(entry.header.prev_hash);
  Node* raw = node.get();
  if (raw->parent != nullptr) leaves_.erase(raw->parent);
  leaves_.insert(raw);
  index_[entry.hash] = std::move(node);
  next_sequence_ = std::max(next_sequence_, entry.sequence + 1);
  return raw;
}

absl::Status ChainState::Load() {
  absl::MutexLock lock(&mu_);
  std::vector<BlockIndexEntry> entries;
  absl::Status s = store_->ForEachIndexEntry([&](const BlockIndexEntry& e) {
    entries.push_back(e);
    return absl::OkStatus();
  });
  if (!s.ok()) return Propagate(s, "reading the block index");

  if (entries.empty()) {
    if (s = store_->PutMeta(kMetaGenesisParams, params_.ToJson()); !s.ok()) {
      return Propagate(s, "writing genesis parameters");
    }
    Block genesis = MakeGenesisBlock(params_);
    BlockIndexEntry e;
    e.hash = genesis_hash_;
    e.header = genesis.header;
    e.chain_work = BlockWork(DecodeCompact(params_.genesis_bits).target);
    e.status = kBlockHaveData;
    e.sequence = 0;
    e.tx_count = static_cast<uint32_t>(genesis.txs.size());
    if (s = store_->PutBlock(e, genesis); !s.ok())
      return Propagate(s, "writing genesis");
    entries.push_back(e);
  }
  // Parents before children.
  std::sort(entries.begin(), entries.end(),
            [](const BlockIndexEntry& a, const BlockIndexEntry& b) {
              return a.height < b.height;
            });
  for (const BlockIndexEntry& e : entries) {
    Node* n = AddNode(e);
    if (e.height > 0 && n->parent == nullptr) {
      return absl::DataLossError(absl::StrCat(
          "block index: parent of ", e.hash.ToDisplayHex(), " is missing"));
    }
  }
  Node* genesis = Lookup(genesis_hash_);
  if (genesis == nullptr || genesis->entry.height != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("the store holds another chain: its genesis is not ",
                     genesis_hash_.ToDisplayHex()));
  }

  absl::StatusOr<std::optional<Hash256>> tip = store_->GetTip();
  if (!tip.ok()) return Propagate(tip.status(), "reading the tip");
  if (!tip->has_value()) {
    // Fresh store (or a crash right after the genesis body was written).
    absl::StatusOr<ValidationResult> v =
        ConnectBlock(genesis, MakeGenesisBlock(params_));
    if (!v.ok()) return Propagate(v.status(), "connecting genesis");
    if (!v->ok())
      return absl::InternalError(
          absl::StrCat("genesis invalid: ", v->ToString()));
  } else {
    Node* t = Lookup(**tip);
    if (t == nullptr) {
      return absl::DataLossError(absl::StrCat("tip ", (*tip)->ToDisplayHex(),
                                              " is not in the block index"));
    }
    active_.assign(t->entry.height + 1, nullptr);
    for (Node* n = t; n != nullptr; n = n->parent) active_[n->entry.height] = n;
    if (active_[0] != genesis) {
      return absl::DataLossError("the active chain does not start at genesis");
    }
  }

  // A reorg cut short by a crash: the head marker names where it was going.
  // Resume towards it, then make sure no valid chain has more work.
  absl::StatusOr<std::optional<Hash256>> marker = store_->GetHeadMarker();
  if (!marker.ok())
    return Propagate(marker.status(), "reading the head marker");
  AcceptResult ignored;
  if (marker->has_value()) {
    Node* target = Lookup(**marker);
    if (target != nullptr && !(target->entry.status & kBlockFailed) &&
        Better(target, active_.back())) {
      if (s = ActivateChain(target, ignored); !s.ok()) return s;
    }
  }
  if (Node* best = FindBestCandidate(); best != active_.back()) {
    if (s = ActivateChain(best, ignored); !s.ok()) return s;
  }
  if (marker->has_value()) {
    if (s = store_->SetHeadMarker(std::nullopt); !s.ok()) return s;
  }
  return absl::OkStatus();
}

bool ChainState::Better(const Node* a, const Node* b) {
  if (a == b) return false;
  if (a->entry.chain_work != b->entry.chain_work) {
    return a->entry.chain_work > b->entry.chain_work;
  }
  return a->entry.sequence < b->entry.sequence;
}

const ChainState::Node* ChainState::Fork(const Node* a, const Node* b) {
  while (a->entry.height > b->entry.height) a = a->parent;
  while (b->entry.height > a->entry.height) b = b->parent;
  while (a != b) {
    a = a->parent;
    b = b->parent;
  }
  return a;
}

int64_t ChainState::MedianTimePast(const Node* node) const {
  std::vector<int64_t> times;
  for (const Node* n = node; n != nullptr && times.size() < kMedianTimeSpan;
       n = n->parent) {
    times.push_back(n->entry.header.time);
  }
  return MedianTime(times);
}

namespace {

DifficultyParams DifficultyParamsOf(const ChainParams& params) {
  DifficultyParams dp;
  dp.target_interval_ms = params.target_interval_ms;
  dp.difficulty_window = params.difficulty_window;
  dp.pow_limit = DecodeCompact(params.pow_limit_bits).target;
  dp.genesis_bits = params.genesis_bits;
  return dp;
}

}  // namespace

uint32_t ChainState::NextBits(const Node* parent) const {
  if (params_.difficulty_window <= 0) return params_.genesis_bits;
  std::vector<BlockTimeBits> window;
  for (const Node* n = parent;
       n != nullptr &&
       window.size() < static_cast<size_t>(params_.difficulty_window) + 1;
       n = n->parent) {
    window.push_back({int64_t{n->entry.header.time}, n->entry.header.bits});
  }
  std::reverse(window.begin(), window.end());
  return pbchain::NextBits(window, DifficultyParamsOf(params_));
}

HeaderChainCheck ChainState::CheckHeaderChain(
    std::span<const BlockHeader> headers, size_t trusted) const {
  HeaderChainCheck check;
  if (headers.empty()) return check;
  // The ancestors the rules look at: enough for the difficulty window and
  // the median time, oldest first.
  const size_t keep = std::max<size_t>(
      static_cast<size_t>(std::max(params_.difficulty_window, 0)) + 1,
      kMedianTimeSpan);
  std::vector<BlockTimeBits> window;
  {
    absl::ReaderMutexLock lock(&mu_);
    const Node* parent = Lookup(headers[0].prev_hash);
    if (parent == nullptr) {
      check.failure = ValidationResult::Invalid(
          R::kHeaderUnknownParent,
          absl::StrCat("parent ", headers[0].prev_hash.ToDisplayHex(),
                       " is unknown"));
      return check;
    }
    if (parent->entry.status & kBlockFailed) {
      check.failure = ValidationResult::Invalid(R::kHeaderInvalidParent,
                                                "parent block is invalid");
      return check;
    }
    for (const Node* n = parent; n != nullptr && window.size() < keep;
         n = n->parent) {
      window.push_back({int64_t{n->entry.header.time}, n->entry.header.bits});
    }
    std::reverse(window.begin(), window.end());
    check.chain_work = parent->entry.chain_work;
    check.height = parent->entry.height;
    check.last_hash = parent->entry.hash;
  }
  const DifficultyParams dp = DifficultyParamsOf(params_);
  const int64_t now = Now();
  for (size_t i = 0; i < headers.size(); ++i) {
    const BlockHeader& h = headers[i];
    if (h.prev_hash != check.last_hash) {
      check.failure = ValidationResult::Invalid(
          R::kHeaderUnknownParent,
          absl::StrCat("header ", i, " does not follow the header before it"));
      return check;
    }
    if (i >= trusted) {
      std::vector<int64_t> times;
      for (size_t j = window.size(); j > 0 && times.size() < kMedianTimeSpan;
           --j) {
        times.push_back(window[j - 1].time);
      }
      const uint32_t expected_bits = params_.difficulty_window <= 0
                                         ? params_.genesis_bits
                                         : pbchain::NextBits(window, dp);
      HeaderContext ctx{expected_bits, MedianTime(times), now};
      check.failure = CheckHeader(h, params_);
      if (check.failure.ok()) {
        check.failure = ContextualCheckHeader(h, ctx, params_);
      }
      if (!check.failure.ok()) return check;
    }
    window.push_back({int64_t{h.time}, h.bits});
    if (window.size() > 2 * keep) {
      window.erase(window.begin(), window.end() - keep);
    }
    check.chain_work =
        check.chain_work + BlockWork(DecodeCompact(h.bits).target);
    check.height += 1;
    check.last_hash = h.Hash();
    check.valid = i + 1;
  }
  return check;
}

absl::StatusOr<ValidationResult> ChainState::ConnectBlock(Node* node,
                                                          const Block& block) {
  const uint32_t height = node->entry.height;
  View view(store_);
  RecordLocation where{Hash256{}, node->entry.hash, height};
  // Each txid once: for the records, then for the transaction index.
  std::vector<Hash256> txids(block.txs.size());
  if (height == 0) {
    for (size_t i = 0; i < block.txs.size(); ++i) {
      const Transaction& tx = block.txs[i];
      where.txid = txids[i] = tx.Id();
      absl::StatusOr<ValidationResult> v =
          ApplyCoinbase(view, tx, where.txid, where);
      if (!v.ok() || !v->ok()) return v;
    }
  } else {
    uint64_t fees = 0;
    for (size_t i = 1; i < block.txs.size(); ++i) {
      const Transaction& tx = block.txs[i];
      where.txid = txids[i] = tx.Id();
      absl::StatusOr<ValidationResult> v =
          ApplyTransfer(view, tx, where.txid, where);
      if (!v.ok()) return v.status();
      if (!v->ok()) {
        return ValidationResult::Invalid(
            v->reason(),
            absl::StrCat("transaction ", i, " (", where.txid.ToDisplayHex(),
                         "): ", v->message()));
      }
      if (tx.fee > UINT64_MAX - fees) {
        return ValidationResult::Invalid(R::kBlockBadCoinbase,
                                         "the sum of the fees overflows u64");
      }
      fees += tx.fee;
    }
    const Transaction& cb = block.txs[0];
    if (cb.height != height) {
      return ValidationResult::Invalid(
          R::kBlockBadCoinbase, absl::StrCat("coinbase height ", cb.height,
                                             ", block is at ", height));
    }
    if (params_.block_reward > UINT64_MAX - fees ||
        cb.amount != params_.block_reward + fees) {
      return ValidationResult::Invalid(
          R::kBlockBadCoinbase,
          absl::StrCat("coinbase pays ", cb.amount, ", expected reward ",
                       params_.block_reward, " + fees ", fees));
    }
    where.txid = txids[0] = cb.Id();
    absl::StatusOr<ValidationResult> v =
        ApplyCoinbase(view, cb, where.txid, where);
    if (!v.ok() || !v->ok()) return v;
  }

  StateDelta delta;
  BlockUndo undo;
  view.Finish(delta, undo);
  delta.txs.reserve(txids.size());
  for (size_t i = 0; i < txids.size(); ++i) {
    delta.txs.emplace_back(txids[i], TxLocation{node->entry.hash, height,
                                                static_cast<uint32_t>(i)});
  }
  delta.address_index_put = AddressIndexEntriesOf(block, height, txids);
  delta.put_undo.emplace(node->entry.hash, std::move(undo));
  delta.main_chain.emplace_back(height, node->entry.hash);
  delta.new_tip = node->entry.hash;
  if (absl::Status s = store_->Commit(delta); !s.ok()) {
    return Propagate(
        s, absl::StrCat("committing block ", node->entry.hash.ToDisplayHex()));
  }
  active_.resize(height + 1);
  active_[height] = node;
  return ValidationResult::Valid();
}

absl::StatusOr<Block> ChainState::DisconnectTip() {
  Node* tip = active_.back();
  if (tip->entry.height == 0)
    return absl::InternalError("cannot disconnect genesis");
  const Hash256& hash = tip->entry.hash;
  PBCHAIN_ASSIGN_OR_RETURN(std::optional<Block> block, store_->GetBlock(hash));
  PBCHAIN_ASSIGN_OR_RETURN(std::optional<BlockUndo> undo,
                           store_->GetUndo(hash));
  if (!block.has_value() || !undo.has_value()) {
    return absl::DataLossError(
        absl::StrCat("body or undo data of active block ", hash.ToDisplayHex(),
                     " is missing"));
  }
  StateDelta delta;
  for (const auto& [addr, before] : undo->prev_accounts)
    delta.accounts.emplace_back(addr, before);
  for (const std::string& key : undo->created_records)
    delta.records.emplace_back(key, std::nullopt);
  std::vector<Hash256> txids;
  txids.reserve(block->txs.size());
  delta.txs.reserve(block->txs.size());
  for (const Transaction& tx : block->txs) {
    txids.push_back(tx.Id());
    delta.txs.emplace_back(txids.back(), std::nullopt);
  }
  // The block's own entries: the same keys its connect wrote.
  delta.address_index_erase =
      AddressIndexEntriesOf(*block, tip->entry.height, txids);
  delta.erase_undo = hash;
  delta.main_chain.emplace_back(tip->entry.height, std::nullopt);
  delta.new_tip = tip->parent->entry.hash;
  if (absl::Status s = store_->Commit(delta); !s.ok()) {
    return Propagate(s,
                     absl::StrCat("disconnecting block ", hash.ToDisplayHex()));
  }
  active_.pop_back();
  return *std::move(block);
}

absl::Status ChainState::MoveTo(Node* target, std::vector<Block>& disconnected,
                                std::vector<Block>& connected, Node** failed,
                                ValidationResult* failure) {
  const Node* fork = Fork(active_.back(), target);
  while (active_.back() != fork) {
    PBCHAIN_ASSIGN_OR_RETURN(Block b, DisconnectTip());
    disconnected.push_back(std::move(b));
  }
  std::vector<Node*> path;
  for (Node* n = target; n != fork; n = n->parent) path.push_back(n);
  std::reverse(path.begin(), path.end());
  for (Node* n : path) {
    PBCHAIN_ASSIGN_OR_RETURN(std::optional<Block> block,
                             store_->GetBlock(n->entry.hash));
    if (!block.has_value()) {
      return absl::DataLossError(absl::StrCat(
          "body of block ", n->entry.hash.ToDisplayHex(), " is missing"));
    }
    absl::StatusOr<ValidationResult> v = ConnectBlock(n, *block);
    if (!v.ok()) return v.status();
    if (!v->ok()) {
      *failed = n;
      *failure = *v;
      return absl::OkStatus();
    }
    connected.push_back(*std::move(block));
  }
  return absl::OkStatus();
}

absl::Status ChainState::MarkFailed(Node* node) {
  std::vector<Node*> later;
  for (const auto& [hash, n] : index_) {
    if (n->entry.height > node->entry.height) later.push_back(n.get());
  }
  std::sort(later.begin(), later.end(), [](const Node* a, const Node* b) {
    return a->entry.height < b->entry.height;
  });
  std::vector<BlockIndexEntry> updates;
  node->entry.status |= kBlockFailed;
  updates.push_back(node->entry);
  for (Node* n : later) {
    if ((n->parent->entry.status & kBlockFailed) &&
        !(n->entry.status & kBlockFailed)) {
      n->entry.status |= kBlockFailed;
      updates.push_back(n->entry);
    }
  }
  return store_->PutIndexEntries(updates);
}

ChainState::Node* ChainState::FindBestCandidate() const {
  Node* best = active_.back();
  for (const auto& [hash, node] : index_) {
    const uint32_t st = node->entry.status;
    if ((st & kBlockHaveData) && !(st & kBlockFailed) &&
        Better(node.get(), best)) {
      best = node.get();
    }
  }
  return best;
}

absl::Status ChainState::ActivateChain(Node* target, AcceptResult& result) {
  Node* old_tip = active_.back();
  std::vector<Block> disconnected, connected;
  // Anything but a plain extension of the tip by one block takes several
  // commits: mark where we are going first (see ChainStore::SetHeadMarker).
  const bool multi_step = target->parent != old_tip;
  if (multi_step) {
    if (absl::Status s = store_->SetHeadMarker(target->entry.hash); !s.ok()) {
      return Propagate(s, "writing the head marker");
    }
  }
  // Each round either reaches `target` or marks at least one more block
  // failed, so this ends; after a failure the target becomes the best chain
  // that is still valid (which may be where we already are).
  while (target != active_.back()) {
    Node* failed = nullptr;
    ValidationResult failure;
    if (absl::Status s =
            MoveTo(target, disconnected, connected, &failed, &failure);
        !s.ok()) {
      return s;
    }
    if (failed == nullptr) break;
    PBCHAIN_RETURN_IF_ERROR(MarkFailed(failed));
    if (result.validation.ok()) result.validation = failure;
    target = FindBestCandidate();
  }
  if (multi_step) {
    if (absl::Status s = store_->SetHeadMarker(std::nullopt); !s.ok()) {
      return Propagate(s, "clearing the head marker");
    }
  }
  // Net effect, from the old tip to the new one.
  Node* new_tip = active_.back();
  const Node* fork = Fork(old_tip, new_tip);
  absl::flat_hash_map<Hash256, const Block*> bodies;
  for (const Block& b : disconnected) bodies[b.Hash()] = &b;
  for (const Block& b : connected) bodies[b.Hash()] = &b;
  for (const Node* n = old_tip; n != fork; n = n->parent) {
    result.disconnected.push_back(n->entry.hash);
  }
  for (const Node* n = new_tip; n != fork; n = n->parent) {
    result.connected.push_back(n->entry.hash);
  }
  std::reverse(result.connected.begin(), result.connected.end());
  absl::flat_hash_set<Hash256> confirmed;
  for (const Hash256& h : result.connected) {
    for (const Transaction& tx : bodies.at(h)->txs) {
      confirmed.insert(tx.Id());
      result.confirmed_txs.push_back(tx);
    }
  }
  for (const Hash256& h : result.disconnected) {
    const Block* b = bodies.at(h);
    for (size_t i = 1; i < b->txs.size(); ++i) {
      if (!confirmed.contains(b->txs[i].Id()))
        result.returned_txs.push_back(b->txs[i]);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<AcceptResult> ChainState::AcceptBlock(const Block& block) {
  AcceptResult result;
  result.hash = block.Hash();
  auto known_result = [&](const Node* known) {
    if (known->entry.status & kBlockFailed) {
      result.validation = ValidationResult::Invalid(
          R::kHeaderInvalidParent, "block is known to be invalid");
    } else {
      result.status = AcceptStatus::kAlreadyKnown;
    }
  };
  // 1. Cheap header checks against the parent first, so that a peer must do
  //    the expected proof of work before we spend time on signatures.
  {
    absl::ReaderMutexLock lock(&mu_);
    if (const Node* known = Lookup(result.hash)) {
      known_result(known);
      if (result.status != AcceptStatus::kAlreadyKnown ||
          !Better(known, active_.back())) {
        return result;
      }
      // A known valid block that beats the tip (a reorg cut short by a
      // store error): retry activating it below.
    } else {
      const Node* parent = Lookup(block.header.prev_hash);
      if (parent == nullptr) {
        result.validation = ValidationResult::Invalid(
            R::kHeaderUnknownParent,
            absl::StrCat("parent ", block.header.prev_hash.ToDisplayHex(),
                         " is unknown"));
        return result;
      }
      if (parent->entry.status & kBlockFailed) {
        result.validation = ValidationResult::Invalid(
            R::kHeaderInvalidParent, "parent block is invalid");
        return result;
      }
      // The header on its own (version, bits, proof of work) before the
      // rules that compare it with its parent: PROTOCOL.md section 13 order.
      result.validation = CheckHeader(block.header, params_);
      if (!result.validation.ok()) return result;
      HeaderContext ctx{NextBits(parent), MedianTimePast(parent), Now()};
      result.validation = ContextualCheckHeader(block.header, ctx, params_);
      if (!result.validation.ok()) return result;
    }
  }
  if (result.status == AcceptStatus::kAlreadyKnown) {
    absl::MutexLock lock(&mu_);
    Node* known = Lookup(result.hash);
    if (!(known->entry.status & kBlockFailed) &&
        Better(known, active_.back())) {
      PBCHAIN_RETURN_IF_ERROR(ActivateChain(known, result));
    }
    return result;
  }
  // 2. Context-free checks (proof of work, structure, every signature),
  //    without the lock.
  result.validation = CheckBlock(block, params_, options_.verify_signatures);
  if (!result.validation.ok()) return result;

  // 3. Store, and activate if its chain now has the most work.
  absl::MutexLock lock(&mu_);
  if (const Node* known = Lookup(result.hash)) {
    known_result(known);
    return result;
  }
  Node* parent = Lookup(block.header.prev_hash);
  if (parent->entry.status & kBlockFailed) {
    result.validation = ValidationResult::Invalid(R::kHeaderInvalidParent,
                                                  "parent block is invalid");
    return result;
  }
  if (block.txs[0].height != parent->entry.height + 1) {
    result.validation = ValidationResult::Invalid(
        R::kBlockBadCoinbase,
        absl::StrCat("coinbase height ", block.txs[0].height, ", block is at ",
                     parent->entry.height + 1));
    return result;
  }

  BlockIndexEntry entry;
  entry.hash = result.hash;
  entry.header = block.header;
  entry.height = parent->entry.height + 1;
  entry.chain_work = parent->entry.chain_work +
                     BlockWork(DecodeCompact(block.header.bits).target);
  entry.status = kBlockHaveData;
  entry.sequence = next_sequence_;
  entry.tx_count = static_cast<uint32_t>(block.txs.size());
  if (absl::Status s = store_->PutBlock(entry, block); !s.ok()) {
    return Propagate(s, "storing block");
  }
  Node* node = AddNode(entry);

  if (Better(node, active_.back())) {
    PBCHAIN_RETURN_IF_ERROR(ActivateChain(node, result));
  }
  if (node->entry.status & kBlockFailed) {
    result.status = AcceptStatus::kInvalid;
    if (result.validation.ok()) {
      result.validation = ValidationResult::Invalid(
          R::kHeaderInvalidParent, "an ancestor block is invalid");
    }
  } else {
    result.validation = ValidationResult::Valid();
    result.status = active_.back() == node || IsActiveLocked(node)
                        ? AcceptStatus::kActive
                        : AcceptStatus::kSideBranch;
  }
  return result;
}

TipInfo ChainState::Tip() const {
  absl::ReaderMutexLock lock(&mu_);
  const Node* t = active_.back();
  return TipInfo{t->entry.hash, t->entry.height, t->entry.chain_work,
                 t->entry.header};
}

std::optional<BlockIndexEntry> ChainState::GetIndexEntry(
    const Hash256& hash) const {
  absl::ReaderMutexLock lock(&mu_);
  const Node* n = Lookup(hash);
  if (n == nullptr) return std::nullopt;
  return n->entry;
}

std::optional<Hash256> ChainState::ActiveHashAt(uint32_t height) const {
  absl::ReaderMutexLock lock(&mu_);
  if (height >= active_.size()) return std::nullopt;
  return active_[height]->entry.hash;
}

bool ChainState::IsActiveLocked(const Node* n) const {
  return n->entry.height < active_.size() && active_[n->entry.height] == n;
}

bool ChainState::IsActive(const Hash256& hash) const {
  absl::ReaderMutexLock lock(&mu_);
  const Node* n = Lookup(hash);
  return n != nullptr && IsActiveLocked(n);
}

size_t ChainState::IndexSize() const {
  absl::ReaderMutexLock lock(&mu_);
  return index_.size();
}

absl::StatusOr<Block> ChainState::GetBlock(const Hash256& hash) const {
  PBCHAIN_ASSIGN_OR_RETURN(std::optional<Block> block, store_->GetBlock(hash));
  if (!block.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("block ", hash.ToDisplayHex(), " is unknown"));
  }
  return *std::move(block);
}

absl::StatusOr<AccountState> ChainState::GetAccount(
    const Address& address) const {
  absl::ReaderMutexLock lock(&mu_);
  PBCHAIN_ASSIGN_OR_RETURN(std::optional<AccountState> a,
                           store_->GetAccount(address));
  return a.value_or(AccountState{});
}

absl::StatusOr<std::optional<RecordEntry>> ChainState::ReadRecord(
    const std::string& index_key, const RecordLocation& loc) const {
  PBCHAIN_ASSIGN_OR_RETURN(std::optional<Block> block,
                           store_->GetBlock(loc.block_hash));
  if (!block.has_value())
    return absl::DataLossError("block of a record is missing");
  for (const Transaction& tx : block->txs) {
    if (tx.record && tx.Id() == loc.txid) {
      return RecordEntry{index_key, loc, *tx.record};
    }
  }
  return absl::DataLossError("record's transaction is not in its block");
}

absl::StatusOr<std::optional<RecordEntry>> ChainState::GetRecord(
    const std::string& ns, const std::string& key) const {
  absl::ReaderMutexLock lock(&mu_);
  std::string index_key = RecordIndexKey(ns, key, Hash256{});
  PBCHAIN_ASSIGN_OR_RETURN(std::optional<RecordLocation> loc,
                           store_->GetRecord(index_key));
  if (!loc.has_value()) return std::nullopt;
  return ReadRecord(index_key, *loc);
}

absl::StatusOr<std::vector<RecordEntry>> ChainState::ListRecords(
    const std::string& ns, const std::string& start_after, size_t limit) const {
  absl::ReaderMutexLock lock(&mu_);
  auto rows =
      store_->ScanRecords(RecordNamespacePrefix(ns), start_after, limit);
  if (!rows.ok()) return rows.status();
  std::vector<RecordEntry> out;
  for (const auto& [key, loc] : *rows) {
    PBCHAIN_ASSIGN_OR_RETURN(std::optional<RecordEntry> e,
                             ReadRecord(key, loc));
    out.push_back(*e);
  }
  return out;
}

absl::StatusOr<std::optional<std::pair<Transaction, TxLocation>>>
ChainState::GetTransaction(const Hash256& txid) const {
  absl::ReaderMutexLock lock(&mu_);
  PBCHAIN_ASSIGN_OR_RETURN(std::optional<TxLocation> loc,
                           store_->GetTxLocation(txid));
  if (!loc.has_value()) return std::nullopt;
  const TxLocation& where = *loc;
  const Node* node = Lookup(where.block_hash);
  if (node == nullptr || !IsActiveLocked(node) ||
      node->entry.height != where.height) {
    return absl::DataLossError(absl::StrCat(
        "transaction index: ", txid.ToDisplayHex(), " is indexed in block ",
        where.block_hash.ToDisplayHex(), " at height ", where.height,
        ", which is not that active block"));
  }
  PBCHAIN_ASSIGN_OR_RETURN(std::optional<Block> block,
                           store_->GetBlock(where.block_hash));
  if (!block.has_value()) {
    return absl::DataLossError(absl::StrCat("body of active block ",
                                            where.block_hash.ToDisplayHex(),
                                            " is missing"));
  }
  std::vector<Transaction>& txs = block->txs;
  if (where.index >= txs.size() || txs[where.index].Id() != txid) {
    return absl::DataLossError(absl::StrCat(
        "transaction index: ", txid.ToDisplayHex(), " is not transaction ",
        where.index, " of block ", where.block_hash.ToDisplayHex()));
  }
  return std::make_pair(std::move(txs[where.index]), where);
}

absl::StatusOr<AddressHistoryPage> ChainState::GetAddressHistory(
    const Address& address, const std::optional<TxPosition>& before,
    size_t limit) const {
  if (limit == 0) {
    return absl::InvalidArgumentError("address history: limit must be >= 1");
  }
  absl::ReaderMutexLock lock(&mu_);
  AddressHistoryPage page;
  page.tip_height = active_.back()->entry.height;
  PBCHAIN_ASSIGN_OR_RETURN(
      std::vector<AddressIndexEntry> rows,
      store_->ScanAddressIndex(address, before, limit + 1));
  if (rows.size() > limit) {
    rows.resize(limit);
    page.next = rows.back().position;
  }
  // Entries of one block are adjacent: read each body once.
  const Node* block_node = nullptr;
  std::optional<Block> block;
  for (const AddressIndexEntry& e : rows) {
    const uint32_t height = e.position.height;
    if (height >= active_.size()) {
      return absl::DataLossError(absl::StrCat(
          "address index: ", address.ToText(), " has an entry at height ",
          height, ", above the tip ", page.tip_height));
    }
    const Node* node = active_[height];
    if (node != block_node) {
      PBCHAIN_ASSIGN_OR_RETURN(std::optional<Block> body,
                               store_->GetBlock(node->entry.hash));
      if (!body.has_value()) {
        return absl::DataLossError(absl::StrCat("body of active block ",
                                                node->entry.hash.ToDisplayHex(),
                                                " is missing"));
      }
      block = *std::move(body);
      block_node = node;
    }
    const uint32_t index = e.position.index;
    if (index >= block->txs.size() || block->txs[index].Id() != e.txid) {
      return absl::DataLossError(absl::StrCat(
          "address index: ", e.txid.ToDisplayHex(), " is not transaction ",
          index, " of block ", node->entry.hash.ToDisplayHex()));
    }
    AddressHistoryEntry out;
    out.txid = e.txid;
    out.tx = block->txs[index];
    out.block_hash = node->entry.hash;
    out.height = height;
    out.block_time = node->entry.header.time;
    out.index = index;
    if (out.tx.recipient == address) out.received = out.tx.amount;
    if (!out.tx.IsCoinbase() && out.tx.SenderAddress() == address) {
      out.sent = out.tx.amount + out.tx.fee;  // no overflow: CheckTransaction
    }
    page.entries.push_back(std::move(out));
  }
  return page;
}

std::vector<ChainTip> ChainState::GetChainTips(size_t limit) const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<ChainTip> out;
  if (limit == 0) return out;
  const Node* tip = active_.back();
  out.push_back(ChainTip{tip->entry.hash, tip->entry.height, 0, tip->entry.hash,
                         ChainTipStatus::kActive, tip->entry.chain_work,
                         tip->entry.header.time});
  std::vector<const Node*> side;
  side.reserve(leaves_.size());
  for (const Node* leaf : leaves_) {
    if (leaf != tip) side.push_back(leaf);
  }
  const size_t wanted = std::min(side.size(), limit - 1);
  std::partial_sort(side.begin(), side.begin() + wanted, side.end(),
                    [](const Node* a, const Node* b) {
                      if (a->entry.height != b->entry.height)
                        return a->entry.height > b->entry.height;
                      if (a->entry.chain_work != b->entry.chain_work)
                        return a->entry.chain_work > b->entry.chain_work;
                      return a->entry.sequence < b->entry.sequence;
                    });
  for (size_t i = 0; i < wanted; ++i) {
    const Node* n = side[i];
    const Node* fork = n;
    while (!IsActiveLocked(fork)) fork = fork->parent;  // genesis is active
    out.push_back(
        ChainTip{n->entry.hash, n->entry.height,
                 n->entry.height - fork->entry.height, fork->entry.hash,
                 (n->entry.status & kBlockFailed) ? ChainTipStatus::kInvalid
                                                  : ChainTipStatus::kValidFork,
                 n->entry.chain_work, n->entry.header.time});
  }
  return out;
}

std::vector<Hash256> ChainState::GetLocator() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<Hash256> out;
  int64_t h = static_cast<int64_t>(active_.size()) - 1;
  int64_t step = 1;
  while (h > 0) {
    out.push_back(active_[h]->entry.hash);
    if (out.size() >= 10) step *= 2;
    h -= step;
  }
  out.push_back(active_[0]->entry.hash);
  return out;
}

std::vector<BlockHeader> ChainState::HeadersAfterLocator(
    std::span<const Hash256> locator, const std::optional<Hash256>& stop,
    uint32_t max_count, uint32_t* start_height) const {
  absl::ReaderMutexLock lock(&mu_);
  uint32_t start = 0;
  for (const Hash256& h : locator) {
    if (const Node* n = Lookup(h); n != nullptr && IsActiveLocked(n)) {
      start = n->entry.height + 1;
      break;
    }
  }
  *start_height = start;
  std::vector<BlockHeader> out;
  for (size_t height = start; height < active_.size() && out.size() < max_count;
       ++height) {
    out.push_back(active_[height]->entry.header);
    if (stop && active_[height]->entry.hash == *stop) break;
  }
  return out;
}

uint32_t ChainState::NextBitsOnTip() const {
  absl::ReaderMutexLock lock(&mu_);
  return NextBits(active_.back());
}

int64_t ChainState::MedianTimePastOfTip() const {
  absl::ReaderMutexLock lock(&mu_);
  return MedianTimePast(active_.back());
}

absl::StatusOr<ValidationResult> ChainState::CheckTransactionOnTip(
    const Transaction& tx, std::span<const Transaction> pending,
    bool verify_signature) const {
  if (tx.IsCoinbase()) {
    return ValidationResult::Invalid(R::kTxMalformed,
                                     "a coinbase cannot be submitted");
  }
  ValidationResult v = CheckTransaction(
      tx, params_, verify_signature && options_.verify_signatures);
  if (!v.ok()) return v;
  if (tx.fee > UINT64_MAX - params_.block_reward) {
    return ValidationResult::Invalid(
        R::kTxOverflow, "fee + block reward overflows: no block could pay it");
  }
  absl::ReaderMutexLock lock(&mu_);
  View view(store_);
  RecordLocation where;
  for (const Transaction& p : pending) {
    absl::StatusOr<ValidationResult> pv = ApplyTransfer(view, p, p.Id(), where);
    if (!pv.ok()) return pv.status();
  }
  return ApplyTransfer(view, tx, tx.Id(), where);
}

absl::StatusOr<size_t> ChainState::CheckSequenceOnTip(
    std::span<const Transaction> txs) const {
  absl::ReaderMutexLock lock(&mu_);
  View view(store_);
  RecordLocation where;
  size_t valid = 0;
  for (const Transaction& tx : txs) {
    if (tx.IsCoinbase()) break;
    if (!CheckTransaction(tx, params_, /*verify_signature=*/false).ok()) break;
    if (tx.fee > UINT64_MAX - params_.block_reward) break;
    absl::StatusOr<ValidationResult> v =
        ApplyTransfer(view, tx, tx.Id(), where);
    if (!v.ok()) return v.status();
    if (!v->ok()) break;
    ++valid;
  }
  return valid;
}

absl::StatusOr<Block> ChainState::CreateBlockTemplate(
    const Address& miner, std::span<const Transaction> candidates,
    int64_t now) const {
  absl::ReaderMutexLock lock(&mu_);
  const Node* tip = active_.back();
  Block block;
  Transaction cb;
  cb.kind = TxKind::kCoinbase;
  cb.chain_id = params_.chain_id;
  cb.recipient = miner;
  cb.height = tip->entry.height + 1;
  block.txs.push_back(cb);
  // Room for the coinbase once its amount is set (fixed-width fields).
  size_t size = kHeaderSize + cb.Encode().size();
  View view(store_);
  RecordLocation where;
  uint64_t fees = 0;
  for (const Transaction& tx : candidates) {
    if (block.txs.size() >= kMaxBlockTxs) break;
    if (tx.IsCoinbase() ||
        !CheckTransaction(tx, params_, /*verify_signature=*/false).ok()) {
      continue;
    }
    size_t tx_size = tx.Encode().size();
    if (size + tx_size > kMaxBlockSize) continue;
    // reward + fees must fit the coinbase amount.
    if (tx.fee > UINT64_MAX - params_.block_reward - fees) continue;
    absl::StatusOr<ValidationResult> v =
        ApplyTransfer(view, tx, tx.Id(), where);
    if (!v.ok()) return v.status();
    if (!v->ok()) continue;
    fees += tx.fee;
    size += tx_size;
    block.txs.push_back(tx);
  }
  block.txs[0].amount = params_.block_reward + fees;
  block.header.version = kBlockVersion;
  block.header.prev_hash = tip->entry.hash;
  block.header.bits = NextBits(tip);
  int64_t time = std::max<int64_t>(now, MedianTimePast(tip) + 1);
  block.header.time = static_cast<uint32_t>(time);
  block.header.nonce = 0;
  block.header.merkle_root = BlockMerkleRoot(block);
  return block;
}

}  // namespace pbchain
