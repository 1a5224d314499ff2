// Headers-first sync through the gossip handlers, in process and step by
// step (no sync thread; Network::SyncStep runs its rounds): which header
// answers start a run, the run's download and connection, the runs that
// are dropped (no more work than ours, overtaken by our chain), header
// requests that time out on the FakeClock, and punished answers.
#include "node/p2p/block_sync.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "node/p2p/network.h"
#include "tests/chain/test_chain.h"
#include "tests/p2p/p2p_harness.h"

namespace pbchain::p2ptest {
namespace {

class BlockSyncTest : public P2pTest {
 protected:
  void Configure(NetworkOptions& options) override {
    options.sync_thread = false;
  }

  // `n` mined blocks on the stored block `base`, not given to the node.
  std::vector<Block> Branch(const Hash256& base, int n, uint64_t extra) {
    std::vector<Block> out;
    std::optional<BlockIndexEntry> e = chain().GetIndexEntry(base);
    EXPECT_TRUE(e.has_value());
    if (!e) return out;
    BlockHeader parent = e->header;
    uint32_t height = e->height;
    for (int i = 0; i < n; ++i) {
      out.push_back(testing::MakeBlock(
          params(), parent, height, {},
          AddressFromPublicKey(testing::TestKey(2).public_key()), extra));
      parent = out.back().header;
      ++height;
    }
    return out;
  }

  static std::vector<BlockHeader> HeadersOfBlocks(
      const std::vector<Block>& blocks) {
    std::vector<BlockHeader> out;
    for (const Block& b : blocks) out.push_back(b.header);
    return out;
  }

  // A Hello from a peer claiming `blocks` on top of genesis, with more
  // work than any chain in these tests.
  v1::Hello HelloWithMoreWork(const std::string& node_id,
                              const std::vector<Block>& blocks) {
    v1::Hello hello = HonestHello(node_id);
    hello.set_height(blocks.size());
    hello.set_tip_hash(Raw(blocks.back().Hash()));
    hello.set_chain_work("1000000");
    return hello;
  }

  static bool IsGetHeaders(const Envelope& e) { return e.has_get_headers(); }
};

TEST_F(BlockSyncTest, HeadersWithMoreWorkStartARunThatIsDownloaded) {
  const Hash256 genesis = chain().Tip().hash;
  Extend();  // our chain: 1 block
  const std::vector<Block> theirs = Branch(genesis, 3, /*extra=*/7);
  EXPECT_FALSE(network().syncing());

  std::unique_ptr<InboundPeer> peer =
      Greeted(HelloWithMoreWork("heavier", theirs));
  // Its Hello claims more work: we ask for its headers from our locator.
  std::optional<Envelope> request = (*peer)->WaitFor(IsGetHeaders);
  ASSERT_TRUE(request.has_value()) << (*peer)->Summary();
  ASSERT_GE(request->get_headers().locator_hashes_size(), 1);
  EXPECT_EQ(request->get_headers().locator_hashes(0), Raw(chain().Tip().hash));
  EXPECT_TRUE(network().syncing());

  ASSERT_TRUE((*peer)->Send(HeadersOf(HeadersOfBlocks(theirs))));
  ASSERT_TRUE((*peer)->Sync());
  EXPECT_TRUE(network().syncing()) << "a run with more work was not taken";
  network().SyncStep();
  // Bodies are asked for, all of them of the one peer that has them.
  std::optional<Envelope> get_data =
      (*peer)->WaitFor([](const Envelope& e) { return e.has_get_data(); });
  ASSERT_TRUE(get_data.has_value()) << (*peer)->Summary();
  for (const Block& b : theirs) {
    EXPECT_TRUE(GetDataHasBlock(*get_data, b.Hash()));
  }
  // Delivered out of order: connected in order.
  for (int i : {2, 0, 1}) {
    ASSERT_TRUE((*peer)->Send(BlockEnvelope(theirs[i])));
  }
  ASSERT_TRUE((*peer)->Sync());
  network().SyncStep();
  EXPECT_EQ(chain().Tip().hash, theirs.back().Hash());
  EXPECT_EQ(chain().Tip().height, 3u);
  // Caught up: the same peer is asked once more; its empty answer ends it.
  EXPECT_TRUE(WaitUntil([&] { return (*peer)->Count(IsGetHeaders) == 2; }));
  ASSERT_TRUE((*peer)->Send(HeadersOf({})));
  ASSERT_TRUE((*peer)->Sync());
  EXPECT_FALSE(network().syncing());
  EXPECT_EQ(ScoreOf("heavier"), std::optional<int>(0));
}

TEST_F(BlockSyncTest, HeadersWithoutMoreWorkAreNotDownloaded) {
  const Hash256 genesis = chain().Tip().hash;
  Extend();
  Extend();
  Extend();  // 3 blocks: more work than their 2
  const std::vector<Block> theirs = Branch(genesis, 2, /*extra=*/7);
  std::unique_ptr<InboundPeer> peer =
      Greeted(HelloWithMoreWork("boaster", theirs));
  ASSERT_TRUE((*peer)->WaitFor(IsGetHeaders).has_value());
  EXPECT_TRUE(network().syncing());
  ASSERT_TRUE((*peer)->Send(HeadersOf(HeadersOfBlocks(theirs))));
  ASSERT_TRUE((*peer)->Sync());
  EXPECT_FALSE(network().syncing());
  network().SyncStep();
  ASSERT_TRUE((*peer)->Sync());
  EXPECT_EQ((*peer)->Count([](const Envelope& e) { return e.has_get_data(); }),
            0);
  EXPECT_EQ(chain().Tip().height, 3u);
  // Valid headers of a lighter chain are no offence.
  EXPECT_EQ(ScoreOf("boaster"), std::optional<int>(0));
}

TEST_F(BlockSyncTest, ARunOvertakenByOurChainIsDropped) {
  const Hash256 genesis = chain().Tip().hash;
  Extend();
  const std::vector<Block> theirs = Branch(genesis, 3, /*extra=*/7);
  std::unique_ptr<InboundPeer> peer =
      Greeted(HelloWithMoreWork("too-slow", theirs));
  ASSERT_TRUE((*peer)->WaitFor(IsGetHeaders).has_value());
  ASSERT_TRUE((*peer)->Send(HeadersOf(HeadersOfBlocks(theirs))));
  ASSERT_TRUE((*peer)->Sync());
  network().SyncStep();
  ASSERT_TRUE((*peer)
                  ->WaitFor([](const Envelope& e) { return e.has_get_data(); })
                  .has_value());
  ASSERT_TRUE(network().syncing());
  // Our own chain grows past theirs before the bodies come.
  Extend();
  Extend();
  Extend();
  EXPECT_FALSE(network().syncing());
  network().SyncStep();  // the run is dropped
  for (const Block& b : theirs) ASSERT_TRUE((*peer)->Send(BlockEnvelope(b)));
  ASSERT_TRUE((*peer)->Sync());
  network().SyncStep();
  // The late bodies were relayed blocks of a lighter chain: not stored.
  for (const Block& b : theirs) {
    EXPECT_FALSE(chain().GetIndexEntry(b.Hash()).has_value())
        << "block " << b.Hash().ToDisplayHex() << " of a dropped run stored";
  }
  EXPECT_EQ(chain().Tip().height, 4u);
  // The orphans among them made us ask for its headers; its lighter chain
  // is no reason to sync.
  ASSERT_TRUE((*peer)->Send(HeadersOf(HeadersOfBlocks(theirs))));
  ASSERT_TRUE((*peer)->Sync());
  EXPECT_FALSE(network().syncing());
  EXPECT_EQ(ScoreOf("too-slow"), std::optional<int>(0));
}

TEST_F(BlockSyncTest, AHeaderRequestThatTimesOutGoesToTheNextPeer) {
  const std::vector<Block> theirs = Branch(chain().Tip().hash, 2, /*extra=*/7);
  std::unique_ptr<InboundPeer> silent =
      Greeted(HelloWithMoreWork("silent", theirs));
  std::unique_ptr<InboundPeer> next =
      Greeted(HelloWithMoreWork("next-in-line", theirs));
  ASSERT_TRUE((*silent)->WaitFor(IsGetHeaders).has_value());
  EXPECT_EQ((*next)->Count(IsGetHeaders), 0) << "two header requests at once";
  network().SyncStep();
  ASSERT_TRUE((*next)->Sync());  // after anything the step sent it
  EXPECT_EQ((*next)->Count(IsGetHeaders), 0) << "asked before the timeout";

  clock().Advance(kSyncRequestTimeout + absl::Seconds(1));
  network().SyncStep();
  EXPECT_TRUE((*next)->WaitFor(IsGetHeaders).has_value()) << (*next)->Summary();
  // The late answer is ignored, not punished.
  ASSERT_TRUE((*silent)->Send(HeadersOf(HeadersOfBlocks(theirs))));
  ASSERT_TRUE((*silent)->Sync());
  EXPECT_EQ(ScoreOf("silent"), std::optional<int>(0));
  network().SyncStep();
  ASSERT_TRUE((*silent)->Sync());
  EXPECT_EQ(
      (*silent)->Count([](const Envelope& e) { return e.has_get_data(); }), 0);
  // The answer of the peer asked next starts the run; the bodies may be
  // asked of either peer (both claim the blocks), once.
  ASSERT_TRUE((*next)->Send(HeadersOf(HeadersOfBlocks(theirs))));
  ASSERT_TRUE((*next)->Sync());
  EXPECT_TRUE(network().syncing());
  network().SyncStep();
  ASSERT_TRUE((*silent)->Sync());
  ASSERT_TRUE((*next)->Sync());
  auto asks_first = [&](const Envelope& e) {
    return GetDataHasBlock(e, theirs[0].Hash());
  };
  EXPECT_EQ((*silent)->Count(asks_first) + (*next)->Count(asks_first), 1)
      << (*silent)->Summary() << "\n"
      << (*next)->Summary();
}

TEST_F(BlockSyncTest, UnsolicitedHeadersCostTenPoints) {
  std::unique_ptr<InboundPeer> peer = Greeted("pushy");
  const std::vector<Block> theirs = Branch(chain().Tip().hash, 1, 7);
  ASSERT_TRUE((*peer)->Send(HeadersOf(HeadersOfBlocks(theirs))));
  ASSERT_TRUE((*peer)->Sync());
  EXPECT_EQ(ScoreOf("pushy"), std::optional<int>(10));
  EXPECT_FALSE(network().syncing());
}

TEST_F(BlockSyncTest, AnInvalidHeaderBansItsSender) {
  std::vector<Block> theirs = Branch(chain().Tip().hash, 3, /*extra=*/7);
  std::unique_ptr<InboundPeer> peer =
      Greeted(HelloWithMoreWork("bad-headers", theirs));
  ASSERT_TRUE((*peer)->WaitFor(IsGetHeaders).has_value());
  std::vector<BlockHeader> headers = HeadersOfBlocks(theirs);
  Solve(headers[1], /*valid=*/false);  // misses its target
  headers[2].prev_hash = headers[1].Hash();
  Solve(headers[2]);
  ASSERT_TRUE((*peer)->Send(HeadersOf(headers)));
  EXPECT_TRUE((*peer)->WaitForReject(v1::REJECT_CODE_BANNED).has_value())
      << (*peer)->Summary();
  EXPECT_TRUE((*peer)->WaitForEnd());
  network().SyncStep();
  // Its valid first header beats our chain, but its sender is gone: no
  // body is asked for, nothing is connected.
  EXPECT_EQ((*peer)->Count([](const Envelope& e) { return e.has_get_data(); }),
            0);
  EXPECT_EQ(chain().Tip().height, 0u);
  EXPECT_TRUE(WaitUntil([&] { return !ScoreOf("bad-headers").has_value(); }));
}

TEST_F(BlockSyncTest, WhileSyncingAnAnnouncedBlockWaitsForTheHeaders) {
  const std::vector<Block> theirs = Branch(chain().Tip().hash, 2, 7);
  std::unique_ptr<InboundPeer> syncer =
      Greeted(HelloWithMoreWork("sync-source", theirs));
  ASSERT_TRUE((*syncer)->WaitFor(IsGetHeaders).has_value());
  ASSERT_TRUE(network().syncing());
  std::unique_ptr<InboundPeer> announcer = Greeted("announcer");
  ASSERT_TRUE((*announcer)->Send(InventoryOf({theirs[0].Hash()}, {})));
  ASSERT_TRUE((*announcer)->Sync());
  EXPECT_EQ(
      (*announcer)->Count([](const Envelope& e) { return e.has_get_data(); }),
      0)
      << "a block was asked for outside the sync";
  // The announcer's headers are asked for once the current request ends.
  EXPECT_EQ((*announcer)->Count(IsGetHeaders), 0);
  ASSERT_TRUE((*syncer)->Send(HeadersOf({})));
  EXPECT_TRUE((*announcer)->WaitFor(IsGetHeaders).has_value())
      << (*announcer)->Summary();
}

}  // namespace
}  // namespace pbchain::p2ptest
