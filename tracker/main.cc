// pbtracker: the pbchain peer registry.
//
//   pbtracker --listen 127.0.0.1:7600 [--lease-ttl 10s] [--probe-timeout 1s]
//
// Flags are defined here only and copied into RegistryOptions. glog is set up
// through FLAGS_* in code / GLOG_* environment variables (its flags are not
// absl flags).
#include <algorithm>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/defaults.h"
#include "common/exit_codes.h"
#include "common/flags.h"
#include "common/metrics_server.h"
#include "common/server.h"
#include "common/tls.h"
#include "common/version.h"
#include "glog/logging.h"
#include "tracker/health_probe.h"
#include "tracker/registry.h"
#include "tracker/tracker_metrics.h"
#include "tracker/tracker_service.h"

// --- Metrics (issue 16) ---
ABSL_FLAG(std::string, metrics_listen, "",
          "HOST:PORT serving Prometheus metrics at /metrics (HOST a numeric "
          "IP, [v6] in brackets, or localhost); port 0 picks a free port "
          "(printed as 'pbtracker metrics listening on HOST:PORT'). Empty = "
          "off");
// --- end metrics ---

namespace {

// Largest gRPC message in either direction. The biggest the tracker sends
// is a full network's snapshot (kMaxPeersPerNetworkLimit peers, < 1 MB).
constexpr int kMaxMessageBytes = 1 << 20;
// Concurrent calls (streams) on one client connection; more wait for a slot.
constexpr int kMaxConcurrentStreams = 32;
// Upper bounds of the count flags (memory stays bounded by their product
// with the per-entry sizes; see docs/OPERATIONS.md).
constexpr int kMaxNetworksLimit = 10'000;
constexpr int kMaxWatchersLimit = 100'000;
constexpr double kMaxJoinsPerSecondLimit = 1'000'000;
// A lease must fit lease_ttl_ms (u32) comfortably.
constexpr absl::Duration kMaxLeaseTtl = absl::Hours(24);
// Keepalive pings a client may send this often without being told to go
// away (gRPC's default is one per 5 minutes without data). pbnode pings
// every kTrackerKeepaliveTime (10 s, node/p2p/tracker_client.h) so that it
// notices a dead connection to the tracker; this leaves room for clients
// that ping twice as often.
constexpr absl::Duration kMinClientPingInterval = absl::Seconds(5);
// After SIGINT/SIGTERM the tracker ends its watch streams and cancels its
// probes itself, so what is left are unary calls that take microseconds.
// gRPC's server also waits for clients to close their (idle) connections:
// this bounds that wait, after which it closes them.
constexpr absl::Duration kShutdownGrace = absl::Milliseconds(250);

}  // namespace

ABSL_FLAG(std::string, listen, pbchain::kDefaultTrackerAddress,
          "host:port to serve on; port 0 picks a free port (the chosen "
          "address is printed as 'pbtracker listening on HOST:PORT')");
ABSL_FLAG(absl::Duration, lease_ttl, pbchain::tracker::kDefaultLeaseTtl,
          "a node not heard from (Join / Heartbeat) for this long is removed, "
          "e.g. 10s");
ABSL_FLAG(absl::Duration, heartbeat_interval,
          pbchain::tracker::kDefaultHeartbeatInterval,
          "how often nodes are told to heartbeat; must be below --lease-ttl");
ABSL_FLAG(absl::Duration, probe_timeout, absl::Seconds(1),
          "deadline of the reachability probe (grpc.health.v1 Check on the "
          "address a joining node advertises); 0 disables the probe");
ABSL_FLAG(int, max_peers_per_network,
          static_cast<int>(pbchain::tracker::kDefaultMaxPeersPerNetwork),
          "live nodes per network (genesis hash), at most 2000; a Join "
          "beyond gets RESOURCE_EXHAUSTED");
ABSL_FLAG(int, max_networks,
          static_cast<int>(pbchain::tracker::kDefaultMaxNetworks),
          "networks (genesis hashes) served at once");
ABSL_FLAG(int, max_watchers,
          static_cast<int>(pbchain::tracker::kDefaultMaxWatchers),
          "open WatchPeers streams, all networks together");
ABSL_FLAG(double, max_joins_per_second,
          pbchain::tracker::kDefaultMaxJoinsPerSecond,
          "Joins per second per client IP (token bucket, bursts of as many)");

// --- TLS (docs/OPERATIONS.md, "TLS") ---
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate (chain, leaf first) of the listener: with "
          "--tls_key it serves TLS only. Make one with 'pbtool tls-cert'");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA certificate(s): require a client certificate signed by it "
          "from every node (mutual TLS); needs --tls_cert");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM CA certificate(s): the reachability probe dials nodes with "
          "TLS and accepts only certificates signed by it that name the "
          "address the node advertises");
ABSL_FLAG(std::string, tls_client_cert, "",
          "PEM certificate the probe presents to nodes that require client "
          "certificates; needs --tls_ca and --tls_client_key");
ABSL_FLAG(std::string, tls_client_key, "",
          "PEM private key of --tls_client_cert");

namespace {

int Fail(const std::string& message, int code = pbchain::kExitUsage) {
  std::cerr << "pbtracker: " << message << "\n";
  return code;
}

// The registry options from the flags, or a message saying which is wrong.
absl::StatusOr<pbchain::tracker::RegistryOptions> OptionsFromFlags() {
  pbchain::tracker::RegistryOptions options;
  options.lease_ttl = absl::GetFlag(FLAGS_lease_ttl);
  options.heartbeat_interval = absl::GetFlag(FLAGS_heartbeat_interval);
  if (options.lease_ttl < absl::Milliseconds(100) ||
      options.lease_ttl > kMaxLeaseTtl) {
    return absl::InvalidArgumentError("--lease_ttl must be 100ms..24h");
  }
  if (options.heartbeat_interval <= absl::ZeroDuration() ||
      options.heartbeat_interval >= options.lease_ttl) {
    return absl::InvalidArgumentError(
        "--heartbeat_interval must be above 0 and below --lease_ttl");
  }
  const int peers = absl::GetFlag(FLAGS_max_peers_per_network);
  if (peers < 1 ||
      peers > static_cast<int>(pbchain::tracker::kMaxPeersPerNetworkLimit)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max_peers_per_network must be 1..",
                     pbchain::tracker::kMaxPeersPerNetworkLimit));
  }
  const int networks = absl::GetFlag(FLAGS_max_networks);
  if (networks < 1 || networks > kMaxNetworksLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max_networks must be 1..", kMaxNetworksLimit));
  }
  const int watchers = absl::GetFlag(FLAGS_max_watchers);
  if (watchers < 1 || watchers > kMaxWatchersLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max_watchers must be 1..", kMaxWatchersLimit));
  }
  const double joins = absl::GetFlag(FLAGS_max_joins_per_second);
  if (!(joins > 0) || joins > kMaxJoinsPerSecondLimit) {
    return absl::InvalidArgumentError(
        absl::StrCat("--max_joins_per_second must be above 0, at most ",
                     kMaxJoinsPerSecondLimit));
  }
  options.max_peers_per_network = static_cast<size_t>(peers);
  options.max_networks = static_cast<size_t>(networks);
  options.max_watchers = static_cast<size_t>(watchers);
  options.max_joins_per_second = joins;
  return options;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "the pbchain tracker: a registry of live nodes, kept apart by network "
      "(genesis hash). Nodes Join, Heartbeat and Leave; a node that misses "
      "its lease is removed; WatchPeers streams every change. Serves "
      "pbchain.v1.Tracker with grpc.health.v1 and server reflection.\n\n"
      "  pbtracker [--listen HOST:PORT] [--lease-ttl 10s] "
      "[--heartbeat-interval 2s] [--probe-timeout 1s]\n\n"
      "A joining node's address must answer grpc.health.v1 Check within "
      "--probe-timeout. Flags may be written with dashes or underscores "
      "(--lease-ttl = --lease_ttl). TLS: --tls-cert/--tls-key (and "
      "--tls-client-ca) for the listener, --tls-ca (and "
      "--tls-client-cert/--tls-client-key) for the probe; see "
      "docs/OPERATIONS.md, TLS. --config FILE reads them from a TOML "
      "file (docs/pbtracker.example.toml); the command line wins.");
  pbchain::BlockTerminationSignals();  // before any thread starts
  pbchain::ParseCommandLineFlags(argc, argv, "pbtracker", "tracker/main.cc",
                                 {});
  pbchain::InitLogging(argv[0]);

  absl::StatusOr<pbchain::tracker::RegistryOptions> options =
      OptionsFromFlags();
  if (!options.ok()) return Fail(std::string(options.status().message()));
  const absl::Duration probe_timeout = absl::GetFlag(FLAGS_probe_timeout);
  if (probe_timeout < absl::ZeroDuration() ||
      probe_timeout > absl::Seconds(30)) {
    return Fail("--probe_timeout must be 0 (off)..30s");
  }

  // TLS: the listener's credentials and the probe's.
  absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> server_credentials =
      pbchain::MakeServerCredentials({absl::GetFlag(FLAGS_tls_cert),
                                      absl::GetFlag(FLAGS_tls_key),
                                      absl::GetFlag(FLAGS_tls_client_ca)});
  if (!server_credentials.ok()) {
    return Fail(std::string(server_credentials.status().message()));
  }
  const pbchain::ClientTlsFiles probe_files{
      absl::GetFlag(FLAGS_tls_ca), absl::GetFlag(FLAGS_tls_client_cert),
      absl::GetFlag(FLAGS_tls_client_key)};
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> probe_credentials =
      pbchain::MakeChannelCredentials(probe_files);
  if (!probe_credentials.ok()) {
    return Fail(std::string(probe_credentials.status().message()));
  }
  const bool serves_tls = !absl::GetFlag(FLAGS_tls_cert).empty();
  // Its own certificate must be one the nodes (trusting the same CA as
  // its probe) accept.
  if (serves_tls && probe_files.enabled()) {
    if (absl::Status s =
            pbchain::CheckIssuedBy("tls-cert", absl::GetFlag(FLAGS_tls_cert),
                                   "tls-ca", probe_files.ca);
        !s.ok()) {
      return Fail(std::string(s.message()));
    }
  }
  // Its probe's client certificate must be one it would accept itself from
  // nodes (the nodes it probes require client certificates from the same
  // CA), as pbnode checks its own --tls-client-cert.
  if (const std::string client_ca = absl::GetFlag(FLAGS_tls_client_ca);
      !probe_files.cert.empty() && !client_ca.empty()) {
    if (absl::Status s = pbchain::CheckIssuedBy(
            "tls-client-cert", probe_files.cert, "tls-client-ca", client_ca);
        !s.ok()) {
      return Fail(std::string(s.message()));
    }
  }
  // --- Metrics (issue 16): bound before anything else starts.
  std::unique_ptr<pbchain::MetricsServer> metrics_server;
  const auto rpc_metrics = std::make_shared<pbchain::RpcMetrics>(
      "pbtracker", pbchain::tracker::kTrackerRpcServices);
  if (const std::string m = absl::GetFlag(FLAGS_metrics_listen); !m.empty()) {
    absl::StatusOr<std::unique_ptr<pbchain::MetricsServer>> started =
        pbchain::MetricsServer::Start(m);
    if (!started.ok()) {
      return Fail(
          absl::StrCat("--metrics_listen: ", started.status().message()),
          absl::IsInvalidArgument(started.status()) ? pbchain::kExitUsage
                                                    : pbchain::kExitFailure);
    }
    metrics_server = std::move(*started);
  }
  // --- end metrics ---

  pbchain::tracker::Registry registry(*options);
  std::unique_ptr<pbchain::tracker::HealthProber> prober;
  pbchain::tracker::ReachabilityProbe probe;
  if (probe_timeout > absl::ZeroDuration()) {
    prober = std::make_unique<pbchain::tracker::HealthProber>(
        probe_timeout, probe_files.enabled() ? *probe_credentials : nullptr);
    probe = [p = prober.get()](const std::string& address,
                               std::function<void(absl::Status)> done) {
      p->Probe(address, std::move(done));
    };
  }
  pbchain::tracker::TrackerServiceImpl service(&registry, probe);

  pbchain::GrpcServerConfig config;
  config.listen = absl::GetFlag(FLAGS_listen);
  config.max_message_bytes = kMaxMessageBytes;
  config.max_concurrent_streams = kMaxConcurrentStreams;
  config.min_client_ping_interval_ms =
      static_cast<int>(absl::ToInt64Milliseconds(kMinClientPingInterval));
  config.credentials = *server_credentials;
  if (metrics_server != nullptr) {  // metrics: gRPC calls by method, code
    config.interceptors.push_back(rpc_metrics->InterceptorFactory());
  }
  absl::StatusOr<std::unique_ptr<pbchain::GrpcServer>> server =
      pbchain::GrpcServer::Start(config, {&service});
  if (!server.ok()) {
    return Fail(std::string(server.status().message()),
                absl::IsInvalidArgument(server.status())
                    ? pbchain::kExitUsage
                    : pbchain::kExitFailure);
  }
  std::cout << "pbtracker listening on " << (*server)->address() << std::endl;
  std::shared_ptr<pbchain::tracker::TrackerMetrics> tracker_metrics;
  if (metrics_server != nullptr) {  // metrics
    tracker_metrics =
        std::make_shared<pbchain::tracker::TrackerMetrics>(&registry);
    metrics_server->Register(tracker_metrics);
    metrics_server->Register(rpc_metrics);
    std::cout << "pbtracker metrics listening on " << metrics_server->address()
              << std::endl;
  }
  LOG(INFO) << "pbtracker " << pbchain::kVersion << " serving on "
            << (*server)->address() << ", lease ttl " << options->lease_ttl
            << ", probe "
            << (prober ? absl::FormatDuration(probe_timeout) : "off")
            << (serves_tls ? (absl::GetFlag(FLAGS_tls_client_ca).empty()
                                  ? ", TLS"
                                  : ", TLS with client certificates")
                           : ", plaintext")
            << (probe_files.enabled() ? ", probing with TLS" : "");

  const int signal_number = pbchain::WaitForTerminationSignal();
  LOG(INFO) << "signal " << signal_number << ": shutting down";
  (*server)->SetNotServing();      // health: NOT_SERVING from now on
  // Metrics: stopped beside the rest (civetweb notices within its 2 s
  // poll), joined before the registry it reads goes.
  std::thread metrics_stop([&metrics_server] { metrics_server.reset(); });
  if (prober) prober->Shutdown();  // pending Joins end with ABORTED
  service.Shutdown();              // WatchPeers streams end with UNAVAILABLE
  (*server)->Stop(kShutdownGrace);
  metrics_stop.join();
  LOG(INFO) << "stopped cleanly";
  return pbchain::kExitOk;
}
