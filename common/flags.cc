#include "common/flags.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <utility>

#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/exit_codes.h"
#include "common/status_macros.h"
#include "common/version.h"

namespace pbchain {
namespace {

// "-x" and "--x" are the same flag to absl; "-" alone and negative numbers
// are values.
bool IsFlag(absl::string_view arg) {
  if (arg.size() < 2 || arg[0] != '-' || arg == "--") return false;
  const char c = arg[arg[1] == '-' ? 2 : 1];
  return absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_';
}

// "-mining-threads=4" / "--mining-threads=4" -> "--mining_threads=4" (the
// name only; the value is left as written).
std::string Canonical(absl::string_view arg) {
  if (!IsFlag(arg)) return std::string(arg);
  std::string out = arg[1] == '-' ? std::string(arg) : absl::StrCat("-", arg);
  const size_t end = std::min(out.find('='), out.size());
  for (size_t j = 2; j < end; ++j) {
    if (out[j] == '-') out[j] = '_';
  }
  return out;
}

// The flag's name in a canonical argument ("--peer=x" -> "peer").
absl::string_view NameOf(absl::string_view canonical) {
  absl::string_view name = canonical.substr(2);
  return name.substr(0, std::min(name.find('='), name.size()));
}

absl::Status Expand(const std::vector<std::string>& args, size_t first,
                    int depth, std::vector<std::string>* out);

absl::Status ExpandFile(const std::string& path, int depth,
                        std::vector<std::string>* out) {
  if (depth >= kMaxFlagfileDepth) {
    return absl::InvalidArgumentError(
        absl::StrCat("--flagfile ", path, ": nested deeper than ",
                     kMaxFlagfileDepth, " files (does a file name itself?)"));
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--flagfile: '", path, "' is not a readable regular file"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("--flagfile: cannot read '", path, "'"));
  }
  // One byte past the limit tells an oversized file.
  std::string text(kMaxFlagfileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxFlagfileBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--flagfile ", path, ": larger than ", kMaxFlagfileBytes, " bytes"));
  }
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    if (!IsFlag(line)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--flagfile ", path, ": line '", line,
                       "' is not a flag (want --name=value, one per line)"));
    }
    const size_t space = line.find_first_of(" \t");
    if (space != absl::string_view::npos && space < line.find('=')) {
      const absl::string_view name = line.substr(0, space);
      const absl::string_view value =
          absl::StripLeadingAsciiWhitespace(line.substr(space));
      return absl::InvalidArgumentError(
          absl::StrCat("--flagfile ", path, ": write '", name, "=", value,
                       "', not '", line, "' (one --name=value per line)"));
    }
    lines.emplace_back(line);
  }
  return Expand(lines, 0, depth + 1, out);
}

// Appends args[first..] to `out`, replacing each --flagfile by the flags
// of its files. Everything after "--" is passed on as it is.
absl::Status Expand(const std::vector<std::string>& args, size_t first,
                    int depth, std::vector<std::string>* out) {
  for (size_t i = first; i < args.size(); ++i) {
    if (args[i] == "--") {
      out->insert(out->end(), args.begin() + i, args.end());
      return absl::OkStatus();
    }
    const std::string arg = Canonical(args[i]);
    if (!IsFlag(arg)) {
      out->push_back(args[i]);
      continue;
    }
    const absl::string_view name = NameOf(arg);
    if (name == "fromenv" || name == "tryfromenv") {
      // absl would read flag values (a flag file too) from the environment
      // past the rules here.
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, " is not supported; use --flagfile=FILE"));
    }
    if (name != "flagfile") {
      out->push_back(args[i]);
      continue;
    }
    std::string files;
    if (arg == "--flagfile") {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError("--flagfile needs a file name");
      }
      files = args[++i];
    } else {
      files = arg.substr(strlen("--flagfile="));
    }
    for (absl::string_view file : absl::StrSplit(files, ',')) {
      if (file.empty()) continue;
      PBCHAIN_RETURN_IF_ERROR(ExpandFile(std::string(file), depth, out));
    }
  }
  return absl::OkStatus();
}

// absl's own flags, which it handles itself (help, version, ...).
bool IsBuiltinFlag(absl::string_view name) {
  return name == "help" || name == "helpfull" || name == "helpshort" ||
         name == "helppackage" || name == "helpon" || name == "helpmatch" ||
         name == "version" || name == "only_check_args" || name == "undefok";
}

// Checks every flag's name and value before absl parses them, so that a
// misspelt flag or a bad value is a usage error (kExitUsage) like every
// other bad flag, not absl's exit 1. `args` is NormalizeCommandLine's
// output. Sets the flags it checks (absl parses them again).
absl::Status CheckFlags(const std::vector<std::string>& args) {
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") break;
    if (!IsFlag(arg)) continue;
    const absl::string_view name = NameOf(arg);
    if (IsBuiltinFlag(name)) continue;
    const bool has_value = arg.find('=') != std::string::npos;
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr && !has_value && absl::StartsWith(name, "no")) {
      // --nomine: a boolean written false.
      absl::CommandLineFlag* negated =
          absl::FindCommandLineFlag(name.substr(2));
      if (negated != nullptr && negated->IsOfType<bool>()) continue;
    }
    if (flag == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", name, " (see --help)"));
    }
    std::string value;
    if (has_value) {
      value = arg.substr(arg.find('=') + 1);
    } else if (flag->IsOfType<bool>()) {
      continue;  // --mine
    } else if (i + 1 < args.size()) {
      value = args[++i];  // --listen 127.0.0.1:7700
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, " needs a value"));
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, "=", value, ": ", error));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<std::string>> NormalizeCommandLine(
    const std::vector<std::string>& args,
    const std::set<std::string>& repeatable) {
  if (args.empty()) return args;
  std::vector<std::string> expanded = {args[0]};
  PBCHAIN_RETURN_IF_ERROR(Expand(args, 1, 0, &expanded));

  std::vector<std::string> normalized = {expanded[0]};
  std::vector<std::string> rest;  // "--" and what follows it
  std::vector<std::pair<std::string, std::vector<std::string>>> lists;
  for (const std::string& name : repeatable) lists.push_back({name, {}});
  for (size_t i = 1; i < expanded.size(); ++i) {
    if (expanded[i] == "--") {  // the rest are not flags
      rest.assign(expanded.begin() + i, expanded.end());
      break;
    }
    const std::string arg = Canonical(expanded[i]);
    bool taken = false;
    for (auto& [name, values] : lists) {
      if (arg == "--" + name && i + 1 < expanded.size()) {
        values.push_back(expanded[++i]);
        taken = true;
      } else if (absl::StartsWith(arg, "--" + name + "=")) {
        values.push_back(arg.substr(name.size() + 3));
        taken = true;
      }
    }
    if (!taken) normalized.push_back(arg);
  }
  // The joined lists go before "--", where absl still reads flags.
  for (const auto& [name, values] : lists) {
    if (!values.empty()) {
      normalized.push_back("--" + name + "=" + absl::StrJoin(values, ","));
    }
  }
  normalized.insert(normalized.end(), rest.begin(), rest.end());
  return normalized;
}

void ParseCommandLineFlags(int argc, char** argv, const std::string& program,
                           const std::string& main_file,
                           const std::set<std::string>& repeatable) {
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [main_file](absl::string_view path) {
    return absl::EndsWith(path, main_file);
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  usage.version_string = [program] {
    return absl::StrCat(program, " ", kVersion, "\n");
  };
  absl::SetFlagsUsageConfig(usage);

  absl::StatusOr<std::vector<std::string>> args = NormalizeCommandLine(
      std::vector<std::string>(argv, argv + argc), repeatable);
  if (args.ok()) {
    if (absl::Status s = CheckFlags(*args); !s.ok()) args = s;
  }
  if (!args.ok()) {
    std::cerr << program << ": " << args.status().message() << "\n";
    std::exit(kExitUsage);
  }
  std::vector<char*> pointers;
  for (std::string& a : *args) pointers.push_back(a.data());
  absl::ParseCommandLine(static_cast<int>(pointers.size()), pointers.data());
}

}  // namespace pbchain
