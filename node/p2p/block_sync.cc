#include "node/p2p/block_sync.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "chain/chain_state.h"
#include "glog/logging.h"
#include "node/p2p/wire.h"
#include "proto/convert.h"

namespace pbchain {

// Misbehaviour points (see Network for the scale).
namespace {
constexpr int kInvalidPoints = 100;
constexpr int kBrokenAnswerPoints = 20;
constexpr int kUnsolicitedPoints = 10;
}  // namespace

BlockSync::BlockSync(Node* node, Hooks hooks, Clock* clock, bool start_thread)
    : node_(node), hooks_(std::move(hooks)), clock_(clock) {
  if (start_thread) thread_ = std::thread([this] { Loop(); });
}

BlockSync::~BlockSync() { Stop(); }

void BlockSync::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

uint32_t BlockSync::best_peer_height() const {
  absl::MutexLock lock(&mu_);
  uint32_t best = 0;
  for (const auto& [peer, height] : peer_height_) best = std::max(best, height);
  return best;
}

bool BlockSync::syncing() const {
  absl::MutexLock lock(&mu_);
  return header_peer_.has_value() || RunPendingLocked();
}

bool BlockSync::run_pending() const {
  absl::MutexLock lock(&mu_);
  return RunPendingLocked();
}

bool BlockSync::RunPendingLocked() const {
  if (pending_.empty()) return false;
  const TipInfo tip = node_->chain().Tip();
  if (pending_work_ <= tip.chain_work) return false;
  // A tip that is neither where the run left it nor the run's block being
  // connected came another way (a block mined on our chain): relay as usual
  // while the run is fetched.
  return tip.hash == run_tip_ || tip.hash == pending_hashes_.front();
}

uint32_t BlockSync::validated_header_height() const {
  absl::MutexLock lock(&mu_);
  if (pending_.empty()) return 0;
  if (pending_work_ <= node_->chain().Tip().chain_work) return 0;
  return PendingHeight(pending_.size() - 1);
}

void BlockSync::Flush() {
  std::vector<std::pair<uint64_t, v1::GossipEnvelope>> outbox;
  std::vector<Blame> blame;
  {
    absl::MutexLock lock(&mu_);
    outbox.swap(outbox_);
    blame.swap(blame_);
  }
  for (auto& [peer, message] : outbox) hooks_.send(peer, std::move(message));
  for (const Blame& b : blame) hooks_.misbehaving(b.peer, b.points, b.why);
}

void BlockSync::SendGetHeaders(uint64_t peer) {
  v1::GossipEnvelope message;
  v1::GetHeaders* request = message.mutable_get_headers();
  // Our best known block first: the end of the run being downloaded.
  if (!pending_hashes_.empty()) {
    request->add_locator_hashes(HashBytes(pending_hashes_.back()));
  }
  for (const Hash256& h : node_->chain().GetLocator()) {
    if (request->locator_hashes_size() >= 101) break;
    request->add_locator_hashes(HashBytes(h));
  }
  request->set_max_count(kMaxHeadersPerMessage);
  outbox_.emplace_back(peer, std::move(message));
  header_peer_ = peer;
  header_since_ = clock_->Now();
  header_from_run_end_.reset();
  if (!pending_hashes_.empty()) header_from_run_end_ = pending_hashes_.back();
}

void BlockSync::AskNextHeaderPeer() {
  while (!header_peer_ && !header_queue_.empty()) {
    const uint64_t peer = header_queue_.front();
    header_queue_.pop_front();
    if (peer_height_.contains(peer)) SendGetHeaders(peer);
  }
}

void BlockSync::RequestHeaders(uint64_t peer) {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_ || header_peer_ == peer) return;
    peer_height_.try_emplace(peer, 0);
    if (header_peer_) {
      if (std::find(header_queue_.begin(), header_queue_.end(), peer) ==
          header_queue_.end()) {
        header_queue_.push_back(peer);
      }
      return;
    }
    SendGetHeaders(peer);
  }
  Flush();
}

void BlockSync::DropRun() {
  for (const auto& [hash, request] : in_flight_) {
    --in_flight_count_[request.peer];
  }
  in_flight_.clear();
  received_.clear();
  pending_.clear();
  pending_hashes_.clear();
  pending_work_ = UInt256();
  more_from_.reset();
  body_failures_ = 0;
  run_sources_.clear();
  struck_.clear();
  served_.clear();
}

void BlockSync::OnHeaders(uint64_t peer,
                          const std::vector<BlockHeader>& headers) {
  {
    absl::MutexLock lock(&mu_);
    if (header_peer_ != peer) {
      // An answer after its request timed out is ignored, not punished.
      if (late_header_peers_.erase(peer) == 0) {
        blame_.push_back(
            {peer, kUnsolicitedPoints, "headers we did not ask for"});
      }
    } else {
      header_peer_.reset();
      if (!headers.empty()) {
        AddHeaders(peer, headers);
      } else if (!pending_.empty() &&
                 header_from_run_end_ == pending_hashes_.back()) {
        // Nothing newer than the run's end: the peer has the run.
        uint32_t& known = peer_height_[peer];
        known = std::max(known, PendingHeight(pending_.size() - 1));
      }
      if (!more_from_) AskNextHeaderPeer();
    }
    wake_ = true;
  }
  Flush();
}

void BlockSync::AddHeaders(uint64_t peer,
                           const std::vector<BlockHeader>& headers) {
  const bool extends =
      !pending_.empty() && headers.front().prev_hash == pending_hashes_.back();
  if (extends && pending_.size() >= kMaxPendingHeaders) {
    more_from_ = peer;  // asked again once bodies made room
    return;
  }
  std::vector<BlockHeader> run;
  size_t trusted = 0;
  if (extends) {
    run.assign(pending_.begin(), pending_.end());
    trusted = run.size();
  }
  run.insert(run.end(), headers.begin(), headers.end());
  const HeaderChainCheck check = node_->chain().CheckHeaderChain(run, trusted);
  if (!check.failure.ok()) {
    const RejectReason r = check.failure.reason();
    int points = kInvalidPoints;
    if (r == RejectReason::kHeaderTimeTooNew) points = 0;
    if (r == RejectReason::kHeaderUnknownParent) {
      points = check.valid == 0 ? 0 : kBrokenAnswerPoints;
    }
    LOG(INFO) << "peer " << peer << ": header " << check.valid - trusted
              << " of its answer refused: " << check.failure.message();
    if (points > 0) {
      blame_.push_back(
          {peer, points,
           absl::StrCat("invalid header: ", check.failure.message())});
    }
  }
  const TipInfo tip = node_->chain().Tip();
  // A full answer is followed up even when its work does not beat our tip
  // yet: a fork deeper than one answer shows its weight only at the end.
  const bool full =
      headers.size() >= kMaxHeadersPerMessage && check.valid == run.size();
  const bool adopt =
      check.valid > trusted && (check.chain_work > tip.chain_work || full) &&
      (extends || pending_.empty() || check.chain_work > pending_work_);
  if (!adopt) {
    NoteOtherAnswer(peer, run, trusted, check);
    return;
  }
  if (!extends) {
    DropRun();
    base_height_ = check.height - static_cast<uint32_t>(check.valid);
    last_log_ = clock_->Now();
    connected_since_log_ = 0;
    run_tip_ = tip.hash;
  }
  // Headers of the run count as progress (a deep fork's are gathered
  // before any body is asked for).
  last_progress_ = clock_->Now();
  run_sources_.insert(peer);
  for (size_t i = trusted; i < check.valid; ++i) {
    pending_.push_back(run[i]);
    pending_hashes_.push_back(run[i].Hash());
  }
  pending_work_ = check.chain_work;
  run_peer_ = peer;
  peer_height_[peer] = std::max(peer_height_[peer], check.height);
  LOG(INFO) << "sync: peer " << peer << " has headers to height "
            << check.height << " (we are at " << tip.height << ")";
  if (full) {
    more_from_ = peer;  // asked for in the loop, when there is room
  } else if (pending_work_ <= tip.chain_work) {
    LOG(INFO) << "sync: the chain of peer " << peer
              << " has no more work than ours";
    DropRun();
  }
}

void BlockSync::NoteOtherAnswer(uint64_t peer,
                                const std::vector<BlockHeader>& run,
                                size_t trusted, const HeaderChainCheck& check) {
  if (pending_.empty() || check.valid <= trusted) return;
  // Ends inside the run (the headers link, so the run up to there is the
  // same): the peer has these blocks and is asked for them too.
  if (check.height > base_height_ &&
      check.height - base_height_ <= pending_.size() &&
      pending_hashes_[check.height - base_height_ - 1] == check.last_hash) {
    uint32_t& known = peer_height_[peer];
    known = std::max(known, check.height);
    run_sources_.insert(peer);
    return;
  }
  const TipInfo tip = node_->chain().Tip();
  const size_t fresh = check.valid - trusted;
  if (run[trusted].prev_hash != tip.hash ||
      check.chain_work <= tip.chain_work || fresh > kMaxTipExtensionBlocks) {
    return;
  }
  // Builds on our tip and beats it, not the run (blocks mined on our chain
  // while the run waits for bodies): fetched now, as relayed blocks.
  v1::GossipEnvelope message;
  for (size_t i = trusted; i < check.valid; ++i) {
    const Hash256 hash = run[i].Hash();
    std::optional<BlockIndexEntry> entry = node_->chain().GetIndexEntry(hash);
    if (entry && (entry->status & kBlockHaveData)) continue;
    message.mutable_get_data()->add_block_hashes(HashBytes(hash));
  }
  if (!message.has_get_data()) return;
  LOG(INFO) << "sync: peer " << peer << " has "
            << message.get_data().block_hashes_size()
            << " blocks on our chain to height " << check.height
            << " while a run is pending; fetching them";
  outbox_.emplace_back(peer, std::move(message));
}

void BlockSync::Strike(uint64_t peer, const char* what) {
  if (!run_sources_.contains(peer) || served_.contains(peer) ||
      !struck_.insert(peer).second) {
    return;
  }
  const int strikes = ++strikes_[peer];
  LOG(INFO) << "sync: peer " << peer << " sent headers to height "
            << PendingHeight(pending_.size() - 1)
            << " but does not serve their bodies (" << what << "; strike "
            << strikes << ")";
  if (strikes > kWithheldRunFreeStrikes) {
    blame_.push_back({peer, kWithheldRunPoints,
                      absl::StrCat("announced headers whose bodies it does "
                                   "not serve (",
                                   strikes, " runs)")});
  }
}

void BlockSync::DropUnservedRun(absl::Time now) {
  if (pending_.empty()) return;
  // A run that does not beat our tip is still gathering headers (or is
  // DropRunWithoutMoreWork's).
  if (pending_work_ <= node_->chain().Tip().chain_work) return;
  if (now - last_progress_ >= kRunStallTimeout) {
    // No strikes: the requests still out are within their deadline.
    LOG(INFO) << "sync: no body of the run of peer " << run_peer_ << " for "
              << absl::FormatDuration(now - last_progress_) << "; dropped";
    DropRun();
    return;
  }
  // The next body that is needed: asked for, or claimed by some peer,
  // means the run is served. Bodies received before it are connected
  // first (the run is dropped once they are).
  bool connectable = false;
  for (size_t i = 0; i < pending_.size(); ++i) {
    const Hash256& hash = pending_hashes_[i];
    if (received_.contains(hash) || connecting_ == hash) {
      connectable = true;
      continue;
    }
    std::optional<BlockIndexEntry> entry = node_->chain().GetIndexEntry(hash);
    if (entry && (entry->status & kBlockHaveData)) continue;
    if (in_flight_.contains(hash) || connectable) return;
    for (const auto& [peer, height] : peer_height_) {
      if (height >= PendingHeight(i)) return;
    }
    LOG(INFO) << "sync: no peer serves block " << PendingHeight(i)
              << " of the run of peer " << run_peer_ << "; dropped";
    DropRun();
    return;
  }
}

bool BlockSync::OnBlock(uint64_t peer, const Hash256& hash, Block block) {
  absl::MutexLock lock(&mu_);
  auto it = in_flight_.find(hash);
  // Only the peer asked may answer (anyone else's copy is a relay).
  if (it == in_flight_.end() || it->second.peer != peer) return false;
  --in_flight_count_[it->second.peer];
  in_flight_.erase(it);
  received_.insert_or_assign(hash, std::make_pair(peer, std::move(block)));
  served_.insert(peer);
  last_progress_ = clock_->Now();
  wake_ = true;
  return true;
}

void BlockSync::OnNotFound(uint64_t peer, const std::vector<Hash256>& hashes) {
  {
    absl::MutexLock lock(&mu_);
    for (const Hash256& hash : hashes) {
      auto it = in_flight_.find(hash);
      if (it == in_flight_.end() || it->second.peer != peer) continue;
      --in_flight_count_[peer];
      in_flight_.erase(it);
      // It lacks the run past what it has served: ask others from now on.
      peer_height_[peer] = std::min(peer_height_[peer], base_height_);
      Strike(peer, "NotFound");
    }
    DropUnservedRun(clock_->Now());
    wake_ = true;
  }
  Flush();
}

void BlockSync::OnPeerHeight(uint64_t peer, uint32_t height) {
  absl::MutexLock lock(&mu_);
  uint32_t& known = peer_height_[peer];
  known = std::max(known, height);
  wake_ = true;
}

void BlockSync::OnPeerGone(uint64_t peer) {
  {
    absl::MutexLock lock(&mu_);
    peer_height_.erase(peer);
    absl::erase_if(in_flight_, [peer](const auto& entry) {
      return entry.second.peer == peer;
    });
    in_flight_count_.erase(peer);
    std::erase(header_queue_, peer);
    late_header_peers_.erase(peer);
    run_sources_.erase(peer);
    struck_.erase(peer);
    served_.erase(peer);
    strikes_.erase(peer);
    if (more_from_ == peer) more_from_.reset();
    if (header_peer_ == peer) {
      header_peer_.reset();
      AskNextHeaderPeer();
    }
    // A run only this peer could serve (it sent the headers and left, or
    // was banned for the rest of its answer) is dropped now.
    DropUnservedRun(clock_->Now());
    wake_ = true;
  }
  Flush();
}

void BlockSync::ExpireRequests(absl::Time now) {
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    if (now - it->second.since < kSyncRequestTimeout) {
      ++it;
      continue;
    }
    const uint64_t peer = it->second.peer;
    --in_flight_count_[peer];
    // A peer that does not deliver is not asked again for this run.
    if (auto p = peer_height_.find(peer); p != peer_height_.end()) {
      p->second = std::min(p->second, base_height_);
    }
    Strike(peer, "no answer");
    in_flight_.erase(it++);
  }
  if (header_peer_ && now - header_since_ >= kSyncRequestTimeout) {
    LOG(INFO) << "sync: peer " << *header_peer_
              << " did not answer for headers";
    if (late_header_peers_.size() >= 64) late_header_peers_.clear();
    late_header_peers_.insert(*header_peer_);
    header_peer_.reset();
    AskNextHeaderPeer();
  }
  if (more_from_ && !header_peer_ &&
      pending_.size() + kMaxHeadersPerMessage <= kMaxPendingHeaders) {
    const uint64_t peer = *more_from_;
    more_from_.reset();
    if (peer_height_.contains(peer)) SendGetHeaders(peer);
  }
}

void BlockSync::DropRunWithoutMoreWork() {
  if (pending_.empty()) return;
  if (pending_work_ > node_->chain().Tip().chain_work) return;
  // A run that does not out-work our chain is kept only while its peer is
  // still sending headers (a deep fork shows its weight at the end).
  const bool fetching =
      header_peer_ == run_peer_ ||
      (more_from_ == run_peer_ &&
       pending_.size() + kMaxHeadersPerMessage <= kMaxPendingHeaders);
  if (fetching) return;
  LOG(INFO) << "sync: the chain of peer " << run_peer_
            << " has no more work than ours; dropped";
  DropRun();
}

void BlockSync::AssignRequests(absl::Time now) {
  if (pending_.empty() || received_.size() >= kDownloadWindow) return;
  // Bodies only for a run that beats our chain (a deep fork's headers are
  // gathered first).
  if (pending_work_ <= node_->chain().Tip().chain_work) return;
  std::vector<uint64_t> peers;
  for (const auto& [peer, height] : peer_height_) peers.push_back(peer);
  if (peers.empty()) return;
  std::map<uint64_t, std::vector<Hash256>> batches;
  const size_t end = std::min(pending_.size(), kDownloadWindow);
  for (size_t i = 0; i < end; ++i) {
    const Hash256& hash = pending_hashes_[i];
    if (received_.contains(hash) || in_flight_.contains(hash)) continue;
    // The next peer (round robin) that has the block and room for it; a
    // batch is filled before moving on, so that requests spread over peers.
    std::optional<uint64_t> chosen;
    for (size_t tried = 0; tried < peers.size() && !chosen; ++tried) {
      const uint64_t peer = peers[next_peer_ % peers.size()];
      const bool has = peer_height_[peer] >= PendingHeight(i);
      const bool room = in_flight_count_[peer] < kMaxBlocksInFlightPerPeer &&
                        batches[peer].size() < kBlocksPerRequest;
      if (has && room) {
        chosen = peer;
      } else {
        ++next_peer_;
      }
    }
    if (!chosen) break;
    batches[*chosen].push_back(hash);
    in_flight_[hash] = {*chosen, now};
    ++in_flight_count_[*chosen];
    if (batches[*chosen].size() == kBlocksPerRequest) ++next_peer_;
  }
  for (auto& [peer, hashes] : batches) {
    if (hashes.empty()) continue;
    v1::GossipEnvelope message;
    for (const Hash256& h : hashes) {
      message.mutable_get_data()->add_block_hashes(HashBytes(h));
    }
    outbox_.emplace_back(peer, std::move(message));
  }
}

bool BlockSync::ConnectNext() {
  uint64_t from = 0;
  Block block;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return false;
    // Blocks that arrived another way (relayed, or mined here) meanwhile.
    while (!pending_.empty()) {
      std::optional<BlockIndexEntry> entry =
          node_->chain().GetIndexEntry(pending_hashes_.front());
      if (!entry || !(entry->status & kBlockHaveData)) break;
      received_.erase(pending_hashes_.front());
      pending_.pop_front();
      pending_hashes_.pop_front();
      ++base_height_;
    }
    if (pending_.empty()) return false;
    auto it = received_.find(pending_hashes_.front());
    if (it == received_.end()) return false;
    from = it->second.first;
    block = std::move(it->second.second);
    connecting_ = it->first;
    received_.erase(it);
  }
  absl::StatusOr<AcceptResult> result = node_->SubmitBlock(block);
  absl::MutexLock lock(&mu_);
  connecting_.reset();
  if (!result.ok()) {
    // UNAVAILABLE: the datadir takes no writes; the node logged that once.
    if (!absl::IsUnavailable(result.status())) {
      LOG(ERROR) << "sync: cannot store block: " << result.status();
    }
    DropRun();
    return false;
  }
  if (result->status == AcceptStatus::kInvalid) {
    LOG(WARNING) << "sync: block " << result->hash.ToDisplayHex()
                 << " from peer " << from
                 << " is invalid: " << result->validation.message();
    blame_.push_back(
        {from, kInvalidPoints,
         absl::StrCat("invalid block: ", result->validation.message())});
    // A body that does not match its (valid) header is the sender's doing:
    // the block stays pending and is asked of another peer. A block the
    // chain now marks invalid, or repeated failures, end the run.
    std::optional<BlockIndexEntry> entry =
        node_->chain().GetIndexEntry(result->hash);
    if ((entry && (entry->status & kBlockFailed)) ||
        result->validation.reason() == RejectReason::kHeaderUnknownParent ||
        ++body_failures_ >= kMaxBodyFailures) {
      DropRun();
    }
    return false;
  }
  body_failures_ = 0;
  if (!pending_.empty() && pending_hashes_.front() == result->hash) {
    pending_.pop_front();
    pending_hashes_.pop_front();
    ++base_height_;
  }
  last_progress_ = clock_->Now();
  // Only a run block that became the tip moves the run's tip: one stored on
  // a side branch leaves a tip that came another way as it is.
  if (node_->chain().Tip().hash == result->hash) run_tip_ = result->hash;
  ++connected_since_log_;
  if (pending_.empty()) {
    LOG(INFO) << "sync: caught up at height " << base_height_;
    // New blocks may have come meanwhile: ask the same peer once more.
    if (!header_peer_ && !more_from_ && peer_height_.contains(run_peer_)) {
      SendGetHeaders(run_peer_);
    }
  }
  return true;
}

void BlockSync::Loop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto woken = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return stopping_ || wake_;
      };
      mu_.AwaitWithTimeout(absl::Condition(&woken), absl::Milliseconds(100));
      if (stopping_) break;
      wake_ = false;
    }
    Step();
  }
}

void BlockSync::Step() {
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    const absl::Time now = clock_->Now();
    ExpireRequests(now);
    DropRunWithoutMoreWork();
    DropUnservedRun(now);
    AssignRequests(now);
  }
  Flush();
  bool connected = false;
  while (ConnectNext()) connected = true;
  Flush();
  absl::MutexLock lock(&mu_);
  if (connected) wake_ = true;  // room in the window: request more
  const absl::Time now = clock_->Now();
  DropUnservedRun(now);  // served up to what was just connected
  if (connected_since_log_ > 0 && now - last_log_ >= kSyncLogInterval) {
    const double seconds = absl::ToDoubleSeconds(now - last_log_);
    LOG(INFO) << "sync: height " << base_height_ << " of "
              << base_height_ + pending_.size() << " ("
              << static_cast<int>(connected_since_log_ / seconds)
              << " blocks/s, " << in_flight_.size() << " in flight from "
              << std::count_if(in_flight_count_.begin(), in_flight_count_.end(),
                               [](const auto& p) { return p.second > 0; })
              << " peers)";
    last_log_ = now;
    connected_since_log_ = 0;
  }
}

}  // namespace pbchain
