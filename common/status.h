// The one conversion from absl::Status to grpc::Status, used at the edge of
// every gRPC service of pbnode and pbtracker. Library code below the services
// returns absl::Status; only the service layer speaks grpc::.
#ifndef PBCHAIN_COMMON_STATUS_H_
#define PBCHAIN_COMMON_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace pbchain {

// The gRPC status with the same code and message as `status`. absl and gRPC
// share the canonical code numbers (0..16); a code outside them becomes
// UNKNOWN. OK maps to grpc::Status::OK. Pure; any thread.
grpc::Status ToGrpcStatus(const absl::Status& status);

// The reverse, for clients of gRPC calls: same code and message.
absl::Status FromGrpcStatus(const grpc::Status& status);

// The canonical name of a code: "INVALID_ARGUMENT", "NOT_FOUND"; "UNKNOWN"
// for a number outside 0..16. The names of docs/PROTOCOL.md and the HTTP
// gateway's "status" field. Pure; any thread.
std::string StatusCodeName(grpc::StatusCode code);

}  // namespace pbchain

#endif  // PBCHAIN_COMMON_STATUS_H_
