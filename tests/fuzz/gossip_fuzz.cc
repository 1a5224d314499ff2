// Fuzzes what a node does with the bytes of one gossip message from a peer:
// the GossipEnvelope decode and, per kind, the same parsing and checks the
// handlers run (node/p2p/gossip_protocol.cc, relay.cc) against a 4-block
// chain in memory: Hello (node id, chain work, tip hash, listen address),
// GetHeaders (locator -> ChainState::HeadersAfterLocator), Headers
// (BlockHeaderFromProto -> ChainState::CheckHeaderChain), Block
// (BlockFromProto -> AcceptBlock on a fresh chain), Transaction
// (TransactionFromProto -> CheckTransactionOnTip), Inventory / GetData /
// NotFound (hash lists), Reject, and PeerList (PeerSet::AddKnown into a
// fresh address book).
//
// GossipProtocol::RunSession itself is not driven: a session needs a
// PeerLink (its writer thread), a Node on a RocksDB datadir, the Relay and
// BlockSync threads, and closing a session waits for its flush, which is
// far from the thousands of deterministic runs per second a fuzzer needs.
//
// Properties: no crash; served headers link up and respect the count;
// a header check reports no more valid headers than it was given.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/time/time.h"
#include "node/core/node.h"
#include "node/p2p/address_book.h"
#include "node/p2p/block_sync.h"
#include "node/p2p/clock.h"
#include "node/p2p/gossip_protocol.h"
#include "node/p2p/network_options.h"
#include "node/p2p/peer_set.h"
#include "node/p2p/wire.h"
#include "pbchain/v1/gossip.pb.h"
#include "proto/convert.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using namespace pbchain;

// The chain the read-only kinds run against (they do not change it).
ChainState& SharedChain() {
  static fuzz::FuzzChain* const chain =
      new fuzz::FuzzChain(fuzz::MakeFuzzChain());
  return *chain->chain;
}

void CheckHashList(const google::protobuf::RepeatedPtrField<std::string>& a,
                   const google::protobuf::RepeatedPtrField<std::string>& b) {
  std::optional<std::vector<Hash256>> x = ParseHashes(a);
  std::optional<std::vector<Hash256>> y = ParseHashes(b);
  if (x) FUZZ_CHECK(static_cast<int>(x->size()) == a.size());
  if (y) FUZZ_CHECK(static_cast<int>(y->size()) == b.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  pbchain::fuzz::QuietProtobufLogs();
  v1::GossipEnvelope message;
  if (!message.ParseFromArray(data, static_cast<int>(size))) return 0;
  ChainState& chain = SharedChain();
  using Envelope = v1::GossipEnvelope;
  switch (message.body_case()) {
    case Envelope::kHello: {
      const v1::Hello& hello = message.hello();
      absl::StatusOr<UInt256> work = UInt256::FromDecimal(hello.chain_work());
      absl::StatusOr<Hash256> tip = ParseHash(hello.tip_hash(), "tip_hash");
      (void)IsValidNodeId(hello.node_id());
      if (!hello.listen_address().empty()) {
        (void)CheckPeerAddress(hello.listen_address());
      }
      if (work.ok()) (void)(*work > chain.Tip().chain_work);
      if (tip.ok()) (void)chain.GetIndexEntry(*tip);
      break;
    }
    case Envelope::kGetHeaders: {
      const v1::GetHeaders& request = message.get_headers();
      if (request.locator_hashes_size() > kMaxGossipLocatorHashes) break;
      std::optional<std::vector<Hash256>> locator =
          ParseHashes(request.locator_hashes());
      std::optional<Hash256> stop;
      if (!request.stop_hash().empty()) {
        absl::StatusOr<Hash256> h = ParseHash(request.stop_hash(), "stop_hash");
        if (!h.ok()) break;
        stop = *h;
      }
      if (!locator) break;
      const uint32_t max_count =
          request.max_count() == 0
              ? kMaxHeadersPerMessage
              : std::min(request.max_count(), kMaxHeadersPerMessage);
      uint32_t start = 0;
      std::vector<BlockHeader> headers =
          chain.HeadersAfterLocator(*locator, stop, max_count, &start);
      FUZZ_CHECK(headers.size() <= max_count);
      for (size_t i = 0; i < headers.size(); ++i) {
        std::optional<Hash256> at = chain.ActiveHashAt(start + i);
        FUZZ_CHECK(at.has_value() && *at == headers[i].Hash());
        if (i > 0) FUZZ_CHECK(headers[i].prev_hash == headers[i - 1].Hash());
      }
      break;
    }
    case Envelope::kHeaders: {
      const v1::Headers& msg = message.headers();
      if (msg.headers_size() > static_cast<int>(kMaxHeadersPerMessage)) break;
      std::vector<BlockHeader> headers;
      for (const v1::BlockHeader& h : msg.headers()) {
        absl::StatusOr<BlockHeader> header = BlockHeaderFromProto(h);
        if (!header.ok()) return 0;
        headers.push_back(*header);
      }
      if (headers.empty()) break;
      HeaderChainCheck check = chain.CheckHeaderChain(headers);
      FUZZ_CHECK(check.valid <= headers.size());
      FUZZ_CHECK((check.valid == headers.size()) == check.failure.ok());
      break;
    }
    case Envelope::kBlock: {
      absl::StatusOr<Block> block = BlockFromProto(message.block().block());
      if (!block.ok()) break;
      fuzz::FuzzChain fresh = fuzz::MakeFuzzChain();
      absl::StatusOr<AcceptResult> result = fresh.chain->AcceptBlock(*block);
      FUZZ_CHECK(result.ok());
      break;
    }
    case Envelope::kTransaction: {
      absl::StatusOr<Transaction> tx =
          TransactionFromProto(message.transaction().transaction());
      if (!tx.ok()) break;
      absl::StatusOr<ValidationResult> result =
          chain.CheckTransactionOnTip(*tx, {});
      FUZZ_CHECK(result.ok());
      break;
    }
    case Envelope::kInventory:
      CheckHashList(message.inventory().block_hashes(),
                    message.inventory().txids());
      break;
    case Envelope::kGetData:
      CheckHashList(message.get_data().block_hashes(),
                    message.get_data().txids());
      break;
    case Envelope::kNotFound:
      CheckHashList(message.not_found().block_hashes(),
                    message.not_found().txids());
      break;
    case Envelope::kReject:
      if (message.reject().hash().size() == 32) {
        FUZZ_CHECK(ParseHash(message.reject().hash(), "hash").ok());
      }
      (void)v1::RejectCode_Name(message.reject().code());
      break;
    case Envelope::kPeerList: {
      const v1::PeerList& list = message.peer_list();
      if (list.peers_size() > kMaxPeerListEntries) break;
      FakeClock clock(absl::FromUnixSeconds(fuzz::kFuzzNow));
      NetworkOptions options;
      PeerSet peers(options, "fuzz-node-id", HashBytes(chain.genesis_hash()),
                    &clock);
      for (const v1::PeerInfo& info : list.peers()) {
        peers.AddKnown(info, AddressSource::kExchange);
      }
      v1::ListPeersResponse listed;
      peers.ListPeers(&listed);
      break;
    }
    default:
      break;
  }
  return 0;
}
