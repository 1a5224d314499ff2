#include "node/http/api_json.h"

#include "common/status.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"

namespace pbchain {

int HttpStatusFromGrpc(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return 200;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
      return 400;
    case grpc::StatusCode::UNAUTHENTICATED:
      return 401;
    case grpc::StatusCode::PERMISSION_DENIED:
      return 403;
    case grpc::StatusCode::NOT_FOUND:
      return 404;
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::ABORTED:
      return 409;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return 429;
    case grpc::StatusCode::CANCELLED:
      return 499;
    case grpc::StatusCode::UNIMPLEMENTED:
      return 501;
    case grpc::StatusCode::UNAVAILABLE:
      return 503;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return 504;
    default:
      return 500;
  }
}

std::optional<std::string> ToApiJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(message, &out, options)
           .ok()) {
    return std::nullopt;
  }
  return out;
}

void SetApiError(HttpResponse& res, int http, grpc::StatusCode code,
                 absl::string_view message) {
  nlohmann::json body = {{"code", static_cast<int>(code)},
                         {"status", StatusCodeName(code)},
                         {"message", std::string(message)}};
  res.status = http;
  // Messages may quote request bytes: invalid UTF-8 is replaced, not thrown.
  res.set_content(
      body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
      kJsonType);
}

void SetGrpcError(HttpResponse& res, const grpc::Status& status) {
  SetApiError(res, HttpStatusFromGrpc(status.error_code()), status.error_code(),
              status.error_message());
}

void SetBadRequest(HttpResponse& res, absl::string_view message) {
  SetApiError(res, 400, grpc::StatusCode::INVALID_ARGUMENT, message);
}

void ReplyWithMessage(HttpResponse& res, const grpc::Status& status,
                      const google::protobuf::Message& message) {
  if (!status.ok()) {
    SetGrpcError(res, status);
    return;
  }
  std::optional<std::string> json = ToApiJson(message);
  if (!json) {
    SetApiError(res, 500, grpc::StatusCode::INTERNAL,
                "response has no JSON form");
    return;
  }
  res.status = 200;
  res.set_content(*json, kJsonType);
}

}  // namespace pbchain
