#include "client/format.h"

#include <algorithm>
#include <ctime>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "chain/address.h"

namespace pbchain::client {

absl::StatusOr<uint64_t> ParseUint(std::string_view text,
                                   std::string_view what) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(std::string(what), ": ",
                                                   std::string(why), " (got '",
                                                   std::string(text), "')"));
  };
  if (text.empty()) return bad("must not be empty");
  if (text[0] == '-') return bad("must not be negative");
  if (text[0] == '+') return bad("must be digits only, without a sign");
  if (text.find('.') != std::string_view::npos ||
      text.find(',') != std::string_view::npos) {
    return bad("must be a whole number (no fractions)");
  }
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return bad("must be a decimal integer");
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
      return bad("is larger than 18446744073709551615 (2^64-1)");
    }
    value = value * 10 + digit;
  }
  return value;
}

absl::StatusOr<uint64_t> ParseAmount(std::string_view text,
                                     std::string_view what) {
  return ParseUint(text, what);
}

absl::StatusOr<Address> ParseAddress(std::string_view text,
                                     std::string_view what) {
  absl::StatusOr<Address> a = Address::FromText(text);
  if (!a.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(what), ": '", std::string(text),
                     "' is not a pbchain address: ", a.status().message()));
  }
  return a;
}

absl::StatusOr<Hash256> ParseDisplayHash(std::string_view text,
                                         std::string_view what) {
  absl::StatusOr<Hash256> h = Hash256::FromDisplayHex(text);
  if (!h.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(std::string(what), ": want 64 hex chars, got '",
                     std::string(text), "': ", h.status().message()));
  }
  return h;
}

std::string DisplayHash(std::string_view hash_bytes) {
  if (hash_bytes.empty()) return "";
  if (hash_bytes.size() != 32) return HexEncode(AsBytes(hash_bytes));
  std::string reversed(hash_bytes.rbegin(), hash_bytes.rend());
  return HexEncode(AsBytes(reversed));
}

std::string AddressText(std::string_view raw20) {
  absl::StatusOr<Address> a = Address::FromBytes(AsBytes(raw20));
  if (!a.ok()) return HexEncode(AsBytes(raw20));
  return a->ToText();
}

std::string SenderAddressText(std::string_view pubkey32) {
  if (pubkey32.size() != 32) return "";
  PublicKey key;
  std::copy(pubkey32.begin(), pubkey32.end(), key.begin());
  return AddressFromPublicKey(key).ToText();
}

bool IsPrintableUtf8(std::string_view data) {
  size_t i = 0;
  while (i < data.size()) {
    const unsigned char c = static_cast<unsigned char>(data[i]);
    if (c < 0x80) {
      if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f) {
        return false;
      }
      ++i;
      continue;
    }
    int len = 0;
    uint32_t cp = 0;
    if ((c & 0xe0) == 0xc0) {
      len = 2;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > data.size()) return false;
    for (int k = 1; k < len; ++k) {
      const unsigned char cc = static_cast<unsigned char>(data[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates, out of range, C1 controls.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
        (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0)) {
      return false;
    }
    i += len;
  }
  return true;
}

std::string PayloadForDisplay(std::string_view data) {
  if (IsPrintableUtf8(data)) return std::string(data);
  return absl::StrCat("0x", HexEncode(AsBytes(data)));
}

std::string FormatUnixTime(int64_t unix_seconds) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC",
                          absl::FromUnixSeconds(unix_seconds),
                          absl::UTCTimeZone());
}

}  // namespace pbchain::client
