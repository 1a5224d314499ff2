// The admin listener: where AdminService (admin_service.h) is served, and
// the check of the cookie token on every call.
//
// The token is checked by a gRPC AuthMetadataProcessor set on the
// listener's own ServerCredentials, so no handler runs for a call without
// it. gRPC 1.51 aborts when a processor is set on insecure credentials, so
// a plaintext admin listener uses LocalServerCredentials(LOCAL_TCP): plain
// HTTP/2 on the wire (grpcurl -plaintext, buf curl --http2-prior-knowledge
// work) that accepts loopback connections only; a non-loopback
// --admin_listen therefore needs TLS (the node's --tls_cert/--tls_key,
// made into separate credentials here: a processor on the public
// listener's credentials would guard the public port too).
//
// What needs the token: every method of the listener but
// grpc.health.v1.Health (a probe may ask whether the node is up without
// the secret). Reflection needs it.
#ifndef PBCHAIN_NODE_ADMIN_ADMIN_SERVER_H_
#define PBCHAIN_NODE_ADMIN_ADMIN_SERVER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/server.h"
#include "common/tls.h"
#include "grpcpp/security/auth_metadata_processor.h"

namespace pbchain {

// A failed authentication is logged at most once per this interval (with
// the number of failures since the last line); the token never is.
inline constexpr absl::Duration kAuthFailureLogInterval = absl::Seconds(10);

// Calls with this method prefix pass without a token.
inline constexpr char kUnauthenticatedPrefix[] = "/grpc.health.v1.Health/";

// Checks "authorization: Bearer TOKEN" on every call (TokenMatches);
// UNAUTHENTICATED otherwise, with a message saying where the token is.
// Any thread (gRPC calls it concurrently).
class AdminAuthProcessor : public grpc::AuthMetadataProcessor {
 public:
  explicit AdminAuthProcessor(std::string token) : token_(std::move(token)) {}

  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata& auth_metadata,
                       grpc::AuthContext* context,
                       OutputMetadata* consumed_auth_metadata,
                       OutputMetadata* response_metadata) override;

  // Calls refused so far.
  uint64_t failures() const;

 private:
  // Logs a refused call to `method` (rate-limited).
  void NoteFailure(const std::string& method, const char* why)
      ABSL_LOCKS_EXCLUDED(mu_);

  const std::string token_;
  mutable absl::Mutex mu_;
  uint64_t failures_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t unlogged_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_log_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

// Whether `host` (of a listen address, without brackets) is loopback:
// 127.0.0.0/8, ::1 or "localhost".
bool IsLoopbackHost(const std::string& host);

// Checks an --admin_listen value: "host:port" (port 0 picks one) whose host
// is loopback unless `tls` is on. INVALID_ARGUMENT starting with
// "--admin_listen" otherwise.
absl::Status CheckAdminListen(const std::string& listen, bool tls);

// The GrpcServerConfig of the admin listener on `listen` ("host:port",
// port 0 picks one) whose calls must carry `token`: local (loopback-only)
// credentials without TLS, TLS credentials of `tls` (its own object) with
// it; the processor is set on them. INVALID_ARGUMENT starting with
// "--admin_listen" for a malformed address or a non-loopback host without
// TLS; MakeServerCredentials' errors for bad TLS files. max_message_bytes
// as the public listener's.
absl::StatusOr<GrpcServerConfig> MakeAdminServerConfig(
    const std::string& listen, const ServerTlsFiles& tls,
    const std::string& token, int max_message_bytes);

}  // namespace pbchain

#endif  // PBCHAIN_NODE_ADMIN_ADMIN_SERVER_H_
