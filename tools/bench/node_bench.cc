// pbnode throughput: transactions accepted per second through the real
// SubmitTransaction RPC over loopback TCP (signed, distinct senders) with 1
// and 8 concurrent clients, and the miner's hash rate per mining thread.
//
//   build/bin/pbchain_node_bench
#include <filesystem>
#include <thread>

#include "benchmark/benchmark.h"
#include "chain/miner.h"
#include "grpcpp/grpcpp.h"
#include "node/core/node.h"
#include "node/rpc/node_service.h"
#include "pbchain/v1/node.grpc.pb.h"
#include "proto/convert.h"

namespace pbchain {
namespace {

namespace fs = std::filesystem;

constexpr int kSenders = 800;  // genesis allocations (fits the genesis record)
constexpr int kTxsPerSender = 5;  // nonces 0..4
constexpr int kTotalTxs = kSenders * kTxsPerSender;

PrivateKey Key(int i) {
  std::array<uint8_t, 32> seed{};
  seed[0] = static_cast<uint8_t>(i);
  seed[1] = static_cast<uint8_t>(i >> 8);
  seed[31] = 0x42;
  return *PrivateKey::FromSeed(seed);
}

struct TempDatadir {
  fs::path path;
  explicit TempDatadir(const std::string& name)
      : path(fs::temp_directory_path() /
             ("pbchain_bench_" + name + "_" + std::to_string(getpid()))) {
    fs::remove_all(path);
  }
  ~TempDatadir() { fs::remove_all(path); }
};

ChainParams BenchParams(const std::vector<PrivateKey>& keys, uint32_t bits) {
  ChainParams p;
  p.chain_id = "pbchain-bench";
  p.genesis_time = static_cast<uint32_t>(time(nullptr)) - 60;
  p.genesis_bits = bits;
  p.pow_limit_bits = 0x207fffff;
  p.difficulty_window = 0;
  for (const PrivateKey& k : keys) {
    p.allocations.push_back({AddressFromPublicKey(k.public_key()), 1'000'000});
  }
  (void)MineGenesis(p);
  return p;
}

void BM_SubmitTransaction(benchmark::State& state) {
  const int clients = static_cast<int>(state.range(0));
  std::vector<PrivateKey> keys;
  for (int i = 0; i < kSenders; ++i) keys.push_back(Key(i));
  const ChainParams params = BenchParams(keys, 0x207fffff);
  // Pre-signed requests, grouped by client: each client owns some senders.
  std::vector<std::vector<v1::SubmitTransactionRequest>> work(clients);
  const Address payee = AddressFromPublicKey(Key(9999).public_key());
  for (int s = 0; s < kSenders; ++s) {
    for (uint64_t n = 0; n < kTxsPerSender; ++n) {
      Transaction tx;
      tx.chain_id = params.chain_id;
      tx.recipient = payee;
      tx.amount = 1;
      tx.fee = 1;
      tx.nonce = n;
      tx.Sign(keys[s]);
      v1::SubmitTransactionRequest req;
      *req.mutable_transaction() = TransactionToProto(tx);
      work[s % clients].push_back(std::move(req));
    }
  }
  for (auto _ : state) {
    state.PauseTiming();
    TempDatadir dir("submit");
    NodeOptions options;
    options.datadir = dir.path.string();
    options.params = params;
    auto node = *Node::Create(options);
    NodeServiceImpl service(node.get());
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(&service);
    std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
    std::vector<std::unique_ptr<v1::NodeService::Stub>> stubs;
    for (int c = 0; c < clients; ++c) {
      grpc::ChannelArguments args;
      args.SetInt("pbchain.bench.client", c);  // one connection per client
      stubs.push_back(v1::NodeService::NewStub(
          grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port),
                                    grpc::InsecureChannelCredentials(), args)));
    }
    std::atomic<int> failures{0};
    state.ResumeTiming();
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c) {
      threads.emplace_back([&, c] {
        for (const v1::SubmitTransactionRequest& req : work[c]) {
          grpc::ClientContext ctx;
          ctx.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::seconds(10));
          v1::SubmitTransactionResponse resp;
          if (!stubs[c]->SubmitTransaction(&ctx, req, &resp).ok()) failures++;
        }
      });
    }
    for (std::thread& t : threads) t.join();
    state.PauseTiming();
    if (failures.load() > 0 || node->mempool().size() != kTotalTxs) {
      state.SkipWithError("some transactions were not accepted");
    }
    server->Shutdown();
    node.reset();
    state.ResumeTiming();
  }
  state.counters["tx/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * kTotalTxs,
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SubmitTransaction)
    ->Arg(1)
    ->Arg(8)
    ->Iterations(3)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// The node's own miner for 4 s; HashRate() as GetInfo reports it.
void BM_NodeHashRate(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  // About 2^24 hashes a block, no retargeting: mostly nonce search, with a
  // block found now and then (its handling is part of the node's rate).
  const ChainParams params = BenchParams({}, 0x1e00ffff);
  double per_thread = 0;
  for (auto _ : state) {
    TempDatadir dir("mine");
    NodeOptions options;
    options.datadir = dir.path.string();
    options.params = params;
    options.mine = true;
    options.mining_threads = threads;
    auto node = *Node::Create(options);
    std::this_thread::sleep_for(std::chrono::seconds(4));
    per_thread = node->HashRate() / threads;
    node.reset();
  }
  state.counters["hashes/s/thread"] = per_thread;
}
BENCHMARK(BM_NodeHashRate)
    ->Arg(1)
    ->Arg(2)
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kSecond);

}  // namespace
}  // namespace pbchain

BENCHMARK_MAIN();
