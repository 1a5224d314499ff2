// Conversion between the protobuf messages of pbchain.v1 (proto/pbchain/v1/
// types.proto) and the kernel's domain types (chain/). This is the one place
// where that conversion lives; every service, client and tool that reads a
// message goes through it, so malformed input is rejected here, before it
// reaches the kernel.
//
// FromProto functions are strict about the *shape* of a message (byte
// lengths, kinds, fields that do not apply to a kind, upper length limits,
// the transaction count of a block) and leave the consensus rules
// (signatures, amounts, namespaces' character set, empty chain ids, ...) to
// chain/validation.h. Their errors are INVALID_ARGUMENT with a message naming
// the offending field, e.g. "transactions[2].recipient: want 20 bytes, got 19".
//
// All functions are pure and may be called from any thread.
#ifndef PBCHAIN_PROTO_CONVERT_H_
#define PBCHAIN_PROTO_CONVERT_H_

#include "absl/status/statusor.h"
#include "chain/block.h"
#include "chain/transaction.h"
#include "pbchain/v1/types.pb.h"

namespace pbchain {

// A data record from its message. INVALID_ARGUMENT if the namespace, key or
// payload is longer than the limits of chain/consensus.h.
absl::StatusOr<DataRecord> DataRecordFromProto(const v1::DataRecord& msg);
// The message of a record (key presence preserved). Never fails.
v1::DataRecord DataRecordToProto(const DataRecord& record);

// A transaction from its message. INVALID_ARGUMENT on version != 1, an
// unspecified or unknown kind, a chain id longer than 32 bytes, a recipient
// that is not 20 bytes, a transfer whose sender key is not 32 bytes or whose
// signature is not 64 bytes or that sets height/extra_nonce, a coinbase that
// sets sender_pubkey/fee/nonce/signature, or a malformed record.
absl::StatusOr<Transaction> TransactionFromProto(const v1::Transaction& msg);
// The message of a transaction (version 1, kind offset by one as the proto
// says; fields that do not apply to the kind left empty). Never fails.
v1::Transaction TransactionToProto(const Transaction& tx);

// A header from its message. INVALID_ARGUMENT unless prev_hash and
// merkle_root are 32 bytes each. The version is carried as is (the header
// version is a consensus rule, checked by validation).
absl::StatusOr<BlockHeader> BlockHeaderFromProto(const v1::BlockHeader& msg);
// The message of a header. Never fails.
v1::BlockHeader BlockHeaderToProto(const BlockHeader& header);

// A block from its message. INVALID_ARGUMENT if the header is missing or
// malformed, there are more than kMaxBlockTxs transactions, or any
// transaction is malformed (the message names its index).
absl::StatusOr<Block> BlockFromProto(const v1::Block& msg);
// The message of a block. Never fails.
v1::Block BlockToProto(const Block& block);

}  // namespace pbchain

#endif  // PBCHAIN_PROTO_CONVERT_H_
