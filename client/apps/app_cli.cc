#include "client/apps/app_cli.h"

#include <unistd.h>

#include <cstdlib>
#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/format.h"

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

const std::string* Args::Get(const std::string& name) const {
  auto it = values.find(name);
  return it == values.end() ? nullptr : &it->second;
}

bool ParseArgs(int argc, char** argv,
               const std::vector<std::string>& value_options, Args& out,
               std::string& error) {
  bool only_positional = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (only_positional || arg.size() < 2 || arg[0] != '-' ||
        (arg[1] != '-' && arg != "-h")) {
      out.positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      only_positional = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      out.help = true;
      continue;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (name == "json") {
      if (value) {
        error = "--json takes no value";
        return false;
      }
      out.json = true;
      continue;
    }
    bool known = false;
    for (const std::string& k : value_options) known |= (k == name);
    if (!known) {
      error = absl::StrCat("unknown option --", name, " (see --help)");
      return false;
    }
    if (!value) {
      if (i + 1 >= argc) {
        error = absl::StrCat("--", name, " needs a value");
        return false;
      }
      value = argv[++i];
    }
    out.values[name] = *value;
  }
  return true;
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
    const Args& args) {
  client::NodeClientOptions options;
  if (const std::string* n = args.Get("node")) {
    options.address = *n;
  } else if (const char* env = std::getenv("PBCHAIN_NODE");
             env != nullptr && *env != '\0') {
    options.address = env;
  }
  if (const std::string* t = args.Get("timeout")) {
    absl::StatusOr<absl::Duration> d = ParseDuration(*t, "timeout");
    if (!d.ok()) return d.status();
    options.call_timeout = *d;
  }
  absl::StatusOr<std::unique_ptr<client::NodeClient>> node =
      client::NodeClient::Create(options);
  if (!node.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--node: ", node.status().message()));
  }
  return node;
}

absl::StatusOr<client::WaitOptions> WaitOptionsFrom(const Args& args) {
  client::WaitOptions wait;
  if (const std::string* t = args.Get("wait-timeout")) {
    absl::StatusOr<absl::Duration> d = ParseDuration(*t, "wait-timeout");
    if (!d.ok()) return d.status();
    wait.timeout = *d;
  }
  return wait;
}

absl::StatusOr<uint64_t> FeeFrom(const Args& args, uint64_t default_fee) {
  const std::string* f = args.Get("fee");
  if (f == nullptr) return default_fee;
  return client::ParseAmount(*f, "--fee");
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
