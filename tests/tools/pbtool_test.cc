// Runs the real pbtool binary and checks its output and exit codes.
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "chain/params.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace pbchain {
namespace {

struct ToolRun {
  int code;
  std::string out;
};

ToolRun Pbtool(const std::string& args) {
  // stderr to /dev/null unless `args` redirects it.
  std::string cmd =
      std::string(PBCHAIN_BIN_DIR) + "/pbtool " + args +
      (args.find(" 2>") == std::string::npos ? " 2>/dev/null" : "");
  FILE* pipe = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), pipe))
    out.append(buf.data(), n);
  int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// Runs pbtool with `args` (shell words); stdout and stderr separately.
struct FullRun {
  int code;
  std::string out;
  std::string err;
};
FullRun PbtoolFull(const std::string& args) {
  const std::string err_path = (std::filesystem::temp_directory_path() /
                                ("pbtool_test_err_" + std::to_string(getpid())))
                                   .string();
  ToolRun r = Pbtool(args + " 2>" + err_path);
  std::ifstream in(err_path);
  std::stringstream err;
  err << in.rdbuf();
  std::filesystem::remove(err_path);
  return {r.code, r.out, err.str()};
}

constexpr char kBitcoinGenesis[] =
    "0100000000000000000000000000000000000000000000000000000000000000000000003b"
    "a3edfd7a7b12b27a"
    "c72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c";

TEST(PbtoolTest, HashHeaderOfBitcoinGenesis) {
  ToolRun r = Pbtool(std::string("hash-header ") + kBitcoinGenesis);
  ASSERT_EQ(r.code, 0);
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["hash"],
            "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f");
  EXPECT_EQ(j["target"],
            "00000000ffff0000000000000000000000000000000000000000000000000000");
  EXPECT_EQ(j["meets_target"], true);
  EXPECT_EQ(j["work"], "4295032833");
  std::string tampered = kBitcoinGenesis;
  tampered[159] = '0';  // change the nonce
  j = nlohmann::json::parse(Pbtool("hash-header " + tampered).out);
  EXPECT_EQ(j["meets_target"], false);
}

TEST(PbtoolTest, HashHeaderBadInputExitsTwo) {
  EXPECT_EQ(Pbtool("hash-header abcd").code, 2);
  EXPECT_EQ(Pbtool("hash-header " + std::string(160, 'x')).code, 2);
  EXPECT_EQ(Pbtool("hash-header").code, 2);
  EXPECT_EQ(Pbtool("no-such-command").code, 2);
}

TEST(PbtoolTest, MerkleRootOfBlock100000) {
  ToolRun r = Pbtool(
      "merkle-root "
      "8c14f0db3df150123e6f3dbbf30f8b955a8249b62ac1d1ff16284aefa3d06d87 "
      "fff2525b8931402dd09222c50775608f75787bd2b87e56995a7bdd30f79702c4 "
      "6359f0868171b1d194cbee1af2f16ea598ae8fad666d9b012c8ed2b79a236ec4 "
      "e9a66845e05d5abc0ad04ec80f774a7e585c6e8db975962d069a522137b80c1d");
  ASSERT_EQ(r.code, 0);
  EXPECT_EQ(
      r.out,
      "f3e94742aca4b5ef85488dc37c06c3282295ffec960994b2c0d5ac2a25a95766\n");
  EXPECT_EQ(Pbtool("merkle-root nothex").code, 2);
}

TEST(PbtoolTest, KeygenThenGenesisMakesALoadableNetwork) {
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("pbtool_test_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string key = (dir / "key.json").string(),
              gen = (dir / "genesis.json").string();
  ToolRun k = Pbtool("keygen --out " + key);
  ASSERT_EQ(k.code, 0);
  std::string address = k.out.substr(0, k.out.find('\n'));
  EXPECT_EQ(Pbtool("keygen --out " + key).code, 1);  // refuses to overwrite
  EXPECT_EQ(std::filesystem::status(key).permissions() &
                std::filesystem::perms::others_read,
            std::filesystem::perms::none);
  ToolRun g = Pbtool("genesis --out " + gen +
                     " --chain-id unit-net --target-interval-ms 500 --alloc " +
                     address + "=1234");
  ASSERT_EQ(g.code, 0);
  absl::StatusOr<ChainParams> p = LoadGenesisFile(gen);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->chain_id, "unit-net");
  EXPECT_EQ(p->target_interval_ms, 500);
  ASSERT_EQ(p->allocations.size(), 1u);
  EXPECT_EQ(p->allocations[0].amount, 1234u);
  EXPECT_EQ(g.out, MakeGenesisBlock(*p).Hash().ToDisplayHex() + "\n");
  EXPECT_EQ(
      Pbtool("genesis --out " + (dir / "x.json").string() + " --alloc nope=1")
          .code,
      2);
  EXPECT_EQ(
      Pbtool("genesis --out " + (dir / "x.json").string() + " --bogus 1").code,
      2);
  std::filesystem::remove_all(dir);
}

TEST(PbtoolTest, CommandHelpAndVersion) {
  FullRun help = PbtoolFull("help keygen");
  ASSERT_EQ(help.code, 0) << help.err;
  EXPECT_EQ(
      help.out,
      "  pbtool keygen --out FILE\n"
      "      Writes a new Ed25519 key as JSON {seed, public_key, address} "
      "to FILE\n"
      "      (mode 0600; refuses to overwrite). Prints the address.\n");
  EXPECT_EQ(PbtoolFull("keygen --help").out, help.out);
  EXPECT_EQ(PbtoolFull("keygen --out x.json -h").out, help.out);
  EXPECT_EQ(PbtoolFull("--help keygen").out, help.out);
  // --help lists every command; no command at all is bad usage (exit 2)
  // with the same text.
  FullRun all = PbtoolFull("--help");
  ASSERT_EQ(all.code, 0);
  for (const char* command :
       {"hash-header", "merkle-root", "keygen", "genesis", "verify-db",
        "inspect", "export", "import", "backup", "restore"}) {
    EXPECT_NE(all.out.find(std::string("  pbtool ") + command + " "),
              std::string::npos)
        << command;
    FullRun one = PbtoolFull(std::string(command) + " --help");
    EXPECT_EQ(one.code, 0) << command;
    EXPECT_NE(all.out.find(one.out), std::string::npos) << command;
  }
  FullRun none = PbtoolFull("");
  EXPECT_EQ(none.code, 2);
  EXPECT_EQ(none.out, all.out);

  FullRun version = PbtoolFull("--version");
  EXPECT_EQ(version.code, 0);
  EXPECT_TRUE(std::regex_match(version.out,
                               std::regex("pbtool [0-9]+\\.[0-9]+\\.[0-9]+\n")))
      << version.out;
  EXPECT_EQ(PbtoolFull("inspect --version").out, version.out);
}

TEST(PbtoolTest, OptionsInAnyOrderAndBadOptionsExitTwo) {
  std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      ("pbtool_options_test_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string gen = (dir / "genesis.json").string();
  // --alloc repeats, options in any order, "--opt=value" or "--opt value".
  ToolRun key = Pbtool("keygen --out=" + (dir / "k.json").string());
  ASSERT_EQ(key.code, 0);
  const std::string address = key.out.substr(0, key.out.find('\n'));
  ToolRun g = Pbtool("genesis --alloc " + address + "=5 --chain-id=any-order " +
                     "--out " + gen + " --alloc " + address + "=7");
  ASSERT_EQ(g.code, 0);
  absl::StatusOr<ChainParams> p = LoadGenesisFile(gen);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->chain_id, "any-order");
  ASSERT_EQ(p->allocations.size(), 2u);
  EXPECT_EQ(p->allocations[0].amount, 5u);
  EXPECT_EQ(p->allocations[1].amount, 7u);

  struct Case {
    std::string args;
    std::string err;  // "" = any one line starting with "pbtool: "
  };
  for (const Case& c : std::vector<Case>{
           {"keygen --out " + (dir / "x.json").string() + " --bogus",
            "pbtool: unknown option --bogus (see pbtool help keygen)\n"},
           {"keygen", "pbtool: --out is required (see pbtool help keygen)\n"},
           {"keygen --out ''", ""},
           {"keygen --out",
            "pbtool: --out needs a value (see pbtool help keygen)\n"},
           {"inspect --datadir " + dir.string() + " extra",
            "pbtool: inspect takes 0 arguments, got 1 (see pbtool help "
            "inspect)\n"},
           {"frobnicate",
            "pbtool: unknown command 'frobnicate' (see pbtool --help)\n"},
           {"help frobnicate",
            "pbtool: no command 'frobnicate' (see pbtool --help)\n"},
           {"inspect --datadir " + dir.string() + " --json=2", ""},
       }) {
    FullRun r = PbtoolFull(c.args);
    EXPECT_EQ(r.code, 2) << c.args << "\n" << r.err;
    EXPECT_EQ(r.out, "") << c.args;
    if (!c.err.empty()) {
      EXPECT_EQ(r.err, c.err) << c.args;
    } else {
      EXPECT_EQ(r.err.rfind("pbtool: ", 0), 0u) << c.args << "\n" << r.err;
      EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1)
          << c.args << "\n"
          << r.err;
    }
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "x.json"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace pbchain
