#include "chain/pow.h"

#include <cstdint>
#include <random>
#include <string>

#include "absl/status/status.h"
#include "chain/bytes.h"
#include "chain/uint256.h"
#include "gtest/gtest.h"

namespace pbchain {
namespace {

UInt256 Hex(std::string_view hex) {
  absl::StatusOr<UInt256> v = UInt256::FromHex(hex);
  EXPECT_TRUE(v.ok()) << v.status();
  return v.value_or(UInt256());
}

// Bitcoin Core's bignum_SetCompact vectors (src/test/arith_uint256_tests.cpp):
// SetCompact(bits) gives `target_hex` and the two flags; GetCompact(negative)
// of the result gives `reencoded`.
struct CompactVector {
  uint32_t bits;
  const char* target_hex;
  uint32_t reencoded;
  bool negative;
  bool overflow;
};

constexpr CompactVector kBitcoinVectors[] = {
    {0x00000000, "0", 0x00000000, false, false},
    {0x00123456, "0", 0x00000000, false, false},
    {0x01003456, "0", 0x00000000, false, false},
    {0x02000056, "0", 0x00000000, false, false},
    {0x03000000, "0", 0x00000000, false, false},
    {0x04000000, "0", 0x00000000, false, false},
    {0x00923456, "0", 0x00000000, false, false},
    {0x01803456, "0", 0x00000000, false, false},
    {0x02800056, "0", 0x00000000, false, false},
    {0x03800000, "0", 0x00000000, false, false},
    {0x04800000, "0", 0x00000000, false, false},
    {0x01123456, "12", 0x01120000, false, false},
    {0x01fedcba, "7e", 0x01fe0000, true, false},
    {0x02123456, "1234", 0x02123400, false, false},
    {0x03123456, "123456", 0x03123456, false, false},
    {0x04123456, "12345600", 0x04123456, false, false},
    {0x04923456, "12345600", 0x04923456, true, false},
    {0x05009234, "92340000", 0x05009234, false, false},
    {0x20123456,
     "1234560000000000000000000000000000000000000000000000000000000000",
     0x20123456, false, false},
};

TEST(PowTest, BitcoinSetCompactVectors) {
  for (const CompactVector& v : kBitcoinVectors) {
    SCOPED_TRACE(testing::Message() << "bits 0x" << std::hex << v.bits);
    const CompactDecode d = DecodeCompact(v.bits);
    EXPECT_EQ(d.target, Hex(v.target_hex));
    EXPECT_EQ(d.negative, v.negative);
    EXPECT_EQ(d.overflow, v.overflow);
    EXPECT_EQ(EncodeCompact(d.target, d.negative), v.reencoded);
  }
  // Only the flags are specified for this one.
  const CompactDecode d = DecodeCompact(0xff123456);
  EXPECT_FALSE(d.negative);
  EXPECT_TRUE(d.overflow);
}

TEST(PowTest, EncodeNeverSetsTheSignBitFromTheMantissa) {
  EXPECT_EQ(EncodeCompact(UInt256(0x80)), 0x02008000u);  // Bitcoin vector.
  EXPECT_EQ(EncodeCompact(UInt256(0x800000)), 0x04008000u);
  EXPECT_EQ(EncodeCompact(UInt256(0x7fffff)), 0x037fffffu);
  EXPECT_EQ(EncodeCompact(UInt256()), 0u);
  EXPECT_EQ(EncodeCompact(UInt256(), /*negative=*/true), 0u);
  EXPECT_EQ(EncodeCompact(UInt256::Max()), 0x2100ffffu);  // Rounds down.
}

TEST(PowTest, OverflowBoundaries) {
  // Largest exponents that still fit: 1 byte of mantissa at size 34, two at
  // 33, three at 32.
  EXPECT_FALSE(DecodeCompact(0x22000001).overflow);
  EXPECT_EQ(DecodeCompact(0x22000001).target, UInt256(1) << 248);
  EXPECT_TRUE(DecodeCompact(0x22000100).overflow);
  EXPECT_TRUE(DecodeCompact(0x23000001).overflow);
  EXPECT_FALSE(DecodeCompact(0x2100ffff).overflow);
  EXPECT_EQ(DecodeCompact(0x2100ffff).target, UInt256(0xffff) << 240);
  EXPECT_TRUE(DecodeCompact(0x21010000).overflow);
  EXPECT_FALSE(DecodeCompact(0x207fffff).overflow);
  // A zero mantissa never overflows, whatever the exponent.
  EXPECT_FALSE(DecodeCompact(0xff000000).overflow);
  EXPECT_TRUE(DecodeCompact(0xff000000).target.IsZero());
}

TEST(PowTest, RoundTripKeepsTheTop23Bits) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    UInt256 x;
    for (int j = 0; j < 4; ++j) x = (x << 64) + rng();
    x >>= static_cast<unsigned>(rng() % 256);
    const uint32_t bits = EncodeCompact(x);
    const CompactDecode d = DecodeCompact(bits);
    ASSERT_FALSE(d.negative || d.overflow) << x;
    ASSERT_LE(d.target, x);
    // Rounding down loses only bits below the top 23 (or 16, when the sign
    // bit forced an extra byte) significant bits.
    ASSERT_LT(x - d.target,
              x.bits() > 24 ? UInt256(1) << (x.bits() - 16) : UInt256(1) << 8)
        << x;
    ASSERT_EQ(EncodeCompact(d.target), bits) << x;
  }
}

TEST(PowTest, BitcoinGenesisTargetAndWork) {
  const CompactDecode d = DecodeCompact(0x1d00ffff);
  EXPECT_FALSE(d.negative);
  EXPECT_FALSE(d.overflow);
  EXPECT_EQ(d.target.ToHex(),
            "00000000ffff0000000000000000000000000000000000000000000000000000");
  EXPECT_EQ(EncodeCompact(d.target), 0x1d00ffffu);
  EXPECT_EQ(BlockWork(d.target), UInt256(0x100010001ULL));
  EXPECT_EQ(BlockWork(d.target).ToDecimal(), "4295032833");

  absl::StatusOr<Hash256> genesis = Hash256::FromDisplayHex(
      "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f");
  ASSERT_TRUE(genesis.ok());
  EXPECT_TRUE(HashMeetsTarget(*genesis, d.target));
  EXPECT_FALSE(HashMeetsTarget(*genesis, d.target >> 12));
}

TEST(PowTest, HashMeetsTargetIsLessOrEqual) {
  const UInt256 target = Hex("00000000ffff0000000000000000000000000000");
  EXPECT_TRUE(HashMeetsTarget(target.ToHash(), target));
  EXPECT_TRUE(HashMeetsTarget((target - 1).ToHash(), target));
  EXPECT_FALSE(HashMeetsTarget((target + 1).ToHash(), target));
  // Byte 31 is the most significant: a set high byte fails any small target.
  Hash256 h;
  h.bytes[31] = 1;
  EXPECT_FALSE(HashMeetsTarget(h, target));
  Hash256 low;
  low.bytes[0] = 0xff;
  EXPECT_TRUE(HashMeetsTarget(low, target));
}

TEST(PowTest, TargetFromBits) {
  const UInt256 limit = DecodeCompact(0x1d00ffff).target;
  absl::StatusOr<UInt256> t = TargetFromBits(0x1d00ffff, limit);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t, limit);
  t = TargetFromBits(0x1b0404cb, limit);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(*t, UInt256(0x0404cb) << 192);

  for (uint32_t bad : {
           0x1d010000u,  // Above the limit by one mantissa step.
           0x1e00ffffu,  // Above the limit.
           0x00000000u,  // Zero.
           0x01003456u,  // Zero after truncation.
           0x04923456u,  // Negative.
           0x1c800001u,  // Negative (small magnitude, below the limit).
           0xff123456u,  // Overflow.
       }) {
    EXPECT_EQ(TargetFromBits(bad, limit).status().code(),
              absl::StatusCode::kInvalidArgument)
        << std::hex << bad;
  }
  // Overflowing bits are rejected even with the widest possible limit.
  EXPECT_FALSE(TargetFromBits(0x22000100, UInt256::Max()).ok());
  EXPECT_TRUE(TargetFromBits(0x22000001, UInt256::Max()).ok());
}

TEST(PowTest, BlockWork) {
  EXPECT_EQ(BlockWork(UInt256()), UInt256());  // As Bitcoin's GetBlockProof.
  EXPECT_EQ(BlockWork(UInt256::Max()), UInt256(1));
  EXPECT_EQ(BlockWork(UInt256(1)), UInt256(1) << 255);
  // floor(2^256 / 2^k) for targets 2^k - 1.
  for (unsigned k = 1; k < 256; ++k) {
    EXPECT_EQ(BlockWork((UInt256(1) << k) - 1), UInt256(1) << (256 - k)) << k;
  }
  // floor(2^256 / 3) = 0x5555...5555.
  EXPECT_EQ(BlockWork(UInt256(2)), UInt256::Max() / 3);
  // Regtest-style limit 0x207fffff: 2^256 / (0x7fffff * 2^232 + 1) = 2.
  EXPECT_EQ(BlockWork(DecodeCompact(0x207fffff).target), UInt256(2));
  // Halving the target (roughly) doubles the work.
  const UInt256 t = DecodeCompact(0x1d00ffff).target;
  EXPECT_EQ(BlockWork(t >> 1), UInt256(0x200020002ULL));
}

}  // namespace
}  // namespace pbchain
