// Difficulty adjustment: LWMA-1 (zawy12's linearly weighted moving average of
// solve times), retargeting every block.
//
// Algorithm (normative; docs/PROTOCOL.md copies it). Integers throughout; all
// division rounds down. Let T = target_interval_ms (> 0), N =
// difficulty_window (>= 2), and let the window W[0..n-1] be the last up to N+1
// blocks before the new one, oldest first, so W[n-1] is the parent.
//
//  1. n == 0 (the new block is genesis): next bits = genesis_bits.
//     n < 3 (fewer than two solve times): next bits = W[n-1].bits.
//  2. Otherwise let m = min(n - 1, N) and B[0..m] = the last m+1 blocks of W
//     (B[m] is the parent). B[0] only supplies a starting timestamp.
//  3. Solve times, in milliseconds (header times are whole seconds, so times
//     are multiplied by 1000; averaging over the window recovers sub-second
//     intervals). Timestamps are made monotonic with LWMA's
//     "previous-timestamp" rule, so an out-of-order timestamp gives a solve
//     time of 0 rather than a negative one, and the clock is not moved
//     backwards for the following blocks:
//        prev = 1000 * B[0].time;  t = 0
//        for j = 1..m:
//          this = max(1000 * B[j].time, prev)
//          st_j = min(this - prev, 6 * T)          // so 0 <= st_j <= 6T
//          prev = this
//          t   += j * st_j                          // newest weighs most
//  4. avg = floor((target(B[1]) + ... + target(B[m])) / m), computed exactly
//     (target(b) = the value b.bits decodes to, see pow.h), and
//        k    = T * m * (m + 1) / 2                 // t when every st_j == T
//        next = floor(avg * t / k)                  // exact; 2^256-1 if larger
//  5. Clamps, in this order, with P = target(B[m]) (the parent's target):
//        next = max(next, floor(P / 2))
//        next = min(next, 2 * P)                    // 2^256-1 if larger
//        next = min(next, pow_limit)
//        next = max(next, 1)
//     LWMA-1 itself bounds a step only through the 6T cap (from a steady
//     state, one 6T block raises the target by 10/(N+1), 22% for N = 45).
//     The factor-2 limit is our addition: it binds only while the window is
//     short (with m = 2, slow blocks could move the target 6x), and it
//     keeps the target from collapsing to zero when every solve time in the
//     window is 0.
//  6. next bits = EncodeCompact(next) (rounds down to 23 mantissa bits).
//
// Blocks in the window are assumed to be already validated (their bits
// decode to valid targets). With T <= 0 or N < 2 the function never
// adjusts: it returns the parent's bits. T <= 10^9 ms and N <= 10^4 keep every
// intermediate within int64.
#ifndef PBCHAIN_CHAIN_DIFFICULTY_H_
#define PBCHAIN_CHAIN_DIFFICULTY_H_

#include <cstdint>
#include <span>

#include "chain/uint256.h"

namespace pbchain {

// The chain parameters the difficulty rule depends on (copied from the
// genesis parameters).
struct DifficultyParams {
  // Target time between blocks, in milliseconds (may be below 1000).
  int64_t target_interval_ms = 10000;
  // LWMA window N, in solve times; NextBits wants the last N + 1 blocks.
  int difficulty_window = 45;
  // Easiest allowed target (decoded pow_limit_bits).
  UInt256 pow_limit = UInt256::Max();
  // Bits of the genesis block.
  uint32_t genesis_bits = 0x1d00ffff;
};

// One ancestor as the difficulty rule sees it.
struct BlockTimeBits {
  int64_t time;   // Header time, unix seconds.
  uint32_t bits;  // Header compact target.
};

// Compact bits required of the block that follows `window`, by the algorithm
// above. `window` holds the last up to p.difficulty_window + 1 blocks, oldest
// first, the parent last (more is allowed; only the newest N + 1 are used).
// Pure; any thread.
uint32_t NextBits(std::span<const BlockTimeBits> window,
                  const DifficultyParams& p);

}  // namespace pbchain

#endif  // PBCHAIN_CHAIN_DIFFICULTY_H_
