#include "chain/uint256.h"

#include <cstdint>
#include <random>
#include <string>

#include "absl/status/status.h"
#include "chain/bytes.h"
#include "gtest/gtest.h"

namespace pbchain {
namespace {

// R1 and R2 are the two "random" values of Bitcoin Core's
// src/test/arith_uint256_tests.cpp, given there as hash bytes (little-endian);
// expected results below are transcribed from that file or computed
// independently with Python's arbitrary-precision integers.
constexpr char kR1Bytes[] =
    "9c524adbcf5611122b29125e5d35d2d22281aab533f00832d556b1f9eae51d7d";
constexpr char kR2Bytes[] =
    "70321d7c47a56b40267e0ac3a69cb6bf133047a3192dda71491372f0b4ca81d7";
constexpr char kR1Hex[] =
    "7d1de5eaf9b156d53208f033b5aa8122d2d2355d5e12292b121156cfdb4a529c";
constexpr char kR2Hex[] =
    "d781cab4f072134971da2d19a3473013bfb69ca6c30a7e26406ba5477c1d3270";
constexpr char kMaxDecimal[] =
    "115792089237316195423570985008687907853269984665640564039457584007913129"
    "639935";

UInt256 FromHashHex(const char* hex) {
  absl::StatusOr<Hash256> h = Hash256::FromHex(hex);
  EXPECT_TRUE(h.ok()) << h.status();
  return UInt256::FromHash(h.value_or(Hash256{}));
}

UInt256 Hex(std::string_view hex) {
  absl::StatusOr<UInt256> v = UInt256::FromHex(hex);
  EXPECT_TRUE(v.ok()) << v.status();
  return v.value_or(UInt256());
}

const UInt256 kR1 = FromHashHex(kR1Bytes);
const UInt256 kR2 = FromHashHex(kR2Bytes);
const UInt256 kOne = 1;
const UInt256 kMax = UInt256::Max();

TEST(UInt256Test, HashBytesAreLittleEndian) {
  EXPECT_EQ(kR1.ToHex(), kR1Hex);
  EXPECT_EQ(kR2.ToHex(), kR2Hex);
  EXPECT_EQ(kR1.GetLow64(), 0x121156cfdb4a529cULL);
  EXPECT_EQ(kR1.ToHash().ToHex(), kR1Bytes);
  EXPECT_EQ(kR1.ToHash().ToDisplayHex(), kR1Hex);

  Hash256 h;
  h.bytes[0] = 1;
  EXPECT_EQ(UInt256::FromHash(h), kOne);
  h.bytes[0] = 0;
  h.bytes[31] = 0x80;
  EXPECT_EQ(UInt256::FromHash(h), kOne << 255);
}

TEST(UInt256Test, ConstructionAndHex) {
  EXPECT_EQ(UInt256().ToHex(), std::string(64, '0'));
  EXPECT_EQ(kMax.ToHex(), std::string(64, 'f'));
  EXPECT_EQ(UInt256(0x0123456789abcdefULL).ToHex(),
            std::string(48, '0') + "0123456789abcdef");
  EXPECT_EQ(Hex(kR1Hex), kR1);
  EXPECT_EQ(Hex("ABCdef"), UInt256(0xabcdef));
  EXPECT_EQ(Hex("0"), UInt256());
  EXPECT_EQ(UInt256::FromHex("").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(UInt256::FromHex("0x12").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(UInt256::FromHex(std::string(65, '1')).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(kR1 != kR2);
  EXPECT_TRUE(UInt256().IsZero());
  EXPECT_FALSE(kOne.IsZero());
}

TEST(UInt256Test, Comparison) {
  EXPECT_LT(kR1, kR2);  // Decided by the top limb.
  EXPECT_GT(kR2, kR1);
  EXPECT_LE(kR1, kR1);
  EXPECT_GE(kR1, kR1);
  // Equal top limbs: decided further down.
  EXPECT_LT(kOne << 200, (kOne << 200) + 1);
  EXPECT_GT(UInt256(0x100000000ULL), UInt256(0xffffffffULL));
  for (unsigned i = 0; i < 256; ++i) {
    UInt256 v = kOne << i;
    EXPECT_GT(v, 0u);
    EXPECT_LT(v - 1, v);
    EXPECT_GE((kR1 >> 1) + v, kR1 >> 1) << i;
  }
}

TEST(UInt256Test, AddSubtractWrap) {
  EXPECT_EQ((kR1 + kR2).ToHex(),
            "549fb09fea236a1ea3e31d4d58f1b1369288d204211ca751527cfc175767850c");
  EXPECT_EQ((kR1 - kR2).ToHex(),
            "a59c1b36093f438bc02ec31a1263510f131b98b69b07ab04d1a5b1885f2d202c");
  EXPECT_EQ((kR2 - kR1).ToHex(),
            "5a63e4c9f6c0bc743fd13ce5ed9caef0ece4674964f854fb2e5a4e77a0d2dfd4");
  EXPECT_EQ(kMax + 1, UInt256());
  EXPECT_EQ(UInt256() - 1, kMax);
  EXPECT_EQ(kR1 + kR2 - kR2, kR1);
  for (unsigned i = 1; i < 256; ++i) {
    // Carries and borrows ripple through every limb.
    EXPECT_EQ((kMax >> i) + 1, kOne << (256 - i)) << i;
    EXPECT_EQ((kOne << (256 - i)) - 1, kMax >> i) << i;
  }
  UInt256 x = 0xbedc77e27940a7ULL;
  x += 0xee8d836fce66fbULL;
  EXPECT_EQ(x, UInt256(0xbedc77e27940a7ULL + 0xee8d836fce66fbULL));
}

TEST(UInt256Test, Multiply) {
  EXPECT_EQ((kR1 * kR1).ToHex(),
            "62a38c0486f01e45879d7910a7761bf30d5237e9873f9bff3642a732c4d84f10");
  EXPECT_EQ((kR1 * kR2).ToHex(),
            "de37805e9986996cfba76ff6ba51c008df851987d9dd323f0e5de07760529c40");
  EXPECT_EQ((kR2 * kR2).ToHex(),
            "ac8c010096767d3cae5005dec28bb2b45a1d85ab7996ccd3e102a650f74ff100");
  EXPECT_EQ((kR1 * 3).ToHex(),
            "7759b1c0ed14047f961ad09b20ff83687876a0181a367b813634046f91def7d4");
  EXPECT_EQ((kR2 * 0x87654321ULL).ToHex(),
            "23f7816e30c4ae2017257b7a0fa64d60402f5234d46e746b61c960d09a26d070");
  EXPECT_EQ(kR1 * kR2, kR2 * kR1);
  EXPECT_EQ(kR1 * 0, UInt256());
  EXPECT_EQ(kR1 * 1, kR1);
  EXPECT_EQ(kR1 * kMax, UInt256() - kR1);  // R1 * (2^256 - 1) = -R1.
  EXPECT_EQ(kMax * kMax, kOne);
  EXPECT_EQ(UInt256(0xffffffffffffffffULL) * 0xffffffffffffffffULL,
            Hex("fffffffffffffffe0000000000000001"));
}

TEST(UInt256Test, DivideAndRemainder) {
  const UInt256 d1 = Hex("AD7133AC1977FA2B7");
  const UInt256 d2 = Hex("ECD751716");
  EXPECT_EQ((kR1 / d1).ToHex(),
            "00000000000000000b8ac01106981635d9ed112290f8895545a7654dde28fb3a");
  EXPECT_EQ((kR1 / d2).ToHex(),
            "000000000873ce8efec5b67150bad3aa8c5fcb70e947586153bf2cec7c37c57a");
  EXPECT_EQ((kR2 / d1).ToHex(),
            "000000000000000013e1665895a1cc981de6d93670105a6b3ec3b73141b3a3c5");
  EXPECT_EQ((kR2 / d2).ToHex(),
            "000000000e8f0abe753bb0afe2e9437ee85d280be60882cf0bd1aaf7fa3cc2c4");
  EXPECT_EQ(kR1 % d1, Hex("882b852453e0826"));
  EXPECT_EQ(kR1 % d2, Hex("838ff6420"));
  EXPECT_EQ(kR2 % d1, Hex("7c33dde416555769d"));
  EXPECT_EQ(kR2 % d2, Hex("88dd0d998"));
  EXPECT_EQ(kR1 / kOne, kR1);
  EXPECT_EQ(kR1 / kMax, UInt256());
  EXPECT_EQ(kMax / kR1, UInt256(2));
  EXPECT_EQ(kMax / kR2, UInt256(1));
  EXPECT_EQ(kR1 / kR2, UInt256());
  EXPECT_EQ(kR1 % kR2, kR1);
  EXPECT_EQ(kR1 / kR1, kOne);
  EXPECT_EQ(kR1 % kR1, UInt256());
  // Division by zero is defined and does not crash.
  EXPECT_EQ(kR1 / 0, UInt256());
  EXPECT_EQ(kR1 % 0, kR1);
}

TEST(UInt256Test, DivisionIdentityOnRandomValues) {
  std::mt19937_64 rng(42);
  auto random_value = [&rng](int bits) {
    UInt256 v;
    for (int i = 0; i < 4; ++i) v = (v << 64) + rng();
    return bits >= 256 ? v : v >> static_cast<unsigned>(256 - bits);
  };
  for (int iter = 0; iter < 2000; ++iter) {
    const UInt256 n = random_value(1 + static_cast<int>(rng() % 256));
    const UInt256 d = random_value(1 + static_cast<int>(rng() % 256));
    if (d.IsZero()) continue;
    const UInt256 q = n / d;
    const UInt256 r = n % d;
    ASSERT_LT(r, d) << n.ToHex() << " / " << d.ToHex();
    ASSERT_EQ(q * d + r, n) << n.ToHex() << " / " << d.ToHex();
  }
}

TEST(UInt256Test, Shifts) {
  EXPECT_EQ((kR1 << 100).ToHex(),
            "5aa8122d2d2355d5e12292b121156cfdb4a529c0000000000000000000000000");
  EXPECT_EQ((kR1 >> 100).ToHex(),
            "00000000000000000000000007d1de5eaf9b156d53208f033b5aa8122d2d2355");
  EXPECT_EQ((kR1 << 33).ToHex(),
            "f362adaa6411e0676b550245a5a46ababc2452562422ad9fb694a53800000000");
  EXPECT_EQ((kR1 >> 33).ToHex(),
            "000000003e8ef2f57cd8ab6a99047819dad5409169691aaeaf0914958908ab67");
  EXPECT_EQ(kR1 << 0, kR1);
  EXPECT_EQ(kR1 >> 0, kR1);
  EXPECT_EQ(kR1 << 256, UInt256());
  EXPECT_EQ(kR1 >> 256, UInt256());
  EXPECT_EQ(kR1 << 1000, UInt256());
  const UInt256 half = kOne << 255;
  const UInt256 c1 = 0x0123456789abcdefULL;
  const UInt256 c2 = c1 << 128;
  for (unsigned i = 0; i < 256; ++i) {
    EXPECT_EQ(half >> (255 - i), kOne << i) << i;
    EXPECT_EQ((kOne << i).bits(), static_cast<int>(i) + 1);
    EXPECT_EQ((kMax << i) >> i, kMax >> i) << i;
    if (i < 128) {
      EXPECT_EQ(c1 << i, c2 >> (128 - i)) << i;
    } else {
      EXPECT_EQ(c1 << i, c2 << (i - 128)) << i;
    }
  }
}

TEST(UInt256Test, BitsLow64NotAndDouble) {
  EXPECT_EQ(UInt256().bits(), 0);
  EXPECT_EQ(kOne.bits(), 1);
  EXPECT_EQ(kR1.bits(), 255);
  EXPECT_EQ(kMax.bits(), 256);
  EXPECT_EQ(UInt256(0x100000000ULL).bits(), 33);
  EXPECT_EQ((kOne << 255).GetLow64(), 0u);
  EXPECT_EQ(kMax.GetLow64(), 0xffffffffffffffffULL);
  EXPECT_EQ(~UInt256(), kMax);
  EXPECT_EQ(~~kR1, kR1);
  EXPECT_EQ(~kR1 + kR1, kMax);
  EXPECT_EQ(UInt256().ToDouble(), 0.0);
  EXPECT_EQ((kOne << 200).ToDouble(), 0x1p200);
  EXPECT_EQ(UInt256(123456789).ToDouble(), 123456789.0);
  EXPECT_NEAR(kR1.ToDouble() / 0x1p256, 0.4887374590559308955, 1e-15);
}

TEST(UInt256Test, Decimal) {
  EXPECT_EQ(UInt256().ToDecimal(), "0");
  EXPECT_EQ(UInt256(7).ToDecimal(), "7");
  EXPECT_EQ(UInt256(1000000000).ToDecimal(), "1000000000");
  EXPECT_EQ(UInt256(999999999).ToDecimal(), "999999999");
  EXPECT_EQ(UInt256(4295032833ULL).ToDecimal(), "4295032833");
  EXPECT_EQ(UInt256(0xffffffffffffffffULL).ToDecimal(), "18446744073709551615");
  EXPECT_EQ(kMax.ToDecimal(), kMaxDecimal);
  EXPECT_EQ(kR1.ToDecimal(),
            "56591931472623520581634001478840029381390639792584772503890130891"
            "759973716636");

  absl::StatusOr<UInt256> v = UInt256::FromDecimal(kMaxDecimal);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, kMax);
  v = UInt256::FromDecimal("0004295032833");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, UInt256(4295032833ULL));
  v = UInt256::FromDecimal(kR1.ToDecimal());
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(*v, kR1);

  // 2^256 is one too many.
  EXPECT_EQ(UInt256::FromDecimal("1157920892373161954235709850086879078532699"
                                 "84665640564039457584007913129639936")
                .status()
                .code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(
      UInt256::FromDecimal(std::string(kMaxDecimal) + "0").status().code(),
      absl::StatusCode::kOutOfRange);
  EXPECT_EQ(UInt256::FromDecimal("").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(UInt256::FromDecimal("12a").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(UInt256::FromDecimal("-1").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(UInt256::FromDecimal(" 1").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace pbchain
