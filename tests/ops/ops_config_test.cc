// pbnode and pbtracker configuration (docs/OPERATIONS.md "Configuration"):
// the example config files list every flag of the binary with its default
// and load; the Debian package's deploy/etc/*.toml list every flag and
// load; --config entries lose to the command line; a bad file is one line
// naming FILE:LINE and the key, exit 2, before anything starts; the default
// --datadir is $HOME/.pbchain/CHAIN_ID (an error without HOME).
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "common/defaults.h"
#include "common/exit_codes.h"
#include "gtest/gtest.h"
#include "tests/util/pbnode_process.h"
#include "tests/util/process.h"

namespace pbchain::opstest {
namespace {

using testing::ChildProcess;
using testing::TempDir;

std::string Binary(const std::string& name) {
  return std::string(PBCHAIN_BIN_DIR) + "/" + name;
}
std::string Example(const std::string& program) {
  return std::string(PBCHAIN_SOURCE_DIR) + "/docs/" + program + ".example.toml";
}
std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}
// Everything a process prints on stdout until it exits.
std::string AllOutput(ChildProcess& p) {
  std::string out;
  while (std::optional<std::string> line =
             p.ReadLine(std::chrono::seconds(30))) {
    out += *line + "\n";
  }
  return out;
}

// The flags --helpfull lists under "Flags from MAIN_FILE:", with the
// default each shows ("default: VALUE;").
std::map<std::string, std::string> FlagsOf(const std::string& program,
                                           const std::string& main_file,
                                           const std::string& log) {
  ChildProcess help(Binary(program), {"--helpfull"}, log);
  const std::string text = AllOutput(help);
  help.Wait();
  std::map<std::string, std::string> flags;
  // "  Flags from ../node/main.cc:" (the path as the compiler saw it).
  std::smatch from;
  const std::regex from_re("Flags from [^\\n]*" + main_file + ":");
  if (!std::regex_search(text, from, from_re)) {
    ADD_FAILURE() << "no 'Flags from ..." << main_file << "' in:\n" << text;
    return flags;
  }
  const size_t start = static_cast<size_t>(from.position());
  size_t end = text.find("Flags from", start + 10);
  const std::string section = text.substr(start, end - start);
  // "    --name (help text...); default: VALUE;" with the help wrapped
  // over lines: one flag's block runs to the next "    --".
  std::regex flag_re("\\n    --([a-z0-9_]+) \\(");
  std::vector<std::pair<std::string, size_t>> heads;
  for (std::sregex_iterator it(section.begin(), section.end(), flag_re), e;
       it != e; ++it) {
    heads.push_back({(*it)[1], static_cast<size_t>(it->position())});
  }
  for (size_t i = 0; i < heads.size(); ++i) {
    const size_t to =
        i + 1 < heads.size() ? heads[i + 1].second : section.size();
    // One line, whitespace collapsed; the flag's default ends the block
    // (its help text may say "default" too).
    const std::string block = std::regex_replace(
        section.substr(heads[i].second, to - heads[i].second),
        std::regex("\\s+"), " ");
    std::smatch m;
    std::string value;
    if (std::regex_search(block, m, std::regex("\\); default: ([^;]*); ?$"))) {
      value = m[1];
    } else {
      ADD_FAILURE() << "no default in: " << block;
    }
    flags[heads[i].first] = value;
  }
  return flags;
}

// The example file's "key = value" lines (key with underscores, value as
// written, comments stripped only from the line's start).
std::map<std::string, std::string> ExampleEntries(const std::string& path) {
  std::map<std::string, std::string> out;
  std::istringstream in(ReadFile(path));
  std::string line;
  std::regex entry("^([a-z0-9_-]+) = (.*)$");
  while (std::getline(in, line)) {
    std::smatch m;
    if (!std::regex_match(line, m, entry)) continue;
    std::string key = m[1];
    std::replace(key.begin(), key.end(), '-', '_');
    out[key] = m[2];
  }
  return out;
}

// --helpfull's default text as the example writes it in TOML.
std::string AsToml(const std::string& shown) {
  if (shown == "true" || shown == "false") return shown;
  if (!shown.empty() && shown.front() == '"') {
    return shown == "\"\"" ? shown : shown;  // strings: quoted alike
  }
  if (!shown.empty() && (std::isdigit(shown.front()) || shown.front() == '-') &&
      shown.find_first_not_of("0123456789.-") == std::string::npos) {
    return shown;
  }
  return "\"" + shown + "\"";  // durations: 1h -> "1h"
}

class ConfigTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ConfigTest, ExampleListsEveryFlagWithItsDefaultAndLoads) {
  const std::string program = GetParam();
  TempDir dir("ops_config_example");
  const std::map<std::string, std::string> flags = FlagsOf(
      program,
      program == std::string("pbnode") ? "node/main.cc" : "tracker/main.cc",
      dir.Sub("help.log"));
  ASSERT_GT(flags.size(), 3u);
  const std::map<std::string, std::string> example =
      ExampleEntries(Example(program));
  for (const auto& [name, shown] : flags) {
    auto it = example.find(name);
    if (it == example.end()) {
      ADD_FAILURE() << "--" << name << " is missing from " << Example(program);
      continue;
    }
    std::string want = AsToml(shown);
    if (want == "\"\"" && it->second == "[]") continue;  // an empty list
    EXPECT_EQ(it->second, want)
        << "default of --" << name << " in " << Example(program);
  }
  for (const auto& [name, value] : example) {
    EXPECT_TRUE(flags.contains(name))
        << Example(program) << " names " << name << ", not a flag";
  }
  // The file loads as it is.
  ChildProcess check(Binary(program),
                     {"--config", Example(program), "--only_check_args"},
                     dir.Sub("check.log"));
  EXPECT_EQ(check.Wait(), 0) << ReadFile(dir.Sub("check.log"));
}

INSTANTIATE_TEST_SUITE_P(Programs, ConfigTest,
                         ::testing::Values("pbnode", "pbtracker"));

// The Debian package's configs (deploy/etc, installed as /etc/pbchain):
// their values are the package's, not the defaults, but each names every
// flag of its program, names nothing else, and loads.
class PackagedConfigTest : public ::testing::TestWithParam<const char*> {};

TEST_P(PackagedConfigTest, ListsEveryFlagAndLoads) {
  const std::string program = GetParam();
  const std::string file = std::string(PBCHAIN_SOURCE_DIR) + "/deploy/etc/" +
                           (program == "pbnode" ? "node" : "tracker") +
                           ".toml";
  TempDir dir("ops_config_packaged");
  const std::map<std::string, std::string> flags = FlagsOf(
      program, program == "pbnode" ? "node/main.cc" : "tracker/main.cc",
      dir.Sub("help.log"));
  ASSERT_GT(flags.size(), 3u);
  const std::map<std::string, std::string> entries = ExampleEntries(file);
  for (const auto& [name, shown] : flags) {
    EXPECT_TRUE(entries.contains(name)) << "--" << name << " is missing from "
                                        << file;
  }
  for (const auto& [name, value] : entries) {
    EXPECT_TRUE(flags.contains(name)) << file << " names " << name
                                      << ", not a flag";
  }
  ChildProcess check(Binary(program),
                     {"--config", file, "--only_check_args"},
                     dir.Sub("check.log"));
  EXPECT_EQ(check.Wait(), 0) << ReadFile(dir.Sub("check.log"));
}

INSTANTIATE_TEST_SUITE_P(Programs, PackagedConfigTest,
                         ::testing::Values("pbnode", "pbtracker"));

TEST(ConfigFileTest, CommandLineWinsOverTheFile) {
  TempDir dir("ops_config_wins");
  const ChainParams params = testing::QuickProcessParams("ops-config");
  const std::string genesis = dir.Sub("genesis.json");
  std::ofstream(genesis) << params.ToJson();
  const std::string config = dir.Sub("node.toml");
  std::ofstream(config) << "# a node\n"
                        << "listen = \"127.0.0.1:1\"\n"  // privileged: fails
                        << "datadir = \"" << dir.Sub("config-data") << "\"\n"
                        << "genesis = \"" << genesis << "\"\n"
                        << "max-outbound = 0\n"
                        << "peer = [\"127.0.0.1:3\", \"127.0.0.1:4\"]\n";
  // StartPbnode passes --listen=127.0.0.1:0 on the command line.
  testing::RunningPbnode node = testing::StartPbnode(
      dir.Sub("ignored"), genesis, dir.Sub("node.log"),
      {"--config=" + config, "--datadir=" + dir.Sub("data")});
  ASSERT_NE(node.stub, nullptr) << ReadFile(dir.Sub("node.log"));
  EXPECT_NE(node.address, "127.0.0.1:1");
  v1::ListPeersResponse peers;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  ASSERT_TRUE(node.stub->ListPeers(&ctx, v1::ListPeersRequest(), &peers).ok());
  std::set<std::string> known;
  for (const v1::PeerInfo& p : peers.known()) known.insert(p.address());
  // The file's list flag applies when the command line has none.
  EXPECT_TRUE(known.count("127.0.0.1:3") && known.count("127.0.0.1:4"))
      << peers.DebugString();
  node.process->Kill(SIGTERM);
  EXPECT_EQ(node.process->Wait(std::chrono::seconds(20)), 0);
  EXPECT_TRUE(std::filesystem::exists(dir.Sub("data")));
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("config-data")));
}

TEST(ConfigFileTest, BadFileIsOneLineNamingFileLineAndKeyExit2) {
  TempDir dir("ops_config_bad");
  const std::string config = dir.Sub("bad.toml");
  std::ofstream(config) << "datadir = \"" << dir.Sub("data") << "\"\n"
                        << "mining-threads = \"four\"\n";
  for (const std::string program : {"pbnode", "pbtracker"}) {
    const std::string log = dir.Sub(program + ".log");
    std::string key = program == "pbnode" ? "mining-threads" : "datadir";
    ChildProcess p(Binary(program), {"--config", config}, log);
    EXPECT_EQ(p.Wait(), kExitUsage) << program;
    const std::string err = ReadFile(log);
    const std::string want =
        program == "pbnode"
            ? config + ":2: key 'mining-threads': want an integer"
            : config + ":1: key 'datadir': unknown key";
    EXPECT_NE(err.find(program + ": " + want), std::string::npos) << err;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  }
  EXPECT_FALSE(std::filesystem::exists(dir.Sub("data")));
}

TEST(DefaultsTest, DatadirDefaultsToHomeDotPbchainChainId) {
  TempDir dir("ops_defaults");
  const ChainParams params = testing::QuickProcessParams("ops-defaults");
  const std::string genesis = dir.Sub("genesis.json");
  std::ofstream(genesis) << params.ToJson();
  const std::string home = dir.Sub("home");
  std::filesystem::create_directories(home);
  ChildProcess node("/usr/bin/env",
                    {"HOME=" + home, Binary("pbnode"), "--listen=127.0.0.1:0",
                     "--genesis=" + genesis},
                    dir.Sub("node.log"));
  std::optional<std::string> line = node.ReadLine(std::chrono::seconds(60));
  ASSERT_TRUE(line && line->find("listening on") != std::string::npos)
      << ReadFile(dir.Sub("node.log"));
  const std::filesystem::path datadir =
      std::filesystem::path(home) / kDefaultDataDirName / "ops-defaults";
  EXPECT_TRUE(std::filesystem::is_directory(datadir));
  EXPECT_FALSE(std::filesystem::is_empty(datadir));
  node.Kill(SIGTERM);
  EXPECT_EQ(node.Wait(), 0);

  // No HOME and no --datadir: one clear line, exit 2, nothing written.
  ChildProcess no_home("/usr/bin/env",
                       {"-u", "HOME", Binary("pbnode"), "--listen=127.0.0.1:0",
                        "--genesis=" + genesis},
                       dir.Sub("nohome.log"));
  EXPECT_EQ(no_home.Wait(), kExitUsage);
  const std::string err = ReadFile(dir.Sub("nohome.log"));
  EXPECT_NE(err.find("pbnode: --datadir not given and HOME is not set"),
            std::string::npos)
      << err;
}

TEST(DefaultsTest, NodeListensWherePbcliLooks) {
  TempDir dir("ops_defaults_listen");
  const std::map<std::string, std::string> node =
      FlagsOf("pbnode", "node/main.cc", dir.Sub("help.log"));
  EXPECT_EQ(node.at("listen"), std::string("\"") + kDefaultNodeAddress + "\"");
  ChildProcess help(Binary("pbcli"), {"--help"}, dir.Sub("cli.log"));
  const std::string text = AllOutput(help) + ReadFile(dir.Sub("cli.log"));
  help.Wait();
  EXPECT_NE(text.find(kDefaultNodeAddress), std::string::npos) << text;
}

}  // namespace
}  // namespace pbchain::opstest
