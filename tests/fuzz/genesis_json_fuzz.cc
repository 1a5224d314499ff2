// Fuzzes the genesis file parser (ChainParams::FromJson, ParseGenesis): the
// file a node is started with and the "genesis" object of a chain export.
// Properties: no crash, errors are INVALID_ARGUMENT, and the documented round
// trip FromJson(ToJson()) == params holds for whatever parses.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "chain/params.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pbchain;
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<ChainParams> params = ChainParams::FromJson(json);
  if (!params.ok()) {
    FUZZ_CHECK(params.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  absl::StatusOr<ChainParams> again = ChainParams::FromJson(params->ToJson());
  FUZZ_CHECK(again.ok() && *again == *params);
  // The genesis block of any parsed params can be built; ParseGenesis adds
  // the proof-of-work check.
  const Block genesis = MakeGenesisBlock(*params);
  FUZZ_CHECK(!genesis.txs.empty());
  absl::StatusOr<ChainParams> checked = ParseGenesis(json);
  if (!checked.ok()) {
    FUZZ_CHECK(checked.status().code() == absl::StatusCode::kInvalidArgument);
  } else {
    FUZZ_CHECK(*checked == *params);
  }
  return 0;
}
