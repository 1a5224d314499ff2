#include "node/p2p/relay.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "chain/pow.h"
#include "glog/logging.h"
#include "node/p2p/wire.h"
#include "proto/convert.h"

namespace pbchain {

using Envelope = v1::GossipEnvelope;

void RecentHashes::insert(const Hash256& h) {
  if (!set_.insert(h).second) return;
  order_.push_back(h);
  if (order_.size() > capacity_) {
    set_.erase(order_.front());
    order_.pop_front();
  }
}

Relay::Relay(Node* node, PeerSet* peers, BlockSync* sync, Clock* clock)
    : node_(node), peers_(peers), sync_(sync), clock_(clock) {}

void Relay::AddPeer(uint64_t peer_id) {
  absl::MutexLock lock(&mu_);
  state_.try_emplace(peer_id);
}

void Relay::RemovePeer(uint64_t peer_id) {
  absl::MutexLock lock(&mu_);
  state_.erase(peer_id);
  std::erase_if(tx_requests_, [&](const auto& request) {
    return request.second.first == peer_id;
  });
}

void Relay::MarkKnown(uint64_t peer_id, const Hash256& hash) {
  absl::MutexLock lock(&mu_);
  if (PeerState* state = StateLocked(peer_id)) state->known.insert(hash);
}

Relay::PeerState* Relay::StateLocked(uint64_t peer_id) {
  auto it = state_.find(peer_id);
  return it == state_.end() ? nullptr : &it->second;
}

// ---------------------------------------------------------------------------
// Announcements and requests

void Relay::HandleInventory(const PeerPtr& peer, const v1::Inventory& inv) {
  if (inv.block_hashes_size() + inv.txids_size() > kMaxInventoryHashes) {
    peers_->Misbehaving(peer, kOversizedListPoints,
                        absl::StrCat("Inventory of ",
                                     inv.block_hashes_size() + inv.txids_size(),
                                     " hashes, limit ", kMaxInventoryHashes));
    return;
  }
  std::optional<std::vector<Hash256>> blocks = ParseHashes(inv.block_hashes());
  std::optional<std::vector<Hash256>> txids = ParseHashes(inv.txids());
  if (!blocks || !txids) {
    peers_->Misbehaving(peer, kMalformedPoints, "Inventory hash not 32 bytes");
    return;
  }
  const ChainState& chain = node_->chain();
  const bool syncing = sync_->syncing();
  Envelope request;
  bool unknown_block = false;
  uint32_t best_known_height = 0;
  for (const Hash256& h : *blocks) {
    if (std::optional<BlockIndexEntry> e = chain.GetIndexEntry(h)) {
      best_known_height = std::max(best_known_height, e->height);
      continue;
    }
    unknown_block = true;
    const absl::Time now = clock_->Now();
    absl::MutexLock lock(&mu_);
    PeerState* state = StateLocked(peer->id);
    if (state == nullptr) return;
    state->known.insert(h);
    // While downloading a chain, new blocks wait for the sync to reach
    // them; a block asked of another peer a moment ago is not asked twice.
    auto asked = block_requests_.find(h);
    const bool pending = asked != block_requests_.end() &&
                         now - asked->second < kBlockRequestTimeout;
    if (!recent_rejects_.contains(h) && !syncing && !pending &&
        block_requests_.size() < kMaxBlockRequests &&
        request.get_data().block_hashes_size() < kMaxGetDataBlocks) {
      block_requests_[h] = now;
      state->asked_blocks.insert(h);
      request.mutable_get_data()->add_block_hashes(HashBytes(h));
    }
  }
  if (best_known_height > 0) sync_->OnPeerHeight(peer->id, best_known_height);
  if (unknown_block) {
    sync_->OnPeerHeight(peer->id, chain.Tip().height + 1);
    if (syncing) sync_->RequestHeaders(peer->id);
  }
  std::vector<Hash256> new_txids;
  for (const Hash256& txid : *txids) {
    if (!node_->mempool().Contains(txid)) new_txids.push_back(txid);
  }
  {
    const absl::Time now = clock_->Now();
    absl::MutexLock lock(&mu_);
    PeerState* state = StateLocked(peer->id);
    if (state == nullptr) return;
    for (const Hash256& txid : *txids) state->known.insert(txid);
    for (const Hash256& txid : new_txids) {
      // Each peer may hold at most kMaxTxRequestsPerPeer of our requests,
      // so no one peer can crowd out the others.
      if (recent_rejects_.contains(txid) || tx_requests_.contains(txid) ||
          tx_requests_.size() >= kMaxTxRequests ||
          state->tx_requested >= kMaxTxRequestsPerPeer) {
        continue;
      }
      tx_requests_[txid] = {peer->id, now};
      ++state->tx_requested;
      request.mutable_get_data()->add_txids(HashBytes(txid));
    }
  }
  if (request.has_get_data()) peer->link->Send(std::move(request));
}

void Relay::HandleGetData(const PeerPtr& peer, const v1::GetData& request) {
  if (request.block_hashes_size() > kMaxGetDataBlocks ||
      request.block_hashes_size() + request.txids_size() >
          kMaxInventoryHashes) {
    peers_->Misbehaving(peer, kOversizedListPoints, "GetData over its caps");
    return;
  }
  std::optional<std::vector<Hash256>> blocks =
      ParseHashes(request.block_hashes());
  std::optional<std::vector<Hash256>> txids = ParseHashes(request.txids());
  if (!blocks || !txids) {
    peers_->Misbehaving(peer, kMalformedPoints, "GetData hash not 32 bytes");
    return;
  }
  Envelope missing;
  for (const Hash256& h : *blocks) {
    absl::StatusOr<Block> block = node_->chain().GetBlock(h);
    if (!block.ok()) {
      // Unknown, or damaged in our datadir (the node logs that once): the
      // peer asks someone else.
      node_->NoteBlockReadFailure(h, block.status());
      missing.mutable_not_found()->add_block_hashes(HashBytes(h));
      continue;
    }
    Envelope reply;
    *reply.mutable_block()->mutable_block() = BlockToProto(*block);
    {
      absl::MutexLock lock(&mu_);
      if (PeerState* state = StateLocked(peer->id)) state->known.insert(h);
    }
    // Back-pressure: a peer asking for many blocks waits for its own queue.
    if (!peer->link->SendWaiting(std::move(reply))) return;
  }
  for (const Hash256& txid : *txids) {
    std::optional<Transaction> tx = node_->mempool().Get(txid);
    if (!tx) {
      missing.mutable_not_found()->add_txids(HashBytes(txid));
      // The peer asked, so it lacks the transaction, though we may have
      // told it of it (e.g. across a network partition, before a block
      // holding it was undone here): when it comes back into our mempool,
      // the peer is told again at once, not only at the next
      // re-announcement (issue 17, tests/multihost partition_heal).
      absl::MutexLock lock(&mu_);
      if (PeerState* state = StateLocked(peer->id)) state->known.erase(txid);
      continue;
    }
    Envelope reply;
    *reply.mutable_transaction()->mutable_transaction() =
        TransactionToProto(*tx);
    if (!peer->link->SendWaiting(std::move(reply))) return;
  }
  if (missing.has_not_found()) peer->link->Send(std::move(missing));
}

void Relay::HandleNotFound(const PeerPtr& peer, const v1::NotFound& message) {
  if (message.block_hashes_size() + message.txids_size() >
      kMaxInventoryHashes) {
    peers_->Misbehaving(peer, kOversizedListPoints,
                        "NotFound over 1000 hashes");
    return;
  }
  std::optional<std::vector<Hash256>> blocks =
      ParseHashes(message.block_hashes());
  std::optional<std::vector<Hash256>> txids = ParseHashes(message.txids());
  if (!blocks || !txids) {
    peers_->Misbehaving(peer, kMalformedPoints, "NotFound hash not 32 bytes");
    return;
  }
  sync_->OnNotFound(peer->id, *blocks);
  absl::MutexLock lock(&mu_);
  for (const Hash256& h : *blocks) block_requests_.erase(h);
  for (const Hash256& txid : *txids) {
    auto it = tx_requests_.find(txid);
    if (it != tx_requests_.end() && it->second.first == peer->id) {
      ForgetTxRequest(txid);
    }
  }
}

// ---------------------------------------------------------------------------
// Bodies

void Relay::HandleBlock(const PeerPtr& peer, const v1::BlockMsg& message) {
  absl::StatusOr<Block> block = BlockFromProto(message.block());
  if (!block.ok()) {
    peers_->Misbehaving(
        peer, kMalformedPoints,
        absl::StrCat("undecodable block: ", block.status().message()));
    return;
  }
  const Hash256 hash = block->Hash();
  if (sync_->OnBlock(peer->id, hash, *block)) {  // sync connects it
    MarkKnown(peer->id, hash);
    return;
  }
  bool asked = false;
  {
    absl::MutexLock lock(&mu_);
    block_requests_.erase(hash);
    if (PeerState* state = StateLocked(peer->id)) {
      state->known.insert(hash);
      asked = state->asked_blocks.contains(hash);
      state->asked_blocks.erase(hash);
    }
  }
  // A block pushed without being asked for draws from the flood bucket.
  if (!asked && !peers_->ChargeFlood(*peer)) {
    peers_->Misbehaving(peer, 1, "flood of unrequested blocks");
  }
  // A relayed block whose chain has less work than our tip is dropped
  // unprocessed: side branches enter only by sync, with more work, so a
  // peer cannot fill the store with cheap stale forks.
  const ChainState& chain = node_->chain();
  if (std::optional<BlockIndexEntry> parent =
          chain.GetIndexEntry(block->header.prev_hash)) {
    const UInt256 work = parent->chain_work +
                         BlockWork(DecodeCompact(block->header.bits).target);
    if (work < chain.Tip().chain_work) {
      VLOG(1) << "block " << hash.ToDisplayHex() << " from peer " << peer->id
              << " has less work than our tip; dropped";
      return;
    }
  }
  absl::StatusOr<AcceptResult> result = node_->SubmitBlock(*block);
  if (!result.ok()) {
    // UNAVAILABLE: the datadir takes no writes, which the node logged once.
    if (!absl::IsUnavailable(result.status())) {
      LOG(ERROR) << "cannot store block " << hash.ToDisplayHex() << ": "
                 << result.status();
    }
    return;
  }
  switch (result->status) {
    case AcceptStatus::kActive:
    case AcceptStatus::kSideBranch:
      if (std::optional<BlockIndexEntry> e =
              node_->chain().GetIndexEntry(hash)) {
        sync_->OnPeerHeight(peer->id, e->height);
        LOG(INFO) << "block " << e->height << " " << hash.ToDisplayHex()
                  << " from peer " << peer->id
                  << (result->status == AcceptStatus::kActive
                          ? " is the new tip"
                          : " is on a side branch");
      }
      return;
    case AcceptStatus::kAlreadyKnown:
      return;
    case AcceptStatus::kInvalid:
      break;
  }
  const RejectReason reason = result->validation.reason();
  if (reason == RejectReason::kHeaderUnknownParent) {
    // We lack its ancestors: fetch the peer's chain headers first.
    sync_->RequestHeaders(peer->id);
    return;
  }
  if (reason == RejectReason::kHeaderTimeTooNew) {
    LOG(INFO) << "block " << hash.ToDisplayHex() << " from peer " << peer->id
              << " is from the future; ignored for now";
    return;  // may become valid: not the sender's fault
  }
  {
    absl::MutexLock lock(&mu_);
    recent_rejects_.insert(hash);
  }
  Envelope reject;
  reject.mutable_reject()->set_code(v1::REJECT_CODE_INVALID);
  // "reason-name: detail" (PROTOCOL.md section 13), at most 256 bytes.
  reject.mutable_reject()->set_message(
      result->validation.ToString().substr(0, 256));
  reject.mutable_reject()->set_hash(HashBytes(hash));
  peer->link->Send(std::move(reject));
  peers_->Misbehaving(peer, kInvalidBlockPoints,
                      absl::StrCat("invalid block ", hash.ToDisplayHex(), ": ",
                                   result->validation.ToString()));
}

void Relay::HandleTransaction(const PeerPtr& peer,
                              const v1::TransactionMsg& message) {
  absl::StatusOr<Transaction> tx = TransactionFromProto(message.transaction());
  if (!tx.ok() || tx->IsCoinbase()) {
    peers_->Misbehaving(peer, kMalformedPoints,
                        tx.ok() ? "a coinbase outside a block"
                                : absl::StrCat("undecodable transaction: ",
                                               tx.status().message()));
    return;
  }
  const Hash256 txid = tx->Id();
  {
    absl::MutexLock lock(&mu_);
    if (PeerState* state = StateLocked(peer->id)) state->known.insert(txid);
    ForgetTxRequest(txid);
  }
  absl::StatusOr<Hash256> added = node_->SubmitTransaction(*tx);
  if (added.ok() || !absl::IsInvalidArgument(added.status())) return;
  // Context-free failure (bad signature, wrong chain...): never valid.
  {
    absl::MutexLock lock(&mu_);
    recent_rejects_.insert(txid);
  }
  peers_->Misbehaving(
      peer, kInvalidTransactionPoints,
      absl::StrCat("invalid transaction: ", added.status().message()));
}

void Relay::ForgetTxRequest(const Hash256& txid) {
  auto it = tx_requests_.find(txid);
  if (it == tx_requests_.end()) return;
  if (PeerState* state = StateLocked(it->second.first)) --state->tx_requested;
  tx_requests_.erase(it);
}

// ---------------------------------------------------------------------------
// Announcements of our own

void Relay::AnnounceBlock(const Hash256& hash, uint32_t height) {
  const std::vector<PeerPtr> connected = peers_->Connected();
  std::vector<PeerPtr> targets;
  {
    absl::MutexLock lock(&mu_);
    last_announced_ = hash;
    for (const PeerPtr& peer : connected) {
      PeerState* state = StateLocked(peer->id);
      if (state == nullptr || state->known.contains(hash)) continue;
      state->known.insert(hash);
      targets.push_back(peer);
    }
  }
  for (const PeerPtr& peer : targets) {
    Envelope inv;
    inv.mutable_inventory()->add_block_hashes(HashBytes(hash));
    peer->link->Send(std::move(inv));
  }
  VLOG(1) << "announced block " << height << " to " << targets.size()
          << " peers";
}

size_t Relay::AnnounceTransaction(const Hash256& txid) {
  const std::vector<PeerPtr> connected = peers_->Connected();
  const absl::Time now = clock_->Now();
  std::vector<std::pair<PeerPtr, Envelope>> full;
  size_t queued = 0;
  {
    absl::MutexLock lock(&mu_);
    ScheduleLocked(txid, now + kReannounceFirst, kReannounceFirst);
    for (const PeerPtr& peer : connected) {
      PeerState* state = StateLocked(peer->id);
      if (state == nullptr || state->known.contains(txid)) continue;
      state->known.insert(txid);
      state->tx_announce.push_back(txid);
      ++queued;
      if (state->tx_announce.size() >=
          static_cast<size_t>(kMaxInventoryHashes)) {
        for (Envelope& inv : TakeTxAnnouncements(*state)) {
          full.emplace_back(peer, std::move(inv));
        }
      }
    }
  }
  for (auto& [peer, inv] : full) peer->link->Send(std::move(inv));
  return queued;
}

void Relay::ScheduleReannounce(const std::vector<Hash256>& txids) {
  const absl::Time due = clock_->Now() + kReannounceFirst;
  absl::MutexLock lock(&mu_);
  for (const Hash256& txid : txids) {
    ScheduleLocked(txid, due, kReannounceFirst);
  }
}

size_t Relay::reannounce_tracked() const {
  absl::MutexLock lock(&mu_);
  return reannounce_.size();
}

void Relay::ScheduleLocked(const Hash256& txid, absl::Time due,
                           absl::Duration interval) {
  if (reannounce_.size() >= kMaxReannounceTracked) return;
  if (!reannounce_.try_emplace(txid, Reannounce{due, interval}).second) return;
  reannounce_queue_.emplace(due, txid);
}

std::vector<Envelope> Relay::TakeTxAnnouncements(PeerState& state) {
  std::vector<Envelope> out;
  for (const Hash256& txid : state.tx_announce) {
    if (out.empty() ||
        out.back().inventory().txids_size() >= kMaxInventoryHashes) {
      out.emplace_back();
    }
    out.back().mutable_inventory()->add_txids(HashBytes(txid));
  }
  state.tx_announce.clear();
  return out;
}

void Relay::AnnounceMempoolToNewPeers(const std::vector<PeerPtr>& connected) {
  std::vector<uint64_t> fresh;
  {
    absl::MutexLock lock(&mu_);
    for (const PeerPtr& peer : connected) {
      PeerState* state = StateLocked(peer->id);
      if (state == nullptr || state->mempool_announced) continue;
      state->mempool_announced = true;
      fresh.push_back(peer->id);
    }
  }
  if (fresh.empty()) return;
  // Outside our lock: the mempool's order (best fee rate first, each
  // sender's nonces in order), so the peer never asks for a gap.
  const std::vector<Hash256> top =
      node_->mempool().TopTxids(kMaxMempoolAnnounce);
  if (top.empty()) return;
  absl::MutexLock lock(&mu_);
  for (uint64_t id : fresh) {
    PeerState* state = StateLocked(id);
    if (state == nullptr) continue;
    // Ahead of what was batched for it meanwhile.
    std::vector<Hash256> batch;
    for (const Hash256& txid : top) {
      if (state->known.contains(txid)) continue;
      state->known.insert(txid);
      batch.push_back(txid);
    }
    batch.insert(batch.end(), state->tx_announce.begin(),
                 state->tx_announce.end());
    state->tx_announce = std::move(batch);
    VLOG(1) << "peer " << id << " is told about " << state->tx_announce.size()
            << " pooled transactions";
  }
}

void Relay::ReannounceDue(absl::Time now,
                          const std::vector<PeerPtr>& connected) {
  std::vector<Hash256> due;
  {
    absl::MutexLock lock(&mu_);
    if (connected.empty()) return;  // they wait for a peer
    for (auto it = reannounce_queue_.begin();
         it != reannounce_queue_.end() && it->first <= now &&
         due.size() < kMaxReannouncePerRound;) {
      due.push_back(it->second);
      it = reannounce_queue_.erase(it);
    }
  }
  if (due.empty()) return;
  // Outside our lock: which are still pooled, in each sender's nonce order.
  std::vector<std::pair<std::pair<Address, uint64_t>, Hash256>> pooled;
  std::vector<Hash256> gone;
  for (const Hash256& txid : due) {
    if (std::optional<Transaction> tx = node_->mempool().Get(txid)) {
      pooled.push_back({{tx->SenderAddress(), tx->nonce}, txid});
    } else {
      gone.push_back(txid);
    }
  }
  std::sort(pooled.begin(), pooled.end());
  std::vector<Envelope> messages;
  {
    absl::MutexLock lock(&mu_);
    for (const Hash256& txid : gone) reannounce_.erase(txid);
    for (const auto& [key, txid] : pooled) {
      auto it = reannounce_.find(txid);
      if (it == reannounce_.end()) continue;
      it->second.interval =
          std::min(it->second.interval * 2, kReannounceMaxInterval);
      it->second.due = now + it->second.interval;
      reannounce_queue_.emplace(it->second.due, txid);
      if (messages.empty() ||
          messages.back().inventory().txids_size() >= kMaxInventoryHashes) {
        messages.emplace_back();
      }
      messages.back().mutable_inventory()->add_txids(HashBytes(txid));
    }
    for (const PeerPtr& peer : connected) {
      if (PeerState* state = StateLocked(peer->id)) {
        for (const auto& [key, txid] : pooled) state->known.insert(txid);
      }
    }
  }
  if (messages.empty()) return;
  for (const PeerPtr& peer : connected) {
    for (const Envelope& message : messages) peer->link->Send(message);
  }
  VLOG(1) << "re-announced " << pooled.size() << " unconfirmed transactions to "
          << connected.size() << " peers";
}

void Relay::Maintain(absl::Time now) {
  const std::vector<PeerPtr> connected = peers_->Connected();
  AnnounceMempoolToNewPeers(connected);
  ReannounceDue(now, connected);
  std::vector<std::pair<PeerPtr, Envelope>> sends;
  {
    absl::MutexLock lock(&mu_);
    for (const PeerPtr& peer : connected) {
      PeerState* state = StateLocked(peer->id);
      if (state != nullptr && !state->tx_announce.empty()) {
        for (Envelope& inv : TakeTxAnnouncements(*state)) {
          sends.emplace_back(peer, std::move(inv));
        }
      }
    }
    std::vector<Hash256> expired;
    for (const auto& [txid, request] : tx_requests_) {
      if (now - request.second > kTxRequestTimeout) expired.push_back(txid);
    }
    for (const Hash256& txid : expired) ForgetTxRequest(txid);
    std::erase_if(block_requests_, [now](const auto& request) {
      return now - request.second > kBlockRequestTimeout;
    });
  }
  for (auto& [peer, message] : sends) peer->link->Send(std::move(message));
  // A tip not announced yet (blocks are not relayed during a download):
  // announce it once the download is over.
  if (!sync_->syncing()) {
    const TipInfo tip = node_->chain().Tip();
    bool announced;
    {
      absl::MutexLock lock(&mu_);
      announced = last_announced_ == tip.hash;
    }
    if (!announced) AnnounceBlock(tip.hash, tip.height);
  }
}

}  // namespace pbchain
