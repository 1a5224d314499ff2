// A raw TCP client for the gateway tests: requests httplib will not make,
// clients that stall or trickle, and reading a response to its end.
#ifndef PBCHAIN_TESTS_GATEWAY_RAW_CONNECTION_H_
#define PBCHAIN_TESTS_GATEWAY_RAW_CONNECTION_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace pbchain::testing {

class RawConnection {
 public:
  // Connects to 127.0.0.1:`port`; ok() says whether it did.
  explicit RawConnection(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  ~RawConnection() {
    if (fd_ >= 0) close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool ok() const { return fd_ >= 0; }
  // Sends all of `data`; false if the peer closed, reset, or stopped
  // reading for 10 s (a send never blocks the test for longer).
  bool Send(const std::string& data) {
    size_t done = 0;
    while (fd_ >= 0 && done < data.size()) {
      pollfd p{fd_, POLLOUT, 0};
      if (poll(&p, 1, 10000) <= 0) return false;
      const ssize_t n = send(fd_, data.data() + done, data.size() - done,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return false;
      if (n > 0) done += static_cast<size_t>(n);
    }
    return fd_ >= 0;
  }
  // Reads until `needle` is in what was received, EOF, or `timeout`.
  // Returns true if the needle was seen.
  bool ReadUntil(const std::string& needle, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (received_.find(needle) == std::string::npos) {
      if (!ReadSome(deadline)) return false;
    }
    return true;
  }
  // Reads until the peer closes or resets (true) or `timeout` (false).
  // Looks at least once, however short `timeout`.
  bool ReadToEof(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    bool first = true;
    while (!eof_) {
      if (!ReadSome(deadline, first) && !eof_) return false;
      first = false;
    }
    return true;
  }
  // Reads whatever arrives within `timeout`.
  void ReadFor(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (ReadSome(deadline)) {
    }
  }
  const std::string& received() const { return received_; }
  // The status of the response received, 0 if none.
  int status() const {
    if (received_.rfind("HTTP/1.", 0) != 0 || received_.size() < 12) return 0;
    return std::atoi(received_.substr(9, 3).c_str());
  }

 private:
  // Waits until `deadline` (or, with `look_once`, at least one poll) for
  // bytes; false on timeout or EOF.
  bool ReadSome(std::chrono::steady_clock::time_point deadline,
                bool look_once = false) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if ((left.count() <= 0 && !look_once) || fd_ < 0 || eof_) return false;
    pollfd p{fd_, POLLIN, 0};
    const int wait_ms = static_cast<int>(std::max<int64_t>(left.count(), 0));
    if (poll(&p, 1, wait_ms) <= 0) return false;
    char buf[4096];
    const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    received_.append(buf, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  bool eof_ = false;
  std::string received_;
};

}  // namespace pbchain::testing

#endif  // PBCHAIN_TESTS_GATEWAY_RAW_CONNECTION_H_
