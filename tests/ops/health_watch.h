// A grpc.health.v1.Health/Watch client for process tests: records every
// status the server streams for one service name, so that a short
// NOT_SERVING spell is seen however briefly it lasts (a Check poll could
// miss it). Callback API; the stream is cancelled by the destructor.
//
// Thread safety: every public method may be called from any thread.
#ifndef PBCHAIN_TESTS_OPS_HEALTH_WATCH_H_
#define PBCHAIN_TESTS_OPS_HEALTH_WATCH_H_

#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"

namespace pbchain::opstest {

using HealthRequest = grpc::health::v1::HealthCheckRequest;
using HealthResponse = grpc::health::v1::HealthCheckResponse;

class HealthWatch
    : public grpc::ClientBidiReactor<HealthRequest, HealthResponse> {
 public:
  // Starts watching `service` ("" = the whole server) at `address`.
  HealthWatch(const std::string& address, const std::string& service)
      : channel_(
            grpc::CreateChannel(address, grpc::InsecureChannelCredentials())),
        stub_(channel_) {
    request_.set_service(service);
    stub_.PrepareBidiStreamingCall(&context_, "/grpc.health.v1.Health/Watch",
                                   grpc::StubOptions(), this);
    StartWrite(&request_);
    StartRead(&response_);
    StartCall();
  }
  ~HealthWatch() override {
    context_.TryCancel();
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&done_));
  }

  // Waits until the stream has delivered `status` (at any time since the
  // start) or `timeout` passes; true if it has.
  bool WaitFor(HealthResponse::ServingStatus status, absl::Duration timeout) {
    auto seen = [this, status]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      for (auto s : seen_) {
        if (s == status) return true;
      }
      return done_;
    };
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&seen), timeout);
    for (auto s : seen_) {
      if (s == status) return true;
    }
    return false;
  }
  // Waits until the stream has delivered `status` after the first
  // `after` updates; true if it did within `timeout`.
  bool WaitForAfter(size_t after, HealthResponse::ServingStatus status,
                    absl::Duration timeout) {
    auto seen = [this, after, status]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      for (size_t i = after; i < seen_.size(); ++i) {
        if (seen_[i] == status) return true;
      }
      return done_;
    };
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&seen), timeout);
    for (size_t i = after; i < seen_.size(); ++i) {
      if (seen_[i] == status) return true;
    }
    return false;
  }
  // The statuses received so far, in order.
  std::vector<HealthResponse::ServingStatus> seen() {
    absl::MutexLock lock(&mu_);
    return seen_;
  }
  std::string SeenText() {
    std::string out;
    for (auto s : seen()) {
      out += HealthResponse::ServingStatus_Name(s) + " ";
    }
    return out;
  }

  void OnWriteDone(bool ok) override {
    if (ok) StartWritesDone();
  }
  void OnReadDone(bool ok) override {
    if (!ok) return;
    {
      absl::MutexLock lock(&mu_);
      seen_.push_back(response_.status());
    }
    StartRead(&response_);
  }
  void OnDone(const grpc::Status&) override {
    absl::MutexLock lock(&mu_);
    done_ = true;
  }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  grpc::TemplatedGenericStub<HealthRequest, HealthResponse> stub_;
  grpc::ClientContext context_;
  HealthRequest request_;
  HealthResponse response_;
  absl::Mutex mu_;
  std::vector<HealthResponse::ServingStatus> seen_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace pbchain::opstest

#endif  // PBCHAIN_TESTS_OPS_HEALTH_WATCH_H_
