// pbcli: the command-line client of a pbnode (gRPC NodeService).
//
//   pbcli [--node HOST:PORT] [--json] COMMAND [ARGS] [OPTIONS]
//
// See kUsage below (or `pbcli --help`, `pbcli help COMMAND`, `pbcli COMMAND
// --help`) for every command. The command line is parsed by CLI11
// (client/cli_app.h); options may come before or after the command. Exit
// codes (common/exit_codes.h): 0 success / confirmed, 1 runtime failure or
// rejected write, 2 bad usage or bad input, 3 write still pending after the
// wait.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "chain/address.h"
#include "chain/bytes.h"
#include "client/admin_client.h"
#include "client/cli_app.h"
#include "client/format.h"
#include "client/inclusion.h"
#include "client/node_client.h"
#include "client/passphrase.h"
#include "client/transfer.h"
#include "client/wallet.h"
#include "common/exit_codes.h"
#include "common/tls.h"
#include "grpc/health/v1/health.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "nlohmann/json.hpp"

namespace pbchain::client {
namespace {

using Json = nlohmann::ordered_json;

constexpr uint64_t kDefaultSendFee = 1;
constexpr uint64_t kDefaultPutFee = 0;
constexpr uint64_t kDefaultChainBlocks = 20;
// Entries `history` shows without --limit (the node's default page).
constexpr uint64_t kDefaultHistoryEntries = 50;
// Longest `health --service NAME` sent (service names are short; a longer
// one is a usage error, not a call).
constexpr size_t kMaxHealthServiceNameBytes = 200;

constexpr char kUsage[] = R"(pbcli: command-line client of a pbchain node

Usage: pbcli [GLOBAL OPTIONS] COMMAND [ARGS] [OPTIONS]
       pbcli help COMMAND        details and an example for one command
       pbcli COMMAND --help      the same

Wallet (no node needed):
  keygen [--no-encrypt]          create a new wallet file with a fresh key
                                 (encrypted with a passphrase)
  address                        print the wallet's address
  wallet encrypt|decrypt         encrypt a plaintext wallet file in place
                                 (or decrypt an encrypted one)
Reading:
  balance [ADDRESS]              balance and nonces (default: the wallet's)
  history [ADDRESS]              confirmed transactions of an address
  get NAMESPACE [KEY]            confirmed data records
  block HASH|HEIGHT              one block
  chain [--from H] [--to H]      one line per main-chain block
  tx TXID                        one transaction (confirmed or pooled)
  mempool [--limit N]            transactions waiting to be mined
  peers                          the node's gossip peers
  tips                           branch tips the node knows (forks)
  info                           node and chain summary
  watch                          print each new tip (and reorgs) until Ctrl-C
  health [--service NAME]        ask the node's grpc.health.v1 service
                                 (exit 0 when SERVING; for probes)
Writing (signed with the wallet key; waits for inclusion):
  send TO AMOUNT [--fee F]       transfer AMOUNT base units to address TO
  put NAMESPACE [KEY] PAYLOAD    write a data record (a zero-amount transfer
                                 to yourself carrying it)

Administration (the node's admin API; needs its cookie, see help admin):
  admin add-peer HOST:PORT       dial a peer now and keep it
  admin disconnect TARGET        end sessions with a peer, forget its address
  admin ban TARGET [--duration T] [--reason TEXT]
                                 ban a host:port, IP or node id
  admin unban TARGET             lift a ban
  admin bans                     the bans in force
  admin mining on|off [--threads N]
                                 start or stop the node's miner
  admin backup                   back the datadir up now (--backup_dir)
  admin stop                     shut the node down gracefully
  admin log-level [--verbosity N] [--minloglevel N]
                                 show or set the node's log levels

Global options (anywhere on the line):
  --node HOST:PORT     node to talk to (default $PBCHAIN_NODE, else
                       127.0.0.1:7701, the first node of tools/devnet)
  --wallet FILE        wallet file (default $PBCHAIN_WALLET, else ./wallet.json)
  --passphrase-file F  the wallet passphrase is the first line of F (else
                       $PBCHAIN_PASSPHRASE, else asked on the terminal)
  --tls-ca FILE        talk TLS to the node, trusting only the CA
                       certificate(s) in FILE (default $PBCHAIN_TLS_CA)
  --tls-client-cert FILE, --tls-client-key FILE
                       present this certificate and key (mutual TLS; with
                       --tls-ca; default $PBCHAIN_TLS_CLIENT_CERT/_KEY)
  --json               machine-readable output: one JSON object (watch and
                       chain: one object per line)
  --timeout T          deadline of each call to the node (default 10s;
                       T = seconds, or 500ms, 10s, 2m)
  --version            print "pbcli VERSION" and exit
  --                   the words after it are arguments, even if they start
                       with '-'
Write options:
  --wait[=N]           wait until the transaction has N confirmations
                       (default: --wait=1, i.e. wait until it is in a block)
  --no-wait, --wait=0  return once the node accepted it into its mempool
  --wait-timeout T     how long to wait (default 60s); then exit 3
  --fee F              fee in base units (send: default 1; put: default 0)

Amounts are whole numbers of base units (decimal digits only, at most
2^64-1). Addresses are "pb" + 48 hex chars; hashes and txids are shown and
taken as 64 hex chars in display (byte-reversed) order.

Exit codes:
  0  success; for a write: confirmed (or accepted, with --no-wait)
  1  runtime failure (node unreachable, not found, ...) or write rejected
     (the reason is printed)
  2  bad usage or bad input (unknown option, bad address, bad amount,
     missing wallet file, ...)
  3  write still pending when the wait ended: it may still be mined; check
     with `pbcli tx TXID` later
)";

const std::map<std::string, std::string>& CommandHelp() {
  static const auto* help = new std::map<std::string, std::string>{
      {"keygen",
       R"(pbcli keygen [--wallet FILE] [--passphrase-file F] [--no-encrypt]
  Creates a new Ed25519 key and writes it to the wallet file, mode 0600,
  encrypted with a passphrase (scrypt + ChaCha20-Poly1305, see
  docs/PROTOCOL.md): the first line of --passphrase-file F, else
  $PBCHAIN_PASSPHRASE, else asked twice on the terminal. --no-encrypt
  writes the plaintext JSON {seed, public_key, address} of `pbtool keygen`
  instead (with a warning). Never overwrites an existing file. Prints the
  new address.
  Example: pbcli keygen --wallet alice.json
  --json: {"address": "...", "public_key": "...", "wallet": "FILE",
          "encrypted": true|false})"},
      {"wallet",
       R"(pbcli wallet encrypt|decrypt [--wallet FILE] [--passphrase-file F]
  encrypt: encrypts a plaintext wallet file in place with a new passphrase
  (from --passphrase-file, $PBCHAIN_PASSPHRASE, or asked twice on the
  terminal). decrypt: writes the key of an encrypted wallet file back as
  plaintext JSON (asks its passphrase; prints a warning). Either way the
  file is replaced atomically (a temp file next to it, fsynced, renamed;
  mode 0600): a crash leaves the old file or the new one.
  Example: pbcli wallet encrypt --wallet alice.json
  --json: {"address": "...", "wallet": "FILE", "encrypted": true|false})"},
      {"address", R"(pbcli address [--wallet FILE]
  Prints the wallet's address (no node needed).
  Example: pbcli address --wallet alice.json
  --json: {"address": "...", "public_key": "..."})"},
      {"balance", R"(pbcli balance [ADDRESS]
  Confirmed balance and nonce of ADDRESS (default: the wallet's address),
  and the next nonce counting transactions still in the mempool.
  Example: pbcli balance pb0123...
  --json: {"address", "balance", "nonce", "pending_nonce", "height"})"},
      {"history", R"(pbcli history [ADDRESS] [--limit N] [--page-token T]
  Confirmed transactions sending to or from ADDRESS (default: the
  wallet's), newest first, one line each: at most N (default 50, at most
  500), and "more: --page-token T" when older ones remain.
  Example: pbcli history --limit 10
  --json: {"address", "height", "entries": [{"txid", "block_height",
          "block_hash", "time", "received", "sent", "tx"}], "next_page_token"})"},
      {"send", R"(pbcli send TO AMOUNT [--fee F] [--wait[=N]] [--wait-timeout T]
  Transfers AMOUNT base units from the wallet to address TO, paying fee F
  (default 1), then waits until the transaction has N confirmations
  (default 1). Outcomes: confirmed (exit 0), rejected by the node with its
  reason (exit 1), still pending when the wait ends (exit 3).
  Example: pbcli send pb0123... 250 --fee 2 --wait 3
  When the node had no peer, the output says "accepted by the node; not
  yet relayed to any peer": the node announces it to peers that connect
  later.
  --json: {"outcome": "confirmed|pending|rejected|accepted", "txid",
          "reason", "block_hash", "block_height", "confirmations",
          "relayed_to_peers" (peers the node announces it to; null when
          the node did not say)})"},
      {"put",
       R"(pbcli put NAMESPACE [KEY] PAYLOAD [--payload-file FILE] [--fee F] [--wait[=N]]
  Writes a data record: a zero-amount transfer from the wallet to itself
  carrying (NAMESPACE, KEY, PAYLOAD); fee default 0. NAMESPACE is 1..64
  chars of [a-z0-9._-]. With a KEY the record is write-once: a second put
  of the same (NAMESPACE, KEY) is rejected (tx-duplicate-record). Without
  a KEY records are not unique. With --payload-file the payload is read
  from FILE and the arguments are NAMESPACE [KEY]. Waits and reports like
  send.
  Example: pbcli put guestbook alice "hello, chain"
  --json: as send)"},
      {"get", R"(pbcli get NAMESPACE [KEY] [--limit N] [--page-token T]
  Confirmed records of NAMESPACE (at most N, default 100, at most 1000, in
  chain order; "more: --page-token T" when more remain), or the one record
  with KEY (exit 1 if there is none). Payloads are shown as text when they
  are printable UTF-8, else as 0x-hex.
  Example: pbcli get guestbook alice
  --json: {"records": [{"namespace", "key", "payload", "payload_hex",
          "txid", "block_hash", "block_height", "time", "sender"}],
          "next_page_token"})"},
      {"block", R"(pbcli block HASH|HEIGHT
  One block, by main-chain height (decimal) or by hash (64 hex, display
  order; side-branch blocks too): header fields, confirmations, size and
  its transactions.
  Example: pbcli block 12
  --json: {"hash", "height", "in_main_chain", "confirmations", "size",
          "version", "prev_hash", "merkle_root", "time", "bits", "nonce",
          "txs": [{"txid", "kind", "from", "to", "amount", "fee", ...}]})"},
      {"chain", R"(pbcli chain [--from H] [--to H]
  One line per main-chain block from H to H (default: the newest 20), any
  number of blocks; without --to, or with one above the tip, up to the tip.
  Example: pbcli chain --from 0 --to 10
  --json: one object per line {"height", "hash", "time", "tx_count",
          "prev_hash"})"},
      {"tx", R"(pbcli tx TXID
  One transaction, confirmed or in the mempool, with where it is.
  Example: pbcli tx 3fa4...
  --json: {"txid", "status": "mempool|confirmed", "block_hash",
          "block_height", "confirmations", "index", "tx": {...}})"},
      {"mempool", R"(pbcli mempool [--limit N]
  Transactions waiting in the node's mempool, best fee rate first.
  Example: pbcli mempool --limit 10
  --json: {"total_count", "total_bytes", "entries": [{"txid", "size",
          "received_unix_ms", "tx"}]})"},
      {"peers", R"(pbcli peers
  The node's connected gossip peers and the other peers it knows of.
  Example: pbcli peers
  --json: {"connected": [{"node_id", "address", "role", "height",
          "tip_hash", "inbound", "misbehavior_score"}], "known": [...]})"},
      {"tips", R"(pbcli tips [--limit N]
  The main-chain tip and the tips of side branches (forks).
  Example: pbcli tips
  --json: {"tips": [{"hash", "height", "branch_length", "fork_hash",
          "status", "chain_work", "time"}]})"},
      {"info", R"(pbcli info
  Node and chain summary: height, tip, work, hash rates, peers, mempool.
  Example: pbcli info
  --json: {"height", "tip_hash", "tip_time", "chain_work", "chain_id",
          "genesis_hash", "version", "node_id", "role", "peer_count",
          "mempool_size", "mempool_bytes", "mining", "syncing",
          "network_hash_rate", "local_hash_rate"})"},
      {"admin", R"(pbcli admin SUBCOMMAND [ARGS] [--datadir DIR | --cookie FILE]
            [--admin HOST:PORT]
  Calls the node's AdminService on its admin listener (pbnode
  --admin_listen, 127.0.0.1 and a free port by default), with the token the
  node writes to DATADIR/.cookie at every start (--cookie FILE reads it from
  elsewhere). Without --admin the address comes from DATADIR/.admin-address.
  With --tls-ca (and --tls-client-cert/--tls-client-key) it dials TLS, as
  the admin listener serves TLS with the node's certificate when the node
  has --tls-cert.
  Subcommands:
    add-peer HOST:PORT     dial a peer now and keep redialing it (like
                           --peer; also with --connect_only)
    disconnect TARGET      end the sessions with a peer (TARGET: host:port or
                           node id) and forget its addresses
    ban TARGET [--duration T] [--reason TEXT]
                           ban a host:port, an IP (not loopback) or a node id
                           for T (default: the node's --ban_duration), ending
                           its sessions
    unban TARGET           lift a ban (TARGET as `admin bans` shows it)
    bans                   the bans in force (the operator's and
                           misbehaviour bans)
    mining on|off [--threads N]
                           mine continuously, or stop mining; N = 1..64
                           search threads (default: keep)
    backup                 take a backup into the node's --backup_dir now
    stop                   shut the node down gracefully (as SIGTERM)
    log-level [--verbosity N] [--minloglevel N]
                           show, or set, glog's verbosity (0..10) and least
                           severity logged (0 INFO .. 3 FATAL)
  A missing or wrong token is refused by the node (exit 1).
  Example: pbcli admin ban 10.0.0.7 --duration 1h --datadir ~/.pbchain/CHAIN_ID
  --json: add-peer {"address", "already_connected"}; disconnect {"target",
          "sessions_closed", "addresses_forgotten"}; ban {"target", "until",
          "sessions_closed"}; unban {"target"}; bans {"bans": [{"target",
          "reason", "until"}]}; mining {"enabled", "threads"}; backup
          {"backup_id", "backup_dir"}; stop {"stopping"}; log-level
          {"previous_verbosity", "previous_min_log_level", "verbosity",
          "min_log_level"})"},
      // --- health (issue 17: the container HEALTHCHECK) ---
      {"health", R"(pbcli health [--service NAME]
  Asks the node's grpc.health.v1.Health/Check for NAME (default "", the
  whole server; also pbchain.v1.NodeService, pbchain.datadir: see
  docs/OPERATIONS.md, Health), over the usual --node and --tls-* options,
  with the --timeout deadline. Prints the status (SERVING, NOT_SERVING,
  ...); exit 0 only on SERVING, 1 otherwise (also for an unknown service:
  NOT_FOUND, or no answer), 2 for bad usage. Made for health probes that
  have no other gRPC client (the container image's HEALTHCHECK).
  Example: pbcli health --node 127.0.0.1:7701 --tls-ca ca.crt
  --json: {"node", "service", "status"})"},
      // --- end health ---
      {"watch", R"(pbcli watch
  Prints the current tip, then each new tip as the node reports it, and
  says when the main chain reorganised (blocks disconnected), until
  Ctrl-C (exit 0) or the node goes away (exit 1).
  Example: pbcli watch --json
  --json: one object per line {"height", "hash", "previous_tip_hash",
          "reorg_depth", "time", "tx_count", "chain_work"})"},
  };
  return *help;
}

// ---------------------------------------------------------------------------
// Command-line parsing.

// The help texts of the command line: kUsage, and one per command.
const cli::HelpTexts& HelpTexts() {
  static const auto* texts = [] {
    auto* t = new cli::HelpTexts{{"", kUsage}};
    for (const auto& [name, text] : CommandHelp()) (*t)[name] = text + "\n";
    return t;
  }();
  return *texts;
}

// Options of the commands (besides the global --node, --wallet, --json and
// --timeout) that take a value, by command.
const std::map<std::string, std::vector<std::string>>& CommandOptions() {
  static const auto* options =
      new std::map<std::string, std::vector<std::string>>{
          {"history", {"limit", "page-token"}},
          {"send", {"fee", "wait-timeout"}},
          {"put", {"fee", "wait-timeout", "payload-file"}},
          {"get", {"limit", "page-token"}},
          {"chain", {"from", "to"}},
          {"mempool", {"limit"}},
          {"tips", {"limit"}},
          {"health", {"service"}},
          {"admin",
           {"admin", "cookie", "datadir", "duration", "reason", "threads",
            "verbosity", "minloglevel"}},
      };
  return *options;
}

// The commands that take --wait[=N] and --no-wait.
bool Waits(const std::string& command) {
  return command == "send" || command == "put";
}

// What the command line says.
struct Args {
  std::string node = kDefaultNodeAddress;   // --node, else $PBCHAIN_NODE
  std::string wallet = kDefaultWalletPath;  // --wallet, else $PBCHAIN_WALLET
  std::string passphrase_file;              // --passphrase-file
  ClientTlsFiles tls;       // --tls-ca, --tls-client-cert, --tls-client-key
  bool no_encrypt = false;  // keygen --no-encrypt
  bool json = false;
  std::map<std::string, std::string> values;  // the other options by name
  std::string wait;  // --wait[=N] / --no-wait ("0"); "" if not given
};

bool IsAllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// A duration: plain number = seconds, or absl's syntax (500ms, 10s, 2m).
absl::StatusOr<absl::Duration> ParseTimeout(const std::string& text,
                                            const std::string& what) {
  absl::Duration d;
  uint64_t seconds = 0;
  if (absl::SimpleAtoi(text, &seconds) && IsAllDigits(text) &&
      seconds <= 1'000'000'000) {
    d = absl::Seconds(seconds);
  } else if (!absl::ParseDuration(text, &d)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", what, ": '", text,
                     "' is not a duration (seconds, or e.g. 500ms, 10s, 2m)"));
  }
  if (d <= absl::ZeroDuration() || d == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", what, " must be positive and finite"));
  }
  return d;
}

// ---------------------------------------------------------------------------
// Output helpers.

int Fail(int code, absl::string_view message) {
  std::cerr << "pbcli: " << message << "\n";
  return code;
}

// Exit code for a failed status: 2 for bad input, 1 otherwise.
int FailStatus(const absl::Status& s) {
  const int code = s.code() == absl::StatusCode::kInvalidArgument
                       ? kExitUsage
                       : kExitFailure;
  return Fail(code, s.message());
}

void PrintJson(const Json& j) { std::cout << j.dump() << std::endl; }

std::string RoleName(v1::PeerRole role) {
  switch (role) {
    case v1::PEER_ROLE_HEAD:
      return "head";
    case v1::PEER_ROLE_SEED:
      return "seed";
    case v1::PEER_ROLE_FULL:
    case v1::PEER_ROLE_UNSPECIFIED:
    default:
      return "full";
  }
}

std::string HexBits(uint32_t bits) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%08x", bits);
  return buf;
}

Json RecordJson(const v1::DataRecord& r) {
  Json j;
  j["namespace"] = r.namespace_();
  if (r.has_key()) {
    j["key"] = PayloadForDisplay(r.key());
  } else {
    j["key"] = nullptr;
  }
  j["payload"] =
      IsPrintableUtf8(r.payload()) ? Json(r.payload()) : Json(nullptr);
  j["payload_hex"] = HexEncode(AsBytes(r.payload()));
  return j;
}

// A transaction as a small JSON object (display hashes, address text).
Json TxJson(const v1::Transaction& tx) {
  Json j;
  const bool coinbase = tx.kind() == v1::TRANSACTION_KIND_COINBASE;
  j["kind"] = coinbase ? "coinbase" : "transfer";
  if (!coinbase) j["from"] = SenderAddressText(tx.sender_pubkey());
  j["to"] = AddressText(tx.recipient());
  j["amount"] = tx.amount();
  if (coinbase) {
    j["height"] = tx.height();
    j["extra_nonce"] = tx.extra_nonce();
  } else {
    j["fee"] = tx.fee();
    j["nonce"] = tx.nonce();
  }
  j["chain_id"] = tx.chain_id();
  j["record"] = tx.has_record() ? RecordJson(tx.record()) : Json(nullptr);
  return j;
}

// One line: "transfer pbA -> pbB amount 5 fee 1 nonce 0 [record ns/key]".
std::string TxLine(const v1::Transaction& tx) {
  std::string line;
  if (tx.kind() == v1::TRANSACTION_KIND_COINBASE) {
    line = absl::StrCat("coinbase -> ", AddressText(tx.recipient()), " amount ",
                        tx.amount());
  } else {
    line = absl::StrCat("transfer ", SenderAddressText(tx.sender_pubkey()),
                        " -> ", AddressText(tx.recipient()), " amount ",
                        tx.amount(), " fee ", tx.fee(), " nonce ", tx.nonce());
  }
  if (tx.has_record()) {
    absl::StrAppend(&line, " record ", tx.record().namespace_());
    if (tx.record().has_key()) {
      absl::StrAppend(&line, "/", PayloadForDisplay(tx.record().key()));
    }
    absl::StrAppend(&line, " (", tx.record().payload().size(), " bytes)");
  }
  return line;
}

// ---------------------------------------------------------------------------
// The commands.

class Cli {
 public:
  Cli() = default;

  // Parses the command line and runs its command; returns the exit code.
  int Run(int argc, char** argv);

 private:
  // Builds the parser into app_ and parses argv into args_, command_ and
  // pos_. nullopt to go on, else the exit code (help, version, bad usage).
  std::optional<int> Parse(int argc, char** argv);
  // Adds --NAME, taking a value, to `app`.
  CLI::Option* AddValueOption(CLI::App* app, const std::string& name,
                              const std::string& type);
  // Adds --wait[=N] and --no-wait to `app`.
  void AddWaitOptions(CLI::App* app);

  const std::string* Opt(const std::string& name) const {
    auto it = args_.values.find(name);
    return it == args_.values.end() ? nullptr : &it->second;
  }
  bool WantArgs(size_t min, size_t max, int& rc);

  // Creates node_ from --node/--timeout. False (rc set) on bad values.
  bool Connect(int& rc);
  absl::StatusOr<Wallet> Wallet_();
  const std::string& WalletPath() const { return args_.wallet; }

  int Keygen();
  int WalletCmd();
  int AddressCmd();
  int Balance();
  int History();
  int Send();
  int Put();
  int Get();
  int BlockCmd();
  int Chain();
  int Tx();
  int Mempool();
  int Peers();
  int Tips();
  int Info();
  int Watch();
  int Health();
  int Admin();
  // Runs admin subcommand `sub` with its arguments `args`.
  int AdminCommand(AdminClient& admin, const std::string& sub,
                   const std::vector<std::string>& args);

  // Shared by send and put: wait options, submit, report.
  int Write(const Wallet& wallet, const TransferRequest& request);
  bool ParseWaitOptions(WaitOptions& out, int& rc);

  CLI::App app_;
  cli::CommandLine line_{app_, "pbcli", HelpTexts()};
  Args args_;
  std::string command_;
  std::vector<std::string> pos_;  // positional arguments after the command
  std::unique_ptr<NodeClient> node_;
};

CLI::Option* Cli::AddValueOption(CLI::App* app, const std::string& name,
                                 const std::string& type) {
  // Applied as parsed, so that the last of two values given wins even when
  // one is before the command and one after it.
  return app
      ->add_option_function<std::string>(
          "--" + name,
          [this, name](const std::string& v) { args_.values[name] = v; })
      ->type_name(type)
      ->trigger_on_parse();
}

void Cli::AddWaitOptions(CLI::App* app) {
  app->add_flag("--wait{1}", args_.wait)->type_name("N")->trigger_on_parse();
  app->add_flag("--no-wait{0}", args_.wait)
      ->disable_flag_override()
      ->trigger_on_parse();
}

std::optional<int> Cli::Parse(int argc, char** argv) {
  app_.add_option("--node", args_.node)
      ->type_name("HOST:PORT")
      ->envname("PBCHAIN_NODE");
  app_.add_option("--wallet", args_.wallet)
      ->type_name("FILE")
      ->envname(kWalletEnvVar);
  app_.add_option("--passphrase-file", args_.passphrase_file)
      ->type_name("FILE");
  app_.add_option("--tls-ca", args_.tls.ca)
      ->type_name("FILE")
      ->envname("PBCHAIN_TLS_CA");
  app_.add_option("--tls-client-cert", args_.tls.cert)
      ->type_name("FILE")
      ->envname("PBCHAIN_TLS_CLIENT_CERT");
  app_.add_option("--tls-client-key", args_.tls.key)
      ->type_name("FILE")
      ->envname("PBCHAIN_TLS_CLIENT_KEY");
  app_.add_flag("--json", args_.json)->disable_flag_override();
  AddValueOption(&app_, "timeout", "T");
  // The options of the commands, given before the command name: hidden
  // copies here, checked against the command below.
  std::map<std::string, CLI::Option*> early;
  for (const auto& [command, names] : CommandOptions()) {
    for (const std::string& name : names) {
      if (!early.contains(name)) {
        early[name] = AddValueOption(&app_, name, "VALUE")->group("");
      }
    }
  }
  AddWaitOptions(&app_);
  for (const char* name : {"wait", "no-wait"}) {
    early[name] = app_.get_option(absl::StrCat("--", name))->group("");
  }

  for (const auto& [name, text] : CommandHelp()) {
    CLI::App* command = line_.AddCommand(name, &pos_);
    if (auto it = CommandOptions().find(name); it != CommandOptions().end()) {
      for (const std::string& option : it->second) {
        AddValueOption(command, option, "VALUE");
      }
    }
    if (Waits(name)) AddWaitOptions(command);
    if (name == "keygen") {
      command->add_flag("--no-encrypt", args_.no_encrypt)
          ->disable_flag_override();
    }
  }

  // --wait takes its N as the next word when that is all digits.
  std::vector<std::string> words(argv + 1, argv + argc);
  for (size_t i = 0; i + 1 < words.size() && words[i] != "--"; ++i) {
    if (words[i] == "--wait" && IsAllDigits(words[i + 1])) {
      words[i] = absl::StrCat("--wait=", words[i + 1]);
      words.erase(words.begin() + static_cast<std::ptrdiff_t>(i) + 1);
    }
  }
  if (std::optional<int> done = line_.Parse(std::move(words))) return done;
  if (line_.command() == nullptr) {
    std::cerr << kUsage;
    return kExitUsage;
  }
  command_ = line_.command()->get_name();
  for (const auto& [name, option] : early) {
    if (option->count() > 0 &&
        line_.command()->get_option_no_throw("--" + name) == nullptr) {
      return line_.UsageError(
          absl::StrCat(command_, " does not take --", name, line_.Hint()));
    }
  }
  if (!args_.wait.empty()) args_.values["wait"] = args_.wait;
  return std::nullopt;
}

bool Cli::WantArgs(size_t min, size_t max, int& rc) {
  if (line_.CheckArgCount(min, max)) return true;
  rc = kExitUsage;
  return false;
}

bool Cli::Connect(int& rc) {
  NodeClientOptions options;
  options.address = args_.node;
  options.tls = args_.tls;
  if (const std::string* t = Opt("timeout")) {
    absl::StatusOr<absl::Duration> d = ParseTimeout(*t, "timeout");
    if (!d.ok()) {
      rc = Fail(kExitUsage, d.status().message());
      return false;
    }
    options.call_timeout = *d;
  }
  absl::StatusOr<std::unique_ptr<NodeClient>> client =
      NodeClient::Create(options);
  if (!client.ok()) {
    // TLS file errors name their flag already ("--tls-ca FILE: ...").
    const bool named = absl::StartsWith(client.status().message(), "--");
    rc = Fail(kExitUsage,
              absl::StrCat(named ? "" : "--node: ", client.status().message()));
    return false;
  }
  node_ = std::move(*client);
  return true;
}

absl::StatusOr<Wallet> Cli::Wallet_() {
  absl::StatusOr<Wallet> w = LoadWallet(
      WalletPath(), PassphraseFor({args_.passphrase_file}, WalletPath()));
  if (w.ok() && !w->encrypted) {
    std::cerr << "pbcli: " << UnencryptedWalletWarning(WalletPath()) << "\n";
  }
  return w;
}

int Cli::Run(int argc, char** argv) {
  if (std::optional<int> done = Parse(argc, argv)) return *done;
  if (command_ == "keygen") return Keygen();
  if (command_ == "wallet") return WalletCmd();
  if (command_ == "address") return AddressCmd();
  if (command_ == "balance") return Balance();
  if (command_ == "history") return History();
  if (command_ == "send") return Send();
  if (command_ == "put") return Put();
  if (command_ == "get") return Get();
  if (command_ == "block") return BlockCmd();
  if (command_ == "chain") return Chain();
  if (command_ == "tx") return Tx();
  if (command_ == "mempool") return Mempool();
  if (command_ == "peers") return Peers();
  if (command_ == "tips") return Tips();
  if (command_ == "info") return Info();
  if (command_ == "watch") return Watch();
  if (command_ == "health") return Health();
  if (command_ == "admin") return Admin();
  return Fail(kExitUsage, absl::StrCat("unknown command '", command_, "'"));
}

int Cli::Keygen() {
  int rc = 0;
  if (!WantArgs(0, 0, rc)) return rc;
  const std::string path = WalletPath();
  WalletWriteOptions write;
  if (!args_.no_encrypt) {
    // Refuse an existing file before asking for a passphrase.
    if (access(path.c_str(), F_OK) == 0) {
      return Fail(kExitUsage, absl::StrCat("wallet file ", path,
                                           " exists; not overwriting it"));
    }
    absl::StatusOr<std::string> passphrase =
        GetPassphrase({args_.passphrase_file}, path, /*is_new=*/true);
    if (!passphrase.ok()) {
      std::string hint;
      if (passphrase.status().code() == absl::StatusCode::kFailedPrecondition) {
        hint = "; or pass --no-encrypt for a plaintext file";
      }
      return Fail(kExitUsage,
                  absl::StrCat(passphrase.status().message(), hint));
    }
    write.passphrase = *passphrase;  // wiped with `write`
    WipeSecret(*passphrase);
  }
  absl::StatusOr<Wallet> w = CreateWallet(path, write);
  if (!w.ok()) {
    return Fail(w.status().code() == absl::StatusCode::kAlreadyExists
                    ? kExitUsage
                    : kExitFailure,
                w.status().message());
  }
  if (args_.json) {
    Json j;
    j["address"] = w->address.ToText();
    j["public_key"] = HexEncode(w->key.public_key());
    j["wallet"] = path;
    j["encrypted"] = w->encrypted;
    PrintJson(j);
  } else {
    std::cout << w->address.ToText() << std::endl;
    if (w->encrypted) {
      std::cerr << "pbcli: wrote a new key to " << path
                << ", encrypted (without the passphrase it is lost)\n";
    }
  }
  if (!w->encrypted) {
    std::cerr << "pbcli: " << UnencryptedWalletWarning(path) << "\n";
  }
  return kExitOk;
}

int Cli::WalletCmd() {
  int rc = 0;
  if (!WantArgs(1, 1, rc)) return rc;
  const std::string& action = pos_[0];
  if (action != "encrypt" && action != "decrypt") {
    return line_.UsageError(absl::StrCat("wallet: unknown action '", action,
                                         "' (encrypt or decrypt)",
                                         line_.Hint()));
  }
  const std::string path = WalletPath();
  const PassphraseOptions source{args_.passphrase_file};
  absl::StatusOr<Wallet> w = LoadWallet(path, PassphraseFor(source, path));
  if (!w.ok()) return Fail(kExitUsage, w.status().message());
  const bool encrypt = action == "encrypt";
  if (w->encrypted == encrypt) {
    return Fail(kExitUsage, absl::StrCat("wallet file ", path, " is ",
                                         encrypt ? "already" : "not",
                                         " encrypted; nothing to do"));
  }
  WalletWriteOptions write;
  if (encrypt) {
    absl::StatusOr<std::string> passphrase =
        GetPassphrase(source, path, /*is_new=*/true);
    if (!passphrase.ok())
      return Fail(kExitUsage, passphrase.status().message());
    write.passphrase = *passphrase;  // wiped with `write`
    WipeSecret(*passphrase);
  }
  absl::StatusOr<Wallet> done = RewriteWallet(path, w->key, write);
  if (!done.ok()) return FailStatus(done.status());
  if (args_.json) {
    Json j;
    j["address"] = done->address.ToText();
    j["wallet"] = path;
    j["encrypted"] = done->encrypted;
    PrintJson(j);
  } else {
    std::cout << done->address.ToText() << std::endl;
    if (encrypt) {
      std::cerr << "pbcli: encrypted " << path
                << " (without the passphrase the key is lost)\n";
    } else {
      std::cerr << "pbcli: " << UnencryptedWalletWarning(path) << "\n";
    }
  }
  return kExitOk;
}

int Cli::AddressCmd() {
  int rc = 0;
  if (!WantArgs(0, 0, rc)) return rc;
  absl::StatusOr<Wallet> w = Wallet_();
  if (!w.ok()) return Fail(kExitUsage, w.status().message());
  if (args_.json) {
    Json j;
    j["address"] = w->address.ToText();
    j["public_key"] = HexEncode(w->key.public_key());
    PrintJson(j);
  } else {
    std::cout << w->address.ToText() << std::endl;
  }
  return kExitOk;
}

int Cli::Balance() {
  int rc = 0;
  if (!WantArgs(0, 1, rc)) return rc;
  Address address;
  if (!pos_.empty()) {
    absl::StatusOr<Address> a = ParseAddress(pos_[0], "ADDRESS");
    if (!a.ok()) return Fail(kExitUsage, a.status().message());
    address = *a;
  } else {
    absl::StatusOr<Wallet> w = Wallet_();
    if (!w.ok()) return Fail(kExitUsage, w.status().message());
    address = w->address;
  }
  if (!Connect(rc)) return rc;
  absl::StatusOr<v1::GetAccountResponse> acct = node_->GetAccount(address);
  if (!acct.ok()) return FailStatus(acct.status());
  if (args_.json) {
    Json j;
    j["address"] = address.ToText();
    j["balance"] = acct->account().balance();
    j["nonce"] = acct->account().nonce();
    j["pending_nonce"] = acct->pending_nonce();
    j["height"] = acct->height();
    PrintJson(j);
  } else {
    std::cout << "address:       " << address.ToText() << "\n"
              << "balance:       " << acct->account().balance() << "\n"
              << "nonce:         " << acct->account().nonce() << "\n"
              << "pending nonce: " << acct->pending_nonce() << "\n"
              << "at height:     " << acct->height() << std::endl;
  }
  return kExitOk;
}

int Cli::History() {
  int rc = 0;
  if (!WantArgs(0, 1, rc)) {
    return rc;
  }
  Address address;
  if (!pos_.empty()) {
    absl::StatusOr<Address> a = ParseAddress(pos_[0], "ADDRESS");
    if (!a.ok()) return Fail(kExitUsage, a.status().message());
    address = *a;
  } else {
    absl::StatusOr<Wallet> w = Wallet_();
    if (!w.ok()) return Fail(kExitUsage, w.status().message());
    address = w->address;
  }
  uint64_t limit = kDefaultHistoryEntries;
  if (const std::string* l = Opt("limit")) {
    absl::StatusOr<uint64_t> v = ParseUint(*l, "--limit");
    if (!v.ok()) return Fail(kExitUsage, v.status().message());
    // 0: the default, as the node reads a page size of 0.
    if (*v > 0) limit = std::min<uint64_t>(*v, 500);
  }
  const std::string* token = Opt("page-token");
  if (!Connect(rc)) return rc;
  // The node may end a page before page_size (its byte budget per page):
  // ask again from its token until `limit` entries or the oldest one.
  std::vector<v1::AccountHistoryEntry> entries;
  std::string next_token = token ? *token : "";
  uint32_t height = 0;
  do {
    absl::StatusOr<v1::GetAccountHistoryResponse> h = node_->GetAccountHistory(
        address, static_cast<uint32_t>(limit - entries.size()), next_token);
    if (!h.ok()) return FailStatus(h.status());
    if (entries.empty()) height = h->height();
    for (v1::AccountHistoryEntry& e : *h->mutable_entries()) {
      entries.push_back(std::move(e));
    }
    next_token = h->next_page_token();
    if (h->entries_size() == 0) break;  // no progress: do not loop
  } while (!next_token.empty() && entries.size() < limit);
  if (args_.json) {
    Json j;
    j["address"] = address.ToText();
    j["height"] = height;
    j["entries"] = Json::array();
    for (const auto& e : entries) {
      Json x;
      x["txid"] = DisplayHash(e.txid());
      x["block_height"] = e.block_height();
      x["block_hash"] = DisplayHash(e.block_hash());
      x["time"] = e.block_time();
      x["received"] = e.received();
      x["sent"] = e.sent();
      x["tx"] = TxJson(e.transaction());
      j["entries"].push_back(x);
    }
    j["next_page_token"] = next_token;
    PrintJson(j);
  } else {
    for (const auto& e : entries) {
      std::cout << e.block_height() << "  " << DisplayHash(e.txid()) << "  +"
                << e.received() << " -" << e.sent() << "  "
                << TxLine(e.transaction()) << "\n";
    }
    if (entries.empty()) std::cout << "(no transactions)\n";
    if (!next_token.empty()) {
      std::cout << "more: --page-token " << next_token << "\n";
    }
    std::cout << std::flush;
  }
  return kExitOk;
}

bool Cli::ParseWaitOptions(WaitOptions& out, int& rc) {
  if (const std::string* w = Opt("wait")) {
    absl::StatusOr<uint64_t> n = ParseUint(*w, "--wait");
    if (!n.ok()) {
      rc = Fail(kExitUsage, n.status().message());
      return false;
    }
    out.confirmations = *n;
  }
  if (const std::string* t = Opt("wait-timeout")) {
    absl::StatusOr<absl::Duration> d = ParseTimeout(*t, "wait-timeout");
    if (!d.ok()) {
      rc = Fail(kExitUsage, d.status().message());
      return false;
    }
    out.timeout = *d;
  }
  return true;
}

int Cli::Write(const Wallet& wallet, const TransferRequest& request) {
  WaitOptions wait;
  int rc = 0;
  if (!ParseWaitOptions(wait, rc)) return rc;
  if (absl::Status s = CheckTransferRequest(request); !s.ok()) {
    return Fail(kExitUsage, s.message());
  }
  if (!Connect(rc)) return rc;
  absl::StatusOr<Transaction> tx = PrepareTransfer(*node_, wallet.key, request);
  if (!tx.ok()) return FailStatus(tx.status());

  const bool tty = isatty(STDERR_FILENO) == 1;
  bool drew = false;
  ProgressCallback progress;
  if (tty) {
    progress = [&drew](const Progress& p) {
      std::cerr << "\r\033[K"
                << "waiting: " << DescribeProgress(p) << std::flush;
      drew = true;
    };
  }
  absl::StatusOr<WriteResult> r = SubmitAndWait(*node_, *tx, wait, progress);
  if (drew) std::cerr << "\r\033[K" << std::flush;
  if (!r.ok()) return FailStatus(r.status());

  if (args_.json) {
    Json j;
    j["outcome"] = OutcomeName(r->outcome);
    j["txid"] = r->txid.ToDisplayHex();
    j["reason"] = r->reason;
    j["block_hash"] = r->block_hash.IsZero()
                          ? Json(nullptr)
                          : Json(r->block_hash.ToDisplayHex());
    j["block_height"] = r->block_height;
    j["confirmations"] = r->confirmations;
    j["wanted_confirmations"] = wait.confirmations;
    j["in_mempool"] = r->in_mempool;
    j["relayed_to_peers"] = r->relayed_to_peers.has_value()
                                ? Json(*r->relayed_to_peers)
                                : Json(nullptr);
    PrintJson(j);
  }
  // Not more than the node said: with no peer, nobody else has it yet.
  const bool unrelayed = r->relayed_to_peers == std::optional<uint32_t>(0);
  switch (r->outcome) {
    case Outcome::kConfirmed:
      if (!args_.json) {
        std::cout << "confirmed: txid " << r->txid.ToDisplayHex()
                  << " in block " << r->block_height << " ("
                  << r->block_hash.ToDisplayHex() << "), " << r->confirmations
                  << " confirmation" << (r->confirmations == 1 ? "" : "s")
                  << std::endl;
      }
      return kExitOk;
    case Outcome::kAccepted:
      if (!args_.json) {
        if (unrelayed) {
          std::cout << "accepted by the node; not yet relayed to any peer: "
                       "txid "
                    << r->txid.ToDisplayHex()
                    << " is in the node's mempool (not waiting for a block)"
                    << std::endl;
        } else {
          std::cout << "accepted: txid " << r->txid.ToDisplayHex()
                    << " is in the node's mempool (not waiting for a block)"
                    << std::endl;
        }
      }
      return kExitOk;
    case Outcome::kPending:
      if (!args_.json) {
        std::cout << "pending: txid " << r->txid.ToDisplayHex() << " "
                  << r->reason << "; retry later: pbcli tx "
                  << r->txid.ToDisplayHex() << std::endl;
        if (unrelayed) {
          std::cout << "note: accepted by the node; not yet relayed to any "
                       "peer (the node had no peer)"
                    << std::endl;
        }
      }
      return kExitPending;
    case Outcome::kRejected:
      if (!args_.json) {
        std::cout << "rejected: " << r->reason << " (txid "
                  << r->txid.ToDisplayHex() << ")" << std::endl;
      }
      return kExitFailure;
  }
  return kExitFailure;
}

int Cli::Send() {
  int rc = 0;
  if (!WantArgs(2, 2, rc)) {
    return rc;
  }
  TransferRequest req;
  absl::StatusOr<Address> to = ParseAddress(pos_[0], "TO");
  if (!to.ok()) return Fail(kExitUsage, to.status().message());
  req.recipient = *to;
  absl::StatusOr<uint64_t> amount = ParseAmount(pos_[1], "AMOUNT");
  if (!amount.ok()) return Fail(kExitUsage, amount.status().message());
  req.amount = *amount;
  req.fee = kDefaultSendFee;
  if (const std::string* f = Opt("fee")) {
    absl::StatusOr<uint64_t> fee = ParseAmount(*f, "--fee");
    if (!fee.ok()) return Fail(kExitUsage, fee.status().message());
    req.fee = *fee;
  }
  if (absl::Status s = CheckTransferRequest(req); !s.ok()) {
    return Fail(kExitUsage, s.message());
  }
  absl::StatusOr<Wallet> w = Wallet_();
  if (!w.ok()) return Fail(kExitUsage, w.status().message());
  return Write(*w, req);
}

int Cli::Put() {
  int rc = 0;
  std::string ns;
  std::optional<std::string> key;
  std::string payload;
  if (const std::string* file = Opt("payload-file")) {
    if (!WantArgs(1, 2, rc)) return rc;
    std::ifstream in(*file, std::ios::binary);
    if (!in) {
      return Fail(kExitUsage,
                  absl::StrCat("--payload-file: cannot read ", *file));
    }
    std::stringstream buf;
    buf << in.rdbuf();
    payload = buf.str();
    ns = pos_[0];
    if (pos_.size() == 2) key = pos_[1];
  } else {
    if (!WantArgs(2, 3, rc)) return rc;
    ns = pos_[0];
    if (pos_.size() == 3) key = pos_[1];
    payload = pos_.back();
  }
  TransferRequest req;
  req.amount = 0;
  req.fee = kDefaultPutFee;
  if (const std::string* f = Opt("fee")) {
    absl::StatusOr<uint64_t> fee = ParseAmount(*f, "--fee");
    if (!fee.ok()) return Fail(kExitUsage, fee.status().message());
    req.fee = *fee;
  }
  req.record = MakeRecord(ns, key, payload);
  if (absl::Status s = CheckTransferRequest(req); !s.ok()) {
    return Fail(kExitUsage, s.message());
  }
  absl::StatusOr<Wallet> w = Wallet_();
  if (!w.ok()) return Fail(kExitUsage, w.status().message());
  req.recipient = w->address;
  return Write(*w, req);
}

int Cli::Get() {
  int rc = 0;
  if (!WantArgs(1, 2, rc)) {
    return rc;
  }
  const std::string& ns = pos_[0];
  if (!IsValidNamespace(ns)) {
    return Fail(kExitUsage,
                absl::StrCat("NAMESPACE '", ns,
                             "' is invalid: want 1..64 chars of [a-z0-9._-]"));
  }
  std::optional<std::string> key;
  if (pos_.size() == 2) {
    key = pos_[1];
    if (key->empty() || key->size() > 128) {
      return Fail(kExitUsage, "KEY must be 1..128 bytes");
    }
  }
  uint64_t limit = 100;
  if (const std::string* l = Opt("limit")) {
    absl::StatusOr<uint64_t> v = ParseUint(*l, "--limit");
    if (!v.ok()) return Fail(kExitUsage, v.status().message());
    if (*v == 0) return Fail(kExitUsage, "--limit must be at least 1");
    limit = std::min<uint64_t>(*v, 1000);
  }
  const std::string* token = Opt("page-token");
  if (!Connect(rc)) return rc;
  // The node may end a page before page_size (its byte budget per page):
  // ask again from its token until `limit` records or the namespace's end.
  std::vector<v1::RecordEntry> records;
  std::string next_token = token ? *token : "";
  do {
    absl::StatusOr<v1::GetRecordsResponse> recs = node_->GetRecords(
        ns, key, static_cast<uint32_t>(limit - records.size()), next_token);
    if (!recs.ok()) return FailStatus(recs.status());
    for (v1::RecordEntry& e : *recs->mutable_records()) {
      records.push_back(std::move(e));
    }
    next_token = recs->next_page_token();
    if (recs->records_size() == 0) break;  // no progress: do not loop
  } while (!next_token.empty() && records.size() < limit);
  if (args_.json) {
    Json j;
    j["records"] = Json::array();
    for (const auto& e : records) {
      Json x = RecordJson(e.record());
      x["txid"] = DisplayHash(e.txid());
      x["block_hash"] = DisplayHash(e.block_hash());
      x["block_height"] = e.block_height();
      x["time"] = e.block_time();
      x["sender"] = e.sender_address();
      j["records"].push_back(x);
    }
    j["next_page_token"] = next_token;
    PrintJson(j);
  } else if (key && !records.empty()) {
    // One keyed record: the payload on the first line, details after.
    const auto& e = records[0];
    std::cout << PayloadForDisplay(e.record().payload()) << "\n"
              << "  (block " << e.block_height() << ", txid "
              << DisplayHash(e.txid()) << ", from " << e.sender_address()
              << ", " << FormatUnixTime(e.block_time()) << ")" << std::endl;
  } else {
    for (const auto& e : records) {
      std::cout << e.block_height() << "  " << DisplayHash(e.txid()) << "  ";
      if (e.record().has_key()) {
        std::cout << PayloadForDisplay(e.record().key()) << " = ";
      }
      std::cout << PayloadForDisplay(e.record().payload()) << "\n";
    }
    if (!next_token.empty()) {
      std::cout << "more: --page-token " << next_token << "\n";
    }
    std::cout << std::flush;
  }
  if (key && records.empty()) {
    return Fail(kExitFailure,
                absl::StrCat("no record '", *key, "' in namespace '", ns, "'"));
  }
  return kExitOk;
}

int Cli::BlockCmd() {
  int rc = 0;
  if (!WantArgs(1, 1, rc)) return rc;
  const std::string& id = pos_[0];
  std::optional<uint64_t> height;
  std::optional<Hash256> hash;
  if (id.size() == 64) {
    absl::StatusOr<Hash256> h = ParseDisplayHash(id, "HASH");
    if (!h.ok()) return Fail(kExitUsage, h.status().message());
    hash = *h;
  } else {
    absl::StatusOr<uint64_t> h = ParseUint(id, "HEIGHT");
    if (!h.ok()) {
      return Fail(kExitUsage,
                  absl::StrCat("block wants a height (decimal) or a hash (64 "
                               "hex chars), got '",
                               id, "'"));
    }
    height = *h;
  }
  if (!Connect(rc)) return rc;
  absl::StatusOr<v1::GetBlockResponse> b =
      hash ? node_->GetBlockByHash(*hash) : node_->GetBlockByHeight(*height);
  if (!b.ok()) return FailStatus(b.status());
  const v1::BlockHeader& hdr = b->block().header();
  if (args_.json) {
    Json j;
    j["hash"] = DisplayHash(b->hash());
    j["height"] = b->height();
    j["in_main_chain"] = b->in_main_chain();
    j["confirmations"] = b->confirmations();
    j["size"] = b->size_bytes();
    j["version"] = hdr.version();
    j["prev_hash"] = DisplayHash(hdr.prev_hash());
    j["merkle_root"] = DisplayHash(hdr.merkle_root());
    j["time"] = hdr.time();
    j["bits"] = HexBits(hdr.bits());
    j["nonce"] = hdr.nonce();
    j["txs"] = Json::array();
    for (int i = 0; i < b->block().transactions_size(); ++i) {
      Json x = TxJson(b->block().transactions(i));
      Json t;
      t["txid"] =
          i < b->txids_size() ? Json(DisplayHash(b->txids(i))) : Json(nullptr);
      t.update(x);
      j["txs"].push_back(t);
    }
    PrintJson(j);
  } else {
    std::cout << "hash:          " << DisplayHash(b->hash()) << "\n"
              << "height:        " << b->height() << "\n"
              << "main chain:    " << (b->in_main_chain() ? "yes" : "no")
              << "\n"
              << "confirmations: " << b->confirmations() << "\n"
              << "time:          " << hdr.time() << " ("
              << FormatUnixTime(hdr.time()) << ")\n"
              << "previous:      " << DisplayHash(hdr.prev_hash()) << "\n"
              << "merkle root:   " << DisplayHash(hdr.merkle_root()) << "\n"
              << "bits:          " << HexBits(hdr.bits()) << "\n"
              << "nonce:         " << hdr.nonce() << "\n"
              << "size:          " << b->size_bytes() << " bytes\n"
              << "transactions:  " << b->block().transactions_size() << "\n";
    for (int i = 0; i < b->block().transactions_size(); ++i) {
      std::cout << "  "
                << (i < b->txids_size() ? DisplayHash(b->txids(i))
                                        : std::string("?"))
                << "  " << TxLine(b->block().transactions(i)) << "\n";
    }
    std::cout << std::flush;
  }
  return kExitOk;
}

int Cli::Chain() {
  int rc = 0;
  if (!WantArgs(0, 0, rc)) return rc;
  std::optional<uint64_t> from, to;
  if (const std::string* f = Opt("from")) {
    absl::StatusOr<uint64_t> v = ParseUint(*f, "--from");
    if (!v.ok()) return Fail(kExitUsage, v.status().message());
    from = *v;
  }
  if (const std::string* t = Opt("to")) {
    absl::StatusOr<uint64_t> v = ParseUint(*t, "--to");
    if (!v.ok()) return Fail(kExitUsage, v.status().message());
    to = *v;
  }
  if (from && to && *from > *to) {
    return Fail(kExitUsage,
                absl::StrCat("--from ", *from, " is above --to ", *to));
  }
  if (!Connect(rc)) return rc;
  if (!from) {
    uint64_t top = 0;
    if (to) {
      top = *to;
    } else {
      absl::StatusOr<v1::GetInfoResponse> info = node_->GetInfo();
      if (!info.ok()) return FailStatus(info.status());
      top = info->height();
      to = top;
    }
    from = top >= kDefaultChainBlocks - 1 ? top - (kDefaultChainBlocks - 1) : 0;
  }
  uint64_t count = 0;
  // The node ends a GetBlocks stream after kMaxBlocksPerStream blocks (OK,
  // like the end of the chain): continue from the next height, each stream
  // with its own deadline, until `to` or the tip.
  std::optional<uint64_t> last;
  auto print = [&](const v1::GetBlocksResponse& b) {
    last = b.height();
    const v1::BlockHeader& h = b.block().header();
    if (args_.json) {
      Json j;
      j["height"] = b.height();
      j["hash"] = DisplayHash(b.hash());
      j["time"] = h.time();
      j["tx_count"] = b.block().transactions_size();
      j["prev_hash"] = DisplayHash(h.prev_hash());
      PrintJson(j);
    } else {
      std::cout << b.height() << "  " << DisplayHash(b.hash()) << "  "
                << FormatUnixTime(h.time()) << "  "
                << b.block().transactions_size() << " tx" << std::endl;
    }
    ++count;
    return true;
  };
  uint64_t next = *from;
  while (true) {
    last.reset();
    absl::Status s = node_->GetBlocks(next, to, print);
    // A continuation that starts above the tip: the chain ends there.
    if (absl::IsOutOfRange(s) && next != *from) break;
    if (!s.ok()) return FailStatus(s);
    if (!last || (to && *last >= *to)) break;
    next = *last + 1;
  }
  if (count == 0 && !args_.json) {
    std::cerr << "pbcli: no blocks in that range (the chain is shorter)\n";
  }
  return kExitOk;
}

int Cli::Tx() {
  int rc = 0;
  if (!WantArgs(1, 1, rc)) return rc;
  absl::StatusOr<Hash256> txid = ParseDisplayHash(pos_[0], "TXID");
  if (!txid.ok()) return Fail(kExitUsage, txid.status().message());
  if (!Connect(rc)) return rc;
  absl::StatusOr<v1::GetTransactionResponse> t = node_->GetTransaction(*txid);
  if (!t.ok()) return FailStatus(t.status());
  if (args_.json) {
    Json j;
    j["txid"] = txid->ToDisplayHex();
    j["status"] = t->in_mempool() ? "mempool" : "confirmed";
    j["block_hash"] =
        t->in_mempool() ? Json(nullptr) : Json(DisplayHash(t->block_hash()));
    j["block_height"] = t->block_height();
    j["confirmations"] = t->confirmations();
    j["index"] = t->index_in_block();
    j["tx"] = TxJson(t->transaction());
    PrintJson(j);
  } else {
    const v1::Transaction& tx = t->transaction();
    std::cout << "txid:    " << txid->ToDisplayHex() << "\n";
    if (t->in_mempool()) {
      std::cout << "status:  in the mempool (not yet in a block)\n";
    } else {
      std::cout << "status:  confirmed in block " << t->block_height() << " ("
                << DisplayHash(t->block_hash()) << "), " << t->confirmations()
                << " confirmation" << (t->confirmations() == 1 ? "" : "s")
                << ", position " << t->index_in_block() << "\n";
    }
    const bool coinbase = tx.kind() == v1::TRANSACTION_KIND_COINBASE;
    std::cout << "kind:    " << (coinbase ? "coinbase" : "transfer") << "\n";
    if (!coinbase) {
      std::cout << "from:    " << SenderAddressText(tx.sender_pubkey()) << "\n";
    }
    std::cout << "to:      " << AddressText(tx.recipient()) << "\n"
              << "amount:  " << tx.amount() << "\n";
    if (!coinbase) {
      std::cout << "fee:     " << tx.fee() << "\n"
                << "nonce:   " << tx.nonce() << "\n";
    }
    if (tx.has_record()) {
      std::cout << "record:  namespace " << tx.record().namespace_();
      if (tx.record().has_key()) {
        std::cout << ", key " << PayloadForDisplay(tx.record().key());
      }
      std::cout << "\n         " << PayloadForDisplay(tx.record().payload())
                << "\n";
    }
    std::cout << std::flush;
  }
  return kExitOk;
}

int Cli::Mempool() {
  int rc = 0;
  if (!WantArgs(0, 0, rc)) return rc;
  uint64_t limit = 0;
  if (const std::string* l = Opt("limit")) {
    absl::StatusOr<uint64_t> v = ParseUint(*l, "--limit");
    if (!v.ok()) return Fail(kExitUsage, v.status().message());
    limit = std::min<uint64_t>(*v, 1000);
  }
  if (!Connect(rc)) return rc;
  absl::StatusOr<v1::GetMempoolResponse> m =
      node_->GetMempool(static_cast<uint32_t>(limit));
  if (!m.ok()) return FailStatus(m.status());
  if (args_.json) {
    Json j;
    j["total_count"] = m->total_count();
    j["total_bytes"] = m->total_bytes();
    j["entries"] = Json::array();
    for (const auto& e : m->entries()) {
      Json x;
      x["txid"] = DisplayHash(e.txid());
      x["size"] = e.size_bytes();
      x["received_unix_ms"] = e.received_unix_ms();
      x["tx"] = TxJson(e.transaction());
      j["entries"].push_back(x);
    }
    PrintJson(j);
  } else {
    std::cout << m->total_count() << " transaction"
              << (m->total_count() == 1 ? "" : "s") << ", " << m->total_bytes()
              << " bytes\n";
    for (const auto& e : m->entries()) {
      std::cout << "  " << DisplayHash(e.txid()) << "  "
                << TxLine(e.transaction()) << "\n";
    }
    std::cout << std::flush;
  }
  return kExitOk;
}

int Cli::Peers() {
  int rc = 0;
  if (!WantArgs(0, 0, rc)) return rc;
  if (!Connect(rc)) return rc;
  absl::StatusOr<v1::ListPeersResponse> p = node_->ListPeers();
  if (!p.ok()) return FailStatus(p.status());
  auto info_json = [](const v1::PeerInfo& i) {
    Json x;
    x["node_id"] = i.node_id();
    x["address"] = i.address();
    x["role"] = RoleName(i.role());
    x["height"] = i.height();
    x["tip_hash"] = DisplayHash(i.tip_hash());
    x["last_seen_unix_ms"] = i.last_seen_unix_ms();
    return x;
  };
  if (args_.json) {
    Json j;
    j["connected"] = Json::array();
    for (const auto& c : p->connected()) {
      Json x = info_json(c.info());
      x["inbound"] = c.inbound();
      x["misbehavior_score"] = c.misbehavior_score();
      x["connected_since_unix_ms"] = c.connected_since_unix_ms();
      j["connected"].push_back(x);
    }
    j["known"] = Json::array();
    for (const auto& k : p->known()) j["known"].push_back(info_json(k));
    PrintJson(j);
  } else {
    std::cout << p->connected_size() << " connected peer"
              << (p->connected_size() == 1 ? "" : "s") << "\n";
    for (const auto& c : p->connected()) {
      std::cout << "  " << c.info().address() << "  "
                << (c.inbound() ? "inbound " : "outbound") << "  "
                << RoleName(c.info().role()) << "  height " << c.info().height()
                << "  id " << c.info().node_id() << "\n";
    }
    std::cout << p->known_size() << " other known peer"
              << (p->known_size() == 1 ? "" : "s") << "\n";
    for (const auto& k : p->known()) {
      std::cout << "  " << k.address() << "  " << RoleName(k.role()) << "  id "
                << k.node_id() << "\n";
    }
    std::cout << std::flush;
  }
  return kExitOk;
}

int Cli::Tips() {
  int rc = 0;
  if (!WantArgs(0, 0, rc)) return rc;
  uint64_t limit = 0;
  if (const std::string* l = Opt("limit")) {
    absl::StatusOr<uint64_t> v = ParseUint(*l, "--limit");
    if (!v.ok()) return Fail(kExitUsage, v.status().message());
    limit = std::min<uint64_t>(*v, 100);
  }
  if (!Connect(rc)) return rc;
  absl::StatusOr<v1::GetChainTipsResponse> t =
      node_->GetChainTips(static_cast<uint32_t>(limit));
  if (!t.ok()) return FailStatus(t.status());
  auto status_name = [](v1::ChainTipStatus s) {
    switch (s) {
      case v1::CHAIN_TIP_STATUS_ACTIVE:
        return "active";
      case v1::CHAIN_TIP_STATUS_VALID_FORK:
        return "valid-fork";
      case v1::CHAIN_TIP_STATUS_INVALID:
        return "invalid";
      default:
        return "unknown";
    }
  };
  if (args_.json) {
    Json j;
    j["tips"] = Json::array();
    for (const auto& tip : t->tips()) {
      Json x;
      x["hash"] = DisplayHash(tip.hash());
      x["height"] = tip.height();
      x["branch_length"] = tip.branch_length();
      x["fork_hash"] = DisplayHash(tip.fork_hash());
      x["status"] = status_name(tip.status());
      x["chain_work"] = tip.chain_work();
      x["time"] = tip.time();
      j["tips"].push_back(x);
    }
    PrintJson(j);
  } else {
    for (const auto& tip : t->tips()) {
      std::cout << tip.height() << "  " << DisplayHash(tip.hash()) << "  "
                << status_name(tip.status()) << "  branch length "
                << tip.branch_length() << "\n";
    }
    std::cout << std::flush;
  }
  return kExitOk;
}

int Cli::Info() {
  int rc = 0;
  if (!WantArgs(0, 0, rc)) return rc;
  if (!Connect(rc)) return rc;
  absl::StatusOr<v1::GetInfoResponse> i = node_->GetInfo();
  if (!i.ok()) return FailStatus(i.status());
  if (args_.json) {
    Json j;
    j["height"] = i->height();
    j["tip_hash"] = DisplayHash(i->tip_hash());
    j["tip_time"] = i->tip_time();
    j["tip_bits"] = HexBits(i->tip_bits());
    j["chain_work"] = i->chain_work();
    j["chain_id"] = i->chain_id();
    j["genesis_hash"] = DisplayHash(i->genesis_hash());
    j["version"] = i->version();
    j["protocol_version"] = i->protocol_version();
    j["node_id"] = i->node_id();
    j["role"] = RoleName(i->role());
    j["peer_count"] = i->peer_count();
    j["mempool_size"] = i->mempool_size();
    j["mempool_bytes"] = i->mempool_bytes();
    j["mining"] = i->mining();
    j["syncing"] = i->syncing();
    j["network_hash_rate"] = i->network_hash_rate();
    j["local_hash_rate"] = i->local_hash_rate();
    PrintJson(j);
  } else {
    std::cout << "node:          " << node_->address() << " (" << i->version()
              << ", " << RoleName(i->role()) << ", id " << i->node_id() << ")\n"
              << "chain id:      " << i->chain_id() << "\n"
              << "genesis:       " << DisplayHash(i->genesis_hash()) << "\n"
              << "height:        " << i->height() << "\n"
              << "tip:           " << DisplayHash(i->tip_hash()) << "\n"
              << "tip time:      " << FormatUnixTime(i->tip_time()) << "\n"
              << "tip bits:      " << HexBits(i->tip_bits()) << "\n"
              << "chain work:    " << i->chain_work() << "\n"
              << "network rate:  " << i->network_hash_rate() << " H/s\n"
              << "mining:        "
              << (i->mining()
                      ? absl::StrCat("yes, ", i->local_hash_rate(), " H/s")
                      : std::string("no"))
              << "\n"
              << "syncing:       " << (i->syncing() ? "yes" : "no") << "\n"
              << "peers:         " << i->peer_count() << "\n"
              << "mempool:       " << i->mempool_size() << " tx, "
              << i->mempool_bytes() << " bytes" << std::endl;
  }
  return kExitOk;
}

int Cli::Watch() {
  int rc = 0;
  if (!WantArgs(0, 0, rc)) return rc;

  // Ctrl-C / SIGTERM: a thread waits for the signal and cancels the stream
  // (gRPC calls are not allowed inside a signal handler). Blocked before
  // gRPC starts its threads, so they inherit the mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  if (!Connect(rc)) return rc;
  std::atomic<bool> interrupted{false};
  std::atomic<bool> done{false};
  NodeClient* node = node_.get();
  std::thread waiter([&] {
    while (true) {
      timespec ts{0, 200'000'000};
      const int sig = sigtimedwait(&set, nullptr, &ts);
      if (sig == SIGINT || sig == SIGTERM) {
        interrupted = true;
        node->CancelStreams();
        return;
      }
      if (done) return;
    }
  });

  absl::Status s = node_->WatchTips(
      /*include_current=*/true, [&](const v1::WatchTipsResponse& t) {
        if (args_.json) {
          Json j;
          j["height"] = t.height();
          j["hash"] = DisplayHash(t.hash());
          j["previous_tip_hash"] = DisplayHash(t.previous_tip_hash());
          j["reorg_depth"] = t.reorg_depth();
          j["time"] = t.header().time();
          j["tx_count"] = t.tx_count();
          j["chain_work"] = t.chain_work();
          PrintJson(j);
        } else {
          if (t.reorg_depth() > 0) {
            std::cout << "REORG: " << t.reorg_depth() << " block"
                      << (t.reorg_depth() == 1 ? "" : "s")
                      << " disconnected; old tip "
                      << DisplayHash(t.previous_tip_hash()) << "\n";
          }
          std::cout << t.height() << "  " << DisplayHash(t.hash()) << "  "
                    << FormatUnixTime(t.header().time()) << "  " << t.tx_count()
                    << " tx" << std::endl;
        }
        return true;
      });
  done = true;
  waiter.join();
  if (interrupted) return kExitOk;
  return FailStatus(s);
}

// --- health (issue 17) ---
// grpc.health.v1.Health/Check over the node client's channel (a generic
// stub: the health messages come from pbchain_health_proto, no generated
// service stub is needed).
int Cli::Health() {
  int rc = 0;
  if (!WantArgs(0, 0, rc)) return rc;
  if (!Connect(rc)) return rc;
  const std::string* service_opt = Opt("service");
  const std::string service = service_opt ? *service_opt : "";
  if (service.size() > kMaxHealthServiceNameBytes) {
    return Fail(kExitUsage, absl::StrCat("--service: longer than ",
                                         kMaxHealthServiceNameBytes, " bytes"));
  }
  grpc::TemplatedGenericStub<grpc::health::v1::HealthCheckRequest,
                             grpc::health::v1::HealthCheckResponse>
      stub(node_->channel());
  grpc::ClientContext ctx;
  ctx.set_deadline(
      absl::ToChronoTime(absl::Now() + node_->options().call_timeout));
  grpc::health::v1::HealthCheckRequest request;
  request.set_service(service);
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status;
  absl::Notification finished;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                 &request, &response, [&](grpc::Status s) {
                   status = std::move(s);
                   finished.Notify();
                 });
  finished.WaitForNotification();
  const std::string shown = service.empty() ? "\"\"" : service;
  if (!status.ok()) {
    const char* what = status.error_code() == grpc::StatusCode::NOT_FOUND
                           ? "unknown service: "
                           : "";
    return Fail(kExitFailure,
                absl::StrCat("health of ", node_->address(), " (service ",
                             shown, "): ", what, status.error_message(), " (",
                             absl::StatusCodeToString(static_cast<
                                 absl::StatusCode>(status.error_code())),
                             ")"));
  }
  const std::string name =
      grpc::health::v1::HealthCheckResponse::ServingStatus_Name(
          response.status());
  if (args_.json) {
    Json j;
    j["node"] = node_->address();
    j["service"] = service;
    j["status"] = name;
    PrintJson(j);
  } else {
    std::cout << name << std::endl;
  }
  if (response.status() != grpc::health::v1::HealthCheckResponse::SERVING) {
    std::cerr << "pbcli: health of " << node_->address() << " (service "
              << shown << "): " << name << "\n";
    return kExitFailure;
  }
  return kExitOk;
}
// --- end health ---

// ---------------------------------------------------------------------------
// admin: the node's AdminService.

namespace {

// The admin subcommands: the options each takes (besides --admin, --cookie,
// --datadir) and how many arguments.
struct AdminSubcommand {
  std::vector<std::string> options;
  size_t min_args;
  size_t max_args;
};

const std::map<std::string, AdminSubcommand>& AdminSubcommands() {
  static const auto* subs = new std::map<std::string, AdminSubcommand>{
      {"add-peer", {{}, 1, 1}},
      {"disconnect", {{}, 1, 1}},
      {"ban", {{"duration", "reason"}, 1, 1}},
      {"unban", {{}, 1, 1}},
      {"bans", {{}, 0, 0}},
      {"mining", {{"threads"}, 1, 1}},
      {"backup", {{}, 0, 0}},
      {"stop", {{}, 0, 0}},
      {"log-level", {{"verbosity", "minloglevel"}, 0, 0}},
  };
  return *subs;
}

std::string UnixTime(int64_t seconds) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC",
                          absl::FromUnixSeconds(seconds), absl::UTCTimeZone());
}

// A whole number in [min, max] given to --NAME.
absl::StatusOr<int> SmallNumber(const std::string& name,
                                const std::string& text, int min, int max) {
  int value = 0;
  if (!IsAllDigits(text) || !absl::SimpleAtoi(text, &value) || value < min ||
      value > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " must be a whole number ", min, "..", max,
                     ", got '", text, "'"));
  }
  return value;
}

}  // namespace

int Cli::Admin() {
  if (pos_.empty()) {
    return line_.UsageError(absl::StrCat(
        "admin needs a subcommand: add-peer, disconnect, ban, unban, bans, "
        "mining, backup, stop or log-level",
        line_.Hint()));
  }
  const std::string sub = pos_[0];
  const std::vector<std::string> args(pos_.begin() + 1, pos_.end());
  auto it = AdminSubcommands().find(sub);
  if (it == AdminSubcommands().end()) {
    return line_.UsageError(
        absl::StrCat("unknown admin subcommand '", sub, "'", line_.Hint()));
  }
  for (const char* name :
       {"duration", "reason", "threads", "verbosity", "minloglevel"}) {
    const std::vector<std::string>& allowed = it->second.options;
    if (Opt(name) != nullptr &&
        std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      return line_.UsageError(
          absl::StrCat("admin ", sub, " does not take --", name, line_.Hint()));
    }
  }
  if (args.size() < it->second.min_args || args.size() > it->second.max_args) {
    return line_.UsageError(
        absl::StrCat("admin ", sub, " takes ", it->second.min_args,
                     it->second.min_args == 1 ? " argument" : " arguments",
                     ", got ", args.size(), line_.Hint()));
  }
  AdminClientOptions options;
  if (const std::string* a = Opt("admin")) options.address = *a;
  if (const std::string* d = Opt("datadir")) options.datadir = *d;
  if (const std::string* c = Opt("cookie")) options.cookie_file = *c;
  if (const std::string* t = Opt("timeout")) {
    absl::StatusOr<absl::Duration> d = ParseTimeout(*t, "timeout");
    if (!d.ok()) return Fail(kExitUsage, d.status().message());
    options.call_timeout = *d;
  }
  // The global TLS flags: the admin listener serves TLS with the node's
  // certificate when the node has --tls-cert.
  if (args_.tls.enabled() || !args_.tls.cert.empty() ||
      !args_.tls.key.empty()) {
    absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
        MakeChannelCredentials(args_.tls);
    if (!credentials.ok()) {
      return Fail(kExitUsage, credentials.status().message());
    }
    options.credentials = *std::move(credentials);
  }
  absl::StatusOr<std::unique_ptr<AdminClient>> admin =
      AdminClient::Create(options);
  if (!admin.ok()) return FailStatus(admin.status());
  return AdminCommand(**admin, sub, args);
}

int Cli::AdminCommand(AdminClient& admin, const std::string& sub,
                      const std::vector<std::string>& args) {
  Json j;
  std::string text;
  if (sub == "add-peer") {
    absl::StatusOr<v1::AddPeerResponse> r = admin.AddPeer(args[0]);
    if (!r.ok()) return FailStatus(r.status());
    j["address"] = args[0];
    j["already_connected"] = r->already_connected();
    text = absl::StrCat(
        "added peer ", args[0],
        r->already_connected() ? " (connected already)" : "; dialing it now");
  } else if (sub == "disconnect") {
    absl::StatusOr<v1::DisconnectPeerResponse> r =
        admin.DisconnectPeer(args[0]);
    if (!r.ok()) return FailStatus(r.status());
    j["target"] = args[0];
    j["sessions_closed"] = r->sessions_closed();
    j["addresses_forgotten"] = r->addresses_forgotten();
    text = absl::StrCat("disconnected ", args[0], ": ", r->sessions_closed(),
                        " session(s) closed, ", r->addresses_forgotten(),
                        " address(es) forgotten");
  } else if (sub == "ban") {
    absl::Duration duration = absl::ZeroDuration();
    if (const std::string* d = Opt("duration")) {
      absl::StatusOr<absl::Duration> parsed = ParseTimeout(*d, "duration");
      if (!parsed.ok()) return Fail(kExitUsage, parsed.status().message());
      if (*parsed < absl::Seconds(1)) {
        return Fail(kExitUsage, "--duration must be at least 1s");
      }
      duration = *parsed;
    }
    const std::string* reason = Opt("reason");
    absl::StatusOr<v1::BanPeerResponse> r =
        admin.BanPeer(args[0], duration, reason ? *reason : "");
    if (!r.ok()) return FailStatus(r.status());
    j["target"] = args[0];
    j["until"] = r->until();
    j["sessions_closed"] = r->sessions_closed();
    text = absl::StrCat("banned ", args[0], " until ", UnixTime(r->until()),
                        " (", r->sessions_closed(), " session(s) closed)");
  } else if (sub == "unban") {
    if (absl::Status s = admin.UnbanPeer(args[0]); !s.ok()) {
      return FailStatus(s);
    }
    j["target"] = args[0];
    text = absl::StrCat("unbanned ", args[0]);
  } else if (sub == "bans") {
    absl::StatusOr<v1::ListBansResponse> r = admin.ListBans();
    if (!r.ok()) return FailStatus(r.status());
    j["bans"] = Json::array();
    text = absl::StrCat(r->bans_size(), r->bans_size() == 1 ? " ban" : " bans");
    for (const v1::Ban& b : r->bans()) {
      j["bans"].push_back({{"target", b.target()},
                           {"reason", b.reason()},
                           {"until", b.until()}});
      absl::StrAppend(&text, "\n  ", b.target(), "  until ",
                      UnixTime(b.until()), "  ", b.reason());
    }
  } else if (sub == "mining") {
    if (args[0] != "on" && args[0] != "off") {
      return line_.UsageError(absl::StrCat(
          "admin mining takes on or off, got '", args[0], "'", line_.Hint()));
    }
    uint32_t threads = 0;
    if (const std::string* t = Opt("threads")) {
      absl::StatusOr<int> n = SmallNumber("threads", *t, 1, 64);
      if (!n.ok()) return Fail(kExitUsage, n.status().message());
      threads = static_cast<uint32_t>(*n);
    }
    absl::StatusOr<v1::SetMiningResponse> r =
        admin.SetMining(args[0] == "on", threads);
    if (!r.ok()) return FailStatus(r.status());
    j["enabled"] = r->enabled();
    j["threads"] = r->threads();
    text = absl::StrCat("mining ", r->enabled() ? "on" : "off", " (",
                        r->threads(), " thread(s))");
  } else if (sub == "backup") {
    absl::StatusOr<v1::BackupResponse> r = admin.Backup();
    if (!r.ok()) return FailStatus(r.status());
    j["backup_id"] = r->backup_id();
    j["backup_dir"] = r->backup_dir();
    text =
        absl::StrCat("backup ", r->backup_id(), " taken in ", r->backup_dir());
  } else if (sub == "stop") {
    if (absl::Status s = admin.StopNode(); !s.ok()) return FailStatus(s);
    j["stopping"] = true;
    text = "the node is stopping";
  } else if (sub == "log-level") {
    std::optional<int> verbosity;
    std::optional<int> min_level;
    if (const std::string* v = Opt("verbosity")) {
      absl::StatusOr<int> n = SmallNumber("verbosity", *v, 0, 10);
      if (!n.ok()) return Fail(kExitUsage, n.status().message());
      verbosity = *n;
    }
    if (const std::string* v = Opt("minloglevel")) {
      absl::StatusOr<int> n = SmallNumber("minloglevel", *v, 0, 3);
      if (!n.ok()) return Fail(kExitUsage, n.status().message());
      min_level = *n;
    }
    absl::StatusOr<v1::SetLogLevelResponse> r =
        admin.SetLogLevel(verbosity, min_level);
    if (!r.ok()) return FailStatus(r.status());
    j["previous_verbosity"] = r->previous_verbosity();
    j["previous_min_log_level"] = r->previous_min_log_level();
    j["verbosity"] = r->verbosity();
    j["min_log_level"] = r->min_log_level();
    text = absl::StrCat("verbosity ", r->verbosity(), ", min log level ",
                        r->min_log_level());
    if (verbosity || min_level) {
      absl::StrAppend(&text, " (was ", r->previous_verbosity(), ", ",
                      r->previous_min_log_level(), ")");
    }
  }
  if (args_.json) {
    PrintJson(j);
  } else {
    std::cout << text << std::endl;
  }
  return kExitOk;
}

}  // namespace
}  // namespace pbchain::client

int main(int argc, char** argv) {
  pbchain::client::QuietGrpcLogging();
  return pbchain::client::Cli().Run(argc, argv);
}
