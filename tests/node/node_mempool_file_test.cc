// The Node's mempool file in process: written periodically while the node
// runs (so a kill -9 loses at most one interval), written on Stop, reloaded
// at Create, and left alone when persist_mempool is off.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "node/core/mempool.h"
#include "node/core/node.h"
#include "tests/chain/test_chain.h"

namespace pbchain {
namespace {

using testing::MakeTransfer;
using testing::TestKey;
using testing::TestParams;

class NodeMempoolFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/node_mempool_file_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    params_ = TestParams(4, 1'000'000);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  NodeOptions Options() const {
    NodeOptions o;
    o.datadir = dir_ + "/data";
    o.params = params_;
    return o;
  }
  Transaction Pay(int from, uint64_t nonce) const {
    return MakeTransfer(params_, TestKey(from),
                        AddressFromPublicKey(TestKey(3).public_key()), 10, 1,
                        nonce);
  }
  std::string File() const { return dir_ + "/data/" + kMempoolFileName; }

  std::string dir_;
  ChainParams params_;
};

TEST_F(NodeMempoolFileTest, SavedPeriodicallyAndOnStopThenReloaded) {
  NodeOptions o = Options();
  o.mempool_save_interval = absl::Seconds(1);
  {
    absl::StatusOr<std::unique_ptr<Node>> node = Node::Create(o);
    ASSERT_TRUE(node.ok()) << node.status();
    ASSERT_TRUE((*node)->SubmitTransaction(Pay(0, 0)).ok());
    // The periodic save, without a Stop (bounded poll, not a timing test).
    const absl::Time deadline = absl::Now() + absl::Seconds(60);
    size_t saved = 0;
    while (absl::Now() < deadline) {
      absl::StatusOr<std::vector<MempoolEntry>> read = ReadMempoolFile(File());
      saved = read.ok() ? read->size() : 0;
      if (saved == 1) break;
      absl::SleepFor(absl::Milliseconds(50));
    }
    EXPECT_EQ(saved, 1u);
    ASSERT_TRUE((*node)->SubmitTransaction(Pay(0, 1)).ok());
    ASSERT_TRUE((*node)->SubmitTransaction(Pay(1, 0)).ok());
    (*node)->Stop();
    EXPECT_EQ(ReadMempoolFile(File())->size(), 3u);
  }
  absl::StatusOr<std::unique_ptr<Node>> again = Node::Create(o);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)->mempool().size(), 3u);
  EXPECT_EQ((*again)->mempool().NextNonce(
                AddressFromPublicKey(TestKey(0).public_key())),
            2u);
}

// The review's finding: pbnode's shutdown calls Node::Stop (which writes the
// file) before the RPC server stops, so a transaction accepted in the grace
// after it would be acknowledged and then lost. Stop closes the pool first.
TEST_F(NodeMempoolFileTest, NothingIsAcceptedAfterTheLastSave) {
  NodeOptions o = Options();
  absl::StatusOr<std::unique_ptr<Node>> node = Node::Create(o);
  ASSERT_TRUE(node.ok()) << node.status();
  ASSERT_TRUE((*node)->SubmitTransaction(Pay(0, 0)).ok());
  (*node)->Stop();
  absl::StatusOr<Hash256> late = (*node)->SubmitTransaction(Pay(0, 1));
  EXPECT_TRUE(absl::IsUnavailable(late.status())) << late.status();
  EXPECT_EQ((*node)->mempool().size(), 1u);
  absl::StatusOr<std::vector<MempoolEntry>> saved = ReadMempoolFile(File());
  ASSERT_TRUE(saved.ok()) << saved.status();
  EXPECT_EQ(saved->size(), 1u);
}

TEST_F(NodeMempoolFileTest, ADamagedFileIsIgnoredAndReplaced) {
  std::filesystem::create_directories(dir_ + "/data");
  {
    std::ofstream out(File(), std::ios::binary);
    out << std::string(200, 'x');
  }
  absl::StatusOr<std::unique_ptr<Node>> node = Node::Create(Options());
  ASSERT_TRUE(node.ok()) << node.status();
  EXPECT_EQ((*node)->mempool().size(), 0u);
  ASSERT_TRUE((*node)->SubmitTransaction(Pay(0, 0)).ok());
  (*node)->Stop();
  EXPECT_EQ(ReadMempoolFile(File())->size(), 1u);
}

TEST_F(NodeMempoolFileTest, OffMeansNeitherReadNorWritten) {
  NodeOptions o = Options();
  o.persist_mempool = false;
  absl::StatusOr<std::unique_ptr<Node>> node = Node::Create(o);
  ASSERT_TRUE(node.ok()) << node.status();
  ASSERT_TRUE((*node)->SubmitTransaction(Pay(0, 0)).ok());
  (*node)->Stop();
  EXPECT_FALSE(std::filesystem::exists(File()));
}

}  // namespace
}  // namespace pbchain
