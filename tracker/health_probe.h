// The tracker's reachability probe: before registering a node, pbtracker
// calls grpc.health.v1.Health/Check on the address the node advertises, so
// that the peer list holds only addresses other nodes can dial. An answer
// of SERVING or NOT_SERVING (a node syncing, out of disk space) counts as
// reachable; any other answer or none does not.
//
// Probes run on a few threads of their own, never on gRPC's callback threads
// (a probe may wait up to its timeout, and a gRPC channel must not be
// destroyed inside one of its own callbacks). Every probe uses a fresh
// channel and connection, destroyed when it ends: nothing is cached.
#ifndef PBCHAIN_TRACKER_HEALTH_PROBE_H_
#define PBCHAIN_TRACKER_HEALTH_PROBE_H_

#include <cstddef>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/client_context.h"
#include "grpcpp/security/credentials.h"

namespace pbchain::tracker {

// Probes running at once; more wait in the queue.
inline constexpr int kProbeThreads = 4;
// Probes waiting for a thread; beyond this a Join is refused with
// RESOURCE_EXHAUSTED (the join rate limit normally keeps the queue short).
inline constexpr size_t kMaxQueuedProbes = 64;
// Largest health response accepted (a HealthCheckResponse is 2 bytes).
inline constexpr int kMaxProbeResponseBytes = 1024;

class HealthProber {
 public:
  using Done = std::function<void(absl::Status)>;

  // Each probe gets `timeout` (> 0) to connect and answer, over a channel
  // with `credentials` (null: plaintext; TLS ones from common/tls.h check
  // the node's certificate against the address it advertises). Starts the
  // probe threads.
  explicit HealthProber(
      absl::Duration timeout,
      std::shared_ptr<grpc::ChannelCredentials> credentials = nullptr);
  ~HealthProber();  // Shutdown()

  HealthProber(const HealthProber&) = delete;
  HealthProber& operator=(const HealthProber&) = delete;

  // Checks `address` ("host:port") in the background and calls `done` once
  // with a verdict: OK (the health service answered SERVING) or UNAVAILABLE
  // saying why not (connection refused, deadline exceeded, a status other
  // than SERVING); or without one: RESOURCE_EXHAUSTED when kMaxQueuedProbes
  // are waiting, ABORTED when shutting down. `done` runs on a probe thread,
  // or at once on the caller's thread when refused. Any thread.
  void Probe(std::string address, Done done);

  // Cancels the probes in flight, fails the queued ones with ABORTED and
  // joins the threads; every `done` has run when it returns. Any thread but
  // a probe thread (not from inside `done`). Idempotent.
  void Shutdown();

 private:
  struct Job {
    std::string address;
    Done done;
  };

  void Work();
  absl::Status Check(const std::string& address);

  const absl::Duration timeout_;
  const bool tls_;
  const std::shared_ptr<grpc::ChannelCredentials> credentials_;
  absl::Mutex mu_;
  std::deque<Job> queue_ ABSL_GUARDED_BY(mu_);
  // Contexts of the calls in flight, so Shutdown can cancel them.
  absl::flat_hash_set<grpc::ClientContext*> in_flight_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace pbchain::tracker

#endif  // PBCHAIN_TRACKER_HEALTH_PROBE_H_
