#include "node/p2p/peer_link.h"

#include <utility>

namespace pbchain {

PeerLink::PeerLink(std::unique_ptr<GossipStream> stream)
    : stream_(std::move(stream)), writer_([this] { WriterLoop(); }) {}

PeerLink::~PeerLink() { Shutdown(); }

void PeerLink::Shutdown() {
  absl::MutexLock join_lock(&join_mu_);
  bool drained = false;
  {
    absl::MutexLock lock(&mu_);
    auto done = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return closed_ || (queue_.empty() && !writing_);
    };
    if (close_after_flush_) {
      drained = mu_.AwaitWithTimeout(absl::Condition(&done), kFlushTimeout);
    }
  }
  // The writer ends by itself after a flush; otherwise cancel.
  if (!drained) Close();
  if (writer_.joinable()) writer_.join();
  absl::MutexLock lock(&mu_);
  finished_ = true;
}

ReadResult PeerLink::Read(v1::GossipEnvelope* message) {
  const ReadResult r = stream_->ReadMessage(message);
  if (r == ReadResult::kMessage) {
    std::shared_ptr<GossipCounters> counters;
    {
      absl::MutexLock lock(&mu_);
      counters = counters_;
    }
    if (counters != nullptr) {
      counters->Count(GossipDirection::kReceived, *message,
                      message->ByteSizeLong());
    }
  }
  return r;
}

void PeerLink::SetCounters(std::shared_ptr<GossipCounters> counters) {
  absl::MutexLock lock(&mu_);
  counters_ = std::move(counters);
}

bool PeerLink::Enqueue(v1::GossipEnvelope message) {
  if (closed_ || close_after_flush_) return false;
  const size_t bytes = message.ByteSizeLong();
  if (queue_.size() >= kMaxSendQueueMessages ||
      queued_bytes_ + bytes > kMaxSendQueueBytes) {
    closed_ = true;  // the peer does not read: hang up
    if (!finished_) stream_->Cancel();
    return false;
  }
  queued_bytes_ += bytes;
  queue_.push_back(std::move(message));
  return true;
}

bool PeerLink::Send(v1::GossipEnvelope message) {
  absl::MutexLock lock(&mu_);
  return Enqueue(std::move(message));
}

bool PeerLink::SendWaiting(v1::GossipEnvelope message) {
  absl::MutexLock lock(&mu_);
  auto room = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return closed_ || (queued_bytes_ <= kMaxSendQueueBytes / 2 &&
                       queue_.size() <= kMaxSendQueueMessages / 2);
  };
  if (!mu_.AwaitWithTimeout(absl::Condition(&room), kSendWaitTimeout)) {
    return false;
  }
  return Enqueue(std::move(message));
}

void PeerLink::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
  // Also frees a writer blocked in Write on a peer that does not read.
  if (!finished_) stream_->Cancel();
}

void PeerLink::CloseAfterFlush() {
  absl::MutexLock lock(&mu_);
  close_after_flush_ = true;
}

bool PeerLink::closed() const {
  absl::MutexLock lock(&mu_);
  return closed_ || close_after_flush_;
}

void PeerLink::WriterLoop() {
  while (true) {
    v1::GossipEnvelope message;
    size_t bytes = 0;
    std::shared_ptr<GossipCounters> counters;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return closed_ || !queue_.empty() || close_after_flush_;
      };
      mu_.Await(absl::Condition(&ready));
      if (closed_ || queue_.empty()) break;  // closed, or flushed
      message = std::move(queue_.front());
      queue_.pop_front();
      bytes = message.ByteSizeLong();
      queued_bytes_ -= bytes;
      writing_ = true;
      counters = counters_;
    }
    const bool written = stream_->Write(message);
    if (written && counters != nullptr) {
      counters->Count(GossipDirection::kSent, message, bytes);
    }
    absl::MutexLock lock(&mu_);
    writing_ = false;
    if (!written) break;
  }
  bool graceful;
  {
    absl::MutexLock lock(&mu_);
    graceful = !closed_ && close_after_flush_ && queue_.empty();
    closed_ = true;
    queue_.clear();
    queued_bytes_ = 0;
  }
  if (graceful) {
    // Give the last message (a Reject) time to reach the peer before the
    // call is cancelled.
    stream_->CloseWrites();
    absl::SleepFor(kGraceAfterFlush);
  }
  absl::MutexLock lock(&mu_);
  stream_->Cancel();
}

}  // namespace pbchain
