// Mining throughput: header hashes per second through the midstate nonce
// search, against a plain SHA256d(80 bytes) baseline.
//
//   build/bin/pbchain_mining_bench
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>

#include "benchmark/benchmark.h"
#include "chain/hash.h"
#include "chain/pow_search.h"

namespace pbchain {
namespace {

std::array<uint8_t, 80> BenchHeader() {
  std::array<uint8_t, 80> h;
  for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<uint8_t>(i * 13 + 5);
  return h;
}

// SearchNonces over a fixed range with a target no hash can meet, so every
// nonce is hashed. Counter "hashes/s" is header hashes (2 compressions each).
// Arg 0: nonces per call; arg 1: ShaBackend (0 auto, 1 portable, 2 SHA-NI).
void BM_SearchNonces(benchmark::State& state) {
  const auto backend = static_cast<ShaBackend>(state.range(1));
  if (!ShaBackendAvailable(backend)) {
    state.SkipWithError("backend not available on this CPU");
    return;
  }
  const std::array<uint8_t, 80> header = BenchHeader();
  const std::array<uint8_t, 32> impossible{};
  const std::atomic<bool> abort{false};
  const uint32_t range = static_cast<uint32_t>(state.range(0));
  uint64_t hashes = 0;
  uint32_t first = 0;
  for (auto _ : state) {
    SearchResult r = SearchNonces(header, impossible, first, first + range - 1,
                                  abort, backend);
    benchmark::DoNotOptimize(r);
    hashes += r.hashes;
    first += range;
  }
  state.counters["hashes/s"] = benchmark::Counter(static_cast<double>(hashes),
                                                  benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SearchNonces)
    ->ArgNames({"nonces", "backend"})
    ->Args({1 << 20, static_cast<int>(ShaBackend::kAuto)})
    ->Args({1 << 20, static_cast<int>(ShaBackend::kPortable)})
    ->Args({1 << 20, static_cast<int>(ShaBackend::kShaNi)});

// All cores through the parallel driver, stopped by abort after a fixed
// wall-clock slice (the range is the whole nonce space).
void BM_SearchNoncesParallel(benchmark::State& state) {
  const std::array<uint8_t, 80> header = BenchHeader();
  const std::array<uint8_t, 32> impossible{};
  uint64_t hashes = 0;
  for (auto _ : state) {
    std::atomic<bool> abort{false};
    std::thread stopper([&abort] {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      abort.store(true);
    });
    SearchResult r = SearchNoncesParallel(header, impossible, 0, abort);
    stopper.join();
    benchmark::DoNotOptimize(r);
    hashes += r.hashes;
  }
  state.counters["hashes/s"] = benchmark::Counter(static_cast<double>(hashes),
                                                  benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SearchNoncesParallel)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Baseline: the plain API, SHA256d of the 80-byte header per nonce (4
// compressions per hash instead of 2).
void BM_Sha256dHeader(benchmark::State& state) {
  std::array<uint8_t, 80> header = BenchHeader();
  uint32_t nonce = 0;
  for (auto _ : state) {
    WriteLe32(header.data() + kHeaderNonceOffset, nonce++);
    Hash256 h = Sha256d(header);
    benchmark::DoNotOptimize(h);
  }
  state.counters["hashes/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Sha256dHeader);

}  // namespace
}  // namespace pbchain
