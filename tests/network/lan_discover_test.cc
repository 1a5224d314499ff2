// --discover-subnet and `pbtool scan` on loopback addresses: nodes listen on
// 127.0.0.2, .3 (one network) and .5 (another network), all on the same
// port P; a node on 127.0.0.4:P started with --discover-subnet
// 127.0.0.0/29 --discover-ports P and no tracker or --peer finds and
// connects to both nodes of its network and leaves the stranger out of its
// address book. `pbtool scan` lists all three by host and port, as text and
// as JSON (parsed here), and exits 2 on a bad subnet or port range. A node
// stops in the middle of a /16 scan within 5 s of SIGTERM, and a scan ends
// once the node has a peer.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/network/net_harness.h"
#include "tests/util/process.h"

namespace pbchain::nettest {
namespace {

constexpr absl::Duration kWait = absl::Seconds(60);

std::string Pbtool() { return std::string(PBCHAIN_BIN_DIR) + "/pbtool"; }

// pbtool's stdout alone (stderr dropped), and its exit code.
std::string RunPbtool(const std::string& args, int* code) {
  return testing::RunShellCommand(
      absl::StrCat("(", Pbtool(), " ", args, " 2>/dev/null)"), code);
}

TEST(LanDiscoverTest, FindsNodesOnTheSubnetAndScanListsThem) {
  TestNet net("lan_discover", GenesisConfig{.target_interval_ms = 300});
  ASSERT_TRUE(net.ok());
  TestNet other("lan_discover_other", GenesisConfig{.chain_id = "pbchain-other",
                                                    .target_interval_ms = 300});
  ASSERT_TRUE(other.ok());

  // One port for every node, as on a LAN where all use the default port.
  const uint16_t port = ReserveLoopbackPort();
  ASSERT_NE(port, 0);
  NodeConfig miner;
  miner.role = "head";
  miner.mine = true;
  miner.listen = absl::StrCat("127.0.0.2:", port);
  NodeProcess* n1 = net.StartNode("node1", miner);
  ASSERT_NE(n1, nullptr);
  NodeConfig full;
  full.listen = absl::StrCat("127.0.0.3:", port);
  NodeProcess* n2 = net.StartNode("node2", full);
  ASSERT_NE(n2, nullptr);
  miner.listen = absl::StrCat("127.0.0.5:", port);
  NodeProcess* stranger = other.StartNode("stranger", miner);
  ASSERT_NE(stranger, nullptr);

  NodeConfig finder;
  finder.listen = absl::StrCat("127.0.0.4:", port);
  finder.extra = {"--discover-subnet=127.0.0.0/29",
                  absl::StrCat("--discover-ports=", port)};
  NodeProcess* n3 = net.StartNode("node3", finder);
  ASSERT_NE(n3, nullptr);

  absl::StatusOr<v1::GetInfoResponse> n1_info = n1->Info();
  absl::StatusOr<v1::GetInfoResponse> n2_info = n2->Info();
  absl::StatusOr<v1::GetInfoResponse> stranger_info = stranger->Info();
  ASSERT_TRUE(n1_info.ok() && n2_info.ok() && stranger_info.ok());
  ASSERT_TRUE(WaitFor(
      [&](std::string& seen) {
        absl::StatusOr<v1::ListPeersResponse> peers = n3->Peers();
        seen = n3->Summary();
        return peers.ok() && FindConnected(*peers, n1_info->node_id()) &&
               FindConnected(*peers, n2_info->node_id());
      },
      kWait, "node3 to connect to node1 and node2 found by the subnet scan"));
  ASSERT_TRUE(WaitForSameTip({n1, n2, n3}, 2, kWait).has_value());

  // The stranger answered the probe too, and was left alone.
  absl::StatusOr<v1::ListPeersResponse> peers = n3->Peers();
  ASSERT_TRUE(peers.ok());
  EXPECT_EQ(FindConnected(*peers, stranger_info->node_id()), nullptr);
  for (const v1::PeerInfo& known : peers->known()) {
    EXPECT_NE(known.node_id(), stranger_info->node_id());
  }

  // pbtool scan --json: one array, every node of both networks by host.
  int code = -1;
  const std::string json_text = RunPbtool(
      absl::StrCat("scan 127.0.0.0/29 --ports ", port, " --json"), &code);
  ASSERT_EQ(code, 0) << json_text;
  nlohmann::json doc = nlohmann::json::parse(json_text, nullptr, false);
  ASSERT_TRUE(doc.is_array()) << json_text;
  std::map<std::string, nlohmann::json> by_host;
  for (const nlohmann::json& entry : doc) {
    ASSERT_TRUE(entry.is_object());
    EXPECT_EQ(entry.value("port", 0), port);
    // Another test running alongside may have got port P on 127.0.0.1
    // (it was free there only when reserved); .2-.5 are this test's own.
    if (entry.value("host", "") == "127.0.0.1") continue;
    by_host[entry.value("host", "")] = entry;
  }
  ASSERT_EQ(by_host.size(), 4u) << json_text;
  ASSERT_EQ(by_host.count("127.0.0.2"), 1u) << json_text;
  ASSERT_EQ(by_host.count("127.0.0.3"), 1u) << json_text;
  ASSERT_EQ(by_host.count("127.0.0.4"), 1u) << json_text;
  ASSERT_EQ(by_host.count("127.0.0.5"), 1u) << json_text;
  const nlohmann::json& head = by_host["127.0.0.2"];
  EXPECT_EQ(head.value("node_id", ""), n1_info->node_id());
  EXPECT_EQ(head.value("chain_id", ""), n1_info->chain_id());
  EXPECT_EQ(head.value("role", ""), "head");
  EXPECT_EQ(head.value("version", ""), n1_info->version());
  EXPECT_EQ(head.value("genesis_hash", ""),
            DisplayHex(n1_info->genesis_hash()));
  EXPECT_TRUE(head.contains("height") && head["height"].is_number());
  EXPECT_TRUE(head.contains("tip_hash"));
  EXPECT_EQ(by_host["127.0.0.5"].value("chain_id", ""), "pbchain-other");
  EXPECT_EQ(by_host["127.0.0.3"].value("node_id", ""), n2_info->node_id());
  EXPECT_EQ(by_host["127.0.0.4"].value("role", ""), "full");

  // Text: host, then port, then the details, hosts in address order.
  // 127.0.0.2/31 is .2 and .3 (a /31 has no network or broadcast address).
  const std::string text = RunPbtool(
      absl::StrCat("scan 127.0.0.2/31 --ports ", port, " --rate 1000"), &code);
  ASSERT_EQ(code, 0) << text;
  EXPECT_TRUE(absl::StrContains(text, "2 node(s) found")) << text;
  const size_t host2 = text.find("\n127.0.0.2\n");
  const size_t host3 = text.find("\n127.0.0.3\n");
  ASSERT_NE(host2, std::string::npos) << text;
  ASSERT_NE(host3, std::string::npos) << text;
  EXPECT_LT(host2, host3);
  const size_t port_line =
      text.find(absl::StrCat("  port ", port, "\n"), host2);
  ASSERT_NE(port_line, std::string::npos) << text;
  const size_t details = text.find(
      absl::StrCat("chain id ", n1_info->chain_id(), ", role head"), host2);
  ASSERT_NE(details, std::string::npos) << text;
  EXPECT_LT(port_line, details);
  EXPECT_LT(details, host3);
  EXPECT_LT(text.find(n1_info->node_id()), host3) << text;
  const size_t n2_at = text.find(n2_info->node_id());
  ASSERT_NE(n2_at, std::string::npos) << text;
  EXPECT_GT(n2_at, host3);

  // An empty range is not an error: the scan ran.
  const std::string none =
      RunPbtool(absl::StrCat("scan 127.0.0.6/32 --ports ", port), &code);
  EXPECT_EQ(code, 0) << none;
  EXPECT_TRUE(absl::StrContains(none, "no nodes found")) << none;
  // Bad arguments: exit 2.
  for (const std::string bad :
       {"scan 10.0.0.0/8", "scan fe80::/64", "scan 127.0.0.0/29 --ports 0",
        "scan 127.0.0.0/29 --ports 9-8", "scan 127.0.0.0/29 --timeout 0",
        "scan 127.0.0.0/29 --rate x", "scan", "scan 10.0.0.0/16 --ports 1-2"}) {
    RunPbtool(bad, &code);
    EXPECT_EQ(code, 2) << bad;
  }
}

// Hosts that accept a TCP connection and never answer: listeners on
// 127.1.0.1 .. 127.1.0.N, all on one port, and a thread that accepts and
// holds every connection. A GetInfo probe to one waits for its deadline,
// so probes are really in flight while these are being scanned.
class SilentHosts {
 public:
  explicit SilentHosts(int hosts) {
    for (int i = 1; i <= hosts; ++i) {
      const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) continue;
      const int one = 1;
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(port_);
      addr.sin_addr.s_addr = htonl((127u << 24) | (1u << 16) | i);
      if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
          listen(fd, 1024) != 0) {
        close(fd);
        if (port_ == 0) break;  // the first one picks the port
        continue;
      }
      if (port_ == 0) {
        socklen_t len = sizeof(addr);
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
      }
      listeners_.push_back(fd);
    }
    accepter_ = std::thread([this] { Accept(); });
  }
  ~SilentHosts() {
    stop_ = true;
    accepter_.join();
    for (int fd : listeners_) close(fd);
    for (int fd : accepted_) close(fd);
  }
  uint16_t port() const { return port_; }
  size_t listeners() const { return listeners_.size(); }
  int accepted() const { return count_.load(); }

 private:
  void Accept() {
    std::vector<pollfd> fds;
    for (int fd : listeners_) fds.push_back({fd, POLLIN, 0});
    while (!stop_) {
      if (poll(fds.data(), fds.size(), 100) <= 0) continue;
      for (pollfd& p : fds) {
        if ((p.revents & POLLIN) == 0) continue;
        const int c = accept4(p.fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0) {
          accepted_.push_back(c);  // held open, never answered
          ++count_;
        }
      }
    }
  }

  uint16_t port_ = 0;
  std::vector<int> listeners_;
  std::vector<int> accepted_;  // the accepter thread's until it is joined
  std::atomic<int> count_{0};
  std::atomic<bool> stop_{false};
  std::thread accepter_;
};

// A /16 takes minutes at the default rate; SIGTERM in the middle of it,
// with probes in flight (waiting on hosts that accept and never answer),
// stops the node cleanly (exit 0) within 5 s, not after the scan or by
// SIGKILL at the end of Stop's grace. 127.1.0.0/16 is all loopback.
TEST(LanDiscoverTest, StopsInTheMiddleOfALargeScan) {
  SilentHosts silent(254);
  ASSERT_NE(silent.port(), 0);
  ASSERT_GE(silent.listeners(), 200u);
  TestNet net("lan_discover_stop", GenesisConfig{.target_interval_ms = 300});
  ASSERT_TRUE(net.ok());
  NodeConfig scanner;
  scanner.extra = {"--discover-subnet=127.1.0.0/16",
                   absl::StrCat("--discover-ports=", silent.port())};
  NodeProcess* node = net.StartNode("scanner", scanner);
  ASSERT_NE(node, nullptr);
  ASSERT_TRUE(node->Info().ok());
  // At 200 probes a second with a 500 ms deadline, ~100 probes wait on
  // the silent hosts at once; 50 accepted connections means many are.
  ASSERT_TRUE(WaitFor(
      [&](std::string& seen) {
        seen = absl::StrCat(silent.accepted(), " connections accepted");
        return silent.accepted() >= 50;
      },
      kWait, "the scan to reach the silent hosts"));
  const absl::Time sigterm = absl::Now();
  EXPECT_EQ(node->Stop(std::chrono::seconds(20)), 0) << node->LogTail();
  // A bound on a hang (the probes' deadline is 500 ms), not a speed figure.
  EXPECT_LT(absl::Now() - sigterm, absl::Seconds(5)) << node->LogTail();
}

// A scan ends once the node has a connected peer: a node with --peer and
// a /16 to scan (about 5.5 minutes at the default rate) logs that its scan
// stopped, long before the scan could have finished.
TEST(LanDiscoverTest, ScanEndsOnceThereIsAPeer) {
  TestNet net("lan_discover_peer", GenesisConfig{.target_interval_ms = 300});
  ASSERT_TRUE(net.ok());
  NodeProcess* seed = net.StartNode("seed", NodeConfig{});
  ASSERT_NE(seed, nullptr);
  NodeConfig scanner;
  scanner.peers = {seed->address()};
  scanner.extra = {"--discover-subnet=127.2.0.0/16", "--discover-ports=9"};
  NodeProcess* node = net.StartNode("scanner", scanner);
  ASSERT_NE(node, nullptr);
  ASSERT_TRUE(WaitFor(
      [&](std::string& seen) {
        const std::string log = node->LogTail(100000);
        seen = node->LogTail(5);
        return absl::StrContains(log, "discovery: scan of 127.2.0.0/16 "
                                      "stopped after") &&
               absl::StrContains(log, "connected to a peer");
      },
      absl::Seconds(30), "the scan to stop once connected to the seed"));
}

}  // namespace
}  // namespace pbchain::nettest
