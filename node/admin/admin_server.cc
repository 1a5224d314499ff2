#include "node/admin/admin_server.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/host_port.h"
#include "glog/logging.h"
#include "grpcpp/security/server_credentials.h"
#include "node/admin/cookie.h"

namespace pbchain {
namespace {

constexpr absl::string_view kBearer = "Bearer ";

std::string Lookup(const grpc::AuthMetadataProcessor::InputMetadata& md,
                   const char* key) {
  auto it = md.find(key);
  return it == md.end() ? std::string()
                        : std::string(it->second.data(), it->second.size());
}

}  // namespace

grpc::Status AdminAuthProcessor::Process(const InputMetadata& auth_metadata,
                                         grpc::AuthContext* /*context*/,
                                         OutputMetadata* consumed,
                                         OutputMetadata* /*response*/) {
  const std::string method = Lookup(auth_metadata, ":path");
  if (absl::StartsWith(method, kUnauthenticatedPrefix)) {
    return grpc::Status::OK;
  }
  auto it = auth_metadata.find("authorization");
  if (it == auth_metadata.end()) {
    NoteFailure(method, "no token");
    return grpc::Status(
        grpc::StatusCode::UNAUTHENTICATED,
        "admin calls need the node's cookie token: send 'authorization: "
        "Bearer TOKEN' with the content of DATADIR/.cookie");
  }
  const absl::string_view value(it->second.data(), it->second.size());
  if (!absl::StartsWith(value, kBearer) ||
      !TokenMatches(value.substr(kBearer.size()), token_)) {
    NoteFailure(method, "a wrong token");
    return grpc::Status(
        grpc::StatusCode::UNAUTHENTICATED,
        "wrong admin token: the node writes a new one to DATADIR/.cookie at "
        "every start");
  }
  // The token goes no further (not to handlers, not to interceptors).
  consumed->insert(std::make_pair(
      std::string(it->first.data(), it->first.size()), std::string(value)));
  return grpc::Status::OK;
}

uint64_t AdminAuthProcessor::failures() const {
  absl::MutexLock lock(&mu_);
  return failures_;
}

void AdminAuthProcessor::NoteFailure(const std::string& method,
                                     const char* why) {
  const absl::Time now = absl::Now();
  uint64_t unlogged = 0;
  {
    absl::MutexLock lock(&mu_);
    ++failures_;
    if (now - last_log_ < kAuthFailureLogInterval) {
      ++unlogged_;
      return;
    }
    last_log_ = now;
    unlogged = unlogged_;
    unlogged_ = 0;
  }
  LOG(WARNING) << "admin call " << (method.empty() ? "(no method)" : method)
               << " refused: " << why
               << (unlogged > 0
                       ? absl::StrCat(" (and ", unlogged,
                                      " more refused since the last line)")
                       : std::string());
}

bool IsLoopbackHost(const std::string& host) {
  return host == "localhost" || IsLoopbackIp(host);
}

absl::Status CheckAdminListen(const std::string& listen, bool tls) {
  HostPortRules rules;
  rules.allow_port_zero = true;
  absl::StatusOr<HostPort> parsed = ParseHostPort(listen, rules);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--admin_listen: ", parsed.status().message()));
  }
  if (!tls && !IsLoopbackHost(parsed->host)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--admin_listen: ", listen,
        " is not a loopback address; without TLS (--tls_cert, --tls_key) "
        "the admin API listens on 127.0.0.1, ::1 or localhost only"));
  }
  return absl::OkStatus();
}

absl::StatusOr<GrpcServerConfig> MakeAdminServerConfig(
    const std::string& listen, const ServerTlsFiles& tls,
    const std::string& token, int max_message_bytes) {
  if (absl::Status s = CheckAdminListen(listen, tls.enabled()); !s.ok()) {
    return s;
  }
  GrpcServerConfig config;
  config.listen = listen;
  config.max_message_bytes = max_message_bytes;
  if (tls.enabled()) {
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
        MakeServerCredentials(tls);
    if (!credentials.ok()) return credentials.status();
    config.credentials = *std::move(credentials);
  } else {
    config.credentials = grpc::experimental::LocalServerCredentials(LOCAL_TCP);
  }
  config.credentials->SetAuthMetadataProcessor(
      std::make_shared<AdminAuthProcessor>(token));
  return config;
}

}  // namespace pbchain
