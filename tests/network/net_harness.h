// A small harness for multi-process network tests: a temp dir with a genesis
// made by `pbtool genesis`, real pbtracker and pbnode processes on loopback
// (free ports, read from their "... listening on HOST:PORT" line), gRPC stubs
// to each, and a polling WaitFor that says what it last saw when it gives up.
//
// Every process is stopped (SIGTERM, then SIGKILL after a grace period) when
// the TestNet is destroyed, nodes before trackers; the temp dir is removed
// (kept when PBCHAIN_KEEP_TEST_DIRS=1). When the test has failed, the last
// lines of every process log are printed first, so a failure can be read
// without re-running.
//
// Thread safety: a TestNet and its processes are used from the test's main
// thread only. The stubs are thread-safe (gRPC's).
#ifndef PBCHAIN_TESTS_NETWORK_NET_HARNESS_H_
#define PBCHAIN_TESTS_NETWORK_NET_HARNESS_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "chain/address.h"
#include "chain/keys.h"
#include "chain/params.h"
#include "grpcpp/grpcpp.h"
#include "pbchain/v1/gossip.grpc.pb.h"
#include "pbchain/v1/node.grpc.pb.h"
#include "pbchain/v1/tracker.grpc.pb.h"
#include "tests/util/process.h"

namespace pbchain::nettest {

// Where the binaries under test are (set by tests/CMakeLists.txt).
std::string BinaryPath(const std::string& name);

// Parameters for `pbtool genesis`; unset fields keep pbtool's defaults.
struct GenesisConfig {
  std::string chain_id = "pbchain-nettest";
  int target_interval_ms = 200;
  // Genesis compact bits as pbtool takes them, e.g. "0x1f7fffff".
  std::string bits = "0x1f7fffff";
  // 0 = never retarget (with easy bits: blocks as fast as the node can).
  std::optional<int> difficulty_window{};
  std::optional<int> max_future_block_time_s{};
};

// How to start one pbnode.
struct NodeConfig {
  // --listen; port 0 picks a free one. A fixed port (ReserveLoopbackPort)
  // lets nodes name each other before both are up.
  std::string listen = "127.0.0.1:0";
  std::string role = "full";         // --role head|seed|full
  bool mine = false;                 // --mine (pays TestNet::miner_address)
  bool mine_on_demand = false;       // --mine-on-demand
  std::string tracker{};             // --tracker HOST:PORT; empty = none
  std::vector<std::string> peers{};  // one --peer HOST:PORT each
  bool connect_only = false;         // --connect-only
  std::vector<std::string> extra{};  // any other flags, passed as is
  // --metrics-listen (e.g. "127.0.0.1:0"); empty = off. The address the
  // node prints is then Process::metrics_address().
  std::string metrics_listen{};
};

// A gRPC client context with a deadline (every harness call has one).
std::unique_ptr<grpc::ClientContext> Ctx(
    std::chrono::milliseconds deadline = std::chrono::seconds(5));

// grpc::Status as absl::Status (the codes are the same numbers).
absl::Status ToAbsl(const grpc::Status& s);

// A hash carried in protobuf bytes (internal order) as display hex (byte-
// reversed, like explorers show it); "(empty)" for no bytes.
std::string DisplayHex(const std::string& hash_bytes);

// Compares two unsigned decimal strings as numbers: <0, 0 or >0.
int CompareDecimal(const std::string& a, const std::string& b);

// One running pbnode or pbtracker process.
class Process {
 public:
  Process(std::string name, std::string log_path)
      : name_(std::move(name)), log_path_(std::move(log_path)) {}
  virtual ~Process() = default;

  const std::string& name() const { return name_; }
  // "HOST:PORT" the process printed; empty until it started.
  const std::string& address() const { return address_; }
  // "HOST:PORT" of its Prometheus /metrics, when started with
  // --metrics-listen (read from its "... metrics listening on" line); empty
  // otherwise.
  const std::string& metrics_address() const { return metrics_address_; }
  // File receiving the process's stderr (its log); appended across restarts.
  const std::string& log_path() const { return log_path_; }
  bool running() const { return child_ != nullptr; }

  // SIGTERM, then waits up to `grace` (SIGKILL after it). Returns the exit
  // code (128 + signal if killed), -1 if not running.
  int Stop(std::chrono::milliseconds grace = std::chrono::seconds(20));
  // Sends SIGTERM without waiting (Stop() then waits), so that several
  // processes shut down side by side.
  void BeginStop();
  // kill -9 and reap. Returns 128 + SIGKILL, -1 if not running.
  int Kill();
  // The last `lines` lines of the log.
  std::string LogTail(int lines = 40) const;

 protected:
  // Starts `binary` with `args`, waits for "<binary> listening on HOST:PORT"
  // on its stdout. False (with a test failure naming the cause and the log
  // tail) if the process exits or stays silent for 30 s.
  bool Launch(const std::string& binary, const std::vector<std::string>& args);
  virtual void OnStarted() = 0;

  std::string name_;
  std::string log_path_;
  std::string address_;
  std::string metrics_address_;
  std::unique_ptr<testing::ChildProcess> child_;
  // Credentials of the test's stubs (null: plaintext); see
  // TestNet::set_client_credentials.
  std::shared_ptr<grpc::ChannelCredentials> credentials_;
};

// A pbnode process with stubs for its NodeService.
class NodeProcess : public Process {
 public:
  NodeProcess(std::string name, std::string datadir, std::string log_path)
      : Process(std::move(name), std::move(log_path)),
        datadir_(std::move(datadir)) {}

  const std::string& datadir() const { return datadir_; }
  v1::NodeService::Stub& stub() { return *stub_; }
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }

  // NodeService shortcuts (5 s deadline each); gRPC errors as absl::Status.
  absl::StatusOr<v1::GetInfoResponse> Info();
  absl::StatusOr<v1::ListPeersResponse> Peers();
  absl::StatusOr<v1::GetTransactionResponse> Transaction(
      const std::string& txid);
  absl::StatusOr<v1::GetBlockResponse> BlockAt(uint64_t height);
  absl::StatusOr<v1::GetBlockResponse> BlockByHash(const std::string& hash);
  absl::StatusOr<v1::GetAccountResponse> Account(const Address& address);

  // One line for diagnostics: "name h=12 tip=00ab.. peers=2" or the error.
  std::string Summary();

 private:
  friend class TestNet;
  void OnStarted() override;

  std::string datadir_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::NodeService::Stub> stub_;
};

// A pbtracker process with a Tracker stub.
class TrackerProcess : public Process {
 public:
  using Process::Process;
  v1::Tracker::Stub& stub() { return *stub_; }

  // Tracker.ListPeers of the network `genesis_hash` (all peers).
  absl::StatusOr<v1::TrackerListPeersResponse> Peers(
      const std::string& genesis_hash);

 private:
  friend class TestNet;
  void OnStarted() override;
  std::unique_ptr<v1::Tracker::Stub> stub_;
};

// The network under test: temp dir, keys, genesis and processes.
class TestNet {
 public:
  // Makes the temp dir "pbchain_<name>_<pid>" and the genesis; funded keys
  // are testing::TestKey(0..3) with 1,000,000 each. Check ok() afterwards
  // (a failure is already recorded with its cause).
  TestNet(const std::string& name, const GenesisConfig& genesis);
  // Dumps log tails if the test failed, stops every node, then every
  // tracker, and removes the temp dir.
  ~TestNet();
  TestNet(const TestNet&) = delete;
  TestNet& operator=(const TestNet&) = delete;

  bool ok() const { return ok_; }
  const ChainParams& params() const { return params_; }
  const std::string& genesis_path() const { return genesis_path_; }
  std::string Sub(const std::string& name) const { return dir_.Sub(name); }
  // Address paid by mining nodes (testing::TestKey(9)).
  Address miner_address() const;
  // Key `i` of the genesis allocations (0..3).
  PrivateKey funded_key(int i) const;

  // Starts a pbtracker ("pbtracker listening on ..."); `listen` 127.0.0.1:0
  // picks a free port. nullptr (after recording a failure) if it did not
  // come up. The TestNet owns it.
  TrackerProcess* StartTracker(const std::string& listen = "127.0.0.1:0",
                               const std::vector<std::string>& extra = {});
  // Starts the tracker `t` again (it must be stopped) with the same address.
  bool RestartTracker(TrackerProcess* t,
                      const std::vector<std::string>& extra = {});

  // Starts a pbnode named `name` with datadir Sub(name) and log
  // Sub(name + ".log"), listening on a free loopback port. nullptr (after
  // recording a failure) if it did not come up.
  NodeProcess* StartNode(const std::string& name, const NodeConfig& config);
  // Stops `node` (SIGTERM) if running and starts it again on the same datadir
  // with `config` (a new port).
  bool RestartNode(NodeProcess* node, const NodeConfig& config);

  // Last lines of every log, for a failure message.
  std::string AllLogTails(int lines = 30) const;

  // TLS (tests/tls): the test's stubs of processes started (or restarted)
  // from now on use these credentials (null: plaintext, the default).
  void set_client_credentials(std::shared_ptr<grpc::ChannelCredentials> c) {
    client_credentials_ = std::move(c);
  }

 private:
  std::shared_ptr<grpc::ChannelCredentials> client_credentials_;
  std::vector<std::string> NodeArgs(const NodeProcess& node,
                                    const NodeConfig& config) const;

  testing::TempDir dir_;
  bool ok_ = false;
  ChainParams params_;
  std::string genesis_path_;
  std::vector<std::unique_ptr<NodeProcess>> nodes_;
  std::vector<std::unique_ptr<TrackerProcess>> trackers_;
};

// Polls `probe` every `interval` until it returns true or `timeout` passes.
// `probe` writes what it saw into its argument; on timeout a test failure
// "timed out after T waiting for <what>; last seen: <seen>" is recorded and
// false returned. A bounded wait, not a timing assertion.
bool WaitFor(const std::function<bool(std::string& seen)>& probe,
             absl::Duration timeout, const std::string& what,
             absl::Duration interval = absl::Milliseconds(100));

// Waits until every node reports the same tip hash at height >= min_height.
// Returns that tip's GetInfo (of nodes[0]), or nullopt after a failure.
std::optional<v1::GetInfoResponse> WaitForSameTip(
    const std::vector<NodeProcess*>& nodes, uint64_t min_height,
    absl::Duration timeout);

// Signs a transfer of `amount` (fee `fee`) from `from` to `to` with the
// sender's next nonce as `node` sees it (GetAccount.pending_nonce), submits it
// to `node` and returns its txid (protobuf bytes).
absl::StatusOr<std::string> SubmitTransfer(NodeProcess& node,
                                           const ChainParams& params,
                                           const PrivateKey& from,
                                           const Address& to, uint64_t amount,
                                           uint64_t fee = 1);

// A loopback port that was free a moment ago (bound to port 0, then closed),
// for a node that must be named before it starts; 0 on failure.
uint16_t ReserveLoopbackPort();

// The port of "host:port"; 0 if there is none.
uint16_t PortOf(const std::string& address);

// The connected peer of `peers` with this node id, if any.
const v1::ConnectedPeer* FindConnected(const v1::ListPeersResponse& peers,
                                       const std::string& node_id);

}  // namespace pbchain::nettest

#endif  // PBCHAIN_TESTS_NETWORK_NET_HARNESS_H_
