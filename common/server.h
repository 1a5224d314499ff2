// The server boilerplate pbnode and pbtracker share: logging, termination
// signals, a gRPC server with health (grpc.health.v1, in reflection too) and
// server reflection, message and stream limits, and a graceful stop that
// reports NOT_SERVING before it closes anything.
//
// Typical main():
//   BlockTerminationSignals();            // before any thread starts
//   InitLogging(argv[0]);
//   ... services ...
//   absl::StatusOr<std::unique_ptr<GrpcServer>> server =
//       GrpcServer::Start(config, {&service});
//   ... print the address, start the rest ...
//   WaitForTerminationSignal();
//   (*server)->SetNotServing();           // health says so at once
//   ... stop what feeds the services ...
//   (*server)->Stop(grace);
#ifndef PBCHAIN_COMMON_SERVER_H_
#define PBCHAIN_COMMON_SERVER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "grpcpp/support/server_interceptor.h"

namespace pbchain {

// Blocks SIGINT and SIGTERM in the calling thread and so in every thread it
// starts afterwards; WaitForTerminationSignal then receives them. Call first
// thing in main, before any thread exists.
void BlockTerminationSignals();

// Waits until SIGINT or SIGTERM arrives (blocked by
// BlockTerminationSignals) and returns its number. Main thread.
int WaitForTerminationSignal();

// glog to stderr (operators read it from the terminal or the journal).
// GLOG_* environment variables still apply. Once, from main.
void InitLogging(const char* argv0);

struct GrpcServerConfig {
  std::string listen;  // "host:port"; port 0 picks a free one
  int max_message_bytes = 4 * 1024 * 1024;
  // Concurrent calls (streams) on one client connection; more wait.
  int max_concurrent_streams = 100;
  // Keepalive pings a client may send at most this often (with or without
  // calls in flight) without being told to go away; 0 keeps gRPC's default
  // (one per 5 minutes without data).
  int min_client_ping_interval_ms = 0;
  // Credentials of the listening port (common/tls.h); null = plaintext.
  // An auth metadata processor set on them runs for every call.
  std::shared_ptr<grpc::ServerCredentials> credentials;
  // Server interceptors (metrics), in order; each factory is used once.
  std::vector<std::shared_ptr<
      grpc::experimental::ServerInterceptorFactoryInterface>>
      interceptors;
};

// A started gRPC server. Thread safety: SetNotServing and Stop from one
// thread (main); the accessors from any.
class GrpcServer {
 public:
  // Builds and starts a server on config.listen with `services` registered
  // (they must outlive it), the default health service reporting SERVING
  // and server reflection. INVALID_ARGUMENT for a malformed listen address,
  // UNAVAILABLE if the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Start(
      const GrpcServerConfig& config,
      const std::vector<grpc::Service*>& services);
  ~GrpcServer();  // Stop(0) if not stopped

  // The bound port (the chosen one for port 0) and the listen host as given
  // ("0.0.0.0", "[::1]", "127.0.0.1").
  int port() const { return port_; }
  const std::string& host() const { return host_; }
  // "host:port" with the bound port.
  std::string address() const;
  grpc::Server* server() const { return server_.get(); }

  // Health answers NOT_SERVING from now on, for the whole server and every
  // service (and keeps doing so); new calls still run until Stop.
  void SetNotServing();
  // SetNotServing, then stops accepting calls, waits at most `grace` for the
  // calls in progress (cancelling what is left), and returns when the
  // server is down.
  void Stop(absl::Duration grace);

 private:
  GrpcServer() = default;
  std::unique_ptr<grpc::Server> server_;
  std::string host_;
  int port_ = 0;
  bool stopped_ = false;
};

}  // namespace pbchain

#endif  // PBCHAIN_COMMON_SERVER_H_
