#include "common/flags.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"

// Flags of this test binary, for --config files (ConfigFileArgs looks keys
// up in the absl flag registry).
ABSL_FLAG(std::string, t_listen, "", "test: a string flag");
ABSL_FLAG(int, t_threads, 1, "test: an integer flag");
ABSL_FLAG(bool, t_mine, false, "test: a boolean flag");
ABSL_FLAG(absl::Duration, t_ban, absl::Minutes(1), "test: a duration flag");
ABSL_FLAG(double, t_rate, 1.0, "test: a floating-point flag");
ABSL_FLAG(std::vector<std::string>, t_peer, {}, "test: a list flag");

namespace pbchain {
namespace {

class NormalizeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("flags_test_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }
  std::filesystem::path dir_;
};

using Args = std::vector<std::string>;

TEST_F(NormalizeTest, DashesBecomeUnderscoresInNamesOnly) {
  absl::StatusOr<Args> out = NormalizeCommandLine(
      {"prog", "--mining-threads=2", "--miner-address", "pb-x-y", "pos-arg"},
      {});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, (Args{"prog", "--mining_threads=2", "--miner_address",
                        "pb-x-y", "pos-arg"}));
}

TEST_F(NormalizeTest, RepeatedListFlagsAreJoined) {
  absl::StatusOr<Args> out = NormalizeCommandLine(
      {"prog", "--peer", "a:1", "--peer=b:2", "--x=1", "--peer=c:3,d:4"},
      {"peer"});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out, (Args{"prog", "--x=1", "--peer=a:1,b:2,c:3,d:4"}));
}

TEST_F(NormalizeTest, FlagfileTakesTheCommandLineSpellings) {
  const std::string inner = Write("inner.flags", "--peer=c:3\n");
  const std::string file =
      Write("node.flags",
            "# a comment\n\n  --max-outbound=4  \n--peer=a:1\n--note=a b c\n"
            "--flagfile=" +
                inner + "\n");
  absl::StatusOr<Args> out = NormalizeCommandLine(
      {"prog", "--peer=z:9", "--flagfile", file, "--max-outbound=5"}, {"peer"});
  ASSERT_TRUE(out.ok()) << out.status();
  // In order: later flags override earlier ones, as on the command line;
  // a value may hold spaces.
  EXPECT_EQ(*out, (Args{"prog", "--max_outbound=4", "--note=a b c",
                        "--max_outbound=5", "--peer=z:9,a:1,c:3"}));
}

TEST_F(NormalizeTest, BadFlagfilesAreRefusedWithTheReason) {
  absl::StatusOr<Args> missing =
      NormalizeCommandLine({"prog", "--flagfile=/nonexistent/x.flags"}, {});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/nonexistent/x.flags"),
            std::string::npos);

  const std::string self = (dir_ / "self.flags").string();
  Write("self.flags", "--flagfile=" + self + "\n");
  absl::StatusOr<Args> loop =
      NormalizeCommandLine({"prog", "--flagfile", self}, {});
  ASSERT_FALSE(loop.ok());
  EXPECT_NE(loop.status().message().find("nested"), std::string::npos);

  const std::string junk = Write("junk.flags", "--ok=1\nnot-a-flag\n");
  absl::StatusOr<Args> bad =
      NormalizeCommandLine({"prog", "--flagfile", junk}, {});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("not-a-flag"), std::string::npos);

  // "--peer b:2" on one line would be one argument: refused with the
  // spelling to use.
  const std::string spaced = Write("spaced.flags", "--peer b:2\n");
  absl::StatusOr<Args> space =
      NormalizeCommandLine({"prog", "--flagfile", spaced}, {"peer"});
  ASSERT_FALSE(space.ok());
  EXPECT_NE(space.status().message().find("--peer=b:2"), std::string::npos)
      << space.status();

  EXPECT_FALSE(NormalizeCommandLine({"prog", "--flagfile"}, {}).ok());
  const std::string big =
      Write("big.flags", std::string(kMaxFlagfileBytes + 1, '#'));
  EXPECT_FALSE(NormalizeCommandLine({"prog", "--flagfile", big}, {}).ok());
}

TEST_F(NormalizeTest, ArgumentsAfterDoubleDashAreLeftAlone) {
  absl::StatusOr<Args> out = NormalizeCommandLine(
      {"prog", "--a-b=1", "--", "--c-d", "--peer=x"}, {"peer"});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, (Args{"prog", "--a_b=1", "--", "--c-d", "--peer=x"}));
}

// The error of a config file holding `text`, or "" if it loads.
std::string ConfigError(NormalizeTest& test, const std::string& path) {
  absl::StatusOr<Args> out =
      NormalizeCommandLine({"prog", "--config", path}, {"t_peer"});
  return out.ok() ? "" : std::string(out.status().message());
}

TEST_F(NormalizeTest, ConfigEntriesGoFirstSoTheCommandLineWins) {
  const std::string file = Write("node.toml",
                                 "# a comment\n"
                                 "t-listen = \"127.0.0.1:7701\"\n"
                                 "t_threads = 3\n"
                                 "t-mine = true\n"
                                 "t_ban = \"10m\"\n"
                                 "t_rate = 2.5\n"
                                 "t_peer = [\"a:1\", \"b:2\"]\n");
  absl::StatusOr<Args> out = NormalizeCommandLine(
      {"prog", "--t-threads=4", "--config", file, "--t_mine=false"},
      {"t_peer"});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(*out,
            (Args{"prog", "--t_ban=10m", "--t_listen=127.0.0.1:7701",
                  "--t_mine=true", "--t_rate=2.5", "--t_threads=3",
                  "--t_threads=4", "--t_mine=false", "--t_peer=a:1,b:2"}));

  // A list flag on the command line replaces the file's list.
  absl::StatusOr<Args> peers = NormalizeCommandLine(
      {"prog", "--config=" + file, "--t-peer", "c:3", "--t_peer=d:4"},
      {"t_peer"});
  ASSERT_TRUE(peers.ok()) << peers.status();
  EXPECT_EQ(peers->back(), "--t_peer=c:3,d:4");

  // One string is a one-item list.
  const std::string one = Write("one.toml", "t_peer = \"e:5\"\n");
  absl::StatusOr<Args> single =
      NormalizeCommandLine({"prog", "--config", one}, {"t_peer"});
  ASSERT_TRUE(single.ok()) << single.status();
  EXPECT_EQ(*single, (Args{"prog", "--t_peer=e:5"}));
}

TEST_F(NormalizeTest, BadConfigFilesNameFileLineAndKey) {
  struct Case {
    std::string text;
    std::string want;  // in the message, after "PATH:"
  };
  const std::vector<Case> cases = {
      {"t_threads = 2\nnope = 1\n", "2: key 'nope': unknown key"},
      {"t_threads = \"four\"\n",
       "1: key 't_threads': want an integer, got "
       "a string"},
      {"\nt_mine = 1\n", "2: key 't_mine': want a boolean"},
      {"t_listen = 7701\n",
       "1: key 't_listen': want a string, got an "
       "integer"},
      {"t_ban = \"soon\"\n", "1: key 't_ban': 'soon'"},
      {"t_peer = [\"a:1\", 2]\n",
       "1: key 't_peer': want an array of "
       "strings"},
      {"t_peer = [\"a:1,b:2\"]\n", "1: key 't_peer': an item may not"},
      {"[node]\nt_threads = 2\n", "1: key 'node': nested tables"},
      {"a.t_threads = 2\n", "1: key 'a': nested tables"},
      {"[[x]]\n", "1: key 'x': nested tables"},
      {"t_threads = 2\nt-threads = 3\n",
       "1: key 't_threads': the same flag as 't-threads'"},
      {"config = \"other.toml\"\n", "1: key 'config': unknown key"},
      {"flagfile = \"f\"\n", "1: key 'flagfile': unknown key"},
      {"t_threads = = 2\n", "1: not valid TOML"},
      {"t_threads = 2\nt_threads = 3\n", "2: not valid TOML"},
      // absl gets a C string: a NUL would cut the value after the check.
      {"\nt_listen = \"127.0.0.1:1\\u0000zz\"\n",
       "2: key 't_listen': control character U+0000"},
      {"t_listen = \"a\\tb\"\n", "1: key 't_listen': control character U+0009"},
      {"t_listen = \"a\\u007fb\"\n",
       "1: key 't_listen': control character U+007F"},
      {"t_peer = [\"a:1\", \"b:2\\u0000\"]\n",
       "1: key 't_peer': control character U+0000"},
      {"t_ban = \"1m\\u0000x\"\n", "1: key 't_ban': control character U+0000"},
  };
  int n = 0;
  for (const Case& c : cases) {
    const std::string path =
        Write("bad" + std::to_string(n++) + ".toml", c.text);
    const std::string error = ConfigError(*this, path);
    EXPECT_NE(error.find(path + ":" + c.want), std::string::npos)
        << "file:\n"
        << c.text << "error: " << error;
    EXPECT_EQ(error.find('\n'), std::string::npos) << error;  // one line
  }
  EXPECT_NE(
      ConfigError(*this, (dir_ / "missing.toml").string()).find("missing.toml"),
      std::string::npos);
  EXPECT_FALSE(NormalizeCommandLine({"prog", "--config"}, {}).ok());
  const std::string big =
      Write("big.toml", std::string(kMaxConfigFileBytes + 1, '#'));
  EXPECT_NE(ConfigError(*this, big).find("larger than"), std::string::npos);
}

}  // namespace
}  // namespace pbchain
