// Transactions and data records, with their canonical byte encoding (the
// bytes that are signed and hashed; never protobuf bytes). The layout is
// specified byte by byte in docs/PROTOCOL.md.
#ifndef PBCHAIN_CHAIN_TRANSACTION_H_
#define PBCHAIN_CHAIN_TRANSACTION_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "chain/address.h"
#include "chain/bytes.h"
#include "chain/keys.h"

namespace pbchain {

enum class TxKind : uint8_t {
  kTransfer = 0,  // signed by the sender; moves coins and/or carries a record
  kCoinbase = 1,  // first transaction of a block; pays the miner
};

// An application data record carried by a transaction. A record with a key is
// write-once per (namespace, key) across the whole chain.
struct DataRecord {
  std::string ns;                  // 1..kMaxNamespaceLen chars of [a-z0-9._-]
  std::optional<std::string> key;  // if set: 1..kMaxRecordKeyLen bytes
  std::string payload;             // 0..kMaxRecordPayload bytes

  friend bool operator==(const DataRecord&, const DataRecord&) = default;
};

struct Transaction {
  TxKind kind = TxKind::kTransfer;
  std::string chain_id;      // 1..kMaxChainIdLen ASCII bytes
  PublicKey sender{};        // transfer only
  Address recipient{};       // transfer: payee; coinbase: the miner
  uint64_t amount = 0;       // coins moved (coinbase: reward + fees)
  uint64_t fee = 0;          // transfer only; goes to the miner
  uint64_t nonce = 0;        // transfer only; the sender's next nonce
  uint64_t height = 0;       // coinbase only; height of its block
  uint64_t extra_nonce = 0;  // coinbase only; rolled by miners
  std::optional<DataRecord> record;
  Signature signature{};  // transfer only; Ed25519 over SigningBytes()

  bool IsCoinbase() const { return kind == TxKind::kCoinbase; }

  // The canonical encoding without the signature. For a transfer these are
  // the bytes the sender signs. Thread-compatible.
  Bytes SigningBytes() const;
  // The full canonical encoding (signing bytes, then the 64-byte signature
  // for a transfer). The txid hashes these bytes; blocks are sized by them.
  Bytes Encode() const;
  // txid = SHA256d(Encode()), in internal byte order.
  Hash256 Id() const;
  // Address of `sender` (meaningless for a coinbase).
  Address SenderAddress() const;
  // Sets `sender` to key's public key and signs. Only for transfers.
  void Sign(const PrivateKey& key);
  // True if `signature` is a valid Ed25519 signature of SigningBytes() by
  // `sender`. Always false for a coinbase.
  bool HasValidSignature() const;

  // Parses one full encoding that must span all of `data`. INVALID_ARGUMENT
  // with a message naming the field on truncated, oversized or trailing
  // bytes, unknown version or kind. Does not check signatures or rules.
  static absl::StatusOr<Transaction> Decode(ByteSpan data);
  // Parses one transaction from the front of `reader` (for block decoding).
  static absl::StatusOr<Transaction> DecodeFrom(ByteReader& reader);

  friend bool operator==(const Transaction&, const Transaction&) = default;
};

// True if `ns` is a valid record namespace (1..64 chars of [a-z0-9._-]).
bool IsValidNamespace(std::string_view ns);

}  // namespace pbchain

#endif  // PBCHAIN_CHAIN_TRANSACTION_H_
