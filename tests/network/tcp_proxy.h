// A loopback TCP relay for partition tests: accepts connections on a free
// port and relays bytes both ways to a fixed target. Cut() closes every
// relayed connection and refuses new ones (accepted sockets are closed at
// once); Heal() relays again. One thread with poll(); non-blocking sockets
// with per-direction buffers, so a slow side never stalls the others.
//
// Thread safety: every public method may be called from any thread.
#ifndef PBCHAIN_TESTS_NETWORK_TCP_PROXY_H_
#define PBCHAIN_TESTS_NETWORK_TCP_PROXY_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace pbchain::nettest {

class TcpProxy {
 public:
  // Listens on 127.0.0.1 (a free port) and relays to `target_port` on
  // 127.0.0.1. nullptr if the listening socket cannot be made.
  static std::unique_ptr<TcpProxy> Start(uint16_t target_port);
  // Stops the relay thread and closes every socket.
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  // "127.0.0.1:PORT" to give as the proxied peer address.
  std::string address() const;
  // Closes every relayed connection and refuses new ones. Returns once the
  // relay thread has closed them.
  void Cut();
  // Relays new connections again.
  void Heal();
  // Connections accepted and relayed so far (not counting refused ones).
  int relayed_connections() const { return relayed_.load(); }
  // Connections refused while cut.
  int refused_connections() const { return refused_.load(); }

 private:
  TcpProxy(int listen_fd, uint16_t port, uint16_t target_port);
  void Loop();
  void Wake();

  const int listen_fd_;
  const uint16_t port_;
  const uint16_t target_port_;
  int wake_pipe_[2] = {-1, -1};
  std::atomic<bool> stop_{false};
  std::atomic<int> relayed_{0};
  std::atomic<int> refused_{0};

  std::mutex mu_;
  std::condition_variable cv_;
  bool cut_ = false;           // guarded by mu_
  uint64_t cut_requests_ = 0;  // guarded by mu_
  uint64_t cuts_done_ = 0;     // guarded by mu_

  std::thread thread_;
};

}  // namespace pbchain::nettest

#endif  // PBCHAIN_TESTS_NETWORK_TCP_PROXY_H_
