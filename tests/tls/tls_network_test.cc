// TLS on every gRPC link, with real processes: a pbtracker and three
// pbnode processes, all with certificates made by the pbtool binary and
// mutual TLS required everywhere, find each other through the tracker (its
// reachability probe dials the nodes with TLS too), converge on one chain
// and relay a transaction to the miner. Then the refusals: a plaintext
// client, a client trusting another CA, a client without a certificate, a
// node dialing without a client certificate and a plaintext node dialing
// the TLS tracker; and buf curl --cacert reaches a node through reflection.
#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/tls.h"
#include "gtest/gtest.h"
#include "tests/network/net_harness.h"
#include "tests/util/process.h"

namespace pbchain::nettest {
namespace {

constexpr absl::Duration kConverge = absl::Seconds(60);

// Runs `pbtool args...`; its exit code (its output goes to `log`).
int Pbtool(const std::vector<std::string>& args, const std::string& log) {
  testing::ChildProcess p(BinaryPath("pbtool"), args, log);
  while (p.ReadLine(std::chrono::seconds(30)).has_value()) {
  }
  return p.Wait();
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}


// GetInfo on `address` over a channel with `credentials`.
grpc::Status GetInfoWith(
    const std::string& address,
    std::shared_ptr<grpc::ChannelCredentials> credentials) {
  auto stub =
      v1::NodeService::NewStub(grpc::CreateChannel(address, credentials));
  v1::GetInfoRequest request;
  v1::GetInfoResponse response;
  return stub->GetInfo(Ctx(std::chrono::seconds(5)).get(), request, &response);
}

// The certificates of the test: a CA and one certificate per process (all
// for 127.0.0.1), and a second CA that signed nothing of the network.
class Pki {
 public:
  explicit Pki(const TestNet& net) : dir_(net.Sub("pki")) {}

  bool Make() {
    const std::string log = dir_ + ".log";
    if (Pbtool({"tls-ca", "--out", dir_ + "/ca"}, log) != 0) return false;
    if (Pbtool({"tls-ca", "--out", dir_ + "/other-ca", "--key-type", "ed25519"},
               log) != 0) {
      return false;
    }
    for (const std::string name :
         {"tracker", "node1", "node2", "node3", "node4", "client"}) {
      std::vector<std::string> args = {"tls-cert",  "--ca",  dir_ + "/ca",
                                       "--name",    name,    "--ip",
                                       "127.0.0.1", "--out", dir_ + "/certs"};
      // One node on Ed25519 keys: both key types on the same network.
      if (name == "node2") {
        args.insert(args.end(), {"--key-type", "ed25519"});
      }
      if (Pbtool(args, log) != 0) return false;
    }
    return Pbtool({"tls-cert", "--ca", dir_ + "/other-ca", "--name", "stranger",
                   "--ip", "127.0.0.1", "--out", dir_ + "/certs"},
                  log) == 0;
  }

  std::string ca() const { return dir_ + "/ca/ca.crt"; }
  std::string other_ca() const { return dir_ + "/other-ca/ca.crt"; }
  std::string crt(const std::string& name) const {
    return dir_ + "/certs/" + name + ".crt";
  }
  std::string key(const std::string& name) const {
    return dir_ + "/certs/" + name + ".key";
  }
  // Every TLS flag of a daemon named `name`: serves TLS, requires client
  // certificates, dials with TLS presenting its own certificate.
  std::vector<std::string> MutualFlags(const std::string& name) const {
    return {"--tls-cert=" + crt(name),        "--tls-key=" + key(name),
            "--tls-client-ca=" + ca(),        "--tls-ca=" + ca(),
            "--tls-client-cert=" + crt(name), "--tls-client-key=" + key(name)};
  }
  std::shared_ptr<grpc::ChannelCredentials> Client(const std::string& ca,
                                                   const std::string& name) {
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> c =
        MakeChannelCredentials(
            {ca, name.empty() ? "" : crt(name), name.empty() ? "" : key(name)});
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *c : nullptr;
  }

 private:
  std::string dir_;
};

TEST(TlsNetworkTest, MutualTlsNetworkConvergesRelaysAndRefusesStrangers) {
  TestNet net("tls_network", GenesisConfig{.target_interval_ms = 200});
  ASSERT_TRUE(net.ok());
  Pki pki(net);
  ASSERT_TRUE(pki.Make()) << ReadFile(net.Sub("pki.log"));
  net.set_client_credentials(pki.Client(pki.ca(), "client"));

  std::vector<std::string> tracker_flags = pki.MutualFlags("tracker");
  tracker_flags.insert(tracker_flags.end(),
                       {"--heartbeat-interval=500ms", "--lease-ttl=5s"});
  TrackerProcess* tracker = net.StartTracker("127.0.0.1:0", tracker_flags);
  ASSERT_NE(tracker, nullptr);
  std::vector<NodeProcess*> nodes;
  for (int i = 1; i <= 3; ++i) {
    NodeConfig config;
    config.role = i == 1 ? "head" : "full";
    config.mine = i == 1;
    config.tracker = tracker->address();
    config.extra = pki.MutualFlags(absl::StrCat("node", i));
    NodeProcess* n = net.StartNode(absl::StrCat("node", i), config);
    ASSERT_NE(n, nullptr);
    nodes.push_back(n);
  }

  // 1. One chain (blocks relayed from the miner over TLS gossip), and the
  //    tracker (TLS, probing with TLS) lists all three.
  std::optional<v1::GetInfoResponse> tip = WaitForSameTip(nodes, 3, kConverge);
  ASSERT_TRUE(tip.has_value());
  EXPECT_TRUE(WaitFor(
      [&](std::string& seen) {
        absl::StatusOr<v1::TrackerListPeersResponse> peers =
            tracker->Peers(tip->genesis_hash());
        seen = peers.ok() ? absl::StrCat(peers->peers_size(), " peers")
                          : peers.status().ToString();
        return peers.ok() && peers->peers_size() == 3;
      },
      absl::Seconds(20), "the TLS tracker to list the 3 TLS nodes"));
  EXPECT_TRUE(WaitFor(
      [&](std::string& seen) {
        seen.clear();
        bool all = true;
        for (NodeProcess* n : nodes) {
          absl::StatusOr<v1::ListPeersResponse> peers = n->Peers();
          const int connected = peers.ok() ? peers->connected_size() : -1;
          absl::StrAppend(&seen, n->name(), " connected=", connected, "; ");
          all = all && connected >= 1;
        }
        return all;
      },
      absl::Seconds(20), "every node to have a TLS gossip peer"));

  // 2. A transaction submitted to node3 reaches the miner (node1) and is
  //    confirmed everywhere.
  const Address payee = AddressFromPublicKey(net.funded_key(3).public_key());
  absl::StatusOr<std::string> tx =
      SubmitTransfer(*nodes[2], net.params(), net.funded_key(0), payee, 777);
  ASSERT_TRUE(tx.ok()) << tx.status();
  for (NodeProcess* n : {nodes[0], nodes[1]}) {
    EXPECT_TRUE(WaitFor(
        [&](std::string& seen) {
          absl::StatusOr<v1::GetTransactionResponse> t = n->Transaction(*tx);
          seen = t.ok() ? absl::StrCat("in_mempool=", t->in_mempool(),
                                       " confirmations=", t->confirmations())
                        : t.status().ToString();
          return t.ok() && !t->in_mempool() && t->confirmations() >= 1;
        },
        kConverge, absl::StrCat(n->name(), " to confirm the transaction")));
  }

  const std::string buf =
      std::string(PBCHAIN_SOURCE_DIR) + "/tools/node_modules/.bin/buf";

  // 3. Clients that do not belong are refused, each with a reason.
  const std::string node1 = nodes[0]->address();
  grpc::Status plain = GetInfoWith(node1, grpc::InsecureChannelCredentials());
  EXPECT_EQ(plain.error_code(), grpc::StatusCode::UNAVAILABLE)
      << plain.error_message();
  grpc::Status stranger =
      GetInfoWith(node1, pki.Client(pki.other_ca(), "stranger"));
  EXPECT_EQ(stranger.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(
      absl::StrContains(stranger.error_message(), "certificate verify failed"))
      << stranger.error_message();
  grpc::Status no_cert = GetInfoWith(node1, pki.Client(pki.ca(), ""));
  EXPECT_EQ(no_cert.error_code(), grpc::StatusCode::UNAVAILABLE)
      << no_cert.error_message();
  EXPECT_TRUE(GetInfoWith(node1, pki.Client(pki.ca(), "client")).ok());

  // 4. buf curl with the CA (and a client certificate, which the node
  //    requires) calls the node through reflection.
  if (access(buf.c_str(), X_OK) != 0) {
    ADD_FAILURE() << buf << " missing: run tools/lint-proto.sh";
  } else {
    int code = 0;
    const std::string base = absl::StrCat(
        buf, " curl --protocol grpc --reflect-protocol grpc-v1alpha --cacert ",
        pki.ca(), " ");
    const std::string url =
        absl::StrCat("https://", node1, "/pbchain.v1.NodeService/GetInfo");
    std::string out =
        testing::RunShellCommand(absl::StrCat(base, "--cert ", pki.crt("client"), " --key ",
                              pki.key("client"), " ", url),
                 &code);
    EXPECT_EQ(code, 0) << out;
    EXPECT_TRUE(absl::StrContains(out, "\"genesisHash\"")) << out;
    // Without a client certificate, buf is refused too.
    out = testing::RunShellCommand(base + url, &code);
    EXPECT_NE(code, 0) << out;
  }

  // 5. A node that dials with TLS but without a client certificate is
  //    refused by node1 and says so in its log; node1 never lists it.
  {
    NodeConfig config;
    config.peers = {node1};
    config.connect_only = true;
    config.extra = {"--tls-cert=" + pki.crt("node4"),
                    "--tls-key=" + pki.key("node4"), "--tls-ca=" + pki.ca()};
    NodeProcess* n4 = net.StartNode("node4", config);
    ASSERT_NE(n4, nullptr);
    EXPECT_TRUE(WaitFor(
        [&](std::string& seen) {
          seen = n4->LogTail(5);
          return absl::StrContains(ReadFile(n4->log_path()),
                                   "peer " + node1 + ": connection failed") &&
                 absl::StrContains(ReadFile(n4->log_path()),
                                   "--tls-client-cert");
        },
        absl::Seconds(20), "node4 to log why node1 refused it"));
    absl::StatusOr<v1::GetInfoResponse> info4 = n4->Info();
    ASSERT_TRUE(info4.ok()) << info4.status();
    absl::StatusOr<v1::ListPeersResponse> peers1 = nodes[0]->Peers();
    ASSERT_TRUE(peers1.ok());
    EXPECT_EQ(FindConnected(*peers1, info4->node_id()), nullptr);
    EXPECT_EQ(info4->peer_count(), 0u);
    // node4 serves TLS without requiring client certificates: buf curl
    // with nothing but --cacert gets through.
    if (access(buf.c_str(), X_OK) == 0) {
      int code = 0;
      const std::string out = testing::RunShellCommand(
          absl::StrCat(buf,
                       " curl --protocol grpc --reflect-protocol grpc-v1alpha "
                       "--cacert ",
                       pki.ca(), " https://", n4->address(),
                       "/pbchain.v1.NodeService/GetInfo"),
          &code);
      EXPECT_EQ(code, 0) << out;
      EXPECT_TRUE(absl::StrContains(out, info4->node_id())) << out;
    }
  }

  // 6. A plaintext node pointed at the TLS tracker logs what to fix.
  {
    net.set_client_credentials(nullptr);
    NodeConfig config;
    config.tracker = tracker->address();
    NodeProcess* n5 = net.StartNode("node5", config);
    ASSERT_NE(n5, nullptr);
    EXPECT_TRUE(WaitFor(
        [&](std::string& seen) {
          seen = n5->LogTail(5);
          return absl::StrContains(ReadFile(n5->log_path()),
                                   "if the tracker serves TLS, give --tls-ca");
        },
        absl::Seconds(20), "node5 to log that the tracker needs TLS"));
  }
}

}  // namespace
}  // namespace pbchain::nettest
