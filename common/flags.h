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

// The arguments after --flagfile expansion and dash/underscore and repeated
// flag normalisation, argv[0] first. INVALID_ARGUMENT for an unreadable,
// oversized or too deeply nested flag file. Pure apart from reading files;
// any thread. Exposed for tests; daemons call ParseCommandLineFlags.
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
