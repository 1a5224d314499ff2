#include "chain/validation.h"

#include <algorithm>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "chain/consensus.h"
#include "chain/hash.h"
#include "chain/pow.h"

namespace pbchain {

absl::string_view RejectReasonName(RejectReason reason) {
  switch (reason) {
    case RejectReason::kNone:
      return "valid";
    case RejectReason::kTxMalformed:
      return "tx-malformed";
    case RejectReason::kTxWrongChain:
      return "tx-wrong-chain";
    case RejectReason::kTxBadSignature:
      return "tx-bad-signature";
    case RejectReason::kTxEmpty:
      return "tx-empty";
    case RejectReason::kTxOverflow:
      return "tx-overflow";
    case RejectReason::kTxTooLarge:
      return "tx-too-large";
    case RejectReason::kTxBadNonce:
      return "tx-bad-nonce";
    case RejectReason::kTxInsufficientFunds:
      return "tx-insufficient-funds";
    case RejectReason::kTxDuplicateRecord:
      return "tx-duplicate-record";
    case RejectReason::kTxRecipientOverflow:
      return "tx-recipient-overflow";
    case RejectReason::kHeaderBadVersion:
      return "header-bad-version";
    case RejectReason::kHeaderBadPow:
      return "header-bad-pow";
    case RejectReason::kHeaderBadBits:
      return "header-bad-bits";
    case RejectReason::kHeaderTimeTooOld:
      return "header-time-too-old";
    case RejectReason::kHeaderTimeTooNew:
      return "header-time-too-new";
    case RejectReason::kHeaderUnknownParent:
      return "header-unknown-parent";
    case RejectReason::kHeaderInvalidParent:
      return "header-invalid-parent";
    case RejectReason::kBlockBadMerkleRoot:
      return "block-bad-merkle-root";
    case RejectReason::kBlockDuplicateTx:
      return "block-duplicate-tx";
    case RejectReason::kBlockTooLarge:
      return "block-too-large";
    case RejectReason::kBlockTooManyTxs:
      return "block-too-many-txs";
    case RejectReason::kBlockNoCoinbase:
      return "block-no-coinbase";
    case RejectReason::kBlockExtraCoinbase:
      return "block-extra-coinbase";
    case RejectReason::kBlockBadCoinbase:
      return "block-bad-coinbase";
    case RejectReason::kBlockBadTx:
      return "block-bad-tx";
    case RejectReason::kBlockMalformed:
      return "block-malformed";
  }
  return "unknown";
}

std::string ValidationResult::ToString() const {
  if (ok()) return "valid";
  return absl::StrCat(RejectReasonName(reason_), ": ", message_);
}

namespace {

using R = RejectReason;

ValidationResult CheckRecord(const DataRecord& rec) {
  if (!IsValidNamespace(rec.ns)) {
    return ValidationResult::Invalid(
        R::kTxMalformed, "record namespace must be 1..64 chars of [a-z0-9._-]");
  }
  if (rec.key && (rec.key->empty() || rec.key->size() > kMaxRecordKeyLen)) {
    return ValidationResult::Invalid(R::kTxMalformed,
                                     "record key must be 1..128 bytes");
  }
  if (rec.payload.size() > kMaxRecordPayload) {
    return ValidationResult::Invalid(R::kTxMalformed,
                                     "record payload exceeds 65536 bytes");
  }
  return ValidationResult::Valid();
}

}  // namespace

ValidationResult CheckTransaction(const Transaction& tx,
                                  const ChainParams& params,
                                  bool verify_signature) {
  if (tx.chain_id.empty() || tx.chain_id.size() > kMaxChainIdLen) {
    return ValidationResult::Invalid(R::kTxMalformed,
                                     "chain_id must be 1..32 bytes");
  }
  if (tx.chain_id != params.chain_id) {
    return ValidationResult::Invalid(
        R::kTxWrongChain,
        absl::StrCat("chain_id '", tx.chain_id, "' is not this network's '",
                     params.chain_id, "'"));
  }
  if (tx.record) {
    if (ValidationResult r = CheckRecord(*tx.record); !r.ok()) return r;
    if (tx.record->ns == kGenesisNamespace) {
      return ValidationResult::Invalid(
          R::kTxMalformed, "namespace 'pbchain.genesis' is reserved");
    }
  }
  if (tx.Encode().size() > kMaxTxSize) {
    return ValidationResult::Invalid(R::kTxTooLarge,
                                     "transaction exceeds 70000 bytes");
  }
  if (tx.IsCoinbase()) return ValidationResult::Valid();
  if (tx.amount == 0 && !tx.record) {
    return ValidationResult::Invalid(R::kTxEmpty,
                                     "amount is 0 and there is no record");
  }
  if (tx.amount > UINT64_MAX - tx.fee) {
    return ValidationResult::Invalid(R::kTxOverflow, "amount + fee overflows");
  }
  if (verify_signature && !tx.HasValidSignature()) {
    return ValidationResult::Invalid(
        R::kTxBadSignature, "signature does not verify for the sender key");
  }
  return ValidationResult::Valid();
}

ValidationResult CheckHeader(const BlockHeader& h, const ChainParams& params) {
  if (h.version != kBlockVersion) {
    return ValidationResult::Invalid(
        R::kHeaderBadVersion,
        absl::StrCat("unknown block version ", h.version));
  }
  UInt256 limit = DecodeCompact(params.pow_limit_bits).target;
  absl::StatusOr<UInt256> target = TargetFromBits(h.bits, limit);
  if (!target.ok()) {
    return ValidationResult::Invalid(
        R::kHeaderBadPow, absl::StrCat("bits: ", target.status().message()));
  }
  if (!HashMeetsTarget(h.Hash(), *target)) {
    return ValidationResult::Invalid(R::kHeaderBadPow,
                                     "hash does not meet the target");
  }
  return ValidationResult::Valid();
}

ValidationResult CheckBlock(const Block& block, const ChainParams& params,
                            bool verify_signatures) {
  if (ValidationResult header = CheckHeader(block.header, params);
      !header.ok()) {
    return header;
  }
  if (block.txs.empty()) {
    return ValidationResult::Invalid(R::kBlockNoCoinbase,
                                     "block has no transactions");
  }
  if (block.txs.size() > kMaxBlockTxs) {
    return ValidationResult::Invalid(
        R::kBlockTooManyTxs,
        absl::StrCat(block.txs.size(), " transactions, limit ", kMaxBlockTxs));
  }
  if (!block.txs[0].IsCoinbase()) {
    return ValidationResult::Invalid(R::kBlockNoCoinbase,
                                     "first transaction is not a coinbase");
  }
  size_t size = kHeaderSize;
  std::vector<Hash256> ids;
  ids.reserve(block.txs.size());
  absl::flat_hash_set<Hash256> seen;
  for (size_t i = 0; i < block.txs.size(); ++i) {
    const Transaction& tx = block.txs[i];
    if (i > 0 && tx.IsCoinbase()) {
      return ValidationResult::Invalid(
          R::kBlockExtraCoinbase,
          absl::StrCat("transaction ", i, " is a second coinbase"));
    }
    Bytes enc = tx.Encode();
    size += enc.size();
    if (size > kMaxBlockSize) {
      return ValidationResult::Invalid(
          R::kBlockTooLarge,
          absl::StrCat("block exceeds ", kMaxBlockSize, " bytes"));
    }
    Hash256 id = Sha256d(enc);
    if (!seen.insert(id).second) {
      return ValidationResult::Invalid(
          R::kBlockDuplicateTx,
          absl::StrCat("txid ", id.ToDisplayHex(), " appears twice"));
    }
    ids.push_back(id);
  }
  bool mutated = false;
  if (ComputeMerkleRoot(std::move(ids), &mutated) != block.header.merkle_root || mutated) {
    return ValidationResult::Invalid(
        R::kBlockBadMerkleRoot, "merkle root does not match the transactions");
  }
  // Cheap per-transaction checks first, signatures last (in parallel for big
  // blocks); the first failing transaction in block order is reported.
  for (size_t i = 0; i < block.txs.size(); ++i) {
    ValidationResult r = CheckTransaction(block.txs[i], params,
                                          /*verify_signature=*/false);
    if (!r.ok()) {
      // The coinbase's own reason goes into the detail; any other
      // transaction's reason is the block's.
      if (i == 0) {
        return ValidationResult::Invalid(
            R::kBlockBadCoinbase,
            absl::StrCat("transaction 0: ", r.ToString()));
      }
      return ValidationResult::Invalid(
          r.reason(), absl::StrCat("transaction ", i, ": ", r.message()));
    }
  }
  if (verify_signatures) {
    if (std::optional<size_t> bad = FirstBadSignature(block.txs)) {
      return ValidationResult::Invalid(
          R::kTxBadSignature,
          absl::StrCat("transaction ", *bad,
                       ": signature does not verify for the sender key"));
    }
  }
  return ValidationResult::Valid();
}

std::optional<size_t> FirstBadSignature(std::span<const Transaction> txs) {
  // Transfers only (the coinbase has no signature).
  auto check_range = [&](size_t begin, size_t end) -> std::optional<size_t> {
    for (size_t i = begin; i < end; ++i) {
      if (!txs[i].IsCoinbase() && !txs[i].HasValidSignature()) return i;
    }
    return std::nullopt;
  };
  const size_t threads = std::min<size_t>(
      {std::max(1u, std::thread::hardware_concurrency()), kMaxVerifyThreads,
       txs.size() / kMinSignaturesPerThread});
  if (threads <= 1) return check_range(0, txs.size());
  std::vector<std::optional<size_t>> found(threads);
  std::vector<std::thread> workers;
  const size_t chunk = (txs.size() + threads - 1) / threads;
  for (size_t t = 1; t < threads; ++t) {
    workers.emplace_back([&, t] {
      found[t] = check_range(t * chunk, std::min(txs.size(), (t + 1) * chunk));
    });
  }
  found[0] = check_range(0, std::min(txs.size(), chunk));
  for (std::thread& w : workers) w.join();
  for (const std::optional<size_t>& f : found) {
    if (f) return f;  // chunks are in block order
  }
  return std::nullopt;
}

ValidationResult ContextualCheckHeader(const BlockHeader& header,
                                       const HeaderContext& ctx,
                                       const ChainParams& params) {
  if (header.bits != ctx.expected_bits) {
    return ValidationResult::Invalid(
        R::kHeaderBadBits, absl::StrFormat("bits 0x%08x, expected 0x%08x",
                                           header.bits, ctx.expected_bits));
  }
  if (int64_t{header.time} <= ctx.median_time_past) {
    return ValidationResult::Invalid(
        R::kHeaderTimeTooOld,
        absl::StrCat("time ", header.time, " is not above median-time-past ",
                     ctx.median_time_past));
  }
  if (int64_t{header.time} > ctx.now + params.max_future_block_time_s) {
    return ValidationResult::Invalid(
        R::kHeaderTimeTooNew,
        absl::StrCat("time ", header.time, " is more than ",
                     params.max_future_block_time_s, " s ahead of now ",
                     ctx.now));
  }
  return ValidationResult::Valid();
}

int64_t MedianTime(std::span<const int64_t> times) {
  if (times.empty()) return 0;
  std::vector<int64_t> sorted(times.begin(), times.end());
  std::sort(sorted.begin(), sorted.end());
  return sorted[sorted.size() / 2];
}

}  // namespace pbchain
