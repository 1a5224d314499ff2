#include "node/http/event_stream.h"

#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "node/http/api_json.h"

namespace pbchain {

// One open GET /v1/events/tips stream: a WatchTips call whose messages wait
// here, as JSON, for the HTTP thread serving the stream. gRPC callbacks fill
// it; the HTTP thread drains it.
class TipEventStreams::TipStream final
    : public grpc::ClientReadReactor<v1::WatchTipsResponse>,
      public std::enable_shared_from_this<TipStream> {
 public:
  enum class Next { kEvent, kEnd, kTimeout };

  // Starts the call (the current tip first). Keeps itself alive until the
  // call is done.
  void Begin(v1::NodeService::Stub* stub) {
    {
      absl::MutexLock lock(&mu_);
      self_ = shared_from_this();
    }
    request_.set_include_current(true);
    stub->async()->WatchTips(&context_, &request_, this);
    StartRead(&response_);
    StartCall();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the call is ending: OnDone follows
    std::optional<std::string> json = ToApiJson(response_);
    {
      absl::MutexLock lock(&mu_);
      if (json) events_.push_back(std::move(*json));
      while (events_.size() > kHttpMaxQueuedEvents) events_.pop_front();
    }
    StartRead(&response_);
  }

  void OnDone(const grpc::Status& status) override {
    std::shared_ptr<TipStream> last_reference;
    {
      absl::MutexLock lock(&mu_);
      done_ = true;
      status_ = status;
      last_reference = std::move(self_);
    }
  }  // may destroy this, as gRPC allows in OnDone

  // Ends the call (OnDone follows promptly). Any thread, any time.
  void Cancel() { context_.TryCancel(); }

  // Waits up to `timeout` for the next event (into `event`) or the end of
  // the call (its status into `status`; queued events come first).
  Next Wait(absl::Duration timeout, std::string& event, grpc::Status& status) {
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(this, &TipStream::Ready), timeout);
    if (!events_.empty()) {
      event = std::move(events_.front());
      events_.pop_front();
      return Next::kEvent;
    }
    if (done_) {
      status = status_;
      return Next::kEnd;
    }
    return Next::kTimeout;
  }

  // Blocks until OnDone has run (after Cancel, promptly).
  void AwaitDone() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&done_));
  }

 private:
  bool Ready() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return done_ || !events_.empty();
  }

  grpc::ClientContext context_;
  v1::WatchTipsRequest request_;
  v1::WatchTipsResponse response_;
  absl::Mutex mu_;
  std::deque<std::string> events_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status status_ ABSL_GUARDED_BY(mu_);
  std::shared_ptr<TipStream> self_ ABSL_GUARDED_BY(mu_);
};

// An event stream's HTTP body: the events of a TipStream as SSE text, its
// first event (already received) first. Releases the stream when the body
// is destroyed (the response finished or abandoned).
class TipEventStreams::EventFeed final : public HttpBodySource {
 public:
  EventFeed(TipEventStreams* owner, std::shared_ptr<TipStream> stream,
            std::string first_event)
      : owner_(owner),
        stream_(std::move(stream)),
        first_event_(std::move(first_event)) {}
  ~EventFeed() override { owner_->Release(stream_); }

  std::optional<std::string> Next() override {
    if (first_event_) {
      std::string first = std::move(*first_event_);
      first_event_.reset();
      return Format(first);
    }
    std::string event;
    grpc::Status end;
    switch (stream_->Wait(owner_->options_.keepalive, event, end)) {
      case TipStream::Next::kEvent:
        return Format(event);
      case TipStream::Next::kTimeout:
        return std::string(": keepalive\n\n");
      case TipStream::Next::kEnd:
        break;
    }
    return std::nullopt;
  }

 private:
  static std::string Format(const std::string& json) {
    return absl::StrCat("event: tip\ndata: ", json, "\n\n");
  }

  TipEventStreams* const owner_;
  const std::shared_ptr<TipStream> stream_;
  std::optional<std::string> first_event_;
};

TipEventStreams::TipEventStreams(v1::NodeService::Stub* stub,
                                 TipEventStreamsOptions options)
    : stub_(stub), options_(options) {}

TipEventStreams::~TipEventStreams() { Shutdown(absl::ZeroDuration()); }

absl::StatusOr<std::unique_ptr<HttpBodySource>> TipEventStreams::Open() {
  auto stream = std::make_shared<TipStream>();
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return absl::UnavailableError("the node is shutting down");
    if (streams_.size() >= static_cast<size_t>(options_.max_streams)) {
      return absl::ResourceExhaustedError(
          absl::StrCat("too many event streams open (at most ",
                       options_.max_streams, "); try again later"));
    }
    streams_.insert(stream);
  }
  stream->Begin(stub_);

  // The first message (the current tip) comes at once: wait for it, so that
  // a failing call is an HTTP error rather than an empty 200 stream.
  std::string first;
  grpc::Status status;
  switch (stream->Wait(options_.first_event_deadline, first, status)) {
    case TipStream::Next::kEvent:
      break;
    case TipStream::Next::kEnd:
      Release(stream);
      // OK or CANCELLED: the call was ended by Shutdown.
      if (status.ok() || status.error_code() == grpc::StatusCode::CANCELLED) {
        return absl::UnavailableError("the node is shutting down");
      }
      return FromGrpcStatus(status);
    case TipStream::Next::kTimeout:
      Release(stream);
      return absl::DeadlineExceededError("no tip from the node in time");
  }
  return std::make_unique<EventFeed>(this, std::move(stream), std::move(first));
}

void TipEventStreams::Release(const std::shared_ptr<TipStream>& stream) {
  stream->Cancel();
  stream->AwaitDone();
  absl::MutexLock lock(&mu_);
  streams_.erase(stream);
}

void TipEventStreams::Shutdown(absl::Duration grace) {
  std::vector<std::shared_ptr<TipStream>> open;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
    open.assign(streams_.begin(), streams_.end());
  }
  // Each stream's body sees the end and finishes its response (the last
  // chunk); wait for that, bounded, so that the server is not stopped
  // between two chunks.
  for (const std::shared_ptr<TipStream>& stream : open) stream->Cancel();
  open.clear();
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(this, &TipEventStreams::NoStreams),
                       grace);
}

}  // namespace pbchain
