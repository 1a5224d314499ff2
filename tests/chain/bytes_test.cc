#include "chain/bytes.h"

#include "gtest/gtest.h"

namespace pbchain {
namespace {

TEST(BytesTest, HexRoundTrip) {
  Bytes data = {0x00, 0x01, 0xab, 0xff};
  EXPECT_EQ(HexEncode(data), "0001abff");
  absl::StatusOr<Bytes> back = HexDecode("0001ABff");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, data);
}

TEST(BytesTest, HexDecodeRejectsBadInput) {
  EXPECT_FALSE(HexDecode("abc").ok());
  EXPECT_FALSE(HexDecode("zz").ok());
  EXPECT_EQ(HexDecode("0g").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(BytesTest, DisplayHexIsReversed) {
  Hash256 h;
  h.bytes[0] = 0x01;
  h.bytes[31] = 0xee;
  EXPECT_EQ(h.ToHex().substr(0, 2), "01");
  EXPECT_EQ(h.ToDisplayHex().substr(0, 2), "ee");
  absl::StatusOr<Hash256> back = Hash256::FromDisplayHex(h.ToDisplayHex());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, h);
  EXPECT_FALSE(Hash256::FromHex("00").ok());
}

TEST(BytesTest, WriterReaderRoundTripAndBounds) {
  ByteWriter w;
  w.U8(7);
  w.U16(0x1234);
  w.U32(0xdeadbeef);
  w.U64(0x0102030405060708ULL);
  Bytes b = w.Take();
  ASSERT_EQ(b.size(), 15u);
  EXPECT_EQ(b[1], 0x34);  // little-endian
  ByteReader r(b);
  uint8_t a;
  uint16_t c;
  uint32_t d;
  uint64_t e;
  ASSERT_TRUE(r.U8(a) && r.U16(c) && r.U32(d) && r.U64(e));
  EXPECT_EQ(a, 7);
  EXPECT_EQ(c, 0x1234);
  EXPECT_EQ(d, 0xdeadbeefu);
  EXPECT_EQ(e, 0x0102030405060708ULL);
  EXPECT_TRUE(r.AtEnd());
  EXPECT_FALSE(r.U8(a));
}

}  // namespace
}  // namespace pbchain
