// Early-return helpers for absl::Status / absl::StatusOr, so that fallible
// steps read as a list:
//
//   PBCHAIN_RETURN_IF_ERROR(store->Write(batch));
//   PBCHAIN_ASSIGN_OR_RETURN(Block block, DecodeBlock(bytes));
//
// The names carry the PBCHAIN_ prefix because protobuf's and other
// libraries' internal headers define RETURN_IF_ERROR / ASSIGN_OR_RETURN of
// their own. Header-only, absl only: chain/ may use it.
#ifndef PBCHAIN_COMMON_STATUS_MACROS_H_
#define PBCHAIN_COMMON_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Evaluates `expr` (an absl::Status) once; returns it from the enclosing
// function unless it is OK.
#define PBCHAIN_RETURN_IF_ERROR(expr)                                     \
  do {                                                                    \
    if (::absl::Status pbchain_status_ = (expr); !pbchain_status_.ok()) { \
      return pbchain_status_;                                             \
    }                                                                     \
  } while (false)

// Evaluates `rexpr` (an absl::StatusOr<T>) once; returns its status from the
// enclosing function unless it is OK, else moves the value into `lhs`, which
// may declare a variable ("Block block") or name an existing one.
#define PBCHAIN_ASSIGN_OR_RETURN(lhs, rexpr) \
  PBCHAIN_ASSIGN_OR_RETURN_IMPL_(            \
      PBCHAIN_STATUS_MACROS_CONCAT_(pbchain_statusor_, __LINE__), lhs, rexpr)

#define PBCHAIN_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                   \
  if (!statusor.ok()) return std::move(statusor).status();   \
  lhs = *std::move(statusor)

#define PBCHAIN_STATUS_MACROS_CONCAT_INNER_(a, b) a##b
#define PBCHAIN_STATUS_MACROS_CONCAT_(a, b) \
  PBCHAIN_STATUS_MACROS_CONCAT_INNER_(a, b)

#endif  // PBCHAIN_COMMON_STATUS_MACROS_H_
