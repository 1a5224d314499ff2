// The node's side of the tracker: Join, a WatchPeers stream feeding the
// address book, Heartbeats, and Leave on shutdown. When the tracker is down
// the node keeps its peers and retries; when it comes back (a Heartbeat
// answers NOT_FOUND: the new tracker does not know us) it joins again.
//
// Rejoining after an outage or a partition takes seconds, not minutes: a
// Join the tracker did not answer (UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED)
// is retried every kTrackerRejoinInterval (with jitter), each time after
// resetting the channel's own reconnect backoff, which is also capped at
// kTrackerMaxReconnectBackoff; the Join waits for the connection (wait for
// ready) within its deadline. Keepalive pings (kTrackerKeepaliveTime /
// kTrackerKeepaliveTimeout) notice a connection that died silently. Only a
// Join the tracker refused (rate limit, probe failure, ...) backs off
// exponentially up to kMaxTrackerBackoff.
//
// Thread safety: constructed and destroyed by the Network; one thread of
// its own plus one for the watch stream.
#ifndef PBCHAIN_NODE_P2P_TRACKER_CLIENT_H_
#define PBCHAIN_NODE_P2P_TRACKER_CLIENT_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/random/random.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "pbchain/v1/tracker.grpc.pb.h"

namespace pbchain {

class Network;
class Node;

// Deadline of Join / Heartbeat / Leave calls.
inline constexpr absl::Duration kTrackerCallTimeout = absl::Seconds(2);
// Retry after a Join the tracker refused: 1 s, doubling, at most this.
inline constexpr absl::Duration kMaxTrackerBackoff = absl::Seconds(10);
// Retry after a Join that did not reach the tracker: this often, times a
// random factor in [0.5, 1.5) so that nodes cut off together do not all
// come back in the same instant.
inline constexpr absl::Duration kTrackerRejoinInterval = absl::Seconds(1);
// The channel's reconnect backoff (gRPC's defaults: 1 s growing to 120 s,
// which would add to ours): first retry and cap.
inline constexpr absl::Duration kTrackerInitialReconnectBackoff =
    absl::Milliseconds(500);
inline constexpr absl::Duration kTrackerMaxReconnectBackoff = absl::Seconds(1);
// Deadline of one connection attempt (gRPC's default: 20 s), so that an
// attempt that went into a partition is replaced soon after it heals.
inline constexpr absl::Duration kTrackerConnectTimeout = absl::Seconds(3);
// Keepalive: a ping after this long without activity, and the connection is
// dropped if its answer takes longer than the timeout. The tracker allows
// pings this often (kMinClientPingInterval in tracker/main.cc).
inline constexpr absl::Duration kTrackerKeepaliveTime = absl::Seconds(10);
inline constexpr absl::Duration kTrackerKeepaliveTimeout = absl::Seconds(5);

class TrackerClient {
 public:
  // Starts joining `address` at once, over a channel with `credentials`
  // (null: plaintext). A Join that fails on a live connection (a TLS
  // handshake, or a TLS tracker dialed in plaintext) is logged with what
  // to check.
  TrackerClient(Network* network, Node* node, std::string address,
                std::shared_ptr<grpc::ChannelCredentials> credentials);
  // Leaves the tracker (if joined) and stops.
  ~TrackerClient();

 private:
  void Run();
  // Follows WatchPeers (resubscribing if the stream breaks) until
  // watch_stop_.
  void Watch();
  // Waits `d` or until stopping; true if stopping.
  bool WaitFor(absl::Duration d);

  absl::BitGen rng_;  // Run's thread only: rejoin jitter
  Network* const network_;
  Node* const node_;
  const std::string address_;
  const bool tls_;
  const std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Tracker::Stub> stub_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* watch_context_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool watch_stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace pbchain

#endif  // PBCHAIN_NODE_P2P_TRACKER_CLIENT_H_
