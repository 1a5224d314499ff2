// The JSON forms of the gateway's /v1 API: messages in protobuf's JSON
// mapping as the route contract fixes it, and the error body
// {"code":<gRPC code>,"status":"NAME","message":"..."} with the HTTP status
// from Google's gRPC -> HTTP mapping. Used by the routes and the event
// stream.
#ifndef PBCHAIN_NODE_HTTP_API_JSON_H_
#define PBCHAIN_NODE_HTTP_API_JSON_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "grpcpp/support/status.h"
#include "node/http/http_server.h"

namespace pbchain {

// The Content-Type of every JSON answer.
inline constexpr char kJsonType[] = "application/json";

// The HTTP status for a gRPC status code (Google's mapping: INVALID_ARGUMENT,
// FAILED_PRECONDITION, OUT_OF_RANGE 400; UNAUTHENTICATED 401;
// PERMISSION_DENIED 403; NOT_FOUND 404; ALREADY_EXISTS, ABORTED 409;
// RESOURCE_EXHAUSTED 429; CANCELLED 499; UNIMPLEMENTED 501; UNAVAILABLE 503;
// DEADLINE_EXCEEDED 504; OK 200; others 500). Pure; any thread.
int HttpStatusFromGrpc(grpc::StatusCode code);

// `message` in protobuf's JSON mapping: lowerCamelCase names, u64 as decimal
// strings, bytes as base64, default values printed, one line. nullopt if it
// has no JSON form. Pure; any thread.
std::optional<std::string> ToApiJson(const google::protobuf::Message& message);

// Makes `res` the error answer: HTTP status `http`, the JSON error body with
// `code` and `message` (invalid UTF-8 in it replaced). Any thread.
void SetApiError(HttpResponse& res, int http, grpc::StatusCode code,
                 absl::string_view message);

// SetApiError with the HTTP status of `status`'s code (HttpStatusFromGrpc).
// Any thread.
void SetGrpcError(HttpResponse& res, const grpc::Status& status);

// A 400 INVALID_ARGUMENT error. Any thread.
void SetBadRequest(HttpResponse& res, absl::string_view message);

// The answer of a unary call: 200 with `message`'s JSON if `status` is OK,
// else the error (500 INTERNAL if the message has no JSON form). Any thread.
void ReplyWithMessage(HttpResponse& res, const grpc::Status& status,
                      const google::protobuf::Message& message);

}  // namespace pbchain

#endif  // PBCHAIN_NODE_HTTP_API_JSON_H_
