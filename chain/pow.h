// Proof of work: the compact "bits" encoding of a target, target checks and
// the work a target represents. Compact encoding follows Bitcoin Core's
// arith_uint256::SetCompact / GetCompact bit for bit.
//
// Compact format: bits = exponent (8 bits) | sign (1 bit) | mantissa (23
// bits). The value is mantissa * 256^(exponent - 3), with mantissa bytes
// falling off the bottom when exponent < 3. The sign bit makes the value
// "negative", which is never a valid target; so is a value that does not fit
// in 256 bits ("overflow").
//
// All functions are pure and may be called from any thread.
#ifndef PBCHAIN_CHAIN_POW_H_
#define PBCHAIN_CHAIN_POW_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "chain/bytes.h"
#include "chain/uint256.h"

namespace pbchain {

// Result of DecodeCompact: the decoded (possibly truncated) magnitude and
// Bitcoin's two failure flags.
struct CompactDecode {
  UInt256 target;
  // Sign bit set and mantissa non-zero.
  bool negative = false;
  // Mantissa non-zero and the value would need more than 256 bits.
  bool overflow = false;
};

// Decodes compact bits exactly like arith_uint256::SetCompact: `target` holds
// the magnitude (modulo 2^256 when `overflow` is set), the flags report a
// negative or overflowing encoding. Never fails; callers check the flags.
CompactDecode DecodeCompact(uint32_t bits);

// Encodes `target` exactly like arith_uint256::GetCompact(negative): keeps the
// top 23 significant bits (rounding down), never sets the sign bit from the
// mantissa, and sets it only if `negative` and the mantissa is non-zero.
uint32_t EncodeCompact(const UInt256& target, bool negative = false);

// The target a block header's `bits` commit to. INVALID_ARGUMENT if the
// encoding is negative, overflows, decodes to zero, or exceeds `pow_limit`
// (the chain's easiest allowed target).
absl::StatusOr<UInt256> TargetFromBits(uint32_t bits, const UInt256& pow_limit);

// Expected number of hashes needed to meet `target`: floor(2^256 /
// (target + 1)), computed as ~target / (target + 1) + 1 so that it fits in
// 256 bits. Returns 0 for a zero target (which TargetFromBits never yields),
// as Bitcoin's GetBlockProof does.
UInt256 BlockWork(const UInt256& target);

// True if `hash`, read as a little-endian 256-bit integer, is <= `target`.
bool HashMeetsTarget(const Hash256& hash, const UInt256& target);

}  // namespace pbchain

#endif  // PBCHAIN_CHAIN_POW_H_
