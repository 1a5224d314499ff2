// pbcli against real processes: a wallet made by `pbcli keygen`, a genesis
// made by `pbtool genesis --alloc <wallet>=1000000`, one mining pbnode and
// one pbnode that does not mine (for the "still pending" outcome), both on
// free loopback ports, and the real pbcli binary run for every command.
// Every process is stopped and the temp dir removed at the end of the suite.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "chain/chain_state.h"
#include "chain/consensus.h"
#include "client/inclusion.h"
#include "client/node_client.h"
#include "client/transfer.h"
#include "client/wallet.h"
#include "common/version.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "storage/rocksdb_store.h"
#include "tests/chain/test_chain.h"
#include "tests/client/client_harness.h"

namespace pbchain::client {
namespace {

using namespace ::pbchain::client::testing;  // NOLINT: test helpers

constexpr char kPassphrase[] = "pbcli process test passphrase";

class PbcliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    unsetenv("PBCHAIN_WALLET");
    unsetenv("PBCHAIN_NODE");
    // Every wallet of this suite is encrypted (keygen's default) with the
    // passphrase from the environment, so each command decrypts it.
    setenv("PBCHAIN_PASSPHRASE", kPassphrase, 1);
    dir_ = new TempDir("pbcli_test");
    const std::string d = dir_->path().string();
    alice_wallet_ = d + "/alice.json";
    bob_wallet_ = d + "/bob.json";
    Result a =
        RunProcess(Bin("pbcli"), {"keygen", "--wallet", alice_wallet_}, d);
    ASSERT_EQ(a.code, 0) << a.Show();
    alice_ = std::string(absl::StripTrailingAsciiWhitespace(a.out));
    Result b = RunProcess(Bin("pbcli"),
                          {"keygen", "--json", "--wallet", bob_wallet_}, d);
    ASSERT_EQ(b.code, 0) << b.Show();
    bob_ = b.OutJson()["address"].get<std::string>();
    Result m =
        RunProcess(Bin("pbcli"), {"keygen", "--wallet", d + "/miner.json"}, d);
    ASSERT_EQ(m.code, 0) << m.Show();
    const std::string miner(absl::StripTrailingAsciiWhitespace(m.out));

    genesis_ = d + "/genesis.json";
    Result g =
        RunProcess(Bin("pbtool"),
                   {"genesis", "--out", genesis_, "--chain-id",
                    "pbchain-clitest", "--target-interval-ms", "300", "--bits",
                    "0x1f7fffff", "--alloc", alice_ + "=1000000"},
                   d);
    ASSERT_EQ(g.code, 0) << g.Show();

    std::optional<Node> miner_node =
        StartNode(d, "miner", genesis_, {"--mine", "--miner-address=" + miner});
    ASSERT_TRUE(miner_node.has_value());
    mining_ = new Node(std::move(*miner_node));
    std::optional<Node> idle_node = StartNode(d, "idle", genesis_, {});
    ASSERT_TRUE(idle_node.has_value());
    idle_ = new Node(std::move(*idle_node));
  }

  static void TearDownTestSuite() {
    for (Node* n : {mining_, idle_}) {
      if (n == nullptr) continue;
      if (::testing::UnitTest::GetInstance()->failed_test_count() > 0) {
        std::string log = ReadFile(n->log);
        if (log.size() > 4000) log = log.substr(log.size() - 4000);
        std::cerr << "--- " << n->log << " (tail) ---\n" << log << "\n";
      }
      StopNode(*n);
      delete n;
    }
    mining_ = idle_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }

  // pbcli with --node of the mining node and alice's wallet, then `args`.
  static Result Cli(const std::vector<std::string>& args,
                    const Node* node = nullptr,
                    const std::string& wallet = "") {
    std::vector<std::string> all = {"--node", (node ? node : mining_)->address,
                                    "--wallet",
                                    wallet.empty() ? alice_wallet_ : wallet};
    all.insert(all.end(), args.begin(), args.end());
    return RunProcess(Bin("pbcli"), all, dir_->path().string());
  }
  // pbcli exactly with `args`.
  static Result Raw(const std::vector<std::string>& args) {
    return RunProcess(Bin("pbcli"), args, dir_->path().string());
  }
  static uint64_t Balance(const std::string& address,
                          const Node* node = nullptr) {
    Result r = Cli({"balance", address, "--json"}, node);
    EXPECT_EQ(r.code, 0) << r.Show();
    Json j = r.OutJson();
    return j.is_object() ? j["balance"].get<uint64_t>() : 0;
  }

  void SetUp() override {
    if (mining_ == nullptr || idle_ == nullptr) GTEST_SKIP() << "no nodes";
  }

  static TempDir* dir_;
  static Node* mining_;
  static Node* idle_;
  static std::string alice_wallet_, bob_wallet_, alice_, bob_, genesis_;
};

TempDir* PbcliTest::dir_ = nullptr;
Node* PbcliTest::mining_ = nullptr;
Node* PbcliTest::idle_ = nullptr;
std::string PbcliTest::alice_wallet_, PbcliTest::bob_wallet_, PbcliTest::alice_,
    PbcliTest::bob_, PbcliTest::genesis_;

TEST_F(PbcliTest, KeygenAndAddress) {
  ASSERT_EQ(alice_.size(), 50u) << alice_;
  Result r = Cli({"address"});
  ASSERT_EQ(r.code, 0) << r.Show();
  EXPECT_EQ(r.out, alice_ + "\n");
  Result j = Cli({"address", "--json"}, nullptr, bob_wallet_);
  ASSERT_EQ(j.code, 0) << j.Show();
  EXPECT_EQ(j.OutJson()["address"], bob_);

  // keygen never overwrites: exit 2, the file keeps its key.
  const std::string before = ReadFile(alice_wallet_);
  Result again = Cli({"keygen"});
  EXPECT_EQ(again.code, 2) << again.Show();
  EXPECT_NE(again.err.find("exists"), std::string::npos) << again.Show();
  EXPECT_EQ(ReadFile(alice_wallet_), before);
}

TEST_F(PbcliTest, Info) {
  Result r = Cli({"info"});
  ASSERT_EQ(r.code, 0) << r.Show();
  EXPECT_NE(r.out.find("pbchain-clitest"), std::string::npos) << r.Show();
  Result j = Cli({"info", "--json"});
  ASSERT_EQ(j.code, 0) << j.Show();
  Json info = j.OutJson();
  EXPECT_EQ(info["chain_id"], "pbchain-clitest");
  EXPECT_EQ(info["tip_hash"].get<std::string>().size(), 64u);
  // The idle node does not mine; the miner reports mining once its miner
  // thread runs (polled: it may start a moment after the node listens).
  Result idle = Cli({"info", "--json"}, idle_);
  ASSERT_EQ(idle.code, 0) << idle.Show();
  EXPECT_EQ(idle.OutJson()["mining"], false);
  bool mining = false;
  for (int i = 0; i < 100 && !mining; ++i) {
    Result m = Cli({"info", "--json"});
    ASSERT_EQ(m.code, 0) << m.Show();
    mining = m.OutJson()["mining"] == true;
    if (!mining) usleep(300'000);
  }
  EXPECT_TRUE(mining) << "the mining node never reported mining";
}

TEST_F(PbcliTest, SendConfirmedChangesRecipientBalance) {
  const uint64_t before = Balance(bob_);
  Result r = Cli({"send", bob_, "1234", "--fee", "2", "--wait", "1"});
  ASSERT_EQ(r.code, 0) << r.Show();
  EXPECT_TRUE(absl::StartsWith(r.out, "confirmed: txid ")) << r.Show();
  EXPECT_EQ(Balance(bob_), before + 1234);

  // The same in JSON, then look the transaction and its block up.
  Result s = Cli({"send", bob_, "10", "--json", "--wait=2"});
  ASSERT_EQ(s.code, 0) << s.Show();
  Json w = s.OutJson();
  EXPECT_EQ(w["outcome"], "confirmed");
  EXPECT_GE(w["confirmations"].get<uint64_t>(), 2u);
  const std::string txid = w["txid"];
  ASSERT_EQ(txid.size(), 64u);
  EXPECT_EQ(Balance(bob_), before + 1244);

  Result t = Cli({"tx", txid, "--json"});
  ASSERT_EQ(t.code, 0) << t.Show();
  Json tx = t.OutJson();
  EXPECT_EQ(tx["status"], "confirmed");
  EXPECT_EQ(tx["tx"]["amount"], 10);
  EXPECT_EQ(tx["tx"]["fee"], 1);  // send's default fee
  EXPECT_EQ(tx["tx"]["from"], alice_);
  EXPECT_EQ(tx["tx"]["to"], bob_);
  EXPECT_EQ(tx["block_hash"], w["block_hash"]);
  Result th = Cli({"tx", txid});
  ASSERT_EQ(th.code, 0) << th.Show();
  EXPECT_NE(th.out.find("confirmed in block"), std::string::npos);
  EXPECT_NE(th.out.find(bob_), std::string::npos);

  // The block by height and by hash: the same block, holding the txid.
  const std::string height = std::to_string(w["block_height"].get<uint64_t>());
  Result bh = Cli({"block", height, "--json"});
  ASSERT_EQ(bh.code, 0) << bh.Show();
  Json block = bh.OutJson();
  EXPECT_EQ(block["hash"], w["block_hash"]);
  bool found = false;
  for (const Json& x : block["txs"]) found |= x["txid"] == txid;
  EXPECT_TRUE(found) << bh.out;
  Result bx = Cli({"block", w["block_hash"].get<std::string>()});
  ASSERT_EQ(bx.code, 0) << bx.Show();
  EXPECT_NE(bx.out.find("height:        " + height + "\n"), std::string::npos)
      << bx.Show();
  EXPECT_NE(bx.out.find(txid), std::string::npos);
}

TEST_F(PbcliTest, PutGetKeyedRecordThenDuplicateIsRejected) {
  const std::string key = "key-" + std::to_string(getpid());
  Result p = Cli({"put", "clitest", key, "hello, chain"});
  ASSERT_EQ(p.code, 0) << p.Show();
  EXPECT_TRUE(absl::StartsWith(p.out, "confirmed: ")) << p.Show();

  Result g = Cli({"get", "clitest", key});
  ASSERT_EQ(g.code, 0) << g.Show();
  EXPECT_TRUE(absl::StartsWith(g.out, "hello, chain\n")) << g.Show();
  Result gj = Cli({"get", "clitest", key, "--json"});
  ASSERT_EQ(gj.code, 0) << gj.Show();
  Json recs = gj.OutJson()["records"];
  ASSERT_EQ(recs.size(), 1u) << gj.out;
  EXPECT_EQ(recs[0]["payload"], "hello, chain");
  EXPECT_EQ(recs[0]["key"], key);
  EXPECT_EQ(recs[0]["sender"], alice_);

  // A second put of the same key: the node refuses it, exit 1 with reason.
  Result dup = Cli({"put", "clitest", key, "second"});
  EXPECT_EQ(dup.code, 1) << dup.Show();
  EXPECT_TRUE(absl::StartsWith(dup.out, "rejected: ")) << dup.Show();
  EXPECT_NE(dup.out.find("tx-duplicate-record"), std::string::npos)
      << dup.Show();
  Result dupj = Cli({"put", "clitest", key, "third", "--json"});
  EXPECT_EQ(dupj.code, 1) << dupj.Show();
  EXPECT_EQ(dupj.OutJson()["outcome"], "rejected");

  // The first record stays.
  Result g2 = Cli({"get", "clitest", key});
  EXPECT_TRUE(absl::StartsWith(g2.out, "hello, chain\n")) << g2.Show();

  // Unkeyed records and binary payloads; the listing shows both.
  const std::string bin_file = dir_->Sub("payload.bin");
  std::ofstream(bin_file, std::ios::binary) << std::string("\x00\x01\xff", 3);
  Result u = Cli({"put", "clitest", "--payload-file", bin_file});
  ASSERT_EQ(u.code, 0) << u.Show();
  Result list = Cli({"get", "clitest"});
  ASSERT_EQ(list.code, 0) << list.Show();
  EXPECT_NE(list.out.find(key + " = hello, chain"), std::string::npos)
      << list.Show();
  EXPECT_NE(list.out.find("0x0001ff"), std::string::npos) << list.Show();

  // A key that was never written: exit 1.
  Result none = Cli({"get", "clitest", "no-such-key"});
  EXPECT_EQ(none.code, 1) << none.Show();
}

// 20 records of 64 KiB (about 1.3 MB) in one namespace: the node sends
// them in pages of at most 1 MiB, and `get` and `history` follow the page
// tokens until --limit or the end.
TEST_F(PbcliTest, GetAndHistoryReadPastShortPages) {
  const std::string wallet_file = dir_->Sub("big.json");
  Result k = Raw({"keygen", "--wallet", wallet_file});
  ASSERT_EQ(k.code, 0) << k.Show();
  absl::StatusOr<Wallet> wallet =
      LoadWallet(wallet_file, []() -> absl::StatusOr<std::string> {
        return std::string(kPassphrase);
      });
  ASSERT_TRUE(wallet.ok()) << wallet.status();
  EXPECT_TRUE(wallet->encrypted);
  ASSERT_TRUE(wallet.ok()) << wallet.status();
  NodeClientOptions options;
  options.address = mining_->address;
  absl::StatusOr<std::unique_ptr<NodeClient>> node =
      NodeClient::Create(options);
  ASSERT_TRUE(node.ok()) << node.status();
  absl::StatusOr<std::string> chain_id = (*node)->ChainId();
  ASSERT_TRUE(chain_id.ok()) << chain_id.status();
  // Zero-amount, zero-fee records to itself: a fresh wallet can write them.
  constexpr int kRecords = 20;
  Hash256 last;
  for (int i = 0; i < kRecords; ++i) {
    TransferRequest req;
    req.recipient = wallet->address;
    req.record = MakeRecord("cli.big", absl::StrCat("k", 100 + i),
                            std::string(kMaxRecordPayload, 'a' + i));
    absl::StatusOr<Transaction> tx =
        BuildTransfer(wallet->key, *chain_id, i, req);
    ASSERT_TRUE(tx.ok()) << tx.status();
    absl::StatusOr<Hash256> txid = (*node)->SubmitTransaction(*tx);
    ASSERT_TRUE(txid.ok()) << txid.status();
    last = *txid;
  }
  absl::StatusOr<WriteResult> included =
      WaitForInclusion(**node, last, WaitOptions{});
  ASSERT_TRUE(included.ok()) << included.status();
  ASSERT_EQ(included->outcome, Outcome::kConfirmed) << included->reason;

  // All of them (default --limit 100), in key order, no token left.
  Result all = Cli({"get", "cli.big", "--json"});
  ASSERT_EQ(all.code, 0) << all.err;
  Json j = all.OutJson();
  ASSERT_EQ(j["records"].size(), static_cast<size_t>(kRecords));
  for (int i = 0; i < kRecords; ++i) {
    EXPECT_EQ(j["records"][i]["key"], absl::StrCat("k", 100 + i)) << i;
  }
  EXPECT_EQ(j["next_page_token"], "");

  // --limit 18 returns 18 and a token; the token gives the other 2.
  Result first = Cli({"get", "cli.big", "--limit", "18", "--json"});
  ASSERT_EQ(first.code, 0) << first.err;
  Json f = first.OutJson();
  ASSERT_EQ(f["records"].size(), 18u);
  ASSERT_NE(f["next_page_token"], "");
  Result rest = Cli({"get", "cli.big", "--page-token",
                     f["next_page_token"].get<std::string>(), "--json"});
  ASSERT_EQ(rest.code, 0) << rest.err;
  Json r = rest.OutJson();
  ASSERT_EQ(r["records"].size(), 2u);
  EXPECT_EQ(r["records"][0]["key"], "k118");
  EXPECT_EQ(r["next_page_token"], "");

  // The wallet's history: one entry per record transaction, newest first.
  Result h = Cli({"history", wallet->address.ToText(), "--json"});
  ASSERT_EQ(h.code, 0) << h.err;
  Json hj = h.OutJson();
  ASSERT_EQ(hj["entries"].size(), static_cast<size_t>(kRecords));
  EXPECT_EQ(hj["entries"][0]["tx"]["nonce"], kRecords - 1);
  EXPECT_EQ(hj["next_page_token"], "");
  Result h18 =
      Cli({"history", wallet->address.ToText(), "--limit", "18", "--json"});
  ASSERT_EQ(h18.code, 0) << h18.err;
  EXPECT_EQ(h18.OutJson()["entries"].size(), 18u);
  EXPECT_NE(h18.OutJson()["next_page_token"], "");
}

TEST_F(PbcliTest, SendMoreThanBalanceIsRejected) {
  Result r = Cli({"send", bob_, "999999999999"});
  EXPECT_EQ(r.code, 1) << r.Show();
  EXPECT_TRUE(absl::StartsWith(r.out, "rejected: ")) << r.Show();
  EXPECT_NE(r.out.find("insufficient"), std::string::npos) << r.Show();
}

TEST_F(PbcliTest, SendToANodeWithoutPeersSaysItIsNotRelayedYet) {
  // Issue 15: the idle node has no peer; "accepted" alone claimed more than
  // the node knew.
  Result r = Cli({"send", bob_, "3", "--no-wait"}, idle_);
  ASSERT_EQ(r.code, 0) << r.Show();
  EXPECT_TRUE(absl::StartsWith(
      r.out, "accepted by the node; not yet relayed to any peer: txid "))
      << r.Show();
  Result j = Cli({"send", bob_, "4", "--no-wait", "--json"}, idle_);
  ASSERT_EQ(j.code, 0) << j.Show();
  EXPECT_EQ(j.OutJson()["outcome"], "accepted");
  EXPECT_EQ(j.OutJson()["relayed_to_peers"], 0);
  Result p = Cli({"send", bob_, "5", "--wait-timeout", "1"}, idle_);
  EXPECT_EQ(p.code, 3) << p.Show();
  EXPECT_NE(p.out.find("not yet relayed to any peer"), std::string::npos)
      << p.Show();
}

TEST_F(PbcliTest, PendingWhenNothingIsMined) {
  // The idle node accepts the transfer but never mines it.
  Result r = Cli({"send", bob_, "5", "--wait-timeout", "2"}, idle_);
  EXPECT_EQ(r.code, 3) << r.Show();
  EXPECT_TRUE(absl::StartsWith(r.out, "pending: txid ")) << r.Show();
  EXPECT_NE(r.out.find("retry"), std::string::npos) << r.Show();

  Result j = Cli({"send", bob_, "6", "--wait-timeout=1s", "--json"}, idle_);
  EXPECT_EQ(j.code, 3) << j.Show();
  Json w = j.OutJson();
  EXPECT_EQ(w["outcome"], "pending");
  EXPECT_EQ(w["in_mempool"], true);

  // --no-wait: accepted into the mempool, exit 0; the mempool lists it.
  Result n = Cli({"send", bob_, "7", "--no-wait", "--json"}, idle_);
  ASSERT_EQ(n.code, 0) << n.Show();
  Json a = n.OutJson();
  EXPECT_EQ(a["outcome"], "accepted");
  const std::string txid = a["txid"];

  Result m = Cli({"mempool", "--json"}, idle_);
  ASSERT_EQ(m.code, 0) << m.Show();
  Json pool = m.OutJson();
  EXPECT_GE(pool["total_count"].get<uint64_t>(), 3u);
  bool found = false;
  for (const Json& e : pool["entries"]) found |= e["txid"] == txid;
  EXPECT_TRUE(found) << m.out;
  Result mh = Cli({"mempool"}, idle_);
  ASSERT_EQ(mh.code, 0) << mh.Show();
  EXPECT_NE(mh.out.find(txid), std::string::npos) << mh.Show();

  Result t = Cli({"tx", txid, "--json"}, idle_);
  ASSERT_EQ(t.code, 0) << t.Show();
  EXPECT_EQ(t.OutJson()["status"], "mempool");
}

TEST_F(PbcliTest, UnreachableNodeIsOneLineAndNonZero) {
  const std::string dead = "127.0.0.1:" + std::to_string(DeadPort());
  for (const std::vector<std::string>& cmd :
       std::vector<std::vector<std::string>>{
           {"info"}, {"balance"}, {"send", bob_, "5"}, {"watch"}, {"chain"}}) {
    std::vector<std::string> args = {"--node", dead, "--wallet", alice_wallet_};
    args.insert(args.end(), cmd.begin(), cmd.end());
    Result r = Raw(args);
    EXPECT_EQ(r.code, 1) << cmd[0] << ": " << r.Show();
    EXPECT_EQ(r.out, "") << cmd[0];
    EXPECT_TRUE(absl::StartsWith(r.err, "pbcli: cannot reach node at " + dead))
        << cmd[0] << ": " << r.Show();
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1)
        << cmd[0] << ": " << r.Show();
  }
  // A malformed --node is bad usage.
  Result bad = Raw({"--node", "nohostport", "info"});
  EXPECT_EQ(bad.code, 2) << bad.Show();
}

TEST_F(PbcliTest, HangingNodeHitsTheCallDeadline) {
  SilentServer silent;
  Result r = Raw({"--node", silent.address(), "--timeout", "1", "info"});
  EXPECT_EQ(r.code, 1) << r.Show();
  EXPECT_EQ(r.err, "pbcli: node at " + silent.address() +
                       " did not answer within 1s\n")
      << r.Show();
  Result bad = Raw({"--node", silent.address(), "--timeout", "0", "info"});
  EXPECT_EQ(bad.code, 2) << bad.Show();
}

TEST_F(PbcliTest, WalletAndNodeFromEnvironment) {
  setenv("PBCHAIN_WALLET", bob_wallet_.c_str(), 1);
  setenv("PBCHAIN_NODE", mining_->address.c_str(), 1);
  Result a = Raw({"address"});
  Result b = Raw({"balance", "--json"});
  unsetenv("PBCHAIN_WALLET");
  unsetenv("PBCHAIN_NODE");
  ASSERT_EQ(a.code, 0) << a.Show();
  EXPECT_EQ(a.out, bob_ + "\n");
  ASSERT_EQ(b.code, 0) << b.Show();
  EXPECT_EQ(b.OutJson()["address"], bob_);
}

TEST_F(PbcliTest, MissingWalletFile) {
  const std::string missing = dir_->Sub("no-such-wallet.json");
  for (const std::vector<std::string>& cmd :
       std::vector<std::vector<std::string>>{
           {"address"}, {"balance"}, {"send", bob_, "5"}, {"put", "ns", "x"}}) {
    Result r = Cli(cmd, nullptr, missing);
    EXPECT_EQ(r.code, 2) << cmd[0] << ": " << r.Show();
    EXPECT_NE(r.err.find("not found"), std::string::npos) << r.Show();
    EXPECT_NE(r.err.find("pbcli keygen"), std::string::npos) << r.Show();
  }
  // A corrupt wallet file.
  const std::string corrupt = dir_->Sub("corrupt.json");
  std::ofstream(corrupt) << "{not json";
  Result c = Cli({"address"}, nullptr, corrupt);
  EXPECT_EQ(c.code, 2) << c.Show();
  EXPECT_NE(c.err.find(corrupt), std::string::npos) << c.Show();
}

TEST_F(PbcliTest, BadAddressesAreRefusedBeforeAnyRpc) {
  // A dead node: a bad input must be reported (exit 2), not the connection.
  const std::string dead = "127.0.0.1:" + std::to_string(DeadPort());
  std::string bad_sum = bob_;
  bad_sum.back() = bad_sum.back() == '0' ? '1' : '0';
  std::string bad_prefix = bob_;
  bad_prefix[0] = 'x';
  for (const std::string& to :
       {std::string("pbxyz"), bad_sum, bad_prefix, bob_.substr(0, 49),
        bob_ + "00", std::string(bob_).replace(5, 1, "g")}) {
    Result r =
        Raw({"--node", dead, "--wallet", alice_wallet_, "send", to, "5"});
    EXPECT_EQ(r.code, 2) << to << ": " << r.Show();
    EXPECT_TRUE(absl::StartsWith(r.err, "pbcli: TO: ")) << r.Show();
    Result b = Raw({"--node", dead, "balance", to});
    EXPECT_EQ(b.code, 2) << to << ": " << b.Show();
  }
  Result sum =
      Raw({"--node", dead, "--wallet", alice_wallet_, "send", bad_sum, "5"});
  EXPECT_NE(sum.err.find("checksum"), std::string::npos) << sum.Show();
}

TEST_F(PbcliTest, BadAmountsAreRefusedBeforeAnyRpc) {
  const std::string dead = "127.0.0.1:" + std::to_string(DeadPort());
  for (const char* amount :
       {"-5", "1.5", "abc", "", "0x10", "18446744073709551616",
        "99999999999999999999999"}) {
    Result r =
        Raw({"--node", dead, "--wallet", alice_wallet_, "send", bob_, amount});
    EXPECT_EQ(r.code, 2) << "'" << amount << "': " << r.Show();
    EXPECT_TRUE(absl::StartsWith(r.err, "pbcli: AMOUNT: ")) << r.Show();
  }
  Result zero =
      Raw({"--node", dead, "--wallet", alice_wallet_, "send", bob_, "0"});
  EXPECT_EQ(zero.code, 2) << zero.Show();
  Result overflow = Raw({"--node", dead, "--wallet", alice_wallet_, "send",
                         bob_, "18446744073709551615", "--fee", "1"});
  EXPECT_EQ(overflow.code, 2) << overflow.Show();
  EXPECT_NE(overflow.err.find("overflows"), std::string::npos)
      << overflow.Show();
  Result fee = Raw({"--node", dead, "--wallet", alice_wallet_, "send", bob_,
                    "5", "--fee", "-1"});
  EXPECT_EQ(fee.code, 2) << fee.Show();
  EXPECT_NE(fee.err.find("--fee"), std::string::npos) << fee.Show();
  Result ns = Raw(
      {"--node", dead, "--wallet", alice_wallet_, "put", "Bad Namespace", "x"});
  EXPECT_EQ(ns.code, 2) << ns.Show();
  Result wait = Raw({"--node", dead, "--wallet", alice_wallet_, "send", bob_,
                     "5", "--wait-timeout", "soon"});
  EXPECT_EQ(wait.code, 2) << wait.Show();
}

TEST_F(PbcliTest, ChainRange) {
  Result r = Cli({"chain", "--from", "0", "--to", "3"});
  ASSERT_EQ(r.code, 0) << r.Show();
  std::vector<std::string> lines = r.OutLines();
  ASSERT_EQ(lines.size(), 4u) << r.Show();
  for (int h = 0; h < 4; ++h) {
    EXPECT_TRUE(absl::StartsWith(lines[h], std::to_string(h) + "  "))
        << lines[h];
  }
  Result j = Cli({"chain", "--from", "1", "--to", "3", "--json"});
  ASSERT_EQ(j.code, 0) << j.Show();
  std::vector<std::string> jl = j.OutLines();
  ASSERT_EQ(jl.size(), 3u) << j.Show();
  std::string prev;
  for (size_t i = 0; i < jl.size(); ++i) {
    Json b = Json::parse(jl[i], nullptr, false);
    ASSERT_FALSE(b.is_discarded()) << jl[i];
    EXPECT_EQ(b["height"], i + 1);
    if (!prev.empty()) {
      EXPECT_EQ(b["prev_hash"], prev);
    }
    prev = b["hash"];
  }
  // Default: the newest blocks, ending at the tip.
  Result d = Cli({"chain"});
  ASSERT_EQ(d.code, 0) << d.Show();
  EXPECT_GE(d.OutLines().size(), 1u);
  EXPECT_LE(d.OutLines().size(), 20u);
  Result bad = Cli({"chain", "--from", "5", "--to", "2"});
  EXPECT_EQ(bad.code, 2) << bad.Show();
}

TEST_F(PbcliTest, BlockLookups) {
  Result h = Cli({"block", "1", "--json"});
  ASSERT_EQ(h.code, 0) << h.Show();
  Json b = h.OutJson();
  EXPECT_EQ(b["height"], 1);
  EXPECT_EQ(b["in_main_chain"], true);
  ASSERT_GE(b["txs"].size(), 1u);
  EXPECT_EQ(b["txs"][0]["kind"], "coinbase");
  Result byhash = Cli({"block", b["hash"].get<std::string>(), "--json"});
  ASSERT_EQ(byhash.code, 0) << byhash.Show();
  EXPECT_EQ(byhash.OutJson()["height"], 1);
  Result zero = Cli({"block", "0"});
  ASSERT_EQ(zero.code, 0) << zero.Show();
  EXPECT_NE(zero.out.find("height:        0\n"), std::string::npos);

  Result far = Cli({"block", "999999999"});
  EXPECT_EQ(far.code, 1) << far.Show();
  Result unknown = Cli({"block", std::string(64, 'a')});
  EXPECT_EQ(unknown.code, 1) << unknown.Show();
  Result bad = Cli({"block", "xyz"});
  EXPECT_EQ(bad.code, 2) << bad.Show();
  Result none = Cli({"block"});
  EXPECT_EQ(none.code, 2) << none.Show();
}

TEST_F(PbcliTest, TxLookups) {
  Result unknown = Cli({"tx", std::string(64, 'b')});
  EXPECT_EQ(unknown.code, 1) << unknown.Show();
  Result bad = Cli({"tx", "1234"});
  EXPECT_EQ(bad.code, 2) << bad.Show();
  EXPECT_TRUE(absl::StartsWith(bad.err, "pbcli: TXID: ")) << bad.Show();
}

TEST_F(PbcliTest, PeersAndBalanceOutput) {
  Result p = Cli({"peers"});
  ASSERT_EQ(p.code, 0) << p.Show();
  EXPECT_NE(p.out.find("connected peer"), std::string::npos) << p.Show();
  Result pj = Cli({"peers", "--json"});
  ASSERT_EQ(pj.code, 0) << pj.Show();
  Json peers = pj.OutJson();
  EXPECT_TRUE(peers["connected"].is_array());
  EXPECT_TRUE(peers["known"].is_array());

  // Alice's balance from genesis minus what she spent, as text and JSON.
  Result b = Cli({"balance"});
  ASSERT_EQ(b.code, 0) << b.Show();
  EXPECT_NE(b.out.find("address:       " + alice_), std::string::npos);
  Result bj = Cli({"balance", "--json"});
  ASSERT_EQ(bj.code, 0) << bj.Show();
  Json acct = bj.OutJson();
  EXPECT_EQ(acct["address"], alice_);
  EXPECT_LE(acct["balance"].get<uint64_t>(), 1000000u);
  EXPECT_GE(acct["pending_nonce"].get<uint64_t>(),
            acct["nonce"].get<uint64_t>());
}

TEST_F(PbcliTest, WatchPrintsNewTipsUntilInterrupted) {
  ChildProcess watch(Bin("pbcli"),
                     {"--node", mining_->address, "watch", "--json"},
                     dir_->Sub("watch.err"));
  ASSERT_TRUE(watch.started());
  std::vector<Json> tips;
  for (int i = 0; i < 3; ++i) {
    std::optional<std::string> line = watch.ReadLine(std::chrono::seconds(60));
    ASSERT_TRUE(line.has_value())
        << "no tip line; stderr: " << ReadFile(dir_->Sub("watch.err"));
    Json j = Json::parse(*line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << *line;
    tips.push_back(j);
  }
  // The first line is the current tip; each later one is a new tip.
  for (size_t i = 1; i < tips.size(); ++i) {
    EXPECT_NE(tips[i]["hash"], tips[i - 1]["hash"]);
    if (tips[i]["reorg_depth"] == 0) {
      EXPECT_EQ(tips[i]["previous_tip_hash"], tips[i - 1]["hash"]);
      EXPECT_EQ(tips[i]["height"], tips[i - 1]["height"].get<uint64_t>() + 1);
    }
  }
  watch.Kill(SIGINT);
  EXPECT_EQ(watch.Wait(std::chrono::seconds(20)), 0)
      << ReadFile(dir_->Sub("watch.err"));

  // Human output: one line per tip starting with its height.
  ChildProcess human(Bin("pbcli"), {"--node", mining_->address, "watch"},
                     dir_->Sub("watch2.err"));
  std::optional<std::string> line = human.ReadLine(std::chrono::seconds(60));
  ASSERT_TRUE(line.has_value());
  EXPECT_NE(line->find("  "), std::string::npos) << *line;
  human.Kill(SIGTERM);
  EXPECT_EQ(human.Wait(std::chrono::seconds(20)), 0);
}

TEST_F(PbcliTest, HelpAndUsageErrors) {
  Result h = Raw({"--help"});
  ASSERT_EQ(h.code, 0) << h.Show();
  EXPECT_NE(h.out.find("Exit codes"), std::string::npos);
  for (const char* cmd :
       {"keygen", "address", "balance", "history", "send", "put", "get",
        "block", "chain", "tx", "mempool", "peers", "tips", "info", "watch"}) {
    EXPECT_NE(h.out.find(std::string("  ") + cmd), std::string::npos) << cmd;
    Result c = Raw({"help", cmd});
    EXPECT_EQ(c.code, 0) << cmd;
    EXPECT_NE(c.out.find("Example: pbcli " + std::string(cmd)),
              std::string::npos)
        << c.Show();
    Result c2 = Raw({cmd, "--help"});
    EXPECT_EQ(c2.out, c.out) << cmd;
  }
  EXPECT_EQ(Raw({"help", "nope"}).code, 2);
  EXPECT_EQ(Raw({"nope"}).code, 2);
  EXPECT_EQ(Raw({}).code, 2);
  Result opt = Raw({"info", "--bogus"});
  EXPECT_EQ(opt.code, 2) << opt.Show();
  EXPECT_NE(opt.err.find("--bogus"), std::string::npos);
  Result misplaced = Cli({"info", "--fee", "3"});
  EXPECT_EQ(misplaced.code, 2) << misplaced.Show();
  Result args = Cli({"send", bob_});
  EXPECT_EQ(args.code, 2) << args.Show();
}

TEST_F(PbcliTest, OptionsBeforeOrAfterTheCommand) {
  Result after = Raw({"info", "--json", "--node", mining_->address});
  ASSERT_EQ(after.code, 0) << after.Show();
  EXPECT_EQ(after.OutJson()["chain_id"], "pbchain-clitest");

  // A write with every option before the command: the fee and --no-wait
  // apply (accepted, exit 0), and the transaction carries fee 3. To a new
  // address, so that no other test sees a balance change.
  Result carol = Raw({"keygen", "--wallet", dir_->Sub("carol.json")});
  ASSERT_EQ(carol.code, 0) << carol.Show();
  const std::string carol_address(
      absl::StripTrailingAsciiWhitespace(carol.out));
  Result send =
      Raw({"--json", "--fee", "3", "--no-wait", "--wallet", alice_wallet_,
           "--node", mining_->address, "send", carol_address, "11"});
  ASSERT_EQ(send.code, 0) << send.Show();
  EXPECT_EQ(send.OutJson()["outcome"], "accepted");
  const std::string txid = send.OutJson()["txid"];
  Result tx = Raw({"tx", txid, "--node", mining_->address, "--json"});
  ASSERT_EQ(tx.code, 0) << tx.Show();
  EXPECT_EQ(tx.OutJson()["tx"]["fee"], 3);
  EXPECT_EQ(tx.OutJson()["tx"]["amount"], 11);

  // Given twice, before and after the command: the last one counts.
  Result twice = Raw({"--to", "0", "chain", "--node", mining_->address,
                      "--from", "0", "--to", "2", "--json"});
  ASSERT_EQ(twice.code, 0) << twice.Show();
  EXPECT_EQ(twice.OutLines().size(), 3u) << twice.Show();

  // A command option before a command that does not take it: exit 2.
  Result misplaced = Raw({"--fee", "3", "--node", mining_->address, "info"});
  EXPECT_EQ(misplaced.code, 2) << misplaced.Show();
  EXPECT_EQ(misplaced.err,
            "pbcli: info does not take --fee (see pbcli help info)\n");
  EXPECT_EQ(misplaced.out, "");
}

// "--" ends the options: a payload that starts with '-'.
TEST_F(PbcliTest, DoubleDashEndsTheOptions) {
  const std::string key = "dash-" + std::to_string(getpid());
  Result p = Cli({"put", "clitest", key, "--json", "--", "-starts-with-dash"});
  ASSERT_EQ(p.code, 0) << p.Show();
  EXPECT_EQ(p.OutJson()["outcome"], "confirmed");
  Result g = Cli({"get", "--", "clitest", key});
  ASSERT_EQ(g.code, 0) << g.Show();
  EXPECT_TRUE(absl::StartsWith(g.out, "-starts-with-dash\n")) << g.Show();
  // Without "--", a word starting with '-' is an option: unknown here.
  Result bad = Cli({"put", "clitest", key, "-starts-with-dash"});
  EXPECT_EQ(bad.code, 2) << bad.Show();
  EXPECT_TRUE(absl::StartsWith(bad.err, "pbcli: unknown option -s"))
      << bad.Show();
}

TEST_F(PbcliTest, CommandHelpAndVersion) {
  // COMMAND --help wherever --help is, and no node or wallet is needed.
  Result help = Raw({"help", "send"});
  ASSERT_EQ(help.code, 0) << help.Show();
  EXPECT_TRUE(absl::StartsWith(help.out, "pbcli send TO AMOUNT")) << help.out;
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {"send", "--help"},
           {"send", "-h"},
           {"--help", "send"},
           {"send", bob_, "--help"},
           {"--node", "nohostport", "send", "--help"}}) {
    Result r = Raw(args);
    EXPECT_EQ(r.code, 0) << r.Show();
    EXPECT_EQ(r.out, help.out) << args[0];
    EXPECT_EQ(r.err, "");
  }
  Result usage = Raw({"help"});
  ASSERT_EQ(usage.code, 0) << usage.Show();
  EXPECT_EQ(Raw({"-h"}).out, usage.out);
  EXPECT_NE(usage.out.find("pbcli COMMAND --help"), std::string::npos);

  const std::string version = std::string("pbcli ") + pbchain::kVersion + "\n";
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"--version"},
                                             {"info", "--version"}}) {
    Result r = Raw(args);
    EXPECT_EQ(r.code, 0) << r.Show();
    EXPECT_EQ(r.out, version);
  }
}

TEST_F(PbcliTest, BadOptionsAreOneLineAndExitTwo) {
  struct Case {
    std::vector<std::string> args;
    std::string err;
  };
  for (const Case& c : std::vector<Case>{
           {{"info", "--bogus"},
            "pbcli: unknown option --bogus (see pbcli help info)\n"},
           {{"--bogus", "info"},
            "pbcli: unknown option --bogus (see pbcli help info)\n"},
           {{"--bogus"}, "pbcli: unknown option --bogus (see pbcli --help)\n"},
           {{"nope"}, "pbcli: unknown command 'nope' (see pbcli --help)\n"},
           {{"help", "nope"}, "pbcli: no command 'nope' (see pbcli --help)\n"},
           {{"info", "extra"},
            "pbcli: info takes 0 arguments, got 1 (see pbcli help info)\n"},
           {{"info", "--json=yes"}, ""},
           {{"info", "--node"},
            "pbcli: --node needs a value (see pbcli help info)\n"},
           {{"--timeout"},
            "pbcli: --timeout needs a value (see pbcli --help)\n"},
           {{"send", bob_, "5", "--no-wait=2"}, ""},
       }) {
    Result r = Raw(c.args);
    EXPECT_EQ(r.code, 2) << c.args[0] << ": " << r.Show();
    EXPECT_EQ(r.out, "") << r.Show();
    if (!c.err.empty()) {
      EXPECT_EQ(r.err, c.err);
    } else {
      EXPECT_TRUE(absl::StartsWith(r.err, "pbcli: ")) << r.Show();
      EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.Show();
    }
  }
}

TEST_F(PbcliTest, OptionsBeatTheEnvironment) {
  const std::string dead = "127.0.0.1:" + std::to_string(DeadPort());
  setenv("PBCHAIN_WALLET", bob_wallet_.c_str(), 1);
  setenv("PBCHAIN_NODE", dead.c_str(), 1);
  Result a = Raw({"address", "--wallet", alice_wallet_});
  Result b = Raw({"balance", "--json", "--node", mining_->address});
  Result env = Raw({"balance", "--json"});
  unsetenv("PBCHAIN_WALLET");
  unsetenv("PBCHAIN_NODE");
  ASSERT_EQ(a.code, 0) << a.Show();
  EXPECT_EQ(a.out, alice_ + "\n");
  ASSERT_EQ(b.code, 0) << b.Show();
  EXPECT_EQ(b.OutJson()["address"], bob_);  // the wallet from the environment
  EXPECT_EQ(env.code, 1) << env.Show();     // the dead node from it
  EXPECT_TRUE(absl::StartsWith(env.err, "pbcli: cannot reach node at " + dead))
      << env.Show();
}

// A node whose chain (built in-process with the test kernel's easy proof of
// work, then served by a real pbnode) is longer than one GetBlocks stream
// (kMaxBlocksPerStream = 1,000 blocks).
class PbcliLongChainTest : public ::testing::Test {
 protected:
  static constexpr uint32_t kHeight = 1049;  // 1,050 blocks with genesis

  static void SetUpTestSuite() {
    dir_ = new TempDir("pbcli_long_test");
    const std::string d = dir_->path().string();
    const ChainParams params = ::pbchain::testing::TestParams();
    genesis_ = d + "/genesis.json";
    std::ofstream(genesis_) << params.ToJson();
    {
      absl::StatusOr<std::unique_ptr<RocksChainStore>> store =
          RocksChainStore::Open(d + "/long");
      ASSERT_TRUE(store.ok()) << store.status();
      absl::StatusOr<std::unique_ptr<ChainState>> chain =
          ChainState::Create(params, store->get());
      ASSERT_TRUE(chain.ok()) << chain.status();
      for (uint32_t h = 1; h <= kHeight; ++h) {
        const TipInfo tip = (*chain)->Tip();
        absl::StatusOr<AcceptResult> r = (*chain)->AcceptBlock(
            ::pbchain::testing::MakeBlock(params, tip.header, tip.height, {}));
        ASSERT_TRUE(r.ok()) << r.status();
        ASSERT_EQ(r->status, AcceptStatus::kActive) << r->validation.ToString();
      }
    }
    std::optional<Node> node = StartNode(d, "long", genesis_, {});
    ASSERT_TRUE(node.has_value());
    node_ = new Node(std::move(*node));
  }

  static void TearDownTestSuite() {
    if (node_ != nullptr) {
      StopNode(*node_);
      delete node_;
      node_ = nullptr;
    }
    delete dir_;
    dir_ = nullptr;
  }

  void SetUp() override {
    if (node_ == nullptr) GTEST_SKIP() << "no node";
  }

  static Result Cli(const std::vector<std::string>& args) {
    std::vector<std::string> all = {"--node", node_->address};
    all.insert(all.end(), args.begin(), args.end());
    return RunProcess(Bin("pbcli"), all, dir_->path().string());
  }

  // Checks that `r` printed exactly the blocks from..to, one line each.
  static void ExpectHeights(const Result& r, uint32_t from, uint32_t to) {
    ASSERT_EQ(r.code, 0) << r.err;
    std::vector<std::string> lines = r.OutLines();
    ASSERT_EQ(lines.size(), to - from + 1);
    for (uint32_t h = from; h <= to; ++h) {
      ASSERT_TRUE(absl::StartsWith(lines[h - from], absl::StrCat(h, "  ")))
          << "line " << h - from << ": " << lines[h - from];
    }
  }

  static TempDir* dir_;
  static Node* node_;
  static std::string genesis_;
};

TempDir* PbcliLongChainTest::dir_ = nullptr;
Node* PbcliLongChainTest::node_ = nullptr;
std::string PbcliLongChainTest::genesis_;

TEST_F(PbcliLongChainTest, ChainRangeLongerThanOneStreamIsComplete) {
  // Past the tip: every block up to it.
  ExpectHeights(Cli({"chain", "--from", "0", "--to", "4999"}), 0, kHeight);
  // Within the chain, across the 1,000-block cut.
  ExpectHeights(Cli({"chain", "--from", "3", "--to", "1020"}), 3, 1020);
  // No --to: up to the tip.
  ExpectHeights(Cli({"chain", "--from", "10"}), 10, kHeight);
  Result j = Cli({"chain", "--from", "0", "--to", "4999", "--json"});
  ASSERT_EQ(j.code, 0) << j.err;
  std::vector<std::string> lines = j.OutLines();
  ASSERT_EQ(lines.size(), kHeight + 1u);
  Json last = Json::parse(lines.back(), nullptr, false);
  ASSERT_FALSE(last.is_discarded()) << lines.back();
  EXPECT_EQ(last["height"], kHeight);
}

}  // namespace
}  // namespace pbchain::client
