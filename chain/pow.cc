#include "chain/pow.h"

#include "absl/status/status.h"
#include "absl/strings/str_format.h"

namespace pbchain {

CompactDecode DecodeCompact(uint32_t bits) {
  const int size = static_cast<int>(bits >> 24);
  uint32_t word = bits & 0x007fffff;
  CompactDecode r;
  if (size <= 3) {
    word >>= 8 * (3 - size);
    r.target = word;
  } else {
    // A shift of 256 bits or more yields zero, as in Bitcoin.
    r.target = UInt256(word) << static_cast<unsigned int>(8 * (size - 3));
  }
  r.negative = word != 0 && (bits & 0x00800000) != 0;
  r.overflow = word != 0 && (size > 34 || (word > 0xff && size > 33) ||
                             (word > 0xffff && size > 32));
  return r;
}

uint32_t EncodeCompact(const UInt256& target, bool negative) {
  int size = (target.bits() + 7) / 8;  // Significant bytes.
  uint32_t word;
  if (size <= 3) {
    word = static_cast<uint32_t>(target.GetLow64() << 8 * (3 - size));
  } else {
    word = static_cast<uint32_t>(
        (target >> static_cast<unsigned int>(8 * (size - 3))).GetLow64());
  }
  // 0x00800000 is the sign bit: if the mantissa would set it, move one byte
  // into the exponent instead.
  if (word & 0x00800000) {
    word >>= 8;
    ++size;
  }
  uint32_t bits = word | static_cast<uint32_t>(size) << 24;
  if (negative && word != 0) bits |= 0x00800000;
  return bits;
}

absl::StatusOr<UInt256> TargetFromBits(uint32_t bits,
                                       const UInt256& pow_limit) {
  CompactDecode d = DecodeCompact(bits);
  if (d.negative) {
    return absl::InvalidArgumentError(
        absl::StrFormat("bits 0x%08x: negative target", bits));
  }
  if (d.overflow) {
    return absl::InvalidArgumentError(
        absl::StrFormat("bits 0x%08x: target overflows 256 bits", bits));
  }
  if (d.target.IsZero()) {
    return absl::InvalidArgumentError(
        absl::StrFormat("bits 0x%08x: zero target", bits));
  }
  if (d.target > pow_limit) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "bits 0x%08x: target above the proof-of-work limit", bits));
  }
  return d.target;
}

UInt256 BlockWork(const UInt256& target) {
  if (target.IsZero()) return UInt256();
  const UInt256 divisor = target + 1;
  if (divisor.IsZero()) return 1;  // target == 2^256 - 1: exactly one hash.
  return ~target / divisor + 1;
}

bool HashMeetsTarget(const Hash256& hash, const UInt256& target) {
  return UInt256::FromHash(hash) <= target;
}

}  // namespace pbchain
