// TipEventStreams (node/http/event_stream.h) without HTTP, over a fake
// NodeService whose WatchTips the test drives: the SSE text of each tip,
// keepalives, the stream limit and the freeing of places, the first-event
// deadline, a failing call, the queue of a slow reader, and Shutdown ending
// every stream and waiting for its body.
#include "node/http/event_stream.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "pbchain/v1/node.grpc.pb.h"

namespace pbchain {
namespace {

bool WaitFor(const std::function<bool()>& done,
             std::chrono::seconds limit = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

class FakeTips;

// One WatchTips call of the fake: writes the heights pushed to it, in order.
class TipWriter final : public grpc::ServerWriteReactor<v1::WatchTipsResponse> {
 public:
  explicit TipWriter(FakeTips* owner) : owner_(owner) {}

  void Push(uint64_t height) {
    {
      absl::MutexLock lock(&mu_);
      queue_.push_back(height);
    }
    Advance();
  }
  // Ends the call with `status` (before any write).
  void FinishWith(const grpc::Status& status) {
    {
      absl::MutexLock lock(&mu_);
      if (finished_) return;
      finished_ = true;
    }
    Finish(status);
  }
  void OnWriteDone(bool ok) override {
    {
      absl::MutexLock lock(&mu_);
      writing_ = false;
      if (ok) {
        ++written_;
      } else {
        cancelled_ = true;
      }
    }
    Advance();
  }
  void OnCancel() override {
    {
      absl::MutexLock lock(&mu_);
      cancelled_ = true;
    }
    Advance();
  }
  void OnDone() override;
  int written() {
    absl::MutexLock lock(&mu_);
    return written_;
  }

 private:
  // Starts the next write, or finishes a cancelled call, unless a write is
  // in flight. gRPC is called outside the lock.
  void Advance() {
    bool finish = false;
    {
      absl::MutexLock lock(&mu_);
      if (finished_ || writing_) return;
      if (cancelled_) {
        finished_ = true;
        finish = true;
      } else if (!queue_.empty()) {
        message_.Clear();
        message_.set_height(queue_.front());
        message_.set_chain_work(absl::StrCat(queue_.front()));
        queue_.pop_front();
        writing_ = true;
      } else {
        return;
      }
    }
    if (finish) {
      Finish(grpc::Status::CANCELLED);
    } else {
      StartWrite(&message_);  // not touched again until OnWriteDone
    }
  }

  FakeTips* const owner_;
  absl::Mutex mu_;
  std::deque<uint64_t> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  int written_ ABSL_GUARDED_BY(mu_) = 0;
  v1::WatchTipsResponse message_;
};

// WatchTips only. kTip first (unless `silent`), or fails with `fail` if set.
class FakeTips final : public v1::NodeService::CallbackService {
 public:
  static constexpr uint64_t kTip = 7;

  grpc::ServerWriteReactor<v1::WatchTipsResponse>* WatchTips(
      grpc::CallbackServerContext*, const v1::WatchTipsRequest*) override {
    auto* writer = new TipWriter(this);
    {
      absl::MutexLock lock(&mu_);
      writers_.insert(writer);
    }
    if (fail.has_value()) {
      writer->FinishWith(*fail);
    } else if (!silent) {
      writer->Push(kTip);
    }
    return writer;
  }

  // Sends `height` on every open call.
  void Push(uint64_t height) {
    absl::MutexLock lock(&mu_);
    for (TipWriter* w : writers_) w->Push(height);
  }
  // Messages written on the open calls, added up.
  int Written() {
    absl::MutexLock lock(&mu_);
    int n = 0;
    for (TipWriter* w : writers_) n += w->written();
    return n;
  }
  int open_calls() {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(writers_.size());
  }
  void Forget(TipWriter* writer) {
    absl::MutexLock lock(&mu_);
    writers_.erase(writer);
  }

  std::atomic<bool> silent{false};
  std::optional<grpc::Status> fail;

 private:
  absl::Mutex mu_;
  std::set<TipWriter*> writers_ ABSL_GUARDED_BY(mu_);
};

void TipWriter::OnDone() {
  owner_->Forget(this);
  delete this;
}

// The SSE event of a tip at `height` (the fake's JSON).
std::string Event(uint64_t height) {
  return absl::StrCat(
      "event: tip\ndata: {\"hash\":\"\",\"height\":\"", height,
      "\",\"chainWork\":\"", height,
      "\",\"reorgDepth\":0,\"previousTipHash\":\"\",\"txCount\":0}\n\n");
}

class EventStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::NodeService::NewStub(
        server_->InProcessChannel(grpc::ChannelArguments()));
  }
  void TearDown() override {
    if (streams_) streams_->Shutdown(absl::Seconds(2));
    streams_.reset();
    server_->Shutdown();
    server_->Wait();
  }
  void MakeStreams(int max_streams) {
    TipEventStreamsOptions options;
    options.max_streams = max_streams;
    options.keepalive = absl::Milliseconds(100);
    options.first_event_deadline = absl::Milliseconds(500);
    streams_ = std::make_unique<TipEventStreams>(stub_.get(), options);
  }

  FakeTips service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::NodeService::Stub> stub_;
  std::unique_ptr<TipEventStreams> streams_;
};

TEST_F(EventStreamTest, CurrentTipThenChangesThenKeepalives) {
  MakeStreams(4);
  absl::StatusOr<std::unique_ptr<HttpBodySource>> body = streams_->Open();
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ((*body)->Next(), Event(FakeTips::kTip));
  // Nothing new: a keepalive comment after the interval.
  EXPECT_EQ((*body)->Next(), ": keepalive\n\n");
  service_.Push(8);
  service_.Push(9);
  EXPECT_EQ((*body)->Next(), Event(8));
  EXPECT_EQ((*body)->Next(), Event(9));
  // Destroying the body ends the call.
  body->reset();
  EXPECT_TRUE(WaitFor([&] { return service_.open_calls() == 0; }));
}

TEST_F(EventStreamTest, LimitAndPlacesFreed) {
  MakeStreams(2);
  absl::StatusOr<std::unique_ptr<HttpBodySource>> a = streams_->Open();
  absl::StatusOr<std::unique_ptr<HttpBodySource>> b = streams_->Open();
  ASSERT_TRUE(a.ok() && b.ok());
  absl::StatusOr<std::unique_ptr<HttpBodySource>> c = streams_->Open();
  EXPECT_EQ(c.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(c.status().message().find("at most 2"), std::string::npos)
      << c.status();
  a->reset();
  c = streams_->Open();
  EXPECT_TRUE(c.ok()) << c.status();
}

TEST_F(EventStreamTest, NoFirstTipInTimeIsDeadlineExceeded) {
  MakeStreams(1);
  service_.silent = true;
  for (int i = 0; i < 2; ++i) {  // the place is freed each time
    absl::StatusOr<std::unique_ptr<HttpBodySource>> body = streams_->Open();
    EXPECT_EQ(body.status().code(), absl::StatusCode::kDeadlineExceeded)
        << body.status();
  }
  EXPECT_TRUE(WaitFor([&] { return service_.open_calls() == 0; }));
}

TEST_F(EventStreamTest, FailingCallGivesItsStatus) {
  MakeStreams(1);
  service_.fail = grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "nope");
  absl::StatusOr<std::unique_ptr<HttpBodySource>> body = streams_->Open();
  EXPECT_EQ(body.status(), absl::FailedPreconditionError("nope"));
  // A call that ends OK before its first message: the node is going away.
  service_.fail = grpc::Status::OK;
  body = streams_->Open();
  EXPECT_EQ(body.status(), absl::UnavailableError("the node is shutting down"));
}

TEST_F(EventStreamTest, SlowReaderKeepsTheNewestEvents) {
  MakeStreams(1);
  absl::StatusOr<std::unique_ptr<HttpBodySource>> body = streams_->Open();
  ASSERT_TRUE(body.ok()) << body.status();
  ASSERT_EQ((*body)->Next(), Event(FakeTips::kTip));
  const uint64_t first = FakeTips::kTip + 1;
  const uint64_t last = FakeTips::kTip + 100;
  for (uint64_t h = first; h <= last; ++h) service_.Push(h);
  // The fake's first message plus the 100 pushed, then time to arrive.
  ASSERT_TRUE(WaitFor([&] { return service_.Written() == 101; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  // Only the newest kHttpMaxQueuedEvents waited.
  for (uint64_t h = last - kHttpMaxQueuedEvents + 1; h <= last; ++h) {
    ASSERT_EQ((*body)->Next(), Event(h)) << h;
  }
  EXPECT_EQ((*body)->Next(), ": keepalive\n\n");
}

TEST_F(EventStreamTest, ShutdownEndsStreamsAndWaitsForTheirBodies) {
  MakeStreams(2);
  absl::StatusOr<std::unique_ptr<HttpBodySource>> body = streams_->Open();
  ASSERT_TRUE(body.ok()) << body.status();
  ASSERT_EQ((*body)->Next(), Event(FakeTips::kTip));
  service_.Push(8);
  ASSERT_TRUE(WaitFor([&] { return service_.Written() == 2; }));
  std::atomic<bool> shut_down{false};
  std::thread stopper([&] {
    streams_->Shutdown(absl::Seconds(20));
    shut_down = true;
  });
  // The queued event, then the end.
  EXPECT_EQ((*body)->Next(), Event(8));
  EXPECT_EQ((*body)->Next(), std::nullopt);
  // Shutdown waits for the body (the HTTP response) to be gone.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(shut_down);
  body->reset();
  EXPECT_TRUE(WaitFor([&] { return shut_down.load(); }));
  stopper.join();
  // No new streams after Shutdown.
  absl::StatusOr<std::unique_ptr<HttpBodySource>> late = streams_->Open();
  EXPECT_EQ(late.status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace pbchain
