// Submitting a transaction and waiting until it is buried under N blocks,
// with one of three clear outcomes:
//   kConfirmed  in a main-chain block with >= N confirmations;
//   kPending    accepted but not (yet) N-deep when the wait ended: retry
//               later (the transaction may still be mined);
//   kRejected   the node refused it at submission (its reason, e.g.
//               "tx-duplicate-record: ...", "tx-insufficient-funds",
//               "tx-bad-nonce: ..."), or it vanished from the mempool
//               without being mined (replaced by a higher-fee transaction
//               with the same nonce, evicted, or made invalid by a block).
// A fourth value, kAccepted, is returned only when 0 confirmations were asked
// for: the node took it into its mempool and nothing was waited for.
// Transport failures (node unreachable, deadline) are errors (absl::Status),
// never outcomes.
//
// Waiting polls GetTransaction every WaitOptions::poll_interval; each poll has
// the client's per-call deadline. Thread: any; blocks the calling thread.
#ifndef PBCHAIN_CLIENT_INCLUSION_H_
#define PBCHAIN_CLIENT_INCLUSION_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "chain/bytes.h"
#include "chain/keys.h"
#include "chain/transaction.h"
#include "client/node_client.h"
#include "client/transfer.h"

namespace pbchain::client {

enum class Outcome {
  kConfirmed,
  kPending,
  kRejected,
  kAccepted,  // only with WaitOptions::confirmations == 0
};

// "confirmed", "pending", "rejected", "accepted".
const char* OutcomeName(Outcome outcome);

struct WaitOptions {
  // Confirmations wanted (1 = in a main-chain block). 0 = return kAccepted
  // right after the node accepted the transaction.
  uint64_t confirmations = 1;
  // How long to wait for them before returning kPending.
  absl::Duration timeout = absl::Seconds(60);
  // Time between GetTransaction polls.
  absl::Duration poll_interval = absl::Milliseconds(250);
  // How long a transaction may be missing from both chain and mempool
  // (e.g. in the middle of a reorg) before it counts as vanished.
  absl::Duration vanish_grace = absl::Seconds(2);
};

// Where a transaction stands, reported to a ProgressCallback after
// submission and after each poll whose state changed (and at least once a
// second, so a caller can redraw an elapsed-time counter).
struct Progress {
  enum class Stage { kSubmitted, kInMempool, kInBlock, kMissing };
  Stage stage = Stage::kSubmitted;
  Hash256 txid;
  uint64_t confirmations = 0;  // 0 unless kInBlock
  uint64_t wanted = 1;
  uint64_t block_height = 0;  // kInBlock only
  absl::Duration elapsed;     // since submission
  absl::Duration timeout;
};
using ProgressCallback = std::function<void(const Progress&)>;

// One line describing `p`, e.g. "in mempool (3s / 60s)" or
// "in block 42: 1/3 confirmations (5s / 60s)". Pure.
std::string DescribeProgress(const Progress& p);

// The result of a write.
struct WriteResult {
  Outcome outcome = Outcome::kPending;
  Hash256 txid;        // the transaction's id (also when refused)
  std::string reason;  // kRejected: why; kPending: what it waits for
  absl::StatusCode reject_code = absl::StatusCode::kOk;  // node's code, if any
  bool vanished = false;  // kRejected because it left the mempool
  Hash256 block_hash;     // kConfirmed (or kPending in a block)
  uint64_t block_height = 0;
  uint64_t confirmations = 0;
  bool in_mempool = false;  // last seen in the mempool
  // What the node said at submission: the connected peers it announces the
  // transaction to (0: none yet). nullopt when it did not say (an older
  // node, or the transaction was submitted before: ALREADY_EXISTS).
  std::optional<uint32_t> relayed_to_peers;
};

// Submits `tx` and waits per `options`. A node verdict (FAILED_PRECONDITION,
// INVALID_ARGUMENT, RESOURCE_EXHAUSTED) is kRejected with the node's
// message; ALREADY_EXISTS is treated as accepted (the same transaction is
// pooled or confirmed) and waited for. Errors: transport failures of the
// submission or of a poll (UNAVAILABLE, DEADLINE_EXCEEDED, ...).
absl::StatusOr<WriteResult> SubmitAndWait(
    NodeClient& node, const Transaction& tx, const WaitOptions& options,
    const ProgressCallback& progress = {});

// Waits for an already submitted transaction `txid` (same rules as
// SubmitAndWait after its submission; a txid unknown from the start counts
// as vanished after vanish_grace).
absl::StatusOr<WriteResult> WaitForInclusion(
    NodeClient& node, const Hash256& txid, const WaitOptions& options,
    const ProgressCallback& progress = {});

// PrepareTransfer + SubmitAndWait: builds, signs, submits and waits. Bad
// input is INVALID_ARGUMENT before any RPC (see CheckTransferRequest).
absl::StatusOr<WriteResult> SendTransfer(NodeClient& node,
                                         const PrivateKey& key,
                                         const TransferRequest& request,
                                         const WaitOptions& options,
                                         const ProgressCallback& progress = {});

}  // namespace pbchain::client

#endif  // PBCHAIN_CLIENT_INCLUSION_H_
