// TLS material for gRPC servers and channels, from PEM files. Every server
// (pbnode's public and admin listeners, pbtracker) and every client (nodes
// dialing peers and the tracker, pbcli, pbshop, pbvote) builds its
// credentials here, so the rules are the same everywhere:
//   - a server with a certificate and key serves TLS only (no plaintext on
//     the same port); with a client CA it also requires and verifies a
//     client certificate (mutual TLS);
//   - a client with a CA file dials TLS and verifies the server's
//     certificate against that CA only (not the system store), checking the
//     name or IP address it dials against the certificate's SANs; with a
//     certificate and key it also presents them (mutual TLS);
//   - with none of these, plaintext, as before.
// Errors name the flag and the file ("--tls-key /x: cannot read: No such
// file or directory"), so mains print them as they are.
#ifndef PBCHAIN_COMMON_TLS_H_
#define PBCHAIN_COMMON_TLS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"

namespace pbchain {

// A PEM file larger than this is refused (a certificate chain is a few KiB).
inline constexpr size_t kMaxPemFileBytes = 1 << 20;

// Why an encrypted PEM private key is refused: no program asks for a key's
// passphrase (a daemon has no one to ask; OpenSSL's default would prompt
// on the terminal and wait).
inline constexpr char kEncryptedKeyRefused[] =
    "an encrypted PEM key is not supported: decrypt it with openssl pkey";

struct ServerTlsFiles {
  std::string cert;       // --tls-cert: PEM certificate (chain), leaf first
  std::string key;        // --tls-key: its PEM private key
  std::string client_ca;  // --tls-client-ca: require client certs it signed
  bool enabled() const { return !cert.empty() || !key.empty(); }
};

struct ClientTlsFiles {
  std::string ca;    // --tls-ca: PEM CA certificate(s) to trust
  std::string cert;  // --tls-client-cert: PEM certificate for mutual TLS
  std::string key;   // --tls-client-key: its PEM private key
  bool enabled() const { return !ca.empty(); }
};

// The contents of a PEM file: INVALID_ARGUMENT naming `flag` if it cannot
// be read, is not a regular file, is larger than kMaxPemFileBytes or holds
// no "-----BEGIN " block.
absl::StatusOr<std::string> ReadPemFile(const std::string& flag,
                                        const std::string& path);

// Insecure credentials when !files.enabled(); TLS credentials otherwise.
// INVALID_ARGUMENT when only one of cert/key is given, when client_ca is
// given without them, or when a file cannot be read (see ReadPemFile), the
// certificate is expired or not yet valid, the key is encrypted
// (kEncryptedKeyRefused; never prompted for) or does not match the
// certificate, or the client CA file holds no CA certificate valid now.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerTlsFiles& files);

// Insecure credentials when !files.enabled(); TLS credentials otherwise.
// INVALID_ARGUMENT when cert/key are given without the other or without a
// CA, a file cannot be read, the CA file holds no CA certificate valid
// now (a leaf certificate is not a trust anchor), the client certificate
// is expired or not yet valid, or its key is encrypted or does not match
// it.
// The channel checks the server's certificate against the CA and the
// target's host (an IP address against the IP SANs, a name against the DNS
// SANs).
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
MakeChannelCredentials(const ClientTlsFiles& files);

// OK if the first certificate of the PEM file `cert_path` (the others are
// taken as intermediates) verifies against the CA certificate(s) in
// `ca_path` at the current time. INVALID_ARGUMENT naming --`cert_flag`
// and OpenSSL's reason otherwise (or a file's problem, see ReadPemFile).
// A node checks its own certificate this way: peers that trust the same CA
// would refuse one that fails. Any thread.
absl::Status CheckIssuedBy(const std::string& cert_flag,
                           const std::string& cert_path,
                           const std::string& ca_flag,
                           const std::string& ca_path);

}  // namespace pbchain

#endif  // PBCHAIN_COMMON_TLS_H_
