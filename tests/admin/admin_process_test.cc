// The admin API against real pbnode processes: the cookie files, the token
// check, the separate listener, reflection, and each method's effect seen
// from outside (peers through NodeService, mining through GetInfo, backups
// on disk, the process's exit).
#include <signal.h>

#include <array>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "chain/address.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/impl/codegen/client_unary_call.h"
#include "gtest/gtest.h"
#include "storage/rocksdb_store.h"
#include "tests/admin/admin_harness.h"
#include "tests/chain/test_chain.h"
#include "tests/util/process.h"

namespace pbchain::testing {
namespace {

bool IsLowerHex(const std::string& s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return !s.empty();
}

std::string MinerFlag() {
  return "--miner_address=" +
         AddressFromPublicKey(TestKey(0).public_key()).ToText();
}

TEST(AdminProcessTest, CookieIsFreshPerStartPrivateAndRemovedAtCleanExit) {
  TempDir dir("admin_cookie");
  const std::string genesis = WriteGenesis(dir, "admin-cookie");
  const std::string data = dir.Sub("data");
  std::string first;
  {
    AdminNode n = StartAdminNode(data, genesis, dir.Sub("n1.log"));
    ASSERT_NE(n.admin, nullptr);
    first = n.token();
    EXPECT_EQ(first.size(), 64u);
    EXPECT_TRUE(IsLowerHex(first)) << first;
    EXPECT_EQ(FileMode(n.cookie_path()), 0600);
    EXPECT_EQ(FileMode(n.address_path()), 0644);
    EXPECT_EQ(ReadText(n.address_path()), n.admin_address + "\n");
    v1::ListBansResponse bans;
    grpc::Status s =
        n.admin->ListBans(Authed(n).get(), v1::ListBansRequest(), &bans);
    EXPECT_TRUE(s.ok()) << s.error_message();
    // A clean exit (SIGTERM) removes both files.
    n.node.process->Kill(SIGTERM);
    EXPECT_EQ(n.node.process->Wait(), 0);
    EXPECT_EQ(FileMode(n.cookie_path()), -1);
    EXPECT_EQ(FileMode(n.address_path()), -1);
  }
  std::string second;
  {
    AdminNode n = StartAdminNode(data, genesis, dir.Sub("n2.log"));
    ASSERT_NE(n.admin, nullptr);
    second = n.token();
    EXPECT_NE(second, first);
    v1::ListBansResponse bans;
    // The previous start's token is refused.
    grpc::Status s = n.admin->ListBans(Ctx("Bearer " + first).get(),
                                       v1::ListBansRequest(), &bans);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED);
    // kill -9: the files stay behind...
    n.node.process->Kill(SIGKILL);
    EXPECT_EQ(n.node.process->Wait(), 128 + SIGKILL);
    EXPECT_EQ(ReadText(n.cookie_path()), second);
  }
  {
    // ...and the next start replaces them.
    AdminNode n = StartAdminNode(data, genesis, dir.Sub("n3.log"));
    ASSERT_NE(n.admin, nullptr);
    const std::string third = n.token();
    EXPECT_NE(third, second);
    EXPECT_EQ(ReadText(n.address_path()), n.admin_address + "\n");
    v1::ListBansResponse bans;
    EXPECT_EQ(n.admin
                  ->ListBans(Ctx("Bearer " + second).get(),
                             v1::ListBansRequest(), &bans)
                  .error_code(),
              grpc::StatusCode::UNAUTHENTICATED);
    EXPECT_TRUE(
        n.admin->ListBans(Authed(n).get(), v1::ListBansRequest(), &bans).ok());
  }
}

TEST(AdminProcessTest, CallsWithoutTheTokenAreUnauthenticatedExceptHealth) {
  TempDir dir("admin_auth");
  AdminNode n = StartAdminNode(dir.Sub("data"), WriteGenesis(dir, "admin-auth"),
                               dir.Sub("node.log"));
  ASSERT_NE(n.admin, nullptr);
  const std::string wrong(64, '0');
  for (const std::string& authorization :
       {std::string(), "Bearer " + wrong, std::string("Bearer"),
        "Basic " + n.token(), "Bearer " + n.token() + "x"}) {
    v1::ListBansResponse bans;
    grpc::Status s = n.admin->ListBans(Ctx(authorization).get(),
                                       v1::ListBansRequest(), &bans);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED)
        << "'" << authorization << "': " << s.error_message();
    EXPECT_TRUE(absl::StrContains(s.error_message(), ".cookie"))
        << s.error_message();
  }
  // No handler ran for those: the stop below would end the process.
  v1::StopNodeResponse stopped;
  EXPECT_EQ(n.admin
                ->StopNode(Ctx("Bearer " + wrong).get(), v1::StopNodeRequest(),
                           &stopped)
                .error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // Health answers without a token (probes).
  auto channel =
      grpc::CreateChannel(n.admin_address, grpc::InsecureChannelCredentials());
  grpc::health::v1::HealthCheckResponse status;
  grpc::Status s = grpc::internal::BlockingUnaryCall(
      channel.get(),
      grpc::internal::RpcMethod("/grpc.health.v1.Health/Check",
                                grpc::internal::RpcMethod::NORMAL_RPC),
      Ctx("").get(), grpc::health::v1::HealthCheckRequest(), &status);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(status.status(), grpc::health::v1::HealthCheckResponse::SERVING);
  // The right token works, and the process is still there.
  v1::ListBansResponse bans;
  s = n.admin->ListBans(Authed(n).get(), v1::ListBansRequest(), &bans);
  EXPECT_TRUE(s.ok()) << s.error_message();
  // The refusals were logged, rate-limited, never with the token.
  const std::string log = ReadText(n.log);
  size_t lines = 0;
  for (size_t at = log.find("refused:"); at != std::string::npos;
       at = log.find("refused:", at + 1)) {
    ++lines;
  }
  EXPECT_GE(lines, 1u) << log;
  EXPECT_LT(lines, 6u) << "six refusals, not rate-limited:\n" << log;
  EXPECT_FALSE(absl::StrContains(log, wrong)) << log;
  EXPECT_FALSE(absl::StrContains(log, n.token())) << log;
}

TEST(AdminProcessTest, AdminServiceIsOnlyOnTheAdminListener) {
  TempDir dir("admin_ports");
  AdminNode n = StartAdminNode(
      dir.Sub("data"), WriteGenesis(dir, "admin-ports"), dir.Sub("node.log"));
  ASSERT_NE(n.admin, nullptr);
  EXPECT_NE(n.admin_address, n.node.address);
  auto on_public = v1::AdminService::NewStub(
      grpc::CreateChannel(n.node.address, grpc::InsecureChannelCredentials()));
  v1::ListBansResponse bans;
  EXPECT_EQ(on_public->ListBans(Authed(n).get(), v1::ListBansRequest(), &bans)
                .error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  v1::StopNodeResponse stopped;
  EXPECT_EQ(
      on_public->StopNode(Authed(n).get(), v1::StopNodeRequest(), &stopped)
          .error_code(),
      grpc::StatusCode::UNIMPLEMENTED);
  // And the public API is not on the admin listener.
  auto node_on_admin = v1::NodeService::NewStub(
      grpc::CreateChannel(n.admin_address, grpc::InsecureChannelCredentials()));
  v1::GetInfoResponse info;
  EXPECT_EQ(node_on_admin->GetInfo(Authed(n).get(), v1::GetInfoRequest(), &info)
                .error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
}


TEST(AdminProcessTest, ReflectionOnTheAdminListenerListsAdminService) {
  const std::string kBuf =
      std::string(PBCHAIN_SOURCE_DIR) + "/tools/node_modules/.bin/buf";
  ASSERT_EQ(access(kBuf.c_str(), X_OK), 0)
      << kBuf << " missing: run tools/lint-proto.sh";
  TempDir dir("admin_reflection");
  AdminNode n = StartAdminNode(dir.Sub("data"), WriteGenesis(dir, "admin-refl"),
                               dir.Sub("node.log"));
  ASSERT_NE(n.admin, nullptr);
  // Plain HTTP/2 on the wire (local credentials), so a plaintext client
  // works; reflection needs the token like every admin call.
  const std::string curl =
      kBuf +
      " curl --protocol grpc --http2-prior-knowledge --reflect-protocol "
      "grpc-v1alpha ";
  const std::string header = "'authorization: Bearer " + n.token() + "'";
  const std::string url = "http://" + n.admin_address;
  int code = 0;
  std::string services = testing::RunShellCommand(
      curl + "--reflect-header " + header + " --list-services " + url, &code);
  ASSERT_EQ(code, 0) << services;
  EXPECT_TRUE(absl::StrContains(services, "pbchain.v1.AdminService"))
      << services;
  EXPECT_TRUE(absl::StrContains(services, "grpc.health.v1.Health")) << services;
  EXPECT_FALSE(absl::StrContains(services, "pbchain.v1.NodeService"))
      << services;
  // A call through reflection.
  std::string bans = testing::RunShellCommand(curl + "--reflect-header " + header + " -H " +
                                    header + " --data '{}' " + url +
                                    "/pbchain.v1.AdminService/ListBans",
                                &code);
  EXPECT_EQ(code, 0) << bans;
  // Without the token, reflection is refused.
  std::string refused = testing::RunShellCommand(curl + "--list-services " + url, &code);
  EXPECT_NE(code, 0) << refused;
  EXPECT_FALSE(absl::StrContains(refused, "pbchain.v1.AdminService"))
      << refused;
}

TEST(AdminProcessTest, AddPeerConnectsTwoNodesAndDisconnectDropsIt) {
  TempDir dir("admin_peers");
  const std::string genesis = WriteGenesis(dir, "admin-peers");
  // a takes no inbound peers, so only its own dial (add-peer) links them.
  AdminNode a = StartAdminNode(dir.Sub("a"), genesis, dir.Sub("a.log"),
                               {"--max_inbound=0"});
  AdminNode b = StartAdminNode(dir.Sub("b"), genesis, dir.Sub("b.log"));
  ASSERT_NE(a.admin, nullptr);
  ASSERT_NE(b.admin, nullptr);
  EXPECT_EQ(a.Info().peer_count(), 0u);

  v1::AddPeerRequest add;
  add.set_address(b.node.address);
  v1::AddPeerResponse added;
  grpc::Status s = a.admin->AddPeer(Authed(a).get(), add, &added);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(added.already_connected());
  ASSERT_TRUE(Eventually([&] {
    return a.Info().peer_count() == 1 && b.Info().peer_count() == 1;
  })) << ReadText(a.log);
  // Adding it again says so.
  s = a.admin->AddPeer(Authed(a).get(), add, &added);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(added.already_connected());

  v1::DisconnectPeerRequest drop;
  drop.set_target(b.node_id());
  v1::DisconnectPeerResponse dropped;
  s = a.admin->DisconnectPeer(Authed(a).get(), drop, &dropped);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(dropped.sessions_closed(), 1u);
  EXPECT_GE(dropped.addresses_forgotten(), 1u);
  ASSERT_TRUE(Eventually([&] {
    return a.Info().peer_count() == 0 && b.Info().peer_count() == 0;
  }));
  // a forgot b's address: it is not among a's known peers.
  grpc::ClientContext ctx;
  v1::ListPeersResponse peers;
  ASSERT_TRUE(
      a.node.stub->ListPeers(&ctx, v1::ListPeersRequest(), &peers).ok());
  for (const v1::PeerInfo& known : peers.known()) {
    EXPECT_NE(known.address(), b.node.address);
  }
  EXPECT_EQ(peers.connected_size(), 0);
  // Nothing left to disconnect.
  s = a.admin->DisconnectPeer(Authed(a).get(), drop, &dropped);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
}

TEST(AdminProcessTest, BannedPeerCannotConnectUntilUnbanned) {
  TempDir dir("admin_ban");
  const std::string genesis = WriteGenesis(dir, "admin-ban");
  AdminNode a = StartAdminNode(dir.Sub("a"), genesis, dir.Sub("a.log"));
  ASSERT_NE(a.admin, nullptr);
  // b keeps dialing a (a --peer seed).
  AdminNode b = StartAdminNode(dir.Sub("b"), genesis, dir.Sub("b.log"),
                               {"--peer=" + a.node.address});
  ASSERT_NE(b.admin, nullptr);
  ASSERT_TRUE(Eventually([&] { return a.Info().peer_count() == 1; }));

  v1::BanPeerRequest ban;
  ban.set_target(b.node_id());
  ban.set_duration_seconds(600);
  ban.set_reason("testing bans");
  v1::BanPeerResponse banned;
  const int64_t before = absl::ToUnixSeconds(absl::Now());
  grpc::Status s = a.admin->BanPeer(Authed(a).get(), ban, &banned);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(banned.sessions_closed(), 1u);
  EXPECT_GE(banned.until(), before + 600);
  EXPECT_LE(banned.until(), absl::ToUnixSeconds(absl::Now()) + 600);

  v1::ListBansResponse bans;
  ASSERT_TRUE(
      a.admin->ListBans(Authed(a).get(), v1::ListBansRequest(), &bans).ok());
  ASSERT_EQ(bans.bans_size(), 1);
  EXPECT_EQ(bans.bans(0).target(), b.node_id());
  EXPECT_EQ(bans.bans(0).reason(), "testing bans");
  EXPECT_EQ(bans.bans(0).until(), banned.until());

  // b dials again and is refused at the handshake (its log shows a's
  // Reject of a new session, not only the one that ended the old).
  ASSERT_TRUE(Eventually([&] {
    return absl::StrContains(ReadText(b.log), "try again later");
  })) << ReadText(b.log);
  EXPECT_EQ(a.Info().peer_count(), 0u);

  v1::UnbanPeerRequest unban;
  unban.set_target(b.node_id());
  v1::UnbanPeerResponse unbanned;
  s = a.admin->UnbanPeer(Authed(a).get(), unban, &unbanned);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(
      a.admin->ListBans(Authed(a).get(), v1::ListBansRequest(), &bans).ok());
  EXPECT_EQ(bans.bans_size(), 0);
  // b's next dial gets in (its backoff is at most kMaxDialBackoff, 30 s).
  EXPECT_TRUE(Eventually([&] { return a.Info().peer_count() == 1; }))
      << ReadText(a.log);
  // Unbanning again: nothing to lift.
  s = a.admin->UnbanPeer(Authed(a).get(), unban, &unbanned);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST(AdminProcessTest, MiningStartsAndStopsAtRunTime) {
  TempDir dir("admin_mining");
  const std::string genesis = WriteGenesis(dir, "admin-mining");
  AdminNode n = StartAdminNode(dir.Sub("data"), genesis, dir.Sub("node.log"),
                               {MinerFlag()});
  ASSERT_NE(n.admin, nullptr);
  EXPECT_FALSE(n.Info().mining());
  EXPECT_EQ(n.Info().height(), 0u);

  v1::SetMiningRequest on;
  on.set_enabled(true);
  on.set_threads(2);
  v1::SetMiningResponse state;
  grpc::Status s = n.admin->SetMining(Authed(n).get(), on, &state);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_TRUE(state.enabled());
  EXPECT_EQ(state.threads(), 2u);
  ASSERT_TRUE(Eventually([&] {
    v1::GetInfoResponse info = n.Info();
    return info.mining() && info.height() >= 2;
  })) << ReadText(n.log);

  v1::SetMiningRequest off;
  off.set_enabled(false);
  s = n.admin->SetMining(Authed(n).get(), off, &state);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_FALSE(state.enabled());
  EXPECT_EQ(state.threads(), 2u);  // 0 kept the number
  EXPECT_TRUE(Eventually([&] { return !n.Info().mining(); }));

  v1::SetMiningRequest too_many;
  too_many.set_enabled(true);
  too_many.set_threads(65);
  s = n.admin->SetMining(Authed(n).get(), too_many, &state);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "threads"))
      << s.error_message();
}

TEST(AdminProcessTest, MiningWithoutAMinerAddressIsAFailedPrecondition) {
  TempDir dir("admin_nominer");
  AdminNode n = StartAdminNode(
      dir.Sub("data"), WriteGenesis(dir, "admin-nominer"), dir.Sub("node.log"));
  ASSERT_NE(n.admin, nullptr);
  v1::SetMiningRequest on;
  on.set_enabled(true);
  v1::SetMiningResponse state;
  grpc::Status s = n.admin->SetMining(Authed(n).get(), on, &state);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "--miner_address"))
      << s.error_message();
}

TEST(AdminProcessTest, BackupTakesABackupIntoTheBackupDir) {
  TempDir dir("admin_backup");
  const std::string genesis = WriteGenesis(dir, "admin-backup");
  const std::string backups = dir.Sub("backups");
  AdminNode n = StartAdminNode(dir.Sub("data"), genesis, dir.Sub("node.log"),
                               {"--backup_dir=" + backups});
  ASSERT_NE(n.admin, nullptr);
  v1::BackupResponse taken;
  grpc::Status s =
      n.admin->Backup(Authed(n).get(), v1::BackupRequest(), &taken);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(taken.backup_dir(), backups);
  absl::StatusOr<std::vector<BackupInfo>> list = ListBackups(backups);
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].id, taken.backup_id());
  // A second one is a new backup.
  s = n.admin->Backup(Authed(n).get(), v1::BackupRequest(), &taken);
  ASSERT_TRUE(s.ok()) << s.error_message();
  list = ListBackups(backups);
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->size(), 2u);

  // Without --backup_dir: nowhere to write.
  TempDir other("admin_nobackup");
  AdminNode m =
      StartAdminNode(other.Sub("data"), genesis, other.Sub("node.log"));
  ASSERT_NE(m.admin, nullptr);
  s = m.admin->Backup(Authed(m).get(), v1::BackupRequest(), &taken);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StrContains(s.error_message(), "--backup_dir"))
      << s.error_message();
}

TEST(AdminProcessTest, StopNodeAnswersThenExitsCleanly) {
  TempDir dir("admin_stop");
  AdminNode n = StartAdminNode(dir.Sub("data"), WriteGenesis(dir, "admin-stop"),
                               dir.Sub("node.log"));
  ASSERT_NE(n.admin, nullptr);
  v1::StopNodeResponse stopped;
  grpc::Status s =
      n.admin->StopNode(Authed(n).get(), v1::StopNodeRequest(), &stopped);
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(n.node.process->Wait(), 0) << ReadText(n.log);
  EXPECT_EQ(FileMode(n.cookie_path()), -1);
  EXPECT_EQ(FileMode(n.address_path()), -1);
  EXPECT_TRUE(absl::StrContains(ReadText(n.log), "stopped cleanly"));
}

TEST(AdminProcessTest, BadArgumentsAreInvalidArgumentNamingTheField) {
  TempDir dir("admin_args");
  AdminNode n = StartAdminNode(dir.Sub("data"), WriteGenesis(dir, "admin-args"),
                               dir.Sub("node.log"));
  ASSERT_NE(n.admin, nullptr);
  auto expect_invalid = [](const grpc::Status& s, const std::string& field) {
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << s.error_message();
    EXPECT_TRUE(absl::StrContains(s.error_message(), field))
        << field << ": " << s.error_message();
  };
  v1::AddPeerRequest add;
  v1::AddPeerResponse added;
  add.set_address("no-port");
  expect_invalid(n.admin->AddPeer(Authed(n).get(), add, &added), "address");
  add.set_address(n.node.address);  // itself
  expect_invalid(n.admin->AddPeer(Authed(n).get(), add, &added), "address");

  v1::BanPeerRequest ban;
  v1::BanPeerResponse banned;
  expect_invalid(n.admin->BanPeer(Authed(n).get(), ban, &banned), "target");
  ban.set_target("127.0.0.1");
  expect_invalid(n.admin->BanPeer(Authed(n).get(), ban, &banned), "loopback");
  ban.set_target("has space");
  expect_invalid(n.admin->BanPeer(Authed(n).get(), ban, &banned), "target");
  ban.set_target("10.0.0.1");
  ban.set_duration_seconds(315360001);
  expect_invalid(n.admin->BanPeer(Authed(n).get(), ban, &banned),
                 "duration_seconds");
  ban.set_duration_seconds(0);
  ban.set_reason(std::string(257, 'r'));
  expect_invalid(n.admin->BanPeer(Authed(n).get(), ban, &banned), "reason");
  // A bracketed IPv6 address is the same ban as the bare one.
  ban.set_reason("");
  ban.set_target("[2001:DB8::1]");
  ASSERT_TRUE(n.admin->BanPeer(Authed(n).get(), ban, &banned).ok());
  v1::UnbanPeerRequest unban;
  v1::UnbanPeerResponse unbanned;
  unban.set_target("2001:db8::1");
  EXPECT_TRUE(n.admin->UnbanPeer(Authed(n).get(), unban, &unbanned).ok());

  v1::SetLogLevelRequest level;
  v1::SetLogLevelResponse levels;
  level.set_verbosity(11);
  expect_invalid(n.admin->SetLogLevel(Authed(n).get(), level, &levels),
                 "verbosity");
  level.clear_verbosity();
  level.set_min_log_level(4);
  expect_invalid(n.admin->SetLogLevel(Authed(n).get(), level, &levels),
                 "min_log_level");
  // A good change returns the values before and after.
  level.Clear();
  level.set_verbosity(3);
  ASSERT_TRUE(n.admin->SetLogLevel(Authed(n).get(), level, &levels).ok());
  EXPECT_EQ(levels.previous_verbosity(), 0);
  EXPECT_EQ(levels.verbosity(), 3);
  level.Clear();  // read only
  ASSERT_TRUE(n.admin->SetLogLevel(Authed(n).get(), level, &levels).ok());
  EXPECT_EQ(levels.previous_verbosity(), 3);
  EXPECT_EQ(levels.verbosity(), 3);
}

TEST(AdminProcessTest, AdminListenFlagIsCheckedAndMayBeOff) {
  TempDir dir("admin_flag");
  const std::string genesis = WriteGenesis(dir, "admin-flag");
  for (const std::string& bad : {std::string("--admin_listen=0.0.0.0:0"),
                                 std::string("--admin_listen=nope"),
                                 std::string("--admin-listen=10.1.2.3:0")}) {
    ChildProcess node(PbnodeBinary(),
                      {"--listen=127.0.0.1:0", "--datadir=" + dir.Sub("bad"),
                       "--genesis=" + genesis, bad},
                      dir.Sub("bad.log"));
    EXPECT_EQ(node.Wait(), 2) << bad;
    const std::string log = ReadText(dir.Sub("bad.log"));
    EXPECT_TRUE(absl::StrContains(log, "pbnode: --admin_listen: ")) << log;
    EXPECT_FALSE(std::filesystem::exists(dir.Sub("bad"))) << bad;
  }
  // Empty: no admin listener, no cookie.
  RunningPbnode off = StartPbnode(dir.Sub("off"), genesis, dir.Sub("off.log"),
                                  {"--admin_listen="});
  ASSERT_NE(off.stub, nullptr);
  grpc::ClientContext ctx;
  v1::GetInfoResponse info;
  ASSERT_TRUE(off.stub->GetInfo(&ctx, v1::GetInfoRequest(), &info).ok());
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("off") + "/.cookie"));
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("off") + "/.admin-address"));
}

}  // namespace
}  // namespace pbchain::testing
