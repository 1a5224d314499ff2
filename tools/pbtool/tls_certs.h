// Making the TLS material of a pbchain network with OpenSSL 3: a private
// certificate authority (`pbtool tls-ca`) and certificates it signs for
// nodes, trackers and clients (`pbtool tls-cert`).
//
// A CA directory holds ca.crt (mode 0644) and ca.key (0600). A leaf
// certificate NAME.crt (0644) with its key NAME.key (0600) has:
//   - subject CN=NAME, issuer the CA, a random 16-byte positive serial;
//   - basicConstraints CA:FALSE, keyUsage digitalSignature, extended key
//     usage serverAuth + clientAuth (one certificate serves a node both as
//     a server and as a client of its peers and the tracker);
//   - subjectAltName: the --ip addresses and --dns names given (a client
//     checks the address it dials against them: a node dialed as
//     127.0.0.1:7700 needs IP:127.0.0.1).
// Keys are P-256 (ECDSA, signed with SHA-256) or Ed25519; the private key
// files are unencrypted PKCS#8 PEM. Files are written atomically (a
// temporary file, then a link or rename) and never overwritten unless
// `force`.
//
// Thread safety: the functions are independent; any thread.
#ifndef PBCHAIN_TOOLS_PBTOOL_TLS_CERTS_H_
#define PBCHAIN_TOOLS_PBTOOL_TLS_CERTS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace pbchain::tlsgen {

// Default lifetimes, and the longest accepted (--days).
inline constexpr int kDefaultCaDays = 3650;
inline constexpr int kDefaultLeafDays = 365;
inline constexpr int kMaxDays = 36500;
// A certificate is valid from this long before it was made, so that a
// host whose clock is a little behind still accepts it.
inline constexpr absl::Duration kBackdate = absl::Minutes(5);
// Longest NAME (it is the certificate's CN, at most 64 characters) and
// most --ip / --dns entries of one certificate.
inline constexpr size_t kMaxNameLength = 64;
inline constexpr size_t kMaxSans = 64;

enum class KeyType { kP256, kEd25519 };

// "p256" or "ed25519"; INVALID_ARGUMENT otherwise. Pure.
absl::StatusOr<KeyType> ParseKeyType(absl::string_view text);
// "P-256" or "Ed25519". Pure.
const char* KeyTypeName(KeyType type);

struct CaOptions {
  std::string out_dir;              // created (mode 0700) if missing
  std::string name = "pbchain CA";  // the CA's CN
  KeyType key_type = KeyType::kP256;
  int days = kDefaultCaDays;
  bool force = false;  // overwrite ca.crt / ca.key
  // Start of validity (InfinitePast: now - kBackdate). For tests.
  absl::Time not_before = absl::InfinitePast();
};

struct CertOptions {
  std::string ca_dir;            // holds ca.crt and ca.key
  std::string name;              // CN and file names: [A-Za-z0-9._-], not "ca"
  std::vector<std::string> ips;  // IPv4 / IPv6 addresses for the SANs
  std::vector<std::string> dns;  // host names for the SANs
  std::string out_dir;           // created (mode 0755) if missing
  KeyType key_type = KeyType::kP256;
  int days = kDefaultLeafDays;
  bool force = false;  // overwrite NAME.crt / NAME.key
  // Start of validity (InfinitePast: now - kBackdate). For tests.
  absl::Time not_before = absl::InfinitePast();
};

// What was written.
struct Written {
  std::string cert_path;
  std::string key_path;
  absl::Time not_after;
  // Set when the requested lifetime was cut to end with the CA's.
  bool clipped_to_ca = false;
};

// Makes a self-signed CA (basicConstraints CA:TRUE pathlen:0, keyUsage
// keyCertSign + cRLSign) in out_dir/ca.crt and out_dir/ca.key.
// INVALID_ARGUMENT for bad options (days outside 1..kMaxDays, an empty
// name); ALREADY_EXISTS if a file exists and !force; INTERNAL or
// PERMISSION_DENIED/NOT_FOUND for OpenSSL and file errors. The messages
// name the file.
absl::StatusOr<Written> MakeCa(const CaOptions& options);

// Makes a certificate signed by the CA in options.ca_dir (see the header
// comment) in out_dir/NAME.crt and out_dir/NAME.key. The validity ends
// with the CA's if the CA expires first. INVALID_ARGUMENT for bad options
// (name, an address that is no IP, a malformed DNS name, days, a CA
// directory without a CA that is valid now or whose key does not match);
// ALREADY_EXISTS if a file exists and !force; other codes for file and
// OpenSSL errors.
absl::StatusOr<Written> MakeCert(const CertOptions& options);

}  // namespace pbchain::tlsgen

#endif  // PBCHAIN_TOOLS_PBTOOL_TLS_CERTS_H_
