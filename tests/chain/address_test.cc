#include "chain/address.h"

#include <cctype>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace pbchain {
namespace {

// RFC 8032 TEST 1 public key and its address text, computed independently
// (Python hashlib: "pb" + sha256(pk)[:20].hex() + sha256(addr)[:4].hex()).
constexpr char kPublicKeyHex[] =
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
constexpr char kAddressText[] =
    "pb21fe31dfa154a261626bf854046fd2271b7bed4b40b99256";

PublicKey TestPublicKey() {
  absl::StatusOr<Bytes> b = HexDecode(kPublicKeyHex);
  PublicKey pk{};
  if (b.ok() && b->size() == pk.size()) {
    std::copy(b->begin(), b->end(), pk.begin());
  }
  return pk;
}

TEST(AddressTest, FromPublicKeyKnownVector) {
  const Address a = AddressFromPublicKey(TestPublicKey());
  EXPECT_EQ(HexEncode(a.bytes), "21fe31dfa154a261626bf854046fd2271b7bed4b");
  EXPECT_EQ(a.ToText(), kAddressText);
  EXPECT_EQ(a.ToText().size(), Address::kTextSize);
  EXPECT_FALSE(a.IsZero());
}

TEST(AddressTest, TextRoundTrip) {
  for (int i = 0; i < 100; ++i) {
    Address a;
    for (size_t j = 0; j < a.bytes.size(); ++j) {
      a.bytes[j] = static_cast<uint8_t>(i * 37 + j * 11);
    }
    absl::StatusOr<Address> back = Address::FromText(a.ToText());
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, a);
  }
  Address zero;
  EXPECT_TRUE(zero.IsZero());
  absl::StatusOr<Address> back = Address::FromText(zero.ToText());
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->IsZero());
}

TEST(AddressTest, UppercaseHexAccepted) {
  std::string upper = kAddressText;
  for (size_t i = 2; i < upper.size(); ++i) {
    upper[i] = static_cast<char>(std::toupper(upper[i]));
  }
  ASSERT_NE(upper, kAddressText);
  absl::StatusOr<Address> a = Address::FromText(upper);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->ToText(), kAddressText);  // Written back lowercase.
}

TEST(AddressTest, BadChecksumRejected) {
  // Change each body/checksum hex digit in turn: every one must be caught.
  const std::string good = kAddressText;
  for (size_t i = 2; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = bad[i] == '0' ? '1' : '0';
    absl::StatusOr<Address> a = Address::FromText(bad);
    ASSERT_FALSE(a.ok()) << "position " << i;
    EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(a.status().message(), "checksum"))
        << a.status();
  }
  // Swapping two adjacent different digits.
  std::string swapped = good;
  std::swap(swapped[2], swapped[3]);
  ASSERT_NE(swapped, good);
  EXPECT_FALSE(Address::FromText(swapped).ok());
}

TEST(AddressTest, WrongPrefixRejected) {
  std::string text = kAddressText;
  for (const char* prefix : {"pc", "bp", "PB", "xx"}) {
    text.replace(0, 2, prefix);
    absl::StatusOr<Address> a = Address::FromText(text);
    ASSERT_FALSE(a.ok()) << prefix;
    EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(a.status().message(), "start with"))
        << a.status();
  }
  EXPECT_FALSE(Address::FromText("").ok());
  EXPECT_FALSE(Address::FromText("p").ok());
  // Bare hex without the prefix.
  EXPECT_FALSE(Address::FromText(std::string(kAddressText).substr(2)).ok());
}

TEST(AddressTest, WrongLengthRejected) {
  const std::string good = kAddressText;
  for (const std::string& bad : {good.substr(0, good.size() - 1), good + "0",
                                 good.substr(0, 42), std::string("pb")}) {
    absl::StatusOr<Address> a = Address::FromText(bad);
    ASSERT_FALSE(a.ok()) << bad;
    EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(a.status().message(), "50 characters"))
        << a.status();
  }
}

TEST(AddressTest, NonHexRejected) {
  std::string bad = kAddressText;
  bad[10] = 'g';
  absl::StatusOr<Address> a = Address::FromText(bad);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(a.status().message(), "non-hex")) << a.status();
  EXPECT_TRUE(absl::StrContains(a.status().message(), "10")) << a.status();
  bad = kAddressText;
  bad[49] = ' ';
  EXPECT_FALSE(Address::FromText(bad).ok());
}

TEST(AddressTest, FromBytes) {
  const Address a = AddressFromPublicKey(TestPublicKey());
  absl::StatusOr<Address> b = Address::FromBytes(a.bytes);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, a);
  const Bytes short_bytes(19, 0);
  const Bytes long_bytes(21, 0);
  EXPECT_EQ(Address::FromBytes(short_bytes).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Address::FromBytes(long_bytes).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(AddressTest, OrderingAndHashing) {
  Address low, high;
  low.bytes[19] = 1;
  high.bytes[0] = 1;
  EXPECT_LT(low, high);  // Lexicographic over the bytes.
  EXPECT_NE(low, high);
  absl::flat_hash_set<Address> set = {low, high, low};
  EXPECT_EQ(set.size(), 2u);
  EXPECT_TRUE(set.contains(high));
}

}  // namespace
}  // namespace pbchain
