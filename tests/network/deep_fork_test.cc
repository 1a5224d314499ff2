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
#include "node/p2p/wire.h"
#include "proto/convert.h"
#include "tests/network/gossip_client.h"
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
                    uint32_t length, int miner_key,
                    std::vector<BlockHeader>* branch_headers = nullptr) {
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
  for (uint32_t h = kCommon + 1; branch_headers && h <= kCommon + length;
       ++h) {
    branch_headers->push_back(
        chain->GetIndexEntry(*chain->ActiveHashAt(h))->header);
  }
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

// A peer that claims more work and answers with a full batch of valid
// headers (2,000) of a fork that turns out to have less work than the
// node's chain: the node follows up once, then drops the run and is not
// "syncing" any more (a stuck run would stop its relay for good). The peer
// is not punished: its headers were valid.
TEST(DeepForkTest, AForkWithoutMoreWorkIsDroppedAndSyncEnds) {
  TestNet net("light_fork",
              GenesisConfig{.target_interval_ms = 1000,
                            .bits = "0x207fffff",
                            .difficulty_window = 0,
                            .max_future_block_time_s = 86400});
  ASSERT_TRUE(net.ok());
  constexpr uint32_t kOurs = 2100;
  constexpr uint32_t kFork = 2000;  // exactly one full answer
  const Branch ours = BuildDatadir(net, net.Sub("node"), kOurs, 5);
  std::vector<BlockHeader> fork_headers;
  BuildDatadir(net, net.Sub("fork-source"), kFork, 6, &fork_headers);
  ASSERT_EQ(fork_headers.size(), kFork);

  NodeProcess* node = net.StartNode("node", NodeConfig{});
  ASSERT_NE(node, nullptr);
  absl::StatusOr<v1::GetInfoResponse> info = node->Info();
  ASSERT_TRUE(info.ok());
  ASSERT_EQ(info->height(), kCommon + kOurs);

  GossipSession peer(node->address());
  const std::string id = RandomNodeId();
  v1::GossipEnvelope hello = MakeHello(info->genesis_hash(), id);
  hello.mutable_hello()->set_chain_work("999999999999");  // a claim only
  ASSERT_TRUE(peer.Send(hello));
  auto is_get_headers = [](const v1::GossipEnvelope& m) {
    return m.has_get_headers();
  };
  ASSERT_TRUE(peer.WaitForMessage(is_get_headers, absl::Seconds(10)))
      << peer.ReceivedSummary();
  v1::GossipEnvelope answer;
  for (const BlockHeader& h : fork_headers) {
    *answer.mutable_headers()->add_headers() = BlockHeaderToProto(h);
  }
  ASSERT_TRUE(peer.Send(answer));
  // A full answer is followed up from its last header.
  const std::string fork_tip = HashBytes(fork_headers.back().Hash());
  ASSERT_TRUE(peer.WaitForMessage(
      [&](const v1::GossipEnvelope& m) {
        return m.has_get_headers() &&
               m.get_headers().locator_hashes_size() > 0 &&
               m.get_headers().locator_hashes(0) == fork_tip;
      },
      absl::Seconds(10)))
      << peer.ReceivedSummary();
  v1::GossipEnvelope nothing_more;
  nothing_more.mutable_headers();
  ASSERT_TRUE(peer.Send(nothing_more));

  ASSERT_TRUE(WaitFor(
      [&](std::string& seen) {
        absl::StatusOr<v1::GetInfoResponse> now = node->Info();
        seen = node->Summary();
        return now.ok() && !now->syncing();
      },
      absl::Seconds(10), "the node to stop syncing after the fork ended"));
  info = node->Info();
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->tip_hash(), HashBytes(ours.tip));
  EXPECT_TRUE(peer.PingPong(absl::Seconds(5)));
  absl::StatusOr<v1::ListPeersResponse> peers = node->Peers();
  ASSERT_TRUE(peers.ok());
  const v1::ConnectedPeer* us = FindConnected(*peers, id);
  ASSERT_NE(us, nullptr);
  EXPECT_EQ(us->misbehavior_score(), 0);
}

}  // namespace
}  // namespace pbchain::nettest
