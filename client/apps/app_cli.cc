#include "client/apps/app_cli.h"

#include <unistd.h>

#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/format.h"
#include "client/passphrase.h"
#include "client/wallet.h"
#include "common/exit_codes.h"
#include "common/status_macros.h"

namespace pbchain::apps::cli {
namespace {

bool IsAllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

void AddCommonOptions(CLI::App& app, const std::string& default_wallet,
                      CommonOptions& options) {
  options.wallet = default_wallet;
  app.add_option("--node", options.node)
      ->type_name("HOST:PORT")
      ->envname("PBCHAIN_NODE");
  app.add_option("--wallet", options.wallet)
      ->type_name("FILE")
      ->envname(client::kWalletEnvVar);
  app.add_option("--passphrase-file", options.passphrase_file)
      ->type_name("FILE");
  app.add_option("--tls-ca", options.tls.ca)
      ->type_name("FILE")
      ->envname("PBCHAIN_TLS_CA");
  app.add_option("--tls-client-cert", options.tls.cert)
      ->type_name("FILE")
      ->envname("PBCHAIN_TLS_CLIENT_CERT");
  app.add_option("--tls-client-key", options.tls.key)
      ->type_name("FILE")
      ->envname("PBCHAIN_TLS_CLIENT_KEY");
  app.add_flag("--json", options.json)->disable_flag_override();
  AddValueOption(app, "fee", "F", options.fee);
  AddValueOption(app, "wait-timeout", "T", options.wait_timeout);
  AddValueOption(app, "timeout", "T", options.timeout);
}

CLI::Option* AddValueOption(CLI::App& app, const std::string& name,
                            const std::string& type,
                            std::optional<std::string>& value) {
  return app
      .add_option_function<std::string>(
          "--" + name, [&value](const std::string& v) { value = v; })
      ->type_name(type);
}

absl::StatusOr<absl::Duration> ParseDuration(const std::string& text,
                                             std::string_view what_view) {
  const std::string what(what_view);
  absl::Duration d;
  uint64_t seconds = 0;
  if (IsAllDigits(text) && absl::SimpleAtoi(text, &seconds) &&
      seconds <= 1'000'000'000) {
    d = absl::Seconds(seconds);
  } else if (!absl::ParseDuration(text, &d)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", what, ": '", text,
                     "' is not a duration (seconds, or e.g. 500ms, 10s, 2m)"));
  }
  if (d <= absl::ZeroDuration() || d == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", what, " must be positive and finite"));
  }
  return d;
}

int ExitCodeFor(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  return status.code() == absl::StatusCode::kInvalidArgument ? kExitUsage
                                                             : kExitFailure;
}

int ExitCodeFor(client::Outcome outcome) {
  switch (outcome) {
    case client::Outcome::kConfirmed:
    case client::Outcome::kAccepted:
      return kExitOk;
    case client::Outcome::kRejected:
      return kExitFailure;
    case client::Outcome::kPending:
      return kExitPending;
  }
  return kExitFailure;
}

absl::StatusOr<std::unique_ptr<client::NodeClient>> ConnectNode(
    const CommonOptions& options) {
  client::NodeClientOptions client_options;
  client_options.address = options.node;
  client_options.tls = options.tls;
  if (options.timeout) {
    PBCHAIN_ASSIGN_OR_RETURN(absl::Duration d,
                             ParseDuration(*options.timeout, "timeout"));
    client_options.call_timeout = d;
  }
  absl::StatusOr<std::unique_ptr<client::NodeClient>> node =
      client::NodeClient::Create(client_options);
  if (!node.ok()) {
    // TLS file errors name their flag already ("--tls-ca FILE: ...").
    const bool named = absl::StartsWith(node.status().message(), "--");
    return absl::InvalidArgumentError(
        absl::StrCat(named ? "" : "--node: ", node.status().message()));
  }
  return node;
}

absl::StatusOr<client::Wallet> LoadWallet(const CommonOptions& options,
                                          const std::string& path,
                                          std::string_view program) {
  absl::StatusOr<client::Wallet> w = client::LoadWallet(
      path, client::PassphraseFor({options.passphrase_file}, path));
  if (!w.ok()) {
    if (w.status().code() == absl::StatusCode::kFailedPrecondition) {
      return absl::InvalidArgumentError(w.status().message());
    }
    return w.status();
  }
  if (!w->encrypted) {
    std::cerr << program << ": " << client::UnencryptedWalletWarning(path)
              << "\n";
  }
  return w;
}

absl::StatusOr<client::Wallet> LoadOrCreateWallet(const CommonOptions& options,
                                                  const std::string& path,
                                                  std::string_view program,
                                                  bool* created) {
  *created = false;
  absl::StatusOr<client::Wallet> w = LoadWallet(options, path, program);
  if (w.ok() || w.status().code() != absl::StatusCode::kNotFound) return w;
  const client::PassphraseOptions source{options.passphrase_file};
  client::WalletWriteOptions write;
  if (client::FindPassphraseSource(source) != client::PassphraseSource::kNone) {
    absl::StatusOr<std::string> passphrase =
        client::GetPassphrase(source, path, /*is_new=*/true);
    if (!passphrase.ok()) {
      return absl::InvalidArgumentError(passphrase.status().message());
    }
    write.passphrase = *passphrase;  // wiped with `write`
    client::WipeSecret(*passphrase);
  }
  w = client::CreateWallet(path, write);
  if (!w.ok()) return w;
  *created = true;
  if (!w->encrypted) {
    std::cerr << program << ": " << client::UnencryptedWalletWarning(path)
              << "\n";
  }
  return w;
}

absl::StatusOr<client::WaitOptions> WaitOptionsFrom(
    const CommonOptions& options) {
  client::WaitOptions wait;
  if (options.wait_timeout) {
    PBCHAIN_ASSIGN_OR_RETURN(
        absl::Duration d, ParseDuration(*options.wait_timeout, "wait-timeout"));
    wait.timeout = d;
  }
  return wait;
}

absl::StatusOr<uint64_t> FeeFrom(const CommonOptions& options,
                                 uint64_t default_fee) {
  if (!options.fee) return default_fee;
  return client::ParseAmount(*options.fee, "--fee");
}

LineReader::LineReader() : echo_(isatty(STDIN_FILENO) == 0) {}

std::optional<std::string> LineReader::Ask(std::string_view prompt) {
  std::cout << prompt << " " << std::flush;
  std::string line;
  if (!std::getline(std::cin, line)) {
    std::cout << std::endl;
    return std::nullopt;
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (echo_) std::cout << line << std::endl;
  return line;
}

}  // namespace pbchain::apps::cli
