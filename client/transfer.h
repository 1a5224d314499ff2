// Building signed transfers: recipient, amount, fee, optional data record,
// the sender's next nonce and the network's chain id, signed with the
// wallet key (chain/ Transaction::Sign). The checks here catch bad input
// before anything is sent; the node re-validates everything.
#ifndef PBCHAIN_CLIENT_TRANSFER_H_
#define PBCHAIN_CLIENT_TRANSFER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "chain/address.h"
#include "chain/keys.h"
#include "chain/transaction.h"
#include "client/node_client.h"

namespace pbchain::client {

// What to send. A zero amount needs a record (a pure data write).
struct TransferRequest {
  Address recipient;
  uint64_t amount = 0;
  uint64_t fee = 0;
  std::optional<DataRecord> record;
  // Nonce to use; absent = the sender's GetAccount.pending_nonce (the next
  // nonce counting its transfers already in the mempool).
  std::optional<uint64_t> nonce;
};

// Checks `request` without a node: amount + fee must not overflow u64
// ("amount + fee overflows"), amount 0 needs a record, a record's namespace
// must be 1..64 chars of [a-z0-9._-] (not "pbchain.genesis"), its key (if
// any) 1..128 bytes and its payload at most 65,536 bytes. INVALID_ARGUMENT
// naming the problem. Pure; any thread.
absl::Status CheckTransferRequest(const TransferRequest& request);

// A signed transfer from `key` with the given chain id and nonce
// (request.nonce is ignored). INVALID_ARGUMENT as CheckTransferRequest, or
// if chain_id is not 1..32 bytes. Pure; any thread.
absl::StatusOr<Transaction> BuildTransfer(const PrivateKey& key,
                                          std::string_view chain_id,
                                          uint64_t nonce,
                                          const TransferRequest& request);

// Like BuildTransfer, asking `node` for the chain id (cached) and, unless
// request.nonce is set, the sender's pending nonce. Errors: those of
// CheckTransferRequest first (no RPC is made for bad input), then the
// node's (UNAVAILABLE, DEADLINE_EXCEEDED, ...). Any thread.
absl::StatusOr<Transaction> PrepareTransfer(NodeClient& node,
                                            const PrivateKey& key,
                                            const TransferRequest& request);

// A record for `put`: namespace, optional key (bytes, usually UTF-8 text),
// payload. Not validated here (CheckTransferRequest does it).
DataRecord MakeRecord(std::string ns, std::optional<std::string> key,
                      std::string payload);

}  // namespace pbchain::client

#endif  // PBCHAIN_CLIENT_TRANSFER_H_
