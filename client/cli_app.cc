#include "client/cli_app.h"

#include <algorithm>
#include <iostream>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/exit_codes.h"
#include "common/version.h"

namespace pbchain::cli {

CommandLine::CommandLine(CLI::App& app, std::string program,
                         const HelpTexts& help)
    : app_(app), program_(std::move(program)), help_(help) {
  app_.name(program_);
  // Help comes from the texts (the same for --help, COMMAND --help and
  // `help COMMAND`); commands added later inherit the flag and formatter.
  app_.formatter_fn(
      [this](const CLI::App* app, const std::string&, CLI::AppFormatMode) {
        const auto it = help_.find(app->get_parent() ? app->get_name() : "");
        return it != help_.end() ? it->second : help_.at("");
      });
  app_.set_help_flag("-h,--help", "print help and exit");
  app_.set_version_flag("--version",
                        absl::StrCat(program_, " ", pbchain::kVersion));
  // Options of the program after the command name too; one command per
  // line (so that a later word naming a command is an argument); an option
  // given twice keeps its last value.
  app_.fallthrough();
  app_.require_subcommand(0, 1);
  app_.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  // A word where a command name was expected that names no command.
  app_.add_option("COMMAND", unknown_)->group("");
  help_command_ = AddCommand("help", &help_args_);
}

CLI::App* CommandLine::AddCommand(const std::string& name,
                                  std::vector<std::string>* args) {
  CLI::App* command = app_.add_subcommand(name);
  command->add_option("ARGS", *args)->group("");
  args_[command] = args;
  return command;
}

std::optional<int> CommandLine::Parse(int argc, const char* const* argv) {
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
  return Parse(std::move(args));
}

std::optional<int> CommandLine::Parse(std::vector<std::string> args) {
  // "--" ends the options. CLI11 2.1 hands the words after a "--" that
  // follows a command's arguments to the program instead of the command, so
  // they are split off here and given to the command after parsing.
  std::vector<std::string> after_dashes;
  if (auto dashes = std::find(args.begin(), args.end(), "--");
      dashes != args.end()) {
    after_dashes.assign(dashes + 1, args.end());
    args.erase(dashes, args.end());
  }
  std::reverse(args.begin(), args.end());  // CLI11 takes them backwards
  try {
    app_.parse(args);
  } catch (const CLI::CallForHelp& e) {
    return app_.exit(e);  // the formatter above: the command's text
  } catch (const CLI::CallForAllHelp& e) {
    return app_.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app_.exit(e);
  } catch (const CLI::ExtrasError& e) {
    // Every command takes a list of words, so only options are left over.
    const std::vector<std::string> extras = app_.remaining(true);
    command_ = ChosenCommand();
    return UsageError(absl::StrCat(
        "unknown option ", extras.empty() ? std::string(e.what()) : extras[0],
        Hint()));
  } catch (const CLI::ArgumentMismatch& e) {
    command_ = ChosenCommand();
    // CLI11 says "--node: 1 required HOST:PORT missing" for an option
    // without its value.
    const std::string what = e.what();
    const size_t colon = what.find(':');
    if (colon != std::string::npos && absl::StrContains(what, " required ") &&
        absl::EndsWith(what, " missing")) {
      return UsageError(
          absl::StrCat(what.substr(0, colon), " needs a value", Hint()));
    }
    return UsageError(absl::StrCat(what, Hint()));
  } catch (const CLI::Error& e) {
    command_ = ChosenCommand();
    return UsageError(absl::StrCat(e.what(), Hint()));
  }
  if (!unknown_.empty()) {
    return UsageError(absl::StrCat("unknown command '", unknown_.front(),
                                   "' (see ", program_, " --help)"));
  }
  command_ = ChosenCommand();
  if (command_ != nullptr) {
    std::vector<std::string>* words = args_.at(command_);
    words->insert(words->end(), after_dashes.begin(), after_dashes.end());
  } else if (!after_dashes.empty()) {
    return UsageError(absl::StrCat("unknown command '", after_dashes.front(),
                                   "' (see ", program_, " --help)"));
  }
  if (command_ == help_command_) {
    if (help_args_.empty()) {
      PrintHelp("");
      return pbchain::kExitOk;
    }
    const std::string& name = help_args_.front();
    const bool known =
        std::any_of(args_.begin(), args_.end(), [&name](const auto& command) {
          return command.first->get_name() == name;
        });
    if (name.empty() || !known || help_.find(name) == help_.end()) {
      return UsageError(
          absl::StrCat("no command '", name, "' (see ", program_, " --help)"));
    }
    PrintHelp(name);
    return pbchain::kExitOk;
  }
  return std::nullopt;
}

CLI::App* CommandLine::ChosenCommand() const {
  const std::vector<CLI::App*> chosen = app_.get_subcommands();
  return chosen.empty() ? nullptr : chosen.front();
}

int CommandLine::UsageError(const std::string& message) const {
  std::cerr << program_ << ": " << message << "\n";
  return pbchain::kExitUsage;
}

bool CommandLine::CheckArgCount(size_t min, size_t max) const {
  if (command_ == nullptr) return true;
  const size_t got = args_.at(command_)->size();
  if (got >= min && got <= max) return true;
  const std::string want =
      min == max ? absl::StrCat(min) : absl::StrCat(min, " to ", max);
  UsageError(absl::StrCat(command_->get_name(), " takes ", want, " argument",
                          max == 1 ? "" : "s", ", got ", got, Hint()));
  return false;
}

std::string CommandLine::Hint() const {
  if (command_ == nullptr || command_ == help_command_) {
    return absl::StrCat(" (see ", program_, " --help)");
  }
  return absl::StrCat(" (see ", program_, " help ", command_->get_name(), ")");
}

void CommandLine::PrintHelp(const std::string& name) const {
  const auto it = help_.find(name);
  std::cout << (it != help_.end() ? it->second : help_.at("")) << std::flush;
}

CLI::Validator NonEmpty() {
  return CLI::Validator(
      [](std::string& value) {
        return value.empty() ? std::string("must not be empty") : std::string();
      },
      "", "NonEmpty");
}

}  // namespace pbchain::cli
