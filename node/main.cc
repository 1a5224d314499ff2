// pbnode: a pbchain full node.
//
//   pbnode --genesis genesis.json --datadir ~/.pbchain --listen 127.0.0.1:7700
//          --mine --miner-address pb... --tracker 127.0.0.1:7600
//
// Flags are defined here only and copied into NodeOptions. glog is set up
// through FLAGS_* in code / GLOG_* environment variables (its flags are not
// absl flags).
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/exit_codes.h"
#include "common/flags.h"
#include "common/host_port.h"
#include "common/metrics_server.h"
#include "common/server.h"
#include "common/status_macros.h"
#include "common/version.h"
#include "glog/logging.h"
#include "node/core/node.h"
#include "node/http/http_gateway.h"
#include "node/metrics/node_metrics.h"
#include "node/p2p/gossip_service.h"
#include "node/p2p/network.h"
#include "node/rpc/node_service.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:0",
          "host:port for the gRPC API; port 0 picks a free port (the chosen "
          "address is printed as 'pbnode listening on HOST:PORT')");
ABSL_FLAG(std::string, datadir, "",
          "directory of the node's data (created if missing; required)");
ABSL_FLAG(std::string, genesis, "",
          "genesis JSON file of the network (required; make one with "
          "'pbtool genesis'). With --role head and no such file, the node "
          "makes a new network's genesis there, funding --miner_address");
ABSL_FLAG(bool, mine, false, "mine continuously");
ABSL_FLAG(bool, mine_on_demand, false,
          "mine only while the mempool holds transactions");
ABSL_FLAG(std::string, miner_address, "",
          "address (pb...) paid block rewards and fees; required with --mine "
          "or --mine_on_demand");
ABSL_FLAG(int, mining_threads, 1, "threads searching nonces (1..64)");
ABSL_FLAG(std::string, role, "full",
          "head (a network's first, mining node; makes the genesis if the "
          "file is missing), seed (a stable node the tracker and peers hand "
          "out first to joining nodes) or full; shown in node info and the "
          "tracker's list");
ABSL_FLAG(std::string, backup_dir, "",
          "take periodic RocksDB backups into this directory (off if empty)");
ABSL_FLAG(absl::Duration, backup_interval, absl::Hours(1),
          "time between periodic backups, e.g. 30m");
ABSL_FLAG(int, backup_keep, 5, "how many backups to keep");
ABSL_FLAG(int, max_message_bytes, pbchain::kMaxGrpcMessageBytes,
          "largest gRPC message the server accepts or sends");
ABSL_FLAG(std::string, tracker, "",
          "host:port of a pbtracker to join (heartbeats, peer list); the node "
          "keeps working from known peers while it is down");
ABSL_FLAG(std::vector<std::string>, peer, {},
          "host:port of a node to connect to; may repeat or be a comma list");
ABSL_FLAG(std::string, discover_local, "",
          "LOW-HIGH: probe 127.0.0.1 ports LOW..HIGH (at most 1024) for nodes "
          "of the same network, e.g. 7700-7720");
ABSL_FLAG(bool, connect_only, false,
          "dial only the --peer nodes (no addresses from the tracker, peer "
          "exchange or discovery); inbound peers are still accepted");
ABSL_FLAG(std::string, advertise, "",
          "host:port other nodes should dial to reach this one (default: the "
          "--listen address with the actual port)");
ABSL_FLAG(int, max_outbound, 8, "most peers this node dials (0..256)");
ABSL_FLAG(int, max_inbound, 32, "most peers that may dial this node (0..1024)");
ABSL_FLAG(std::string, http, "",
          "HOST:PORT for the HTTP gateway (HOST: an IP address, [v6] in "
          "brackets, or localhost): the NodeService API as JSON under "
          "/v1/ (with a server-sent event stream of new tips) and the block "
          "explorer at /. Port 0 picks a free port (printed as 'pbnode http "
          "gateway listening on HOST:PORT'). It has no authentication: keep "
          "it on loopback (127.0.0.1) or behind a proxy. Empty = off");
ABSL_FLAG(absl::Duration, ban_duration, absl::Minutes(10),
          "how long a misbehaving peer stays banned, e.g. 10m");
ABSL_FLAG(bool, persist_mempool, true,
          "keep the mempool across restarts in DATADIR/mempool.dat: written "
          "on a clean shutdown and every --mempool_save_interval, reloaded "
          "and revalidated at start (a damaged file is logged and ignored)");
ABSL_FLAG(absl::Duration, mempool_save_interval,
          pbchain::kMempoolDefaultSaveInterval,
          "time between periodic writes of DATADIR/mempool.dat, e.g. 5m");
// --- Metrics (issue 16) ---
ABSL_FLAG(std::string, metrics_listen, "",
          "HOST:PORT serving Prometheus metrics at /metrics (text format; "
          "HOST a numeric IP, [v6] in brackets, or localhost). Port 0 picks "
          "a free port (printed as 'pbnode metrics listening on HOST:PORT'). "
          "No authentication: keep it on loopback or a private network. "
          "Empty = off");
// --- end metrics ---

namespace {

int Fail(const std::string& message) {
  std::cerr << "pbnode: " << message << "\n";
  return pbchain::kExitUsage;
}

// A dialable HOST:PORT flag value; the error names the flag.
absl::Status CheckAddressFlag(const std::string& flag,
                              const std::string& value) {
  absl::StatusOr<pbchain::HostPort> parsed = pbchain::ParseHostPort(value);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, ": ", parsed.status().message()));
  }
  return absl::OkStatus();
}

// A new devnet genesis (the defaults of ChainParams, as `pbtool genesis`)
// funding --miner_address with kHeadGenesisAllocation coins, written to
// `path` atomically; prints its hash.
constexpr uint64_t kHeadGenesisAllocation = 1'000'000'000;

// After SIGINT/SIGTERM, calls still in progress get this long to finish.
constexpr absl::Duration kShutdownGrace = absl::Seconds(5);

// The health entry (grpc.health.v1) that reports damage found in the
// datadir: NOT_SERVING after a block read found damage (the node still
// serves everything else) or while writes fail.
constexpr char kDatadirHealthService[] = "pbchain.datadir";

absl::Status MakeGenesis(const std::string& path) {
  pbchain::ChainParams params;
  params.genesis_time = static_cast<uint32_t>(absl::ToUnixSeconds(absl::Now()));
  if (const std::string miner = absl::GetFlag(FLAGS_miner_address);
      !miner.empty()) {
    absl::StatusOr<pbchain::Address> address =
        pbchain::Address::FromText(miner);
    if (!address.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--miner_address: ", address.status().message()));
    }
    params.allocations.push_back({*address, kHeadGenesisAllocation});
  }
  PBCHAIN_RETURN_IF_ERROR(pbchain::MineGenesis(params));
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << params.ToJson();
    if (!out.flush()) {
      return absl::InternalError(absl::StrCat("cannot write ", tmp));
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot create ", path, ": ", ec.message()));
  }
  std::cout << "pbnode made genesis "
            << pbchain::MakeGenesisBlock(params).Hash().ToDisplayHex() << " in "
            << path << std::endl;
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "a pbchain full node: keeps the chain in RocksDB, validates, mines and "
      "serves the NodeService gRPC API (with health and reflection).\n\n"
      "  pbnode --genesis FILE --datadir DIR [--listen HOST:PORT] [--mine "
      "--miner_address pb...]\n         [--tracker HOST:PORT] [--peer "
      "HOST:PORT]... [--discover_local LOW-HIGH]\n         [--http "
      "127.0.0.1:PORT]\n\nGossip with other nodes runs on the same port as "
      "the API; --http adds the JSON API and the block explorer. Flags may be "
      "written with dashes or underscores (--mining-threads = "
      "--mining_threads).");
  pbchain::BlockTerminationSignals();  // before any thread starts
  pbchain::ParseCommandLineFlags(argc, argv, "pbnode", "node/main.cc",
                                 {"peer"});
  pbchain::InitLogging(argv[0]);

  if (absl::GetFlag(FLAGS_datadir).empty())
    return Fail("--datadir is required");
  // Checked before anything is written (the head node's genesis, the
  // datadir).
  {
    pbchain::HostPortRules listen_rules;
    listen_rules.allow_port_zero = true;
    if (absl::StatusOr<pbchain::HostPort> listen =
            pbchain::ParseHostPort(absl::GetFlag(FLAGS_listen), listen_rules);
        !listen.ok()) {
      return Fail(absl::StrCat("--listen: ", listen.status().message()));
    }
  }
  if (absl::GetFlag(FLAGS_genesis).empty())
    return Fail("--genesis is required");
  const std::string genesis_path = absl::GetFlag(FLAGS_genesis);
  if (absl::GetFlag(FLAGS_role) == "head" &&
      !std::filesystem::exists(genesis_path)) {
    // The head node of a new network makes its genesis.
    if (absl::Status s = MakeGenesis(genesis_path); !s.ok()) {
      return Fail(std::string(s.message()));
    }
  }
  absl::StatusOr<pbchain::ChainParams> params =
      pbchain::LoadGenesisFile(genesis_path);
  if (!params.ok()) return Fail(std::string(params.status().message()));

  pbchain::NodeOptions options;
  options.datadir = absl::GetFlag(FLAGS_datadir);
  options.params = *params;
  options.mine = absl::GetFlag(FLAGS_mine);
  options.mine_on_demand = absl::GetFlag(FLAGS_mine_on_demand);
  options.mining_threads = absl::GetFlag(FLAGS_mining_threads);
  if (options.mining_threads < 1 || options.mining_threads > 64) {
    return Fail("--mining_threads must be 1..64");
  }
  const std::string role = absl::GetFlag(FLAGS_role);
  if (role != "head" && role != "seed" && role != "full") {
    return Fail("--role must be head, seed or full");
  }
  options.role = role;
  if (options.mine || options.mine_on_demand) {
    absl::StatusOr<pbchain::Address> miner =
        pbchain::Address::FromText(absl::GetFlag(FLAGS_miner_address));
    if (!miner.ok()) {
      return Fail(absl::StrCat("--miner_address: ", miner.status().message()));
    }
    options.miner_address = *miner;
  }
  options.backup_dir = absl::GetFlag(FLAGS_backup_dir);
  options.backup_interval = absl::GetFlag(FLAGS_backup_interval);
  options.backup_keep = absl::GetFlag(FLAGS_backup_keep);
  options.persist_mempool = absl::GetFlag(FLAGS_persist_mempool);
  options.mempool_save_interval = absl::GetFlag(FLAGS_mempool_save_interval);
  if (options.mempool_save_interval < absl::Seconds(1)) {
    return Fail("--mempool_save_interval must be at least 1s");
  }
  const int max_message = absl::GetFlag(FLAGS_max_message_bytes);
  if (max_message < 1024) return Fail("--max_message_bytes must be >= 1024");

  pbchain::NetworkOptions net;
  net.tracker = absl::GetFlag(FLAGS_tracker);
  if (!net.tracker.empty()) {
    if (absl::Status s = CheckAddressFlag("tracker", net.tracker); !s.ok()) {
      return Fail(std::string(s.message()));
    }
  }
  for (const std::string& peer : absl::GetFlag(FLAGS_peer)) {
    if (peer.empty()) continue;
    if (absl::Status s = CheckAddressFlag("peer", peer); !s.ok()) {
      return Fail(std::string(s.message()));
    }
    net.peers.push_back(peer);
  }
  if (const std::string range = absl::GetFlag(FLAGS_discover_local);
      !range.empty()) {
    std::vector<std::string> parts = absl::StrSplit(range, '-');
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &net.discover_low) ||
        !absl::SimpleAtoi(parts[1], &net.discover_high) ||
        net.discover_low < 1 || net.discover_high > 65535 ||
        net.discover_low > net.discover_high ||
        net.discover_high - net.discover_low >= pbchain::kMaxDiscoverPorts) {
      return Fail(absl::StrCat(
          "--discover_local: want LOW-HIGH, ports 1..65535, "
          "at most ",
          pbchain::kMaxDiscoverPorts, " ports; got '", range, "'"));
    }
  }
  net.connect_only = absl::GetFlag(FLAGS_connect_only);
  if (net.connect_only && net.peers.empty()) {
    return Fail("--connect_only needs at least one --peer");
  }
  net.max_outbound = absl::GetFlag(FLAGS_max_outbound);
  net.max_inbound = absl::GetFlag(FLAGS_max_inbound);
  if (net.max_outbound < 0 || net.max_outbound > 256) {
    return Fail("--max_outbound must be 0..256");
  }
  if (net.max_inbound < 0 || net.max_inbound > 1024) {
    return Fail("--max_inbound must be 0..1024");
  }
  net.ban_duration = absl::GetFlag(FLAGS_ban_duration);
  if (net.ban_duration < absl::ZeroDuration()) {
    return Fail("--ban_duration must not be negative");
  }
  net.max_message_bytes = max_message;
  const std::string advertise = absl::GetFlag(FLAGS_advertise);
  if (!advertise.empty()) {
    if (absl::Status s = CheckAddressFlag("advertise", advertise); !s.ok()) {
      return Fail(std::string(s.message()));
    }
  }

  pbchain::HttpGatewayOptions http;
  http.listen = absl::GetFlag(FLAGS_http);
  if (!http.listen.empty()) {
    if (absl::StatusOr<pbchain::HostPort> a =
            pbchain::ParseHttpListenAddress(http.listen);
        !a.ok()) {
      return Fail(absl::StrCat("--http: ", a.status().message()));
    }
  }

  // --- Metrics (issue 16): bound before the node opens its datadir, so a
  // bad address or a port in use stops pbnode before anything starts.
  std::unique_ptr<pbchain::MetricsServer> metrics_server;
  const auto rpc_metrics = std::make_shared<pbchain::RpcMetrics>(
      "pbchain", pbchain::kNodeRpcServices);
  std::shared_ptr<pbchain::NodeMetrics> node_metrics;
  if (const std::string m = absl::GetFlag(FLAGS_metrics_listen); !m.empty()) {
    absl::StatusOr<std::unique_ptr<pbchain::MetricsServer>> started =
        pbchain::MetricsServer::Start(m);
    if (!started.ok()) {
      std::cerr << "pbnode: --metrics_listen: " << started.status().message()
                << "\n";
      return absl::IsInvalidArgument(started.status()) ? pbchain::kExitUsage
                                                       : pbchain::kExitFailure;
    }
    metrics_server = std::move(*started);
  }
  // --- end metrics ---

  absl::StatusOr<std::unique_ptr<pbchain::Node>> node =
      pbchain::Node::Create(options);
  if (!node.ok()) {
    std::cerr << "pbnode: cannot start: " << node.status() << "\n";
    return 1;
  }

  pbchain::Network network(node->get(), net);
  pbchain::NodeServiceImpl service(node->get(), &network);
  pbchain::GossipServiceImpl gossip(&network);
  pbchain::GrpcServerConfig config;
  config.listen = absl::GetFlag(FLAGS_listen);
  config.max_message_bytes = max_message;
  config.max_concurrent_streams = pbchain::kMaxConcurrentStreams;
  if (metrics_server != nullptr) {  // metrics: gRPC calls by method, code
    config.interceptors.push_back(rpc_metrics->InterceptorFactory());
  }
  absl::StatusOr<std::unique_ptr<pbchain::GrpcServer>> server =
      pbchain::GrpcServer::Start(config, {&service, &gossip});
  if (!server.ok()) {
    node->reset();
    std::cerr << "pbnode: " << server.status().message() << "\n";
    return absl::IsInvalidArgument(server.status()) ? pbchain::kExitUsage
                                                    : pbchain::kExitFailure;
  }
  // The HTTP gateway calls the node's own NodeService in process.
  std::unique_ptr<pbchain::HttpGateway> gateway;
  int http_port = 0;
  if (!http.listen.empty()) {
    grpc::ChannelArguments channel_args;
    channel_args.SetMaxReceiveMessageSize(max_message);
    channel_args.SetMaxSendMessageSize(max_message);
    absl::StatusOr<std::unique_ptr<pbchain::HttpGateway>> created =
        pbchain::HttpGateway::Create(
            http, (*server)->server()->InProcessChannel(channel_args));
    absl::StatusOr<int> bound =
        created.ok() ? (*created)->Start() : created.status();
    if (!bound.ok()) {
      if (created.ok()) created->reset();
      (*server)->Stop(absl::ZeroDuration());
      node->reset();
      std::cerr << "pbnode: --http: " << bound.status().message() << std::endl;
      return 1;
    }
    gateway = std::move(*created);
    http_port = *bound;
  }
  const std::string& host = (*server)->host();
  const int port = (*server)->port();
  std::string advertised = advertise;
  if (advertised.empty()) {
    // A wildcard listen address is not dialable: advertise loopback.
    const bool wildcard = host == "0.0.0.0" || host == "[::]" || host.empty();
    advertised = absl::StrCat(wildcard ? "127.0.0.1" : host, ":", port);
  }
  // The datadir's condition drives health: NOT_SERVING while writes fail
  // (SERVING again when a full disk has room), and a failed filesystem
  // shuts the node down like a signal. (After SetNotServing below, health
  // ignores these.)
  if (grpc::HealthCheckServiceInterface* health =
          (*server)->server()->GetHealthCheckService()) {
    health->SetServingStatus(kDatadirHealthService, true);
  }
  (*node)->SetStoreListener(
      [grpc_server = (*server)->server()](const pbchain::StoreHealth& h) {
        const bool writable = h.condition == pbchain::StoreCondition::kWritable;
        if (grpc::HealthCheckServiceInterface* health =
                grpc_server->GetHealthCheckService()) {
          health->SetServingStatus(writable);
          health->SetServingStatus(kDatadirHealthService,
                                   writable && h.damaged_reads == 0);
        }
        if (h.condition == pbchain::StoreCondition::kFailed) {
          ::kill(::getpid(), SIGTERM);  // to WaitForTerminationSignal
        }
      });
  network.Start(advertised);
  std::cout << "pbnode listening on " << host << ":" << port << std::endl;
  if (metrics_server != nullptr) {  // metrics
    node_metrics =
        std::make_shared<pbchain::NodeMetrics>(node->get(), &network);
    metrics_server->Register(node_metrics);
    metrics_server->Register(rpc_metrics);
    std::cout << "pbnode metrics listening on " << metrics_server->address()
              << std::endl;
  }
  if (gateway != nullptr) {
    // IPv6 hosts in brackets, as in the flag.
    const std::string h = gateway->host().find(':') != std::string::npos
                              ? absl::StrCat("[", gateway->host(), "]")
                              : gateway->host();
    std::cout << "pbnode http gateway listening on " << h << ":" << http_port
              << " (explorer: http://" << h << ":" << http_port << "/)"
              << std::endl;
  }
  LOG(INFO) << "pbnode " << pbchain::kVersion << " serving on " << host << ":"
            << port << (options.mine ? ", mining" : "");

  const int signal_number = pbchain::WaitForTerminationSignal();
  pbchain::StoreHealth store = (*node)->store_health();
  bool store_failed = store.condition == pbchain::StoreCondition::kFailed;
  if (store_failed) {
    LOG(ERROR) << "the datadir failed: shutting down";
  } else {
    LOG(INFO) << "signal " << signal_number << ": shutting down";
  }
  // Health answers NOT_SERVING at once, so balancers and probes stop
  // sending work while the node winds down.
  (*server)->SetNotServing();
  // Metrics: the endpoint's stop (civetweb notices it within its 2 s poll;
  // a scrape under way still reads the node, which is thread-safe) runs
  // beside the rest of the shutdown, joined before the node is closed.
  std::thread metrics_stop([&metrics_server] { metrics_server.reset(); });
  // The HTTP gateway first: its event streams end, its requests finish, and
  // nothing calls the gRPC server through it any more.
  if (gateway != nullptr) gateway->Shutdown();
  (*node)->Stop();       // stop mining
  network.Stop();        // leave the tracker, end gossip sessions
  service.EndStreams();  // WatchTips streams end with OK
  (*server)->Stop(kShutdownGrace);
  // A write may also have failed during the shutdown itself.
  store = (*node)->store_health();
  store_failed = store.condition == pbchain::StoreCondition::kFailed;
  gateway.reset();  // its channel goes with the server
  metrics_stop.join();
  node->reset();    // closes the chain and the store
  LOG(INFO) << "stopped cleanly";
  if (store_failed) {
    std::cerr << "pbnode: stopped: writing the datadir failed ("
              << store.write_error.message()
              << "); every block acknowledged before is on disk. Check the "
                 "disk (kernel log), then restart the node.\n";
    return pbchain::kExitFailure;
  }
  return pbchain::kExitOk;
}
