// Small conversions shared by the node's gRPC services (NodeService, Gossip)
// and its clients of other nodes and the tracker.
#ifndef PBCHAIN_NODE_P2P_WIRE_H_
#define PBCHAIN_NODE_P2P_WIRE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "chain/bytes.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "pbchain/v1/types.pb.h"

namespace pbchain {

// Gossip protocol version this node speaks (Hello.protocol_version).
inline constexpr uint32_t kProtocolVersion = 1;

// A hash as the 32 raw bytes of a protobuf `bytes` field.
inline std::string HashBytes(const Hash256& hash) {
  return std::string(reinterpret_cast<const char*>(hash.bytes.data()),
                     hash.bytes.size());
}

// A 32-byte hash field. INVALID_ARGUMENT naming `field` otherwise.
inline absl::StatusOr<Hash256> ParseHash(const std::string& bytes,
                                         absl::string_view field) {
  if (bytes.size() != 32) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": want 32 bytes, got ", bytes.size()));
  }
  return *Hash256::FromBytes(AsBytes(bytes));
}

// The hashes of a repeated bytes field; nullopt if one is not 32 bytes.
inline std::optional<std::vector<Hash256>> ParseHashes(
    const google::protobuf::RepeatedPtrField<std::string>& field) {
  std::vector<Hash256> out;
  out.reserve(field.size());
  for (const std::string& bytes : field) {
    absl::StatusOr<Hash256> h = ParseHash(bytes, "hash");
    if (!h.ok()) return std::nullopt;
    out.push_back(*h);
  }
  return out;
}

// The --role flag's text ("head", "seed", anything else: full).
inline v1::PeerRole RoleFromText(const std::string& role) {
  if (role == "head") return v1::PEER_ROLE_HEAD;
  if (role == "seed") return v1::PEER_ROLE_SEED;
  return v1::PEER_ROLE_FULL;
}

}  // namespace pbchain

#endif  // PBCHAIN_NODE_P2P_WIRE_H_
