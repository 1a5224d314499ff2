// Startup failures end cleanly (issue 16): a pbnode whose admin listener
// cannot bind (its --admin-listen port is taken) exits with kExitFailure
// and one "pbnode: --admin_listen: ..." line, not a crash. The health
// follower's thread is already reading the node's tip at that point; the
// error path must stop it before closing the node (it used to close the
// node under it: a use after free, a signal exit now and then, hence the
// repetitions).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/exit_codes.h"
#include "gtest/gtest.h"
#include "tests/network/net_harness.h"
#include "tests/util/process.h"

namespace pbchain::opstest {
namespace {

using nettest::GenesisConfig;
using nettest::TestNet;

// A loopback port held by a plain listening socket (no SO_REUSEPORT: no
// one else can bind it) for the test's life.
class HeldPort {
 public:
  HeldPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof(a);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), len) != 0 ||
        ::listen(fd_, 1) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      return;
    }
    port_ = ntohs(a.sin_port);
  }
  ~HeldPort() {
    if (fd_ >= 0) ::close(fd_);
  }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(StartupTest, AnAdminPortInUseExitsWithOneLineAndNoCrash) {
  TestNet net("ops_startup", GenesisConfig{});
  ASSERT_TRUE(net.ok());
  HeldPort held;
  ASSERT_GT(held.port(), 0);
  constexpr int kRuns = 5;
  for (int run = 0; run < kRuns; ++run) {
    SCOPED_TRACE(absl::StrCat("run ", run));
    const std::string datadir = net.Sub(absl::StrCat("node-", run));
    const std::string err = net.Sub(absl::StrCat("node-", run, ".err"));
    testing::ChildProcess node(
        nettest::BinaryPath("pbnode"),
        {"--listen=127.0.0.1:0", "--datadir=" + datadir,
         "--genesis=" + net.genesis_path(),
         absl::StrCat("--admin-listen=127.0.0.1:", held.port())},
        err);
    ASSERT_TRUE(node.started());
    const int code = node.Wait(std::chrono::seconds(60));
    const std::string stderr_text = ReadAll(err);
    EXPECT_EQ(code, kExitFailure) << "exit " << code << " (128+ is a signal)\n"
                                  << stderr_text;
    std::vector<std::string> lines;
    for (absl::string_view line : absl::StrSplit(stderr_text, '\n')) {
      if (absl::StartsWith(line, "pbnode: ")) lines.emplace_back(line);
    }
    ASSERT_EQ(lines.size(), 1u) << stderr_text;
    EXPECT_TRUE(absl::StrContains(lines[0], "--admin_listen")) << lines[0];
    EXPECT_TRUE(absl::StrContains(lines[0], absl::StrCat(held.port())))
        << lines[0];
  }
}

}  // namespace
}  // namespace pbchain::opstest
