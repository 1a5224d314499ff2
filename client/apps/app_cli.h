// Command-line plumbing shared by pbshop and pbvote (not by the app logic in
// shop.h / voting.h, which never prints): option parsing, exit codes, the
// node connection and wait options from flags, and a line reader for the
// interactive modes. Used from the main thread of the app binaries only.
#ifndef PBCHAIN_CLIENT_APPS_APP_CLI_H_
#define PBCHAIN_CLIENT_APPS_APP_CLI_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/inclusion.h"
#include "client/node_client.h"

namespace pbchain::apps::cli {

// Exit codes, as pbcli's.
inline constexpr int kExitOk = 0;       // success; a write confirmed
inline constexpr int kExitFailure = 1;  // runtime failure or refused/rejected
inline constexpr int kExitUsage = 2;    // bad usage or bad input
inline constexpr int kExitPending = 3;  // a write still pending after the wait

// Parsed command line: positional arguments, --name value options, flags.
struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;
  bool json = false;
  bool help = false;

  // The value of --name, or nullptr.
  const std::string* Get(const std::string& name) const;
};

// Parses argv. `value_options` take a value (--name V or --name=V); --json
// and --help/-h are flags; "--" ends the options. False with `error` set on
// an unknown option, a missing value, or a value given to a flag.
bool ParseArgs(int argc, char** argv,
               const std::vector<std::string>& value_options, Args& out,
               std::string& error);

// A duration: plain digits = seconds, or absl's form (500ms, 10s, 2m).
// INVALID_ARGUMENT naming --`what` unless positive and finite.
absl::StatusOr<absl::Duration> ParseDuration(const std::string& text,
                                             std::string_view what);

// The exit code for a failed status: kExitUsage for INVALID_ARGUMENT,
// kExitFailure otherwise.
int ExitCodeFor(const absl::Status& status);

// The exit code for a write's outcome: 0 confirmed/accepted, 1 rejected,
// 3 pending.
int ExitCodeFor(client::Outcome outcome);

// A NodeClient for --node (else $PBCHAIN_NODE, else 127.0.0.1:7701) and
// --timeout. INVALID_ARGUMENT for bad values.
absl::StatusOr<std::unique_ptr<client::NodeClient>> ConnectNode(
    const Args& args);

// Wait options from --wait-timeout (default 60 s; one confirmation).
absl::StatusOr<client::WaitOptions> WaitOptionsFrom(const Args& args);

// --fee F, else `default_fee`. INVALID_ARGUMENT for a bad number.
absl::StatusOr<uint64_t> FeeFrom(const Args& args, uint64_t default_fee);

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
