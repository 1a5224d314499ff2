#include "common/status.h"

#include <string>

namespace pbchain {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  const int code = static_cast<int>(status.code());
  // absl::StatusCode and grpc::StatusCode agree on 1..16 (both follow
  // google.rpc.Code).
  const grpc::StatusCode grpc_code = code >= 1 && code <= 16
                                         ? static_cast<grpc::StatusCode>(code)
                                         : grpc::StatusCode::UNKNOWN;
  return grpc::Status(grpc_code, std::string(status.message()));
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  const int code = static_cast<int>(status.error_code());
  const absl::StatusCode absl_code = code >= 1 && code <= 16
                                         ? static_cast<absl::StatusCode>(code)
                                         : absl::StatusCode::kUnknown;
  return absl::Status(absl_code, status.error_message());
}

std::string StatusCodeName(grpc::StatusCode code) {
  const int n = static_cast<int>(code);
  if (n < 0 || n > 16) return "UNKNOWN";
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(n));
}

}  // namespace pbchain
