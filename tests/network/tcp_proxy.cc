#include "tests/network/tcp_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <list>
#include <vector>

namespace pbchain::nettest {

namespace {

// Most bytes buffered per direction before we stop reading that side.
constexpr size_t kMaxBuffered = 1 << 20;

sockaddr_in Loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

void SetNonBlocking(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// One relayed connection: client <-> upstream, with what each side still has
// to receive.
struct Link {
  int client = -1;
  int upstream = -1;
  std::string to_client;
  std::string to_upstream;
  bool dead = false;

  void Close() {
    if (client >= 0) close(client);
    if (upstream >= 0) close(upstream);
    client = upstream = -1;
    dead = true;
  }
};

// Reads what `from` has into `buffer`. False on EOF or error.
bool Pump(int from, std::string& buffer) {
  char chunk[65536];
  while (buffer.size() < kMaxBuffered) {
    const ssize_t n = read(from, chunk, sizeof(chunk));
    if (n > 0) {
      buffer.append(chunk, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) return false;
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  }
  return true;
}

// Writes as much of `buffer` to `to` as it takes. False on error.
bool Drain(int to, std::string& buffer) {
  while (!buffer.empty()) {
    const ssize_t n = send(to, buffer.data(), buffer.size(), MSG_NOSIGNAL);
    if (n > 0) {
      buffer.erase(0, static_cast<size_t>(n));
      continue;
    }
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
  }
  return true;
}

}  // namespace

std::unique_ptr<TcpProxy> TcpProxy::Start(uint16_t target_port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return nullptr;
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr = Loopback(0);
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(fd, 64) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    close(fd);
    return nullptr;
  }
  SetNonBlocking(fd);
  return std::unique_ptr<TcpProxy>(
      new TcpProxy(fd, ntohs(addr.sin_port), target_port));
}

TcpProxy::TcpProxy(int listen_fd, uint16_t port, uint16_t target_port)
    : listen_fd_(listen_fd), port_(port), target_port_(target_port) {
  if (pipe2(wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) {
    wake_pipe_[0] = wake_pipe_[1] = -1;
  }
  thread_ = std::thread([this] { Loop(); });
}

TcpProxy::~TcpProxy() {
  stop_.store(true);
  Wake();
  thread_.join();
  close(listen_fd_);
  if (wake_pipe_[0] >= 0) close(wake_pipe_[0]);
  if (wake_pipe_[1] >= 0) close(wake_pipe_[1]);
}

std::string TcpProxy::address() const {
  return "127.0.0.1:" + std::to_string(port_);
}

void TcpProxy::Wake() {
  if (wake_pipe_[1] >= 0) {
    const char c = 1;
    (void)!write(wake_pipe_[1], &c, 1);
  }
}

void TcpProxy::Cut() {
  std::unique_lock<std::mutex> lock(mu_);
  cut_ = true;
  const uint64_t request = ++cut_requests_;
  Wake();
  cv_.wait(lock, [&] { return cuts_done_ >= request; });
}

void TcpProxy::Heal() {
  std::lock_guard<std::mutex> lock(mu_);
  cut_ = false;
  Wake();
}

void TcpProxy::Loop() {
  std::list<Link> links;
  while (!stop_.load()) {
    // Apply a pending Cut before anything else.
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (cuts_done_ < cut_requests_) {
        for (Link& l : links) l.Close();
        links.clear();
        cuts_done_ = cut_requests_;
        cv_.notify_all();
      }
    }

    std::vector<pollfd> fds;
    fds.push_back({listen_fd_, POLLIN, 0});
    fds.push_back({wake_pipe_[0], POLLIN, 0});
    for (Link& l : links) {
      short c = 0, u = 0;
      if (l.to_upstream.size() < kMaxBuffered) c |= POLLIN;
      if (l.to_client.size() < kMaxBuffered) u |= POLLIN;
      if (!l.to_client.empty()) c |= POLLOUT;
      if (!l.to_upstream.empty()) u |= POLLOUT;
      fds.push_back({l.client, c, 0});
      fds.push_back({l.upstream, u, 0});
    }
    if (poll(fds.data(), fds.size(), 200) < 0 && errno != EINTR) break;

    if (fds[1].revents & POLLIN) {
      char buf[64];
      while (read(wake_pipe_[0], buf, sizeof(buf)) > 0) {
      }
    }
    if (fds[0].revents & POLLIN) {
      while (true) {
        const int client =
            accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (client < 0) break;
        bool cut;  // read now: Heal() may have come while we polled
        {
          std::lock_guard<std::mutex> lock(mu_);
          cut = cut_;
        }
        if (cut) {
          refused_.fetch_add(1);
          close(client);
          continue;
        }
        const int upstream = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in target = Loopback(target_port_);
        if (upstream < 0 ||
            connect(upstream, reinterpret_cast<sockaddr*>(&target),
                    sizeof(target)) != 0) {
          if (upstream >= 0) close(upstream);
          close(client);
          continue;
        }
        SetNonBlocking(upstream);
        const int one = 1;
        setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        setsockopt(upstream, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        relayed_.fetch_add(1);
        links.push_back(Link{client, upstream, {}, {}, false});
      }
    }
    // fds[2..] follow `links` in order (new links were appended after).
    size_t i = 2;
    for (Link& l : links) {
      if (i + 1 >= fds.size()) break;
      const pollfd& c = fds[i++];
      const pollfd& u = fds[i++];
      if (l.dead) continue;
      bool ok = true;
      if (c.revents & (POLLIN | POLLHUP | POLLERR)) {
        ok = Pump(l.client, l.to_upstream) && ok;
      }
      if (u.revents & (POLLIN | POLLHUP | POLLERR)) {
        ok = Pump(l.upstream, l.to_client) && ok;
      }
      ok = Drain(l.client, l.to_client) && ok;
      ok = Drain(l.upstream, l.to_upstream) && ok;
      // One side closed or failed: flush what we can, then close both, so
      // each end sees the connection end as a whole.
      if (!ok) {
        Drain(l.client, l.to_client);
        Drain(l.upstream, l.to_upstream);
        l.Close();
      }
    }
    links.remove_if([](const Link& l) { return l.dead; });
  }
  for (Link& l : links) l.Close();
  std::lock_guard<std::mutex> lock(mu_);
  cuts_done_ = cut_requests_;
  cv_.notify_all();
}

}  // namespace pbchain::nettest
