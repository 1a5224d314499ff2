// Parses a pbchain address with the installed client library and prints
// it back with its 20 raw bytes in hex; exit 1 (and the reason) if invalid.
#include <iostream>

#include "absl/strings/escaping.h"
#include "client/format.h"
#include "common/version.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: consumer pb...\n";
    return 2;
  }
  absl::StatusOr<pbchain::Address> address =
      pbchain::client::ParseAddress(argv[1]);
  if (!address.ok()) {
    std::cerr << address.status().message() << "\n";
    return 1;
  }
  std::cout << "pbchain " << pbchain::kVersion << " address "
            << address->ToText() << " hash160 "
            << absl::BytesToHexString(absl::string_view(
                   reinterpret_cast<const char*>(address->bytes.data()),
                   address->bytes.size()))
            << "\n";
  return 0;
}
