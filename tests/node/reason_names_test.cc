// Reason names are the contract (docs/PROTOCOL.md section 13): every
// rejection a client sees from SubmitTransaction (the status message) or
// BroadcastBlock (the verdict's reason, or the status message of a block
// that does not decode) starts with a documented reason name, then ": ".
//
// The names are read from PROTOCOL.md itself. Each documented name is
// produced here through the real service (NodeServiceImpl over a real Node
// with a RocksDB datadir, on an in-process channel), except the few listed
// in kNotReachable with the reason why.
#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "chain/consensus.h"
#include "chain/miner.h"
#include "chain/pow.h"
#include "chain/validation.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "node/core/node.h"
#include "node/rpc/node_service.h"
#include "pbchain/v1/node.grpc.pb.h"
#include "proto/convert.h"
#include "tests/chain/test_chain.h"

namespace pbchain {
namespace {

using testing::MakeBlock;
using testing::MakeTransfer;
using testing::TestKey;

// Node policy names (PROTOCOL.md 13.6): produced by the mempool, not by
// the kernel's RejectReason.
const std::set<std::string> kPolicyNames = {
    "tx-already-known", "mempool-fee-too-low", "mempool-replacement-fee",
    "mempool-sender-limit", "mempool-full"};

// Documented names no request can produce, and why.
struct NotReachable {
  const char* reason;
  const char* why;
};
const NotReachable kNotReachable[] = {
    {"tx-too-large",
     "the field limits the conversion enforces keep a transaction below "
     "70,000 bytes (checked by LargestTransactionFitsTheSizeLimit)"},
    {"block-bad-tx", "reserved; never produced"},
};

constexpr uint64_t kReward = 5'000'000;
constexpr uint64_t kFunds = 1'000'000;
constexpr uint64_t kMinFee = 1;
constexpr size_t kSenderLimit = 3;
constexpr size_t kPoolLimit = 6;

Address Addr(int i) { return AddressFromPublicKey(TestKey(i).public_key()); }

// Keys 0 and 2 hold kFunds; key 1 holds all the rest of u64 (so that a
// transfer to it can overflow its balance). Blocks pay kReward, so a miner
// paid once can send more than key 1 can take.
ChainParams Params() {
  ChainParams p = testing::TestParams(0);
  p.block_reward = kReward;
  p.allocations = {{Addr(0), kFunds},
                   {Addr(1), std::numeric_limits<uint64_t>::max() - 2 * kFunds},
                   {Addr(2), kFunds}};
  EXPECT_TRUE(MineGenesis(p).ok());
  return p;
}

// The text of docs/PROTOCOL.md section 13.
std::string Section13() {
  std::ifstream in(std::string(PBCHAIN_SOURCE_DIR) + "/docs/PROTOCOL.md");
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  const size_t begin = doc.find("\n## 13.");
  const size_t end = doc.find("\n## 14.");
  if (begin == std::string::npos || end == std::string::npos || end < begin) {
    return "";
  }
  return doc.substr(begin, end - begin);
}

// Every `name` in backticks of section 13 that looks like a reason name.
std::set<std::string> DocumentedNames() {
  const std::string section = Section13();
  static const std::regex kName("`((tx|header|block|mempool)-[a-z0-9-]+)`");
  std::set<std::string> names;
  for (auto it = std::sregex_iterator(section.begin(), section.end(), kName);
       it != std::sregex_iterator(); ++it) {
    names.insert((*it)[1]);
  }
  return names;
}

std::set<std::string> KernelNames() {
  std::set<std::string> names;
  for (int r = static_cast<int>(RejectReason::kTxMalformed);
       r <= static_cast<int>(RejectReason::kBlockMalformed); ++r) {
    names.insert(std::string(RejectReasonName(static_cast<RejectReason>(r))));
  }
  return names;
}

void Remine(Block& b) {
  b.header.merkle_root = BlockMerkleRoot(b);
  b.header.nonce = 0;
  std::atomic<bool> abort{false};
  MineBlock(b, 1, abort);
}

// A node with the service in front of it. One per case: every case starts
// from genesis.
class Harness {
 public:
  explicit Harness(const std::string& dir) : dir_(dir) {
    params_ = Params();
    NodeOptions options;
    options.datadir = dir_ + "/data";
    options.params = params_;
    options.mempool.min_fee = kMinFee;
    options.mempool.max_txs_per_sender = kSenderLimit;
    options.mempool.max_txs = kPoolLimit;
    absl::StatusOr<std::unique_ptr<Node>> node = Node::Create(options);
    EXPECT_TRUE(node.ok()) << node.status();
    if (!node.ok()) return;
    node_ = *std::move(node);
    service_ = std::make_unique<NodeServiceImpl>(node_.get());
    grpc::ServerBuilder builder;
    builder.SetMaxReceiveMessageSize(4 * 1024 * 1024);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    EXPECT_NE(server_, nullptr);
    grpc::ChannelArguments args;
    args.SetMaxSendMessageSize(4 * 1024 * 1024);
    stub_ = v1::NodeService::NewStub(server_->InProcessChannel(args));
  }
  ~Harness() {
    if (server_) {
      server_->Shutdown(std::chrono::system_clock::now() +
                        std::chrono::seconds(5));
      server_->Wait();
    }
    service_.reset();
    node_.reset();
  }
  bool ok() const { return stub_ != nullptr; }
  const ChainParams& params() const { return params_; }
  ChainState& chain() { return node_->chain(); }

  // A mined block on the tip paying `miner`, carrying `txs`.
  Block OnTip(std::vector<Transaction> txs = {}, int miner = 3) {
    const TipInfo tip = chain().Tip();
    return MakeBlock(params_, tip.header, tip.height, std::move(txs),
                     Addr(miner));
  }
  // Mines `txs` into a new tip (directly into the node).
  void Extend(std::vector<Transaction> txs = {}, int miner = 3) {
    absl::StatusOr<AcceptResult> r = node_->SubmitBlock(OnTip(txs, miner));
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->status, AcceptStatus::kActive) << r->validation.ToString();
  }
  Transaction Pay(int from, int to, uint64_t amount, uint64_t fee,
                  uint64_t nonce,
                  std::optional<DataRecord> record = std::nullopt) {
    return MakeTransfer(params_, TestKey(from), Addr(to), amount, fee, nonce,
                        std::move(record));
  }

  // SubmitTransaction; OK as "" (a case that expects a refusal then fails).
  std::string Submit(const v1::SubmitTransactionRequest& request) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(30));
    v1::SubmitTransactionResponse response;
    grpc::Status s = stub_->SubmitTransaction(&ctx, request, &response);
    return s.ok() ? "" : s.error_message();
  }
  std::string Submit(const v1::Transaction& tx) {
    v1::SubmitTransactionRequest request;
    *request.mutable_transaction() = tx;
    return Submit(request);
  }
  std::string Submit(const Transaction& tx) {
    return Submit(TransactionToProto(tx));
  }
  // Submits and expects acceptance (a case's setup).
  void Pool(const Transaction& tx) { ASSERT_EQ(Submit(tx), ""); }

  // BroadcastBlock: the verdict's reason (the block must be INVALID or an
  // ORPHAN), or the status message of a refused request.
  std::string Broadcast(const v1::Block& block) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(60));
    v1::BroadcastBlockRequest request;
    *request.mutable_block() = block;
    v1::BroadcastBlockResponse response;
    grpc::Status s = stub_->BroadcastBlock(&ctx, request, &response);
    if (!s.ok()) {
      EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
      return s.error_message();
    }
    EXPECT_FALSE(response.accepted());
    EXPECT_TRUE(response.status() == v1::BLOCK_STATUS_INVALID ||
                response.status() == v1::BLOCK_STATUS_ORPHAN)
        << v1::BlockStatus_Name(response.status());
    return response.reason();
  }
  std::string Broadcast(const Block& block) {
    return Broadcast(BlockToProto(block));
  }

 private:
  std::string dir_;
  ChainParams params_;
  std::unique_ptr<Node> node_;
  std::unique_ptr<NodeServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::NodeService::Stub> stub_;
};

// One way to provoke one reason: returns the message the client saw.
struct Case {
  const char* reason;
  const char* what;
  std::function<std::string(Harness&)> run;
};

DataRecord Keyed(const std::string& key) { return {"votes", key, "yes"}; }

std::vector<Case> Cases() {
  using H = Harness;
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  return {
      // ---- SubmitTransaction: context-free (13.1) ----
      {"tx-malformed", "no transaction in the request",
       [](H& h) { return h.Submit(v1::SubmitTransactionRequest()); }},
      {"tx-malformed", "chain id over 32 bytes",
       [](H& h) {
         v1::Transaction tx = TransactionToProto(h.Pay(0, 3, 10, 1, 0));
         tx.set_chain_id(std::string(33, 'c'));
         return h.Submit(tx);
       }},
      {"tx-malformed", "empty chain id",
       [](H& h) {
         v1::Transaction tx = TransactionToProto(h.Pay(0, 3, 10, 1, 0));
         tx.clear_chain_id();
         return h.Submit(tx);
       }},
      {"tx-malformed", "recipient of 19 bytes",
       [](H& h) {
         v1::Transaction tx = TransactionToProto(h.Pay(0, 3, 10, 1, 0));
         tx.set_recipient(std::string(19, '\x01'));
         return h.Submit(tx);
       }},
      {"tx-malformed", "record namespace over 64 bytes",
       [](H& h) {
         return h.Submit(
             h.Pay(0, 3, 10, 1, 0, DataRecord{std::string(65, 'n'), {}, "x"}));
       }},
      {"tx-malformed", "record namespace with capitals",
       [](H& h) {
         return h.Submit(h.Pay(0, 3, 10, 1, 0, DataRecord{"Votes", {}, "x"}));
       }},
      {"tx-malformed", "reserved namespace",
       [](H& h) {
         return h.Submit(
             h.Pay(0, 3, 10, 1, 0, DataRecord{"pbchain.genesis", {}, "x"}));
       }},
      {"tx-malformed", "a coinbase on its own",
       [](H& h) { return h.Submit(h.OnTip().txs[0]); }},
      {"tx-wrong-chain", "another network's chain id",
       [](H& h) {
         ChainParams other = h.params();
         other.chain_id = "another-chain";
         return h.Submit(MakeTransfer(other, TestKey(0), Addr(3), 10, 1, 0));
       }},
      {"tx-empty", "amount 0 and no record",
       [](H& h) { return h.Submit(h.Pay(0, 3, 0, 1, 0)); }},
      {"tx-overflow", "amount + fee over u64",
       [](H& h) { return h.Submit(h.Pay(0, 3, kMax - 5, 10, 0)); }},
      {"tx-overflow", "a fee no coinbase can carry",
       [](H& h) { return h.Submit(h.Pay(0, 3, 1, kMax - kReward + 1, 0)); }},
      {"tx-bad-signature", "a flipped signature bit",
       [](H& h) {
         Transaction tx = h.Pay(0, 3, 10, 1, 0);
         tx.signature[5] ^= 0x01;
         return h.Submit(tx);
       }},
      // ---- SubmitTransaction: against the state (13.2) ----
      {"tx-bad-nonce", "a nonce gap",
       [](H& h) { return h.Submit(h.Pay(0, 3, 10, 1, 4)); }},
      {"tx-bad-nonce", "a nonce already used on chain",
       [](H& h) {
         h.Extend({h.Pay(0, 3, 10, 1, 0)});
         return h.Submit(h.Pay(0, 3, 11, 1, 0));
       }},
      {"tx-insufficient-funds", "more than the balance",
       [](H& h) { return h.Submit(h.Pay(0, 3, kFunds, 1, 0)); }},
      {"tx-recipient-overflow", "a transfer the recipient cannot hold",
       [](H& h) {
         h.Extend({}, /*miner=*/0);  // key 0 now holds kFunds + kReward
         return h.Submit(h.Pay(0, 1, 2 * kFunds + 1, 1, 0));
       }},
      {"tx-duplicate-record", "a key written on chain",
       [](H& h) {
         h.Extend({h.Pay(0, 3, 0, 1, 0, Keyed("alice"))});
         return h.Submit(h.Pay(2, 3, 0, 1, 0, Keyed("alice")));
       }},
      {"tx-duplicate-record", "a key claimed by a pooled transaction",
       [](H& h) {
         h.Pool(h.Pay(0, 3, 0, 1, 0, Keyed("alice")));
         return h.Submit(h.Pay(2, 3, 0, 1, 0, Keyed("alice")));
       }},
      // ---- SubmitTransaction: node policy (13.6) ----
      {"tx-already-known", "pooled already",
       [](H& h) {
         const Transaction tx = h.Pay(0, 3, 10, 1, 0);
         h.Pool(tx);
         return h.Submit(tx);
       }},
      {"tx-already-known", "confirmed already",
       [](H& h) {
         const Transaction tx = h.Pay(0, 3, 10, 1, 0);
         h.Extend({tx});
         return h.Submit(tx);
       }},
      {"mempool-fee-too-low", "fee below the node's minimum",
       [](H& h) { return h.Submit(h.Pay(0, 3, 10, kMinFee - 1, 0)); }},
      {"mempool-replacement-fee", "same nonce, same fee",
       [](H& h) {
         h.Pool(h.Pay(0, 3, 10, 5, 0));
         return h.Submit(h.Pay(0, 3, 11, 5, 0));
       }},
      {"mempool-sender-limit", "one more than the per-sender limit",
       [](H& h) {
         for (uint64_t n = 0; n < kSenderLimit; ++n)
           h.Pool(h.Pay(0, 3, 10, 1, n));
         return h.Submit(h.Pay(0, 3, 10, 1, kSenderLimit));
       }},
      {"mempool-full", "a full pool and no better fee rate",
       [](H& h) {
         for (int from : {0, 2}) {
           for (uint64_t n = 0; n < kPoolLimit / 2; ++n) {
             h.Pool(h.Pay(from, 3, 10, 1, n));
           }
         }
         return h.Submit(h.Pay(1, 3, 10, 1, 0));
       }},
      // ---- BroadcastBlock: a message that does not decode ----
      {"block-malformed", "no header",
       [](H& h) {
         v1::Block b = BlockToProto(h.OnTip());
         b.clear_header();
         return h.Broadcast(b);
       }},
      {"block-malformed", "prev_hash of 31 bytes",
       [](H& h) {
         v1::Block b = BlockToProto(h.OnTip());
         b.mutable_header()->set_prev_hash(std::string(31, '\0'));
         return h.Broadcast(b);
       }},
      {"block-too-many-txs", "10,001 transactions",
       [](H& h) {
         v1::Block b = BlockToProto(h.OnTip());
         const v1::Transaction cb = b.transactions(0);
         for (size_t i = 0; i < kMaxBlockTxs; ++i) *b.add_transactions() = cb;
         return h.Broadcast(b);
       }},
      {"block-bad-coinbase", "a coinbase message with a fee",
       [](H& h) {
         v1::Block b = BlockToProto(h.OnTip());
         b.mutable_transactions(0)->set_fee(1);
         return h.Broadcast(b);
       }},
      {"tx-malformed", "a transfer message with a short recipient",
       [](H& h) {
         v1::Block b = BlockToProto(h.OnTip({h.Pay(0, 3, 10, 1, 0)}));
         b.mutable_transactions(1)->set_recipient("short");
         return h.Broadcast(b);
       }},
      // ---- BroadcastBlock: the header (13.3 rules 1-3, 13.4) ----
      {"header-bad-version", "version 2",
       [](H& h) {
         Block b = h.OnTip();
         b.header.version = 2;
         Remine(b);
         return h.Broadcast(b);
       }},
      {"header-bad-pow", "hash above the target",
       [](H& h) {
         Block b = h.OnTip();
         while (
             HashMeetsTarget(b.Hash(), DecodeCompact(b.header.bits).target)) {
           ++b.header.nonce;
         }
         return h.Broadcast(b);
       }},
      {"header-bad-pow", "bits 0",
       [](H& h) {
         Block b = h.OnTip();
         b.header.bits = 0;
         return h.Broadcast(b);
       }},
      {"header-bad-pow", "bits above the pow limit",
       [](H& h) {
         Block b = h.OnTip();
         b.header.bits = 0x2100ffff;
         Remine(b);
         return h.Broadcast(b);
       }},
      {"header-bad-bits", "valid bits the retarget rule did not give",
       [](H& h) {
         Block b = h.OnTip();
         b.header.bits = 0x207ffff0;
         Remine(b);
         return h.Broadcast(b);
       }},
      {"header-time-too-old", "time at the median time past",
       [](H& h) {
         Block b = h.OnTip();
         b.header.time = h.chain().Tip().header.time;
         Remine(b);
         return h.Broadcast(b);
       }},
      {"header-time-too-new", "an hour ahead",
       [](H& h) {
         Block b = h.OnTip();
         b.header.time =
             static_cast<uint32_t>(absl::ToUnixSeconds(absl::Now()) + 3600);
         Remine(b);
         return h.Broadcast(b);
       }},
      {"header-unknown-parent", "a parent nobody knows",
       [](H& h) {
         Block b = h.OnTip();
         b.header.prev_hash.bytes[0] ^= 0x55;
         Remine(b);
         return h.Broadcast(b);
       }},
      {"header-invalid-parent", "a child of a block that failed to connect",
       [](H& h) {
         const Block bad = h.OnTip({h.Pay(0, 3, 2 * kFunds, 1, 0)});
         EXPECT_TRUE(
             absl::StartsWith(h.Broadcast(bad), "tx-insufficient-funds"));
         return h.Broadcast(MakeBlock(h.params(), bad.header, 1, {}, Addr(3)));
       }},
      // ---- BroadcastBlock: the body (13.3 rules 4-11) ----
      {"block-no-coinbase", "no transactions",
       [](H& h) {
         Block b = h.OnTip();
         b.txs.clear();
         Remine(b);
         return h.Broadcast(b);
       }},
      {"block-no-coinbase", "a transfer first",
       [](H& h) {
         Block b = h.OnTip({h.Pay(0, 3, 10, 1, 0)});
         std::swap(b.txs[0], b.txs[1]);
         Remine(b);
         return h.Broadcast(b);
       }},
      {"block-extra-coinbase", "two coinbases",
       [](H& h) {
         Block b = h.OnTip();
         Transaction second = b.txs[0];
         second.extra_nonce = 7;
         b.txs.push_back(second);
         Remine(b);
         return h.Broadcast(b);
       }},
      {"block-too-large", "16 transfers of 65,000-byte records",
       [](H& h) {
         std::vector<Transaction> txs;
         for (uint64_t n = 0; n < 16; ++n) {
           txs.push_back(
               h.Pay(static_cast<int>(n % 3), 3, 0, 1, n / 3,
                     DataRecord{"big", {}, std::string(65'000, 'x')}));
         }
         return h.Broadcast(h.OnTip(std::move(txs)));
       }},
      {"block-duplicate-tx", "one transfer twice",
       [](H& h) {
         const Transaction tx = h.Pay(0, 3, 10, 1, 0);
         return h.Broadcast(h.OnTip({tx, tx}));
       }},
      {"block-bad-merkle-root", "a root of other transactions",
       [](H& h) {
         Block b = h.OnTip();
         b.header.merkle_root.bytes[3] ^= 0x01;
         b.header.nonce = 0;
         std::atomic<bool> abort{false};
         MineBlock(b, 1, abort);
         return h.Broadcast(b);
       }},
      {"block-bad-coinbase", "a coinbase with an empty chain id",
       [](H& h) {
         Block b = h.OnTip();
         b.txs[0].chain_id.clear();
         Remine(b);
         return h.Broadcast(b);
       }},
      {"block-bad-coinbase", "a coinbase at the wrong height",
       [](H& h) {
         Block b = h.OnTip();
         b.txs[0].height += 3;
         Remine(b);
         return h.Broadcast(b);
       }},
      {"block-bad-coinbase", "a coinbase paying one unit too much",
       [](H& h) {
         Block b = h.OnTip();
         b.txs[0].amount += 1;
         Remine(b);
         return h.Broadcast(b);
       }},
      {"tx-malformed", "a transfer with a capitalised namespace",
       [](H& h) {
         return h.Broadcast(
             h.OnTip({h.Pay(0, 3, 10, 1, 0, DataRecord{"Votes", {}, "x"})}));
       }},
      {"tx-bad-signature", "a badly signed transfer",
       [](H& h) {
         Transaction tx = h.Pay(0, 3, 10, 1, 0);
         tx.signature[9] ^= 0x01;
         return h.Broadcast(h.OnTip({tx}));
       }},
      // ---- BroadcastBlock: connection (13.5) ----
      {"tx-bad-nonce", "a transfer with nonce 5",
       [](H& h) { return h.Broadcast(h.OnTip({h.Pay(0, 3, 10, 1, 5)})); }},
      {"tx-insufficient-funds", "a transfer of more than the balance",
       [](H& h) { return h.Broadcast(h.OnTip({h.Pay(2, 3, kFunds, 1, 0)})); }},
      {"tx-duplicate-record", "one key written twice in a block",
       [](H& h) {
         return h.Broadcast(h.OnTip({h.Pay(0, 3, 0, 1, 0, Keyed("bob")),
                                     h.Pay(2, 3, 0, 1, 0, Keyed("bob"))}));
       }},
      {"tx-recipient-overflow", "a transfer its recipient cannot hold",
       [](H& h) {
         h.Extend({}, /*miner=*/0);
         return h.Broadcast(h.OnTip({h.Pay(0, 1, 2 * kFunds + 1, 1, 0)}));
       }},
  };
}

class ReasonCaseTest : public ::testing::TestWithParam<size_t> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/reason_names_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string dir_;
};

TEST_P(ReasonCaseTest, MessageStartsWithTheReasonName) {
  const Case c = Cases()[GetParam()];
  SCOPED_TRACE(absl::StrCat(c.reason, " (", c.what, ")"));
  std::string message;
  {
    Harness h(dir_);
    ASSERT_TRUE(h.ok());
    message = c.run(h);
  }
  EXPECT_TRUE(absl::StartsWith(message, absl::StrCat(c.reason, ": ")))
      << "message: '" << message << "'";
}

INSTANTIATE_TEST_SUITE_P(Cases, ReasonCaseTest,
                         ::testing::Range<size_t>(0, Cases().size()),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           const Case c = Cases()[info.param];
                           std::string name =
                               absl::StrCat(c.reason, "_", c.what);
                           for (char& ch : name) {
                             if (!std::isalnum(static_cast<unsigned char>(ch)))
                               ch = '_';
                           }
                           return absl::StrCat(info.param, "_", name);
                         });

TEST(ReasonNamesTest, DocumentedNamesAreTheKernelsAndThePolicyNames) {
  const std::set<std::string> documented = DocumentedNames();
  ASSERT_FALSE(documented.empty()) << "no reason names in PROTOCOL.md 13";
  std::set<std::string> known = KernelNames();
  known.insert(kPolicyNames.begin(), kPolicyNames.end());
  for (const std::string& name : known) {
    EXPECT_TRUE(documented.contains(name))
        << name << " is produced but not documented in PROTOCOL.md 13";
  }
  for (const std::string& name : documented) {
    EXPECT_TRUE(known.contains(name))
        << name << " is documented in PROTOCOL.md 13 but never produced";
  }
}

TEST(ReasonNamesTest, EveryDocumentedNameHasACaseOrAReasonWhyNot) {
  std::set<std::string> covered;
  for (const Case& c : Cases()) covered.insert(c.reason);
  std::set<std::string> unreachable;
  for (const NotReachable& n : kNotReachable) unreachable.insert(n.reason);
  for (const std::string& name : DocumentedNames()) {
    EXPECT_NE(covered.contains(name), unreachable.contains(name))
        << name << ": needs exactly one of a case or a kNotReachable entry";
  }
  for (const std::string& name : covered) {
    EXPECT_TRUE(DocumentedNames().contains(name)) << name;
  }
}

// Why tx-too-large is in kNotReachable: the largest transaction whose
// fields pass the conversion's limits still fits kMaxTxSize.
TEST(ReasonNamesTest, LargestTransactionFitsTheSizeLimit) {
  Transaction tx =
      MakeTransfer(Params(), TestKey(0), Addr(3), 1, 1, 0,
                   DataRecord{std::string(kMaxNamespaceLen, 'n'),
                              std::string(kMaxRecordKeyLen, 'k'),
                              std::string(kMaxRecordPayload, 'p')});
  tx.chain_id = std::string(kMaxChainIdLen, 'c');
  EXPECT_LE(tx.Encode().size(), kMaxTxSize);
}

}  // namespace
}  // namespace pbchain
