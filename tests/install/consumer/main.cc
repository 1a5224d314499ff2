// Parses a pbchain address with the installed client library and prints
// it back with its 20 bytes in hex; exit 1 (and the reason) if invalid.
#include <iostream>

#include "absl/strings/escaping.h"
#include "client/format.h"
#include "client/node_client.h"
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
  // The node client (and so gRPC and the address parser) links and runs:
  // a malformed node address is refused before any connection.
  pbchain::client::NodeClientOptions options;
  options.address = "not-an-address";
  absl::StatusOr<std::unique_ptr<pbchain::client::NodeClient>> bad =
      pbchain::client::NodeClient::Create(options);
  if (bad.ok() || !absl::IsInvalidArgument(bad.status())) {
    std::cerr << "NodeClient accepted a malformed address\n";
    return 1;
  }
  options.address = "127.0.0.1:7701";
  if (!pbchain::client::NodeClient::Create(options).ok()) {
    std::cerr << "NodeClient refused 127.0.0.1:7701\n";
    return 1;
  }
  std::cout << "pbchain " << pbchain::kVersion << " address "
            << address->ToText() << " bytes "
            << absl::BytesToHexString(absl::string_view(
                   reinterpret_cast<const char*>(address->bytes.data()),
                   address->bytes.size()))
            << "\n";
  return 0;
}
