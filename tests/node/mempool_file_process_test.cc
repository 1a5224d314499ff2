// The mempool file against the real pbnode binary (issue 15): what a node
// accepted survives a clean restart (SIGTERM), so the wallet's pending
// nonce goes on from it; a damaged file is logged and ignored, never
// fatal; --persist_mempool=false keeps nothing.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "chain/params.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "node/core/mempool.h"
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

ChainParams ProcessTestParams() {
  return testing::QuickProcessParams("pbchain-mempool-file");
}

std::unique_ptr<grpc::ClientContext> Ctx() {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::seconds(10));
  return ctx;
}

// One pbnode (no mining, no peers) on the test's datadir; stderr to `log`.
class RunningNode {
 public:
  RunningNode(const TempDir& dir, const std::string& genesis,
              const std::string& log,
              const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args = {"--listen=127.0.0.1:0",
                                     "--datadir=" + dir.Sub("data"),
                                     "--genesis=" + genesis};
    args.insert(args.end(), extra.begin(), extra.end());
    process_ = std::make_unique<ChildProcess>(kPbnode, args, log);
    std::optional<std::string> line =
        process_->ReadLine(std::chrono::seconds(60));
    std::smatch m;
    if (!line ||
        !std::regex_search(*line, m, std::regex("listening on (\\S+)"))) {
      ADD_FAILURE() << "pbnode did not report its address; got: "
                    << line.value_or("(nothing)");
      return;
    }
    const std::string address = m[1];
    stub_ = v1::NodeService::NewStub(
        grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  }
  bool ok() const { return stub_ != nullptr; }
  v1::NodeService::Stub& stub() { return *stub_; }
  // SIGTERM: a clean shutdown; returns the exit code.
  int Stop() {
    process_->Kill(SIGTERM);
    return process_->Wait(std::chrono::seconds(30));
  }

 private:
  std::unique_ptr<ChildProcess> process_;
  std::unique_ptr<v1::NodeService::Stub> stub_;
};

grpc::Status Submit(v1::NodeService::Stub& stub, const Transaction& tx) {
  v1::SubmitTransactionRequest req;
  *req.mutable_transaction() = TransactionToProto(tx);
  v1::SubmitTransactionResponse resp;
  return stub.SubmitTransaction(Ctx().get(), req, &resp);
}

uint64_t PoolSize(v1::NodeService::Stub& stub) {
  v1::GetMempoolResponse resp;
  grpc::Status s = stub.GetMempool(Ctx().get(), v1::GetMempoolRequest(), &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp.total_count();
}

uint64_t PendingNonce(v1::NodeService::Stub& stub, int key) {
  v1::GetAccountRequest req;
  req.set_address(AddressFromPublicKey(TestKey(key).public_key()).ToText());
  v1::GetAccountResponse resp;
  grpc::Status s = stub.GetAccount(Ctx().get(), req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp.pending_nonce();
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in),
                     std::istreambuf_iterator<char>());
}

TEST(MempoolFileProcessTest, SurvivesACleanRestartAndIgnoresADamagedFile) {
  TempDir dir("mempool_file_process");
  const ChainParams params = ProcessTestParams();
  const std::string genesis = dir.Sub("genesis.json");
  std::ofstream(genesis) << params.ToJson();
  const Address payee = AddressFromPublicKey(TestKey(7).public_key());
  const std::string file = dir.Sub("data") + "/" + kMempoolFileName;

  std::vector<Transaction> sent;
  {
    RunningNode node(dir, genesis, dir.Sub("first.log"));
    ASSERT_TRUE(node.ok());
    for (uint64_t nonce = 0; nonce < 3; ++nonce) {
      sent.push_back(
          testing::MakeTransfer(params, TestKey(0), payee, 100, 1, nonce));
    }
    sent.push_back(testing::MakeTransfer(params, TestKey(1), payee, 50, 2, 0));
    for (const Transaction& tx : sent) {
      grpc::Status s = Submit(node.stub(), tx);
      ASSERT_TRUE(s.ok()) << s.error_message();
    }
    EXPECT_EQ(PendingNonce(node.stub(), 0), 3u);
    EXPECT_EQ(node.Stop(), 0);
  }
  ASSERT_TRUE(std::filesystem::exists(file));
  EXPECT_FALSE(std::filesystem::exists(file + ".tmp"));

  {
    RunningNode node(dir, genesis, dir.Sub("second.log"));
    ASSERT_TRUE(node.ok());
    EXPECT_EQ(PoolSize(node.stub()), 4u);
    // The wallet's next nonce goes on from what the node accepted before.
    EXPECT_EQ(PendingNonce(node.stub(), 0), 3u);
    EXPECT_EQ(Submit(node.stub(), sent[0]).error_code(),
              grpc::StatusCode::ALREADY_EXISTS);
    grpc::Status s =
        Submit(node.stub(),
               testing::MakeTransfer(params, TestKey(0), payee, 100, 1, 3));
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(node.Stop(), 0);
  }
  EXPECT_NE(ReadAll(dir.Sub("second.log")).find("4 of 4 transactions reloaded"),
            std::string::npos)
      << ReadAll(dir.Sub("second.log"));

  // Damage the file: the node starts all the same, says so, starts empty.
  {
    std::string bytes = ReadAll(file);
    ASSERT_GT(bytes.size(), 100u);
    bytes[bytes.size() / 2] ^= 0x5a;
    std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
  }
  {
    RunningNode node(dir, genesis, dir.Sub("third.log"));
    ASSERT_TRUE(node.ok());
    EXPECT_EQ(PoolSize(node.stub()), 0u);
    EXPECT_EQ(PendingNonce(node.stub(), 0), 0u);
    EXPECT_EQ(node.Stop(), 0);
  }
  const std::string third = ReadAll(dir.Sub("third.log"));
  EXPECT_NE(third.find("mempool: file ignored"), std::string::npos) << third;
  EXPECT_NE(third.find("checksum"), std::string::npos) << third;

  // --persist_mempool=false neither reads nor writes it.
  std::filesystem::remove(file);
  {
    RunningNode node(dir, genesis, dir.Sub("fourth.log"),
                     {"--persist_mempool=false"});
    ASSERT_TRUE(node.ok());
    ASSERT_TRUE(Submit(node.stub(), sent[0]).ok());
    EXPECT_EQ(node.Stop(), 0);
  }
  EXPECT_FALSE(std::filesystem::exists(file));
}

}  // namespace
}  // namespace pbchain
