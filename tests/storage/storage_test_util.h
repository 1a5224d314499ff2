// Helpers for storage tests: a self-removing temporary directory and
// snapshots of a store's whole content for comparisons.
#ifndef PBCHAIN_TESTS_STORAGE_STORAGE_TEST_UTIL_H_
#define PBCHAIN_TESTS_STORAGE_STORAGE_TEST_UTIL_H_

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "chain/store.h"
#include "gtest/gtest.h"

namespace pbchain::testing {

// A unique directory under the system temp dir, named after the running test
// and the pid, removed (recursively) when the object goes out of scope, also
// when the test fails.
class TempDir {
 public:
  TempDir() {
    const ::testing::TestInfo* info =
        ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name =
        info ? std::string(info->test_suite_name()) + "." + info->name()
             : "test";
    path_ = std::filesystem::temp_directory_path() /
            ("pbchain_" + name + "_" + std::to_string(getpid()));
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
    std::filesystem::create_directories(path_, ec);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // A path inside the directory (not created).
  std::string Sub(const std::string& name) const {
    return (path_ / name).string();
  }

 private:
  std::filesystem::path path_;
};

// Everything a ChainStore holds about the active chain and the block index.
struct StoreSnapshot {
  std::optional<Hash256> tip;
  std::optional<Hash256> head_marker;
  std::map<Address, AccountState> accounts;
  std::vector<std::pair<std::string, RecordLocation>> records;
  std::map<Hash256, BlockIndexEntry> index;
  std::vector<Hash256> main_chain;  // GetMainChainHash(0..) until missing
  std::vector<AddressIndexEntry> address_index;  // in key order
  friend bool operator==(const StoreSnapshot&, const StoreSnapshot&) = default;
};

inline StoreSnapshot Snapshot(ChainStore& store) {
  StoreSnapshot s;
  s.tip = *store.GetTip();
  s.head_marker = *store.GetHeadMarker();
  EXPECT_TRUE(store
                  .ForEachAccount([&](const Address& a, const AccountState& v) {
                    s.accounts[a] = v;
                    return absl::OkStatus();
                  })
                  .ok());
  s.records = *store.ScanRecords("", "", 100'000'000);
  EXPECT_TRUE(store
                  .ForEachIndexEntry([&](const BlockIndexEntry& e) {
                    s.index[e.hash] = e;
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_TRUE(store
                  .ForEachAddressIndexEntry([&](const AddressIndexEntry& e) {
                    s.address_index.push_back(e);
                    return absl::OkStatus();
                  })
                  .ok());
  for (uint32_t h = 0;; ++h) {
    absl::StatusOr<std::optional<Hash256>> hash = store.GetMainChainHash(h);
    EXPECT_TRUE(hash.ok()) << hash.status();
    if (!hash.ok() || !hash->has_value()) break;
    s.main_chain.push_back(**hash);
  }
  return s;
}

// Every regular file under `dir` (relative path) with its content, except
// RocksDB's informational LOG files, which any open attempt may rotate.
inline std::map<std::string, std::string> FileContents(
    const std::filesystem::path& dir) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator();
       it.increment(ec)) {
    if (!it->is_regular_file()) continue;
    std::string name = it->path().filename().string();
    if (name.rfind("LOG", 0) == 0) continue;
    std::ifstream in(it->path(), std::ios::binary);
    out[std::filesystem::relative(it->path(), dir).string()] =
        std::string(std::istreambuf_iterator<char>(in), {});
  }
  return out;
}

}  // namespace pbchain::testing

#endif  // PBCHAIN_TESTS_STORAGE_STORAGE_TEST_UTIL_H_
