// Command-line parsing shared by pbnode and pbtracker: absl flags written
// with dashes or underscores (--mining-threads = --mining_threads), repeated
// list flags merged (absl keeps only the last), and --help listing the
// flags of the binary's main.cc (absl looks for a file named after the
// program by default).
#ifndef PBCHAIN_COMMON_FLAGS_H_
#define PBCHAIN_COMMON_FLAGS_H_

#include <set>
#include <string>
#include <vector>

#include "absl/flags/parse.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace pbchain {

// Parses argv into absl flags. `main_file` is the path suffix of the file
// defining the flags ("node/main.cc"); `repeatable` names list flags (in
// underscore spelling) whose occurrences are joined with commas.
inline void ParseCommandLineFlags(int argc, char** argv,
                                  const std::string& main_file,
                                  const std::set<std::string>& repeatable) {
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [main_file](absl::string_view path) {
    return absl::EndsWith(path, main_file);
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);

  std::vector<std::string> normalized;
  std::vector<std::pair<std::string, std::vector<std::string>>> lists;
  for (const std::string& name : repeatable) lists.push_back({name, {}});
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    bool taken = false;
    if (i > 0 && arg.rfind("--", 0) == 0) {
      const size_t end = std::min(arg.find('='), arg.size());
      for (size_t j = 2; j < end; ++j) {
        if (arg[j] == '-') arg[j] = '_';
      }
      for (auto& [name, values] : lists) {
        if (arg == "--" + name && i + 1 < argc) {
          values.push_back(argv[++i]);
          taken = true;
        } else if (arg.rfind("--" + name + "=", 0) == 0) {
          values.push_back(arg.substr(name.size() + 3));
          taken = true;
        }
      }
    }
    if (!taken) normalized.push_back(arg);
  }
  for (const auto& [name, values] : lists) {
    if (!values.empty()) {
      normalized.push_back("--" + name + "=" + absl::StrJoin(values, ","));
    }
  }
  std::vector<char*> args;
  for (std::string& a : normalized) args.push_back(a.data());
  absl::ParseCommandLine(static_cast<int>(args.size()), args.data());
}

}  // namespace pbchain

#endif  // PBCHAIN_COMMON_FLAGS_H_
