// Starts the real pbnode binary on loopback: it mines, accepts signed
// transactions, survives kill -9 without losing anything acknowledged, and
// shuts down cleanly on SIGTERM.
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

#include "chain/params.h"
#include "common/version.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "pbchain/v1/node.grpc.pb.h"
#include "proto/convert.h"
#include "tests/chain/test_chain.h"
#include "tests/util/pbnode_process.h"
#include "tests/util/process.h"

namespace pbchain {
namespace {

using testing::ChildProcess;
using testing::TempDir;
using testing::TestKey;

const std::string kPbnode = std::string(PBCHAIN_BIN_DIR) + "/pbnode";

using RunningNode = testing::RunningPbnode;

ChainParams ProcessTestParams() {
  return testing::QuickProcessParams("pbchain-proc");
}

RunningNode StartNode(const TempDir& dir, const std::string& genesis,
                      const std::vector<std::string>& extra) {
  return testing::StartPbnode(dir.Sub("data"), genesis, dir.Sub("pbnode.log"),
                              extra, std::chrono::seconds(30));
}

std::unique_ptr<grpc::ClientContext> Ctx() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  return ctx;
}

uint64_t Height(v1::NodeService::Stub& stub) {
  v1::GetInfoResponse info;
  grpc::Status s = stub.GetInfo(Ctx().get(), v1::GetInfoRequest(), &info);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return info.height();
}

uint64_t Balance(v1::NodeService::Stub& stub, const Address& a) {
  v1::GetAccountRequest req;
  req.set_address(a.ToText());
  v1::GetAccountResponse resp;
  grpc::Status s = stub.GetAccount(Ctx().get(), req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp.account().balance();
}

// Polls `done` every 50 ms for up to `limit` (bounded waits, not timing
// assertions).
template <typename F>
bool WaitFor(F done, std::chrono::seconds limit = std::chrono::seconds(60)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

TEST(PbnodeProcessTest, MinesConfirmsSurvivesKillAndStopsCleanly) {
  TempDir dir("pbnode_process");
  ChainParams params = ProcessTestParams();
  const std::string genesis = dir.Sub("genesis.json");
  std::ofstream(genesis) << params.ToJson();
  const Address miner = AddressFromPublicKey(TestKey(9).public_key());
  const std::vector<std::string> mine = {"--mine",
                                         "--miner-address=" + miner.ToText()};

  RunningNode node = StartNode(dir, genesis, mine);
  ASSERT_TRUE(node.stub);
  ASSERT_TRUE(WaitFor([&] { return Height(*node.stub) >= 3; }))
      << "height did not rise";

  // Signed transfers to a fresh address, confirmed by the mining node.
  const Address payee = AddressFromPublicKey(TestKey(7).public_key());
  for (uint64_t nonce = 0; nonce < 5; ++nonce) {
    Transaction tx =
        testing::MakeTransfer(params, TestKey(0), payee, 100, 1, nonce);
    v1::SubmitTransactionRequest req;
    *req.mutable_transaction() = TransactionToProto(tx);
    v1::SubmitTransactionResponse resp;
    grpc::Status s = node.stub->SubmitTransaction(Ctx().get(), req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  // A replay of nonce 0 is refused with a clear status.
  {
    Transaction again =
        testing::MakeTransfer(params, TestKey(0), payee, 100, 1, 0);
    v1::SubmitTransactionRequest req;
    *req.mutable_transaction() = TransactionToProto(again);
    v1::SubmitTransactionResponse resp;
    grpc::Status s = node.stub->SubmitTransaction(Ctx().get(), req, &resp);
    // ALREADY_EXISTS while pooled or once confirmed.
    EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS)
        << s.error_message();
  }
  ASSERT_TRUE(WaitFor([&] { return Balance(*node.stub, payee) == 500; }))
      << "transactions were not confirmed";
  const uint64_t acknowledged_height = Height(*node.stub);
  v1::GetBlockRequest at;
  at.set_height(acknowledged_height);
  v1::GetBlockResponse before;
  ASSERT_TRUE(node.stub->GetBlock(Ctx().get(), at, &before).ok());

  // kill -9, restart on the same datadir: nothing acknowledged is lost.
  node.process->Kill(SIGKILL);
  EXPECT_EQ(node.process->Wait(), 128 + SIGKILL);
  node = StartNode(dir, genesis, {});
  ASSERT_TRUE(node.stub);
  EXPECT_GE(Height(*node.stub), acknowledged_height);
  EXPECT_EQ(Balance(*node.stub, payee), 500u);
  v1::GetBlockResponse after;
  ASSERT_TRUE(node.stub->GetBlock(Ctx().get(), at, &after).ok());
  EXPECT_EQ(after.block().SerializeAsString(),
            before.block().SerializeAsString());

  // SIGTERM: graceful shutdown, exit 0.
  node.process->Kill(SIGTERM);
  EXPECT_EQ(node.process->Wait(std::chrono::seconds(20)), 0);
}

TEST(PbnodeProcessTest, BadFlagsExitWithAClearError) {
  TempDir dir("pbnode_flags");
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {},                             // no datadir
           {"--datadir=" + dir.Sub("d")},  // no genesis
           {"--datadir=" + dir.Sub("d"), "--genesis=/nonexistent.json"},
       }) {
    ChildProcess p(kPbnode, args, dir.Sub("err.log"));
    EXPECT_EQ(p.Wait(), 2);
  }
  ChainParams params = ProcessTestParams();
  const std::string genesis = dir.Sub("genesis.json");
  std::ofstream(genesis) << params.ToJson();
  ChildProcess no_miner(
      kPbnode, {"--datadir=" + dir.Sub("d"), "--genesis=" + genesis, "--mine"},
      dir.Sub("err.log"));
  EXPECT_EQ(no_miner.Wait(), 2);  // --mine without --miner-address
  // Network flags are checked before anything starts.
  for (const char* bad :
       {"--peer=nohost", "--peer=h:0", "--tracker=h:99999",
        "--discover-local=7000", "--discover-local=7000-9000",
        "--discover-local=9-8", "--discover-subnet=10.0.0.0/8",
        "--discover-subnet=fe80::/64", "--discover-subnet=10.0.0.300/24",
        "--discover-ports=7701", "--discover-rate=0", "--advertise=[::1", "--max-outbound=-1",
        "--connect-only", "--listen=127.0.0.1", "--no-such-flag",
        "--max-outbound=x", "--mine=maybe", "--fromenv=mine"}) {
    ChildProcess p(kPbnode,
                   {"--datadir=" + dir.Sub("d"), "--genesis=" + genesis, bad},
                   dir.Sub("err.log"));
    EXPECT_EQ(p.Wait(), 2) << bad;
  }
  // --connect-only dials no discovered address: discovery with it is refused.
  for (const char* discover :
       {"--discover-local=7000-7001", "--discover-subnet=127.0.0.0/30"}) {
    ChildProcess p(kPbnode,
                   {"--datadir=" + dir.Sub("d"), "--genesis=" + genesis,
                    "--peer=127.0.0.1:9", "--connect-only", discover},
                   dir.Sub("err.log"));
    EXPECT_EQ(p.Wait(), 2) << discover;
  }
}

// --version prints the project's version; --flagfile takes the command
// line's spellings (dashes, repeated --peer) and is checked like it.
TEST(PbnodeProcessTest, VersionAndFlagfile) {
  TempDir dir("pbnode_flagfile");
  {
    ChildProcess version(kPbnode, {"--version"}, dir.Sub("err.log"));
    std::optional<std::string> line =
        version.ReadLine(std::chrono::seconds(10));
    ASSERT_TRUE(line.has_value());
    EXPECT_EQ(*line, std::string("pbnode ") + kVersion);
    EXPECT_EQ(version.Wait(), 0);
  }
  ChainParams params = ProcessTestParams();
  const std::string genesis = dir.Sub("genesis.json");
  std::ofstream(genesis) << params.ToJson();
  const std::string flags = dir.Sub("node.flags");
  std::ofstream(flags) << "# pbnode flags\n"
                       << "--datadir=" << dir.Sub("data") << "\n"
                       << "--genesis=" << genesis << "\n\n"
                       << "--max-outbound=0\n"
                       << "--peer=127.0.0.1:1\n"
                       << "--peer=127.0.0.1:2\n";
  RunningNode node = StartNode(dir, genesis, {"--flagfile=" + flags});
  ASSERT_NE(node.stub, nullptr);
  // Both --peer lines count (absl alone keeps the last one).
  v1::ListPeersResponse peers;
  grpc::Status s =
      node.stub->ListPeers(Ctx().get(), v1::ListPeersRequest(), &peers);
  ASSERT_TRUE(s.ok()) << s.error_message();
  std::set<std::string> known;
  for (const v1::PeerInfo& p : peers.known()) known.insert(p.address());
  EXPECT_TRUE(known.count("127.0.0.1:1")) << peers.DebugString();
  EXPECT_TRUE(known.count("127.0.0.1:2")) << peers.DebugString();
  node.process->Kill(SIGTERM);
  EXPECT_EQ(node.process->Wait(std::chrono::seconds(20)), 0);

  // A bad value in the file is refused like one on the command line; so is
  // a file that cannot be read.
  const std::string bad = dir.Sub("bad.flags");
  std::ofstream(bad) << "--max-outbound=-1\n";
  for (const std::string& arg :
       {"--flagfile=" + bad, "--flagfile=" + dir.Sub("missing.flags")}) {
    ChildProcess p(kPbnode,
                   {"--datadir=" + dir.Sub("d"), "--genesis=" + genesis, arg},
                   dir.Sub("err.log"));
    EXPECT_EQ(p.Wait(), 2) << arg;
  }
}

// A second node on a port in use exits 1 naming the address (gRPC's
// default SO_REUSEPORT let it bind the port too, and the kernel then split
// connections between the two nodes).
TEST(PbnodeProcessTest, BusyListenPortIsAnError) {
  TempDir dir("pbnode_busy");
  ChainParams params = ProcessTestParams();
  const std::string genesis = dir.Sub("genesis.json");
  std::ofstream(genesis) << params.ToJson();
  RunningNode first = StartNode(dir, genesis, {});
  ASSERT_NE(first.stub, nullptr);
  ChildProcess second(kPbnode,
                      {"--listen=" + first.address,
                       "--datadir=" + dir.Sub("data2"), "--genesis=" + genesis},
                      dir.Sub("second.log"));
  EXPECT_EQ(second.Wait(std::chrono::seconds(30)), 1);
  std::ifstream log(dir.Sub("second.log"));
  const std::string text((std::istreambuf_iterator<char>(log)),
                         std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("cannot listen on " + first.address), std::string::npos)
      << text;
  EXPECT_EQ(Height(*first.stub), Height(*first.stub));  // still serving
  first.process->Kill(SIGTERM);
  EXPECT_EQ(first.process->Wait(std::chrono::seconds(20)), 0);
}

// The head node of a new network makes the genesis when the file is missing,
// funds its miner address, and prints the hash; the file then serves every
// node of the network.
TEST(PbnodeProcessTest, HeadNodeMakesTheGenesis) {
  TempDir dir("pbnode_head");
  const std::string genesis = dir.Sub("new-genesis.json");
  const Address miner = AddressFromPublicKey(TestKey(9).public_key());
  ChildProcess head(kPbnode,
                    {"--listen=127.0.0.1:0", "--datadir=" + dir.Sub("data"),
                     "--genesis=" + genesis, "--role=head",
                     "--miner-address=" + miner.ToText()},
                    dir.Sub("pbnode.log"));
  std::optional<std::string> made = head.ReadLine(std::chrono::seconds(30));
  ASSERT_TRUE(made.has_value());
  std::smatch m;
  ASSERT_TRUE(
      std::regex_search(*made, m, std::regex("made genesis ([0-9a-f]{64}) in")))
      << *made;
  absl::StatusOr<ChainParams> params = LoadGenesisFile(genesis);
  ASSERT_TRUE(params.ok()) << params.status();
  EXPECT_EQ(MakeGenesisBlock(*params).Hash().ToDisplayHex(), m[1].str());
  ASSERT_EQ(params->allocations.size(), 1u);
  EXPECT_EQ(params->allocations[0].address, miner);
  std::optional<std::string> listening =
      head.ReadLine(std::chrono::seconds(30));
  ASSERT_TRUE(listening &&
              listening->find("listening on") != std::string::npos);
  head.Kill(SIGTERM);
  EXPECT_EQ(head.Wait(std::chrono::seconds(20)), 0);
  // A bad --listen is refused before the head node writes anything.
  ChildProcess bad_listen(kPbnode,
                          {"--listen=127.0.0.1", "--datadir=" + dir.Sub("d3"),
                           "--genesis=" + dir.Sub("never.json"), "--role=head",
                           "--miner-address=" + miner.ToText()},
                          dir.Sub("err.log"));
  EXPECT_EQ(bad_listen.Wait(), 2);
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("never.json")));
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("d3")));
  // A full node never makes one: a missing file is an error.
  ChildProcess full(
      kPbnode,
      {"--datadir=" + dir.Sub("d2"), "--genesis=" + dir.Sub("missing.json")},
      dir.Sub("err.log"));
  EXPECT_EQ(full.Wait(), 2);
}

}  // namespace
}  // namespace pbchain
