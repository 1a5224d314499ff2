// Helpers shared by the apps (pbshop, pbvote): reading every page of a
// record namespace, and validating the short texts people type (names,
// voter ids, choices). No printing; callable from any thread.
#ifndef PBCHAIN_CLIENT_APPS_RECORDS_H_
#define PBCHAIN_CLIENT_APPS_RECORDS_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/node_client.h"
#include "pbchain/v1/node.pb.h"

namespace pbchain::apps {

// Records asked for per GetRecords page (the node's cap). The node may
// send fewer (its byte budget per page, kMaxRecordsResponseBytes) and then
// still returns a page token.
inline constexpr uint32_t kRecordPageSize = 1000;
// At most this many records are read (a bound against a node that keeps
// returning page tokens).
inline constexpr size_t kMaxRecordsRead = 1'000'000;

// Every confirmed record of `ns` (optionally only `key`), all pages (it
// follows next_page_token until it is empty, however short the pages), in
// the node's order. Errors: the node's (INVALID_ARGUMENT for a bad namespace
// or a page token made stale by a reorg, UNAVAILABLE, DEADLINE_EXCEEDED,
// ...); RESOURCE_EXHAUSTED beyond kMaxRecordsRead records; UNKNOWN if the
// node sends a page token with an empty page (no progress).
absl::StatusOr<std::vector<v1::RecordEntry>> ReadAllRecords(
    client::NodeClient& node, const std::string& ns,
    const std::optional<std::string>& key = std::nullopt);

// The record of (`ns`, `key`) if it is on the chain, nullopt if not.
// Errors as ReadAllRecords.
absl::StatusOr<std::optional<v1::RecordEntry>> FindRecord(
    client::NodeClient& node, const std::string& ns, const std::string& key);

// True if `text` is valid UTF-8 with no control characters at all (no tab,
// CR or LF either): fine as a one-line label. Pure.
bool IsOneLineText(std::string_view text);

// OK if `text` is 1..`max_bytes` bytes of IsOneLineText with no leading or
// trailing space; else INVALID_ARGUMENT "<what> must be ...". Pure.
absl::Status CheckLabel(std::string_view text, std::string_view what,
                        size_t max_bytes);

// OK if `name` is 1..`max_len` chars of [a-z0-9._-] (so that a record
// namespace built from it is valid); else INVALID_ARGUMENT naming `what`.
// Pure.
absl::Status CheckNamespacePart(std::string_view name, std::string_view what,
                                size_t max_len);

}  // namespace pbchain::apps

#endif  // PBCHAIN_CLIENT_APPS_RECORDS_H_
