// The real pbnode binary on a disk in trouble: a full tmpfs (stops mining
// and accepting, health NOT_SERVING, one log line, resumes by itself once
// space is freed), a failing ext4 filesystem (clean shutdown with a clear
// message, no abort), and a datadir with a damaged table file (damaged
// blocks answered NOT_FOUND, counted in health, logged once). Needs root
// for the mounts; skipped with a message otherwise.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "chain/params.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "pbchain/v1/node.grpc.pb.h"
#include "proto/convert.h"
#include "rocksdb/db.h"
#include "storage/rocksdb_store.h"
#include "tests/chain/test_chain.h"
#include "tests/storage/mount_util.h"
#include "tests/util/health_check.h"
#include "tests/util/pbnode_process.h"
#include "tests/util/process.h"

namespace pbchain {
namespace {

namespace fs = std::filesystem;
using testing::HealthResponse;
using testing::ChildProcess;
using testing::TestKey;

using RunningNode = testing::RunningPbnode;

ChainParams QuickParams() { return testing::QuickProcessParams("pbchain-disk"); }

// pbnode on `datadir`, stderr to `log`.
RunningNode StartNode(const std::string& datadir, const std::string& genesis,
                      const std::string& log,
                      const std::vector<std::string>& extra) {
  return testing::StartPbnode(datadir, genesis, log, extra);
}

std::unique_ptr<grpc::ClientContext> Ctx() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::seconds(10));
  return ctx;
}

std::optional<uint64_t> Height(v1::NodeService::Stub& stub) {
  v1::GetInfoResponse info;
  grpc::Status s = stub.GetInfo(Ctx().get(), v1::GetInfoRequest(), &info);
  if (!s.ok()) return std::nullopt;
  return info.height();
}


// Polls `done` every 100 ms for up to `limit` (bounded waits, not timing
// assertions).
template <typename F>
bool WaitFor(F done, std::chrono::seconds limit = std::chrono::seconds(90)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Lines of `text` that contain `needle`.
int Count(const std::string& text, const std::string& needle) {
  int n = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (text.substr(start, end - start).find(needle) != std::string::npos) {
      ++n;
    }
    start = end + 1;
  }
  return n;
}

grpc::Status Submit(v1::NodeService::Stub& stub, const ChainParams& params,
                    uint64_t nonce) {
  const Address payee = AddressFromPublicKey(TestKey(7).public_key());
  Transaction tx =
      testing::MakeTransfer(params, TestKey(0), payee, 100, 1, nonce);
  v1::SubmitTransactionRequest req;
  *req.mutable_transaction() = TransactionToProto(tx);
  v1::SubmitTransactionResponse resp;
  return stub.SubmitTransaction(Ctx().get(), req, &resp);
}

TEST(PbnodeDiskTest, FullDiskStopsMiningReportsNotServingAndResumes) {
  testing::TmpfsMount disk(16 * 1024 * 1024);
  if (!disk.ok()) GTEST_SKIP() << disk.reason();
  testing::TempDir dir("pbnode_disk");
  const ChainParams params = QuickParams();
  const std::string genesis = dir.Sub("genesis.json");
  std::ofstream(genesis) << params.ToJson();
  const std::string log = dir.Sub("pbnode.log");
  const Address miner = AddressFromPublicKey(TestKey(9).public_key());
  RunningNode node = StartNode(disk.Sub("data"), genesis, log,
                               {"--mine", "--miner-address=" + miner.ToText()});
  ASSERT_TRUE(node.stub);
  ASSERT_TRUE(WaitFor([&] { return Height(*node.stub).value_or(0) >= 3; }))
      << "height did not rise";
  EXPECT_EQ(testing::CheckHealth(node.address), HealthResponse::SERVING);

  disk.Fill("filler");
  // The next mined block cannot be stored: health goes NOT_SERVING.
  ASSERT_TRUE(WaitFor([&] {
    return testing::CheckHealth(node.address) == HealthResponse::NOT_SERVING;
  })) << ReadFile(log);
  EXPECT_EQ(testing::CheckHealth(node.address, "pbchain.datadir"),
            HealthResponse::NOT_SERVING);
  const std::optional<uint64_t> stalled = Height(*node.stub);
  ASSERT_TRUE(stalled.has_value());
  // Not accepting: a valid transaction is refused with UNAVAILABLE.
  grpc::Status refused = Submit(*node.stub, params, 0);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE)
      << refused.error_message();
  EXPECT_NE(refused.error_message().find("disk full"), std::string::npos)
      << refused.error_message();
  // Several retry intervals pass; the node stays put and says so once.
  std::this_thread::sleep_for(std::chrono::seconds(12));
  EXPECT_EQ(Height(*node.stub), stalled);
  EXPECT_EQ(testing::CheckHealth(node.address), HealthResponse::NOT_SERVING);
  std::string text = ReadFile(log);
  EXPECT_EQ(Count(text, "the disk is full: stopped mining"), 1) << text;
  // Before: hundreds of these.
  EXPECT_EQ(Count(text, "No space left"), 1) << text;

  // Space freed: the node resumes by itself.
  fs::remove(disk.Sub("filler"));
  ASSERT_TRUE(WaitFor([&] {
    return testing::CheckHealth(node.address) == HealthResponse::SERVING;
  })) << ReadFile(log);
  EXPECT_EQ(testing::CheckHealth(node.address, "pbchain.datadir"), HealthResponse::SERVING);
  ASSERT_TRUE(WaitFor([&] {
    return Height(*node.stub).value_or(0) > *stalled + 2;
  })) << "mining did not resume";
  grpc::Status accepted = Submit(*node.stub, params, 0);
  EXPECT_TRUE(accepted.ok()) << accepted.error_message();
  text = ReadFile(log);
  EXPECT_EQ(Count(text, "the disk is full: stopped mining"), 1) << text;
  EXPECT_EQ(Count(text, "writes succeed again"), 1) << text;
  const uint64_t acknowledged = Height(*node.stub).value_or(0);

  node.process->Kill(SIGTERM);
  EXPECT_EQ(node.process->Wait(std::chrono::seconds(30)), 0);
  // Nothing acknowledged was lost.
  absl::StatusOr<std::unique_ptr<RocksChainStore>> store =
      RocksChainStore::Open(disk.Sub("data"), {.read_only = true});
  ASSERT_TRUE(store.ok()) << store.status();
  absl::StatusOr<std::optional<Hash256>> at =
      (*store)->GetMainChainHash(static_cast<uint32_t>(acknowledged));
  ASSERT_TRUE(at.ok()) << at.status();
  EXPECT_TRUE(at->has_value()) << "block " << acknowledged << " was lost";
}

TEST(PbnodeDiskTest, FailingFilesystemShutsDownCleanly) {
  // Room for RocksDB's preallocated log and the files written at start
  // (the admin cookie, mempool.dat): on 64 MiB the start itself found the
  // disk full.
  testing::FailingExt4Mount disk(256 * 1024 * 1024);
  if (!disk.ok()) GTEST_SKIP() << disk.reason();
  testing::TempDir dir("pbnode_disk");
  const ChainParams params = QuickParams();
  const std::string genesis = dir.Sub("genesis.json");
  std::ofstream(genesis) << params.ToJson();
  const std::string log = dir.Sub("pbnode.log");
  const Address miner = AddressFromPublicKey(TestKey(9).public_key());
  RunningNode node = StartNode(disk.Sub("data"), genesis, log,
                               {"--mine", "--miner-address=" + miner.ToText()});
  ASSERT_TRUE(node.stub);
  ASSERT_TRUE(WaitFor([&] { return Height(*node.stub).value_or(0) >= 3; }))
      << "height did not rise";
  ASSERT_TRUE(disk.Fail());
  // The next mined block fails to be written: the node shuts itself down,
  // cleanly, with exit code 1. Before: SIGABRT (RocksDB's assertion).
  const int code = node.process->Wait(std::chrono::seconds(120));
  const std::string text = ReadFile(log);
  EXPECT_EQ(code, 1) << text;
  EXPECT_NE(text.find("writing failed"), std::string::npos) << text;
  EXPECT_NE(text.find("stopped cleanly"), std::string::npos) << text;
  EXPECT_NE(text.find("pbnode: stopped: writing the datadir failed"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("Assertion"), std::string::npos) << text;
}

// The blocks column family of `datadir` flushed into one table file, and
// 32 bytes in its first data block flipped: the blocks stored there cannot
// be read (Corruption), the others can.
void DamageBlockTable(const std::string& datadir) {
  const std::string db_path = datadir + "/chain";
  rocksdb::Options options;
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(options, db_path, &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const std::string& name : names) cfs.emplace_back(name, options);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(options, db_path, cfs, &handles, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::ColumnFamilyHandle* blocks = nullptr;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == "blocks") blocks = handles[i];
  }
  ASSERT_NE(blocks, nullptr);
  ASSERT_TRUE(
      db->CompactRange(rocksdb::CompactRangeOptions(), blocks, nullptr, nullptr)
          .ok());
  ASSERT_TRUE(db->Flush(rocksdb::FlushOptions(), handles).ok());
  std::vector<rocksdb::LiveFileMetaData> files;
  db->GetLiveFilesMetaData(&files);
  std::string table;
  for (const rocksdb::LiveFileMetaData& f : files) {
    if (f.column_family_name == "blocks") table = f.db_path + f.name;
  }
  for (rocksdb::ColumnFamilyHandle* h : handles)
    db->DestroyColumnFamilyHandle(h);
  ASSERT_TRUE(db->Close().ok());
  db.reset();
  ASSERT_FALSE(table.empty());
  std::fstream f(table, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(64);
  const std::string junk(32, '\x5A');
  f.write(junk.data(), junk.size());
}

TEST(PbnodeDiskTest, DamagedBlocksAreAnsweredNotFoundCountedAndLoggedOnce) {
  testing::TempDir dir("pbnode_disk");
  const ChainParams params = QuickParams();
  const std::string genesis = dir.Sub("genesis.json");
  std::ofstream(genesis) << params.ToJson();
  const std::string datadir = dir.Sub("data");
  const std::string log = dir.Sub("pbnode.log");
  const Address miner = AddressFromPublicKey(TestKey(9).public_key());
  uint64_t height = 0;
  {
    RunningNode node = StartNode(
        datadir, genesis, log, {"--mine", "--miner-address=" + miner.ToText()});
    ASSERT_TRUE(node.stub);
    ASSERT_TRUE(WaitFor([&] { return Height(*node.stub).value_or(0) >= 60; }));
    node.process->Kill(SIGTERM);
    ASSERT_EQ(node.process->Wait(std::chrono::seconds(30)), 0);
  }
  DamageBlockTable(datadir);
  {
    absl::StatusOr<std::unique_ptr<RocksChainStore>> store =
        RocksChainStore::Open(datadir, {.read_only = true});
    ASSERT_TRUE(store.ok()) << store.status();
    absl::StatusOr<std::optional<Hash256>> tip = (*store)->GetTip();
    ASSERT_TRUE(tip.ok() && tip->has_value());
  }
  RunningNode node = StartNode(datadir, genesis, log, {});
  ASSERT_TRUE(node.stub);
  height = Height(*node.stub).value_or(0);
  ASSERT_GE(height, 60u);
  EXPECT_EQ(testing::CheckHealth(node.address, "pbchain.datadir"), HealthResponse::SERVING);
  std::vector<uint64_t> damaged, intact;
  for (uint64_t h = 0; h <= height; ++h) {
    v1::GetBlockRequest req;
    req.set_height(h);
    v1::GetBlockResponse resp;
    grpc::Status s = node.stub->GetBlock(Ctx().get(), req, &resp);
    if (s.ok()) {
      intact.push_back(h);
    } else {
      // Before: DATA_LOSS.
      EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND)
          << s.error_message();
      EXPECT_NE(s.error_message().find("damaged"), std::string::npos)
          << s.error_message();
      damaged.push_back(h);
    }
  }
  ASSERT_FALSE(damaged.empty()) << "the flipped bytes hit no block";
  ASSERT_FALSE(intact.empty());
  // Asked again: still not found, still logged once per block.
  v1::GetBlockRequest again;
  again.set_height(damaged.front());
  v1::GetBlockResponse resp;
  EXPECT_EQ(node.stub->GetBlock(Ctx().get(), again, &resp).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // Health: the server serves, the datadir entry says it is damaged.
  EXPECT_EQ(testing::CheckHealth(node.address), HealthResponse::SERVING);
  EXPECT_EQ(testing::CheckHealth(node.address, "pbchain.datadir"),
            HealthResponse::NOT_SERVING);
  node.process->Kill(SIGTERM);
  EXPECT_EQ(node.process->Wait(std::chrono::seconds(30)), 0);
  const std::string text = ReadFile(log);
  EXPECT_EQ(Count(text, "cannot be read:"), static_cast<int>(damaged.size()))
      << text;
}

}  // namespace
}  // namespace pbchain
