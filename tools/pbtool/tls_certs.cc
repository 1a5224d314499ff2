#include "tools/pbtool/tls_certs.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "openssl/bio.h"
#include "openssl/bn.h"
#include "openssl/err.h"
#include "openssl/evp.h"
#include "openssl/pem.h"
#include "openssl/rand.h"
#include "openssl/x509.h"
#include "openssl/x509v3.h"

namespace pbchain::tlsgen {
namespace {

struct Free {
  void operator()(X509* p) const { X509_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
using X509Ptr = std::unique_ptr<X509, Free>;
using KeyPtr = std::unique_ptr<EVP_PKEY, Free>;
using BioPtr = std::unique_ptr<BIO, Free>;

// The last OpenSSL error as text (and the queue cleared).
std::string OpensslError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

absl::Status Internal(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", OpensslError()));
}

absl::StatusOr<KeyPtr> NewKey(KeyType type) {
  EVP_PKEY* key = type == KeyType::kP256
                      ? EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")
                      : EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  if (key == nullptr) return Internal("key generation");
  return KeyPtr(key);
}

// The signing digest for `key`: SHA-256 for ECDSA, none for Ed25519 (it
// hashes internally).
const EVP_MD* DigestFor(EVP_PKEY* key) {
  return EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
}

// 16 random bytes, the top bit cleared (a positive serial of <= 127 bits,
// as RFC 5280 asks: at most 20 octets, positive).
absl::Status SetRandomSerial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof(bytes)) != 1) return Internal("random serial");
  bytes[0] &= 0x7f;
  bytes[0] |= 0x01 << 6;  // never a short (leading-zero) serial
  std::unique_ptr<BIGNUM, Free> bn(BN_bin2bn(bytes, sizeof(bytes), nullptr));
  if (bn == nullptr ||
      BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) == nullptr) {
    return Internal("serial");
  }
  return absl::OkStatus();
}

absl::Status AddExtension(X509* cert, X509* issuer, int nid,
                          const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  std::unique_ptr<X509_EXTENSION, Free> ext(
      X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (ext == nullptr || X509_add_ext(cert, ext.get(), -1) != 1) {
    return Internal(absl::StrCat("extension ", OBJ_nid2sn(nid), "=", value));
  }
  return absl::OkStatus();
}

// A certificate for `key`, CN=`cn`, valid [not_before, not_after], issued
// by `issuer_name` (its own subject for a self-signed one).
absl::StatusOr<X509Ptr> NewCertificate(EVP_PKEY* key, const std::string& cn,
                                       absl::Time not_before,
                                       absl::Time not_after) {
  X509Ptr cert(X509_new());
  if (cert == nullptr || X509_set_version(cert.get(), X509_VERSION_3) != 1) {
    return Internal("X509_new");
  }
  if (absl::Status s = SetRandomSerial(cert.get()); !s.ok()) return s;
  if (ASN1_TIME_set(X509_getm_notBefore(cert.get()),
                    absl::ToTimeT(not_before)) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), absl::ToTimeT(not_after)) ==
          nullptr) {
    return Internal("validity");
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(
          name, "CN", MBSTRING_UTF8,
          reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0) != 1) {
    return Internal("subject");
  }
  if (X509_set_pubkey(cert.get(), key) != 1) return Internal("public key");
  return cert;
}

absl::StatusOr<std::string> ToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509(bio.get(), cert) != 1) return Internal("PEM");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

absl::StatusOr<std::string> ToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr,
                               nullptr) != 1) {
    return Internal("PEM");
  }
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

absl::Status ErrnoStatus(const std::string& what, int err) {
  const std::string message = absl::StrCat(what, ": ", std::strerror(err));
  if (err == ENOENT || err == ENOTDIR) return absl::NotFoundError(message);
  if (err == EACCES || err == EPERM || err == EROFS) {
    return absl::PermissionDeniedError(message);
  }
  return absl::InternalError(message);
}

// Writes `content` into a new temporary file next to `path` with `mode`,
// synced; returns its name.
absl::StatusOr<std::string> WriteTemp(const std::string& path,
                                      const std::string& content, mode_t mode) {
  std::string tmp = path + ".tmp.XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) return ErrnoStatus(absl::StrCat("cannot create ", tmp), errno);
  absl::Status status;
  if (::fchmod(fd, mode) != 0) {
    status = ErrnoStatus(absl::StrCat("chmod ", tmp), errno);
  }
  size_t done = 0;
  while (status.ok() && done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      status = ErrnoStatus(absl::StrCat("cannot write ", tmp), errno);
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (status.ok() && ::fsync(fd) != 0) {
    status = ErrnoStatus(absl::StrCat("cannot write ", tmp), errno);
  }
  ::close(fd);
  if (!status.ok()) {
    ::unlink(tmp.c_str());
    return status;
  }
  return tmp;
}

// Moves the temporary file `tmp` to `path`: link()ed into place (so an
// existing file is never replaced) or, with `force`, renamed over it. `tmp`
// is gone afterwards either way.
absl::Status Install(const std::string& tmp, const std::string& path,
                     bool force) {
  absl::Status status;
  if (force) {
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      status = ErrnoStatus(absl::StrCat("cannot create ", path), errno);
    }
  } else if (::link(tmp.c_str(), path.c_str()) != 0) {
    status = errno == EEXIST
                 ? absl::AlreadyExistsError(absl::StrCat(
                       path, " exists; not overwriting (--force replaces it)"))
                 : ErrnoStatus(absl::StrCat("cannot create ", path), errno);
  }
  ::unlink(tmp.c_str());  // after rename: already gone
  return status;
}

// Writes a key and its certificate as a pair: both into temporary files
// first (a failure there replaces nothing), then the key moved into place,
// then the certificate (a certificate is never there without its key).
// With `force`, a target that is a directory is refused before anything is
// replaced, so the second rename cannot fail for that reason after the
// first replaced a key.
absl::Status WritePair(const std::string& key_path, const std::string& key_pem,
                       const std::string& cert_path,
                       const std::string& cert_pem, bool force) {
  for (const std::string& path : {key_path, cert_path}) {
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, " is a directory; not replacing it"));
    }
  }
  absl::StatusOr<std::string> key_tmp = WriteTemp(key_path, key_pem, 0600);
  if (!key_tmp.ok()) return key_tmp.status();
  absl::StatusOr<std::string> cert_tmp = WriteTemp(cert_path, cert_pem, 0644);
  if (!cert_tmp.ok()) {
    ::unlink(key_tmp->c_str());
    return cert_tmp.status();
  }
  if (absl::Status s = Install(*key_tmp, key_path, force); !s.ok()) {
    ::unlink(cert_tmp->c_str());
    return s;
  }
  if (absl::Status s = Install(*cert_tmp, cert_path, force); !s.ok()) {
    if (!force) ::unlink(key_path.c_str());  // the key this run just made
    return s;
  }
  return absl::OkStatus();
}

// ALREADY_EXISTS if any of `paths` exists (checked before anything is
// written, so a refused run leaves no half pair).
absl::Status CheckNotThere(const std::vector<std::string>& paths, bool force) {
  if (force) return absl::OkStatus();
  for (const std::string& path : paths) {
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0) {
      return absl::AlreadyExistsError(
          absl::StrCat(path, " exists; not overwriting (--force replaces it)"));
    }
  }
  return absl::OkStatus();
}

absl::Status MakeDir(const std::string& dir, std::filesystem::perms perms) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return absl::OkStatus();
  if (!std::filesystem::create_directories(dir, ec) || ec) {
    return ErrnoStatus(absl::StrCat("cannot create directory ", dir),
                       ec ? ec.value() : EEXIST);
  }
  std::filesystem::permissions(dir, perms, ec);
  return absl::OkStatus();
}

absl::Status CheckDays(int days) {
  if (days < 1 || days > kMaxDays) {
    return absl::InvalidArgumentError(
        absl::StrCat("--days must be 1..", kMaxDays, "; got ", days));
  }
  return absl::OkStatus();
}

absl::Time StartOf(absl::Time not_before) {
  return not_before == absl::InfinitePast() ? absl::Now() - kBackdate
                                            : not_before;
}

// A file name and CN: letters, digits, '.', '_', '-', not starting with '.'
// or '-', at most kMaxNameLength.
absl::Status CheckName(const std::string& name) {
  if (name.empty() || name.size() > kMaxNameLength || name[0] == '.' ||
      name[0] == '-' || name == "ca") {
    return absl::InvalidArgumentError(
        absl::StrCat("--name '", name, "': want 1..", kMaxNameLength,
                     " characters of A-Z a-z 0-9 . _ -, not starting with . or "
                     "-, not 'ca'"));
  }
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' &&
        c != '_' && c != '-') {
      return absl::InvalidArgumentError(absl::StrCat(
          "--name '", name, "': only A-Z a-z 0-9 . _ - are allowed"));
    }
  }
  return absl::OkStatus();
}

// A host name for a DNS SAN: dot-separated labels of 1..63 letters, digits
// and '-' (not at a label's ends), 253 characters at most; the first label
// may be "*".
bool IsDnsName(const std::string& name) {
  if (name.empty() || name.size() > 253) return false;
  size_t start = 0;
  bool first = true;
  while (start <= name.size()) {
    size_t end = name.find('.', start);
    if (end == std::string::npos) end = name.size();
    const std::string label = name.substr(start, end - start);
    if (label.empty() || label.size() > 63) return false;
    if (!(first && label == "*")) {
      if (label.front() == '-' || label.back() == '-') return false;
      for (char c : label) {
        if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-') {
          return false;
        }
      }
    }
    first = false;
    if (end == name.size()) break;
    start = end + 1;
  }
  return true;
}

// "IP:a,IP:b,DNS:c" for subjectAltName; INVALID_ARGUMENT naming a bad entry.
absl::StatusOr<std::string> SanValue(const CertOptions& options) {
  if (options.ips.size() + options.dns.size() > kMaxSans) {
    return absl::InvalidArgumentError(
        absl::StrCat("at most ", kMaxSans, " --ip and --dns entries"));
  }
  std::vector<std::string> entries;
  for (const std::string& ip : options.ips) {
    unsigned char buf[16];
    if (::inet_pton(AF_INET, ip.c_str(), buf) != 1 &&
        ::inet_pton(AF_INET6, ip.c_str(), buf) != 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--ip '", ip, "': not an IPv4 or IPv6 address (no brackets)"));
    }
    entries.push_back(absl::StrCat("IP:", ip));
  }
  for (const std::string& name : options.dns) {
    if (!IsDnsName(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--dns '", name, "': not a host name"));
    }
    entries.push_back(absl::StrCat("DNS:", name));
  }
  return absl::StrJoin(entries, ",");
}

// The same words as common/tls.h's kEncryptedKeyRefused (pbchain_tlsgen
// does not link gRPC, which that header needs).
constexpr char kEncryptedKeyRefused[] =
    "an encrypted PEM key is not supported: decrypt it with openssl pkey";

// OpenSSL's PEM password callback: never asks (OpenSSL's default would
// prompt "Enter PEM pass phrase:" on the terminal and wait); records that
// the key is encrypted in *(bool*)`u` and refuses (-1).
int RefusePassword(char* /*buf*/, int /*size*/, int /*rwflag*/, void* u) {
  *static_cast<bool*>(u) = true;
  return -1;
}

absl::StatusOr<std::string> ReadSmallFile(const std::string& path) {
  BioPtr bio(BIO_new_file(path.c_str(), "r"));
  if (bio == nullptr) {
    ERR_clear_error();
    return ErrnoStatus(absl::StrCat("cannot read ", path), errno);
  }
  std::string out;
  char buf[4096];
  int n;
  while ((n = BIO_read(bio.get(), buf, sizeof(buf))) > 0) {
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > (1 << 20)) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": too large"));
    }
  }
  return out;
}

absl::Time AsnTime(const ASN1_TIME* t) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(t, &tm) != 1) return absl::InfinitePast();
  return absl::FromTM(tm, absl::UTCTimeZone());
}

}  // namespace

absl::StatusOr<KeyType> ParseKeyType(absl::string_view text) {
  if (text == "p256") return KeyType::kP256;
  if (text == "ed25519") return KeyType::kEd25519;
  return absl::InvalidArgumentError(absl::StrCat(
      "--key-type '", text, "': want p256 (the default) or ed25519"));
}

const char* KeyTypeName(KeyType type) {
  return type == KeyType::kP256 ? "P-256" : "Ed25519";
}

absl::StatusOr<Written> MakeCa(const CaOptions& options) {
  if (absl::Status s = CheckDays(options.days); !s.ok()) return s;
  if (options.name.empty() || options.name.size() > kMaxNameLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("the CA name must be 1..", kMaxNameLength, " characters"));
  }
  if (options.out_dir.empty()) {
    return absl::InvalidArgumentError("--out DIR is required");
  }
  Written written;
  written.cert_path = options.out_dir + "/ca.crt";
  written.key_path = options.out_dir + "/ca.key";
  if (absl::Status s =
          CheckNotThere({written.cert_path, written.key_path}, options.force);
      !s.ok()) {
    return s;
  }
  absl::StatusOr<KeyPtr> key = NewKey(options.key_type);
  if (!key.ok()) return key.status();
  const absl::Time start = StartOf(options.not_before);
  written.not_after = start + absl::Hours(24) * options.days;
  absl::StatusOr<X509Ptr> cert =
      NewCertificate(key->get(), options.name, start, written.not_after);
  if (!cert.ok()) return cert.status();
  X509* c = cert->get();
  if (X509_set_issuer_name(c, X509_get_subject_name(c)) != 1) {
    return Internal("issuer");
  }
  for (const auto& [nid, value] : std::vector<std::pair<int, std::string>>{
           {NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
           {NID_key_usage, "critical,keyCertSign,cRLSign"},
           {NID_subject_key_identifier, "hash"},
           {NID_authority_key_identifier, "keyid:always"}}) {
    if (absl::Status s = AddExtension(c, c, nid, value); !s.ok()) return s;
  }
  if (X509_sign(c, key->get(), DigestFor(key->get())) <= 0) {
    return Internal("signing the CA certificate");
  }
  absl::StatusOr<std::string> cert_pem = ToPem(c);
  if (!cert_pem.ok()) return cert_pem.status();
  absl::StatusOr<std::string> key_pem = ToPem(key->get());
  if (!key_pem.ok()) return key_pem.status();
  if (absl::Status s =
          MakeDir(options.out_dir, std::filesystem::perms::owner_all);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = WritePair(written.key_path, *key_pem, written.cert_path,
                                 *cert_pem, options.force);
      !s.ok()) {
    return s;
  }
  return written;
}

absl::StatusOr<Written> MakeCert(const CertOptions& options) {
  if (absl::Status s = CheckName(options.name); !s.ok()) return s;
  if (absl::Status s = CheckDays(options.days); !s.ok()) return s;
  if (options.out_dir.empty()) {
    return absl::InvalidArgumentError("--out DIR is required");
  }
  absl::StatusOr<std::string> sans = SanValue(options);
  if (!sans.ok()) return sans.status();

  // The CA: its certificate, valid now and a CA, and its matching key.
  const std::string ca_cert_path = options.ca_dir + "/ca.crt";
  const std::string ca_key_path = options.ca_dir + "/ca.key";
  absl::StatusOr<std::string> ca_cert_pem = ReadSmallFile(ca_cert_path);
  if (!ca_cert_pem.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--ca: ", ca_cert_pem.status().message(),
                     " (make a CA with 'pbtool tls-ca --out DIR')"));
  }
  absl::StatusOr<std::string> ca_key_pem = ReadSmallFile(ca_key_path);
  if (!ca_key_pem.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--ca: ", ca_key_pem.status().message()));
  }
  BioPtr cert_bio(BIO_new_mem_buf(ca_cert_pem->data(),
                                  static_cast<int>(ca_cert_pem->size())));
  X509Ptr ca(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  BioPtr key_bio(BIO_new_mem_buf(ca_key_pem->data(),
                                 static_cast<int>(ca_key_pem->size())));
  bool encrypted = false;
  KeyPtr ca_key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, RefusePassword,
                                        &encrypted));
  ERR_clear_error();
  if (ca == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(ca_cert_path, ": not a PEM certificate"));
  }
  if (ca_key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(ca_key_path, ": ",
                     encrypted ? kEncryptedKeyRefused
                               : "not an unencrypted PEM private key"));
  }
  if (X509_check_private_key(ca.get(), ca_key.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat(
        ca_key_path, " does not match the certificate ", ca_cert_path));
  }
  if (X509_check_ca(ca.get()) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(ca_cert_path, " is not a CA certificate"));
  }
  const absl::Time ca_not_after = AsnTime(X509_get0_notAfter(ca.get()));
  const absl::Time start = StartOf(options.not_before);
  if (X509_cmp_current_time(X509_get0_notBefore(ca.get())) >= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(ca_cert_path, ": the CA is not valid before ",
                     absl::FormatTime(AsnTime(X509_get0_notBefore(ca.get())),
                                      absl::UTCTimeZone())));
  }
  if (X509_cmp_current_time(X509_get0_notAfter(ca.get())) <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(ca_cert_path, ": the CA expired on ",
                     absl::FormatTime(ca_not_after, absl::UTCTimeZone())));
  }

  Written written;
  written.cert_path = absl::StrCat(options.out_dir, "/", options.name, ".crt");
  written.key_path = absl::StrCat(options.out_dir, "/", options.name, ".key");
  if (absl::Status s =
          CheckNotThere({written.cert_path, written.key_path}, options.force);
      !s.ok()) {
    return s;
  }
  written.not_after = start + absl::Hours(24) * options.days;
  if (written.not_after > ca_not_after) {
    written.not_after = ca_not_after;
    written.clipped_to_ca = true;
  }
  absl::StatusOr<KeyPtr> key = NewKey(options.key_type);
  if (!key.ok()) return key.status();
  absl::StatusOr<X509Ptr> cert =
      NewCertificate(key->get(), options.name, start, written.not_after);
  if (!cert.ok()) return cert.status();
  X509* c = cert->get();
  if (X509_set_issuer_name(c, X509_get_subject_name(ca.get())) != 1) {
    return Internal("issuer");
  }
  std::vector<std::pair<int, std::string>> extensions = {
      {NID_basic_constraints, "critical,CA:FALSE"},
      {NID_key_usage, "critical,digitalSignature"},
      {NID_ext_key_usage, "serverAuth,clientAuth"},
      {NID_subject_key_identifier, "hash"},
      {NID_authority_key_identifier, "keyid:always"}};
  if (!sans->empty()) extensions.push_back({NID_subject_alt_name, *sans});
  for (const auto& [nid, value] : extensions) {
    if (absl::Status s = AddExtension(c, ca.get(), nid, value); !s.ok()) {
      return s;
    }
  }
  if (X509_sign(c, ca_key.get(), DigestFor(ca_key.get())) <= 0) {
    return Internal("signing the certificate");
  }
  absl::StatusOr<std::string> cert_pem = ToPem(c);
  if (!cert_pem.ok()) return cert_pem.status();
  absl::StatusOr<std::string> key_pem = ToPem(key->get());
  if (!key_pem.ok()) return key_pem.status();
  using std::filesystem::perms;
  if (absl::Status s =
          MakeDir(options.out_dir, perms::owner_all | perms::group_read |
                                       perms::group_exec | perms::others_read |
                                       perms::others_exec);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = WritePair(written.key_path, *key_pem, written.cert_path,
                                 *cert_pem, options.force);
      !s.ok()) {
    return s;
  }
  return written;
}

}  // namespace pbchain::tlsgen
