// Helpers for tests/client process tests: run a binary with stdout/stderr
// captured, start a pbnode on a free loopback port, pick a dead port.
// Header-only; used from one test's main thread.
#ifndef PBCHAIN_TESTS_CLIENT_CLIENT_HARNESS_H_
#define PBCHAIN_TESTS_CLIENT_CLIENT_HARNESS_H_

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/util/process.h"

namespace pbchain::client::testing {

using ::pbchain::testing::ChildProcess;
using ::pbchain::testing::TempDir;
using Json = nlohmann::json;

inline std::string Bin(const std::string& name) {
  return std::string(PBCHAIN_BIN_DIR) + "/" + name;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

struct Result {
  int code = -1;
  std::string out;
  std::string err;
  // For failure messages.
  std::string Show() const {
    return "exit " + std::to_string(code) + "\n--- stdout ---\n" + out +
           "--- stderr ---\n" + err;
  }
  std::vector<std::string> OutLines() const {
    std::vector<std::string> lines = absl::StrSplit(out, '\n');
    while (!lines.empty() && lines.back().empty()) lines.pop_back();
    return lines;
  }
  Json OutJson() const {
    Json j = Json::parse(out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "stdout is not one JSON document:\n"
                                   << Show();
    return j;
  }
};

inline int g_run_counter = 0;

// Runs `binary` with `args`, stdout and stderr captured; killed after 90 s
// (a bound for a hung process, not a timing assertion).
inline Result RunProcess(const std::string& binary,
                         const std::vector<std::string>& args,
                         const std::string& dir) {
  const std::string base = dir + "/run" + std::to_string(++g_run_counter);
  const std::string out_path = base + ".out", err_path = base + ".err";
  pid_t pid = fork();
  if (pid == 0) {
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int null_in = open("/dev/null", O_RDONLY);
    dup2(out, 1);
    dup2(err, 2);
    dup2(null_in, 0);
    std::vector<std::string> copy = args;
    std::string bin = binary;
    std::vector<char*> argv{bin.data()};
    for (std::string& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  Result r;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(90);
  int status = 0;
  while (true) {
    if (waitpid(pid, &status, WNOHANG) == pid) break;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      ADD_FAILURE() << binary << " hung; killed";
      break;
    }
    usleep(10'000);
  }
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = ReadFile(out_path);
  r.err = ReadFile(err_path);
  return r;
}

// A loopback port nothing listens on (bound, then closed).
inline uint16_t DeadPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// A loopback TCP socket that listens but never accepts or answers: a node
// that hangs. Closed on destruction.
class SilentServer {
 public:
  SilentServer() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(fd_, 16);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentServer() { close(fd_); }
  SilentServer(const SilentServer&) = delete;
  SilentServer& operator=(const SilentServer&) = delete;
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

struct Node {
  std::unique_ptr<ChildProcess> child;
  std::string address;
  std::string log;
};

// Starts pbnode and waits for its "pbnode listening on HOST:PORT" line.
inline std::optional<Node> StartNode(const std::string& dir,
                                     const std::string& name,
                                     const std::string& genesis,
                                     const std::vector<std::string>& extra) {
  Node n;
  n.log = dir + "/" + name + ".log";
  std::vector<std::string> args = {"--listen=127.0.0.1:0",
                                   "--datadir=" + dir + "/" + name,
                                   "--genesis=" + genesis};
  args.insert(args.end(), extra.begin(), extra.end());
  n.child = std::make_unique<ChildProcess>(Bin("pbnode"), args, n.log);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    std::optional<std::string> line =
        n.child->ReadLine(std::chrono::seconds(5));
    if (!line) continue;
    constexpr char kPrefix[] = "pbnode listening on ";
    if (absl::StartsWith(*line, kPrefix)) {
      n.address = line->substr(sizeof(kPrefix) - 1);
      return n;
    }
  }
  ADD_FAILURE() << name << " did not start; log:\n" << ReadFile(n.log);
  return std::nullopt;
}

inline void StopNode(Node& n) {
  if (!n.child) return;
  n.child->Kill(SIGTERM);
  n.child->Wait(std::chrono::seconds(20));
  n.child.reset();
}

}  // namespace pbchain::client::testing

#endif  // PBCHAIN_TESTS_CLIENT_CLIENT_HARNESS_H_
