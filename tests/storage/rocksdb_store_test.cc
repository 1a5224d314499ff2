#include "storage/rocksdb_store.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "chain/chain_state.h"
#include "chain/consensus.h"
#include "chain/memory_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "storage/verify.h"
#include "tests/chain/test_chain.h"
#include "tests/storage/storage_test_util.h"

namespace pbchain {
namespace {

namespace fs = std::filesystem;
using testing::FileContents;
using ::testing::HasSubstr;
using testing::MakeBlock;
using testing::MakeTransfer;
using testing::Snapshot;
using testing::StoreSnapshot;
using testing::TempDir;
using testing::TestKey;
using testing::TestParams;

ChainStateOptions FixedClock() {
  ChainStateOptions o;
  o.clock = [] { return int64_t{testing::kTestGenesisTime} + 1'000'000; };
  return o;
}

std::unique_ptr<RocksChainStore> OpenOrDie(const std::string& datadir,
                                           RocksStoreOptions options = {}) {
  absl::StatusOr<std::unique_ptr<RocksChainStore>> s =
      RocksChainStore::Open(datadir, options);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *std::move(s) : nullptr;
}

// A random sequence of blocks on competing branches, some invalid (an
// overspend only the state catches), as in chain_state_test's randomized
// reorg test. Blocks are generated up front so that several stores can be
// fed the same sequence.
std::vector<Block> RandomBlocks(const ChainParams& p, int n_keys, uint64_t seed,
                                int steps) {
  std::vector<Address> addrs;
  for (int i = 0; i < n_keys; ++i)
    addrs.push_back(AddressFromPublicKey(TestKey(i).public_key()));
  std::mt19937_64 rng(seed);
  struct Model {
    BlockHeader header;
    uint32_t height;
    std::map<Address, AccountState> accounts;
    std::set<std::string> keys;
  };
  std::vector<Model> valid;
  Model g{MakeGenesisBlock(p).header, 0, {}, {}};
  for (int i = 0; i < n_keys; ++i)
    g.accounts[addrs[i]] = AccountState{p.allocations[i].amount, 0};
  valid.push_back(g);
  std::vector<Block> out;
  for (int step = 0; step < steps; ++step) {
    size_t lo = valid.size() > 8 ? valid.size() - 8 : 0;
    const Model parent = valid[lo + rng() % (valid.size() - lo)];
    Model child = parent;
    std::vector<Transaction> txs;
    int ntx = rng() % 4;
    for (int t = 0; t < ntx; ++t) {
      int from = rng() % n_keys, to = rng() % n_keys;
      AccountState& s = child.accounts[addrs[from]];
      uint64_t amount = 1 + rng() % 50, fee = rng() % 3;
      if (s.balance < amount + fee) continue;
      std::optional<DataRecord> rec;
      if (rng() % 3 == 0) {
        std::string key = "k" + std::to_string(rng() % 6);
        if (child.keys.contains(key)) continue;
        child.keys.insert(key);
        rec = DataRecord{"votes", key, "p" + std::to_string(step)};
      } else if (rng() % 4 == 0) {
        rec = DataRecord{"notes", std::nullopt, "n" + std::to_string(step)};
      }
      txs.push_back(
          MakeTransfer(p, TestKey(from), addrs[to], amount, fee, s.nonce, rec));
      s.balance -= amount + fee;
      s.nonce += 1;
      child.accounts[addrs[to]].balance += amount;
    }
    const bool make_invalid = rng() % 10 == 0;
    if (make_invalid) {
      txs.push_back(MakeTransfer(p, TestKey(0), addrs[1], 1'000'000'000, 0,
                                 child.accounts[addrs[0]].nonce));
    }
    Address miner = addrs[rng() % n_keys];
    uint64_t fees = 0;
    for (const Transaction& tx : txs) fees += tx.fee;
    Block b = MakeBlock(p, parent.header, parent.height, txs, miner, rng());
    out.push_back(b);
    if (make_invalid) continue;
    child.accounts[miner].balance += p.block_reward + fees;
    child.header = b.header;
    child.height = parent.height + 1;
    valid.push_back(child);
  }
  return out;
}

// The address index a chain state's active chain implies, in key order.
std::vector<AddressIndexEntry> ExpectedAddressIndex(const ChainState& state) {
  std::map<std::string, AddressIndexEntry> by_key;
  for (uint32_t h = 0; h <= state.Tip().height; ++h) {
    const Block b = *state.GetBlock(*state.ActiveHashAt(h));
    for (uint32_t i = 0; i < b.txs.size(); ++i) {
      const Transaction& tx = b.txs[i];
      std::set<Address> touched{tx.recipient};
      if (!tx.IsCoinbase()) touched.insert(tx.SenderAddress());
      for (const Address& a : touched) {
        AddressIndexEntry e{a, TxPosition{h, i}, tx.Id()};
        by_key.emplace(AddressIndexKey(a, e.position), e);
      }
    }
  }
  std::vector<AddressIndexEntry> out;
  for (const auto& [key, e] : by_key) out.push_back(e);
  return out;
}

// For every address in `all` (the store's whole index in key order): paging
// ScanAddressIndex with small pages gives its entries newest first, each
// once, and a scan before the oldest position is empty.
void ExpectScansPageNewestFirst(ChainStore& store,
                                const std::vector<AddressIndexEntry>& all) {
  std::map<Address, std::vector<AddressIndexEntry>> by_address;
  for (const AddressIndexEntry& e : all) by_address[e.address].push_back(e);
  for (auto& [address, entries] : by_address) {
    std::reverse(entries.begin(), entries.end());
    std::vector<AddressIndexEntry> paged;
    std::optional<TxPosition> before;
    for (int pages = 0; pages < 1000; ++pages) {
      absl::StatusOr<std::vector<AddressIndexEntry>> page =
          store.ScanAddressIndex(address, before, 3);
      ASSERT_TRUE(page.ok()) << page.status();
      ASSERT_LE(page->size(), 3u);
      paged.insert(paged.end(), page->begin(), page->end());
      if (page->size() < 3) break;
      before = page->back().position;
    }
    EXPECT_EQ(paged, entries) << address.ToText();
    EXPECT_TRUE(
        store.ScanAddressIndex(address, entries.back().position, 10)->empty());
  }
  // An address with no entries.
  Address nobody;
  nobody.bytes.fill(0xee);
  EXPECT_TRUE(store.ScanAddressIndex(nobody, std::nullopt, 10)->empty());
}

// The same blocks through ChainState over MemoryChainStore and over
// RocksChainStore leave identical results and identical stores.
TEST(RocksChainStoreTest, MatchesMemoryStoreOnRandomReorgs) {
  constexpr int kKeys = 4;
  const ChainParams p = TestParams(kKeys, 1000);
  size_t reorgs = 0, invalid = 0;
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    TempDir tmp;
    std::vector<Block> blocks = RandomBlocks(p, kKeys, seed, 60);
    MemoryChainStore mem;
    auto mem_state = *ChainState::Create(p, &mem, FixedClock());
    std::unique_ptr<RocksChainStore> rocks = OpenOrDie(tmp.Sub("datadir"));
    ASSERT_NE(rocks, nullptr);
    auto rocks_state = *ChainState::Create(p, rocks.get(), FixedClock());
    for (const Block& b : blocks) {
      absl::StatusOr<AcceptResult> a = mem_state->AcceptBlock(b);
      absl::StatusOr<AcceptResult> r = rocks_state->AcceptBlock(b);
      ASSERT_TRUE(a.ok()) << a.status();
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(a->status, r->status);
      EXPECT_EQ(a->connected, r->connected);
      EXPECT_EQ(a->disconnected, r->disconnected);
      if (!r->disconnected.empty()) ++reorgs;
      if (r->status == AcceptStatus::kInvalid) ++invalid;
      ASSERT_EQ(mem_state->Tip().hash, rocks_state->Tip().hash)
          << "seed " << seed;
    }
    StoreSnapshot m = Snapshot(mem), r = Snapshot(*rocks);
    EXPECT_EQ(m.tip, r.tip) << "seed " << seed;
    EXPECT_EQ(m.head_marker, r.head_marker);
    EXPECT_EQ(m.accounts, r.accounts) << "seed " << seed;
    EXPECT_EQ(m.records, r.records) << "seed " << seed;
    EXPECT_EQ(m.main_chain, r.main_chain) << "seed " << seed;
    EXPECT_EQ(m.main_chain.size(), rocks_state->Tip().height + 1u);
    EXPECT_EQ(m.index, r.index) << "seed " << seed;
    EXPECT_EQ(r.index.size(), rocks_state->IndexSize());
    for (const auto& [hash, entry] : r.index) {
      EXPECT_EQ(*mem.GetUndo(hash), *rocks->GetUndo(hash));
    }
    EXPECT_FALSE(r.records.empty());
    // The address index: the same in both, and exactly the touched
    // addresses of the active chain's transactions.
    EXPECT_EQ(m.address_index, r.address_index) << "seed " << seed;
    EXPECT_EQ(r.address_index, ExpectedAddressIndex(*rocks_state))
        << "seed " << seed;
    EXPECT_FALSE(r.address_index.empty());
    ExpectScansPageNewestFirst(*rocks, r.address_index);
    ExpectScansPageNewestFirst(mem, m.address_index);
  }
  EXPECT_GT(reorgs, 3u);
  EXPECT_GT(invalid, 0u);
}

TEST(RocksChainStoreTest, ReopenAfterCleanCloseResumesAndClearsHeadMarker) {
  TempDir tmp;
  const std::string datadir = tmp.Sub("datadir");
  const ChainParams p = TestParams(2);
  StoreSnapshot before;
  Hash256 tip;
  size_t disconnected = 0;
  {
    std::unique_ptr<RocksChainStore> store = OpenOrDie(datadir);
    ASSERT_NE(store, nullptr);
    auto state = *ChainState::Create(p, store.get(), FixedClock());
    // Main chain of 3, then a branch of 4 from block 1: a 2-block reorg.
    BlockHeader parent = MakeGenesisBlock(p).header;
    BlockHeader at1;
    for (uint32_t h = 0; h < 3; ++h) {
      Block b = MakeBlock(p, parent, h, {});
      ASSERT_EQ(state->AcceptBlock(b)->status, AcceptStatus::kActive);
      parent = b.header;
      if (h == 0) at1 = b.header;
    }
    parent = at1;
    for (uint32_t h = 1; h < 5; ++h) {
      Block b = MakeBlock(p, parent, h, {}, Address{}, 77);
      absl::StatusOr<AcceptResult> r = state->AcceptBlock(b);
      ASSERT_TRUE(r.ok());
      disconnected += r->disconnected.size();
      parent = b.header;
    }
    tip = parent.Hash();
    EXPECT_EQ(state->Tip().hash, tip);
    EXPECT_EQ(disconnected, 2u);
    EXPECT_EQ(*store->GetHeadMarker(), std::nullopt);
    before = Snapshot(*store);
  }
  std::unique_ptr<RocksChainStore> store = OpenOrDie(datadir);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(Snapshot(*store), before);
  auto state = ChainState::Create(p, store.get(), FixedClock());
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ((*state)->Tip().hash, tip);
  EXPECT_EQ((*state)->Tip().height, 5u);
  EXPECT_EQ((*state)->IndexSize(), 8u);  // genesis + 3 + 4
  EXPECT_EQ(Snapshot(*store), before);
}

TEST(RocksChainStoreTest, MetaAndHeadMarkerRoundTrip) {
  TempDir tmp;
  std::unique_ptr<RocksChainStore> store = OpenOrDie(tmp.Sub("d"));
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(*store->GetMeta("x"), std::nullopt);
  ASSERT_TRUE(store->PutMeta("x", std::string("a\0b", 3)).ok());
  EXPECT_EQ(*store->GetMeta("x"), std::string("a\0b", 3));
  Hash256 h;
  h.bytes[3] = 9;
  ASSERT_TRUE(store->SetHeadMarker(h).ok());
  EXPECT_EQ(*store->GetHeadMarker(), h);
  ASSERT_TRUE(store->SetHeadMarker(std::nullopt).ok());
  EXPECT_EQ(*store->GetHeadMarker(), std::nullopt);
}

// ----- bad datadirs: a clear error, no crash, nothing changed -----

// Builds a datadir with a chain of `blocks` blocks and closes it.
void MakeDatadir(const std::string& datadir, const ChainParams& p,
                 int blocks = 3) {
  std::unique_ptr<RocksChainStore> store = OpenOrDie(datadir);
  ASSERT_NE(store, nullptr);
  auto state = *ChainState::Create(p, store.get(), FixedClock());
  BlockHeader parent = MakeGenesisBlock(p).header;
  for (int h = 0; h < blocks; ++h) {
    Block b = MakeBlock(p, parent, h, {});
    ASSERT_EQ(state->AcceptBlock(b)->status, AcceptStatus::kActive);
    parent = b.header;
  }
}

// Every key and value of every column family, read with RocksDB directly
// (read-only, so the reading changes nothing).
std::map<std::string, std::map<std::string, std::string>> RawContents(
    const std::string& datadir) {
  std::map<std::string, std::map<std::string, std::string>> out;
  rocksdb::Options o;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const std::string& name : ColumnNames()) cfs.emplace_back(name, o);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      rocksdb::DB::OpenForReadOnly(o, datadir + "/chain", cfs, &handles, &raw);
  EXPECT_TRUE(s.ok()) << s.ToString();
  if (!s.ok()) return out;
  std::unique_ptr<rocksdb::DB> db(raw);
  for (size_t i = 0; i < handles.size(); ++i) {
    std::unique_ptr<rocksdb::Iterator> it(
        db->NewIterator(rocksdb::ReadOptions(), handles[i]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      out[ColumnNames()[i]][it->key().ToString()] = it->value().ToString();
    }
    EXPECT_TRUE(db->DestroyColumnFamilyHandle(handles[i]).ok());
  }
  return out;
}

std::string ManifestPath(const std::string& datadir) {
  for (const auto& e : fs::directory_iterator(fs::path(datadir) / "chain")) {
    if (e.path().filename().string().rfind("MANIFEST-", 0) == 0) {
      return e.path().string();
    }
  }
  return "";
}

TEST(RocksChainStoreBadDatadirTest, AnotherChainIsRefusedByChainState) {
  TempDir tmp;
  const std::string datadir = tmp.Sub("datadir");
  MakeDatadir(datadir, TestParams(2));
  const auto before = RawContents(datadir);
  {
    std::unique_ptr<RocksChainStore> store = OpenOrDie(datadir);
    ASSERT_NE(store, nullptr);
    auto state = ChainState::Create(TestParams(3), store.get(), FixedClock());
    EXPECT_EQ(state.status().code(), absl::StatusCode::kFailedPrecondition)
        << state.status();
    EXPECT_THAT(state.status().message(), HasSubstr("another chain"));
  }
  // Still the first chain's datadir, unharmed.
  EXPECT_EQ(RawContents(datadir), before);
  std::unique_ptr<RocksChainStore> store = OpenOrDie(datadir);
  ASSERT_NE(store, nullptr);
  auto state = ChainState::Create(TestParams(2), store.get(), FixedClock());
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ((*state)->Tip().height, 3u);
}

TEST(RocksChainStoreBadDatadirTest, NewerSchemaIsRefused) {
  TempDir tmp;
  const std::string datadir = tmp.Sub("datadir");
  MakeDatadir(datadir, TestParams(2));
  {
    // Write schema_version = 3 behind the store's back.
    rocksdb::Options o;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const std::string& name : ColumnNames()) cfs.emplace_back(name, o);
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(
        rocksdb::DB::Open(o, datadir + "/chain", cfs, &handles, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    const char three[4] = {3, 0, 0, 0};
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(),
                        handles[static_cast<int>(Column::kMeta)],
                        "schema_version", rocksdb::Slice(three, 4))
                    .ok());
    for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    ASSERT_TRUE(db->Close().ok());
  }
  const auto before = RawContents(datadir);
  ASSERT_EQ(before.at("meta").at("schema_version"),
            std::string("\x03\0\0\0", 4));
  absl::StatusOr<std::unique_ptr<RocksChainStore>> s =
      RocksChainStore::Open(datadir);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition)
      << s.status();
  EXPECT_THAT(s.status().message(), HasSubstr("schema"));
  EXPECT_THAT(s.status().message(), HasSubstr("newer"));
  EXPECT_THAT(s.status().message(), HasSubstr(datadir));
  // The data is unchanged. (The files are not: Open checks the schema only
  // after a read-write DB::Open, which writes a new MANIFEST, OPTIONS file
  // and WAL; see the report.)
  EXPECT_EQ(RawContents(datadir), before);
}

TEST(RocksChainStoreBadDatadirTest, CorruptManifestIsDataLoss) {
  TempDir tmp;
  const std::string datadir = tmp.Sub("datadir");
  MakeDatadir(datadir, TestParams(2));
  const std::string manifest = ManifestPath(datadir);
  ASSERT_FALSE(manifest.empty());
  {
    std::fstream f(manifest, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(0, std::ios::end);
    const std::streamoff size = f.tellg();
    ASSERT_GT(size, 40);
    f.seekp(size / 2);
    const std::string junk(16, '\xA5');
    f.write(junk.data(), junk.size());
  }
  const auto files = FileContents(datadir);
  absl::StatusOr<std::unique_ptr<RocksChainStore>> s =
      RocksChainStore::Open(datadir);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss) << s.status();
  EXPECT_THAT(s.status().message(), HasSubstr(datadir));
  EXPECT_EQ(FileContents(datadir), files);
}

TEST(RocksChainStoreBadDatadirTest, TruncatedManifestIsRefused) {
  TempDir tmp;
  const std::string datadir = tmp.Sub("datadir");
  MakeDatadir(datadir, TestParams(2));
  const std::string manifest = ManifestPath(datadir);
  ASSERT_FALSE(manifest.empty());
  const auto size = fs::file_size(manifest);
  fs::resize_file(manifest, size / 3);
  const auto files = FileContents(datadir);
  absl::StatusOr<std::unique_ptr<RocksChainStore>> s =
      RocksChainStore::Open(datadir);
  // RocksDB reads a truncated MANIFEST as a complete shorter one, which
  // lacks the later column families: damage, reported as such.
  EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss) << s.status();
  EXPECT_THAT(s.status().message(), HasSubstr("damaged"));
  EXPECT_THAT(s.status().message(), HasSubstr(datadir));
  EXPECT_EQ(FileContents(datadir), files);
}

TEST(RocksChainStoreBadDatadirTest, MissingCurrentIsDataLoss) {
  TempDir tmp;
  const std::string datadir = tmp.Sub("datadir");
  MakeDatadir(datadir, TestParams(2));
  ASSERT_TRUE(fs::remove(fs::path(datadir) / "chain" / "CURRENT"));
  const auto files = FileContents(datadir);
  for (bool create : {true, false}) {
    absl::StatusOr<std::unique_ptr<RocksChainStore>> s =
        RocksChainStore::Open(datadir, {.create_if_missing = create});
    EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss) << s.status();
    EXPECT_THAT(s.status().message(), HasSubstr("CURRENT"));
    EXPECT_EQ(FileContents(datadir), files);
  }
  EXPECT_FALSE(fs::exists(fs::path(datadir) / "chain" / "CURRENT"));
}

TEST(RocksChainStoreBadDatadirTest, SecondOpenInSameProcessIsInUse) {
  TempDir tmp;
  const std::string datadir = tmp.Sub("datadir");
  std::unique_ptr<RocksChainStore> first = OpenOrDie(datadir);
  ASSERT_NE(first, nullptr);
  absl::StatusOr<std::unique_ptr<RocksChainStore>> second =
      RocksChainStore::Open(datadir);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition)
      << second.status();
  EXPECT_THAT(second.status().message(), HasSubstr("in use"));
  // The first is unaffected.
  ASSERT_TRUE(first->PutMeta("k", "v").ok());
  EXPECT_EQ(*first->GetMeta("k"), "v");
}

TEST(RocksChainStoreBadDatadirTest, DatadirOfARunningProcessIsInUse) {
  TempDir tmp;
  const std::string datadir = tmp.Sub("datadir");
  const std::string genesis = tmp.Sub("genesis.json");
  { std::ofstream(genesis) << TestParams(2).ToJson(); }
  // crash_child holds the datadir open until killed.
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const std::string bin = std::string(PBCHAIN_BIN_DIR) + "/crash_child";
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    execl(bin.c_str(), bin.c_str(), datadir.c_str(), genesis.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  struct Reaper {
    pid_t pid;
    int fd;
    ~Reaper() {
      kill(pid, SIGKILL);
      int st;
      waitpid(pid, &st, 0);
      close(fd);
    }
  } reaper{pid, fds[0]};
  // Wait for its first committed block: it has the datadir open by then.
  char c;
  ASSERT_EQ(read(fds[0], &c, 1), 1) << "crash_child printed nothing";
  absl::StatusOr<std::unique_ptr<RocksChainStore>> s =
      RocksChainStore::Open(datadir);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition)
      << s.status();
  EXPECT_THAT(s.status().message(), HasSubstr("in use"));
}

TEST(RocksChainStoreBadDatadirTest, MissingDatadirIsNotFoundAndNotCreated) {
  TempDir tmp;
  const std::string datadir = tmp.Sub("nope");
  absl::StatusOr<std::unique_ptr<RocksChainStore>> s =
      RocksChainStore::Open(datadir, {.create_if_missing = false});
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound) << s.status();
  EXPECT_THAT(s.status().message(), HasSubstr(datadir));
  EXPECT_FALSE(fs::exists(datadir));
  // An empty directory is no datadir either.
  fs::create_directories(datadir);
  s = RocksChainStore::Open(datadir, {.create_if_missing = false});
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound) << s.status();
  EXPECT_TRUE(fs::is_empty(datadir));
}

TEST(RocksChainStoreBadDatadirTest, GarbageFileInsteadOfDatadirIsAnError) {
  TempDir tmp;
  const std::string datadir = tmp.Sub("file");
  { std::ofstream(datadir) << "not a datadir"; }
  for (bool create : {true, false}) {
    absl::StatusOr<std::unique_ptr<RocksChainStore>> s =
        RocksChainStore::Open(datadir, {.create_if_missing = create});
    EXPECT_FALSE(s.ok());
    EXPECT_THAT(s.status().message(), HasSubstr(datadir)) << s.status();
  }
  std::ifstream in(datadir);
  std::string content((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(content, "not a datadir");
}

TEST(RocksChainStoreBadDatadirTest, ForeignColumnFamiliesAreRefused) {
  TempDir tmp;
  const std::string datadir = tmp.Sub("datadir");
  {
    rocksdb::Options o;
    o.create_if_missing = true;
    o.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
        {rocksdb::kDefaultColumnFamilyName, o}, {"something_else", o}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    fs::create_directories(datadir + "/chain");
    ASSERT_TRUE(
        rocksdb::DB::Open(o, datadir + "/chain", cfs, &handles, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
    ASSERT_TRUE(db->Close().ok());
  }
  const auto files = FileContents(datadir);
  absl::StatusOr<std::unique_ptr<RocksChainStore>> s =
      RocksChainStore::Open(datadir);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition)
      << s.status();
  EXPECT_THAT(s.status().message(), HasSubstr("something_else"));
  EXPECT_EQ(FileContents(datadir), files);
}

// ----- backups -----

TEST(RocksChainStoreBackupTest, KeepsNewestAndRestoresLatest) {
  TempDir tmp;
  const std::string datadir = tmp.Sub("datadir");
  const std::string backups = tmp.Sub("backups");
  const ChainParams p = TestParams(2);
  std::unique_ptr<RocksChainStore> store = OpenOrDie(datadir);
  ASSERT_NE(store, nullptr);
  auto state = *ChainState::Create(p, store.get(), FixedClock());
  BlockHeader parent = MakeGenesisBlock(p).header;
  uint32_t height = 0;
  const Address a1 = AddressFromPublicKey(TestKey(1).public_key());
  std::vector<uint32_t> ids;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 2; ++i) {
      Block b = MakeBlock(p, parent, height,
                          {MakeTransfer(p, TestKey(0), a1, 10, 1, height)});
      ASSERT_EQ(state->AcceptBlock(b)->status, AcceptStatus::kActive);
      parent = b.header;
      ++height;
    }
    absl::StatusOr<uint32_t> id = store->Backup(backups, 2);
    ASSERT_TRUE(id.ok()) << id.status();
    ids.push_back(*id);
  }
  const StoreSnapshot at_last_backup = Snapshot(*store);
  // A block after the last backup is not in the restore.
  ASSERT_EQ(state->AcceptBlock(MakeBlock(p, parent, height, {}))->status,
            AcceptStatus::kActive);

  absl::StatusOr<std::vector<BackupInfo>> list = ListBackups(backups);
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, ids[1]);
  EXPECT_EQ((*list)[1].id, ids[2]);
  EXPECT_GT((*list)[1].size, 0u);

  const std::string restored = tmp.Sub("restored");
  ASSERT_TRUE(RestoreBackup(backups, restored).ok());
  {
    std::unique_ptr<RocksChainStore> r = OpenOrDie(restored);
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(Snapshot(*r), at_last_backup);
    auto rstate = ChainState::Create(p, r.get(), FixedClock());
    ASSERT_TRUE(rstate.ok()) << rstate.status();
    EXPECT_EQ((*rstate)->Tip().height, 6u);
    EXPECT_EQ((*rstate)->Tip().hash, parent.Hash());
    EXPECT_EQ((*rstate)->GetAccount(a1)->balance, 1'000'000u + 60u);
  }

  // Never over an existing directory (even the live datadir).
  for (const std::string& target : {restored, datadir}) {
    const auto files = FileContents(target);
    absl::Status s = RestoreBackup(backups, target);
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
    EXPECT_EQ(FileContents(target), files);
  }
  EXPECT_EQ(RestoreBackup(tmp.Sub("no_backups"), tmp.Sub("x")).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(ListBackups(tmp.Sub("no_backups")).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store->Backup(backups, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// ----- transaction index -----

// The transaction index of the same random block sequence agrees between
// the memory and RocksDB stores, holds exactly the active chain's
// transactions, and passes verify-db.
TEST(RocksChainStoreTxIndexTest, MatchesMemoryStoreAndVerifiesOnRandomReorgs) {
  constexpr int kKeys = 4;
  const ChainParams p = TestParams(kKeys, 1000);
  for (uint64_t seed = 1; seed <= 3; ++seed) {
    TempDir tmp;
    std::vector<Block> blocks = RandomBlocks(p, kKeys, seed, 60);
    MemoryChainStore mem;
    auto mem_state = *ChainState::Create(p, &mem, FixedClock());
    std::unique_ptr<RocksChainStore> rocks = OpenOrDie(tmp.Sub("datadir"));
    ASSERT_NE(rocks, nullptr);
    auto rocks_state = *ChainState::Create(p, rocks.get(), FixedClock());
    for (const Block& b : blocks) {
      ASSERT_TRUE(mem_state->AcceptBlock(b).ok());
      ASSERT_TRUE(rocks_state->AcceptBlock(b).ok());
    }
    ASSERT_EQ(mem_state->Tip().hash, rocks_state->Tip().hash);

    // Expected: every transaction of every active block, at its place.
    std::map<Hash256, TxLocation> want;
    for (uint32_t h = 0; h <= rocks_state->Tip().height; ++h) {
      Hash256 hash = *rocks_state->ActiveHashAt(h);
      Block b = *rocks_state->GetBlock(hash);
      for (uint32_t i = 0; i < b.txs.size(); ++i) {
        want[b.txs[i].Id()] = TxLocation{hash, h, i};
      }
    }
    size_t off_chain = 0;
    std::vector<Block> all = blocks;
    all.push_back(MakeGenesisBlock(p));
    for (const Block& b : all) {
      for (const Transaction& tx : b.txs) {
        const Hash256 txid = tx.Id();
        absl::StatusOr<std::optional<TxLocation>> m = mem.GetTxLocation(txid);
        absl::StatusOr<std::optional<TxLocation>> r =
            rocks->GetTxLocation(txid);
        ASSERT_TRUE(m.ok() && r.ok());
        EXPECT_EQ(*m, *r) << "seed " << seed;
        auto it = want.find(txid);
        if (it == want.end()) {
          EXPECT_EQ(*r, std::nullopt) << "seed " << seed;
          ++off_chain;
        } else {
          EXPECT_EQ(*r, it->second) << "seed " << seed;
          auto got = rocks_state->GetTransaction(txid);
          ASSERT_TRUE(got.ok()) << got.status();
          ASSERT_TRUE(got->has_value());
          EXPECT_EQ((*got)->first.Encode(), tx.Encode());
        }
      }
    }
    EXPECT_GT(off_chain, 0u) << "seed " << seed;  // reorgs and invalid blocks
    absl::StatusOr<StoreStats> stats = rocks->Stats();
    ASSERT_TRUE(stats.ok()) << stats.status();
    EXPECT_EQ(stats->transactions, want.size());

    absl::StatusOr<VerifyReport> report = VerifyStore(*rocks);
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_TRUE(report->ok()) << ::testing::PrintToString(report->mismatches);
    report = VerifyStore(mem);
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_TRUE(report->ok()) << ::testing::PrintToString(report->mismatches);
  }
}

TEST(RocksChainStoreTxIndexTest, SurvivesReopen) {
  TempDir tmp;
  const std::string datadir = tmp.Sub("datadir");
  const ChainParams p = TestParams(2);
  const Block g = MakeGenesisBlock(p);
  const Address b = AddressFromPublicKey(TestKey(1).public_key());
  const Transaction pay = MakeTransfer(p, TestKey(0), b, 10, 1, 0);
  Block b1 = MakeBlock(p, g.header, 0, {}, b, 1);
  Block b2 = MakeBlock(p, b1.header, 1, {pay}, b, 2);
  {
    std::unique_ptr<RocksChainStore> store = OpenOrDie(datadir);
    ASSERT_NE(store, nullptr);
    auto state = *ChainState::Create(p, store.get(), FixedClock());
    ASSERT_EQ(state->AcceptBlock(b1)->status, AcceptStatus::kActive);
    ASSERT_EQ(state->AcceptBlock(b2)->status, AcceptStatus::kActive);
  }
  std::unique_ptr<RocksChainStore> store = OpenOrDie(datadir);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(*store->GetTxLocation(pay.Id()), (TxLocation{b2.Hash(), 2, 1}));
  EXPECT_EQ(*store->GetTxLocation(g.txs[0].Id()), (TxLocation{g.Hash(), 0, 0}));
  auto state = ChainState::Create(p, store.get(), FixedClock());
  ASSERT_TRUE(state.ok()) << state.status();
  auto found = (*state)->GetTransaction(pay.Id());
  ASSERT_TRUE(found.ok()) << found.status();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->first.Encode(), pay.Encode());
  EXPECT_EQ((*found)->second, (TxLocation{b2.Hash(), 2, 1}));
  EXPECT_EQ((*store->Stats()).transactions, g.txs.size() + 1 + 2);
}

TEST(RocksChainStoreTxIndexTest, VerifyDetectsATamperedIndex) {
  TempDir tmp;
  const ChainParams p = TestParams(2);
  const Block g = MakeGenesisBlock(p);
  const Address b = AddressFromPublicKey(TestKey(1).public_key());
  const Transaction pay = MakeTransfer(p, TestKey(0), b, 10, 1, 0);
  std::unique_ptr<RocksChainStore> store = OpenOrDie(tmp.Sub("datadir"));
  ASSERT_NE(store, nullptr);
  auto state = *ChainState::Create(p, store.get(), FixedClock());
  Block b1 = MakeBlock(p, g.header, 0, {pay}, b, 1);
  Block b2 = MakeBlock(p, b1.header, 1, {}, b, 2);
  Block side = MakeBlock(p, g.header, 0, {}, b, 3);
  ASSERT_EQ(state->AcceptBlock(b1)->status, AcceptStatus::kActive);
  ASSERT_EQ(state->AcceptBlock(b2)->status, AcceptStatus::kActive);
  ASSERT_EQ(state->AcceptBlock(side)->status, AcceptStatus::kSideBranch);
  const TxLocation right{b1.Hash(), 1, 1};

  auto set = [&](const Hash256& txid, std::optional<TxLocation> loc) {
    StateDelta d;
    d.txs.emplace_back(txid, loc);
    d.new_tip = b2.Hash();
    ASSERT_TRUE(store->Commit(d).ok());
  };
  auto verify = [&]() -> std::vector<std::string> {
    absl::StatusOr<VerifyReport> r = VerifyStore(*store);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->mismatches : std::vector<std::string>{"error"};
  };
  ASSERT_EQ(verify(), std::vector<std::string>{});

  // Indexed at the wrong position.
  set(pay.Id(), TxLocation{b1.Hash(), 1, 0});
  EXPECT_THAT(verify(), ::testing::Contains(HasSubstr("is indexed at height")));
  set(pay.Id(), right);
  EXPECT_EQ(verify(), std::vector<std::string>{});

  // Missing.
  set(pay.Id(), std::nullopt);
  EXPECT_THAT(verify(), ::testing::Contains(
                            HasSubstr("missing from the transaction index")));
  set(pay.Id(), right);

  // A side-branch transaction indexed.
  set(side.txs[0].Id(), TxLocation{side.Hash(), 1, 0});
  EXPECT_THAT(verify(), ::testing::Contains(HasSubstr("side-branch block")));
  set(side.txs[0].Id(), std::nullopt);

  // A stray entry for a transaction in no block at all.
  Hash256 stray;
  stray.bytes[0] = 0xab;
  set(stray, right);
  EXPECT_THAT(
      verify(),
      ::testing::Contains(HasSubstr("the transaction index holds 7 entries")));
  set(stray, std::nullopt);
  EXPECT_EQ(verify(), std::vector<std::string>{});
}

// ----- address index and the schema 1 -> 2 upgrade -----

// Turns a schema-2 datadir into what schema-1 software left: no "addrindex"
// column family, schema_version 1. Then `extra` may write more through the
// raw database (handles by name).
void MakeSchema1(
    const std::string& datadir,
    const std::function<void(
        rocksdb::DB*, std::map<std::string, rocksdb::ColumnFamilyHandle*>&)>&
        extra = nullptr) {
  rocksdb::Options o;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const std::string& name : ColumnNames()) cfs.emplace_back(name, o);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(
      rocksdb::DB::Open(o, datadir + "/chain", cfs, &handles, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  rocksdb::ColumnFamilyHandle* addr =
      handles[static_cast<int>(Column::kAddrIndex)];
  ASSERT_TRUE(db->DropColumnFamily(addr).ok());
  ASSERT_TRUE(db->DestroyColumnFamilyHandle(addr).ok());
  handles.erase(handles.begin() + static_cast<int>(Column::kAddrIndex));
  const char one[4] = {1, 0, 0, 0};
  rocksdb::WriteOptions wo;
  wo.sync = true;
  ASSERT_TRUE(db->Put(wo, handles[static_cast<int>(Column::kMeta)],
                      "schema_version", rocksdb::Slice(one, 4))
                  .ok());
  if (extra) {
    std::map<std::string, rocksdb::ColumnFamilyHandle*> by_name;
    for (size_t i = 0; i < handles.size(); ++i) {
      by_name[handles[i]->GetName()] = handles[i];
    }
    extra(db.get(), by_name);
    for (const auto& [name, h] : by_name) {
      if (std::find(handles.begin(), handles.end(), h) == handles.end()) {
        handles.push_back(h);
      }
    }
  }
  for (auto* h : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(h).ok());
  ASSERT_TRUE(db->Close().ok());
}

std::vector<std::string> ListColumns(const std::string& datadir) {
  std::vector<std::string> names;
  EXPECT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::Options(),
                                              datadir + "/chain", &names)
                  .ok());
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<AddressIndexEntry> AddressIndexOf(ChainStore& store) {
  return Snapshot(store).address_index;
}

// A datadir with a random history (reorgs, invalid blocks, transfers to
// oneself) closed cleanly; returns its address index and its tip.
std::vector<AddressIndexEntry> MakeRandomDatadir(const std::string& datadir,
                                                 const ChainParams& p,
                                                 uint64_t seed,
                                                 Hash256* tip = nullptr) {
  std::unique_ptr<RocksChainStore> store = OpenOrDie(datadir);
  EXPECT_NE(store, nullptr);
  if (store == nullptr) return {};
  auto state = *ChainState::Create(p, store.get(), FixedClock());
  for (const Block& b : RandomBlocks(p, 4, seed, 40)) {
    EXPECT_TRUE(state->AcceptBlock(b).ok());
  }
  if (tip != nullptr) *tip = state->Tip().hash;
  std::vector<AddressIndexEntry> index = AddressIndexOf(*store);
  EXPECT_EQ(index, ExpectedAddressIndex(*state));
  return index;
}

TEST(RocksChainStoreAddressIndexTest, Schema1DatadirIsUpgradedOnOpen) {
  TempDir tmp;
  const std::string datadir = tmp.Sub("datadir");
  const ChainParams p = TestParams(4, 1000);
  Hash256 tip;
  const std::vector<AddressIndexEntry> fresh =
      MakeRandomDatadir(datadir, p, 7, &tip);
  ASSERT_GT(fresh.size(), 40u);
  MakeSchema1(datadir);
  std::vector<std::string> v1_columns = ColumnNames();
  v1_columns.erase(v1_columns.begin() + static_cast<int>(Column::kAddrIndex));
  std::sort(v1_columns.begin(), v1_columns.end());
  ASSERT_EQ(ListColumns(datadir), v1_columns);

  std::vector<std::string> log;
  RocksStoreOptions options;
  options.create_if_missing = false;
  options.log = [&log](const std::string& line) { log.push_back(line); };
  {
    std::unique_ptr<RocksChainStore> store = OpenOrDie(datadir, options);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(AddressIndexOf(*store), fresh);
    ASSERT_GE(log.size(), 2u);
    EXPECT_THAT(log.front(), HasSubstr("schema version 1 to 2"));
    EXPECT_THAT(log.back(), HasSubstr("upgraded to schema version 2"));
    auto state = ChainState::Create(p, store.get(), FixedClock());
    ASSERT_TRUE(state.ok()) << state.status();
    EXPECT_EQ((*state)->Tip().hash, tip);
    absl::StatusOr<VerifyReport> report = VerifyStore(*store);
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_TRUE(report->ok()) << ::testing::PrintToString(report->mismatches);
    EXPECT_EQ(report->address_index_entries, fresh.size());
  }
  // Now schema 2: opens without another upgrade.
  std::vector<std::string> all = ColumnNames();
  std::sort(all.begin(), all.end());
  EXPECT_EQ(ListColumns(datadir), all);
  EXPECT_EQ(RawContents(datadir).at("meta").at("schema_version"),
            std::string("\x02\0\0\0", 4));
  log.clear();
  std::unique_ptr<RocksChainStore> store = OpenOrDie(datadir, options);
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(log.empty()) << ::testing::PrintToString(log);
  EXPECT_EQ(AddressIndexOf(*store), fresh);
}

// A kill during the upgrade leaves the new column family with part of the
// index (or anything) and schema 1: the next open rebuilds it from scratch.
TEST(RocksChainStoreAddressIndexTest, InterruptedUpgradeIsRedoneFromScratch) {
  TempDir tmp;
  const std::string datadir = tmp.Sub("datadir");
  const ChainParams p = TestParams(4, 1000);
  const std::vector<AddressIndexEntry> fresh =
      MakeRandomDatadir(datadir, p, 11);
  ASSERT_GT(fresh.size(), 10u);
  Address stray_address;
  stray_address.bytes.fill(0x42);
  MakeSchema1(datadir, [&](rocksdb::DB* db, auto& cfs) {
    rocksdb::ColumnFamilyHandle* h = nullptr;
    ASSERT_TRUE(
        db->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), "addrindex", &h)
            .ok());
    cfs["addrindex"] = h;
    // Half of the real index, one entry with a wrong txid, one stray entry.
    for (size_t i = 0; i < fresh.size() / 2; ++i) {
      const AddressIndexEntry& e = fresh[i];
      std::string txid(e.txid.bytes.begin(), e.txid.bytes.end());
      if (i == 0) txid[0] ^= 1;
      ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), h,
                          AddressIndexKey(e.address, e.position), txid)
                      .ok());
    }
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), h,
                        AddressIndexKey(stray_address, {5, 1}),
                        std::string(32, 'x'))
                    .ok());
  });
  RocksStoreOptions options;
  options.log = [](const std::string&) {};
  std::unique_ptr<RocksChainStore> store = OpenOrDie(datadir, options);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(AddressIndexOf(*store), fresh);
  EXPECT_TRUE(
      store->ScanAddressIndex(stray_address, std::nullopt, 10)->empty());
  absl::StatusOr<VerifyReport> report = VerifyStore(*store);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok()) << ::testing::PrintToString(report->mismatches);
}

// Schema 2 without the address index column family is damage, not schema 1:
// refused without changing a file.
TEST(RocksChainStoreAddressIndexTest, Schema2WithoutAddressIndexIsDamaged) {
  TempDir tmp;
  const std::string datadir = tmp.Sub("datadir");
  MakeDatadir(datadir, TestParams(2));
  MakeSchema1(datadir, [](rocksdb::DB* db, auto& cfs) {
    const char two[4] = {2, 0, 0, 0};
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), cfs.at("meta"),
                        "schema_version", rocksdb::Slice(two, 4))
                    .ok());
  });
  const auto files = FileContents(datadir);
  absl::StatusOr<std::unique_ptr<RocksChainStore>> s =
      RocksChainStore::Open(datadir);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kDataLoss) << s.status();
  EXPECT_THAT(s.status().message(), HasSubstr("damaged"));
  EXPECT_THAT(s.status().message(), HasSubstr(datadir));
  EXPECT_EQ(FileContents(datadir), files);
}

// A reorg takes the disconnected blocks' entries out of the index (RocksDB
// store, after a reopen) and puts the new branch's in.
TEST(RocksChainStoreAddressIndexTest, ReorgRemovesTheOldBranchEntries) {
  TempDir tmp;
  const std::string datadir = tmp.Sub("datadir");
  const ChainParams p = TestParams(2);
  const Block g = MakeGenesisBlock(p);
  const Address a0 = AddressFromPublicKey(TestKey(0).public_key());
  const Address a1 = AddressFromPublicKey(TestKey(1).public_key());
  Address miner_a, miner_b;
  miner_a.bytes.fill(0xa1);
  miner_b.bytes.fill(0xb2);
  const Transaction pay = MakeTransfer(p, TestKey(0), a1, 10, 1, 0);
  Block a_1 = MakeBlock(p, g.header, 0, {pay}, miner_a, 1);
  Block b_1 = MakeBlock(p, g.header, 0, {}, miner_b, 2);
  Block b_2 = MakeBlock(p, b_1.header, 1, {}, miner_b, 3);
  {
    std::unique_ptr<RocksChainStore> store = OpenOrDie(datadir);
    ASSERT_NE(store, nullptr);
    auto state = *ChainState::Create(p, store.get(), FixedClock());
    ASSERT_EQ(state->AcceptBlock(a_1)->status, AcceptStatus::kActive);
    EXPECT_EQ(*store->ScanAddressIndex(a0, std::nullopt, 10),
              (std::vector<AddressIndexEntry>{{a0, {1, 1}, pay.Id()},
                                              {a0, {0, 1}, g.txs[1].Id()}}));
    EXPECT_EQ(store->ScanAddressIndex(miner_a, std::nullopt, 10)->size(), 1u);
    ASSERT_EQ(state->AcceptBlock(b_1)->status, AcceptStatus::kSideBranch);
    EXPECT_TRUE(store->ScanAddressIndex(miner_b, std::nullopt, 10)->empty());
    ASSERT_EQ(state->AcceptBlock(b_2)->status, AcceptStatus::kActive);
  }
  std::unique_ptr<RocksChainStore> store = OpenOrDie(datadir);
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->ScanAddressIndex(miner_a, std::nullopt, 10)->empty());
  EXPECT_TRUE(store->ScanAddressIndex(a1, {{1, 0}}, 10)->size() == 1u);
  EXPECT_EQ(*store->ScanAddressIndex(a0, std::nullopt, 10),
            (std::vector<AddressIndexEntry>{{a0, {0, 1}, g.txs[1].Id()}}));
  EXPECT_EQ(
      *store->ScanAddressIndex(miner_b, std::nullopt, 10),
      (std::vector<AddressIndexEntry>{{miner_b, {2, 0}, b_2.txs[0].Id()},
                                      {miner_b, {1, 0}, b_1.txs[0].Id()}}));
}

// verify-db names a tampered address index: a missing entry, a wrong txid,
// an entry of a side-branch block.
TEST(RocksChainStoreAddressIndexTest, VerifyDetectsATamperedAddressIndex) {
  TempDir tmp;
  const ChainParams p = TestParams(2);
  const Block g = MakeGenesisBlock(p);
  const Address a1 = AddressFromPublicKey(TestKey(1).public_key());
  const Transaction pay = MakeTransfer(p, TestKey(0), a1, 10, 1, 0);
  std::unique_ptr<RocksChainStore> store = OpenOrDie(tmp.Sub("datadir"));
  ASSERT_NE(store, nullptr);
  auto state = *ChainState::Create(p, store.get(), FixedClock());
  Block b1 = MakeBlock(p, g.header, 0, {pay}, a1, 1);
  Block side = MakeBlock(p, g.header, 0, {}, a1, 3);
  ASSERT_EQ(state->AcceptBlock(b1)->status, AcceptStatus::kActive);
  ASSERT_EQ(state->AcceptBlock(side)->status, AcceptStatus::kSideBranch);
  const AddressIndexEntry right{a1, {1, 1}, pay.Id()};
  auto change = [&](std::optional<AddressIndexEntry> put,
                    std::optional<AddressIndexEntry> erase) {
    StateDelta d;
    if (put) d.address_index_put.push_back(*put);
    if (erase) d.address_index_erase.push_back(*erase);
    d.new_tip = b1.Hash();
    ASSERT_TRUE(store->Commit(d).ok());
  };
  auto verify = [&]() -> std::vector<std::string> {
    absl::StatusOr<VerifyReport> r = VerifyStore(*store);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->mismatches : std::vector<std::string>{"error"};
  };
  ASSERT_EQ(verify(), std::vector<std::string>{});

  change(std::nullopt, right);
  EXPECT_THAT(verify(),
              ::testing::ElementsAre(::testing::AllOf(
                  HasSubstr("address index entry"),
                  HasSubstr("height 1, index 1"), HasSubstr("is missing"))));
  AddressIndexEntry wrong = right;
  wrong.txid = g.txs[0].Id();
  change(wrong, std::nullopt);
  EXPECT_THAT(verify(), ::testing::ElementsAre(HasSubstr("replay gives")));
  change(right, std::nullopt);
  EXPECT_EQ(verify(), std::vector<std::string>{});
  // The side block's coinbase, as if its connect had been left behind.
  const AddressIndexEntry side_entry{a1, {1, 0}, side.txs[0].Id()};
  change(side_entry, std::nullopt);
  EXPECT_THAT(verify(), ::testing::ElementsAre(HasSubstr("replay gives")));
  change(AddressIndexEntry{a1, {2, 0}, side.txs[0].Id()}, std::nullopt);
  EXPECT_THAT(verify(), ::testing::Contains(HasSubstr("should not exist")));
}

}  // namespace
}  // namespace pbchain
