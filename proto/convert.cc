#include "proto/convert.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "chain/consensus.h"
#include "common/status_macros.h"

namespace pbchain {
namespace {

absl::Status Malformed(const std::string& field, const std::string& problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

// Copies `in` into `out` if it has exactly out.size() bytes.
template <size_t N>
absl::Status CopyExact(const std::string& in, const std::string& field,
                       std::array<uint8_t, N>& out) {
  if (in.size() != N) {
    return Malformed(field,
                     absl::StrCat("want ", N, " bytes, got ", in.size()));
  }
  std::memcpy(out.data(), in.data(), N);
  return absl::OkStatus();
}

template <size_t N>
std::string ToBytes(const std::array<uint8_t, N>& a) {
  return std::string(reinterpret_cast<const char*>(a.data()), N);
}

absl::Status TooLong(const std::string& field, size_t size, size_t max) {
  return Malformed(field, absl::StrCat("at most ", max, " bytes, got ", size));
}

absl::StatusOr<DataRecord> RecordFrom(const v1::DataRecord& msg,
                                      const std::string& prefix) {
  DataRecord r;
  if (msg.namespace_().size() > kMaxNamespaceLen) {
    return TooLong(prefix + "namespace", msg.namespace_().size(),
                   kMaxNamespaceLen);
  }
  if (msg.has_key() && msg.key().size() > kMaxRecordKeyLen) {
    return TooLong(prefix + "key", msg.key().size(), kMaxRecordKeyLen);
  }
  if (msg.payload().size() > kMaxRecordPayload) {
    return TooLong(prefix + "payload", msg.payload().size(), kMaxRecordPayload);
  }
  r.ns = msg.namespace_();
  if (msg.has_key()) r.key = msg.key();
  r.payload = msg.payload();
  return r;
}

absl::StatusOr<Transaction> TransactionFrom(const v1::Transaction& msg,
                                            const std::string& prefix) {
  Transaction tx;
  if (msg.version() != kTxVersion) {
    return Malformed(prefix + "version", absl::StrCat("must be ", kTxVersion,
                                                      ", got ", msg.version()));
  }
  switch (msg.kind()) {
    case v1::TRANSACTION_KIND_TRANSFER:
      tx.kind = TxKind::kTransfer;
      break;
    case v1::TRANSACTION_KIND_COINBASE:
      tx.kind = TxKind::kCoinbase;
      break;
    default:
      return Malformed(prefix + "kind",
                       absl::StrCat("unspecified or unknown kind ",
                                    static_cast<int>(msg.kind())));
  }
  if (msg.chain_id().size() > kMaxChainIdLen) {
    return TooLong(prefix + "chain_id", msg.chain_id().size(), kMaxChainIdLen);
  }
  tx.chain_id = msg.chain_id();
  if (absl::Status s =
          CopyExact(msg.recipient(), prefix + "recipient", tx.recipient.bytes);
      !s.ok()) {
    return s;
  }
  tx.amount = msg.amount();
  if (tx.kind == TxKind::kTransfer) {
    if (msg.height() != 0) {
      return Malformed(prefix + "height", "must be 0 for a transfer");
    }
    if (msg.extra_nonce() != 0) {
      return Malformed(prefix + "extra_nonce", "must be 0 for a transfer");
    }
    if (absl::Status s =
            CopyExact(msg.sender_pubkey(), prefix + "sender_pubkey", tx.sender);
        !s.ok()) {
      return s;
    }
    if (absl::Status s =
            CopyExact(msg.signature(), prefix + "signature", tx.signature);
        !s.ok()) {
      return s;
    }
    tx.fee = msg.fee();
    tx.nonce = msg.nonce();
  } else {
    if (!msg.sender_pubkey().empty()) {
      return Malformed(prefix + "sender_pubkey",
                       "must be empty for a coinbase");
    }
    if (msg.fee() != 0) {
      return Malformed(prefix + "fee", "must be 0 for a coinbase");
    }
    if (msg.nonce() != 0) {
      return Malformed(prefix + "nonce", "must be 0 for a coinbase");
    }
    if (!msg.signature().empty()) {
      return Malformed(prefix + "signature", "must be empty for a coinbase");
    }
    tx.height = msg.height();
    tx.extra_nonce = msg.extra_nonce();
  }
  if (msg.has_record()) {
    PBCHAIN_ASSIGN_OR_RETURN(DataRecord record,
                             RecordFrom(msg.record(), prefix + "record."));
    tx.record = std::move(record);
  }
  return tx;
}

absl::StatusOr<BlockHeader> HeaderFrom(const v1::BlockHeader& msg,
                                       const std::string& prefix) {
  BlockHeader h;
  h.version = msg.version();
  if (absl::Status s =
          CopyExact(msg.prev_hash(), prefix + "prev_hash", h.prev_hash.bytes);
      !s.ok()) {
    return s;
  }
  PBCHAIN_RETURN_IF_ERROR(CopyExact(msg.merkle_root(), prefix + "merkle_root",
                                    h.merkle_root.bytes));
  h.time = msg.time();
  h.bits = msg.bits();
  h.nonce = msg.nonce();
  return h;
}

}  // namespace

absl::StatusOr<DataRecord> DataRecordFromProto(const v1::DataRecord& msg) {
  return RecordFrom(msg, "record.");
}

v1::DataRecord DataRecordToProto(const DataRecord& record) {
  v1::DataRecord msg;
  msg.set_namespace_(record.ns);
  if (record.key.has_value()) msg.set_key(*record.key);
  msg.set_payload(record.payload);
  return msg;
}

absl::StatusOr<Transaction> TransactionFromProto(const v1::Transaction& msg) {
  return TransactionFrom(msg, "transaction.");
}

v1::Transaction TransactionToProto(const Transaction& tx) {
  v1::Transaction msg;
  msg.set_version(kTxVersion);
  msg.set_chain_id(tx.chain_id);
  msg.set_recipient(ToBytes(tx.recipient.bytes));
  msg.set_amount(tx.amount);
  if (tx.IsCoinbase()) {
    msg.set_kind(v1::TRANSACTION_KIND_COINBASE);
    msg.set_height(tx.height);
    msg.set_extra_nonce(tx.extra_nonce);
  } else {
    msg.set_kind(v1::TRANSACTION_KIND_TRANSFER);
    msg.set_sender_pubkey(ToBytes(tx.sender));
    msg.set_fee(tx.fee);
    msg.set_nonce(tx.nonce);
    msg.set_signature(ToBytes(tx.signature));
  }
  if (tx.record.has_value()) {
    *msg.mutable_record() = DataRecordToProto(*tx.record);
  }
  return msg;
}

absl::StatusOr<BlockHeader> BlockHeaderFromProto(const v1::BlockHeader& msg) {
  return HeaderFrom(msg, "header.");
}

v1::BlockHeader BlockHeaderToProto(const BlockHeader& header) {
  v1::BlockHeader msg;
  msg.set_version(header.version);
  msg.set_prev_hash(ToBytes(header.prev_hash.bytes));
  msg.set_merkle_root(ToBytes(header.merkle_root.bytes));
  msg.set_time(header.time);
  msg.set_bits(header.bits);
  msg.set_nonce(header.nonce);
  return msg;
}

absl::StatusOr<Block> BlockFromProto(const v1::Block& msg) {
  Block block;
  if (!msg.has_header()) return Malformed("block.header", "missing");
  PBCHAIN_ASSIGN_OR_RETURN(BlockHeader header,
                           HeaderFrom(msg.header(), "block.header."));
  block.header = header;
  if (static_cast<size_t>(msg.transactions_size()) > kMaxBlockTxs) {
    return Malformed(
        "block.transactions",
        absl::StrCat("at most ", kMaxBlockTxs, " transactions, got ",
                     msg.transactions_size()));
  }
  block.txs.reserve(msg.transactions_size());
  for (int i = 0; i < msg.transactions_size(); ++i) {
    PBCHAIN_ASSIGN_OR_RETURN(
        Transaction tx,
        TransactionFrom(msg.transactions(i),
                        absl::StrCat("block.transactions[", i, "].")));
    block.txs.push_back(std::move(tx));
  }
  return block;
}

v1::Block BlockToProto(const Block& block) {
  v1::Block msg;
  *msg.mutable_header() = BlockHeaderToProto(block.header);
  msg.mutable_transactions()->Reserve(static_cast<int>(block.txs.size()));
  for (const Transaction& tx : block.txs) {
    *msg.add_transactions() = TransactionToProto(tx);
  }
  return msg;
}

}  // namespace pbchain
