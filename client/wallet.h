// Wallet files: one Ed25519 key as JSON {"seed", "public_key", "address"}
// (hex seed and key, address text), the format `pbtool keygen` writes. Files
// are created with mode 0600 and never overwritten.
#ifndef PBCHAIN_CLIENT_WALLET_H_
#define PBCHAIN_CLIENT_WALLET_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "chain/address.h"
#include "chain/keys.h"

namespace pbchain::client {

// Environment variable naming the default wallet file.
inline constexpr char kWalletEnvVar[] = "PBCHAIN_WALLET";
// Default wallet file when neither a flag nor $PBCHAIN_WALLET names one.
inline constexpr char kDefaultWalletPath[] = "./wallet.json";

// One key and its address. A plain value; copyable; thread-compatible.
struct Wallet {
  PrivateKey key;
  Address address;   // AddressFromPublicKey(key.public_key())
  std::string path;  // file it was loaded from / written to; may be empty
};

// $PBCHAIN_WALLET if set and non-empty, else kDefaultWalletPath. Any thread.
std::string DefaultWalletPath();

// Parses wallet JSON. Needs "seed" (64 hex chars); "public_key" and "address"
// are optional but, when present, must match the key derived from the seed.
// INVALID_ARGUMENT naming the problem (not JSON, missing/ill-typed field, bad
// hex, public_key or address not matching the seed). Pure; any thread.
absl::StatusOr<Wallet> WalletFromJson(std::string_view json);

// The JSON text of `key` (pretty, trailing newline), exactly as pbtool keygen
// writes it. Pure; any thread.
std::string WalletToJson(const PrivateKey& key);

// Reads and parses the wallet file at `path`. NOT_FOUND with a hint ("create
// one with `pbcli keygen`, or pass --wallet / set $PBCHAIN_WALLET") when the
// file does not exist; PERMISSION_DENIED / INTERNAL if it cannot be read;
// INVALID_ARGUMENT (prefixed with the path) if its content is bad.
absl::StatusOr<Wallet> LoadWallet(const std::string& path);

// Generates a new key and writes it to `path` (mode 0600, created
// exclusively). ALREADY_EXISTS if `path` exists (never overwrites);
// NOT_FOUND / PERMISSION_DENIED / INTERNAL if the file cannot be written.
absl::StatusOr<Wallet> CreateWallet(const std::string& path);

// Writes `key` to a new file `path` (mode 0600, exclusive create); same
// errors as CreateWallet.
absl::StatusOr<Wallet> SaveNewWallet(const std::string& path,
                                     const PrivateKey& key);

}  // namespace pbchain::client

#endif  // PBCHAIN_CLIENT_WALLET_H_
