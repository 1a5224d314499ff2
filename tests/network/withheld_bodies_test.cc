// pbchain issue 15: a peer that announces valid proof-of-work headers with
// more work than the node's chain and then withholds the bodies must not
// stall the node. Real processes: n1 mines on demand (one block per
// transfer, so the honest chain grows only when the test says), n2 dials
// n1; the test plays the withholding peer against n2 over Gossip.Exchange.
// It answers n2's GetHeaders with 100 solved headers on n2's tip (far more
// work than n1 mines here) and never serves a body.
//
// While the withholder's body request is pending, n2 still takes n1's new
// block (and so stops counting as syncing); once the withholder answers
// NotFound and leaves, n2 is not syncing and keeps following n1. The old
// node stayed syncing and ignored n1 until n1 out-worked the fake headers.

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "chain/block.h"
#include "chain/pow.h"
#include "gtest/gtest.h"
#include "node/p2p/wire.h"
#include "proto/convert.h"
#include "tests/network/gossip_client.h"
#include "tests/network/net_harness.h"

namespace pbchain::nettest {
namespace {

constexpr absl::Duration kReply = absl::Seconds(10);
constexpr absl::Duration kWait = absl::Seconds(30);
constexpr int kFakeHeaders = 100;

// Searches the nonce until the header meets the target of its bits.
void Solve(BlockHeader& header) {
  const UInt256 target = DecodeCompact(header.bits).target;
  for (uint32_t nonce = 0;; ++nonce) {
    header.nonce = nonce;
    if (HashMeetsTarget(header.Hash(), target)) return;
    if (nonce == UINT32_MAX) {
      header.time += 1;
      nonce = 0;
    }
  }
}

// `n` solved headers on `parent` (constant bits: the network never
// retargets), their bodies made up and never sent.
std::vector<BlockHeader> FakeHeaders(const BlockHeader& parent, int n) {
  std::vector<BlockHeader> out;
  BlockHeader prev = parent;
  for (int i = 0; i < n; ++i) {
    BlockHeader h = prev;
    h.prev_hash = prev.Hash();
    h.time = prev.time + 1;
    h.merkle_root.bytes.fill(static_cast<uint8_t>(i + 1));
    Solve(h);
    out.push_back(h);
    prev = h;
  }
  return out;
}

TEST(WithheldBodiesTest, AWithholdingPeerDoesNotStallTheNode) {
  TestNet net("withheld_bodies",
              GenesisConfig{.target_interval_ms = 1000,
                            .difficulty_window = 0,
                            .max_future_block_time_s = 86400});
  ASSERT_TRUE(net.ok());
  NodeProcess* n1 = net.StartNode("n1", NodeConfig{.mine_on_demand = true});
  ASSERT_NE(n1, nullptr);
  NodeProcess* n2 = net.StartNode("n2", NodeConfig{.peers = {n1->address()}});
  ASSERT_NE(n2, nullptr);
  absl::StatusOr<v1::GetInfoResponse> n1_info = n1->Info();
  ASSERT_TRUE(n1_info.ok()) << n1_info.status();
  const std::string n1_id = n1_info->node_id();
  ASSERT_TRUE(WaitFor(
      [&](std::string& seen) {
        absl::StatusOr<v1::ListPeersResponse> peers = n2->Peers();
        seen = peers.ok() ? absl::StrCat(peers->connected_size(), " peers")
                          : peers.status().ToString();
        return peers.ok() && FindConnected(*peers, n1_id) != nullptr;
      },
      kWait, "n2 to be linked to n1"));

  const Address payee = AddressFromPublicKey(net.funded_key(3).public_key());
  uint64_t height = 0;
  // n1 mines one block (for a transfer); n2 must follow.
  auto honest_block = [&](const std::string& when) {
    SCOPED_TRACE(when);
    absl::StatusOr<std::string> txid = SubmitTransfer(
        *n1, net.params(), net.funded_key(1), payee, 10 + height);
    ASSERT_TRUE(txid.ok()) << txid.status();
    std::optional<v1::GetInfoResponse> tip =
        WaitForSameTip({n1, n2}, height + 1, kWait);
    ASSERT_TRUE(tip.has_value()) << net.AllLogTails();
    height = tip->height();
  };
  honest_block("before the withholder");

  absl::StatusOr<v1::GetInfoResponse> info = n2->Info();
  ASSERT_TRUE(info.ok()) << info.status();
  absl::StatusOr<v1::GetBlockResponse> tip_block =
      n2->BlockByHash(info->tip_hash());
  ASSERT_TRUE(tip_block.ok()) << tip_block.status();
  absl::StatusOr<BlockHeader> tip_header =
      BlockHeaderFromProto(tip_block->block().header());
  ASSERT_TRUE(tip_header.ok()) << tip_header.status();
  const std::vector<BlockHeader> fake = FakeHeaders(*tip_header, kFakeHeaders);

  const std::string id = RandomNodeId();
  auto withholder = std::make_unique<GossipSession>(n2->address());
  v1::GossipEnvelope hello = MakeHello(info->genesis_hash(), id);
  hello.mutable_hello()->set_height(height + kFakeHeaders);
  hello.mutable_hello()->set_chain_work("999999999999");
  ASSERT_TRUE(withholder->Send(hello));
  ASSERT_TRUE(
      withholder
          ->WaitForMessage(
              [](const v1::GossipEnvelope& m) { return m.has_get_headers(); },
              kReply)
          .has_value())
      << withholder->ReceivedSummary();
  v1::GossipEnvelope answer;
  for (const BlockHeader& h : fake) {
    *answer.mutable_headers()->add_headers() = BlockHeaderToProto(h);
  }
  ASSERT_TRUE(withholder->Send(answer));
  std::optional<v1::GossipEnvelope> get_data = withholder->WaitForMessage(
      [](const v1::GossipEnvelope& m) { return m.has_get_data(); }, kReply);
  ASSERT_TRUE(get_data.has_value()) << withholder->ReceivedSummary();
  info = n2->Info();
  ASSERT_TRUE(info.ok());
  EXPECT_TRUE(info->syncing()) << "the fake run was not taken";

  // The body request is pending (its deadline is 15 s away): n1's next
  // block is taken all the same.
  honest_block("while the withheld run is pending");
  info = n2->Info();
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->syncing()) << "n2's tip moved off the run";

  // NotFound for everything asked, then the withholder leaves.
  v1::GossipEnvelope not_found;
  *not_found.mutable_not_found()->mutable_block_hashes() =
      get_data->get_data().block_hashes();
  ASSERT_TRUE(withholder->Send(not_found));
  EXPECT_TRUE(withholder->PingPong(kReply)) << withholder->ReceivedSummary();
  absl::StatusOr<v1::ListPeersResponse> peers = n2->Peers();
  ASSERT_TRUE(peers.ok());
  const v1::ConnectedPeer* us = FindConnected(*peers, id);
  ASSERT_NE(us, nullptr);
  EXPECT_EQ(us->misbehavior_score(), 0) << "a first withheld run is free";
  withholder.reset();

  EXPECT_TRUE(WaitFor(
      [&](std::string& seen) {
        absl::StatusOr<v1::GetInfoResponse> now = n2->Info();
        seen = now.ok() ? absl::StrCat("syncing=", now->syncing())
                        : now.status().ToString();
        return now.ok() && !now->syncing();
      },
      kReply, "n2 to stop syncing"));
  honest_block("after the withholder left");
  honest_block("once more");
  // None of the fake blocks became n2's.
  for (const BlockHeader& h : {fake.front(), fake.back()}) {
    absl::StatusOr<v1::GetBlockResponse> stored =
        n2->BlockByHash(HashBytes(h.Hash()));
    EXPECT_FALSE(stored.ok()) << "a withheld block is stored";
  }
}

}  // namespace
}  // namespace pbchain::nettest
