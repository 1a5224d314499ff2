// pbchain.v1.Tracker (proto/pbchain/v1/tracker.proto) over a Registry: a
// thin gRPC callback service. Requests become registry calls (the registry
// validates every field); errors leave through one status conversion.
//
// Join, in order: field checks, the address against the caller's IP (an
// unspecified host "0.0.0.0:P" / "[::]:P" becomes CALLER_IP:P; a loopback
// address from a caller off loopback is INVALID_ARGUMENT), the caller IP's
// join token, the
// reachability probe of the advertised address (FAILED_PRECONDITION "address
// HOST:PORT is not reachable: ..."), then the registry. When the node id is
// live at another address, that old address is probed too: if it is dead
// the node takes its id over, otherwise ALREADY_EXISTS. Probes run in the
// background (the handler returns at once); no lock is held while probing.
//
// WatchPeers is a write reactor fed by a registry subscription: a snapshot,
// then batches of changes. It ends when the client cancels (CANCELLED), when
// it lags too far (RESOURCE_EXHAUSTED: subscribe again), or at Shutdown
// (UNAVAILABLE).
//
// The service also runs the expiry thread: every lease_ttl / 4 it removes
// the leases that ran out, which sends REMOVED to watchers.
#ifndef PBCHAIN_TRACKER_TRACKER_SERVICE_H_
#define PBCHAIN_TRACKER_TRACKER_SERVICE_H_

#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "pbchain/v1/tracker.grpc.pb.h"
#include "tracker/registry.h"

namespace pbchain::tracker {

// Checks that `address` is reachable and calls `done` once, on any thread:
// OK = reachable, UNAVAILABLE = not reachable (the message says why), any
// other status = no verdict (busy, shutting down), passed to the caller as
// is. Must not block its caller (a gRPC callback thread).
// HealthProber::Probe is the real one.
using ReachabilityProbe = std::function<void(
    const std::string& address, std::function<void(absl::Status)> done)>;

// The expiry thread's period is lease_ttl / 4, but never below this.
inline constexpr absl::Duration kMinExpiryInterval = absl::Milliseconds(10);

class TrackerServiceImpl final : public v1::Tracker::CallbackService {
 public:
  // Serves `registry`, which must outlive the service. `probe` may be empty
  // (no reachability probe). Starts the expiry thread.
  TrackerServiceImpl(Registry* registry, ReachabilityProbe probe);
  // Shutdown(). Destroy the service only after grpc::Server::Wait returned
  // and the probe has delivered every `done` (HealthProber::Shutdown).
  ~TrackerServiceImpl() override;

  // Ends every WatchPeers stream with UNAVAILABLE (new ones are refused) and
  // stops the expiry thread. Call before grpc::Server::Shutdown so that the
  // server does not wait for open streams. Any thread; idempotent.
  void Shutdown();

  // Status codes (see tracker.proto): INVALID_ARGUMENT for a malformed
  // field, naming it. Join: RESOURCE_EXHAUSTED (join rate of the caller's
  // IP, network full, too many networks, too many probes waiting),
  // FAILED_PRECONDITION (advertised address unreachable), ALREADY_EXISTS
  // (node id live at another, reachable address), ABORTED (shutting down,
  // from the probe). Heartbeat / Leave: NOT_FOUND (unknown id, wrong lease,
  // expired).
  // WatchPeers: RESOURCE_EXHAUSTED (too many watchers, or this one lagged),
  // UNAVAILABLE (shutdown), CANCELLED (client gone).
  grpc::ServerUnaryReactor* Join(grpc::CallbackServerContext* ctx,
                                 const v1::JoinRequest* request,
                                 v1::JoinResponse* response) override;
  grpc::ServerUnaryReactor* Heartbeat(grpc::CallbackServerContext* ctx,
                                      const v1::HeartbeatRequest* request,
                                      v1::HeartbeatResponse* response) override;
  grpc::ServerUnaryReactor* Leave(grpc::CallbackServerContext* ctx,
                                  const v1::LeaveRequest* request,
                                  v1::LeaveResponse* response) override;
  grpc::ServerUnaryReactor* ListPeers(
      grpc::CallbackServerContext* ctx,
      const v1::TrackerListPeersRequest* request,
      v1::TrackerListPeersResponse* response) override;
  grpc::ServerWriteReactor<v1::WatchPeersResponse>* WatchPeers(
      grpc::CallbackServerContext* ctx,
      const v1::WatchPeersRequest* request) override;

 private:
  // Join after the advertised address answered its probe.
  void JoinReachable(grpc::ServerUnaryReactor* reactor, const JoinInput& input,
                     v1::JoinResponse* response);
  // The node id is live at another address: probe that one; if it is dead
  // the id moves, otherwise `conflict` (ALREADY_EXISTS) stands.
  void TakeOverNodeId(grpc::ServerUnaryReactor* reactor, const JoinInput& input,
                      v1::JoinResponse* response, absl::Status conflict);
  void FinishJoin(grpc::ServerUnaryReactor* reactor,
                  const absl::StatusOr<Lease>& lease,
                  v1::JoinResponse* response);
  void ExpireLoop();

  Registry* const registry_;
  const ReachabilityProbe probe_;
  const absl::Duration expiry_interval_;
  absl::Notification stop_;
  std::once_flag shutdown_once_;
  std::thread expiry_thread_;
};

}  // namespace pbchain::tracker

#endif  // PBCHAIN_TRACKER_TRACKER_SERVICE_H_
