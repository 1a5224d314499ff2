// Fuzzes the text forms read from users and peers: account addresses
// (Address::FromText), hashes in display and internal hex, hex byte strings
// and decimal 256-bit numbers (chain work in a gossip Hello). Properties:
// no crash; whatever parses prints back to the input (case aside) and
// parses again to the same value.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/strings/ascii.h"
#include "chain/address.h"
#include "chain/bytes.h"
#include "chain/uint256.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pbchain;
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  absl::StatusOr<Address> address = Address::FromText(text);
  if (address.ok()) {
    const std::string printed = address->ToText();
    FUZZ_CHECK(printed == absl::AsciiStrToLower(std::string(text)));
    absl::StatusOr<Address> again = Address::FromText(printed);
    FUZZ_CHECK(again.ok() && *again == *address);
  } else {
    FUZZ_CHECK(address.status().code() == absl::StatusCode::kInvalidArgument);
  }

  absl::StatusOr<Hash256> display = Hash256::FromDisplayHex(text);
  if (display.ok()) {
    FUZZ_CHECK(display->ToDisplayHex() ==
               absl::AsciiStrToLower(std::string(text)));
  }
  absl::StatusOr<Hash256> internal = Hash256::FromHex(text);
  if (internal.ok()) {
    FUZZ_CHECK(internal->ToHex() == absl::AsciiStrToLower(std::string(text)));
  }
  absl::StatusOr<Bytes> bytes = HexDecode(text);
  if (bytes.ok()) {
    FUZZ_CHECK(HexEncode(*bytes) == absl::AsciiStrToLower(std::string(text)));
  }

  absl::StatusOr<UInt256> number = UInt256::FromDecimal(text);
  if (number.ok()) {
    absl::StatusOr<UInt256> again = UInt256::FromDecimal(number->ToDecimal());
    FUZZ_CHECK(again.ok() && *again == *number);
  }
  return 0;
}
