// GrpcServer (common/server.h): health follows the server's state, reflection
// is on, bad listen addresses are refused with the right codes.
#include "common/server.h"

#include "gtest/gtest.h"
#include "tests/util/health_check.h"

namespace pbchain {
namespace {

using testing::CheckHealth;
using testing::HealthResponse;


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

  std::optional<HealthResponse::ServingStatus> before = CheckHealth(address);
  ASSERT_TRUE(before.has_value());
  EXPECT_EQ(*before, HealthResponse::SERVING);

  (*server)->SetNotServing();
  std::optional<HealthResponse::ServingStatus> during = CheckHealth(address);
  ASSERT_TRUE(during.has_value());
  EXPECT_EQ(*during, HealthResponse::NOT_SERVING);

  (*server)->Stop(absl::Seconds(1));
  EXPECT_FALSE(CheckHealth(address).has_value());  // down
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
