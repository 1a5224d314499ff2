#include "client/admin_client.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/host_port.h"

namespace pbchain::client {

absl::StatusOr<std::string> ReadAdminFile(const std::string& flag,
                                          const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, " ", path, ": cannot read: ", ec.message(),
        flag == "datadir" ? " (is the node running with --admin_listen?)"
                          : ""));
  }
  if (size > kMaxAdminFileBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, " ", path, ": larger than ", kMaxAdminFileBytes, " bytes"));
  }
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, " ", path, ": cannot read: ", std::strerror(errno)));
  }
  std::string content(absl::StripAsciiWhitespace(text.str()));
  if (content.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " ", path, ": empty file"));
  }
  return content;
}

absl::StatusOr<std::unique_ptr<AdminClient>> AdminClient::Create(
    const AdminClientOptions& options) {
  if (options.call_timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("--timeout must be positive");
  }
  if (options.cookie_file.empty() && options.datadir.empty()) {
    return absl::InvalidArgumentError(
        "admin commands need the node's cookie: give --datadir DIR (the "
        "node's) or --cookie FILE");
  }
  const std::filesystem::path dir(options.datadir);
  std::string token;
  if (!options.cookie_file.empty()) {
    absl::StatusOr<std::string> t =
        ReadAdminFile("cookie", options.cookie_file);
    if (!t.ok()) return t.status();
    token = *std::move(t);
  } else {
    absl::StatusOr<std::string> t =
        ReadAdminFile("datadir", (dir / kAdminCookieFile).string());
    if (!t.ok()) return t.status();
    token = *std::move(t);
  }
  std::string address = options.address;
  if (address.empty()) {
    if (options.datadir.empty()) {
      return absl::InvalidArgumentError(
          "give --admin HOST:PORT (or --datadir DIR, whose .admin-address "
          "the node writes)");
    }
    absl::StatusOr<std::string> a =
        ReadAdminFile("datadir", (dir / kAdminAddressFile).string());
    if (!a.ok()) return a.status();
    address = *std::move(a);
  }
  if (absl::StatusOr<HostPort> parsed = ParseHostPort(address); !parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--admin: ", parsed.status().message()));
  }
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
  auto channel = grpc::CreateCustomChannel(
      address,
      options.credentials != nullptr ? options.credentials
                                     : grpc::InsecureChannelCredentials(),
      args);
  return std::unique_ptr<AdminClient>(
      new AdminClient(std::move(address), std::move(token),
                      options.call_timeout, std::move(channel)));
}

AdminClient::AdminClient(std::string address, std::string token,
                         absl::Duration call_timeout,
                         std::shared_ptr<grpc::Channel> channel)
    : address_(std::move(address)),
      token_(std::move(token)),
      call_timeout_(call_timeout),
      stub_(v1::AdminService::NewStub(std::move(channel))) {}

std::unique_ptr<grpc::ClientContext> AdminClient::NewContext() const {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + call_timeout_));
  ctx->AddMetadata("authorization", absl::StrCat("Bearer ", token_));
  return ctx;
}

absl::Status AdminClient::FromGrpc(const grpc::Status& s) const {
  if (s.ok()) return absl::OkStatus();
  const auto code = static_cast<absl::StatusCode>(s.error_code());
  switch (s.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      return absl::Status(
          code, absl::StrCat("cannot reach the admin API at ", address_, ": ",
                             s.error_message()));
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return absl::Status(
          code,
          absl::StrCat("admin API at ", address_, " did not answer within ",
                       absl::FormatDuration(call_timeout_)));
    case grpc::StatusCode::UNAUTHENTICATED:
      return absl::Status(
          code, absl::StrCat("admin API at ", address_,
                             " refused the token: ", s.error_message()));
    default:
      return absl::Status(code, s.error_message());
  }
}

template <typename Request, typename Response>
absl::StatusOr<Response> AdminClient::Call(
    grpc::Status (v1::AdminService::Stub::*method)(grpc::ClientContext*,
                                                   const Request&, Response*),
    const Request& request) {
  std::unique_ptr<grpc::ClientContext> ctx = NewContext();
  Response response;
  grpc::Status s = ((*stub_).*method)(ctx.get(), request, &response);
  if (!s.ok()) return FromGrpc(s);
  return response;
}

absl::StatusOr<v1::AddPeerResponse> AdminClient::AddPeer(
    const std::string& address) {
  v1::AddPeerRequest request;
  request.set_address(address);
  return Call(&v1::AdminService::Stub::AddPeer, request);
}

absl::StatusOr<v1::DisconnectPeerResponse> AdminClient::DisconnectPeer(
    const std::string& target) {
  v1::DisconnectPeerRequest request;
  request.set_target(target);
  return Call(&v1::AdminService::Stub::DisconnectPeer, request);
}

absl::StatusOr<v1::BanPeerResponse> AdminClient::BanPeer(
    const std::string& target, absl::Duration duration,
    const std::string& reason) {
  v1::BanPeerRequest request;
  request.set_target(target);
  request.set_duration_seconds(
      static_cast<uint64_t>(absl::ToInt64Seconds(duration)));
  request.set_reason(reason);
  return Call(&v1::AdminService::Stub::BanPeer, request);
}

absl::Status AdminClient::UnbanPeer(const std::string& target) {
  v1::UnbanPeerRequest request;
  request.set_target(target);
  return Call(&v1::AdminService::Stub::UnbanPeer, request).status();
}

absl::StatusOr<v1::ListBansResponse> AdminClient::ListBans() {
  return Call(&v1::AdminService::Stub::ListBans, v1::ListBansRequest());
}

absl::StatusOr<v1::SetMiningResponse> AdminClient::SetMining(bool enabled,
                                                             uint32_t threads) {
  v1::SetMiningRequest request;
  request.set_enabled(enabled);
  request.set_threads(threads);
  return Call(&v1::AdminService::Stub::SetMining, request);
}

absl::StatusOr<v1::BackupResponse> AdminClient::Backup() {
  return Call(&v1::AdminService::Stub::Backup, v1::BackupRequest());
}

absl::Status AdminClient::StopNode() {
  return Call(&v1::AdminService::Stub::StopNode, v1::StopNodeRequest())
      .status();
}

absl::StatusOr<v1::SetLogLevelResponse> AdminClient::SetLogLevel(
    std::optional<int> verbosity, std::optional<int> min_log_level) {
  v1::SetLogLevelRequest request;
  if (verbosity) request.set_verbosity(*verbosity);
  if (min_log_level) request.set_min_log_level(*min_log_level);
  return Call(&v1::AdminService::Stub::SetLogLevel, request);
}

}  // namespace pbchain::client
