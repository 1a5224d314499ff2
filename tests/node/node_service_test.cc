// NodeServiceImpl through the generated stub on an in-process channel, over a
// real Node (RocksDB datadir in a temp directory, test genesis, no mining).
#include "node/rpc/node_service.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "chain/consensus.h"
#include "chain/miner.h"
#include "chain/pow.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "node/core/node.h"
#include "pbchain/v1/node.grpc.pb.h"
#include "proto/convert.h"
#include "tests/chain/test_chain.h"

namespace pbchain {
namespace {

using testing::MakeBlock;
using testing::MakeTransfer;
using testing::TestKey;
using testing::TestParams;

constexpr int kMaxReceiveBytes = 2 * 1024 * 1024;

Address Addr(int i) { return AddressFromPublicKey(TestKey(i).public_key()); }

std::string Raw(const Hash256& h) {
  return std::string(reinterpret_cast<const char*>(h.bytes.data()), 32);
}

Hash256 HashOf(const std::string& raw) {
  absl::StatusOr<Hash256> h = Hash256::FromBytes(AsBytes(raw));
  EXPECT_TRUE(h.ok()) << raw.size();
  return h.ok() ? *h : Hash256{};
}

void WithDeadline(grpc::ClientContext& ctx, int seconds = 20) {
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::seconds(seconds));
}

class NodeServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/node_service_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    params_ = TestParams(4, 1'000'000);
    NodeOptions options;
    options.datadir = dir_ + "/data";
    options.params = params_;
    options.role = "seed";
    absl::StatusOr<std::unique_ptr<Node>> node = Node::Create(options);
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = *std::move(node);
    service_ = std::make_unique<NodeServiceImpl>(node_.get());
    grpc::ServerBuilder builder;
    builder.SetMaxReceiveMessageSize(kMaxReceiveBytes);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(16 * 1024 * 1024);
    stub_ = v1::NodeService::NewStub(server_->InProcessChannel(args));
  }

  void TearDown() override {
    if (server_) {
      server_->Shutdown(std::chrono::system_clock::now() +
                        std::chrono::seconds(5));
      server_->Wait();
    }
    service_.reset();
    node_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  ChainState& chain() { return node_->chain(); }

  // A mined block on the block `parent` (hash), carrying `txs`.
  Block BlockOn(const Hash256& parent, std::vector<Transaction> txs = {},
                uint64_t extra = 0) {
    std::optional<BlockIndexEntry> e = chain().GetIndexEntry(parent);
    EXPECT_TRUE(e.has_value());
    return MakeBlock(params_, e->header, e->height, std::move(txs), Addr(3),
                     extra);
  }

  // Mines a block on the tip and submits it to the node; returns it.
  Block Extend(std::vector<Transaction> txs = {}) {
    Block b = BlockOn(chain().Tip().hash, std::move(txs));
    absl::StatusOr<AcceptResult> r = node_->SubmitBlock(b);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(r->status, AcceptStatus::kActive);
    return b;
  }

  Transaction Pay(int from, uint64_t amount, uint64_t fee, uint64_t nonce,
                  std::optional<DataRecord> record = std::nullopt) {
    return MakeTransfer(params_, TestKey(from), Addr(3), amount, fee, nonce,
                        std::move(record));
  }

  grpc::Status Submit(const Transaction& tx, std::string* txid = nullptr) {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::SubmitTransactionRequest req;
    *req.mutable_transaction() = TransactionToProto(tx);
    v1::SubmitTransactionResponse resp;
    grpc::Status s = stub_->SubmitTransaction(&ctx, req, &resp);
    if (txid != nullptr) *txid = resp.txid();
    return s;
  }

  grpc::Status Broadcast(const v1::Block& block,
                         v1::BroadcastBlockResponse* resp) {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::BroadcastBlockRequest req;
    *req.mutable_block() = block;
    return stub_->BroadcastBlock(&ctx, req, resp);
  }

  grpc::Status GetBlock(const v1::GetBlockRequest& req,
                        v1::GetBlockResponse* resp) {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    return stub_->GetBlock(&ctx, req, resp);
  }

  grpc::Status GetHeaders(const v1::GetHeadersRequest& req,
                          v1::GetHeadersResponse* resp) {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    return stub_->GetHeaders(&ctx, req, resp);
  }

  grpc::Status GetAccount(const std::string& address,
                          v1::GetAccountResponse* resp) {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::GetAccountRequest req;
    req.set_address(address);
    return stub_->GetAccount(&ctx, req, resp);
  }

  grpc::Status GetRecords(const v1::GetRecordsRequest& req,
                          v1::GetRecordsResponse* resp) {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    return stub_->GetRecords(&ctx, req, resp);
  }

  grpc::Status GetHistory(const std::string& address, uint32_t page_size,
                          const std::string& token,
                          v1::GetAccountHistoryResponse* resp) {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::GetAccountHistoryRequest req;
    req.set_address(address);
    req.set_page_size(page_size);
    req.set_page_token(token);
    return stub_->GetAccountHistory(&ctx, req, resp);
  }

  // Every entry of `address`'s history, paging `page_size` at a time;
  // `*pages` counts the calls.
  std::vector<v1::AccountHistoryEntry> FullHistory(const Address& address,
                                                   uint32_t page_size,
                                                   int* pages = nullptr) {
    std::vector<v1::AccountHistoryEntry> out;
    std::string token;
    int n = 0;
    while (n < 1000) {
      v1::GetAccountHistoryResponse resp;
      grpc::Status s = GetHistory(address.ToText(), page_size, token, &resp);
      ++n;
      EXPECT_TRUE(s.ok()) << s.error_message();
      if (!s.ok()) break;
      EXPECT_EQ(resp.height(), chain().Tip().height);
      EXPECT_LE(static_cast<uint32_t>(resp.entries_size()), page_size);
      out.insert(out.end(), resp.entries().begin(), resp.entries().end());
      if (resp.next_page_token().empty()) break;
      EXPECT_EQ(static_cast<uint32_t>(resp.entries_size()), page_size);
      token = resp.next_page_token();
    }
    if (pages != nullptr) *pages = n;
    return out;
  }

  // Addr(0) writes `count` keyed records "k000".. of the largest payload
  // (kMaxRecordPayload bytes) into namespace `ns`, zero amount and fee, as
  // many per block as fit; returns their keys in order.
  std::vector<std::string> WriteLargeRecords(const std::string& ns, int count) {
    std::vector<std::string> keys;
    std::vector<Transaction> txs;
    size_t bytes = 0;
    for (int i = 0; i < count; ++i) {
      char key[8];
      std::snprintf(key, sizeof(key), "k%03d", i);
      keys.push_back(key);
      Transaction tx = Pay(
          0, 0, 0, i,
          DataRecord{ns, key, std::string(kMaxRecordPayload, 'a' + i % 26)});
      const size_t size = tx.Encode().size();
      if (bytes + size > kMaxBlockSize - 1000) {
        Extend(std::move(txs));
        txs.clear();
        bytes = 0;
      }
      bytes += size;
      txs.push_back(std::move(tx));
    }
    if (!txs.empty()) Extend(std::move(txs));
    return keys;
  }

  grpc::Status GetTips(uint32_t limit, v1::GetChainTipsResponse* resp) {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::GetChainTipsRequest req;
    req.set_limit(limit);
    return stub_->GetChainTips(&ctx, req, resp);
  }

  // Reads a GetBlocks stream to its end.
  grpc::Status ReadBlocks(const v1::GetBlocksRequest& req,
                          std::vector<v1::GetBlocksResponse>* out) {
    grpc::ClientContext ctx;
    WithDeadline(ctx, 60);
    auto reader = stub_->GetBlocks(&ctx, req);
    v1::GetBlocksResponse msg;
    while (reader->Read(&msg)) out->push_back(msg);
    return reader->Finish();
  }

  std::string dir_;
  ChainParams params_;
  std::unique_ptr<Node> node_;
  std::unique_ptr<NodeServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::NodeService::Stub> stub_;
};

// ---------------------------------------------------------------- GetInfo

TEST_F(NodeServiceTest, GetInfoDescribesTheChain) {
  {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::GetInfoResponse info;
    ASSERT_TRUE(stub_->GetInfo(&ctx, v1::GetInfoRequest(), &info).ok());
    EXPECT_EQ(info.height(), 0u);
    EXPECT_EQ(HashOf(info.tip_hash()), chain().genesis_hash());
    EXPECT_EQ(HashOf(info.genesis_hash()), chain().genesis_hash());
    EXPECT_EQ(info.chain_id(), "pbchain-test");
    EXPECT_EQ(info.version(), kNodeVersion);
    EXPECT_EQ(info.protocol_version(), 1u);
    EXPECT_EQ(info.role(), v1::PEER_ROLE_SEED);
    // A random id kept in the datadir.
    EXPECT_EQ(info.node_id().size(), 32u);
    std::ifstream id_file(dir_ + "/data/node_id");
    std::string stored;
    std::getline(id_file, stored);
    EXPECT_EQ(stored, info.node_id());
    EXPECT_EQ(info.peer_count(), 0u);
    EXPECT_FALSE(info.mining());
    EXPECT_FALSE(info.syncing());
    EXPECT_EQ(info.local_hash_rate(), 0);
    EXPECT_EQ(info.chain_work(), chain().Tip().chain_work.ToDecimal());
    // Genesis only: work per block (2 hashes at the easiest target) over
    // the 1 s interval.
    EXPECT_DOUBLE_EQ(info.network_hash_rate(), 2.0);
    EXPECT_EQ(info.tip_bits(), params_.genesis_bits);
  }
  ASSERT_TRUE(Submit(Pay(0, 10, 5, 0)).ok());
  Extend();
  Extend();
  grpc::ClientContext ctx;
  WithDeadline(ctx);
  v1::GetInfoResponse info;
  ASSERT_TRUE(stub_->GetInfo(&ctx, v1::GetInfoRequest(), &info).ok());
  const TipInfo tip = chain().Tip();
  EXPECT_EQ(info.height(), 2u);
  EXPECT_EQ(HashOf(info.tip_hash()), tip.hash);
  EXPECT_EQ(info.tip_time(), tip.header.time);
  EXPECT_EQ(info.chain_work(), "6");  // 3 blocks of work 2
  EXPECT_EQ(info.mempool_size(), 1u);
  EXPECT_EQ(info.mempool_bytes(), Pay(0, 10, 5, 0).Encode().size());
  // Two blocks of work 2 one second apart each.
  EXPECT_DOUBLE_EQ(info.network_hash_rate(), 2.0);
}

// ---------------------------------------------------------------- GetBlock

TEST_F(NodeServiceTest, GetBlockByHashAndHeight) {
  Block b1 = Extend({Pay(0, 10, 1, 0)});
  Block b2 = Extend();
  Block side = BlockOn(b1.Hash(), {}, /*extra=*/7);
  ASSERT_EQ(node_->SubmitBlock(side)->status, AcceptStatus::kSideBranch);

  v1::GetBlockRequest req;
  req.set_height(1);
  v1::GetBlockResponse resp;
  ASSERT_TRUE(GetBlock(req, &resp).ok());
  EXPECT_EQ(HashOf(resp.hash()), b1.Hash());
  EXPECT_EQ(resp.height(), 1u);
  EXPECT_TRUE(resp.in_main_chain());
  EXPECT_EQ(resp.confirmations(), 2u);
  EXPECT_EQ(resp.size_bytes(), b1.ConsensusSize());
  absl::StatusOr<Block> decoded = BlockFromProto(resp.block());
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, b1);
  // One txid per transaction, same order (coinbase first).
  ASSERT_EQ(resp.txids_size(), 2);
  EXPECT_EQ(HashOf(resp.txids(0)), b1.txs[0].Id());
  EXPECT_EQ(HashOf(resp.txids(1)), b1.txs[1].Id());
  EXPECT_NE(resp.txids(0), resp.txids(1));

  req.set_hash(Raw(b2.Hash()));
  ASSERT_TRUE(GetBlock(req, &resp).ok());
  EXPECT_EQ(resp.height(), 2u);
  EXPECT_EQ(resp.confirmations(), 1u);

  req.set_hash(Raw(side.Hash()));
  ASSERT_TRUE(GetBlock(req, &resp).ok());
  EXPECT_EQ(resp.height(), 2u);
  EXPECT_FALSE(resp.in_main_chain());
  EXPECT_EQ(resp.confirmations(), 0u);
  ASSERT_EQ(resp.txids_size(), 1);
  EXPECT_EQ(HashOf(resp.txids(0)), side.txs[0].Id());
}

TEST_F(NodeServiceTest, GetBlockRejectsBadInput) {
  v1::GetBlockResponse resp;
  EXPECT_EQ(GetBlock(v1::GetBlockRequest(), &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::GetBlockRequest req;
  req.set_hash(std::string(31, 'x'));
  EXPECT_EQ(GetBlock(req, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  req.set_hash("");
  EXPECT_EQ(GetBlock(req, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  req.set_hash(std::string(32, 'x'));
  EXPECT_EQ(GetBlock(req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
  req.set_height(1);
  EXPECT_EQ(GetBlock(req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
  req.set_height(uint64_t{1} << 40);
  EXPECT_EQ(GetBlock(req, &resp).error_code(), grpc::StatusCode::NOT_FOUND);
}

// ---------------------------------------------------------------- GetHeaders

TEST_F(NodeServiceTest, GetHeadersFollowsTheLocator) {
  std::vector<Block> blocks;
  for (int i = 0; i < 5; ++i) blocks.push_back(Extend());
  v1::GetHeadersRequest req;
  v1::GetHeadersResponse resp;

  // Empty locator: from genesis.
  ASSERT_TRUE(GetHeaders(req, &resp).ok());
  ASSERT_EQ(resp.headers_size(), 6);
  EXPECT_EQ(resp.start_height(), 0u);
  EXPECT_EQ(BlockHeaderFromProto(resp.headers(0))->Hash(),
            chain().genesis_hash());

  // Locator: an unknown hash, then block 2 -> blocks 3..5.
  req.add_locator_hashes(std::string(32, '\x11'));
  req.add_locator_hashes(Raw(blocks[1].Hash()));
  req.add_locator_hashes(Raw(chain().genesis_hash()));
  ASSERT_TRUE(GetHeaders(req, &resp).ok());
  EXPECT_EQ(resp.start_height(), 3u);
  ASSERT_EQ(resp.headers_size(), 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(*BlockHeaderFromProto(resp.headers(i)), blocks[2 + i].header);
  }

  req.set_max_count(2);
  ASSERT_TRUE(GetHeaders(req, &resp).ok());
  EXPECT_EQ(resp.headers_size(), 2);

  req.set_max_count(0);
  req.set_stop_hash(Raw(blocks[3].Hash()));
  ASSERT_TRUE(GetHeaders(req, &resp).ok());
  ASSERT_EQ(resp.headers_size(), 2);
  EXPECT_EQ(BlockHeaderFromProto(resp.headers(1))->Hash(), blocks[3].Hash());

  // Already at the tip: nothing.
  v1::GetHeadersRequest at_tip;
  at_tip.add_locator_hashes(Raw(blocks[4].Hash()));
  ASSERT_TRUE(GetHeaders(at_tip, &resp).ok());
  EXPECT_EQ(resp.headers_size(), 0);
}

TEST_F(NodeServiceTest, GetHeadersCapsAtTwoThousand) {
  // The cap is exercised with a huge max_count on a short chain: no error,
  // just everything there is.
  Extend();
  v1::GetHeadersRequest req;
  req.set_max_count(4'000'000'000u);
  v1::GetHeadersResponse resp;
  ASSERT_TRUE(GetHeaders(req, &resp).ok());
  EXPECT_EQ(resp.headers_size(), 2);
}

TEST_F(NodeServiceTest, GetHeadersRejectsBadInput) {
  v1::GetHeadersResponse resp;
  v1::GetHeadersRequest too_many;
  for (int i = 0; i < 102; ++i) {
    too_many.add_locator_hashes(Raw(chain().genesis_hash()));
  }
  EXPECT_EQ(GetHeaders(too_many, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::GetHeadersRequest short_hash;
  short_hash.add_locator_hashes(std::string(31, '\0'));
  grpc::Status s = GetHeaders(short_hash, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("locator_hashes[0]"), std::string::npos);
  v1::GetHeadersRequest bad_stop;
  bad_stop.set_stop_hash("abc");
  EXPECT_EQ(GetHeaders(bad_stop, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// ---------------------------------------------------------------- GetBlocks

TEST_F(NodeServiceTest, GetBlocksStreamsTheRange) {
  std::vector<Block> blocks{MakeGenesisBlock(params_)};
  for (int i = 0; i < 5; ++i) blocks.push_back(Extend());

  v1::GetBlocksRequest req;
  req.set_from_height(1);
  req.set_to_height(3);
  std::vector<v1::GetBlocksResponse> got;
  ASSERT_TRUE(ReadBlocks(req, &got).ok());
  ASSERT_EQ(got.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(got[i].height(), uint64_t(i + 1));
    EXPECT_EQ(HashOf(got[i].hash()), blocks[i + 1].Hash());
    EXPECT_EQ(*BlockFromProto(got[i].block()), blocks[i + 1]);
  }

  // No upper bound: to the tip. An upper bound above the tip: the tip.
  got.clear();
  ASSERT_TRUE(ReadBlocks(v1::GetBlocksRequest(), &got).ok());
  ASSERT_EQ(got.size(), 6u);
  EXPECT_EQ(HashOf(got[0].hash()), chain().genesis_hash());
  got.clear();
  req.set_from_height(4);
  req.set_to_height(1'000'000);
  ASSERT_TRUE(ReadBlocks(req, &got).ok());
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1].height(), 5u);
}

TEST_F(NodeServiceTest, GetBlocksRejectsBadRanges) {
  Extend();
  std::vector<v1::GetBlocksResponse> got;
  v1::GetBlocksRequest req;
  req.set_from_height(1);
  req.set_to_height(0);
  EXPECT_EQ(ReadBlocks(req, &got).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  req.set_from_height(2);
  req.clear_to_height();
  EXPECT_EQ(ReadBlocks(req, &got).error_code(), grpc::StatusCode::OUT_OF_RANGE);
  req.set_from_height(~uint64_t{0});
  req.set_to_height(~uint64_t{0});
  EXPECT_EQ(ReadBlocks(req, &got).error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_TRUE(got.empty());
}

TEST_F(NodeServiceTest, GetBlocksStopsAtTheCapAndOnCancel) {
  for (uint64_t i = 0; i < kMaxBlocksPerStream + 5; ++i) Extend();
  std::vector<v1::GetBlocksResponse> got;
  ASSERT_TRUE(ReadBlocks(v1::GetBlocksRequest(), &got).ok());
  ASSERT_EQ(got.size(), kMaxBlocksPerStream);
  EXPECT_EQ(got.back().height(), kMaxBlocksPerStream - 1);

  // A client that reads one block and cancels ends the stream.
  grpc::ClientContext ctx;
  WithDeadline(ctx);
  auto reader = stub_->GetBlocks(&ctx, v1::GetBlocksRequest());
  v1::GetBlocksResponse msg;
  ASSERT_TRUE(reader->Read(&msg));
  ctx.TryCancel();
  while (reader->Read(&msg)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

// ----------------------------------------------------------------
// BroadcastBlock

TEST_F(NodeServiceTest, BroadcastBlockReportsVerdicts) {
  const Hash256 genesis = chain().genesis_hash();
  Block b1 = BlockOn(genesis);
  v1::BroadcastBlockResponse resp;
  ASSERT_TRUE(Broadcast(BlockToProto(b1), &resp).ok());
  EXPECT_EQ(resp.status(), v1::BLOCK_STATUS_NEW_TIP);
  EXPECT_TRUE(resp.accepted());
  EXPECT_EQ(resp.height(), 1u);
  EXPECT_EQ(HashOf(resp.hash()), b1.Hash());
  EXPECT_EQ(chain().Tip().hash, b1.Hash());

  ASSERT_TRUE(Broadcast(BlockToProto(b1), &resp).ok());
  EXPECT_EQ(resp.status(), v1::BLOCK_STATUS_DUPLICATE);
  EXPECT_FALSE(resp.accepted());

  Block sibling = BlockOn(genesis, {}, /*extra=*/9);
  ASSERT_TRUE(Broadcast(BlockToProto(sibling), &resp).ok());
  EXPECT_EQ(resp.status(), v1::BLOCK_STATUS_SIDE_BRANCH);
  EXPECT_TRUE(resp.accepted());
  EXPECT_EQ(resp.height(), 1u);

  Block orphan = b1;
  orphan.header.prev_hash.bytes[0] ^= 1;
  std::atomic<bool> abort{false};
  ASSERT_TRUE(MineBlock(orphan, 1, abort).found);
  ASSERT_TRUE(Broadcast(BlockToProto(orphan), &resp).ok());
  EXPECT_EQ(resp.status(), v1::BLOCK_STATUS_ORPHAN);
  EXPECT_FALSE(resp.accepted());
  EXPECT_EQ(resp.height(), 0u);
  EXPECT_EQ(resp.reason().rfind("header-unknown-parent", 0), 0u)
      << resp.reason();

  Block bad_merkle = BlockOn(b1.Hash());
  bad_merkle.header.merkle_root.bytes[0] ^= 1;
  ASSERT_TRUE(MineBlock(bad_merkle, 1, abort).found);
  ASSERT_TRUE(Broadcast(BlockToProto(bad_merkle), &resp).ok());
  EXPECT_EQ(resp.status(), v1::BLOCK_STATUS_INVALID);
  EXPECT_EQ(resp.reason().rfind("block-bad-merkle-root", 0), 0u)
      << resp.reason();
  EXPECT_EQ(chain().Tip().hash, b1.Hash());
}

TEST_F(NodeServiceTest, BroadcastBlockRejectsMalformedRequests) {
  v1::BroadcastBlockResponse resp;
  {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    EXPECT_EQ(stub_->BroadcastBlock(&ctx, v1::BroadcastBlockRequest(), &resp)
                  .error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  v1::Block no_header;
  EXPECT_EQ(Broadcast(no_header, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  v1::Block short_prev = BlockToProto(BlockOn(chain().genesis_hash()));
  short_prev.mutable_header()->set_prev_hash("short");
  grpc::Status s = Broadcast(short_prev, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("prev_hash"), std::string::npos)
      << s.error_message();
  v1::Block bad_tx = BlockToProto(BlockOn(chain().genesis_hash()));
  bad_tx.mutable_transactions(0)->set_recipient("19 bytes only......");
  EXPECT_EQ(Broadcast(bad_tx, &resp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  // Larger than the server's receive limit: refused by gRPC itself.
  v1::Block huge = BlockToProto(BlockOn(chain().genesis_hash()));
  huge.mutable_transactions(0)->mutable_record()->set_namespace_("x");
  huge.mutable_transactions(0)->mutable_record()->set_payload(
      std::string(kMaxReceiveBytes + 1, 'p'));
  EXPECT_EQ(Broadcast(huge, &resp).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(chain().Tip().height, 0u);
}

// ----------------------------------------------------------------
// GetBlockTemplate

TEST_F(NodeServiceTest, GetBlockTemplateCanBeMinedAndSubmitted) {
  Extend();
  const Transaction tx = Pay(1, 100, 7, 0);
  ASSERT_TRUE(Submit(tx).ok());
  v1::GetBlockTemplateRequest req;
  req.set_miner_address(Addr(2).ToText());
  req.set_extra_nonce(42);
  v1::GetBlockTemplateResponse resp;
  {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    ASSERT_TRUE(stub_->GetBlockTemplate(&ctx, req, &resp).ok());
  }
  EXPECT_EQ(resp.height(), 2u);
  EXPECT_EQ(HashOf(resp.header().prev_hash()), chain().Tip().hash);
  EXPECT_EQ(resp.header().nonce(), 0u);
  EXPECT_EQ(resp.header().bits(), chain().NextBitsOnTip());
  EXPECT_EQ(resp.coinbase_amount(), params_.block_reward + 7);
  EXPECT_EQ(int64_t{resp.min_time()}, chain().MedianTimePastOfTip() + 1);
  EXPECT_GE(resp.header().time(), resp.min_time());
  EXPECT_EQ(HashOf(resp.target()).ToHex(),
            DecodeCompact(resp.header().bits()).target.ToHash().ToHex());
  ASSERT_EQ(resp.transactions_size(), 2);
  absl::StatusOr<Transaction> coinbase =
      TransactionFromProto(resp.transactions(0));
  ASSERT_TRUE(coinbase.ok());
  EXPECT_TRUE(coinbase->IsCoinbase());
  EXPECT_EQ(coinbase->recipient, Addr(2));
  EXPECT_EQ(coinbase->extra_nonce, 42u);
  EXPECT_EQ(*TransactionFromProto(resp.transactions(1)), tx);

  v1::Block block;
  *block.mutable_header() = resp.header();
  *block.mutable_transactions() = resp.transactions();
  absl::StatusOr<Block> b = BlockFromProto(block);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(BlockMerkleRoot(*b), b->header.merkle_root);
  std::atomic<bool> abort{false};
  ASSERT_TRUE(MineBlock(*b, 1, abort).found);
  v1::BroadcastBlockResponse verdict;
  ASSERT_TRUE(Broadcast(BlockToProto(*b), &verdict).ok());
  EXPECT_EQ(verdict.status(), v1::BLOCK_STATUS_NEW_TIP) << verdict.reason();
  EXPECT_EQ(node_->mempool().size(), 0u);
}

TEST_F(NodeServiceTest, GetBlockTemplateRejectsBadAddresses) {
  std::string bad_checksum = Addr(2).ToText();
  bad_checksum.back() = bad_checksum.back() == '0' ? '1' : '0';
  for (const std::string& address : {std::string(), std::string("pb1234"),
                                     bad_checksum, std::string(5000, 'a')}) {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::GetBlockTemplateRequest req;
    req.set_miner_address(address);
    v1::GetBlockTemplateResponse resp;
    EXPECT_EQ(stub_->GetBlockTemplate(&ctx, req, &resp).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT)
        << address;
  }
}

// ----------------------------------------------------------------
// SubmitTransaction

TEST_F(NodeServiceTest, SubmitTransactionAddsToTheMempool) {
  const Transaction tx = Pay(0, 10, 1, 0);
  std::string txid;
  ASSERT_TRUE(Submit(tx, &txid).ok());
  EXPECT_EQ(HashOf(txid), tx.Id());
  EXPECT_TRUE(node_->mempool().Contains(tx.Id()));
  // Submitting it again: ALREADY_EXISTS, and the pool is unchanged.
  EXPECT_EQ(Submit(tx, &txid).error_code(), grpc::StatusCode::ALREADY_EXISTS);
  EXPECT_EQ(node_->mempool().size(), 1u);
}

TEST_F(NodeServiceTest, SubmitTransactionRejectsBadTransactions) {
  {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::SubmitTransactionResponse resp;
    EXPECT_EQ(
        stub_->SubmitTransaction(&ctx, v1::SubmitTransactionRequest(), &resp)
            .error_code(),
        grpc::StatusCode::INVALID_ARGUMENT);
  }
  Transaction coinbase;
  coinbase.kind = TxKind::kCoinbase;
  coinbase.chain_id = params_.chain_id;
  coinbase.recipient = Addr(0);
  coinbase.amount = 50;
  coinbase.height = 1;
  EXPECT_EQ(Submit(coinbase).error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  Transaction bad_sig = Pay(0, 10, 1, 0);
  bad_sig.signature[0] ^= 1;
  grpc::Status s = Submit(bad_sig);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("tx-bad-signature"), std::string::npos)
      << s.error_message();

  // Malformed message: a recipient of 19 bytes.
  {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::SubmitTransactionRequest req;
    *req.mutable_transaction() = TransactionToProto(Pay(0, 10, 1, 0));
    req.mutable_transaction()->set_recipient(std::string(19, 'r'));
    v1::SubmitTransactionResponse resp;
    EXPECT_EQ(stub_->SubmitTransaction(&ctx, req, &resp).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  // Unspecified kind.
  {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::SubmitTransactionRequest req;
    *req.mutable_transaction() = TransactionToProto(Pay(0, 10, 1, 0));
    req.mutable_transaction()->set_kind(v1::TRANSACTION_KIND_UNSPECIFIED);
    v1::SubmitTransactionResponse resp;
    EXPECT_EQ(stub_->SubmitTransaction(&ctx, req, &resp).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  // State rules: a nonce gap, more than the balance.
  EXPECT_EQ(Submit(Pay(0, 10, 1, 5)).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Submit(Pay(0, 2'000'000, 1, 0)).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(node_->mempool().size(), 0u);
}

// ----------------------------------------------------------------
// GetTransaction

TEST_F(NodeServiceTest, GetTransactionFromMempoolAndChain) {
  const Transaction tx = Pay(0, 10, 1, 0);
  ASSERT_TRUE(Submit(tx).ok());
  v1::GetTransactionRequest req;
  req.set_txid(Raw(tx.Id()));
  v1::GetTransactionResponse resp;
  {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    ASSERT_TRUE(stub_->GetTransaction(&ctx, req, &resp).ok());
  }
  EXPECT_TRUE(resp.in_mempool());
  EXPECT_EQ(*TransactionFromProto(resp.transaction()), tx);
  EXPECT_TRUE(resp.block_hash().empty());
  EXPECT_EQ(resp.confirmations(), 0u);

  Block b1 = Extend({tx});
  Extend();
  {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    ASSERT_TRUE(stub_->GetTransaction(&ctx, req, &resp).ok());
  }
  EXPECT_FALSE(resp.in_mempool());
  EXPECT_EQ(*TransactionFromProto(resp.transaction()), tx);
  EXPECT_EQ(HashOf(resp.block_hash()), b1.Hash());
  EXPECT_EQ(resp.block_height(), 1u);
  EXPECT_EQ(resp.confirmations(), 2u);
  EXPECT_EQ(resp.index_in_block(), 1u);

  // The coinbase of that block.
  req.set_txid(Raw(b1.txs[0].Id()));
  {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    ASSERT_TRUE(stub_->GetTransaction(&ctx, req, &resp).ok());
  }
  EXPECT_EQ(resp.index_in_block(), 0u);
}

TEST_F(NodeServiceTest, GetTransactionRejectsBadInput) {
  for (const std::string& txid : {std::string(), std::string(33, 'a')}) {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::GetTransactionRequest req;
    req.set_txid(txid);
    v1::GetTransactionResponse resp;
    EXPECT_EQ(stub_->GetTransaction(&ctx, req, &resp).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  grpc::ClientContext ctx;
  WithDeadline(ctx);
  v1::GetTransactionRequest req;
  req.set_txid(std::string(32, '\x42'));
  v1::GetTransactionResponse resp;
  EXPECT_EQ(stub_->GetTransaction(&ctx, req, &resp).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

// ---------------------------------------------------------------- GetAccount

TEST_F(NodeServiceTest, GetAccountWithPendingNonce) {
  v1::GetAccountResponse resp;
  ASSERT_TRUE(GetAccount(Addr(0).ToText(), &resp).ok());
  EXPECT_EQ(resp.account().address(), Addr(0).ToText());
  EXPECT_EQ(resp.account().balance(), 1'000'000u);
  EXPECT_EQ(resp.account().nonce(), 0u);
  EXPECT_EQ(resp.pending_nonce(), 0u);
  EXPECT_EQ(resp.height(), 0u);

  ASSERT_TRUE(Submit(Pay(0, 10, 1, 0)).ok());
  ASSERT_TRUE(Submit(Pay(0, 10, 1, 1)).ok());
  ASSERT_TRUE(GetAccount(Addr(0).ToText(), &resp).ok());
  EXPECT_EQ(resp.account().nonce(), 0u);
  EXPECT_EQ(resp.pending_nonce(), 2u);

  Extend({Pay(0, 10, 1, 0)});
  // Upper-case hex is accepted; the answer is in canonical lower case.
  std::string upper = Addr(0).ToText();
  for (size_t i = 2; i < upper.size(); ++i) upper[i] = std::toupper(upper[i]);
  ASSERT_TRUE(GetAccount(upper, &resp).ok());
  EXPECT_EQ(resp.account().address(), Addr(0).ToText());
  EXPECT_EQ(resp.account().balance(), 1'000'000u - 11);
  EXPECT_EQ(resp.account().nonce(), 1u);
  EXPECT_EQ(resp.pending_nonce(), 2u);
  EXPECT_EQ(resp.height(), 1u);

  // Never seen: zero, not NOT_FOUND.
  Address unknown;
  unknown.bytes[0] = 0x77;
  ASSERT_TRUE(GetAccount(unknown.ToText(), &resp).ok());
  EXPECT_EQ(resp.account().balance(), 0u);
  EXPECT_EQ(resp.pending_nonce(), 0u);
}

TEST_F(NodeServiceTest, GetAccountRejectsBadAddresses) {
  std::string bad_checksum = Addr(0).ToText();
  bad_checksum[10] = bad_checksum[10] == 'a' ? 'b' : 'a';
  std::string bad_prefix = Addr(0).ToText();
  bad_prefix[0] = 'x';
  for (const std::string& address :
       {std::string(), std::string("pb"), bad_checksum, bad_prefix,
        Addr(0).ToText() + "00", std::string(1 << 20, 'z')}) {
    v1::GetAccountResponse resp;
    EXPECT_EQ(GetAccount(address, &resp).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT)
        << address.substr(0, 60);
  }
}

// ---------------------------------------------------------------- GetMempool

TEST_F(NodeServiceTest, GetMempoolListsByPriority) {
  const Transaction low = Pay(0, 10, 1, 0);
  const Transaction high = Pay(1, 10, 50, 0);
  const Transaction mid = Pay(2, 10, 20, 0);
  for (const Transaction& tx : {low, high, mid}) ASSERT_TRUE(Submit(tx).ok());

  auto call = [&](uint32_t limit, v1::GetMempoolResponse* resp) {
    grpc::ClientContext ctx;
    WithDeadline(ctx);
    v1::GetMempoolRequest req;
    req.set_limit(limit);
    return stub_->GetMempool(&ctx, req, resp);
  };
  v1::GetMempoolResponse resp;
  ASSERT_TRUE(call(0, &resp).ok());
  ASSERT_EQ(resp.entries_size(), 3);
  EXPECT_EQ(HashOf(resp.entries(0).txid()), high.Id());
  EXPECT_EQ(HashOf(resp.entries(1).txid()), mid.Id());
  EXPECT_EQ(HashOf(resp.entries(2).txid()), low.Id());
  EXPECT_EQ(*TransactionFromProto(resp.entries(0).transaction()), high);
  EXPECT_EQ(resp.entries(0).size_bytes(), high.Encode().size());
  EXPECT_GT(resp.entries(0).received_unix_ms(), 1'600'000'000'000);
  EXPECT_EQ(resp.total_count(), 3u);
  EXPECT_EQ(resp.total_bytes(),
            low.Encode().size() + high.Encode().size() + mid.Encode().size());

  resp.Clear();
  ASSERT_TRUE(call(2, &resp).ok());
  EXPECT_EQ(resp.entries_size(), 2);
  EXPECT_EQ(resp.total_count(), 3u);
  // An absurd limit is capped, not an error.
  resp.Clear();
  ASSERT_TRUE(call(4'000'000'000u, &resp).ok());
  EXPECT_EQ(resp.entries_size(), 3);
}

// ---------------------------------------------------------------- GetRecords

TEST_F(NodeServiceTest, GetRecordsByKeyAndByPage) {
  auto record = [](std::optional<std::string> key, std::string payload) {
    return DataRecord{"votes", std::move(key), std::move(payload)};
  };
  Block b = Extend({Pay(0, 0, 1, 0, record("alice", "yes")),
                    Pay(1, 0, 1, 0, record("bob", "no")),
                    Pay(2, 0, 1, 0, record(std::nullopt, "comment"))});
  Extend({Pay(0, 0, 1, 1, record(std::nullopt, "other")),
          Pay(1, 0, 1, 1, DataRecord{"elsewhere", std::nullopt, "x"})});

  v1::GetRecordsRequest req;
  req.set_namespace_("votes");
  req.set_key("bob");
  v1::GetRecordsResponse resp;
  ASSERT_TRUE(GetRecords(req, &resp).ok());
  ASSERT_EQ(resp.records_size(), 1);
  const v1::RecordEntry& bob = resp.records(0);
  EXPECT_EQ(bob.record().payload(), "no");
  EXPECT_EQ(bob.record().key(), "bob");
  EXPECT_EQ(HashOf(bob.txid()), b.txs[2].Id());
  EXPECT_EQ(HashOf(bob.block_hash()), b.Hash());
  EXPECT_EQ(bob.block_height(), 1u);
  EXPECT_EQ(bob.block_time(), b.header.time);
  EXPECT_EQ(bob.sender_address(), Addr(1).ToText());
  EXPECT_TRUE(resp.next_page_token().empty());

  req.set_key("carol");
  ASSERT_TRUE(GetRecords(req, &resp).ok());
  EXPECT_EQ(resp.records_size(), 0);

  // Pages of 3 over the 4 records of "votes".
  req.clear_key();
  req.set_page_size(3);
  ASSERT_TRUE(GetRecords(req, &resp).ok());
  ASSERT_EQ(resp.records_size(), 3);
  ASSERT_FALSE(resp.next_page_token().empty());
  std::vector<std::string> payloads;
  for (const auto& r : resp.records()) payloads.push_back(r.record().payload());
  req.set_page_token(resp.next_page_token());
  ASSERT_TRUE(GetRecords(req, &resp).ok());
  ASSERT_EQ(resp.records_size(), 1);
  EXPECT_TRUE(resp.next_page_token().empty());
  payloads.push_back(resp.records(0).record().payload());
  std::sort(payloads.begin(), payloads.end());
  EXPECT_EQ(payloads,
            (std::vector<std::string>{"comment", "no", "other", "yes"}));

  // A huge page size is capped, not an error.
  req.clear_page_token();
  req.set_page_size(4'000'000'000u);
  ASSERT_TRUE(GetRecords(req, &resp).ok());
  EXPECT_EQ(resp.records_size(), 4);
}

TEST_F(NodeServiceTest, GetRecordsPagesStopBeforeTheByteBudget) {
  // 40 records of 64 KiB: about 2.6 MB, far more than one page may carry
  // although 40 is under the default page size of 100.
  const std::vector<std::string> keys = WriteLargeRecords("big", 40);
  v1::GetRecordsRequest req;
  req.set_namespace_("big");
  req.set_page_size(kMaxRecordsPageSize);
  std::vector<std::string> got;
  int pages = 0;
  while (pages < 100) {
    v1::GetRecordsResponse resp;
    grpc::Status s = GetRecords(req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ++pages;
    ASSERT_GE(resp.records_size(), 1);
    for (const v1::RecordEntry& e : resp.records()) {
      got.push_back(e.record().key());
      EXPECT_EQ(e.record().payload().size(), kMaxRecordPayload);
    }
    v1::GetRecordsResponse entries_only = resp;
    entries_only.clear_next_page_token();
    EXPECT_LE(entries_only.ByteSizeLong(), kMaxRecordsResponseBytes);
    if (resp.next_page_token().empty()) break;
    req.set_page_token(resp.next_page_token());
  }
  EXPECT_GE(pages, 3);
  EXPECT_EQ(got, keys);  // every record once, in key order
}

TEST_F(NodeServiceTest, GetRecordsRejectsBadInput) {
  Extend({Pay(0, 0, 1, 0, DataRecord{"votes", std::nullopt, "a"}),
          Pay(1, 0, 1, 0, DataRecord{"votes", std::nullopt, "b"})});
  v1::GetRecordsResponse resp;
  auto code = [&](const v1::GetRecordsRequest& req) {
    return GetRecords(req, &resp).error_code();
  };
  v1::GetRecordsRequest req;
  EXPECT_EQ(code(req), grpc::StatusCode::INVALID_ARGUMENT);  // no namespace
  req.set_namespace_("Votes");
  EXPECT_EQ(code(req), grpc::StatusCode::INVALID_ARGUMENT);
  req.set_namespace_(std::string(65, 'a'));
  EXPECT_EQ(code(req), grpc::StatusCode::INVALID_ARGUMENT);

  req.set_namespace_("votes");
  req.set_key("");
  EXPECT_EQ(code(req), grpc::StatusCode::INVALID_ARGUMENT);
  req.set_key(std::string(129, 'k'));
  EXPECT_EQ(code(req), grpc::StatusCode::INVALID_ARGUMENT);
  req.set_key("k");
  req.set_page_token("00");
  EXPECT_EQ(code(req), grpc::StatusCode::INVALID_ARGUMENT);  // contradictory

  req.clear_key();
  req.set_page_token("not hex");
  EXPECT_EQ(code(req), grpc::StatusCode::INVALID_ARGUMENT);
  req.set_page_token(std::string(100'000, 'a'));
  EXPECT_EQ(code(req), grpc::StatusCode::INVALID_ARGUMENT);

  // A token from another namespace.
  v1::GetRecordsRequest first;
  first.set_namespace_("votes");
  first.set_page_size(1);
  ASSERT_TRUE(GetRecords(first, &resp).ok());
  ASSERT_FALSE(resp.next_page_token().empty());
  req.set_namespace_("votez");
  req.set_page_token(resp.next_page_token());
  EXPECT_EQ(code(req), grpc::StatusCode::INVALID_ARGUMENT);
}

// ---------------------------------------------------------------- ListPeers

TEST_F(NodeServiceTest, ListPeersIsEmptyWithoutANetwork) {
  grpc::ClientContext ctx;
  WithDeadline(ctx);
  v1::ListPeersResponse resp;
  ASSERT_TRUE(stub_->ListPeers(&ctx, v1::ListPeersRequest(), &resp).ok());
  EXPECT_EQ(resp.connected_size(), 0);
  EXPECT_EQ(resp.known_size(), 0);
}

// ------------------------------------------------------- GetAccountHistory

TEST_F(NodeServiceTest, GetAccountHistoryPagesCoverEveryEntryOnceNewestFirst) {
  // Addr(0) sends 2 transfers per block for 6 blocks, to Addr(1) and Addr(2).
  const Block genesis = MakeGenesisBlock(params_);
  // Oldest first: Addr(0)'s allocation, then the transfers.
  std::vector<std::pair<Hash256, std::pair<uint32_t, uint32_t>>> want{
      {genesis.txs[1].Id(), {0, 1}}};
  uint64_t nonce = 0;
  for (uint32_t h = 1; h <= 6; ++h) {
    Transaction t1 = MakeTransfer(params_, TestKey(0), Addr(1), h, 1, nonce++);
    Transaction t2 = MakeTransfer(params_, TestKey(0), Addr(2), h, 0, nonce++);
    want.push_back({t1.Id(), {h, 1}});
    want.push_back({t2.Id(), {h, 2}});
    Extend({t1, t2});
  }
  std::reverse(want.begin(), want.end());  // newest first
  ASSERT_EQ(want.size(), 13u);

  int pages = 0;
  std::vector<v1::AccountHistoryEntry> got = FullHistory(Addr(0), 5, &pages);
  EXPECT_EQ(pages, 3);  // 5 + 5 + 3
  ASSERT_EQ(got.size(), want.size());
  std::set<std::string> seen;
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(HashOf(got[i].txid()), want[i].first) << i;
    EXPECT_EQ(got[i].block_height(), want[i].second.first) << i;
    EXPECT_EQ(got[i].index_in_block(), want[i].second.second) << i;
    EXPECT_TRUE(seen.insert(got[i].txid()).second) << "duplicate at " << i;
    const Hash256 block_hash = *chain().ActiveHashAt(got[i].block_height());
    EXPECT_EQ(HashOf(got[i].block_hash()), block_hash);
    EXPECT_EQ(got[i].block_time(),
              chain().GetIndexEntry(block_hash)->header.time);
    absl::StatusOr<Transaction> tx = TransactionFromProto(got[i].transaction());
    ASSERT_TRUE(tx.ok());
    EXPECT_EQ(tx->Id(), want[i].first);
  }
  // Page sizes that divide the count exactly end without a token, and one
  // big page gives the same entries.
  EXPECT_EQ(FullHistory(Addr(0), 13, &pages).size(), 13u);
  EXPECT_EQ(pages, 1);
  std::vector<v1::AccountHistoryEntry> one = FullHistory(Addr(0), 1, &pages);
  EXPECT_EQ(pages, 13);
  ASSERT_EQ(one.size(), 13u);
  for (size_t i = 0; i < one.size(); ++i) {
    EXPECT_EQ(one[i].txid(), got[i].txid());
  }
}

TEST_F(NodeServiceTest, GetAccountHistoryReceivedAndSent) {
  // Addr(0) pays Addr(1) 10 (fee 2) and itself 5 (fee 1); the coinbase pays
  // Addr(3) (the test miner) the reward and the fees.
  const Transaction pay = MakeTransfer(params_, TestKey(0), Addr(1), 10, 2, 0);
  const Transaction self = MakeTransfer(params_, TestKey(0), Addr(0), 5, 1, 1);
  const Block b1 = Extend({pay, self});

  std::vector<v1::AccountHistoryEntry> sender = FullHistory(Addr(0), 50);
  ASSERT_EQ(sender.size(), 3u);  // self, pay, allocation
  EXPECT_EQ(HashOf(sender[0].txid()), self.Id());
  EXPECT_EQ(sender[0].received(), 5u);
  EXPECT_EQ(sender[0].sent(), 6u);
  EXPECT_EQ(HashOf(sender[1].txid()), pay.Id());
  EXPECT_EQ(sender[1].received(), 0u);
  EXPECT_EQ(sender[1].sent(), 12u);
  EXPECT_EQ(sender[2].block_height(), 0u);
  EXPECT_EQ(sender[2].received(), 1'000'000u);
  EXPECT_EQ(sender[2].sent(), 0u);

  std::vector<v1::AccountHistoryEntry> recipient = FullHistory(Addr(1), 50);
  ASSERT_EQ(recipient.size(), 2u);
  EXPECT_EQ(HashOf(recipient[0].txid()), pay.Id());
  EXPECT_EQ(recipient[0].received(), 10u);
  EXPECT_EQ(recipient[0].sent(), 0u);

  std::vector<v1::AccountHistoryEntry> miner = FullHistory(Addr(3), 50);
  ASSERT_EQ(miner.size(), 2u);
  EXPECT_EQ(HashOf(miner[0].txid()), b1.txs[0].Id());
  EXPECT_EQ(miner[0].index_in_block(), 0u);
  EXPECT_EQ(miner[0].received(), params_.block_reward + 3);
  EXPECT_EQ(miner[0].sent(), 0u);
  absl::StatusOr<Transaction> cb = TransactionFromProto(miner[0].transaction());
  ASSERT_TRUE(cb.ok());
  EXPECT_TRUE(cb->IsCoinbase());
}

TEST_F(NodeServiceTest, GetAccountHistoryDefaultAndMaximumPageSize) {
  // Addr(3) mines 55 blocks: 56 entries with its allocation.
  for (int i = 0; i < 55; ++i) Extend();
  v1::GetAccountHistoryResponse resp;
  ASSERT_TRUE(GetHistory(Addr(3).ToText(), 0, "", &resp).ok());
  EXPECT_EQ(resp.entries_size(), static_cast<int>(kDefaultHistoryPageSize));
  EXPECT_FALSE(resp.next_page_token().empty());
  EXPECT_EQ(resp.height(), 55u);
  resp.Clear();
  ASSERT_TRUE(GetHistory(Addr(3).ToText(), 100'000, "", &resp).ok());
  EXPECT_EQ(resp.entries_size(), 56);  // under the cap of 500
  EXPECT_TRUE(resp.next_page_token().empty());
  EXPECT_GE(kMaxHistoryPageSize, 56u);
}

TEST_F(NodeServiceTest, GetAccountHistoryPagesStopBeforeTheByteBudget) {
  // Addr(0) sends 40 transactions of 64 KiB records: with its allocation,
  // 41 entries of about 2.6 MB, under the page size of 500.
  WriteLargeRecords("big", 40);
  std::vector<v1::AccountHistoryEntry> got;
  std::string token;
  int pages = 0;
  while (pages < 100) {
    v1::GetAccountHistoryResponse resp;
    grpc::Status s =
        GetHistory(Addr(0).ToText(), kMaxHistoryPageSize, token, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ++pages;
    ASSERT_GE(resp.entries_size(), 1);
    got.insert(got.end(), resp.entries().begin(), resp.entries().end());
    v1::GetAccountHistoryResponse entries_only = resp;
    entries_only.clear_next_page_token();
    entries_only.clear_height();
    EXPECT_LE(entries_only.ByteSizeLong(), kMaxHistoryResponseBytes);
    if (resp.next_page_token().empty()) break;
    token = resp.next_page_token();
  }
  EXPECT_GE(pages, 3);
  ASSERT_EQ(got.size(), 41u);
  // Newest first, each once: nonces 39..0, then the allocation.
  for (size_t i = 0; i < 40; ++i) {
    absl::StatusOr<Transaction> tx = TransactionFromProto(got[i].transaction());
    ASSERT_TRUE(tx.ok());
    EXPECT_EQ(tx->nonce, 39 - i) << i;
  }
  EXPECT_EQ(got[40].block_height(), 0u);
}

TEST_F(NodeServiceTest, GetAccountHistoryOfAnUnknownAddressIsEmpty) {
  Extend({Pay(0, 10, 1, 0)});
  Address nobody;
  nobody.bytes.fill(0x5c);
  v1::GetAccountHistoryResponse resp;
  grpc::Status s = GetHistory(nobody.ToText(), 10, "", &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.entries_size(), 0);
  EXPECT_TRUE(resp.next_page_token().empty());
  EXPECT_EQ(resp.height(), 1u);
}

TEST_F(NodeServiceTest, GetAccountHistoryRejectsBadAddressesAndTokens) {
  Extend({Pay(0, 10, 1, 0)});
  v1::GetAccountHistoryResponse resp;
  std::string text = Addr(0).ToText();
  std::string bad_checksum = text;
  bad_checksum.back() = bad_checksum.back() == '0' ? '1' : '0';
  for (const std::string& address :
       {std::string(), std::string("pb1234"), bad_checksum,
        std::string("xx") + text.substr(2)}) {
    grpc::Status s = GetHistory(address, 10, "", &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << address;
    EXPECT_NE(s.error_message().find("address"), std::string::npos)
        << s.error_message();
  }
  for (const std::string& token :
       {std::string("zz"), std::string("0000000100000001ff"),
        std::string("000000010000000g"), std::string(64, 'a')}) {
    grpc::Status s = GetHistory(text, 10, token, &resp);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << token;
    EXPECT_NE(s.error_message().find("page_token"), std::string::npos)
        << s.error_message();
  }
  // A well-formed token works (here: before block 1, index 1).
  resp.Clear();
  ASSERT_TRUE(GetHistory(text, 10, "0000000100000001", &resp).ok());
  ASSERT_EQ(resp.entries_size(), 1);
  EXPECT_EQ(resp.entries(0).block_height(), 0u);
}

// ------------------------------------------------------------ GetChainTips

TEST_F(NodeServiceTest, GetChainTipsAfterAReorgShowsTheOldBranch) {
  const Hash256 genesis = chain().genesis_hash();
  v1::GetChainTipsResponse resp;
  ASSERT_TRUE(GetTips(0, &resp).ok());
  ASSERT_EQ(resp.tips_size(), 1);
  EXPECT_EQ(HashOf(resp.tips(0).hash()), genesis);
  EXPECT_EQ(resp.tips(0).status(), v1::CHAIN_TIP_STATUS_ACTIVE);

  // a1, a2, a3 on genesis; then b2..b5 from a1 takes over (reorg of 2).
  Block a1 = Extend();
  Block a2 = Extend();
  Block a3 = Extend();
  std::vector<Block> branch;
  Hash256 parent = a1.Hash();
  for (int i = 0; i < 4; ++i) {
    branch.push_back(BlockOn(parent, {}, 50 + i));
    ASSERT_TRUE(node_->SubmitBlock(branch.back()).ok());
    parent = branch.back().Hash();
  }
  ASSERT_EQ(chain().Tip().hash, branch.back().Hash());
  ASSERT_EQ(chain().Tip().height, 5u);

  resp.Clear();
  ASSERT_TRUE(GetTips(0, &resp).ok());
  ASSERT_EQ(resp.tips_size(), 2);
  const v1::ChainTip& active = resp.tips(0);
  EXPECT_EQ(HashOf(active.hash()), branch.back().Hash());
  EXPECT_EQ(active.height(), 5u);
  EXPECT_EQ(active.branch_length(), 0u);
  EXPECT_EQ(HashOf(active.fork_hash()), branch.back().Hash());
  EXPECT_EQ(active.status(), v1::CHAIN_TIP_STATUS_ACTIVE);
  EXPECT_EQ(active.chain_work(), chain().Tip().chain_work.ToDecimal());
  EXPECT_EQ(active.time(), branch.back().header.time);
  const v1::ChainTip& old = resp.tips(1);
  EXPECT_EQ(HashOf(old.hash()), a3.Hash());
  EXPECT_EQ(old.height(), 3u);
  EXPECT_EQ(old.branch_length(), 2u);  // a2, a3
  EXPECT_EQ(HashOf(old.fork_hash()), a1.Hash());
  EXPECT_EQ(old.status(), v1::CHAIN_TIP_STATUS_VALID_FORK);
  EXPECT_EQ(old.chain_work(),
            chain().GetIndexEntry(a3.Hash())->chain_work.ToDecimal());
  EXPECT_EQ(old.time(), a3.header.time);
  (void)a2;

  // limit 1: the active tip only.
  resp.Clear();
  ASSERT_TRUE(GetTips(1, &resp).ok());
  ASSERT_EQ(resp.tips_size(), 1);
  EXPECT_EQ(resp.tips(0).status(), v1::CHAIN_TIP_STATUS_ACTIVE);
}

TEST_F(NodeServiceTest, GetChainTipsDefaultAndMaximumLimit) {
  // 25 one-block side branches off genesis (siblings of block 1).
  Block main1 = Extend();
  Block main2 = Extend();
  (void)main1;
  for (int i = 0; i < 25; ++i) {
    Block side = BlockOn(chain().genesis_hash(), {}, 1000 + i);
    ASSERT_EQ(node_->SubmitBlock(side)->status, AcceptStatus::kSideBranch);
  }
  v1::GetChainTipsResponse resp;
  ASSERT_TRUE(GetTips(0, &resp).ok());
  EXPECT_EQ(resp.tips_size(), static_cast<int>(kDefaultChainTipsLimit));
  EXPECT_EQ(HashOf(resp.tips(0).hash()), main2.Hash());
  for (int i = 1; i < resp.tips_size(); ++i) {
    EXPECT_EQ(resp.tips(i).status(), v1::CHAIN_TIP_STATUS_VALID_FORK);
    EXPECT_EQ(resp.tips(i).branch_length(), 1u);
    EXPECT_EQ(HashOf(resp.tips(i).fork_hash()), chain().genesis_hash());
  }
  resp.Clear();
  ASSERT_TRUE(GetTips(1'000'000, &resp).ok());
  EXPECT_EQ(resp.tips_size(), 26);  // all of them, under the cap
  EXPECT_GE(kMaxChainTipsLimit, 26u);
}

// ---------------------------------------------------------------- WatchTips

TEST_F(NodeServiceTest, WatchTipsReportsExtensionsAndReorgs) {
  grpc::ClientContext ctx;
  WithDeadline(ctx, 60);
  v1::WatchTipsRequest req;
  req.set_include_current(true);
  auto reader = stub_->WatchTips(&ctx, req);
  v1::WatchTipsResponse msg;
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_EQ(HashOf(msg.hash()), chain().genesis_hash());
  EXPECT_EQ(msg.height(), 0u);
  EXPECT_EQ(msg.reorg_depth(), 0u);
  EXPECT_EQ(msg.tx_count(), MakeGenesisBlock(params_).txs.size());

  const Hash256 genesis = chain().genesis_hash();
  Block a1 = Extend({Pay(0, 10, 1, 0)});
  Block a2 = Extend();
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_EQ(HashOf(msg.hash()), a1.Hash());
  EXPECT_EQ(msg.height(), 1u);
  EXPECT_EQ(msg.reorg_depth(), 0u);
  EXPECT_EQ(HashOf(msg.previous_tip_hash()), genesis);
  EXPECT_EQ(msg.tx_count(), 2u);
  EXPECT_EQ(*BlockHeaderFromProto(msg.header()), a1.header);
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_EQ(HashOf(msg.hash()), a2.Hash());
  EXPECT_EQ(msg.chain_work(), "6");

  // A heavier branch from genesis: b1, b2 are side blocks, b3 reorgs.
  Block b1 = BlockOn(genesis, {}, 100);
  ASSERT_EQ(node_->SubmitBlock(b1)->status, AcceptStatus::kSideBranch);
  Block b2 = BlockOn(b1.Hash(), {}, 100);
  ASSERT_EQ(node_->SubmitBlock(b2)->status, AcceptStatus::kSideBranch);
  Block b3 = BlockOn(b2.Hash(), {}, 100);
  ASSERT_EQ(node_->SubmitBlock(b3)->status, AcceptStatus::kActive);
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_EQ(HashOf(msg.hash()), b3.Hash());
  EXPECT_EQ(msg.height(), 3u);
  EXPECT_EQ(msg.reorg_depth(), 2u);
  EXPECT_EQ(HashOf(msg.previous_tip_hash()), a2.Hash());
  EXPECT_EQ(msg.chain_work(), "8");

  ctx.TryCancel();
  while (reader->Read(&msg)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

// The current tip (include_current) comes once, then exactly the tips after
// it, even when the stream opens while blocks arrive: a block that lands
// between the stream's subscription and its read of the tip used to be sent
// twice (the current tip, then its own notification: seen as a duplicate
// line in `pbcli watch`).
TEST_F(NodeServiceTest, WatchTipsSendsTheCurrentTipOnceWhileBlocksArrive) {
  std::atomic<bool> stop{false};
  std::thread miner([&] {
    while (!stop.load()) Extend();
  });
  int duplicates = 0;
  int streams = 0;
  const absl::Time until = absl::Now() + absl::Seconds(20);
  for (; streams < 400 && absl::Now() < until; ++streams) {
    grpc::ClientContext ctx;
    WithDeadline(ctx, 30);
    v1::WatchTipsRequest req;
    req.set_include_current(true);
    auto reader = stub_->WatchTips(&ctx, req);
    v1::WatchTipsResponse first;
    v1::WatchTipsResponse second;
    ASSERT_TRUE(reader->Read(&first));
    ASSERT_TRUE(reader->Read(&second));
    if (second.hash() == first.hash()) ++duplicates;
    // One miner, no reorgs: each tip extends the one before.
    EXPECT_EQ(second.previous_tip_hash(), first.hash());
    EXPECT_EQ(second.height(), first.height() + 1);
    ctx.TryCancel();
    while (reader->Read(&second)) {
    }
    reader->Finish();
  }
  stop.store(true);
  miner.join();
  EXPECT_EQ(duplicates, 0) << "in " << streams << " streams";
}

TEST_F(NodeServiceTest, WatchTipsSlowReaderGetsTheLatestTip) {
  grpc::ClientContext ctx;
  WithDeadline(ctx, 120);
  v1::WatchTipsRequest req;
  req.set_include_current(true);  // once it arrives, the listener is set
  auto reader = stub_->WatchTips(&ctx, req);
  v1::WatchTipsResponse msg;
  ASSERT_TRUE(reader->Read(&msg));
  EXPECT_EQ(msg.height(), 0u);
  const int kBlocks = 300;  // more than the queue holds (256)
  for (int i = 0; i < kBlocks; ++i) Extend();
  const uint64_t final_height = chain().Tip().height;
  uint64_t last = msg.height();
  uint64_t count = 0;
  while (last < final_height && reader->Read(&msg)) {
    EXPECT_GT(msg.height(), last);  // in order, possibly with gaps
    last = msg.height();
    ++count;
  }
  EXPECT_EQ(last, final_height);
  EXPECT_EQ(HashOf(msg.hash()), chain().Tip().hash);
  EXPECT_LE(count, final_height);
  ctx.TryCancel();
  while (reader->Read(&msg)) {
  }
  EXPECT_FALSE(reader->Finish().ok());
}

TEST_F(NodeServiceTest, WatchTipsEndsWhenTheServerShutsDown) {
  grpc::ClientContext ctx;
  WithDeadline(ctx, 60);
  v1::WatchTipsRequest req;
  req.set_include_current(true);
  auto reader = stub_->WatchTips(&ctx, req);
  v1::WatchTipsResponse msg;
  ASSERT_TRUE(reader->Read(&msg));
  server_->Shutdown(std::chrono::system_clock::now() +
                    std::chrono::milliseconds(200));
  server_->Wait();
  server_.reset();
  while (reader->Read(&msg)) {
  }
  EXPECT_FALSE(reader->Finish().ok());
  // A tip change after the stream ended reaches no dead reactor.
  Extend();
}

}  // namespace
}  // namespace pbchain
