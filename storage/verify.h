// Whole-datadir verification: replays the stored active chain from genesis
// through the kernel into a fresh in-memory store and checks that the stored
// block index, height index, accounts, records, transaction and address
// indexes and tip agree with the replay.
#ifndef PBCHAIN_STORAGE_VERIFY_H_
#define PBCHAIN_STORAGE_VERIFY_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "chain/params.h"
#include "chain/store.h"

namespace pbchain {

// The genesis parameters a store was created with (kept in its meta).
// DATA_LOSS if missing or unparsable.
absl::StatusOr<ChainParams> LoadStoredParams(ChainStore& store);

struct VerifyReport {
  uint32_t height = 0;           // stored tip height
  Hash256 tip;                   // stored tip
  uint64_t blocks_replayed = 0;  // active blocks above genesis
  uint64_t transactions = 0;     // in replayed blocks, coinbases included
  uint64_t index_entries = 0;  // all stored index entries (incl. side branches)
  uint64_t accounts = 0;
  uint64_t records = 0;
  uint64_t address_index_entries = 0;   // stored (address, transaction) pairs
  std::vector<std::string> mismatches;  // empty when everything agrees
  bool ok() const { return mismatches.empty(); }
};

// Opens DATADIR read-only (never creating or changing it, except that a
// schema-1 datadir is upgraded first; works on read-only media and on the
// datadir of a running node) and verifies it. `progress`, if set, is
// called now and then with (blocks done, blocks total). An unreadable or
// damaged datadir is an error status (see RocksChainStore::Open); a store
// that opens but disagrees with the replay is a report with mismatches.
absl::StatusOr<VerifyReport> VerifyDatadir(
    const std::string& datadir,
    const std::function<void(uint64_t, uint64_t)>& progress = nullptr);

// The same check on an open store (used by tests with any ChainStore).
absl::StatusOr<VerifyReport> VerifyStore(
    ChainStore& store,
    const std::function<void(uint64_t, uint64_t)>& progress = nullptr);

}  // namespace pbchain

#endif  // PBCHAIN_STORAGE_VERIFY_H_
