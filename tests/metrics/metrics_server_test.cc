// common/metrics_server.h: the /metrics endpoint on a real socket (scraped
// over HTTP and parsed), its address checks and a port in use; RpcMetrics
// as the interceptor of a real GrpcServer (health calls by method and code,
// an unknown method as "other").
#include "common/metrics_server.h"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/notification.h"
#include "common/server.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "gtest/gtest.h"
#include "prometheus/counter.h"
#include "prometheus/registry.h"
#include "tests/metrics/metrics_util.h"

namespace pbchain {
namespace {

using HealthRequest = grpc::health::v1::HealthCheckRequest;
using HealthResponse = grpc::health::v1::HealthCheckResponse;
using metricstest::Find;

absl::StatusOr<std::vector<metricstest::Sample>> Scrape(
    const std::string& address) {
  absl::StatusOr<metricstest::HttpResponse> r =
      metricstest::HttpGet(address, "/metrics");
  if (!r.ok()) return r.status();
  if (r->status != 200) {
    return absl::InternalError(absl::StrCat("HTTP ", r->status));
  }
  return metricstest::ParseExposition(r->body);
}

TEST(MetricsServerTest, ServesRegisteredCollectablesOnAFreePort) {
  absl::StatusOr<std::unique_ptr<MetricsServer>> server =
      MetricsServer::Start("127.0.0.1:0");
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_GT((*server)->port(), 0);
  EXPECT_EQ((*server)->host(), "127.0.0.1");
  EXPECT_EQ((*server)->address(),
            absl::StrCat("127.0.0.1:", (*server)->port()));

  auto registry = std::make_shared<prometheus::Registry>();
  prometheus::Counter& counter = prometheus::BuildCounter()
                                     .Name("test_things_total")
                                     .Help("things")
                                     .Register(*registry)
                                     .Add({{"kind", "a"}});
  counter.Increment(3);
  (*server)->Register(registry);
  absl::StatusOr<std::vector<metricstest::Sample>> s =
      Scrape((*server)->address());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(Find(*s, "test_things_total", {{"kind", "a"}}), 3);
  counter.Increment();
  s = Scrape((*server)->address());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(Find(*s, "test_things_total", {{"kind", "a"}}), 4);

  // Only /metrics is served.
  absl::StatusOr<metricstest::HttpResponse> other =
      metricstest::HttpGet((*server)->address(), "/other");
  ASSERT_TRUE(other.ok()) << other.status();
  EXPECT_EQ(other->status, 404);
}

TEST(MetricsServerTest, LocalhostIsLoopback) {
  absl::StatusOr<std::unique_ptr<MetricsServer>> server =
      MetricsServer::Start("localhost:0");
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ((*server)->host(), "127.0.0.1");
  EXPECT_TRUE(Scrape((*server)->address()).ok());
}

TEST(MetricsServerTest, MalformedAddressesAreInvalidArguments) {
  for (const std::string bad :
       {"", "127.0.0.1", "127.0.0.1:65536", "example.com:9100", "foo bar:1",
        "127.0.0.1:-1", "::1:9100", "[nope]:9100"}) {
    absl::StatusOr<std::unique_ptr<MetricsServer>> server =
        MetricsServer::Start(bad);
    EXPECT_TRUE(absl::IsInvalidArgument(server.status()))
        << "'" << bad << "': " << server.status();
  }
}

TEST(MetricsServerTest, APortInUseIsUnavailable) {
  absl::StatusOr<std::unique_ptr<MetricsServer>> first =
      MetricsServer::Start("127.0.0.1:0");
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<std::unique_ptr<MetricsServer>> second =
      MetricsServer::Start((*first)->address());
  EXPECT_TRUE(absl::IsUnavailable(second.status())) << second.status();
  EXPECT_NE(second.status().message().find((*first)->address()),
            std::string::npos)
      << second.status();
}

grpc::Status Call(const std::shared_ptr<grpc::Channel>& channel,
                  const std::string& method) {
  grpc::TemplatedGenericStub<HealthRequest, HealthResponse> stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  HealthRequest request;
  HealthResponse response;
  grpc::Status status;
  absl::Notification done;
  stub.UnaryCall(&ctx, method, grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  return status;
}

TEST(RpcMetricsTest, CountsCallsOfARealServerByMethodAndCode) {
  auto rpc = std::make_shared<RpcMetrics>(
      "test", std::vector<std::string>{"grpc.health.v1.Health"});
  EXPECT_EQ(rpc->MethodLabel("/grpc.health.v1.Health/Check"),
            "grpc.health.v1.Health/Check");
  EXPECT_EQ(rpc->MethodLabel("/grpc.health.v1.Health/Nope"), "other");
  EXPECT_EQ(rpc->MethodLabel("/x.Y/Check"), "other");
  // The reflection service every GrpcServer has is known by name too.
  RpcMetrics reflection("test", {"grpc.reflection.v1alpha.ServerReflection"});
  EXPECT_EQ(
      reflection.MethodLabel(
          "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"),
      "grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo");

  GrpcServerConfig config;
  config.listen = "127.0.0.1:0";
  config.interceptors.push_back(rpc->InterceptorFactory());
  absl::StatusOr<std::unique_ptr<GrpcServer>> server =
      GrpcServer::Start(config, {});
  ASSERT_TRUE(server.ok()) << server.status();
  auto channel = grpc::CreateChannel((*server)->address(),
                                     grpc::InsecureChannelCredentials());
  ASSERT_TRUE(Call(channel, "/grpc.health.v1.Health/Check").ok());
  ASSERT_TRUE(Call(channel, "/grpc.health.v1.Health/Check").ok());
  EXPECT_EQ(Call(channel, "/pbchain.v1.Nothing/Here").error_code(),
            grpc::StatusCode::UNIMPLEMENTED);

  absl::StatusOr<std::unique_ptr<MetricsServer>> metrics =
      MetricsServer::Start("127.0.0.1:0");
  ASSERT_TRUE(metrics.ok()) << metrics.status();
  (*metrics)->Register(rpc);
  absl::StatusOr<std::vector<metricstest::Sample>> s =
      Scrape((*metrics)->address());
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(Find(*s, "test_rpc_duration_seconds_count",
                 {{"method", "grpc.health.v1.Health/Check"}, {"code", "OK"}}),
            2);
  EXPECT_EQ(Find(*s, "test_rpc_duration_seconds_bucket",
                 {{"method", "grpc.health.v1.Health/Check"},
                  {"code", "OK"},
                  {"le", "+Inf"}}),
            2);
  EXPECT_GT(*Find(*s, "test_rpc_duration_seconds_sum",
                  {{"method", "grpc.health.v1.Health/Check"}, {"code", "OK"}}),
            0);
  EXPECT_EQ(Find(*s, "test_rpc_duration_seconds_count",
                 {{"method", "other"}, {"code", "UNIMPLEMENTED"}}),
            1);
  (*server)->Stop(absl::ZeroDuration());
}

}  // namespace
}  // namespace pbchain
