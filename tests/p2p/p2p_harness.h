// In-process harness for the gossip protocol: a real Node on a temp datadir
// (easy proof of work, funded test keys), a Network on a FakeClock with no
// maintenance thread, and peers played by the test through fake
// GossipStreams. Inbound peers run Network::RunInbound on a thread of their
// own; outbound ones come from a FakeDialer when MaintenanceStep dials.
//
// Synchronisation: the node handles one session's messages in order on its
// reader thread, so a Ping answered by its Pong proves every earlier message
// was handled (FakeRemote::Sync). Work done on other threads (BlockSync) is
// waited for by condition (a message arrives, the tip changes), never by
// sleeping.
#ifndef PBCHAIN_TESTS_P2P_P2P_HARNESS_H_
#define PBCHAIN_TESTS_P2P_P2P_HARNESS_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "chain/block.h"
#include "chain/params.h"
#include "gtest/gtest.h"
#include "node/core/node.h"
#include "node/p2p/clock.h"
#include "node/p2p/gossip_dialer.h"
#include "node/p2p/network.h"
#include "node/p2p/peer_link.h"
#include "pbchain/v1/gossip.pb.h"

namespace pbchain::p2ptest {

// How long a test waits for something the node should do promptly.
inline constexpr absl::Duration kWait = absl::Seconds(10);

// A loopback transport address (no IP bans) and one off loopback.
inline constexpr char kLoopbackRemote[] = "ipv4:127.0.0.1:45000";
inline constexpr char kRemoteIp[] = "10.1.2.3";
inline constexpr char kPublicRemote[] = "ipv4:10.1.2.3:45000";

using Envelope = v1::GossipEnvelope;

// The test's end of a fake gossip stream: what the test sends reaches the
// node's Read, what the node writes is recorded here. The node's Pings are
// answered with Pongs automatically (an honest peer's duty).
//
// Thread safety: any thread.
class FakeRemote {
 public:
  explicit FakeRemote(std::string remote_address)
      : remote_address_(std::move(remote_address)) {}

  // Queues `message` for the node. False once the node ended the stream.
  bool Send(const Envelope& message);
  // Ends our side: the node's Read fails once it has read what was sent.
  void Hangup();

  // The first message the node sent (from the start of the stream) that
  // `match` accepts, waiting up to `timeout` for it.
  std::optional<Envelope> WaitFor(
      const std::function<bool(const Envelope&)>& match,
      absl::Duration timeout = kWait);
  // How many messages sent so far `match` accepts.
  int Count(const std::function<bool(const Envelope&)>& match);
  std::optional<v1::Hello> WaitForHello(absl::Duration timeout = kWait);
  std::optional<v1::Reject> WaitForReject(v1::RejectCode code,
                                          absl::Duration timeout = kWait);
  // Waits until the node has ended the stream (cancelled it).
  bool WaitForEnd(absl::Duration timeout = kWait);
  bool ended();
  // Sends a Ping and waits for its Pong: proof that the node handled every
  // message sent before and still serves the stream. False otherwise.
  bool Sync(absl::Duration timeout = kWait);
  // Everything the node sent, as text (for failure messages).
  std::string Summary();

  // The GossipStream side, used by FakeStream.
  bool NodeRead(Envelope* message);
  bool NodeWrite(const Envelope& message);
  void NodeCancel();
  const std::string& remote_address() const { return remote_address_; }

 private:
  const std::string remote_address_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Envelope> to_node_;     // guarded by mu_
  std::vector<Envelope> from_node_;  // guarded by mu_
  bool hung_up_ = false;             // guarded by mu_
  bool cancelled_ = false;           // guarded by mu_
  uint64_t next_nonce_ = 1u << 20;   // guarded by mu_
};

// A stream whose far end is `remote`.
std::unique_ptr<GossipStream> MakeFakeStream(
    std::shared_ptr<FakeRemote> remote);

// Hands out fake streams for outbound dials; the test takes their remote
// ends. Addresses in `refused` fail to connect.
class FakeDialer final : public GossipDialer {
 public:
  std::unique_ptr<GossipStream> Dial(
      const std::string& address,
      const std::function<bool()>& cancelled) override;
  // The remote end of the next dial of `address`, waiting up to `timeout`.
  std::shared_ptr<FakeRemote> WaitForDial(const std::string& address,
                                          absl::Duration timeout = kWait);
  // Addresses dialed so far, in order.
  std::vector<std::string> dialed();
  void Refuse(const std::string& address);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> dialed_;  // mu_
  std::vector<std::pair<std::string, std::shared_ptr<FakeRemote>>>
      open_;                          // mu_
  std::vector<std::string> refused_;  // mu_
};

// An inbound session: Network::RunInbound on its own thread.
class InboundPeer {
 public:
  InboundPeer(Network* network, std::string remote_address);
  // Hangs up and waits for the session to end.
  ~InboundPeer();
  InboundPeer(const InboundPeer&) = delete;
  InboundPeer& operator=(const InboundPeer&) = delete;

  FakeRemote& remote() { return *remote_; }
  FakeRemote* operator->() { return remote_.get(); }

 private:
  std::shared_ptr<FakeRemote> remote_;
  std::thread thread_;
};

// Message builders.
Envelope HelloEnvelope(const v1::Hello& hello);
Envelope BlockEnvelope(const Block& block);
Envelope TransactionEnvelope(const Transaction& tx);
Envelope InventoryOf(const std::vector<Hash256>& blocks,
                     const std::vector<Hash256>& txids);
Envelope GetDataOf(const std::vector<Hash256>& blocks,
                   const std::vector<Hash256>& txids);
Envelope HeadersOf(const std::vector<BlockHeader>& headers);
std::string Raw(const Hash256& h);
// Whether `e` is an Inventory / GetData / NotFound naming block `h` (or
// txid `h`).
bool InventoryHasBlock(const Envelope& e, const Hash256& h);
bool InventoryHasTx(const Envelope& e, const Hash256& h);
bool GetDataHasBlock(const Envelope& e, const Hash256& h);
bool GetDataHasTx(const Envelope& e, const Hash256& h);
// A node id that sorts before / after every 32-hex-char id.
inline constexpr char kSmallNodeId[] = "0";
inline constexpr char kLargeNodeId[] = "zzzz";

// Polls `done` (every few milliseconds) until it is true or `timeout`
// passed; for state that announces no change (the network's session
// registry after a stream ended). Returns the last answer.
bool WaitUntil(const std::function<bool()>& done,
               absl::Duration timeout = kWait);

// Solves `header` (nonce search) so that its hash meets (or, with `valid`
// false, misses) the target of its bits.
void Solve(BlockHeader& header, bool valid = true);

// A node (RocksDB in a temp dir, test genesis, no mining) and its Network
// on a FakeClock, started, without the maintenance thread.
class P2pTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;
  // Adjusts the options before the Network is made.
  virtual void Configure(NetworkOptions& options) {}

  Node& node() { return *node_; }
  ChainState& chain() { return node_->chain(); }
  Network& network() { return *network_; }
  FakeClock& clock() { return clock_; }
  FakeDialer& dialer() { return *dialer_; }
  const ChainParams& params() const { return params_; }

  // An honest Hello from `node_id`: our genesis, claiming to be at genesis
  // with less work than any chain (so we never sync from it).
  v1::Hello HonestHello(const std::string& node_id) const;
  // A session from `remote_address` that has said nothing yet.
  std::unique_ptr<InboundPeer> Open(
      const std::string& remote_address = kLoopbackRemote);
  // A session that said `hello` and was admitted (the node's Hello came
  // and a Ping was answered after ours).
  std::unique_ptr<InboundPeer> Greeted(
      const v1::Hello& hello,
      const std::string& remote_address = kLoopbackRemote);
  std::unique_ptr<InboundPeer> Greeted(const std::string& node_id) {
    return Greeted(HonestHello(node_id));
  }

  // The node's view of a connected peer: its score, nullopt if it is not
  // connected (refused, ended, banned).
  std::optional<int> ScoreOf(const std::string& node_id);

  // A mined block on `parent` (a stored block) carrying `txs`.
  Block BlockOn(const Hash256& parent, std::vector<Transaction> txs = {},
                uint64_t extra = 0);
  // Mines a block on the tip and submits it to the node directly.
  Block Extend(std::vector<Transaction> txs = {});
  // A signed transfer from test key `from` to key 3.
  Transaction Pay(int from, uint64_t amount, uint64_t fee, uint64_t nonce);

  // Waits until the node's tip is `hash`.
  bool WaitForTip(const Hash256& hash, absl::Duration timeout = kWait);

  std::string dir_;
  ChainParams params_;
  FakeClock clock_;
  std::shared_ptr<FakeDialer> dialer_;
  std::unique_ptr<Node> node_;
  std::unique_ptr<Network> network_;

 private:
  std::mutex tip_mu_;
  std::condition_variable tip_cv_;
  Hash256 tip_;  // guarded by tip_mu_
  uint64_t tip_listener_ = 0;
};

}  // namespace pbchain::p2ptest

#endif  // PBCHAIN_TESTS_P2P_P2P_HARNESS_H_
