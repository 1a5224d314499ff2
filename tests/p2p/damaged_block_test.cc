// A node whose datadir has a damaged block table answers a peer's GetData
// for a block it cannot read with NotFound (so the peer fetches it from
// another node), without punishing anyone, counts every such read and
// reports the first to its store listener (health).
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chain/block.h"
#include "gtest/gtest.h"
#include "node/core/node.h"
#include "node/p2p/network.h"
#include "rocksdb/db.h"
#include "tests/chain/test_chain.h"
#include "tests/p2p/p2p_harness.h"

namespace pbchain::p2ptest {
namespace {

// The blocks column family of the RocksDB database at `db_path` compacted
// into one table file, and 32 bytes of its first data block overwritten:
// the block bodies stored there fail their checksum when read.
void DamageBlockTable(const std::string& db_path) {
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
  std::vector<rocksdb::LiveFileMetaData> files;
  db->GetLiveFilesMetaData(&files);
  std::string table;
  for (const rocksdb::LiveFileMetaData& f : files) {
    if (f.column_family_name == "blocks") table = f.db_path + f.name;
  }
  for (rocksdb::ColumnFamilyHandle* h : handles) {
    db->DestroyColumnFamilyHandle(h);
  }
  ASSERT_TRUE(db->Close().ok());
  db.reset();
  ASSERT_FALSE(table.empty());
  std::fstream f(table, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(64);
  const std::string junk(32, '\x5A');
  f.write(junk.data(), junk.size());
  ASSERT_TRUE(f.good());
}

class DamagedBlockTest : public P2pTest {
 protected:
  // Stops the node, damages its block table, starts it (and its Network)
  // again on the same datadir.
  void DamageAndRestart() {
    network_->Stop();
    network_.reset();
    node_.reset();
    DamageBlockTable(dir_ + "/data/chain");
    if (HasFatalFailure()) return;
    NodeOptions node_options;
    node_options.datadir = dir_ + "/data";
    node_options.params = params_;
    absl::StatusOr<std::unique_ptr<Node>> node = Node::Create(node_options);
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = *std::move(node);
    NetworkOptions options;
    options.advertise = "127.0.0.1:17001";
    options.clock = &clock_;
    options.dialer = dialer_;
    options.maintenance_thread = false;
    network_ = std::make_unique<Network>(node_.get(), options);
    network_->Start();
  }
};

TEST_F(DamagedBlockTest, GetDataOfADamagedBlockIsNotFoundCountedOnce) {
  std::vector<Hash256> hashes;
  for (int i = 0; i < 40; ++i) hashes.push_back(Extend().Hash());
  DamageAndRestart();
  if (HasFatalFailure()) return;
  std::vector<StoreHealth> reports;
  node().SetStoreListener(
      [&reports](const StoreHealth& h) { reports.push_back(h); });
  std::optional<Hash256> damaged, intact;
  for (const Hash256& h : hashes) {
    absl::StatusOr<Block> b = chain().GetBlock(h);
    if (b.ok()) {
      intact = h;
    } else if (absl::IsDataLoss(b.status())) {
      damaged = h;
    }
  }
  ASSERT_TRUE(damaged.has_value()) << "the overwritten bytes hit no block";
  ASSERT_TRUE(intact.has_value());
  EXPECT_EQ(node().store_health().damaged_reads, 0u);

  std::unique_ptr<InboundPeer> peer = Greeted("asker");
  ASSERT_TRUE((*peer)->Send(GetDataOf({*intact, *damaged}, {})));
  std::optional<Envelope> missing =
      (*peer)->WaitFor([](const Envelope& e) { return e.has_not_found(); });
  ASSERT_TRUE(missing.has_value()) << (*peer)->Summary();
  ASSERT_EQ(missing->not_found().block_hashes_size(), 1);
  EXPECT_EQ(missing->not_found().block_hashes(0), Raw(*damaged));
  EXPECT_TRUE(
      (*peer)->WaitFor([](const Envelope& e) { return e.has_block(); }));
  StoreHealth health = node().store_health();
  EXPECT_EQ(health.damaged_reads, 1u);
  EXPECT_EQ(health.damaged_blocks, 1u);
  EXPECT_EQ(health.condition, StoreCondition::kWritable);
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_EQ(reports[0].damaged_reads, 1u);

  // Asked again: NotFound again, counted, not reported again.
  ASSERT_TRUE((*peer)->Send(GetDataOf({*damaged}, {})));
  ASSERT_TRUE((*peer)->Sync());
  EXPECT_EQ((*peer)->Count([](const Envelope& e) { return e.has_not_found(); }),
            2);
  health = node().store_health();
  EXPECT_EQ(health.damaged_reads, 2u);
  EXPECT_EQ(health.damaged_blocks, 1u);
  EXPECT_EQ(reports.size(), 1u);
  // Nobody is punished for our damage.
  EXPECT_EQ(ScoreOf("asker"), std::optional<int>(0));
}

// The other side: a syncing node asks a peer whose datadir is damaged for
// bodies, gets NotFound for one, and fetches it from another peer.
class SyncAroundDamageTest : public P2pTest {
 protected:
  void Configure(NetworkOptions& options) override {
    options.sync_thread = false;
  }

  // `n` mined blocks on genesis, not given to the node.
  std::vector<Block> Theirs(int n) {
    std::vector<Block> out;
    BlockHeader parent = chain().Tip().header;
    uint32_t height = chain().Tip().height;
    for (int i = 0; i < n; ++i) {
      out.push_back(testing::MakeBlock(
          params(), parent, height, {},
          AddressFromPublicKey(testing::TestKey(2).public_key()), 7));
      parent = out.back().header;
      ++height;
    }
    return out;
  }

  v1::Hello HelloWithMoreWork(const std::string& node_id,
                              const std::vector<Block>& blocks) {
    v1::Hello hello = HonestHello(node_id);
    hello.set_height(blocks.size());
    hello.set_tip_hash(Raw(blocks.back().Hash()));
    hello.set_chain_work("1000000");
    return hello;
  }
};

TEST_F(SyncAroundDamageTest, ABlockOnePeerCannotServeIsFetchedFromAnother) {
  const std::vector<Block> theirs = Theirs(3);
  std::vector<BlockHeader> headers;
  for (const Block& b : theirs) headers.push_back(b.header);
  std::unique_ptr<InboundPeer> damaged =
      Greeted(HelloWithMoreWork("damaged", theirs));
  ASSERT_TRUE((*damaged)->WaitFor(
      [](const Envelope& e) { return e.has_get_headers(); }));
  ASSERT_TRUE((*damaged)->Send(HeadersOf(headers)));
  ASSERT_TRUE((*damaged)->Sync());
  std::unique_ptr<InboundPeer> healthy =
      Greeted(HelloWithMoreWork("healthy", theirs));
  network().SyncStep();
  std::optional<Envelope> asked = (*damaged)->WaitFor(
      [&](const Envelope& e) { return GetDataHasBlock(e, theirs[1].Hash()); });
  ASSERT_TRUE(asked.has_value()) << (*damaged)->Summary();
  // The damaged peer serves what it can read and lists the rest in
  // NotFound, as Relay::HandleGetData does for a damaged datadir.
  for (const Block& b : theirs) {
    if (!GetDataHasBlock(*asked, b.Hash())) continue;
    if (b.Hash() == theirs[1].Hash()) continue;
    ASSERT_TRUE((*damaged)->Send(BlockEnvelope(b)));
  }
  Envelope not_found;
  not_found.mutable_not_found()->add_block_hashes(Raw(theirs[1].Hash()));
  ASSERT_TRUE((*damaged)->Send(not_found));
  ASSERT_TRUE((*damaged)->Sync());
  // Blocks the damaged peer was asked for but not sent yet (if it was not
  // asked for all) come from the healthy one, as the missing one must.
  bool done = WaitUntil([&] {
    network().SyncStep();
    for (const Block& b : theirs) {
      if ((*healthy)->Count([&](const Envelope& e) {
            return GetDataHasBlock(e, b.Hash());
          }) > 0 &&
          !chain().GetIndexEntry(b.Hash()).has_value()) {
        (*healthy)->Send(BlockEnvelope(b));
      }
    }
    (*healthy)->Sync();
    return chain().Tip().hash == theirs.back().Hash();
  });
  EXPECT_TRUE(done) << "damaged: " << (*damaged)->Summary()
                    << "\nhealthy: " << (*healthy)->Summary();
  EXPECT_GE((*healthy)->Count([&](const Envelope& e) {
    return GetDataHasBlock(e, theirs[1].Hash());
  }),
            1);
  EXPECT_EQ(ScoreOf("damaged"), std::optional<int>(0));
}

}  // namespace
}  // namespace pbchain::p2ptest
