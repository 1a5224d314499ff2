#include "node/admin/admin_service.h"

#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/status.h"
#include "glog/logging.h"

namespace pbchain {
namespace {

void Finish(grpc::ServerUnaryReactor* reactor, const absl::Status& status) {
  if (absl::IsInternal(status) || absl::IsDataLoss(status) ||
      absl::IsUnknown(status)) {
    LOG(ERROR) << "admin rpc failed: " << status;
  }
  reactor->Finish(ToGrpcStatus(status));
}

grpc::ServerUnaryReactor* Reply(grpc::CallbackServerContext* ctx,
                                const absl::Status& status) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  Finish(reactor, status);
  return reactor;
}

}  // namespace

AdminServiceImpl::AdminServiceImpl(Node* node, Network* network,
                                   std::function<void()> request_stop)
    : node_(node), network_(network), request_stop_(std::move(request_stop)) {}

AdminServiceImpl::~AdminServiceImpl() {
  std::thread backup;
  {
    absl::MutexLock lock(&backup_mu_);
    backup = std::move(backup_thread_);
  }
  if (backup.joinable()) backup.join();
}

void AdminServiceImpl::SetBackupHookForTesting(std::function<void()> hook) {
  absl::MutexLock lock(&backup_mu_);
  backup_hook_ = std::move(hook);
}

grpc::ServerUnaryReactor* AdminServiceImpl::AddPeer(
    grpc::CallbackServerContext* ctx, const v1::AddPeerRequest* request,
    v1::AddPeerResponse* response) {
  absl::StatusOr<bool> connected = network_->AddPeer(request->address());
  if (!connected.ok()) return Reply(ctx, connected.status());
  response->set_already_connected(*connected);
  return Reply(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminServiceImpl::DisconnectPeer(
    grpc::CallbackServerContext* ctx, const v1::DisconnectPeerRequest* request,
    v1::DisconnectPeerResponse* response) {
  absl::StatusOr<PeerSet::Removal> removal =
      network_->DisconnectPeer(request->target());
  if (!removal.ok()) return Reply(ctx, removal.status());
  response->set_sessions_closed(removal->sessions_closed);
  response->set_addresses_forgotten(removal->addresses_forgotten);
  return Reply(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminServiceImpl::BanPeer(
    grpc::CallbackServerContext* ctx, const v1::BanPeerRequest* request,
    v1::BanPeerResponse* response) {
  if (request->duration_seconds() >
      static_cast<uint64_t>(absl::ToInt64Seconds(kMaxBanDuration))) {
    return Reply(ctx, absl::InvalidArgumentError(
                          absl::StrCat("duration_seconds must be at most ",
                                       absl::ToInt64Seconds(kMaxBanDuration))));
  }
  uint32_t closed = 0;
  absl::StatusOr<absl::Time> until = network_->Ban(
      request->target(),
      absl::Seconds(static_cast<int64_t>(request->duration_seconds())),
      request->reason(), &closed);
  if (!until.ok()) return Reply(ctx, until.status());
  response->set_until(absl::ToUnixSeconds(*until));
  response->set_sessions_closed(closed);
  return Reply(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminServiceImpl::UnbanPeer(
    grpc::CallbackServerContext* ctx, const v1::UnbanPeerRequest* request,
    v1::UnbanPeerResponse* /*response*/) {
  return Reply(ctx, network_->Unban(request->target()));
}

grpc::ServerUnaryReactor* AdminServiceImpl::ListBans(
    grpc::CallbackServerContext* ctx, const v1::ListBansRequest* /*request*/,
    v1::ListBansResponse* response) {
  for (const BanEntry& ban : network_->Bans()) {
    v1::Ban* out = response->add_bans();
    out->set_target(ban.key);
    out->set_reason(ban.reason);
    out->set_until(absl::ToUnixSeconds(ban.until));
  }
  return Reply(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminServiceImpl::SetMining(
    grpc::CallbackServerContext* ctx, const v1::SetMiningRequest* request,
    v1::SetMiningResponse* response) {
  if (request->threads() > static_cast<uint32_t>(kMaxMiningThreads)) {
    return Reply(ctx, absl::InvalidArgumentError(absl::StrCat(
                          "threads must be 0 (keep) or 1..", kMaxMiningThreads,
                          ", got ", request->threads())));
  }
  if (absl::Status s = node_->SetMining(request->enabled(),
                                        static_cast<int>(request->threads()));
      !s.ok()) {
    return Reply(ctx, s);
  }
  response->set_enabled(node_->mining_enabled());
  response->set_threads(static_cast<uint32_t>(node_->mining_threads()));
  return Reply(ctx, absl::OkStatus());
}

grpc::ServerUnaryReactor* AdminServiceImpl::Backup(
    grpc::CallbackServerContext* ctx, const v1::BackupRequest* /*request*/,
    v1::BackupResponse* response) {
  // A backup takes as long as the datadir is big: it runs on a thread of
  // its own, not on gRPC's callback threads (shared by every service), and
  // finishes the call from there. The call holds the gRPC server's Stop
  // until it is finished, so node_ outlives the thread's use of it; the
  // destructor joins the thread itself.
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  std::thread previous;
  bool refused = false;
  {
    absl::MutexLock lock(&backup_mu_);
    refused = backup_running_;
    if (!refused) {
      backup_running_ = true;
      // The previous backup's thread cleared backup_running_ and at most
      // still hands its answer to gRPC: joined below, outside the lock.
      previous = std::move(backup_thread_);
      backup_thread_ =
          std::thread([this, reactor, response, hook = backup_hook_] {
            if (hook) hook();
            absl::StatusOr<uint32_t> id = node_->BackupNow();
            if (id.ok()) {
              response->set_backup_id(*id);
              response->set_backup_dir(node_->options().backup_dir);
            }
            {
              absl::MutexLock lock(&backup_mu_);
              backup_running_ = false;
            }
            Finish(reactor, id.status());
          });
    }
  }
  if (refused) {
    Finish(reactor, absl::FailedPreconditionError(
                        "a backup is in progress: try again once it is done"));
    return reactor;
  }
  if (previous.joinable()) previous.join();
  return reactor;
}

grpc::ServerUnaryReactor* AdminServiceImpl::StopNode(
    grpc::CallbackServerContext* /*ctx*/,
    const v1::StopNodeRequest* /*request*/,
    v1::StopNodeResponse* /*response*/) {
  LOG(INFO) << "stop requested through the admin API";
  // The shutdown starts once this call is done (OnDone: the answer went
  // out), so the server's Shutdown has no call of its own to wait for.
  class StopReactor : public grpc::ServerUnaryReactor {
   public:
    explicit StopReactor(std::function<void()> stop) : stop_(std::move(stop)) {}
    void OnDone() override {
      if (stop_) stop_();
      delete this;
    }

   private:
    const std::function<void()> stop_;
  };
  auto* reactor = new StopReactor(request_stop_);
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* AdminServiceImpl::SetLogLevel(
    grpc::CallbackServerContext* ctx, const v1::SetLogLevelRequest* request,
    v1::SetLogLevelResponse* response) {
  if (request->has_verbosity() &&
      (request->verbosity() < 0 || request->verbosity() > kMaxLogVerbosity)) {
    return Reply(ctx, absl::InvalidArgumentError(absl::StrCat(
                          "verbosity must be 0..", kMaxLogVerbosity, ", got ",
                          request->verbosity())));
  }
  if (request->has_min_log_level() &&
      (request->min_log_level() < 0 ||
       request->min_log_level() > google::GLOG_FATAL)) {
    return Reply(ctx, absl::InvalidArgumentError(absl::StrCat(
                          "min_log_level must be 0 (INFO) .. 3 (FATAL), got ",
                          request->min_log_level())));
  }
  absl::MutexLock lock(&log_mu_);
  response->set_previous_verbosity(FLAGS_v);
  response->set_previous_min_log_level(FLAGS_minloglevel);
  if (request->has_verbosity()) FLAGS_v = request->verbosity();
  if (request->has_min_log_level()) {
    FLAGS_minloglevel = request->min_log_level();
  }
  response->set_verbosity(FLAGS_v);
  response->set_min_log_level(FLAGS_minloglevel);
  if (request->has_verbosity() || request->has_min_log_level()) {
    // At WARNING so that the change shows unless it hid warnings itself.
    LOG(WARNING) << "log level set through the admin API: verbosity " << FLAGS_v
                 << ", min_log_level " << FLAGS_minloglevel;
  }
  return Reply(ctx, absl::OkStatus());
}

}  // namespace pbchain
