#include "common/flags.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"

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

}  // namespace
}  // namespace pbchain
