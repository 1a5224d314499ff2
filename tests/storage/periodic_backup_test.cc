#include "storage/periodic_backup.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "chain/chain_state.h"
#include "gtest/gtest.h"
#include "tests/chain/test_chain.h"

namespace pbchain {
namespace {

namespace fs = std::filesystem;

TEST(PeriodicBackupTest, TakesBackupsKeepsNewestAndRestores) {
  const fs::path root = fs::temp_directory_path() /
                        ("pbchain_periodic_backup_" + std::to_string(getpid()));
  fs::remove_all(root);
  const std::string datadir = (root / "data").string();
  const std::string backups = (root / "backups").string();
  ChainParams p = testing::TestParams(2);
  Hash256 tip;
  {
    auto store = *RocksChainStore::Open(datadir);
    auto state = *ChainState::Create(p, store.get());
    Block b = testing::MakeBlock(p, MakeGenesisBlock(p).header, 0, {});
    ASSERT_EQ(state->AcceptBlock(b)->status, AcceptStatus::kActive);
    tip = b.Hash();

    EXPECT_FALSE(
        PeriodicBackup::Start(store.get(), {backups, absl::ZeroDuration(), 2})
            .ok());
    EXPECT_FALSE(
        PeriodicBackup::Start(store.get(), {backups, absl::Seconds(1), 0})
            .ok());
    auto periodic = PeriodicBackup::Start(store.get(),
                                          {backups, absl::Milliseconds(50), 2});
    ASSERT_TRUE(periodic.ok());
    // Bounded wait for three backups (not a timing assertion).
    for (int i = 0; i < 400 && (*periodic)->backups_taken() < 3; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    EXPECT_GE((*periodic)->backups_taken(), 3u);
    EXPECT_TRUE((*periodic)->last_status().ok()) << (*periodic)->last_status();
  }  // stops the thread, closes the store
  absl::StatusOr<std::vector<BackupInfo>> list = ListBackups(backups);
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->size(), 2u);  // retention
  const std::string restored = (root / "restored").string();
  ASSERT_TRUE(RestoreBackup(backups, restored).ok());
  auto store = *RocksChainStore::Open(restored);
  auto state = ChainState::Create(p, store.get());
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ((*state)->Tip().hash, tip);
  store.reset();
  fs::remove_all(root);
}

}  // namespace
}  // namespace pbchain
