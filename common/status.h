// The one conversion from absl::Status to grpc::Status, used at the edge of
// every gRPC service of the node. Library code below the services returns
// absl::Status; only the service layer speaks grpc::.
#ifndef PBCHAIN_COMMON_STATUS_H_
#define PBCHAIN_COMMON_STATUS_H_

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace pbchain {

// The gRPC status with the same code and message as `status`. absl and gRPC
// share the canonical code numbers (0..16); a code outside them becomes
// UNKNOWN. OK maps to grpc::Status::OK. Pure; any thread.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace pbchain

#endif  // PBCHAIN_COMMON_STATUS_H_
