// A fork deeper than one Headers answer (2,000) still wins when it has more
// work: two datadirs share 10 blocks, then one grows 2,600 blocks and the
// other 2,300 (built in-process through the kernel, easy proof of work);
// the node on the lighter branch fetches the heavier branch's headers past
// the point where they out-work its own chain, then the bodies, and
// reorganizes 2,300 blocks deep.
#include <atomic>
#include <string>

#include "absl/strings/str_cat.h"
#include "chain/chain_state.h"
#include "chain/miner.h"
#include "gtest/gtest.h"
#include "storage/rocksdb_store.h"
#include "tests/chain/test_chain.h"
#include "node/wire.h"
#include "tests/network/net_harness.h"

namespace pbchain::nettest {
namespace {

constexpr uint32_t kCommon = 10;
constexpr uint32_t kHeavy = 2600;  // blocks after the common part
constexpr uint32_t kLight = 2300;

// Extends `chain` by `count` empty blocks paying `miner`, stamped one
// second apart from `first_time`.
Hash256 Grow(ChainState& chain, uint32_t count, const Address& miner,
             uint32_t first_time) {
  std::atomic<bool> abort{false};
  for (uint32_t i = 0; i < count; ++i) {
    Block block = *chain.CreateBlockTemplate(miner, {}, 0);
    block.header.time = first_time + i;
    MineBlock(block, 1, abort);
    absl::StatusOr<AcceptResult> r = chain.AcceptBlock(block);
    EXPECT_TRUE(r.ok() && r->status == AcceptStatus::kActive)
        << (r.ok() ? r->validation.message() : r.status().ToString());
  }
  return chain.Tip().hash;
}

struct Branch {
  Hash256 tip;
  Hash256 at_light_height;  // its block at height kCommon + kLight
};

Branch BuildDatadir(const TestNet& net, const std::string& datadir,
                    uint32_t length, int miner_key) {
  auto store = *RocksChainStore::Open(datadir);
  auto chain = *ChainState::Create(net.params(), store.get());
  const uint32_t t0 = net.params().genesis_time + 1;
  // The common part is the same in both (same miner, same times).
  Grow(*chain, kCommon, net.miner_address(), t0);
  const Address miner =
      AddressFromPublicKey(testing::TestKey(miner_key).public_key());
  Branch b;
  b.tip = Grow(*chain, length, miner, t0 + kCommon);
  b.at_light_height = *chain->ActiveHashAt(kCommon + kLight);
  return b;
}

TEST(DeepForkTest, LighterNodeReorganizesOntoAHeavierForkDeeperThan2000) {
  TestNet net("deep_fork",
              GenesisConfig{.target_interval_ms = 1000,
                            .bits = "0x207fffff",
                            .difficulty_window = 0,
                            .max_future_block_time_s = 86400});
  ASSERT_TRUE(net.ok());
  const Branch heavy = BuildDatadir(net, net.Sub("heavy"), kHeavy, 5);
  const Branch light = BuildDatadir(net, net.Sub("light"), kLight, 6);
  ASSERT_NE(heavy.at_light_height, light.tip);

  NodeProcess* h = net.StartNode("heavy", NodeConfig{});
  ASSERT_NE(h, nullptr);
  NodeProcess* l = net.StartNode(
      "light", NodeConfig{.peers = {h->address()}, .connect_only = true});
  ASSERT_NE(l, nullptr);

  std::optional<v1::GetInfoResponse> tip =
      WaitForSameTip({h, l}, kCommon + kHeavy, absl::Seconds(120));
  ASSERT_TRUE(tip.has_value());
  EXPECT_EQ(tip->height(), kCommon + kHeavy);
  EXPECT_EQ(tip->tip_hash(), HashBytes(heavy.tip));
  // The light node's own branch is gone from its main chain.
  absl::StatusOr<v1::GetBlockResponse> at = l->BlockAt(kCommon + kLight);
  ASSERT_TRUE(at.ok()) << at.status();
  EXPECT_EQ(at->hash(), HashBytes(heavy.at_light_height));
  EXPECT_FALSE(l->Info()->syncing());
}

}  // namespace
}  // namespace pbchain::nettest
