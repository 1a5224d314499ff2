#include "node/p2p/peer_set.h"

#include <random>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/host_port.h"
#include "glog/logging.h"
#include "node/core/node.h"
#include "node/p2p/wire.h"

namespace pbchain {
namespace {

using Envelope = v1::GossipEnvelope;

uint64_t RandomNonce() {
  static thread_local std::mt19937_64 random{std::random_device{}()};
  return random() | 1;  // never 0, which means "no ping outstanding"
}

}  // namespace

std::string BanIp(const std::string& transport_address) {
  if (absl::StartsWith(transport_address, "unix:")) return "";
  std::string ip = IpFromGrpcPeer(transport_address);
  return IsLoopbackIp(ip) ? "" : ip;
}

// The IP of a transport address ("" for unix: and in-process links).
std::string ObservedIp(const std::string& transport_address) {
  if (!absl::StartsWith(transport_address, "ipv4:") &&
      !absl::StartsWith(transport_address, "ipv6:")) {
    return "";
  }
  return IpFromGrpcPeer(transport_address);
}

void RejectAndClose(PeerLink& link, v1::RejectCode code,
                    const std::string& why) {
  Envelope message;
  message.mutable_reject()->set_code(code);
  message.mutable_reject()->set_message(why.substr(0, 256));
  link.Send(std::move(message));
  link.CloseAfterFlush();
}

// ---------------------------------------------------------------------------
// Peer

Peer::Peer(uint64_t id, bool inbound, std::string dial_address,
           std::unique_ptr<PeerLink> link, absl::Time now, bool verifying)
    : id(id),
      inbound(inbound),
      dial_address(std::move(dial_address)),
      verifying(verifying),
      link(std::move(link)),
      remote_ip(BanIp(this->link->RemoteAddress())),
      observed_ip(ObservedIp(this->link->RemoteAddress())),
      connected_since(now),
      last_decay(now),
      last_message(now) {}

// ---------------------------------------------------------------------------
// Lifecycle and sessions

PeerSet::PeerSet(const NetworkOptions& options, std::string node_id,
                 std::string genesis_hash, Clock* clock)
    : options_(options),
      node_id_(std::move(node_id)),
      genesis_hash_(std::move(genesis_hash)),
      clock_(clock) {
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  for (const std::string& address : options_.peers) {
    KnownAddress seed;
    seed.address = address;
    seed.source = AddressSource::kSeed;
    book_.Add(seed, now);
  }
}

void PeerSet::Open(const std::string& advertise) {
  absl::MutexLock lock(&mu_);
  if (closing_) return;
  self_addresses_.insert(advertise);
  open_ = true;
}

bool PeerSet::Close() {
  absl::MutexLock lock(&mu_);
  if (closing_) return false;
  closing_ = true;
  for (const auto& [id, peer] : peers_) peer->link->Close();
  return true;
}

bool PeerSet::closing() const {
  absl::MutexLock lock(&mu_);
  return closing_;
}

PeerSet::InboundSlot PeerSet::TakeInboundSlot() {
  absl::MutexLock lock(&mu_);
  if (!open_ || closing_) return InboundSlot::kClosed;
  // Streams still in their handshake count too: a flood of silent streams
  // must not pin an unbounded number of threads.
  if (inbound_sessions_ >= MaxInboundSessions()) return InboundSlot::kFull;
  ++inbound_sessions_;
  return InboundSlot::kTaken;
}

void PeerSet::ReleaseInboundSlot() {
  absl::MutexLock lock(&mu_);
  --inbound_sessions_;
}

void PeerSet::AwaitInboundDrained() {
  // Inbound sessions end once their links are closed; close again what
  // registered since (a session between its accept and registration).
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return inbound_sessions_ == 0;
  };
  while (!mu_.AwaitWithTimeout(absl::Condition(&idle), absl::Seconds(1))) {
    for (const auto& [id, peer] : peers_) peer->link->Close();
  }
}

PeerPtr PeerSet::AddSession(std::unique_ptr<PeerLink> link, bool inbound,
                            const std::string& dial_address) {
  const absl::Time now = clock_->Now();
  PeerPtr peer;
  link->SetCounters(gossip_counters_);
  {
    absl::MutexLock lock(&mu_);
    if (!inbound) {
      dialing_.erase(dial_address);
      dialing_back_.erase(dial_address);
    }
    if (!closing_) {
      const bool verifying = !inbound && !book_.IsVerified(dial_address);
      peer = std::make_shared<Peer>(next_peer_id_++, inbound, dial_address,
                                    std::move(link), now, verifying);
      peers_[peer->id] = peer;
    }
  }
  if (peer == nullptr) link->Shutdown();
  return peer;
}

bool PeerSet::RemoveSession(const Peer& peer) {
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  peers_.erase(peer.id);
  bool was_connected;
  bool dial_back_done;
  {
    absl::MutexLock peer_lock(&peer.mu);
    was_connected = peer.hello_done;
    dial_back_done = peer.dial_back_done;
  }
  if (!peer.inbound && !dial_back_done) {
    // A session that ended soon (refused after the hello, too many peers,
    // banned) counts as a failed dial, so it is retried with backoff rather
    // than at once.
    if (was_connected && now - peer.connected_since >= kStableSession) {
      book_.OnSessionEnded(peer.dial_address, now);
    } else {
      book_.OnDialFailed(peer.dial_address, now);
    }
  }
  return was_connected;
}

// ---------------------------------------------------------------------------
// Dialing

std::vector<std::string> PeerSet::TakeDialTargets(absl::Time now) {
  std::vector<std::string> targets;
  absl::MutexLock lock(&mu_);
  if (closing_) return targets;
  const int dial_backs = static_cast<int>(dialing_back_.size());
  int outbound = static_cast<int>(dialing_.size()) - dial_backs;
  absl::flat_hash_set<std::string> skip = self_addresses_;
  skip.insert(dialing_.begin(), dialing_.end());
  // Connected inbound peers' unverified listen addresses (dialed back on a
  // budget of their own) and those peers' node ids.
  absl::flat_hash_set<std::string> back_targets;
  absl::flat_hash_set<std::string> back_ids;
  for (const auto& [id, peer] : peers_) {
    if (!peer->inbound) {
      ++outbound;
      skip.insert(peer->dial_address);
    }
    absl::MutexLock peer_lock(&peer->mu);
    if (peer->inbound && peer->hello_done && !peer->listen_address.empty() &&
        !book_.IsVerified(peer->listen_address)) {
      back_targets.insert(peer->listen_address);
      if (!peer->node_id.empty()) back_ids.insert(peer->node_id);
    } else if (!peer->listen_address.empty()) {
      skip.insert(peer->listen_address);
    }
    // A connected node is not dialed at any of its addresses.
    if (!peer->node_id.empty()) skip.insert(peer->node_id);
  }
  const absl::flat_hash_set<std::string> seeds(options_.peers.begin(),
                                               options_.peers.end());
  if (outbound < options_.max_outbound) {
    for (const std::string& address : book_.DialCandidates(now, skip)) {
      if (outbound >= options_.max_outbound) break;
      if (options_.connect_only && !seeds.contains(address) &&
          !operator_peers_.contains(address)) {
        continue;
      }
      book_.OnDialStarted(address, now);
      dialing_.insert(address);
      skip.insert(address);
      targets.push_back(address);
      ++outbound;
    }
  }
  if (options_.connect_only || back_targets.empty() ||
      dial_backs >= kMaxDialBacksInFlight) {
    return targets;
  }
  // Dial-backs: the same book rules (backoff, hearsay limits, bans), with
  // only the dialed-back peers' own node ids allowed.
  for (const std::string& id : back_ids) skip.erase(id);
  int backs = dial_backs;
  for (const std::string& address : book_.DialCandidates(now, skip)) {
    if (backs >= kMaxDialBacksInFlight) break;
    if (!back_targets.contains(address)) continue;
    book_.OnDialStarted(address, now);
    dialing_.insert(address);
    dialing_back_.insert(address);
    targets.push_back(address);
    ++backs;
  }
  return targets;
}

void PeerSet::DialFailed(const std::string& address) {
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  dialing_.erase(address);
  dialing_back_.erase(address);
  book_.OnDialFailed(address, now);
}

// ---------------------------------------------------------------------------
// Handshake

bool PeerSet::DialBack(const PeerPtr& peer, const v1::Hello& hello) {
  if (!peer->verifying) return false;
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  bool connected = false;
  for (const auto& [id, other] : peers_) {
    if (other == peer) continue;
    absl::MutexLock other_lock(&other->mu);
    connected =
        connected || (other->hello_done && other->node_id == hello.node_id());
  }
  if (!connected || hello.node_id() == node_id_) return false;
  book_.OnConnected(peer->dial_address, hello.node_id(), now);
  absl::MutexLock peer_lock(&peer->mu);
  peer->dial_back_done = true;
  return true;
}

PeerSet::Admission PeerSet::Admit(const PeerPtr& peer, const v1::Hello& hello,
                                  const Hash256& tip) {
  Admission verdict;
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  if (hello.node_id() == node_id_) {
    if (!peer->inbound) {
      self_addresses_.insert(peer->dial_address);
      book_.Remove(peer->dial_address);
    }
    verdict.reject = v1::REJECT_CODE_DUPLICATE_CONNECTION;
    verdict.why = "connected to itself";
    return verdict;
  }
  // The ban is on the address the operator sees: the claim with an
  // unspecified host filled in from the connection (as stored below), in
  // the canonical form of ban keys.
  const std::string listen_address =
      ListenAddressFromHello(hello.listen_address(), peer->observed_ip);
  if (IsBannedLocked(hello.node_id(), peer->remote_ip, now) ||
      (!listen_address.empty() &&
       book_.IsBanned(CanonicalAddress(listen_address), now)) ||
      (!hello.listen_address().empty() &&
       book_.IsBanned(hello.listen_address(), now))) {
    verdict.reject = v1::REJECT_CODE_BANNED;
    verdict.why = "banned (misbehaviour or the operator); try again later";
    return verdict;
  }
  int inbound = 0;
  for (const auto& [id, other] : peers_) {
    if (other == peer) continue;
    absl::MutexLock other_lock(&other->mu);
    if (!other->hello_done) continue;
    if (other->inbound) ++inbound;
    if (other->node_id != hello.node_id()) continue;
    const std::string& new_dialer = peer->inbound ? hello.node_id() : node_id_;
    const std::string& old_dialer = other->inbound ? other->node_id : node_id_;
    if (new_dialer == old_dialer) {
      if (peer->inbound) continue;  // the dialer decides
      verdict.reject = v1::REJECT_CODE_DUPLICATE_CONNECTION;
      verdict.why = "already connected to this node";
      return verdict;
    }
    if (new_dialer < old_dialer) {
      verdict.replaced = other;
    } else {
      verdict.reject = v1::REJECT_CODE_DUPLICATE_CONNECTION;
      verdict.why = "already connected to this node";
      verdict.replaced = nullptr;
      return verdict;
    }
  }
  if (peer->inbound && inbound >= options_.max_inbound) {
    verdict.reject = v1::REJECT_CODE_TOO_MANY_PEERS;
    verdict.why = "no room for more inbound peers";
    verdict.replaced = nullptr;
    return verdict;
  }
  KnownAddress known;
  {
    absl::MutexLock peer_lock(&peer->mu);
    peer->hello_done = true;
    peer->node_id = hello.node_id();
    // An unspecified host becomes the IP the connection came from; a
    // loopback address from off loopback is dropped (address_book.h).
    peer->listen_address = listen_address;
    peer->role = hello.role();
    peer->height = hello.height();
    peer->tip = tip;
    known.address = peer->listen_address;
    known.node_id = peer->node_id;
    known.role = peer->role;
    known.source = AddressSource::kHello;
    known.height = peer->height;
    known.learned_from = SourceKey(peer->remote_ip, peer->node_id);
  }
  // The claimed listen address is hearsay (unverified) until we dial it;
  // the address we dialed is verified by this handshake.
  if (!known.address.empty()) book_.Add(known, now);
  if (!peer->inbound) book_.OnConnected(peer->dial_address, known.node_id, now);
  return verdict;
}

bool PeerSet::IsBannedLocked(const std::string& node_id, const std::string& ip,
                             absl::Time now) const {
  return book_.IsBanned(node_id, now) ||
         (!ip.empty() && book_.IsBanned(ip, now));
}

// ---------------------------------------------------------------------------
// Traffic

PeerSet::Arrival PeerSet::OnMessage(Peer& peer, const Envelope& message) {
  Arrival arrival;
  const absl::Time now = clock_->Now();
  bool unsolicited = true;
  switch (message.body_case()) {
    case Envelope::kBlock:
    case Envelope::kHeaders:
    case Envelope::kNotFound:
    case Envelope::kPong:
    case Envelope::kHello:
      unsolicited = false;  // answers to our requests, or checked on their own
      break;
    default:
      break;
  }
  {
    absl::MutexLock lock(&peer.mu);
    peer.last_message = now;
    arrival.hello_done = peer.hello_done;
  }
  arrival.flooding = arrival.hello_done && unsolicited && !ChargeFlood(peer);
  return arrival;
}

bool PeerSet::ChargeFlood(Peer& peer) {
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&peer.mu);
  if (peer.flood_refill != absl::Time()) {
    peer.flood_tokens = std::min(
        kFloodBurst,
        peer.flood_tokens + absl::ToDoubleSeconds(now - peer.flood_refill) *
                                kFloodRatePerSecond);
  }
  peer.flood_refill = now;
  peer.flood_tokens -= 1;
  return peer.flood_tokens >= 0;
}

bool PeerSet::OnPong(Peer& peer, uint64_t nonce) {
  absl::MutexLock lock(&peer.mu);
  const bool expected = peer.ping_nonce != 0 && nonce == peer.ping_nonce;
  if (expected) peer.ping_nonce = 0;
  return expected;
}

void PeerSet::ExpectPeerList(Peer& peer) {
  absl::MutexLock lock(&peer.mu);
  peer.peer_request_outstanding = true;
}

bool PeerSet::TakePeerList(Peer& peer) {
  absl::MutexLock lock(&peer.mu);
  const bool outstanding = peer.peer_request_outstanding;
  peer.peer_request_outstanding = false;
  return outstanding;
}

// ---------------------------------------------------------------------------
// Scores

void PeerSet::Misbehaving(uint64_t peer_id, int points,
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

void PeerSet::Misbehaving(const PeerPtr& peer, int points,
                          const std::string& why) {
  bool ban = false;
  std::string who;
  int score;
  {
    const absl::Time now = clock_->Now();
    absl::MutexLock lock(&mu_);
    absl::MutexLock peer_lock(&peer->mu);
    const int before = peer->score;
    peer->score += points;
    score = peer->score;
    who = absl::StrCat("peer ", peer->id, " (", peer->node_id, ")");
    ban = before < kBanScore && peer->score >= kBanScore;
    if (ban) {
      const absl::Time until = now + options_.ban_duration;
      if (!peer->node_id.empty()) book_.Ban(peer->node_id, until, why);
      if (!peer->remote_ip.empty()) book_.Ban(peer->remote_ip, until, why);
      if (!peer->inbound) book_.Ban(peer->dial_address, until, why);
    }
  }
  if (points > 0) misbehaviour_points_.fetch_add(points);
  if (ban) bans_.fetch_add(1);
  // One line per offence, except floods (a point a message): every 25th.
  if (points > 1 || ban || score % 25 == 0) {
    LOG(WARNING) << who << " misbehaved (+" << points << ", score " << score
                 << "): " << why;
  }
  if (ban) {
    LOG(WARNING) << who << " banned for "
                 << absl::FormatDuration(options_.ban_duration);
    RejectAndClose(*peer->link, v1::REJECT_CODE_BANNED,
                   absl::StrCat("banned: ", why));
  }
}

// ---------------------------------------------------------------------------
// Sending and listing

bool PeerSet::SendTo(uint64_t peer_id, Envelope message) {
  PeerPtr peer;
  {
    absl::MutexLock lock(&mu_);
    auto it = peers_.find(peer_id);
    if (it == peers_.end()) return false;
    peer = it->second;
  }
  return peer->link->Send(std::move(message));
}

std::vector<PeerPtr> PeerSet::Connected() const {
  std::vector<PeerPtr> out;
  absl::MutexLock lock(&mu_);
  for (const auto& [id, peer] : peers_) {
    absl::MutexLock peer_lock(&peer->mu);
    if (peer->hello_done) out.push_back(peer);
  }
  return out;
}

uint32_t PeerSet::connected_count() const {
  absl::MutexLock lock(&mu_);
  uint32_t n = 0;
  for (const auto& [id, peer] : peers_) {
    absl::MutexLock peer_lock(&peer->mu);
    n += peer->hello_done ? 1 : 0;
  }
  return n;
}

PeerSet::PeerCounts PeerSet::peer_counts() const {
  absl::MutexLock lock(&mu_);
  PeerCounts counts;
  for (const auto& [id, peer] : peers_) {
    absl::MutexLock peer_lock(&peer->mu);
    if (!peer->hello_done) continue;
    (peer->inbound ? counts.inbound : counts.outbound) += 1;
  }
  return counts;
}

void PeerSet::ListPeers(v1::ListPeersResponse* response) const {
  absl::MutexLock lock(&mu_);
  absl::flat_hash_set<std::string> connected;
  for (const auto& [id, peer] : peers_) {
    absl::MutexLock peer_lock(&peer->mu);
    if (!peer->hello_done) continue;
    v1::ConnectedPeer* out = response->add_connected();
    v1::PeerInfo* info = out->mutable_info();
    info->set_node_id(peer->node_id);
    info->set_address(peer->inbound ? peer->listen_address
                                    : peer->dial_address);
    info->set_role(peer->role);
    info->set_genesis_hash(genesis_hash_);
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
    info->set_genesis_hash(genesis_hash_);
    info->set_height(k.height);
    if (k.last_seen != absl::InfinitePast()) {
      info->set_last_seen_unix_ms(absl::ToUnixMillis(k.last_seen));
    }
  }
}

v1::PeerList PeerSet::PeerListFor(const Peer& asker, int want) const {
  v1::PeerList list;
  absl::flat_hash_set<std::string> listed;
  {
    absl::MutexLock lock(&asker.mu);
    listed.insert(asker.listen_address);
  }
  auto add = [&](const std::string& address, const std::string& node_id,
                 v1::PeerRole role, uint64_t height) {
    if (list.peers_size() >= want || address.empty() ||
        !listed.insert(address).second) {
      return;
    }
    v1::PeerInfo* info = list.add_peers();
    info->set_node_id(node_id);
    info->set_address(address);
    info->set_role(role);
    info->set_genesis_hash(genesis_hash_);
    info->set_height(height);
  };
  // Only verified addresses are passed on: an outbound peer at the address
  // we dialed, an inbound one at its listen address once a dial to it
  // succeeded, the book's verified entries.
  absl::MutexLock lock(&mu_);
  for (const auto& [id, other] : peers_) {
    if (other.get() == &asker) continue;
    absl::MutexLock other_lock(&other->mu);
    if (!other->hello_done) continue;
    const std::string& address =
        other->inbound ? other->listen_address : other->dial_address;
    if (other->inbound && !book_.IsVerified(address)) continue;
    add(address, other->node_id, other->role, other->height);
  }
  for (const KnownAddress& k : book_.List()) {
    if (k.verified && k.failures == 0) {
      add(k.address, k.node_id, k.role, k.height);
    }
  }
  return list;
}

// ---------------------------------------------------------------------------
// Address book

void PeerSet::AddKnown(const v1::PeerInfo& info, AddressSource source,
                       const Peer* from) {
  if (info.genesis_hash() != genesis_hash_ || info.node_id() == node_id_ ||
      !CheckPeerAddress(info.address()).ok()) {
    return;
  }
  if (!IsSpreadableAddress(info.address(),
                           from != nullptr ? from->observed_ip : "")) {
    return;
  }
  std::string learned_from;
  if (from != nullptr) {
    absl::MutexLock peer_lock(&from->mu);
    learned_from = SourceKey(from->remote_ip, from->node_id);
  }
  KnownAddress known;
  known.address = info.address();
  known.node_id = IsValidNodeId(info.node_id()) ? info.node_id() : "";
  known.role = info.role();
  known.source = source;
  known.height = info.height();
  known.learned_from = std::move(learned_from);
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  if (self_addresses_.contains(known.address)) return;
  book_.Add(known, now);
}

void PeerSet::RemoveKnown(const std::string& address) {
  absl::MutexLock lock(&mu_);
  book_.Remove(address);
}

// ---------------------------------------------------------------------------
// The operator's controls

namespace {

// Whether the session `peer` is with `target` (node id, dialed or
// announced address, or IP).
bool Matches(const Peer& peer, const std::string& target)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(peer.mu) {
  // (Ban keys are canonical: CanonicalAddress.)
  return peer.node_id == target || peer.listen_address == target ||
         (!peer.listen_address.empty() &&
          CanonicalAddress(peer.listen_address) == target) ||
         (!peer.inbound && (peer.dial_address == target ||
                            CanonicalAddress(peer.dial_address) == target)) ||
         (!peer.remote_ip.empty() && peer.remote_ip == target);
}

}  // namespace

bool PeerSet::AddOperatorPeer(const std::string& address) {
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  KnownAddress seed;
  seed.address = address;
  seed.source = AddressSource::kSeed;
  book_.Add(seed, now);
  book_.MakeDue(address, now);
  operator_peers_.insert(address);
  for (const auto& [id, peer] : peers_) {
    absl::MutexLock peer_lock(&peer->mu);
    if ((!peer->inbound && peer->dial_address == address) ||
        peer->listen_address == address) {
      return true;
    }
  }
  return false;
}

PeerSet::Removal PeerSet::DisconnectPeer(const std::string& target) {
  Removal removal;
  std::vector<PeerPtr> closing;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, peer] : peers_) {
      absl::MutexLock peer_lock(&peer->mu);
      if (!Matches(*peer, target)) continue;
      closing.push_back(peer);
      // The node's other addresses go too.
      if (!peer->listen_address.empty()) {
        removal.addresses_forgotten += book_.Forget(peer->listen_address);
        operator_peers_.erase(peer->listen_address);
      }
      if (!peer->inbound) {
        removal.addresses_forgotten += book_.Forget(peer->dial_address);
        operator_peers_.erase(peer->dial_address);
      }
    }
    removal.addresses_forgotten += book_.Forget(target);
    removal.addresses_forgotten += book_.ForgetNode(target);
    operator_peers_.erase(target);
  }
  for (const PeerPtr& peer : closing) peer->link->Close();
  removal.sessions_closed = static_cast<uint32_t>(closing.size());
  return removal;
}

absl::StatusOr<uint32_t> PeerSet::BanKey(const std::string& key,
                                         absl::Time until,
                                         const std::string& reason) {
  const absl::Time now = clock_->Now();
  std::vector<PeerPtr> closing;
  {
    absl::MutexLock lock(&mu_);
    if (absl::Status s = book_.OperatorBan(key, until, reason, now); !s.ok()) {
      return s;
    }
    for (const auto& [id, peer] : peers_) {
      absl::MutexLock peer_lock(&peer->mu);
      if (Matches(*peer, key)) closing.push_back(peer);
    }
  }
  for (const PeerPtr& peer : closing) {
    RejectAndClose(*peer->link, v1::REJECT_CODE_BANNED,
                   absl::StrCat("banned by the operator: ", reason));
  }
  return static_cast<uint32_t>(closing.size());
}

bool PeerSet::Unban(const std::string& key) {
  absl::MutexLock lock(&mu_);
  return book_.Unban(key);
}

std::vector<BanEntry> PeerSet::Bans() const {
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  return book_.Bans(now);
}

// ---------------------------------------------------------------------------
// Maintenance

void PeerSet::Maintain(absl::Time now) {
  std::vector<std::pair<PeerPtr, Envelope>> sends;
  {
    absl::MutexLock lock(&mu_);
    const bool exchange =
        !options_.connect_only && now - last_exchange_ > kPeerExchangeInterval;
    if (exchange) last_exchange_ = now;
    for (const auto& [id, peer] : peers_) {
      absl::MutexLock peer_lock(&peer->mu);
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
      if (exchange) {
        peer->peer_request_outstanding = true;
        Envelope request;
        request.mutable_peer_request()->set_max_count(kMaxPeerListEntries);
        sends.emplace_back(peer, std::move(request));
      }
    }
    book_.ExpireBans(now);
  }
  for (auto& [peer, message] : sends) peer->link->Send(std::move(message));
}

}  // namespace pbchain
