// pbnode --http --http-tls: the HTTP gateway serves HTTPS (GnuTLS through
// libmicrohttpd) with the node's --tls-cert / --tls-key, for P-256 and
// Ed25519 certificates made by the pbtool binary. An OpenSSL client
// (cpp-httplib's SSLClient) trusting the CA gets the JSON API; one trusting
// another CA and a plain HTTP client get nothing.
#include <httplib.h>

#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "tests/util/process.h"

namespace pbchain {
namespace {

using testing::ChildProcess;
using testing::TempDir;

std::string Bin(const std::string& name) {
  return std::string(PBCHAIN_BIN_DIR) + "/" + name;
}

int Pbtool(const TempDir& dir, const std::vector<std::string>& args) {
  ChildProcess p(Bin("pbtool"), args, dir.Sub("pbtool.log"));
  while (p.ReadLine(std::chrono::seconds(30)).has_value()) {
  }
  return p.Wait();
}

class HttpsGatewayTest : public ::testing::TestWithParam<std::string> {};

TEST_P(HttpsGatewayTest, ServesTheApiOverHttpsOnly) {
  const std::string key_type = GetParam();
  TempDir dir("tls_https_" + key_type);
  ASSERT_EQ(Pbtool(dir, {"genesis", "--out", dir.Sub("genesis.json")}), 0);
  ASSERT_EQ(Pbtool(dir, {"tls-ca", "--out", dir.Sub("ca")}), 0);
  ASSERT_EQ(Pbtool(dir, {"tls-ca", "--out", dir.Sub("other")}), 0);
  ASSERT_EQ(Pbtool(dir, {"tls-cert", "--ca", dir.Sub("ca"), "--name", "node",
                         "--ip", "127.0.0.1", "--key-type", key_type, "--out",
                         dir.Sub("certs")}),
            0);

  ChildProcess node(
      Bin("pbnode"),
      {"--listen=127.0.0.1:0", "--datadir=" + dir.Sub("data"),
       "--genesis=" + dir.Sub("genesis.json"), "--http=127.0.0.1:0",
       "--http-tls", "--tls-cert=" + dir.Sub("certs/node.crt"),
       "--tls-key=" + dir.Sub("certs/node.key")},
      dir.Sub("pbnode.log"));
  int port = 0;
  std::string scheme;
  while (std::optional<std::string> line =
             node.ReadLine(std::chrono::seconds(30))) {
    std::smatch m;
    if (std::regex_search(*line, m,
                          std::regex("gateway listening on 127\\.0\\.0\\.1:"
                                     "(\\d+) \\(explorer: (\\w+)://"))) {
      port = std::stoi(m[1].str());
      scheme = m[2].str();
      break;
    }
  }
  ASSERT_NE(port, 0) << "no gateway line";
  EXPECT_EQ(scheme, "https");

  {
    httplib::SSLClient client("127.0.0.1", port);
    client.set_ca_cert_path(dir.Sub("ca/ca.crt"));
    client.enable_server_certificate_verification(true);
    client.set_connection_timeout(5);
    client.set_read_timeout(5);
    httplib::Result res = client.Get("/v1/info");
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    EXPECT_EQ(res->status, 200);
    EXPECT_TRUE(absl::StrContains(res->body, "\"genesisHash\"")) << res->body;
  }
  {
    httplib::SSLClient client("127.0.0.1", port);
    client.set_ca_cert_path(dir.Sub("other/ca.crt"));
    client.enable_server_certificate_verification(true);
    client.set_connection_timeout(5);
    client.set_read_timeout(5);
    httplib::Result res = client.Get("/v1/info");
    EXPECT_FALSE(res) << "a client trusting another CA got an answer";
    if (!res) {
      EXPECT_EQ(res.error(), httplib::Error::SSLServerVerification);
    }
  }
  {
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(5);
    client.set_read_timeout(5);
    httplib::Result res = client.Get("/v1/info");
    EXPECT_FALSE(res) << "plain HTTP got status " << res->status;
  }
  node.Kill(SIGTERM);
  EXPECT_EQ(node.Wait(), 0);
}

INSTANTIATE_TEST_SUITE_P(KeyTypes, HttpsGatewayTest,
                         ::testing::Values("p256", "ed25519"));

}  // namespace
}  // namespace pbchain
