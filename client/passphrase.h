// Where a wallet passphrase comes from, in this order (docs/OPERATIONS.md,
// "Wallet passphrases"):
//   1. --passphrase-file FILE: its first line (without "\n" / "\r\n");
//   2. $PBCHAIN_PASSPHRASE when set and non-empty;
//   3. a prompt on the terminal (only when standard input is a terminal):
//      written to and read from /dev/tty with echo off; a new passphrase is
//      asked twice.
// With none of these, the caller gets FAILED_PRECONDITION saying how to
// give one. Main thread only (the prompt changes the terminal's modes).
#ifndef PBCHAIN_CLIENT_PASSPHRASE_H_
#define PBCHAIN_CLIENT_PASSPHRASE_H_

#include <string>

#include "absl/status/statusor.h"
#include "client/wallet.h"

namespace pbchain::client {

// Environment variable holding a wallet passphrase.
inline constexpr char kPassphraseEnvVar[] = "PBCHAIN_PASSPHRASE";

struct PassphraseOptions {
  std::string file;  // --passphrase-file; empty = none
};

enum class PassphraseSource { kNone, kFile, kEnv, kTerminal };

// Which source GetPassphrase would use. Reads only the environment and
// isatty(0).
PassphraseSource FindPassphraseSource(const PassphraseOptions& options);

// The passphrase for wallet file `wallet_path` (named in the prompt). With
// `is_new` (a passphrase to encrypt with) the terminal asks twice and
// INVALID_ARGUMENT "the passphrases do not match" if they differ.
// INVALID_ARGUMENT "--passphrase-file FILE: ..." if the file cannot be read,
// is empty or too long; INVALID_ARGUMENT for an empty passphrase;
// FAILED_PRECONDITION when there is no source.
absl::StatusOr<std::string> GetPassphrase(const PassphraseOptions& options,
                                          const std::string& wallet_path,
                                          bool is_new);

// A LoadWallet callback asking GetPassphrase(options, wallet_path, false).
// `options` is copied.
PassphraseCallback PassphraseFor(const PassphraseOptions& options,
                                 const std::string& wallet_path);

// "warning: wallet file PATH is not encrypted: anyone who can read it can
// spend its coins; encrypt it with `pbcli wallet encrypt --wallet PATH`".
std::string UnencryptedWalletWarning(const std::string& path);

}  // namespace pbchain::client

#endif  // PBCHAIN_CLIENT_PASSPHRASE_H_
