#include "client/apps/voting.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/apps/records.h"
#include "client/transfer.h"
#include "common/status_macros.h"

namespace pbchain::apps {

absl::StatusOr<std::string> ElectionNamespace(std::string_view election) {
  if (absl::Status s =
          CheckNamespacePart(election, "election name", kMaxElectionNameLen);
      !s.ok()) {
    return s;
  }
  return absl::StrCat(kVoteNamespacePrefix, std::string(election));
}

absl::Status CheckVoterId(std::string_view voter_id) {
  return CheckLabel(voter_id, "voter id", kMaxVoterIdBytes);
}

absl::Status CheckChoice(std::string_view choice) {
  return CheckLabel(choice, "choice", kMaxChoiceBytes);
}

Tally CountVotes(const std::vector<v1::RecordEntry>& records) {
  Tally tally;
  std::set<std::string> voters;
  std::map<std::string, uint64_t> per_choice;
  for (const v1::RecordEntry& e : records) {
    const v1::DataRecord& r = e.record();
    if (!r.has_key() || !CheckVoterId(r.key()).ok() ||
        !CheckChoice(r.payload()).ok() || !voters.insert(r.key()).second) {
      ++tally.ignored;
      continue;
    }
    ++per_choice[r.payload()];
    ++tally.total;
  }
  for (const auto& [choice, votes] : per_choice) {
    tally.counts.push_back({choice, votes});
  }
  std::stable_sort(tally.counts.begin(), tally.counts.end(),
                   [](const ChoiceCount& a, const ChoiceCount& b) {
                     return a.votes > b.votes;  // map order breaks ties
                   });
  return tally;
}

absl::StatusOr<Tally> ReadTally(client::NodeClient& node,
                                const std::string& ns) {
  PBCHAIN_ASSIGN_OR_RETURN(v1::GetInfoResponse info, node.GetInfo());
  PBCHAIN_ASSIGN_OR_RETURN(std::vector<v1::RecordEntry> records,
                           ReadAllRecords(node, ns));
  Tally tally = CountVotes(records);
  tally.height = info.height();
  return tally;
}

const char* VoteStatusName(VoteStatus status) {
  switch (status) {
    case VoteStatus::kRecorded:
      return "recorded";
    case VoteStatus::kDuplicate:
      return "duplicate";
    case VoteStatus::kRejected:
      return "rejected";
    case VoteStatus::kPending:
      return "pending";
  }
  return "pending";
}

bool IsDuplicateRecordReason(std::string_view reason) {
  return reason.find("tx-duplicate-record") != std::string_view::npos;
}

absl::StatusOr<VoteResult> CastVote(client::NodeClient& node,
                                    const client::Wallet& booth,
                                    const std::string& ns,
                                    std::string_view voter_id,
                                    std::string_view choice,
                                    const VoteOptions& options) {
  PBCHAIN_RETURN_IF_ERROR(CheckVoterId(voter_id));
  PBCHAIN_RETURN_IF_ERROR(CheckChoice(choice));
  client::TransferRequest request;
  request.recipient = booth.address;
  request.amount = 0;
  request.fee = options.fee;
  request.record =
      client::MakeRecord(ns, std::string(voter_id), std::string(choice));
  PBCHAIN_ASSIGN_OR_RETURN(
      client::WriteResult write,
      client::SendTransfer(node, booth.key, request, options.wait,
                           options.progress));

  VoteResult result;
  result.write = write;
  switch (write.outcome) {
    case client::Outcome::kConfirmed:
      result.status = VoteStatus::kRecorded;
      return result;
    case client::Outcome::kPending:
    case client::Outcome::kAccepted:
      result.status = VoteStatus::kPending;
      return result;
    case client::Outcome::kRejected:
      break;
  }
  // Rejected. A duplicate keyed record is reported as such by the node; a
  // vote that vanished from the mempool may have lost a race to another
  // vote with the same voter id, which the chain then shows.
  result.status = IsDuplicateRecordReason(write.reason) ? VoteStatus::kDuplicate
                                                        : VoteStatus::kRejected;
  absl::StatusOr<std::optional<v1::RecordEntry>> existing =
      FindRecord(node, ns, std::string(voter_id));
  if (existing.ok() && existing->has_value()) {
    const std::string ours(
        reinterpret_cast<const char*>(write.txid.bytes.data()),
        write.txid.bytes.size());
    if ((*existing)->txid() != ours) {
      result.status = VoteStatus::kDuplicate;
      result.existing = **existing;
    }
  }
  return result;
}

}  // namespace pbchain::apps
