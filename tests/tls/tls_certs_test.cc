// pbtool's TLS material (tools/pbtool/tls_certs.h) checked with OpenSSL
// itself: the chain verifies, the SANs, key types, lifetimes, extensions
// and file modes are what the docs say; and common/tls.h's checks of the
// files a daemon is given (expired, not yet valid, mismatched, wrong CA,
// missing).
#include "tools/pbtool/tls_certs.h"

#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "common/tls.h"
#include "gtest/gtest.h"
#include "openssl/pem.h"
#include "openssl/x509.h"
#include "openssl/x509_vfy.h"
#include "openssl/x509v3.h"
#include "tests/util/process.h"

namespace pbchain::tlsgen {
namespace {

using ::pbchain::testing::TempDir;

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;

X509Ptr LoadCert(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return nullptr;
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  return X509Ptr(cert);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int ModeOf(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return -1;
  return st.st_mode & 0777;
}

// X509_verify_cert of `leaf` against the single trusted `ca`, for both
// purposes the certificates are made for.
int Verify(X509* ca, X509* leaf, int purpose) {
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, leaf, nullptr);
  X509_STORE_CTX_set_purpose(ctx, purpose);
  const int ok = X509_verify_cert(ctx);
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  return ok;
}

absl::Duration Lifetime(X509* cert) {
  int days = 0, secs = 0;
  ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(cert),
                 X509_get0_notAfter(cert));
  return absl::Hours(24) * days + absl::Seconds(secs);
}

TEST(TlsCertsTest, P256CaAndCertificateVerifyWithTheirSansAndModes) {
  TempDir dir("tls_certs_p256");
  CaOptions ca;
  ca.out_dir = dir.Sub("ca");
  absl::StatusOr<Written> ca_files = MakeCa(ca);
  ASSERT_TRUE(ca_files.ok()) << ca_files.status();
  CertOptions leaf;
  leaf.ca_dir = ca.out_dir;
  leaf.name = "node1";
  leaf.ips = {"127.0.0.1", "::1"};
  leaf.dns = {"localhost", "node1.example"};
  leaf.out_dir = dir.Sub("certs");
  absl::StatusOr<Written> leaf_files = MakeCert(leaf);
  ASSERT_TRUE(leaf_files.ok()) << leaf_files.status();
  EXPECT_EQ(leaf_files->cert_path, dir.Sub("certs/node1.crt"));
  EXPECT_FALSE(leaf_files->clipped_to_ca);

  X509Ptr ca_cert = LoadCert(ca_files->cert_path);
  X509Ptr cert = LoadCert(leaf_files->cert_path);
  ASSERT_NE(ca_cert, nullptr);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(Verify(ca_cert.get(), cert.get(), X509_PURPOSE_SSL_SERVER), 1);
  EXPECT_EQ(Verify(ca_cert.get(), cert.get(), X509_PURPOSE_SSL_CLIENT), 1);
  EXPECT_EQ(X509_check_ca(ca_cert.get()), 1);
  EXPECT_EQ(X509_check_ca(cert.get()), 0);
  const uint32_t xku = X509_get_extended_key_usage(cert.get());
  EXPECT_TRUE(xku & XKU_SSL_SERVER);
  EXPECT_TRUE(xku & XKU_SSL_CLIENT);

  // SANs: exactly what was asked for.
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "::1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "10.0.0.1", 0), 0);
  EXPECT_EQ(X509_check_host(cert.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "node1.example", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "node2.example", 0, 0, nullptr), 0);

  // Key type and lifetimes (the defaults).
  EXPECT_EQ(EVP_PKEY_get_base_id(X509_get0_pubkey(cert.get())), EVP_PKEY_EC);
  EXPECT_EQ(Lifetime(ca_cert.get()), absl::Hours(24) * kDefaultCaDays);
  EXPECT_EQ(Lifetime(cert.get()), absl::Hours(24) * kDefaultLeafDays);
  EXPECT_LT(X509_cmp_current_time(X509_get0_notBefore(cert.get())), 0);

  // Random serials: two certificates differ.
  leaf.name = "node2";
  absl::StatusOr<Written> second = MakeCert(leaf);
  ASSERT_TRUE(second.ok()) << second.status();
  X509Ptr cert2 = LoadCert(second->cert_path);
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(cert.get()),
                             X509_get0_serialNumber(cert2.get())),
            0);

  EXPECT_EQ(ModeOf(ca_files->key_path), 0600);
  EXPECT_EQ(ModeOf(leaf_files->key_path), 0600);
  EXPECT_EQ(ModeOf(leaf_files->cert_path), 0644);
  EXPECT_EQ(ModeOf(ca.out_dir), 0700);

  // The daemons take them: credentials build, and the certificate is
  // issued by the CA.
  EXPECT_TRUE(MakeServerCredentials({leaf_files->cert_path,
                                     leaf_files->key_path, ca_files->cert_path})
                  .ok());
  EXPECT_TRUE(
      MakeChannelCredentials(
          {ca_files->cert_path, leaf_files->cert_path, leaf_files->key_path})
          .ok());
  EXPECT_TRUE(CheckIssuedBy("tls-cert", leaf_files->cert_path, "tls-ca",
                            ca_files->cert_path)
                  .ok());
}

TEST(TlsCertsTest, Ed25519CaAndCertificateVerify) {
  TempDir dir("tls_certs_ed25519");
  CaOptions ca;
  ca.out_dir = dir.Sub("ca");
  ca.key_type = KeyType::kEd25519;
  ca.days = 30;
  ASSERT_TRUE(MakeCa(ca).ok());
  CertOptions leaf;
  leaf.ca_dir = ca.out_dir;
  leaf.name = "n";
  leaf.ips = {"127.0.0.1"};
  leaf.out_dir = dir.Sub("certs");
  leaf.key_type = KeyType::kEd25519;
  leaf.days = 7;
  absl::StatusOr<Written> w = MakeCert(leaf);
  ASSERT_TRUE(w.ok()) << w.status();
  X509Ptr ca_cert = LoadCert(ca.out_dir + "/ca.crt");
  X509Ptr cert = LoadCert(w->cert_path);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(Verify(ca_cert.get(), cert.get(), X509_PURPOSE_SSL_SERVER), 1);
  EXPECT_EQ(EVP_PKEY_get_base_id(X509_get0_pubkey(cert.get())),
            EVP_PKEY_ED25519);
  EXPECT_EQ(X509_get_signature_nid(cert.get()), NID_ED25519);
  EXPECT_EQ(Lifetime(cert.get()), absl::Hours(24) * 7);
  EXPECT_TRUE(MakeServerCredentials({w->cert_path, w->key_path, ""}).ok());
}

TEST(TlsCertsTest, NeverOverwritesWithoutForce) {
  TempDir dir("tls_certs_force");
  CaOptions ca;
  ca.out_dir = dir.Sub("ca");
  ASSERT_TRUE(MakeCa(ca).ok());
  const std::string before = ReadAll(ca.out_dir + "/ca.key");
  absl::StatusOr<Written> again = MakeCa(ca);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ReadAll(ca.out_dir + "/ca.key"), before);
  ca.force = true;
  ASSERT_TRUE(MakeCa(ca).ok());
  EXPECT_NE(ReadAll(ca.out_dir + "/ca.key"), before);
  EXPECT_EQ(ModeOf(ca.out_dir + "/ca.key"), 0600);

  CertOptions leaf;
  leaf.ca_dir = ca.out_dir;
  leaf.name = "x";
  leaf.out_dir = dir.Sub("certs");
  ASSERT_TRUE(MakeCert(leaf).ok());
  // Only the key there: still refused, and nothing written.
  std::remove(dir.Sub("certs/x.crt").c_str());
  EXPECT_EQ(MakeCert(leaf).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ModeOf(dir.Sub("certs/x.crt")), -1);
}

// tls-ca --force writes the new key and certificate to temporary files
// first: when the certificate cannot be put in place, the old key is not
// replaced (nor removed), so the pair on disk still matches.
TEST(TlsCertsTest, ForceNeverLeavesACertificateWithoutItsKey) {
  TempDir dir("tls_certs_pair");
  CaOptions ca;
  ca.out_dir = dir.Sub("ca");
  ASSERT_TRUE(MakeCa(ca).ok());
  const std::string key_before = ReadAll(ca.out_dir + "/ca.key");
  // A directory where the certificate goes: its rename must fail.
  std::filesystem::remove(ca.out_dir + "/ca.crt");
  std::filesystem::create_directories(ca.out_dir + "/ca.crt/x");
  ca.force = true;
  absl::StatusOr<Written> w = MakeCa(ca);
  EXPECT_FALSE(w.ok());
  EXPECT_EQ(ReadAll(ca.out_dir + "/ca.key"), key_before);
  for (const auto& e : std::filesystem::directory_iterator(ca.out_dir)) {
    EXPECT_FALSE(absl::StrContains(e.path().filename().string(), ".tmp."))
        << e.path();
  }
}

TEST(TlsCertsTest, LeafEndsWithItsCa) {
  TempDir dir("tls_certs_clip");
  CaOptions ca;
  ca.out_dir = dir.Sub("ca");
  ca.days = 10;
  ASSERT_TRUE(MakeCa(ca).ok());
  CertOptions leaf;
  leaf.ca_dir = ca.out_dir;
  leaf.name = "x";
  leaf.out_dir = dir.Sub("certs");
  absl::StatusOr<Written> w = MakeCert(leaf);
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE(w->clipped_to_ca);
  X509Ptr ca_cert = LoadCert(ca.out_dir + "/ca.crt");
  X509Ptr cert = LoadCert(w->cert_path);
  EXPECT_EQ(ASN1_TIME_compare(X509_get0_notAfter(ca_cert.get()),
                              X509_get0_notAfter(cert.get())),
            0);
}

TEST(TlsCertsTest, BadInputIsRefusedWithTheReason) {
  TempDir dir("tls_certs_bad");
  CaOptions ca;
  ca.out_dir = dir.Sub("ca");
  ca.days = 0;
  EXPECT_EQ(MakeCa(ca).status().code(), absl::StatusCode::kInvalidArgument);
  ca.days = kMaxDays + 1;
  EXPECT_EQ(MakeCa(ca).status().code(), absl::StatusCode::kInvalidArgument);
  ca.days = 30;
  ASSERT_TRUE(MakeCa(ca).ok());
  EXPECT_FALSE(ParseKeyType("rsa").ok());

  auto refused = [&](CertOptions o, const std::string& why) {
    absl::StatusOr<Written> w = MakeCert(o);
    EXPECT_EQ(w.status().code(), absl::StatusCode::kInvalidArgument)
        << w.status();
    EXPECT_NE(w.status().message().find(why), std::string::npos) << w.status();
  };
  CertOptions good;
  good.ca_dir = ca.out_dir;
  good.name = "node";
  good.out_dir = dir.Sub("certs");
  for (const char* name : {"", "a/b", "../x", ".hidden", "ca", "a b"}) {
    CertOptions o = good;
    o.name = name;
    refused(o, "--name");
  }
  CertOptions o = good;
  o.ips = {"300.1.1.1"};
  refused(o, "--ip '300.1.1.1'");
  o = good;
  o.ips = {"[::1]"};
  refused(o, "--ip");
  o = good;
  o.dns = {"bad_name"};
  refused(o, "--dns 'bad_name'");
  o = good;
  o.dns = {"a,IP:1.2.3.4"};  // no injection into the SAN text
  refused(o, "--dns");
  o = good;
  o.ca_dir = dir.Sub("nope");
  refused(o, "pbtool tls-ca");

  // An expired CA signs nothing.
  CaOptions old;
  old.out_dir = dir.Sub("old");
  old.days = 1;
  old.not_before = absl::Now() - absl::Hours(24 * 3);
  ASSERT_TRUE(MakeCa(old).ok());
  o = good;
  o.ca_dir = old.out_dir;
  refused(o, "expired");
  // Nor does a CA that is not valid yet.
  CaOptions future;
  future.out_dir = dir.Sub("future");
  future.not_before = absl::Now() + absl::Hours(24);
  ASSERT_TRUE(MakeCa(future).ok());
  o = good;
  o.ca_dir = future.out_dir;
  refused(o, "the CA is not valid before");
  // Nothing was written by the refused runs.
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("certs")));
}

// What a daemon says about the files it is given (common/tls.h).
class DaemonFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CaOptions ca;
    ca.out_dir = dir_.Sub("ca");
    ASSERT_TRUE(MakeCa(ca).ok());
    ca.out_dir = dir_.Sub("other");
    ASSERT_TRUE(MakeCa(ca).ok());
    ca_ = dir_.Sub("ca/ca.crt");
    other_ca_ = dir_.Sub("other/ca.crt");
    ASSERT_TRUE(Cert("good", dir_.Sub("ca"), absl::InfinitePast(), 365));
    ASSERT_TRUE(Cert("other", dir_.Sub("other"), absl::InfinitePast(), 365));
    ASSERT_TRUE(
        Cert("expired", dir_.Sub("ca"), absl::Now() - absl::Hours(24 * 10), 2));
    ASSERT_TRUE(
        Cert("future", dir_.Sub("ca"), absl::Now() + absl::Hours(48), 365));
  }
  bool Cert(const std::string& name, const std::string& ca_dir,
            absl::Time not_before, int days) {
    CertOptions o;
    o.ca_dir = ca_dir;
    o.name = name;
    o.ips = {"127.0.0.1"};
    o.out_dir = dir_.Sub("certs");
    o.not_before = not_before;
    o.days = days;
    absl::StatusOr<Written> w = MakeCert(o);
    if (!w.ok()) ADD_FAILURE() << w.status();
    return w.ok();
  }
  std::string Crt(const std::string& name) {
    return dir_.Sub("certs/" + name + ".crt");
  }
  std::string Key(const std::string& name) {
    return dir_.Sub("certs/" + name + ".key");
  }
  static void ExpectRefused(const absl::Status& s, const std::string& flag,
                            const std::string& why) {
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_NE(s.message().find(flag), std::string::npos) << s;
    EXPECT_NE(s.message().find(why), std::string::npos) << s;
  }

  TempDir dir_{"tls_daemon_files"};
  std::string ca_;
  std::string other_ca_;
};

TEST_F(DaemonFilesTest, ServerCertificateProblemsNameTheFlag) {
  EXPECT_TRUE(MakeServerCredentials({Crt("good"), Key("good"), ca_}).ok());
  ExpectRefused(
      MakeServerCredentials({Crt("expired"), Key("expired"), ""}).status(),
      "--tls-cert", "expired on");
  ExpectRefused(
      MakeServerCredentials({Crt("future"), Key("future"), ""}).status(),
      "--tls-cert", "not valid before");
  ExpectRefused(MakeServerCredentials({Crt("good"), Key("other"), ""}).status(),
                "--tls-key", "does not match the certificate");
  ExpectRefused(
      MakeServerCredentials({dir_.Sub("missing.crt"), Key("good"), ""})
          .status(),
      "--tls-cert", "cannot read: No such file");
  ExpectRefused(MakeServerCredentials({Key("good"), Key("good"), ""}).status(),
                "--tls-cert", "no PEM certificate");
  ExpectRefused(MakeServerCredentials({Crt("good"), "", ""}).status(),
                "--tls-key", "go together");
  ExpectRefused(MakeServerCredentials({"", "", ca_}).status(),
                "--tls-client-ca", "needs --tls-cert");
  ExpectRefused(
      MakeServerCredentials({Crt("good"), Key("good"), Key("good")}).status(),
      "--tls-client-ca", "no PEM certificate");
}

TEST_F(DaemonFilesTest, ClientCertificateProblemsNameTheFlag) {
  EXPECT_TRUE(MakeChannelCredentials({ca_, "", ""}).ok());
  ExpectRefused(MakeChannelCredentials({Key("good"), "", ""}).status(),
                "--tls-ca", "no PEM certificate");
  ExpectRefused(
      MakeChannelCredentials({ca_, Crt("expired"), Key("expired")}).status(),
      "--tls-client-cert", "expired on");
  ExpectRefused(
      MakeChannelCredentials({ca_, Crt("good"), Key("other")}).status(),
      "--tls-client-key", "does not match");
  ExpectRefused(MakeChannelCredentials({"", Crt("good"), Key("good")}).status(),
                "--tls-client-cert", "need --tls-ca");
}

TEST_F(DaemonFilesTest, CertificateOfAnotherCaIsNamed) {
  EXPECT_TRUE(CheckIssuedBy("tls-cert", Crt("good"), "tls-ca", ca_).ok());
  ExpectRefused(CheckIssuedBy("tls-cert", Crt("other"), "tls-ca", ca_),
                "--tls-cert", "does not verify against --tls-ca");
  ExpectRefused(CheckIssuedBy("tls-cert", Crt("good"), "tls-ca", other_ca_),
                "--tls-cert", "does not verify against --tls-ca");
}

}  // namespace
}  // namespace pbchain::tlsgen
