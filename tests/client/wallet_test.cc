#include "client/wallet.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "chain/bytes.h"
#include "client/passphrase.h"
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

// ---------------------------------------------------------------------------
// Encrypted wallet files.

// tests/vectors/encrypted_wallet.json, made by an independent implementation
// (Python's hashlib.scrypt and cryptography's ChaCha20Poly1305); the Python
// and JS example clients check the same file.
nlohmann::json Vector() {
  std::ifstream in(std::string(PBCHAIN_SOURCE_DIR) +
                   "/tests/vectors/encrypted_wallet.json");
  return nlohmann::json::parse(in);
}

Bytes Hex(const std::string& hex) { return *HexDecode(hex); }

WalletWriteOptions VectorOptions(const nlohmann::json& v) {
  WalletWriteOptions o;
  o.passphrase = v["passphrase"].get<std::string>();
  o.scrypt.log2_n = v["scrypt"]["log2_n"].get<int>();
  o.scrypt.r = v["scrypt"]["r"].get<uint32_t>();
  o.scrypt.p = v["scrypt"]["p"].get<uint32_t>();
  o.salt = Hex(v["scrypt"]["salt"].get<std::string>());
  o.nonce = Hex(v["nonce"].get<std::string>());
  return o;
}

// Cheap parameters for tests that are not about the KDF cost.
WalletWriteOptions Fast(const std::string& passphrase) {
  WalletWriteOptions o;
  o.passphrase = passphrase;
  o.scrypt.log2_n = kMinLog2N;
  return o;
}

PassphraseCallback Give(const std::string& passphrase, int* calls = nullptr) {
  return [passphrase, calls]() -> absl::StatusOr<std::string> {
    if (calls != nullptr) ++*calls;
    return passphrase;
  };
}

TEST(EncryptedWalletVector, WriterProducesTheExactFile) {
  const nlohmann::json v = Vector();
  absl::StatusOr<PrivateKey> key =
      PrivateKey::FromSeed(Hex(v["seed"].get<std::string>()));
  ASSERT_TRUE(key.ok());
  const WalletWriteOptions o = VectorOptions(v);
  EXPECT_EQ(
      WalletAad(o.scrypt, o.salt, o.nonce, v["address"].get<std::string>()),
      v["aad"].get<std::string>());
  absl::StatusOr<std::string> text = EncryptWalletJson(*key, o);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, v["file"].get<std::string>());
}

TEST(EncryptedWalletVector, ReaderOpensTheFile) {
  const nlohmann::json v = Vector();
  absl::StatusOr<Wallet> w = DecryptWalletJson(
      v["file"].get<std::string>(), v["passphrase"].get<std::string>());
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(HexEncode(w->key.seed()), v["seed"].get<std::string>());
  EXPECT_EQ(HexEncode(w->key.public_key()), v["public_key"].get<std::string>());
  EXPECT_EQ(w->address.ToText(), v["address"].get<std::string>());
  EXPECT_TRUE(w->encrypted);
  EXPECT_TRUE(IsEncryptedWalletJson(v["file"].get<std::string>()));
  EXPECT_FALSE(IsEncryptedWalletJson(WalletToJson(w->key)));
}

TEST(EncryptedWalletVector, WrongPassphraseAndEveryFlippedFieldFail) {
  const nlohmann::json v = Vector();
  const std::string file = v["file"].get<std::string>();
  const std::string pass = v["passphrase"].get<std::string>();
  absl::StatusOr<Wallet> w = DecryptWalletJson(file, pass + "!");
  EXPECT_EQ(w.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(w.status().message(), "wrong passphrase or damaged wallet file");

  // Each bound header value changed (still well-formed): the AEAD refuses.
  auto changed = [&](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json j = nlohmann::json::parse(file);
    edit(j);
    return DecryptWalletJson(j.dump(), pass).status();
  };
  const std::vector<std::function<void(nlohmann::json&)>> edits = {
      [](nlohmann::json& j) { j["scrypt"]["r"] = 7; },
      [](nlohmann::json& j) { j["scrypt"]["p"] = 2; },
      [](nlohmann::json& j) { j["scrypt"]["log2_n"] = 11; },
      [](nlohmann::json& j) {
        j["scrypt"]["salt"] = "00112233445566778899aabbccddeeff";
      },
      [](nlohmann::json& j) { j["nonce"] = "000000000000000000000000"; },
      [](nlohmann::json& j) {
        std::string c = j["ciphertext"].get<std::string>();
        c[0] = c[0] == '0' ? '1' : '0';
        j["ciphertext"] = c;
      },
      [](nlohmann::json& j) {  // the tag
        std::string c = j["ciphertext"].get<std::string>();
        c.back() = c.back() == '0' ? '1' : '0';
        j["ciphertext"] = c;
      },
      [](nlohmann::json& j) {  // another valid address: bound by the AAD
        j["address"] = AddressFromPublicKey(PublicKey{}).ToText();
      },
  };
  for (size_t i = 0; i < edits.size(); ++i) {
    absl::Status s = changed(edits[i]);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << i;
    EXPECT_EQ(s.message(), "wrong passphrase or damaged wallet file")
        << i << ": " << s;
  }
}

TEST(EncryptedWalletVector, MalformedFilesAreRefusedWithAReason) {
  const nlohmann::json v = Vector();
  const std::string file = v["file"].get<std::string>();
  const std::string pass = v["passphrase"].get<std::string>();
  struct Case {
    std::function<void(nlohmann::json&)> edit;
    std::string want;  // part of the message
  };
  const std::vector<Case> cases = {
      {[](nlohmann::json& j) { j["version"] = 2; },
       "version 2 is not supported"},
      {[](nlohmann::json& j) { j["version"] = "1"; }, "\"version\""},
      {[](nlohmann::json& j) { j["kdf"] = "argon2id"; }, "unknown kdf"},
      {[](nlohmann::json& j) { j["cipher"] = "aes-256-gcm"; },
       "unknown cipher"},
      {[](nlohmann::json& j) { j["scrypt"]["log2_n"] = 40; }, "log2_n 40"},
      {[](nlohmann::json& j) { j["scrypt"]["log2_n"] = 9; }, "log2_n 9"},
      {[](nlohmann::json& j) { j["scrypt"]["log2_n"] = -1; }, "log2_n"},
      {[](nlohmann::json& j) { j["scrypt"]["r"] = 0; }, "r 0"},
      {[](nlohmann::json& j) { j["scrypt"]["r"] = 4000000000u; },
       "r 4000000000"},
      {[](nlohmann::json& j) { j["scrypt"]["p"] = 1000; }, "p 1000"},
      // Within each bound but 128 * r * N = 2 GiB: refused unallocated.
      {[](nlohmann::json& j) {
         j["scrypt"]["log2_n"] = 20;
         j["scrypt"]["r"] = 16;
       },
       "over the limit"},
      {[](nlohmann::json& j) { j["scrypt"]["salt"] = "0011"; }, "salt"},
      {[](nlohmann::json& j) { j["scrypt"].erase("salt"); }, "salt"},
      {[](nlohmann::json& j) { j["nonce"] = "00"; }, "nonce"},
      {[](nlohmann::json& j) { j["ciphertext"] = "zz"; }, "ciphertext"},
      {[](nlohmann::json& j) { j["ciphertext"] = "00"; }, "ciphertext"},
      {[](nlohmann::json& j) { j["address"] = "pb00"; }, "address"},
      {[](nlohmann::json& j) { j.erase("scrypt"); }, "scrypt"},
  };
  for (const Case& c : cases) {
    nlohmann::json j = nlohmann::json::parse(file);
    c.edit(j);
    absl::StatusOr<Wallet> w = DecryptWalletJson(j.dump(), pass);
    EXPECT_EQ(w.status().code(), absl::StatusCode::kInvalidArgument) << c.want;
    EXPECT_NE(w.status().message().find(c.want), std::string::npos)
        << c.want << " in: " << w.status();
  }
}

// docs/PROTOCOL.md "Wallet file": hex fields and the address's hex digits
// may be either case; the AAD always uses the canonical lowercase address.
TEST(EncryptedWalletVector, UppercaseHexAndAddressOpen) {
  const nlohmann::json v = Vector();
  nlohmann::json j = nlohmann::json::parse(v["file"].get<std::string>());
  for (const char* field : {"address", "nonce", "ciphertext"}) {
    std::string text = j[field];
    // The address keeps its "pb" prefix; only hex digits change case.
    for (size_t i = std::string(field) == "address" ? 2 : 0; i < text.size();
         ++i) {
      text[i] = absl::ascii_toupper(static_cast<unsigned char>(text[i]));
    }
    j[field] = text;
  }
  std::string salt = j["scrypt"]["salt"];
  j["scrypt"]["salt"] = absl::AsciiStrToUpper(salt);
  ASSERT_NE(j["address"], v["address"]);
  absl::StatusOr<Wallet> w =
      DecryptWalletJson(j.dump(), v["passphrase"].get<std::string>());
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->address.ToText(), v["address"].get<std::string>());
}

// log2_n, r, p and version are JSON integers: a string or a float (even a
// whole one) is refused.
TEST(EncryptedWalletVector, ParametersMustBeJsonIntegers) {
  const nlohmann::json v = Vector();
  const std::string file = v["file"].get<std::string>();
  const std::string pass = v["passphrase"].get<std::string>();
  for (const auto& [from, to] :
       std::vector<std::pair<std::string, std::string>>{
           {"\"log2_n\": 10", "\"log2_n\": \"10\""},
           {"\"log2_n\": 10", "\"log2_n\": 10.0"},
           {"\"r\": 8", "\"r\": 8.0"},
           {"\"p\": 1", "\"p\": \"1\""},
           {"\"version\": 1", "\"version\": 1.0"}}) {
    ASSERT_TRUE(absl::StrContains(file, from)) << from;
    absl::StatusOr<Wallet> w =
        DecryptWalletJson(absl::StrReplaceAll(file, {{from, to}}), pass);
    EXPECT_EQ(w.status().code(), absl::StatusCode::kInvalidArgument) << to;
    EXPECT_TRUE(
        absl::StrContains(w.status().message(), "must be a small whole number"))
        << to << ": " << w.status();
  }
}

// RFC 7914: N < 2^(16 r). OpenSSL refuses the others; the checks refuse
// them first with the reason, on both sides.
TEST(EncryptedWalletVector, ScryptLog2NMustBeBelow16R) {
  const nlohmann::json v = Vector();
  nlohmann::json j = nlohmann::json::parse(v["file"].get<std::string>());
  j["scrypt"]["log2_n"] = 16;
  j["scrypt"]["r"] = 1;
  absl::StatusOr<Wallet> w =
      DecryptWalletJson(j.dump(), v["passphrase"].get<std::string>());
  EXPECT_EQ(w.status().code(), absl::StatusCode::kInvalidArgument)
      << w.status();
  EXPECT_TRUE(absl::StrContains(w.status().message(), "log2_n < 16 * r"))
      << w.status();

  absl::StatusOr<PrivateKey> key = PrivateKey::Generate();
  ASSERT_TRUE(key.ok());
  WalletWriteOptions o = Fast("pw");
  o.scrypt.log2_n = 16;
  o.scrypt.r = 1;
  absl::StatusOr<std::string> text = EncryptWalletJson(*key, o);
  EXPECT_EQ(text.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(text.status().message(), "log2_n < 16 * r"))
      << text.status();
  o.scrypt.log2_n = 15;  // the largest r = 1 allows
  o.scrypt.p = 1;
  EXPECT_TRUE(EncryptWalletJson(*key, o).ok());
}

TEST_F(WalletTest, FifoWalletIsRefusedNotWaitedOn) {
  const std::string path = Path("fifo.json");
  ASSERT_EQ(mkfifo(path.c_str(), 0600), 0);
  absl::StatusOr<Wallet> w = LoadWallet(path, Give("pw"));
  EXPECT_EQ(w.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(w.status().message(), "not a regular file"))
      << w.status();
}

TEST_F(WalletTest, RewriteThroughASymlinkRewritesTheTarget) {
  ASSERT_TRUE(std::filesystem::create_directories(dir_ / "real"));
  const std::string real = Path("real/w.json");
  const std::string link = Path("link.json");
  absl::StatusOr<Wallet> w = CreateWallet(real, {});
  ASSERT_TRUE(w.ok()) << w.status();
  const std::string seed = HexEncode(w->key.seed());
  std::filesystem::create_symlink(real, link);
  absl::StatusOr<Wallet> done = RewriteWallet(link, w->key, Fast("pw"));
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_TRUE(std::filesystem::is_symlink(link));
  std::ifstream in(real);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_TRUE(IsEncryptedWalletJson(text.str())) << text.str();
  EXPECT_FALSE(absl::StrContains(text.str(), seed));
  // No temp file left, in either directory.
  for (const auto& d : {dir_, dir_ / "real"}) {
    for (const auto& e : std::filesystem::directory_iterator(d)) {
      EXPECT_FALSE(absl::StrContains(e.path().string(), ".tmp-")) << e.path();
    }
  }
  absl::StatusOr<Wallet> back = LoadWallet(link, Give("pw"));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(HexEncode(back->key.seed()), seed);
}

TEST_F(WalletTest, RewriteRefusesAHardLinkedFile) {
  const std::string path = Path("w.json");
  absl::StatusOr<Wallet> w = CreateWallet(path, {});
  ASSERT_TRUE(w.ok()) << w.status();
  ASSERT_EQ(link(path.c_str(), Path("other.json").c_str()), 0);
  absl::StatusOr<Wallet> done = RewriteWallet(path, w->key, Fast("pw"));
  EXPECT_EQ(done.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(absl::StrContains(done.status().message(), "2 hard links"))
      << done.status();
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_nlink, 2u);  // untouched: still the same file
}

TEST_F(WalletTest, EncryptedCreateLoadsOnlyWithThePassphrase) {
  const std::string path = Path("enc.json");
  absl::StatusOr<Wallet> w = CreateWallet(path, Fast("s3cret"));
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_TRUE(w->encrypted);
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  EXPECT_EQ(text.str().find(HexEncode(w->key.seed())), std::string::npos)
      << "the seed is in the file in clear";

  int calls = 0;
  absl::StatusOr<Wallet> loaded = LoadWallet(path, Give("s3cret", &calls));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(loaded->key.seed(), w->key.seed());
  EXPECT_TRUE(loaded->encrypted);

  absl::StatusOr<Wallet> wrong = LoadWallet(path, Give("S3cret"));
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(wrong.status().message(),
            "wrong passphrase or damaged wallet file " + path);

  absl::StatusOr<Wallet> none = LoadWallet(path);
  EXPECT_EQ(none.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(none.status().message().find("--passphrase-file"),
            std::string::npos);

  // The callback's own error comes back as it is.
  absl::StatusOr<Wallet> refused =
      LoadWallet(path, []() -> absl::StatusOr<std::string> {
        return absl::FailedPreconditionError("no terminal");
      });
  EXPECT_EQ(refused.status().message(), "no terminal");
}

TEST_F(WalletTest, PlaintextLoadDoesNotAskForAPassphrase) {
  const std::string path = Path("plain.json");
  ASSERT_TRUE(CreateWallet(path).ok());
  int calls = 0;
  absl::StatusOr<Wallet> w = LoadWallet(path, Give("x", &calls));
  ASSERT_TRUE(w.ok());
  EXPECT_FALSE(w->encrypted);
  EXPECT_EQ(calls, 0);
}

TEST_F(WalletTest, TruncatedEncryptedFileNamesThePath) {
  const std::string path = Path("enc.json");
  ASSERT_TRUE(CreateWallet(path, Fast("pw")).ok());
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  for (size_t keep :
       {size_t{0}, size_t{1}, text.str().size() / 2, text.str().size() - 3}) {
    Write(path, text.str().substr(0, keep));
    absl::StatusOr<Wallet> w = LoadWallet(path, Give("pw"));
    EXPECT_EQ(w.status().code(), absl::StatusCode::kInvalidArgument) << keep;
    EXPECT_NE(w.status().message().find("wallet file " + path),
              std::string::npos)
        << w.status();
  }
}

TEST_F(WalletTest, HugeFileIsRefusedUnparsed) {
  const std::string path = Path("huge.json");
  Write(path, std::string(kMaxWalletFileBytes + 1, ' '));
  absl::StatusOr<Wallet> w = LoadWallet(path, Give("pw"));
  EXPECT_EQ(w.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(w.status().message().find("larger than"), std::string::npos);
}

TEST_F(WalletTest, EncryptRefusesEmptyOrHugePassphraseAndBadParameters) {
  absl::StatusOr<PrivateKey> key = PrivateKey::Generate();
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(EncryptWalletJson(*key, Fast("")).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      EncryptWalletJson(*key, Fast(std::string(kMaxPassphraseBytes + 1, 'a')))
          .status()
          .code(),
      absl::StatusCode::kInvalidArgument);
  WalletWriteOptions o = Fast("pw");
  o.scrypt.log2_n = kMaxLog2N + 1;
  EXPECT_EQ(EncryptWalletJson(*key, o).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Fresh salt and nonce each time.
  absl::StatusOr<std::string> a = EncryptWalletJson(*key, Fast("pw"));
  absl::StatusOr<std::string> b = EncryptWalletJson(*key, Fast("pw"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(nlohmann::json::parse(*a)["nonce"],
            nlohmann::json::parse(*b)["nonce"]);
  EXPECT_NE(nlohmann::json::parse(*a)["scrypt"]["salt"],
            nlohmann::json::parse(*b)["scrypt"]["salt"]);
}

TEST_F(WalletTest, DefaultWriterParametersAreTheDocumentedOnes) {
  absl::StatusOr<PrivateKey> key = PrivateKey::Generate();
  ASSERT_TRUE(key.ok());
  WalletWriteOptions o;
  o.passphrase = "pw";
  absl::StatusOr<std::string> text = EncryptWalletJson(*key, o);
  ASSERT_TRUE(text.ok()) << text.status();
  nlohmann::json j = nlohmann::json::parse(*text);
  EXPECT_EQ(j["scrypt"]["log2_n"], 15);
  EXPECT_EQ(j["scrypt"]["r"], 8);
  EXPECT_EQ(j["scrypt"]["p"], 1);
  EXPECT_EQ(j["scrypt"]["salt"].get<std::string>().size(), 2 * kSaltBytes);
  absl::StatusOr<Wallet> w = DecryptWalletJson(*text, "pw");
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->key.seed(), key->seed());
}

TEST_F(WalletTest, RewriteConvertsInPlaceWithMode0600AndNoTempLeft) {
  const std::string path = Path("w.json");
  absl::StatusOr<Wallet> plain = CreateWallet(path);
  ASSERT_TRUE(plain.ok());
  chmod(path.c_str(), 0644);  // a loose mode is not kept
  absl::StatusOr<Wallet> enc = RewriteWallet(path, plain->key, Fast("pw"));
  ASSERT_TRUE(enc.ok()) << enc.status();
  EXPECT_TRUE(enc->encrypted);
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  absl::StatusOr<Wallet> back = LoadWallet(path, Give("pw"));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->encrypted);
  EXPECT_EQ(back->key.seed(), plain->key.seed());

  ASSERT_TRUE(RewriteWallet(path, back->key, {}).ok());
  absl::StatusOr<Wallet> again = LoadWallet(path);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_FALSE(again->encrypted);
  EXPECT_EQ(again->key.seed(), plain->key.seed());
  // Only the wallet is left in the directory.
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    ++files;
    EXPECT_EQ(e.path().string(), path);
  }
  EXPECT_EQ(files, 1u);
  // A missing directory fails cleanly.
  EXPECT_EQ(RewriteWallet(Path("no/dir/w.json"), back->key, {}).status().code(),
            absl::StatusCode::kNotFound);
}

// ---------------------------------------------------------------------------
// Passphrase sources (the terminal is not tested here: stdin is redirected).

TEST_F(WalletTest, PassphraseFileFirstLineThenEnvironment) {
  unsetenv(kPassphraseEnvVar);
  const std::string file = Path("pw");
  Write(file, "line one\r\nline two\n");
  absl::StatusOr<std::string> p = GetPassphrase({file}, "w.json", false);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(*p, "line one");
  Write(file, "no newline");
  EXPECT_EQ(*GetPassphrase({file}, "w.json", true), "no newline");

  // The file wins over the environment.
  setenv(kPassphraseEnvVar, "from env", 1);
  EXPECT_EQ(*GetPassphrase({file}, "w.json", false), "no newline");
  EXPECT_EQ(*GetPassphrase({}, "w.json", false), "from env");
  EXPECT_EQ(FindPassphraseSource({}), PassphraseSource::kEnv);
  unsetenv(kPassphraseEnvVar);

  Write(file, "\nsecond");
  absl::StatusOr<std::string> empty = GetPassphrase({file}, "w.json", false);
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(empty.status().message().find("--passphrase-file " + file),
            std::string::npos);
  absl::StatusOr<std::string> missing =
      GetPassphrase({Path("absent")}, "w.json", false);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(GetPassphrase({dir_.string()}, "w.json", false).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(WalletTest, NoSourceIsFailedPreconditionWithHowTo) {
  unsetenv(kPassphraseEnvVar);
  if (isatty(STDIN_FILENO)) GTEST_SKIP() << "stdin is a terminal";
  EXPECT_EQ(FindPassphraseSource({}), PassphraseSource::kNone);
  absl::StatusOr<std::string> p = GetPassphrase({}, "w.json", false);
  EXPECT_EQ(p.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(p.status().message().find("PBCHAIN_PASSPHRASE"), std::string::npos);
}

}  // namespace
}  // namespace pbchain::client
