// Command-line plumbing shared by pbshop and pbvote (not by the app logic in
// shop.h / voting.h, which never prints): their common options (parsed by
// CLI11 through client/cli_app.h), exit codes for statuses and outcomes
// (common/exit_codes.h), the node connection and wait options from the
// options, and a line reader for the interactive modes. Used from the main
// thread of the app binaries only.
#ifndef PBCHAIN_CLIENT_APPS_APP_CLI_H_
#define PBCHAIN_CLIENT_APPS_APP_CLI_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/inclusion.h"
#include "client/node_client.h"
#include "client/wallet.h"
#include "common/tls.h"

namespace pbchain::apps::cli {

// The options pbshop and pbvote share with pbcli.
struct CommonOptions {
  std::string node = client::kDefaultNodeAddress;  // else $PBCHAIN_NODE
  std::string wallet;                              // else $PBCHAIN_WALLET
  std::string passphrase_file;  // --passphrase-file (else $PBCHAIN_PASSPHRASE)
  ClientTlsFiles tls;           // --tls-ca, --tls-client-cert, --tls-client-key
  bool json = false;
  std::optional<std::string> fee;
  std::optional<std::string> wait_timeout;
  std::optional<std::string> timeout;
};

// Adds --node (or $PBCHAIN_NODE), --wallet (or $PBCHAIN_WALLET, else
// `default_wallet`), --passphrase-file, --tls-ca (or $PBCHAIN_TLS_CA),
// --tls-client-cert / --tls-client-key (or $PBCHAIN_TLS_CLIENT_CERT /
// _KEY), --json, --fee, --wait-timeout and --timeout to `app`, stored in
// `options` (which must outlive the parse).
void AddCommonOptions(CLI::App& app, const std::string& default_wallet,
                      CommonOptions& options);

// Adds --NAME, taking a value, to `app`, stored in `value` (nullopt when not
// given; given twice, the last value, as pbchain::cli::CommandLine sets
// `app` up). `type` names the value in messages ("FILE").
CLI::Option* AddValueOption(CLI::App& app, const std::string& name,
                            const std::string& type,
                            std::optional<std::string>& value);

// A duration: plain digits = seconds, or absl's form (500ms, 10s, 2m).
// INVALID_ARGUMENT naming --`what` unless positive and finite.
absl::StatusOr<absl::Duration> ParseDuration(const std::string& text,
                                             std::string_view what);

// The exit code for a failed status: pbchain::kExitUsage for
// INVALID_ARGUMENT, pbchain::kExitFailure otherwise.
int ExitCodeFor(const absl::Status& status);

// The exit code for a write's outcome: 0 confirmed/accepted, 1 rejected,
// 3 pending.
int ExitCodeFor(client::Outcome outcome);

// A NodeClient for --node (else $PBCHAIN_NODE, else 127.0.0.1:7701),
// --timeout and the TLS options. INVALID_ARGUMENT for bad values ("--node:
// ..." or "--tls-ca FILE: ...").
absl::StatusOr<std::unique_ptr<client::NodeClient>> ConnectNode(
    const CommonOptions& options);

// Loads the wallet file `path`, asking for the passphrase of an encrypted
// one as client/passphrase.h says (--passphrase-file, $PBCHAIN_PASSPHRASE,
// the terminal), and prints "PROGRAM: warning: ... not encrypted ..." on
// stderr for a plaintext one. Errors as client::LoadWallet, except that a
// missing passphrase (FAILED_PRECONDITION) is INVALID_ARGUMENT (exit 2).
absl::StatusOr<client::Wallet> LoadWallet(const CommonOptions& options,
                                          const std::string& path,
                                          std::string_view program);

// LoadWallet, or when `path` does not exist a new wallet there: encrypted
// with the passphrase when one is available (--passphrase-file,
// $PBCHAIN_PASSPHRASE, or the terminal: asked twice), else plaintext with
// the warning. Sets *created.
absl::StatusOr<client::Wallet> LoadOrCreateWallet(const CommonOptions& options,
                                                  const std::string& path,
                                                  std::string_view program,
                                                  bool* created);

// Wait options from --wait-timeout (default 60 s; one confirmation).
// INVALID_ARGUMENT for a bad duration.
absl::StatusOr<client::WaitOptions> WaitOptionsFrom(
    const CommonOptions& options);

// --fee F, else `default_fee`. INVALID_ARGUMENT for a bad number.
absl::StatusOr<uint64_t> FeeFrom(const CommonOptions& options,
                                 uint64_t default_fee);

// Reads standard input line by line for the interactive modes. Prompts go
// to stdout without a newline; when stdin is not a terminal (a pipe or a
// file) the line read is echoed after the prompt, so that the transcript
// reads like a terminal session.
class LineReader {
 public:
  LineReader();
  // Prints `prompt` followed by a space, then reads one line (without the
  // trailing "\n" or "\r\n"). nullopt at end of input (after ending the
  // prompt line).
  std::optional<std::string> Ask(std::string_view prompt);
  bool echo() const { return echo_; }

 private:
  bool echo_;
};

}  // namespace pbchain::apps::cli

#endif  // PBCHAIN_CLIENT_APPS_APP_CLI_H_
