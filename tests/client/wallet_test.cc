#include "client/wallet.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "chain/bytes.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace pbchain::client {
namespace {

class WalletTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("pbchain_wallet_test_" + std::to_string(getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Path(const std::string& name) { return (dir_ / name).string(); }
  void Write(const std::string& path, const std::string& text) {
    std::ofstream(path) << text;
  }
  std::filesystem::path dir_;
};

// RFC 8032 test 1.
constexpr char kSeed[] =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr char kPub[] =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

TEST_F(WalletTest, CreateWritesPbtoolFormatWithMode0600) {
  const std::string path = Path("w.json");
  absl::StatusOr<Wallet> w = CreateWallet(path);
  ASSERT_TRUE(w.ok()) << w.status();
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  std::ifstream in(path);
  nlohmann::json j = nlohmann::json::parse(in);
  EXPECT_EQ(j["seed"], HexEncode(w->key.seed()));
  EXPECT_EQ(j["public_key"], HexEncode(w->key.public_key()));
  EXPECT_EQ(j["address"], w->address.ToText());
  EXPECT_EQ(w->address, AddressFromPublicKey(w->key.public_key()));

  absl::StatusOr<Wallet> loaded = LoadWallet(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->key.seed(), w->key.seed());
  EXPECT_EQ(loaded->address, w->address);
  EXPECT_EQ(loaded->path, path);
}

TEST_F(WalletTest, CreateRefusesToOverwrite) {
  const std::string path = Path("w.json");
  Write(path, "precious");
  absl::StatusOr<Wallet> w = CreateWallet(path);
  EXPECT_EQ(w.status().code(), absl::StatusCode::kAlreadyExists);
  std::ifstream in(path);
  std::string content;
  std::getline(in, content);
  EXPECT_EQ(content, "precious");
}

TEST_F(WalletTest, CreateInMissingDirectoryFails) {
  absl::StatusOr<Wallet> w = CreateWallet(Path("no/such/dir/w.json"));
  EXPECT_EQ(w.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(WalletTest, MissingFileIsNotFoundWithHint) {
  absl::StatusOr<Wallet> w = LoadWallet(Path("absent.json"));
  EXPECT_EQ(w.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(w.status().message().find("pbcli keygen"), std::string::npos)
      << w.status();
}

TEST_F(WalletTest, KnownSeedGivesKnownKey) {
  absl::StatusOr<Wallet> w =
      WalletFromJson(std::string("{\"seed\":\"") + kSeed + "\"}");
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(HexEncode(w->key.public_key()), kPub);
}

TEST_F(WalletTest, CorruptJsonIsInvalidArgumentNamingThePath) {
  const std::string path = Path("bad.json");
  Write(path, "{\"seed\": \"9d61");  // truncated
  absl::StatusOr<Wallet> w = LoadWallet(path);
  EXPECT_EQ(w.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(w.status().message().find(path), std::string::npos);
}

TEST_F(WalletTest, BadFieldsAreRejected) {
  EXPECT_FALSE(WalletFromJson("[]").ok());
  EXPECT_FALSE(WalletFromJson("{}").ok());                    // no seed
  EXPECT_FALSE(WalletFromJson("{\"seed\": 5}").ok());         // not a string
  EXPECT_FALSE(WalletFromJson("{\"seed\": \"zz\"}").ok());    // not hex
  EXPECT_FALSE(WalletFromJson("{\"seed\": \"abcd\"}").ok());  // too short
}

TEST_F(WalletTest, MismatchedPublicKeyIsRejected) {
  std::string wrong_pub(kPub);
  wrong_pub[0] = wrong_pub[0] == '0' ? '1' : '0';
  absl::StatusOr<Wallet> w =
      WalletFromJson(std::string("{\"seed\":\"") + kSeed +
                     "\",\"public_key\":\"" + wrong_pub + "\"}");
  EXPECT_EQ(w.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(w.status().message().find("public_key"), std::string::npos);
}

TEST_F(WalletTest, WrongAddressIsRejected) {
  // A valid address of another key.
  absl::StatusOr<PrivateKey> other = PrivateKey::Generate();
  ASSERT_TRUE(other.ok());
  const std::string other_addr =
      AddressFromPublicKey(other->public_key()).ToText();
  absl::StatusOr<Wallet> w =
      WalletFromJson(std::string("{\"seed\":\"") + kSeed + "\",\"address\":\"" +
                     other_addr + "\"}");
  EXPECT_EQ(w.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(w.status().message().find("does not belong"), std::string::npos)
      << w.status();

  // A malformed address (bad checksum).
  absl::StatusOr<Wallet> seed_only =
      WalletFromJson(std::string("{\"seed\":\"") + kSeed + "\"}");
  ASSERT_TRUE(seed_only.ok());
  std::string text = seed_only->address.ToText();
  text.back() = text.back() == '0' ? '1' : '0';
  w = WalletFromJson(std::string("{\"seed\":\"") + kSeed + "\",\"address\":\"" +
                     text + "\"}");
  EXPECT_EQ(w.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(WalletTest, JsonRoundTrip) {
  absl::StatusOr<PrivateKey> key = PrivateKey::Generate();
  ASSERT_TRUE(key.ok());
  absl::StatusOr<Wallet> w = WalletFromJson(WalletToJson(*key));
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->key.seed(), key->seed());
}

TEST_F(WalletTest, DefaultPathFollowsEnvironment) {
  unsetenv(kWalletEnvVar);
  EXPECT_EQ(DefaultWalletPath(), kDefaultWalletPath);
  setenv(kWalletEnvVar, "/tmp/x.json", 1);
  EXPECT_EQ(DefaultWalletPath(), "/tmp/x.json");
  setenv(kWalletEnvVar, "", 1);
  EXPECT_EQ(DefaultWalletPath(), kDefaultWalletPath);
  unsetenv(kWalletEnvVar);
}

}  // namespace
}  // namespace pbchain::client
