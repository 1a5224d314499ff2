// Account addresses: 20 bytes derived from an Ed25519 public key, written as
// text "pb" + 40 hex chars + an 8-hex-char checksum.
#ifndef PBCHAIN_CHAIN_ADDRESS_H_
#define PBCHAIN_CHAIN_ADDRESS_H_

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "chain/bytes.h"
#include "chain/keys.h"

namespace pbchain {

// A 20-byte account address: the first 20 bytes of SHA-256(public key).
// A plain value type; all methods are thread-safe.
struct Address {
  // Total length of the text form: "pb" + 40 hex (address) + 8 hex (checksum).
  static constexpr size_t kTextSize = 2 + 40 + 8;

  std::array<uint8_t, 20> bytes{};

  // True iff all 20 bytes are zero (the "no address" value; no key maps to
  // it in practice).
  bool IsZero() const;

  // Returns "pb" + lowercase hex of the 20 bytes + lowercase hex of the first
  // 4 bytes of SHA-256(the 20 bytes), 50 chars in all.
  std::string ToText() const;

  // Parses the text form written by ToText. Hex digits may be lowercase or
  // uppercase; the "pb" prefix must be lowercase.
  // Returns INVALID_ARGUMENT naming the problem: wrong prefix, wrong length,
  // a non-hex character, or a checksum mismatch (a mistyped address).
  static absl::StatusOr<Address> FromText(std::string_view text);

  // Copies exactly 20 raw bytes.
  // Returns INVALID_ARGUMENT if `data` is not 20 bytes long.
  static absl::StatusOr<Address> FromBytes(ByteSpan data);

  friend bool operator==(const Address&, const Address&) = default;
  friend auto operator<=>(const Address&, const Address&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const Address& a) {
    return H::combine_contiguous(std::move(h), a.bytes.data(), a.bytes.size());
  }
};

// Returns the address of `public_key`: the first 20 bytes of
// SHA-256(public_key). Thread-safe (pure function).
Address AddressFromPublicKey(const PublicKey& public_key);

}  // namespace pbchain

#endif  // PBCHAIN_CHAIN_ADDRESS_H_
