// RocksChainStore on a disk in trouble: damaged or missing write-ahead logs
// at open, a full disk and a failing filesystem while writing, read-only
// opens of read-only media and of a datadir another store has open.
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chain/chain_state.h"
#include "chain/consensus.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/rocksdb_store.h"
#include "storage/verify.h"
#include "tests/chain/test_chain.h"
#include "tests/storage/mount_util.h"
#include "tests/storage/storage_test_util.h"

namespace pbchain {
namespace {

namespace fs = std::filesystem;
using testing::FileContents;
using ::testing::HasSubstr;
using testing::MakeBlock;
using testing::TempDir;
using testing::TestParams;

ChainStateOptions FixedClock() {
  ChainStateOptions o;
  o.clock = [] { return int64_t{testing::kTestGenesisTime} + 1'000'000; };
  return o;
}

// Blocks on genesis, as the chain `blocks` long.
std::vector<Block> Chain(const ChainParams& p, int blocks) {
  std::vector<Block> out;
  BlockHeader parent = MakeGenesisBlock(p).header;
  for (int h = 0; h < blocks; ++h) {
    out.push_back(MakeBlock(p, parent, h, {}));
    parent = out.back().header;
  }
  return out;
}

// In a child process: opens `datadir`, accepts `blocks` and exits without
// closing anything, as a killed node: every acknowledged block is only in
// the write-ahead log. True if the child got that far.
bool WriteAndCrash(const std::string& datadir, const ChainParams& p,
                   const std::vector<Block>& blocks) {
  const pid_t pid = fork();
  if (pid == 0) {
    absl::StatusOr<std::unique_ptr<RocksChainStore>> store =
        RocksChainStore::Open(datadir);
    if (!store.ok()) _exit(2);
    absl::StatusOr<std::unique_ptr<ChainState>> state =
        ChainState::Create(p, store->get(), FixedClock());
    if (!state.ok()) _exit(3);
    for (const Block& b : blocks) {
      absl::StatusOr<AcceptResult> r = (*state)->AcceptBlock(b);
      if (!r.ok() || r->status != AcceptStatus::kActive) _exit(4);
    }
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// The tip height of the datadir, opened and closed again.
absl::StatusOr<uint32_t> HeightOf(const std::string& datadir,
                                  const ChainParams& p,
                                  RocksStoreOptions options = {}) {
  absl::StatusOr<std::unique_ptr<RocksChainStore>> store =
      RocksChainStore::Open(datadir, options);
  if (!store.ok()) return store.status();
  absl::StatusOr<std::unique_ptr<ChainState>> state =
      ChainState::Create(p, store->get(), FixedClock());
  if (!state.ok()) return state.status();
  return (*state)->Tip().height;
}

// The write-ahead log files of a datadir, largest first.
std::vector<fs::path> WalFiles(const std::string& datadir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(fs::path(datadir) / "chain")) {
    if (e.path().extension() == ".log") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end(), [](const fs::path& a, const fs::path& b) {
    return fs::file_size(a) > fs::file_size(b);
  });
  return out;
}

TEST(WalRecoveryTest, CorruptionInTheMiddleOfTheWalIsDataLoss) {
  TempDir tmp;
  const std::string datadir = tmp.Sub("datadir");
  const ChainParams p = TestParams(2);
  ASSERT_TRUE(WriteAndCrash(datadir, p, Chain(p, 40)));
  std::vector<fs::path> wals = WalFiles(datadir);
  ASSERT_FALSE(wals.empty());
  const fs::path wal = wals.front();
  const uint64_t size = fs::file_size(wal);
  ASSERT_GT(size, 4096u);
  {
    // 32 flipped bytes in the middle (the case).
    std::fstream f(wal, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(size / 2));
    std::string bytes(32, '\0');
    f.read(bytes.data(), bytes.size());
    for (char& c : bytes) c = static_cast<char>(~c);
    f.seekp(static_cast<std::streamoff>(size / 2));
    f.write(bytes.data(), bytes.size());
  }
  const auto files = FileContents(datadir);
  absl::StatusOr<uint32_t> height = HeightOf(datadir, p);
  // Before: opened at a lower height, silently.
  ASSERT_FALSE(height.ok()) << "opened at height " << *height;
  EXPECT_EQ(height.status().code(), absl::StatusCode::kDataLoss)
      << height.status();
  std::cerr << "open: " << height.status() << "\n";
  EXPECT_THAT(height.status().message(), HasSubstr(datadir));
  EXPECT_THAT(height.status().message(), HasSubstr(wal.filename().string()));
  EXPECT_THAT(height.status().message(), HasSubstr("backup"));
  EXPECT_EQ(FileContents(datadir), files);  // nothing repaired
  // Verification and a read-only open refuse it too.
  EXPECT_EQ(VerifyDatadir(datadir).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(WalRecoveryTest, TornLastRecordOfACrashIsDropped) {
  TempDir tmp;
  const std::string datadir = tmp.Sub("datadir");
  const ChainParams p = TestParams(2);
  ASSERT_TRUE(WriteAndCrash(datadir, p, Chain(p, 20)));
  std::vector<fs::path> wals = WalFiles(datadir);
  ASSERT_FALSE(wals.empty());
  // A crash in the middle of the last (never acknowledged) write.
  fs::resize_file(wals.front(), fs::file_size(wals.front()) - 7);
  absl::StatusOr<uint32_t> height = HeightOf(datadir, p);
  ASSERT_TRUE(height.ok()) << height.status();
  // The last block's commit is gone (its body, written before, stays and
  // is connected again by ChainState), nothing else.
  EXPECT_GE(*height, 19u);
  absl::StatusOr<VerifyReport> report = VerifyDatadir(datadir);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok());
}

TEST(WalRecoveryTest, MissingWalAfterACrashIsDataLoss) {
  TempDir tmp;
  const std::string datadir = tmp.Sub("datadir");
  const ChainParams p = TestParams(2);
  ASSERT_TRUE(WriteAndCrash(datadir, p, Chain(p, 27)));
  for (const fs::path& wal : WalFiles(datadir)) fs::remove(wal);
  const auto files = FileContents(datadir);
  absl::StatusOr<uint32_t> height = HeightOf(datadir, p);
  // Before: opened at height 0, silently.
  ASSERT_FALSE(height.ok()) << "opened at height " << *height;
  EXPECT_EQ(height.status().code(), absl::StatusCode::kDataLoss)
      << height.status();
  EXPECT_THAT(height.status().message(), HasSubstr("write-ahead log"));
  EXPECT_THAT(height.status().message(), HasSubstr("backup"));
  EXPECT_EQ(FileContents(datadir), files);
  EXPECT_EQ(HeightOf(datadir, p, {.read_only = true}).status().code(),
            absl::StatusCode::kDataLoss);
}

// Writes 100 kB meta values until one fails; the keys written.
std::vector<std::string> FillWithMeta(RocksChainStore& store,
                                      absl::Status& failure) {
  std::vector<std::string> written;
  const std::string value(100 * 1024, 'v');
  for (int i = 0; i < 10'000; ++i) {
    const std::string key = "fill" + std::to_string(i);
    failure = store.PutMeta(key, value + key);
    if (!failure.ok()) break;
    written.push_back(key);
  }
  return written;
}

TEST(DiskFullTest, WritesStopAndResumeOnceSpaceIsFreedWithNothingLost) {
  testing::TmpfsMount disk(8 * 1024 * 1024);
  if (!disk.ok()) GTEST_SKIP() << disk.reason();
  const std::string datadir = disk.Sub("datadir");
  const ChainParams p = TestParams(2);
  std::vector<std::string> written;
  {
    absl::StatusOr<std::unique_ptr<RocksChainStore>> opened =
        RocksChainStore::Open(datadir);
    ASSERT_TRUE(opened.ok()) << opened.status();
    RocksChainStore& store = **opened;
    EXPECT_TRUE(store.WriteError().ok());
    // Leave ~1 MB for the datadir, then fill it.
    disk.Fill("filler");
    fs::resize_file(disk.Sub("filler"),
                    fs::file_size(disk.Sub("filler")) - 1024 * 1024);
    absl::Status failure;
    written = FillWithMeta(store, failure);
    // Before: the process aborted here (RocksDB's LOG writer asserted).
    ASSERT_FALSE(failure.ok());
    EXPECT_EQ(failure.code(), absl::StatusCode::kResourceExhausted) << failure;
    EXPECT_THAT(failure.message(), HasSubstr("disk is full"));
    EXPECT_GT(written.size(), 2u);
    EXPECT_EQ(store.WriteError().code(), absl::StatusCode::kResourceExhausted);
    // Later writes are refused without touching the disk, reads work.
    absl::Status again = store.PutMeta("again", "x");
    EXPECT_EQ(again.code(), absl::StatusCode::kResourceExhausted);
    EXPECT_THAT(again.message(), HasSubstr("failed earlier"));
    absl::StatusOr<std::optional<std::string>> first =
        store.GetMeta(written.front());
    ASSERT_TRUE(first.ok()) << first.status();
    EXPECT_TRUE(first->has_value());
    // Still full: resuming fails, and the state stays.
    EXPECT_FALSE(store.Resume().ok());
    EXPECT_FALSE(store.WriteError().ok());
    // Space freed: writes resume.
    fs::remove(disk.Sub("filler"));
    absl::Status resumed = store.Resume();
    ASSERT_TRUE(resumed.ok()) << resumed;
    EXPECT_TRUE(store.WriteError().ok());
    ASSERT_TRUE(store.PutMeta("after", "resumed").ok());
    written.push_back("after");
  }
  // Every acknowledged write survives a reopen.
  absl::StatusOr<std::unique_ptr<RocksChainStore>> store =
      RocksChainStore::Open(datadir);
  ASSERT_TRUE(store.ok()) << store.status();
  for (const std::string& key : written) {
    absl::StatusOr<std::optional<std::string>> v = (*store)->GetMeta(key);
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_TRUE(v->has_value()) << key;
  }
}

TEST(DiskFullTest, FullDiskWithoutResumeLosesNothingAcknowledged) {
  testing::TmpfsMount disk(8 * 1024 * 1024);
  if (!disk.ok()) GTEST_SKIP() << disk.reason();
  const std::string datadir = disk.Sub("datadir");
  std::vector<std::string> written;
  {
    absl::StatusOr<std::unique_ptr<RocksChainStore>> opened =
        RocksChainStore::Open(datadir);
    ASSERT_TRUE(opened.ok()) << opened.status();
    disk.Fill("filler");
    fs::resize_file(disk.Sub("filler"),
                    fs::file_size(disk.Sub("filler")) - 1024 * 1024);
    absl::Status failure;
    written = FillWithMeta(**opened, failure);
    ASSERT_EQ(failure.code(), absl::StatusCode::kResourceExhausted);
    // Closed while still full (a node stopped by its operator).
  }
  fs::remove(disk.Sub("filler"));
  absl::StatusOr<std::unique_ptr<RocksChainStore>> store =
      RocksChainStore::Open(datadir);
  ASSERT_TRUE(store.ok()) << store.status();
  for (const std::string& key : written) {
    absl::StatusOr<std::optional<std::string>> v = (*store)->GetMeta(key);
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_TRUE(v->has_value()) << key;
  }
}

TEST(FailingFilesystemTest, FirstFailedWriteStopsWritesWithoutAborting) {
  testing::FailingExt4Mount disk(64 * 1024 * 1024);
  if (!disk.ok()) GTEST_SKIP() << disk.reason();
  const std::string datadir = disk.Sub("datadir");
  const ChainParams p = TestParams(2);
  const std::vector<Block> blocks = Chain(p, 10);
  {
    absl::StatusOr<std::unique_ptr<RocksChainStore>> opened =
        RocksChainStore::Open(datadir);
    ASSERT_TRUE(opened.ok()) << opened.status();
    RocksChainStore& store = **opened;
    auto state = *ChainState::Create(p, &store, FixedClock());
    for (int i = 0; i < 5; ++i) {
      ASSERT_EQ(state->AcceptBlock(blocks[i])->status, AcceptStatus::kActive);
    }
    ASSERT_TRUE(disk.Fail());
    absl::StatusOr<AcceptResult> r = state->AcceptBlock(blocks[5]);
    // Before: the process aborted on RocksDB's sync_without_flush_called_
    // assertion here or at the close below.
    ASSERT_FALSE(r.ok());
    absl::Status error = store.WriteError();
    EXPECT_FALSE(error.ok());
    EXPECT_NE(error.code(), absl::StatusCode::kResourceExhausted) << error;
    EXPECT_EQ(state->Tip().height, 5u);
    // No more writes, no resume.
    EXPECT_EQ(store.PutMeta("k", "v").code(), error.code());
    EXPECT_EQ(store.Resume().code(), absl::StatusCode::kFailedPrecondition);
  }
  SUCCEED() << "closed without aborting";
}

// The review's finding: a full disk whose device then failed stayed "full"
// for good (the first error was kept, and Resume's own failure was only
// returned), so the node retried forever instead of shutting down.
TEST(FailingFilesystemTest, AFullDiskThatThenFailsIsNoLongerFull) {
  testing::FailingExt4Mount disk(64 * 1024 * 1024);
  if (!disk.ok()) GTEST_SKIP() << disk.reason();
  const std::string datadir = disk.Sub("datadir");
  absl::StatusOr<std::unique_ptr<RocksChainStore>> opened =
      RocksChainStore::Open(datadir);
  ASSERT_TRUE(opened.ok()) << opened.status();
  RocksChainStore& store = **opened;
  disk.Fill("filler");
  fs::resize_file(disk.Sub("filler"),
                  fs::file_size(disk.Sub("filler")) - 1024 * 1024);
  absl::Status failure;
  const std::vector<std::string> written = FillWithMeta(store, failure);
  ASSERT_EQ(failure.code(), absl::StatusCode::kResourceExhausted) << failure;
  ASSERT_TRUE(disk.Fail());
  std::error_code ec;
  fs::remove(disk.Sub("filler"), ec);  // fails too: the filesystem aborted
  absl::Status resumed = store.Resume();
  EXPECT_FALSE(resumed.ok());
  const absl::Status error = store.WriteError();
  EXPECT_FALSE(error.ok());
  EXPECT_NE(error.code(), absl::StatusCode::kResourceExhausted) << error;
  // Failed, not full: no more resume attempts.
  EXPECT_EQ(store.Resume().code(), absl::StatusCode::kFailedPrecondition);
}

// A read-only bind mount of `source` on a new directory; unmounted at the
// end.
class ReadOnlyBind {
 public:
  explicit ReadOnlyBind(const std::string& source) {
    path_ = source + ".ro";
    fs::create_directories(path_);
    ok_ = ::mount(source.c_str(), path_.c_str(), nullptr, MS_BIND, nullptr) ==
              0 &&
          (mounted_ = true) &&
          ::mount(nullptr, path_.c_str(), nullptr,
                  MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) == 0;
  }
  ~ReadOnlyBind() {
    if (mounted_ && ::umount(path_.c_str()) != 0) {
      ::umount2(path_.c_str(), MNT_DETACH);
    }
    std::error_code ec;
    fs::remove(path_, ec);
  }
  bool ok() const { return ok_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  bool ok_ = false;
  bool mounted_ = false;
};

TEST(ReadOnlyOpenTest, VerifiesADatadirOnReadOnlyMedia) {
  TempDir tmp;
  const std::string datadir = tmp.Sub("datadir");
  const ChainParams p = TestParams(2);
  // Crashed, so that the WAL holds the blocks: the read-only open replays
  // it in memory.
  ASSERT_TRUE(WriteAndCrash(datadir, p, Chain(p, 12)));
  ReadOnlyBind ro(datadir);
  if (!ro.ok()) GTEST_SKIP() << "a read-only bind mount is not permitted here";
  const auto files = FileContents(datadir);
  // Before: IO error (RocksDB's LOCK cannot be created).
  absl::StatusOr<VerifyReport> report = VerifyDatadir(ro.path());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok());
  EXPECT_EQ(report->height, 12u);
  absl::StatusOr<std::unique_ptr<RocksChainStore>> store =
      RocksChainStore::Open(ro.path(), {.read_only = true});
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->PutMeta("k", "v").code(),
            absl::StatusCode::kFailedPrecondition);
  store->reset();
  EXPECT_EQ(FileContents(datadir), files);
}

TEST(ReadOnlyOpenTest, VerifiesTheDatadirOfALiveStore) {
  TempDir tmp;
  const std::string datadir = tmp.Sub("datadir");
  const ChainParams p = TestParams(2);
  absl::StatusOr<std::unique_ptr<RocksChainStore>> live =
      RocksChainStore::Open(datadir);
  ASSERT_TRUE(live.ok()) << live.status();
  auto state = *ChainState::Create(p, live->get(), FixedClock());
  for (const Block& b : Chain(p, 8)) {
    ASSERT_EQ(state->AcceptBlock(b)->status, AcceptStatus::kActive);
  }
  // Before: FAILED_PRECONDITION, the datadir is in use.
  absl::StatusOr<VerifyReport> report = VerifyDatadir(datadir);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok());
  EXPECT_EQ(report->height, 8u);
  // A read-write open is still refused while it is live.
  EXPECT_EQ(RocksChainStore::Open(datadir).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(ReadOnlyOpenTest, MissingDatadirIsNotFoundAndNotCreated) {
  TempDir tmp;
  const std::string datadir = tmp.Sub("none");
  EXPECT_EQ(RocksChainStore::Open(datadir, {.read_only = true}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(datadir));
}

}  // namespace
}  // namespace pbchain
