#include "node/rpc/node_service.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "chain/address.h"
#include "chain/block.h"
#include "chain/bytes.h"
#include "chain/consensus.h"
#include "chain/hash.h"
#include "chain/pow.h"
#include "chain/store.h"
#include "chain/transaction.h"
#include "chain/validation.h"
#include "common/status.h"
#include "common/stream_writer.h"
#include "glog/logging.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/message.h"
#include "node/p2p/wire.h"
#include "proto/convert.h"

namespace pbchain {
namespace {

// A page token is the hex of a record index key: namespace (<= 64) + 0x00 +
// 'k' + key (<= 128) or 't' + txid (32).
constexpr size_t kMaxPageTokenChars =
    2 * (kMaxNamespaceLen + 2 + std::max(kMaxRecordKeyLen, size_t{32}));

// A GetAccountHistory page token: the hex of the position (height u32 BE |
// index u32 BE) the next page starts before.
constexpr size_t kHistoryTokenChars = 16;

std::string HistoryPageToken(const TxPosition& next) {
  ByteWriter w;
  for (uint32_t v : {next.height, next.index}) {
    for (int shift = 24; shift >= 0; shift -= 8) {
      w.U8(static_cast<uint8_t>(v >> shift));
    }
  }
  return HexEncode(w.bytes());
}

// INVALID_ARGUMENT if `token` is not a HistoryPageToken.
absl::StatusOr<TxPosition> ParseHistoryPageToken(const std::string& token) {
  absl::StatusOr<Bytes> raw = token.size() == kHistoryTokenChars
                                  ? HexDecode(token)
                                  : absl::InvalidArgumentError("bad size");
  if (!raw.ok() || raw->size() != kHistoryTokenChars / 2) {
    return absl::InvalidArgumentError(
        "page_token: not a token of a previous GetAccountHistory response");
  }
  auto be32 = [&raw](size_t at) {
    return uint32_t{(*raw)[at]} << 24 | uint32_t{(*raw)[at + 1]} << 16 |
           uint32_t{(*raw)[at + 2]} << 8 | uint32_t{(*raw)[at + 3]};
  };
  return TxPosition{be32(0), be32(4)};
}

// Bytes `entry` adds to its response as one element of a repeated message
// field: its encoding plus the field's tag (1 byte for fields 1..15) and
// length prefix.
size_t RepeatedEntryBytes(const google::protobuf::Message& entry) {
  const size_t size = entry.ByteSizeLong();
  return 1 + google::protobuf::io::CodedOutputStream::VarintSize64(size) + size;
}

v1::ChainTipStatus ChainTipStatusToProto(ChainTipStatus status) {
  switch (status) {
    case ChainTipStatus::kActive:
      return v1::CHAIN_TIP_STATUS_ACTIVE;
    case ChainTipStatus::kValidFork:
      return v1::CHAIN_TIP_STATUS_VALID_FORK;
    case ChainTipStatus::kInvalid:
      return v1::CHAIN_TIP_STATUS_INVALID;
  }
  return v1::CHAIN_TIP_STATUS_UNSPECIFIED;
}

// An address text field of a request. INVALID_ARGUMENT naming `field`.
absl::StatusOr<Address> ParseAddress(const std::string& text,
                                     absl::string_view field) {
  if (text.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": missing"));
  }
  absl::StatusOr<Address> address = Address::FromText(text);
  if (!address.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", address.status().message()));
  }
  return address;
}

// INVALID_ARGUMENT "reason-name: detail" (PROTOCOL.md section 13): a
// request refused before it reaches the kernel, worded as the kernel words
// its verdicts.
absl::Status Refused(RejectReason reason, absl::string_view detail) {
  return absl::InvalidArgumentError(
      absl::StrCat(RejectReasonName(reason), ": ", detail));
}

// The block of a BroadcastBlock request, converted by proto/convert.h part
// by part so that a refusal names the rule it breaks: block-malformed (no
// header, or a header field of the wrong size), block-too-many-txs, and
// for a transaction that does not convert block-bad-coinbase (the first)
// or tx-malformed (any other). INVALID_ARGUMENT in every case.
absl::StatusOr<Block> BlockFromRequest(const v1::Block& msg) {
  if (!msg.has_header()) {
    return Refused(RejectReason::kBlockMalformed, "block.header: missing");
  }
  absl::StatusOr<BlockHeader> header = BlockHeaderFromProto(msg.header());
  if (!header.ok()) {
    return Refused(RejectReason::kBlockMalformed,
                   absl::StrCat("block.", header.status().message()));
  }
  if (static_cast<size_t>(msg.transactions_size()) > kMaxBlockTxs) {
    return Refused(RejectReason::kBlockTooManyTxs,
                   absl::StrCat("block.transactions: at most ", kMaxBlockTxs,
                                ", got ", msg.transactions_size()));
  }
  Block block;
  block.header = *header;
  block.txs.reserve(msg.transactions_size());
  for (int i = 0; i < msg.transactions_size(); ++i) {
    absl::StatusOr<Transaction> tx = TransactionFromProto(msg.transactions(i));
    if (!tx.ok()) {
      // "transaction.recipient: ..." -> "block.transactions[3].recipient: ..."
      return Refused(
          i == 0 ? RejectReason::kBlockBadCoinbase : RejectReason::kTxMalformed,
          absl::StrCat(
              "block.transactions[", i, "].",
              absl::StripPrefix(tx.status().message(), "transaction.")));
    }
    block.txs.push_back(*std::move(tx));
  }
  return block;
}

grpc::ServerUnaryReactor* Reply(grpc::CallbackServerContext* ctx,
                                const grpc::Status& status) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(status);
  return reactor;
}

grpc::ServerUnaryReactor* Reply(grpc::CallbackServerContext* ctx,
                                const absl::Status& status) {
  // The machine failed (not the caller): worth an operator's attention.
  if (absl::IsInternal(status) || absl::IsDataLoss(status) ||
      absl::IsUnknown(status)) {
    LOG(ERROR) << "rpc failed: " << status;
  }
  return Reply(ctx, ToGrpcStatus(status));
}

// Hashes per second the network spends: the work of the last up to
// kHashRateWindow main-chain blocks over the time they took; when that span
// is not positive (a young chain, equal timestamps), the tip's work per
// block over the target interval.
double EstimateNetworkHashRate(const ChainState& chain, const TipInfo& tip) {
  const uint32_t window = std::min(tip.height, kHashRateWindow);
  if (window > 0) {
    std::optional<Hash256> base_hash = chain.ActiveHashAt(tip.height - window);
    std::optional<BlockIndexEntry> base;
    if (base_hash) base = chain.GetIndexEntry(*base_hash);
    if (base && base->chain_work < tip.chain_work &&
        tip.header.time > base->header.time) {
      return (tip.chain_work - base->chain_work).ToDouble() /
             static_cast<double>(tip.header.time - base->header.time);
    }
  }
  const int64_t interval_ms = chain.params().target_interval_ms;
  if (interval_ms <= 0) return 0;
  const UInt256 work = BlockWork(DecodeCompact(tip.header.bits).target);
  return work.ToDouble() * 1000.0 / static_cast<double>(interval_ms);
}

v1::WatchTipsResponse TipEventToProto(const TipEvent& event) {
  v1::WatchTipsResponse msg;
  msg.set_hash(HashBytes(event.tip.hash));
  msg.set_height(event.tip.height);
  *msg.mutable_header() = BlockHeaderToProto(event.tip.header);
  msg.set_chain_work(event.tip.chain_work.ToDecimal());
  msg.set_reorg_depth(event.reorg_depth);
  msg.set_previous_tip_hash(HashBytes(event.previous_tip));
  msg.set_tx_count(event.tx_count);
  return msg;
}

// A failed read of block `hash`: damage in the datadir (DATA_LOSS) is
// noted by the node (counted, logged once) and answered NOT_FOUND, so that
// the asker gets the block from another node; other errors as they are.
absl::Status DamagedAsNotFound(Node& node, const Hash256& hash,
                               const absl::Status& status) {
  if (!node.NoteBlockReadFailure(hash, status)) return status;
  return absl::NotFoundError(
      absl::StrCat("block ", hash.ToDisplayHex(),
                   " cannot be read from this node's datadir (it is "
                   "damaged); ask another node"));
}

// GetBlocks: one block per write, the next one read only after the previous
// write completed (gRPC flow control). The stream ends at `last_`, at the
// tip if the chain got shorter, with ABORTED if the chain reorganized below
// the stream position, or when the client goes away (the pending write then
// fails). Block bodies are read from the store in the reactor callback: a
// local read of at most one block, not a wait on the network.
class BlocksWriter final
    : public grpc::ServerWriteReactor<v1::GetBlocksResponse> {
 public:
  BlocksWriter(Node* node, const v1::GetBlocksRequest& request)
      : node_(*node), chain_(node->chain()) {
    const uint64_t from = request.from_height();
    if (request.has_to_height() && request.to_height() < from) {
      Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          absl::StrCat("to_height ", request.to_height(),
                                       " is below from_height ", from)));
      return;
    }
    const TipInfo tip = chain_.Tip();
    if (from > tip.height) {
      Finish(
          grpc::Status(grpc::StatusCode::OUT_OF_RANGE,
                       absl::StrCat("from_height ", from,
                                    " is above the tip height ", tip.height)));
      return;
    }
    uint64_t last = tip.height;
    if (request.has_to_height()) last = std::min(last, request.to_height());
    last_ = std::min(last, from + kMaxBlocksPerStream - 1);
    next_ = from;
    NextWrite();
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "write failed"));
      return;
    }
    NextWrite();
  }

  void OnDone() override { delete this; }

 private:
  void NextWrite() {
    if (next_ > last_) {
      Finish(grpc::Status::OK);
      return;
    }
    const std::optional<Hash256> hash =
        chain_.ActiveHashAt(static_cast<uint32_t>(next_));
    if (!hash) {  // the chain got shorter: end at its tip
      Finish(grpc::Status::OK);
      return;
    }
    absl::StatusOr<Block> block = chain_.GetBlock(*hash);
    if (!block.ok()) {
      Finish(ToGrpcStatus(DamagedAsNotFound(node_, *hash, block.status())));
      return;
    }
    if (previous_ && block->header.prev_hash != *previous_) {
      Finish(grpc::Status(
          grpc::StatusCode::ABORTED,
          absl::StrCat("the chain reorganized at height ", next_,
                       " during the stream; ask again from there")));
      return;
    }
    response_.Clear();
    response_.set_height(next_);
    response_.set_hash(HashBytes(*hash));
    *response_.mutable_block() = BlockToProto(*block);
    previous_ = *hash;
    ++next_;
    StartWrite(&response_);
  }

  Node& node_;
  ChainState& chain_;
  uint64_t next_ = 0;
  uint64_t last_ = 0;
  std::optional<Hash256> previous_;
  v1::GetBlocksResponse response_;
};

}  // namespace

struct NodeServiceImpl::OpenStreams {
  absl::Mutex mu;
  // EndStreams ran: a stream opened later ends at once.
  bool closed ABSL_GUARDED_BY(mu) = false;
  std::vector<std::weak_ptr<StreamFeed<v1::WatchTipsResponse>>> tips
      ABSL_GUARDED_BY(mu);
};

NodeServiceImpl::NodeServiceImpl(Node* node, Network* network)
    : node_(node),
      network_(network),
      streams_(std::make_unique<OpenStreams>()) {}

NodeServiceImpl::~NodeServiceImpl() = default;

void NodeServiceImpl::EndStreams() {
  std::vector<std::shared_ptr<StreamFeed<v1::WatchTipsResponse>>> open;
  {
    absl::MutexLock lock(&streams_->mu);
    for (const auto& weak : streams_->tips) {
      if (auto feed = weak.lock()) open.push_back(std::move(feed));
    }
    streams_->tips.clear();
    streams_->closed = true;
  }
  for (const auto& feed : open) feed->End(grpc::Status::OK);
}

grpc::ServerUnaryReactor* NodeServiceImpl::GetInfo(
    grpc::CallbackServerContext* ctx, const v1::GetInfoRequest* /*request*/,
    v1::GetInfoResponse* response) {
  const ChainState& chain = node_->chain();
  const TipInfo tip = chain.Tip();
  response->set_height(tip.height);
  response->set_tip_hash(HashBytes(tip.hash));
  response->set_chain_work(tip.chain_work.ToDecimal());
  response->set_network_hash_rate(EstimateNetworkHashRate(chain, tip));
  response->set_local_hash_rate(node_->HashRate());
  response->set_peer_count(network_ ? network_->peer_count() : 0);
  response->set_genesis_hash(HashBytes(chain.genesis_hash()));
  response->set_chain_id(chain.params().chain_id);
  response->set_version(kNodeVersion);
  response->set_protocol_version(kProtocolVersion);
  response->set_role(RoleFromText(node_->options().role));
  response->set_node_id(node_->node_id());
  response->set_mempool_size(node_->mempool().size());
  response->set_mempool_bytes(node_->mempool().bytes());
  response->set_mining(node_->mining());
  response->set_syncing(network_ != nullptr && network_->syncing());
  response->set_tip_time(tip.header.time);
  response->set_tip_bits(tip.header.bits);
  return Reply(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* NodeServiceImpl::GetBlock(
    grpc::CallbackServerContext* ctx, const v1::GetBlockRequest* request,
    v1::GetBlockResponse* response) {
  const ChainState& chain = node_->chain();
  Hash256 hash;
  switch (request->selector_case()) {
    case v1::GetBlockRequest::kHash: {
      absl::StatusOr<Hash256> parsed = ParseHash(request->hash(), "hash");
      if (!parsed.ok()) return Reply(ctx, parsed.status());
      hash = *parsed;
      break;
    }
    case v1::GetBlockRequest::kHeight: {
      std::optional<Hash256> at;
      if (request->height() <= std::numeric_limits<uint32_t>::max()) {
        at = chain.ActiveHashAt(static_cast<uint32_t>(request->height()));
      }
      if (!at) {
        return Reply(ctx,
                     absl::NotFoundError(absl::StrCat(
                         "no main-chain block at height ", request->height(),
                         " (tip is at ", chain.Tip().height, ")")));
      }
      hash = *at;
      break;
    }
    default:
      return Reply(ctx, absl::InvalidArgumentError(
                            "selector: set either hash or height"));
  }
  const std::optional<BlockIndexEntry> entry = chain.GetIndexEntry(hash);
  if (!entry || (entry->status & kBlockHaveData) == 0) {
    return Reply(ctx, absl::NotFoundError(
                          absl::StrCat("unknown block ", hash.ToDisplayHex())));
  }
  absl::StatusOr<Block> block = chain.GetBlock(hash);
  if (!block.ok()) {
    return Reply(ctx, DamagedAsNotFound(*node_, hash, block.status()));
  }
  const uint32_t tip_height = chain.Tip().height;
  const bool active = chain.IsActive(hash);
  response->set_hash(HashBytes(hash));
  response->set_height(entry->height);
  response->set_in_main_chain(active);
  response->set_confirmations(active && tip_height >= entry->height
                                  ? uint64_t{tip_height} - entry->height + 1
                                  : 0);
  response->set_size_bytes(block->ConsensusSize());
  *response->mutable_block() = BlockToProto(*block);
  for (const Transaction& tx : block->txs)
    response->add_txids(HashBytes(tx.Id()));
  return Reply(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* NodeServiceImpl::GetHeaders(
    grpc::CallbackServerContext* ctx, const v1::GetHeadersRequest* request,
    v1::GetHeadersResponse* response) {
  const ChainState& chain = node_->chain();
  if (static_cast<size_t>(request->locator_hashes_size()) > kMaxLocatorHashes) {
    return Reply(ctx, absl::InvalidArgumentError(absl::StrCat(
                          "locator_hashes: at most ", kMaxLocatorHashes,
                          " entries, got ", request->locator_hashes_size())));
  }
  std::vector<Hash256> locator;
  locator.reserve(request->locator_hashes_size());
  for (int i = 0; i < request->locator_hashes_size(); ++i) {
    absl::StatusOr<Hash256> h = ParseHash(
        request->locator_hashes(i), absl::StrCat("locator_hashes[", i, "]"));
    if (!h.ok()) return Reply(ctx, h.status());
    locator.push_back(*h);
  }
  std::optional<Hash256> stop;
  if (!request->stop_hash().empty()) {
    absl::StatusOr<Hash256> h = ParseHash(request->stop_hash(), "stop_hash");
    if (!h.ok()) return Reply(ctx, h.status());
    stop = *h;
  }
  const uint32_t max_count =
      request->max_count() == 0
          ? kMaxHeadersPerRequest
          : std::min(request->max_count(), kMaxHeadersPerRequest);

  uint32_t start = 0;
  for (const BlockHeader& header :
       chain.HeadersAfterLocator(locator, stop, max_count, &start)) {
    *response->add_headers() = BlockHeaderToProto(header);
  }
  response->set_start_height(start);
  return Reply(ctx, grpc::Status::OK);
}

grpc::ServerWriteReactor<v1::GetBlocksResponse>* NodeServiceImpl::GetBlocks(
    grpc::CallbackServerContext* /*ctx*/, const v1::GetBlocksRequest* request) {
  return new BlocksWriter(node_, *request);
}

grpc::ServerUnaryReactor* NodeServiceImpl::BroadcastBlock(
    grpc::CallbackServerContext* ctx, const v1::BroadcastBlockRequest* request,
    v1::BroadcastBlockResponse* response) {
  if (!request->has_block()) {
    return Reply(ctx, Refused(RejectReason::kBlockMalformed, "block: missing"));
  }
  absl::StatusOr<Block> block = BlockFromRequest(request->block());
  if (!block.ok()) return Reply(ctx, block.status());
  const Hash256 hash = block->Hash();
  absl::StatusOr<AcceptResult> result = node_->SubmitBlock(*block);
  if (!result.ok()) return Reply(ctx, result.status());
  response->set_hash(HashBytes(hash));
  const ValidationResult& v = result->validation;
  switch (result->status) {
    case AcceptStatus::kActive:
      response->set_status(v1::BLOCK_STATUS_NEW_TIP);
      break;
    case AcceptStatus::kSideBranch:
      response->set_status(v1::BLOCK_STATUS_SIDE_BRANCH);
      break;
    case AcceptStatus::kAlreadyKnown:
      response->set_status(v1::BLOCK_STATUS_DUPLICATE);
      break;
    case AcceptStatus::kInvalid:
      response->set_status(v.reason() == RejectReason::kHeaderUnknownParent
                               ? v1::BLOCK_STATUS_ORPHAN
                               : v1::BLOCK_STATUS_INVALID);
      response->set_reason(
          v.message().empty()
              ? std::string(RejectReasonName(v.reason()))
              : absl::StrCat(RejectReasonName(v.reason()), ": ", v.message()));
      break;
  }
  response->set_accepted(result->status == AcceptStatus::kActive ||
                         result->status == AcceptStatus::kSideBranch);
  if (result->status != AcceptStatus::kInvalid) {
    if (std::optional<BlockIndexEntry> entry =
            node_->chain().GetIndexEntry(hash)) {
      response->set_height(entry->height);
    }
  }
  return Reply(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* NodeServiceImpl::GetBlockTemplate(
    grpc::CallbackServerContext* ctx,
    const v1::GetBlockTemplateRequest* request,
    v1::GetBlockTemplateResponse* response) {
  absl::StatusOr<Address> miner =
      ParseAddress(request->miner_address(), "miner_address");
  if (!miner.ok()) return Reply(ctx, miner.status());
  const ChainState& chain = node_->chain();
  // The tip, its median time past and the template are read under separate
  // locks; retry until they agree (a new block arrived in between).
  absl::StatusOr<Block> block;
  int64_t mtp = 0;
  for (int attempt = 0; attempt < 3; ++attempt) {
    const Hash256 tip = chain.Tip().hash;
    mtp = chain.MedianTimePastOfTip();
    block = chain.CreateBlockTemplate(
        *miner, node_->mempool().SelectForBlock(kMaxBlockTxs - 1),
        absl::ToUnixSeconds(absl::Now()));
    if (!block.ok()) return Reply(ctx, block.status());
    if (block->header.prev_hash == tip && chain.Tip().hash == tip) break;
  }
  if (block->txs.empty()) {
    return Reply(ctx, absl::InternalError("block template has no coinbase"));
  }
  block->txs[0].extra_nonce = request->extra_nonce();
  block->header.merkle_root = BlockMerkleRoot(*block);
  absl::StatusOr<UInt256> target = TargetFromBits(
      block->header.bits, DecodeCompact(chain.params().pow_limit_bits).target);
  if (!target.ok()) {
    return Reply(
        ctx, absl::InternalError(absl::StrCat("template bits do not decode: ",
                                              target.status().message())));
  }
  *response->mutable_header() = BlockHeaderToProto(block->header);
  for (const Transaction& tx : block->txs) {
    *response->add_transactions() = TransactionToProto(tx);
  }
  response->set_height(block->txs[0].height);
  response->set_target(HashBytes(target->ToHash()));
  response->set_min_time(static_cast<uint32_t>(mtp + 1));
  response->set_coinbase_amount(block->txs[0].amount);
  return Reply(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* NodeServiceImpl::SubmitTransaction(
    grpc::CallbackServerContext* ctx,
    const v1::SubmitTransactionRequest* request,
    v1::SubmitTransactionResponse* response) {
  // Every refusal starts with its reason name (PROTOCOL.md section 13); a
  // message that does not convert is tx-malformed.
  if (!request->has_transaction()) {
    return Reply(ctx,
                 Refused(RejectReason::kTxMalformed, "transaction: missing"));
  }
  absl::StatusOr<Transaction> tx = TransactionFromProto(request->transaction());
  if (!tx.ok()) {
    return Reply(ctx,
                 Refused(RejectReason::kTxMalformed, tx.status().message()));
  }
  if (tx->IsCoinbase()) {
    return Reply(ctx, Refused(RejectReason::kTxMalformed,
                              "transaction: a coinbase cannot be submitted"));
  }
  size_t relayed_to_peers = 0;
  absl::StatusOr<Hash256> txid =
      node_->SubmitTransaction(*tx, &relayed_to_peers);
  // A transaction already pooled or confirmed is ALREADY_EXISTS: a client
  // that retries knows it was accepted before.
  if (!txid.ok()) return Reply(ctx, txid.status());
  response->set_txid(HashBytes(*txid));
  response->set_relayed_to_peers(
      static_cast<uint32_t>(std::min<size_t>(relayed_to_peers, UINT32_MAX)));
  return Reply(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* NodeServiceImpl::GetTransaction(
    grpc::CallbackServerContext* ctx, const v1::GetTransactionRequest* request,
    v1::GetTransactionResponse* response) {
  absl::StatusOr<Hash256> txid = ParseHash(request->txid(), "txid");
  if (!txid.ok()) return Reply(ctx, txid.status());
  if (std::optional<Transaction> pooled = node_->mempool().Get(*txid)) {
    *response->mutable_transaction() = TransactionToProto(*pooled);
    response->set_in_mempool(true);
    return Reply(ctx, grpc::Status::OK);
  }
  const ChainState& chain = node_->chain();
  // The tip may move between the lookup and the confirmation count; retry
  // until the block is still on the main chain afterwards.
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto found = chain.GetTransaction(*txid);
    if (!found.ok()) return Reply(ctx, found.status());
    if (!found->has_value()) break;
    const auto& [tx, location] = **found;
    const uint32_t tip_height = chain.Tip().height;
    if (!chain.IsActive(location.block_hash) || tip_height < location.height) {
      continue;
    }
    *response->mutable_transaction() = TransactionToProto(tx);
    response->set_in_mempool(false);
    response->set_block_hash(HashBytes(location.block_hash));
    response->set_block_height(location.height);
    response->set_confirmations(uint64_t{tip_height} - location.height + 1);
    response->set_index_in_block(location.index);
    return Reply(ctx, grpc::Status::OK);
  }
  // Also checks the mempool once more: a reorg may have just returned it.
  if (std::optional<Transaction> pooled = node_->mempool().Get(*txid)) {
    *response->mutable_transaction() = TransactionToProto(*pooled);
    response->set_in_mempool(true);
    return Reply(ctx, grpc::Status::OK);
  }
  return Reply(ctx, absl::NotFoundError(absl::StrCat("unknown transaction ",
                                                     txid->ToDisplayHex())));
}

grpc::ServerUnaryReactor* NodeServiceImpl::GetAccount(
    grpc::CallbackServerContext* ctx, const v1::GetAccountRequest* request,
    v1::GetAccountResponse* response) {
  absl::StatusOr<Address> address = ParseAddress(request->address(), "address");
  if (!address.ok()) return Reply(ctx, address.status());
  const ChainState& chain = node_->chain();
  // Read the height first: the state is at least as new as it says.
  const uint32_t height = chain.Tip().height;
  absl::StatusOr<AccountState> state = chain.GetAccount(*address);
  if (!state.ok()) return Reply(ctx, state.status());
  v1::Account* account = response->mutable_account();
  account->set_address(address->ToText());
  account->set_balance(state->balance);
  account->set_nonce(state->nonce);
  response->set_pending_nonce(
      std::max(state->nonce, node_->mempool().NextNonce(*address)));
  response->set_height(height);
  return Reply(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* NodeServiceImpl::GetMempool(
    grpc::CallbackServerContext* ctx, const v1::GetMempoolRequest* request,
    v1::GetMempoolResponse* response) {
  const uint32_t limit = request->limit() == 0
                             ? kDefaultMempoolLimit
                             : std::min(request->limit(), kMaxMempoolLimit);
  const Mempool& mempool = node_->mempool();
  // Priority order comes from the block selection; sizes and arrival times
  // from the entries.
  const std::vector<Transaction> selected = mempool.SelectForBlock(limit);
  absl::flat_hash_map<Hash256, MempoolEntry> entries;
  for (MempoolEntry& e : mempool.List(std::numeric_limits<size_t>::max())) {
    Hash256 id = e.txid;
    entries.emplace(id, std::move(e));
  }
  for (const Transaction& tx : selected) {
    v1::MempoolEntry* out = response->add_entries();
    const Hash256 txid = tx.Id();
    out->set_txid(HashBytes(txid));
    *out->mutable_transaction() = TransactionToProto(tx);
    if (auto it = entries.find(txid); it != entries.end()) {
      out->set_size_bytes(static_cast<uint32_t>(it->second.size));
      out->set_received_unix_ms(absl::ToUnixMillis(it->second.received));
    } else {  // added or replaced in between
      out->set_size_bytes(static_cast<uint32_t>(tx.Encode().size()));
    }
  }
  response->set_total_count(mempool.size());
  response->set_total_bytes(mempool.bytes());
  return Reply(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* NodeServiceImpl::GetRecords(
    grpc::CallbackServerContext* ctx, const v1::GetRecordsRequest* request,
    v1::GetRecordsResponse* response) {
  const std::string& ns = request->namespace_();
  if (!IsValidNamespace(ns)) {
    return Reply(ctx, absl::InvalidArgumentError(
                          "namespace: want 1..64 characters of [a-z0-9._-]"));
  }
  const ChainState& chain = node_->chain();
  // Records read: one for a key, else up to one more than the page holds.
  std::vector<RecordEntry> records;
  // Records the page may hold; a page also ends before the record that would
  // take it past kMaxRecordsResponseBytes (never before the first). When it
  // ends early, the token names the last record sent.
  size_t page_size = 1;
  if (request->has_key()) {
    if (request->key().empty() || request->key().size() > kMaxRecordKeyLen) {
      return Reply(ctx, absl::InvalidArgumentError(absl::StrCat(
                            "key: want 1..", kMaxRecordKeyLen, " bytes, got ",
                            request->key().size())));
    }
    if (!request->page_token().empty()) {
      return Reply(ctx, absl::InvalidArgumentError(
                            "page_token: not allowed together with key"));
    }
    absl::StatusOr<std::optional<RecordEntry>> found =
        chain.GetRecord(ns, request->key());
    if (!found.ok()) return Reply(ctx, found.status());
    if (found->has_value()) records.push_back(**std::move(found));
  } else {
    page_size = request->page_size() == 0
                    ? kDefaultRecordsPageSize
                    : std::min(request->page_size(), kMaxRecordsPageSize);
    std::string start_after;
    if (!request->page_token().empty()) {
      const std::string prefix = RecordNamespacePrefix(ns);
      absl::StatusOr<Bytes> key =
          request->page_token().size() <= kMaxPageTokenChars
              ? HexDecode(request->page_token())
              : absl::InvalidArgumentError("too long");
      if (!key.ok() || key->size() <= prefix.size() ||
          std::string(key->begin(), key->begin() + prefix.size()) != prefix) {
        return Reply(ctx, absl::InvalidArgumentError(
                              "page_token: not a token of this namespace"));
      }
      start_after.assign(key->begin(), key->end());
    }
    absl::StatusOr<std::vector<RecordEntry>> page =
        chain.ListRecords(ns, start_after, page_size + 1);
    if (!page.ok()) return Reply(ctx, page.status());
    records = *std::move(page);
  }
  // The sender and block time come from the block; read each block once.
  struct BlockTxs {
    uint32_t time = 0;
    absl::flat_hash_map<Hash256, Transaction> txs;
  };
  absl::flat_hash_map<Hash256, BlockTxs> blocks;
  size_t response_bytes = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    if (i == page_size) {  // more records than the page holds
      response->set_next_page_token(
          HexEncode(AsBytes(records[i - 1].index_key)));
      break;
    }
    const RecordEntry& r = records[i];
    auto it = blocks.find(r.location.block_hash);
    if (it == blocks.end()) {
      absl::StatusOr<Block> block = chain.GetBlock(r.location.block_hash);
      if (!block.ok()) {
        node_->NoteBlockReadFailure(r.location.block_hash, block.status());
        return Reply(ctx, block.status());
      }
      BlockTxs b;
      b.time = block->header.time;
      for (Transaction& tx : block->txs) {
        if (tx.record) {
          Hash256 id = tx.Id();
          b.txs.emplace(id, std::move(tx));
        }
      }
      it = blocks.emplace(r.location.block_hash, std::move(b)).first;
    }
    v1::RecordEntry out;
    *out.mutable_record() = DataRecordToProto(r.record);
    out.set_txid(HashBytes(r.location.txid));
    out.set_block_hash(HashBytes(r.location.block_hash));
    out.set_block_height(r.location.height);
    out.set_block_time(it->second.time);
    if (auto tx = it->second.txs.find(r.location.txid);
        tx != it->second.txs.end() && !tx->second.IsCoinbase()) {
      out.set_sender_address(tx->second.SenderAddress().ToText());
    }
    response_bytes += RepeatedEntryBytes(out);
    if (i > 0 && response_bytes > kMaxRecordsResponseBytes) {
      response->set_next_page_token(
          HexEncode(AsBytes(records[i - 1].index_key)));
      break;
    }
    *response->add_records() = std::move(out);
  }
  return Reply(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* NodeServiceImpl::ListPeers(
    grpc::CallbackServerContext* ctx, const v1::ListPeersRequest* /*request*/,
    v1::ListPeersResponse* response) {
  if (network_ != nullptr) network_->ListPeers(response);
  return Reply(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* NodeServiceImpl::GetAccountHistory(
    grpc::CallbackServerContext* ctx,
    const v1::GetAccountHistoryRequest* request,
    v1::GetAccountHistoryResponse* response) {
  absl::StatusOr<Address> address = ParseAddress(request->address(), "address");
  if (!address.ok()) return Reply(ctx, address.status());
  const uint32_t page_size =
      request->page_size() == 0
          ? kDefaultHistoryPageSize
          : std::min(request->page_size(), kMaxHistoryPageSize);
  std::optional<TxPosition> before;
  if (!request->page_token().empty()) {
    absl::StatusOr<TxPosition> position =
        ParseHistoryPageToken(request->page_token());
    if (!position.ok()) return Reply(ctx, position.status());
    before = *position;
  }
  // Entries, their blocks and the height are read under one chain lock.
  absl::StatusOr<AddressHistoryPage> page =
      node_->chain().GetAddressHistory(*address, before, page_size);
  if (!page.ok()) return Reply(ctx, page.status());
  // The page ends early, before the entry that would take it past
  // kMaxHistoryResponseBytes (never before the first); the token then names
  // the last entry sent, as the chain's own `next` does.
  std::optional<TxPosition> next = page->next;
  size_t response_bytes = 0;
  for (size_t i = 0; i < page->entries.size(); ++i) {
    const AddressHistoryEntry& e = page->entries[i];
    v1::AccountHistoryEntry out;
    out.set_txid(HashBytes(e.txid));
    *out.mutable_transaction() = TransactionToProto(e.tx);
    out.set_block_hash(HashBytes(e.block_hash));
    out.set_block_height(e.height);
    out.set_block_time(e.block_time);
    out.set_index_in_block(e.index);
    out.set_received(e.received);
    out.set_sent(e.sent);
    response_bytes += RepeatedEntryBytes(out);
    if (i > 0 && response_bytes > kMaxHistoryResponseBytes) {
      const AddressHistoryEntry& last = page->entries[i - 1];
      next = TxPosition{last.height, last.index};
      break;
    }
    *response->add_entries() = std::move(out);
  }
  if (next) response->set_next_page_token(HistoryPageToken(*next));
  response->set_height(page->tip_height);
  return Reply(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* NodeServiceImpl::GetChainTips(
    grpc::CallbackServerContext* ctx, const v1::GetChainTipsRequest* request,
    v1::GetChainTipsResponse* response) {
  const uint32_t limit = request->limit() == 0
                             ? kDefaultChainTipsLimit
                             : std::min(request->limit(), kMaxChainTipsLimit);
  for (const ChainTip& tip : node_->chain().GetChainTips(limit)) {
    v1::ChainTip* out = response->add_tips();
    out->set_hash(HashBytes(tip.hash));
    out->set_height(tip.height);
    out->set_branch_length(tip.branch_length);
    out->set_fork_hash(HashBytes(tip.fork_hash));
    out->set_status(ChainTipStatusToProto(tip.status));
    out->set_chain_work(tip.chain_work.ToDecimal());
    out->set_time(tip.time);
  }
  return Reply(ctx, grpc::Status::OK);
}

// WatchTips. The node's tip listener runs on whatever thread moved the tip
// and must not block: it pushes onto the stream's feed, which drops the
// oldest event past kMaxQueuedTipEvents.
//
// The current tip (include_current) must be sent once, then exactly the
// tips after it. The listener is registered first, so no later tip is
// missed; then, under `start.mu` (which the listener also holds while it
// pushes), the current tip is read, the events queued so far are dropped
// (Node notifies one block at a time, after moving the tip, so they are
// all at or before the tip just read) and the current tip is queued. The
// one notification that can still come late is the current tip's own: the
// first event after the read is dropped if it names that tip.
grpc::ServerWriteReactor<v1::WatchTipsResponse>* NodeServiceImpl::WatchTips(
    grpc::CallbackServerContext* /*ctx*/, const v1::WatchTipsRequest* request) {
  using Feed = StreamFeed<v1::WatchTipsResponse>;
  struct Start {
    absl::Mutex mu;
    bool armed ABSL_GUARDED_BY(mu) = false;
    std::string skip_hash ABSL_GUARDED_BY(mu);
  };
  Feed::Options options;
  options.max_queued = kMaxQueuedTipEvents;
  auto listener_id = std::make_shared<std::atomic<uint64_t>>(0);
  options.on_done = [node = node_, listener_id] {
    node->RemoveTipListener(listener_id->load());
  };
  auto [writer, feed] =
      QueuedStreamWriter<v1::WatchTipsResponse>::Create(std::move(options));
  auto start = std::make_shared<Start>();
  // Node may call a copy of the listener after RemoveTipListener returned:
  // it holds the feed, whose Push does nothing once the stream is done.
  listener_id->store(
      node_->AddTipListener([feed = feed, start](const TipEvent& event) {
        v1::WatchTipsResponse message = TipEventToProto(event);
        absl::MutexLock lock(&start->mu);
        if (start->armed) {
          start->armed = false;
          if (message.hash() == start->skip_hash) return;  // sent already
        }
        feed->Push(std::move(message));
      }));
  if (request->include_current()) {
    absl::MutexLock lock(&start->mu);
    TipEvent event;
    event.tip = node_->chain().Tip();
    event.previous_tip = event.tip.header.prev_hash;
    if (std::optional<BlockIndexEntry> entry =
            node_->chain().GetIndexEntry(event.tip.hash)) {
      event.tx_count = entry->tx_count;
    }
    v1::WatchTipsResponse current = TipEventToProto(event);
    start->skip_hash = current.hash();
    start->armed = true;
    feed->ClearQueued();
    feed->PushFront(std::move(current));
  }
  bool closed = false;
  {
    absl::MutexLock lock(&streams_->mu);
    closed = streams_->closed;
    // Forget ended streams so the list stays as long as the open ones.
    std::erase_if(streams_->tips,
                  [](const auto& weak) { return weak.expired(); });
    if (!closed) streams_->tips.push_back(feed);
  }
  // The node is shutting down: end at once, with OK as EndStreams does.
  if (closed) feed->End(grpc::Status::OK);
  writer->Begin();
  return writer;
}

}  // namespace pbchain
