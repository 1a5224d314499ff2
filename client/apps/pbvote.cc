// pbvote: the voting app. A vote is a keyed data record (key = voter id) in
// namespace "vote.<election>"; a second vote with the same voter id is
// rejected by consensus on every node. See kUsage and client/apps/voting.h.
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "client/apps/app_cli.h"
#include "client/apps/voting.h"
#include "client/cli_app.h"
#include "client/format.h"
#include "client/node_client.h"
#include "client/wallet.h"
#include "common/exit_codes.h"
#include "nlohmann/json.hpp"

namespace pbchain::apps {
namespace {

using Json = nlohmann::ordered_json;

// Booth wallet used when neither --wallet nor $PBCHAIN_WALLET names one.
constexpr char kDefaultBoothWallet[] = "./booth.json";

constexpr char kUsage[] =
    R"USAGE(pbvote: vote on a pbchain network; one vote per voter id, tally read from the chain

Usage: pbvote [OPTIONS]                        interactive mode (the default)
       pbvote [OPTIONS] interactive            the same
       pbvote [OPTIONS] vote VOTER_ID CHOICE   cast one vote and wait for its block
       pbvote [OPTIONS] tally                  count the votes on the chain
       pbvote help COMMAND                     one command in detail (the
                                               same: pbvote COMMAND --help)

Interactive mode reads standard input line by line (a terminal or a pipe;
end of input = quit) and asks, each time:
  Enter option ('a' add record, 'd' display tally, 'q' quit):
  a  asks for the voter id and the choice, submits the vote and waits until
     it is in a block: "Vote recorded (block H)", or "Invalid/duplicate Vote!"
     when that voter id has voted already (the node rejects it), or the
     node's reason for any other rejection
  d  prints the tally: votes per choice (most first), then the total
  q  quits
When standard input is not a terminal, each line read is echoed after its
prompt so that the output reads like a session.

How it works: election E uses the record namespace "vote.E"; a vote is a
record with key = the voter id and payload = the choice, carried by a
zero-amount, zero-fee transaction from the booth wallet to itself. Records
with a key are write-once on the chain, so each voter id votes once per
election on the whole network. The voter needs no coins (the node must
accept zero-fee records: the devnet default).

Options (before or after the command):
  --node HOST:PORT    node to talk to (default $PBCHAIN_NODE, else
                      127.0.0.1:7701)
  --wallet FILE       booth wallet that signs the votes (default
                      $PBCHAIN_WALLET, else ./booth.json); created when
                      missing (it needs no coins)
  --passphrase-file F the passphrase of an encrypted booth wallet is the
                      first line of F (else $PBCHAIN_PASSPHRASE, else asked
                      on the terminal); a new booth wallet is encrypted
                      with it when there is one
  --tls-ca FILE       TLS to the node, trusting the CA in FILE (default
                      $PBCHAIN_TLS_CA); --tls-client-cert FILE and
                      --tls-client-key FILE for mutual TLS
  --election NAME     election, 1..59 chars of [a-z0-9._-] (default booth)
  --fee F             fee per vote in base units (default 0)
  --wait-timeout T    how long to wait for a vote's block (default 60s;
                      T = seconds, or 500ms, 10s, 2m); then exit 3
  --timeout T         deadline of each call to the node (default 10s)
  --json              vote and tally print one JSON object
  -h, --help          this text
  --version           print "pbvote VERSION" and exit

Voter ids: 1..128 bytes of printable text, no leading/trailing spaces.
Choices: 1..256 bytes of printable text, no leading/trailing spaces.

Examples:
  pbvote --node 127.0.0.1:7701                       # interactive
  printf 'a\nalice\nred\nd\nq\n' | pbvote            # scripted session
  pbvote --election mayor vote alice "Jane Doe"
  pbvote --election mayor tally --json

Exit codes:
  0  vote recorded / tally printed (interactive: no action failed)
  1  vote rejected (duplicate voter id: "Invalid/duplicate Vote!"), or a
     runtime failure such as an unreachable node
  2  bad usage or bad input (unknown option, bad voter id or choice)
  3  vote still pending when the wait ended (it may still be mined)
  (interactive: the code of the last action that failed, else 0)
)USAGE";

// pbvote --help, and one text per command (pbvote help COMMAND).
const pbchain::cli::HelpTexts& HelpTexts() {
  static const auto* texts = new pbchain::cli::HelpTexts{
      {"", kUsage},
      {"interactive", R"TXT(pbvote [OPTIONS] [interactive]
  The default: asks, each time,
    Enter option ('a' add record, 'd' display tally, 'q' quit):
  'a' asks for the voter id and the choice and casts the vote, 'd' prints
  the tally, 'q' (or the end of standard input) quits. Reads standard input
  line by line (a terminal or a pipe); when it is not a terminal, each line
  read is echoed after its prompt. Exit code: that of the last action that
  failed, else 0. Options: see pbvote --help.
  Example: printf 'a\nalice\nred\nd\nq\n' | pbvote
)TXT"},
      {"vote", R"TXT(pbvote [OPTIONS] vote VOTER_ID CHOICE
  Casts one vote in the election (--election, default booth), signed by the
  booth wallet, and waits for its block: "Vote recorded (block H)" (exit 0),
  "Invalid/duplicate Vote!" when VOTER_ID has voted in this election
  already (exit 1), "Vote rejected: REASON" (exit 1), or still pending when
  the wait ends (exit 3). VOTER_ID: 1..128 bytes, CHOICE: 1..256 bytes of
  printable text without leading or trailing spaces. Options: see
  pbvote --help.
  Example: pbvote --election mayor vote alice "Jane Doe"
  --json: {"status": "recorded|duplicate|rejected|pending", "message",
          "election", "namespace", "voter", "choice", "txid",
          "block_height", "reason", "existing_block_height"}
)TXT"},
      {"tally", R"TXT(pbvote [OPTIONS] tally
  Counts the votes of the election (--election, default booth) on the
  chain: one line per choice, most votes first, then the total. Options:
  see pbvote --help.
  Example: pbvote --election mayor tally --json
  --json: {"election", "namespace", "height", "total", "ignored",
          "counts": [{"choice", "votes"}]}
)TXT"},
  };
  return *texts;
}

class VoteApp {
 public:
  VoteApp() = default;
  // Parses the command line and runs its command; returns the exit code.
  int Run(int argc, char** argv);

 private:
  // Prints `message` (stderr; stdout in interactive mode, where it is part
  // of the dialogue) and returns `code`.
  int Fail(int code, absl::string_view message) {
    if (interactive_) {
      std::cout << message << std::endl;
    } else {
      std::cerr << "pbvote: " << message << "\n";
    }
    return code;
  }
  int FailStatus(const absl::Status& s) {
    return Fail(cli::ExitCodeFor(s), s.message());
  }
  // Loads the booth wallet, creating it if missing. Sets wallet_.
  int LoadBooth();
  int Vote(const std::string& voter, const std::string& choice);
  int TallyCmd();
  int Interactive();

  CLI::App app_;
  pbchain::cli::CommandLine line_{app_, "pbvote", HelpTexts()};
  cli::CommonOptions options_;
  std::optional<std::string> election_option_;
  std::vector<std::string> pos_;  // the command's arguments
  bool interactive_ = false;
  std::string election_;
  std::string ns_;
  std::unique_ptr<client::NodeClient> node_;
  std::optional<client::Wallet> wallet_;
  VoteOptions vote_options_;
};

int VoteApp::LoadBooth() {
  const std::string& path = options_.wallet;
  bool created = false;
  absl::StatusOr<client::Wallet> w =
      cli::LoadOrCreateWallet(options_, path, "pbvote", &created);
  if (created) {
    std::cerr << "pbvote: created booth wallet " << path << " ("
              << w->address.ToText() << (w->encrypted ? ", encrypted" : "")
              << ")\n";
  }
  if (!w.ok()) return FailStatus(w.status());
  wallet_ = *std::move(w);
  return kExitOk;
}

int VoteApp::Vote(const std::string& voter, const std::string& choice) {
  if (absl::Status s = CheckVoterId(voter); !s.ok()) return FailStatus(s);
  if (absl::Status s = CheckChoice(choice); !s.ok()) return FailStatus(s);
  absl::StatusOr<VoteResult> r =
      CastVote(*node_, *wallet_, ns_, voter, choice, vote_options_);
  if (!r.ok()) return FailStatus(r.status());
  int code = kExitOk;
  std::string line;
  switch (r->status) {
    case VoteStatus::kRecorded:
      line = absl::StrCat("Vote recorded (block ", r->write.block_height, ")");
      break;
    case VoteStatus::kDuplicate:
      line = kDuplicateVoteMessage;
      code = kExitFailure;
      break;
    case VoteStatus::kRejected:
      line = absl::StrCat("Vote rejected: ", r->write.reason);
      code = kExitFailure;
      break;
    case VoteStatus::kPending:
      line = absl::StrCat("Vote submitted but not in a block yet (txid ",
                          r->write.txid.ToDisplayHex(),
                          "); check the tally later");
      code = kExitPending;
      break;
  }
  if (options_.json) {
    Json j;
    j["status"] = VoteStatusName(r->status);
    j["message"] = line;
    j["election"] = election_;
    j["namespace"] = ns_;
    j["voter"] = voter;
    j["choice"] = choice;
    j["txid"] = r->write.txid.ToDisplayHex();
    j["block_height"] = r->write.block_height;
    j["reason"] = r->write.reason;
    if (r->existing) {
      j["existing_block_height"] = r->existing->block_height();
    }
    std::cout << j.dump() << std::endl;
  } else {
    std::cout << line << std::endl;
  }
  return code;
}

int VoteApp::TallyCmd() {
  absl::StatusOr<Tally> t = ReadTally(*node_, ns_);
  if (!t.ok()) return FailStatus(t.status());
  if (options_.json) {
    Json j;
    j["election"] = election_;
    j["namespace"] = ns_;
    j["height"] = t->height;
    j["total"] = t->total;
    j["ignored"] = t->ignored;
    j["counts"] = Json::array();
    for (const ChoiceCount& c : t->counts) {
      j["counts"].push_back({{"choice", c.choice}, {"votes", c.votes}});
    }
    std::cout << j.dump() << std::endl;
    return kExitOk;
  }
  std::cout << "Tally of election '" << election_ << "' (" << ns_
            << ") at height " << t->height << ":\n";
  if (t->counts.empty()) std::cout << "  (no votes yet)\n";
  for (const ChoiceCount& c : t->counts) {
    std::cout << "  " << c.choice << ": " << c.votes << "\n";
  }
  std::cout << "Total votes: " << t->total << std::endl;
  if (t->ignored > 0) {
    std::cout << "(" << t->ignored
              << " record(s) in the namespace are not valid votes and were "
                 "not counted)"
              << std::endl;
  }
  return kExitOk;
}

int VoteApp::Interactive() {
  std::cout << "pbvote: election '" << election_ << "' (namespace " << ns_
            << ") on node " << node_->address() << ", booth wallet "
            << wallet_->path << " (" << wallet_->address.ToText() << ")"
            << std::endl;
  cli::LineReader in;
  interactive_ = true;
  int last_failure = kExitOk;
  while (true) {
    std::optional<std::string> option = in.Ask(kVotePrompt);
    if (!option) break;
    const std::string choice_text(absl::StripAsciiWhitespace(*option));
    if (choice_text.empty()) continue;
    int code = kExitOk;
    if (choice_text == "q" || choice_text == "Q") {
      break;
    } else if (choice_text == "a" || choice_text == "A") {
      std::optional<std::string> voter = in.Ask("Voter id:");
      if (!voter) break;
      std::optional<std::string> choice = in.Ask("Choice:");
      if (!choice) break;
      code = Vote(std::string(absl::StripAsciiWhitespace(*voter)),
                  std::string(absl::StripAsciiWhitespace(*choice)));
    } else if (choice_text == "d" || choice_text == "D") {
      code = TallyCmd();
    } else {
      std::cout << "Unknown option '" << choice_text << "': type a, d or q"
                << std::endl;
      code = kExitUsage;
    }
    if (code != kExitOk) last_failure = code;
  }
  return last_failure;
}

int VoteApp::Run(int argc, char** argv) {
  cli::AddCommonOptions(app_, kDefaultBoothWallet, options_);
  cli::AddValueOption(app_, "election", "NAME", election_option_);
  for (const char* name : {"interactive", "vote", "tally"}) {
    line_.AddCommand(name, &pos_);
  }
  if (std::optional<int> done = line_.Parse(argc, argv)) return *done;
  const std::string command =
      line_.command() != nullptr ? line_.command()->get_name() : "interactive";
  const size_t want = command == "vote" ? 2 : 0;
  if (!line_.CheckArgCount(want, want)) return kExitUsage;
  if (options_.json && command == "interactive") {
    return Fail(kExitUsage, "--json is for the vote and tally commands");
  }
  election_ = election_option_.value_or(kDefaultElection);
  absl::StatusOr<std::string> ns = ElectionNamespace(election_);
  if (!ns.ok()) return FailStatus(ns.status());
  ns_ = *ns;
  absl::StatusOr<uint64_t> fee = cli::FeeFrom(options_, 0);
  if (!fee.ok()) return FailStatus(fee.status());
  vote_options_.fee = *fee;
  absl::StatusOr<client::WaitOptions> wait = cli::WaitOptionsFrom(options_);
  if (!wait.ok()) return FailStatus(wait.status());
  vote_options_.wait = *wait;
  absl::StatusOr<std::unique_ptr<client::NodeClient>> node =
      cli::ConnectNode(options_);
  if (!node.ok()) return FailStatus(node.status());
  node_ = *std::move(node);

  if (command == "tally") return TallyCmd();
  if (int rc = LoadBooth(); rc != kExitOk) return rc;
  if (command == "vote") return Vote(pos_[0], pos_[1]);
  return Interactive();
}

}  // namespace
}  // namespace pbchain::apps

int main(int argc, char** argv) {
  pbchain::client::QuietGrpcLogging();
  return pbchain::apps::VoteApp().Run(argc, argv);
}
