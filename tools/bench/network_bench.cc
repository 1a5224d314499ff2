// Network benchmark with real pbnode processes on loopback. Prints figures;
// run by hand (README "Benchmarks"):
//
//   build/bin/pbchain_network_bench [--blocks 10000] [--txs-per-block 10]
//                                   [--samples 20]
//
// 1. Sync: builds a datadir of --blocks blocks carrying --txs-per-block
//    signed transfers each (in-process, through the kernel), serves it with
//    one pbnode, starts a fresh pbnode with --peer to it, and times until the
//    fresh node's tip is the same: blocks/s and transactions/s.
// 2. Propagation: five nodes in a line (each --connect-only to the one
//    before); the bench mines a block from node 1's template, hands it to
//    node 1 (BroadcastBlock) and times until node 5's WatchTips reports it.
//    Median, min and max over --samples blocks.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <stdexcept>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "chain/chain_state.h"
#include "chain/keys.h"
#include "chain/miner.h"
#include "chain/params.h"
#include "grpcpp/grpcpp.h"
#include "node/p2p/wire.h"
#include "pbchain/v1/node.grpc.pb.h"
#include "proto/convert.h"
#include "storage/rocksdb_store.h"
#include "tests/util/process.h"

namespace pbchain {
namespace {

using Clock = std::chrono::steady_clock;
const std::string kPbnode = std::string(PBCHAIN_BIN_DIR) + "/pbnode";

// Ends the bench through the exception path, so that every started pbnode
// is stopped and the temp dir removed by their destructors.
[[noreturn]] void Die(const std::string& message) {
  throw std::runtime_error(message);
}

double Seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

PrivateKey Key(int i) {
  std::array<uint8_t, 32> seed{};
  seed[0] = static_cast<uint8_t>(i + 1);
  seed[1] = static_cast<uint8_t>((i + 1) >> 8);
  seed[31] = 0xbe;
  return *PrivateKey::FromSeed(seed);
}

ChainParams BenchParams(int keys, int blocks) {
  ChainParams p;
  p.chain_id = "pbchain-bench";
  p.target_interval_ms = 1000;
  // Block i is stamped genesis_time + i: the whole chain lies in the past.
  p.genesis_time = static_cast<uint32_t>(std::time(nullptr)) - blocks - 600;
  p.genesis_bits = 0x207fffff;
  p.pow_limit_bits = 0x207fffff;
  p.block_reward = 50;
  p.difficulty_window = 0;
  for (int i = 0; i < keys; ++i) {
    p.allocations.push_back(
        {AddressFromPublicKey(Key(i).public_key()), 1'000'000'000});
  }
  (void)MineGenesis(p);
  return p;
}

// Builds `blocks` blocks of `txs` transfers each into DIR/source.
void BuildSource(const ChainParams& p, const std::string& datadir, int blocks,
                 int txs) {
  auto store = *RocksChainStore::Open(datadir);
  auto chain = *ChainState::Create(p, store.get());
  std::vector<PrivateKey> keys;
  std::vector<Address> addresses;
  for (int i = 0; i < std::max(txs, 1); ++i) {
    keys.push_back(Key(i));
    addresses.push_back(AddressFromPublicKey(keys.back().public_key()));
  }
  const Address miner = addresses[0];
  const auto start = Clock::now();
  std::atomic<bool> abort{false};
  for (int height = 1; height <= blocks; ++height) {
    std::vector<Transaction> batch;
    for (int j = 0; j < txs; ++j) {
      Transaction tx;
      tx.kind = TxKind::kTransfer;
      tx.chain_id = p.chain_id;
      tx.recipient = addresses[(j + 1) % addresses.size()];
      tx.amount = 1;
      tx.fee = 1;
      tx.nonce = static_cast<uint64_t>(height - 1);
      tx.Sign(keys[j]);
      batch.push_back(std::move(tx));
    }
    Block block = *chain->CreateBlockTemplate(miner, batch, 0);
    block.header.time = p.genesis_time + static_cast<uint32_t>(height);
    MineBlock(block, 1, abort);
    absl::StatusOr<AcceptResult> r = chain->AcceptBlock(block);
    if (!r.ok() || r->status != AcceptStatus::kActive ||
        block.txs.size() != static_cast<size_t>(txs) + 1) {
      Die(absl::StrCat("building block ", height, " failed: ",
                       r.ok() ? r->validation.message()
                              : r.status().ToString()));
    }
    if (height % 2000 == 0) {
      std::fprintf(stderr, "  built %d blocks\n", height);
    }
  }
  std::printf("built %d blocks x %d transfers in %.1f s\n", blocks, txs,
              Seconds(Clock::now() - start));
}

struct RunningNode {
  std::unique_ptr<testing::ChildProcess> process;
  std::string address;
  std::unique_ptr<v1::NodeService::Stub> stub;
};

RunningNode StartNode(const std::string& dir, const std::string& name,
                      const std::string& genesis,
                      std::vector<std::string> extra) {
  std::vector<std::string> args = {"--genesis", genesis, "--datadir",
                                   dir + "/" + name, "--listen",
                                   "127.0.0.1:0"};
  args.insert(args.end(), extra.begin(), extra.end());
  RunningNode n;
  n.process = std::make_unique<testing::ChildProcess>(kPbnode, args,
                                                      dir + "/" + name + ".log");
  std::optional<std::string> line =
      n.process->ReadLine(std::chrono::seconds(60));
  const std::string prefix = "pbnode listening on ";
  if (!line || line->rfind(prefix, 0) != 0) {
    Die(absl::StrCat(name, " did not start (see ", dir, "/", name, ".log)"));
  }
  n.address = line->substr(prefix.size());
  n.stub = v1::NodeService::NewStub(
      grpc::CreateChannel(n.address, grpc::InsecureChannelCredentials()));
  return n;
}

v1::GetInfoResponse Info(RunningNode& n) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  v1::GetInfoResponse info;
  (void)n.stub->GetInfo(&ctx, v1::GetInfoRequest(), &info);
  return info;
}

void Stop(RunningNode& n) {
  n.process->Kill(SIGTERM);
  n.process->Wait(std::chrono::seconds(20));
}

void BenchSync(const std::string& dir, const std::string& genesis, int blocks,
               int txs) {
  RunningNode source = StartNode(dir, "source", genesis, {});
  const auto start = Clock::now();
  RunningNode fresh = StartNode(dir, "fresh", genesis,
                                {"--peer", source.address, "--connect-only"});
  const std::string want = Info(source).tip_hash();
  while (Info(fresh).tip_hash() != want) {
    if (Clock::now() - start > std::chrono::minutes(20)) {
      Die("sync did not finish in 20 minutes");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const double s = Seconds(Clock::now() - start);
  std::printf(
      "sync of %d blocks (%d transfers each) from one peer: %.2f s = %.0f "
      "blocks/s, %.0f transactions/s\n",
      blocks, txs, s, blocks / s, static_cast<double>(blocks) * txs / s);
  Stop(fresh);
  Stop(source);
}

void BenchPropagation(const std::string& dir, const std::string& genesis,
                      int samples) {
  std::vector<RunningNode> line;
  for (int i = 0; i < 5; ++i) {
    std::vector<std::string> extra;
    if (i > 0) extra = {"--peer", line.back().address, "--connect-only"};
    line.push_back(StartNode(dir, absl::StrCat("line", i + 1), genesis, extra));
  }
  // Every node but the ends has two peers.
  const auto wait_start = Clock::now();
  while (true) {
    bool linked = true;
    for (int i = 0; i < 5; ++i) {
      linked = linked && Info(line[i]).peer_count() >= (i == 0 || i == 4 ? 1u : 2u);
    }
    if (linked) break;
    if (Clock::now() - wait_start > std::chrono::seconds(30)) {
      Die("the line of nodes did not connect");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  // Node 5's tips, stamped on arrival.
  std::mutex mu;
  std::map<std::string, Clock::time_point> arrived;
  grpc::ClientContext watch_ctx;
  v1::WatchTipsRequest watch_request;
  auto reader = line[4].stub->WatchTips(&watch_ctx, watch_request);
  std::thread watcher([&] {
    v1::WatchTipsResponse tip;
    while (reader->Read(&tip)) {
      std::lock_guard<std::mutex> lock(mu);
      arrived.emplace(tip.hash(), Clock::now());
    }
  });

  const Address miner = AddressFromPublicKey(Key(0).public_key());
  std::vector<double> latencies_ms;
  std::atomic<bool> abort{false};
  for (int s = 0; s < samples; ++s) {
    v1::GetBlockTemplateRequest request;
    request.set_miner_address(miner.ToText());
    v1::GetBlockTemplateResponse tmpl;
    grpc::ClientContext tctx;
    if (!line[0].stub->GetBlockTemplate(&tctx, request, &tmpl).ok()) {
      Die("GetBlockTemplate failed");
    }
    Block block;
    block.header = *BlockHeaderFromProto(tmpl.header());
    for (const v1::Transaction& t : tmpl.transactions()) {
      block.txs.push_back(*TransactionFromProto(t));
    }
    MineBlock(block, 1, abort);
    const std::string hash = HashBytes(block.Hash());
    v1::BroadcastBlockRequest submit;
    *submit.mutable_block() = BlockToProto(block);
    v1::BroadcastBlockResponse submitted;
    grpc::ClientContext sctx;
    const auto sent = Clock::now();
    if (!line[0].stub->BroadcastBlock(&sctx, submit, &submitted).ok() ||
        !submitted.accepted()) {
      Die(absl::StrCat("BroadcastBlock refused: ", submitted.reason()));
    }
    while (true) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (auto it = arrived.find(hash); it != arrived.end()) {
          latencies_ms.push_back(Seconds(it->second - sent) * 1000);
          break;
        }
      }
      if (Clock::now() - sent > std::chrono::seconds(30)) {
        Die(absl::StrCat("block ", s, " did not reach node 5"));
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  watch_ctx.TryCancel();
  watcher.join();
  std::sort(latencies_ms.begin(), latencies_ms.end());
  std::printf(
      "propagation node 1 -> node 5 (4 hops, line of 5): median %.2f ms, min "
      "%.2f ms, max %.2f ms over %zu blocks\n",
      latencies_ms[latencies_ms.size() / 2], latencies_ms.front(),
      latencies_ms.back(), latencies_ms.size());
  for (RunningNode& n : line) Stop(n);
}

int Main(int argc, char** argv) {
  int blocks = 10000, txs = 10, samples = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const int value = std::atoi(argv[i + 1]);
    if (flag == "--blocks") blocks = value;
    else if (flag == "--txs-per-block") txs = value;
    else if (flag == "--samples") samples = value;
    else {
      std::fprintf(stderr,
                   "usage: pbchain_network_bench [--blocks N] "
                   "[--txs-per-block N] [--samples N]\n");
      return 2;
    }
  }
  if (blocks < 1 || txs < 0 || samples < 1) {
    std::fprintf(stderr, "--blocks and --samples must be >= 1\n");
    return 2;
  }
  testing::TempDir dir("network_bench");
  const ChainParams params = BenchParams(std::max(txs, 1), blocks);
  const std::string genesis = dir.Sub("genesis.json");
  std::ofstream(genesis) << params.ToJson();
  try {
    BuildSource(params, dir.Sub("source"), blocks, txs);
    BenchSync(dir.path().string(), genesis, blocks, txs);
    BenchPropagation(dir.path().string(), genesis, samples);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "network bench failed: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace pbchain

int main(int argc, char** argv) { return pbchain::Main(argc, argv); }
