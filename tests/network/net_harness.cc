#include "tests/network/net_harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <iostream>
#include <regex>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "proto/convert.h"
#include "tests/chain/test_chain.h"

namespace pbchain::nettest {

namespace {

constexpr auto kStartTimeout = std::chrono::seconds(30);
constexpr int kFundedKeys = 4;
constexpr uint64_t kFunds = 1'000'000;

bool KeepDirs() {
  const char* keep = std::getenv("PBCHAIN_KEEP_TEST_DIRS");
  return keep != nullptr && std::string(keep) == "1";
}

}  // namespace

std::string BinaryPath(const std::string& name) {
  return std::string(PBCHAIN_BIN_DIR) + "/" + name;
}

std::unique_ptr<grpc::ClientContext> Ctx(std::chrono::milliseconds deadline) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + deadline);
  return ctx;
}

absl::Status ToAbsl(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                      s.error_message());
}

std::string DisplayHex(const std::string& hash_bytes) {
  if (hash_bytes.empty()) return "(empty)";
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (auto it = hash_bytes.rbegin(); it != hash_bytes.rend(); ++it) {
    const auto b = static_cast<uint8_t>(*it);
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

int CompareDecimal(const std::string& a, const std::string& b) {
  auto strip = [](const std::string& s) {
    const size_t first = s.find_first_not_of('0');
    return first == std::string::npos ? std::string() : s.substr(first);
  };
  const std::string x = strip(a), y = strip(b);
  if (x.size() != y.size()) return x.size() < y.size() ? -1 : 1;
  return x.compare(y);
}

// --- Process ----------------------------------------------------------------

bool Process::Launch(const std::string& binary,
                     const std::vector<std::string>& args) {
  {
    std::ofstream(log_path_, std::ios::app)
        << "==== harness: starting " << binary << " "
        << absl::StrJoin(args, " ") << "\n";
  }
  child_ = std::make_unique<testing::ChildProcess>(binary, args, log_path_);
  if (!child_->started()) {
    ADD_FAILURE() << name_ << ": cannot fork " << binary;
    child_.reset();
    return false;
  }
  std::optional<std::string> line = child_->ReadLine(kStartTimeout);
  std::smatch m;
  if (!line ||
      !std::regex_search(*line, m, std::regex("listening on (\\S+)"))) {
    child_->Kill(SIGKILL);
    const int code = child_->Wait();
    ADD_FAILURE() << name_ << " (" << binary
                  << ") did not report its address; stdout: "
                  << line.value_or("(nothing)") << "; exit code " << code
                  << "\n--- " << log_path_ << " (tail) ---\n"
                  << LogTail();
    child_.reset();
    return false;
  }
  address_ = m[1];
  // With --metrics-listen, the next line names the metrics address.
  metrics_address_.clear();
  const bool metrics =
      std::any_of(args.begin(), args.end(), [](const std::string& a) {
        return a.rfind("--metrics-listen", 0) == 0 ||
               a.rfind("--metrics_listen", 0) == 0;
      });
  if (metrics) {
    std::optional<std::string> metrics_line = child_->ReadLine(kStartTimeout);
    if (!metrics_line ||
        !std::regex_search(*metrics_line, m,
                           std::regex("metrics listening on (\\S+)"))) {
      child_->Kill(SIGKILL);
      child_->Wait();
      ADD_FAILURE() << name_ << " did not report its metrics address; stdout: "
                    << metrics_line.value_or("(nothing)") << "\n--- "
                    << log_path_ << " (tail) ---\n"
                    << LogTail();
      child_.reset();
      return false;
    }
    metrics_address_ = m[1];
  }
  OnStarted();
  return true;
}

int Process::Stop(std::chrono::milliseconds grace) {
  if (!child_) return -1;
  child_->Kill(SIGTERM);
  const int code = child_->Wait(grace);
  child_.reset();
  return code;
}

void Process::BeginStop() {
  if (child_) child_->Kill(SIGTERM);
}

int Process::Kill() {
  if (!child_) return -1;
  child_->Kill(SIGKILL);
  const int code = child_->Wait();
  child_.reset();
  return code;
}

std::string Process::LogTail(int lines) const {
  std::ifstream in(log_path_);
  std::deque<std::string> tail;
  std::string line;
  while (std::getline(in, line)) {
    tail.push_back(line);
    if (static_cast<int>(tail.size()) > lines) tail.pop_front();
  }
  std::string out;
  for (const std::string& l : tail) absl::StrAppend(&out, l, "\n");
  return out;
}

// --- NodeProcess ------------------------------------------------------------

void NodeProcess::OnStarted() {
  channel_ = grpc::CreateChannel(
      address_, credentials_ != nullptr ? credentials_
                                        : grpc::InsecureChannelCredentials());
  stub_ = v1::NodeService::NewStub(channel_);
}

absl::StatusOr<v1::GetInfoResponse> NodeProcess::Info() {
  if (!stub_) return absl::FailedPreconditionError(name_ + " never started");
  v1::GetInfoResponse resp;
  grpc::Status s = stub_->GetInfo(Ctx().get(), v1::GetInfoRequest(), &resp);
  if (!s.ok()) return ToAbsl(s);
  return resp;
}

absl::StatusOr<v1::ListPeersResponse> NodeProcess::Peers() {
  if (!stub_) return absl::FailedPreconditionError(name_ + " never started");
  v1::ListPeersResponse resp;
  grpc::Status s = stub_->ListPeers(Ctx().get(), v1::ListPeersRequest(), &resp);
  if (!s.ok()) return ToAbsl(s);
  return resp;
}

absl::StatusOr<v1::GetTransactionResponse> NodeProcess::Transaction(
    const std::string& txid) {
  if (!stub_) return absl::FailedPreconditionError(name_ + " never started");
  v1::GetTransactionRequest req;
  req.set_txid(txid);
  v1::GetTransactionResponse resp;
  grpc::Status s = stub_->GetTransaction(Ctx().get(), req, &resp);
  if (!s.ok()) return ToAbsl(s);
  return resp;
}

absl::StatusOr<v1::GetBlockResponse> NodeProcess::BlockAt(uint64_t height) {
  if (!stub_) return absl::FailedPreconditionError(name_ + " never started");
  v1::GetBlockRequest req;
  req.set_height(height);
  v1::GetBlockResponse resp;
  grpc::Status s = stub_->GetBlock(Ctx().get(), req, &resp);
  if (!s.ok()) return ToAbsl(s);
  return resp;
}

absl::StatusOr<v1::GetBlockResponse> NodeProcess::BlockByHash(
    const std::string& hash) {
  if (!stub_) return absl::FailedPreconditionError(name_ + " never started");
  v1::GetBlockRequest req;
  req.set_hash(hash);
  v1::GetBlockResponse resp;
  grpc::Status s = stub_->GetBlock(Ctx().get(), req, &resp);
  if (!s.ok()) return ToAbsl(s);
  return resp;
}

absl::StatusOr<v1::GetAccountResponse> NodeProcess::Account(
    const Address& address) {
  if (!stub_) return absl::FailedPreconditionError(name_ + " never started");
  v1::GetAccountRequest req;
  req.set_address(address.ToText());
  v1::GetAccountResponse resp;
  grpc::Status s = stub_->GetAccount(Ctx().get(), req, &resp);
  if (!s.ok()) return ToAbsl(s);
  return resp;
}

std::string NodeProcess::Summary() {
  absl::StatusOr<v1::GetInfoResponse> info = Info();
  if (!info.ok()) return absl::StrCat(name_, ": ", info.status().ToString());
  return absl::StrCat(name_, " h=", info->height(),
                      " tip=", DisplayHex(info->tip_hash()).substr(0, 16),
                      " peers=", info->peer_count(),
                      info->syncing() ? " syncing" : "");
}

// --- TrackerProcess ---------------------------------------------------------

void TrackerProcess::OnStarted() {
  stub_ = v1::Tracker::NewStub(grpc::CreateChannel(
      address_, credentials_ != nullptr ? credentials_
                                        : grpc::InsecureChannelCredentials()));
}

absl::StatusOr<v1::TrackerListPeersResponse> TrackerProcess::Peers(
    const std::string& genesis_hash) {
  if (!stub_) return absl::FailedPreconditionError(name_ + " never started");
  v1::TrackerListPeersRequest req;
  req.set_genesis_hash(genesis_hash);
  v1::TrackerListPeersResponse resp;
  grpc::Status s = stub_->ListPeers(Ctx().get(), req, &resp);
  if (!s.ok()) return ToAbsl(s);
  return resp;
}

// --- TestNet ----------------------------------------------------------------

TestNet::TestNet(const std::string& name, const GenesisConfig& genesis)
    : dir_(name), genesis_path_(dir_.Sub("genesis.json")) {
  std::vector<std::string> args = {
      "genesis",
      "--out",
      genesis_path_,
      "--chain-id",
      genesis.chain_id,
      "--target-interval-ms",
      std::to_string(genesis.target_interval_ms),
      "--bits",
      genesis.bits,
  };
  if (genesis.difficulty_window) {
    args.insert(args.end(), {"--difficulty-window",
                             std::to_string(*genesis.difficulty_window)});
  }
  if (genesis.max_future_block_time_s) {
    args.insert(args.end(), {"--max-future-block-time-s",
                             std::to_string(*genesis.max_future_block_time_s)});
  }
  for (int i = 0; i < kFundedKeys; ++i) {
    args.insert(
        args.end(),
        {"--alloc",
         absl::StrCat(AddressFromPublicKey(funded_key(i).public_key()).ToText(),
                      "=", kFunds)});
  }
  testing::ChildProcess pbtool(BinaryPath("pbtool"), args,
                               dir_.Sub("pbtool.log"));
  std::optional<std::string> hash = pbtool.ReadLine(std::chrono::seconds(60));
  const int code = pbtool.Wait();
  if (code != 0) {
    ADD_FAILURE() << "pbtool genesis failed (exit " << code
                  << "): " << std::ifstream(dir_.Sub("pbtool.log")).rdbuf();
    return;
  }
  absl::StatusOr<ChainParams> params = LoadGenesisFile(genesis_path_);
  if (!params.ok()) {
    ADD_FAILURE() << "cannot load the genesis pbtool wrote: "
                  << params.status();
    return;
  }
  params_ = *params;
  ok_ = true;
}

TestNet::~TestNet() {
  if (::testing::Test::HasFailure()) {
    std::cerr << "==== test failed; process logs (tails) ====\n"
              << AllLogTails();
  }
  // Nodes first (they Leave the tracker), all at once; then trackers.
  for (auto& n : nodes_) n->BeginStop();
  for (auto& n : nodes_) n->Stop();
  for (auto& t : trackers_) t->Stop();
  if (KeepDirs()) {
    std::cerr << "keeping " << dir_.path() << " (PBCHAIN_KEEP_TEST_DIRS=1)\n";
    // TempDir removes it; move the contents aside first.
    std::error_code ec;
    std::filesystem::rename(dir_.path(), dir_.path().string() + ".kept", ec);
    std::filesystem::create_directories(dir_.path(), ec);
  }
}

Address TestNet::miner_address() const {
  return AddressFromPublicKey(testing::TestKey(9).public_key());
}

PrivateKey TestNet::funded_key(int i) const { return testing::TestKey(i); }

TrackerProcess* TestNet::StartTracker(const std::string& listen,
                                      const std::vector<std::string>& extra) {
  const std::string name = absl::StrCat("tracker", trackers_.size() + 1);
  auto t = std::make_unique<TrackerProcess>(name, dir_.Sub(name + ".log"));
  std::vector<std::string> args = {"--listen=" + listen};
  args.insert(args.end(), extra.begin(), extra.end());
  t->credentials_ = client_credentials_;
  if (!t->Launch(BinaryPath("pbtracker"), args)) return nullptr;
  trackers_.push_back(std::move(t));
  return trackers_.back().get();
}

bool TestNet::RestartTracker(TrackerProcess* t,
                             const std::vector<std::string>& extra) {
  t->Stop();
  std::vector<std::string> args = {"--listen=" + t->address()};
  args.insert(args.end(), extra.begin(), extra.end());
  t->credentials_ = client_credentials_;
  return t->Launch(BinaryPath("pbtracker"), args);
}

std::vector<std::string> TestNet::NodeArgs(const NodeProcess& node,
                                           const NodeConfig& config) const {
  std::vector<std::string> args = {
      "--listen=" + config.listen, "--datadir=" + node.datadir(),
      "--genesis=" + genesis_path_, "--role=" + config.role};
  if (config.mine) args.push_back("--mine");
  if (config.mine_on_demand) args.push_back("--mine-on-demand");
  if (config.mine || config.mine_on_demand) {
    args.push_back("--miner-address=" + miner_address().ToText());
  }
  if (!config.tracker.empty()) args.push_back("--tracker=" + config.tracker);
  for (const std::string& p : config.peers) args.push_back("--peer=" + p);
  if (config.connect_only) args.push_back("--connect-only");
  args.insert(args.end(), config.extra.begin(), config.extra.end());
  if (!config.metrics_listen.empty()) {
    args.push_back("--metrics-listen=" + config.metrics_listen);
  }
  return args;
}

NodeProcess* TestNet::StartNode(const std::string& name,
                                const NodeConfig& config) {
  auto n = std::make_unique<NodeProcess>(name, dir_.Sub(name),
                                         dir_.Sub(name + ".log"));
  NodeProcess* node = n.get();
  nodes_.push_back(std::move(n));
  node->credentials_ = client_credentials_;
  if (!node->Launch(BinaryPath("pbnode"), NodeArgs(*node, config))) {
    return nullptr;
  }
  return node;
}

bool TestNet::RestartNode(NodeProcess* node, const NodeConfig& config) {
  const int code = node->Stop();
  if (code != 0) {
    ADD_FAILURE() << node->name() << " did not stop cleanly: exit " << code;
  }
  node->credentials_ = client_credentials_;
  return node->Launch(BinaryPath("pbnode"), NodeArgs(*node, config));
}

std::string TestNet::AllLogTails(int lines) const {
  std::string out;
  auto add = [&](const Process& p) {
    absl::StrAppend(&out, "--- ", p.name(), " (", p.address(), ") ",
                    p.log_path(), " ---\n", p.LogTail(lines));
  };
  for (const auto& t : trackers_) add(*t);
  for (const auto& n : nodes_) add(*n);
  return out;
}

// --- free functions ---------------------------------------------------------

bool WaitFor(const std::function<bool(std::string& seen)>& probe,
             absl::Duration timeout, const std::string& what,
             absl::Duration interval) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string seen;
  while (true) {
    seen.clear();
    if (probe(seen)) return true;
    if (absl::Now() >= deadline) break;
    absl::SleepFor(interval);
  }
  ADD_FAILURE() << "timed out after " << absl::FormatDuration(timeout)
                << " waiting for " << what << "; last seen: " << seen;
  return false;
}

std::optional<v1::GetInfoResponse> WaitForSameTip(
    const std::vector<NodeProcess*>& nodes, uint64_t min_height,
    absl::Duration timeout) {
  std::optional<v1::GetInfoResponse> first;
  const bool same = WaitFor(
      [&](std::string& seen) {
        first.reset();
        bool all = true;
        for (NodeProcess* n : nodes) {
          absl::StatusOr<v1::GetInfoResponse> info = n->Info();
          if (!info.ok()) {
            absl::StrAppend(&seen, n->name(), ": ", info.status().ToString(),
                            "; ");
            all = false;
            continue;
          }
          absl::StrAppend(&seen, n->name(), " h=", info->height(),
                          " tip=", DisplayHex(info->tip_hash()).substr(0, 16),
                          "; ");
          if (!first) {
            first = *info;
            if (info->height() < min_height) all = false;
          } else if (info->tip_hash() != first->tip_hash()) {
            all = false;
          }
        }
        return all && first.has_value();
      },
      timeout,
      absl::StrCat("the same tip at height >= ", min_height, " on ",
                   nodes.size(), " nodes"),
      absl::Milliseconds(200));
  if (!same) return std::nullopt;
  return first;
}

absl::StatusOr<std::string> SubmitTransfer(NodeProcess& node,
                                           const ChainParams& params,
                                           const PrivateKey& from,
                                           const Address& to, uint64_t amount,
                                           uint64_t fee) {
  absl::StatusOr<v1::GetAccountResponse> account =
      node.Account(AddressFromPublicKey(from.public_key()));
  if (!account.ok()) return account.status();
  const Transaction tx = testing::MakeTransfer(params, from, to, amount, fee,
                                               account->pending_nonce());
  v1::SubmitTransactionRequest req;
  *req.mutable_transaction() = TransactionToProto(tx);
  v1::SubmitTransactionResponse resp;
  grpc::Status s = node.stub().SubmitTransaction(Ctx().get(), req, &resp);
  if (!s.ok()) return ToAbsl(s);
  return resp.txid();
}

uint16_t ReserveLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  uint16_t port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

uint16_t PortOf(const std::string& address) {
  uint32_t port = 0;
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos ||
      !absl::SimpleAtoi(address.substr(colon + 1), &port) || port > 65535) {
    return 0;
  }
  return static_cast<uint16_t>(port);
}

const v1::ConnectedPeer* FindConnected(const v1::ListPeersResponse& peers,
                                       const std::string& node_id) {
  for (const v1::ConnectedPeer& p : peers.connected()) {
    if (p.info().node_id() == node_id) return &p;
  }
  return nullptr;
}

}  // namespace pbchain::nettest
