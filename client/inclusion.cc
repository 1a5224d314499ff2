#include "client/inclusion.h"

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"

namespace pbchain::client {
namespace {

std::string Seconds(absl::Duration d) {
  return absl::StrCat(absl::ToInt64Seconds(d), "s");
}

// True for the node's verdicts on a submitted transaction (as opposed to
// transport or server failures).
bool IsVerdict(absl::StatusCode code) {
  return code == absl::StatusCode::kFailedPrecondition ||
         code == absl::StatusCode::kInvalidArgument ||
         code == absl::StatusCode::kResourceExhausted ||
         code == absl::StatusCode::kOutOfRange;
}

// Failures worth retrying while waiting (the transaction is already out).
bool IsTransient(absl::StatusCode code) {
  return code == absl::StatusCode::kUnavailable ||
         code == absl::StatusCode::kDeadlineExceeded ||
         code == absl::StatusCode::kResourceExhausted ||
         code == absl::StatusCode::kAborted;
}

absl::StatusOr<WriteResult> Wait(NodeClient& node, const Hash256& txid,
                                 const Transaction* tx, absl::Time start,
                                 const WaitOptions& options,
                                 const ProgressCallback& progress) {
  const absl::Time deadline = start + options.timeout;
  WriteResult result;
  result.txid = txid;
  bool ever_seen = tx != nullptr;
  std::optional<absl::Time> missing_since;
  std::optional<Progress> last_reported;
  absl::Time last_report_time = absl::InfinitePast();
  std::string last_error;

  auto report = [&](const Progress& p, absl::Time now) {
    if (!progress) return;
    const bool changed = !last_reported || last_reported->stage != p.stage ||
                         last_reported->confirmations != p.confirmations ||
                         last_reported->block_height != p.block_height;
    if (changed || now - last_report_time >= absl::Seconds(1)) {
      progress(p);
      last_reported = p;
      last_report_time = now;
    }
  };

  while (true) {
    absl::StatusOr<v1::GetTransactionResponse> got = node.GetTransaction(txid);
    const absl::Time now = absl::Now();
    Progress p;
    p.txid = txid;
    p.wanted = options.confirmations;
    p.elapsed = now - start;
    p.timeout = options.timeout;
    if (got.ok()) {
      ever_seen = true;
      missing_since.reset();
      last_error.clear();
      result.in_mempool = got->in_mempool();
      if (got->in_mempool()) {
        p.stage = Progress::Stage::kInMempool;
        result.confirmations = 0;
        result.block_height = 0;
        result.block_hash = Hash256();
      } else {
        p.stage = Progress::Stage::kInBlock;
        p.confirmations = got->confirmations();
        p.block_height = got->block_height();
        result.confirmations = got->confirmations();
        result.block_height = got->block_height();
        absl::StatusOr<Hash256> bh =
            Hash256::FromBytes(AsBytes(got->block_hash()));
        result.block_hash = bh.ok() ? *bh : Hash256();
        if (got->confirmations() >= options.confirmations) {
          report(p, now);
          result.outcome = Outcome::kConfirmed;
          result.reason.clear();
          return result;
        }
      }
      report(p, now);
    } else if (got.status().code() == absl::StatusCode::kNotFound) {
      last_error.clear();
      if (!missing_since) missing_since = now;
      p.stage = Progress::Stage::kMissing;
      report(p, now);
      if (now - *missing_since >= options.vanish_grace) {
        result.outcome = Outcome::kRejected;
        result.vanished = ever_seen;
        result.in_mempool = false;
        if (!ever_seen) {
          result.reason = absl::StrCat("the node does not know transaction ",
                                       txid.ToDisplayHex());
          return result;
        }
        result.reason =
            "the transaction left the mempool without being mined (replaced "
            "by one with the same nonce and a higher fee, evicted, or made "
            "invalid by a new block)";
        if (tx != nullptr) {
          absl::StatusOr<v1::GetAccountResponse> acct =
              node.GetAccount(tx->SenderAddress());
          if (acct.ok() && acct->account().nonce() > tx->nonce) {
            result.reason = absl::StrCat(
                "the transaction left the mempool without being mined: "
                "another transaction of the sender with nonce ",
                tx->nonce, " was confirmed instead");
          }
        }
        return result;
      }
    } else if (IsTransient(got.status().code())) {
      last_error = std::string(got.status().message());
    } else {
      return got.status();
    }

    if (now >= deadline) {
      result.outcome = Outcome::kPending;
      if (!last_error.empty()) {
        result.reason =
            absl::StrCat("no answer from the node after ",
                         Seconds(options.timeout), ": ", last_error);
      } else if (!result.in_mempool && !result.block_hash.IsZero()) {
        result.reason =
            absl::StrCat("in block ", result.block_height, " with ",
                         result.confirmations, " of ", options.confirmations,
                         " confirmations after ", Seconds(options.timeout));
      } else if (missing_since) {
        result.reason = absl::StrCat("not found on the node after ",
                                     Seconds(options.timeout));
      } else {
        result.reason =
            absl::StrCat("still in the mempool after ",
                         Seconds(options.timeout), "; not yet in a block");
      }
      return result;
    }
    absl::SleepFor(std::min(options.poll_interval, deadline - now));
  }
}

}  // namespace

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kConfirmed:
      return "confirmed";
    case Outcome::kPending:
      return "pending";
    case Outcome::kRejected:
      return "rejected";
    case Outcome::kAccepted:
      return "accepted";
  }
  return "unknown";
}

std::string DescribeProgress(const Progress& p) {
  const std::string time =
      absl::StrCat("(", Seconds(p.elapsed), " / ", Seconds(p.timeout), ")");
  switch (p.stage) {
    case Progress::Stage::kSubmitted:
      return absl::StrCat("submitted ", time);
    case Progress::Stage::kInMempool:
      return absl::StrCat("in mempool, waiting for a block ", time);
    case Progress::Stage::kInBlock:
      return absl::StrCat("in block ", p.block_height, ": ", p.confirmations,
                          "/", p.wanted, " confirmations ", time);
    case Progress::Stage::kMissing:
      return absl::StrCat("not found on the node ", time);
  }
  return time;
}

absl::StatusOr<WriteResult> SubmitAndWait(NodeClient& node,
                                          const Transaction& tx,
                                          const WaitOptions& options,
                                          const ProgressCallback& progress) {
  const absl::Time start = absl::Now();
  const Hash256 txid = tx.Id();
  absl::StatusOr<NodeClient::SubmitReply> submitted = node.Submit(tx);
  std::optional<uint32_t> relayed_to_peers;
  if (submitted.ok()) relayed_to_peers = submitted->relayed_to_peers;
  if (!submitted.ok()) {
    const absl::StatusCode code = submitted.status().code();
    if (IsVerdict(code)) {
      WriteResult r;
      r.outcome = Outcome::kRejected;
      r.txid = txid;
      r.reason = std::string(submitted.status().message());
      r.reject_code = code;
      return r;
    }
    if (code != absl::StatusCode::kAlreadyExists) return submitted.status();
  }
  if (progress) {
    Progress p;
    p.stage = Progress::Stage::kSubmitted;
    p.txid = txid;
    p.wanted = options.confirmations;
    p.elapsed = absl::Now() - start;
    p.timeout = options.timeout;
    progress(p);
  }
  if (options.confirmations == 0) {
    WriteResult r;
    r.outcome = Outcome::kAccepted;
    r.txid = txid;
    r.in_mempool = true;
    r.relayed_to_peers = relayed_to_peers;
    return r;
  }
  absl::StatusOr<WriteResult> r =
      Wait(node, txid, &tx, start, options, progress);
  if (r.ok()) r->relayed_to_peers = relayed_to_peers;
  return r;
}

absl::StatusOr<WriteResult> WaitForInclusion(NodeClient& node,
                                             const Hash256& txid,
                                             const WaitOptions& options,
                                             const ProgressCallback& progress) {
  WaitOptions o = options;
  if (o.confirmations == 0) o.confirmations = 1;
  return Wait(node, txid, nullptr, absl::Now(), o, progress);
}

absl::StatusOr<WriteResult> SendTransfer(NodeClient& node,
                                         const PrivateKey& key,
                                         const TransferRequest& request,
                                         const WaitOptions& options,
                                         const ProgressCallback& progress) {
  PBCHAIN_ASSIGN_OR_RETURN(Transaction tx, PrepareTransfer(node, key, request));
  return SubmitAndWait(node, tx, options, progress);
}

}  // namespace pbchain::client
