// A server-streaming reactor that writes queued messages one at a time, for
// streams fed by other threads (pbnode's WatchTips, pbtracker's
// WatchPeers). Producers never wait for the network: they Push a message
// (or, for a pulled source, Notify that one may be ready) from any thread,
// taking the feed's lock only briefly (a pulled source runs under it), and
// the reactor writes while there is something to write.
//
// Exactly one party holds the "writer token" at a time (a producer that
// found the stream idle, or OnWriteDone); only it calls StartWrite or
// Finish, so the reactor is never finished while a write is being started
// and cannot be deleted (OnDone) while a token holder uses it. Producers
// hold the shared Feed, which outlives the reactor: after the stream ends,
// pushes are dropped.
//
//   auto [writer, feed] = QueuedStreamWriter<Msg>::Create(options);
//   ... feed->Push(msg) from any thread ...
//   writer->Begin();            // once the first messages are queued
//   return writer;              // from the service method
#ifndef PBCHAIN_COMMON_STREAM_WRITER_H_
#define PBCHAIN_COMMON_STREAM_WRITER_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/status.h"
#include "grpcpp/grpcpp.h"

namespace pbchain {

template <typename Message>
class QueuedStreamWriter;

// The producer side of a QueuedStreamWriter. Thread safety: every method
// from any thread, never blocking on the network.
template <typename Message>
class StreamFeed {
 public:
  // Pulls the next message from an outside queue: a message, nullopt for
  // "nothing now" (Notify when there is), or an error status that ends the
  // stream with it. Called with the feed's lock held, so it must not call
  // back into the feed.
  using Source = std::function<absl::StatusOr<std::optional<Message>>()>;

  struct Options {
    // Messages pushed and not yet written; past it the oldest is dropped
    // (a slow reader misses it) and counted in dropped().
    size_t max_queued = 1024;
    // Pulled when the queue is empty; may be null.
    Source source;
    // Runs once the stream is done (after the last write), on a gRPC
    // thread; e.g. to unsubscribe the producers.
    std::function<void()> on_done;
  };

  explicit StreamFeed(Options options) : options_(std::move(options)) {}
  StreamFeed(const StreamFeed&) = delete;
  StreamFeed& operator=(const StreamFeed&) = delete;

  // Queues `message` and starts a write if the stream is idle. False if the
  // stream has ended or is ending (the message is dropped).
  bool Push(Message message) {
    {
      absl::MutexLock lock(&mu_);
      if (finished_ || cancelled_ || ending_) return false;
      if (queue_.size() >= std::max<size_t>(options_.max_queued, 1)) {
        queue_.pop_front();
        ++dropped_;
      }
      queue_.push_back(std::move(message));
    }
    Pump();
    return true;
  }

  // Queues `message` ahead of everything queued (e.g. the current state
  // before the changes that raced with reading it). Call before Begin.
  void PushFront(Message message) {
    absl::MutexLock lock(&mu_);
    queue_.push_front(std::move(message));
  }

  // Drops every queued message (not the one being written). Call before
  // Begin, e.g. to replace changes by the state they led to.
  void ClearQueued() {
    absl::MutexLock lock(&mu_);
    queue_.clear();
  }

  // The source may have a message: write it if the stream is idle.
  void Notify() { Pump(); }

  // Ends the stream with `status`: now, or once the write in flight is done.
  // Messages still queued are dropped. Does nothing if the stream already
  // ended or is ending.
  void End(grpc::Status status) {
    QueuedStreamWriter<Message>* finish = nullptr;
    {
      absl::MutexLock lock(&mu_);
      if (finished_ || cancelled_ || ending_) return;
      ending_ = true;
      end_status_ = status;
      if (!writing_ && reactor_ != nullptr && begun_) {
        finished_ = true;
        finish = reactor_;
      }
    }
    if (finish != nullptr) finish->Finish(std::move(status));
  }

  // Messages dropped because the reader was slow.
  uint64_t dropped() const {
    absl::MutexLock lock(&mu_);
    return dropped_;
  }
  // True once the stream has ended (finished or cancelled).
  bool done() const {
    absl::MutexLock lock(&mu_);
    return finished_ || cancelled_;
  }

 private:
  friend class QueuedStreamWriter<Message>;

  // If nobody writes and there is something to write, takes the writer
  // token, moves the next message into current_ and returns the reactor to
  // write with. Finishes the stream (returns null after calling Finish
  // through finish_with_) when the source failed.
  QueuedStreamWriter<Message>* TakeTokenLocked()
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!begun_ || writing_ || finished_ || cancelled_ || ending_ ||
        reactor_ == nullptr) {
      return nullptr;
    }
    if (!queue_.empty()) {
      current_ = std::move(queue_.front());
      queue_.pop_front();
    } else if (options_.source) {
      absl::StatusOr<std::optional<Message>> next = options_.source();
      if (!next.ok()) {
        finished_ = true;
        pending_finish_ = ToGrpcStatus(next.status());
        return reactor_;  // the caller finishes (see Pump)
      }
      if (!next->has_value()) return nullptr;
      current_ = **std::move(next);
    } else {
      return nullptr;
    }
    writing_ = true;
    return reactor_;
  }

  // Writes the next message, or finishes the stream, as TakeTokenLocked
  // decides. Any thread.
  void Pump() {
    QueuedStreamWriter<Message>* writer = nullptr;
    std::optional<grpc::Status> finish;
    {
      absl::MutexLock lock(&mu_);
      writer = TakeTokenLocked();
      if (writer != nullptr && pending_finish_) {
        finish = std::move(pending_finish_);
        pending_finish_.reset();
      }
    }
    if (writer == nullptr) return;
    if (finish) {
      writer->Finish(*finish);
    } else {
      writer->StartWrite(&current_);
    }
  }

  mutable absl::Mutex mu_;
  Options options_ ABSL_GUARDED_BY(mu_);
  std::deque<Message> queue_ ABSL_GUARDED_BY(mu_);
  QueuedStreamWriter<Message>* reactor_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool begun_ ABSL_GUARDED_BY(mu_) = false;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;  // the writer token
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool ending_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status end_status_ ABSL_GUARDED_BY(mu_);
  std::optional<grpc::Status> pending_finish_ ABSL_GUARDED_BY(mu_);
  uint64_t dropped_ ABSL_GUARDED_BY(mu_) = 0;
  // The message being written; touched only by the token holder.
  Message current_;
};

template <typename Message>
class QueuedStreamWriter final : public grpc::ServerWriteReactor<Message> {
 public:
  // A reactor (owned by gRPC once returned from the service method; it
  // deletes itself when done) and its feed.
  static std::pair<QueuedStreamWriter*, std::shared_ptr<StreamFeed<Message>>>
  Create(typename StreamFeed<Message>::Options options) {
    auto feed = std::make_shared<StreamFeed<Message>>(std::move(options));
    auto* writer = new QueuedStreamWriter(feed);
    return {writer, feed};
  }

  // Starts writing what is queued (and what the source has). Until then
  // pushes only queue. Call once, before returning the reactor.
  void Begin() {
    bool end_now = false;
    grpc::Status status;
    {
      absl::MutexLock lock(&feed_->mu_);
      feed_->begun_ = true;
      if (feed_->ending_ && !feed_->writing_ && !feed_->finished_) {
        feed_->finished_ = true;
        end_now = true;
        status = feed_->end_status_;
      }
    }
    if (end_now) {
      this->Finish(status);
    } else {
      feed_->Pump();
    }
  }

  // Ends the stream with `status` before Begin (e.g. a refused
  // subscription). The reactor still deletes itself once gRPC is done.
  void FinishNow(grpc::Status status) {
    {
      absl::MutexLock lock(&feed_->mu_);
      feed_->begun_ = true;
      feed_->finished_ = true;
    }
    this->Finish(std::move(status));
  }

  void OnWriteDone(bool ok) override {
    bool cancel = false;
    bool end = false;
    grpc::Status status;
    {
      absl::MutexLock lock(&feed_->mu_);
      feed_->writing_ = false;
      if (!ok || feed_->cancelled_) {
        feed_->finished_ = true;
        cancel = true;
      } else if (feed_->ending_) {
        feed_->finished_ = true;
        end = true;
        status = feed_->end_status_;
      }
    }
    if (cancel) {
      this->Finish(
          grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled"));
    } else if (end) {
      this->Finish(status);
    } else {
      feed_->Pump();
    }
  }

  void OnCancel() override {
    bool finish = false;
    {
      absl::MutexLock lock(&feed_->mu_);
      feed_->cancelled_ = true;
      if (!feed_->writing_ && !feed_->finished_) {
        feed_->finished_ = true;
        finish = true;
      }
    }
    if (finish) {
      this->Finish(
          grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled"));
    }
  }

  void OnDone() override {
    std::function<void()> on_done;
    typename StreamFeed<Message>::Source source;
    {
      absl::MutexLock lock(&feed_->mu_);
      feed_->finished_ = true;
      feed_->reactor_ = nullptr;
      feed_->queue_.clear();
      // Producers may hold the feed long after: let go of what the
      // callbacks hold (a subscription that holds the feed would be a
      // cycle), outside the lock.
      on_done = std::move(feed_->options_.on_done);
      source = std::move(feed_->options_.source);
      feed_->options_.on_done = nullptr;
      feed_->options_.source = nullptr;
    }
    if (on_done) on_done();
    on_done = nullptr;
    source = nullptr;
    delete this;
  }

 private:
  explicit QueuedStreamWriter(std::shared_ptr<StreamFeed<Message>> feed)
      : feed_(std::move(feed)) {
    absl::MutexLock lock(&feed_->mu_);
    feed_->reactor_ = this;
  }

  const std::shared_ptr<StreamFeed<Message>> feed_;
};

}  // namespace pbchain

#endif  // PBCHAIN_COMMON_STREAM_WRITER_H_
