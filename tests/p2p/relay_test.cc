// Relay in process: Inventory answered with GetData for what is new,
// GetData answered with bodies and NotFound, blocks connected and announced
// to the other peers, invalid blocks and transactions punished, and the
// request bookkeeping (asked of one peer only, freed by NotFound, rejected
// hashes never asked again).
#include "node/p2p/relay.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "chain/block.h"
#include "gtest/gtest.h"
#include "node/p2p/network.h"
#include "proto/convert.h"
#include "tests/chain/test_chain.h"
#include "tests/p2p/p2p_harness.h"

namespace pbchain::p2ptest {
namespace {

class RelayTest : public P2pTest {};

Hash256 FakeHash(uint8_t fill) {
  Hash256 h;
  h.bytes.fill(fill);
  return h;
}

TEST_F(RelayTest, InventoryOfNewHashesIsAnsweredWithOneGetData) {
  const Block known = Extend();
  const Block fresh = BlockOn(known.Hash());  // not given to the node
  const Transaction tx = Pay(0, 100, 5, 0);
  std::unique_ptr<InboundPeer> peer = Greeted("announcer");
  ASSERT_TRUE(
      (*peer)->Send(InventoryOf({known.Hash(), fresh.Hash()}, {tx.Id()})));
  std::optional<Envelope> request =
      (*peer)->WaitFor([](const Envelope& e) { return e.has_get_data(); });
  ASSERT_TRUE(request.has_value()) << (*peer)->Summary();
  EXPECT_TRUE(GetDataHasBlock(*request, fresh.Hash()));
  EXPECT_FALSE(GetDataHasBlock(*request, known.Hash()));
  EXPECT_TRUE(GetDataHasTx(*request, tx.Id()));
  EXPECT_EQ(request->get_data().block_hashes_size(), 1);
  // Announced again at once: nothing is asked twice.
  ASSERT_TRUE(
      (*peer)->Send(InventoryOf({known.Hash(), fresh.Hash()}, {tx.Id()})));
  ASSERT_TRUE((*peer)->Sync());
  EXPECT_EQ((*peer)->Count([](const Envelope& e) { return e.has_get_data(); }),
            1);
  EXPECT_EQ(ScoreOf("announcer"), std::optional<int>(0));
}

TEST_F(RelayTest, ATransactionIsAskedOfOnePeerUntilNotFoundFreesIt) {
  const Transaction tx = Pay(0, 100, 5, 0);
  std::unique_ptr<InboundPeer> a = Greeted("tx-peer-a");
  std::unique_ptr<InboundPeer> b = Greeted("tx-peer-b");
  ASSERT_TRUE((*a)->Send(InventoryOf({}, {tx.Id()})));
  ASSERT_TRUE(
      (*a)->WaitFor([&](const Envelope& e) { return GetDataHasTx(e, tx.Id()); })
          .has_value());
  ASSERT_TRUE((*b)->Send(InventoryOf({}, {tx.Id()})));
  ASSERT_TRUE((*b)->Sync());
  EXPECT_EQ((*b)->Count([](const Envelope& e) { return e.has_get_data(); }), 0)
      << "asked of two peers at once";
  // A says it does not have it after all: B may be asked now.
  Envelope not_found;
  not_found.mutable_not_found()->add_txids(Raw(tx.Id()));
  ASSERT_TRUE((*a)->Send(not_found));
  ASSERT_TRUE((*a)->Sync());
  ASSERT_TRUE((*b)->Send(InventoryOf({}, {tx.Id()})));
  EXPECT_TRUE(
      (*b)->WaitFor([&](const Envelope& e) { return GetDataHasTx(e, tx.Id()); })
          .has_value())
      << (*b)->Summary();
}

TEST_F(RelayTest, ATransactionRequestExpiresAfterItsTimeout) {
  const Transaction tx = Pay(0, 100, 5, 0);
  std::unique_ptr<InboundPeer> a = Greeted("slow-peer");
  std::unique_ptr<InboundPeer> b = Greeted("other-peer");
  ASSERT_TRUE((*a)->Send(InventoryOf({}, {tx.Id()})));
  ASSERT_TRUE((*a)->Sync());
  ASSERT_EQ((*a)->Count([](const Envelope& e) { return e.has_get_data(); }), 1);
  clock().Advance(kTxRequestTimeout + absl::Seconds(1));
  network().MaintenanceStep();
  ASSERT_TRUE((*b)->Send(InventoryOf({}, {tx.Id()})));
  EXPECT_TRUE(
      (*b)->WaitFor([&](const Envelope& e) { return GetDataHasTx(e, tx.Id()); })
          .has_value())
      << (*b)->Summary();
}

TEST_F(RelayTest, GetDataIsAnsweredWithBodiesThenOneNotFound) {
  const Block block = Extend();
  const Transaction tx = Pay(1, 100, 5, 0);
  ASSERT_TRUE(node().SubmitTransaction(tx).ok());
  const Hash256 no_block = FakeHash(0x11);
  const Hash256 no_tx = FakeHash(0x22);
  std::unique_ptr<InboundPeer> peer = Greeted("asker");
  ASSERT_TRUE(
      (*peer)->Send(GetDataOf({block.Hash(), no_block}, {tx.Id(), no_tx})));
  std::optional<Envelope> missing =
      (*peer)->WaitFor([](const Envelope& e) { return e.has_not_found(); });
  ASSERT_TRUE(missing.has_value()) << (*peer)->Summary();
  ASSERT_EQ(missing->not_found().block_hashes_size(), 1);
  EXPECT_EQ(missing->not_found().block_hashes(0), Raw(no_block));
  ASSERT_EQ(missing->not_found().txids_size(), 1);
  EXPECT_EQ(missing->not_found().txids(0), Raw(no_tx));
  std::optional<Envelope> body =
      (*peer)->WaitFor([](const Envelope& e) { return e.has_block(); });
  ASSERT_TRUE(body.has_value());
  EXPECT_EQ(body->block().block().SerializeAsString(),
            BlockEnvelope(block).block().block().SerializeAsString());
  std::optional<Envelope> tx_body =
      (*peer)->WaitFor([](const Envelope& e) { return e.has_transaction(); });
  ASSERT_TRUE(tx_body.has_value());
  EXPECT_EQ(
      tx_body->transaction().transaction().SerializeAsString(),
      TransactionEnvelope(tx).transaction().transaction().SerializeAsString());
  EXPECT_EQ(ScoreOf("asker"), std::optional<int>(0));
}

TEST_F(RelayTest, ListsOverTheirCapsCostFiftyPoints) {
  std::unique_ptr<InboundPeer> peer = Greeted("big-lists");
  std::vector<Hash256> many;
  for (int i = 0; i < kMaxInventoryHashes + 1; ++i) {
    Hash256 h;
    h.bytes[0] = static_cast<uint8_t>(i);
    h.bytes[1] = static_cast<uint8_t>(i >> 8);
    many.push_back(h);
  }
  ASSERT_TRUE((*peer)->Send(InventoryOf({}, many)));
  ASSERT_TRUE((*peer)->Sync());
  EXPECT_EQ(ScoreOf("big-lists"), std::optional<int>(kOversizedListPoints));
  EXPECT_EQ((*peer)->Count([](const Envelope& e) { return e.has_get_data(); }),
            0);
  // GetData has a smaller cap for blocks.
  std::vector<Hash256> blocks(many.begin(),
                              many.begin() + kMaxGetDataBlocks + 1);
  ASSERT_TRUE((*peer)->Send(GetDataOf(blocks, {})));
  EXPECT_TRUE((*peer)->WaitForReject(v1::REJECT_CODE_BANNED).has_value())
      << (*peer)->Summary();
  EXPECT_EQ((*peer)->Count([](const Envelope& e) { return e.has_not_found(); }),
            0);
}

TEST_F(RelayTest, HashesOfTheWrongSizeCostTwentyPointsEach) {
  std::unique_ptr<InboundPeer> peer = Greeted("sloppy");
  Envelope inv;
  inv.mutable_inventory()->add_block_hashes(std::string(31, '\x01'));
  ASSERT_TRUE((*peer)->Send(inv));
  ASSERT_TRUE((*peer)->Sync());
  EXPECT_EQ(ScoreOf("sloppy"), std::optional<int>(20));
  EXPECT_EQ((*peer)->Count([](const Envelope& e) { return e.has_get_data(); }),
            0);

  Envelope get_data;
  get_data.mutable_get_data()->add_txids(std::string(33, '\x02'));
  ASSERT_TRUE((*peer)->Send(get_data));
  ASSERT_TRUE((*peer)->Sync());
  EXPECT_EQ(ScoreOf("sloppy"), std::optional<int>(40));
  EXPECT_EQ((*peer)->Count([](const Envelope& e) { return e.has_not_found(); }),
            0);

  Envelope not_found;
  not_found.mutable_not_found()->add_block_hashes("short");
  ASSERT_TRUE((*peer)->Send(not_found));
  ASSERT_TRUE((*peer)->Sync());
  EXPECT_EQ(ScoreOf("sloppy"), std::optional<int>(60));

  Envelope get_headers;
  get_headers.mutable_get_headers()->set_stop_hash("x");
  ASSERT_TRUE((*peer)->Send(get_headers));
  ASSERT_TRUE((*peer)->Sync());
  EXPECT_EQ(ScoreOf("sloppy"), std::optional<int>(80));
  EXPECT_EQ((*peer)->Count([](const Envelope& e) { return e.has_headers(); }),
            0);
}

// --- Blocks ---

TEST_F(RelayTest, AValidBlockIsConnectedAndAnnouncedToTheOtherPeers) {
  std::unique_ptr<InboundPeer> sender = Greeted("block-sender");
  std::unique_ptr<InboundPeer> listener = Greeted("block-listener");
  const Block block = BlockOn(chain().Tip().hash);
  ASSERT_TRUE((*sender)->Send(InventoryOf({block.Hash()}, {})));
  ASSERT_TRUE((*sender)
                  ->WaitFor([&](const Envelope& e) {
                    return GetDataHasBlock(e, block.Hash());
                  })
                  .has_value());
  ASSERT_TRUE((*sender)->Send(BlockEnvelope(block)));
  ASSERT_TRUE(WaitForTip(block.Hash()));
  EXPECT_TRUE((*listener)
                  ->WaitFor([&](const Envelope& e) {
                    return InventoryHasBlock(e, block.Hash());
                  })
                  .has_value())
      << (*listener)->Summary();
  // Not echoed to the peer it came from.
  ASSERT_TRUE((*sender)->Sync());
  EXPECT_EQ((*sender)->Count([&](const Envelope& e) {
    return InventoryHasBlock(e, block.Hash());
  }),
            0);
  EXPECT_EQ(ScoreOf("block-sender"), std::optional<int>(0));
}

TEST_F(RelayTest, AnUnrequestedBlockDrawsFromTheFloodBucket) {
  std::unique_ptr<InboundPeer> peer = Greeted("pusher");
  // Empty its bucket: Greeted's Ping took one token, these all but one,
  // Sync's Ping the last.
  for (int i = 0; i < static_cast<int>(kFloodBurst) - 2; ++i) {
    Envelope ping;
    ping.mutable_ping()->set_nonce(1000 + i);
    ASSERT_TRUE((*peer)->Send(ping));
  }
  ASSERT_TRUE((*peer)->Sync());
  ASSERT_EQ(ScoreOf("pusher"), std::optional<int>(0));
  // A block it was asked for is free (the Inventory is not).
  const Block asked = BlockOn(chain().Tip().hash);
  ASSERT_TRUE((*peer)->Send(InventoryOf({asked.Hash()}, {})));  // +1 point
  ASSERT_TRUE((*peer)
                  ->WaitFor([&](const Envelope& e) {
                    return GetDataHasBlock(e, asked.Hash());
                  })
                  .has_value());
  ASSERT_TRUE((*peer)->Send(BlockEnvelope(asked)));
  ASSERT_TRUE(WaitForTip(asked.Hash()));
  ASSERT_TRUE((*peer)->Sync());  // +1 point
  EXPECT_EQ(ScoreOf("pusher"), std::optional<int>(2));
  // A block pushed unasked draws from the (empty) bucket: a point.
  const Block pushed = BlockOn(asked.Hash());
  ASSERT_TRUE((*peer)->Send(BlockEnvelope(pushed)));  // +1 point
  ASSERT_TRUE(WaitForTip(pushed.Hash()));
  ASSERT_TRUE((*peer)->Sync());  // +1 point
  EXPECT_EQ(ScoreOf("pusher"), std::optional<int>(4));
}

// A block on the tip that breaks one rule, and a peer to send it.
struct BadBlock {
  const char* what;
  std::function<void(const ChainParams&, Block&)> spoil;
  // The reason name the Reject message starts with (PROTOCOL.md section 13).
  const char* reason;
};

class InvalidBlockTest : public P2pTest,
                         public ::testing::WithParamInterface<int> {};

const BadBlock kBadBlocks[] = {
    {"bad proof of work",
     [](const ChainParams&, Block& b) { Solve(b.header, /*valid=*/false); },
     "header-bad-pow"},
    {"bad merkle root",
     [](const ChainParams&, Block& b) {
       b.header.merkle_root.bytes[0] ^= 0xff;
       Solve(b.header);
     },
     "block-bad-merkle-root"},
    {"badly signed transfer",
     [](const ChainParams& params, Block& b) {
       Transaction tx = testing::MakeTransfer(
           params, testing::TestKey(1),
           AddressFromPublicKey(testing::TestKey(3).public_key()), 10, 5, 0);
       tx.signature[10] ^= 0x01;
       b.txs[0].amount += tx.fee;
       b.txs.push_back(tx);
       b.header.merkle_root = BlockMerkleRoot(b);
       Solve(b.header);
     },
     "tx-bad-signature"},
    {"bad coinbase height",
     [](const ChainParams&, Block& b) {
       b.txs[0].height += 7;
       b.header.merkle_root = BlockMerkleRoot(b);
       Solve(b.header);
     },
     "block-bad-coinbase"},
};

TEST_P(InvalidBlockTest, IsRejectedAndBansItsSender) {
  const BadBlock& bad = kBadBlocks[GetParam()];
  SCOPED_TRACE(bad.what);
  Block block = BlockOn(chain().Tip().hash);
  bad.spoil(params(), block);
  const Hash256 tip = chain().Tip().hash;
  std::unique_ptr<InboundPeer> witness = Greeted("witness");
  std::unique_ptr<InboundPeer> peer =
      Greeted(HonestHello("bad-block-sender"), kPublicRemote);
  ASSERT_TRUE((*peer)->Send(BlockEnvelope(block)));
  std::optional<v1::Reject> invalid =
      (*peer)->WaitForReject(v1::REJECT_CODE_INVALID);
  ASSERT_TRUE(invalid.has_value()) << (*peer)->Summary();
  EXPECT_EQ(invalid->hash(), Raw(block.Hash()));
  EXPECT_EQ(invalid->message().rfind(absl::StrCat(bad.reason, ": "), 0), 0u)
      << invalid->message();
  EXPECT_TRUE((*peer)->WaitForReject(v1::REJECT_CODE_BANNED).has_value())
      << (*peer)->Summary();
  EXPECT_TRUE((*peer)->WaitForEnd());
  EXPECT_EQ(chain().Tip().hash, tip);
  EXPECT_TRUE(WaitUntil([&] { return !ScoreOf("bad-block-sender"); }));
  // Banned: by node id, and by IP (it came from off loopback).
  {
    std::unique_ptr<InboundPeer> back = Open(kLoopbackRemote);
    ASSERT_TRUE((*back)->Send(HelloEnvelope(HonestHello("bad-block-sender"))));
    EXPECT_TRUE((*back)->WaitForReject(v1::REJECT_CODE_BANNED).has_value());
  }
  {
    std::unique_ptr<InboundPeer> same_ip = Open(kPublicRemote);
    ASSERT_TRUE((*same_ip)->Send(HelloEnvelope(HonestHello("new-identity"))));
    EXPECT_TRUE((*same_ip)->WaitForReject(v1::REJECT_CODE_BANNED).has_value());
  }
  // Nothing was relayed; announced again, it is not asked for.
  ASSERT_TRUE((*witness)->Sync());
  EXPECT_EQ((*witness)->Count([&](const Envelope& e) {
    return InventoryHasBlock(e, block.Hash());
  }),
            0);
  ASSERT_TRUE((*witness)->Send(InventoryOf({block.Hash()}, {})));
  ASSERT_TRUE((*witness)->Sync());
  EXPECT_EQ(
      (*witness)->Count([](const Envelope& e) { return e.has_get_data(); }), 0);
}

INSTANTIATE_TEST_SUITE_P(
    Rules, InvalidBlockTest,
    ::testing::Range(0, static_cast<int>(std::size(kBadBlocks))));

TEST_F(RelayTest, AnOrphanOrFutureBlockCostsNothing) {
  std::unique_ptr<InboundPeer> peer = Greeted("honest-but-odd");
  Block orphan = BlockOn(chain().Tip().hash);
  orphan.header.prev_hash = FakeHash(0x5a);
  Solve(orphan.header);
  ASSERT_TRUE((*peer)->Send(BlockEnvelope(orphan)));
  // Its ancestors are asked for with a header request.
  EXPECT_TRUE(
      (*peer)
          ->WaitFor([](const Envelope& e) { return e.has_get_headers(); })
          .has_value())
      << (*peer)->Summary();
  Block future = BlockOn(chain().Tip().hash);
  future.header.time =
      static_cast<uint32_t>(absl::ToUnixSeconds(absl::Now()) + 2 * 3600);
  Solve(future.header);
  ASSERT_TRUE((*peer)->Send(BlockEnvelope(future)));
  ASSERT_TRUE((*peer)->Sync());
  EXPECT_EQ(ScoreOf("honest-but-odd"), std::optional<int>(0));
  EXPECT_EQ((*peer)->Count([](const Envelope& e) { return e.has_reject(); }),
            0);
}

TEST_F(RelayTest, ABlockWithLessWorkThanOurTipIsDroppedUnprocessed) {
  const Hash256 genesis = chain().Tip().hash;
  Extend();
  Extend();
  std::unique_ptr<InboundPeer> peer = Greeted("stale-forker");
  const Block stale = BlockOn(genesis, {}, /*extra=*/9);
  ASSERT_TRUE((*peer)->Send(BlockEnvelope(stale)));
  ASSERT_TRUE((*peer)->Sync());
  EXPECT_FALSE(chain().GetIndexEntry(stale.Hash()).has_value())
      << "a stale fork block was stored";
  EXPECT_EQ(ScoreOf("stale-forker"), std::optional<int>(0));
}

// --- Transactions ---

TEST_F(RelayTest, AValidTransactionEntersTheMempoolAndIsAnnounced) {
  std::unique_ptr<InboundPeer> sender = Greeted("tx-sender");
  std::unique_ptr<InboundPeer> listener = Greeted("tx-listener");
  const Transaction tx = Pay(0, 100, 5, 0);
  ASSERT_TRUE((*sender)->Send(TransactionEnvelope(tx)));
  ASSERT_TRUE((*sender)->Sync());
  EXPECT_TRUE(node().mempool().Contains(tx.Id()));
  // Batched: announced by the next maintenance round.
  network().MaintenanceStep();
  EXPECT_TRUE((*listener)
                  ->WaitFor([&](const Envelope& e) {
                    return InventoryHasTx(e, tx.Id());
                  })
                  .has_value())
      << (*listener)->Summary();
  ASSERT_TRUE((*sender)->Sync());
  EXPECT_EQ((*sender)->Count(
                [&](const Envelope& e) { return InventoryHasTx(e, tx.Id()); }),
            0);
  EXPECT_EQ(ScoreOf("tx-sender"), std::optional<int>(0));
}

TEST_F(RelayTest, AnInvalidTransactionCostsTenPointsAndIsNotAskedAgain) {
  std::unique_ptr<InboundPeer> peer = Greeted("bad-tx-sender");
  Transaction tx = Pay(0, 100, 5, 0);
  tx.signature[3] ^= 0x01;
  ASSERT_TRUE((*peer)->Send(TransactionEnvelope(tx)));
  ASSERT_TRUE((*peer)->Sync());
  EXPECT_EQ(ScoreOf("bad-tx-sender"),
            std::optional<int>(kInvalidTransactionPoints));
  EXPECT_FALSE(node().mempool().Contains(tx.Id()));
  ASSERT_TRUE((*peer)->Send(InventoryOf({}, {tx.Id()})));
  ASSERT_TRUE((*peer)->Sync());
  EXPECT_EQ((*peer)->Count([](const Envelope& e) { return e.has_get_data(); }),
            0);
}

TEST_F(RelayTest, ATransactionInvalidOnlyInContextCostsNothing) {
  std::unique_ptr<InboundPeer> peer = Greeted("early-tx-sender");
  const Transaction gap = Pay(0, 100, 5, /*nonce=*/5);  // nonces 0..4 missing
  ASSERT_TRUE((*peer)->Send(TransactionEnvelope(gap)));
  ASSERT_TRUE((*peer)->Sync());
  EXPECT_FALSE(node().mempool().Contains(gap.Id()));
  EXPECT_EQ(ScoreOf("early-tx-sender"), std::optional<int>(0));
}

TEST_F(RelayTest, ACoinbaseOutsideABlockCostsTwentyPoints) {
  std::unique_ptr<InboundPeer> peer = Greeted("coinbase-sender");
  const Block block = BlockOn(chain().Tip().hash);
  ASSERT_TRUE((*peer)->Send(TransactionEnvelope(block.txs[0])));
  ASSERT_TRUE((*peer)->Sync());
  EXPECT_EQ(ScoreOf("coinbase-sender"), std::optional<int>(kMalformedPoints));
}

// --- Complete relay (issue 15): nothing accepted is kept to ourselves ---

class CompleteRelayTest : public RelayTest {
 protected:
  // Inventories naming `txid` that `peer` got so far (after a Sync, so
  // everything the node sent before is in).
  int Announced(InboundPeer& peer, const Hash256& txid) {
    EXPECT_TRUE(peer->Sync());
    return peer->Count(
        [&](const Envelope& e) { return InventoryHasTx(e, txid); });
  }
  // Moves the fake clock on by `d` in steps the peers' sessions survive
  // (each peer talks before every step), running a maintenance round after
  // each step.
  void AdvanceTalking(absl::Duration d,
                      const std::vector<InboundPeer*>& peers) {
    while (d > absl::ZeroDuration()) {
      const absl::Duration step = std::min(d, absl::Seconds(10));
      for (InboundPeer* p : peers) ASSERT_TRUE((*p)->Sync());
      clock().Advance(step);
      network().MaintenanceStep();
      d -= step;
    }
  }
  // The txids of the first Inventory `peer` got that names `txid`.
  std::vector<Hash256> InventoryWith(InboundPeer& peer, const Hash256& txid) {
    std::vector<Hash256> out;
    std::optional<Envelope> inv = peer->WaitFor(
        [&](const Envelope& e) { return InventoryHasTx(e, txid); });
    if (!inv) return out;
    for (const std::string& raw : inv->inventory().txids()) {
      out.push_back(*Hash256::FromBytes(AsBytes(raw)));
    }
    return out;
  }
};

TEST_F(CompleteRelayTest, ATransactionAcceptedWithoutPeersReachesALaterPeer) {
  const Transaction tx = Pay(0, 100, 5, 0);
  size_t relayed = 99;
  ASSERT_TRUE(node().SubmitTransaction(tx, &relayed).ok());
  EXPECT_EQ(relayed, 0u);  // nobody to tell yet
  network().MaintenanceStep();

  std::unique_ptr<InboundPeer> late = Greeted("late-peer");
  network().MaintenanceStep();
  EXPECT_EQ(Announced(*late, tx.Id()), 1) << (*late)->Summary();
  // It asks and gets the body.
  ASSERT_TRUE((*late)->Send(GetDataOf({}, {tx.Id()})));
  EXPECT_TRUE(
      (*late)
          ->WaitFor([&](const Envelope& e) {
            return e.has_transaction() &&
                   TransactionFromProto(e.transaction().transaction())->Id() ==
                       tx.Id();
          })
          .has_value())
      << (*late)->Summary();
  // Told once, not every round.
  network().MaintenanceStep();
  EXPECT_EQ(Announced(*late, tx.Id()), 1);

  // With a peer connected, the submission says so.
  const Transaction next = Pay(0, 100, 5, 1);
  ASSERT_TRUE(node().SubmitTransaction(next, &relayed).ok());
  EXPECT_EQ(relayed, 1u);
}

TEST_F(CompleteRelayTest, ANewPeerHearsOfTheMempoolBestFeeFirstInNonceOrder) {
  const Transaction a0 = Pay(0, 100, 1, 0);
  const Transaction a1 = Pay(0, 100, 1, 1);
  const Transaction a2 = Pay(0, 100, 30, 2);
  const Transaction b0 = Pay(1, 100, 9, 0);
  for (const Transaction& tx : {a0, a1, a2, b0}) {
    ASSERT_TRUE(node().SubmitTransaction(tx).ok());
  }
  std::unique_ptr<InboundPeer> peer = Greeted("new-peer");
  network().MaintenanceStep();
  EXPECT_EQ(InventoryWith(*peer, a0.Id()),
            (std::vector<Hash256>{b0.Id(), a0.Id(), a1.Id(), a2.Id()}))
      << (*peer)->Summary();
}

TEST_F(CompleteRelayTest, TransactionsAReorganisationReturnsAreAnnounced) {
  std::unique_ptr<InboundPeer> peer = Greeted("reorg-listener");
  network().MaintenanceStep();  // the empty mempool: nothing to tell
  const Hash256 base = chain().Tip().hash;
  // Confirmed on our branch without ever being relayed.
  const Transaction a0 = Pay(0, 100, 5, 0);
  const Transaction a1 = Pay(0, 100, 5, 1);
  const Transaction b0 = Pay(1, 100, 5, 0);
  Extend({a0, a1, b0});
  network().MaintenanceStep();
  ASSERT_EQ(Announced(*peer, a0.Id()), 0);

  // A heavier branch without them wins.
  const Block c1 = BlockOn(base, {}, 1);
  ASSERT_TRUE(node().SubmitBlock(c1).ok());
  const Block c2 = BlockOn(c1.Hash(), {}, 2);
  ASSERT_TRUE(node().SubmitBlock(c2).ok());
  ASSERT_EQ(chain().Tip().hash, c2.Hash());
  for (const Transaction& tx : {a0, a1, b0}) {
    ASSERT_TRUE(node().mempool().Contains(tx.Id()));
  }

  network().MaintenanceStep();
  std::vector<Hash256> inv = InventoryWith(*peer, a0.Id());
  ASSERT_EQ(inv.size(), 3u) << (*peer)->Summary();
  // Each sender's nonces in order.
  auto at = [&](const Hash256& h) {
    return std::find(inv.begin(), inv.end(), h) - inv.begin();
  };
  EXPECT_LT(at(a0.Id()), at(a1.Id()));
  EXPECT_NE(std::find(inv.begin(), inv.end(), b0.Id()), inv.end());
}

// Issue 17 (tests/multihost partition_heal): a peer we told of a
// transaction asks for it after a block of ours confirmed it (NotFound);
// when a reorganisation returns it to our mempool, that peer is told again
// at once, not only after kReannounceFirst.
TEST_F(CompleteRelayTest, AReturnedTransactionReachesAPeerThatFoundItMissing) {
  std::unique_ptr<InboundPeer> peer = Greeted("partitioned-peer");
  network().MaintenanceStep();
  const Hash256 base = chain().Tip().hash;
  const Transaction tx = Pay(0, 100, 5, 0);
  ASSERT_TRUE(node().SubmitTransaction(tx).ok());
  network().MaintenanceStep();
  ASSERT_EQ(Announced(*peer, tx.Id()), 1);
  // Our branch confirms it; the peer, late, asks for it: NotFound.
  Extend({tx});
  ASSERT_FALSE(node().mempool().Contains(tx.Id()));
  ASSERT_TRUE((*peer)->Send(GetDataOf({}, {tx.Id()})));
  ASSERT_TRUE((*peer)
                  ->WaitFor([&](const Envelope& e) {
                    return e.has_not_found() && e.not_found().txids_size() == 1 &&
                           e.not_found().txids(0) == Raw(tx.Id());
                  })
                  .has_value())
      << (*peer)->Summary();
  // A heavier branch without it wins: it is back in the mempool and the
  // peer hears of it in the next round (the fake clock stands still).
  const Block c1 = BlockOn(base, {}, 1);
  ASSERT_TRUE(node().SubmitBlock(c1).ok());
  const Block c2 = BlockOn(c1.Hash(), {}, 2);
  ASSERT_TRUE(node().SubmitBlock(c2).ok());
  ASSERT_EQ(chain().Tip().hash, c2.Hash());
  ASSERT_TRUE(node().mempool().Contains(tx.Id()));
  network().MaintenanceStep();
  EXPECT_EQ(Announced(*peer, tx.Id()), 2) << (*peer)->Summary();
}

TEST_F(CompleteRelayTest, AnUnconfirmedTransactionIsReannouncedWithBackoff) {
  std::unique_ptr<InboundPeer> peer = Greeted("forgetful-peer");
  network().MaintenanceStep();
  const Transaction tx = Pay(0, 100, 5, 0);
  ASSERT_TRUE(node().SubmitTransaction(tx).ok());
  network().MaintenanceStep();
  EXPECT_EQ(Announced(*peer, tx.Id()), 1);

  // The peer knows of it, yet may have refused it (a nonce gap) or
  // restarted: it is told again after kReannounceFirst, then after twice
  // that.
  AdvanceTalking(kReannounceFirst - absl::Seconds(1), {peer.get()});
  EXPECT_EQ(Announced(*peer, tx.Id()), 1);
  AdvanceTalking(absl::Seconds(1), {peer.get()});
  EXPECT_EQ(Announced(*peer, tx.Id()), 2);
  AdvanceTalking(2 * kReannounceFirst - absl::Seconds(1), {peer.get()});
  EXPECT_EQ(Announced(*peer, tx.Id()), 2);
  AdvanceTalking(absl::Seconds(1), {peer.get()});
  EXPECT_EQ(Announced(*peer, tx.Id()), 3);

  // Once confirmed it is never announced again.
  Extend({tx});
  AdvanceTalking(2 * kReannounceMaxInterval, {peer.get()});
  EXPECT_EQ(Announced(*peer, tx.Id()), 3);
}

}  // namespace
}  // namespace pbchain::p2ptest
