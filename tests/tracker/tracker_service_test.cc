// pbchain.v1.Tracker through an in-process channel, with a scripted
// reachability probe and a fake clock: how Join uses the probe, the status
// codes at the gRPC edge, the WatchPeers stream, and a fast shutdown.
#include "tracker/tracker_service.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "pbchain/v1/tracker.grpc.pb.h"
#include "tracker/registry.h"

namespace pbchain::tracker {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::string kGenesis(32, 'G');

// Thread-safe: the service's expiry thread reads it too.
class FakeClock {
 public:
  absl::Time Now() {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration d) {
    absl::MutexLock lock(&mu_);
    now_ += d;
  }

 private:
  absl::Mutex mu_;
  absl::Time now_ = absl::FromUnixSeconds(1'700'000'000);
};

// A probe that answers from a list of reachable addresses and records what
// it was asked. `verdict` overrides the answer for every address when set.
class ScriptedProbe {
 public:
  void SetReachable(const std::string& address, bool reachable) {
    absl::MutexLock lock(&mu_);
    if (reachable) {
      reachable_.insert(address);
    } else {
      reachable_.erase(address);
    }
  }
  void SetVerdict(absl::Status verdict) {
    absl::MutexLock lock(&mu_);
    verdict_ = std::move(verdict);
  }
  std::vector<std::string> asked() {
    absl::MutexLock lock(&mu_);
    return asked_;
  }
  ReachabilityProbe AsProbe() {
    return [this](const std::string& address,
                  std::function<void(absl::Status)> done) {
      absl::Status answer;
      {
        absl::MutexLock lock(&mu_);
        asked_.push_back(address);
        if (!verdict_.ok()) {
          answer = verdict_;
        } else if (!reachable_.contains(address)) {
          answer = absl::UnavailableError("connection refused");
        }
      }
      done(answer);
    };
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_set<std::string> reachable_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> asked_ ABSL_GUARDED_BY(mu_);
  absl::Status verdict_ ABSL_GUARDED_BY(mu_);
};

class PbtrackerServiceTest : public ::testing::Test {
 protected:
  void Start(RegistryOptions options = {}) {
    options.clock = [this] { return clock_.Now(); };
    registry_ = std::make_unique<Registry>(options);
    service_ =
        std::make_unique<TrackerServiceImpl>(registry_.get(), probe_.AsProbe());
    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::Tracker::NewStub(
        server_->InProcessChannel(grpc::ChannelArguments()));
  }

  void TearDown() override {
    if (service_) service_->Shutdown();
    if (server_) {
      server_->Shutdown(std::chrono::system_clock::now() +
                        std::chrono::seconds(5));
      server_->Wait();
    }
    service_.reset();
    registry_.reset();
  }

  static std::unique_ptr<grpc::ClientContext> Ctx() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() +
                      std::chrono::seconds(10));
    return ctx;
  }

  static v1::JoinRequest JoinReq(const std::string& id,
                                 const std::string& address,
                                 v1::PeerRole role = v1::PEER_ROLE_FULL) {
    v1::JoinRequest req;
    req.set_node_id(id);
    req.set_address(address);
    req.set_genesis_hash(kGenesis);
    req.set_role(role);
    req.set_height(5);
    req.set_tip_hash(std::string(32, 't'));
    return req;
  }

  grpc::Status Join(const v1::JoinRequest& req, v1::JoinResponse* resp) {
    return stub_->Join(Ctx().get(), req, resp);
  }

  grpc::Status Join(const std::string& id, const std::string& address) {
    v1::JoinResponse resp;
    return Join(JoinReq(id, address), &resp);
  }

  std::vector<std::string> ListedAddresses() {
    v1::TrackerListPeersRequest req;
    req.set_genesis_hash(kGenesis);
    v1::TrackerListPeersResponse resp;
    grpc::Status s = stub_->ListPeers(Ctx().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    std::vector<std::string> out;
    for (const v1::PeerInfo& p : resp.peers()) {
      out.push_back(p.node_id() + "@" + p.address());
    }
    return out;
  }

  FakeClock clock_;
  ScriptedProbe probe_;
  std::unique_ptr<Registry> registry_;
  std::unique_ptr<TrackerServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::Tracker::Stub> stub_;
};

TEST_F(PbtrackerServiceTest, JoinAnswersWithTheLease) {
  Start();
  probe_.SetReachable("127.0.0.1:7001", true);
  v1::JoinResponse resp;
  grpc::Status s =
      Join(JoinReq("n1", "127.0.0.1:7001", v1::PEER_ROLE_SEED), &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.lease_id().size(), 32u);
  EXPECT_EQ(resp.heartbeat_interval_ms(), 2000u);
  EXPECT_EQ(resp.lease_ttl_ms(), 10000u);
  EXPECT_EQ(resp.expires_unix_ms(),
            absl::ToUnixMillis(clock_.Now() + absl::Seconds(10)));
  EXPECT_THAT(probe_.asked(), ElementsAre("127.0.0.1:7001"));

  v1::TrackerListPeersRequest list;
  list.set_genesis_hash(kGenesis);
  v1::TrackerListPeersResponse peers;
  ASSERT_TRUE(stub_->ListPeers(Ctx().get(), list, &peers).ok());
  ASSERT_EQ(peers.peers_size(), 1);
  const v1::PeerInfo& p = peers.peers(0);
  EXPECT_EQ(p.node_id(), "n1");
  EXPECT_EQ(p.address(), "127.0.0.1:7001");
  EXPECT_EQ(p.role(), v1::PEER_ROLE_SEED);
  EXPECT_EQ(p.genesis_hash(), kGenesis);
  EXPECT_EQ(p.height(), 5u);
  EXPECT_EQ(p.tip_hash(), std::string(32, 't'));
  EXPECT_EQ(p.last_seen_unix_ms(), absl::ToUnixMillis(clock_.Now()));

  v1::HeartbeatRequest beat;
  beat.set_node_id("n1");
  beat.set_lease_id(resp.lease_id());
  beat.set_height(6);
  v1::HeartbeatResponse renewed;
  clock_.Advance(absl::Seconds(1));
  ASSERT_TRUE(stub_->Heartbeat(Ctx().get(), beat, &renewed).ok());
  EXPECT_EQ(renewed.expires_unix_ms(),
            absl::ToUnixMillis(clock_.Now() + absl::Seconds(10)));

  beat.set_lease_id("not-the-lease");
  EXPECT_EQ(stub_->Heartbeat(Ctx().get(), beat, &renewed).error_code(),
            grpc::StatusCode::NOT_FOUND);
  v1::LeaveRequest leave;
  leave.set_node_id("n1");
  leave.set_lease_id("not-the-lease");
  v1::LeaveResponse left;
  EXPECT_EQ(stub_->Leave(Ctx().get(), leave, &left).error_code(),
            grpc::StatusCode::NOT_FOUND);
  leave.set_lease_id(resp.lease_id());
  EXPECT_TRUE(stub_->Leave(Ctx().get(), leave, &left).ok());
  EXPECT_TRUE(ListedAddresses().empty());
}

TEST_F(PbtrackerServiceTest, UnreachableAddressIsRefused) {
  Start();
  grpc::Status s = Join("n1", "127.0.0.1:7002");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(s.error_message(),
            "address 127.0.0.1:7002 is not reachable: connection refused");
  EXPECT_TRUE(ListedAddresses().empty());

  // A probe without a verdict (busy, shutting down) is passed on as is.
  probe_.SetVerdict(absl::ResourceExhaustedError("too many probes"));
  s = Join("n1", "127.0.0.1:7002");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(s.error_message(), "too many probes");
}

// An unspecified host is replaced by the caller's IP (docs/PROTOCOL.md,
// Tracker "Address as seen"); an in-process caller has none: refused
// before any probe. (ops_address_test covers the substitution over TCP.)
TEST_F(PbtrackerServiceTest, UnspecifiedHostWithoutCallerIpIsRefused) {
  Start();
  for (const char* address : {"0.0.0.0:7003", "[::]:7003"}) {
    grpc::Status s = Join("n1", address);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << address;
    EXPECT_THAT(s.error_message(), HasSubstr("unspecified host")) << address;
  }
  EXPECT_TRUE(probe_.asked().empty());
  EXPECT_TRUE(ListedAddresses().empty());
}

TEST_F(PbtrackerServiceTest, MalformedJoinIsRefusedBeforeAnyProbe) {
  Start();
  v1::JoinRequest req = JoinReq("n1", "127.0.0.1:7001");
  req.set_genesis_hash("short");
  v1::JoinResponse resp;
  grpc::Status s = Join(req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("genesis_hash"));
  req = JoinReq("n1", "127.0.0.1:7001");
  req.set_role(static_cast<v1::PeerRole>(9));
  s = Join(req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("role"));
  EXPECT_TRUE(probe_.asked().empty());
}

TEST_F(PbtrackerServiceTest, NodeIdMovesOnlyAwayFromADeadAddress) {
  Start();
  probe_.SetReachable("127.0.0.1:7001", true);
  probe_.SetReachable("127.0.0.1:7002", true);
  ASSERT_TRUE(Join("x", "127.0.0.1:7001").ok());

  grpc::Status s = Join("x", "127.0.0.1:7002");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS)
      << s.error_message();
  EXPECT_THAT(ListedAddresses(), ElementsAre("x@127.0.0.1:7001"));

  probe_.SetReachable("127.0.0.1:7001", false);  // the old node died
  s = Join("x", "127.0.0.1:7002");
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_THAT(ListedAddresses(), ElementsAre("x@127.0.0.1:7002"));
  // New address first, then the old one, each time.
  EXPECT_THAT(probe_.asked(),
              ElementsAre("127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7001",
                          "127.0.0.1:7002", "127.0.0.1:7001"));
}

TEST_F(PbtrackerServiceTest, JoinFloodIsThrottled) {
  RegistryOptions options;
  options.max_joins_per_second = 2;
  Start(options);
  probe_.SetReachable("127.0.0.1:7001", true);
  ASSERT_TRUE(Join("a", "127.0.0.1:7001").ok());
  ASSERT_TRUE(Join("b", "127.0.0.1:7001").ok());
  grpc::Status s = Join("c", "127.0.0.1:7001");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(s.error_message(), HasSubstr("too many joins from IP"));
  EXPECT_THAT(s.error_message(), HasSubstr("retry in 500ms"));
  clock_.Advance(absl::Milliseconds(500));
  EXPECT_TRUE(Join("c", "127.0.0.1:7001").ok());
}

// "+id" / "-id" / "~id@height" per event, "snapshot:" first.
std::string Describe(const v1::WatchPeersResponse& msg) {
  std::string out = msg.snapshot() ? "snapshot:" : "";
  for (const v1::PeerEvent& e : msg.events()) {
    if (!out.empty() && out.back() != ':') out += " ";
    switch (e.type()) {
      case v1::PEER_EVENT_TYPE_ADDED:
        out += "+";
        break;
      case v1::PEER_EVENT_TYPE_REMOVED:
        out += "-";
        break;
      case v1::PEER_EVENT_TYPE_UPDATED:
        out += "~";
        break;
      default:
        out += "?";
    }
    out += e.peer().node_id();
    if (e.type() == v1::PEER_EVENT_TYPE_UPDATED) {
      out += "@" + std::to_string(e.peer().height());
    }
  }
  return out;
}

TEST_F(PbtrackerServiceTest, WatchPeersStreamsSnapshotThenChanges) {
  RegistryOptions options;
  options.lease_ttl = absl::Milliseconds(200);  // expiry sweeps every 50 ms
  options.heartbeat_interval = absl::Milliseconds(50);
  Start(options);
  probe_.SetReachable("127.0.0.1:7001", true);
  ASSERT_TRUE(Join("early", "127.0.0.1:7001").ok());

  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::WatchPeersRequest req;
  req.set_genesis_hash(kGenesis);
  req.set_exclude_node_id("me");
  auto reader = stub_->WatchPeers(&ctx, req);
  v1::WatchPeersResponse msg;
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_EQ(Describe(msg), "snapshot:+early");

  v1::JoinResponse joined;
  ASSERT_TRUE(Join(JoinReq("a", "127.0.0.1:7001"), &joined).ok());
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_EQ(Describe(msg), "+a");
  ASSERT_TRUE(Join("me", "127.0.0.1:7001").ok());  // left out of the stream

  v1::HeartbeatRequest beat;
  beat.set_node_id("a");
  beat.set_lease_id(joined.lease_id());
  beat.set_height(42);
  v1::HeartbeatResponse renewed;
  ASSERT_TRUE(stub_->Heartbeat(Ctx().get(), beat, &renewed).ok());
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_EQ(Describe(msg), "~a@42");

  v1::LeaveRequest leave;
  leave.set_node_id("a");
  leave.set_lease_id(joined.lease_id());
  v1::LeaveResponse left;
  ASSERT_TRUE(stub_->Leave(Ctx().get(), leave, &left).ok());
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_EQ(Describe(msg), "-a");

  // The expiry thread removes "early" (and "me", not shown) once the clock
  // passes their leases.
  clock_.Advance(absl::Milliseconds(200));
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_EQ(Describe(msg), "-early");

  ctx.TryCancel();
  while (reader->Read(&msg)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_F(PbtrackerServiceTest, WatchOfMalformedGenesisIsInvalidArgument) {
  Start();
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::WatchPeersRequest req;
  req.set_genesis_hash("nope");
  auto reader = stub_->WatchPeers(&ctx, req);
  v1::WatchPeersResponse msg;
  EXPECT_FALSE(reader->Read(&msg));
  grpc::Status s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("genesis_hash"));
}

TEST_F(PbtrackerServiceTest, ShutdownEndsOpenWatchStreamsWithUnavailable) {
  Start();
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::WatchPeersResponse>>>
      readers;
  for (int i = 0; i < 3; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    contexts.back()->set_deadline(std::chrono::system_clock::now() +
                                  std::chrono::seconds(60));
    v1::WatchPeersRequest req;
    req.set_genesis_hash(kGenesis);
    readers.push_back(stub_->WatchPeers(contexts.back().get(), req));
    v1::WatchPeersResponse msg;
    ASSERT_TRUE(readers.back()->Read(&msg));
    EXPECT_TRUE(msg.snapshot());
  }
  EXPECT_EQ(registry_->watcher_count(), 3u);
  service_->Shutdown();
  // UNAVAILABLE comes from the service ending the streams itself; a server
  // waiting for its deadline would cancel them instead.
  for (auto& reader : readers) {
    v1::WatchPeersResponse msg;
    EXPECT_FALSE(reader->Read(&msg));
    grpc::Status s = reader->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAVAILABLE)
        << s.error_message();
    EXPECT_EQ(s.error_message(), "the tracker is shutting down");
  }
  // New streams are refused.
  grpc::ClientContext ctx;
  v1::WatchPeersRequest req;
  req.set_genesis_hash(kGenesis);
  auto late = stub_->WatchPeers(&ctx, req);
  v1::WatchPeersResponse msg;
  EXPECT_FALSE(late->Read(&msg));
  EXPECT_EQ(late->Finish().error_code(), grpc::StatusCode::UNAVAILABLE);
}

}  // namespace
}  // namespace pbchain::tracker
