#include "common/flags.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <utility>

#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/exit_codes.h"
#include "common/status_macros.h"
#include "common/version.h"

// toml++ header-only, without exceptions (parse returns a result).
#define TOML_HEADER_ONLY 1
#define TOML_EXCEPTIONS 0
#include <toml++/toml.h>

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
    if (name == "config") {
      // Kept as one "--config=FILE" for NormalizeCommandLine to read.
      if (arg == "--config") {
        if (i + 1 >= args.size()) {
          return absl::InvalidArgumentError("--config needs a file name");
        }
        out->push_back(absl::StrCat("--config=", args[++i]));
      } else {
        out->push_back(arg);
      }
      continue;
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

// Reads a whole regular file of at most `limit` bytes; `what` names it in
// errors ("--config").
absl::StatusOr<std::string> ReadSmallFile(const std::string& what,
                                          const std::string& path,
                                          size_t limit) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": '", path, "' is not a readable regular file"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": cannot read '", path, "'"));
  }
  std::string text(limit + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > limit) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " ", path, ": larger than ", limit, " bytes"));
  }
  return text;
}

const char* TomlTypeName(toml::node_type type) {
  switch (type) {
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    default:
      return "a date/time";
  }
}

// What a flag takes in a config file, for errors.
const char* WantedType(const absl::CommandLineFlag& flag) {
  if (flag.IsOfType<bool>()) return "a boolean (true or false)";
  if (flag.IsOfType<std::vector<std::string>>()) {
    return "an array of strings (or one string)";
  }
  if (flag.IsOfType<int>() || flag.IsOfType<int64_t>() ||
      flag.IsOfType<uint32_t>() || flag.IsOfType<uint64_t>() ||
      flag.IsOfType<int16_t>() || flag.IsOfType<uint16_t>()) {
    return "an integer";
  }
  if (flag.IsOfType<double>() || flag.IsOfType<float>()) return "a number";
  return "a string";  // strings, durations ("10m"), other parsed types
}

// The flag value text of a TOML value, or an error saying what was wanted.
absl::StatusOr<std::string> TomlValueText(const absl::CommandLineFlag& flag,
                                          const toml::node& value) {
  const std::string wanted = WantedType(flag);
  auto wrong = [&](const toml::node& got) {
    return absl::InvalidArgumentError(
        absl::StrCat("want ", wanted, ", got ", TomlTypeName(got.type())));
  };
  if (flag.IsOfType<bool>()) {
    if (!value.is_boolean()) return wrong(value);
    return std::string(value.as_boolean()->get() ? "true" : "false");
  }
  if (flag.IsOfType<std::vector<std::string>>()) {
    if (value.is_string()) return value.as_string()->get();
    if (!value.is_array()) return wrong(value);
    std::vector<std::string> items;
    for (const toml::node& item : *value.as_array()) {
      if (!item.is_string()) return wrong(item);
      const std::string& text = item.as_string()->get();
      if (text.find(',') != std::string::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat("an item may not hold ',': '", text, "'"));
      }
      items.push_back(text);
    }
    return absl::StrJoin(items, ",");
  }
  if (absl::string_view(WantedType(flag)) == "an integer") {
    if (!value.is_integer()) return wrong(value);
    return absl::StrCat(value.as_integer()->get());
  }
  if (absl::string_view(WantedType(flag)) == "a number") {
    if (value.is_integer()) return absl::StrCat(value.as_integer()->get());
    if (!value.is_floating_point()) return wrong(value);
    return absl::StrFormat("%.17g", value.as_floating_point()->get());
  }
  if (!value.is_string()) return wrong(value);
  return value.as_string()->get();
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ConfigFileArgs(
    const std::string& path) {
  absl::StatusOr<std::string> text =
      ReadSmallFile("--config", path, kMaxConfigFileBytes);
  if (!text.ok()) return text.status();
  toml::parse_result parsed = toml::parse(*text, path);
  if (!parsed) {
    const toml::parse_error& error = parsed.error();
    return absl::InvalidArgumentError(
        absl::StrCat(path, ":", error.source().begin.line,
                     ": not valid TOML: ", std::string(error.description())));
  }
  // Flag name -> (key as written, value text).
  std::map<std::string, std::pair<std::string, std::string>> by_name;
  for (const auto& [toml_key, value] : parsed.table()) {
    const std::string key(toml_key.str());
    const std::string name = Canonical(absl::StrCat("--", key)).substr(2);
    const auto line = value.source().begin.line;
    auto fail = [&](absl::string_view why) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":", line, ": key '", key, "': ", why));
    };
    if (value.is_table() || value.is_array_of_tables()) {
      return fail(
          "nested tables are not supported (one flag per line: name = "
          "value)");
    }
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr || IsBuiltinFlag(name) || name == "flagfile" ||
        name == "config" || name == "fromenv" || name == "tryfromenv") {
      return fail("unknown key (not a flag of this program; see --help)");
    }
    absl::StatusOr<std::string> flag_value = TomlValueText(*flag, value);
    if (!flag_value.ok()) return fail(flag_value.status().message());
    // A value reaches absl as a C string: a NUL ("\u0000") would cut it
    // after it was checked here; no flag takes other control characters.
    for (const char c : *flag_value) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x20 || u == 0x7f) {
        return fail(absl::StrFormat(
            "control character U+%04X in the value (not allowed)", u));
      }
    }
    std::string error;
    if (!flag->ParseFrom(*flag_value, &error)) {
      return fail(absl::StrCat("'", *flag_value, "': ", error));
    }
    auto [it, inserted] = by_name.try_emplace(name, key, *flag_value);
    if (!inserted) {
      return fail(absl::StrCat("the same flag as '", it->second.first, "'"));
    }
  }
  std::vector<std::string> out;
  for (const auto& [name, entry] : by_name) {
    out.push_back(absl::StrCat("--", name, "=", entry.second));
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> NormalizeCommandLine(
    const std::vector<std::string>& args,
    const std::set<std::string>& repeatable) {
  if (args.empty()) return args;
  std::vector<std::string> command_line;
  PBCHAIN_RETURN_IF_ERROR(Expand(args, 1, 0, &command_line));
  // The --config files' entries go first, so the command line wins.
  std::vector<std::string> expanded = {args[0]};
  std::vector<std::string> rest_of_line;
  for (size_t i = 0; i < command_line.size(); ++i) {
    if (command_line[i] == "--") {
      rest_of_line.insert(rest_of_line.end(), command_line.begin() + i,
                          command_line.end());
      break;
    }
    if (absl::StartsWith(command_line[i], "--config=")) {
      absl::StatusOr<std::vector<std::string>> entries =
          ConfigFileArgs(command_line[i].substr(strlen("--config=")));
      if (!entries.ok()) return entries.status();
      expanded.insert(expanded.end(), entries->begin(), entries->end());
    } else {
      rest_of_line.push_back(command_line[i]);
    }
  }
  const size_t config_end = expanded.size();  // [1, config_end): the files'
  expanded.insert(expanded.end(), rest_of_line.begin(), rest_of_line.end());

  std::vector<std::string> normalized = {expanded[0]};
  std::vector<std::string> rest;  // "--" and what follows it
  // Per list flag: the values from config files, then the command line's.
  struct ListValues {
    std::string name;
    std::vector<std::string> from_config;
    std::vector<std::string> values;
  };
  std::vector<ListValues> lists;
  for (const std::string& name : repeatable) lists.push_back({name, {}, {}});
  for (size_t i = 1; i < expanded.size(); ++i) {
    if (expanded[i] == "--") {  // the rest are not flags
      rest.assign(expanded.begin() + i, expanded.end());
      break;
    }
    const std::string arg = Canonical(expanded[i]);
    bool taken = false;
    for (ListValues& list : lists) {
      std::vector<std::string>& values =
          i < config_end ? list.from_config : list.values;
      const std::string& name = list.name;
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
  for (const ListValues& list : lists) {
    const std::vector<std::string>& values =
        list.values.empty() ? list.from_config : list.values;
    if (!values.empty()) {
      normalized.push_back("--" + list.name + "=" + absl::StrJoin(values, ","));
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
