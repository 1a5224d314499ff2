// AdminClient: a deadline-bounded client of one pbnode's AdminService
// (proto/pbchain/v1/admin.proto, on the node's admin listener). Every call
// carries the node's cookie token ("authorization: Bearer TOKEN"), read
// from DATADIR/.cookie or a file given; the admin address comes from the
// options or DATADIR/.admin-address, which the node writes at start.
//
// Errors come back as absl::Status with the gRPC code; the message names
// the admin address for UNAVAILABLE, DEADLINE_EXCEEDED and
// UNAUTHENTICATED ("admin API at 127.0.0.1:4000 refused the token: ...").
//
// Thread safety: all methods may be called from any thread.
#ifndef PBCHAIN_CLIENT_ADMIN_CLIENT_H_
#define PBCHAIN_CLIENT_ADMIN_CLIENT_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "pbchain/v1/admin.grpc.pb.h"

namespace pbchain::client {

// The node's files in its datadir (node/admin/cookie.h writes them).
inline constexpr char kAdminCookieFile[] = ".cookie";
inline constexpr char kAdminAddressFile[] = ".admin-address";
// A cookie or address file larger than this is refused (a token is 64
// chars).
inline constexpr size_t kMaxAdminFileBytes = 4096;

// The content of a small text file without surrounding whitespace.
// INVALID_ARGUMENT naming `flag` and the file if it cannot be read, is
// larger than kMaxAdminFileBytes or is empty.
absl::StatusOr<std::string> ReadAdminFile(const std::string& flag,
                                          const std::string& path);

struct AdminClientOptions {
  // "HOST:PORT" of the admin listener; empty: DATADIR/.admin-address.
  std::string address;
  // The node's datadir, for .cookie and .admin-address.
  std::string datadir;
  // The token file; empty: DATADIR/.cookie.
  std::string cookie_file;
  absl::Duration call_timeout = absl::Seconds(10);
  // Channel credentials (common/tls.h for a TLS admin listener); null:
  // plaintext.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
};

class AdminClient {
 public:
  // Reads the token (and, without options.address, the address) and makes
  // a channel (connected lazily). INVALID_ARGUMENT, naming --cookie,
  // --datadir or --admin, when neither a cookie file nor a datadir is
  // given, a file cannot be read, or the address is not HOST:PORT.
  static absl::StatusOr<std::unique_ptr<AdminClient>> Create(
      const AdminClientOptions& options);

  const std::string& address() const { return address_; }

  absl::StatusOr<v1::AddPeerResponse> AddPeer(const std::string& address);
  absl::StatusOr<v1::DisconnectPeerResponse> DisconnectPeer(
      const std::string& target);
  // duration: zero = the node's --ban_duration.
  absl::StatusOr<v1::BanPeerResponse> BanPeer(const std::string& target,
                                              absl::Duration duration,
                                              const std::string& reason);
  absl::Status UnbanPeer(const std::string& target);
  absl::StatusOr<v1::ListBansResponse> ListBans();
  // threads: 0 keeps the node's number.
  absl::StatusOr<v1::SetMiningResponse> SetMining(bool enabled,
                                                  uint32_t threads);
  absl::StatusOr<v1::BackupResponse> Backup();
  absl::Status StopNode();
  // Unset fields keep the node's values.
  absl::StatusOr<v1::SetLogLevelResponse> SetLogLevel(
      std::optional<int> verbosity, std::optional<int> min_log_level);

 private:
  AdminClient(std::string address, std::string token,
              absl::Duration call_timeout,
              std::shared_ptr<grpc::Channel> channel);
  // A context with the deadline and the token.
  std::unique_ptr<grpc::ClientContext> NewContext() const;
  absl::Status FromGrpc(const grpc::Status& s) const;
  template <typename Request, typename Response>
  absl::StatusOr<Response> Call(
      grpc::Status (v1::AdminService::Stub::*method)(grpc::ClientContext*,
                                                     const Request&, Response*),
      const Request& request);

  const std::string address_;
  const std::string token_;
  const absl::Duration call_timeout_;
  std::unique_ptr<v1::AdminService::Stub> stub_;
};

}  // namespace pbchain::client

#endif  // PBCHAIN_CLIENT_ADMIN_CLIENT_H_
