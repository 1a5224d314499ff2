// Unit tests of the voting logic (client/apps/voting.h): names, voter id and
// choice validation, tally counting, duplicate detection.
#include "client/apps/voting.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace pbchain::apps {
namespace {

v1::RecordEntry Vote(const std::string& voter, const std::string& choice) {
  v1::RecordEntry e;
  e.mutable_record()->set_namespace_("vote.booth");
  e.mutable_record()->set_key(voter);
  e.mutable_record()->set_payload(choice);
  return e;
}

TEST(VotingTest, ElectionNamespace) {
  EXPECT_EQ(*ElectionNamespace("booth"), "vote.booth");
  EXPECT_EQ(ElectionNamespace(std::string(59, 'e'))->size(), 64u);
  EXPECT_FALSE(ElectionNamespace(std::string(60, 'e')).ok());
  EXPECT_FALSE(ElectionNamespace("").ok());
  EXPECT_FALSE(ElectionNamespace("Booth").ok());
  EXPECT_FALSE(ElectionNamespace("my booth").ok());
}

TEST(VotingTest, VoterIdsAndChoices) {
  EXPECT_TRUE(CheckVoterId("alice").ok());
  EXPECT_TRUE(CheckVoterId("voter 42").ok());
  EXPECT_TRUE(CheckVoterId("Zoë").ok());  // UTF-8
  EXPECT_TRUE(CheckVoterId(std::string(kMaxVoterIdBytes, 'v')).ok());
  EXPECT_EQ(CheckVoterId(std::string(kMaxVoterIdBytes + 1, 'v')).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(CheckVoterId("").ok());
  EXPECT_FALSE(CheckVoterId(" alice").ok());
  EXPECT_FALSE(CheckVoterId("alice\t").ok());
  EXPECT_FALSE(CheckVoterId("al\nice").ok());
  EXPECT_FALSE(CheckVoterId(std::string("a\0b", 3)).ok());
  EXPECT_FALSE(CheckVoterId("\xff\xfe").ok());  // not UTF-8
  EXPECT_TRUE(CheckChoice("red").ok());
  EXPECT_FALSE(CheckChoice("").ok());
  EXPECT_FALSE(CheckChoice(std::string(kMaxChoiceBytes + 1, 'c')).ok());
}

TEST(VotingTest, CountVotesSortsByVotesThenChoice) {
  Tally t =
      CountVotes({Vote("a", "red"), Vote("b", "blue"), Vote("c", "red"),
                  Vote("d", "green"), Vote("e", "blue"), Vote("f", "red")});
  ASSERT_EQ(t.counts.size(), 3u);
  EXPECT_EQ(t.counts[0], (ChoiceCount{"red", 3}));
  EXPECT_EQ(t.counts[1], (ChoiceCount{"blue", 2}));
  EXPECT_EQ(t.counts[2], (ChoiceCount{"green", 1}));
  EXPECT_EQ(t.total, 6u);
  EXPECT_EQ(t.ignored, 0u);
  // Ties are broken by choice, so every node prints the same order.
  t = CountVotes({Vote("a", "zeta"), Vote("b", "alpha")});
  ASSERT_EQ(t.counts.size(), 2u);
  EXPECT_EQ(t.counts[0].choice, "alpha");
  EXPECT_EQ(t.counts[1].choice, "zeta");
}

TEST(VotingTest, CountVotesIgnoresNonVotes) {
  v1::RecordEntry unkeyed = Vote("x", "red");
  unkeyed.mutable_record()->clear_key();
  Tally t =
      CountVotes({Vote("a", "red"), unkeyed, Vote("b", ""),
                  Vote("c", std::string("\x01", 1)), Vote(" padded", "red"),
                  Vote("a", "blue")});  // same voter again
  EXPECT_EQ(t.total, 1u);
  EXPECT_EQ(t.ignored, 5u);
  ASSERT_EQ(t.counts.size(), 1u);
  EXPECT_EQ(t.counts[0], (ChoiceCount{"red", 1}));
  Tally empty = CountVotes({});
  EXPECT_EQ(empty.total, 0u);
  EXPECT_TRUE(empty.counts.empty());
}

TEST(VotingTest, DuplicateReason) {
  EXPECT_TRUE(IsDuplicateRecordReason(
      "tx-duplicate-record: record 'vote.booth' key 'alice' exists"));
  EXPECT_FALSE(IsDuplicateRecordReason("tx-bad-nonce: nonce 3, expected 4"));
  EXPECT_FALSE(IsDuplicateRecordReason(""));
  EXPECT_STREQ(VoteStatusName(VoteStatus::kDuplicate), "duplicate");
  EXPECT_STREQ(kVotePrompt,
               "Enter option ('a' add record, 'd' display tally, 'q' quit):");
  EXPECT_STREQ(kDuplicateVoteMessage, "Invalid/duplicate Vote!");
}

}  // namespace
}  // namespace pbchain::apps
