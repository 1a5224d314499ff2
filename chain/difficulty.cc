#include "chain/difficulty.h"

#include <algorithm>

#include "chain/pow.h"

namespace pbchain {
namespace {

// floor(a * m / d) without overflow, saturating at 2^256 - 1. Needs d > 0.
// With a = q * d + r: a * m / d = q * m + r * m / d, and r * m < 2^128.
UInt256 MulDivSaturating(const UInt256& a, uint64_t m, uint64_t d) {
  const UInt256 q = a / d;
  const UInt256 r = a % d;
  if (m != 0 && q > UInt256::Max() / m) return UInt256::Max();
  const UInt256 high = q * m;
  const UInt256 result = high + r * m / d;
  return result < high ? UInt256::Max() : result;
}

UInt256 Target(uint32_t bits) { return DecodeCompact(bits).target; }

}  // namespace

uint32_t NextBits(std::span<const BlockTimeBits> window,
                  const DifficultyParams& p) {
  if (window.empty()) return p.genesis_bits;
  const int64_t t_ms = p.target_interval_ms;
  const int64_t n_max = p.difficulty_window;
  if (window.size() < 3 || t_ms <= 0 || n_max < 2) return window.back().bits;

  // Keep the newest m + 1 blocks.
  const int64_t m = std::min(static_cast<int64_t>(window.size()) - 1, n_max);
  std::span<const BlockTimeBits> b = window.last(static_cast<size_t>(m + 1));

  int64_t prev = b[0].time * 1000;
  int64_t weighted = 0;               // t in the header comment.
  UInt256 avg_quotients, remainders;  // avg = sum(q) + sum(r) / m, exactly.
  for (int64_t j = 1; j <= m; ++j) {
    const int64_t now = std::max(b[j].time * 1000, prev);
    const int64_t solve_time = std::min(now - prev, 6 * t_ms);
    prev = now;
    weighted += j * solve_time;
    const UInt256 target = Target(b[j].bits);
    avg_quotients += target / static_cast<uint64_t>(m);
    remainders += target % static_cast<uint64_t>(m);
  }
  const UInt256 avg = avg_quotients + remainders / static_cast<uint64_t>(m);
  const int64_t k = t_ms * m * (m + 1) / 2;
  UInt256 next = MulDivSaturating(avg, static_cast<uint64_t>(weighted),
                                  static_cast<uint64_t>(k));

  const UInt256 parent = Target(b[m].bits);
  const UInt256 lower = parent >> 1;
  const UInt256 upper = parent.bits() < 256 ? parent << 1 : UInt256::Max();
  next = std::clamp(next, lower, upper);
  next = std::min(next, p.pow_limit);
  next = std::max(next, UInt256(1));
  return EncodeCompact(next);
}

}  // namespace pbchain
