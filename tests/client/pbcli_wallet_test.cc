// pbcli's wallet commands as a user runs them (real processes, real files,
// no node needed): keygen encrypting by default, the passphrase sources,
// plaintext files with their warning, `wallet encrypt|decrypt` converting in
// place, and every bad wallet file giving one line and exit 2. Standard
// input is /dev/null (RunProcess), so pbcli never prompts.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "client/wallet.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/client/client_harness.h"

namespace pbchain::client {
namespace {

using testing::Bin;
using testing::ReadFile;
using testing::Result;
using testing::RunProcess;
using testing::TempDir;

class PbcliWalletTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("PBCHAIN_PASSPHRASE");
    unsetenv("PBCHAIN_WALLET");
    std::ofstream(dir_.Sub("pw")) << "open sesame\n";
  }
  Result Pbcli(std::vector<std::string> args) {
    return RunProcess(Bin("pbcli"), args, dir_.path().string());
  }
  std::string P(const std::string& name) const { return dir_.Sub(name); }
  static size_t Lines(const std::string& text) {
    return static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
  }
  static std::string Out(const Result& r) {
    return std::string(absl::StripTrailingAsciiWhitespace(r.out));
  }

  TempDir dir_{"pbcli_wallet_test"};
};

TEST_F(PbcliWalletTest, KeygenWithoutAPassphraseSourceRefusesAndWritesNothing) {
  Result r = Pbcli({"keygen", "--wallet", P("w.json")});
  EXPECT_EQ(r.code, 2) << r.Show();
  EXPECT_EQ(Lines(r.err), 1u) << r.Show();
  EXPECT_TRUE(absl::StrContains(r.err, "--passphrase-file")) << r.Show();
  EXPECT_TRUE(absl::StrContains(r.err, "--no-encrypt")) << r.Show();
  EXPECT_FALSE(std::filesystem::exists(P("w.json")));
}

TEST_F(PbcliWalletTest, KeygenEncryptsAndEachSourceOpensIt) {
  Result k = Pbcli({"keygen", "--wallet", P("w.json"), "--passphrase-file",
                    P("pw"), "--json"});
  ASSERT_EQ(k.code, 0) << k.Show();
  const std::string address = k.OutJson()["address"];
  EXPECT_EQ(k.OutJson()["encrypted"], true);
  struct stat st;
  ASSERT_EQ(stat(P("w.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  nlohmann::json file = nlohmann::json::parse(ReadFile(P("w.json")));
  EXPECT_EQ(file["format"], kEncryptedWalletFormat);
  EXPECT_FALSE(file.contains("seed"));
  EXPECT_EQ(file["address"], address);

  Result by_file =
      Pbcli({"address", "--wallet", P("w.json"), "--passphrase-file", P("pw")});
  ASSERT_EQ(by_file.code, 0) << by_file.Show();
  EXPECT_EQ(Out(by_file), address);
  EXPECT_EQ(by_file.err, "");  // no warning for an encrypted file

  setenv("PBCHAIN_PASSPHRASE", "open sesame", 1);
  Result by_env = Pbcli({"address", "--wallet", P("w.json")});
  unsetenv("PBCHAIN_PASSPHRASE");
  ASSERT_EQ(by_env.code, 0) << by_env.Show();
  EXPECT_EQ(Out(by_env), address);

  std::ofstream(P("wrong")) << "open sesame!\n";
  Result wrong = Pbcli(
      {"address", "--wallet", P("w.json"), "--passphrase-file", P("wrong")});
  EXPECT_EQ(wrong.code, 2) << wrong.Show();
  EXPECT_EQ(wrong.err, "pbcli: wrong passphrase or damaged wallet file " +
                           P("w.json") + "\n");
  EXPECT_EQ(wrong.out, "");

  Result none = Pbcli({"address", "--wallet", P("w.json")});
  EXPECT_EQ(none.code, 2) << none.Show();
  EXPECT_EQ(Lines(none.err), 1u) << none.Show();
  EXPECT_TRUE(absl::StrContains(none.err, "PBCHAIN_PASSPHRASE")) << none.Show();

  Result missing_pw = Pbcli(
      {"address", "--wallet", P("w.json"), "--passphrase-file", P("absent")});
  EXPECT_EQ(missing_pw.code, 2) << missing_pw.Show();
  EXPECT_TRUE(absl::StartsWith(missing_pw.err,
                               "pbcli: --passphrase-file " + P("absent")))
      << missing_pw.Show();
}

TEST_F(PbcliWalletTest, PlaintextWarnsAndConvertsBothWaysInPlace) {
  Result k = Pbcli({"keygen", "--no-encrypt", "--wallet", P("w.json")});
  ASSERT_EQ(k.code, 0) << k.Show();
  const std::string address = Out(k);
  EXPECT_TRUE(absl::StrContains(k.err, "not encrypted")) << k.Show();
  const std::string seed = nlohmann::json::parse(ReadFile(P("w.json")))["seed"];

  Result a = Pbcli({"address", "--wallet", P("w.json")});
  ASSERT_EQ(a.code, 0) << a.Show();
  EXPECT_EQ(Out(a), address);
  EXPECT_EQ(a.err, "pbcli: warning: wallet file " + P("w.json") +
                       " is not encrypted: anyone who can read it can spend "
                       "its coins; encrypt it with `pbcli wallet encrypt "
                       "--wallet " +
                       P("w.json") + "`\n");

  // Without a passphrase source, encrypt refuses and leaves the file.
  Result no_pw = Pbcli({"wallet", "encrypt", "--wallet", P("w.json")});
  EXPECT_EQ(no_pw.code, 2) << no_pw.Show();
  EXPECT_EQ(nlohmann::json::parse(ReadFile(P("w.json")))["seed"], seed);

  Result enc = Pbcli({"wallet", "encrypt", "--wallet", P("w.json"),
                      "--passphrase-file", P("pw")});
  ASSERT_EQ(enc.code, 0) << enc.Show();
  EXPECT_EQ(Out(enc), address);
  const std::string encrypted = ReadFile(P("w.json"));
  EXPECT_FALSE(absl::StrContains(encrypted, seed));
  EXPECT_TRUE(IsEncryptedWalletJson(encrypted));
  struct stat st;
  ASSERT_EQ(stat(P("w.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);

  Result again = Pbcli({"wallet", "encrypt", "--wallet", P("w.json"),
                        "--passphrase-file", P("pw")});
  EXPECT_EQ(again.code, 2) << again.Show();
  EXPECT_TRUE(absl::StrContains(again.err, "already encrypted"))
      << again.Show();
  EXPECT_EQ(ReadFile(P("w.json")), encrypted);

  Result dec = Pbcli({"wallet", "decrypt", "--wallet", P("w.json"),
                      "--passphrase-file", P("pw"), "--json"});
  ASSERT_EQ(dec.code, 0) << dec.Show();
  EXPECT_EQ(dec.OutJson()["encrypted"], false);
  EXPECT_EQ(nlohmann::json::parse(ReadFile(P("w.json")))["seed"], seed);

  // No temp file left next to it.
  for (const auto& e : std::filesystem::directory_iterator(dir_.path())) {
    EXPECT_FALSE(absl::StrContains(e.path().filename().string(), ".tmp-"))
        << e.path();
  }
  Result bad = Pbcli({"wallet", "shred", "--wallet", P("w.json")});
  EXPECT_EQ(bad.code, 2) << bad.Show();
  Result none = Pbcli({"wallet", "--wallet", P("w.json")});
  EXPECT_EQ(none.code, 2) << none.Show();
}

TEST_F(PbcliWalletTest, DamagedFilesGiveOneLineAndExit2) {
  Result k =
      Pbcli({"keygen", "--wallet", P("w.json"), "--passphrase-file", P("pw")});
  ASSERT_EQ(k.code, 0) << k.Show();
  const std::string good = ReadFile(P("w.json"));
  struct Case {
    std::string name, text, want;
  };
  nlohmann::json tag = nlohmann::json::parse(good);
  std::string c = tag["ciphertext"];
  c[5] = c[5] == 'a' ? 'b' : 'a';
  tag["ciphertext"] = c;
  const std::vector<Case> cases = {
      {"truncated", good.substr(0, good.size() / 2), "not a JSON object"},
      {"empty", "", "not a JSON object"},
      {"version",
       absl::StrReplaceAll(good, {{"\"version\": 1", "\"version\": 7"}}),
       "version 7 is not supported"},
      {"absurd_n",
       absl::StrReplaceAll(good, {{"\"log2_n\": 15", "\"log2_n\": 40"}}),
       "log2_n 40"},
      {"flipped", tag.dump(2), "wrong passphrase or damaged wallet file"},
      {"binary", std::string("\x00\xff\x13", 3), "not a JSON object"},
  };
  for (const Case& cs : cases) {
    const std::string path = P(cs.name + ".json");
    std::ofstream(path, std::ios::binary) << cs.text;
    Result r =
        Pbcli({"address", "--wallet", path, "--passphrase-file", P("pw")});
    EXPECT_EQ(r.code, 2) << cs.name << ": " << r.Show();
    EXPECT_EQ(Lines(r.err), 1u) << cs.name << ": " << r.Show();
    EXPECT_TRUE(absl::StrContains(r.err, path)) << cs.name << ": " << r.Show();
    EXPECT_TRUE(absl::StrContains(r.err, cs.want))
        << cs.name << ": " << r.Show();
  }
}

// `wallet encrypt` through a symlink encrypts the file it points at (the
// link stays a link); a hard-linked file is refused, as the other name
// would keep the plaintext.
TEST_F(PbcliWalletTest, EncryptFollowsSymlinksAndRefusesHardLinks) {
  std::filesystem::create_directories(P("keys"));
  Result k = Pbcli({"keygen", "--no-encrypt", "--wallet", P("keys/w.json")});
  ASSERT_EQ(k.code, 0) << k.Show();
  const std::string seed =
      nlohmann::json::parse(ReadFile(P("keys/w.json")))["seed"];
  std::filesystem::create_symlink(P("keys/w.json"), P("link.json"));
  Result enc = Pbcli({"wallet", "encrypt", "--wallet", P("link.json"),
                      "--passphrase-file", P("pw")});
  ASSERT_EQ(enc.code, 0) << enc.Show();
  EXPECT_TRUE(std::filesystem::is_symlink(P("link.json")));
  const std::string text = ReadFile(P("keys/w.json"));
  EXPECT_TRUE(IsEncryptedWalletJson(text)) << text;
  EXPECT_FALSE(absl::StrContains(text, seed));
  for (const auto& e :
       std::filesystem::recursive_directory_iterator(dir_.path())) {
    if (e.is_regular_file()) {
      EXPECT_FALSE(absl::StrContains(ReadFile(e.path().string()), seed))
          << "plaintext seed left in " << e.path();
    }
  }

  Result plain = Pbcli({"keygen", "--no-encrypt", "--wallet", P("h.json")});
  ASSERT_EQ(plain.code, 0) << plain.Show();
  const std::string before = ReadFile(P("h.json"));
  ASSERT_EQ(link(P("h.json").c_str(), P("h2.json").c_str()), 0);
  Result hard = Pbcli({"wallet", "encrypt", "--wallet", P("h.json"),
                       "--passphrase-file", P("pw")});
  EXPECT_NE(hard.code, 0) << hard.Show();
  EXPECT_EQ(Lines(hard.err), 1u) << hard.Show();
  EXPECT_TRUE(absl::StrContains(hard.err, "2 hard links")) << hard.Show();
  EXPECT_EQ(ReadFile(P("h.json")), before);
}

// A FIFO as the passphrase file or the wallet file is refused at once,
// not waited on for a writer.
TEST_F(PbcliWalletTest, FifosAreRefusedNotWaitedOn) {
  ASSERT_EQ(mkfifo(P("pw.fifo").c_str(), 0600), 0);
  ASSERT_EQ(mkfifo(P("w.fifo").c_str(), 0600), 0);
  Result k = Pbcli(
      {"keygen", "--wallet", P("w.json"), "--passphrase-file", P("pw.fifo")});
  EXPECT_EQ(k.code, 2) << k.Show();
  EXPECT_EQ(Lines(k.err), 1u) << k.Show();
  EXPECT_TRUE(absl::StrContains(
      k.err, "--passphrase-file " + P("pw.fifo") + ": not a regular file"))
      << k.Show();
  EXPECT_FALSE(std::filesystem::exists(P("w.json")));
  Result a =
      Pbcli({"address", "--wallet", P("w.fifo"), "--passphrase-file", P("pw")});
  EXPECT_EQ(a.code, 2) << a.Show();
  EXPECT_EQ(Lines(a.err), 1u) << a.Show();
  EXPECT_TRUE(absl::StrContains(
      a.err, "wallet file " + P("w.fifo") + ": not a regular file"))
      << a.Show();
}

}  // namespace
}  // namespace pbchain::client
