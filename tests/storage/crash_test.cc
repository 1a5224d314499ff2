// Kill-and-reopen test of the RocksDB store: crash_child grows a chain (with
// reorgs) in a datadir and reports each block it committed; the test kills
// it with SIGKILL at a random moment, reopens the datadir and checks that it
// opens, verifies against a replay, and still holds everything reported.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "chain/chain_state.h"
#include "gtest/gtest.h"
#include "storage/rocksdb_store.h"
#include "storage/verify.h"
#include "tests/chain/test_chain.h"
#include "tests/storage/storage_test_util.h"

namespace pbchain {
namespace {

using Clock = std::chrono::steady_clock;

// A running crash_child with its stdout on a pipe. The destructor kills and
// reaps it if the test did not.
class Child {
 public:
  Child(const std::string& datadir, const std::string& genesis_file) {
    int fds[2];
    if (pipe(fds) != 0) return;
    const std::string bin = std::string(PBCHAIN_BIN_DIR) + "/crash_child";
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      close(fds[1]);
      execl(bin.c_str(), bin.c_str(), datadir.c_str(), genesis_file.c_str(),
            static_cast<char*>(nullptr));
      std::perror("exec crash_child");
      _exit(127);
    }
    close(fds[1]);
    fd_ = fds[0];
    if (pid_ < 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  ~Child() {
    Kill();
    if (fd_ >= 0) close(fd_);
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  bool started() const { return pid_ > 0 && fd_ >= 0; }

  // Collects complete lines from the child's stdout until `deadline`.
  // Reads lines until `deadline`, or until a line equal to `stop_at`.
  void ReadUntil(Clock::time_point deadline, std::vector<std::string>& lines,
                 const std::string& stop_at = "") {
    while (true) {
      if (!stop_at.empty() &&
          std::find(lines.begin(), lines.end(), stop_at) != lines.end()) {
        return;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - Clock::now())
                      .count();
      if (left <= 0) return;
      pollfd p{fd_, POLLIN, 0};
      int n = poll(&p, 1, static_cast<int>(left));
      if (n <= 0) continue;
      if (!ReadSome(lines)) return;  // EOF: the child died by itself
    }
  }

  // Sends SIGKILL and reaps the child; returns its wait status (-1 if none).
  int Kill() {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return status;
  }

  // After Kill: the lines still in the pipe (written before the kill).
  void Drain(std::vector<std::string>& lines) {
    while (ReadSome(lines)) {
    }
  }

 private:
  bool ReadSome(std::vector<std::string>& lines) {
    char buf[4096];
    ssize_t n = read(fd_, buf, sizeof buf);
    if (n <= 0) return false;
    pending_.append(buf, static_cast<size_t>(n));
    size_t pos;
    while ((pos = pending_.find('\n')) != std::string::npos) {
      lines.push_back(pending_.substr(0, pos));
      pending_.erase(0, pos + 1);
    }
    return true;
  }

  pid_t pid_ = -1;
  int fd_ = -1;
  std::string pending_;  // a partial line (a kill may cut a write short)
};

struct Reported {
  Hash256 hash;
  uint32_t height = 0;
};

TEST(CrashTest, KilledWriterLeavesAConsistentDurableStore) {
  testing::TempDir tmp;
  const std::string datadir = tmp.Sub("datadir");
  const std::string genesis_file = tmp.Sub("genesis.json");
  const ChainParams params = testing::TestParams(6, 1'000'000'000'000);
  {
    std::ofstream out(genesis_file);
    out << params.ToJson();
  }

  constexpr int kKills = 30;
  constexpr auto kTimeBudget = std::chrono::seconds(60);
  const Clock::time_point start = Clock::now();
  std::mt19937_64 rng(std::random_device{}());

  std::set<Hash256> all_committed;       // every block ever reported
  std::map<uint32_t, Hash256> reported;  // the reported active chain
  int kills = 0, runs_with_reports = 0, reorged_reports = 0;
  uint32_t max_height = 0;
  for (; kills < kKills && Clock::now() - start < kTimeBudget; ++kills) {
    std::vector<std::string> lines;
    {
      Child child(datadir, genesis_file);
      ASSERT_TRUE(child.started());
      // One run in four is killed at a random moment from its start (also
      // while opening or creating the store); the others at a random moment
      // after the store is open, so they land while blocks are written
      // whatever the machine's speed (sanitizers, load).
      if (rng() % 4 != 0) {
        child.ReadUntil(Clock::now() + std::chrono::seconds(30), lines,
                        /*stop_at=*/"OPENED");
      }
      const int ms = 20 + static_cast<int>(rng() % 381);
      child.ReadUntil(Clock::now() + std::chrono::milliseconds(ms), lines);
      int status = child.Kill();
      child.Drain(lines);
      // Only our SIGKILL may end it: an exit means the child found an error.
      ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
          << "crash_child exited by itself (status " << status << ") in run "
          << kills;
    }
    for (const std::string& line : lines) {
      if (line == "OPENED") continue;
      std::istringstream in(line);
      std::string word, hex;
      uint32_t height = 0;
      ASSERT_TRUE(in >> word >> hex >> height) << line;
      ASSERT_EQ(word, "COMMITTED") << line;
      absl::StatusOr<Hash256> h = Hash256::FromDisplayHex(hex);
      ASSERT_TRUE(h.ok()) << line;
      all_committed.insert(*h);
      // A block reported at `height` replaces the reported chain from there.
      reported.erase(reported.lower_bound(height), reported.end());
      reported[height] = *h;
    }
    if (std::any_of(lines.begin(), lines.end(), [](const std::string& l) {
          return l.rfind("COMMITTED", 0) == 0;
        })) {
      ++runs_with_reports;
    }

    // Reopen: it must open as is and hold everything reported.
    {
      absl::StatusOr<std::unique_ptr<RocksChainStore>> store =
          RocksChainStore::Open(datadir, {.create_if_missing = false});
      if (all_committed.empty() &&
          store.status().code() == absl::StatusCode::kNotFound) {
        // Killed before it had created its store (creation is atomic, so
        // there is simply none yet): nothing was acknowledged.
        continue;
      }
      ASSERT_TRUE(store.ok()) << "run " << kills << ": " << store.status();
      absl::StatusOr<std::unique_ptr<ChainState>> state =
          ChainState::Create(params, store->get());
      ASSERT_TRUE(state.ok()) << "run " << kills << ": " << state.status();
      EXPECT_EQ(*(*store)->GetHeadMarker(), std::nullopt)
          << "Create finishes an interrupted reorg and clears the marker";

      for (const Hash256& h : all_committed) {
        absl::StatusOr<std::optional<Block>> b = (*store)->GetBlock(h);
        ASSERT_TRUE(b.ok()) << b.status();
        EXPECT_TRUE(b->has_value())
            << "run " << kills << ": reported block " << h.ToDisplayHex()
            << " is not in the store";
      }
      if (!reported.empty()) {
        // The last reported tip is still active, or a block committed after
        // it (not yet reported when the kill came) gave another chain more
        // work. Either way the reported chain below the fork stays active.
        const auto& [tip_height, tip_hash] = *reported.rbegin();
        const TipInfo now = (*state)->Tip();
        std::optional<BlockIndexEntry> last = (*state)->GetIndexEntry(tip_hash);
        ASSERT_TRUE(last.has_value()) << tip_hash.ToDisplayHex();
        EXPECT_EQ(last->height, tip_height);
        if ((*state)->IsActive(tip_hash)) {
          for (const auto& [h, hash] : reported) {
            EXPECT_EQ((*state)->ActiveHashAt(h), hash)
                << "run " << kills << ": reported block at height " << h
                << " is no longer active but its descendant is";
          }
        } else {
          ++reorged_reports;
          EXPECT_GT(now.chain_work, last->chain_work)
              << "run " << kills << ": the reported tip "
              << tip_hash.ToDisplayHex()
              << " was replaced by a chain without more work";
        }
        EXPECT_GE(now.height, tip_height);
      }
      max_height = std::max(max_height, (*state)->Tip().height);
      // Continue from the recovered chain.
      reported.clear();
      const uint32_t top = (*state)->Tip().height;
      for (uint32_t h = 0; h <= top; ++h) {
        reported[h] = *(*state)->ActiveHashAt(h);
      }
    }

    // The whole datadir agrees with a replay of its active chain.
    absl::StatusOr<VerifyReport> report = VerifyDatadir(datadir);
    ASSERT_TRUE(report.ok()) << "run " << kills << ": " << report.status();
    EXPECT_TRUE(report->ok())
        << "run " << kills << ": " << report->mismatches.size()
        << " mismatches, first: " << report->mismatches.front();
    EXPECT_EQ(report->height, max_height);
  }
  const double seconds =
      std::chrono::duration<double>(Clock::now() - start).count();
  std::printf(
      "crash test: %d kills in %.1f s, %zu blocks reported committed, final "
      "height %u, %d runs with reports, %d reported tips reorged out after "
      "the report\n",
      kills, seconds, all_committed.size(), max_height, runs_with_reports,
      reorged_reports);
  if (kills < kKills) {
    std::printf("crash test: stopped early at the %lld s time budget\n",
                static_cast<long long>(kTimeBudget.count()));
  }
  EXPECT_GT(kills, 0);
  EXPECT_GT(all_committed.size(), 0u) << "the child never committed a block";
  // Most runs are killed after the store is open: they must have written.
  EXPECT_GE(runs_with_reports, kills / 2);
}

}  // namespace
}  // namespace pbchain
