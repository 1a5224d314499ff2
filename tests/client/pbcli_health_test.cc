// `pbcli health` (issue 17: the container image's HEALTHCHECK) as a real
// process: against a real pbnode (SERVING for the whole server and for
// pbchain.datadir), against an in-test gRPC server whose default health
// service says NOT_SERVING for one service (exit 1, the status printed),
// an unknown service (NOT_FOUND, exit 1), a port nobody listens on
// (UNAVAILABLE, exit 1) and bad usage (exit 2). The node is stopped and
// the temp dir removed at the end, also on failure.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/exit_codes.h"
#include "gtest/gtest.h"
#include "grpcpp/generic/async_generic_service.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "nlohmann/json.hpp"
#include "tests/client/client_harness.h"

namespace pbchain::client {
namespace {

using namespace ::pbchain::client::testing;  // NOLINT: test helpers

Result Health(const std::string& dir, const std::vector<std::string>& args) {
  return RunProcess(Bin("pbcli"), args, dir);
}

TEST(PbcliHealthTest, RealNodeIsServing) {
  TempDir dir("pbcli_health");
  const std::string d = dir.path().string();
  Result g = RunProcess(Bin("pbtool"),
                        {"genesis", "--out", d + "/genesis.json"}, d);
  ASSERT_EQ(g.code, 0) << g.Show();
  std::optional<Node> node = StartNode(d, "node", d + "/genesis.json", {});
  ASSERT_TRUE(node.has_value());

  Result whole = Health(d, {"health", "--node", node->address});
  EXPECT_EQ(whole.code, kExitOk) << whole.Show();
  EXPECT_EQ(whole.out, "SERVING\n");

  Result datadir = Health(d, {"--json", "health", "--node", node->address,
                              "--service", "pbchain.datadir"});
  EXPECT_EQ(datadir.code, kExitOk) << datadir.Show();
  Json j = datadir.OutJson();
  EXPECT_EQ(j["status"], "SERVING");
  EXPECT_EQ(j["service"], "pbchain.datadir");
  EXPECT_EQ(j["node"], node->address);

  Result unknown = Health(d, {"health", "--node", node->address, "--service",
                              "no.such.Service"});
  EXPECT_EQ(unknown.code, kExitFailure) << unknown.Show();
  EXPECT_TRUE(absl::StrContains(unknown.err, "unknown service")) << unknown.err;
  EXPECT_TRUE(absl::StrContains(unknown.err, "NOT_FOUND")) << unknown.err;
  StopNode(*node);

  // The same address once the node is gone: no answer, exit 1.
  Result gone = Health(d, {"health", "--node", node->address, "--timeout",
                           "2s"});
  EXPECT_EQ(gone.code, kExitFailure) << gone.Show();
  EXPECT_TRUE(absl::StrContains(gone.err, "health of " + node->address))
      << gone.err;
  EXPECT_EQ(gone.out, "");
}

TEST(PbcliHealthTest, NotServingIsExitOne) {
  TempDir dir("pbcli_health");
  const std::string d = dir.path().string();
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  // A server needs a service of its own besides health; this one answers
  // nothing (UNIMPLEMENTED for every other method).
  grpc::CallbackGenericService nothing;
  builder.RegisterCallbackGenericService(&nothing);
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  ASSERT_GT(port, 0);
  grpc::HealthCheckServiceInterface* health = server->GetHealthCheckService();
  ASSERT_NE(health, nullptr);
  health->SetServingStatus("pbchain.test.Up", true);
  health->SetServingStatus("pbchain.test.Down", false);
  const std::string address = absl::StrCat("127.0.0.1:", port);

  Result up = Health(d, {"health", "--node", address, "--service",
                         "pbchain.test.Up"});
  EXPECT_EQ(up.code, kExitOk) << up.Show();
  EXPECT_EQ(up.out, "SERVING\n");

  Result down = Health(d, {"health", "--node", address, "--service",
                           "pbchain.test.Down"});
  EXPECT_EQ(down.code, kExitFailure) << down.Show();
  EXPECT_EQ(down.out, "NOT_SERVING\n");
  EXPECT_TRUE(absl::StrContains(down.err, "(service pbchain.test.Down): "
                                          "NOT_SERVING"))
      << down.err;

  // The whole server turning NOT_SERVING (as pbnode does on SIGTERM).
  health->SetServingStatus(false);
  Result whole = Health(d, {"health", "--node", address, "--json"});
  EXPECT_EQ(whole.code, kExitFailure) << whole.Show();
  EXPECT_EQ(whole.OutJson()["status"], "NOT_SERVING");
  server->Shutdown();
}

TEST(PbcliHealthTest, BadUsageIsExitTwo) {
  TempDir dir("pbcli_health");
  const std::string d = dir.path().string();
  const std::string dead = absl::StrCat("127.0.0.1:", DeadPort());
  Result extra = Health(d, {"health", "surplus", "--node", dead});
  EXPECT_EQ(extra.code, kExitUsage) << extra.Show();
  Result long_name = Health(
      d, {"health", "--node", dead, "--service", std::string(201, 'x')});
  EXPECT_EQ(long_name.code, kExitUsage) << long_name.Show();
  EXPECT_TRUE(absl::StrContains(long_name.err, "--service")) << long_name.err;
  Result bad_node = Health(d, {"health", "--node", "no-port"});
  EXPECT_EQ(bad_node.code, kExitUsage) << bad_node.Show();
  Result missing_ca =
      Health(d, {"health", "--node", dead, "--tls-ca", d + "/missing.crt"});
  EXPECT_EQ(missing_ca.code, kExitUsage) << missing_ca.Show();
  // Listed in the usage, with help of its own (no node needed).
  Result usage = Health(d, {"help"});
  EXPECT_TRUE(absl::StrContains(usage.out, "  health [--service NAME]"))
      << usage.out;
  Result help = Health(d, {"health", "--help"});
  EXPECT_EQ(help.code, kExitOk) << help.Show();
  EXPECT_TRUE(absl::StrContains(help.out, "Example: pbcli health")) << help.out;
  // --service belongs to health only.
  Result other = Health(d, {"info", "--node", dead, "--service", "x"});
  EXPECT_EQ(other.code, kExitUsage) << other.Show();
}

}  // namespace
}  // namespace pbchain::client
