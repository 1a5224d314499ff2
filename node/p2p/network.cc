#include "node/p2p/network.h"

#include <algorithm>
#include <random>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "chain/pow.h"
#include "glog/logging.h"
#include "grpcpp/grpcpp.h"
#include "node/p2p/tracker_client.h"
#include "node/p2p/wire.h"
#include "pbchain/v1/gossip.grpc.pb.h"
#include "pbchain/v1/node.grpc.pb.h"
#include "proto/convert.h"

namespace pbchain {
namespace {

using Envelope = v1::GossipEnvelope;

// The dialing side of a gossip stream.
class ClientGossipStream final : public GossipStream {
 public:
  ClientGossipStream(std::shared_ptr<grpc::Channel> channel)
      : stub_(v1::Gossip::NewStub(std::move(channel))),
        stream_(stub_->Exchange(&context_)) {}
  ~ClientGossipStream() override {
    context_.TryCancel();
    (void)stream_->Finish();
  }
  bool Read(Envelope* message) override { return stream_->Read(message); }
  bool Write(const Envelope& message) override {
    return stream_->Write(message);
  }
  void Cancel() override { context_.TryCancel(); }
  void CloseWrites() override { stream_->WritesDone(); }
  std::string RemoteAddress() const override { return context_.peer(); }

 private:
  std::unique_ptr<v1::Gossip::Stub> stub_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<Envelope, Envelope>> stream_;
};

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address,
                                           int max_message_bytes) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(max_message_bytes);
  args.SetMaxSendMessageSize(max_message_bytes);
  // A dead peer is redialed by the network with its own backoff.
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(),
                                   args);
}

// "ipv4:1.2.3.4:5678" -> "1.2.3.4", "ipv6:%5B2001:db8::1%5D:5678" ->
// "2001:db8::1"; empty for loopback (127/8, ::1, ::ffff:127.x), where every
// node of a devnet shares one IP and only node ids tell peers apart.
std::string BanIp(const std::string& transport_address) {
  if (absl::StartsWith(transport_address, "unix:")) return "";
  std::string rest = absl::StrReplaceAll(transport_address,
                                         {{"%5B", "["}, {"%5D", "]"},
                                          {"%5b", "["}, {"%5d", "]"}});
  for (const char* prefix : {"ipv4:", "ipv6:"}) {
    if (absl::StartsWith(rest, prefix)) rest = rest.substr(strlen(prefix));
  }
  const size_t colon = rest.rfind(':');
  std::string ip = colon == std::string::npos ? rest : rest.substr(0, colon);
  if (ip.size() >= 2 && ip.front() == '[' && ip.back() == ']') {
    ip = ip.substr(1, ip.size() - 2);
  }
  if (absl::StartsWith(ip, "127.") || ip == "::1" ||
      absl::StartsWith(ip, "::ffff:127.")) {
    return "";
  }
  return ip;
}

// The hashes of a repeated bytes field; nullopt if one is not 32 bytes.
std::optional<std::vector<Hash256>> ParseHashes(
    const google::protobuf::RepeatedPtrField<std::string>& field) {
  std::vector<Hash256> out;
  out.reserve(field.size());
  for (const std::string& bytes : field) {
    absl::StatusOr<Hash256> h = ParseHash(bytes, "hash");
    if (!h.ok()) return std::nullopt;
    out.push_back(*h);
  }
  return out;
}

uint64_t RandomNonce() {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  return random() | 1;  // never 0, which means "no ping outstanding"
}

}  // namespace

void RecentHashes::insert(const Hash256& h) {
  if (!set_.insert(h).second) return;
  order_.push_back(h);
  if (order_.size() > capacity_) {
    set_.erase(order_.front());
    order_.pop_front();
  }
}

Network::Network(Node* node, NetworkOptions options)
    : node_(node),
      options_(std::move(options)),
      sync_(node, BlockSync::Hooks{
                      [this](uint64_t peer, Envelope message) {
                        return SendTo(peer, std::move(message));
                      },
                      [this](uint64_t peer, int points, const std::string& why) {
                        Misbehaving(peer, points, why);
                      }}) {
  const absl::Time now = absl::Now();
  absl::MutexLock lock(&mu_);
  for (const std::string& address : options_.peers) {
    KnownAddress seed;
    seed.address = address;
    seed.source = AddressSource::kSeed;
    book_.Add(seed, now);
  }
}

Network::~Network() { Stop(); }

void Network::Start(const std::string& advertise) {
  {
    absl::MutexLock lock(&mu_);
    if (started_ || stopping_) return;
    if (!advertise.empty()) options_.advertise = advertise;
    self_addresses_.insert(options_.advertise);
    started_ = true;
  }
  node_->SetTransactionListener(
      [this](const Transaction& tx) { AnnounceTransaction(tx.Id()); });
  tip_listener_ = node_->AddTipListener([this](const TipEvent& event) {
    // While downloading a chain, peers hear of the new tip once sync ends.
    if (!sync_.syncing()) AnnounceBlock(event.tip.hash, event.tip.height);
  });
  if (!options_.tracker.empty()) {
    tracker_ = std::make_unique<TrackerClient>(this, node_, options_.tracker);
  }
  maintenance_ = std::thread([this] { MaintenanceLoop(); });
  if (options_.discover_high >= options_.discover_low) {
    discover_ = std::thread([this] { DiscoverLoop(); });
  }
}

void Network::Stop() {
  std::map<uint64_t, std::thread> threads;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
    for (auto& [id, peer] : peers_) {
      if (peer->link != nullptr) peer->link->Close();
    }
  }
  if (tip_listener_ != 0) node_->RemoveTipListener(tip_listener_);
  tracker_.reset();  // leaves the tracker
  if (maintenance_.joinable()) maintenance_.join();
  if (discover_.joinable()) discover_.join();
  {
    absl::MutexLock lock(&mu_);
    threads.swap(outbound_threads_);
  }
  for (auto& [id, thread] : threads) thread.join();
  {
    // Inbound sessions end once their links are closed; close again what
    // registered since (a session between its accept and registration).
    absl::MutexLock lock(&mu_);
    auto idle = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return inbound_sessions_ == 0;
    };
    while (!mu_.AwaitWithTimeout(absl::Condition(&idle), absl::Seconds(1))) {
      for (auto& [id, peer] : peers_) {
        if (peer->link != nullptr) peer->link->Close();
      }
    }
  }
  sync_.Stop();
}

// ---------------------------------------------------------------------------
// Sessions

void Network::RunInbound(std::unique_ptr<GossipStream> stream) {
  auto peer = std::make_shared<Peer>();
  peer->inbound = true;
  peer->link = std::make_unique<PeerLink>(std::move(stream));
  bool accept;
  bool full = false;
  {
    absl::MutexLock lock(&mu_);
    accept = started_ && !stopping_;
    // Streams still in their handshake count too: a flood of silent
    // streams must not pin an unbounded number of threads.
    full = inbound_sessions_ >= MaxInboundSessions();
    if (accept && !full) ++inbound_sessions_;
  }
  if (accept && full) {
    Envelope reject;
    reject.mutable_reject()->set_code(v1::REJECT_CODE_TOO_MANY_PEERS);
    reject.mutable_reject()->set_message("no room for more inbound streams");
    peer->link->Send(std::move(reject));
    peer->link->CloseAfterFlush();
  }
  if (!accept || full) {
    peer->link->Shutdown();
    return;
  }
  RunSession(peer);
  absl::MutexLock lock(&mu_);
  --inbound_sessions_;
}

void Network::StartOutbound(const std::string& address) {
  const uint64_t token = next_peer_id_++;
  auto peer = std::make_shared<Peer>();
  peer->id = token;
  peer->dial_address = address;
  peer->connected_since = absl::Now();
  peer->last_message = peer->connected_since;
  // Registered before the stream exists so that the dial counts against
  // max_outbound and the address is not dialed twice.
  peers_[peer->id] = peer;
  outbound_threads_[token] = std::thread([this, peer, address, token] {
    std::shared_ptr<grpc::Channel> channel =
        MakeChannel(address, options_.max_message_bytes);
    // Connect first, in slices, so that Stop never waits for a dead
    // address; the stream is started only on a live connection.
    bool connected = false;
    const absl::Time give_up = absl::Now() + kConnectTimeout;
    while (!connected && absl::Now() < give_up) {
      {
        absl::MutexLock lock(&mu_);
        if (stopping_) break;
      }
      connected = channel->WaitForConnected(
          std::chrono::system_clock::now() + std::chrono::milliseconds(250));
    }
    std::unique_ptr<PeerLink> link;
    if (connected) {
      link = std::make_unique<PeerLink>(
          std::make_unique<ClientGossipStream>(std::move(channel)));
    }
    bool run = false;
    {
      absl::MutexLock lock(&mu_);
      run = connected && !stopping_;
      if (run) {
        peer->link = std::move(link);
      } else {
        peers_.erase(peer->id);
        if (!connected) book_.OnDialFailed(address, absl::Now());
      }
    }
    if (link != nullptr) link->Shutdown();
    if (run) RunSession(peer);
    absl::MutexLock lock(&mu_);
    finished_.push_back(token);
  });
}

void Network::RunSession(PeerPtr peer) {
  bool stopping;
  {
    absl::MutexLock lock(&mu_);
    stopping = stopping_;
    if (peer->id == 0 && !stopping) {
      peer->id = next_peer_id_++;
      peers_[peer->id] = peer;
    }
    peer->connected_since = absl::Now();
    peer->last_message = peer->connected_since;
    peer->last_decay = peer->connected_since;
    peer->remote_ip = BanIp(peer->link->RemoteAddress());
  }
  if (stopping) {
    peer->link->Shutdown();
    absl::MutexLock lock(&mu_);
    peers_.erase(peer->id);
    return;
  }
  peer->link->Send([this] {
    Envelope hello;
    *hello.mutable_hello() = MakeHello();
    return hello;
  }());
  Envelope message;
  while (peer->link->Read(&message)) {
    if (!Handle(peer, message)) break;
    message.Clear();
  }
  // Let a final Reject go out, then end the stream for good.
  peer->link->CloseAfterFlush();
  bool was_connected;
  {
    absl::MutexLock lock(&mu_);
    was_connected = peer->hello_done;
    peers_.erase(peer->id);
    // Its outstanding transaction requests may be asked of others now.
    std::erase_if(tx_requests_, [&](const auto& request) {
      return request.second.first == peer->id;
    });
    if (!peer->inbound) {
      // A session that ended soon (refused after the hello, too many
      // peers, banned) counts as a failed dial, so it is retried with
      // backoff rather than at once.
      const absl::Time now = absl::Now();
      if (was_connected && now - peer->connected_since >= kStableSession) {
        book_.OnSessionEnded(peer->dial_address, now);
      } else {
        book_.OnDialFailed(peer->dial_address, now);
      }
    }
  }
  sync_.OnPeerGone(peer->id);
  peer->link->Shutdown();
  if (was_connected) {
    LOG(INFO) << "peer " << peer->id << " (" << peer->node_id << " at "
              << (peer->inbound ? peer->listen_address : peer->dial_address)
              << ") disconnected";
  }
}

v1::Hello Network::MakeHello() const {
  const TipInfo tip = node_->chain().Tip();
  v1::Hello hello;
  hello.set_genesis_hash(HashBytes(node_->chain().genesis_hash()));
  hello.set_height(tip.height);
  hello.set_tip_hash(HashBytes(tip.hash));
  hello.set_chain_work(tip.chain_work.ToDecimal());
  hello.set_listen_address(options_.advertise);
  hello.set_node_id(node_->node_id());
  hello.set_protocol_version(kProtocolVersion);
  hello.set_role(RoleFromText(node_->options().role));
  hello.set_user_agent(kNodeVersion);
  return hello;
}

bool Network::SendTo(uint64_t peer_id, Envelope message) {
  PeerPtr peer;
  {
    absl::MutexLock lock(&mu_);
    auto it = peers_.find(peer_id);
    if (it == peers_.end() || it->second->link == nullptr) return false;
    peer = it->second;
  }
  return peer->link->Send(std::move(message));
}

void Network::RejectAndClose(const PeerPtr& peer, v1::RejectCode code,
                             const std::string& why) {
  Envelope message;
  message.mutable_reject()->set_code(code);
  message.mutable_reject()->set_message(why.substr(0, 256));
  peer->link->Send(std::move(message));
  peer->link->CloseAfterFlush();
}

void Network::Misbehaving(uint64_t peer_id, int points,
                          const std::string& why) {
  PeerPtr peer;
  {
    absl::MutexLock lock(&mu_);
    auto it = peers_.find(peer_id);
    if (it == peers_.end()) return;
    peer = it->second;
  }
  Misbehaving(peer, points, why);
}

void Network::Misbehaving(const PeerPtr& peer, int points,
                          const std::string& why) {
  bool ban = false;
  std::string who;
  int score;
  {
    absl::MutexLock lock(&mu_);
    const int before = peer->score;
    peer->score += points;
    score = peer->score;
    who = absl::StrCat("peer ", peer->id, " (", peer->node_id, ")");
    ban = before < kBanScore && peer->score >= kBanScore;
    if (ban) {
      const absl::Time until = absl::Now() + options_.ban_duration;
      if (!peer->node_id.empty()) book_.Ban(peer->node_id, until);
      if (!peer->remote_ip.empty()) book_.Ban(peer->remote_ip, until);
      if (!peer->inbound) book_.Ban(peer->dial_address, until);
    }
  }
  // One line per offence, except floods (a point a message): every 25th.
  if (points > 1 || ban || score % 25 == 0) {
    LOG(WARNING) << who << " misbehaved (+" << points << ", score " << score
                 << "): " << why;
  }
  if (ban) {
    LOG(WARNING) << who << " banned for "
                 << absl::FormatDuration(options_.ban_duration);
    RejectAndClose(peer, v1::REJECT_CODE_BANNED,
                   absl::StrCat("banned: ", why));
  }
}

bool Network::IsBannedLocked(const std::string& node_id, const std::string& ip,
                             absl::Time now) const {
  return book_.IsBanned(node_id, now) ||
         (!ip.empty() && book_.IsBanned(ip, now));
}

bool Network::ChargeFlood(const PeerPtr& peer) {
  const absl::Time now = absl::Now();
  if (peer->flood_refill != absl::Time()) {
    peer->flood_tokens = std::min(
        kFloodBurst,
        peer->flood_tokens +
            absl::ToDoubleSeconds(now - peer->flood_refill) *
                kFloodRatePerSecond);
  }
  peer->flood_refill = now;
  peer->flood_tokens -= 1;
  return peer->flood_tokens >= 0;
}

// ---------------------------------------------------------------------------
// Messages

bool Network::Handle(const PeerPtr& peer, const Envelope& message) {
  bool hello_done;
  bool flooding = false;
  {
    absl::MutexLock lock(&mu_);
    peer->last_message = absl::Now();
    hello_done = peer->hello_done;
    switch (message.body_case()) {
      case Envelope::kBlock:
      case Envelope::kHeaders:
      case Envelope::kNotFound:
      case Envelope::kPong:
      case Envelope::kHello:
        break;  // answers to our requests, or checked on their own
      default:
        flooding = hello_done && !ChargeFlood(peer);
    }
  }
  if (!hello_done) {
    if (message.body_case() != Envelope::kHello) {
      RejectAndClose(peer, v1::REJECT_CODE_PROTOCOL_VIOLATION,
                     "the first message must be a Hello");
      return false;
    }
    return HandleHello(peer, message.hello());
  }
  if (flooding) Misbehaving(peer, 1, "flood of messages");
  switch (message.body_case()) {
    case Envelope::kHello:
      Misbehaving(peer, kProtocolViolationPoints, "a second Hello");
      break;
    case Envelope::kInventory:
      HandleInventory(peer, message.inventory());
      break;
    case Envelope::kGetData:
      HandleGetData(peer, message.get_data());
      break;
    case Envelope::kBlock:
      HandleBlock(peer, message.block());
      break;
    case Envelope::kTransaction:
      HandleTransaction(peer, message.transaction());
      break;
    case Envelope::kGetHeaders:
      HandleGetHeaders(peer, message.get_headers());
      break;
    case Envelope::kHeaders:
      HandleHeaders(peer, message.headers());
      break;
    case Envelope::kPeerRequest:
      HandlePeerRequest(peer, message.peer_request());
      break;
    case Envelope::kPeerList:
      HandlePeerList(peer, message.peer_list());
      break;
    case Envelope::kPing: {
      Envelope pong;
      pong.mutable_pong()->set_nonce(message.ping().nonce());
      peer->link->Send(std::move(pong));
      break;
    }
    case Envelope::kPong: {
      bool expected;
      {
        absl::MutexLock lock(&mu_);
        expected = peer->ping_nonce != 0 &&
                   message.pong().nonce() == peer->ping_nonce;
        if (expected) peer->ping_nonce = 0;
      }
      if (!expected) {
        Misbehaving(peer, kProtocolViolationPoints, "a Pong for no Ping");
      }
      break;
    }
    case Envelope::kReject: {
      const v1::Reject& reject = message.reject();
      LOG(INFO) << "peer " << peer->id << " rejected "
                << (reject.hash().size() == 32
                        ? ParseHash(reject.hash(), "hash")->ToDisplayHex()
                        : "the session")
                << ": " << v1::RejectCode_Name(reject.code()) << " "
                << reject.message().substr(0, 256);
      if (reject.hash().empty() && reject.code() != v1::REJECT_CODE_INVALID &&
          reject.code() != v1::REJECT_CODE_MALFORMED) {
        return false;  // a refusal of the whole session
      }
      break;
    }
    case Envelope::kNotFound:
      HandleNotFound(peer, message.not_found());
      break;
    case Envelope::BODY_NOT_SET:
      Misbehaving(peer, kMalformedPoints, "an empty or unknown message");
      break;
  }
  return !peer->link->closed();
}

bool Network::HandleHello(const PeerPtr& peer, const v1::Hello& hello) {
  const std::string ours = HashBytes(node_->chain().genesis_hash());
  if (hello.genesis_hash() != ours) {
    RejectAndClose(peer, v1::REJECT_CODE_WRONG_GENESIS,
                   "another network: the genesis hashes differ");
    return false;
  }
  if (hello.protocol_version() != kProtocolVersion) {
    RejectAndClose(peer, v1::REJECT_CODE_PROTOCOL_VERSION,
                   absl::StrCat("protocol version ", hello.protocol_version(),
                                " is not supported; this node speaks ",
                                kProtocolVersion));
    return false;
  }
  absl::StatusOr<UInt256> work = UInt256::FromDecimal(hello.chain_work());
  absl::StatusOr<Hash256> tip = ParseHash(hello.tip_hash(), "tip_hash");
  if (!IsValidNodeId(hello.node_id()) || !work.ok() || !tip.ok() ||
      (!hello.listen_address().empty() &&
       !CheckPeerAddress(hello.listen_address()).ok()) ||
      hello.user_agent().size() > 64) {
    RejectAndClose(peer, v1::REJECT_CODE_MALFORMED,
                   "malformed Hello (node_id, chain_work, tip_hash, "
                   "listen_address or user_agent)");
    return false;
  }
  if (hello.node_id() == node_->node_id()) {
    absl::MutexLock lock(&mu_);
    if (!peer->inbound) {
      self_addresses_.insert(peer->dial_address);
      book_.Remove(peer->dial_address);
    }
    RejectAndClose(peer, v1::REJECT_CODE_DUPLICATE_CONNECTION,
                   "connected to itself");
    return false;
  }

  PeerPtr replaced;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = absl::Now();
    if (IsBannedLocked(hello.node_id(), peer->remote_ip, now)) {
      RejectAndClose(peer, v1::REJECT_CODE_BANNED,
                     "banned for misbehaviour; try again later");
      return false;
    }
    int inbound = 0;
    for (const auto& [id, other] : peers_) {
      if (other == peer || !other->hello_done) continue;
      if (other->inbound) ++inbound;
      if (other->node_id != hello.node_id()) continue;
      // Two links to one node (both dialed at once): both ends keep the
      // link dialed by the node with the smaller id, so they agree.
      // The same node dialing twice (two addresses of one node): only the
      // dialer decides, dropping its newer link; the acceptor keeps both
      // until then, so the two ends never drop both.
      const std::string& me = node_->node_id();
      const std::string& new_dialer = peer->inbound ? hello.node_id() : me;
      const std::string& old_dialer = other->inbound ? other->node_id : me;
      if (new_dialer == old_dialer) {
        if (peer->inbound) continue;
        RejectAndClose(peer, v1::REJECT_CODE_DUPLICATE_CONNECTION,
                       "already connected to this node");
        return false;
      }
      if (new_dialer < old_dialer) {
        replaced = other;
      } else {
        RejectAndClose(peer, v1::REJECT_CODE_DUPLICATE_CONNECTION,
                       "already connected to this node");
        return false;
      }
    }
    if (peer->inbound && inbound >= options_.max_inbound) {
      RejectAndClose(peer, v1::REJECT_CODE_TOO_MANY_PEERS,
                     "no room for more inbound peers");
      return false;
    }
    peer->hello_done = true;
    peer->node_id = hello.node_id();
    peer->listen_address = hello.listen_address();
    peer->role = hello.role();
    peer->height = hello.height();
    peer->tip = *tip;
    peer->known.insert(*tip);
    if (!peer->inbound) {
      book_.OnConnected(peer->dial_address, peer->node_id, now);
    }
    if (!peer->listen_address.empty()) {
      KnownAddress known;
      known.address = peer->listen_address;
      known.node_id = peer->node_id;
      known.role = peer->role;
      known.source = AddressSource::kHello;
      known.height = peer->height;
      book_.Add(known, now);
    }
  }
  if (replaced) {
    RejectAndClose(replaced, v1::REJECT_CODE_DUPLICATE_CONNECTION,
                   "replaced by another link to the same node");
  }
  LOG(INFO) << "peer " << peer->id << " connected ("
            << (peer->inbound ? "inbound" : "outbound") << "): node "
            << peer->node_id << " at "
            << (peer->inbound ? peer->listen_address : peer->dial_address)
            << ", height " << hello.height() << ", role "
            << v1::PeerRole_Name(hello.role());
  sync_.OnPeerHeight(peer->id, static_cast<uint32_t>(std::min<uint64_t>(
                                   hello.height(), UINT32_MAX)));
  if (*work > node_->chain().Tip().chain_work) sync_.RequestHeaders(peer->id);
  if (!peer->inbound && !options_.connect_only) {
    {
      absl::MutexLock lock(&mu_);
      peer->peer_request_outstanding = true;
    }
    Envelope request;
    request.mutable_peer_request()->set_max_count(kMaxPeerListEntries);
    peer->link->Send(std::move(request));
  }
  return true;
}

void Network::HandleInventory(const PeerPtr& peer, const v1::Inventory& inv) {
  if (inv.block_hashes_size() + inv.txids_size() > kMaxInventoryHashes) {
    Misbehaving(peer, kOversizedListPoints,
                absl::StrCat("Inventory of ",
                             inv.block_hashes_size() + inv.txids_size(),
                             " hashes, limit ", kMaxInventoryHashes));
    return;
  }
  std::optional<std::vector<Hash256>> blocks = ParseHashes(inv.block_hashes());
  std::optional<std::vector<Hash256>> txids = ParseHashes(inv.txids());
  if (!blocks || !txids) {
    Misbehaving(peer, kMalformedPoints, "Inventory hash not 32 bytes");
    return;
  }
  const ChainState& chain = node_->chain();
  const bool syncing = sync_.syncing();
  Envelope request;
  bool unknown_block = false;
  uint32_t best_known_height = 0;
  for (const Hash256& h : *blocks) {
    if (std::optional<BlockIndexEntry> e = chain.GetIndexEntry(h)) {
      best_known_height = std::max(best_known_height, e->height);
      continue;
    }
    unknown_block = true;
    const absl::Time now = absl::Now();
    absl::MutexLock lock(&mu_);
    peer->known.insert(h);
    // While downloading a chain, new blocks wait for the sync to reach
    // them; a block asked of another peer a moment ago is not asked twice.
    auto asked = block_requests_.find(h);
    const bool pending =
        asked != block_requests_.end() && now - asked->second < kBlockRequestTimeout;
    if (!recent_rejects_.contains(h) && !syncing && !pending &&
        block_requests_.size() < kMaxBlockRequests &&
        request.get_data().block_hashes_size() < kMaxGetDataBlocks) {
      block_requests_[h] = now;
      peer->asked_blocks.insert(h);
      request.mutable_get_data()->add_block_hashes(HashBytes(h));
    }
  }
  if (best_known_height > 0) sync_.OnPeerHeight(peer->id, best_known_height);
  if (unknown_block) {
    sync_.OnPeerHeight(peer->id, chain.Tip().height + 1);
    if (syncing) sync_.RequestHeaders(peer->id);
  }
  std::vector<Hash256> new_txids;
  for (const Hash256& txid : *txids) {
    if (!node_->mempool().Contains(txid)) new_txids.push_back(txid);
  }
  {
    const absl::Time now = absl::Now();
    absl::MutexLock lock(&mu_);
    for (const Hash256& txid : *txids) peer->known.insert(txid);
    for (const Hash256& txid : new_txids) {
      // Each peer may hold at most kMaxTxRequestsPerPeer of our requests,
      // so no one peer can crowd out the others.
      if (recent_rejects_.contains(txid) || tx_requests_.contains(txid) ||
          tx_requests_.size() >= kMaxTxRequests ||
          peer->tx_requested >= kMaxTxRequestsPerPeer) {
        continue;
      }
      tx_requests_[txid] = {peer->id, now};
      ++peer->tx_requested;
      request.mutable_get_data()->add_txids(HashBytes(txid));
    }
  }
  if (request.has_get_data()) peer->link->Send(std::move(request));
}

void Network::HandleGetData(const PeerPtr& peer, const v1::GetData& request) {
  if (request.block_hashes_size() > kMaxGetDataBlocks ||
      request.block_hashes_size() + request.txids_size() >
          kMaxInventoryHashes) {
    Misbehaving(peer, kOversizedListPoints, "GetData over its caps");
    return;
  }
  std::optional<std::vector<Hash256>> blocks =
      ParseHashes(request.block_hashes());
  std::optional<std::vector<Hash256>> txids = ParseHashes(request.txids());
  if (!blocks || !txids) {
    Misbehaving(peer, kMalformedPoints, "GetData hash not 32 bytes");
    return;
  }
  Envelope missing;
  for (const Hash256& h : *blocks) {
    absl::StatusOr<Block> block = node_->chain().GetBlock(h);
    if (!block.ok()) {
      missing.mutable_not_found()->add_block_hashes(HashBytes(h));
      continue;
    }
    Envelope reply;
    *reply.mutable_block()->mutable_block() = BlockToProto(*block);
    {
      absl::MutexLock lock(&mu_);
      peer->known.insert(h);
    }
    // Back-pressure: a peer asking for many blocks waits for its own queue.
    if (!peer->link->SendWaiting(std::move(reply))) return;
  }
  for (const Hash256& txid : *txids) {
    std::optional<Transaction> tx = node_->mempool().Get(txid);
    if (!tx) {
      missing.mutable_not_found()->add_txids(HashBytes(txid));
      continue;
    }
    Envelope reply;
    *reply.mutable_transaction()->mutable_transaction() =
        TransactionToProto(*tx);
    if (!peer->link->SendWaiting(std::move(reply))) return;
  }
  if (missing.has_not_found()) peer->link->Send(std::move(missing));
}

void Network::HandleBlock(const PeerPtr& peer, const v1::BlockMsg& message) {
  absl::StatusOr<Block> block = BlockFromProto(message.block());
  if (!block.ok()) {
    Misbehaving(peer, kMalformedPoints,
                absl::StrCat("undecodable block: ", block.status().message()));
    return;
  }
  const Hash256 hash = block->Hash();
  if (sync_.OnBlock(peer->id, hash, *block)) {  // sync connects it
    absl::MutexLock lock(&mu_);
    peer->known.insert(hash);
    return;
  }
  bool flooding;
  {
    absl::MutexLock lock(&mu_);
    peer->known.insert(hash);
    block_requests_.erase(hash);
    // A block pushed without being asked for draws from the flood bucket.
    const bool asked = peer->asked_blocks.contains(hash);
    peer->asked_blocks.erase(hash);
    flooding = !asked && !ChargeFlood(peer);
  }
  if (flooding) Misbehaving(peer, 1, "flood of unrequested blocks");
  // A relayed block whose chain has less work than our tip is dropped
  // unprocessed: side branches enter only by sync, with more work, so a
  // peer cannot fill the store with cheap stale forks.
  const ChainState& chain = node_->chain();
  if (std::optional<BlockIndexEntry> parent =
          chain.GetIndexEntry(block->header.prev_hash)) {
    const UInt256 work =
        parent->chain_work +
        BlockWork(DecodeCompact(block->header.bits).target);
    if (work < chain.Tip().chain_work) {
      VLOG(1) << "block " << hash.ToDisplayHex() << " from peer " << peer->id
              << " has less work than our tip; dropped";
      return;
    }
  }
  absl::StatusOr<AcceptResult> result = node_->SubmitBlock(*block);
  if (!result.ok()) {
    LOG(ERROR) << "cannot store block " << hash.ToDisplayHex() << ": "
               << result.status();
    return;
  }
  switch (result->status) {
    case AcceptStatus::kActive:
    case AcceptStatus::kSideBranch:
      if (std::optional<BlockIndexEntry> e =
              node_->chain().GetIndexEntry(hash)) {
        sync_.OnPeerHeight(peer->id, e->height);
        LOG(INFO) << "block " << e->height << " " << hash.ToDisplayHex()
                  << " from peer " << peer->id
                  << (result->status == AcceptStatus::kActive
                          ? " is the new tip"
                          : " is on a side branch");
      }
      return;
    case AcceptStatus::kAlreadyKnown:
      return;
    case AcceptStatus::kInvalid:
      break;
  }
  const RejectReason reason = result->validation.reason();
  if (reason == RejectReason::kHeaderUnknownParent) {
    // We lack its ancestors: fetch the peer's chain headers first.
    sync_.RequestHeaders(peer->id);
    return;
  }
  if (reason == RejectReason::kHeaderTimeTooNew) {
    LOG(INFO) << "block " << hash.ToDisplayHex() << " from peer " << peer->id
              << " is from the future; ignored for now";
    return;  // may become valid: not the sender's fault
  }
  {
    absl::MutexLock lock(&mu_);
    recent_rejects_.insert(hash);
  }
  Envelope reject;
  reject.mutable_reject()->set_code(v1::REJECT_CODE_INVALID);
  reject.mutable_reject()->set_message(
      result->validation.message().substr(0, 256));
  reject.mutable_reject()->set_hash(HashBytes(hash));
  peer->link->Send(std::move(reject));
  Misbehaving(peer, kInvalidBlockPoints,
              absl::StrCat("invalid block ", hash.ToDisplayHex(), ": ",
                           result->validation.message()));
}

void Network::HandleTransaction(const PeerPtr& peer,
                                const v1::TransactionMsg& message) {
  absl::StatusOr<Transaction> tx = TransactionFromProto(message.transaction());
  if (!tx.ok() || tx->IsCoinbase()) {
    Misbehaving(peer, kMalformedPoints,
                tx.ok() ? "a coinbase outside a block"
                        : absl::StrCat("undecodable transaction: ",
                                       tx.status().message()));
    return;
  }
  const Hash256 txid = tx->Id();
  {
    absl::MutexLock lock(&mu_);
    peer->known.insert(txid);
    ForgetTxRequest(txid);
  }
  absl::StatusOr<Hash256> added = node_->SubmitTransaction(*tx);
  if (added.ok() || !absl::IsInvalidArgument(added.status())) return;
  // Context-free failure (bad signature, wrong chain...): never valid.
  {
    absl::MutexLock lock(&mu_);
    recent_rejects_.insert(txid);
  }
  Misbehaving(peer, kInvalidTransactionPoints,
              absl::StrCat("invalid transaction: ", added.status().message()));
}

void Network::HandleGetHeaders(const PeerPtr& peer,
                               const v1::GetHeaders& request) {
  if (request.locator_hashes_size() > kMaxGossipLocatorHashes) {
    Misbehaving(peer, kOversizedListPoints, "GetHeaders locator too long");
    return;
  }
  std::optional<std::vector<Hash256>> locator =
      ParseHashes(request.locator_hashes());
  std::optional<Hash256> stop;
  if (!request.stop_hash().empty()) {
    absl::StatusOr<Hash256> h = ParseHash(request.stop_hash(), "stop_hash");
    if (h.ok()) stop = *h;
  }
  if (!locator || (!request.stop_hash().empty() && !stop)) {
    Misbehaving(peer, kMalformedPoints, "GetHeaders hash not 32 bytes");
    return;
  }
  const uint32_t max_count =
      request.max_count() == 0
          ? kMaxHeadersPerMessage
          : std::min(request.max_count(), kMaxHeadersPerMessage);
  uint32_t start = 0;
  Envelope reply;
  for (const BlockHeader& h :
       node_->chain().HeadersAfterLocator(*locator, stop, max_count, &start)) {
    *reply.mutable_headers()->add_headers() = BlockHeaderToProto(h);
  }
  reply.mutable_headers();  // an empty answer is still an answer
  peer->link->SendWaiting(std::move(reply));
}

void Network::HandleHeaders(const PeerPtr& peer, const v1::Headers& message) {
  if (message.headers_size() > static_cast<int>(kMaxHeadersPerMessage)) {
    Misbehaving(peer, kOversizedListPoints, "Headers over 2000");
    return;
  }
  std::vector<BlockHeader> headers;
  headers.reserve(message.headers_size());
  for (const v1::BlockHeader& h : message.headers()) {
    absl::StatusOr<BlockHeader> header = BlockHeaderFromProto(h);
    if (!header.ok()) {
      Misbehaving(peer, kMalformedPoints,
                  absl::StrCat("undecodable header: ",
                               header.status().message()));
      return;
    }
    headers.push_back(*header);
  }
  sync_.OnHeaders(peer->id, headers);
}

void Network::HandlePeerRequest(const PeerPtr& peer,
                                const v1::PeerRequest& request) {
  const int want = request.max_count() == 0
                       ? kMaxPeerListEntries
                       : std::min<int>(request.max_count(), kMaxPeerListEntries);
  const std::string genesis = HashBytes(node_->chain().genesis_hash());
  Envelope reply;
  v1::PeerList* list = reply.mutable_peer_list();
  absl::flat_hash_set<std::string> listed{peer->listen_address};
  auto add = [&](const std::string& address, const std::string& node_id,
                 v1::PeerRole role, uint64_t height) {
    if (list->peers_size() >= want || address.empty() ||
        !listed.insert(address).second) {
      return;
    }
    v1::PeerInfo* info = list->add_peers();
    info->set_node_id(node_id);
    info->set_address(address);
    info->set_role(role);
    info->set_genesis_hash(genesis);
    info->set_height(height);
  };
  {
    absl::MutexLock lock(&mu_);
    // Connected peers first (known alive), then the rest of the book.
    for (const auto& [id, other] : peers_) {
      if (other == peer || !other->hello_done) continue;
      add(other->listen_address, other->node_id, other->role, other->height);
    }
    for (const KnownAddress& k : book_.List()) {
      if (k.failures == 0) add(k.address, k.node_id, k.role, k.height);
    }
  }
  peer->link->Send(std::move(reply));
}

void Network::HandlePeerList(const PeerPtr& peer, const v1::PeerList& list) {
  if (list.peers_size() > kMaxPeerListEntries) {
    Misbehaving(peer, kOversizedListPoints, "PeerList over 100");
    return;
  }
  {
    // Only answers to our PeerRequest fill the address book: unsolicited
    // lists could flush it with made-up addresses.
    absl::MutexLock lock(&mu_);
    if (!peer->peer_request_outstanding) return;
    peer->peer_request_outstanding = false;
  }
  for (const v1::PeerInfo& info : list.peers()) {
    AddKnown(info, AddressSource::kExchange);
  }
}

void Network::HandleNotFound(const PeerPtr& peer, const v1::NotFound& message) {
  if (message.block_hashes_size() + message.txids_size() >
      kMaxInventoryHashes) {
    Misbehaving(peer, kOversizedListPoints, "NotFound over 1000 hashes");
    return;
  }
  std::optional<std::vector<Hash256>> blocks =
      ParseHashes(message.block_hashes());
  std::optional<std::vector<Hash256>> txids = ParseHashes(message.txids());
  if (!blocks || !txids) {
    Misbehaving(peer, kMalformedPoints, "NotFound hash not 32 bytes");
    return;
  }
  sync_.OnNotFound(peer->id, *blocks);
  absl::MutexLock lock(&mu_);
  for (const Hash256& h : *blocks) block_requests_.erase(h);
  for (const Hash256& txid : *txids) {
    auto it = tx_requests_.find(txid);
    if (it != tx_requests_.end() && it->second.first == peer->id) {
      ForgetTxRequest(txid);
    }
  }
}

// ---------------------------------------------------------------------------
// Relay, addresses, and the peers' view for the API

void Network::AnnounceBlock(const Hash256& hash, uint32_t height) {
  std::vector<PeerPtr> targets;
  {
    absl::MutexLock lock(&mu_);
    last_announced_ = hash;
    for (const auto& [id, peer] : peers_) {
      if (!peer->hello_done || peer->known.contains(hash)) continue;
      peer->known.insert(hash);
      targets.push_back(peer);
    }
  }
  for (const PeerPtr& peer : targets) {
    Envelope inv;
    inv.mutable_inventory()->add_block_hashes(HashBytes(hash));
    peer->link->Send(std::move(inv));
  }
  VLOG(1) << "announced block " << height << " to " << targets.size()
          << " peers";
}

void Network::AnnounceTransaction(const Hash256& txid) {
  // Queued per peer and sent in one Inventory by the maintenance loop
  // (every kMaintenanceInterval), or at once when a batch is full.
  std::vector<std::pair<PeerPtr, Envelope>> full;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, peer] : peers_) {
      if (!peer->hello_done || peer->known.contains(txid)) continue;
      peer->known.insert(txid);
      peer->tx_announce.push_back(txid);
      if (peer->tx_announce.size() >= static_cast<size_t>(kMaxInventoryHashes)) {
        full.emplace_back(peer, TakeTxAnnouncements(*peer));
      }
    }
  }
  for (auto& [peer, inv] : full) peer->link->Send(std::move(inv));
}

Envelope Network::TakeTxAnnouncements(Peer& peer) {
  Envelope inv;
  for (const Hash256& txid : peer.tx_announce) {
    inv.mutable_inventory()->add_txids(HashBytes(txid));
  }
  peer.tx_announce.clear();
  return inv;
}

void Network::ForgetTxRequest(const Hash256& txid) {
  auto it = tx_requests_.find(txid);
  if (it == tx_requests_.end()) return;
  if (auto p = peers_.find(it->second.first); p != peers_.end()) {
    --p->second->tx_requested;
  }
  tx_requests_.erase(it);
}

void Network::AddKnown(const v1::PeerInfo& info, AddressSource source) {
  if (info.genesis_hash() != HashBytes(node_->chain().genesis_hash()) ||
      info.node_id() == node_->node_id() ||
      !CheckPeerAddress(info.address()).ok()) {
    return;
  }
  KnownAddress known;
  known.address = info.address();
  known.node_id = IsValidNodeId(info.node_id()) ? info.node_id() : "";
  known.role = info.role();
  known.source = source;
  known.height = info.height();
  absl::MutexLock lock(&mu_);
  if (self_addresses_.contains(known.address)) return;
  book_.Add(known, absl::Now());
}

void Network::RemoveKnown(const std::string& address) {
  absl::MutexLock lock(&mu_);
  book_.Remove(address);
}

uint32_t Network::peer_count() const {
  absl::MutexLock lock(&mu_);
  uint32_t n = 0;
  for (const auto& [id, peer] : peers_) n += peer->hello_done ? 1 : 0;
  return n;
}

void Network::ListPeers(v1::ListPeersResponse* response) const {
  const std::string genesis = HashBytes(node_->chain().genesis_hash());
  absl::MutexLock lock(&mu_);
  absl::flat_hash_set<std::string> connected;
  for (const auto& [id, peer] : peers_) {
    if (!peer->hello_done) continue;
    v1::ConnectedPeer* out = response->add_connected();
    v1::PeerInfo* info = out->mutable_info();
    info->set_node_id(peer->node_id);
    info->set_address(peer->inbound ? peer->listen_address
                                    : peer->dial_address);
    info->set_role(peer->role);
    info->set_genesis_hash(genesis);
    info->set_height(peer->height);
    info->set_tip_hash(HashBytes(peer->tip));
    info->set_last_seen_unix_ms(absl::ToUnixMillis(peer->last_message));
    out->set_inbound(peer->inbound);
    out->set_misbehavior_score(peer->score);
    out->set_connected_since_unix_ms(absl::ToUnixMillis(peer->connected_since));
    connected.insert(info->address());
    connected.insert(peer->node_id);
  }
  for (const KnownAddress& k : book_.List()) {
    if (connected.contains(k.address) ||
        (!k.node_id.empty() && connected.contains(k.node_id))) {
      continue;
    }
    v1::PeerInfo* info = response->add_known();
    info->set_node_id(k.node_id);
    info->set_address(k.address);
    info->set_role(k.role);
    info->set_genesis_hash(genesis);
    info->set_height(k.height);
    if (k.last_seen != absl::InfinitePast()) {
      info->set_last_seen_unix_ms(absl::ToUnixMillis(k.last_seen));
    }
  }
}

// ---------------------------------------------------------------------------
// Background work

void Network::ReapSessions() {
  std::vector<std::thread> done;
  {
    absl::MutexLock lock(&mu_);
    for (uint64_t token : finished_) {
      auto it = outbound_threads_.find(token);
      if (it == outbound_threads_.end()) continue;
      done.push_back(std::move(it->second));
      outbound_threads_.erase(it);
    }
    finished_.clear();
  }
  for (std::thread& t : done) t.join();
}

void Network::DialLoopOnce(absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  int outbound = 0;
  absl::flat_hash_set<std::string> skip = self_addresses_;
  for (const auto& [id, peer] : peers_) {
    if (!peer->inbound) {
      ++outbound;
      skip.insert(peer->dial_address);
    }
    if (!peer->listen_address.empty()) skip.insert(peer->listen_address);
    if (!peer->node_id.empty()) skip.insert(peer->node_id);
  }
  if (outbound >= options_.max_outbound) return;
  const absl::flat_hash_set<std::string> seeds(options_.peers.begin(),
                                               options_.peers.end());
  for (const std::string& address : book_.DialCandidates(now, skip)) {
    if (outbound >= options_.max_outbound) break;
    if (options_.connect_only && !seeds.contains(address)) continue;
    StartOutbound(address);
    ++outbound;
  }
}

void Network::MaintenanceLoop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto stop = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return stopping_;
      };
      if (mu_.AwaitWithTimeout(absl::Condition(&stop),
                               kMaintenanceInterval)) {
        return;
      }
    }
    ReapSessions();
    const absl::Time now = absl::Now();
    std::vector<std::pair<PeerPtr, Envelope>> sends;
    {
      absl::MutexLock lock(&mu_);
      for (const auto& [id, peer] : peers_) {
        if (peer->link == nullptr) continue;  // still dialing
        if (!peer->hello_done) {
          if (now - peer->connected_since > kHelloTimeout) peer->link->Close();
          continue;
        }
        if (now - peer->last_message > kPeerSilenceTimeout) {
          LOG(INFO) << "peer " << id << " silent for "
                    << absl::FormatDuration(kPeerSilenceTimeout);
          peer->link->Close();
          continue;
        }
        if (!peer->tx_announce.empty()) {
          sends.emplace_back(peer, TakeTxAnnouncements(*peer));
        }
        if (now - peer->last_decay >= kScoreDecayInterval) {
          peer->last_decay = now;
          peer->score = std::max(0, peer->score - kScoreDecay);
        }
        if (peer->ping_nonce == 0 && now - peer->ping_sent > kPingInterval) {
          peer->ping_nonce = RandomNonce();
          peer->ping_sent = now;
          Envelope ping;
          ping.mutable_ping()->set_nonce(peer->ping_nonce);
          sends.emplace_back(peer, std::move(ping));
        }
      }
      book_.ExpireBans(now);
      std::vector<Hash256> expired;
      for (const auto& [txid, request] : tx_requests_) {
        if (now - request.second > kTxRequestTimeout) expired.push_back(txid);
      }
      for (const Hash256& txid : expired) ForgetTxRequest(txid);
      std::erase_if(block_requests_, [now](const auto& request) {
        return now - request.second > kBlockRequestTimeout;
      });
      if (!options_.connect_only && now - last_exchange_ > kPeerExchangeInterval) {
        last_exchange_ = now;
        for (const auto& [id, peer] : peers_) {
          if (!peer->hello_done) continue;
          peer->peer_request_outstanding = true;
          Envelope request;
          request.mutable_peer_request()->set_max_count(kMaxPeerListEntries);
          sends.emplace_back(peer, std::move(request));
        }
      }
    }
    for (auto& [peer, message] : sends) peer->link->Send(std::move(message));
    // A tip not announced yet (blocks are not relayed during a download):
    // announce it once the download is over.
    if (!sync_.syncing()) {
      const TipInfo tip = node_->chain().Tip();
      bool announced;
      {
        absl::MutexLock lock(&mu_);
        announced = last_announced_ == tip.hash;
      }
      if (!announced) AnnounceBlock(tip.hash, tip.height);
    }
    DialLoopOnce(now);
  }
}

void Network::DiscoverLoop() {
  const std::string genesis = HashBytes(node_->chain().genesis_hash());
  while (true) {
    const int last = std::min(options_.discover_high,
                              options_.discover_low + kMaxDiscoverPorts - 1);
    int found = 0;
    for (int port = options_.discover_low; port <= last; ++port) {
      {
        absl::MutexLock lock(&mu_);
        if (stopping_) return;
      }
      const std::string address = absl::StrCat("127.0.0.1:", port);
      if (address == options_.advertise) continue;
      auto stub = v1::NodeService::NewStub(grpc::CreateChannel(
          address, grpc::InsecureChannelCredentials()));
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() +
                           absl::ToChronoMilliseconds(kDiscoverProbeTimeout));
      v1::GetInfoRequest request;
      v1::GetInfoResponse info;
      if (!stub->GetInfo(&context, request, &info).ok() ||
          info.genesis_hash() != genesis ||
          info.node_id() == node_->node_id()) {
        continue;
      }
      v1::PeerInfo peer;
      peer.set_node_id(info.node_id());
      peer.set_address(address);
      peer.set_role(info.role());
      peer.set_genesis_hash(genesis);
      peer.set_height(info.height());
      AddKnown(peer, AddressSource::kDiscovery);
      ++found;
    }
    LOG(INFO) << "local discovery: " << found << " node(s) on 127.0.0.1:"
              << options_.discover_low << "-" << last;
    // Scan again later only while alone.
    absl::MutexLock lock(&mu_);
    auto stop = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_; };
    if (mu_.AwaitWithTimeout(absl::Condition(&stop), absl::Seconds(30))) {
      return;
    }
    bool alone = true;
    for (const auto& [id, p] : peers_) alone = alone && !p->hello_done;
    if (!alone) {
      while (!mu_.AwaitWithTimeout(absl::Condition(&stop), absl::Seconds(30))) {
        alone = true;
        for (const auto& [id, p] : peers_) alone = alone && !p->hello_done;
        if (alone) break;
      }
      if (stopping_) return;
    }
  }
}

}  // namespace pbchain
