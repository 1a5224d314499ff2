#include "common/flags.h"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <utility>

#include "absl/flags/parse.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/exit_codes.h"
#include "common/version.h"

namespace pbchain {
namespace {

// "--mining-threads=4" -> "--mining_threads=4" (the name only).
std::string Underscored(std::string arg) {
  if (arg.rfind("--", 0) != 0) return arg;
  const size_t end = std::min(arg.find('='), arg.size());
  for (size_t j = 2; j < end; ++j) {
    if (arg[j] == '-') arg[j] = '_';
  }
  return arg;
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
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("--flagfile: cannot read '", path, "'"));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().size() > kMaxFlagfileBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--flagfile ", path, ": larger than ", kMaxFlagfileBytes, " bytes"));
  }
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(text.str(), '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    if (line.rfind("--", 0) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--flagfile ", path, ": line '", line,
                       "' is not a flag (want --name=value, one per line)"));
    }
    lines.emplace_back(line);
  }
  return Expand(lines, 0, depth + 1, out);
}

// Appends args[first..] to `out`, replacing each --flagfile by the flags
// of its files.
absl::Status Expand(const std::vector<std::string>& args, size_t first,
                    int depth, std::vector<std::string>* out) {
  for (size_t i = first; i < args.size(); ++i) {
    const std::string arg = Underscored(args[i]);
    std::string files;
    if (arg == "--flagfile") {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError("--flagfile needs a file name");
      }
      files = args[++i];
    } else if (absl::StartsWith(arg, "--flagfile=")) {
      files = arg.substr(strlen("--flagfile="));
    } else {
      out->push_back(args[i]);
      continue;
    }
    for (absl::string_view file : absl::StrSplit(files, ',')) {
      if (file.empty()) continue;
      if (absl::Status s = ExpandFile(std::string(file), depth, out); !s.ok()) {
        return s;
      }
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
  if (absl::Status s = Expand(args, 1, 0, &expanded); !s.ok()) return s;

  std::vector<std::string> normalized = {expanded[0]};
  std::vector<std::pair<std::string, std::vector<std::string>>> lists;
  for (const std::string& name : repeatable) lists.push_back({name, {}});
  for (size_t i = 1; i < expanded.size(); ++i) {
    const std::string arg = Underscored(expanded[i]);
    if (arg == "--") {  // the rest are not flags
      normalized.insert(normalized.end(), expanded.begin() + i, expanded.end());
      break;
    }
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
  for (const auto& [name, values] : lists) {
    if (!values.empty()) {
      normalized.push_back("--" + name + "=" + absl::StrJoin(values, ","));
    }
  }
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
  if (!args.ok()) {
    std::cerr << program << ": " << args.status().message() << "\n";
    std::exit(kExitUsage);
  }
  std::vector<char*> pointers;
  for (std::string& a : *args) pointers.push_back(a.data());
  absl::ParseCommandLine(static_cast<int>(pointers.size()), pointers.data());
}

}  // namespace pbchain
