// Parsing user input and formatting chain data for people: amounts, addresses,
// hashes in display form, record payloads, times. Shared by pbcli and the
// apps. All functions are pure and callable from any thread.
#ifndef PBCHAIN_CLIENT_FORMAT_H_
#define PBCHAIN_CLIENT_FORMAT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "chain/address.h"
#include "chain/bytes.h"

namespace pbchain::client {

// Parses an amount in base units: a non-negative decimal integer, digits
// only, at most 2^64-1. INVALID_ARGUMENT naming `what` (e.g. "amount") for
// an empty string, a sign ("-5", "+5"), a fraction ("1.5"), anything else
// non-numeric ("abc", "0x10", " 5"), or a value above 2^64-1.
absl::StatusOr<uint64_t> ParseAmount(std::string_view text,
                                     std::string_view what = "amount");

// Parses a non-negative decimal integer (heights, counts) the same way.
absl::StatusOr<uint64_t> ParseUint(std::string_view text,
                                   std::string_view what);

// Parses address text ("pb" + 48 hex, checksum checked). INVALID_ARGUMENT
// "<what>: <problem>" (wrong prefix, length, non-hex, checksum mismatch).
absl::StatusOr<Address> ParseAddress(std::string_view text,
                                     std::string_view what = "address");

// Parses a 64-hex display-order hash (as pbcli prints them).
// INVALID_ARGUMENT naming `what`.
absl::StatusOr<Hash256> ParseDisplayHash(std::string_view text,
                                         std::string_view what = "hash");

// Display form (64 hex, byte-reversed) of a hash carried in protobuf bytes
// (internal order); "" for empty bytes, plain hex for a length other than 32.
std::string DisplayHash(std::string_view hash_bytes);

// Address text of 20 raw bytes (protobuf recipient); hex if not 20 bytes.
std::string AddressText(std::string_view raw20);
// Address text of the sender of a transfer from its 32-byte public key.
std::string SenderAddressText(std::string_view pubkey32);

// True if `data` is valid UTF-8 without control characters other than
// tab, CR and LF (i.e. fine to print as text).
bool IsPrintableUtf8(std::string_view data);
// `data` as text if IsPrintableUtf8, else "0x" + hex.
std::string PayloadForDisplay(std::string_view data);

// Unix seconds as "2026-11-22 05:18:21 UTC".
std::string FormatUnixTime(int64_t unix_seconds);

}  // namespace pbchain::client

#endif  // PBCHAIN_CLIENT_FORMAT_H_
