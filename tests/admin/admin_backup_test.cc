// The admin Backup call runs off gRPC's callback threads: an in-process
// node (real RocksDB datadir, real Network without a maintenance thread)
// served by real gRPC listeners (NodeService on a public one, AdminService
// on an admin one with the cookie check), a backup held in progress by the
// service's test hook.
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "node/admin/admin_server.h"
#include "node/admin/admin_service.h"
#include "node/core/node.h"
#include "node/p2p/network.h"
#include "node/rpc/node_service.h"
#include "pbchain/v1/admin.grpc.pb.h"
#include "pbchain/v1/node.grpc.pb.h"
#include "storage/rocksdb_store.h"
#include "tests/chain/test_chain.h"

namespace pbchain {
namespace {

constexpr char kToken[] = "0123456789abcdef0123456789abcdef";

// A gate the backup thread waits at until the test opens it.
class Gate {
 public:
  // Called on the backup thread.
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    ++arrived_;
    cv_.notify_all();
    cv_.wait(lock, [this] { return open_; });
  }
  bool WaitArrived(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(30),
                        [&] { return arrived_ >= n; });
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int arrived_ = 0;    // guarded by mu_
  bool open_ = false;  // guarded by mu_
};

std::chrono::system_clock::time_point In(int seconds) {
  return std::chrono::system_clock::now() + std::chrono::seconds(seconds);
}

class AdminBackupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/admin_backup_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    NodeOptions options;
    options.datadir = dir_ + "/data";
    options.params = testing::TestParams(4, 1'000'000);
    options.backup_dir = dir_ + "/backups";
    absl::StatusOr<std::unique_ptr<Node>> node = Node::Create(options);
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = *std::move(node);
    NetworkOptions net;
    net.advertise = "127.0.0.1:17001";
    net.maintenance_thread = false;
    network_ = std::make_unique<Network>(node_.get(), net);
    network_->Start();

    node_service_ = std::make_unique<NodeServiceImpl>(node_.get());
    GrpcServerConfig public_config;
    public_config.listen = "127.0.0.1:0";
    absl::StatusOr<std::unique_ptr<GrpcServer>> public_server =
        GrpcServer::Start(public_config, {node_service_.get()});
    ASSERT_TRUE(public_server.ok()) << public_server.status();
    public_server_ = *std::move(public_server);

    admin_service_ =
        std::make_unique<AdminServiceImpl>(node_.get(), network_.get(), [] {});
    admin_service_->SetBackupHookForTesting([this] { gate_.Wait(); });
    absl::StatusOr<GrpcServerConfig> admin_config = MakeAdminServerConfig(
        "127.0.0.1:0", ServerTlsFiles(), kToken, 4 * 1024 * 1024);
    ASSERT_TRUE(admin_config.ok()) << admin_config.status();
    absl::StatusOr<std::unique_ptr<GrpcServer>> admin_server =
        GrpcServer::Start(*admin_config, {admin_service_.get()});
    ASSERT_TRUE(admin_server.ok()) << admin_server.status();
    admin_server_ = *std::move(admin_server);

    node_stub_ = v1::NodeService::NewStub(grpc::CreateChannel(
        public_server_->address(), grpc::InsecureChannelCredentials()));
    admin_stub_ = v1::AdminService::NewStub(grpc::CreateChannel(
        admin_server_->address(), grpc::InsecureChannelCredentials()));
  }

  void TearDown() override {
    gate_.Open();  // a held backup finishes, so the servers can stop
    if (admin_server_) admin_server_->Stop(absl::Seconds(5));
    if (public_server_) public_server_->Stop(absl::Seconds(5));
    admin_service_.reset();
    node_service_.reset();
    if (node_) node_->Stop();
    if (network_) network_->Stop();
    network_.reset();
    node_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  std::unique_ptr<grpc::ClientContext> Authed(int deadline_seconds) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->AddMetadata("authorization", std::string("Bearer ") + kToken);
    ctx->set_deadline(In(deadline_seconds));
    return ctx;
  }

  std::string dir_;
  Gate gate_;
  std::unique_ptr<Node> node_;
  std::unique_ptr<Network> network_;
  std::unique_ptr<NodeServiceImpl> node_service_;
  std::unique_ptr<AdminServiceImpl> admin_service_;
  std::unique_ptr<GrpcServer> public_server_;
  std::unique_ptr<GrpcServer> admin_server_;
  std::unique_ptr<v1::NodeService::Stub> node_stub_;
  std::unique_ptr<v1::AdminService::Stub> admin_stub_;
};

// While one backup is in progress, the public and admin APIs answer, a
// second backup is refused, and the first one completes when released.
TEST_F(AdminBackupTest, ABackupInProgressBlocksNoOtherCall) {
  // The first backup, asynchronously; it waits at the gate.
  v1::BackupResponse first;
  grpc::Status first_status;
  bool first_done = false;
  std::mutex done_mu;
  std::condition_variable done_cv;
  const v1::BackupRequest request;
  std::unique_ptr<grpc::ClientContext> first_ctx = Authed(60);
  admin_stub_->async()->Backup(first_ctx.get(), &request, &first,
                               [&](grpc::Status s) {
                                 std::lock_guard<std::mutex> lock(done_mu);
                                 first_status = std::move(s);
                                 first_done = true;
                                 done_cv.notify_all();
                               });
  ASSERT_TRUE(gate_.WaitArrived(1)) << "the backup never started";

  // More calls than gRPC has callback threads on a small box, each of which
  // would be stuck behind a backup run on a callback thread.
  for (int i = 0; i < 4; ++i) {
    v1::BackupResponse second;
    grpc::Status s =
        admin_stub_->Backup(Authed(10).get(), v1::BackupRequest(), &second);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION)
        << s.error_message();
    EXPECT_TRUE(absl::StrContains(s.error_message(), "a backup is in progress"))
        << s.error_message();

    grpc::ClientContext info_ctx;
    info_ctx.set_deadline(In(10));
    v1::GetInfoResponse info;
    s = node_stub_->GetInfo(&info_ctx, v1::GetInfoRequest(), &info);
    EXPECT_TRUE(s.ok()) << s.error_message();

    v1::ListBansResponse bans;
    s = admin_stub_->ListBans(Authed(10).get(), v1::ListBansRequest(), &bans);
    EXPECT_TRUE(s.ok()) << s.error_message();
  }
  {
    std::lock_guard<std::mutex> lock(done_mu);
    EXPECT_FALSE(first_done) << "the held backup answered early";
  }

  gate_.Open();
  {
    std::unique_lock<std::mutex> lock(done_mu);
    ASSERT_TRUE(done_cv.wait_for(lock, std::chrono::seconds(60),
                                 [&] { return first_done; }));
  }
  ASSERT_TRUE(first_status.ok()) << first_status.error_message();
  EXPECT_EQ(first.backup_dir(), dir_ + "/backups");
  absl::StatusOr<std::vector<BackupInfo>> list = ListBackups(dir_ + "/backups");
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].id, first.backup_id());

  // Once it is done, the next backup is taken (not refused).
  v1::BackupResponse next;
  grpc::Status s =
      admin_stub_->Backup(Authed(60).get(), v1::BackupRequest(), &next);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_NE(next.backup_id(), first.backup_id());
}

}  // namespace
}  // namespace pbchain
