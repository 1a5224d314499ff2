// GrpcServer (common/server.h): health follows the server's state, reflection
// is on, bad listen addresses are refused with the right codes.
#include "common/server.h"

#include "absl/synchronization/notification.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "gtest/gtest.h"

namespace pbchain {
namespace {

using HealthRequest = grpc::health::v1::HealthCheckRequest;
using HealthResponse = grpc::health::v1::HealthCheckResponse;

// grpc.health.v1.Health/Check against `address`: the serving status, or the
// call's error.
absl::StatusOr<HealthResponse::ServingStatus> Check(
    const std::string& address) {
  auto channel =
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  grpc::TemplatedGenericStub<HealthRequest, HealthResponse> stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  HealthRequest request;
  HealthResponse response;
  grpc::Status status;
  absl::Notification done;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                 &request, &response, [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  if (!status.ok()) {
    return absl::UnavailableError(status.error_message());
  }
  return response.status();
}

TEST(GrpcServerTest, HealthSaysServingThenNotServingBeforeTheStop) {
  GrpcServerConfig config;
  config.listen = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<GrpcServer>> server =
      GrpcServer::Start(config, {});
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);
  EXPECT_EQ((*server)->host(), "127.0.0.1");
  const std::string address = (*server)->address();
  EXPECT_EQ(address, "127.0.0.1:" + std::to_string((*server)->port()));

  absl::StatusOr<HealthResponse::ServingStatus> before = Check(address);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(*before, HealthResponse::SERVING);

  (*server)->SetNotServing();
  absl::StatusOr<HealthResponse::ServingStatus> during = Check(address);
  ASSERT_TRUE(during.ok()) << during.status();
  EXPECT_EQ(*during, HealthResponse::NOT_SERVING);

  (*server)->Stop(absl::Seconds(1));
  EXPECT_FALSE(Check(address).ok());  // down
}

TEST(GrpcServerTest, BadOrBusyListenAddressesAreRefused) {
  GrpcServerConfig config;
  config.listen = "127.0.0.1";  // no port
  absl::StatusOr<std::unique_ptr<GrpcServer>> bad =
      GrpcServer::Start(config, {});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);

  config.listen = "127.0.0.1:0";
  absl::StatusOr<std::unique_ptr<GrpcServer>> first =
      GrpcServer::Start(config, {});
  ASSERT_TRUE(first.ok()) << first.status();
  config.listen = (*first)->address();  // taken
  absl::StatusOr<std::unique_ptr<GrpcServer>> busy =
      GrpcServer::Start(config, {});
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(busy.status().message().find(config.listen), std::string::npos);
}

}  // namespace
}  // namespace pbchain
