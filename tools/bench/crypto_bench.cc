// Ed25519 sign / verify throughput and SHA-256 over transaction-sized inputs.
//
//   build/bin/pbchain_crypto_bench
#include <cstdint>
#include <vector>

#include "benchmark/benchmark.h"
#include "chain/address.h"
#include "chain/hash.h"
#include "chain/keys.h"

namespace pbchain {
namespace {

// A transfer's signing bytes are ~150 bytes without a record payload.
constexpr size_t kMsgSize = 150;

PrivateKey BenchKey() {
  std::array<uint8_t, 32> seed;
  for (size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<uint8_t>(i);
  return *PrivateKey::FromSeed(seed);
}

void BM_Ed25519Sign(benchmark::State& state) {
  const PrivateKey key = BenchKey();
  std::vector<uint8_t> msg(kMsgSize, 0x42);
  for (auto _ : state) {
    Signature sig = key.Sign(msg);
    benchmark::DoNotOptimize(sig);
    ++msg[0];
  }
  state.counters["signs/s"] = benchmark::Counter(
      static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Ed25519Sign);

void BM_Ed25519Verify(benchmark::State& state) {
  const PrivateKey key = BenchKey();
  const std::vector<uint8_t> msg(kMsgSize, 0x42);
  const Signature sig = key.Sign(msg);
  for (auto _ : state) {
    bool ok = VerifySignature(key.public_key(), msg, sig);
    benchmark::DoNotOptimize(ok);
  }
  // items_per_second = verifies per second, summed over threads.
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_Ed25519Verify);
// Several threads verifying at once: shows whether OpenSSL's provider
// machinery serialises them (e.g. for parallel block validation).
BENCHMARK(BM_Ed25519Verify)->ThreadRange(1, 2)->UseRealTime();

void BM_Ed25519FromSeed(benchmark::State& state) {
  std::array<uint8_t, 32> seed{};
  for (auto _ : state) {
    ++seed[0];
    absl::StatusOr<PrivateKey> key = PrivateKey::FromSeed(seed);
    benchmark::DoNotOptimize(key);
  }
}
BENCHMARK(BM_Ed25519FromSeed);

void BM_Sha256d(benchmark::State& state) {
  const std::vector<uint8_t> data(static_cast<size_t>(state.range(0)), 7);
  for (auto _ : state) {
    Hash256 h = Sha256d(data);
    benchmark::DoNotOptimize(h);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          state.range(0));
}
BENCHMARK(BM_Sha256d)->Arg(64)->Arg(250)->Arg(4096);

void BM_AddressFromText(benchmark::State& state) {
  const std::string text =
      AddressFromPublicKey(BenchKey().public_key()).ToText();
  for (auto _ : state) {
    absl::StatusOr<Address> a = Address::FromText(text);
    benchmark::DoNotOptimize(a);
  }
}
BENCHMARK(BM_AddressFromText);

}  // namespace
}  // namespace pbchain
