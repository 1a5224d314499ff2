// RocksDB storage throughput and startup time:
//
//   BM_ConnectBlocksSynced/<n>  blocks of n signed transfers (plus the
//       coinbase), pre-built, fed one by one to ChainState over a fresh
//       RocksChainStore with sync ON (every write fsynced). Counters:
//       blocks/s and tx/s (transfers only).
//   BM_OpenDatadir100k  RocksChainStore::Open + ChainState::Create of a
//       datadir holding 100,000 blocks (coinbase only). The datadir is built
//       once, before timing, with sync OFF to keep setup short; the timed
//       open itself is the same either way.
//
//   build/bin/pbchain_storage_bench
//   build/bin/pbchain_storage_bench --benchmark_filter=Connect
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "chain/chain_state.h"
#include "chain/miner.h"
#include "storage/rocksdb_store.h"

namespace pbchain {
namespace {

namespace fs = std::filesystem;

constexpr int kSenders = 100;
constexpr int kOpenBlocks = 100'000;

PrivateKey Key(int i) {
  std::array<uint8_t, 32> seed{};
  seed[0] = static_cast<uint8_t>(i);
  seed[1] = static_cast<uint8_t>(i >> 8);
  seed[31] = 0x53;
  return *PrivateKey::FromSeed(seed);
}

// The easiest target, no retargeting, kSenders funded keys.
ChainParams BenchParams() {
  ChainParams p;
  p.chain_id = "storage-bench";
  p.genesis_time = 1'700'000'000;
  p.genesis_bits = 0x207fffff;
  p.pow_limit_bits = 0x207fffff;
  p.difficulty_window = 0;
  for (int i = 0; i < kSenders; ++i) {
    p.allocations.push_back(
        {AddressFromPublicKey(Key(i).public_key()), 1'000'000'000});
  }
  (void)MineGenesis(p);
  return p;
}

ChainStateOptions BenchClock() {
  ChainStateOptions o;
  o.clock = [] { return int64_t{2'000'000'000}; };
  return o;
}

// A chain of `count` blocks on genesis, each with `txs_per_block` transfers
// (sender i % kSenders, nonces in order).
std::vector<Block> BuildChain(const ChainParams& p, int count,
                              int txs_per_block) {
  std::vector<PrivateKey> keys;
  std::vector<Address> addrs;
  for (int i = 0; i < kSenders; ++i) {
    keys.push_back(Key(i));
    addrs.push_back(AddressFromPublicKey(keys.back().public_key()));
  }
  std::vector<uint64_t> nonces(kSenders, 0);
  std::vector<Block> chain;
  chain.reserve(count);
  BlockHeader parent = MakeGenesisBlock(p).header;
  int next_sender = 0;
  for (int h = 1; h <= count; ++h) {
    Block b;
    Transaction cb;
    cb.kind = TxKind::kCoinbase;
    cb.chain_id = p.chain_id;
    cb.height = static_cast<uint64_t>(h);
    uint64_t fees = 0;
    std::vector<Transaction> txs;
    for (int t = 0; t < txs_per_block; ++t) {
      const int s = next_sender++ % kSenders;
      Transaction tx;
      tx.kind = TxKind::kTransfer;
      tx.chain_id = p.chain_id;
      tx.recipient = addrs[(s + 1) % kSenders];
      tx.amount = 10;
      tx.fee = 1;
      tx.nonce = nonces[s]++;
      tx.Sign(keys[s]);
      fees += tx.fee;
      txs.push_back(std::move(tx));
    }
    cb.amount = p.block_reward + fees;
    b.txs.push_back(std::move(cb));
    for (Transaction& tx : txs) b.txs.push_back(std::move(tx));
    b.header.version = 1;
    b.header.prev_hash = parent.Hash();
    b.header.time = parent.time + 1;
    b.header.bits = p.genesis_bits;
    b.header.merkle_root = BlockMerkleRoot(b);
    std::atomic<bool> abort{false};
    MineBlock(b, 1, abort);
    parent = b.header;
    chain.push_back(std::move(b));
  }
  return chain;
}

std::string TempPath(const std::string& name) {
  return (fs::temp_directory_path() /
          ("pbchain_storage_bench_" + name + "_" + std::to_string(getpid())))
      .string();
}

// Removes a directory when it goes out of scope.
struct ScopedDir {
  explicit ScopedDir(std::string p) : path(std::move(p)) {
    fs::remove_all(path);
  }
  ~ScopedDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string path;
};

void BM_ConnectBlocksSynced(benchmark::State& state) {
  const int txs = static_cast<int>(state.range(0));
  const int count = static_cast<int>(state.max_iterations);
  const ChainParams p = BenchParams();
  const std::vector<Block> chain = BuildChain(p, count, txs);
  ScopedDir dir(TempPath("connect" + std::to_string(txs)));
  auto store = RocksChainStore::Open(dir.path, {.sync = true});
  if (!store.ok()) {
    state.SkipWithError(store.status().ToString().c_str());
    return;
  }
  auto chain_state = ChainState::Create(p, store->get(), BenchClock());
  if (!chain_state.ok()) {
    state.SkipWithError(chain_state.status().ToString().c_str());
    return;
  }
  size_t i = 0;
  for (auto _ : state) {
    absl::StatusOr<AcceptResult> r = (*chain_state)->AcceptBlock(chain[i++]);
    if (!r.ok() || r->status != AcceptStatus::kActive) {
      state.SkipWithError("block was not connected");
      break;
    }
  }
  state.counters["blocks/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["tx/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * txs,
                         benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ConnectBlocksSynced)
    ->Arg(1)
    ->Iterations(1000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ConnectBlocksSynced)
    ->Arg(100)
    ->Iterations(200)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// The 100,000-block datadir, built on first use (sync off).
const std::string& OpenDatadir() {
  // Destroyed (and the directory removed) at exit.
  static const std::unique_ptr<ScopedDir> dir = [] {
    auto d = std::make_unique<ScopedDir>(TempPath("open100k"));
    const auto start = std::chrono::steady_clock::now();
    const ChainParams p = BenchParams();
    const std::vector<Block> chain = BuildChain(p, kOpenBlocks, 0);
    auto store = *RocksChainStore::Open(d->path, {.sync = false});
    auto state = *ChainState::Create(p, store.get(), BenchClock());
    for (const Block& b : chain) {
      absl::StatusOr<AcceptResult> r = state->AcceptBlock(b);
      if (!r.ok() || r->status != AcceptStatus::kActive) {
        std::fprintf(stderr, "setup: block not connected\n");
        std::abort();
      }
    }
    std::fprintf(
        stderr, "setup: built a %d-block datadir with sync OFF in %.1f s\n",
        kOpenBlocks,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count());
    return d;
  }();
  return dir->path;
}

void BM_OpenDatadir100k(benchmark::State& state) {
  const std::string& datadir = OpenDatadir();
  const ChainParams p = BenchParams();
  for (auto _ : state) {
    auto store = RocksChainStore::Open(datadir, {.create_if_missing = false});
    if (!store.ok()) {
      state.SkipWithError(store.status().ToString().c_str());
      break;
    }
    auto chain_state = ChainState::Create(p, store->get(), BenchClock());
    if (!chain_state.ok() || (*chain_state)->Tip().height != kOpenBlocks) {
      state.SkipWithError("the datadir did not open at its tip");
      break;
    }
    state.PauseTiming();
    chain_state->reset();
    store->reset();
    state.ResumeTiming();
  }
  state.counters["opens/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["blocks"] = kOpenBlocks;
}
BENCHMARK(BM_OpenDatadir100k)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(5);

}  // namespace
}  // namespace pbchain

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  std::printf(
      "BM_ConnectBlocksSynced/<n>: AcceptBlock of pre-built blocks with n "
      "transfers each into RocksDB, sync ON; blocks/s and tx/s.\n"
      "BM_OpenDatadir100k: RocksChainStore::Open + ChainState::Create of a "
      "%d-block datadir (built beforehand with sync OFF; coinbase-only "
      "blocks).\n",
      pbchain::kOpenBlocks);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
