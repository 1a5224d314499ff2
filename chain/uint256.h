// Unsigned 256-bit integer arithmetic for proof-of-work targets and chain
// work. Same semantics as Bitcoin Core's arith_uint256: every operation is
// modulo 2^256, and a Hash256 converts to and from a UInt256 by reading its 32
// bytes as a little-endian integer (Bitcoin's UintToArith256).
#ifndef PBCHAIN_CHAIN_UINT256_H_
#define PBCHAIN_CHAIN_UINT256_H_

#include <array>
#include <compare>
#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "chain/bytes.h"

namespace pbchain {

// A value type; like every value type it may be read from many threads at
// once but needs external synchronisation to be written while read. No
// operation fails or allocates, except the string conversions.
class UInt256 {
 public:
  // Zero.
  constexpr UInt256() = default;
  // Widens a 64-bit value. Implicit on purpose, so that `x + 1`, `x * 3` and
  // `x == 0` read naturally (multiplying by a uint64 uses this).
  constexpr UInt256(uint64_t v)  // NOLINT(google-explicit-constructor)
      : limb_{static_cast<uint32_t>(v), static_cast<uint32_t>(v >> 32)} {}

  // 2^256 - 1.
  static UInt256 Max() { return ~UInt256(); }
  // Reads the 32 hash bytes as a little-endian integer (byte 0 is the least
  // significant), i.e. Bitcoin's UintToArith256.
  static UInt256 FromHash(const Hash256& hash);
  // Inverse of FromHash (Bitcoin's ArithToUint256).
  Hash256 ToHash() const;

  // Parses 1..64 hex digits, most significant first, without a "0x" prefix
  // (upper or lower case). INVALID_ARGUMENT on anything else.
  static absl::StatusOr<UInt256> FromHex(std::string_view hex);
  // Exactly 64 lowercase hex digits, most significant first: how Bitcoin
  // shows targets (arith_uint256::GetHex).
  std::string ToHex() const;
  // Parses a decimal number of 1..78 digits (no sign, no spaces, leading
  // zeros allowed). INVALID_ARGUMENT on a bad character or an empty string,
  // OUT_OF_RANGE if the value is 2^256 or more.
  static absl::StatusOr<UInt256> FromDecimal(std::string_view text);
  // Decimal digits without leading zeros ("0" for zero). Used to show and
  // store chain work.
  std::string ToDecimal() const;

  // Position of the highest set bit plus one; 0 for zero.
  int bits() const;
  // The least significant 64 bits.
  uint64_t GetLow64() const {
    return uint64_t{limb_[0]} | uint64_t{limb_[1]} << 32;
  }
  // Nearest double (rounded towards zero); for display, never for consensus.
  double ToDouble() const;
  bool IsZero() const { return *this == UInt256(); }

  // Arithmetic modulo 2^256. Division and remainder are truncating long
  // division; dividing by zero does not crash: x / 0 == 0 and x % 0 == x
  // (callers are expected never to do it).
  UInt256& operator+=(const UInt256& b);
  UInt256& operator-=(const UInt256& b);
  UInt256& operator*=(const UInt256& b);
  UInt256& operator/=(const UInt256& b);
  UInt256& operator%=(const UInt256& b);
  // Shifts by `n` bits; shifting by 256 or more gives zero.
  UInt256& operator<<=(unsigned int n);
  UInt256& operator>>=(unsigned int n);
  UInt256 operator~() const;

  friend UInt256 operator+(UInt256 a, const UInt256& b) { return a += b; }
  friend UInt256 operator-(UInt256 a, const UInt256& b) { return a -= b; }
  friend UInt256 operator*(UInt256 a, const UInt256& b) { return a *= b; }
  friend UInt256 operator/(UInt256 a, const UInt256& b) { return a /= b; }
  friend UInt256 operator%(UInt256 a, const UInt256& b) { return a %= b; }
  friend UInt256 operator<<(UInt256 a, unsigned int n) { return a <<= n; }
  friend UInt256 operator>>(UInt256 a, unsigned int n) { return a >>= n; }

  friend bool operator==(const UInt256&, const UInt256&) = default;
  friend std::strong_ordering operator<=>(const UInt256& a, const UInt256& b);

 private:
  static constexpr int kLimbs = 8;
  // Computes quotient and remainder of n / d (d != 0).
  static void DivMod(const UInt256& n, const UInt256& d, UInt256& quotient,
                     UInt256& remainder);

  // 32-bit limbs, least significant first.
  std::array<uint32_t, kLimbs> limb_{};
};

// Writes v.ToHex() (for logs and test failure messages).
std::ostream& operator<<(std::ostream& os, const UInt256& v);

}  // namespace pbchain

#endif  // PBCHAIN_CHAIN_UINT256_H_
