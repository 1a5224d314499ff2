#include "client/format.h"

#include <string>

#include "gtest/gtest.h"

namespace pbchain::client {
namespace {

TEST(ParseAmountTest, AcceptsDecimalIntegersUpTo2To64Minus1) {
  EXPECT_EQ(*ParseAmount("0"), 0u);
  EXPECT_EQ(*ParseAmount("42"), 42u);
  EXPECT_EQ(*ParseAmount("007"), 7u);
  EXPECT_EQ(*ParseAmount("18446744073709551615"), 18446744073709551615ull);
}

TEST(ParseAmountTest, RejectsBadInputNamingTheArgument) {
  for (const char* bad :
       {"", "-5", "-0", "+5", "1.5", "1,5", "abc", "0x10", " 5", "5 ", "1e3",
        "18446744073709551616", "99999999999999999999999"}) {
    absl::StatusOr<uint64_t> v = ParseAmount(bad, "AMOUNT");
    ASSERT_FALSE(v.ok()) << "'" << bad << "' parsed as " << *v;
    EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(v.status().message().rfind("AMOUNT: ", 0), 0u)
        << v.status().message();
  }
  EXPECT_NE(ParseAmount("-5").status().message().find("negative"),
            std::string::npos);
  EXPECT_NE(
      ParseAmount("18446744073709551616").status().message().find("2^64-1"),
      std::string::npos);
}

TEST(ParseAddressTest, ChecksPrefixLengthHexAndChecksum) {
  Address a;
  for (int i = 0; i < 20; ++i) a.bytes[i] = static_cast<uint8_t>(i * 7);
  const std::string text = a.ToText();
  ASSERT_TRUE(ParseAddress(text).ok());
  EXPECT_EQ(*ParseAddress(text), a);

  std::string wrong_prefix = text;
  wrong_prefix[0] = 'x';
  std::string bad_hex = text;
  bad_hex[10] = 'g';
  std::string bad_sum = text;
  bad_sum.back() = bad_sum.back() == '0' ? '1' : '0';
  for (const std::string& bad :
       {wrong_prefix, bad_hex, bad_sum, text.substr(0, 49), text + "0",
        std::string("")}) {
    absl::StatusOr<Address> r = ParseAddress(bad, "TO");
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().message().rfind("TO: ", 0), 0u);
  }
}

TEST(DisplayHashTest, ReversesBytes) {
  std::string raw(32, '\0');
  raw[0] = '\x01';
  raw[31] = '\xab';
  const std::string shown = DisplayHash(raw);
  EXPECT_EQ(shown.substr(0, 2), "ab");
  EXPECT_EQ(shown.substr(62, 2), "01");
  absl::StatusOr<Hash256> back = ParseDisplayHash(shown);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->bytes[0], 0x01);
  EXPECT_EQ(DisplayHash(""), "");
  EXPECT_FALSE(ParseDisplayHash("abc").ok());
}

TEST(PayloadTest, TextOrHex) {
  EXPECT_TRUE(IsPrintableUtf8("hello, chain\n"));
  EXPECT_TRUE(
      IsPrintableUtf8("gr\xc3\xbc\xc3\x9f"
                      "e"));  // grüße
  EXPECT_FALSE(IsPrintableUtf8(std::string("a\0b", 3)));
  EXPECT_FALSE(IsPrintableUtf8("\xff\xfe"));
  EXPECT_FALSE(IsPrintableUtf8("\xc0\xaf"));  // overlong
  EXPECT_FALSE(IsPrintableUtf8("\x1b[31m"));  // escape sequence
  EXPECT_EQ(PayloadForDisplay("hi"), "hi");
  EXPECT_EQ(PayloadForDisplay(std::string("\x00\xff", 2)), "0x00ff");
}

TEST(FormatTimeTest, Utc) {
  EXPECT_EQ(FormatUnixTime(0), "1970-01-01 00:00:00 UTC");
}

}  // namespace
}  // namespace pbchain::client
