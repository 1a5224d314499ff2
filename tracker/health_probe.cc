#include "tracker/health_probe.h"

#include <memory>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/status.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/impl/codegen/proto_utils.h"  // protobuf SerializationTraits
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace pbchain::tracker {
namespace {

using HealthRequest = grpc::health::v1::HealthCheckRequest;
using HealthResponse = grpc::health::v1::HealthCheckResponse;

constexpr char kHealthCheckMethod[] = "/grpc.health.v1.Health/Check";

absl::Status ShuttingDown() {
  return absl::AbortedError("the tracker is shutting down; retry later");
}

}  // namespace

HealthProber::HealthProber(
    absl::Duration timeout,
    std::shared_ptr<grpc::ChannelCredentials> credentials)
    : timeout_(timeout),
      tls_(credentials != nullptr),
      credentials_(credentials != nullptr
                       ? std::move(credentials)
                       : grpc::InsecureChannelCredentials()) {
  for (int i = 0; i < kProbeThreads; ++i) {
    threads_.emplace_back([this] { Work(); });
  }
}

HealthProber::~HealthProber() { Shutdown(); }

void HealthProber::Probe(std::string address, Done done) {
  absl::Status refused;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      refused = ShuttingDown();
    } else if (queue_.size() >= kMaxQueuedProbes) {
      refused = absl::ResourceExhaustedError(
          absl::StrCat("too many joins waiting for their reachability probe (",
                       kMaxQueuedProbes, "); retry in 1s"));
    } else {
      queue_.push_back(Job{std::move(address), std::move(done)});
      return;
    }
  }
  done(refused);
}

void HealthProber::Shutdown() {
  std::deque<Job> orphans;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    orphans.swap(queue_);
    for (grpc::ClientContext* ctx : in_flight_) ctx->TryCancel();
  }
  for (Job& job : orphans) job.done(ShuttingDown());
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

void HealthProber::Work() {
  while (true) {
    Job job;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !queue_.empty();
      };
      mu_.Await(absl::Condition(&ready));
      if (stopping_) return;  // Shutdown fails what is still queued
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job.done(Check(job.address));
  }
}

absl::Status HealthProber::Check(const std::string& address) {
  grpc::ChannelArguments args;
  // A connection of its own: a connection another channel keeps open to
  // the same address would not prove the address is reachable now.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetMaxReceiveMessageSize(kMaxProbeResponseBytes);
  // "dns:///" names the resolver, so nothing in the address can pick
  // another one (the registry has checked the host characters too).
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateCustomChannel("dns:///" + address, credentials_, args);
  grpc::TemplatedGenericStub<HealthRequest, HealthResponse> stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout_));
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return ShuttingDown();
    in_flight_.insert(&ctx);
  }
  HealthRequest request;  // empty service name: the server as a whole
  HealthResponse response;
  grpc::Status status;
  absl::Notification finished;
  stub.UnaryCall(&ctx, kHealthCheckMethod, grpc::StubOptions(), &request,
                 &response, [&](grpc::Status s) {
                   status = std::move(s);
                   finished.Notify();
                 });
  finished.WaitForNotification();
  {
    absl::MutexLock lock(&mu_);
    in_flight_.erase(&ctx);
    // Cancelled by Shutdown: no verdict on the address.
    if (stopping_ && !status.ok()) return ShuttingDown();
  }
  if (!status.ok()) {
    // A connection that was made and then failed: most likely TLS on one
    // side only, or a certificate the other side refused.
    const std::string& why = status.error_message();
    const bool closed = absl::StrContains(why, "Socket closed") ||
                        absl::StrContains(why, "Connection reset");
    const bool handshake =
        absl::StrContains(why, "andshake") || absl::StrContains(why, "SSL");
    std::string hint;
    if (!tls_ && closed) {
      hint = " (if the node serves TLS, pbtracker needs --tls-ca)";
    } else if (tls_ && (closed || handshake)) {
      hint =
          " (TLS: the node's certificate must be signed by pbtracker's "
          "--tls-ca and name the advertised address; a node requiring client "
          "certificates needs pbtracker's --tls-client-cert)";
    }
    return absl::UnavailableError(absl::StrCat(
        "health check ", StatusCodeName(status.error_code()), ": ", why, hint));
  }
  // A node answers NOT_SERVING while it syncs or its disk is full (docs/
  // PROTOCOL.md "Health"): it is still reachable at the address.
  if (response.status() != HealthResponse::SERVING &&
      response.status() != HealthResponse::NOT_SERVING) {
    return absl::UnavailableError(
        absl::StrCat("health status ",
                     HealthResponse::ServingStatus_Name(response.status())));
  }
  return absl::OkStatus();
}

}  // namespace pbchain::tracker
