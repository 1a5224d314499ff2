#include "node/p2p/gossip_protocol.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "node/p2p/address_book.h"
#include "node/p2p/wire.h"
#include "proto/convert.h"

namespace pbchain {

using Envelope = v1::GossipEnvelope;

GossipProtocol::GossipProtocol(Node* node, const NetworkOptions* options,
                               PeerSet* peers, Relay* relay, BlockSync* sync)
    : node_(node),
      options_(options),
      peers_(peers),
      relay_(relay),
      sync_(sync) {}

// ---------------------------------------------------------------------------
// The session

void GossipProtocol::RunSession(const PeerPtr& peer) {
  relay_->AddPeer(peer->id);
  // A verifying dial waits for the peer's Hello (HandleHello).
  if (!peer->verifying) {
    Envelope hello;
    *hello.mutable_hello() = MakeHello();
    peer->link->Send(std::move(hello));
  }
  Envelope message;
  while (true) {
    const ReadResult read = peer->link->Read(&message);
    if (read == ReadResult::kEnded) break;
    if (read == ReadResult::kUndecodable) {
      // Bytes that are no GossipEnvelope. After the Hello they are charged
      // to the peer like any malformed message (the stream goes on); before
      // it there is nobody to charge, and the session is refused.
      const PeerSet::Arrival arrival = peers_->OnMessage(*peer, Envelope());
      if (!arrival.hello_done) {
        RejectAndClose(*peer->link, v1::REJECT_CODE_MALFORMED,
                       "undecodable bytes before the Hello");
        break;
      }
      if (arrival.flooding) peers_->Misbehaving(peer, 1, "flood of messages");
      peers_->Misbehaving(peer, kMalformedPoints,
                          "undecodable bytes (no GossipEnvelope)");
      if (peer->link->closed()) break;
      continue;
    }
    if (!Handle(peer, message)) break;
    message.Clear();
  }
  // Let a final Reject go out, then end the stream for good.
  peer->link->CloseAfterFlush();
  const bool was_connected = peers_->RemoveSession(*peer);
  relay_->RemovePeer(peer->id);
  sync_->OnPeerGone(peer->id);
  peer->link->Shutdown();
  if (was_connected) {
    std::string node_id, listen_address;
    {
      absl::MutexLock lock(&peer->mu);
      node_id = peer->node_id;
      listen_address = peer->listen_address;
    }
    LOG(INFO) << "peer " << peer->id << " (" << node_id << " at "
              << (peer->inbound ? listen_address : peer->dial_address)
              << ") disconnected";
  }
}

v1::Hello GossipProtocol::MakeHello() const {
  const TipInfo tip = node_->chain().Tip();
  v1::Hello hello;
  hello.set_genesis_hash(HashBytes(node_->chain().genesis_hash()));
  hello.set_height(tip.height);
  hello.set_tip_hash(HashBytes(tip.hash));
  hello.set_chain_work(tip.chain_work.ToDecimal());
  hello.set_listen_address(options_->advertise);
  hello.set_node_id(node_->node_id());
  hello.set_protocol_version(kProtocolVersion);
  hello.set_role(RoleFromText(node_->options().role));
  hello.set_user_agent(kNodeVersion);
  return hello;
}

bool GossipProtocol::Handle(const PeerPtr& peer, const Envelope& message) {
  const PeerSet::Arrival arrival = peers_->OnMessage(*peer, message);
  if (!arrival.hello_done) {
    if (message.body_case() != Envelope::kHello) {
      RejectAndClose(*peer->link, v1::REJECT_CODE_PROTOCOL_VIOLATION,
                     "the first message must be a Hello");
      return false;
    }
    return HandleHello(peer, message.hello());
  }
  if (arrival.flooding) peers_->Misbehaving(peer, 1, "flood of messages");
  switch (message.body_case()) {
    case Envelope::kHello:
      peers_->Misbehaving(peer, kProtocolViolationPoints, "a second Hello");
      break;
    case Envelope::kInventory:
      relay_->HandleInventory(peer, message.inventory());
      break;
    case Envelope::kGetData:
      relay_->HandleGetData(peer, message.get_data());
      break;
    case Envelope::kBlock:
      relay_->HandleBlock(peer, message.block());
      break;
    case Envelope::kTransaction:
      relay_->HandleTransaction(peer, message.transaction());
      break;
    case Envelope::kGetHeaders:
      HandleGetHeaders(peer, message.get_headers());
      break;
    case Envelope::kHeaders:
      HandleHeaders(peer, message.headers());
      break;
    case Envelope::kPeerRequest:
      HandlePeerRequest(peer, message.peer_request());
      break;
    case Envelope::kPeerList:
      HandlePeerList(peer, message.peer_list());
      break;
    case Envelope::kPing: {
      Envelope pong;
      pong.mutable_pong()->set_nonce(message.ping().nonce());
      peer->link->Send(std::move(pong));
      break;
    }
    case Envelope::kPong:
      if (!peers_->OnPong(*peer, message.pong().nonce())) {
        peers_->Misbehaving(peer, kProtocolViolationPoints,
                            "a Pong for no Ping");
      }
      break;
    case Envelope::kReject:
      if (!HandleReject(peer, message.reject())) return false;
      break;
    case Envelope::kNotFound:
      relay_->HandleNotFound(peer, message.not_found());
      break;
    case Envelope::BODY_NOT_SET:
      // A kind this node does not know (a message of a newer protocol
      // revision; protobuf keeps its bytes as unknown fields) is ignored.
      // An envelope with no body at all is malformed.
      if (message.GetReflection()->GetUnknownFields(message).empty()) {
        peers_->Misbehaving(peer, kMalformedPoints, "an empty message");
      }
      break;
  }
  return !peer->link->closed();
}

bool GossipProtocol::HandleReject(const PeerPtr& peer,
                                  const v1::Reject& reject) {
  LOG(INFO) << "peer " << peer->id << " rejected "
            << (reject.hash().size() == 32
                    ? ParseHash(reject.hash(), "hash")->ToDisplayHex()
                    : "the session")
            << ": " << v1::RejectCode_Name(reject.code()) << " "
            << reject.message().substr(0, 256);
  // A Reject of the whole session (no hash, not about one message) ends it.
  return !(reject.hash().empty() && reject.code() != v1::REJECT_CODE_INVALID &&
           reject.code() != v1::REJECT_CODE_MALFORMED);
}

// ---------------------------------------------------------------------------
// Handshake

bool GossipProtocol::HandleHello(const PeerPtr& peer, const v1::Hello& hello) {
  if (hello.genesis_hash() != HashBytes(node_->chain().genesis_hash())) {
    RejectAndClose(*peer->link, v1::REJECT_CODE_WRONG_GENESIS,
                   "another network: the genesis hashes differ");
    return false;
  }
  if (hello.protocol_version() != kProtocolVersion) {
    RejectAndClose(
        *peer->link, v1::REJECT_CODE_PROTOCOL_VERSION,
        absl::StrCat("protocol version ", hello.protocol_version(),
                     " is not supported; this node speaks ", kProtocolVersion));
    return false;
  }
  absl::StatusOr<UInt256> work = UInt256::FromDecimal(hello.chain_work());
  absl::StatusOr<Hash256> tip = ParseHash(hello.tip_hash(), "tip_hash");
  if (!IsValidNodeId(hello.node_id()) || !work.ok() || !tip.ok() ||
      (!hello.listen_address().empty() &&
       !CheckPeerAddress(hello.listen_address()).ok()) ||
      hello.user_agent().size() > 64) {
    RejectAndClose(*peer->link, v1::REJECT_CODE_MALFORMED,
                   "malformed Hello (node_id, chain_work, tip_hash, "
                   "listen_address or user_agent)");
    return false;
  }
  if (peer->verifying) {
    // Dialed to check an address a peer claimed. If that node is connected
    // already, the address is verified and we hang up without a Hello, so
    // the other link stays; otherwise the handshake goes on.
    if (peers_->DialBack(peer, hello)) {
      LOG(INFO) << "verified " << peer->dial_address << " (node "
                << hello.node_id() << ")";
      peer->link->CloseAfterFlush();
      return false;
    }
    Envelope ours;
    *ours.mutable_hello() = MakeHello();
    peer->link->Send(std::move(ours));
  }
  PeerSet::Admission admission = peers_->Admit(peer, hello, *tip);
  if (admission.reject != v1::REJECT_CODE_UNSPECIFIED) {
    RejectAndClose(*peer->link, admission.reject, admission.why);
    return false;
  }
  if (admission.replaced) {
    RejectAndClose(*admission.replaced->link,
                   v1::REJECT_CODE_DUPLICATE_CONNECTION,
                   "replaced by another link to the same node");
  }
  relay_->MarkKnown(peer->id, *tip);
  LOG(INFO) << "peer " << peer->id << " connected ("
            << (peer->inbound ? "inbound" : "outbound") << "): node "
            << hello.node_id() << " at "
            << (peer->inbound ? hello.listen_address() : peer->dial_address)
            << ", height " << hello.height() << ", role "
            << v1::PeerRole_Name(hello.role());
  sync_->OnPeerHeight(peer->id, static_cast<uint32_t>(std::min<uint64_t>(
                                    hello.height(), UINT32_MAX)));
  if (*work > node_->chain().Tip().chain_work) sync_->RequestHeaders(peer->id);
  if (!peer->inbound && !options_->connect_only) {
    peers_->ExpectPeerList(*peer);
    Envelope request;
    request.mutable_peer_request()->set_max_count(kMaxPeerListEntries);
    peer->link->Send(std::move(request));
  }
  return true;
}

// ---------------------------------------------------------------------------
// Headers: served from the chain, answers handed to BlockSync

void GossipProtocol::HandleGetHeaders(const PeerPtr& peer,
                                      const v1::GetHeaders& request) {
  if (request.locator_hashes_size() > kMaxGossipLocatorHashes) {
    peers_->Misbehaving(peer, kOversizedListPoints,
                        "GetHeaders locator too long");
    return;
  }
  std::optional<std::vector<Hash256>> locator =
      ParseHashes(request.locator_hashes());
  std::optional<Hash256> stop;
  if (!request.stop_hash().empty()) {
    absl::StatusOr<Hash256> h = ParseHash(request.stop_hash(), "stop_hash");
    if (h.ok()) stop = *h;
  }
  if (!locator || (!request.stop_hash().empty() && !stop)) {
    peers_->Misbehaving(peer, kMalformedPoints, "GetHeaders hash not 32 bytes");
    return;
  }
  const uint32_t max_count =
      request.max_count() == 0
          ? kMaxHeadersPerMessage
          : std::min(request.max_count(), kMaxHeadersPerMessage);
  uint32_t start = 0;
  Envelope reply;
  for (const BlockHeader& h :
       node_->chain().HeadersAfterLocator(*locator, stop, max_count, &start)) {
    *reply.mutable_headers()->add_headers() = BlockHeaderToProto(h);
  }
  reply.mutable_headers();  // an empty answer is still an answer
  peer->link->SendWaiting(std::move(reply));
}

void GossipProtocol::HandleHeaders(const PeerPtr& peer,
                                   const v1::Headers& message) {
  if (message.headers_size() > static_cast<int>(kMaxHeadersPerMessage)) {
    peers_->Misbehaving(peer, kOversizedListPoints, "Headers over 2000");
    return;
  }
  std::vector<BlockHeader> headers;
  headers.reserve(message.headers_size());
  for (const v1::BlockHeader& h : message.headers()) {
    absl::StatusOr<BlockHeader> header = BlockHeaderFromProto(h);
    if (!header.ok()) {
      peers_->Misbehaving(
          peer, kMalformedPoints,
          absl::StrCat("undecodable header: ", header.status().message()));
      return;
    }
    headers.push_back(*header);
  }
  sync_->OnHeaders(peer->id, headers);
}

// ---------------------------------------------------------------------------
// Peer exchange

void GossipProtocol::HandlePeerRequest(const PeerPtr& peer,
                                       const v1::PeerRequest& request) {
  const int want =
      request.max_count() == 0
          ? kMaxPeerListEntries
          : std::min<int>(request.max_count(), kMaxPeerListEntries);
  Envelope reply;
  *reply.mutable_peer_list() = peers_->PeerListFor(*peer, want);
  peer->link->Send(std::move(reply));
}

void GossipProtocol::HandlePeerList(const PeerPtr& peer,
                                    const v1::PeerList& list) {
  if (list.peers_size() > kMaxPeerListEntries) {
    peers_->Misbehaving(peer, kOversizedListPoints, "PeerList over 100");
    return;
  }
  // Only answers to our PeerRequest fill the address book: unsolicited
  // lists could flush it with made-up addresses.
  if (!peers_->TakePeerList(*peer)) return;
  for (const v1::PeerInfo& info : list.peers()) {
    peers_->AddKnown(info, AddressSource::kExchange, peer.get());
  }
}

}  // namespace pbchain
