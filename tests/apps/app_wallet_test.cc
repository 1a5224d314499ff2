// pbvote and pbshop with encrypted wallets, no node needed: the booth
// wallet pbvote creates is encrypted with --passphrase-file (or
// $PBCHAIN_PASSPHRASE) and loads only with it, pbshop opens an encrypted
// wallet with it, and a wrong or missing passphrase is one line and exit 2
// before anything is sent. The node address is a dead loopback port: the
// wallet is loaded before the first call, which then fails (exit 1).
#include <netinet/in.h>
#include <sys/socket.h>

#include <filesystem>
#include <string>

#include "absl/strings/match.h"
#include "client/wallet.h"
#include "gtest/gtest.h"
#include "tests/apps/app_runner.h"

namespace pbchain::apps {
namespace {

using testing::AppBin;
using testing::ReadWholeFile;
using testing::RunApp;
using testing::RunResult;

// A loopback port nothing listens on (bound, then closed).
std::string DeadAddress() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
}

class AppWalletTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("PBCHAIN_PASSPHRASE");
    unsetenv("PBCHAIN_WALLET");
    unsetenv("PBCHAIN_NODE");
    dir_ = (std::filesystem::temp_directory_path() /
            ("pbchain_app_wallet_" + std::to_string(getpid())))
               .string();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ + "/pw") << "booth secret\n";
    std::ofstream(dir_ + "/wrong") << "not it\n";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(AppWalletTest, PbvoteCreatesAnEncryptedBoothAndNeedsItsPassphrase) {
  const std::string booth = dir_ + "/booth.json";
  const std::string node = DeadAddress();
  RunResult first = RunApp(AppBin("pbvote"),
                           {"vote", "alice", "Jane", "--node", node, "--wallet",
                            booth, "--passphrase-file", dir_ + "/pw"},
                           dir_);
  EXPECT_EQ(first.code, 1) << first.Show();  // the node is down
  EXPECT_TRUE(
      absl::StrContains(first.err, "created booth wallet " + booth + " (pb"))
      << first.Show();
  EXPECT_TRUE(absl::StrContains(first.err, ", encrypted)")) << first.Show();
  ASSERT_TRUE(client::IsEncryptedWalletJson(ReadWholeFile(booth)));

  RunResult none = RunApp(
      AppBin("pbvote"),
      {"vote", "alice", "Jane", "--node", node, "--wallet", booth}, dir_);
  EXPECT_EQ(none.code, 2) << none.Show();
  EXPECT_TRUE(absl::StrContains(none.err, "--passphrase-file")) << none.Show();

  RunResult wrong = RunApp(AppBin("pbvote"),
                           {"vote", "alice", "Jane", "--node", node, "--wallet",
                            booth, "--passphrase-file", dir_ + "/wrong"},
                           dir_);
  EXPECT_EQ(wrong.code, 2) << wrong.Show();
  EXPECT_EQ(wrong.err,
            "pbvote: wrong passphrase or damaged wallet file " + booth + "\n");

  // The environment variable works as the file does: the wallet opens, and
  // the failure is the dead node's (exit 1), not the wallet's.
  setenv("PBCHAIN_PASSPHRASE", "booth secret", 1);
  RunResult env = RunApp(
      AppBin("pbvote"),
      {"vote", "alice", "Jane", "--node", node, "--wallet", booth}, dir_);
  unsetenv("PBCHAIN_PASSPHRASE");
  EXPECT_EQ(env.code, 1) << env.Show();
  EXPECT_FALSE(absl::StrContains(env.err, "passphrase")) << env.Show();
  EXPECT_TRUE(absl::StrContains(env.err, node)) << env.Show();
}

TEST_F(AppWalletTest, PbshopOpensAnEncryptedWalletAndWarnsOnPlaintext) {
  absl::StatusOr<PrivateKey> key = PrivateKey::Generate();
  ASSERT_TRUE(key.ok());
  client::WalletWriteOptions write;
  write.passphrase = "booth secret";
  const std::string enc = dir_ + "/owner.json";
  ASSERT_TRUE(client::SaveNewWallet(enc, *key, write).ok());
  const std::string address = AddressFromPublicKey(key->public_key()).ToText();
  const std::string node = DeadAddress();

  RunResult wrong = RunApp(AppBin("pbshop"),
                           {"inventory", "--node", node, "--wallet", enc,
                            "--passphrase-file", dir_ + "/wrong"},
                           dir_);
  EXPECT_EQ(wrong.code, 2) << wrong.Show();
  EXPECT_EQ(wrong.err,
            "pbshop: wrong passphrase or damaged wallet file " + enc + "\n");

  RunResult right = RunApp(AppBin("pbshop"),
                           {"inventory", "--node", node, "--wallet", enc,
                            "--passphrase-file", dir_ + "/pw"},
                           dir_);
  EXPECT_EQ(right.code, 1) << right.Show();  // opened; then the dead node
  EXPECT_FALSE(absl::StrContains(right.err, "passphrase")) << right.Show();

  const std::string plain = dir_ + "/plain.json";
  ASSERT_TRUE(client::SaveNewWallet(plain, *key).ok());
  RunResult warned = RunApp(
      AppBin("pbshop"), {"inventory", "--node", node, "--wallet", plain}, dir_);
  EXPECT_EQ(warned.code, 1) << warned.Show();
  EXPECT_TRUE(absl::StrContains(warned.err, "pbshop: warning: wallet file " +
                                                plain + " is not encrypted"))
      << warned.Show();
}

TEST_F(AppWalletTest, TlsFilesAreCheckedBeforeAnything) {
  RunResult r = RunApp(
      AppBin("pbvote"),
      {"tally", "--node", DeadAddress(), "--tls-ca", dir_ + "/absent.pem"},
      dir_);
  EXPECT_EQ(r.code, 2) << r.Show();
  EXPECT_TRUE(
      absl::StartsWith(r.err, "pbvote: --tls-ca " + dir_ + "/absent.pem"))
      << r.Show();
  RunResult s = RunApp(AppBin("pbshop"),
                       {"catalogue", "--node", DeadAddress(), "--tls-ca",
                        dir_ + "/pw"},  // not PEM
                       dir_);
  EXPECT_EQ(s.code, 2) << s.Show();
  EXPECT_TRUE(absl::StrContains(s.err, "--tls-ca " + dir_ + "/pw")) << s.Show();
}

}  // namespace
}  // namespace pbchain::apps
