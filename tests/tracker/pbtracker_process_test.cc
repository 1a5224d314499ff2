// Starts the real pbtracker binary on loopback and talks to it over gRPC.
// "Nodes" are in-process gRPC servers with only the health service, so the
// tracker's reachability probe finds them; an address bound without listening
// plays an unreachable node.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <regex>
#include <string>

#include "common/version.h"
#include "gmock/gmock.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/health_check_service_interface.h"
#include "gtest/gtest.h"
#include "pbchain/v1/tracker.grpc.pb.h"
#include "tests/util/process.h"

namespace pbchain {
namespace {

using testing::ChildProcess;
using ::testing::HasSubstr;
using testing::TempDir;

const std::string kPbtracker = std::string(PBCHAIN_BIN_DIR) + "/pbtracker";
const std::string kBuf =
    std::string(PBCHAIN_SOURCE_DIR) + "/tools/node_modules/.bin/buf";
const std::string kGenesis(32, '\x11');
const std::string kOtherGenesis(32, '\x22');

// A pbtracker process and a stub on it; stopped (SIGKILL) when destroyed if
// the test did not stop it.
struct Tracker {
  std::unique_ptr<ChildProcess> process;
  std::unique_ptr<v1::Tracker::Stub> stub;
  std::string address;
};

Tracker StartTracker(const TempDir& dir, std::vector<std::string> args) {
  args.insert(args.begin(), "--listen=127.0.0.1:0");
  Tracker t;
  t.process = std::make_unique<ChildProcess>(kPbtracker, args,
                                             dir.Sub("pbtracker.log"));
  std::optional<std::string> line =
      t.process->ReadLine(std::chrono::seconds(30));
  std::smatch m;
  if (!line || !std::regex_match(*line, m,
                                 std::regex("pbtracker listening on "
                                            "(127\\.0\\.0\\.1:[0-9]+)"))) {
    ADD_FAILURE() << "pbtracker did not report its address; got: "
                  << line.value_or("(nothing)");
    return t;
  }
  t.address = m[1];
  t.stub = v1::Tracker::NewStub(
      grpc::CreateChannel(t.address, grpc::InsecureChannelCredentials()));
  return t;
}

// A stand-in node: a gRPC server on a free loopback port serving only
// grpc.health.v1.Health (SERVING).
class HealthyNode {
 public:
  HealthyNode() {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    // Any other method is UNIMPLEMENTED; a server needs some service
    // besides health to start.
    builder.RegisterCallbackGenericService(&others_);
    server_ = builder.BuildAndStart();
  }
  ~HealthyNode() { Stop(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  void Stop() {
    if (server_ == nullptr) return;
    server_->Shutdown(std::chrono::system_clock::now());
    server_->Wait();
    server_.reset();
  }

 private:
  int port_ = 0;
  grpc::CallbackGenericService others_;
  std::unique_ptr<grpc::Server> server_;
};

// A loopback port bound but not listening: connections are refused, and no
// one else can take the port while this lives.
class DeadPort {
 public:
  DeadPort() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) == 0 &&
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port_ = ntohs(addr.sin_port);
    }
  }
  ~DeadPort() { close(fd_); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

std::unique_ptr<grpc::ClientContext> Ctx() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::seconds(10));
  return ctx;
}

v1::JoinRequest JoinReq(const std::string& id, const std::string& address,
                        const std::string& genesis = kGenesis) {
  v1::JoinRequest req;
  req.set_node_id(id);
  req.set_address(address);
  req.set_genesis_hash(genesis);
  req.set_role(v1::PEER_ROLE_FULL);
  req.set_height(1);
  return req;
}

std::vector<std::string> Listed(v1::Tracker::Stub& stub,
                                const std::string& genesis) {
  v1::TrackerListPeersRequest req;
  req.set_genesis_hash(genesis);
  v1::TrackerListPeersResponse resp;
  grpc::Status s = stub.ListPeers(Ctx().get(), req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  std::vector<std::string> ids;
  for (const v1::PeerInfo& p : resp.peers()) ids.push_back(p.node_id());
  return ids;
}

// "+id" / "-id" per event, "snapshot:" first.
std::string Describe(const v1::WatchPeersResponse& msg) {
  std::string out = msg.snapshot() ? "snapshot:" : "";
  for (const v1::PeerEvent& e : msg.events()) {
    if (!out.empty() && out.back() != ':') out += " ";
    out += e.type() == v1::PEER_EVENT_TYPE_ADDED     ? "+"
           : e.type() == v1::PEER_EVENT_TYPE_REMOVED ? "-"
                                                     : "~";
    out += e.peer().node_id();
  }
  return out;
}


TEST(PbtrackerProcessTest, JoinListWatchLeaveAndExpiry) {
  TempDir dir("pbtracker_watch");
  Tracker tracker =
      StartTracker(dir, {"--lease-ttl=1s", "--heartbeat-interval=200ms"});
  ASSERT_TRUE(tracker.stub);
  HealthyNode node;

  grpc::ClientContext watch_ctx;
  watch_ctx.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(30));
  v1::WatchPeersRequest watch;
  watch.set_genesis_hash(kGenesis);
  auto reader = tracker.stub->WatchPeers(&watch_ctx, watch);
  v1::WatchPeersResponse msg;
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_EQ(Describe(msg), "snapshot:");

  v1::JoinResponse a;
  grpc::Status s =
      tracker.stub->Join(Ctx().get(), JoinReq("a", node.address()), &a);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(a.lease_ttl_ms(), 1000u);
  EXPECT_EQ(a.heartbeat_interval_ms(), 200u);
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_EQ(Describe(msg), "+a");

  v1::JoinResponse b;
  s = tracker.stub->Join(Ctx().get(), JoinReq("b", node.address()), &b);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_EQ(Describe(msg), "+b");
  EXPECT_EQ(Listed(*tracker.stub, kGenesis),
            (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(Listed(*tracker.stub, kOtherGenesis).empty());

  v1::LeaveRequest leave;
  leave.set_node_id("a");
  leave.set_lease_id(a.lease_id());
  v1::LeaveResponse left;
  ASSERT_TRUE(tracker.stub->Leave(Ctx().get(), leave, &left).ok());
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_EQ(Describe(msg), "-a");

  // b never heartbeats: its 1 s lease runs out and the expiry sweep removes
  // it (the read is bounded by the stream's 30 s deadline).
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_EQ(Describe(msg), "-b");
  EXPECT_TRUE(Listed(*tracker.stub, kGenesis).empty());
  v1::HeartbeatRequest beat;
  beat.set_node_id("b");
  beat.set_lease_id(b.lease_id());
  v1::HeartbeatResponse renewed;
  EXPECT_EQ(tracker.stub->Heartbeat(Ctx().get(), beat, &renewed).error_code(),
            grpc::StatusCode::NOT_FOUND);

  watch_ctx.TryCancel();
  while (reader->Read(&msg)) {
  }
  reader->Finish();
  tracker.process->Kill(SIGTERM);
  EXPECT_EQ(tracker.process->Wait(std::chrono::seconds(10)), 0);
}

TEST(PbtrackerProcessTest, UnreachableOrMalformedJoinIsRefused) {
  TempDir dir("pbtracker_refuse");
  Tracker tracker = StartTracker(dir, {});
  ASSERT_TRUE(tracker.stub);
  DeadPort dead;
  v1::JoinResponse resp;
  grpc::Status s =
      tracker.stub->Join(Ctx().get(), JoinReq("a", dead.address()), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(s.error_message(),
              HasSubstr("address " + dead.address() + " is not reachable: "));
  EXPECT_TRUE(Listed(*tracker.stub, kGenesis).empty());

  s = tracker.stub->Join(Ctx().get(), JoinReq("a b", dead.address()), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("node_id"));

  // The id of a live node at a reachable address is not given away, but
  // moves once that node is gone.
  HealthyNode first;
  HealthyNode second;
  ASSERT_TRUE(
      tracker.stub->Join(Ctx().get(), JoinReq("x", first.address()), &resp)
          .ok());
  s = tracker.stub->Join(Ctx().get(), JoinReq("x", second.address()), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS)
      << s.error_message();
  first.Stop();
  s = tracker.stub->Join(Ctx().get(), JoinReq("x", second.address()), &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();

  tracker.process->Kill(SIGTERM);
  EXPECT_EQ(tracker.process->Wait(std::chrono::seconds(10)), 0);
}

TEST(PbtrackerProcessTest, ReflectionListsTrackerAndHealth) {
  ASSERT_EQ(access(kBuf.c_str(), X_OK), 0)
      << kBuf << " missing: run tools/lint-proto.sh";
  TempDir dir("pbtracker_reflection");
  Tracker tracker = StartTracker(dir, {"--probe-timeout=0"});
  ASSERT_TRUE(tracker.stub);
  const std::string url = "http://" + tracker.address;
  const std::string buf = kBuf +
                          " curl --protocol grpc --http2-prior-knowledge "
                          "--reflect-protocol grpc-v1alpha ";
  int code = 0;
  std::string services = testing::RunShellCommand(buf + "--list-services " + url, &code);
  ASSERT_EQ(code, 0) << services;
  EXPECT_THAT(services, HasSubstr("pbchain.v1.Tracker"));
  EXPECT_THAT(services, HasSubstr("grpc.health.v1.Health"));

  std::string methods = testing::RunShellCommand(buf + "--list-methods " + url, &code);
  ASSERT_EQ(code, 0) << methods;
  for (const char* method :
       {"Join", "Heartbeat", "Leave", "ListPeers", "WatchPeers"}) {
    EXPECT_THAT(methods,
                HasSubstr(std::string("pbchain.v1.Tracker/") + method));
  }
  std::string health =
      testing::RunShellCommand(buf + url + "/grpc.health.v1.Health/Check", &code);
  ASSERT_EQ(code, 0) << health;
  EXPECT_THAT(health, HasSubstr("SERVING"));

  // With the probe off (--probe-timeout=0), a dead address is accepted.
  DeadPort dead;
  v1::JoinResponse resp;
  grpc::Status s =
      tracker.stub->Join(Ctx().get(), JoinReq("a", dead.address()), &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();

  tracker.process->Kill(SIGTERM);
  EXPECT_EQ(tracker.process->Wait(std::chrono::seconds(10)), 0);
}

TEST(PbtrackerProcessTest, SigtermWithOpenWatchExitsZeroWithinTwoSeconds) {
  TempDir dir("pbtracker_sigterm");
  Tracker tracker = StartTracker(dir, {});
  ASSERT_TRUE(tracker.stub);
  grpc::ClientContext watch_ctx;
  watch_ctx.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(60));
  v1::WatchPeersRequest watch;
  watch.set_genesis_hash(kGenesis);
  auto reader = tracker.stub->WatchPeers(&watch_ctx, watch);
  v1::WatchPeersResponse msg;
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_TRUE(msg.snapshot());

  tracker.process->Kill(SIGTERM);
  // Wait kills the process if it is still running after 2 s (exit 137).
  EXPECT_EQ(tracker.process->Wait(std::chrono::seconds(2)), 0);
  EXPECT_FALSE(reader->Read(&msg));
  grpc::Status s = reader->Finish();
  // Ended by the tracker itself, not cut when the server's grace ran out.
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE) << s.error_message();
  EXPECT_EQ(s.error_message(), "the tracker is shutting down");
}

TEST(PbtrackerProcessTest, HelpExplainsAndBadFlagsAreRefused) {
  int code = 0;
  std::string help = testing::RunShellCommand(kPbtracker + " --help", &code);
  for (const char* flag :
       {"--listen", "--lease_ttl", "--heartbeat_interval", "--probe_timeout",
        "--max_peers_per_network", "--max_networks", "--max_watchers",
        "--max_joins_per_second"}) {
    EXPECT_THAT(help, HasSubstr(flag));
  }
  std::string bad =
      testing::RunShellCommand(kPbtracker + " --lease-ttl=1s --heartbeat-interval=2s", &code);
  EXPECT_EQ(code, 2) << bad;
  EXPECT_THAT(bad, HasSubstr("--heartbeat_interval"));
  bad = testing::RunShellCommand(kPbtracker + " --max-peers-per-network=5000", &code);
  EXPECT_EQ(code, 2) << bad;
  bad = testing::RunShellCommand(kPbtracker + " --listen=nohost", &code);
  EXPECT_EQ(code, 2) << bad;
  EXPECT_THAT(bad, HasSubstr("nohost"));
  // Unknown flags and values that do not parse are usage errors too (absl
  // alone exits 1 for them).
  bad = testing::RunShellCommand(kPbtracker + " --lease-ttl=ten", &code);
  EXPECT_EQ(code, 2) << bad;
  EXPECT_THAT(bad, HasSubstr("--lease_ttl=ten"));
  bad = testing::RunShellCommand(kPbtracker + " --no-such-flag", &code);
  EXPECT_EQ(code, 2) << bad;
  EXPECT_THAT(bad, HasSubstr("unknown flag --no_such_flag"));
}

TEST(PbtrackerProcessTest, VersionAndFlagfile) {
  int code = 0;
  EXPECT_EQ(testing::RunShellCommand(kPbtracker + " --version", &code),
            std::string("pbtracker ") + kVersion + "\n");
  EXPECT_EQ(code, 0);
  // A flag file with the command line's dashed names is read: here with
  // a value the tracker refuses, so it must have been applied.
  TempDir dir("pbtracker_flagfile");
  const std::string flags = dir.Sub("tracker.flags");
  std::ofstream(flags)
      << "# tracker\n--lease-ttl=1s\n--heartbeat-interval=2s\n";
  std::string out = testing::RunShellCommand(kPbtracker + " --flagfile=" + flags, &code);
  EXPECT_EQ(code, 2) << out;
  EXPECT_THAT(out, HasSubstr("--heartbeat_interval"));
  out = testing::RunShellCommand(kPbtracker + " --flagfile=" + dir.Sub("none.flags"), &code);
  EXPECT_EQ(code, 2) << out;
  EXPECT_THAT(out, HasSubstr("none.flags"));
}

}  // namespace
}  // namespace pbchain
