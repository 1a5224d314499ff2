#include "client/wallet.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "chain/bytes.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"
#include "openssl/crypto.h"
#include "openssl/evp.h"
#include "openssl/kdf.h"
#include "openssl/rand.h"

namespace pbchain::client {
namespace {

absl::Status ErrnoStatus(int err, const std::string& what) {
  std::string msg = absl::StrCat(what, ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(msg);
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(msg);
    case EEXIST:
      return absl::AlreadyExistsError(msg);
    default:
      return absl::InternalError(msg);
  }
}

absl::StatusOr<std::string> HexField(const nlohmann::json& j, const char* name,
                                     size_t bytes, bool required) {
  if (!j.contains(name)) {
    if (required) {
      return absl::InvalidArgumentError(
          absl::StrCat("wallet: missing field \"", name, "\""));
    }
    return std::string();
  }
  if (!j[name].is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat("wallet: field \"", name, "\" must be a string"));
  }
  std::string text = j[name].get<std::string>();
  absl::StatusOr<Bytes> raw = HexDecode(text);
  if (!raw.ok() || raw->size() != bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "wallet: field \"", name, "\" must be ", 2 * bytes, " hex chars"));
  }
  return std::string(raw->begin(), raw->end());
}

// The scrypt parameter checks of writers and readers (see wallet.h).
absl::Status CheckScrypt(const ScryptParams& s) {
  if (s.log2_n < kMinLog2N || s.log2_n > kMaxLog2N) {
    return absl::InvalidArgumentError(absl::StrCat("scrypt log2_n ", s.log2_n,
                                                   " is outside [", kMinLog2N,
                                                   ", ", kMaxLog2N, "]"));
  }
  if (s.r < 1 || s.r > kMaxScryptR) {
    return absl::InvalidArgumentError(
        absl::StrCat("scrypt r ", s.r, " is outside [1, ", kMaxScryptR, "]"));
  }
  if (s.p < 1 || s.p > kMaxScryptP) {
    return absl::InvalidArgumentError(
        absl::StrCat("scrypt p ", s.p, " is outside [1, ", kMaxScryptP, "]"));
  }
  // RFC 7914: N < 2^(128 * r / 8), i.e. log2_n < 16 * r (OpenSSL refuses
  // the others); only r = 1 with log2_n >= 16 is in the ranges above.
  if (static_cast<uint64_t>(s.log2_n) >= uint64_t{16} * s.r) {
    return absl::InvalidArgumentError(
        absl::StrCat("scrypt log2_n ", s.log2_n, " needs r > ", s.log2_n / 16,
                     " (RFC 7914: log2_n < 16 * r)"));
  }
  const uint64_t memory = uint64_t{128} * s.r * (uint64_t{1} << s.log2_n);
  if (memory > kMaxScryptMemoryBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("scrypt needs ", memory, " bytes (128 * r * N), over ",
                     "the limit of ", kMaxScryptMemoryBytes));
  }
  return absl::OkStatus();
}

absl::Status CheckPassphrase(std::string_view passphrase) {
  if (passphrase.empty()) {
    return absl::InvalidArgumentError("the passphrase must not be empty");
  }
  if (passphrase.size() > kMaxPassphraseBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the passphrase is longer than ", kMaxPassphraseBytes, " bytes"));
  }
  return absl::OkStatus();
}

// A 32-byte key from scrypt; the checks above were made.
absl::StatusOr<std::array<uint8_t, 32>> DeriveKey(std::string_view passphrase,
                                                  ByteSpan salt,
                                                  const ScryptParams& s) {
  std::array<uint8_t, 32> key{};
  // Slack over 128 * r * N for scrypt's other buffers (128 * r * p).
  const uint64_t maxmem = uint64_t{128} * s.r * (uint64_t{1} << s.log2_n) +
                          uint64_t{128} * s.r * s.p + (uint64_t{1} << 20);
  if (EVP_PBE_scrypt(passphrase.data(), passphrase.size(), salt.data(),
                     salt.size(), uint64_t{1} << s.log2_n, s.r, s.p, maxmem,
                     key.data(), key.size()) != 1) {
    return absl::InternalError("scrypt failed (out of memory?)");
  }
  return key;
}

// ChaCha20-Poly1305 seal (encrypt = true: returns ciphertext || tag) or open
// (encrypt = false: `in` is ciphertext || tag; nullopt if it does not
// authenticate).
std::optional<Bytes> Aead(bool encrypt, const std::array<uint8_t, 32>& key,
                          ByteSpan nonce, std::string_view aad, ByteSpan in) {
  if (!encrypt && in.size() < kTagBytes) return std::nullopt;
  const size_t text_len = encrypt ? in.size() : in.size() - kTagBytes;
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr) return std::nullopt;
  Bytes out(text_len + (encrypt ? kTagBytes : 0));
  int len = 0;
  bool ok = EVP_CipherInit_ex(ctx, EVP_chacha20_poly1305(), nullptr, nullptr,
                              nullptr, encrypt ? 1 : 0) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN,
                                static_cast<int>(nonce.size()), nullptr) == 1 &&
            EVP_CipherInit_ex(ctx, nullptr, nullptr, key.data(), nonce.data(),
                              encrypt ? 1 : 0) == 1 &&
            EVP_CipherUpdate(ctx, nullptr, &len,
                             reinterpret_cast<const uint8_t*>(aad.data()),
                             static_cast<int>(aad.size())) == 1 &&
            EVP_CipherUpdate(ctx, out.data(), &len, in.data(),
                             static_cast<int>(text_len)) == 1;
  if (ok && !encrypt) {
    ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG,
                             static_cast<int>(kTagBytes),
                             const_cast<uint8_t*>(in.data() + text_len)) == 1;
  }
  int final_len = 0;
  ok = ok && EVP_CipherFinal_ex(ctx, out.data() + len, &final_len) == 1;
  if (ok && encrypt) {
    ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG,
                             static_cast<int>(kTagBytes),
                             out.data() + text_len) == 1;
  }
  EVP_CIPHER_CTX_free(ctx);
  if (!ok) {
    OPENSSL_cleanse(out.data(), out.size());
    return std::nullopt;
  }
  return out;
}

absl::Status Malformed(absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("not a valid encrypted wallet: ", why));
}

// An unsigned integer field of `j` in [0, 2^32).
absl::StatusOr<uint32_t> UintField(const nlohmann::json& j, const char* name) {
  if (!j.contains(name) || !j[name].is_number_unsigned() ||
      j[name].get<uint64_t>() > 0xffffffffu) {
    return Malformed(
        absl::StrCat("field \"", name, "\" must be a small whole number"));
  }
  return static_cast<uint32_t>(j[name].get<uint64_t>());
}

absl::StatusOr<Bytes> HexBytesField(const nlohmann::json& j, const char* name) {
  if (!j.contains(name) || !j[name].is_string()) {
    return Malformed(absl::StrCat("field \"", name, "\" must be a hex string"));
  }
  absl::StatusOr<Bytes> raw = HexDecode(j[name].get<std::string>());
  if (!raw.ok()) {
    return Malformed(absl::StrCat("field \"", name, "\" is not hex"));
  }
  return *raw;
}

absl::StatusOr<std::string> StringField(const nlohmann::json& j,
                                        const char* name) {
  if (!j.contains(name) || !j[name].is_string()) {
    return Malformed(absl::StrCat("field \"", name, "\" must be a string"));
  }
  return j[name].get<std::string>();
}

// Writes all of `data` to `fd`, fsyncs and closes it. On error the fd is
// closed and errno's status returned.
absl::Status WriteSyncClose(int fd, const std::string& data,
                            const std::string& what) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      close(fd);
      return ErrnoStatus(err, what);
    }
    done += static_cast<size_t>(n);
  }
  int rc = fsync(fd);
  int err = errno;
  if (close(fd) != 0 && rc == 0) {
    rc = -1;
    err = errno;
  }
  if (rc != 0) return ErrnoStatus(err, what);
  return absl::OkStatus();
}

// The file text for `key` under `options`.
absl::StatusOr<std::string> WalletText(const PrivateKey& key,
                                       const WalletWriteOptions& options) {
  if (!options.passphrase) return WalletToJson(key);
  return EncryptWalletJson(key, options);
}

}  // namespace

WalletWriteOptions::~WalletWriteOptions() {
  if (passphrase) WipeSecret(*passphrase);
}

void WipeSecret(std::string& secret) {
  OPENSSL_cleanse(secret.data(), secret.capacity());
  secret.clear();
}

std::string DefaultWalletPath() {
  const char* env = std::getenv(kWalletEnvVar);
  if (env != nullptr && *env != '\0') return env;
  return kDefaultWalletPath;
}

absl::StatusOr<Wallet> WalletFromJson(std::string_view json) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError(
        "wallet: not a JSON object (damaged or truncated file?)");
  }
  PBCHAIN_ASSIGN_OR_RETURN(std::string seed, HexField(j, "seed", 32, true));
  PBCHAIN_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::FromSeed(AsBytes(seed)));
  PBCHAIN_ASSIGN_OR_RETURN(std::string pub,
                           HexField(j, "public_key", 32, false));
  if (!pub.empty() &&
      !std::equal(pub.begin(), pub.end(), key.public_key().begin(),
                  key.public_key().end(), [](char a, uint8_t b) {
                    return static_cast<uint8_t>(a) == b;
                  })) {
    return absl::InvalidArgumentError(
        "wallet: public_key does not match the seed (corrupt wallet file?)");
  }
  const Address address = AddressFromPublicKey(key.public_key());
  if (j.contains("address")) {
    if (!j["address"].is_string()) {
      return absl::InvalidArgumentError(
          "wallet: field \"address\" must be a string");
    }
    absl::StatusOr<Address> stored =
        Address::FromText(j["address"].get<std::string>());
    if (!stored.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("wallet: address: ", stored.status().message()));
    }
    if (*stored != address) {
      return absl::InvalidArgumentError(
          absl::StrCat("wallet: address ", stored->ToText(),
                       " does not belong to the key (the key's address is ",
                       address.ToText(), ")"));
    }
  }
  return Wallet{std::move(key), address, ""};
}

std::string WalletToJson(const PrivateKey& key) {
  nlohmann::ordered_json j;
  j["seed"] = HexEncode(key.seed());
  j["public_key"] = HexEncode(key.public_key());
  j["address"] = AddressFromPublicKey(key.public_key()).ToText();
  return j.dump(2) + "\n";
}

bool IsEncryptedWalletJson(std::string_view json) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  return !j.is_discarded() && j.is_object() && j.contains("format") &&
         j["format"].is_string() &&
         j["format"].get<std::string>() == kEncryptedWalletFormat;
}

std::string WalletAad(const ScryptParams& scrypt, ByteSpan salt, ByteSpan nonce,
                      std::string_view address) {
  return absl::StrCat(kEncryptedWalletFormat, "/", kEncryptedWalletVersion,
                      " scrypt log2_n=", scrypt.log2_n, " r=", scrypt.r,
                      " p=", scrypt.p, " salt=", HexEncode(salt),
                      " chacha20-poly1305 nonce=", HexEncode(nonce),
                      " address=", std::string(address));
}

absl::StatusOr<std::string> EncryptWalletJson(
    const PrivateKey& key, const WalletWriteOptions& options) {
  if (!options.passphrase) {
    return absl::InvalidArgumentError("no passphrase to encrypt with");
  }
  PBCHAIN_RETURN_IF_ERROR(CheckPassphrase(*options.passphrase));
  PBCHAIN_RETURN_IF_ERROR(CheckScrypt(options.scrypt));
  Bytes salt = options.salt;
  Bytes nonce = options.nonce;
  if (salt.empty()) {
    salt.resize(kSaltBytes);
    if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) {
      return absl::InternalError("RAND_bytes failed");
    }
  }
  if (nonce.empty()) {
    nonce.resize(kNonceBytes);
    if (RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) != 1) {
      return absl::InternalError("RAND_bytes failed");
    }
  }
  if (salt.size() < kMinSaltBytes || salt.size() > kMaxSaltBytes ||
      nonce.size() != kNonceBytes) {
    return absl::InvalidArgumentError("bad salt or nonce size");
  }
  const std::string address = AddressFromPublicKey(key.public_key()).ToText();
  PBCHAIN_ASSIGN_OR_RETURN(
      auto aead_key, DeriveKey(*options.passphrase, salt, options.scrypt));
  std::optional<Bytes> sealed =
      Aead(true, aead_key, nonce,
           WalletAad(options.scrypt, salt, nonce, address), key.seed());
  OPENSSL_cleanse(aead_key.data(), aead_key.size());
  if (!sealed) return absl::InternalError("ChaCha20-Poly1305 failed");
  nlohmann::ordered_json j;
  j["format"] = kEncryptedWalletFormat;
  j["version"] = kEncryptedWalletVersion;
  j["address"] = address;
  j["kdf"] = "scrypt";
  j["scrypt"] = {{"log2_n", options.scrypt.log2_n},
                 {"r", options.scrypt.r},
                 {"p", options.scrypt.p},
                 {"salt", HexEncode(salt)}};
  j["cipher"] = "chacha20-poly1305";
  j["nonce"] = HexEncode(nonce);
  j["ciphertext"] = HexEncode(*sealed);
  return j.dump(2) + "\n";
}

absl::StatusOr<Wallet> DecryptWalletJson(std::string_view json,
                                         std::string_view passphrase) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Malformed("not a JSON object (truncated?)");
  }
  PBCHAIN_ASSIGN_OR_RETURN(std::string format, StringField(j, "format"));
  if (format != kEncryptedWalletFormat) {
    return Malformed(absl::StrCat("unknown format \"", format, "\""));
  }
  PBCHAIN_ASSIGN_OR_RETURN(uint32_t version, UintField(j, "version"));
  if (version != kEncryptedWalletVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("encrypted wallet version ", version,
                     " is not supported (this program reads version ",
                     kEncryptedWalletVersion, ")"));
  }
  PBCHAIN_ASSIGN_OR_RETURN(std::string kdf, StringField(j, "kdf"));
  if (kdf != "scrypt") {
    return Malformed(absl::StrCat("unknown kdf \"", kdf, "\""));
  }
  PBCHAIN_ASSIGN_OR_RETURN(std::string cipher, StringField(j, "cipher"));
  if (cipher != "chacha20-poly1305") {
    return Malformed(absl::StrCat("unknown cipher \"", cipher, "\""));
  }
  if (!j.contains("scrypt") || !j["scrypt"].is_object()) {
    return Malformed("field \"scrypt\" must be an object");
  }
  const nlohmann::json& sj = j["scrypt"];
  ScryptParams params;
  PBCHAIN_ASSIGN_OR_RETURN(uint32_t log2_n, UintField(sj, "log2_n"));
  params.log2_n = log2_n > 64 ? 64 : static_cast<int>(log2_n);
  PBCHAIN_ASSIGN_OR_RETURN(params.r, UintField(sj, "r"));
  PBCHAIN_ASSIGN_OR_RETURN(params.p, UintField(sj, "p"));
  if (absl::Status s = CheckScrypt(params); !s.ok()) {
    return Malformed(s.message());
  }
  PBCHAIN_ASSIGN_OR_RETURN(Bytes salt, HexBytesField(sj, "salt"));
  if (salt.size() < kMinSaltBytes || salt.size() > kMaxSaltBytes) {
    return Malformed(absl::StrCat("salt must be ", kMinSaltBytes, " to ",
                                  kMaxSaltBytes, " bytes"));
  }
  PBCHAIN_ASSIGN_OR_RETURN(Bytes nonce, HexBytesField(j, "nonce"));
  if (nonce.size() != kNonceBytes) {
    return Malformed(absl::StrCat("nonce must be ", kNonceBytes, " bytes"));
  }
  PBCHAIN_ASSIGN_OR_RETURN(Bytes sealed, HexBytesField(j, "ciphertext"));
  if (sealed.size() != 32 + kTagBytes) {
    return Malformed(
        absl::StrCat("ciphertext must be ", 32 + kTagBytes, " bytes"));
  }
  PBCHAIN_ASSIGN_OR_RETURN(std::string address_text, StringField(j, "address"));
  absl::StatusOr<Address> address = Address::FromText(address_text);
  if (!address.ok()) {
    return Malformed(absl::StrCat("address: ", address.status().message()));
  }
  PBCHAIN_RETURN_IF_ERROR(CheckPassphrase(passphrase));
  PBCHAIN_ASSIGN_OR_RETURN(auto aead_key, DeriveKey(passphrase, salt, params));
  // The AAD is rebuilt from the values, so a reader never depends on how
  // the JSON was spelled.
  std::optional<Bytes> seed =
      Aead(false, aead_key, nonce,
           WalletAad(params, salt, nonce, address->ToText()), sealed);
  OPENSSL_cleanse(aead_key.data(), aead_key.size());
  const absl::Status wrong =
      absl::InvalidArgumentError("wrong passphrase or damaged wallet file");
  if (!seed) return wrong;
  absl::StatusOr<PrivateKey> key = PrivateKey::FromSeed(*seed);
  OPENSSL_cleanse(seed->data(), seed->size());
  if (!key.ok()) return key.status();
  if (AddressFromPublicKey(key->public_key()) != *address) return wrong;
  return Wallet{*std::move(key), *address, "", true};
}

absl::StatusOr<Wallet> LoadWallet(const std::string& path,
                                  const PassphraseCallback& passphrase) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
  // writer forever; it is refused below like any other non-regular file.
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT || err == ENOTDIR) {
      return absl::NotFoundError(absl::StrCat(
          "wallet file ", path,
          " not found; create one with `pbcli keygen`, or pass --wallet FILE "
          "or set $",
          kWalletEnvVar));
    }
    return ErrnoStatus(err, absl::StrCat("cannot read wallet file ", path));
  }
  if (struct stat st; fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return absl::InvalidArgumentError(
        absl::StrCat("wallet file ", path, ": not a regular file"));
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  std::string text;
  char buf[4096];
  while (true) {
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      close(fd);
      return ErrnoStatus(err, absl::StrCat("cannot read wallet file ", path));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxWalletFileBytes) {
      close(fd);
      return absl::InvalidArgumentError(
          absl::StrCat("wallet file ", path, ": larger than ",
                       kMaxWalletFileBytes, " bytes; not a wallet file"));
    }
  }
  close(fd);
  absl::StatusOr<Wallet> w;
  if (IsEncryptedWalletJson(text)) {
    if (!passphrase) {
      return absl::FailedPreconditionError(
          absl::StrCat("wallet file ", path,
                       " is encrypted; give --passphrase-file FILE or set "
                       "$PBCHAIN_PASSPHRASE"));
    }
    absl::StatusOr<std::string> secret = passphrase();
    if (!secret.ok()) return secret.status();
    w = DecryptWalletJson(text, *secret);
    OPENSSL_cleanse(secret->data(), secret->size());
    if (!w.ok() &&
        absl::StrContains(w.status().message(), "wrong passphrase")) {
      return absl::InvalidArgumentError(
          absl::StrCat("wrong passphrase or damaged wallet file ", path));
    }
  } else {
    w = WalletFromJson(text);
  }
  OPENSSL_cleanse(text.data(), text.size());
  if (!w.ok()) {
    absl::string_view why = w.status().message();
    absl::ConsumePrefix(&why, "wallet: ");
    return absl::Status(w.status().code(),
                        absl::StrCat("wallet file ", path, ": ", why));
  }
  w->path = path;
  return w;
}

absl::StatusOr<Wallet> SaveNewWallet(const std::string& path,
                                     const PrivateKey& key,
                                     const WalletWriteOptions& options) {
  PBCHAIN_ASSIGN_OR_RETURN(std::string text, WalletText(key, options));
  const int fd =
      open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int err = errno;
    if (err == EEXIST) {
      return absl::AlreadyExistsError(
          absl::StrCat("wallet file ", path, " exists; not overwriting it"));
    }
    return ErrnoStatus(err, absl::StrCat("cannot create wallet file ", path));
  }
  fchmod(fd, 0600);  // in case the umask was stricter than needed: exact mode
  absl::Status s =
      WriteSyncClose(fd, text, absl::StrCat("cannot write wallet file ", path));
  OPENSSL_cleanse(text.data(), text.size());
  if (!s.ok()) {
    unlink(path.c_str());
    return s;
  }
  return Wallet{key, AddressFromPublicKey(key.public_key()), path,
                options.passphrase.has_value()};
}

absl::StatusOr<Wallet> CreateWallet(const std::string& path,
                                    const WalletWriteOptions& options) {
  // Refuse early, before generating a key, so the message is the same.
  struct stat st;
  if (lstat(path.c_str(), &st) == 0) {
    return absl::AlreadyExistsError(
        absl::StrCat("wallet file ", path, " exists; not overwriting it"));
  }
  PBCHAIN_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Generate());
  return SaveNewWallet(path, key, options);
}

absl::StatusOr<Wallet> RewriteWallet(const std::string& path,
                                     const PrivateKey& key,
                                     const WalletWriteOptions& options) {
  // The file itself, not a symlink to it: renaming over the link would
  // leave the real file (the old form, perhaps plaintext) where it was.
  char* resolved = realpath(path.c_str(), nullptr);
  if (resolved == nullptr) {
    return ErrnoStatus(errno,
                       absl::StrCat("cannot resolve wallet file ", path));
  }
  const std::string target = resolved;
  std::free(resolved);
  struct stat st;
  if (lstat(target.c_str(), &st) != 0) {
    return ErrnoStatus(errno, absl::StrCat("cannot read wallet file ", path));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("wallet file ", path, ": not a regular file"));
  }
  if (st.st_nlink > 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "wallet file ", path, " has ", st.st_nlink,
        " hard links: the other names would keep the old contents; remove "
        "them (or copy the file) and run again"));
  }
  PBCHAIN_ASSIGN_OR_RETURN(std::string text, WalletText(key, options));
  std::string tmp = target + ".tmp-XXXXXX";
  const int fd = mkostemp(tmp.data(), O_CLOEXEC);  // mode 0600
  if (fd < 0) {
    return ErrnoStatus(
        errno, absl::StrCat("cannot create a temp file next to ", path));
  }
  fchmod(fd, 0600);
  absl::Status s =
      WriteSyncClose(fd, text, absl::StrCat("cannot write wallet file ", tmp));
  OPENSSL_cleanse(text.data(), text.size());
  if (s.ok() && rename(tmp.c_str(), target.c_str()) != 0) {
    s = ErrnoStatus(errno, absl::StrCat("cannot replace wallet file ", path));
  }
  if (!s.ok()) {
    unlink(tmp.c_str());
    return s;
  }
  // The rename itself is durable once the directory is synced (`target`
  // is absolute).
  const size_t slash = target.rfind('/');
  const std::string dir = slash == 0 ? "/" : target.substr(0, slash);
  if (const int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return Wallet{key, AddressFromPublicKey(key.public_key()), path,
                options.passphrase.has_value()};
}

}  // namespace pbchain::client
