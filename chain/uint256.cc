#include "chain/uint256.h"

#include <algorithm>
#include <bit>
#include <ostream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace pbchain {
namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

UInt256 UInt256::FromHash(const Hash256& hash) {
  UInt256 r;
  for (int i = 0; i < kLimbs; ++i) r.limb_[i] = ReadLe32(&hash.bytes[4 * i]);
  return r;
}

Hash256 UInt256::ToHash() const {
  Hash256 h;
  for (int i = 0; i < kLimbs; ++i) WriteLe32(&h.bytes[4 * i], limb_[i]);
  return h;
}

absl::StatusOr<UInt256> UInt256::FromHex(std::string_view hex) {
  if (hex.empty() || hex.size() > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("UInt256 hex needs 1..64 digits, got ", hex.size()));
  }
  UInt256 r;
  for (char c : hex) {
    int d = HexDigit(c);
    if (d < 0) return absl::InvalidArgumentError("UInt256 hex: bad digit");
    r <<= 4;
    r.limb_[0] |= static_cast<uint32_t>(d);
  }
  return r;
}

std::string UInt256::ToHex() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(64, '0');
  for (int i = 0; i < 64; ++i) {
    // Character i (from the left) is nibble 63 - i (from the right).
    int nibble = 63 - i;
    out[i] = kDigits[(limb_[nibble / 8] >> (4 * (nibble % 8))) & 15];
  }
  return out;
}

absl::StatusOr<UInt256> UInt256::FromDecimal(std::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("UInt256: empty number");
  UInt256 r;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return absl::InvalidArgumentError("UInt256: bad decimal digit");
    }
    // r = r * 10 + digit, watching the carry out of the top limb.
    uint64_t carry = static_cast<uint64_t>(c - '0');
    for (uint32_t& limb : r.limb_) {
      uint64_t n = uint64_t{limb} * 10 + carry;
      limb = static_cast<uint32_t>(n);
      carry = n >> 32;
    }
    if (carry != 0) return absl::OutOfRangeError("UInt256: number >= 2^256");
  }
  return r;
}

std::string UInt256::ToDecimal() const {
  // Divide by 10^9 repeatedly; each remainder gives nine digits, least
  // significant first.
  std::string out;
  UInt256 n = *this;
  do {
    UInt256 q, r;
    DivMod(n, 1000000000, q, r);
    uint64_t chunk = r.GetLow64();
    for (int d = 0; d < 9; ++d, chunk /= 10) {
      out.push_back(static_cast<char>('0' + chunk % 10));
    }
    n = q;
  } while (!n.IsZero());
  while (out.size() > 1 && out.back() == '0') out.pop_back();
  std::reverse(out.begin(), out.end());
  return out;
}

int UInt256::bits() const {
  for (int i = kLimbs - 1; i >= 0; --i) {
    if (limb_[i] != 0) return 32 * i + std::bit_width(limb_[i]);
  }
  return 0;
}

double UInt256::ToDouble() const {
  double r = 0;
  for (int i = kLimbs - 1; i >= 0; --i) r = r * 4294967296.0 + limb_[i];
  return r;
}

UInt256& UInt256::operator+=(const UInt256& b) {
  uint64_t carry = 0;
  for (int i = 0; i < kLimbs; ++i) {
    uint64_t n = carry + limb_[i] + b.limb_[i];
    limb_[i] = static_cast<uint32_t>(n);
    carry = n >> 32;
  }
  return *this;
}

UInt256& UInt256::operator-=(const UInt256& b) {
  // a - b == a + (~b + 1) modulo 2^256.
  return *this += ~b + 1;
}

UInt256& UInt256::operator*=(const UInt256& b) {
  // Schoolbook multiplication, dropping every partial product at or above
  // 2^256.
  UInt256 r;
  for (int j = 0; j < kLimbs; ++j) {
    uint64_t carry = 0;
    for (int i = 0; i + j < kLimbs; ++i) {
      uint64_t n = carry + r.limb_[i + j] + uint64_t{limb_[j]} * b.limb_[i];
      r.limb_[i + j] = static_cast<uint32_t>(n);
      carry = n >> 32;
    }
  }
  return *this = r;
}

void UInt256::DivMod(const UInt256& n, const UInt256& d, UInt256& quotient,
                     UInt256& remainder) {
  // Binary long division: line the divisor up under the highest bit of the
  // dividend, then subtract and shift right one bit at a time.
  quotient = UInt256();
  remainder = n;
  if (d.bits() <= 32) {
    // Short division, one limb at a time (the common case: small divisors).
    const uint64_t div = d.limb_[0];
    uint64_t rem = 0;
    for (int i = kLimbs - 1; i >= 0; --i) {
      const uint64_t cur = rem << 32 | n.limb_[i];
      quotient.limb_[i] = static_cast<uint32_t>(cur / div);
      rem = cur % div;
    }
    remainder = rem;
    return;
  }
  int shift = n.bits() - d.bits();
  if (shift < 0) return;
  UInt256 div = d << static_cast<unsigned int>(shift);
  for (; shift >= 0; --shift, div >>= 1) {
    if (remainder >= div) {
      remainder -= div;
      quotient.limb_[shift / 32] |= uint32_t{1} << (shift % 32);
    }
  }
}

UInt256& UInt256::operator/=(const UInt256& b) {
  if (b.IsZero()) return *this = UInt256();
  UInt256 q, r;
  DivMod(*this, b, q, r);
  return *this = q;
}

UInt256& UInt256::operator%=(const UInt256& b) {
  if (b.IsZero()) return *this;
  UInt256 q, r;
  DivMod(*this, b, q, r);
  return *this = r;
}

UInt256& UInt256::operator<<=(unsigned int n) {
  if (n >= 256) return *this = UInt256();
  const int limbs = static_cast<int>(n / 32);
  const int bits = static_cast<int>(n % 32);
  for (int i = kLimbs - 1; i >= 0; --i) {
    uint64_t v = 0;  // Bits landing in limb i, from limbs i-limbs and below.
    if (i - limbs >= 0) v = uint64_t{limb_[i - limbs]} << bits;
    if (bits != 0 && i - limbs - 1 >= 0) {
      v |= limb_[i - limbs - 1] >> (32 - bits);
    }
    limb_[i] = static_cast<uint32_t>(v);
  }
  return *this;
}

UInt256& UInt256::operator>>=(unsigned int n) {
  if (n >= 256) return *this = UInt256();
  const int limbs = static_cast<int>(n / 32);
  const int bits = static_cast<int>(n % 32);
  for (int i = 0; i < kLimbs; ++i) {
    uint64_t v = 0;  // Bits landing in limb i, from limbs i+limbs and above.
    if (i + limbs < kLimbs) v = limb_[i + limbs] >> bits;
    if (bits != 0 && i + limbs + 1 < kLimbs) {
      v |= uint64_t{limb_[i + limbs + 1]} << (32 - bits);
    }
    limb_[i] = static_cast<uint32_t>(v);
  }
  return *this;
}

UInt256 UInt256::operator~() const {
  UInt256 r;
  for (int i = 0; i < kLimbs; ++i) r.limb_[i] = ~limb_[i];
  return r;
}

std::strong_ordering operator<=>(const UInt256& a, const UInt256& b) {
  for (int i = UInt256::kLimbs - 1; i >= 0; --i) {
    if (a.limb_[i] != b.limb_[i]) return a.limb_[i] <=> b.limb_[i];
  }
  return std::strong_ordering::equal;
}

std::ostream& operator<<(std::ostream& os, const UInt256& v) {
  return os << v.ToHex();
}

}  // namespace pbchain
