// Exit codes of every pbchain program (pbnode, pbtracker, pbcli, pbshop,
// pbvote, pbtool), documented in docs/OPERATIONS.md.
#ifndef PBCHAIN_COMMON_EXIT_CODES_H_
#define PBCHAIN_COMMON_EXIT_CODES_H_

namespace pbchain {

inline constexpr int kExitOk = 0;       // done; for a write: confirmed
inline constexpr int kExitFailure = 1;  // failed, or the chain rejected it
inline constexpr int kExitUsage = 2;    // bad command line or input
inline constexpr int kExitPending =
    3;  // a write still unconfirmed at the wait's end

}  // namespace pbchain

#endif  // PBCHAIN_COMMON_EXIT_CODES_H_
