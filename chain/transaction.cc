#include "chain/transaction.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "chain/consensus.h"
#include "chain/hash.h"
#include "common/status_macros.h"

namespace pbchain {
namespace {

void EncodeRecord(const std::optional<DataRecord>& record, ByteWriter& w) {
  if (!record) {
    w.U8(0);
    return;
  }
  w.U8(1);
  w.U8(static_cast<uint8_t>(record->ns.size()));
  w.Raw(AsBytes(record->ns));
  if (record->key) {
    w.U8(1);
    w.U8(static_cast<uint8_t>(record->key->size()));
    w.Raw(AsBytes(*record->key));
  } else {
    w.U8(0);
  }
  w.U32(static_cast<uint32_t>(record->payload.size()));
  w.Raw(AsBytes(record->payload));
}

absl::Status Truncated(absl::string_view field) {
  return absl::InvalidArgumentError(
      absl::StrCat("transaction encoding truncated at ", field));
}

std::string ToString(ByteSpan b) { return std::string(b.begin(), b.end()); }

absl::Status DecodeRecord(ByteReader& r, std::optional<DataRecord>& out) {
  uint8_t has_record;
  if (!r.U8(has_record)) return Truncated("has_record");
  if (has_record > 1)
    return absl::InvalidArgumentError("has_record must be 0 or 1");
  if (has_record == 0) return absl::OkStatus();
  DataRecord rec;
  uint8_t ns_len;
  ByteSpan raw;
  if (!r.U8(ns_len) || !r.Raw(ns_len, raw))
    return Truncated("record namespace");
  rec.ns = ToString(raw);
  uint8_t has_key;
  if (!r.U8(has_key)) return Truncated("record has_key");
  if (has_key > 1) return absl::InvalidArgumentError("has_key must be 0 or 1");
  if (has_key == 1) {
    uint8_t key_len;
    if (!r.U8(key_len) || !r.Raw(key_len, raw)) return Truncated("record key");
    rec.key = ToString(raw);
  }
  uint32_t payload_len;
  if (!r.U32(payload_len)) return Truncated("record payload length");
  if (payload_len > kMaxRecordPayload) {
    return absl::InvalidArgumentError(
        absl::StrCat("record payload of ", payload_len, " bytes exceeds ",
                     kMaxRecordPayload));
  }
  if (!r.Raw(payload_len, raw)) return Truncated("record payload");
  rec.payload = ToString(raw);
  out = std::move(rec);
  return absl::OkStatus();
}

}  // namespace

bool IsValidNamespace(std::string_view ns) {
  if (ns.empty() || ns.size() > kMaxNamespaceLen) return false;
  for (char c : ns) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Bytes Transaction::SigningBytes() const {
  ByteWriter w;
  w.U8(kTxVersion);
  w.U8(static_cast<uint8_t>(kind));
  w.U8(static_cast<uint8_t>(chain_id.size()));
  w.Raw(AsBytes(chain_id));
  if (kind == TxKind::kCoinbase) {
    w.Raw(recipient.bytes);
    w.U64(amount);
    w.U64(height);
    w.U64(extra_nonce);
  } else {
    w.Raw(sender);
    w.Raw(recipient.bytes);
    w.U64(amount);
    w.U64(fee);
    w.U64(nonce);
  }
  EncodeRecord(record, w);
  return w.Take();
}

Bytes Transaction::Encode() const {
  Bytes out = SigningBytes();
  if (kind == TxKind::kTransfer)
    out.insert(out.end(), signature.begin(), signature.end());
  return out;
}

Hash256 Transaction::Id() const { return Sha256d(Encode()); }

Address Transaction::SenderAddress() const {
  return AddressFromPublicKey(sender);
}

void Transaction::Sign(const PrivateKey& key) {
  sender = key.public_key();
  signature = key.Sign(SigningBytes());
}

bool Transaction::HasValidSignature() const {
  if (kind != TxKind::kTransfer) return false;
  return VerifySignature(sender, SigningBytes(), signature);
}

absl::StatusOr<Transaction> Transaction::DecodeFrom(ByteReader& r) {
  Transaction tx;
  uint8_t version, kind, chain_len;
  if (!r.U8(version)) return Truncated("version");
  if (version != kTxVersion) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown transaction version ", version));
  }
  if (!r.U8(kind)) return Truncated("kind");
  if (kind > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown transaction kind ", kind));
  }
  tx.kind = static_cast<TxKind>(kind);
  ByteSpan raw;
  if (!r.U8(chain_len) || !r.Raw(chain_len, raw)) return Truncated("chain_id");
  tx.chain_id = ToString(raw);
  if (tx.kind == TxKind::kCoinbase) {
    if (!r.Raw(20, raw)) return Truncated("recipient");
    std::copy(raw.begin(), raw.end(), tx.recipient.bytes.begin());
    if (!r.U64(tx.amount) || !r.U64(tx.height) || !r.U64(tx.extra_nonce)) {
      return Truncated("coinbase fields");
    }
  } else {
    if (!r.Raw(32, raw)) return Truncated("sender_pubkey");
    std::copy(raw.begin(), raw.end(), tx.sender.begin());
    if (!r.Raw(20, raw)) return Truncated("recipient");
    std::copy(raw.begin(), raw.end(), tx.recipient.bytes.begin());
    if (!r.U64(tx.amount) || !r.U64(tx.fee) || !r.U64(tx.nonce)) {
      return Truncated("amount/fee/nonce");
    }
  }
  PBCHAIN_RETURN_IF_ERROR(DecodeRecord(r, tx.record));
  if (tx.kind == TxKind::kTransfer) {
    if (!r.Raw(64, raw)) return Truncated("signature");
    std::copy(raw.begin(), raw.end(), tx.signature.begin());
  }
  return tx;
}

absl::StatusOr<Transaction> Transaction::Decode(ByteSpan data) {
  if (data.size() > kMaxTxSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "transaction of ", data.size(), " bytes exceeds ", kMaxTxSize));
  }
  ByteReader r(data);
  absl::StatusOr<Transaction> tx = DecodeFrom(r);
  if (!tx.ok()) return tx;
  if (!r.AtEnd()) {
    return absl::InvalidArgumentError(
        absl::StrCat(r.remaining(), " trailing bytes after transaction"));
  }
  return tx;
}

}  // namespace pbchain
