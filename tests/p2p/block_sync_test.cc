// Headers-first sync through the gossip handlers, in process and step by
// step (no sync thread; Network::SyncStep runs its rounds): which header
// answers start a run, the run's download and connection, the runs that
// are dropped (no more work than ours, overtaken by our chain, bodies
// nobody serves, no progress), header requests that time out on the
// FakeClock, punished answers, peers that withhold the bodies of their
// headers, and blocks on our own chain while a run is pending.
#include "node/p2p/block_sync.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "node/p2p/network.h"
#include "node/p2p/wire.h"
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
  static bool IsGetData(const Envelope& e) { return e.has_get_data(); }

  // The blocks the node asked `peer` for so far, in order, each once.
  static std::vector<Hash256> AskedBlocks(InboundPeer& peer) {
    std::vector<Hash256> out;
    peer->Count([&](const Envelope& e) {
      if (!e.has_get_data()) return false;
      std::optional<std::vector<Hash256>> hashes =
          ParseHashes(e.get_data().block_hashes());
      if (!hashes) return false;
      for (const Hash256& h : *hashes) {
        if (std::find(out.begin(), out.end(), h) == out.end()) {
          out.push_back(h);
        }
      }
      return true;
    });
    return out;
  }

  static Envelope NotFoundOf(const std::vector<Hash256>& blocks) {
    Envelope e;
    for (const Hash256& h : blocks) {
      e.mutable_not_found()->add_block_hashes(Raw(h));
    }
    return e;
  }

  // Runs sync rounds until the tip is `until` (or 50 rounds): the
  // withholder answers every body request with NotFound, the server sends
  // the blocks of `has` it is asked for. Returns how many blocks the
  // withholder was asked for.
  size_t WithholdAndServe(InboundPeer& withholder, InboundPeer& server,
                          const std::vector<Block>& has, const Hash256& until) {
    size_t withheld = 0;
    size_t served = 0;
    for (int round = 0; round < 50 && chain().Tip().hash != until; ++round) {
      network().SyncStep();
      EXPECT_TRUE(withholder->Sync());
      EXPECT_TRUE(server->Sync());
      const std::vector<Hash256> to_withhold = AskedBlocks(withholder);
      if (to_withhold.size() > withheld) {
        EXPECT_TRUE(withholder->Send(NotFoundOf(std::vector<Hash256>(
            to_withhold.begin() + withheld, to_withhold.end()))));
        EXPECT_TRUE(withholder->Sync());
        withheld = to_withhold.size();
      }
      const std::vector<Hash256> to_serve = AskedBlocks(server);
      for (; served < to_serve.size(); ++served) {
        for (const Block& b : has) {
          if (b.Hash() == to_serve[served]) {
            EXPECT_TRUE(server->Send(BlockEnvelope(b)));
          }
        }
      }
      EXPECT_TRUE(server->Sync());
    }
    return withheld;
  }

  // A peer that claims `theirs` (more work than ours) and has sent their
  // headers in answer to our request: the run is pending.
  std::unique_ptr<InboundPeer> WithRun(const std::string& node_id,
                                       const std::vector<Block>& theirs) {
    std::unique_ptr<InboundPeer> peer =
        Greeted(HelloWithMoreWork(node_id, theirs));
    EXPECT_TRUE((*peer)->WaitFor(IsGetHeaders).has_value())
        << (*peer)->Summary();
    EXPECT_TRUE((*peer)->Send(HeadersOf(HeadersOfBlocks(theirs))));
    EXPECT_TRUE((*peer)->Sync());
    EXPECT_TRUE(network().syncing()) << "the run was not taken";
    return peer;
  }
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
  // Nobody else has the one valid header's block: the run is over.
  EXPECT_TRUE(WaitUntil([&] { return !network().syncing(); }))
      << "a run only a banned peer could serve keeps the node syncing";
}

TEST_F(BlockSyncTest, ValidHeadersThenInvalidOnesBanTheSenderAndEndTheRun) {
  const std::vector<Block> theirs = Branch(chain().Tip().hash, 3, 7);
  std::unique_ptr<InboundPeer> peer = WithRun("valid-then-invalid", theirs);
  // It announces a block past the run; asked for headers from the run's
  // end, it answers with that block's header, which misses its target.
  BlockHeader bad = Branch(chain().Tip().hash, 1, 9)[0].header;
  bad.prev_hash = theirs.back().Hash();
  Solve(bad, /*valid=*/false);
  ASSERT_TRUE((*peer)->Send(InventoryOf({bad.Hash()}, {})));
  EXPECT_TRUE(WaitUntil([&] { return (*peer)->Count(IsGetHeaders) == 2; }))
      << (*peer)->Summary();
  ASSERT_TRUE((*peer)->Send(HeadersOf({bad})));
  EXPECT_TRUE((*peer)->WaitForReject(v1::REJECT_CODE_BANNED).has_value())
      << (*peer)->Summary();
  EXPECT_TRUE((*peer)->WaitForEnd());
  EXPECT_TRUE(WaitUntil([&] { return !network().syncing(); }))
      << "the banned peer's run keeps the node syncing";
  network().SyncStep();
  EXPECT_EQ(chain().Tip().height, 0u);
}

TEST_F(BlockSyncTest, ARunWhoseBodiesNobodyServesIsDropped) {
  const Hash256 genesis = chain().Tip().hash;
  const std::vector<Block> theirs = Branch(genesis, 3, /*extra=*/7);
  std::unique_ptr<InboundPeer> withholder = WithRun("withholder", theirs);
  network().SyncStep();
  ASSERT_TRUE((*withholder)->WaitFor(IsGetData).has_value())
      << (*withholder)->Summary();
  const std::vector<Hash256> asked = AskedBlocks(*withholder);
  ASSERT_EQ(asked.size(), theirs.size());
  ASSERT_TRUE((*withholder)->Send(NotFoundOf(asked)));
  ASSERT_TRUE((*withholder)->Sync());
  // Nobody else claims the blocks: the run ends at once.
  EXPECT_FALSE(network().syncing());
  // A first withheld run is free (it may have reorganized meanwhile).
  EXPECT_EQ(ScoreOf("withholder"), std::optional<int>(0));

  // An honest miner's block on our tip is asked for and taken as usual,
  // and announced to the other peers.
  std::unique_ptr<InboundPeer> miner = Greeted("miner");
  std::unique_ptr<InboundPeer> watcher = Greeted("watcher");
  const Block mined = BlockOn(genesis, {}, /*extra=*/11);
  ASSERT_TRUE((*miner)->Send(InventoryOf({mined.Hash()}, {})));
  ASSERT_TRUE((*miner)
                  ->WaitFor([&](const Envelope& e) {
                    return GetDataHasBlock(e, mined.Hash());
                  })
                  .has_value())
      << (*miner)->Summary();
  ASSERT_TRUE((*miner)->Send(BlockEnvelope(mined)));
  EXPECT_TRUE(WaitForTip(mined.Hash()));
  EXPECT_TRUE((*watcher)
                  ->WaitFor([&](const Envelope& e) {
                    return InventoryHasBlock(e, mined.Hash());
                  })
                  .has_value())
      << (*watcher)->Summary();
  network().SyncStep();
  EXPECT_EQ((*withholder)->Count(IsGetData), 1) << "asked again";
}

TEST_F(BlockSyncTest, APeerThatLeavesWithTheOnlyCopyEndsTheRun) {
  const std::vector<Block> theirs = Branch(chain().Tip().hash, 3, 7);
  std::unique_ptr<InboundPeer> leaver = WithRun("leaver", theirs);
  network().SyncStep();
  ASSERT_TRUE((*leaver)->WaitFor(IsGetData).has_value());
  leaver.reset();  // hangs up, the session ends
  EXPECT_TRUE(WaitUntil([&] { return !network().syncing(); }));
  EXPECT_EQ(chain().Tip().height, 0u);
}

TEST_F(BlockSyncTest, APeerWithTheSameHeadersServesWhatAnotherWithholds) {
  // More than one request's worth, so that both peers are asked.
  const std::vector<Block> theirs =
      Branch(chain().Tip().hash, kBlocksPerRequest + 4, 7);
  std::unique_ptr<InboundPeer> withholder = WithRun("withholder", theirs);
  // Another peer announces the run's last block: asked for headers from
  // the run's end, it has nothing newer, so it has the run.
  std::unique_ptr<InboundPeer> server = Greeted("server");
  ASSERT_TRUE((*server)->Send(InventoryOf({theirs.back().Hash()}, {})));
  std::optional<Envelope> request = (*server)->WaitFor(IsGetHeaders);
  ASSERT_TRUE(request.has_value()) << (*server)->Summary();
  ASSERT_GE(request->get_headers().locator_hashes_size(), 1);
  EXPECT_EQ(request->get_headers().locator_hashes(0),
            Raw(theirs.back().Hash()));
  ASSERT_TRUE((*server)->Send(HeadersOf({})));
  ASSERT_TRUE((*server)->Sync());

  const size_t withheld =
      WithholdAndServe(*withholder, *server, theirs, theirs.back().Hash());
  EXPECT_EQ(chain().Tip().hash, theirs.back().Hash());
  EXPECT_GT(withheld, 0u) << "the withholder was never asked";
  EXPECT_EQ(ScoreOf("server"), std::optional<int>(0));
  EXPECT_EQ(ScoreOf("withholder"), std::optional<int>(0));  // one strike
}

TEST_F(BlockSyncTest, APeerWhoseHeadersEndInsideTheRunServesThatPart) {
  const std::vector<Block> theirs =
      Branch(chain().Tip().hash, kBlocksPerRequest + 4, 7);
  std::unique_ptr<InboundPeer> withholder = WithRun("withholder", theirs);
  // Another peer has the first ten blocks of the run only: asked from the
  // run's end (unknown to it), it answers with the headers it has.
  const std::vector<Block> prefix(theirs.begin(), theirs.begin() + 10);
  std::unique_ptr<InboundPeer> server = Greeted("part-server");
  ASSERT_TRUE((*server)->Send(InventoryOf({prefix.back().Hash()}, {})));
  ASSERT_TRUE((*server)->WaitFor(IsGetHeaders).has_value())
      << (*server)->Summary();
  ASSERT_TRUE((*server)->Send(HeadersOf(HeadersOfBlocks(prefix))));
  ASSERT_TRUE((*server)->Sync());
  EXPECT_TRUE(network().syncing());
  WithholdAndServe(*withholder, *server, prefix, prefix.back().Hash());
  EXPECT_EQ(chain().Tip().hash, prefix.back().Hash());
  // The rest nobody serves: the run ends there.
  EXPECT_TRUE(WaitUntil([&] { return !network().syncing(); }));
  const std::vector<Hash256> asked = AskedBlocks(*server);
  for (size_t i = prefix.size(); i < theirs.size(); ++i) {
    EXPECT_EQ(std::count(asked.begin(), asked.end(), theirs[i].Hash()), 0)
        << "block " << i << " asked of a peer that did not claim it";
  }
  EXPECT_EQ(ScoreOf("part-server"), std::optional<int>(0));
}

TEST_F(BlockSyncTest, RepeatedlyWithheldRunsCostTheirSender) {
  const std::vector<Block> theirs = Branch(chain().Tip().hash, 3, 7);
  std::unique_ptr<InboundPeer> peer =
      Greeted(HelloWithMoreWork("repeat-withholder", theirs));
  for (int run = 1; run <= kWithheldRunFreeStrikes + 2; ++run) {
    SCOPED_TRACE(run);
    if (run > 1) {
      // It pushes its tip block, whose parent we lack: we ask for headers.
      ASSERT_TRUE((*peer)->Send(BlockEnvelope(theirs.back())));
    }
    ASSERT_TRUE(WaitUntil([&] { return (*peer)->Count(IsGetHeaders) == run; }))
        << (*peer)->Summary();
    ASSERT_TRUE((*peer)->Send(HeadersOf(HeadersOfBlocks(theirs))));
    ASSERT_TRUE((*peer)->Sync());
    ASSERT_TRUE(network().syncing());
    network().SyncStep();
    ASSERT_TRUE(WaitUntil([&] { return (*peer)->Count(IsGetData) == run; }))
        << (*peer)->Summary();
    ASSERT_TRUE((*peer)->Send(NotFoundOf(AskedBlocks(*peer))));
    if (run <= kWithheldRunFreeStrikes + 1) {
      ASSERT_TRUE((*peer)->Sync());
      EXPECT_FALSE(network().syncing());
      EXPECT_EQ(ScoreOf("repeat-withholder"),
                std::optional<int>(
                    run <= kWithheldRunFreeStrikes ? 0 : kWithheldRunPoints));
    }
  }
  // The fourth withheld run reaches the ban score.
  EXPECT_TRUE((*peer)->WaitForReject(v1::REJECT_CODE_BANNED).has_value())
      << (*peer)->Summary();
  EXPECT_TRUE(WaitUntil([&] { return !network().syncing(); }));
}

// The review's finding: a peer that serves bodies of a run and then lacks
// one (a damaged block, or a request that timed out on a slow link) was
// struck like a withholder, and banned by its fourth such run.
TEST_F(BlockSyncTest, APeerThatServesPartOfARunIsNotStruck) {
  constexpr int kRuns = kWithheldRunFreeStrikes + 2;
  const std::vector<Block> theirs = Branch(chain().Tip().hash, kRuns + 1, 7);
  std::unique_ptr<InboundPeer> peer =
      Greeted(HelloWithMoreWork("partial-server", theirs));
  for (int run = 1; run <= kRuns; ++run) {
    SCOPED_TRACE(run);
    if (run > 1) {
      ASSERT_TRUE((*peer)->Send(BlockEnvelope(theirs.back())));
    }
    ASSERT_TRUE(WaitUntil([&] { return (*peer)->Count(IsGetHeaders) == run; }))
        << (*peer)->Summary();
    // The headers from our tip on; it serves the first body only.
    const std::vector<Block> rest(theirs.begin() + (run - 1), theirs.end());
    ASSERT_TRUE((*peer)->Send(HeadersOf(HeadersOfBlocks(rest))));
    ASSERT_TRUE((*peer)->Sync());
    network().SyncStep();
    ASSERT_TRUE(WaitUntil([&] { return (*peer)->Count(IsGetData) == run; }))
        << (*peer)->Summary();
    std::vector<Hash256> lacking;
    for (size_t i = 1; i < rest.size(); ++i) lacking.push_back(rest[i].Hash());
    ASSERT_TRUE((*peer)->Send(BlockEnvelope(rest.front())));
    ASSERT_TRUE((*peer)->Send(NotFoundOf(lacking)));
    ASSERT_TRUE((*peer)->Sync());
    ASSERT_TRUE(WaitUntil([&] {
      network().SyncStep();
      return chain().Tip().height == static_cast<uint32_t>(run);
    }));
    EXPECT_EQ(ScoreOf("partial-server"), std::optional<int>(0));
  }
  EXPECT_FALSE((*peer)->ended()) << (*peer)->Summary();
}

TEST_F(BlockSyncTest, BlocksOnOurChainAreTakenAndRelayedWhileARunIsPending) {
  const Hash256 genesis = chain().Tip().hash;
  const std::vector<Block> theirs = Branch(genesis, 3, /*extra=*/7);
  std::unique_ptr<InboundPeer> withholder = WithRun("silent", theirs);
  network().SyncStep();
  ASSERT_TRUE((*withholder)->WaitFor(IsGetData).has_value());
  // The withholder keeps quiet; an honest miner announces a block on our
  // tip. Syncing, we ask for its headers first.
  std::unique_ptr<InboundPeer> miner = Greeted("miner");
  std::unique_ptr<InboundPeer> watcher = Greeted("watcher");
  const Block first = BlockOn(genesis, {}, /*extra=*/11);
  ASSERT_TRUE((*miner)->Send(InventoryOf({first.Hash()}, {})));
  ASSERT_TRUE((*miner)->WaitFor(IsGetHeaders).has_value())
      << (*miner)->Summary();
  ASSERT_TRUE((*miner)->Send(HeadersOf({first.header})));
  // Less work than the run, more than our tip: fetched now.
  ASSERT_TRUE((*miner)
                  ->WaitFor([&](const Envelope& e) {
                    return GetDataHasBlock(e, first.Hash());
                  })
                  .has_value())
      << (*miner)->Summary();
  ASSERT_TRUE((*miner)->Send(BlockEnvelope(first)));
  ASSERT_TRUE(WaitForTip(first.Hash()));
  EXPECT_FALSE(network().syncing()) << "the tip moved off the run";
  EXPECT_TRUE((*watcher)
                  ->WaitFor([&](const Envelope& e) {
                    return InventoryHasBlock(e, first.Hash());
                  })
                  .has_value())
      << (*watcher)->Summary();
  // The next one is asked for directly, taken and relayed.
  const Block second = BlockOn(first.Hash(), {}, /*extra=*/11);
  ASSERT_TRUE((*miner)->Send(InventoryOf({second.Hash()}, {})));
  ASSERT_TRUE((*miner)
                  ->WaitFor([&](const Envelope& e) {
                    return GetDataHasBlock(e, second.Hash());
                  })
                  .has_value())
      << (*miner)->Summary();
  ASSERT_TRUE((*miner)->Send(BlockEnvelope(second)));
  ASSERT_TRUE(WaitForTip(second.Hash()));
  EXPECT_TRUE((*watcher)
                  ->WaitFor([&](const Envelope& e) {
                    return InventoryHasBlock(e, second.Hash());
                  })
                  .has_value())
      << (*watcher)->Summary();
  // The silent peer's request times out; nobody else has its run (which
  // still has more work than ours): dropped.
  clock().Advance(kSyncRequestTimeout + absl::Seconds(1));
  network().SyncStep();
  EXPECT_FALSE(network().syncing());
  EXPECT_EQ(ScoreOf("silent"), std::optional<int>(0));  // a first strike
  EXPECT_EQ(ScoreOf("miner"), std::optional<int>(0));
}

// The review's finding: once a block on our chain moved the tip off the
// run, the next run block that connected (as a side branch) made the run
// adopt the foreign tip, and syncing() turned true again, stopping relay.
TEST_F(BlockSyncTest, ARunBlockOnASideBranchKeepsSyncingOff) {
  const Hash256 genesis = chain().Tip().hash;
  const std::vector<Block> theirs = Branch(genesis, 3, /*extra=*/7);
  std::unique_ptr<InboundPeer> slow = WithRun("slow", theirs);
  network().SyncStep();
  ASSERT_TRUE((*slow)->WaitFor(IsGetData).has_value());
  std::unique_ptr<InboundPeer> miner = Greeted("miner");
  const Block first = BlockOn(genesis, {}, /*extra=*/11);
  ASSERT_TRUE((*miner)->Send(InventoryOf({first.Hash()}, {})));
  ASSERT_TRUE((*miner)->WaitFor(IsGetHeaders).has_value())
      << (*miner)->Summary();
  ASSERT_TRUE((*miner)->Send(HeadersOf({first.header})));
  ASSERT_TRUE((*miner)
                  ->WaitFor([&](const Envelope& e) {
                    return GetDataHasBlock(e, first.Hash());
                  })
                  .has_value())
      << (*miner)->Summary();
  ASSERT_TRUE((*miner)->Send(BlockEnvelope(first)));
  ASSERT_TRUE(WaitForTip(first.Hash()));
  ASSERT_FALSE(network().syncing());
  // The slow peer now serves the run's first block: as much work as
  // `first`, so a side branch; the tip stays.
  ASSERT_TRUE((*slow)->Send(BlockEnvelope(theirs[0])));
  ASSERT_TRUE((*slow)->Sync());
  ASSERT_TRUE(WaitUntil([&] {
    network().SyncStep();
    std::optional<BlockIndexEntry> e = chain().GetIndexEntry(theirs[0].Hash());
    return e.has_value() && (e->status & kBlockHaveData) != 0;
  }));
  ASSERT_EQ(chain().Tip().hash, first.Hash());
  EXPECT_FALSE(network().syncing()) << "syncing again after a side block";
}

TEST_F(BlockSyncTest, ARunWithoutABodyForTheStallTimeoutIsDropped) {
  const std::vector<Block> theirs = Branch(chain().Tip().hash, 3, 7);
  // Six peers claim the run and send its headers when asked (one header
  // request at a time); asked for bodies, each keeps quiet until its
  // request times out.
  constexpr int kPeers = 6;
  std::vector<std::unique_ptr<InboundPeer>> peers;
  for (int i = 0; i < kPeers; ++i) {
    peers.push_back(
        Greeted(HelloWithMoreWork(absl::StrCat("quiet-", i), theirs)));
  }
  std::vector<bool> answered(kPeers, false);
  for (int n = 0; n < kPeers; ++n) {
    int asked = -1;
    ASSERT_TRUE(WaitUntil([&] {
      for (int i = 0; i < kPeers; ++i) {
        if (!answered[i] && (*peers[i])->Count(IsGetHeaders) > 0) asked = i;
      }
      return asked >= 0;
    })) << "header request "
        << n;
    ASSERT_TRUE((*peers[asked])->Send(HeadersOf(HeadersOfBlocks(theirs))));
    ASSERT_TRUE((*peers[asked])->Sync());
    answered[asked] = true;
  }
  const absl::Time adopted = clock().Now();
  auto asked_for_bodies = [&] {
    int n = 0;
    for (auto& p : peers) n += (*p)->Count(IsGetData) > 0 ? 1 : 0;
    return n;
  };
  network().SyncStep();
  // One request per deadline; the run has more peers than the stall
  // timeout has deadlines.
  ASSERT_LT(kRunStallTimeout, kSyncRequestTimeout * (kPeers - 1));
  while (clock().Now() - adopted + kSyncRequestTimeout < kRunStallTimeout) {
    ASSERT_TRUE(WaitUntil([&] { return asked_for_bodies() >= 1; }));
    ASSERT_TRUE(network().syncing());
    clock().Advance(kSyncRequestTimeout);
    network().SyncStep();
  }
  ASSERT_TRUE(network().syncing());
  // The last request may still be on its way: a Ping answered proves it
  // arrived (the session's writer keeps order).
  for (auto& p : peers) ASSERT_TRUE((*p)->Sync());
  const int asked_before = asked_for_bodies();
  EXPECT_LT(asked_before, kPeers);
  clock().Advance(kRunStallTimeout - (clock().Now() - adopted));
  network().SyncStep();
  EXPECT_FALSE(network().syncing())
      << "a run without a body for " << kRunStallTimeout << " is kept";
  for (auto& p : peers) ASSERT_TRUE((*p)->Sync());
  EXPECT_EQ(asked_for_bodies(), asked_before) << "asked after the drop";
  for (int i = 0; i < kPeers; ++i) {
    EXPECT_EQ(ScoreOf(absl::StrCat("quiet-", i)), std::optional<int>(0));
  }
}

// Health judges "behind" from evidence (issue 16): a Hello's height and an
// outstanding header request are claims any peer can make; only headers
// received and checked, with more work than our tip, count.
TEST_F(BlockSyncTest, AClaimedHeightIsNoEvidenceOfBeingBehindHeadersAre) {
  const std::vector<Block> theirs = Branch(chain().Tip().hash, 3, 7);
  v1::Hello liar = HelloWithMoreWork("liar", theirs);
  liar.set_height(4'000'000'000u);
  std::unique_ptr<InboundPeer> peer = Greeted(liar);
  ASSERT_TRUE((*peer)->WaitFor(IsGetHeaders).has_value()) << (*peer)->Summary();
  // The claim is recorded (metrics show it) and a request is out...
  EXPECT_EQ(network().best_peer_height(), 4'000'000'000u);
  EXPECT_TRUE(network().syncing());
  // ...but neither is evidence.
  EXPECT_FALSE(network().sync_run_pending());
  EXPECT_EQ(network().validated_header_height(), 0u);
  // Never answered: still no evidence once the request times out.
  clock().Advance(kSyncRequestTimeout + absl::Seconds(1));
  network().SyncStep();
  EXPECT_FALSE(network().syncing());
  EXPECT_FALSE(network().sync_run_pending());
  EXPECT_EQ(network().validated_header_height(), 0u);

  // An honest peer's headers (checked: proof of work) are evidence.
  std::unique_ptr<InboundPeer> honest =
      Greeted(HelloWithMoreWork("honest", theirs));
  ASSERT_TRUE((*honest)->WaitFor(IsGetHeaders).has_value())
      << (*honest)->Summary();
  EXPECT_FALSE(network().sync_run_pending());
  ASSERT_TRUE((*honest)->Send(HeadersOf(HeadersOfBlocks(theirs))));
  ASSERT_TRUE((*honest)->Sync());
  EXPECT_TRUE(network().sync_run_pending());
  EXPECT_EQ(network().validated_header_height(), 3u);
}

TEST_F(BlockSyncTest, HeadersWithoutMoreWorkAreNoEvidenceOfBeingBehind) {
  const Hash256 genesis = chain().Tip().hash;
  Extend();
  Extend();
  Extend();
  const std::vector<Block> theirs = Branch(genesis, 2, /*extra=*/7);
  std::unique_ptr<InboundPeer> peer =
      Greeted(HelloWithMoreWork("lighter", theirs));
  ASSERT_TRUE((*peer)->WaitFor(IsGetHeaders).has_value());
  ASSERT_TRUE((*peer)->Send(HeadersOf(HeadersOfBlocks(theirs))));
  ASSERT_TRUE((*peer)->Sync());
  EXPECT_FALSE(network().sync_run_pending());
  EXPECT_EQ(network().validated_header_height(), 0u);
}

}  // namespace
}  // namespace pbchain::p2ptest
