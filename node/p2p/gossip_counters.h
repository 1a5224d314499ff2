// Gossip traffic by message kind and direction (issue 16, metrics): every
// PeerLink of a PeerSet counts each message it reads and each one it has
// written, with its size in protobuf bytes. Read by the metrics exporter
// (node/metrics) at scrape time.
//
// Thread safety: Count and Get from any thread (relaxed atomics; a scrape
// may see one counter of a pair a message ahead of the other).
#ifndef PBCHAIN_NODE_P2P_GOSSIP_COUNTERS_H_
#define PBCHAIN_NODE_P2P_GOSSIP_COUNTERS_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "pbchain/v1/gossip.pb.h"

namespace pbchain {

enum class GossipDirection { kReceived = 0, kSent = 1 };

class GossipCounters {
 public:
  // Kinds are GossipEnvelope's body field numbers (1..kMaxKind); 0 is an
  // envelope without a body, and field numbers this build does not know
  // (a newer peer's) count as kind 0 too.
  static constexpr int kMaxKind = 13;
  static constexpr int kKinds = kMaxKind + 1;

  // Counts one message of `message`'s kind and `bytes` long.
  void Count(GossipDirection direction, const v1::GossipEnvelope& message,
             size_t bytes) {
    int kind = static_cast<int>(message.body_case());
    if (kind < 0 || kind > kMaxKind) kind = 0;
    const int d = static_cast<int>(direction);
    messages_[d][kind].fetch_add(1, std::memory_order_relaxed);
    bytes_[d][kind].fetch_add(bytes, std::memory_order_relaxed);
  }

  uint64_t messages(GossipDirection direction, int kind) const {
    return messages_[static_cast<int>(direction)][kind].load(
        std::memory_order_relaxed);
  }
  uint64_t bytes(GossipDirection direction, int kind) const {
    return bytes_[static_cast<int>(direction)][kind].load(
        std::memory_order_relaxed);
  }

  // The label of a kind: the body field's name ("hello", "block", ...),
  // "none" for 0.
  static std::string KindName(int kind) {
    if (kind <= 0 || kind > kMaxKind) return "none";
    const google::protobuf::FieldDescriptor* field =
        v1::GossipEnvelope::descriptor()->FindFieldByNumber(kind);
    return field != nullptr ? field->name() : "none";
  }

 private:
  std::array<std::array<std::atomic<uint64_t>, kKinds>, 2> messages_{};
  std::array<std::array<std::atomic<uint64_t>, kKinds>, 2> bytes_{};
};

}  // namespace pbchain

#endif  // PBCHAIN_NODE_P2P_GOSSIP_COUNTERS_H_
