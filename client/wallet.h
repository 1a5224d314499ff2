// Wallet files: one Ed25519 key per file, in one of two JSON forms
// (docs/PROTOCOL.md, "Wallet file"):
//   - plaintext, {"seed", "public_key", "address"} (hex seed and key,
//     address text), the format `pbtool keygen` and `pbcli keygen
//     --no-encrypt` write;
//   - encrypted (version 1), {"format": "pbchain-encrypted-wallet",
//     "version": 1, "address", "kdf": "scrypt", "scrypt": {"log2_n", "r",
//     "p", "salt"}, "cipher": "chacha20-poly1305", "nonce", "ciphertext"}:
//     the seed sealed with ChaCha20-Poly1305 under a key scrypt derives from
//     a passphrase, the header bound as associated data (WalletAad).
// New files are created with mode 0600 and never overwritten; a wallet is
// converted between the forms in place by RewriteWallet (temp file, fsync,
// rename). Every function here is pure or touches only the named file;
// any thread.
#ifndef PBCHAIN_CLIENT_WALLET_H_
#define PBCHAIN_CLIENT_WALLET_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "chain/address.h"
#include "chain/bytes.h"
#include "chain/keys.h"

namespace pbchain::client {

// Environment variable naming the default wallet file.
inline constexpr char kWalletEnvVar[] = "PBCHAIN_WALLET";
// Default wallet file when neither a flag nor $PBCHAIN_WALLET names one.
inline constexpr char kDefaultWalletPath[] = "./wallet.json";

// The "format" value and version of an encrypted wallet file.
inline constexpr char kEncryptedWalletFormat[] = "pbchain-encrypted-wallet";
inline constexpr int kEncryptedWalletVersion = 1;
// Salt and nonce sizes the writer uses; a reader accepts salts of
// kMinSaltBytes..kMaxSaltBytes and exactly kNonceBytes of nonce.
inline constexpr size_t kSaltBytes = 16;
inline constexpr size_t kMinSaltBytes = 16;
inline constexpr size_t kMaxSaltBytes = 64;
inline constexpr size_t kNonceBytes = 12;  // ChaCha20-Poly1305 (RFC 8439)
inline constexpr size_t kTagBytes = 16;
// Limits on the scrypt parameters a reader accepts, so that a hostile file
// cannot make it allocate gigabytes or spin for minutes: N = 2^log2_n with
// log2_n in [kMinLog2N, kMaxLog2N], r in [1, kMaxScryptR], p in [1,
// kMaxScryptP], log2_n < 16 * r (RFC 7914's N < 2^(16 r)), and scrypt's
// memory 128 * r * N at most kMaxScryptMemoryBytes (256 MiB).
inline constexpr int kMinLog2N = 10;
inline constexpr int kMaxLog2N = 20;
inline constexpr uint32_t kMaxScryptR = 32;
inline constexpr uint32_t kMaxScryptP = 16;
inline constexpr uint64_t kMaxScryptMemoryBytes = uint64_t{256} << 20;
// A wallet file larger than this is refused unread (a real one is < 1 KiB).
inline constexpr size_t kMaxWalletFileBytes = 64 * 1024;
// Passphrases are at most this many bytes (and never empty).
inline constexpr size_t kMaxPassphraseBytes = 1024;

// scrypt cost parameters. The writer's default: N = 2^15, r = 8, p = 1
// (32 MiB, about 0.1 s).
struct ScryptParams {
  int log2_n = 15;
  uint32_t r = 8;
  uint32_t p = 1;
};

// One key and its address. A plain value; copyable; thread-compatible.
struct Wallet {
  PrivateKey key;
  Address address;         // AddressFromPublicKey(key.public_key())
  std::string path;        // file it was loaded from / written to; may be empty
  bool encrypted = false;  // the file was (is now) encrypted
};

// Asks for the passphrase of an encrypted file (called only when the file
// is encrypted, at most once per load). Its error is returned as it is.
using PassphraseCallback = std::function<absl::StatusOr<std::string>()>;

// How to write a wallet file: plaintext when `passphrase` is nullopt, else
// encrypted with it under `scrypt`. `salt` / `nonce`, when non-empty, are
// used instead of fresh random ones (test vectors only: never reuse a nonce).
// The passphrase is wiped when the options are destroyed.
struct WalletWriteOptions {
  std::optional<std::string> passphrase;
  ScryptParams scrypt;
  Bytes salt;
  Bytes nonce;
  ~WalletWriteOptions();
};

// Overwrites the whole buffer of `secret` (its capacity, so bytes past a
// shrink or left by a move are wiped too) with OPENSSL_cleanse, then
// empties it.
void WipeSecret(std::string& secret);

// $PBCHAIN_WALLET if set and non-empty, else kDefaultWalletPath. Any thread.
std::string DefaultWalletPath();

// Parses plaintext wallet JSON. Needs "seed" (64 hex chars); "public_key"
// and "address" are optional but, when present, must match the key derived
// from the seed. INVALID_ARGUMENT naming the problem (not JSON,
// missing/ill-typed field, bad hex, public_key or address not matching the
// seed). Pure; any thread.
absl::StatusOr<Wallet> WalletFromJson(std::string_view json);

// The plaintext JSON text of `key` (pretty, trailing newline), exactly as
// pbtool keygen writes it. Pure; any thread.
std::string WalletToJson(const PrivateKey& key);

// True if `json` is an object with "format": kEncryptedWalletFormat. Pure.
bool IsEncryptedWalletJson(std::string_view json);

// The associated data bound to an encrypted wallet's ciphertext: the ASCII
// line "pbchain-encrypted-wallet/1 scrypt log2_n=L r=R p=P salt=HEX
// chacha20-poly1305 nonce=HEX address=pb..." (lowercase hex, decimal
// numbers, single spaces, no newline). Pure.
std::string WalletAad(const ScryptParams& scrypt, ByteSpan salt, ByteSpan nonce,
                      std::string_view address);

// The encrypted-wallet JSON text of `key` under `options` (passphrase
// required). INVALID_ARGUMENT for an empty or over-long passphrase, scrypt
// parameters outside the reader's limits, or a bad salt/nonce size;
// INTERNAL if OpenSSL fails. Pure apart from the random salt and nonce.
absl::StatusOr<std::string> EncryptWalletJson(
    const PrivateKey& key, const WalletWriteOptions& options);

// Opens encrypted-wallet JSON with `passphrase`. INVALID_ARGUMENT for a
// malformed file (missing or ill-typed fields, unknown format, version,
// KDF or cipher, parameters outside the limits above) naming the problem,
// and "wrong passphrase or damaged wallet file" when the ciphertext does
// not open or the key it holds does not match the address. Pure.
absl::StatusOr<Wallet> DecryptWalletJson(std::string_view json,
                                         std::string_view passphrase);

// Reads and parses the wallet file at `path`, plaintext or encrypted (then
// asking `passphrase` for the passphrase; without one, FAILED_PRECONDITION
// "wallet file X is encrypted; ..."). NOT_FOUND with a hint ("create one
// with `pbcli keygen`, or pass --wallet / set $PBCHAIN_WALLET") when the
// file does not exist; PERMISSION_DENIED / INTERNAL if it cannot be read;
// INVALID_ARGUMENT prefixed with "wallet file PATH: " if its content is bad
// (over kMaxWalletFileBytes, truncated, ...), and exactly "wrong passphrase
// or damaged wallet file PATH" when it does not decrypt.
absl::StatusOr<Wallet> LoadWallet(const std::string& path,
                                  const PassphraseCallback& passphrase = {});

// Generates a new key and writes it to `path` (mode 0600, created
// exclusively), encrypted if options.passphrase is set. ALREADY_EXISTS if
// `path` exists (never overwrites); NOT_FOUND / PERMISSION_DENIED /
// INTERNAL if the file cannot be written; INVALID_ARGUMENT as
// EncryptWalletJson.
absl::StatusOr<Wallet> CreateWallet(const std::string& path,
                                    const WalletWriteOptions& options = {});

// Writes `key` to a new file `path` (mode 0600, exclusive create); same
// errors as CreateWallet.
absl::StatusOr<Wallet> SaveNewWallet(const std::string& path,
                                     const PrivateKey& key,
                                     const WalletWriteOptions& options = {});

// Replaces the existing file `path` by `key` written under `options`,
// atomically: a new file "FILE.tmp-XXXXXX" in the same directory (mode
// 0600), written and fsynced, renamed over FILE, then the directory
// fsynced. FILE is `path` with symlinks resolved (realpath), so a link
// keeps pointing at the rewritten file and no old copy is left behind.
// FAILED_PRECONDITION if FILE has other hard links (they would keep the
// old contents, e.g. the plaintext), INVALID_ARGUMENT if it is not a
// regular file. A crash leaves either the old or the new file (and perhaps
// the temp file). Errors as SaveNewWallet (NOT_FOUND if the file or the
// directory is gone).
absl::StatusOr<Wallet> RewriteWallet(const std::string& path,
                                     const PrivateKey& key,
                                     const WalletWriteOptions& options);

}  // namespace pbchain::client

#endif  // PBCHAIN_CLIENT_WALLET_H_
