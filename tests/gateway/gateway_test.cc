// The HTTP/JSON gateway of a real pbnode (--http on a free loopback port),
// driven with cpp-httplib's client: every route of the contract in
// docs/OPERATIONS.md, its errors and limits, the event stream, the embedded
// explorer, hostile requests (bodies, headers, connection floods), and a
// prompt exit on SIGTERM with connections open in every state.
//
// The suite shares two nodes on one genesis made by `pbtool genesis` funding
// a key made by `pbtool keygen`: a mining node (blocks, records, event
// stream) and a node that does not mine (its mempool keeps what is
// submitted). Every process is stopped and the temp dir removed.
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "chain/address.h"
#include "chain/block.h"
#include "chain/bytes.h"
#include "chain/keys.h"
#include "chain/transaction.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "pbchain/v1/node.pb.h"
#include "proto/convert.h"
#include "tests/gateway/raw_connection.h"
#include "tests/util/process.h"

namespace pbchain {
namespace {

using json = nlohmann::json;
using testing::ChildProcess;
using testing::TempDir;

const std::string kBin = PBCHAIN_BIN_DIR;

// --- small helpers ---------------------------------------------------------

// Runs a command, returns its stdout (first line) or nullopt on failure.
std::optional<std::string> RunTool(const std::vector<std::string>& args,
                                   const std::string& log) {
  ChildProcess p(kBin + "/pbtool", args, log);
  std::optional<std::string> line = p.ReadLine(std::chrono::seconds(60));
  if (p.Wait(std::chrono::seconds(60)) != 0) return std::nullopt;
  return line;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Base64Decode(const std::string& in) {
  static const std::string kChars =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -8;
  for (char c : in) {
    if (c == '=') break;
    size_t pos = kChars.find(c);
    if (pos == std::string::npos) return "(bad base64)";
    val = (val << 6) + static_cast<int>(pos);
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((val >> bits) & 0xff));
      bits -= 8;
    }
  }
  return out;
}

std::string Base64Encode(const std::string& in) {
  static const char* kChars =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  int val = 0, bits = -6;
  for (unsigned char c : in) {
    val = (val << 8) + c;
    bits += 8;
    while (bits >= 0) {
      out.push_back(kChars[(val >> bits) & 0x3f]);
      bits -= 6;
    }
  }
  if (bits > -6) out.push_back(kChars[((val << 8) >> (bits + 8)) & 0x3f]);
  while (out.size() % 4) out.push_back('=');
  return out;
}

// Percent-encodes everything but unreserved characters (for query values).
std::string PercentEncode(const std::string& in) {
  std::string out;
  for (unsigned char c : in) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += "%" + HexEncode(ByteSpan(&c, 1));
    }
  }
  return out;
}

// A hash in the JSON mapping (base64 of the internal order) in display form.
std::string DisplayFromBase64(const std::string& b64) {
  std::string raw = Base64Decode(b64);
  std::reverse(raw.begin(), raw.end());
  return HexEncode(AsBytes(raw));
}

std::string ToProtoJson(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions options;
  options.always_print_primitive_fields = true;
  std::string out;
  EXPECT_TRUE(
      google::protobuf::util::MessageToJsonString(m, &out, options).ok());
  return out;
}

// Polls `done` every 100 ms for up to `limit` (a bounded wait).
bool WaitFor(const std::function<bool()>& done,
             std::chrono::seconds limit = std::chrono::seconds(60)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

using ::pbchain::testing::RawConnection;

// Opens GET /v1/events/tips on a raw connection and reads up to the first
// event; null if the answer is not 200 (e.g. 429) or no event comes.
std::unique_ptr<RawConnection> OpenEventStream(int port) {
  auto c = std::make_unique<RawConnection>(port);
  if (!c->Send("GET /v1/events/tips HTTP/1.1\r\nHost: x\r\n\r\n") ||
      !c->ReadUntil("\r\n\r\n", std::chrono::seconds(10)) ||
      c->received().rfind("HTTP/1.1 200 ", 0) != 0 ||
      !c->ReadUntil("event: tip", std::chrono::seconds(10))) {
    return nullptr;
  }
  return c;
}

// The status code of a raw response ("HTTP/1.1 413 ..."), 0 if none.
int RawStatus(const std::string& received) {
  if (received.rfind("HTTP/1.", 0) != 0 || received.size() < 12) return 0;
  return std::atoi(received.substr(9, 3).c_str());
}

// The JSON body of a raw response (after the blank line), null if none.
json RawJson(const std::string& received) {
  const size_t start = received.find("\r\n\r\n");
  if (start == std::string::npos) return json();
  return json::parse(received.substr(start + 4), nullptr, false);
}

// A server that closes a connection while the test still writes must not
// kill the test with SIGPIPE (httplib's client does not ask for
// MSG_NOSIGNAL).
[[maybe_unused]] const bool kSigpipeIgnored = [] {
  std::signal(SIGPIPE, SIG_IGN);
  return true;
}();

// --- the nodes -------------------------------------------------------------

struct Node {
  std::unique_ptr<ChildProcess> process;
  std::string grpc_address;
  std::string http_host;
  int http_port = 0;
  std::string log;
};

// Starts pbnode with --http on a free loopback port; checks the two stdout
// lines of the contract.
Node StartNode(const TempDir& dir, const std::string& name,
               const std::string& genesis,
               const std::vector<std::string>& extra) {
  Node n;
  n.log = dir.Sub(name + ".log");
  std::vector<std::string> args = {
      "--listen=127.0.0.1:0", "--datadir=" + dir.Sub(name),
      "--genesis=" + genesis, "--http=127.0.0.1:0"};
  args.insert(args.end(), extra.begin(), extra.end());
  n.process = std::make_unique<ChildProcess>(kBin + "/pbnode", args, n.log);
  std::optional<std::string> grpc_line =
      n.process->ReadLine(std::chrono::seconds(30));
  std::smatch m;
  if (!grpc_line ||
      !std::regex_search(*grpc_line, m,
                         std::regex("^pbnode listening on (\\S+)$"))) {
    ADD_FAILURE() << "no gRPC listening line; got: "
                  << grpc_line.value_or("(nothing)") << "\n"
                  << ReadFile(n.log);
    return n;
  }
  n.grpc_address = m[1];
  std::optional<std::string> http_line =
      n.process->ReadLine(std::chrono::seconds(30));
  if (!http_line ||
      !std::regex_search(
          *http_line, m,
          std::regex("^pbnode http gateway listening on ([0-9.]+):([0-9]+) "
                     "\\(explorer: http://([0-9.]+):([0-9]+)/\\)$"))) {
    ADD_FAILURE() << "no http gateway line; got: "
                  << http_line.value_or("(nothing)") << "\n"
                  << ReadFile(n.log);
    return n;
  }
  EXPECT_EQ(m[1].str(), m[3].str());
  EXPECT_EQ(m[2].str(), m[4].str());
  n.http_host = m[1];
  n.http_port = std::stoi(m[2]);
  return n;
}

class GatewayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("gateway");
    const std::string log = dir_->Sub("pbtool.log");
    std::optional<std::string> funded =
        RunTool({"keygen", "--out", dir_->Sub("funded.json")}, log);
    std::optional<std::string> payee =
        RunTool({"keygen", "--out", dir_->Sub("payee.json")}, log);
    ASSERT_TRUE(funded && payee) << ReadFile(log);
    funded_address_ = *funded;
    payee_address_ = *payee;
    json key = json::parse(ReadFile(dir_->Sub("funded.json")));
    absl::StatusOr<Bytes> seed = HexDecode(key["seed"].get<std::string>());
    ASSERT_TRUE(seed.ok());
    absl::StatusOr<PrivateKey> k = PrivateKey::FromSeed(*seed);
    ASSERT_TRUE(k.ok());
    funded_key_ = new PrivateKey(*k);
    ASSERT_EQ(AddressFromPublicKey(k->public_key()).ToText(), funded_address_);
    genesis_ = dir_->Sub("genesis.json");
    // pbtool's default (devnet-easy) bits; short interval so blocks come fast.
    ASSERT_TRUE(RunTool({"genesis", "--out", genesis_, "--chain-id",
                         "pbchain-gateway", "--target-interval-ms", "300",
                         "--alloc", funded_address_ + "=1000000"},
                        log))
        << ReadFile(log);
    miner_ =
        new Node(StartNode(*dir_, "miner", genesis_,
                           {"--mine", "--miner-address=" + payee_address_}));
    idle_ = new Node(StartNode(*dir_, "idle", genesis_, {}));
  }

  static void TearDownTestSuite() {
    for (Node* n : {miner_, idle_}) {
      if (n == nullptr) continue;
      if (n->process) {
        n->process->Kill(SIGTERM);
        EXPECT_EQ(n->process->Wait(std::chrono::seconds(30)), 0);
      }
      delete n;
    }
    miner_ = idle_ = nullptr;
    delete funded_key_;
    funded_key_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(miner_ != nullptr && miner_->http_port != 0);
    ASSERT_TRUE(idle_ != nullptr && idle_->http_port != 0);
  }

  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "--- miner log tail ---\n"
                << Tail(ReadFile(miner_->log)) << "--- idle log tail ---\n"
                << Tail(ReadFile(idle_->log));
    }
  }

  static std::string Tail(const std::string& s) {
    return s.size() > 3000 ? s.substr(s.size() - 3000) : s;
  }

  static std::unique_ptr<httplib::Client> Client(const Node& n) {
    auto c = std::make_unique<httplib::Client>(n.http_host, n.http_port);
    c->set_read_timeout(std::chrono::seconds(20));
    c->set_write_timeout(std::chrono::seconds(20));
    return c;
  }

  // GET `path` on `n`: status and parsed JSON body (null if not JSON).
  static std::pair<int, json> GetJson(const Node& n, const std::string& path) {
    httplib::Result r = Client(n)->Get(path.c_str());
    if (!r) {
      ADD_FAILURE() << "GET " << path << ": " << httplib::to_string(r.error());
      return {0, json()};
    }
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json") << path;
    return {r->status, json::parse(r->body, nullptr, false)};
  }

  static std::pair<int, json> PostJson(const Node& n, const std::string& path,
                                       const std::string& body) {
    httplib::Result r = Client(n)->Post(path.c_str(), body, "application/json");
    if (!r) {
      ADD_FAILURE() << "POST " << path << ": " << httplib::to_string(r.error());
      return {0, json()};
    }
    return {r->status, json::parse(r->body, nullptr, false)};
  }

  // Checks the error shape {"code":N,"status":"NAME","message":"..."}.
  static void ExpectError(const std::pair<int, json>& got, int http, int code,
                          const std::string& status,
                          const std::string& message_part = "") {
    EXPECT_EQ(got.first, http) << got.second.dump();
    ASSERT_TRUE(got.second.is_object()) << got.second.dump();
    EXPECT_EQ(got.second.value("code", -1), code) << got.second.dump();
    EXPECT_EQ(got.second.value("status", ""), status) << got.second.dump();
    ASSERT_TRUE(got.second.contains("message"));
    EXPECT_NE(got.second["message"].get<std::string>().find(message_part),
              std::string::npos)
        << got.second.dump();
  }

  static uint64_t Height(const Node& n) {
    auto [status, info] = GetJson(n, "/v1/info");
    EXPECT_EQ(status, 200);
    return std::stoull(info.value("height", "0"));
  }

  // A signed transfer from the funded key with the next nonce `n` reports.
  static Transaction Transfer(const Node& n, uint64_t amount,
                              std::optional<DataRecord> record = {}) {
    auto [status, account] = GetJson(n, "/v1/accounts/" + funded_address_);
    EXPECT_EQ(status, 200) << account.dump();
    Transaction tx;
    tx.kind = TxKind::kTransfer;
    tx.chain_id = "pbchain-gateway";
    tx.recipient = *Address::FromText(payee_address_);
    tx.amount = amount;
    tx.fee = 1;
    tx.nonce = std::stoull(account.value("pendingNonce", "0"));
    tx.record = std::move(record);
    tx.Sign(*funded_key_);
    return tx;
  }

  static std::string SubmitBody(const Transaction& tx) {
    v1::SubmitTransactionRequest req;
    *req.mutable_transaction() = TransactionToProto(tx);
    return ToProtoJson(req);
  }

  static TempDir* dir_;
  static std::string genesis_;
  static std::string funded_address_;
  static std::string payee_address_;
  static PrivateKey* funded_key_;
  static Node* miner_;
  static Node* idle_;
};

TempDir* GatewayTest::dir_ = nullptr;
std::string GatewayTest::genesis_;
std::string GatewayTest::funded_address_;
std::string GatewayTest::payee_address_;
PrivateKey* GatewayTest::funded_key_ = nullptr;
Node* GatewayTest::miner_ = nullptr;
Node* GatewayTest::idle_ = nullptr;

// --- routes ----------------------------------------------------------------

TEST_F(GatewayTest, Info) {
  auto [status, info] = GetJson(*miner_, "/v1/info");
  ASSERT_EQ(status, 200) << info.dump();
  // u64 as decimal strings, bytes as base64 of 32 bytes, defaults printed.
  ASSERT_TRUE(info["height"].is_string()) << info.dump();
  EXPECT_EQ(Base64Decode(info["tipHash"]).size(), 32u);
  EXPECT_EQ(Base64Decode(info["genesisHash"]).size(), 32u);
  EXPECT_EQ(info["chainId"], "pbchain-gateway");
  EXPECT_EQ(info["version"], "pbnode/0.1.0");
  EXPECT_EQ(info["protocolVersion"], 1);
  EXPECT_EQ(info["peerCount"], 0);
  EXPECT_TRUE(info["mempoolSize"].is_string());
  EXPECT_TRUE(info["syncing"].is_boolean());
  EXPECT_TRUE(info.contains("chainWork") && info.contains("tipBits"));
  // The same genesis as the other node.
  auto [status2, idle_info] = GetJson(*idle_, "/v1/info");
  ASSERT_EQ(status2, 200);
  EXPECT_EQ(idle_info["genesisHash"], info["genesisHash"]);
  EXPECT_EQ(idle_info["height"], "0");
}

TEST_F(GatewayTest, BlocksRange) {
  ASSERT_TRUE(
      WaitFor([] { return Height(*miner_) >= 105; }, std::chrono::seconds(120)))
      << "the miner did not reach height 105";

  // Defaults: the newest 20 blocks, ascending, ending at tipHeight.
  {
    auto [status, body] = GetJson(*miner_, "/v1/blocks");
    ASSERT_EQ(status, 200) << body.dump().substr(0, 500);
    const auto& blocks = body["blocks"];
    ASSERT_EQ(blocks.size(), 20u);
    const uint64_t tip = std::stoull(body["tipHeight"].get<std::string>());
    for (size_t i = 0; i < blocks.size(); ++i) {
      EXPECT_EQ(std::stoull(blocks[i]["height"].get<std::string>()),
                tip - 19 + i);
      EXPECT_EQ(Base64Decode(blocks[i]["hash"]).size(), 32u);
      EXPECT_TRUE(blocks[i]["block"].contains("header"));
    }
    EXPECT_FALSE(body.contains("nextFrom"));
  }
  // from/to inclusive.
  {
    auto [status, body] = GetJson(*miner_, "/v1/blocks?from=0&to=4");
    ASSERT_EQ(status, 200);
    ASSERT_EQ(body["blocks"].size(), 5u);
    EXPECT_EQ(body["blocks"][0]["height"], "0");
    EXPECT_EQ(body["blocks"][4]["height"], "4");
    EXPECT_FALSE(body.contains("nextFrom"));
  }
  // Only "to": the 20 blocks ending there.
  {
    auto [status, body] = GetJson(*miner_, "/v1/blocks?to=30");
    ASSERT_EQ(status, 200);
    ASSERT_EQ(body["blocks"].size(), 20u);
    EXPECT_EQ(body["blocks"][0]["height"], "11");
    EXPECT_EQ(body["blocks"][19]["height"], "30");
  }
  // More than 100 asked: cut at 100, nextFrom says where to go on.
  {
    auto [status, body] = GetJson(*miner_, "/v1/blocks?from=0&to=104");
    ASSERT_EQ(status, 200);
    ASSERT_EQ(body["blocks"].size(), 100u);
    EXPECT_EQ(body["blocks"][99]["height"], "99");
    EXPECT_EQ(body.value("nextFrom", ""), "100");
    auto [status2, rest] = GetJson(*miner_, "/v1/blocks?from=100&to=104");
    ASSERT_EQ(status2, 200);
    ASSERT_EQ(rest["blocks"].size(), 5u);
    EXPECT_EQ(rest["blocks"][0]["height"], "100");
    EXPECT_FALSE(rest.contains("nextFrom"));
  }
  // Only "from": up to the tip, at most 100.
  {
    auto [status, body] = GetJson(*miner_, "/v1/blocks?from=2");
    ASSERT_EQ(status, 200);
    ASSERT_EQ(body["blocks"].size(), 100u);
    EXPECT_EQ(body["blocks"][0]["height"], "2");
    EXPECT_EQ(body.value("nextFrom", ""), "102");
  }
  // Bad parameters are 400 naming the parameter.
  ExpectError(GetJson(*miner_, "/v1/blocks?from=abc"), 400, 3,
              "INVALID_ARGUMENT", "'from'");
  ExpectError(GetJson(*miner_, "/v1/blocks?to=-1"), 400, 3, "INVALID_ARGUMENT",
              "'to'");
  ExpectError(GetJson(*miner_, "/v1/blocks?from=1e3"), 400, 3,
              "INVALID_ARGUMENT", "'from'");
  ExpectError(GetJson(*miner_, "/v1/blocks?from=10&to=5"), 400, 3,
              "INVALID_ARGUMENT", "'to'");
  ExpectError(GetJson(*miner_, "/v1/blocks?from=99999999999999999999999"), 400,
              3, "INVALID_ARGUMENT", "'from'");
  // Above the tip: the node's OUT_OF_RANGE.
  ExpectError(GetJson(*miner_, "/v1/blocks?from=18446744073709551615"), 400, 11,
              "OUT_OF_RANGE");
}

TEST_F(GatewayTest, BlockByHeightAndHash) {
  ASSERT_TRUE(WaitFor([] { return Height(*miner_) >= 3; }));
  auto [status, by_height] = GetJson(*miner_, "/v1/blocks/3");
  ASSERT_EQ(status, 200) << by_height.dump();
  EXPECT_EQ(by_height["height"], "3");
  EXPECT_EQ(by_height["inMainChain"], true);
  EXPECT_TRUE(by_height["sizeBytes"].is_string());
  const std::string display = DisplayFromBase64(by_height["hash"]);
  ASSERT_EQ(display.size(), 64u);
  // The display hash is the block header's hash, byte-reversed.
  v1::Block block_msg;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  by_height["block"].dump(), &block_msg)
                  .ok());
  absl::StatusOr<Block> block = BlockFromProto(block_msg);
  ASSERT_TRUE(block.ok()) << block.status();
  EXPECT_EQ(block->header.Hash().ToDisplayHex(), display);

  auto [status2, by_hash] = GetJson(*miner_, "/v1/blocks/" + display);
  ASSERT_EQ(status2, 200) << by_hash.dump();
  EXPECT_EQ(by_hash["hash"], by_height["hash"]);
  EXPECT_EQ(by_hash["height"], "3");
  EXPECT_EQ(by_hash["block"], by_height["block"]);
  // Upper-case hex is the same hash.
  std::string upper = display;
  for (char& c : upper) c = static_cast<char>(toupper(c));
  EXPECT_EQ(GetJson(*miner_, "/v1/blocks/" + upper).first, 200);

  ExpectError(GetJson(*miner_, "/v1/blocks/" + std::string(64, 'f')), 404, 5,
              "NOT_FOUND");
  ExpectError(GetJson(*miner_, "/v1/blocks/999999999"), 404, 5, "NOT_FOUND");
  ExpectError(GetJson(*miner_, "/v1/blocks/xyz"), 400, 3, "INVALID_ARGUMENT",
              "block id");
  ExpectError(GetJson(*miner_, "/v1/blocks/" + display.substr(1)), 400, 3,
              "INVALID_ARGUMENT", "block id");
  ExpectError(GetJson(*miner_, "/v1/blocks/99999999999999999999999"), 400, 3,
              "INVALID_ARGUMENT", "block id");
}

TEST_F(GatewayTest, TransactionByTxid) {
  ASSERT_TRUE(WaitFor([] { return Height(*miner_) >= 2; }));
  auto [status, got] = GetJson(*miner_, "/v1/blocks/2");
  ASSERT_EQ(status, 200);
  v1::Block block_msg;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(got["block"].dump(),
                                                          &block_msg)
                  .ok());
  absl::StatusOr<Block> block = BlockFromProto(block_msg);
  ASSERT_TRUE(block.ok()) << block.status();
  const std::string coinbase_txid = block->txs[0].Id().ToDisplayHex();
  // GetBlockResponse.txids, once the node fills it, agrees.
  if (got.contains("txids") && !got["txids"].empty()) {
    EXPECT_EQ(DisplayFromBase64(got["txids"][0]), coinbase_txid);
  } else {
    std::cerr << "note: GetBlockResponse.txids is not filled yet\n";
  }

  auto [status2, tx] = GetJson(*miner_, "/v1/txs/" + coinbase_txid);
  ASSERT_EQ(status2, 200) << tx.dump();
  EXPECT_EQ(tx["inMempool"], false);
  EXPECT_EQ(tx["blockHeight"], "2");
  EXPECT_EQ(tx["indexInBlock"], 0);
  EXPECT_EQ(tx["transaction"]["kind"], "TRANSACTION_KIND_COINBASE");
  EXPECT_EQ(tx["blockHash"], got["hash"]);

  ExpectError(GetJson(*miner_, "/v1/txs/" + std::string(64, 'a')), 404, 5,
              "NOT_FOUND");
  ExpectError(GetJson(*miner_, "/v1/txs/nothex"), 400, 3, "INVALID_ARGUMENT",
              "txid");
  ExpectError(GetJson(*miner_, "/v1/txs/" + std::string(64, 'g')), 400, 3,
              "INVALID_ARGUMENT", "txid");
}

TEST_F(GatewayTest, SubmitTransaction) {
  // On the node that does not mine, so the transaction stays pooled.
  Transaction tx = Transfer(*idle_, 25);
  const std::string txid = tx.Id().ToDisplayHex();
  auto [status, resp] = PostJson(*idle_, "/v1/txs", SubmitBody(tx));
  ASSERT_EQ(status, 200) << resp.dump();
  EXPECT_EQ(DisplayFromBase64(resp["txid"]), txid);

  auto [status2, mempool] = GetJson(*idle_, "/v1/mempool");
  ASSERT_EQ(status2, 200) << mempool.dump();
  bool found = false;
  for (const json& e : mempool["entries"]) {
    if (DisplayFromBase64(e["txid"]) == txid) found = true;
  }
  EXPECT_TRUE(found) << mempool.dump();
  EXPECT_GE(std::stoull(mempool["totalCount"].get<std::string>()), 1u);
  EXPECT_EQ(GetJson(*idle_, "/v1/mempool?limit=1").second["entries"].size(),
            1u);
  ExpectError(GetJson(*idle_, "/v1/mempool?limit=x"), 400, 3,
              "INVALID_ARGUMENT", "'limit'");
  ExpectError(GetJson(*idle_, "/v1/mempool?limit=4294967296"), 400, 3,
              "INVALID_ARGUMENT", "'limit'");

  auto [status3, pooled] = GetJson(*idle_, "/v1/txs/" + txid);
  ASSERT_EQ(status3, 200) << pooled.dump();
  EXPECT_EQ(pooled["inMempool"], true);
  EXPECT_EQ(pooled["transaction"]["amount"], "25");

  // The same transaction again: ALREADY_EXISTS -> 409.
  ExpectError(PostJson(*idle_, "/v1/txs", SubmitBody(tx)), 409, 6,
              "ALREADY_EXISTS");

  // A bad signature: the node's INVALID_ARGUMENT.
  {
    Transaction bad = Transfer(*idle_, 26);
    bad.signature[0] ^= 0x01;
    ExpectError(PostJson(*idle_, "/v1/txs", SubmitBody(bad)), 400, 3,
                "INVALID_ARGUMENT");
  }
  // Malformed JSON, an unknown field, a wrong type: 400 from the gateway.
  ExpectError(PostJson(*idle_, "/v1/txs", "{\"transaction\": {"), 400, 3,
              "INVALID_ARGUMENT", "body");
  {
    json body = json::parse(SubmitBody(Transfer(*idle_, 27)));
    body["extra"] = 1;
    ExpectError(PostJson(*idle_, "/v1/txs", body.dump()), 400, 3,
                "INVALID_ARGUMENT", "extra");
    body.erase("extra");
    body["transaction"]["surprise"] = true;
    ExpectError(PostJson(*idle_, "/v1/txs", body.dump()), 400, 3,
                "INVALID_ARGUMENT", "surprise");
  }
  ExpectError(PostJson(*idle_, "/v1/txs", "{}"), 400, 3, "INVALID_ARGUMENT");
  // Above 2 MiB: 413, answered from the headers (the server closes the
  // connection rather than read the body, so the client sends none here).
  {
    RawConnection c(idle_->http_port);
    ASSERT_TRUE(
        c.Send("POST /v1/txs HTTP/1.1\r\nHost: x\r\nContent-Length: 2097153\r\n"
               "Content-Type: application/json\r\n\r\n"));
    ASSERT_TRUE(c.ReadToEof(std::chrono::seconds(10))) << c.received();
    EXPECT_EQ(RawStatus(c.received()), 413) << c.received();
    EXPECT_NE(RawJson(c.received()).value("message", "").find("2097152"),
              std::string::npos)
        << c.received();
  }
  // Exactly 2 MiB is read (and is not JSON): 400 from the parser.
  ExpectError(PostJson(*idle_, "/v1/txs", std::string(2 * 1024 * 1024, ' ')),
              400, 3, "INVALID_ARGUMENT", "body");
  // A body without Content-Length (chunked): 411.
  {
    RawConnection c(idle_->http_port);
    ASSERT_TRUE(c.ok());
    ASSERT_TRUE(c.Send(
        "POST /v1/txs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        "Content-Type: application/json\r\n\r\n2\r\n{}\r\n0\r\n\r\n"));
    ASSERT_TRUE(c.ReadUntil("\r\n\r\n", std::chrono::seconds(10)))
        << c.received();
    EXPECT_EQ(c.received().rfind("HTTP/1.1 411", 0), 0u) << c.received();
  }
  // Only the good transaction was pooled.
  auto [status4, account] = GetJson(*idle_, "/v1/accounts/" + funded_address_);
  ASSERT_EQ(status4, 200);
  EXPECT_EQ(account["pendingNonce"], std::to_string(tx.nonce + 1));
}

TEST_F(GatewayTest, Accounts) {
  auto [status, account] = GetJson(*idle_, "/v1/accounts/" + funded_address_);
  ASSERT_EQ(status, 200) << account.dump();
  EXPECT_EQ(account["account"]["balance"], "1000000");
  EXPECT_TRUE(account["pendingNonce"].is_string());
  EXPECT_EQ(account["height"], "0");
  // A never-seen address has balance 0.
  absl::StatusOr<PrivateKey> other = PrivateKey::Generate();
  ASSERT_TRUE(other.ok());
  auto [status2, fresh] =
      GetJson(*idle_, "/v1/accounts/" +
                          AddressFromPublicKey(other->public_key()).ToText());
  ASSERT_EQ(status2, 200);
  EXPECT_EQ(fresh["account"]["balance"], "0");
  // Bad address text (bad checksum, not an address).
  std::string bad = funded_address_;
  bad.back() = bad.back() == '0' ? '1' : '0';
  ExpectError(GetJson(*idle_, "/v1/accounts/" + bad), 400, 3,
              "INVALID_ARGUMENT");
  ExpectError(GetJson(*idle_, "/v1/accounts/pbxyz"), 400, 3,
              "INVALID_ARGUMENT");
}

TEST_F(GatewayTest, AccountHistory) {
  ExpectError(GetJson(*miner_, "/v1/accounts/" + payee_address_ +
                                   "/history?pageSize=abc"),
              400, 3, "INVALID_ARGUMENT", "'pageSize'");
  auto got = GetJson(*miner_,
                     "/v1/accounts/" + payee_address_ + "/history?pageSize=2");
  ASSERT_EQ(got.first, 200) << got.second.dump();
  // The payee mines: its coinbases are its history, newest first.
  ASSERT_TRUE(got.second["entries"].is_array());
  ASSERT_EQ(got.second["entries"].size(), 2u) << got.second.dump();
  EXPECT_GT(
      std::stoull(got.second["entries"][0]["blockHeight"].get<std::string>()),
      std::stoull(got.second["entries"][1]["blockHeight"].get<std::string>()));
  const std::string token = got.second.value("nextPageToken", "");
  ASSERT_FALSE(token.empty());
  auto page2 = GetJson(
      *miner_, "/v1/accounts/" + payee_address_ +
                   "/history?pageSize=2&pageToken=" + PercentEncode(token));
  EXPECT_EQ(page2.first, 200) << page2.second.dump();
  ExpectError(GetJson(*miner_, "/v1/accounts/pbxyz/history"), 400, 3,
              "INVALID_ARGUMENT");
}

TEST_F(GatewayTest, Records) {
  // A keyed record whose key needs percent-encoding in the path.
  const std::string key = "k/1 x?";
  DataRecord record{"gwtest", key, "hello"};
  Transaction tx = Transfer(*miner_, 1, record);
  auto [status, resp] = PostJson(*miner_, "/v1/txs", SubmitBody(tx));
  ASSERT_EQ(status, 200) << resp.dump();
  json records;
  ASSERT_TRUE(WaitFor([&] {
    auto [s, body] = GetJson(*miner_, "/v1/records/gwtest");
    records = body;
    return s == 200 && !body["records"].empty();
  })) << records.dump();
  ASSERT_EQ(records["records"].size(), 1u);
  const json& entry = records["records"][0];
  EXPECT_EQ(entry["record"]["namespace"], "gwtest");
  EXPECT_EQ(Base64Decode(entry["record"]["key"]), key);
  EXPECT_EQ(Base64Decode(entry["record"]["payload"]), "hello");
  EXPECT_EQ(DisplayFromBase64(entry["txid"]), tx.Id().ToDisplayHex());
  EXPECT_EQ(entry["senderAddress"], funded_address_);

  auto [s2, one] = GetJson(*miner_, "/v1/records/gwtest/k%2F1%20x%3F");
  ASSERT_EQ(s2, 200) << one.dump();
  ASSERT_EQ(one["records"].size(), 1u);
  EXPECT_EQ(one["records"][0]["record"]["key"], Base64Encode(key));
  auto [s3, none] = GetJson(*miner_, "/v1/records/gwtest/nokey");
  ASSERT_EQ(s3, 200);
  EXPECT_TRUE(none["records"].empty());
  auto [s4, empty_ns] = GetJson(*miner_, "/v1/records/nothing.here?pageSize=5");
  ASSERT_EQ(s4, 200);
  EXPECT_TRUE(empty_ns["records"].empty());
  EXPECT_EQ(empty_ns["nextPageToken"], "");

  ExpectError(GetJson(*miner_, "/v1/records/Bad!NS"), 400, 3,
              "INVALID_ARGUMENT");
  ExpectError(GetJson(*miner_, "/v1/records/gwtest?pageSize=-5"), 400, 3,
              "INVALID_ARGUMENT", "'pageSize'");
  ExpectError(GetJson(*miner_, "/v1/records/gwtest?pageToken=garbage"), 400, 3,
              "INVALID_ARGUMENT");
  ExpectError(GetJson(*miner_, "/v1/records/gwtest/%zz"), 400, 3,
              "INVALID_ARGUMENT", "percent");
}

TEST_F(GatewayTest, PeersAndTips) {
  auto [status, peers] = GetJson(*miner_, "/v1/peers");
  ASSERT_EQ(status, 200) << peers.dump();
  EXPECT_TRUE(peers["connected"].is_array());
  EXPECT_TRUE(peers["known"].is_array());

  ExpectError(GetJson(*miner_, "/v1/tips?limit=many"), 400, 3,
              "INVALID_ARGUMENT", "'limit'");
  auto tips = GetJson(*miner_, "/v1/tips?limit=5");
  ASSERT_EQ(tips.first, 200) << tips.second.dump();
  ASSERT_FALSE(tips.second["tips"].empty()) << tips.second.dump();
  EXPECT_EQ(tips.second["tips"][0]["status"], "CHAIN_TIP_STATUS_ACTIVE");
}

TEST_F(GatewayTest, MethodsAndUnknownRoutes) {
  auto c = Client(*miner_);
  {
    httplib::Result r = c->Delete("/v1/info");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 405);
    EXPECT_EQ(r->get_header_value("Allow"), "GET, HEAD");
    ExpectError({r->status, json::parse(r->body, nullptr, false)}, 405, 12,
                "UNIMPLEMENTED", "DELETE");
  }
  {
    httplib::Result r = c->Get("/v1/txs");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 405);
    EXPECT_EQ(r->get_header_value("Allow"), "POST");
  }
  {
    httplib::Result r = c->Post("/v1/info", "{}", "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 405);
  }
  {
    httplib::Result r = c->Put("/v1/blocks/1", "{}", "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 405);
  }
  ExpectError(GetJson(*miner_, "/v1/nope"), 404, 5, "NOT_FOUND");
  ExpectError(GetJson(*miner_, "/v1/info/extra"), 404, 5, "NOT_FOUND");
  ExpectError(GetJson(*miner_, "/v1"), 404, 5, "NOT_FOUND");
  ExpectError(GetJson(*miner_, "/no-such-file.html"), 404, 5, "NOT_FOUND");
  ExpectError(GetJson(*miner_, "/v2/info"), 404, 5, "NOT_FOUND");
}

TEST_F(GatewayTest, ExplorerIndex) {
  const std::string index_path =
      std::string(PBCHAIN_SOURCE_DIR) + "/client/web/index.html";
  ASSERT_TRUE(std::filesystem::exists(index_path)) << index_path;
  const std::string on_disk = ReadFile(index_path);
  for (const char* path : {"/", "/index.html"}) {
    httplib::Result r = Client(*miner_)->Get(path);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << path;
    EXPECT_EQ(r->get_header_value("Content-Type").rfind("text/html", 0), 0u);
    // Byte for byte (rebuild pbnode after editing client/web/).
    EXPECT_TRUE(r->body == on_disk)
        << path << ": served " << r->body.size() << " bytes, the file has "
        << on_disk.size() << " (pbnode built before the last edit?)";
  }
  // Other files by extension (their bytes may change while the explorer is
  // being written; the embedding is the same code as for index.html).
  const std::string app =
      std::string(PBCHAIN_SOURCE_DIR) + "/client/web/app.js";
  ASSERT_TRUE(std::filesystem::exists(app)) << app;
  {
    httplib::Result r = Client(*miner_)->Get("/app.js");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->get_header_value("Content-Type"),
              "text/javascript; charset=utf-8");
    EXPECT_FALSE(r->body.empty());
  }
}

// --- hostile requests ------------------------------------------------------

TEST_F(GatewayTest, BodiesThatWouldNotFitAreNeverRead) {
  // A compressed body (which could expand without bound): 415. Small, so
  // it is read and dropped and the connection stays usable.
  {
    RawConnection c(idle_->http_port);
    ASSERT_TRUE(
        c.Send("POST /v1/txs HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\n"
               "Content-Type: application/json\r\nContent-Length: 20\r\n\r\n"
               "01234567890123456789"));
    ASSERT_TRUE(c.ReadUntil("}", std::chrono::seconds(10))) << c.received();
    EXPECT_EQ(RawStatus(c.received()), 415) << c.received();
    EXPECT_EQ(RawJson(c.received()).value("status", ""), "INVALID_ARGUMENT");
    ASSERT_TRUE(c.Send("GET /v1/info HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_TRUE(c.ReadUntil("HTTP/1.1 200", std::chrono::seconds(10)))
        << c.received();
  }
  // Chunked bodies on any method: 411, and the connection is closed rather
  // than read on (this one would never end).
  for (const char* method : {"POST /v1/txs", "DELETE /v1/info", "GET /"}) {
    RawConnection c(idle_->http_port);
    ASSERT_TRUE(c.Send(absl::StrCat(method,
                                    " HTTP/1.1\r\nHost: x\r\n"
                                    "Transfer-Encoding: chunked\r\n\r\n"
                                    "100000\r\n",
                                    std::string(64 * 1024, 'z'))));
    ASSERT_TRUE(c.ReadToEof(std::chrono::seconds(10))) << method;
    EXPECT_EQ(RawStatus(c.received()), 411) << method << ": " << c.received();
  }
  // A declared body above the limit: 413 at once; the body is not read
  // (sending it fails once the server has closed).
  {
    RawConnection c(idle_->http_port);
    ASSERT_TRUE(
        c.Send("POST /v1/txs HTTP/1.1\r\nHost: x\r\nContent-Length: "
               "3000000000\r\nContent-Type: application/json\r\n\r\n"));
    ASSERT_TRUE(c.ReadUntil("}", std::chrono::seconds(10))) << c.received();
    EXPECT_EQ(RawStatus(c.received()), 413) << c.received();
    EXPECT_EQ(RawJson(c.received()).value("status", ""), "RESOURCE_EXHAUSTED");
    const std::string chunk(64 * 1024, ' ');
    int sent = 0;
    while (sent < 1000 && c.Send(chunk)) ++sent;  // at most 64 MB
    EXPECT_LT(sent, 1000) << "the server kept reading a refused body";
    EXPECT_TRUE(c.ReadToEof(std::chrono::seconds(10)));
  }
  // A large body on a route that takes none (POST /v1/info): 405 from the
  // headers, at once, not after reading 2 MB.
  {
    RawConnection c(idle_->http_port);
    const auto start = std::chrono::steady_clock::now();
    ASSERT_TRUE(
        c.Send("POST /v1/info HTTP/1.1\r\nHost: x\r\nContent-Length: "
               "2000000\r\n\r\n"));
    ASSERT_TRUE(c.ReadUntil("}", std::chrono::seconds(5))) << c.received();
    EXPECT_LT(std::chrono::steady_clock::now() - start,
              std::chrono::seconds(2));
    EXPECT_EQ(RawStatus(c.received()), 405) << c.received();
  }
  // A small body on a GET is read and dropped: answered, connection kept.
  {
    RawConnection c(idle_->http_port);
    ASSERT_TRUE(
        c.Send("GET /v1/info HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n"
               "hello"
               "GET /v1/info HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_TRUE(WaitFor(
        [&] {
          c.ReadFor(std::chrono::milliseconds(50));
          const size_t first = c.received().find("HTTP/1.1 200");
          return first != std::string::npos &&
                 c.received().find("HTTP/1.1 200", first + 1) !=
                     std::string::npos;
        },
        std::chrono::seconds(10)))
        << c.received();
  }
  // A POST without Content-Length: 411.
  {
    RawConnection c(idle_->http_port);
    ASSERT_TRUE(c.Send("POST /v1/txs HTTP/1.0\r\nHost: x\r\n\r\n{}"));
    ASSERT_TRUE(c.ReadToEof(std::chrono::seconds(10))) << c.received();
    EXPECT_EQ(RawStatus(c.received()), 411) << c.received();
  }
  // A body on a route that takes none (a 1 GB DELETE): answered from the
  // headers, then the connection closes while the client is still sending.
  {
    RawConnection c(idle_->http_port);
    ASSERT_TRUE(
        c.Send("DELETE /v1/info HTTP/1.1\r\nHost: x\r\nContent-Length: "
               "1000000000\r\n\r\n"));
    ASSERT_TRUE(c.ReadUntil("\r\n\r\n", std::chrono::seconds(10)));
    EXPECT_EQ(RawStatus(c.received()), 405) << c.received();
    const std::string chunk(64 * 1024, 'z');
    int sent = 0;
    while (sent < 1000 && c.Send(chunk)) ++sent;  // at most 64 MB
    EXPECT_LT(sent, 1000) << "the server kept reading an unwanted body";
    EXPECT_TRUE(c.ReadToEof(std::chrono::seconds(10)))
        << "the connection stayed open";
  }
  // The node is unharmed.
  EXPECT_EQ(GetJson(*idle_, "/v1/info").first, 200);
}

TEST_F(GatewayTest, OversizedOrMalformedHeadersAndTargets) {
  // More than kHttpMaxHeaderCount headers: 431 with the JSON error.
  {
    std::string req = "GET /v1/info HTTP/1.1\r\nHost: x\r\n";
    for (int i = 0; i < 70; ++i) absl::StrAppend(&req, "X-H", i, ": v\r\n");
    RawConnection c(idle_->http_port);
    ASSERT_TRUE(c.Send(req + "\r\n"));
    ASSERT_TRUE(c.ReadUntil("}", std::chrono::seconds(10))) << c.received();
    EXPECT_EQ(RawStatus(c.received()), 431) << c.received();
    EXPECT_NE(RawJson(c.received()).value("message", "").find("headers"),
              std::string::npos);
  }
  // A header line that never ends: refused (by libmicrohttpd) once the
  // connection's memory is full, and closed; it is not buffered on.
  for (const char* head : {"GET /v1/info HTTP/1.1\r\nX-Long: ", "GET /"}) {
    RawConnection c(idle_->http_port);
    ASSERT_TRUE(c.Send(head));
    const std::string chunk(16 * 1024, 'a');
    int sent = 0;
    while (sent < 4096 && c.Send(chunk)) ++sent;  // at most 64 MB
    EXPECT_LT(sent, 4096) << head;
    EXPECT_TRUE(c.ReadToEof(std::chrono::seconds(10))) << head;
    const int status = RawStatus(c.received());
    EXPECT_TRUE(status == 414 || status == 431) << head << ": " << c.received();
  }
  // Paths and queries that do not decode to UTF-8 (protobuf strings must
  // be UTF-8): 400, not a failing call.
  for (const char* path :
       {"/v1/accounts/%FF", "/v1/records/%C0x", "/v1/records/ns/%ED%A0%80",
        "/v1/records/gwtest?pageToken=%FF"}) {
    ExpectError(GetJson(*idle_, path), 400, 3, "INVALID_ARGUMENT", "UTF-8");
  }
  // A broken escape in the query: 400.
  ExpectError(GetJson(*idle_, "/v1/mempool?limit=%zz"), 400, 3,
              "INVALID_ARGUMENT", "percent");
  // Escapes in the query decode ("%31" is "1"), '+' is a space.
  EXPECT_EQ(GetJson(*idle_, "/v1/mempool?limit=%31").first, 200);
  {
    // Raw: httplib's client would rewrite the '+'.
    RawConnection c(idle_->http_port);
    ASSERT_TRUE(
        c.Send("GET /v1/mempool?limit=1+2 HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(c.ReadUntil("}", std::chrono::seconds(10))) << c.received();
    EXPECT_EQ(RawStatus(c.received()), 400);
    EXPECT_NE(RawJson(c.received()).value("message", "").find("got '1 2'"),
              std::string::npos)
        << c.received();
  }
}

TEST_F(GatewayTest, ConnectionsAreCappedAndSlowClientsCut) {
  // kHttpMaxConnections (64) idle connections fill the server; one more is
  // closed without an answer; once they go, requests are served again.
  {
    std::vector<std::unique_ptr<RawConnection>> held;
    for (int i = 0; i < 64; ++i) {
      held.push_back(std::make_unique<RawConnection>(idle_->http_port));
      ASSERT_TRUE(held.back()->ok());
    }
    // Each holds a served connection (a partial request keeps it busy).
    for (auto& c : held) ASSERT_TRUE(c->Send("GET /v1/info HTTP/1.1\r\n"));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    RawConnection extra(idle_->http_port);
    ASSERT_TRUE(extra.ok());  // accepted by the kernel...
    extra.Send("GET /v1/info HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_TRUE(extra.ReadToEof(std::chrono::seconds(10)));  // ...then closed
    EXPECT_EQ(RawStatus(extra.received()), 0) << extra.received();
  }
  EXPECT_TRUE(WaitFor([&] {
    httplib::Result r = Client(*idle_)->Get("/v1/info");
    return r && r->status == 200;
  }));
  // Clients that trickle a byte every 2 s (each gap below the idle
  // timeout): one sending its headers, one its body. Each is cut by its
  // deadline (kHttpRequestHeadDeadline, kHttpBodyDeadline: 10 s) although
  // bytes keep coming.
  RawConnection slow_head(idle_->http_port);
  ASSERT_TRUE(slow_head.Send("GET /v1/info HTTP/1.1\r\nHost: x\r\nX-A: "));
  RawConnection slow_body(idle_->http_port);
  ASSERT_TRUE(slow_body.Send(
      "POST /v1/txs HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
      "Content-Type: application/json\r\n\r\n{"));
  const auto start = std::chrono::steady_clock::now();
  std::optional<std::chrono::steady_clock::duration> head_cut, body_cut;
  while ((!head_cut || !body_cut) &&
         std::chrono::steady_clock::now() - start < std::chrono::seconds(30)) {
    std::this_thread::sleep_for(std::chrono::seconds(2));
    for (auto [c, cut] :
         {std::pair{&slow_head, &head_cut}, std::pair{&slow_body, &body_cut}}) {
      if (*cut) continue;
      if (!c->Send("a") || c->ReadToEof(std::chrono::milliseconds(10))) {
        *cut = std::chrono::steady_clock::now() - start;
      }
    }
  }
  ASSERT_TRUE(head_cut.has_value());
  ASSERT_TRUE(body_cut.has_value());
  for (auto took : {*head_cut, *body_cut}) {
    EXPECT_GE(took, std::chrono::seconds(8));
    EXPECT_LT(took, std::chrono::seconds(20));
  }
}

// A connection serves one request after another (keep-alive), and is
// closed once idle for kHttpRequestHeadDeadline.
TEST_F(GatewayTest, KeepAlive) {
  RawConnection c(idle_->http_port);
  auto answers = [&] {
    size_t n = 0;
    for (size_t at = c.received().find("HTTP/1.1 200"); at != std::string::npos;
         at = c.received().find("HTTP/1.1 200", at + 1)) {
      ++n;
    }
    return n;
  };
  for (size_t i = 1; i <= 3; ++i) {
    ASSERT_TRUE(c.Send("GET /v1/info HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(WaitFor(
        [&] {
          c.ReadFor(std::chrono::milliseconds(50));
          return answers() == i && !c.received().empty() &&
                 c.received().back() == '}';
        },
        std::chrono::seconds(10)))
        << c.received();
  }
  EXPECT_EQ(c.received().find("Connection: close"), std::string::npos)
      << c.received();
  EXPECT_FALSE(c.ReadToEof(std::chrono::seconds(1)));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.ReadToEof(std::chrono::seconds(20)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(15));
}

// --- the event stream ------------------------------------------------------

TEST_F(GatewayTest, EventStream) {
  const uint64_t before = Height(*miner_);
  std::string content_type;
  std::string data;
  std::vector<json> events;
  httplib::Result r = Client(*miner_)->Get(
      "/v1/events/tips",
      [&](const httplib::Response& res) {
        content_type = res.get_header_value("Content-Type");
        return res.status == 200;
      },
      [&](const char* d, size_t n) {
        data.append(d, n);
        // Complete events end with a blank line.
        size_t end;
        while ((end = data.find("\n\n")) != std::string::npos) {
          const std::string event = data.substr(0, end);
          data.erase(0, end + 2);
          if (event.rfind(":", 0) == 0) continue;  // keepalive comment
          EXPECT_EQ(event.rfind("event: tip\ndata: ", 0), 0u) << event;
          const std::string payload = event.substr(event.find("data: ") + 6);
          EXPECT_EQ(payload.find('\n'), std::string::npos);
          events.push_back(json::parse(payload, nullptr, false));
        }
        return events.size() < 2;  // stop after two events
      });
  EXPECT_EQ(content_type, "text/event-stream");
  ASSERT_EQ(events.size(), 2u);
  // First the current tip, then a newer one mined meanwhile.
  const uint64_t first = std::stoull(events[0].value("height", "0"));
  const uint64_t second = std::stoull(events[1].value("height", "0"));
  EXPECT_GE(first, before);
  EXPECT_GT(second, first);
  EXPECT_EQ(events[0]["reorgDepth"], 0);
  EXPECT_EQ(Base64Decode(events[1]["hash"]).size(), 32u);
  EXPECT_EQ(Base64Decode(events[1]["previousTipHash"]).size(), 32u);
}

TEST_F(GatewayTest, SeventeenthEventStreamIsRefused) {
  // Streams of earlier tests are released at their next write (the next
  // tip): retry a refused one for a while.
  std::vector<std::unique_ptr<RawConnection>> streams;
  for (int i = 0; i < 16; ++i) {
    std::unique_ptr<RawConnection> c;
    ASSERT_TRUE(WaitFor(
        [&] {
          c = OpenEventStream(miner_->http_port);
          return c != nullptr;
        },
        std::chrono::seconds(30)))
        << "stream " << i;
    streams.push_back(std::move(c));
  }
  ExpectError(GetJson(*miner_, "/v1/events/tips"), 429, 8, "RESOURCE_EXHAUSTED",
              "event streams");
  // Other routes still work meanwhile.
  EXPECT_EQ(GetJson(*miner_, "/v1/info").first, 200);
  // Closing them frees the slots (noticed at their next write: the next tip
  // or keepalive).
  streams.clear();
  EXPECT_TRUE(
      WaitFor([] { return OpenEventStream(miner_->http_port) != nullptr; },
              std::chrono::seconds(60)));
}

// --- process-level behaviour (own nodes) -----------------------------------

TEST(GatewayProcessTest, SigtermWithOpenConnectionsExitsPromptly) {
  TempDir dir("gateway_sigterm");
  const std::string log = dir.Sub("pbtool.log");
  std::optional<std::string> miner =
      RunTool({"keygen", "--out", dir.Sub("k.json")}, log);
  ASSERT_TRUE(miner);
  ASSERT_TRUE(RunTool({"genesis", "--out", dir.Sub("genesis.json"),
                       "--target-interval-ms", "300"},
                      log));
  Node n = StartNode(dir, "node", dir.Sub("genesis.json"),
                     {"--mine", "--miner-address=" + *miner});
  ASSERT_NE(n.http_port, 0);
  RawConnection stream(n.http_port);
  ASSERT_TRUE(stream.Send("GET /v1/events/tips HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(stream.ReadUntil("event: tip", std::chrono::seconds(20)));
  // Connections in every other state: headers half sent, a body half sent,
  // and an idle keep-alive connection after a served request.
  RawConnection half_headers(n.http_port);
  ASSERT_TRUE(half_headers.Send("GET /v1/info HTTP/1.1\r\nHost: x\r\n"));
  RawConnection half_body(n.http_port);
  ASSERT_TRUE(half_body.Send(
      "POST /v1/txs HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a"));
  RawConnection idle(n.http_port);
  ASSERT_TRUE(idle.Send("GET /v1/info HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(idle.ReadUntil("}", std::chrono::seconds(10)));
  ASSERT_FALSE(idle.ReadToEof(std::chrono::milliseconds(300)))
      << "not kept alive: " << idle.received();
  const auto start = std::chrono::steady_clock::now();
  n.process->Kill(SIGTERM);
  // Wait() SIGKILLs after its bound: a hang shows as 128 + 9, not 0.
  EXPECT_EQ(n.process->Wait(std::chrono::seconds(15)), 0) << ReadFile(n.log);
  const auto took = std::chrono::steady_clock::now() - start;
  std::cerr
      << "exit after SIGTERM took "
      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
      << " ms\n";
  // Not held up by any connection (their deadlines are 10 s).
  EXPECT_LT(took, std::chrono::seconds(8));
  for (RawConnection* c : {&half_headers, &half_body, &idle}) {
    EXPECT_TRUE(c->ReadToEof(std::chrono::seconds(5)));
  }
  // The stream was ended cleanly: the final empty chunk, then EOF.
  EXPECT_TRUE(stream.ReadToEof(std::chrono::seconds(5)));
  EXPECT_NE(stream.received().find("\r\n0\r\n\r\n"), std::string::npos)
      << stream.received().substr(stream.received().size() > 300
                                      ? stream.received().size() - 300
                                      : 0);
}

TEST(GatewayProcessTest, BadHttpAddressExitsWithAClearError) {
  TempDir dir("gateway_badaddr");
  const std::string log = dir.Sub("pbtool.log");
  ASSERT_TRUE(RunTool({"genesis", "--out", dir.Sub("genesis.json")}, log));
  // A port in use: exit 1 with one line naming --http.
  const int busy = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(busy, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(busy, 1), 0);
  socklen_t len = sizeof(addr);
  getsockname(busy, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  struct Case {
    std::string flag;
    int exit_code;
  };
  for (const Case& c :
       {Case{"--http=127.0.0.1:" + std::to_string(port), 1},
        Case{"--http=no-such-host.invalid:0", 1}, Case{"--http=127.0.0.1", 2},
        Case{"--http=127.0.0.1:99999", 2}, Case{"--http=:8080", 2}}) {
    const std::string err = dir.Sub("err.log");
    std::filesystem::remove(err);
    ChildProcess p(kBin + "/pbnode",
                   {"--listen=127.0.0.1:0", "--datadir=" + dir.Sub("d"),
                    "--genesis=" + dir.Sub("genesis.json"), c.flag},
                   err);
    EXPECT_EQ(p.Wait(std::chrono::seconds(30)), c.exit_code) << c.flag;
    const std::string text = ReadFile(err);
    // The last line names the flag.
    std::string last = text.substr(0, text.size() - 1);
    last = last.substr(last.rfind('\n') + 1);
    EXPECT_NE(last.find("pbnode: --http"), std::string::npos)
        << c.flag << ": " << text;
  }
  close(busy);
}

}  // namespace
}  // namespace pbchain
