// Reading gossip messages off gRPC streams so that bytes which are no
// GossipEnvelope are told apart from the end of the stream.
//
// gRPC's protobuf reader turns a message that fails to parse into a failed
// Read, exactly like the end of the stream, so the sender could not be
// charged for it. Both ends of the Gossip.Exchange stream (the dialer's
// ClientGossipStream, the service's ServerGossipStream) therefore read
// WireEnvelopes, whose deserializer never fails: it parses the bytes and
// records whether that worked. What they write stays a plain GossipEnvelope
// (the bytes on the wire are the same as the generated stub's).
//
// Thread safety: a value type.
#ifndef PBCHAIN_NODE_P2P_GRPC_ENVELOPE_H_
#define PBCHAIN_NODE_P2P_GRPC_ENVELOPE_H_

#include "grpcpp/grpcpp.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/impl/rpc_method.h"
#include "grpcpp/impl/rpc_service_method.h"
#include "grpcpp/support/method_handler.h"
#include "grpcpp/support/sync_stream.h"
#include "pbchain/v1/gossip.pb.h"

namespace pbchain {

// The full method name of Gossip.Exchange (gossip.proto).
inline constexpr char kGossipExchangeMethod[] = "/pbchain.v1.Gossip/Exchange";

// One message as read from a gossip stream.
struct WireEnvelope {
  v1::GossipEnvelope message;
  // The bytes did not parse as a GossipEnvelope (`message` is then
  // meaningless).
  bool undecodable = false;
};

}  // namespace pbchain

namespace grpc {

// Parses a WireEnvelope; a parse failure is recorded in it instead of
// failing the read.
template <>
class SerializationTraits<pbchain::WireEnvelope, void> {
 public:
  static Status Serialize(const pbchain::WireEnvelope& wire, ByteBuffer* buffer,
                          bool* own_buffer) {
    return SerializationTraits<pbchain::v1::GossipEnvelope>::Serialize(
        wire.message, buffer, own_buffer);
  }
  static Status Deserialize(ByteBuffer* buffer, pbchain::WireEnvelope* wire) {
    wire->undecodable =
        !SerializationTraits<pbchain::v1::GossipEnvelope>::Deserialize(
             buffer, &wire->message)
             .ok();
    return Status::OK;
  }
};

}  // namespace grpc

#endif  // PBCHAIN_NODE_P2P_GRPC_ENVELOPE_H_
