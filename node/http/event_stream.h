// The gateway's server-sent event stream of tip changes
// (GET /v1/events/tips): each open stream is a NodeService.WatchTips call
// whose messages become "event: tip" events in protobuf's JSON mapping,
// with ": keepalive" comments while the chain is idle. TipEventStreams
// counts the open streams against a limit and ends them all at shutdown.
#ifndef PBCHAIN_NODE_HTTP_EVENT_STREAM_H_
#define PBCHAIN_NODE_HTTP_EVENT_STREAM_H_

#include <chrono>
#include <cstddef>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "node/http/http_server.h"
#include "pbchain/v1/node.grpc.pb.h"

namespace pbchain {

// Concurrent GET /v1/events/tips streams; one more gets 429.
inline constexpr int kHttpMaxEventStreams = 16;
// Tip events waiting for a slow event-stream reader; older ones are dropped
// (each event is self-contained).
inline constexpr size_t kHttpMaxQueuedEvents = 64;
// A ": keepalive" comment is sent on an idle event stream this often (keeps
// proxies from closing it, notices clients that went away, and keeps the
// stream's connection under kHttpConnectionTimeout, which it must be below).
inline constexpr std::chrono::seconds kHttpEventKeepAlive{5};

struct TipEventStreamsOptions {
  // Streams open at once (0 refuses them all).
  int max_streams = kHttpMaxEventStreams;
  // Interval of ": keepalive" comments on an idle stream.
  absl::Duration keepalive = absl::FromChrono(kHttpEventKeepAlive);
  // How long Open waits for the first message (the current tip).
  absl::Duration first_event_deadline = absl::Seconds(10);
};

class TipEventStreams {
 public:
  // Streams of WatchTips calls on `stub` (which must outlive this object and
  // every body that Open returned). Any thread.
  TipEventStreams(v1::NodeService::Stub* stub, TipEventStreamsOptions options);
  ~TipEventStreams();
  TipEventStreams(const TipEventStreams&) = delete;
  TipEventStreams& operator=(const TipEventStreams&) = delete;

  // Opens a stream: starts a WatchTips call (the current tip first) and
  // waits for its first message, so that a failing call is an error rather
  // than an empty stream. Returns the response body: the event of the
  // current tip, then one per tip change ("event: tip\ndata: <JSON>\n\n"),
  // a keepalive comment when idle, and the end when the call ends
  // (Shutdown); destroying it ends the call and frees its place. Errors:
  // UNAVAILABLE after Shutdown (or if the call ends first),
  // RESOURCE_EXHAUSTED with max_streams open, DEADLINE_EXCEEDED without a
  // first message in time, or the call's own status. Any thread (a
  // connection thread); blocks up to first_event_deadline.
  absl::StatusOr<std::unique_ptr<HttpBodySource>> Open();

  // Refuses new streams and ends every open one (each body ends cleanly),
  // then waits up to `grace` for their bodies to be destroyed (the HTTP
  // responses finished). Idempotent; any thread.
  void Shutdown(absl::Duration grace);

 private:
  class TipStream;  // one WatchTips call (event_stream.cc)
  class EventFeed;  // its events as an HTTP body

  // Ends a stream's call and forgets it (its HTTP body is gone). Any thread.
  void Release(const std::shared_ptr<TipStream>& stream);
  bool NoStreams() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return streams_.empty();
  }

  v1::NodeService::Stub* const stub_;
  const TipEventStreamsOptions options_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Open streams (their count is checked against the limit).
  absl::flat_hash_set<std::shared_ptr<TipStream>> streams_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pbchain

#endif  // PBCHAIN_NODE_HTTP_EVENT_STREAM_H_
