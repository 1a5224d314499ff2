#include "tests/p2p/p2p_harness.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "chain/miner.h"
#include "chain/pow.h"
#include "google/protobuf/text_format.h"
#include "node/p2p/wire.h"
#include "proto/convert.h"
#include "tests/chain/test_chain.h"

namespace pbchain::p2ptest {
namespace {

std::chrono::steady_clock::time_point Deadline(absl::Duration timeout) {
  return std::chrono::steady_clock::now() + absl::ToChronoMicroseconds(timeout);
}

class FakeStream final : public GossipStream {
 public:
  explicit FakeStream(std::shared_ptr<FakeRemote> remote)
      : remote_(std::move(remote)) {}
  bool Read(Envelope* message) override { return remote_->NodeRead(message); }
  bool Write(const Envelope& message) override {
    return remote_->NodeWrite(message);
  }
  void Cancel() override { remote_->NodeCancel(); }
  void CloseWrites() override {}
  std::string RemoteAddress() const override {
    return remote_->remote_address();
  }

 private:
  const std::shared_ptr<FakeRemote> remote_;
};

}  // namespace

// ---------------------------------------------------------------------------
// FakeRemote

bool FakeRemote::Send(const Envelope& message) {
  std::lock_guard<std::mutex> lock(mu_);
  if (cancelled_ || hung_up_) return false;
  to_node_.push_back(message);
  cv_.notify_all();
  return true;
}

void FakeRemote::Hangup() {
  std::lock_guard<std::mutex> lock(mu_);
  hung_up_ = true;
  cv_.notify_all();
}

bool FakeRemote::NodeRead(Envelope* message) {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return cancelled_ || hung_up_ || !to_node_.empty(); });
  if (cancelled_ || to_node_.empty()) return false;
  *message = std::move(to_node_.front());
  to_node_.pop_front();
  return true;
}

bool FakeRemote::NodeWrite(const Envelope& message) {
  std::lock_guard<std::mutex> lock(mu_);
  if (cancelled_) return false;
  from_node_.push_back(message);
  if (message.has_ping() && !hung_up_) {
    Envelope pong;
    pong.mutable_pong()->set_nonce(message.ping().nonce());
    to_node_.push_back(std::move(pong));
  }
  cv_.notify_all();
  return true;
}

void FakeRemote::NodeCancel() {
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_ = true;
  cv_.notify_all();
}

std::optional<Envelope> FakeRemote::WaitFor(
    const std::function<bool(const Envelope&)>& match, absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  std::optional<Envelope> found;
  size_t seen = 0;
  auto done = [&] {
    for (; seen < from_node_.size(); ++seen) {
      if (match(from_node_[seen])) {
        found = from_node_[seen];
        return true;
      }
    }
    return false;
  };
  cv_.wait_until(lock, Deadline(timeout), done);
  return found;
}

int FakeRemote::Count(const std::function<bool(const Envelope&)>& match) {
  std::lock_guard<std::mutex> lock(mu_);
  return static_cast<int>(
      std::count_if(from_node_.begin(), from_node_.end(), match));
}

std::optional<v1::Hello> FakeRemote::WaitForHello(absl::Duration timeout) {
  std::optional<Envelope> e =
      WaitFor([](const Envelope& e) { return e.has_hello(); }, timeout);
  if (!e) return std::nullopt;
  return e->hello();
}

std::optional<v1::Reject> FakeRemote::WaitForReject(v1::RejectCode code,
                                                    absl::Duration timeout) {
  std::optional<Envelope> e = WaitFor(
      [code](const Envelope& e) {
        return e.has_reject() && e.reject().code() == code;
      },
      timeout);
  if (!e) return std::nullopt;
  return e->reject();
}

bool FakeRemote::WaitForEnd(absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_until(lock, Deadline(timeout), [&] { return cancelled_; });
}

bool FakeRemote::ended() {
  std::lock_guard<std::mutex> lock(mu_);
  return cancelled_;
}

bool FakeRemote::Sync(absl::Duration timeout) {
  uint64_t nonce;
  {
    std::lock_guard<std::mutex> lock(mu_);
    nonce = next_nonce_++;
  }
  Envelope ping;
  ping.mutable_ping()->set_nonce(nonce);
  if (!Send(ping)) return false;
  return WaitFor(
             [nonce](const Envelope& e) {
               return e.has_pong() && e.pong().nonce() == nonce;
             },
             timeout)
      .has_value();
}

std::string FakeRemote::Summary() {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out = absl::StrCat(from_node_.size(), " message(s) from the node",
                                 cancelled_ ? ", stream ended" : "", ":");
  for (const Envelope& e : from_node_) {
    std::string text;
    google::protobuf::TextFormat::Printer printer;
    printer.SetSingleLineMode(true);
    printer.SetTruncateStringFieldLongerThan(16);
    printer.PrintToString(e, &text);
    absl::StrAppend(&out, "\n  ", text.substr(0, 300));
  }
  return out;
}

std::unique_ptr<GossipStream> MakeFakeStream(
    std::shared_ptr<FakeRemote> remote) {
  return std::make_unique<FakeStream>(std::move(remote));
}

// ---------------------------------------------------------------------------
// FakeDialer

std::unique_ptr<GossipStream> FakeDialer::Dial(
    const std::string& address, const std::function<bool()>& cancelled) {
  std::lock_guard<std::mutex> lock(mu_);
  dialed_.push_back(address);
  cv_.notify_all();
  if (std::find(refused_.begin(), refused_.end(), address) != refused_.end()) {
    return nullptr;
  }
  auto remote = std::make_shared<FakeRemote>(kLoopbackRemote);
  open_.emplace_back(address, remote);
  return MakeFakeStream(remote);
}

std::shared_ptr<FakeRemote> FakeDialer::WaitForDial(const std::string& address,
                                                    absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  std::shared_ptr<FakeRemote> found;
  cv_.wait_until(lock, Deadline(timeout), [&] {
    for (auto it = open_.begin(); it != open_.end(); ++it) {
      if (it->first == address) {
        found = it->second;
        open_.erase(it);
        return true;
      }
    }
    return false;
  });
  return found;
}

std::vector<std::string> FakeDialer::dialed() {
  std::lock_guard<std::mutex> lock(mu_);
  return dialed_;
}

void FakeDialer::Refuse(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  refused_.push_back(address);
}

// ---------------------------------------------------------------------------
// InboundPeer

InboundPeer::InboundPeer(Network* network, std::string remote_address)
    : remote_(std::make_shared<FakeRemote>(std::move(remote_address))) {
  std::unique_ptr<GossipStream> stream = MakeFakeStream(remote_);
  thread_ = std::thread([network, s = std::move(stream)]() mutable {
    network->RunInbound(std::move(s));
  });
}

InboundPeer::~InboundPeer() {
  remote_->Hangup();
  thread_.join();
}

// ---------------------------------------------------------------------------
// Messages

Envelope HelloEnvelope(const v1::Hello& hello) {
  Envelope e;
  *e.mutable_hello() = hello;
  return e;
}

Envelope BlockEnvelope(const Block& block) {
  Envelope e;
  *e.mutable_block()->mutable_block() = BlockToProto(block);
  return e;
}

Envelope TransactionEnvelope(const Transaction& tx) {
  Envelope e;
  *e.mutable_transaction()->mutable_transaction() = TransactionToProto(tx);
  return e;
}

Envelope InventoryOf(const std::vector<Hash256>& blocks,
                     const std::vector<Hash256>& txids) {
  Envelope e;
  v1::Inventory* inv = e.mutable_inventory();
  for (const Hash256& h : blocks) inv->add_block_hashes(Raw(h));
  for (const Hash256& h : txids) inv->add_txids(Raw(h));
  return e;
}

Envelope GetDataOf(const std::vector<Hash256>& blocks,
                   const std::vector<Hash256>& txids) {
  Envelope e;
  v1::GetData* request = e.mutable_get_data();
  for (const Hash256& h : blocks) request->add_block_hashes(Raw(h));
  for (const Hash256& h : txids) request->add_txids(Raw(h));
  return e;
}

Envelope HeadersOf(const std::vector<BlockHeader>& headers) {
  Envelope e;
  v1::Headers* out = e.mutable_headers();
  for (const BlockHeader& h : headers)
    *out->add_headers() = BlockHeaderToProto(h);
  return e;
}

std::string Raw(const Hash256& h) { return HashBytes(h); }

namespace {
bool Contains(const google::protobuf::RepeatedPtrField<std::string>& field,
              const Hash256& h) {
  return std::find(field.begin(), field.end(), Raw(h)) != field.end();
}
}  // namespace

bool InventoryHasBlock(const Envelope& e, const Hash256& h) {
  return e.has_inventory() && Contains(e.inventory().block_hashes(), h);
}
bool InventoryHasTx(const Envelope& e, const Hash256& h) {
  return e.has_inventory() && Contains(e.inventory().txids(), h);
}
bool GetDataHasBlock(const Envelope& e, const Hash256& h) {
  return e.has_get_data() && Contains(e.get_data().block_hashes(), h);
}
bool GetDataHasTx(const Envelope& e, const Hash256& h) {
  return e.has_get_data() && Contains(e.get_data().txids(), h);
}

bool WaitUntil(const std::function<bool()>& done, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(2));
  }
  return true;
}

void Solve(BlockHeader& header, bool valid) {
  const UInt256 target = DecodeCompact(header.bits).target;
  for (uint32_t nonce = 0;; ++nonce) {
    header.nonce = nonce;
    if (HashMeetsTarget(header.Hash(), target) == valid) return;
    if (nonce == UINT32_MAX) {
      header.time += 1;
      nonce = 0;
    }
  }
}

// ---------------------------------------------------------------------------
// P2pTest

void P2pTest::SetUp() {
  char tmpl[] = "/tmp/p2p_test.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  dir_ = tmpl;
  params_ = testing::TestParams(4, 1'000'000);
  NodeOptions node_options;
  node_options.datadir = dir_ + "/data";
  node_options.params = params_;
  absl::StatusOr<std::unique_ptr<Node>> node = Node::Create(node_options);
  ASSERT_TRUE(node.ok()) << node.status();
  node_ = *std::move(node);
  tip_ = chain().Tip().hash;
  tip_listener_ = node_->AddTipListener([this](const TipEvent& event) {
    std::lock_guard<std::mutex> lock(tip_mu_);
    tip_ = event.tip.hash;
    tip_cv_.notify_all();
  });

  dialer_ = std::make_shared<FakeDialer>();
  NetworkOptions options;
  options.advertise = "127.0.0.1:17001";
  options.clock = &clock_;
  options.dialer = dialer_;
  options.maintenance_thread = false;
  Configure(options);
  network_ = std::make_unique<Network>(node_.get(), options);
  network_->Start();
}

void P2pTest::TearDown() {
  if (network_) network_->Stop();
  network_.reset();
  if (node_) {
    node_->RemoveTipListener(tip_listener_);
    node_.reset();
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

v1::Hello P2pTest::HonestHello(const std::string& node_id) const {
  v1::Hello h;
  h.set_genesis_hash(Raw(node_->chain().genesis_hash()));
  h.set_height(0);
  h.set_tip_hash(Raw(node_->chain().genesis_hash()));
  h.set_chain_work("1");
  h.set_node_id(node_id);
  h.set_protocol_version(kProtocolVersion);
  h.set_role(v1::PEER_ROLE_FULL);
  h.set_user_agent("p2p-test");
  return h;
}

std::unique_ptr<InboundPeer> P2pTest::Open(const std::string& remote_address) {
  return std::make_unique<InboundPeer>(network_.get(), remote_address);
}

std::unique_ptr<InboundPeer> P2pTest::Greeted(
    const v1::Hello& hello, const std::string& remote_address) {
  std::unique_ptr<InboundPeer> peer = Open(remote_address);
  EXPECT_TRUE((*peer)->Send(HelloEnvelope(hello)));
  EXPECT_TRUE((*peer)->WaitForHello().has_value()) << (*peer)->Summary();
  EXPECT_TRUE((*peer)->Sync()) << "not admitted: " << (*peer)->Summary();
  return peer;
}

std::optional<int> P2pTest::ScoreOf(const std::string& node_id) {
  v1::ListPeersResponse peers;
  network_->ListPeers(&peers);
  for (const v1::ConnectedPeer& p : peers.connected()) {
    if (p.info().node_id() == node_id) return p.misbehavior_score();
  }
  return std::nullopt;
}

Block P2pTest::BlockOn(const Hash256& parent, std::vector<Transaction> txs,
                       uint64_t extra) {
  std::optional<BlockIndexEntry> e = chain().GetIndexEntry(parent);
  EXPECT_TRUE(e.has_value());
  if (!e) return Block{};
  return testing::MakeBlock(
      params_, e->header, e->height, std::move(txs),
      AddressFromPublicKey(testing::TestKey(3).public_key()), extra);
}

Block P2pTest::Extend(std::vector<Transaction> txs) {
  Block b = BlockOn(chain().Tip().hash, std::move(txs));
  absl::StatusOr<AcceptResult> r = node_->SubmitBlock(b);
  EXPECT_TRUE(r.ok()) << r.status();
  if (r.ok()) {
    EXPECT_EQ(r->status, AcceptStatus::kActive);
  }
  return b;
}

Transaction P2pTest::Pay(int from, uint64_t amount, uint64_t fee,
                         uint64_t nonce) {
  return testing::MakeTransfer(
      params_, testing::TestKey(from),
      AddressFromPublicKey(testing::TestKey(3).public_key()), amount, fee,
      nonce);
}

bool P2pTest::WaitForTip(const Hash256& hash, absl::Duration timeout) {
  std::unique_lock<std::mutex> lock(tip_mu_);
  return tip_cv_.wait_until(lock, Deadline(timeout),
                            [&] { return tip_ == hash; });
}

}  // namespace pbchain::p2ptest
