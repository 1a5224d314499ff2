// Shared pieces of the libFuzzer harnesses (tests/fuzz/*_fuzz.cc): a property
// check that aborts with a message (libFuzzer then saves the input as a
// crash), and a small deterministic chain on the in-memory store for the
// harnesses that need chain context.
#ifndef PBCHAIN_TESTS_FUZZ_FUZZ_UTIL_H_
#define PBCHAIN_TESTS_FUZZ_FUZZ_UTIL_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <vector>

#include "chain/block.h"
#include "chain/chain_state.h"
#include "chain/memory_store.h"
#include "chain/params.h"
#include "google/protobuf/stubs/logging.h"
#include "tests/chain/test_chain.h"

// Aborts (a crash for libFuzzer) if `cond` is false: a broken property.
#define FUZZ_CHECK(cond)                                               \
  do {                                                                 \
    if (!(cond)) {                                                     \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, \
                   __LINE__, #cond);                                   \
      std::abort();                                                    \
    }                                                                  \
  } while (0)

namespace pbchain::fuzz {

// The chain clock of every harness (a fixed time, so runs are
// deterministic): well after the test genesis and its blocks.
inline constexpr int64_t kFuzzNow = testing::kTestGenesisTime + 100'000;

// The test network (easy proof of work, no retargeting, 4 funded keys).
inline const ChainParams& FuzzParams() {
  static const ChainParams* const params =
      new ChainParams(testing::TestParams(4, 1'000'000));
  return *params;
}

// Blocks 1..3 on the test genesis: block 1 is empty, block 2 carries two
// transfers (one with a keyed record), block 3 one more transfer. Built
// once (the process's first call); deterministic.
inline const std::vector<Block>& FuzzChainBlocks() {
  static const std::vector<Block>* const blocks = [] {
    const ChainParams& p = FuzzParams();
    auto* out = new std::vector<Block>;
    Block genesis = MakeGenesisBlock(p);
    const Address miner =
        AddressFromPublicKey(testing::TestKey(3).public_key());
    const Address to = AddressFromPublicKey(testing::TestKey(1).public_key());
    out->push_back(testing::MakeBlock(p, genesis.header, 0, {}, miner));
    DataRecord record{"fuzz.app", std::string("k1"), "payload"};
    out->push_back(testing::MakeBlock(
        p, out->back().header, 1,
        {testing::MakeTransfer(p, testing::TestKey(0), to, 1000, 10, 0),
         testing::MakeTransfer(p, testing::TestKey(2), to, 5, 1, 0, record)},
        miner));
    out->push_back(testing::MakeBlock(
        p, out->back().header, 2,
        {testing::MakeTransfer(p, testing::TestKey(0), to, 7, 2, 1)}, miner));
    return out;
  }();
  return *blocks;
}

// A fresh chain (genesis plus FuzzChainBlocks(), clock kFuzzNow) on its own
// in-memory store. Aborts if the fixed blocks do not connect.
struct FuzzChain {
  std::unique_ptr<MemoryChainStore> store;
  std::unique_ptr<ChainState> chain;
};
inline FuzzChain MakeFuzzChain() {
  FuzzChain c;
  c.store = std::make_unique<MemoryChainStore>();
  ChainStateOptions options;
  options.clock = [] { return kFuzzNow; };
  absl::StatusOr<std::unique_ptr<ChainState>> chain =
      ChainState::Create(FuzzParams(), c.store.get(), options);
  FUZZ_CHECK(chain.ok());
  c.chain = *std::move(chain);
  for (const Block& b : FuzzChainBlocks()) {
    absl::StatusOr<AcceptResult> r = c.chain->AcceptBlock(b);
    FUZZ_CHECK(r.ok() && r->status == AcceptStatus::kActive);
  }
  return c;
}

// Silences protobuf's own log lines (e.g. "String field ... contains invalid
// UTF-8" for every such input), which would otherwise flood the fuzzer's
// output. Call from a harness's first input; errors still come back as
// parse failures.
inline void QuietProtobufLogs() {
  static const bool done = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)done;
}

}  // namespace pbchain::fuzz

#endif  // PBCHAIN_TESTS_FUZZ_FUZZ_UTIL_H_
