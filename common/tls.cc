#include "common/tls.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "openssl/bio.h"
#include "openssl/err.h"
#include "openssl/evp.h"
#include "openssl/pem.h"
#include "openssl/x509.h"
#include "openssl/x509_vfy.h"
#include "openssl/x509v3.h"

namespace pbchain {
namespace {

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

absl::Status Bad(const std::string& flag, const std::string& path,
                 const std::string& why) {
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, " ", path, ": ", why));
}

// Every certificate in `pem`, in order (an empty vector if none parses).
std::vector<X509Ptr> ReadCertificates(const std::string& pem) {
  std::vector<X509Ptr> certs;
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    certs.emplace_back(cert);
  }
  ERR_clear_error();  // the end of the input reads as an error
  BIO_free(bio);
  return certs;
}

// "CN=node1" or the whole subject, for messages.
std::string SubjectOf(X509* cert) {
  char buf[256];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof(buf));
  return buf;
}

std::string AsnTimeText(const ASN1_TIME* t) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return "(unreadable time)";
  char buf[64];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

// OK if `cert` is valid now; otherwise why not.
absl::Status CheckValidNow(X509* cert) {
  if (X509_cmp_current_time(X509_get0_notBefore(cert)) >= 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("certificate ", SubjectOf(cert), " is not valid before ",
                     AsnTimeText(X509_get0_notBefore(cert))));
  }
  if (X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("certificate ", SubjectOf(cert), " expired on ",
                     AsnTimeText(X509_get0_notAfter(cert))));
  }
  return absl::OkStatus();
}

// OK if `pem` (of --`flag` `path`) holds certificates and the first is
// valid now; INVALID_ARGUMENT naming the flag otherwise.
absl::Status CheckLeafCertificate(const std::string& flag,
                                  const std::string& path,
                                  const std::string& pem) {
  std::vector<X509Ptr> certs = ReadCertificates(pem);
  if (certs.empty()) return Bad(flag, path, "no PEM certificate in it");
  if (absl::Status s = CheckValidNow(certs[0].get()); !s.ok()) {
    return Bad(flag, path, std::string(s.message()));
  }
  return absl::OkStatus();
}

// OK if `pem` (of --`flag` `path`) holds at least one CA certificate
// (X509_check_ca: basicConstraints CA:TRUE, or an old v1 self-signed root)
// valid now (a CA bundle may carry old ones); INVALID_ARGUMENT otherwise.
// gRPC would take a leaf certificate as a trust anchor without a word.
absl::Status CheckCaCertificates(const std::string& flag,
                                 const std::string& path,
                                 const std::string& pem) {
  std::vector<X509Ptr> certs = ReadCertificates(pem);
  if (certs.empty()) return Bad(flag, path, "no PEM certificate in it");
  absl::Status first;
  bool any_ca = false;
  for (const X509Ptr& cert : certs) {
    if (X509_check_ca(cert.get()) <= 0) continue;
    any_ca = true;
    absl::Status s = CheckValidNow(cert.get());
    if (s.ok()) return s;
    if (first.ok()) first = s;
  }
  ERR_clear_error();
  if (!any_ca) {
    return Bad(
        flag, path,
        absl::StrCat("no CA certificate in it (", SubjectOf(certs[0].get()),
                     " is not a CA: give the certificate of the CA "
                     "that issued it)"));
  }
  return Bad(flag, path, std::string(first.message()));
}

// OpenSSL's PEM password callback: never asks (OpenSSL's default would
// prompt "Enter PEM pass phrase:" on the terminal and wait); records that
// the key is encrypted in *(bool*)`u` and refuses (-1).
int RefusePassword(char* /*buf*/, int /*size*/, int /*rwflag*/, void* u) {
  *static_cast<bool*>(u) = true;
  return -1;
}

// OK if the PEM private key belongs to the first certificate of `cert_pem`.
absl::Status CheckKeyMatches(const std::string& cert_flag,
                             const std::string& cert_path,
                             const std::string& cert_pem,
                             const std::string& key_flag,
                             const std::string& key_path,
                             const std::string& key_pem) {
  BIO* cert_bio =
      BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
  BIO_free(cert_bio);
  if (cert == nullptr) {
    ERR_clear_error();
    return Bad(cert_flag, cert_path, "not a PEM certificate");
  }
  BIO* key_bio =
      BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  bool encrypted = false;
  EVP_PKEY* key =
      PEM_read_bio_PrivateKey(key_bio, nullptr, RefusePassword, &encrypted);
  BIO_free(key_bio);
  if (key == nullptr) {
    ERR_clear_error();
    X509_free(cert);
    return Bad(key_flag, key_path,
               encrypted ? kEncryptedKeyRefused
                         : "not an unencrypted PEM private key");
  }
  const int match = X509_check_private_key(cert, key);
  EVP_PKEY_free(key);
  X509_free(cert);
  if (match != 1) {
    ERR_clear_error();
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
  if (absl::Status s = CheckLeafCertificate("tls-cert", files.cert, *cert);
      !s.ok()) {
    return s;
  }
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
    if (absl::Status s =
            CheckCaCertificates("tls-client-ca", files.client_ca, *ca);
        !s.ok()) {
      return s;
    }
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
  if (absl::Status s = CheckCaCertificates("tls-ca", files.ca, *ca); !s.ok()) {
    return s;
  }
  options.pem_root_certs = *ca;
  if (!files.cert.empty()) {
    absl::StatusOr<std::string> cert =
        ReadPemFile("tls-client-cert", files.cert);
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadPemFile("tls-client-key", files.key);
    if (!key.ok()) return key.status();
    if (absl::Status s =
            CheckLeafCertificate("tls-client-cert", files.cert, *cert);
        !s.ok()) {
      return s;
    }
    if (absl::Status s = CheckKeyMatches("tls-client-cert", files.cert, *cert,
                                         "tls-client-key", files.key, *key);
        !s.ok()) {
      return s;
    }
    options.pem_cert_chain = *cert;
    options.pem_private_key = *key;
  }
  return grpc::SslCredentials(options);
}

absl::Status CheckIssuedBy(const std::string& cert_flag,
                           const std::string& cert_path,
                           const std::string& ca_flag,
                           const std::string& ca_path) {
  absl::StatusOr<std::string> cert_pem = ReadPemFile(cert_flag, cert_path);
  if (!cert_pem.ok()) return cert_pem.status();
  absl::StatusOr<std::string> ca_pem = ReadPemFile(ca_flag, ca_path);
  if (!ca_pem.ok()) return ca_pem.status();
  std::vector<X509Ptr> chain = ReadCertificates(*cert_pem);
  if (chain.empty())
    return Bad(cert_flag, cert_path, "no PEM certificate in it");
  std::vector<X509Ptr> roots = ReadCertificates(*ca_pem);
  if (roots.empty()) return Bad(ca_flag, ca_path, "no PEM certificate in it");
  X509_STORE* store = X509_STORE_new();
  for (const X509Ptr& root : roots) X509_STORE_add_cert(store, root.get());
  STACK_OF(X509)* untrusted = sk_X509_new_null();
  for (size_t i = 1; i < chain.size(); ++i) {
    sk_X509_push(untrusted, chain[i].get());
  }
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  int ok = X509_STORE_CTX_init(ctx, store, chain[0].get(), untrusted);
  if (ok == 1) ok = X509_verify_cert(ctx);
  const int error = X509_STORE_CTX_get_error(ctx);
  X509_STORE_CTX_free(ctx);
  sk_X509_free(untrusted);
  X509_STORE_free(store);
  ERR_clear_error();
  if (ok != 1) {
    return Bad(cert_flag, cert_path,
               absl::StrCat("does not verify against --", ca_flag, " ", ca_path,
                            ": ", X509_verify_cert_error_string(error)));
  }
  return absl::OkStatus();
}

}  // namespace pbchain
