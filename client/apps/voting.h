// The voting app's logic (pbvote): a vote is a keyed data record in the
// namespace "vote.<election>", key = the voter id, payload = the choice.
// Keyed records are write-once per (namespace, key) by consensus
// (docs/PROTOCOL.md section 7), so a voter id can vote once per election on
// the whole network: a second vote with the same id is rejected by every
// node (tx-duplicate-record). The tally is read from the chain.
//
// A vote is a zero-amount, zero-fee transfer from the booth wallet to itself
// carrying the record, so a voter needs no coins (the node's min fee must be
// 0, the devnet default; spam is bounded by the mempool's limits).
//
// Pure functions and calls through client::NodeClient; nothing is printed.
// Any thread (a NodeClient may be shared).
#ifndef PBCHAIN_CLIENT_APPS_VOTING_H_
#define PBCHAIN_CLIENT_APPS_VOTING_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/inclusion.h"
#include "client/node_client.h"
#include "client/wallet.h"
#include "pbchain/v1/node.pb.h"

namespace pbchain::apps {

// Election used when --election is not given.
inline constexpr char kDefaultElection[] = "booth";
// Namespace prefix: a vote of election E is in namespace "vote.E".
inline constexpr char kVoteNamespacePrefix[] = "vote.";
// Longest election name ("vote." + name must fit the 64-char namespace).
inline constexpr size_t kMaxElectionNameLen = 64 - 5;
// Voter ids are record keys: 1..128 bytes.
inline constexpr size_t kMaxVoterIdBytes = 128;
// Longest choice (the record payload) the app writes.
inline constexpr size_t kMaxChoiceBytes = 256;
// The interactive prompt (as in the seed design), printed before each menu
// choice.
inline constexpr char kVotePrompt[] =
    "Enter option ('a' add record, 'd' display tally, 'q' quit):";
// Printed when the node rejects a vote because the voter id already voted.
inline constexpr char kDuplicateVoteMessage[] = "Invalid/duplicate Vote!";

// "vote.<election>". INVALID_ARGUMENT unless `election` is 1..59 chars of
// [a-z0-9._-]. Pure.
absl::StatusOr<std::string> ElectionNamespace(std::string_view election);

// OK if `voter_id` is 1..128 bytes of printable one-line UTF-8 without
// leading/trailing spaces; INVALID_ARGUMENT "voter id must ..." otherwise.
// Pure.
absl::Status CheckVoterId(std::string_view voter_id);

// OK if `choice` is 1..256 bytes of printable one-line UTF-8 without
// leading/trailing spaces; INVALID_ARGUMENT "choice must ..." otherwise.
// Pure.
absl::Status CheckChoice(std::string_view choice);

// Votes for one choice.
struct ChoiceCount {
  std::string choice;
  uint64_t votes = 0;
  friend bool operator==(const ChoiceCount&, const ChoiceCount&) = default;
};

// The result of counting an election.
struct Tally {
  // Per choice, most votes first, ties by choice (byte order).
  std::vector<ChoiceCount> counts;
  // Number of votes counted (sum of counts).
  uint64_t total = 0;
  // Records in the namespace that are not votes (no key, a key or payload
  // the app would not write); not counted.
  uint64_t ignored = 0;
  // Main-chain height when the tally was read (ReadTally only).
  uint64_t height = 0;
};

// Counts `records` (all records of one election namespace): one vote per
// keyed record whose key passes CheckVoterId and payload passes
// CheckChoice; everything else is `ignored`. Keys are unique on the chain,
// but a repeated key in the input is still counted once (first wins). Pure.
Tally CountVotes(const std::vector<v1::RecordEntry>& records);

// Every record of `ns` from the node, counted. Errors: the node's.
absl::StatusOr<Tally> ReadTally(client::NodeClient& node,
                                const std::string& ns);

// What happened to a vote.
enum class VoteStatus {
  kRecorded,   // in a main-chain block (write.block_height)
  kDuplicate,  // this voter id already voted (rejected by the node)
  kRejected,   // rejected for another reason (write.reason)
  kPending,    // accepted, not yet in a block when the wait ended
};

// "recorded", "duplicate", "rejected", "pending".
const char* VoteStatusName(VoteStatus status);

struct VoteResult {
  VoteStatus status = VoteStatus::kPending;
  client::WriteResult write;
  // kDuplicate: the vote already on the chain for this voter id, when the
  // node has it confirmed (not when the first vote is still pooled).
  std::optional<v1::RecordEntry> existing;
};

// How to submit a vote.
struct VoteOptions {
  uint64_t fee = 0;
  client::WaitOptions wait;
  client::ProgressCallback progress;
};

// True if a node's rejection reason says the keyed record exists already
// (on the chain or claimed by a pooled transaction): "tx-duplicate-record".
// Pure.
bool IsDuplicateRecordReason(std::string_view reason);

// Submits the vote (`voter_id`, `choice`) in namespace `ns` from `booth`
// (a zero-amount transfer to itself with fee options.fee) and waits per
// options.wait. Bad voter id / choice: INVALID_ARGUMENT before any RPC.
// Node verdicts are values (kDuplicate, kRejected); transport failures are
// errors (UNAVAILABLE, DEADLINE_EXCEEDED, ...).
absl::StatusOr<VoteResult> CastVote(client::NodeClient& node,
                                    const client::Wallet& booth,
                                    const std::string& ns,
                                    std::string_view voter_id,
                                    std::string_view choice,
                                    const VoteOptions& options);

}  // namespace pbchain::apps

#endif  // PBCHAIN_CLIENT_APPS_VOTING_H_
