// The node's side of the tracker: Join, a WatchPeers stream feeding the
// address book, Heartbeats, and Leave on shutdown. When the tracker is down
// the node keeps its peers and retries with backoff; when it comes back (a
// Heartbeat answers NOT_FOUND: the new tracker does not know us) it joins
// again.
//
// Thread safety: constructed and destroyed by the Network; one thread of
// its own plus one for the watch stream.
#ifndef PBCHAIN_NODE_P2P_TRACKER_CLIENT_H_
#define PBCHAIN_NODE_P2P_TRACKER_CLIENT_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "pbchain/v1/tracker.grpc.pb.h"

namespace pbchain {

class Network;
class Node;

// Deadline of Join / Heartbeat / Leave calls.
inline constexpr absl::Duration kTrackerCallTimeout = absl::Seconds(2);
// Retry after a failed Join: 1 s, doubling, at most this.
inline constexpr absl::Duration kMaxTrackerBackoff = absl::Seconds(10);

class TrackerClient {
 public:
  // Starts joining `address` at once.
  TrackerClient(Network* network, Node* node, std::string address);
  // Leaves the tracker (if joined) and stops.
  ~TrackerClient();

 private:
  void Run();
  // Follows WatchPeers (resubscribing if the stream breaks) until
  // watch_stop_.
  void Watch();
  // Waits `d` or until stopping; true if stopping.
  bool WaitFor(absl::Duration d);

  Network* const network_;
  Node* const node_;
  const std::string address_;
  std::unique_ptr<v1::Tracker::Stub> stub_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* watch_context_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool watch_stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace pbchain

#endif  // PBCHAIN_NODE_P2P_TRACKER_CLIENT_H_
