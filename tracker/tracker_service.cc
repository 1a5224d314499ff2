#include "tracker/tracker_service.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "common/host_port.h"
#include "common/status.h"
#include "common/status_macros.h"
#include "common/stream_writer.h"
#include "glog/logging.h"

namespace pbchain::tracker {
namespace {

// --- protobuf <-> registry types, in one place ------------------------------

JoinInput JoinInputFromProto(const v1::JoinRequest& request) {
  JoinInput input;
  input.node_id = request.node_id();
  input.address = request.address();
  input.genesis_hash = request.genesis_hash();
  input.role = request.role();
  input.height = request.height();
  input.tip_hash = request.tip_hash();
  return input;
}

v1::PeerInfo PeerToProto(const Peer& peer) {
  v1::PeerInfo info;
  info.set_node_id(peer.node_id);
  info.set_address(peer.address);
  info.set_role(static_cast<v1::PeerRole>(peer.role));
  info.set_genesis_hash(peer.genesis_hash);
  info.set_height(peer.height);
  info.set_tip_hash(peer.tip_hash);
  info.set_last_seen_unix_ms(absl::ToUnixMillis(peer.last_seen));
  return info;
}

v1::PeerEventType EventTypeToProto(ChangeType type) {
  switch (type) {
    case ChangeType::kAdded:
      return v1::PEER_EVENT_TYPE_ADDED;
    case ChangeType::kRemoved:
      return v1::PEER_EVENT_TYPE_REMOVED;
    case ChangeType::kUpdated:
      return v1::PEER_EVENT_TYPE_UPDATED;
  }
  return v1::PEER_EVENT_TYPE_UNSPECIFIED;
}

v1::WatchPeersResponse BatchToProto(const Watcher::Batch& batch) {
  v1::WatchPeersResponse message;
  message.set_snapshot(batch.snapshot);
  for (const std::shared_ptr<const PeerChange>& change : batch.changes) {
    v1::PeerEvent* event = message.add_events();
    event->set_type(EventTypeToProto(change->type));
    *event->mutable_peer() = PeerToProto(change->peer);
  }
  return message;
}

// Milliseconds for a uint32 field (pbtracker's main keeps durations far
// below the cap).
uint32_t Millis(absl::Duration d) {
  return static_cast<uint32_t>(std::clamp<int64_t>(
      absl::ToInt64Milliseconds(d), 0, std::numeric_limits<uint32_t>::max()));
}

void Finish(grpc::ServerUnaryReactor* reactor, const absl::Status& status) {
  // The machine failed (not the caller): worth an operator's attention.
  if (absl::IsInternal(status) || absl::IsUnknown(status)) {
    LOG(ERROR) << "rpc failed: " << status;
  }
  reactor->Finish(ToGrpcStatus(status));
}

grpc::ServerUnaryReactor* Reply(grpc::CallbackServerContext* ctx,
                                const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Finish(reactor, status);
  return reactor;
}

// The address a Join registers (docs/PROTOCOL.md "Addresses"): an
// unspecified host ("0.0.0.0:P", "[::]:P") becomes the IP the call came
// from, keeping the port; a loopback address from a caller off loopback
// (nobody else could dial it) is INVALID_ARGUMENT. In-process and unix:
// callers keep their address as given.
absl::StatusOr<std::string> JoinAddress(const std::string& claimed,
                                        const std::string& grpc_peer) {
  const bool ip_transport = absl::StartsWith(grpc_peer, "ipv4:") ||
                            absl::StartsWith(grpc_peer, "ipv6:");
  const std::string ip = ip_transport ? IpFromGrpcPeer(grpc_peer) : "";
  absl::StatusOr<std::string> resolved = ResolveClaimedAddress(claimed, ip);
  if (!resolved.ok()) return resolved.status();
  absl::StatusOr<HostPort> host = ParseHostPort(*resolved);
  if (ip_transport && host.ok() &&
      IsLoopbackIp(host->host) &&  // any spelling, names included
      !IsLoopbackIp(ip)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "address ", claimed, " is loopback but the Join came from ", ip,
        ": no other host can dial it (advertise a reachable address)"));
  }
  return resolved;
}

}  // namespace

TrackerServiceImpl::TrackerServiceImpl(Registry* registry,
                                       ReachabilityProbe probe)
    : registry_(registry),
      probe_(std::move(probe)),
      expiry_interval_(
          std::max(registry->options().lease_ttl / 4, kMinExpiryInterval)),
      expiry_thread_([this] { ExpireLoop(); }) {}

TrackerServiceImpl::~TrackerServiceImpl() { Shutdown(); }

void TrackerServiceImpl::Shutdown() {
  std::call_once(shutdown_once_, [this] {
    registry_->CloseWatchers(
        absl::UnavailableError("the tracker is shutting down"));
    stop_.Notify();
    expiry_thread_.join();
  });
}

void TrackerServiceImpl::ExpireLoop() {
  while (!stop_.WaitForNotificationWithTimeout(expiry_interval_)) {
    if (size_t removed = registry_->Expire(); removed > 0) {
      LOG(INFO) << "expired " << removed << " lease(s)";
    }
  }
}

grpc::ServerUnaryReactor* TrackerServiceImpl::Join(
    grpc::CallbackServerContext* ctx, const v1::JoinRequest* request,
    v1::JoinResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  JoinInput input = JoinInputFromProto(*request);
  // Malformed requests cost nothing; a well-formed one spends a join token
  // before it may cost a probe.
  absl::Status status = ValidateJoinInput(input);
  if (status.ok()) {
    absl::StatusOr<std::string> address =
        JoinAddress(input.address, ctx->peer());
    status = address.status();
    if (address.ok()) input.address = *std::move(address);
  }
  if (status.ok()) status = registry_->AdmitJoin(IpFromGrpcPeer(ctx->peer()));
  if (!status.ok()) {
    Finish(reactor, status);
    return reactor;
  }
  if (!probe_) {
    FinishJoin(reactor, registry_->Join(input), response);
    return reactor;
  }
  const std::string address = input.address;
  probe_(address, [this, reactor, response,
                   input = std::move(input)](absl::Status reachable) {
    if (absl::IsUnavailable(reachable)) {
      Finish(reactor, absl::FailedPreconditionError(absl::StrCat(
                          "address ", input.address,
                          " is not reachable: ", reachable.message())));
    } else if (!reachable.ok()) {
      Finish(reactor, reachable);  // no verdict (busy, shutting down)
    } else {
      JoinReachable(reactor, input, response);
    }
  });
  return reactor;
}

void TrackerServiceImpl::JoinReachable(grpc::ServerUnaryReactor* reactor,
                                       const JoinInput& input,
                                       v1::JoinResponse* response) {
  absl::StatusOr<Lease> lease = registry_->Join(input);
  if (absl::IsAlreadyExists(lease.status())) {
    TakeOverNodeId(reactor, input, response, lease.status());
    return;
  }
  FinishJoin(reactor, lease, response);
}

void TrackerServiceImpl::TakeOverNodeId(grpc::ServerUnaryReactor* reactor,
                                        const JoinInput& input,
                                        v1::JoinResponse* response,
                                        absl::Status conflict) {
  std::optional<std::string> old = registry_->RegisteredAddress(input.node_id);
  if (!old.has_value()) {  // the old lease ran out meanwhile
    FinishJoin(reactor, registry_->Join(input), response);
    return;
  }
  probe_(*old, [this, reactor, response, input, old = *old,
                conflict = std::move(conflict)](absl::Status reachable) {
    if (reachable.ok()) {
      Finish(reactor, conflict);
      return;
    }
    if (!absl::IsUnavailable(reachable)) {
      Finish(reactor, reachable);  // no verdict (busy, shutting down)
      return;
    }
    LOG(INFO) << "node " << input.node_id << " moves from unreachable " << old
              << " to " << input.address;
    // Replaces the old registration only if it still is at `old`.
    FinishJoin(reactor, registry_->Join(input, old), response);
  });
}

void TrackerServiceImpl::FinishJoin(grpc::ServerUnaryReactor* reactor,
                                    const absl::StatusOr<Lease>& lease,
                                    v1::JoinResponse* response) {
  if (!lease.ok()) {
    Finish(reactor, lease.status());
    return;
  }
  response->set_lease_id(lease->lease_id);
  response->set_heartbeat_interval_ms(Millis(lease->heartbeat_interval));
  response->set_lease_ttl_ms(Millis(lease->ttl));
  response->set_expires_unix_ms(absl::ToUnixMillis(lease->expires));
  Finish(reactor, absl::OkStatus());
}

grpc::ServerUnaryReactor* TrackerServiceImpl::Heartbeat(
    grpc::CallbackServerContext* ctx, const v1::HeartbeatRequest* request,
    v1::HeartbeatResponse* response) {
  absl::StatusOr<Lease> lease =
      registry_->Heartbeat(request->node_id(), request->lease_id(),
                           request->height(), request->tip_hash());
  if (!lease.ok()) return Reply(ctx, lease.status());
  response->set_heartbeat_interval_ms(Millis(lease->heartbeat_interval));
  response->set_lease_ttl_ms(Millis(lease->ttl));
  response->set_expires_unix_ms(absl::ToUnixMillis(lease->expires));
  return Reply(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* TrackerServiceImpl::Leave(
    grpc::CallbackServerContext* ctx, const v1::LeaveRequest* request,
    v1::LeaveResponse* /*response*/) {
  return Reply(ctx, registry_->Leave(request->node_id(), request->lease_id()));
}

grpc::ServerUnaryReactor* TrackerServiceImpl::ListPeers(
    grpc::CallbackServerContext* ctx,
    const v1::TrackerListPeersRequest* request,
    v1::TrackerListPeersResponse* response) {
  absl::StatusOr<std::vector<Peer>> peers = registry_->List(
      request->genesis_hash(), request->limit(), request->exclude_node_id());
  if (!peers.ok()) return Reply(ctx, peers.status());
  for (const Peer& peer : *peers) *response->add_peers() = PeerToProto(peer);
  return Reply(ctx, absl::OkStatus());
}

// WatchPeers. The registry's watcher keeps the changes (and drops a
// watcher that falls too far behind); the stream pulls batches of at most
// kMaxChangesPerWatchMessage from it whenever no write is in flight, and the
// watcher's notify (on the thread that changed the peer set) only wakes it.
grpc::ServerWriteReactor<v1::WatchPeersResponse>*
TrackerServiceImpl::WatchPeers(grpc::CallbackServerContext* /*ctx*/,
                               const v1::WatchPeersRequest* request) {
  using Feed = StreamFeed<v1::WatchPeersResponse>;
  // Set once, before the stream begins (so before the source is pulled).
  auto watcher = std::make_shared<std::shared_ptr<Watcher>>();
  Feed::Options options;
  options.source =
      [watcher]() -> absl::StatusOr<std::optional<v1::WatchPeersResponse>> {
    if (*watcher == nullptr) return std::nullopt;
    PBCHAIN_ASSIGN_OR_RETURN(std::optional<Watcher::Batch> next,
                             (*watcher)->Next(kMaxChangesPerWatchMessage));
    if (!next.has_value()) return std::nullopt;
    return BatchToProto(*next);
  };
  options.on_done = [registry = registry_, watcher] {
    if (*watcher != nullptr) registry->Unwatch(**watcher);
  };
  auto [writer, feed] =
      QueuedStreamWriter<v1::WatchPeersResponse>::Create(std::move(options));
  absl::StatusOr<std::shared_ptr<Watcher>> watch =
      registry_->Watch(request->genesis_hash(), request->exclude_node_id(),
                       [weak = std::weak_ptr<Feed>(feed)] {
                         if (std::shared_ptr<Feed> f = weak.lock()) f->Notify();
                       });
  if (!watch.ok()) {
    writer->FinishNow(ToGrpcStatus(watch.status()));
    return writer;
  }
  *watcher = *std::move(watch);
  writer->Begin();  // the snapshot first
  return writer;
}

}  // namespace pbchain::tracker
