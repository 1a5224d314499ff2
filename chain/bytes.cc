#include "chain/bytes.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace pbchain {
int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string HexEncode(ByteSpan data) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (uint8_t b : data) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

absl::StatusOr<Bytes> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("hex string has odd length ", hex.size()));
  }
  Bytes out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = HexDigitValue(hex[2 * i]);
    int lo = HexDigitValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "not a hex digit at position ", hi < 0 ? 2 * i : 2 * i + 1));
    }
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

bool Hash256::IsZero() const {
  return std::all_of(bytes.begin(), bytes.end(),
                     [](uint8_t b) { return b == 0; });
}

std::string Hash256::ToHex() const { return HexEncode(bytes); }

std::string Hash256::ToDisplayHex() const {
  std::array<uint8_t, 32> rev = bytes;
  std::reverse(rev.begin(), rev.end());
  return HexEncode(rev);
}

absl::StatusOr<Hash256> Hash256::FromBytes(ByteSpan data) {
  if (data.size() != 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("hash must be 32 bytes, got ", data.size()));
  }
  Hash256 h;
  std::copy(data.begin(), data.end(), h.bytes.begin());
  return h;
}

absl::StatusOr<Hash256> Hash256::FromHex(std::string_view hex) {
  if (hex.size() != 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("hash must be 64 hex chars, got ", hex.size()));
  }
  PBCHAIN_ASSIGN_OR_RETURN(Bytes raw, HexDecode(hex));
  return FromBytes(raw);
}

absl::StatusOr<Hash256> Hash256::FromDisplayHex(std::string_view hex) {
  absl::StatusOr<Hash256> h = FromHex(hex);
  if (!h.ok()) return h.status();
  std::reverse(h->bytes.begin(), h->bytes.end());
  return h;
}

bool ByteReader::GetLe(int n, uint64_t& v) {
  if (remaining() < static_cast<size_t>(n)) return false;
  v = 0;
  for (int i = 0; i < n; ++i) v |= uint64_t{data_[pos_ + i]} << (8 * i);
  pos_ += n;
  return true;
}

bool ByteReader::U8(uint8_t& v) {
  uint64_t x;
  if (!GetLe(1, x)) return false;
  v = static_cast<uint8_t>(x);
  return true;
}
bool ByteReader::U16(uint16_t& v) {
  uint64_t x;
  if (!GetLe(2, x)) return false;
  v = static_cast<uint16_t>(x);
  return true;
}
bool ByteReader::U32(uint32_t& v) {
  uint64_t x;
  if (!GetLe(4, x)) return false;
  v = static_cast<uint32_t>(x);
  return true;
}
bool ByteReader::U64(uint64_t& v) { return GetLe(8, v); }

bool ByteReader::Raw(size_t n, ByteSpan& out) {
  if (remaining() < n) return false;
  out = data_.subspan(pos_, n);
  pos_ += n;
  return true;
}

}  // namespace pbchain
