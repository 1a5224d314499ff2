// Full block validation throughput: context-free checks (including every
// Ed25519 signature), contextual checks and connecting the block to the
// chain state over the in-memory store. Reports transactions per second.
//
//   build/bin/pbchain_validation_bench
#include <atomic>
#include <vector>

#include "benchmark/benchmark.h"
#include "chain/chain_state.h"
#include "chain/memory_store.h"
#include "chain/miner.h"

namespace pbchain {
namespace {

PrivateKey Key(int i) {
  std::array<uint8_t, 32> seed{};
  seed[0] = static_cast<uint8_t>(i);
  seed[1] = static_cast<uint8_t>(i >> 8);
  seed[31] = 0x77;
  return *PrivateKey::FromSeed(seed);
}

struct Fixture {
  ChainParams params;
  Block block;
};

// A network with `n` funded senders and a block on genesis where each pays
// the next one.
Fixture MakeFixture(int n) {
  Fixture f;
  ChainParams& p = f.params;
  p.chain_id = "bench";
  p.genesis_time = 1'700'000'000;
  p.genesis_bits = 0x207fffff;
  p.pow_limit_bits = 0x207fffff;
  p.difficulty_window = 0;
  std::vector<PrivateKey> keys;
  for (int i = 0; i < n; ++i) {
    keys.push_back(Key(i));
    p.allocations.push_back(
        {AddressFromPublicKey(keys.back().public_key()), 1'000'000});
  }
  (void)MineGenesis(p);
  MemoryChainStore store;
  auto state = *ChainState::Create(p, &store);
  std::vector<Transaction> txs;
  for (int i = 0; i < n; ++i) {
    Transaction tx;
    tx.chain_id = p.chain_id;
    tx.recipient = AddressFromPublicKey(keys[(i + 1) % n].public_key());
    tx.amount = 10;
    tx.fee = 1;
    tx.Sign(keys[i]);
    txs.push_back(std::move(tx));
  }
  f.block = *state->CreateBlockTemplate(Address{}, txs, p.genesis_time + 1);
  std::atomic<bool> abort{false};
  MineBlock(f.block, 1, abort);
  return f;
}

void BM_ValidateAndConnectBlock(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  Fixture f = MakeFixture(n);
  ChainStateOptions opts;
  opts.clock = [] { return int64_t{1'700'000'100}; };
  for (auto _ : state) {
    state.PauseTiming();
    MemoryChainStore store;
    auto chain = *ChainState::Create(f.params, &store, opts);
    state.ResumeTiming();
    absl::StatusOr<AcceptResult> r = chain->AcceptBlock(f.block);
    if (!r.ok() || r->status != AcceptStatus::kActive) {
      state.SkipWithError("block was not accepted");
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  state.counters["tx/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * n, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ValidateAndConnectBlock)
    ->Arg(100)
    ->Arg(1000)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_CheckBlockWithoutSignatures(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  Fixture f = MakeFixture(n);
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        CheckBlock(f.block, f.params, /*verify_signatures=*/false));
  }
  state.counters["tx/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()) * n, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_CheckBlockWithoutSignatures)
    ->Arg(1000)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace pbchain

BENCHMARK_MAIN();
