// Byte strings, 32-byte hashes, hex and little-endian helpers shared by every
// part of the consensus kernel. No dependencies beyond the standard library
// and absl.
#ifndef PBCHAIN_CHAIN_BYTES_H_
#define PBCHAIN_CHAIN_BYTES_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace pbchain {

using Bytes = std::vector<uint8_t>;
using ByteSpan = std::span<const uint8_t>;

// A 32-byte hash in internal byte order (the order SHA-256 produces). Bitcoin
// and pbchain *display* block hashes and txids byte-reversed; see
// ToDisplayHex / FromDisplayHex.
struct Hash256 {
  std::array<uint8_t, 32> bytes{};

  bool IsZero() const;
  // Lowercase hex of the bytes in internal order.
  std::string ToHex() const;
  // Lowercase hex of the bytes reversed (how block hashes and txids are shown).
  std::string ToDisplayHex() const;
  // Parses 64 hex chars in internal order. INVALID_ARGUMENT on bad input.
  static absl::StatusOr<Hash256> FromHex(std::string_view hex);
  // Parses 64 hex chars in display (reversed) order. INVALID_ARGUMENT on bad
  // input.
  static absl::StatusOr<Hash256> FromDisplayHex(std::string_view hex);
  // Copies exactly 32 bytes. INVALID_ARGUMENT if the span is not 32 bytes.
  static absl::StatusOr<Hash256> FromBytes(ByteSpan data);

  friend bool operator==(const Hash256&, const Hash256&) = default;
  friend auto operator<=>(const Hash256&, const Hash256&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const Hash256& v) {
    return H::combine_contiguous(std::move(h), v.bytes.data(), v.bytes.size());
  }
};

// Value 0..15 of a hex digit (either case), or -1 if `c` is not one.
int HexDigitValue(char c);

// Lowercase hex of `data`.
std::string HexEncode(ByteSpan data);
// Decodes hex (upper or lower case, even length). INVALID_ARGUMENT otherwise.
absl::StatusOr<Bytes> HexDecode(std::string_view hex);

inline ByteSpan AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Appends fixed-width little-endian integers and raw bytes to a buffer. Used
// by every canonical encoding in chain/ (see docs/PROTOCOL.md).
class ByteWriter {
 public:
  void U8(uint8_t v) { out_.push_back(v); }
  void U16(uint16_t v) { PutLe(v, 2); }
  void U32(uint32_t v) { PutLe(v, 4); }
  void U64(uint64_t v) { PutLe(v, 8); }
  void Raw(ByteSpan data) { out_.insert(out_.end(), data.begin(), data.end()); }
  const Bytes& bytes() const { return out_; }
  Bytes Take() { return std::move(out_); }

 private:
  void PutLe(uint64_t v, int n) {
    for (int i = 0; i < n; ++i)
      out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  Bytes out_;
};

// Reads what ByteWriter writes. Every read fails (returns false) rather than
// reading past the end.
class ByteReader {
 public:
  explicit ByteReader(ByteSpan data) : data_(data) {}
  bool U8(uint8_t& v);
  bool U16(uint16_t& v);
  bool U32(uint32_t& v);
  bool U64(uint64_t& v);
  bool Raw(size_t n, ByteSpan& out);
  size_t remaining() const { return data_.size() - pos_; }
  bool AtEnd() const { return pos_ == data_.size(); }

 private:
  bool GetLe(int n, uint64_t& v);
  ByteSpan data_;
  size_t pos_ = 0;
};

inline uint32_t ReadLe32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 |
         uint32_t{p[3]} << 24;
}
inline void WriteLe32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
  p[2] = static_cast<uint8_t>(v >> 16);
  p[3] = static_cast<uint8_t>(v >> 24);
}

}  // namespace pbchain

#endif  // PBCHAIN_CHAIN_BYTES_H_
