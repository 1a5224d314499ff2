// Command-line parsing on CLI11 shared by pbcli, pbshop, pbvote and pbtool:
// help texts written by hand (printed by --help, COMMAND --help and
// `help [COMMAND]`), --version, options of the program accepted before and
// after a command, and every parse error turned into one line on stderr and
// exit code 2 (no CLI11 exception leaves Parse). Main thread only.
//
// A program using it:
//
//   CLI::App app;
//   cli::CommandLine line(app, "pbtool", kHelpTexts);
//   CLI::App* keygen = line.AddCommand("keygen", &keygen_args);
//   keygen->add_option("--out", out)->required();
//   if (std::optional<int> done = line.Parse(argc, argv)) return *done;
//   if (line.command() == keygen) ...
#ifndef PBCHAIN_CLIENT_CLI_APP_H_
#define PBCHAIN_CLIENT_CLI_APP_H_

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"

namespace pbchain::cli {

// Help texts by command name; the entry "" is the program's (--help). Each
// text is printed as it is, so it ends with "\n".
using HelpTexts = std::map<std::string, std::string>;

// One program's command line: a CLI11 app set up the pbchain way, its
// commands (CLI11 subcommands, each taking its positional arguments as a
// list) and the `help [COMMAND]` command.
class CommandLine {
 public:
  // Sets up `app` for `program` (the name shown in messages): -h/--help
  // printing the entry of `help` for the chosen command (else the
  // program's), --version printing "PROGRAM VERSION" (pbchain::kVersion),
  // options of the program also accepted after the command (CLI11's
  // fallthrough), and the last value of an option given twice. `app` and
  // `help` must outlive this object.
  CommandLine(CLI::App& app, std::string program, const HelpTexts& help);
  CommandLine(const CommandLine&) = delete;
  CommandLine& operator=(const CommandLine&) = delete;

  // Adds command `name`; its positional arguments (after "--" too) go to
  // `args`, which must outlive this object. Add the command's options to
  // the returned app.
  CLI::App* AddCommand(const std::string& name, std::vector<std::string>* args);

  // Parses argv. Returns the exit code to end the program with when it
  // should not go on: 0 after printing help (--help, `help [COMMAND]`) or
  // the version; pbchain::kExitUsage after printing "PROGRAM: WHY (see
  // HINT)" on stderr for bad usage (an unknown option or command, an option
  // without its value, `help` of an unknown command, ...). nullopt when the
  // line parsed; then command() is the command given, or nullptr.
  std::optional<int> Parse(int argc, const char* const* argv);
  std::optional<int> Parse(std::vector<std::string> args);

  // The command given on the line, or nullptr.
  CLI::App* command() const { return command_; }

  // Prints "PROGRAM: MESSAGE" on stderr and returns pbchain::kExitUsage.
  int UsageError(const std::string& message) const;

  // Checks that the command given has `min`..`max` positional arguments;
  // else prints "COMMAND takes N argument(s), got M (see PROGRAM help
  // COMMAND)" and returns false.
  bool CheckArgCount(size_t min, size_t max) const;

  // " (see PROGRAM help COMMAND)" for the command given, else
  // " (see PROGRAM --help)".
  std::string Hint() const;

  const std::string& program() const { return program_; }

 private:
  // The command CLI11 parsed (so far), or nullptr.
  CLI::App* ChosenCommand() const;
  // Prints the help of `name` ("" = the program's) on stdout.
  void PrintHelp(const std::string& name) const;

  CLI::App& app_;
  const std::string program_;
  const HelpTexts& help_;
  // Words where a command name was expected that name no command.
  std::vector<std::string> unknown_;
  // Arguments of `help [COMMAND]`.
  std::vector<std::string> help_args_;
  CLI::App* help_command_ = nullptr;
  std::map<const CLI::App*, std::vector<std::string>*> args_;
  CLI::App* command_ = nullptr;
};

// A CLI11 validator refusing an empty value: "--datadir ''" is reported
// as "--datadir: must not be empty".
CLI::Validator NonEmpty();

}  // namespace pbchain::cli

#endif  // PBCHAIN_CLIENT_CLI_APP_H_
