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

#include <cstdlib>
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
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/defaults.h"
#include "common/exit_codes.h"
#include "common/flags.h"
#include "common/host_port.h"
#include "common/lan_scan.h"
#include "common/metrics_server.h"
#include "common/server.h"
#include "common/status_macros.h"
#include "common/tls.h"
#include "common/version.h"
#include "glog/logging.h"
#include "node/admin/admin_server.h"
#include "node/admin/admin_service.h"
#include "node/admin/cookie.h"
#include "node/core/node.h"
#include "node/http/http_gateway.h"
#include "node/metrics/node_metrics.h"
#include "node/p2p/gossip_service.h"
#include "node/p2p/network.h"
#include "node/rpc/node_service.h"

ABSL_FLAG(std::string, listen, pbchain::kDefaultNodeAddress,
          "host:port for the gRPC API (the default is where pbcli looks); "
          "port 0 picks a free port (the chosen address is printed as "
          "'pbnode listening on HOST:PORT'). A wildcard host (0.0.0.0, [::]) "
          "without --advertise advertises the unspecified host and peers "
          "and the tracker fill in the address they saw");
ABSL_FLAG(std::string, datadir, "",
          "directory of the node's data (created if missing); default "
          "$HOME/.pbchain/CHAIN_ID, CHAIN_ID from the genesis");
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
// --- LAN discovery (common/lan_scan.h; docs/OPERATIONS.md, LAN discovery) ---
ABSL_FLAG(std::string, discover_local, "",
          "LOW-HIGH: probe 127.0.0.1 ports LOW..HIGH (at most 1024) for nodes "
          "of the same network, e.g. 7700-7720 (the same as --discover-subnet "
          "127.0.0.1/32 --discover-ports LOW-HIGH)");
ABSL_FLAG(std::string, discover_subnet, "",
          "IPv4 CIDR (at most a /16) to probe for nodes of the same network, "
          "neighbour-table hosts first, e.g. 192.168.1.0/24; ports from "
          "--discover-ports");
ABSL_FLAG(std::string, discover_ports, "",
          "LOW-HIGH or PORT: the ports --discover-subnet probes (at most 1024; "
          "default 7701, the default port)");
ABSL_FLAG(int, discover_rate, pbchain::kScanRatePerSecond,
          "most discovery probes started per second (1..10000; effective "
          "up to 512: rate x 500 ms probes in flight, at most 256)");
// --- end LAN discovery ---
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

// --- TLS (docs/OPERATIONS.md, "TLS") ---
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate (chain, leaf first) of this node's gRPC listeners: "
          "with --tls_key they serve TLS only (no plaintext). Make one with "
          "'pbtool tls-cert'");
ABSL_FLAG(std::string, tls_key, "", "PEM private key of --tls_cert");
ABSL_FLAG(std::string, tls_client_ca, "",
          "PEM CA certificate(s): the listeners require a client certificate "
          "signed by it (mutual TLS: peers, the tracker's probe and clients "
          "must present one); needs --tls_cert");
ABSL_FLAG(std::string, tls_ca, "",
          "PEM CA certificate(s): dial peers and the tracker with TLS, "
          "accepting only certificates signed by it that name the address "
          "dialed (IP or DNS SAN)");
ABSL_FLAG(std::string, tls_client_cert, "",
          "PEM certificate this node presents when it dials (mutual TLS); "
          "needs --tls_ca and --tls_client_key. Usually the same file as "
          "--tls_cert");
ABSL_FLAG(std::string, tls_client_key, "",
          "PEM private key of --tls_client_cert");
ABSL_FLAG(bool, http_tls, false,
          "serve the --http gateway as HTTPS with --tls_cert and --tls_key "
          "(no client certificates)");

// --- Admin API (issue 16): flag ---
ABSL_FLAG(std::string, admin_listen, "127.0.0.1:0",
          "host:port of the admin API (AdminService: peers, bans, mining, "
          "backups, log level, stop), a listener of its own; port 0 picks a "
          "free port (printed as 'pbnode admin listening on HOST:PORT' and "
          "written to DATADIR/.admin-address). Calls need the token of "
          "DATADIR/.cookie, new at every start. Loopback only unless TLS is "
          "on. Empty = off");
// --- end Admin API flag ---

namespace {

// The TLS material from the --tls_* flags: credentials of the gRPC
// listeners and of every channel the node dials, and the gateway's
// certificate. Null credentials = plaintext.
struct TlsSetup {
  std::shared_ptr<grpc::ServerCredentials> server;
  std::shared_ptr<grpc::ChannelCredentials> channel;
  std::string http_cert_pem;  // set with --http_tls
  std::string http_key_pem;
};

// Reads and checks the TLS flags (files readable, certificates valid now,
// keys matching, this node's certificates issued by the CAs it gives, which
// are the ones its peers are assumed to share). INVALID_ARGUMENT naming the
// flag otherwise. Warns about half setups that would fail at connection
// time.
absl::StatusOr<TlsSetup> TlsFromFlags() {
  pbchain::ServerTlsFiles server_files{absl::GetFlag(FLAGS_tls_cert),
                                       absl::GetFlag(FLAGS_tls_key),
                                       absl::GetFlag(FLAGS_tls_client_ca)};
  pbchain::ClientTlsFiles client_files{absl::GetFlag(FLAGS_tls_ca),
                                       absl::GetFlag(FLAGS_tls_client_cert),
                                       absl::GetFlag(FLAGS_tls_client_key)};
  TlsSetup tls;
  PBCHAIN_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ServerCredentials> server,
                           pbchain::MakeServerCredentials(server_files));
  if (server_files.enabled()) tls.server = std::move(server);
  PBCHAIN_ASSIGN_OR_RETURN(std::shared_ptr<grpc::ChannelCredentials> channel,
                           pbchain::MakeChannelCredentials(client_files));
  if (client_files.enabled()) tls.channel = std::move(channel);
  if (server_files.enabled() && client_files.enabled()) {
    PBCHAIN_RETURN_IF_ERROR(pbchain::CheckIssuedBy(
        "tls-cert", server_files.cert, "tls-ca", client_files.ca));
  }
  if (!client_files.cert.empty() && !server_files.client_ca.empty()) {
    PBCHAIN_RETURN_IF_ERROR(
        pbchain::CheckIssuedBy("tls-client-cert", client_files.cert,
                               "tls-client-ca", server_files.client_ca));
  }
  if (absl::GetFlag(FLAGS_http_tls)) {
    if (!server_files.enabled()) {
      return absl::InvalidArgumentError(
          "--http-tls needs --tls-cert and --tls-key");
    }
    if (absl::GetFlag(FLAGS_http).empty()) {
      return absl::InvalidArgumentError("--http-tls needs --http");
    }
    PBCHAIN_ASSIGN_OR_RETURN(
        tls.http_cert_pem, pbchain::ReadPemFile("tls-cert", server_files.cert));
    PBCHAIN_ASSIGN_OR_RETURN(tls.http_key_pem,
                             pbchain::ReadPemFile("tls-key", server_files.key));
  }
  if (server_files.enabled() && !client_files.enabled()) {
    LOG(WARNING) << "TLS: --tls-cert without --tls-ca: this node serves TLS "
                    "but dials peers and the tracker in plaintext";
  }
  if (!server_files.enabled() && client_files.enabled()) {
    LOG(WARNING) << "TLS: --tls-ca without --tls-cert: this node dials with "
                    "TLS but serves plaintext, which peers dialing with TLS "
                    "refuse";
  }
  if (!server_files.client_ca.empty() && client_files.cert.empty()) {
    LOG(WARNING) << "TLS: --tls-client-ca without --tls-client-cert: this "
                    "node requires client certificates but presents none "
                    "when it dials";
  }
  return tls;
}

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

// $HOME/.pbchain/<chain_id>, the datadir when --datadir is not given.
// INVALID_ARGUMENT if HOME is unset or not absolute, or the chain id cannot
// name a directory.
absl::StatusOr<std::string> DefaultDatadir(const std::string& chain_id) {
  const char* home = std::getenv("HOME");
  if (home == nullptr || home[0] != '/') {
    return absl::InvalidArgumentError(
        "--datadir not given and HOME is not set (or not an absolute path): "
        "pass --datadir DIR");
  }
  if (chain_id == "." || chain_id == ".." ||
      chain_id.find('/') != std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("--datadir not given and the chain id '", chain_id,
                     "' cannot name a directory: pass --datadir DIR"));
  }
  return (std::filesystem::path(home) / pbchain::kDefaultDataDirName / chain_id)
      .string();
}

// --- health follows state (issue 16) ---
// The health entries of the public port (grpc.health.v1), kept by
// HealthFollower:
//   ""                      SERVING while the datadir is writable and the
//                           node is not far behind;
//   pbchain.v1.NodeService  the same;
//   pbchain.datadir         SERVING while writable and no block read found
//                           damage.
// "Far behind" is judged from evidence, never from a peer's claims: a
// header run is being downloaded (headers received and checked, proof of
// work included, with more work than our tip: Network::sync_run_pending),
// or such checked headers reach more than kFarBehindBlocks above our tip
// (Network::validated_header_height). A Hello's height or an outstanding
// header request alone does not count (any peer could send those).
constexpr uint32_t kFarBehindBlocks = 10;
constexpr char kNodeServiceHealthService[] = "pbchain.v1.NodeService";
// How often the follower looks at the tip, the sync state and the peers.
constexpr absl::Duration kHealthPollInterval = absl::Milliseconds(250);

// Looks at the node's state on a thread of its own every
// kHealthPollInterval and at once after a tip change (Wake), applies
// datadir changes at once (OnStore), and sets the health entries above
// when they change. Thread safety: every method from any thread; Stop
// before the server's SetNotServing (after it, health ignores updates).
class HealthFollower {
 public:
  HealthFollower(grpc::Server* server, pbchain::Node* node,
                 pbchain::Network* network)
      : health_(server->GetHealthCheckService()),
        node_(node),
        network_(network) {
    Poll();
    thread_ = std::thread([this] { Loop(); });
  }
  ~HealthFollower() { Stop(); }

  // The datadir's condition (Node's store listener: touches neither the
  // chain nor the network, whatever locks the caller holds).
  void OnStore(const pbchain::StoreHealth& h) {
    absl::MutexLock lock(&mu_);
    writable_ = h.condition == pbchain::StoreCondition::kWritable;
    undamaged_ = h.damaged_reads == 0;
    Apply();
  }
  // Look again now (a tip listener: returns at once).
  void Wake() {
    absl::MutexLock lock(&mu_);
    wake_ = true;
  }
  void Stop() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Loop() {
    absl::MutexLock lock(&mu_);
    auto woken = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_ || wake_;
    };
    while (true) {
      mu_.AwaitWithTimeout(absl::Condition(&woken), kHealthPollInterval);
      if (stopping_) return;
      wake_ = false;
      mu_.Unlock();
      Poll();
      mu_.Lock();
    }
  }
  // Looks at the tip and the checked headers of a sync run (no lock of
  // ours held), then applies.
  void Poll() ABSL_LOCKS_EXCLUDED(mu_) {
    const uint64_t tip = node_->chain().Tip().height;
    const uint32_t validated = network_->validated_header_height();
    const bool behind =
        network_->sync_run_pending() || validated > tip + kFarBehindBlocks;
    absl::MutexLock lock(&mu_);
    if (behind != behind_) {
      LOG(INFO) << "health: "
                << (behind ? "syncing a chain with more work: NOT_SERVING"
                           : "caught up")
                << " (tip " << tip << ", checked headers to " << validated
                << ")";
      behind_ = behind;
    }
    Apply();
  }
  void Apply() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (health_ == nullptr || stopping_) return;
    const bool serving = writable_ && !behind_;
    const bool datadir = writable_ && undamaged_;
    if (applied_ && serving == serving_ && datadir == datadir_) return;
    // Only changes: Watch streams get one message per change.
    health_->SetServingStatus("", serving);
    health_->SetServingStatus(kNodeServiceHealthService, serving);
    health_->SetServingStatus(kDatadirHealthService, datadir);
    applied_ = true;
    serving_ = serving;
    datadir_ = datadir;
  }

  grpc::HealthCheckServiceInterface* const health_;
  pbchain::Node* const node_;
  pbchain::Network* const network_;
  absl::Mutex mu_;
  bool writable_ ABSL_GUARDED_BY(mu_) = true;
  bool undamaged_ ABSL_GUARDED_BY(mu_) = true;
  bool behind_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  // What was last set.
  bool applied_ ABSL_GUARDED_BY(mu_) = false;
  bool serving_ ABSL_GUARDED_BY(mu_) = false;
  bool datadir_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};
// --- end health ---

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

// --- Admin API (issue 16) ---
// The admin listener and the files that go with it; destroyed (server
// stopped, DATADIR/.cookie and .admin-address removed) at a clean exit.
struct AdminListener {
  std::unique_ptr<pbchain::OwnedFile> cookie;
  std::unique_ptr<pbchain::AdminServiceImpl> service;
  std::unique_ptr<pbchain::GrpcServer> server;
  std::unique_ptr<pbchain::OwnedFile> address_file;
};

// Writes a fresh cookie, starts AdminService on `listen` (checked by
// CheckAdminListen) with `tls` (the public listener's TLS files: the admin
// listener gets credentials of its own, see admin_server.h) and writes
// DATADIR/.admin-address. INVALID_ARGUMENT for bad flags, else the error.
absl::StatusOr<std::unique_ptr<AdminListener>> StartAdminListener(
    const std::string& listen, const pbchain::ServerTlsFiles& tls,
    const std::string& datadir, int max_message_bytes, pbchain::Node* node,
    pbchain::Network* network) {
  auto admin = std::make_unique<AdminListener>();
  PBCHAIN_ASSIGN_OR_RETURN(admin->cookie, pbchain::WriteCookieFile(datadir));
  PBCHAIN_ASSIGN_OR_RETURN(
      pbchain::GrpcServerConfig config,
      pbchain::MakeAdminServerConfig(listen, tls, admin->cookie->content(),
                                     max_message_bytes));
  // StopNode: the same path as a signal (WaitForTerminationSignal).
  admin->service = std::make_unique<pbchain::AdminServiceImpl>(
      node, network, [] { ::kill(::getpid(), SIGTERM); });
  absl::StatusOr<std::unique_ptr<pbchain::GrpcServer>> server =
      pbchain::GrpcServer::Start(config, {admin->service.get()});
  if (!server.ok()) {
    return absl::Status(
        server.status().code(),
        absl::StrCat("--admin_listen: ", server.status().message()));
  }
  admin->server = *std::move(server);
  PBCHAIN_ASSIGN_OR_RETURN(
      admin->address_file,
      pbchain::OwnedFile::Write(
          (std::filesystem::path(datadir) / pbchain::kAdminAddressFileName)
              .string(),
          admin->server->address() + "\n", 0644));
  return admin;
}
// --- end Admin API ---

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "a pbchain full node: keeps the chain in RocksDB, validates, mines and "
      "serves the NodeService gRPC API (with health and reflection).\n\n"
      "  pbnode --genesis FILE [--datadir DIR] [--listen HOST:PORT] [--mine "
      "--miner_address pb...]\n         [--tracker HOST:PORT] [--peer "
      "HOST:PORT]... [--discover_local LOW-HIGH]\n         [--discover_subnet "
      "CIDR "
      "[--discover_ports LOW-HIGH]] [--http "
      "127.0.0.1:PORT]\n\nGossip with other nodes runs on the same port as "
      "the API; --http adds the JSON API and the block explorer. Flags may be "
      "written with dashes or underscores (--mining-threads = "
      "--mining_threads). --config FILE reads them from a TOML file "
      "(docs/pbnode.example.toml); the command line wins.");
  pbchain::BlockTerminationSignals();  // before any thread starts
  pbchain::ParseCommandLineFlags(argc, argv, "pbnode", "node/main.cc",
                                 {"peer"});
  pbchain::InitLogging(argv[0]);

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
  // --- Admin API (issue 16): checked before anything is written ---
  // The admin listener serves TLS with the public listener's files
  // (--tls_cert, --tls_key, --tls_client_ca; checked in TlsFromFlags); it
  // builds credentials of its own because the token check is set on them.
  const pbchain::ServerTlsFiles admin_tls{absl::GetFlag(FLAGS_tls_cert),
                                          absl::GetFlag(FLAGS_tls_key),
                                          absl::GetFlag(FLAGS_tls_client_ca)};
  if (const std::string admin_listen = absl::GetFlag(FLAGS_admin_listen);
      !admin_listen.empty()) {
    if (absl::Status s =
            pbchain::CheckAdminListen(admin_listen, admin_tls.enabled());
        !s.ok()) {
      return Fail(std::string(s.message()));
    }
  }
  // --- end Admin API ---
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
  // --- default datadir (issue 16): $HOME/.pbchain/<chain id> ---
  options.datadir = absl::GetFlag(FLAGS_datadir);
  if (options.datadir.empty()) {
    absl::StatusOr<std::string> datadir = DefaultDatadir(params->chain_id);
    if (!datadir.ok()) return Fail(std::string(datadir.status().message()));
    options.datadir = *datadir;
    LOG(INFO) << "datadir " << options.datadir << " (the default)";
  }
  // --- end default datadir ---
  options.params = *params;
  options.mine = absl::GetFlag(FLAGS_mine);
  options.mine_on_demand = absl::GetFlag(FLAGS_mine_on_demand);
  options.mining_threads = absl::GetFlag(FLAGS_mining_threads);
  if (options.mining_threads < 1 ||
      options.mining_threads > pbchain::kMaxMiningThreads) {
    return Fail(absl::StrCat("--mining_threads must be 1..",
                             pbchain::kMaxMiningThreads));
  }
  const std::string role = absl::GetFlag(FLAGS_role);
  if (role != "head" && role != "seed" && role != "full") {
    return Fail("--role must be head, seed or full");
  }
  options.role = role;
  // Also without --mine: the admin API may start mining later.
  if (options.mine || options.mine_on_demand ||
      !absl::GetFlag(FLAGS_miner_address).empty()) {
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
  // --- LAN discovery ---
  {
    const std::string local = absl::GetFlag(FLAGS_discover_local);
    const std::string subnet = absl::GetFlag(FLAGS_discover_subnet);
    const std::string ports = absl::GetFlag(FLAGS_discover_ports);
    if (!local.empty() && (!subnet.empty() || !ports.empty())) {
      return Fail(
          "--discover_local LOW-HIGH is --discover_subnet 127.0.0.1/32 "
          "--discover_ports LOW-HIGH: give one form, not both");
    }
    if (!local.empty() && local.find('-') == std::string::npos) {
      return Fail(
          absl::StrCat("--discover_local: want LOW-HIGH; got '", local, "'"));
    }
    if (subnet.empty() && !ports.empty()) {
      return Fail("--discover_ports needs --discover_subnet");
    }
    const std::string cidr_text = !local.empty() ? "127.0.0.1/32" : subnet;
    const std::string port_text =
        !local.empty()   ? local
        : !ports.empty() ? ports
                         : std::to_string(pbchain::kDefaultNodePort);
    if (!cidr_text.empty() && absl::GetFlag(FLAGS_connect_only)) {
      return Fail(
          "--connect_only dials only --peer: it cannot be combined with "
          "--discover_subnet or --discover_local");
    }
    if (!cidr_text.empty()) {
      const char* flag =
          !local.empty() ? "--discover_local" : "--discover_ports";
      absl::StatusOr<pbchain::PortRange> range =
          pbchain::ParsePortRange(port_text);
      if (!range.ok()) {
        return Fail(absl::StrCat(flag, ": ", range.status().message()));
      }
      absl::StatusOr<pbchain::Ipv4Cidr> cidr =
          pbchain::ParseIpv4Cidr(cidr_text);
      if (!cidr.ok()) {
        return Fail(
            absl::StrCat("--discover_subnet: ", cidr.status().message()));
      }
      // The size check of ScanTargets, before the node starts.
      if (absl::StatusOr<std::vector<pbchain::ScanTarget>> targets =
              pbchain::ScanTargets(*cidr, *range, {});
          !targets.ok()) {
        return Fail(
            absl::StrCat("--discover_subnet: ", targets.status().message()));
      }
      net.discover_subnet = cidr->ToString();
      net.discover_low = range->low;
      net.discover_high = range->high;
    }
    net.discover_rate = absl::GetFlag(FLAGS_discover_rate);
    if (net.discover_rate < 1 ||
        net.discover_rate > pbchain::kMaxScanRatePerSecond) {
      return Fail(absl::StrCat("--discover_rate must be 1..",
                               pbchain::kMaxScanRatePerSecond));
    }
  }
  // --- end LAN discovery ---
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

  absl::StatusOr<TlsSetup> tls = TlsFromFlags();
  if (!tls.ok()) return Fail(std::string(tls.status().message()));
  net.channel_credentials = tls->channel;

  pbchain::HttpGatewayOptions http;
  http.listen = absl::GetFlag(FLAGS_http);
  http.tls_cert_pem = tls->http_cert_pem;
  http.tls_key_pem = tls->http_key_pem;
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
  config.credentials = tls->server;
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
  // --- advertised address (issue 16, docs/PROTOCOL.md "Addresses") ---
  // Without --advertise: the listen address with the bound port. A
  // wildcard host ("0.0.0.0:P", "[::]:P") is sent as it is: peers and the
  // tracker put in the IP our connection came from.
  std::string advertised = advertise;
  if (advertised.empty()) advertised = absl::StrCat(host, ":", port);
  // --- end advertised address ---
  // Health follows the datadir (NOT_SERVING while writes fail, SERVING
  // again when a full disk has room) and the sync state (HealthFollower); a
  // failed filesystem shuts the node down like a signal.
  HealthFollower health((*server)->server(), node->get(), &network);
  const uint64_t health_tips = (*node)->AddTipListener(
      [&health](const pbchain::TipEvent&) { health.Wake(); });
  (*node)->SetStoreListener([&health](const pbchain::StoreHealth& h) {
    health.OnStore(h);
    if (h.condition == pbchain::StoreCondition::kFailed) {
      ::kill(::getpid(), SIGTERM);  // to WaitForTerminationSignal
    }
  });
  // Every return from here on stops the follower (and removes what calls
  // it) before the node is closed: its thread reads the node's tip.
  auto stop_health = [&health, &node, health_tips] {
    (*node)->RemoveTipListener(health_tips);
    (*node)->SetStoreListener(nullptr);
    health.Stop();
  };
  network.Start(advertised);
  // --- Admin API (issue 16): after the public listener (whose line comes
  // first), before the node is announced as serving ---
  std::unique_ptr<AdminListener> admin;
  if (const std::string admin_listen = absl::GetFlag(FLAGS_admin_listen);
      !admin_listen.empty()) {
    absl::StatusOr<std::unique_ptr<AdminListener>> started =
        StartAdminListener(admin_listen, admin_tls, options.datadir,
                           max_message, node->get(), &network);
    if (!started.ok()) {
      stop_health();
      if (gateway != nullptr) gateway->Shutdown();
      network.Stop();
      (*server)->Stop(absl::ZeroDuration());
      gateway.reset();
      node->reset();
      std::cerr << "pbnode: " << started.status().message() << std::endl;
      return absl::IsInvalidArgument(started.status()) ? pbchain::kExitUsage
                                                       : pbchain::kExitFailure;
    }
    admin = *std::move(started);
  }
  // --- end Admin API ---
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
    const char* scheme = http.tls_cert_pem.empty() ? "http" : "https";
    std::cout << "pbnode http gateway listening on " << h << ":" << http_port
              << " (explorer: " << scheme << "://" << h << ":" << http_port
              << "/)" << std::endl;
  }
  // The admin line last: tools that read the first lines (the listen
  // address, then the gateway's or the metrics') keep working.
  if (admin != nullptr) {
    std::cout << "pbnode admin listening on " << admin->server->address()
              << std::endl;
  }
  LOG(INFO) << "pbnode " << pbchain::kVersion << " serving on " << host << ":"
            << port << (options.mine ? ", mining" : "")
            << (tls->server == nullptr ? ", plaintext"
                : absl::GetFlag(FLAGS_tls_client_ca).empty()
                    ? ", TLS"
                    : ", TLS with client certificates")
            << (tls->channel == nullptr ? ", dialing in plaintext"
                                        : ", dialing with TLS");

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
  stop_health();
  (*server)->SetNotServing();
  // --- Admin API (issue 16): no admin call runs during the shutdown (a
  // StopNode answer still goes out within the grace) ---
  if (admin != nullptr) admin->server->Stop(kShutdownGrace);
  // --- end Admin API ---
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
  admin.reset();    // removes DATADIR/.cookie and .admin-address
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
