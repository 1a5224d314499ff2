// grpc.health.v1.Health/Check from tests, over a plaintext channel, through
// a generic stub (Debian ships the health messages but no generated health
// stub): the serving status of `service` ("" = the whole server), or
// nullopt when the call fails (server down, deadline, unknown service).
#ifndef PBCHAIN_TESTS_UTIL_HEALTH_CHECK_H_
#define PBCHAIN_TESTS_UTIL_HEALTH_CHECK_H_

#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include "absl/synchronization/notification.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/impl/codegen/proto_utils.h"  // protobuf messages on a generic stub

namespace pbchain::testing {

using HealthRequest = grpc::health::v1::HealthCheckRequest;
using HealthResponse = grpc::health::v1::HealthCheckResponse;

inline std::optional<HealthResponse::ServingStatus> CheckHealth(
    const std::string& address, const std::string& service = "",
    std::chrono::seconds deadline = std::chrono::seconds(5)) {
  auto channel =
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials());
  grpc::TemplatedGenericStub<HealthRequest, HealthResponse> stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + deadline);
  HealthRequest request;
  request.set_service(service);
  HealthResponse response;
  grpc::Status status;
  absl::Notification done;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                 &request, &response, [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  if (!status.ok()) return std::nullopt;
  return response.status();
}

}  // namespace pbchain::testing

#endif  // PBCHAIN_TESTS_UTIL_HEALTH_CHECK_H_
