#include "client/transfer.h"

#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "chain/consensus.h"
#include "common/status_macros.h"

namespace pbchain::client {

absl::Status CheckTransferRequest(const TransferRequest& request) {
  if (request.amount > std::numeric_limits<uint64_t>::max() - request.fee) {
    return absl::InvalidArgumentError(absl::StrCat(
        "amount + fee overflows: ", request.amount, " + ", request.fee,
        " is more than 18446744073709551615 (2^64-1)"));
  }
  if (request.amount == 0 && !request.record) {
    return absl::InvalidArgumentError(
        "amount must be above 0 (a zero amount needs a data record)");
  }
  if (request.record) {
    const DataRecord& r = *request.record;
    if (!IsValidNamespace(r.ns)) {
      return absl::InvalidArgumentError(
          absl::StrCat("namespace '", r.ns, "' is invalid: want 1..",
                       kMaxNamespaceLen, " chars of [a-z0-9._-]"));
    }
    if (r.ns == "pbchain.genesis") {
      return absl::InvalidArgumentError(
          "namespace 'pbchain.genesis' is reserved");
    }
    if (r.key && (r.key->empty() || r.key->size() > kMaxRecordKeyLen)) {
      return absl::InvalidArgumentError(
          absl::StrCat("record key must be 1..", kMaxRecordKeyLen,
                       " bytes, got ", r.key->size()));
    }
    if (r.payload.size() > kMaxRecordPayload) {
      return absl::InvalidArgumentError(
          absl::StrCat("record payload must be at most ", kMaxRecordPayload,
                       " bytes, got ", r.payload.size()));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Transaction> BuildTransfer(const PrivateKey& key,
                                          std::string_view chain_id,
                                          uint64_t nonce,
                                          const TransferRequest& request) {
  PBCHAIN_RETURN_IF_ERROR(CheckTransferRequest(request));
  if (chain_id.empty() || chain_id.size() > kMaxChainIdLen) {
    return absl::InvalidArgumentError(
        absl::StrCat("chain id must be 1..", kMaxChainIdLen, " bytes, got ",
                     chain_id.size()));
  }
  Transaction tx;
  tx.kind = TxKind::kTransfer;
  tx.chain_id = std::string(chain_id);
  tx.recipient = request.recipient;
  tx.amount = request.amount;
  tx.fee = request.fee;
  tx.nonce = nonce;
  tx.record = request.record;
  tx.Sign(key);
  return tx;
}

absl::StatusOr<Transaction> PrepareTransfer(NodeClient& node,
                                            const PrivateKey& key,
                                            const TransferRequest& request) {
  PBCHAIN_RETURN_IF_ERROR(CheckTransferRequest(request));
  PBCHAIN_ASSIGN_OR_RETURN(std::string chain_id, node.ChainId());
  uint64_t nonce = 0;
  if (request.nonce) {
    nonce = *request.nonce;
  } else {
    PBCHAIN_ASSIGN_OR_RETURN(
        v1::GetAccountResponse account,
        node.GetAccount(AddressFromPublicKey(key.public_key())));
    nonce = account.pending_nonce();
  }
  return BuildTransfer(key, chain_id, nonce, request);
}

DataRecord MakeRecord(std::string ns, std::optional<std::string> key,
                      std::string payload) {
  DataRecord r;
  r.ns = std::move(ns);
  r.key = std::move(key);
  r.payload = std::move(payload);
  return r;
}

}  // namespace pbchain::client
