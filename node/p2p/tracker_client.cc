#include "node/p2p/tracker_client.h"

#include <chrono>
#include <utility>

#include "absl/random/distributions.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "glog/logging.h"
#include "node/core/node.h"
#include "node/p2p/network.h"
#include "node/p2p/wire.h"

namespace pbchain {
namespace {

void SetDeadline(grpc::ClientContext& context) {
  context.set_deadline(std::chrono::system_clock::now() +
                       absl::ToChronoMilliseconds(kTrackerCallTimeout));
}

int Ms(absl::Duration d) {
  return static_cast<int>(absl::ToInt64Milliseconds(d));
}

// The channel to the tracker: reconnect backoff and connect deadline of
// seconds, keepalive pings (see the constants in the header).
std::shared_ptr<grpc::Channel> TrackerChannel(
    const std::string& address,
    std::shared_ptr<grpc::ChannelCredentials> credentials) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS,
              Ms(kTrackerInitialReconnectBackoff));
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
              Ms(kTrackerMaxReconnectBackoff));
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, Ms(kTrackerConnectTimeout));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, Ms(kTrackerKeepaliveTime));
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, Ms(kTrackerKeepaliveTimeout));
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  // Keep pinging however long no call sends data (gRPC's default stops
  // after 2 pings without data).
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  return grpc::CreateCustomChannel(address,
                                   credentials != nullptr
                                       ? std::move(credentials)
                                       : grpc::InsecureChannelCredentials(),
                                   args);
}

// What to check when a call failed on a live connection: a TLS handshake
// failed, or the tracker closed a plaintext connection (it serves TLS).
// Empty when the tracker was not reached at all or answered.
std::string TransportHint(const std::string& reason, bool tls) {
  const bool handshake = absl::StrContains(reason, "andshake") ||
                         absl::StrContains(reason, "SSL") ||
                         absl::StrContains(reason, "certificate");
  const bool closed = absl::StrContains(reason, "Socket closed") ||
                      absl::StrContains(reason, "Connection reset");
  if (tls && (handshake || closed)) {
    return "; TLS: is the tracker's certificate signed by --tls-ca and issued "
           "for this address, and does the tracker require a client "
           "certificate (--tls-client-cert)?";
  }
  if (!tls && closed) {
    return "; dialing in plaintext: if the tracker serves TLS, give --tls-ca";
  }
  return "";
}

// Why the channel of `stub` has no connection, as gRPC says: a call that
// does not wait for one fails with the channel's last connection error.
// Empty if that call went through (the tracker answers now).
std::string ConnectionError(v1::Tracker::Stub& stub) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(500));
  v1::TrackerListPeersRequest request;
  v1::TrackerListPeersResponse response;
  const grpc::Status status = stub.ListPeers(&context, request, &response);
  if (status.error_code() != grpc::StatusCode::UNAVAILABLE &&
      status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
    return "";
  }
  return status.error_message();
}

// The tracker did not answer (as opposed to answering with a refusal).
bool Unreached(const grpc::Status& status) {
  return status.error_code() == grpc::StatusCode::UNAVAILABLE ||
         status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ||
         status.error_code() == grpc::StatusCode::ABORTED;
}

}  // namespace

TrackerClient::TrackerClient(
    Network* network, Node* node, std::string address,
    std::shared_ptr<grpc::ChannelCredentials> credentials)
    : network_(network),
      node_(node),
      address_(std::move(address)),
      tls_(credentials != nullptr),
      channel_(TrackerChannel(address_, std::move(credentials))),
      stub_(v1::Tracker::NewStub(channel_)),
      thread_([this] { Run(); }) {}

TrackerClient::~TrackerClient() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    if (watch_context_ != nullptr) watch_context_->TryCancel();
  }
  thread_.join();
}

bool TrackerClient::WaitFor(absl::Duration d) {
  absl::MutexLock lock(&mu_);
  auto stop = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return stopping_; };
  return mu_.AwaitWithTimeout(absl::Condition(&stop), d);
}

void TrackerClient::Run() {
  absl::Duration backoff = absl::Seconds(1);
  int failures = 0;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
    }
    const TipInfo tip = node_->chain().Tip();
    v1::JoinRequest join;
    join.set_node_id(node_->node_id());
    join.set_address(network_->options().advertise);
    join.set_genesis_hash(HashBytes(node_->chain().genesis_hash()));
    join.set_role(RoleFromText(node_->options().role));
    join.set_height(tip.height);
    join.set_tip_hash(HashBytes(tip.hash));
    v1::JoinResponse joined;
    grpc::ClientContext context;
    SetDeadline(context);
    // Wait for a connection within the deadline rather than fail at once
    // while the channel is between attempts.
    context.set_wait_for_ready(true);
    grpc::Status status = stub_->Join(&context, join, &joined);
    if (!status.ok()) {
      // Say it once per outage, not every retry.
      if (failures++ == 0) {
        // A Join that waited for a connection says only "Deadline
        // Exceeded": ask the channel why it has none.
        const std::string why =
            Unreached(status) ? ConnectionError(*stub_) : std::string();
        LOG(WARNING) << "tracker " << address_ << ": join failed ("
                     << status.error_message()
                     << (why.empty() ? "" : "; connection: ") << why << ")"
                     << TransportHint(
                            absl::StrCat(status.error_message(), " ", why),
                            tls_)
                     << "; working from known peers and retrying";
      }
      if (Unreached(status)) {
        // Connect again now, not when the channel's backoff says: the next
        // Join then finds the connection up as soon as the tracker is.
        grpc::experimental::ChannelResetConnectionBackoff(channel_.get());
        const absl::Duration pause =
            kTrackerRejoinInterval * absl::Uniform(rng_, 0.5, 1.5);
        if (WaitFor(pause)) return;
      } else {
        if (WaitFor(backoff)) return;
        backoff = std::min(backoff * 2, kMaxTrackerBackoff);
      }
      continue;
    }
    LOG(INFO) << "joined tracker " << address_ << " as " << node_->node_id();
    failures = 0;
    backoff = absl::Seconds(1);
    {
      absl::MutexLock lock(&mu_);
      watch_stop_ = false;
    }
    std::thread watch([this] { Watch(); });
    const absl::Duration interval =
        absl::Milliseconds(std::max<uint32_t>(joined.heartbeat_interval_ms(), 100));
    const absl::Duration ttl =
        absl::Milliseconds(std::max<uint32_t>(joined.lease_ttl_ms(), 100));
    absl::Time last_ok = absl::Now();
    bool stopping = false;
    while (!(stopping = WaitFor(interval))) {
      const TipInfo now_tip = node_->chain().Tip();
      v1::HeartbeatRequest beat;
      beat.set_node_id(node_->node_id());
      beat.set_lease_id(joined.lease_id());
      beat.set_height(now_tip.height);
      beat.set_tip_hash(HashBytes(now_tip.hash));
      v1::HeartbeatResponse renewed;
      grpc::ClientContext beat_context;
      SetDeadline(beat_context);
      status = stub_->Heartbeat(&beat_context, beat, &renewed);
      if (status.ok()) {
        last_ok = absl::Now();
        continue;
      }
      if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
        LOG(INFO) << "tracker " << address_ << " forgot us; joining again";
        break;
      }
      // Not reached: have the channel connect again at once, so that the
      // next Heartbeat gets through as soon as the tracker is reachable.
      if (Unreached(status)) {
        grpc::experimental::ChannelResetConnectionBackoff(channel_.get());
      }
      if (absl::Now() - last_ok > ttl) {
        LOG(WARNING) << "tracker " << address_ << " unreachable ("
                     << status.error_message() << "); will rejoin";
        break;
      }
    }
    {
      absl::MutexLock lock(&mu_);
      watch_stop_ = true;
      if (watch_context_ != nullptr) watch_context_->TryCancel();
    }
    watch.join();
    if (stopping) {
      v1::LeaveRequest leave;
      leave.set_node_id(node_->node_id());
      leave.set_lease_id(joined.lease_id());
      v1::LeaveResponse left;
      grpc::ClientContext leave_context;
      SetDeadline(leave_context);
      (void)stub_->Leave(&leave_context, leave, &left);
      return;
    }
  }
}

void TrackerClient::Watch() {
  while (true) {
    grpc::ClientContext context;
    {
      absl::MutexLock lock(&mu_);
      if (stopping_ || watch_stop_) return;
      watch_context_ = &context;
    }
    v1::WatchPeersRequest request;
    request.set_genesis_hash(HashBytes(node_->chain().genesis_hash()));
    request.set_exclude_node_id(node_->node_id());
    std::unique_ptr<grpc::ClientReader<v1::WatchPeersResponse>> reader =
        stub_->WatchPeers(&context, request);
    v1::WatchPeersResponse update;
    while (reader->Read(&update)) {
      for (const v1::PeerEvent& event : update.events()) {
        if (event.type() == v1::PEER_EVENT_TYPE_REMOVED) {
          network_->RemoveKnown(event.peer().address());
        } else {
          network_->AddKnown(event.peer(), AddressSource::kTracker);
        }
      }
    }
    (void)reader->Finish();
    absl::MutexLock lock(&mu_);
    watch_context_ = nullptr;
    // Resubscribe after a pause unless told to stop.
    auto stop = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return stopping_ || watch_stop_;
    };
    if (mu_.AwaitWithTimeout(absl::Condition(&stop), absl::Seconds(1))) return;
  }
}

}  // namespace pbchain
