// Command-line parsing shared by the daemons (pbnode, pbtracker), on absl
// flags:
//   - flags may be written with dashes or underscores (--mining-threads =
//     --mining_threads);
//   - list flags named in `repeatable` may repeat; their values are joined
//     with commas (absl alone keeps only the last);
//   - --flagfile=FILE[,FILE...] is expanded in place before the rest, so a
//     flag file takes the same spellings as the command line: one flag per
//     line ("--max-outbound=4", "--peer=10.0.0.2:7700"), blank lines and
//     lines starting with '#' ignored, nested --flagfile lines allowed up to
//     kMaxFlagfileDepth; later flags override earlier ones, as on the
//     command line;
//   - --config=FILE reads a TOML file (see ConfigFileArgs) whose entries go
//     before the whole command line, so any flag given on the command line
//     (flag files included) wins; for a repeatable list flag the command
//     line's values replace the file's;
//   - "-name" is read as "--name" (absl accepts both); everything after a
//     lone "--" is left alone (a "--" inside a flag file ends it too);
//   - every flag's name and value are checked before absl parses them, so
//     an unknown flag or a value that does not parse is a usage error
//     (kExitUsage, 2) with one line naming it, like the mains' own checks
//     (absl alone would exit 1); --fromenv / --tryfromenv are refused;
//   - --help lists the flags of the binary's own main.cc (absl looks for a
//     file named after the program by default), --version prints
//     "PROGRAM VERSION".
#ifndef PBCHAIN_COMMON_FLAGS_H_
#define PBCHAIN_COMMON_FLAGS_H_

#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace pbchain {

// Nested --flagfile lines deeper than this are refused (a file naming
// itself would never end).
inline constexpr int kMaxFlagfileDepth = 8;
// A flag file larger than this is refused (and so is anything but a
// regular file: a FIFO or a device would never end).
inline constexpr size_t kMaxFlagfileBytes = 1 << 20;

// A TOML config file larger than this is refused.
inline constexpr size_t kMaxConfigFileBytes = 1 << 20;

// The flags a TOML config file (--config FILE) holds, as "--name=value"
// arguments sorted by flag name (a flag may appear once: "max-outbound" and
// "max_outbound" in one file are refused). The file is a flat table: each key
// is a flag name of the binary (dashes or underscores); a value is a string
// (strings, host:port, durations such as "10m"), an integer (integer and
// floating-point flags), a float (floating-point flags), a boolean (bool
// flags) or an array of strings (list flags such as peer). Uses the absl
// flag registry to check each key and value. INVALID_ARGUMENT with one line
// "FILE:LINE: key 'NAME': what is wrong" for an unreadable, oversized or
// malformed file, an unknown key (or config, flagfile, help...), a value of
// the wrong type, a value the flag does not parse, a nested table or an
// array of tables. Any thread, but it sets the flags it checks (absl parses
// them again from the arguments).
absl::StatusOr<std::vector<std::string>> ConfigFileArgs(
    const std::string& path);

// The arguments after --flagfile expansion and dash/underscore and repeated
// flag normalisation, argv[0] first, with the entries of --config files
// (ConfigFileArgs) first. INVALID_ARGUMENT for an unreadable, oversized or
// too deeply nested flag file or a bad config file. Pure apart from reading
// files (and the flags ConfigFileArgs sets); any thread. Exposed for tests;
// daemons call ParseCommandLineFlags.
absl::StatusOr<std::vector<std::string>> NormalizeCommandLine(
    const std::vector<std::string>& args,
    const std::set<std::string>& repeatable);

// Parses argv into absl flags (see above). `program` names the binary in
// --version ("pbnode"); `main_file` is the path suffix of the file defining
// its flags ("node/main.cc"); `repeatable` names list flags in underscore
// spelling. On a bad flag file, an unknown flag or a bad value prints the
// reason to stderr and exits with kExitUsage. Call once, from main, before
// any other thread starts.
void ParseCommandLineFlags(int argc, char** argv, const std::string& program,
                           const std::string& main_file,
                           const std::set<std::string>& repeatable);

}  // namespace pbchain

#endif  // PBCHAIN_COMMON_FLAGS_H_
