// The client side of TLS (issue 16): NodeClient and pbcli against a small
// in-test gRPC server serving NodeService.GetInfo with TLS credentials from
// common/tls.h, with certificates made by the `openssl` command line in a
// temp dir (a CA, a server certificate for IP 127.0.0.1, a client
// certificate, a second unrelated CA and a certificate for another name).
// Each way a handshake can fail must come back as one line naming the cause
// and the flag to check.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/node_client.h"
#include "common/tls.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "pbchain/v1/node.grpc.pb.h"
#include "tests/client/client_harness.h"

namespace pbchain::client {
namespace {

using testing::Bin;
using testing::Result;
using testing::RunProcess;
using testing::TempDir;

constexpr char kChainId[] = "pbchain-tls-test";

class InfoOnlyNode final : public v1::NodeService::Service {
  grpc::Status GetInfo(grpc::ServerContext*, const v1::GetInfoRequest*,
                       v1::GetInfoResponse* resp) override {
    resp->set_chain_id(kChainId);
    resp->set_height(42);
    return grpc::Status::OK;
  }
};

// A running server on 127.0.0.1:<free port>.
struct TestServer {
  InfoOnlyNode service;
  std::unique_ptr<grpc::Server> server;
  std::string address;
};

std::unique_ptr<TestServer> Serve(const ServerTlsFiles& files) {
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> creds =
      MakeServerCredentials(files);
  EXPECT_TRUE(creds.ok()) << creds.status();
  if (!creds.ok()) return nullptr;
  auto s = std::make_unique<TestServer>();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", *creds, &port);
  builder.RegisterService(&s->service);
  s->server = builder.BuildAndStart();
  EXPECT_NE(s->server, nullptr);
  EXPECT_GT(port, 0);
  if (s->server == nullptr || port <= 0) return nullptr;
  s->address = absl::StrCat("127.0.0.1:", port);
  return s;
}

class TlsClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("tls_client_test");
    Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", P("ca.key"),
             "-out", P("ca.pem"), "-days", "2", "-subj",
             "/CN=pbchain test CA"});
    Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
             P("other-ca.key"), "-out", P("other-ca.pem"), "-days", "2",
             "-subj", "/CN=some other CA"});
    Leaf("server",
         "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
    Leaf("elsewhere",
         "subjectAltName=DNS:elsewhere.invalid\nextendedKeyUsage=serverAuth\n");
    Leaf("client", "extendedKeyUsage=clientAuth\n");
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  void TearDown() override {
    for (auto& s : servers_) s->server->Shutdown();
  }

  static std::string P(const std::string& name) { return dir_->Sub(name); }

  static void Openssl(const std::vector<std::string>& args) {
    Result r = RunProcess("/usr/bin/openssl", args, dir_->path().string());
    ASSERT_EQ(r.code, 0) << r.Show();
  }

  // NAME.key and NAME.pem signed by ca.pem with the extensions `ext`.
  static void Leaf(const std::string& name, const std::string& ext) {
    std::ofstream(P(name + ".ext")) << ext;
    Openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
             "-nodes", "-keyout", P(name + ".key"), "-out", P(name + ".csr"),
             "-subj", "/CN=" + name});
    Openssl({"x509", "-req", "-in", P(name + ".csr"), "-CA", P("ca.pem"),
             "-CAkey", P("ca.key"), "-CAcreateserial", "-days", "2", "-out",
             P(name + ".pem"), "-extfile", P(name + ".ext")});
  }

  TestServer* Start(const ServerTlsFiles& files) {
    std::unique_ptr<TestServer> s = Serve(files);
    if (s == nullptr) return nullptr;
    servers_.push_back(std::move(s));
    return servers_.back().get();
  }
  TestServer* StartTls(bool require_client_cert = false) {
    return Start({P("server.pem"), P("server.key"),
                  require_client_cert ? P("ca.pem") : ""});
  }

  // GetInfo through a NodeClient with `tls`.
  absl::StatusOr<v1::GetInfoResponse> Info(const std::string& address,
                                           const ClientTlsFiles& tls) {
    NodeClientOptions o;
    o.address = address;
    o.tls = tls;
    o.call_timeout = absl::Seconds(20);
    absl::StatusOr<std::unique_ptr<NodeClient>> c = NodeClient::Create(o);
    if (!c.ok()) return c.status();
    return (*c)->GetInfo();
  }

  static TempDir* dir_;
  std::vector<std::unique_ptr<TestServer>> servers_;
};

TempDir* TlsClientTest::dir_ = nullptr;

TEST_F(TlsClientTest, TrustedServerAnswers) {
  TestServer* s = StartTls();
  ASSERT_NE(s, nullptr);
  absl::StatusOr<v1::GetInfoResponse> info = Info(s->address, {P("ca.pem")});
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->chain_id(), kChainId);
}

TEST_F(TlsClientTest, UntrustedCertificateIsOneClearLine) {
  TestServer* s = StartTls();
  ASSERT_NE(s, nullptr);
  absl::StatusOr<v1::GetInfoResponse> info =
      Info(s->address, {P("other-ca.pem")});
  EXPECT_EQ(info.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(
      info.status().message(),
      absl::StrCat("cannot reach the node at ", s->address,
                   " over TLS: certificate not trusted (check --tls-ca)"));
}

TEST_F(TlsClientTest, CertificateForAnotherNameIsOneClearLine) {
  TestServer* s = Start({P("elsewhere.pem"), P("elsewhere.key"), ""});
  ASSERT_NE(s, nullptr);
  absl::StatusOr<v1::GetInfoResponse> info = Info(s->address, {P("ca.pem")});
  EXPECT_EQ(info.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(info.status().message(),
                                "certificate does not name this host"))
      << info.status();
}

TEST_F(TlsClientTest, PlaintextClientAtTlsServerIsToldToGiveTheCa) {
  TestServer* s = StartTls();
  ASSERT_NE(s, nullptr);
  absl::StatusOr<v1::GetInfoResponse> info = Info(s->address, {});
  EXPECT_EQ(info.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(info.status().message(), "--tls-ca"))
      << info.status();
  EXPECT_TRUE(absl::StartsWith(info.status().message(),
                               "cannot reach node at " + s->address +
                                   ": connection closed during setup"))
      << info.status();
}

TEST_F(TlsClientTest, TlsClientAtPlaintextServerIsToldItDoesNotSpeakTls) {
  TestServer* s = Start({});
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(Info(s->address, {}).ok());  // plaintext works
  absl::StatusOr<v1::GetInfoResponse> info = Info(s->address, {P("ca.pem")});
  EXPECT_EQ(info.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(info.status().message(),
            absl::StrCat("cannot reach the node at ", s->address,
                         " over TLS: the node does not speak TLS (drop "
                         "--tls-ca, or give the node a certificate)"));
}

TEST_F(TlsClientTest, MutualTls) {
  TestServer* s = StartTls(/*require_client_cert=*/true);
  ASSERT_NE(s, nullptr);
  absl::StatusOr<v1::GetInfoResponse> with =
      Info(s->address, {P("ca.pem"), P("client.pem"), P("client.key")});
  ASSERT_TRUE(with.ok()) << with.status();
  EXPECT_EQ(with->chain_id(), kChainId);

  absl::StatusOr<v1::GetInfoResponse> without = Info(s->address, {P("ca.pem")});
  EXPECT_EQ(without.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(absl::StrContains(without.status().message(), "over TLS: "))
      << without.status();
  EXPECT_TRUE(
      absl::StrContains(without.status().message(), "--tls-client-cert"))
      << without.status();
}

TEST_F(TlsClientTest, BadFilesAreRefusedBeforeDialing) {
  absl::StatusOr<v1::GetInfoResponse> missing =
      Info("127.0.0.1:1", {P("absent.pem")});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(missing.status().message(),
                               "--tls-ca " + P("absent.pem") + ": "))
      << missing.status();
  absl::StatusOr<v1::GetInfoResponse> half =
      Info("127.0.0.1:1", {P("ca.pem"), P("client.pem"), ""});
  EXPECT_EQ(half.status().code(), absl::StatusCode::kInvalidArgument);
  absl::StatusOr<v1::GetInfoResponse> mismatched =
      Info("127.0.0.1:1", {P("ca.pem"), P("client.pem"), P("server.key")});
  EXPECT_EQ(mismatched.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(
      absl::StrContains(mismatched.status().message(), "does not match"))
      << mismatched.status();
}

// pbcli end to end: the flags, the environment variables and the one-line
// errors with exit codes.
TEST_F(TlsClientTest, PbcliFlagsAndEnvironment) {
  TestServer* s = StartTls(/*require_client_cert=*/true);
  ASSERT_NE(s, nullptr);
  const std::string cwd = dir_->path().string();
  Result ok = RunProcess(
      Bin("pbcli"),
      {"--node", s->address, "--tls-ca", P("ca.pem"), "--tls-client-cert",
       P("client.pem"), "--tls-client-key", P("client.key"), "info", "--json"},
      cwd);
  ASSERT_EQ(ok.code, 0) << ok.Show();
  EXPECT_EQ(ok.OutJson()["chain_id"], kChainId);

  setenv("PBCHAIN_TLS_CA", P("ca.pem").c_str(), 1);
  setenv("PBCHAIN_TLS_CLIENT_CERT", P("client.pem").c_str(), 1);
  setenv("PBCHAIN_TLS_CLIENT_KEY", P("client.key").c_str(), 1);
  Result env =
      RunProcess(Bin("pbcli"), {"--node", s->address, "info", "--json"}, cwd);
  unsetenv("PBCHAIN_TLS_CA");
  unsetenv("PBCHAIN_TLS_CLIENT_CERT");
  unsetenv("PBCHAIN_TLS_CLIENT_KEY");
  ASSERT_EQ(env.code, 0) << env.Show();
  EXPECT_EQ(env.OutJson()["chain_id"], kChainId);

  Result untrusted = RunProcess(
      Bin("pbcli"),
      {"--node", s->address, "--tls-ca", P("other-ca.pem"), "info"}, cwd);
  EXPECT_EQ(untrusted.code, 1) << untrusted.Show();
  EXPECT_EQ(untrusted.err,
            absl::StrCat("pbcli: cannot reach the node at ", s->address,
                         " over TLS: certificate not trusted (check "
                         "--tls-ca)\n"));

  Result missing = RunProcess(
      Bin("pbcli"), {"--node", s->address, "--tls-ca", P("nope.pem"), "info"},
      cwd);
  EXPECT_EQ(missing.code, 2) << missing.Show();
  EXPECT_TRUE(absl::StartsWith(missing.err, "pbcli: --tls-ca " + P("nope.pem")))
      << missing.Show();
  EXPECT_EQ(std::count(missing.err.begin(), missing.err.end(), '\n'), 1);
}

}  // namespace
}  // namespace pbchain::client
