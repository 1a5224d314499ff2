#include "chain/difficulty.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <random>
#include <span>
#include <vector>

#include "chain/pow.h"
#include "chain/uint256.h"
#include "gtest/gtest.h"

namespace pbchain {
namespace {

constexpr uint32_t kBits = 0x1d00ffff;
const UInt256 kTarget = DecodeCompact(kBits).target;  // 0xffff << 208.

DifficultyParams Params(int64_t interval_ms, int window) {
  DifficultyParams p;
  p.target_interval_ms = interval_ms;
  p.difficulty_window = window;
  p.pow_limit = DecodeCompact(0x207fffff).target;
  p.genesis_bits = 0x1e00ffff;
  return p;
}

// Blocks with the given header times (seconds), all at `bits`.
std::vector<BlockTimeBits> Blocks(const std::vector<int64_t>& times,
                                  uint32_t bits = kBits) {
  std::vector<BlockTimeBits> out;
  for (int64_t t : times) out.push_back({t, bits});
  return out;
}

// `count` blocks `spacing_s` seconds apart, starting at time 1'000'000.
std::vector<BlockTimeBits> Evenly(int count, int64_t spacing_s) {
  std::vector<int64_t> times;
  for (int i = 0; i < count; ++i) times.push_back(1'000'000 + i * spacing_s);
  return Blocks(times);
}

TEST(DifficultyTest, ShortHistoryKeepsBits) {
  const DifficultyParams p = Params(10'000, 45);
  EXPECT_EQ(NextBits({}, p), p.genesis_bits);
  std::vector<BlockTimeBits> w = {{100, 0x1d00ffff}};
  EXPECT_EQ(NextBits(w, p), 0x1d00ffffu);
  w.push_back({500, 0x1c7fffff});  // A very slow block: still no change.
  EXPECT_EQ(NextBits(w, p), 0x1c7fffffu);
}

TEST(DifficultyTest, ThreeBlocksAdjust) {
  // m = 2 solve times, 10 s and 15 s: t = 1*10 + 2*15 = 40 s, k = 30 s.
  const DifficultyParams p = Params(10'000, 45);
  EXPECT_EQ(NextBits(Blocks({0, 10, 25}), p), EncodeCompact(kTarget * 4 / 3));
}

TEST(DifficultyTest, OnScheduleKeepsBits) {
  const DifficultyParams p = Params(10'000, 45);
  EXPECT_EQ(NextBits(Evenly(46, 10), p), kBits);
  // A partial window behaves the same.
  EXPECT_EQ(NextBits(Evenly(10, 10), p), kBits);
}

TEST(DifficultyTest, SlowBlocksRaiseTheTargetProportionally) {
  const DifficultyParams p = Params(10'000, 45);
  EXPECT_EQ(NextBits(Evenly(46, 15), p), EncodeCompact(kTarget * 3 / 2));
  EXPECT_EQ(NextBits(Evenly(46, 5), p), EncodeCompact(kTarget / 2));
  EXPECT_EQ(NextBits(Evenly(46, 8), p), EncodeCompact(kTarget * 4 / 5));
}

TEST(DifficultyTest, AveragesTheWindowTargets) {
  // Targets T0, 2T0, T0, 2T0 (the first block only gives a time): average
  // 1.5 T0 on schedule. Using the parent's target alone would give 2 T0.
  const DifficultyParams p = Params(10'000, 4);
  const uint32_t twice = EncodeCompact(kTarget * 2);
  std::vector<BlockTimeBits> w = {
      {0, kBits}, {10, kBits}, {20, twice}, {30, kBits}, {40, twice}};
  EXPECT_EQ(NextBits(w, p), EncodeCompact(kTarget * 3 / 2));
}

TEST(DifficultyTest, SolveTimesAreCappedAtSixIntervals) {
  // 45 solve times of 10 s, the newest 1000 s: counted as 60 s, so
  // t = k - 45*T + 45*6T = (1035 + 225) T and next = T0 * 1260 / 1035.
  const DifficultyParams p = Params(10'000, 45);
  std::vector<BlockTimeBits> w = Evenly(46, 10);
  w.back().time += 990;
  EXPECT_EQ(NextBits(w, p), EncodeCompact(kTarget * 1260 / 1035));
}

TEST(DifficultyTest, OutOfOrderTimestampsUseThePreviousTimestampRule) {
  // Times 0, 10, 20, 5, 30 with N = 4, T = 10 s: monotonic times 0, 10, 20,
  // 20, 30 give solve times 10, 10, 0, 10 and t = 10 + 20 + 0 + 40 = 70 s,
  // k = 100 s. (Raw differences 10, 10, -15, 25 would give 85 s.)
  const DifficultyParams p = Params(10'000, 4);
  EXPECT_EQ(NextBits(Blocks({0, 10, 20, 5, 30}), p),
            EncodeCompact(kTarget * 7 / 10));
}

TEST(DifficultyTest, ChangeIsLimitedToAFactorOfTwoPerBlock) {
  const DifficultyParams p = Params(10'000, 45);
  // Every solve time 6T or more: LWMA alone would give 6x the target.
  EXPECT_EQ(NextBits(Evenly(46, 100), p), EncodeCompact(kTarget * 2));
  // All in the same second: LWMA alone would give a zero target.
  EXPECT_EQ(NextBits(Evenly(46, 0), p), EncodeCompact(kTarget / 2));
  // With only two solve times, one long block can not move it more than 2x.
  EXPECT_EQ(NextBits(Blocks({0, 10, 1000}), p), EncodeCompact(kTarget * 2));
}

TEST(DifficultyTest, NeverAbovePowLimitNorZero) {
  DifficultyParams p = Params(10'000, 45);
  p.pow_limit = kTarget;
  EXPECT_EQ(NextBits(Evenly(46, 20), p), kBits);
  // The smallest target halves to zero, which is raised to 1.
  std::vector<BlockTimeBits> w = Blocks({0, 0, 0, 0}, EncodeCompact(1));
  EXPECT_EQ(DecodeCompact(NextBits(w, p)).target, UInt256(1));
}

TEST(DifficultyTest, OnlyTheNewestWindowCounts) {
  const DifficultyParams p = Params(10'000, 4);
  const std::vector<BlockTimeBits> w = Blocks({100, 110, 130, 135, 150});
  std::vector<BlockTimeBits> longer = Blocks({0, 1, 2, 3, 4, 5, 6}, 0x1c00ffff);
  longer.insert(longer.end(), w.begin(), w.end());
  EXPECT_EQ(NextBits(longer, p), NextBits(w, p));
  EXPECT_NE(NextBits(w, p), kBits);
}

TEST(DifficultyTest, BadParamsNeverAdjust) {
  EXPECT_EQ(NextBits(Evenly(46, 100), Params(0, 45)), kBits);
  EXPECT_EQ(NextBits(Evenly(46, 100), Params(10'000, 1)), kBits);
}

TEST(DifficultyTest, EasiestTargetsDoNotOverflow) {
  // Targets near 2^256: the sum of targets and avg * t exceed 256 bits.
  DifficultyParams p = Params(10'000, 45);
  p.pow_limit = UInt256::Max();
  const uint32_t easy = EncodeCompact(UInt256::Max());  // 0x2100ffff
  std::vector<BlockTimeBits> w = Evenly(46, 10);
  for (BlockTimeBits& b : w) b.bits = easy;
  EXPECT_EQ(NextBits(w, p), easy);
  for (BlockTimeBits& b : w) b.time *= 3;  // Slow: capped at the limit.
  EXPECT_EQ(NextBits(w, p), easy);
  for (BlockTimeBits& b : w) b.time /= 6;  // Fast: half the time.
  EXPECT_EQ(NextBits(w, p), EncodeCompact(DecodeCompact(easy).target / 2));
}

// --- Mining simulation --------------------------------------------------

// Chooses the bits of the next block from the chain so far.
using Retarget = std::function<uint32_t(std::span<const BlockTimeBits>)>;

// Mines `hashrate_factors.size()` phases of `blocks_per_phase` blocks each on
// top of a genesis block. In phase i the network does
// base_hashes_per_ms * hashrate_factors[i] hashes per millisecond, so a
// block's solve time is exponential with mean BlockWork(target) / hashrate.
// Header times are the floor of the simulated time in seconds. Returns, per
// phase, the mean solve time (simulated, in ms) of its last `tail` blocks.
std::vector<double> Simulate(const DifficultyParams& p,
                             const Retarget& retarget,
                             double base_hashes_per_ms,
                             const std::vector<double>& hashrate_factors,
                             int blocks_per_phase, int tail, uint64_t seed) {
  std::mt19937_64 rng(seed);
  double now_ms = 1.7e12;
  std::vector<BlockTimeBits> chain = {
      {static_cast<int64_t>(now_ms / 1000), p.genesis_bits}};
  const size_t window = static_cast<size_t>(p.difficulty_window) + 1;
  std::vector<double> means;
  for (double factor : hashrate_factors) {
    double tail_sum = 0;
    for (int i = 0; i < blocks_per_phase; ++i) {
      std::span<const BlockTimeBits> all(chain);
      const uint32_t bits = retarget(all.last(std::min(window, all.size())));
      const double work = BlockWork(DecodeCompact(bits).target).ToDouble();
      const double mean_ms = work / (base_hashes_per_ms * factor);
      // Inverse-CDF exponential draw from 53 random bits (portable, unlike
      // std::exponential_distribution).
      const double u = static_cast<double>(rng() >> 11) * 0x1p-53;
      const double solve_ms = -mean_ms * std::log1p(-u);
      now_ms += solve_ms;
      chain.push_back({static_cast<int64_t>(std::floor(now_ms / 1000)), bits});
      if (i >= blocks_per_phase - tail) tail_sum += solve_ms;
    }
    means.push_back(tail_sum / tail);
  }
  return means;
}

// Phases: start (genesis difficulty set for twice the interval), 4x up, 4x
// down (back to the start), 4x down again.
const std::vector<double> kPhases = {1, 4, 1, 0.25};

// Base hash rate for which genesis bits give blocks every 2 intervals, so
// the first phase must also find its level.
double BaseHashrate(const DifficultyParams& p) {
  return BlockWork(DecodeCompact(p.genesis_bits).target).ToDouble() /
         (2.0 * static_cast<double>(p.target_interval_ms));
}

bool AllWithin20Percent(const std::vector<double>& means, double interval_ms) {
  for (double m : means) {
    if (std::abs(m / interval_ms - 1) > 0.2) return false;
  }
  return true;
}

void Print(const char* label, int64_t interval_ms,
           const std::vector<double>& means) {
  std::printf(
      "%s, T = %lld ms: mean solve time of the last 300 blocks of "
      "each phase (hash rate x1, x4, x1, x0.25):",
      label, static_cast<long long>(interval_ms));
  for (double m : means) std::printf(" %.0f", m);
  std::printf(" ms\n");
}

std::vector<double> RunLwma(const DifficultyParams& p, uint64_t seed) {
  std::vector<double> means = Simulate(
      p, [&p](std::span<const BlockTimeBits> w) { return NextBits(w, p); },
      BaseHashrate(p), kPhases, 600, 300, seed);
  Print("LWMA", p.target_interval_ms, means);
  return means;
}

TEST(DifficultySimulationTest, TenSecondBlocksTrackHashrate) {
  const DifficultyParams p = Params(10'000, 45);
  for (uint64_t seed : {1, 2, 3}) {
    const std::vector<double> means = RunLwma(p, seed);
    ASSERT_EQ(means.size(), kPhases.size());
    for (size_t i = 0; i < means.size(); ++i) {
      EXPECT_NEAR(means[i], 10'000, 2'000) << "seed " << seed << " phase " << i;
    }
  }
}

TEST(DifficultySimulationTest, OneSecondBlocksWithWholeSecondTimestamps) {
  const DifficultyParams p = Params(1'000, 45);
  for (uint64_t seed : {1, 2, 3}) {
    const std::vector<double> means = RunLwma(p, seed);
    for (size_t i = 0; i < means.size(); ++i) {
      EXPECT_NEAR(means[i], 1'000, 200) << "seed " << seed << " phase " << i;
    }
  }
}

TEST(DifficultySimulationTest, HalfSecondBlocksWithWholeSecondTimestamps) {
  const DifficultyParams p = Params(500, 45);
  const std::vector<double> means = RunLwma(p, 1);
  for (size_t i = 0; i < means.size(); ++i) {
    EXPECT_NEAR(means[i], 500, 100) << "phase " << i;
  }
}

// The 20% check above can fail: a chain that never retargets, or one whose
// interval constant is off by 2x, is caught by it.
TEST(DifficultySimulationTest, CheckRejectsBrokenRetargeting) {
  const DifficultyParams p = Params(10'000, 45);
  const std::vector<double> frozen = Simulate(
      p,
      [&p](std::span<const BlockTimeBits> w) {
        return w.empty() ? p.genesis_bits : w.back().bits;
      },
      BaseHashrate(p), kPhases, 600, 300, 1);
  Print("never retargets", p.target_interval_ms, frozen);
  EXPECT_FALSE(AllWithin20Percent(frozen, 10'000));

  DifficultyParams wrong = p;
  wrong.target_interval_ms = 20'000;  // Broken constant.
  const std::vector<double> slow = Simulate(
      p,
      [&wrong](std::span<const BlockTimeBits> w) { return NextBits(w, wrong); },
      BaseHashrate(p), kPhases, 600, 300, 1);
  Print("LWMA told T = 20 s", p.target_interval_ms, slow);
  EXPECT_FALSE(AllWithin20Percent(slow, 10'000));

  EXPECT_TRUE(AllWithin20Percent(RunLwma(p, 1), 10'000));
}

}  // namespace
}  // namespace pbchain
