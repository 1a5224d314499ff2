#include "chain/hash.h"

#include <string>

#include "gtest/gtest.h"

namespace pbchain {
namespace {

// Bitcoin's genesis block header (80 bytes).
constexpr char kBitcoinGenesisHeader[] =
    "0100000000000000000000000000000000000000000000000000000000000000000000"
    "003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab"
    "5f49ffff001d1dac2b7c";

TEST(HashTest, Sha256NistVectors) {
  // FIPS 180-2 appendix B.1 and B.2, plus the empty string.
  EXPECT_EQ(Sha256(AsBytes("abc")).ToHex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(
      Sha256(
          AsBytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))
          .ToHex(),
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256(ByteSpan()).ToHex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(HashTest, Sha256MillionAs) {
  // FIPS 180-2 appendix B.3: one million 'a'.
  const std::string a(1000000, 'a');
  EXPECT_EQ(Sha256(AsBytes(a)).ToHex(),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(HashTest, Sha256dOfBitcoinGenesisHeader) {
  absl::StatusOr<Bytes> header = HexDecode(kBitcoinGenesisHeader);
  ASSERT_TRUE(header.ok());
  ASSERT_EQ(header->size(), 80u);
  EXPECT_EQ(Sha256d(*header).ToDisplayHex(),
            "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f");
}

TEST(HashTest, Sha256dIsSha256Twice) {
  // Every length around the 55/56/64-byte padding boundaries.
  Bytes data;
  for (int len = 0; len <= 130; ++len) {
    const Hash256 once = Sha256(data);
    EXPECT_EQ(Sha256d(data), Sha256(once.bytes)) << "length " << len;
    data.push_back(static_cast<uint8_t>(len * 7 + 1));
  }
}

TEST(HashTest, DifferentInputsDifferentHashes) {
  EXPECT_NE(Sha256(AsBytes("a")), Sha256(AsBytes("b")));
  EXPECT_NE(Sha256(AsBytes("a")), Sha256d(AsBytes("a")));
}

}  // namespace
}  // namespace pbchain
