// pbvote end to end against real pbnode processes: node A mining, node B
// (not mining) connected to A by --peer. Votes are cast through the
// interactive mode (stdin pipe) and the scriptable commands; booth wallets
// are created by pbvote and never hold coins.
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "chain/consensus.h"
#include "client/inclusion.h"
#include "client/node_client.h"
#include "client/transfer.h"
#include "client/wallet.h"
#include "common/version.h"
#include "gtest/gtest.h"
#include "tests/apps/app_runner.h"
#include "tests/network/net_harness.h"

namespace pbchain::apps {
namespace {

using nettest::NodeConfig;
using nettest::NodeProcess;
using nettest::TestNet;
using testing::AppBin;
using testing::RunApp;
using testing::RunResult;

constexpr char kPrompt[] =
    "Enter option ('a' add record, 'd' display tally, 'q' quit): ";

class VoteProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    net_ = std::make_unique<TestNet>("apps_vote", nettest::GenesisConfig{});
    ASSERT_TRUE(net_->ok());
    dir_ = net_->Sub("work");
    std::filesystem::create_directories(dir_);
    NodeConfig a_config;
    a_config.mine = true;
    a_ = net_->StartNode("a", a_config);
    ASSERT_NE(a_, nullptr);
    NodeConfig b_config;
    b_config.peers = {a_->address()};
    b_ = net_->StartNode("b", b_config);
    ASSERT_NE(b_, nullptr);
  }

  RunResult Vote(NodeProcess* node, const std::string& wallet,
                 std::vector<std::string> args, const std::string& input = "") {
    std::vector<std::string> all = {"--node", node->address(), "--wallet",
                                    wallet};
    all.insert(all.end(), args.begin(), args.end());
    return RunApp(AppBin("pbvote"), all, dir_, input);
  }

  uint64_t Balance(NodeProcess* node, const std::string& wallet) {
    absl::StatusOr<client::Wallet> w = client::LoadWallet(wallet);
    EXPECT_TRUE(w.ok()) << w.status();
    if (!w.ok()) return ~0ull;
    absl::StatusOr<v1::GetAccountResponse> acc = node->Account(w->address);
    EXPECT_TRUE(acc.ok()) << acc.status();
    return acc.ok() ? acc->account().balance() : ~0ull;
  }

  std::unique_ptr<TestNet> net_;
  std::string dir_;
  NodeProcess* a_ = nullptr;
  NodeProcess* b_ = nullptr;
};

TEST_F(VoteProcessTest, InteractiveVotesThenDuplicateRejectedOnSecondNode) {
  const std::string booth_a = dir_ + "/booth-a.json";
  ASSERT_FALSE(std::filesystem::exists(booth_a));
  // Three voters on node A, then the tally, then quit.
  RunResult session = Vote(
      a_, booth_a, {}, "a\nalice\nred\na\nbob\nblue\na\ncarol\nred\nd\nq\n");
  ASSERT_EQ(session.code, 0) << session.Show();
  EXPECT_EQ(session.Count(kPrompt), 5) << session.Show();
  EXPECT_EQ(session.Count("Voter id: "), 3);
  EXPECT_EQ(session.Count("Vote recorded (block "), 3) << session.Show();
  EXPECT_NE(session.out.find("  red: 2\n  blue: 1\nTotal votes: 3\n"),
            std::string::npos)
      << session.Show();
  // The booth wallet was created and needed no coins.
  ASSERT_TRUE(std::filesystem::exists(booth_a));
  EXPECT_EQ(Balance(a_, booth_a), 0u);

  // Node B gets the blocks.
  absl::StatusOr<v1::GetInfoResponse> info = a_->Info();
  ASSERT_TRUE(info.ok());
  ASSERT_TRUE(
      nettest::WaitForSameTip({a_, b_}, info->height(), absl::Seconds(60)));

  // alice again, on node B with another (new, empty) booth wallet: node B
  // rejects it by consensus.
  const std::string booth_b = dir_ + "/booth-b.json";
  RunResult dup = Vote(b_, booth_b, {"vote", "alice", "blue"});
  EXPECT_EQ(dup.code, 1) << dup.Show();
  EXPECT_EQ(dup.out, "Invalid/duplicate Vote!\n") << dup.Show();
  RunResult dup_json = Vote(b_, booth_b, {"vote", "alice", "green", "--json"});
  EXPECT_EQ(dup_json.code, 1) << dup_json.Show();
  EXPECT_EQ(dup_json.Json()["status"], "duplicate");
  EXPECT_EQ(dup_json.Json()["message"], "Invalid/duplicate Vote!");
  EXPECT_NE(
      dup_json.Json()["reason"].get<std::string>().find("tx-duplicate-record"),
      std::string::npos)
      << dup_json.Show();
  // The same through B's interactive mode: the message, then the tally.
  RunResult dup_session = Vote(b_, booth_b, {}, "a\nalice\ngreen\nd\nq\n");
  EXPECT_EQ(dup_session.code, 1) << dup_session.Show();
  EXPECT_NE(dup_session.out.find("Choice: green\nInvalid/duplicate Vote!\n" +
                                 std::string(kPrompt)),
            std::string::npos)
      << dup_session.Show();
  EXPECT_NE(dup_session.out.find("  red: 2\n  blue: 1\nTotal votes: 3\n"),
            std::string::npos)
      << dup_session.Show();
  // Node A rejects it too.
  RunResult dup_a = Vote(a_, booth_a, {"vote", "alice", "green"});
  EXPECT_EQ(dup_a.code, 1) << dup_a.Show();
  EXPECT_EQ(dup_a.out, "Invalid/duplicate Vote!\n");

  // The tally on B equals A's.
  RunResult tally_a = Vote(a_, booth_a, {"tally", "--json"});
  RunResult tally_b = Vote(b_, booth_b, {"tally", "--json"});
  ASSERT_EQ(tally_a.code, 0) << tally_a.Show();
  ASSERT_EQ(tally_b.code, 0) << tally_b.Show();
  EXPECT_EQ(tally_a.Json()["total"], 3u);
  EXPECT_EQ(tally_a.Json()["counts"], tally_b.Json()["counts"]);
  EXPECT_EQ(tally_a.Json()["total"], tally_b.Json()["total"]);
  EXPECT_EQ(tally_a.Json()["counts"][0]["choice"], "red");
  EXPECT_EQ(tally_a.Json()["counts"][0]["votes"], 2u);

  // A new voter through node B (which relays to the miner) is recorded,
  // from a booth wallet with zero balance.
  RunResult dave = Vote(b_, booth_b, {"vote", "dave", "blue", "--json"});
  ASSERT_EQ(dave.code, 0) << dave.Show();
  EXPECT_EQ(dave.Json()["status"], "recorded");
  EXPECT_EQ(Balance(b_, booth_b), 0u);
  RunResult tally_after = Vote(a_, booth_a, {"tally"});
  ASSERT_EQ(tally_after.code, 0);
  EXPECT_NE(tally_after.out.find("  blue: 2\n  red: 2\nTotal votes: 4\n"),
            std::string::npos)
      << tally_after.Show();

  // Bad input: exit 2, nothing sent.
  EXPECT_EQ(Vote(a_, booth_a, {"vote", "", "red"}).code, 2);
  EXPECT_EQ(Vote(a_, booth_a, {"vote", std::string(129, 'v'), "red"}).code, 2);
  EXPECT_EQ(Vote(a_, booth_a, {"vote", "erin"}).code, 2);
  EXPECT_EQ(Vote(a_, booth_a, {"--election", "Bad Name", "tally"}).code, 2);
}

// 70 records of 64 KiB in the election's namespace (anyone may write them,
// fee 0): about 4.6 MB, more than one 4 MiB gRPC message. The node pages
// them by bytes and the tally reads every page; the junk is ignored.
TEST_F(VoteProcessTest, TallyReadsPastLargeJunkRecords) {
  const std::string booth = dir_ + "/booth.json";
  RunResult vote = Vote(a_, booth, {"vote", "alice", "red"});
  ASSERT_EQ(vote.code, 0) << vote.Show();

  client::NodeClient node(a_->channel(), client::NodeClientOptions{});
  absl::StatusOr<std::string> chain_id = node.ChainId();
  ASSERT_TRUE(chain_id.ok()) << chain_id.status();
  constexpr int kJunk = 70;
  std::vector<Hash256> last(2);
  for (int i = 0; i < kJunk; ++i) {
    const int from = i % 2;  // two senders: under the per-sender pool limit
    client::TransferRequest req;
    req.recipient = AddressFromPublicKey(net_->funded_key(from).public_key());
    req.record = client::MakeRecord("vote.booth", absl::StrCat("junk", i),
                                    std::string(kMaxRecordPayload, 'j'));
    absl::StatusOr<Transaction> tx =
        client::BuildTransfer(net_->funded_key(from), *chain_id, i / 2, req);
    ASSERT_TRUE(tx.ok()) << tx.status();
    absl::StatusOr<Hash256> txid = node.SubmitTransaction(*tx);
    ASSERT_TRUE(txid.ok()) << txid.status();
    last[from] = *txid;
  }
  for (const Hash256& txid : last) {
    absl::StatusOr<client::WriteResult> w =
        client::WaitForInclusion(node, txid, client::WaitOptions{});
    ASSERT_TRUE(w.ok()) << w.status();
    ASSERT_EQ(w->outcome, client::Outcome::kConfirmed) << w->reason;
  }

  RunResult tally = Vote(a_, booth, {"tally", "--json"});
  ASSERT_EQ(tally.code, 0) << tally.Show();
  EXPECT_EQ(tally.Json()["total"], 1u);
  EXPECT_EQ(tally.Json()["ignored"], static_cast<uint64_t>(kJunk));
  EXPECT_EQ(tally.Json()["counts"][0]["choice"], "red");
}

TEST_F(VoteProcessTest, ElectionsAreSeparateAndHelpExplains) {
  const std::string booth = dir_ + "/booth.json";
  RunResult v1 =
      Vote(a_, booth, {"--election", "mayor", "vote", "alice", "Jane"});
  ASSERT_EQ(v1.code, 0) << v1.Show();
  // The same voter id in another election is a different record.
  RunResult v2 =
      Vote(a_, booth, {"--election", "council", "vote", "alice", "Joe"});
  ASSERT_EQ(v2.code, 0) << v2.Show();
  RunResult t = Vote(a_, booth, {"--election", "mayor", "tally", "--json"});
  ASSERT_EQ(t.code, 0) << t.Show();
  EXPECT_EQ(t.Json()["namespace"], "vote.mayor");
  EXPECT_EQ(t.Json()["total"], 1u);
  EXPECT_EQ(t.Json()["counts"][0]["choice"], "Jane");

  // Options after the command.
  RunResult after = RunApp(AppBin("pbvote"),
                           {"tally", "--json", "--election", "mayor", "--node",
                            a_->address(), "--wallet", booth},
                           dir_);
  ASSERT_EQ(after.code, 0) << after.Show();
  EXPECT_EQ(after.Json()["total"], 1u);
  // The node and the booth wallet from $PBCHAIN_NODE and $PBCHAIN_WALLET:
  // that wallet is created (not ./booth.json, the default).
  const std::string env_booth = dir_ + "/env-booth.json";
  setenv("PBCHAIN_NODE", a_->address().c_str(), 1);
  setenv("PBCHAIN_WALLET", env_booth.c_str(), 1);
  RunResult env = RunApp(AppBin("pbvote"),
                         {"vote", "bob", "Jane", "--election", "mayor"}, dir_);
  unsetenv("PBCHAIN_NODE");
  unsetenv("PBCHAIN_WALLET");
  ASSERT_EQ(env.code, 0) << env.Show();
  EXPECT_TRUE(std::filesystem::exists(env_booth));
  EXPECT_NE(env.err.find("created booth wallet " + env_booth),
            std::string::npos)
      << env.Show();
  RunResult t2 = Vote(a_, booth, {"tally", "--election", "mayor", "--json"});
  ASSERT_EQ(t2.code, 0) << t2.Show();
  EXPECT_EQ(t2.Json()["total"], 2u);

  RunResult help = RunApp(AppBin("pbvote"), {"--help"}, dir_);
  EXPECT_EQ(help.code, 0);
  EXPECT_NE(help.out.find("  Enter option ('a' add record, 'd' display "
                          "tally, 'q' quit):\n"),
            std::string::npos)
      << help.out;
  EXPECT_NE(help.out.find("Invalid/duplicate Vote!"), std::string::npos);
  EXPECT_NE(help.out.find("Exit codes"), std::string::npos);
  RunResult shop_help = RunApp(AppBin("pbshop"), {"--help"}, dir_);
  EXPECT_EQ(shop_help.code, 0);
  EXPECT_NE(shop_help.out.find("Not enough coins"), std::string::npos);
  EXPECT_NE(shop_help.out.find("Examples"), std::string::npos);
}

// The command line alone (no node needed): help, version, bad options.
TEST(VoteCommandLineTest, HelpVersionAndBadOptions) {
  ::pbchain::testing::TempDir dir("apps_vote_cli");
  const std::string d = dir.path().string();
  RunResult help = RunApp(AppBin("pbvote"), {"help", "vote"}, d);
  ASSERT_EQ(help.code, 0) << help.Show();
  EXPECT_TRUE(
      absl::StartsWith(help.out, "pbvote [OPTIONS] vote VOTER_ID CHOICE\n"))
      << help.Show();
  EXPECT_NE(help.out.find("Invalid/duplicate Vote!"), std::string::npos);
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {"vote", "--help"}, {"--election", "x", "vote", "alice", "-h"}}) {
    RunResult r = RunApp(AppBin("pbvote"), args, d);
    EXPECT_EQ(r.code, 0) << r.Show();
    EXPECT_EQ(r.out, help.out) << args[0];
  }
  for (const char* command : {"interactive", "tally"}) {
    RunResult r = RunApp(AppBin("pbvote"), {command, "--help"}, d);
    EXPECT_EQ(r.code, 0) << r.Show();
    EXPECT_TRUE(absl::StartsWith(r.out, "pbvote [OPTIONS] ")) << r.Show();
  }
  RunResult version = RunApp(AppBin("pbvote"), {"tally", "--version"}, d);
  EXPECT_EQ(version.code, 0) << version.Show();
  EXPECT_EQ(version.out, std::string("pbvote ") + kVersion + "\n");

  struct Case {
    std::vector<std::string> args;
    std::string err;
  };
  for (const Case& c : std::vector<Case>{
           {{"tally", "--bogus"},
            "pbvote: unknown option --bogus (see pbvote help tally)\n"},
           {{"vote", "alice"},
            "pbvote: vote takes 2 arguments, got 1 (see "
            "pbvote help vote)\n"},
           {{"alice"}, "pbvote: unknown command 'alice' (see pbvote --help)\n"},
           {{"--json"}, "pbvote: --json is for the vote and tally commands\n"},
           {{"tally", "--election"}, ""},
       }) {
    RunResult r = RunApp(AppBin("pbvote"), c.args, d);
    EXPECT_EQ(r.code, 2) << r.Show();
    EXPECT_EQ(r.out, "") << r.Show();
    if (!c.err.empty()) {
      EXPECT_EQ(r.err, c.err);
    } else {
      EXPECT_TRUE(absl::StartsWith(r.err, "pbvote: ")) << r.Show();
      EXPECT_NE(r.err.find("--election"), std::string::npos) << r.Show();
    }
  }
  // Nothing was created: bad usage is refused before the booth wallet.
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("booth.json")));
}

}  // namespace
}  // namespace pbchain::apps
