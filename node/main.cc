// pbnode: a pbchain full node.
//
//   pbnode --genesis genesis.json --datadir ~/.pbchain --listen 127.0.0.1:7700
//   \
//          --mine --miner-address pb...
//
// Flags are defined here only and copied into NodeOptions. glog is set up
// through FLAGS_* in code / GLOG_* environment variables (its flags are not
// absl flags).
#include <signal.h>

#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "glog/logging.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "node/node.h"
#include "node/node_service.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:0",
          "host:port for the gRPC API; port 0 picks a free port (the chosen "
          "address is printed as 'pbnode listening on HOST:PORT')");
ABSL_FLAG(std::string, datadir, "",
          "directory of the node's data (created if missing; required)");
ABSL_FLAG(std::string, genesis, "",
          "genesis JSON file of the network (required; make one with "
          "'pbtool genesis')");
ABSL_FLAG(bool, mine, false, "mine continuously");
ABSL_FLAG(bool, mine_on_demand, false,
          "mine only while the mempool holds transactions");
ABSL_FLAG(std::string, miner_address, "",
          "address (pb...) paid block rewards and fees; required with --mine "
          "or --mine_on_demand");
ABSL_FLAG(int, mining_threads, 1, "threads searching nonces (1..64)");
ABSL_FLAG(std::string, role, "full",
          "role shown to others: head, seed or full");
ABSL_FLAG(std::string, backup_dir, "",
          "take periodic RocksDB backups into this directory (off if empty)");
ABSL_FLAG(absl::Duration, backup_interval, absl::Hours(1),
          "time between periodic backups, e.g. 30m");
ABSL_FLAG(int, backup_keep, 5, "how many backups to keep");
ABSL_FLAG(int, max_message_bytes, pbchain::kMaxGrpcMessageBytes,
          "largest gRPC message the server accepts or sends");

namespace {

int Fail(const std::string& message) {
  std::cerr << "pbnode: " << message << "\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "a pbchain full node: keeps the chain in RocksDB, validates, mines and "
      "serves the NodeService gRPC API (with health and reflection).\n\n"
      "  pbnode --genesis FILE --datadir DIR [--listen HOST:PORT] [--mine "
      "--miner_address pb...]\n\nFlags may be written with dashes or "
      "underscores (--mining-threads = --mining_threads).");
  // absl flags take underscores; accept the dashed spelling too.
  std::vector<std::string> normalized;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (i > 0 && arg.rfind("--", 0) == 0) {
      const size_t end = arg.find('=');
      for (size_t j = 2; j < (end == std::string::npos ? arg.size() : end);
           ++j) {
        if (arg[j] == '-') arg[j] = '_';
      }
    }
    normalized.push_back(arg);
  }
  std::vector<char*> args;
  for (std::string& a : normalized) args.push_back(a.data());
  absl::ParseCommandLine(static_cast<int>(args.size()), args.data());

  FLAGS_logtostderr = true;
  google::InitGoogleLogging(argv[0]);

  // Block SIGINT/SIGTERM in every thread; one thread waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  if (absl::GetFlag(FLAGS_datadir).empty())
    return Fail("--datadir is required");
  if (absl::GetFlag(FLAGS_genesis).empty())
    return Fail("--genesis is required");
  absl::StatusOr<pbchain::ChainParams> params =
      pbchain::LoadGenesisFile(absl::GetFlag(FLAGS_genesis));
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
  const int max_message = absl::GetFlag(FLAGS_max_message_bytes);
  if (max_message < 1024) return Fail("--max_message_bytes must be >= 1024");

  absl::StatusOr<std::unique_ptr<pbchain::Node>> node =
      pbchain::Node::Create(options);
  if (!node.ok()) {
    std::cerr << "pbnode: cannot start: " << node.status() << "\n";
    return 1;
  }

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  pbchain::NodeServiceImpl service(node->get());
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen),
                           grpc::InsecureServerCredentials(), &port);
  // Bounds per client connection: concurrent calls (streams) on one
  // connection beyond this wait for a free slot.
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS,
                             pbchain::kMaxConcurrentStreams);
  builder.SetMaxReceiveMessageSize(max_message);
  builder.SetMaxSendMessageSize(max_message);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::cerr << "pbnode: cannot listen on " << absl::GetFlag(FLAGS_listen)
              << "\n";
    return 1;
  }
  const std::string listen = absl::GetFlag(FLAGS_listen);
  const std::string host = listen.substr(0, listen.rfind(':'));
  std::cout << "pbnode listening on " << host << ":" << port << std::endl;
  LOG(INFO) << "pbnode " << pbchain::kNodeVersion << " serving on " << host
            << ":" << port << (options.mine ? ", mining" : "");

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  LOG(INFO) << "signal " << signal_number << ": shutting down";
  (*node)->Stop();  // stop mining first
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
  server->Wait();
  node->reset();  // closes the chain and the store
  LOG(INFO) << "stopped cleanly";
  return 0;
}
