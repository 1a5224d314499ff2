// A hostile peer against an honest pair n1 (mining) <-> n2 (--peer n1). The
// test speaks Gossip.Exchange to n2 itself, one scenario per stream: a first
// message that is not a Hello, a wrong genesis, malformed and oversized
// messages (the score shows in n2's ListPeers until the ban), blocks that
// break a rule (bad proof of work, bad merkle root, bad coinbase, a bad
// signature), a Ping flood, and undecodable bytes through a generic stub.
// Each breaking peer ends banned; a block from the far future or with an
// unknown parent costs nothing. Throughout, n1 and n2 keep one chain, keep
// advancing and keep answering.

#include <functional>

#include "absl/strings/str_cat.h"
#include "chain/block.h"
#include "chain/pow.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "proto/convert.h"
#include "tests/chain/test_chain.h"
#include "tests/network/gossip_client.h"
#include "tests/network/net_harness.h"

namespace pbchain::nettest {
namespace {

constexpr absl::Duration kReply = absl::Seconds(10);

class HostilePeerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    net_ = std::make_unique<TestNet>("hostile_peer",
                                     GenesisConfig{.target_interval_ms = 300});
    ASSERT_TRUE(net_->ok());
    n1_ = net_->StartNode("n1", NodeConfig{.mine = true});
    ASSERT_NE(n1_, nullptr);
    n2_ = net_->StartNode("n2", NodeConfig{.peers = {n1_->address()}});
    ASSERT_NE(n2_, nullptr);
    std::optional<v1::GetInfoResponse> tip =
        WaitForSameTip({n1_, n2_}, 2, absl::Seconds(60));
    ASSERT_TRUE(tip.has_value());
    start_height_ = tip->height();
    genesis_ = tip->genesis_hash();
    absl::StatusOr<v1::GetInfoResponse> n1_info = n1_->Info();
    ASSERT_TRUE(n1_info.ok()) << n1_info.status();
    n1_id_ = n1_info->node_id();
  }

  void TearDown() override { net_.reset(); }

  // n1 and n2 answer GetInfo, and n2 is still linked to n1 with a clean
  // score.
  void ExpectHonestPairHealthy(const std::string& after) {
    SCOPED_TRACE("after " + after);
    EXPECT_TRUE(n1_->Info().ok()) << n1_->Summary();
    EXPECT_TRUE(n2_->Info().ok()) << n2_->Summary();
    EXPECT_TRUE(WaitFor(
        [&](std::string& seen) {
          absl::StatusOr<v1::ListPeersResponse> peers = n2_->Peers();
          if (!peers.ok()) {
            seen = peers.status().ToString();
            return false;
          }
          const v1::ConnectedPeer* p = FindConnected(*peers, n1_id_);
          seen = p == nullptr
                     ? "n1 not connected"
                     : absl::StrCat("n1 score ", p->misbehavior_score());
          return p != nullptr && p->misbehavior_score() == 0;
        },
        absl::Seconds(15), "n2 to stay linked to n1 with score 0"));
  }

  // A session that said a valid Hello and got n2's Hello back.
  std::unique_ptr<GossipSession> Greeted(const std::string& node_id) {
    auto s = std::make_unique<GossipSession>(n2_->address());
    EXPECT_TRUE(s->Send(MakeHello(genesis_, node_id)));
    std::optional<v1::Hello> hello = s->WaitForHello(kReply);
    EXPECT_TRUE(hello.has_value())
        << "no Hello from n2: " << s->ReceivedSummary();
    if (hello) {
      EXPECT_EQ(hello->genesis_hash(), genesis_);
      EXPECT_EQ(hello->protocol_version(), 1u);
    }
    return s;
  }

  // n2's score for `node_id`, or nullopt if it is not connected.
  std::optional<int> ScoreOf(const std::string& node_id) {
    absl::StatusOr<v1::ListPeersResponse> peers = n2_->Peers();
    if (!peers.ok()) return std::nullopt;
    const v1::ConnectedPeer* p = FindConnected(*peers, node_id);
    if (p == nullptr) return std::nullopt;
    return p->misbehavior_score();
  }

  bool WaitForScore(const std::string& node_id, int want) {
    return WaitFor(
        [&](std::string& seen) {
          std::optional<int> score = ScoreOf(node_id);
          seen = score ? absl::StrCat("score ", *score) : "not connected";
          return score == want;
        },
        absl::Seconds(5), absl::StrCat("n2 to show score ", want));
  }

  // A block on n2's current tip from its template (coinbase paying the test
  // miner), not yet solved.
  Block TemplateBlock() {
    v1::GetBlockTemplateRequest req;
    req.set_miner_address(net_->miner_address().ToText());
    v1::GetBlockTemplateResponse resp;
    grpc::Status s = n2_->stub().GetBlockTemplate(Ctx().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    v1::Block msg;
    *msg.mutable_header() = resp.header();
    *msg.mutable_transactions() = resp.transactions();
    absl::StatusOr<Block> block = BlockFromProto(msg);
    EXPECT_TRUE(block.ok()) << block.status();
    return block.ok() ? *block : Block{};
  }

  // Searches the header nonce until the hash meets (or, with `valid` false,
  // misses) the target of the header's own bits. Merkle root as it is.
  static void Solve(BlockHeader& header, bool valid = true) {
    const UInt256 target = DecodeCompact(header.bits).target;
    for (uint32_t nonce = 0;; ++nonce) {
      header.nonce = nonce;
      if (HashMeetsTarget(header.Hash(), target) == valid) return;
      if (nonce == UINT32_MAX) {
        header.time += 1;
        nonce = 0;
      }
    }
  }

  static v1::GossipEnvelope BlockEnvelope(const Block& block) {
    v1::GossipEnvelope e;
    *e.mutable_block()->mutable_block() = BlockToProto(block);
    return e;
  }

  // Sends a block `make` builds (from a fresh TemplateBlock) on a fresh
  // session and expects n2 to ban the sender.
  void ExpectBlockBanned(const std::function<Block()>& make,
                         const std::string& what) {
    SCOPED_TRACE(what);
    // n1 mines on: n2 may be catching up from it (syncing) when the block
    // arrives, and a syncing node ignores blocks it did not ask for
    // (PROTOCOL.md 21.3), unvalidated and unpunished. And once n1's next
    // block lands, a block on the old tip has less work than n2's tip and is
    // dropped unprocessed (relay.cc), unpunished too. So each attempt builds
    // the block on n2's tip of the moment, sends it once n2 is not syncing,
    // and tries again on a new session if it was dropped either way.
    constexpr int kAttempts = 5;
    std::string id;
    std::unique_ptr<GossipSession> s;
    Block block;
    for (int attempt = 1; attempt <= kAttempts; ++attempt) {
      ASSERT_TRUE(WaitFor(
          [&](std::string& seen) {
            absl::StatusOr<v1::GetInfoResponse> info = n2_->Info();
            seen = info.ok() ? absl::StrCat("syncing ", info->syncing())
                             : info.status().ToString();
            return info.ok() && !info->syncing();
          },
          absl::Seconds(30), "n2 not syncing"));
      id = RandomNodeId();
      s = Greeted(id);
      ASSERT_TRUE(WaitForScore(id, 0));
      block = make();
      ASSERT_FALSE(block.txs.empty());
      ASSERT_TRUE(s->Send(BlockEnvelope(block)));
      if (s->WaitForReject(v1::REJECT_CODE_BANNED, kReply).has_value()) break;
      ASSERT_LT(attempt, kAttempts)
          << "no Reject(BANNED) for " << what << ": " << s->ReceivedSummary();
    }
    EXPECT_TRUE(s->WaitForEnd(kReply)) << "stream still open after the ban";
    EXPECT_EQ(ScoreOf(id), std::nullopt) << "banned peer still listed";
    // The block went nowhere.
    absl::StatusOr<v1::GetBlockResponse> stored = n2_->BlockByHash(std::string(
        reinterpret_cast<const char*>(block.Hash().bytes.data()), 32));
    if (stored.ok()) {
      EXPECT_FALSE(stored->in_main_chain()) << what << " became active";
    } else {
      EXPECT_EQ(stored.status().code(), absl::StatusCode::kNotFound);
    }
    ExpectHonestPairHealthy(what);
  }

  std::unique_ptr<TestNet> net_;
  NodeProcess* n1_ = nullptr;
  NodeProcess* n2_ = nullptr;
  uint64_t start_height_ = 0;
  std::string genesis_;
  std::string n1_id_;
};

std::string Bytes32(uint8_t fill, size_t size = 32) {
  return std::string(size, static_cast<char>(fill));
}

TEST_F(HostilePeerTest, MisbehavingPeersAreBannedAndTheNodeCarriesOn) {
  // --- The session must open with a Hello. ---
  {
    SCOPED_TRACE("first message not a Hello");
    GossipSession s(n2_->address());
    v1::GossipEnvelope ping;
    ping.mutable_ping()->set_nonce(7);
    ASSERT_TRUE(s.Send(ping));
    EXPECT_TRUE(
        s.WaitForReject(v1::REJECT_CODE_PROTOCOL_VIOLATION, kReply).has_value())
        << s.ReceivedSummary();
    EXPECT_TRUE(s.WaitForEnd(kReply)) << s.ReceivedSummary();
  }

  // --- Another network: refused, but not banned. ---
  {
    SCOPED_TRACE("wrong genesis");
    const std::string id = RandomNodeId();
    {
      GossipSession s(n2_->address());
      ASSERT_TRUE(s.Send(MakeHello(Bytes32(0x42), id)));
      EXPECT_TRUE(
          s.WaitForReject(v1::REJECT_CODE_WRONG_GENESIS, kReply).has_value())
          << s.ReceivedSummary();
      EXPECT_TRUE(s.WaitForEnd(kReply)) << s.ReceivedSummary();
    }
    std::unique_ptr<GossipSession> again = Greeted(id);
    EXPECT_TRUE(again->PingPong(kReply))
        << "same node id refused after a wrong-genesis Hello: "
        << again->ReceivedSummary();
  }
  ExpectHonestPairHealthy("wrong genesis");

  // --- Malformed and oversized messages add up until the ban. ---
  {
    SCOPED_TRACE("malformed messages");
    const std::string id = RandomNodeId();
    {
      std::unique_ptr<GossipSession> s = Greeted(id);
      ASSERT_TRUE(WaitForScore(id, 0));

      v1::GossipEnvelope short_hash;
      short_hash.mutable_inventory()->add_block_hashes(Bytes32(1, 31));
      ASSERT_TRUE(s->Send(short_hash));
      EXPECT_TRUE(WaitForScore(id, 20)) << "hash of 31 bytes in Inventory";

      v1::GossipEnvelope long_hash;
      long_hash.mutable_get_data()->add_txids(Bytes32(2, 33));
      ASSERT_TRUE(s->Send(long_hash));
      EXPECT_TRUE(WaitForScore(id, 40)) << "hash of 33 bytes in GetData";

      v1::GossipEnvelope big_inventory;
      for (int i = 0; i < 1001; ++i) {
        std::string h = Bytes32(3);
        h[0] = static_cast<char>(i & 0xff);
        h[1] = static_cast<char>(i >> 8);
        big_inventory.mutable_inventory()->add_txids(h);
      }
      ASSERT_TRUE(s->Send(big_inventory));
      EXPECT_TRUE(WaitForScore(id, 90)) << "Inventory of 1001 hashes";
      EXPECT_TRUE(s->PingPong(kReply)) << "stream closed before the limit";

      v1::GossipEnvelope big_get_data;
      *big_get_data.mutable_get_data()->mutable_txids() =
          big_inventory.inventory().txids();
      ASSERT_TRUE(s->Send(big_get_data));
      EXPECT_TRUE(s->WaitForReject(v1::REJECT_CODE_BANNED, kReply).has_value())
          << s->ReceivedSummary();
      EXPECT_TRUE(s->WaitForEnd(kReply)) << s->ReceivedSummary();
      EXPECT_EQ(ScoreOf(id), std::nullopt) << "banned peer still listed";
    }
    // Coming back with the same node id: banned right after the Hello.
    GossipSession back(n2_->address());
    ASSERT_TRUE(back.Send(MakeHello(genesis_, id)));
    EXPECT_TRUE(back.WaitForReject(v1::REJECT_CODE_BANNED, kReply).has_value())
        << back.ReceivedSummary();
    EXPECT_TRUE(back.WaitForEnd(kReply)) << back.ReceivedSummary();
  }
  ExpectHonestPairHealthy("malformed messages");

  // --- Blocks that break a consensus rule: banned at once. ---
  ExpectBlockBanned(
      [&] {
        Block b = TemplateBlock();
        Solve(b.header, /*valid=*/false);
        return b;
      },
      "a block with bad proof of work");
  ExpectBlockBanned(
      [&] {
        Block b = TemplateBlock();
        b.header.merkle_root.bytes[0] ^= 0xff;
        Solve(b.header);
        return b;
      },
      "a block with a bad merkle root (valid PoW)");
  ExpectBlockBanned(
      [&] {
        Block b = TemplateBlock();
        if (b.txs.empty()) return b;
        b.txs[0].height += 7;  // the coinbase claims another height
        b.header.merkle_root = BlockMerkleRoot(b);
        Solve(b.header);
        return b;
      },
      "a block with a bad coinbase (valid PoW)");
  ExpectBlockBanned(
      [&] {
        Block b = TemplateBlock();
        if (b.txs.empty()) return b;
        const Address payee =
            AddressFromPublicKey(net_->funded_key(3).public_key());
        Transaction tx = testing::MakeTransfer(
            net_->params(), net_->funded_key(1), payee, 10, 5, 0);
        tx.signature[10] ^= 0x01;
        b.txs[0].amount += tx.fee;
        b.txs.push_back(tx);
        b.header.merkle_root = BlockMerkleRoot(b);
        Solve(b.header);
        return b;
      },
      "a block with a badly signed transfer (valid PoW)");

  // --- A flood of Pings: banned once past the rate limit. ---
  {
    SCOPED_TRACE("ping flood");
    const std::string id = RandomNodeId();
    std::unique_ptr<GossipSession> s = Greeted(id);
    ASSERT_TRUE(WaitForScore(id, 0));
    // Far more than any sane burst, as fast as we can write; stop once the
    // node gives up on us.
    int sent = 0;
    for (; sent < 20000; ++sent) {
      v1::GossipEnvelope ping;
      ping.mutable_ping()->set_nonce(1'000'000 + sent);
      if (!s->Send(ping)) break;
      if (sent % 500 == 499 &&
          s->WaitForReject(v1::REJECT_CODE_BANNED, absl::ZeroDuration())) {
        break;
      }
    }
    EXPECT_TRUE(s->WaitForReject(v1::REJECT_CODE_BANNED, kReply).has_value())
        << "sent " << sent << " pings; " << s->ReceivedSummary();
    EXPECT_TRUE(s->WaitForEnd(kReply));
  }
  ExpectHonestPairHealthy("ping flood");

  // --- Not punished: a block too far in the future, one with an unknown
  //     parent. The stream stays open and the score stays 0. ---
  {
    SCOPED_TRACE("future and orphan blocks");
    const std::string id = RandomNodeId();
    std::unique_ptr<GossipSession> s = Greeted(id);
    ASSERT_TRUE(WaitForScore(id, 0));

    Block future = TemplateBlock();
    ASSERT_FALSE(future.txs.empty());
    future.header.time =
        static_cast<uint32_t>(absl::ToUnixSeconds(absl::Now()) + 2 * 3600);
    Solve(future.header);
    ASSERT_TRUE(s->Send(BlockEnvelope(future)));

    Block orphan = TemplateBlock();
    ASSERT_FALSE(orphan.txs.empty());
    orphan.header.prev_hash.bytes.fill(0x5a);
    Solve(orphan.header);
    ASSERT_TRUE(s->Send(BlockEnvelope(orphan)));

    EXPECT_TRUE(s->PingPong(kReply)) << s->ReceivedSummary();
    absl::SleepFor(absl::Seconds(2));  // room for a (wrong) late punishment
    EXPECT_TRUE(s->PingPong(kReply)) << s->ReceivedSummary();
    EXPECT_EQ(ScoreOf(id), std::optional<int>(0));
    EXPECT_FALSE(s->WaitForReject(v1::REJECT_CODE_BANNED, absl::ZeroDuration())
                     .has_value())
        << s->ReceivedSummary();
    absl::StatusOr<v1::GetInfoResponse> info = n2_->Info();
    ASSERT_TRUE(info.ok());
    EXPECT_NE(
        info->tip_hash(),
        std::string(reinterpret_cast<const char*>(future.Hash().bytes.data()),
                    32));
  }
  ExpectHonestPairHealthy("future and orphan blocks");

  // --- Bytes that are no GossipEnvelope at all, through a generic stub:
  //     before the Hello they end the stream; after it each costs
  //     kMalformedPoints and the stream goes on, so five of them are a ban
  //     that ends it. Either way it ends before our deadline and the node
  //     carries on. ---
  for (bool hello_first : {false, true}) {
    SCOPED_TRACE(hello_first ? "garbage after a Hello" : "garbage first");
    grpc::GenericStub generic(grpc::CreateChannel(
        n2_->address(), grpc::InsecureChannelCredentials()));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(20));
    grpc::CompletionQueue cq;
    auto next = [&cq]() {
      void* tag = nullptr;
      bool ok = false;
      const auto status = cq.AsyncNext(
          &tag, &ok,
          std::chrono::system_clock::now() + std::chrono::seconds(30));
      return status == grpc::CompletionQueue::GOT_EVENT && ok;
    };
    std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call =
        generic.PrepareCall(&ctx, "/pbchain.v1.Gossip/Exchange", &cq);
    call->StartCall(reinterpret_cast<void*>(1));
    ASSERT_TRUE(next());
    auto send = [&](const std::string& bytes) {
      grpc::Slice slice(bytes);
      grpc::ByteBuffer buffer(&slice, 1);
      call->Write(buffer, reinterpret_cast<void*>(2));
      return next();
    };
    if (hello_first) {
      ASSERT_TRUE(
          send(MakeHello(genesis_, RandomNodeId()).SerializeAsString()));
    }
    // Field 1 (hello) claims a length far beyond the message: undecodable.
    for (int i = 0; i < (hello_first ? 5 : 1); ++i) {
      ASSERT_TRUE(send(std::string("\x0a\xff\xff\xff\x0f\x01\x02", 7)));
    }
    int messages = 0;
    while (true) {
      grpc::ByteBuffer in;
      call->Read(&in, reinterpret_cast<void*>(3));
      if (!next()) break;
      ++messages;
    }
    grpc::Status status;
    call->Finish(&status, reinterpret_cast<void*>(4));
    ASSERT_TRUE(next());
    EXPECT_NE(status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
        << "the stream stayed open after undecodable bytes (" << messages
        << " messages read)";
    cq.Shutdown();
    void* tag;
    bool ok;
    while (cq.Next(&tag, &ok)) {
    }
  }
  ExpectHonestPairHealthy("undecodable bytes");

  // --- After all that: still one chain, still growing. ---
  EXPECT_TRUE(WaitForSameTip({n1_, n2_}, start_height_ + 3, absl::Seconds(30))
                  .has_value());
}

}  // namespace
}  // namespace pbchain::nettest
