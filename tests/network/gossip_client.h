// A scripted gossip peer for hostile-peer tests: opens one Gossip.Exchange
// stream with the generated stub, sends whatever the test says (valid or
// not) and records everything the node sends back. A reader thread answers
// the node's Pings with matching Pongs (an honest peer's duty the test does
// not want to script) and notices when the node ends the stream.
//
// Thread safety: Send / Wait* / Received may be called from any thread; the
// test normally uses one.
#ifndef PBCHAIN_TESTS_NETWORK_GOSSIP_CLIENT_H_
#define PBCHAIN_TESTS_NETWORK_GOSSIP_CLIENT_H_

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "pbchain/v1/gossip.grpc.pb.h"

namespace pbchain::nettest {

// A random 32-lowercase-hex node id.
std::string RandomNodeId();

// A Hello as an honest node of the network `genesis_hash` would send it,
// claiming to be at genesis (height 0, so the node never syncs from us),
// with no listen address (we accept no inbound connections).
v1::GossipEnvelope MakeHello(const std::string& genesis_hash,
                             const std::string& node_id);

class GossipSession {
 public:
  // Opens the stream to `address` (deadline 120 s for the whole session).
  explicit GossipSession(const std::string& address);
  // Cancels the stream if it is still open and joins the reader.
  ~GossipSession();
  GossipSession(const GossipSession&) = delete;
  GossipSession& operator=(const GossipSession&) = delete;

  // Sends one message. False once the stream is broken or was ended.
  bool Send(const v1::GossipEnvelope& message);

  // Waits up to `timeout` for a received message (from the start of the
  // session) for which `match` is true; returns the first one.
  std::optional<v1::GossipEnvelope> WaitForMessage(
      const std::function<bool(const v1::GossipEnvelope&)>& match,
      absl::Duration timeout);
  // Waits for a Reject with this code.
  std::optional<v1::Reject> WaitForReject(v1::RejectCode code,
                                          absl::Duration timeout);
  // Waits for the node's Hello.
  std::optional<v1::Hello> WaitForHello(absl::Duration timeout);
  // Sends a Ping with a fresh nonce and waits for its Pong: proof that the
  // node still serves this stream.
  bool PingPong(absl::Duration timeout);
  // Waits until the node ends the stream. True if it did within `timeout`.
  bool WaitForEnd(absl::Duration timeout);
  // The status the stream ended with (after WaitForEnd returned true).
  grpc::Status final_status();

  // Everything received so far, in order, as text (for failure messages).
  std::string ReceivedSummary();
  // How many Pongs arrived (answers to our Pings).
  int pongs_received();

 private:
  void ReadLoop();

  grpc::ClientContext ctx_;
  std::unique_ptr<v1::Gossip::Stub> stub_;
  std::unique_ptr<
      grpc::ClientReaderWriter<v1::GossipEnvelope, v1::GossipEnvelope>>
      stream_;
  std::mutex write_mu_;  // one writer at a time (gRPC's rule)
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<v1::GossipEnvelope> received_;  // guarded by mu_
  bool ended_ = false;                        // guarded by mu_
  bool finished_ = false;                     // guarded by mu_
  grpc::Status status_;                       // guarded by mu_
  uint64_t next_nonce_ = 1;                   // guarded by write_mu_
  std::thread reader_;
};

}  // namespace pbchain::nettest

#endif  // PBCHAIN_TESTS_NETWORK_GOSSIP_CLIENT_H_
