// The partition test's TCP relay, checked on its own against an echo server:
// it relays both ways, Cut() ends live connections and refuses new ones, and
// Heal() relays again.
#include "tests/network/tcp_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/network/net_harness.h"

namespace pbchain::nettest {
namespace {

// Echoes every connection on a loopback port until destroyed.
class EchoServer {
 public:
  EchoServer() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(fd_, 16);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      while (!stop_.load()) {
        pollfd p{fd_, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0) continue;
        const int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c < 0) continue;
        clients_.emplace_back([c] {
          char buf[4096];
          ssize_t n;
          while ((n = read(c, buf, sizeof(buf))) > 0) {
            if (write(c, buf, n) != n) break;
          }
          close(c);
        });
      }
    });
  }
  ~EchoServer() {
    stop_.store(true);
    thread_.join();
    close(fd_);
    for (std::thread& t : clients_) t.join();
  }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<std::thread> clients_;  // touched by thread_ only until join
};

// A connected client socket to 127.0.0.1:port, or -1.
int Connect(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Reads up to `want` bytes within 5 s; stops early at EOF or error.
std::string ReadSome(int fd, size_t want) {
  std::string out;
  while (out.size() < want) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 5000) <= 0) break;
    char buf[4096];
    const ssize_t n = read(fd, buf, std::min(sizeof(buf), want - out.size()));
    if (n <= 0) break;
    out.append(buf, n);
  }
  return out;
}

// True if the peer ended the connection (EOF or reset) within 5 s.
bool SeesEnd(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, 5000) <= 0) return false;
  char c;
  return read(fd, &c, 1) <= 0;
}

TEST(TcpProxyTest, RelaysCutsAndHeals) {
  EchoServer echo;
  std::unique_ptr<TcpProxy> proxy = TcpProxy::Start(echo.port());
  ASSERT_NE(proxy, nullptr);
  const uint16_t port = PortOf(proxy->address());
  ASSERT_NE(port, 0);

  // Relays both ways, including more than one socket buffer's worth.
  const int a = Connect(port);
  ASSERT_GE(a, 0);
  std::string big(300'000, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  std::thread writer([&] {
    size_t off = 0;
    while (off < big.size()) {
      const ssize_t n = write(a, big.data() + off, big.size() - off);
      if (n <= 0) break;
      off += n;
    }
  });
  const std::string back = ReadSome(a, big.size());
  writer.join();
  EXPECT_EQ(back.size(), big.size());
  EXPECT_TRUE(back == big) << "relayed bytes differ";
  EXPECT_EQ(proxy->relayed_connections(), 1);

  // Cut: the live connection ends, a new one is accepted and closed at once.
  proxy->Cut();
  EXPECT_TRUE(SeesEnd(a)) << "a relayed connection survived Cut()";
  close(a);
  const int b = Connect(port);
  ASSERT_GE(b, 0);
  EXPECT_TRUE(SeesEnd(b)) << "a new connection was relayed while cut";
  close(b);
  EXPECT_GE(proxy->refused_connections(), 1);
  EXPECT_EQ(proxy->relayed_connections(), 1);

  // Heal: relays again.
  proxy->Heal();
  const int c = Connect(port);
  ASSERT_GE(c, 0);
  ASSERT_EQ(write(c, "ping", 4), 4);
  EXPECT_EQ(ReadSome(c, 4), "ping");
  EXPECT_EQ(proxy->relayed_connections(), 2);
  close(c);
}

}  // namespace
}  // namespace pbchain::nettest
