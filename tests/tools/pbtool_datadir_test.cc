// Runs the real pbtool binary on datadirs built in-process: inspect,
// verify-db (clean and tampered), export/import (clean and edited), backup
// and restore, and the exit codes of bad usage.
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "chain/chain_state.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "rocksdb/db.h"
#include "storage/rocksdb_store.h"
#include "tests/chain/test_chain.h"

namespace pbchain {
namespace {

namespace fs = std::filesystem;
using ::pbchain::testing::MakeBlock;
using ::pbchain::testing::MakeTransfer;
using ::pbchain::testing::TestKey;
using ::pbchain::testing::TestParams;

struct ToolRun {
  int code;
  std::string out;  // stdout, then stderr
};

// Runs pbtool with `args` (shell words) and returns its exit code and output.
ToolRun Pbtool(const std::string& args) {
  std::string cmd = std::string(PBCHAIN_BIN_DIR) + "/pbtool " + args + " 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), pipe))
    out.append(buf.data(), n);
  int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The JSON object of `pbtool inspect --json`, or null on failure.
nlohmann::json InspectJson(const fs::path& datadir) {
  ToolRun r = Pbtool("inspect --json --datadir " + datadir.string());
  if (r.code != 0) return nullptr;
  return nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
}

class PbtoolDatadirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("pbtool_datadir_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    datadir_ = dir_ / "data";
    BuildChain();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // 12 blocks on top of genesis: transfers between the funded keys, keyed
  // and unkeyed records, coinbases to a fresh miner address.
  void BuildChain() {
    ChainParams params = TestParams(4);
    auto store = RocksChainStore::Open(datadir_.string());
    ASSERT_TRUE(store.ok()) << store.status();
    auto chain = ChainState::Create(params, store->get());
    ASSERT_TRUE(chain.ok()) << chain.status();
    Address miner = AddressFromPublicKey(TestKey(9).public_key());
    std::array<uint64_t, 4> nonces{};
    for (int h = 1; h <= 12; ++h) {
      TipInfo tip = (*chain)->Tip();
      std::vector<Transaction> txs;
      for (int k = 0; k < 2; ++k) {
        int from = (h + k) % 4, to = (h + k + 1) % 4;
        std::optional<DataRecord> record;
        if (k == 1) {
          record = DataRecord{
              "app.votes",
              h % 2 ? std::optional<std::string>("ballot-" + std::to_string(h))
                    : std::nullopt,
              "payload " + std::to_string(h)};
        }
        txs.push_back(
            MakeTransfer(params, TestKey(from),
                         AddressFromPublicKey(TestKey(to).public_key()),
                         100 + h, 2, nonces[from]++, record));
      }
      Block block =
          MakeBlock(params, tip.header, tip.height, std::move(txs), miner);
      auto result = (*chain)->AcceptBlock(block);
      ASSERT_TRUE(result.ok()) << result.status();
      ASSERT_EQ(result->status, AcceptStatus::kActive)
          << result->validation.ToString();
    }
    tip_ = (*chain)->Tip();
    genesis_ = (*chain)->genesis_hash();
    chain->reset();
    store->reset();
  }

  fs::path dir_, datadir_;
  TipInfo tip_;
  Hash256 genesis_;
};

TEST_F(PbtoolDatadirTest, InspectShowsTheChain) {
  nlohmann::json j = InspectJson(datadir_);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["height"], 12);
  EXPECT_EQ(j["tip"], tip_.hash.ToDisplayHex());
  EXPECT_EQ(j["chain_work"], tip_.chain_work.ToDecimal());
  EXPECT_EQ(j["genesis_hash"], genesis_.ToDisplayHex());
  EXPECT_EQ(j["chain_id"], "pbchain-test");
  EXPECT_EQ(j["blocks"], 13);
  EXPECT_EQ(j["index_entries"], 13);
  // 4 funded keys + the miner.
  EXPECT_EQ(j["accounts"], 5);
  // 12 records plus the genesis parameter record.
  EXPECT_EQ(j["records"], 13);
  // Genesis: the parameter commitment (to the zero address) and 4
  // allocations; each block: the coinbase and 2 transfers between two
  // different keys (2 addresses each).
  EXPECT_EQ(j["address_index_entries"], 5 + 12 * 5);
  EXPECT_GT(j["bytes_on_disk"].get<uint64_t>(), 0u);

  ToolRun text = Pbtool("inspect --datadir " + datadir_.string());
  ASSERT_EQ(text.code, 0) << text.out;
  EXPECT_NE(text.out.find(tip_.hash.ToDisplayHex()), std::string::npos);
  EXPECT_NE(text.out.find("height:        12"), std::string::npos) << text.out;
}

TEST_F(PbtoolDatadirTest, VerifyDbPassesOnAGoodDatadir) {
  ToolRun r = Pbtool("verify-db --datadir " + datadir_.string());
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("\nOK\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("blocks replayed: 12"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("verify-db: 12/12 blocks"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("address index:   65 entries"), std::string::npos)
      << r.out;
}

// Makes the datadir look like one written by schema-1 software: no
// "addrindex" column family, schema_version 1.
void MakeSchema1(const fs::path& datadir) {
  rocksdb::Options o;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const std::string& name : ColumnNames()) cfs.emplace_back(name, o);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(
      rocksdb::DB::Open(o, (datadir / "chain").string(), cfs, &handles, &raw)
          .ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  const char one[4] = {1, 0, 0, 0};
  rocksdb::WriteOptions wo;
  wo.sync = true;
  ASSERT_TRUE(db->Put(wo, handles[static_cast<int>(Column::kMeta)],
                      "schema_version", rocksdb::Slice(one, 4))
                  .ok());
  ASSERT_TRUE(
      db->DropColumnFamily(handles[static_cast<int>(Column::kAddrIndex)]).ok());
  for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
  ASSERT_TRUE(db->Close().ok());
}

// pbtool opens datadirs read-write, so inspect on a schema-1 datadir
// upgrades it (saying so on stderr) and shows the new index.
TEST_F(PbtoolDatadirTest, InspectUpgradesASchema1Datadir) {
  MakeSchema1(datadir_);
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(
                  rocksdb::Options(), (datadir_ / "chain").string(), &names)
                  .ok());
  ASSERT_EQ(std::count(names.begin(), names.end(), "addrindex"), 0);

  ToolRun r = Pbtool("inspect --datadir " + datadir_.string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("schema version 1 to 2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("address index: 65 entries"), std::string::npos)
      << r.out;
  // Done once: now a plain schema-2 datadir that verifies.
  nlohmann::json j = InspectJson(datadir_);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["address_index_entries"], 65);
  ToolRun v = Pbtool("verify-db --datadir " + datadir_.string());
  EXPECT_EQ(v.code, 0) << v.out;
  EXPECT_EQ(v.out.find("schema version 1"), std::string::npos) << v.out;
}

TEST_F(PbtoolDatadirTest, VerifyDbNamesATamperedAccount) {
  Address victim = AddressFromPublicKey(TestKey(2).public_key());
  {
    auto store = RocksChainStore::Open(datadir_.string());
    ASSERT_TRUE(store.ok()) << store.status();
    auto account = (*store)->GetAccount(victim);
    ASSERT_TRUE(account.ok() && account->has_value());
    AccountState changed = **account;
    changed.balance += 1000;
    StateDelta delta;
    delta.accounts.push_back({victim, changed});
    delta.new_tip = tip_.hash;  // the tip stays
    ASSERT_TRUE((*store)->Commit(delta).ok());
  }
  ToolRun r = Pbtool("verify-db --datadir " + datadir_.string());
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find(victim.ToText()), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("\nOK\n"), std::string::npos) << r.out;
}

TEST_F(PbtoolDatadirTest, MissingOrLockedDatadirIsOneLineExitOne) {
  ToolRun r = Pbtool("inspect --datadir " + (dir_ / "nope").string());
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
  EXPECT_FALSE(fs::exists(dir_ / "nope"));
  EXPECT_EQ(Pbtool("verify-db --datadir " + (dir_ / "nope").string()).code, 1);

  // A datadir in use by another process is still refused by commands that
  // write (backup opens it read-write).
  auto store = RocksChainStore::Open(datadir_.string());
  ASSERT_TRUE(store.ok());
  r = Pbtool("backup --datadir " + datadir_.string() + " --to " +
             (dir_ / "backups").string());
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
}

TEST_F(PbtoolDatadirTest, InspectAndVerifyDbReadALiveDatadir) {
  // Held open read-write, as by a running node.
  auto store = RocksChainStore::Open(datadir_.string());
  ASSERT_TRUE(store.ok()) << store.status();
  // Before: FAILED_PRECONDITION, the datadir is in use.
  nlohmann::json j = InspectJson(datadir_);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["height"], tip_.height);
  ToolRun v = Pbtool("verify-db --datadir " + datadir_.string());
  EXPECT_EQ(v.code, 0) << v.out;
  EXPECT_NE(v.out.find("\nOK\n"), std::string::npos) << v.out;
}

TEST_F(PbtoolDatadirTest, InspectAndVerifyDbReadReadOnlyMedia) {
  // A read-only bind mount of the datadir (as a snapshot or read-only
  // media); root ignores file modes, a read-only mount it does not.
  const fs::path ro = dir_ / "ro";
  fs::create_directories(ro);
  if (::mount(datadir_.c_str(), ro.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    GTEST_SKIP() << "bind mounts are not permitted here (needs root)";
  }
  struct Unmount {
    fs::path path;
    ~Unmount() {
      if (::umount(path.c_str()) != 0) ::umount2(path.c_str(), MNT_DETACH);
    }
  } unmount{ro};
  ASSERT_EQ(::mount(nullptr, ro.c_str(), nullptr,
                    MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr),
            0);
  ASSERT_FALSE(std::ofstream(ro / "probe")) << "the mount is writable";
  // Before: IO error (RocksDB's LOCK file cannot be created).
  ToolRun v = Pbtool("verify-db --datadir " + ro.string());
  EXPECT_EQ(v.code, 0) << v.out;
  EXPECT_NE(v.out.find("\nOK\n"), std::string::npos) << v.out;
  nlohmann::json j = InspectJson(ro);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["height"], tip_.height);
  EXPECT_EQ(j["tip"], tip_.hash.ToDisplayHex());
}

TEST_F(PbtoolDatadirTest, ExportThenImportGivesTheSameChain) {
  fs::path file = dir_ / "chain.json";
  ToolRun r = Pbtool("export --datadir " + datadir_.string() + " --out " +
                     file.string());
  ASSERT_EQ(r.code, 0) << r.out;
  nlohmann::json exported = nlohmann::json::parse(ReadFile(file));
  EXPECT_EQ(exported["format"], "pbchain-export-v1");
  EXPECT_EQ(exported["genesis"]["chain_id"], "pbchain-test");
  ASSERT_EQ(exported["blocks"].size(), 12u);
  EXPECT_EQ(exported["blocks"][0]["transactions"][0]["kind"],
            "TRANSACTION_KIND_COINBASE");
  EXPECT_TRUE(exported["blocks"][0]["transactions"][1].contains(
      "sender_pubkey"));  // proto field names preserved

  // Never overwrites.
  EXPECT_EQ(Pbtool("export --datadir " + datadir_.string() + " --out " +
                   file.string())
                .code,
            2);

  fs::path copy = dir_ / "imported";
  r = Pbtool("import --datadir " + copy.string() + " --in " + file.string());
  ASSERT_EQ(r.code, 0) << r.out;
  nlohmann::json j = InspectJson(copy);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["tip"], tip_.hash.ToDisplayHex());
  EXPECT_EQ(j["height"], 12);
  EXPECT_EQ(j["genesis_hash"], genesis_.ToDisplayHex());
  EXPECT_EQ(Pbtool("verify-db --datadir " + copy.string()).code, 0);

  // Into an existing datadir: refused before touching it.
  r = Pbtool("import --datadir " + copy.string() + " --in " + file.string());
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_EQ(InspectJson(copy)["tip"], tip_.hash.ToDisplayHex());
}

TEST_F(PbtoolDatadirTest, ImportOfAnEditedExportFailsAndLeavesNothing) {
  fs::path file = dir_ / "chain.json";
  ASSERT_EQ(Pbtool("export --datadir " + datadir_.string() + " --out " +
                   file.string())
                .code,
            0);
  nlohmann::json exported = nlohmann::json::parse(ReadFile(file));
  // Block 5 (height 6): raise a transfer's amount (breaks its signature and
  // the merkle root).
  nlohmann::json& tx = exported["blocks"][5]["transactions"][1];
  tx["amount"] =
      std::to_string(std::stoull(tx["amount"].get<std::string>()) + 1);
  fs::path edited = dir_ / "edited.json";
  std::ofstream(edited) << exported.dump();

  fs::path target = dir_ / "broken";
  ToolRun r = Pbtool("import --datadir " + target.string() + " --in " +
                     edited.string());
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("block 5 (height 6)"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(target));

  // A malformed field (a 19-byte recipient) is named too.
  exported = nlohmann::json::parse(ReadFile(file));
  exported["blocks"][2]["transactions"][0]["recipient"] = "AAAA";
  std::ofstream(edited, std::ios::trunc) << exported.dump();
  r = Pbtool("import --datadir " + target.string() + " --in " +
             edited.string());
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("block 2 (height 3)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("recipient"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(target));

  // Not JSON at all.
  std::ofstream(edited, std::ios::trunc) << "{\"format\":";
  r = Pbtool("import --datadir " + target.string() + " --in " +
             edited.string());
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_FALSE(fs::exists(target));
}

TEST_F(PbtoolDatadirTest, BackupKeepsOneAndRestoreGivesTheSameTip) {
  fs::path backups = dir_ / "backups";
  std::string backup = "backup --datadir " + datadir_.string() + " --to " +
                       backups.string() + " --keep 1";
  ToolRun first = Pbtool(backup);
  ASSERT_EQ(first.code, 0) << first.out;
  EXPECT_NE(first.out.find("backup 1 written"), std::string::npos) << first.out;
  ToolRun second = Pbtool(backup);
  ASSERT_EQ(second.code, 0) << second.out;
  EXPECT_NE(second.out.find("backup 2 written"), std::string::npos)
      << second.out;
  // Only backup 2 is listed as kept.
  EXPECT_NE(second.out.find("\n  2  "), std::string::npos) << second.out;
  EXPECT_EQ(second.out.find("\n  1  "), std::string::npos) << second.out;

  fs::path restored = dir_ / "restored";
  ToolRun r = Pbtool("restore --from " + backups.string() + " --datadir " +
                     restored.string());
  ASSERT_EQ(r.code, 0) << r.out;
  nlohmann::json j = InspectJson(restored);
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["tip"], tip_.hash.ToDisplayHex());
  EXPECT_EQ(Pbtool("verify-db --datadir " + restored.string()).code, 0);

  // Never into an existing datadir.
  r = Pbtool("restore --from " + backups.string() + " --datadir " +
             datadir_.string());
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_EQ(InspectJson(datadir_)["tip"], tip_.hash.ToDisplayHex());
}

TEST_F(PbtoolDatadirTest, BadUsageExitsTwo) {
  const std::string d = datadir_.string();
  EXPECT_EQ(Pbtool("verify-db").code, 2);
  EXPECT_EQ(Pbtool("verify-db " + d).code, 2);
  EXPECT_EQ(Pbtool("verify-db --datadir").code, 2);
  EXPECT_EQ(Pbtool("inspect --datadir " + d + " --bogus 1").code, 2);
  EXPECT_EQ(Pbtool("export --datadir " + d).code, 2);
  EXPECT_EQ(Pbtool("import --in x.json").code, 2);
  EXPECT_EQ(Pbtool("import --datadir " + (dir_ / "n").string() + " --in " +
                   (dir_ / "missing.json").string())
                .code,
            2);
  EXPECT_FALSE(fs::exists(dir_ / "n"));
  EXPECT_EQ(Pbtool("backup --datadir " + d).code, 2);
  EXPECT_EQ(Pbtool("backup --datadir " + d + " --to " + (dir_ / "b").string() +
                   " --keep 0")
                .code,
            2);
  EXPECT_EQ(Pbtool("restore --datadir " + (dir_ / "r").string()).code, 2);
}

}  // namespace
}  // namespace pbchain
