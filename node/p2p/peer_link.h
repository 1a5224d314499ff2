// The transport of one gossip session: a bidirectional gRPC stream (whichever
// side dialed) with a bounded queue of outgoing messages drained by its own
// writer thread, so that a slow peer never blocks the thread that announces
// a block to everyone.
//
// Thread safety: Read is called by one thread (the session's reader); Send,
// SendWaiting and Close from any thread.
#ifndef PBCHAIN_NODE_P2P_PEER_LINK_H_
#define PBCHAIN_NODE_P2P_PEER_LINK_H_

#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "node/p2p/gossip_counters.h"
#include "pbchain/v1/gossip.pb.h"

namespace pbchain {

// Most messages / bytes waiting in one peer's outgoing queue. A peer that
// lets more pile up (it does not read) is disconnected.
inline constexpr size_t kMaxSendQueueMessages = 4096;
inline constexpr size_t kMaxSendQueueBytes = 32 * 1024 * 1024;
inline constexpr absl::Duration kSendWaitTimeout = absl::Seconds(5);
// Shutdown after CloseAfterFlush waits at most this long for the last
// messages (a Reject) to be written.
inline constexpr absl::Duration kFlushTimeout = absl::Seconds(2);
// After the last message of a closing session is written, the call stays
// open this long so that it reaches the peer before the cancel.
inline constexpr absl::Duration kGraceAfterFlush = absl::Milliseconds(200);

// What one read from a gossip stream brought.
enum class ReadResult {
  kMessage,      // a GossipEnvelope
  kUndecodable,  // bytes that are no GossipEnvelope; the stream goes on
  kEnded,        // the stream ended or broke
};

// The two ends of a gRPC bidi stream, client or server side.
class GossipStream {
 public:
  virtual ~GossipStream() = default;
  // Blocks until a message arrives; false once the stream has ended (or a
  // message did not parse, for streams that cannot tell the two apart).
  virtual bool Read(v1::GossipEnvelope* message) = 0;
  // Like Read, but tells bytes that are no GossipEnvelope apart from the
  // end of the stream. The default (streams of already parsed messages):
  // every failed Read is the end.
  virtual ReadResult ReadMessage(v1::GossipEnvelope* message) {
    return Read(message) ? ReadResult::kMessage : ReadResult::kEnded;
  }
  virtual bool Write(const v1::GossipEnvelope& message) = 0;
  // Ends the call: pending and later Read / Write fail soon.
  virtual void Cancel() = 0;
  // Tells the peer no more messages follow (client: WritesDone; a server's
  // stream ends when its handler returns).
  virtual void CloseWrites() = 0;
  // The other end's transport address as gRPC reports it ("ipv4:1.2.3.4:5").
  virtual std::string RemoteAddress() const = 0;
};

class PeerLink {
 public:
  // Starts the writer thread.
  explicit PeerLink(std::unique_ptr<GossipStream> stream);
  // Shutdown().
  ~PeerLink();
  PeerLink(const PeerLink&) = delete;
  PeerLink& operator=(const PeerLink&) = delete;

  // Blocks until a message arrives (kMessage), bytes that are no message
  // arrive (kUndecodable) or the stream ends (kEnded).
  // Counted in the GossipCounters given to SetCounters.
  ReadResult Read(v1::GossipEnvelope* message);

  // Where this link counts the messages it reads and writes (metrics);
  // null: nowhere. Any thread.
  void SetCounters(std::shared_ptr<GossipCounters> counters);

  // Queues `message`; never blocks. If the queue is over its limits the link
  // is closed (the peer is not reading) and false is returned.
  bool Send(v1::GossipEnvelope message);
  // Queues `message`, first waiting (at most kSendWaitTimeout) while the
  // queue holds more than half of its limits: back-pressure for answers to
  // a peer's own requests, on that peer's reader thread. False if the link
  // closed or the wait timed out (the caller stops answering; the peer asks
  // again later), so two peers asking each other for much never block each
  // other's readers for long.
  bool SendWaiting(v1::GossipEnvelope message);

  // Ends the session now (queued messages are dropped), or once the queued
  // messages are written (e.g. a Reject before hanging up).
  void Close();
  // Close()s and waits for the writer; afterwards the stream is never
  // touched again (an inbound stream dies with its gRPC handler).
  void Shutdown();
  void CloseAfterFlush();
  bool closed() const;

  std::string RemoteAddress() const { return stream_->RemoteAddress(); }

 private:
  bool Enqueue(v1::GossipEnvelope message) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WriterLoop();

  const std::unique_ptr<GossipStream> stream_;
  mutable absl::Mutex mu_;
  std::deque<v1::GossipEnvelope> queue_ ABSL_GUARDED_BY(mu_);
  size_t queued_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool close_after_flush_ ABSL_GUARDED_BY(mu_) = false;
  bool finished_ ABSL_GUARDED_BY(mu_) = false;  // after Shutdown
  bool writing_ ABSL_GUARDED_BY(mu_) = false;   // a Write is under way
  std::shared_ptr<GossipCounters> counters_ ABSL_GUARDED_BY(mu_);
  absl::Mutex join_mu_;                         // serializes Shutdown
  std::thread writer_;
};

}  // namespace pbchain

#endif  // PBCHAIN_NODE_P2P_PEER_LINK_H_
