#include "common/tls.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "openssl/bio.h"
#include "openssl/evp.h"
#include "openssl/pem.h"
#include "openssl/x509.h"

namespace pbchain {
namespace {

absl::Status Bad(const std::string& flag, const std::string& path,
                 const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, " ", path, ": ",
                                                 why));
}

// OK if the PEM private key belongs to the first certificate of `cert_pem`.
absl::Status CheckKeyMatches(const std::string& cert_flag,
                             const std::string& cert_path,
                             const std::string& cert_pem,
                             const std::string& key_flag,
                             const std::string& key_path,
                             const std::string& key_pem) {
  BIO* cert_bio = BIO_new_mem_buf(cert_pem.data(),
                                  static_cast<int>(cert_pem.size()));
  X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
  BIO_free(cert_bio);
  if (cert == nullptr) {
    return Bad(cert_flag, cert_path, "not a PEM certificate");
  }
  BIO* key_bio =
      BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  BIO_free(key_bio);
  if (key == nullptr) {
    X509_free(cert);
    return Bad(key_flag, key_path, "not an unencrypted PEM private key");
  }
  const int match = X509_check_private_key(cert, key);
  EVP_PKEY_free(key);
  X509_free(cert);
  if (match != 1) {
    return Bad(key_flag, key_path,
               absl::StrCat("does not match the certificate in ", cert_path));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> ReadPemFile(const std::string& flag,
                                        const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    return Bad(flag, path, absl::StrCat("cannot read: ", std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) return Bad(flag, path, "not a regular file");
  if (static_cast<size_t>(st.st_size) > kMaxPemFileBytes) {
    return Bad(flag, path,
               absl::StrCat("larger than ", kMaxPemFileBytes, " bytes"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Bad(flag, path, absl::StrCat("cannot read: ", std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Bad(flag, path, "read error");
  std::string pem = text.str();
  if (!absl::StrContains(pem, "-----BEGIN ")) {
    return Bad(flag, path, "no PEM block (-----BEGIN ...) in it");
  }
  return pem;
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerTlsFiles& files) {
  if (!files.enabled()) {
    if (!files.client_ca.empty()) {
      return absl::InvalidArgumentError(
          "--tls-client-ca needs --tls-cert and --tls-key");
    }
    return grpc::InsecureServerCredentials();
  }
  if (files.cert.empty() || files.key.empty()) {
    return absl::InvalidArgumentError(
        "--tls-cert and --tls-key go together: give both or neither");
  }
  absl::StatusOr<std::string> cert = ReadPemFile("tls-cert", files.cert);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadPemFile("tls-key", files.key);
  if (!key.ok()) return key.status();
  if (absl::Status s = CheckKeyMatches("tls-cert", files.cert, *cert, "tls-key",
                                       files.key, *key);
      !s.ok()) {
    return s;
  }
  grpc::SslServerCredentialsOptions options(
      files.client_ca.empty()
          ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
          : GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  if (!files.client_ca.empty()) {
    absl::StatusOr<std::string> ca =
        ReadPemFile("tls-client-ca", files.client_ca);
    if (!ca.ok()) return ca.status();
    options.pem_root_certs = *ca;
  }
  options.pem_key_cert_pairs.push_back({*key, *cert});
  return grpc::SslServerCredentials(options);
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>>
MakeChannelCredentials(const ClientTlsFiles& files) {
  if (!files.enabled()) {
    if (!files.cert.empty() || !files.key.empty()) {
      return absl::InvalidArgumentError(
          "--tls-client-cert and --tls-client-key need --tls-ca");
    }
    return grpc::InsecureChannelCredentials();
  }
  if (files.cert.empty() != files.key.empty()) {
    return absl::InvalidArgumentError(
        "--tls-client-cert and --tls-client-key go together: give both or "
        "neither");
  }
  grpc::SslCredentialsOptions options;
  absl::StatusOr<std::string> ca = ReadPemFile("tls-ca", files.ca);
  if (!ca.ok()) return ca.status();
  options.pem_root_certs = *ca;
  if (!files.cert.empty()) {
    absl::StatusOr<std::string> cert =
        ReadPemFile("tls-client-cert", files.cert);
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadPemFile("tls-client-key", files.key);
    if (!key.ok()) return key.status();
    if (absl::Status s =
            CheckKeyMatches("tls-client-cert", files.cert, *cert,
                            "tls-client-key", files.key, *key);
        !s.ok()) {
      return s;
    }
    options.pem_cert_chain = *cert;
    options.pem_private_key = *key;
  }
  return grpc::SslCredentials(options);
}

}  // namespace pbchain
