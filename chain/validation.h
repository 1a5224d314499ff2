// Consensus validation: context-free checks of transactions and blocks, and
// the header checks that need the parent. Contextual transaction rules
// (nonces, balances, record uniqueness) live in chain_state.cc where the
// account state is. A broken rule is a ValidationResult with a reason, never
// an absl::Status: "invalid" is kept apart from "the machine failed".
#ifndef PBCHAIN_CHAIN_VALIDATION_H_
#define PBCHAIN_CHAIN_VALIDATION_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"
#include "chain/block.h"
#include "chain/params.h"
#include "chain/transaction.h"

namespace pbchain {

enum class RejectReason {
  kNone = 0,
  // Transactions (context-free).
  kTxMalformed,   // bad sizes, unknown kind, bad namespace
  kTxWrongChain,  // chain_id differs from this network's
  kTxBadSignature,
  kTxEmpty,     // amount 0 and no record
  kTxOverflow,  // amount + fee overflows
  kTxTooLarge,
  // Transactions (against state).
  kTxBadNonce,  // nonce != sender's next nonce
  kTxInsufficientFunds,
  kTxDuplicateRecord,    // keyed record (namespace, key) already written
  kTxRecipientOverflow,  // recipient balance would overflow
  // Headers.
  kHeaderBadVersion,
  kHeaderBadPow,      // hash above target, or bits do not decode
  kHeaderBadBits,     // bits differ from the retarget rule
  kHeaderTimeTooOld,  // not above median-time-past
  kHeaderTimeTooNew,  // too far in the future (may become valid later)
  kHeaderUnknownParent,
  kHeaderInvalidParent,  // descends from a block known invalid
  // Blocks.
  kBlockBadMerkleRoot,
  kBlockDuplicateTx,  // same txid twice (CVE-2012-2459)
  kBlockTooLarge,
  kBlockTooManyTxs,
  kBlockNoCoinbase,
  kBlockExtraCoinbase,
  kBlockBadCoinbase,  // wrong height or amount, or a coinbase that is malformed
  kBlockBadTx,        // reserved (documented, never produced)
  // A block message that does not decode (no header, a header field of the
  // wrong size). Given where messages are decoded (RPC), never by the kernel.
  // Keep last: tests walk kTxMalformed..kBlockMalformed.
  kBlockMalformed,
};

// Stable lowercase name of a reason, e.g. "tx-bad-nonce": the names of
// docs/PROTOCOL.md section 13. Every rejection message (RPC errors and
// verdicts, gossip Rejects) starts with one, then ": " and a detail.
absl::string_view RejectReasonName(RejectReason reason);

class ValidationResult {
 public:
  static ValidationResult Valid() { return ValidationResult(); }
  static ValidationResult Invalid(RejectReason reason, std::string message) {
    ValidationResult r;
    r.reason_ = reason;
    r.message_ = std::move(message);
    return r;
  }
  bool ok() const { return reason_ == RejectReason::kNone; }
  RejectReason reason() const { return reason_; }
  const std::string& message() const { return message_; }
  // "reason-name: message" or "valid".
  std::string ToString() const;

 private:
  RejectReason reason_ = RejectReason::kNone;
  std::string message_;
};

// Context-free transaction checks: sizes and formats, chain id, amount/fee
// overflow, non-empty, and (for transfers) the signature. A coinbase passes
// here only as far as its format; its amount and height are block rules.
ValidationResult CheckTransaction(const Transaction& tx,
                                  const ChainParams& params,
                                  bool verify_signature = true);

// Context-free header checks: version, and proof of work against the
// header's own bits (which must decode and not exceed the pow limit).
ValidationResult CheckHeader(const BlockHeader& header,
                             const ChainParams& params);

// Context-free block checks: CheckHeader, then size and count limits,
// exactly one coinbase first, no duplicate txids, merkle root, every
// transaction's CheckTransaction.
ValidationResult CheckBlock(const Block& block, const ChainParams& params,
                            bool verify_signatures = true);

// Signature checks of big blocks are spread over at most this many threads,
// each with at least kMinSignaturesPerThread signatures.
inline constexpr size_t kMaxVerifyThreads = 8;
inline constexpr size_t kMinSignaturesPerThread = 32;

// Index of the first transfer in `txs` whose signature does not verify, or
// nullopt. Uses up to kMaxVerifyThreads threads (one per core) for long
// lists; thread-safe.
std::optional<size_t> FirstBadSignature(std::span<const Transaction> txs);

// What a header must agree with from its parent's chain.
struct HeaderContext {
  uint32_t expected_bits = 0;    // from the difficulty rule
  int64_t median_time_past = 0;  // of the parent and its ancestors
  int64_t now = 0;               // node's clock, unix seconds
};

// Header rules that need the parent: bits as expected, time strictly above
// median-time-past and at most params.max_future_block_time_s ahead of now.
ValidationResult ContextualCheckHeader(const BlockHeader& header,
                                       const HeaderContext& ctx,
                                       const ChainParams& params);

// Median of the given block times (up to kMedianTimeSpan of them).
int64_t MedianTime(std::span<const int64_t> times);

}  // namespace pbchain

#endif  // PBCHAIN_CHAIN_VALIDATION_H_
