// `pbcli admin ...` end to end against a real pbnode: every subcommand's
// text and JSON output, and bad input (wrong cookie, no cookie, bad
// arguments) as one line on stderr and a non-zero exit.
#include <signal.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "chain/address.h"
#include "gtest/gtest.h"
#include "tests/admin/admin_harness.h"
#include "tests/chain/test_chain.h"
#include "tests/client/client_harness.h"

namespace pbchain::testing {
namespace {

using client::testing::Bin;
using client::testing::Json;
using client::testing::Result;
using client::testing::RunProcess;

class PbcliAdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string genesis = WriteGenesis(dir_, "pbcli-admin");
    node_ = StartAdminNode(
        dir_.Sub("data"), genesis, dir_.Sub("node.log"),
        {"--miner_address=" +
             AddressFromPublicKey(TestKey(0).public_key()).ToText(),
         "--backup_dir=" + dir_.Sub("backups")});
    ASSERT_NE(node_.admin, nullptr);
  }

  // pbcli admin ARGS --datadir DATADIR.
  Result Admin(std::vector<std::string> args) {
    args.insert(args.begin(), "admin");
    args.push_back("--datadir");
    args.push_back(node_.datadir);
    return RunProcess(Bin("pbcli"), args, dir_.path().string());
  }

  TempDir dir_{"pbcli_admin"};
  AdminNode node_;
};

TEST_F(PbcliAdminTest, SubcommandsWork) {
  Result r = Admin({"bans"});
  ASSERT_EQ(r.code, 0) << r.Show();
  EXPECT_EQ(r.out, "0 bans\n");

  const int64_t now = absl::ToUnixSeconds(absl::Now());
  r = Admin(
      {"ban", "10.9.8.7", "--duration", "1h", "--reason", "spam", "--json"});
  ASSERT_EQ(r.code, 0) << r.Show();
  Json j = r.OutJson();
  EXPECT_EQ(j["target"], "10.9.8.7");
  EXPECT_GE(j["until"].get<int64_t>(), now + 3600);
  r = Admin({"bans", "--json"});
  ASSERT_EQ(r.code, 0) << r.Show();
  j = r.OutJson();
  ASSERT_EQ(j["bans"].size(), 1u) << r.out;
  EXPECT_EQ(j["bans"][0]["target"], "10.9.8.7");
  EXPECT_EQ(j["bans"][0]["reason"], "spam");
  r = Admin({"unban", "10.9.8.7"});
  ASSERT_EQ(r.code, 0) << r.Show();
  EXPECT_EQ(r.out, "unbanned 10.9.8.7\n");
  r = Admin({"unban", "10.9.8.7"});  // not banned any more
  EXPECT_EQ(r.code, 1) << r.Show();
  EXPECT_EQ(r.OutLines().size(), 0u);

  r = Admin({"mining", "on", "--threads", "1", "--json"});
  ASSERT_EQ(r.code, 0) << r.Show();
  EXPECT_EQ(r.OutJson()["enabled"], true);
  EXPECT_TRUE(Eventually([&] { return node_.Info().height() >= 1; }));
  r = Admin({"mining", "off"});
  ASSERT_EQ(r.code, 0) << r.Show();
  EXPECT_EQ(r.out, "mining off (1 thread(s))\n");

  r = Admin({"backup", "--json"});
  ASSERT_EQ(r.code, 0) << r.Show();
  EXPECT_EQ(r.OutJson()["backup_dir"], dir_.Sub("backups"));

  r = Admin({"log-level", "--verbosity", "1", "--json"});
  ASSERT_EQ(r.code, 0) << r.Show();
  j = r.OutJson();
  EXPECT_EQ(j["previous_verbosity"], 0);
  EXPECT_EQ(j["verbosity"], 1);

  r = Admin({"add-peer", "127.0.0.1:1"});
  ASSERT_EQ(r.code, 0) << r.Show();
  r = Admin({"disconnect", "127.0.0.1:1"});
  ASSERT_EQ(r.code, 0) << r.Show();
  EXPECT_EQ(r.out,
            "disconnected 127.0.0.1:1: 0 session(s) closed, 1 address(es) "
            "forgotten\n");

  // --admin and --cookie instead of the datadir's files.
  r = RunProcess(Bin("pbcli"),
                 {"admin", "bans", "--admin", node_.admin_address, "--cookie",
                  node_.cookie_path()},
                 dir_.path().string());
  EXPECT_EQ(r.code, 0) << r.Show();

  r = Admin({"stop"});
  ASSERT_EQ(r.code, 0) << r.Show();
  EXPECT_EQ(r.out, "the node is stopping\n");
  EXPECT_EQ(node_.node.process->Wait(), 0);
  EXPECT_FALSE(std::filesystem::exists(node_.cookie_path()));
}

TEST_F(PbcliAdminTest, BadInputIsOneLineAndANonZeroExit) {
  const std::string wrong = dir_.Sub("wrong-cookie");
  std::ofstream(wrong) << std::string(64, 'f');
  Result r = RunProcess(
      Bin("pbcli"),
      {"admin", "bans", "--admin", node_.admin_address, "--cookie", wrong},
      dir_.path().string());
  EXPECT_EQ(r.code, 1) << r.Show();
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(absl::StartsWith(r.err, "pbcli: admin API at ")) << r.err;
  EXPECT_TRUE(absl::StrContains(r.err, "wrong admin token")) << r.err;

  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Case> cases = {
      {{"admin", "bans"}, "--datadir"},  // no cookie at all
      {{"admin", "bans", "--cookie", dir_.Sub("missing")}, "--cookie"},
      {{"admin", "bans", "--datadir", dir_.Sub("nothing-here")}, "--datadir"},
      {{"admin"}, "subcommand"},
      {{"admin", "frob", "--datadir", node_.datadir}, "frob"},
      {{"admin", "ban", "--datadir", node_.datadir}, "argument"},
      {{"admin", "mining", "maybe", "--datadir", node_.datadir}, "on or off"},
      {{"admin", "mining", "on", "--threads", "99", "--datadir", node_.datadir},
       "--threads"},
      {{"admin", "bans", "--threads", "1", "--datadir", node_.datadir},
       "--threads"},
      {{"admin", "ban", "x", "--duration", "soon", "--datadir", node_.datadir},
       "--duration"},
      {{"admin", "add-peer", "no-port", "--datadir", node_.datadir}, "address"},
      {{"admin", "ban", "127.0.0.1", "--datadir", node_.datadir}, "loopback"},
  };
  for (const Case& c : cases) {
    r = RunProcess(Bin("pbcli"), c.args, dir_.path().string());
    EXPECT_EQ(r.code, 2) << r.Show();
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.Show();
    EXPECT_TRUE(absl::StrContains(r.err, c.says)) << c.says << "\n" << r.Show();
  }
  // The node is still up.
  EXPECT_EQ(node_.Info().height(), 0u);
}

}  // namespace
}  // namespace pbchain::testing
