#include "chain/address.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "chain/hash.h"

namespace pbchain {
namespace {

// A char array, not std::string_view: Debian's absl is built with
// ABSL_OPTION_USE_STD_STRING_VIEW=0, so absl::StrCat takes no std::string_view.
constexpr char kPrefix[] = "pb";
constexpr size_t kPrefixSize = 2;
constexpr size_t kChecksumSize = 4;

// First 4 bytes of SHA-256 over the 20 address bytes.
std::array<uint8_t, kChecksumSize> Checksum(const Address& a) {
  Hash256 h = Sha256(a.bytes);
  std::array<uint8_t, kChecksumSize> out;
  std::copy_n(h.bytes.begin(), kChecksumSize, out.begin());
  return out;
}

}  // namespace

bool Address::IsZero() const {
  return std::all_of(bytes.begin(), bytes.end(),
                     [](uint8_t b) { return b == 0; });
}

std::string Address::ToText() const {
  std::array<uint8_t, kChecksumSize> checksum = Checksum(*this);
  return absl::StrCat(kPrefix, HexEncode(bytes), HexEncode(checksum));
}

absl::StatusOr<Address> Address::FromText(std::string_view text) {
  if (text.substr(0, kPrefixSize) != kPrefix) {
    return absl::InvalidArgumentError(
        absl::StrCat("address must start with \"", kPrefix, "\""));
  }
  if (text.size() != kTextSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("address must be ", kTextSize, " characters (\"", kPrefix,
                     "\" + 48 hex digits), got ", text.size()));
  }
  std::array<uint8_t, 20 + kChecksumSize> raw;
  std::string_view hex = text.substr(kPrefixSize);
  for (size_t i = 0; i < raw.size(); ++i) {
    const int hi = HexDigitValue(hex[2 * i]);
    const int lo = HexDigitValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      const size_t pos = kPrefixSize + 2 * i + (hi < 0 ? 0 : 1);
      return absl::InvalidArgumentError(
          absl::StrCat("address has a non-hex character at position ", pos));
    }
    raw[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  Address a;
  std::copy_n(raw.begin(), a.bytes.size(), a.bytes.begin());
  const std::array<uint8_t, kChecksumSize> expected = Checksum(a);
  if (!std::equal(expected.begin(), expected.end(),
                  raw.begin() + a.bytes.size())) {
    return absl::InvalidArgumentError(
        "address checksum mismatch (mistyped address?)");
  }
  return a;
}

absl::StatusOr<Address> Address::FromBytes(ByteSpan data) {
  Address a;
  if (data.size() != a.bytes.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("address must be 20 bytes, got ", data.size()));
  }
  std::copy(data.begin(), data.end(), a.bytes.begin());
  return a;
}

Address AddressFromPublicKey(const PublicKey& public_key) {
  Hash256 h = Sha256(public_key);
  Address a;
  std::copy_n(h.bytes.begin(), a.bytes.size(), a.bytes.begin());
  return a;
}

}  // namespace pbchain
