#include "node/p2p/network.h"

#include <arpa/inet.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/host_port.h"
#include "common/lan_scan.h"
#include "common/status_macros.h"
#include "glog/logging.h"
#include "grpcpp/grpcpp.h"
#include "node/p2p/tracker_client.h"
#include "node/p2p/wire.h"
#include "pbchain/v1/node.grpc.pb.h"

namespace pbchain {

Network::Network(Node* node, NetworkOptions options)
    : node_(node),
      options_(std::move(options)),
      clock_(options_.clock != nullptr ? options_.clock : Clock::Real()),
      dialer_(
          options_.dialer != nullptr
              ? options_.dialer
              : std::shared_ptr<GossipDialer>(MakeGrpcGossipDialer(
                    options_.max_message_bytes, options_.channel_credentials))),
      peers_(options_, node->node_id(), HashBytes(node->chain().genesis_hash()),
             clock_),
      sync_(node,
            BlockSync::Hooks{
                [this](uint64_t peer, v1::GossipEnvelope message) {
                  return peers_.SendTo(peer, std::move(message));
                },
                [this](uint64_t peer, int points, const std::string& why) {
                  peers_.Misbehaving(peer, points, why);
                }},
            clock_, options_.sync_thread),
      relay_(node, &peers_, &sync_, clock_),
      protocol_(node, &options_, &peers_, &relay_, &sync_) {}

Network::~Network() { Stop(); }

void Network::Start(const std::string& advertise) {
  absl::MutexLock lock(&mu_);
  if (started_ || stopping_) return;
  started_ = true;
  if (!advertise.empty()) options_.advertise = advertise;
  peers_.Open(options_.advertise);
  node_->SetTransactionListener([this](const Transaction& tx) {
    return relay_.AnnounceTransaction(tx.Id());
  });
  // What the mempool held before (reloaded from its file) is announced to
  // each peer after its handshake and re-announced while unconfirmed.
  {
    std::vector<Hash256> pooled;
    for (const MempoolEntry& e : node_->mempool().List(kMaxReannounceTracked)) {
      pooled.push_back(e.txid);
    }
    relay_.ScheduleReannounce(pooled);
  }
  tip_listener_ = node_->AddTipListener([this](const TipEvent& event) {
    // While downloading a chain, peers hear of the new tip once sync ends.
    if (!sync_.syncing())
      relay_.AnnounceBlock(event.tip.hash, event.tip.height);
  });
  if (!options_.tracker.empty()) {
    tracker_ = std::make_unique<TrackerClient>(this, node_, options_.tracker,
                                               options_.channel_credentials);
  }
  if (options_.maintenance_thread) {
    maintenance_ = std::thread([this] { MaintenanceLoop(); });
  }
  if (!options_.discover_subnet.empty() &&
      options_.discover_high >= options_.discover_low) {
    discover_ = std::thread([this] { DiscoverLoop(); });
  }
}

void Network::Stop() {
  bool started;
  uint64_t tip_listener;
  std::unique_ptr<TrackerClient> tracker;
  std::thread maintenance;
  std::thread discover;
  {
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
    started = started_;
    tip_listener = std::exchange(tip_listener_, 0);
    tracker = std::move(tracker_);
    maintenance = std::move(maintenance_);
    discover = std::move(discover_);
  }
  peers_.Close();  // refuses new sessions, closes the open ones
  if (started) node_->SetTransactionListener(nullptr);
  if (tip_listener != 0) node_->RemoveTipListener(tip_listener);
  tracker.reset();  // leaves the tracker
  if (maintenance.joinable()) maintenance.join();
  if (discover.joinable()) discover.join();
  std::map<uint64_t, std::thread> threads;
  {
    absl::MutexLock lock(&mu_);
    threads.swap(outbound_threads_);
  }
  for (auto& [token, thread] : threads) thread.join();
  peers_.AwaitInboundDrained();
  sync_.Stop();
}

bool Network::stopping() const {
  absl::MutexLock lock(&mu_);
  return stopping_;
}

// ---------------------------------------------------------------------------
// Sessions

void Network::RunInbound(std::unique_ptr<GossipStream> stream) {
  auto link = std::make_unique<PeerLink>(std::move(stream));
  switch (peers_.TakeInboundSlot()) {
    case PeerSet::InboundSlot::kClosed:
      link->Shutdown();
      return;
    case PeerSet::InboundSlot::kFull:
      RejectAndClose(*link, v1::REJECT_CODE_TOO_MANY_PEERS,
                     "no room for more inbound streams");
      link->Shutdown();
      return;
    case PeerSet::InboundSlot::kTaken:
      break;
  }
  if (PeerPtr peer = peers_.AddSession(std::move(link), /*inbound=*/true, "")) {
    protocol_.RunSession(peer);
  }
  peers_.ReleaseInboundSlot();
}

void Network::StartOutbound(const std::string& address) {
  const uint64_t token = next_token_++;
  outbound_threads_[token] = std::thread([this, address, token] {
    std::unique_ptr<GossipStream> stream =
        dialer_->Dial(address, [this] { return peers_.closing(); });
    if (stream == nullptr) {
      peers_.DialFailed(address);
    } else if (PeerPtr peer = peers_.AddSession(
                   std::make_unique<PeerLink>(std::move(stream)),
                   /*inbound=*/false, address)) {
      protocol_.RunSession(peer);
    }
    absl::MutexLock lock(&mu_);
    finished_.push_back(token);
  });
}

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

// ---------------------------------------------------------------------------
// Background work

void Network::MaintenanceStep() {
  ReapSessions();
  const absl::Time now = clock_->Now();
  peers_.Maintain(now);
  relay_.Maintain(now);
  absl::MutexLock lock(&mu_);
  if (stopping_) return;
  for (const std::string& address : peers_.TakeDialTargets(now)) {
    StartOutbound(address);
  }
}

void Network::MaintenanceLoop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      auto stop = [this]()
                      ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_; };
      if (mu_.AwaitWithTimeout(absl::Condition(&stop), kMaintenanceInterval)) {
        return;
      }
    }
    MaintenanceStep();
  }
}

void Network::DiscoverLoop() {
  // Probes and their pacing are real I/O: on the real clock.
  const std::string genesis = HashBytes(node_->chain().genesis_hash());
  absl::StatusOr<Ipv4Cidr> cidr = ParseIpv4Cidr(options_.discover_subnet);
  if (!cidr.ok()) {  // node/main.cc checked it; a test may not have
    LOG(ERROR) << "discovery off: " << cidr.status().message();
    return;
  }
  const PortRange ports{options_.discover_low, options_.discover_high};
  // Never probe ourselves: our listening port on each of our addresses
  // (a node on another port of this host is a peer like any other).
  std::vector<std::string> skip = {options_.advertise};
  if (absl::StatusOr<HostPort> self = ParseHostPort(options_.advertise);
      self.ok()) {
    for (const std::string& ip : LocalIpv4Addresses()) {
      skip.push_back(absl::StrCat(ip, ":", self->port));
    }
  }
  ScanLimits limits;
  limits.rate_per_second = options_.discover_rate;
  limits.concurrency =
      ScanConcurrency(options_.discover_rate, kDiscoverProbeTimeout);
  // A scan ends at shutdown, and once the node has a connected peer (peer
  // exchange spreads the rest; a LAN is not probed while the node has
  // peers): no further probe starts then.
  ScanHooks hooks;
  hooks.wait_until = [this](absl::Time when) {
    absl::MutexLock lock(&mu_);
    auto stop = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_; };
    mu_.AwaitWithDeadline(absl::Condition(&stop), when);
    return !stopping_ && peers_.connected_count() == 0;
  };
  while (true) {
    absl::StatusOr<std::vector<std::string>> neighbours =
        ReadNeighbourTable(options_.discover_neighbour_table);
    if (!neighbours.ok()) {
      VLOG(1) << "discovery: no neighbour table: "
              << neighbours.status().message();
      neighbours = std::vector<std::string>{};
    }
    absl::StatusOr<std::vector<ScanTarget>> targets =
        ScanTargets(*cidr, ports, *neighbours, skip);
    if (!targets.ok()) {
      LOG(ERROR) << "discovery off: " << targets.status().message();
      return;
    }
    std::atomic<int> found{0};
    const int64_t started = RunScan(
        *targets, limits,
        [&](const ScanTarget& target) {
          if (stopping()) return;
          const std::string address = target.address();
          // The host is untrusted: its answer is bounded.
          grpc::ChannelArguments args;
          args.SetMaxReceiveMessageSize(kMaxScanAnswerBytes);
          auto stub = v1::NodeService::NewStub(grpc::CreateCustomChannel(
              address,
              options_.channel_credentials != nullptr
                  ? options_.channel_credentials
                  : grpc::InsecureChannelCredentials(),
              args));
          grpc::ClientContext context;
          context.set_deadline(
              std::chrono::system_clock::now() +
              absl::ToChronoMilliseconds(kDiscoverProbeTimeout));
          v1::GetInfoRequest request;
          v1::GetInfoResponse info;
          if (!stub->GetInfo(&context, request, &info).ok() ||
              info.genesis_hash() != genesis ||
              info.node_id() == node_->node_id()) {
            return;
          }
          v1::PeerInfo peer;
          peer.set_node_id(info.node_id());
          peer.set_address(address);
          peer.set_role(info.role());
          peer.set_genesis_hash(genesis);
          peer.set_height(info.height());
          AddKnown(peer, AddressSource::kDiscovery);
          ++found;
        },
        hooks);
    if (stopping()) return;
    if (started < static_cast<int64_t>(targets->size())) {
      LOG(INFO) << "discovery: scan of " << cidr->ToString() << " stopped after "
                << started << " of " << targets->size()
                << " probes: connected to a peer";
    }
    LOG(INFO) << "discovery: " << found.load() << " node(s) of this network in "
              << cidr->ToString() << " ports " << ports.low << "-" << ports.high
              << " (" << targets->size() << " probes, "
              << std::count_if(targets->begin(), targets->end(),
                               [&](const ScanTarget& t) {
                                 return t.from_neighbour_table;
                               })
              << " of them to neighbour-table hosts)";
    // Scan again later only while alone.
    absl::MutexLock lock(&mu_);
    auto stop = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_; };
    if (mu_.AwaitWithTimeout(absl::Condition(&stop), kDiscoverRescanInterval)) {
      return;
    }
    if (peers_.connected_count() > 0) {
      while (!mu_.AwaitWithTimeout(absl::Condition(&stop),
                                   kDiscoverRescanInterval)) {
        if (peers_.connected_count() == 0) break;
      }
      if (stopping_) return;
    }
  }
}

// ---------------------------------------------------------------------------
// The operator's controls

absl::StatusOr<std::string> ParseBanTarget(const std::string& target) {
  if (target.empty()) {
    return absl::InvalidArgumentError(
        "target is empty: give a host:port, an IP address or a node id");
  }
  if (target.size() > kMaxAddressBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("target is longer than ", kMaxAddressBytes, " bytes"));
  }
  std::string ip = target;
  if (ip.size() > 2 && ip.front() == '[' && ip.back() == ']') {
    ip = ip.substr(1, ip.size() - 2);
  }
  // Compared as addresses: the key is the canonical text (CanonicalIp),
  // the form gRPC's peer text and the peers' addresses take.
  IpKind kind = IpKind::kNotAnIp;
  std::string canonical = CanonicalIp(ip, &kind);
  if (kind == IpKind::kLoopback) {
    return absl::InvalidArgumentError(absl::StrCat(
        "target ", target,
        " is a loopback address, which every local node shares: ban a "
        "node id or a host:port instead"));
  }
  if (kind == IpKind::kUnspecified) {
    return absl::InvalidArgumentError(absl::StrCat(
        "target ", target,
        " is the unspecified address, which no peer connects from"));
  }
  if (kind == IpKind::kOther) return canonical;
  if (absl::StatusOr<HostPort> parsed = ParseHostPort(target); parsed.ok()) {
    CanonicalIp(parsed->host, &kind);
    if (kind == IpKind::kUnspecified) {
      return absl::InvalidArgumentError(absl::StrCat(
          "target ", target,
          " has the unspecified host, which no peer is reached at: ban the "
          "address the peer is known by (its IP and port)"));
    }
    return CanonicalAddress(target);
  }
  if (IsValidNodeId(target) && target.find(':') == std::string::npos) {
    return target;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("target '", target,
                   "' is neither a host:port, an IP address nor a node id"));
}

absl::StatusOr<bool> Network::AddPeer(const std::string& address) {
  if (absl::Status s = CheckPeerAddress(address); !s.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("address: ", s.message()));
  }
  // (advertise is constant once Start ran.)
  if (!options_.advertise.empty() && address == options_.advertise) {
    return absl::InvalidArgumentError(
        absl::StrCat("address ", address, " is this node's own"));
  }
  const bool connected = peers_.AddOperatorPeer(address);
  LOG(INFO) << "operator added peer " << address
            << (connected ? " (connected already)" : "");
  return connected;
}

absl::StatusOr<PeerSet::Removal> Network::DisconnectPeer(
    const std::string& target) {
  if (target.empty() || target.size() > kMaxAddressBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("target must be a host:port or a node id of 1..",
                     kMaxAddressBytes, " bytes"));
  }
  PeerSet::Removal removal = peers_.DisconnectPeer(target);
  if (removal.sessions_closed == 0 && removal.addresses_forgotten == 0) {
    return absl::NotFoundError(absl::StrCat(
        "no peer ", target, ": no session and no known address matches"));
  }
  LOG(INFO) << "operator disconnected " << target << " ("
            << removal.sessions_closed << " session(s) closed, "
            << removal.addresses_forgotten << " address(es) forgotten)";
  return removal;
}

absl::StatusOr<absl::Time> Network::Ban(const std::string& target,
                                        absl::Duration duration,
                                        const std::string& reason,
                                        uint32_t* sessions_closed) {
  PBCHAIN_ASSIGN_OR_RETURN(std::string key, ParseBanTarget(target));
  if (duration < absl::ZeroDuration() || duration > kMaxBanDuration) {
    return absl::InvalidArgumentError(absl::StrCat(
        "duration_seconds must be 0 (the node's --ban_duration) .. ",
        absl::ToInt64Seconds(kMaxBanDuration)));
  }
  if (reason.size() > kMaxBanReasonBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("reason is longer than ", kMaxBanReasonBytes, " bytes"));
  }
  if (duration == absl::ZeroDuration()) duration = options_.ban_duration;
  const std::string why = reason.empty() ? "banned by the operator" : reason;
  const absl::Time until = clock_->Now() + duration;
  PBCHAIN_ASSIGN_OR_RETURN(const uint32_t closed,
                           peers_.BanKey(key, until, why));
  if (sessions_closed != nullptr) *sessions_closed = closed;
  LOG(WARNING) << "operator banned " << key << " for "
               << absl::FormatDuration(duration) << ": " << why << " ("
               << closed << " session(s) closed)";
  return until;
}

absl::Status Network::Unban(const std::string& target) {
  PBCHAIN_ASSIGN_OR_RETURN(std::string key, ParseBanTarget(target));
  if (!peers_.Unban(key)) {
    return absl::NotFoundError(absl::StrCat(target, " is not banned"));
  }
  LOG(INFO) << "operator lifted the ban of " << key;
  return absl::OkStatus();
}

}  // namespace pbchain
