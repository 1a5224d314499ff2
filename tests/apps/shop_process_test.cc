// pbshop end to end against real pbnode processes: a genesis allocating
// 1,000,000 coins to the owner's key, node A mining and node B (not mining)
// connected to A by --peer. The real pbshop binary is run for every step,
// from the scriptable commands and through stdin (interactive mode).
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "client/apps/shop.h"
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

class ShopProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    net_ = std::make_unique<TestNet>("apps_shop", nettest::GenesisConfig{});
    ASSERT_TRUE(net_->ok());
    dir_ = net_->Sub("work");
    std::filesystem::create_directories(dir_);
    // The owner's wallet holds genesis-funded key 0.
    owner_wallet_ = dir_ + "/owner.json";
    ASSERT_TRUE(client::SaveNewWallet(owner_wallet_, net_->funded_key(0)).ok());
    owner_ = AddressFromPublicKey(net_->funded_key(0).public_key());
    // A second funded key that is not the owner.
    other_wallet_ = dir_ + "/other.json";
    ASSERT_TRUE(client::SaveNewWallet(other_wallet_, net_->funded_key(1)).ok());

    NodeConfig a_config;
    a_config.mine = true;
    a_ = net_->StartNode("a", a_config);
    ASSERT_NE(a_, nullptr);
    NodeConfig b_config;
    b_config.peers = {a_->address()};
    b_ = net_->StartNode("b", b_config);
    ASSERT_NE(b_, nullptr);
  }

  // pbshop on node `node` (default A) with `wallet`, then `args`.
  RunResult Shop(const std::string& wallet, std::vector<std::string> args,
                 NodeProcess* node = nullptr, const std::string& input = "") {
    std::vector<std::string> all = {"--node", (node ? node : a_)->address(),
                                    "--wallet", wallet};
    all.insert(all.end(), args.begin(), args.end());
    return RunApp(AppBin("pbshop"), all, dir_, input);
  }

  uint64_t MempoolCount(NodeProcess* node) {
    v1::GetMempoolRequest req;
    v1::GetMempoolResponse resp;
    grpc::Status s = node->stub().GetMempool(nettest::Ctx().get(), req, &resp);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return resp.total_count();
  }

  std::unique_ptr<TestNet> net_;
  std::string dir_;
  std::string owner_wallet_, other_wallet_;
  Address owner_;
  NodeProcess* a_ = nullptr;
  NodeProcess* b_ = nullptr;
};

TEST_F(ShopProcessTest, OpenRegisterBuyInventoryAcrossNodes) {
  // Genesis funded the owner; the catalogue shows what it can afford.
  RunResult cat = Shop(owner_wallet_, {"catalogue", "--json"});
  ASSERT_EQ(cat.code, 0) << cat.Show();
  EXPECT_EQ(cat.Json()["available"], 1000000u);
  EXPECT_EQ(cat.Json()["items"].size(), 12u);

  // Before `open`, the shop does not exist.
  RunResult none = Shop(owner_wallet_, {"shoppers"});
  EXPECT_EQ(none.code, 1) << none.Show();
  EXPECT_NE(none.err.find("is not open on this chain"), std::string::npos);

  // Open; opening again is a no-op for the owner and refused for others.
  RunResult open = Shop(owner_wallet_, {"open", "--json"});
  ASSERT_EQ(open.code, 0) << open.Show();
  EXPECT_EQ(open.Json()["owner"], owner_.ToText());
  EXPECT_EQ(open.Json()["already_open"], false);
  RunResult again = Shop(owner_wallet_, {"open", "--json"});
  ASSERT_EQ(again.code, 0) << again.Show();
  EXPECT_EQ(again.Json()["already_open"], true);
  RunResult steal = Shop(other_wallet_, {"open"});
  EXPECT_EQ(steal.code, 1) << steal.Show();
  EXPECT_NE(steal.err.find("already owned by " + owner_.ToText()),
            std::string::npos)
      << steal.Show();

  // Register alice: her wallet file is created and she gets 1000 coins.
  const std::string alice_wallet = dir_ + "/alice.json";
  RunResult reg = Shop(owner_wallet_, {"register", "alice", "--shopper-wallet",
                                       alice_wallet, "--json"});
  ASSERT_EQ(reg.code, 0) << reg.Show();
  EXPECT_EQ(reg.Json()["wallet_created"], true);
  EXPECT_EQ(reg.Json()["grant"], 1000u);
  absl::StatusOr<client::Wallet> alice = client::LoadWallet(alice_wallet);
  ASSERT_TRUE(alice.ok()) << alice.status();
  EXPECT_EQ(reg.Json()["address"], alice->address.ToText());

  RunResult inv0 = Shop(alice_wallet, {"inventory", "--json"});
  ASSERT_EQ(inv0.code, 0) << inv0.Show();
  EXPECT_EQ(inv0.Json()["balance"], 1000u);
  EXPECT_EQ(inv0.Json()["name"], "alice");
  EXPECT_TRUE(inv0.Json()["items"].empty());

  // Only the owner registers shoppers.
  RunResult not_owner =
      Shop(other_wallet_,
           {"register", "mallory", "--shopper-wallet", dir_ + "/mallory.json"});
  EXPECT_EQ(not_owner.code, 1) << not_owner.Show();
  EXPECT_NE(not_owner.err.find("only the owner"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/mallory.json"));

  // Two purchases (fee 1 each): 2 x Capuchin (400), 1 x Marmoset (120).
  RunResult buy1 = Shop(alice_wallet, {"buy", "capuchin", "2", "--json"});
  ASSERT_EQ(buy1.code, 0) << buy1.Show();
  EXPECT_EQ(buy1.Json()["cost"], 400u);
  EXPECT_EQ(buy1.Json()["balance"], 1000u - 400u - 1u);
  RunResult buy2 = Shop(alice_wallet, {"buy", "Marmoset"});
  ASSERT_EQ(buy2.code, 0) << buy2.Show();
  EXPECT_NE(buy2.out.find("Bought 1 x Marmoset for 120 coins (fee 1)"),
            std::string::npos)
      << buy2.Show();
  const uint64_t expected_balance = 1000 - 400 - 1 - 120 - 1;  // 478

  RunResult inv = Shop(alice_wallet, {"inventory", "--json"});
  ASSERT_EQ(inv.code, 0) << inv.Show();
  EXPECT_EQ(inv.Json()["balance"], expected_balance);
  EXPECT_EQ(inv.Json()["items"]["capuchin"], 2u);
  EXPECT_EQ(inv.Json()["items"]["marmoset"], 1u);
  EXPECT_EQ(inv.Json()["items"].size(), 2u);
  EXPECT_EQ(inv.Json()["spent"], 520u);
  EXPECT_EQ(inv.Json()["orders"].size(), 2u);
  EXPECT_TRUE(inv.Json()["ignored"].empty());
  // Options after the command; then the node and the wallet from
  // $PBCHAIN_NODE and $PBCHAIN_WALLET.
  RunResult options_after = RunApp(AppBin("pbshop"),
                                   {"inventory", "--json", "--wallet",
                                    alice_wallet, "--node", a_->address()},
                                   dir_);
  ASSERT_EQ(options_after.code, 0) << options_after.Show();
  EXPECT_EQ(options_after.Json()["balance"], expected_balance);
  setenv("PBCHAIN_NODE", a_->address().c_str(), 1);
  setenv("PBCHAIN_WALLET", alice_wallet.c_str(), 1);
  RunResult env = RunApp(AppBin("pbshop"), {"inventory", "--json"}, dir_);
  unsetenv("PBCHAIN_NODE");
  unsetenv("PBCHAIN_WALLET");
  ASSERT_EQ(env.code, 0) << env.Show();
  EXPECT_EQ(env.Json()["address"], alice->address.ToText());
  EXPECT_EQ(env.Json()["balance"], expected_balance);

  RunResult inv_text = Shop(alice_wallet, {"inventory"});
  EXPECT_NE(inv_text.out.find("2 x Capuchin"), std::string::npos)
      << inv_text.Show();
  EXPECT_NE(inv_text.out.find("Balance: 478 coins"), std::string::npos);

  // More than she has: refused with the message, nothing submitted.
  absl::StatusOr<v1::GetAccountResponse> before = a_->Account(alice->address);
  ASSERT_TRUE(before.ok());
  RunResult poor = Shop(alice_wallet, {"buy", "mandrill", "2"});
  EXPECT_EQ(poor.code, 1) << poor.Show();
  EXPECT_NE(
      poor.err.find("Not enough coins: 2 x Mandrill cost 900, you have 478"),
      std::string::npos)
      << poor.Show();
  EXPECT_EQ(MempoolCount(a_), 0u);
  absl::StatusOr<v1::GetAccountResponse> after = a_->Account(alice->address);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->pending_nonce(), before->pending_nonce());
  EXPECT_EQ(after->account().balance(), expected_balance);

  // Registering alice again is refused (an address is funded once).
  RunResult twice = Shop(
      owner_wallet_, {"register", "alice2", "--shopper-wallet", alice_wallet});
  EXPECT_EQ(twice.code, 1) << twice.Show();
  EXPECT_NE(twice.err.find("is already registered as 'alice'"),
            std::string::npos)
      << twice.Show();
  EXPECT_EQ(MempoolCount(a_), 0u);

  // Bad input is exit 2.
  EXPECT_EQ(Shop(alice_wallet, {"buy", "gorilla"}).code, 2);
  EXPECT_EQ(Shop(alice_wallet, {"buy", "capuchin", "0"}).code, 2);
  EXPECT_EQ(Shop(alice_wallet, {"buy", "capuchin", "-1"}).code, 2);
  EXPECT_EQ(Shop(alice_wallet, {"frobnicate"}).code, 2);

  // A forged order (claims price 1, pays 1) is on the chain but not counted.
  {
    client::NodeClient node(a_->channel(), client::NodeClientOptions{});
    absl::StatusOr<v1::GetAccountResponse> acc =
        node.GetAccount(alice->address);
    ASSERT_TRUE(acc.ok());
    client::TransferRequest req;
    req.recipient = owner_;
    req.amount = 1;
    req.fee = 1;
    req.nonce = acc->pending_nonce();
    req.record = client::MakeRecord(
        "shop.monkeys.orders", OrderKey(alice->address, acc->pending_nonce()),
        R"({"item":"capuchin","qty":1,"price":1})");
    absl::StatusOr<client::WriteResult> w =
        client::SendTransfer(node, alice->key, req, client::WaitOptions{});
    ASSERT_TRUE(w.ok()) << w.status();
    ASSERT_EQ(w->outcome, client::Outcome::kConfirmed) << w->reason;
  }
  RunResult forged = Shop(alice_wallet, {"inventory", "--json"});
  ASSERT_EQ(forged.code, 0) << forged.Show();
  EXPECT_EQ(forged.Json()["items"]["capuchin"], 2u);  // unchanged
  EXPECT_EQ(forged.Json()["orders"].size(), 2u);
  ASSERT_EQ(forged.Json()["ignored"].size(), 1u);
  EXPECT_NE(forged.Json()["ignored"][0].get<std::string>().find(
                "not the catalogue price"),
            std::string::npos);
  EXPECT_EQ(forged.Json()["balance"], expected_balance - 2);

  // Node B, connected by --peer, shows the same shop after sync.
  absl::StatusOr<v1::GetInfoResponse> info = a_->Info();
  ASSERT_TRUE(info.ok());
  ASSERT_TRUE(
      nettest::WaitForSameTip({a_, b_}, info->height(), absl::Seconds(60)));
  RunResult inv_b = Shop(alice_wallet, {"inventory", "--json"}, b_);
  ASSERT_EQ(inv_b.code, 0) << inv_b.Show();
  EXPECT_EQ(inv_b.Json()["balance"], forged.Json()["balance"]);
  EXPECT_EQ(inv_b.Json()["items"], forged.Json()["items"]);
  EXPECT_EQ(inv_b.Json()["orders"], forged.Json()["orders"]);
  EXPECT_EQ(inv_b.Json()["name"], "alice");
  RunResult shoppers_b = Shop(owner_wallet_, {"shoppers", "--json"}, b_);
  ASSERT_EQ(shoppers_b.code, 0) << shoppers_b.Show();
  ASSERT_EQ(shoppers_b.Json()["shoppers"].size(), 1u);
  EXPECT_EQ(shoppers_b.Json()["shoppers"][0]["name"], "alice");
  EXPECT_EQ(shoppers_b.Json()["shoppers"][0]["address"],
            alice->address.ToText());
}

// Anyone may write records in the orders namespace, for free. Under the
// keys a shopper's next orders would have had ("<address>/<nonce>", when
// orders were keyed), such records blocked every purchase for good (keyed
// records are write-once); orders are keyless now, so a squatter blocks
// nothing, and its records do not count for the shopper.
TEST_F(ShopProcessTest, SquattedOrderKeysDoNotBlockAPurchase) {
  ASSERT_EQ(Shop(owner_wallet_, {"open"}).code, 0);
  const std::string alice_wallet = dir_ + "/alice.json";
  RunResult reg = Shop(owner_wallet_,
                       {"register", "alice", "--shopper-wallet", alice_wallet});
  ASSERT_EQ(reg.code, 0) << reg.Show();
  absl::StatusOr<client::Wallet> alice = client::LoadWallet(alice_wallet);
  ASSERT_TRUE(alice.ok()) << alice.status();

  // Funded key 1 squats alice's next nonces' keys with zero-fee records.
  client::NodeClient node(a_->channel(), client::NodeClientOptions{});
  absl::StatusOr<v1::GetAccountResponse> acc = node.GetAccount(alice->address);
  ASSERT_TRUE(acc.ok()) << acc.status();
  for (uint64_t n = acc->pending_nonce(); n < acc->pending_nonce() + 3; ++n) {
    client::TransferRequest squat;
    squat.recipient = AddressFromPublicKey(net_->funded_key(1).public_key());
    squat.record =
        client::MakeRecord("shop.monkeys.orders", OrderKey(alice->address, n),
                           R"({"item":"capuchin","qty":1,"price":200})");
    absl::StatusOr<client::WriteResult> w = client::SendTransfer(
        node, net_->funded_key(1), squat, client::WaitOptions{});
    ASSERT_TRUE(w.ok()) << w.status();
    ASSERT_EQ(w->outcome, client::Outcome::kConfirmed) << w->reason;
  }

  RunResult buy = Shop(alice_wallet, {"buy", "capuchin", "--json"});
  ASSERT_EQ(buy.code, 0) << buy.Show();
  EXPECT_EQ(buy.Json()["cost"], 200u);
  RunResult inv = Shop(alice_wallet, {"inventory", "--json"});
  ASSERT_EQ(inv.code, 0) << inv.Show();
  EXPECT_EQ(inv.Json()["items"]["capuchin"], 1u);
  EXPECT_EQ(inv.Json()["orders"].size(), 1u);
  EXPECT_EQ(inv.Json()["spent"], 200u);
  EXPECT_TRUE(inv.Json()["ignored"].empty()) << inv.Show();

  // The order on the chain is keyless, carried by the purchase itself.
  absl::StatusOr<v1::GetRecordsResponse> orders =
      node.GetRecords("shop.monkeys.orders", std::nullopt, 100);
  ASSERT_TRUE(orders.ok()) << orders.status();
  ASSERT_EQ(orders->records_size(), 4);  // 3 squats + the order
  int keyless = 0;
  for (const v1::RecordEntry& e : orders->records()) {
    if (e.record().has_key()) continue;
    ++keyless;
    EXPECT_EQ(nettest::DisplayHex(e.txid()), buy.Json()["txid"]);
    EXPECT_EQ(e.sender_address(), alice->address.ToText());
  }
  EXPECT_EQ(keyless, 1);
}

TEST_F(ShopProcessTest, InteractiveThroughStdin) {
  ASSERT_EQ(Shop(owner_wallet_, {"open"}).code, 0);
  // The owner registers bob interactively (menu 5), then quits.
  RunResult owner_session =
      Shop(owner_wallet_, {}, nullptr, "5\nbob\nbob.json\n4\nq\n");
  ASSERT_EQ(owner_session.code, 0) << owner_session.Show();
  EXPECT_NE(owner_session.out.find("Choose an option (1-6, q): 5\n"),
            std::string::npos)
      << owner_session.Show();
  EXPECT_NE(owner_session.out.find("Registered bob ("), std::string::npos);
  EXPECT_NE(owner_session.out.find("Total: 1 shopper"), std::string::npos);
  const std::string bob_wallet = dir_ + "/bob.json";
  ASSERT_TRUE(std::filesystem::exists(bob_wallet));

  // Bob: catalogue, buy 3 x Macaque (540 + fee 1), try 2 x Snub-nosed
  // (1000: refused), inventory, then end of input (no 'q').
  RunResult bob =
      Shop(bob_wallet, {}, nullptr, "1\n2\nmacaque\n3\n2\n12\n2\n3\n\n");
  EXPECT_EQ(bob.code, 1) << bob.Show();  // the last failed action: refused
  EXPECT_EQ(bob.Count("Choose an option (1-6, q): "), 5) << bob.Show();
  EXPECT_NE(bob.out.find("Bought 3 x Macaque for 540 coins (fee 1)"),
            std::string::npos)
      << bob.Show();
  EXPECT_NE(
      bob.out.find("Not enough coins: 2 x Golden snub-nosed monkey cost 1000, "
                   "you have 459"),
      std::string::npos)
      << bob.Show();
  EXPECT_NE(bob.out.find("3 x Macaque"), std::string::npos);
  EXPECT_NE(bob.out.find("Balance: 459 coins"), std::string::npos);

  absl::StatusOr<client::Wallet> w = client::LoadWallet(bob_wallet);
  ASSERT_TRUE(w.ok());
  absl::StatusOr<v1::GetAccountResponse> acc = a_->Account(w->address);
  ASSERT_TRUE(acc.ok());
  EXPECT_EQ(acc->account().balance(), 1000u - 540u - 1u);
  EXPECT_EQ(acc->pending_nonce(),
            1u);  // one purchase, the refusal sent nothing
}

// The command line alone (no node needed): help, version, bad options.
TEST(ShopCommandLineTest, HelpVersionAndBadOptions) {
  ::pbchain::testing::TempDir dir("apps_shop_cli");
  const std::string d = dir.path().string();
  RunResult help = RunApp(AppBin("pbshop"), {"help", "buy"}, d);
  ASSERT_EQ(help.code, 0) << help.Show();
  EXPECT_TRUE(absl::StartsWith(help.out, "pbshop [OPTIONS] buy ITEM [QTY]\n"))
      << help.Show();
  EXPECT_NE(help.out.find("Example: pbshop"), std::string::npos);
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {"buy", "--help"}, {"--help", "buy"}, {"buy", "capuchin", "-h"}}) {
    RunResult r = RunApp(AppBin("pbshop"), args, d);
    EXPECT_EQ(r.code, 0) << r.Show();
    EXPECT_EQ(r.out, help.out) << args[0];
  }
  // Every command has its own text.
  for (const char* command : {"interactive", "open", "catalogue", "register",
                              "buy", "inventory", "shoppers", "info"}) {
    RunResult r = RunApp(AppBin("pbshop"), {command, "--help"}, d);
    EXPECT_EQ(r.code, 0) << r.Show();
    EXPECT_TRUE(absl::StartsWith(r.out, "pbshop [OPTIONS] ")) << r.Show();
    EXPECT_NE(r.out.find(command), std::string::npos) << r.Show();
  }
  RunResult usage = RunApp(AppBin("pbshop"), {"--help"}, d);
  EXPECT_EQ(usage.code, 0);
  EXPECT_EQ(RunApp(AppBin("pbshop"), {"help"}, d).out, usage.out);

  RunResult version = RunApp(AppBin("pbshop"), {"--version"}, d);
  EXPECT_EQ(version.code, 0) << version.Show();
  EXPECT_EQ(version.out, std::string("pbshop ") + kVersion + "\n");

  struct Case {
    std::vector<std::string> args;
    std::string err;
  };
  for (const Case& c : std::vector<Case>{
           {{"buy", "capuchin", "--bogus"},
            "pbshop: unknown option --bogus (see pbshop help buy)\n"},
           {{"--bogus"},
            "pbshop: unknown option --bogus (see pbshop --help)\n"},
           {{"frobnicate"},
            "pbshop: unknown command 'frobnicate' (see pbshop --help)\n"},
           {{"buy"},
            "pbshop: buy takes 1 to 2 arguments, got 0 (see pbshop "
            "help buy)\n"},
           {{"info", "--shopper-wallet", "x.json"},
            "pbshop: --shopper-wallet and --shopper-address are for "
            "register\n"},
           {{"info", "--node"}, ""},
       }) {
    RunResult r = RunApp(AppBin("pbshop"), c.args, d);
    EXPECT_EQ(r.code, 2) << r.Show();
    EXPECT_EQ(r.out, "") << r.Show();
    if (!c.err.empty()) {
      EXPECT_EQ(r.err, c.err);
    } else {
      EXPECT_TRUE(absl::StartsWith(r.err, "pbshop: ")) << r.Show();
      EXPECT_NE(r.err.find("--node"), std::string::npos) << r.Show();
    }
  }
}

}  // namespace
}  // namespace pbchain::apps
