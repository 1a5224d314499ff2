// A node that joins late downloads a long chain: one node mines 2,000 blocks
// on a genesis without retargeting and with the easiest bits (blocks as fast
// as it can store them), stops mining, and a fresh node given it as --peer
// syncs to the same tip, stops reporting syncing, and serves the same blocks.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/network/net_harness.h"

namespace pbchain::nettest {
namespace {

constexpr uint64_t kBlocks = 2000;

TEST(LateSyncTest, FreshNodeDownloadsTwoThousandBlocks) {
  // Median-time-past rises by about one second every six blocks when blocks
  // come faster than one a second, so 2,000 blocks run ~6 minutes ahead of
  // the clock: allow an hour.
  TestNet net("late_sync", GenesisConfig{.target_interval_ms = 1000,
                                         .bits = "0x207fffff",
                                         .difficulty_window = 0,
                                         .max_future_block_time_s = 3600});
  ASSERT_TRUE(net.ok());

  NodeProcess* source = net.StartNode("source", NodeConfig{.mine = true});
  ASSERT_NE(source, nullptr);
  const absl::Time mining_start = absl::Now();
  ASSERT_TRUE(WaitFor(
      [&](std::string& seen) {
        absl::StatusOr<v1::GetInfoResponse> info = source->Info();
        seen = info.ok() ? absl::StrCat("height ", info->height())
                         : info.status().ToString();
        return info.ok() && info->height() >= kBlocks;
      },
      absl::Seconds(90),
      absl::StrCat("the source to mine ", kBlocks, " blocks"),
      absl::Milliseconds(500)));
  std::cout << "mined " << kBlocks << "+ blocks in "
            << absl::FormatDuration(absl::Now() - mining_start) << "\n";

  // Stop mining: restart without --mine on the same datadir.
  ASSERT_TRUE(net.RestartNode(source, NodeConfig{}));
  absl::StatusOr<v1::GetInfoResponse> src = source->Info();
  ASSERT_TRUE(src.ok()) << src.status();
  ASSERT_GE(src->height(), kBlocks);
  EXPECT_FALSE(src->mining());

  NodeProcess* fresh =
      net.StartNode("fresh", NodeConfig{.peers = {source->address()}});
  ASSERT_NE(fresh, nullptr);
  const absl::Time sync_start = absl::Now();
  ASSERT_TRUE(WaitFor(
      [&](std::string& seen) {
        absl::StatusOr<v1::GetInfoResponse> info = fresh->Info();
        if (!info.ok()) {
          seen = info.status().ToString();
          return false;
        }
        seen = absl::StrCat(
            "fresh h=", info->height(), " syncing=", info->syncing(),
            " peers=", info->peer_count(), "; source h=", src->height());
        return info->tip_hash() == src->tip_hash();
      },
      absl::Seconds(60), "the fresh node to reach the source's tip",
      absl::Milliseconds(500)));
  std::cout << "synced " << src->height() << " blocks in "
            << absl::FormatDuration(absl::Now() - sync_start) << "\n";

  // Done syncing, same work, and the source did not move.
  EXPECT_TRUE(WaitFor(
      [&](std::string& seen) {
        absl::StatusOr<v1::GetInfoResponse> info = fresh->Info();
        seen = info.ok() ? absl::StrCat("syncing=", info->syncing())
                         : info.status().ToString();
        return info.ok() && !info->syncing();
      },
      absl::Seconds(15), "the fresh node to stop syncing"));
  absl::StatusOr<v1::GetInfoResponse> got = fresh->Info();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->height(), src->height());
  EXPECT_EQ(got->chain_work(), src->chain_work());
  EXPECT_EQ(got->genesis_hash(), src->genesis_hash());
  absl::StatusOr<v1::GetInfoResponse> src_now = source->Info();
  ASSERT_TRUE(src_now.ok());
  EXPECT_EQ(src_now->tip_hash(), src->tip_hash());

  // The fresh node serves the same blocks (body and hash), e.g. height 1000.
  for (uint64_t height : {uint64_t{1}, uint64_t{1000}, src->height()}) {
    absl::StatusOr<v1::GetBlockResponse> a = source->BlockAt(height);
    absl::StatusOr<v1::GetBlockResponse> b = fresh->BlockAt(height);
    ASSERT_TRUE(a.ok()) << a.status();
    ASSERT_TRUE(b.ok()) << "fresh GetBlock(" << height << "): " << b.status();
    EXPECT_EQ(b->hash(), a->hash()) << "height " << height;
    EXPECT_EQ(b->block().SerializeAsString(), a->block().SerializeAsString())
        << "height " << height;
    EXPECT_TRUE(b->in_main_chain());
  }

  // The fresh node knows the source as its peer.
  absl::StatusOr<v1::ListPeersResponse> peers = fresh->Peers();
  ASSERT_TRUE(peers.ok()) << peers.status();
  EXPECT_NE(FindConnected(*peers, src->node_id()), nullptr)
      << "the fresh node does not list the source as connected";
}

}  // namespace
}  // namespace pbchain::nettest
