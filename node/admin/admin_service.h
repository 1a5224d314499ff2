// pbchain.v1.AdminService (proto/pbchain/v1/admin.proto) over a Node and
// its Network: a thin gRPC callback service, served only on the admin
// listener (admin_server.h), where every call was authenticated before a
// handler runs. Requests are validated here (INVALID_ARGUMENT naming the
// field) or by the Node / Network methods it calls; errors leave through
// one ToGrpcStatus (common/status.h).
//
// Limits: verbosity 0..kMaxLogVerbosity, min_log_level 0..3 (glog's
// INFO..FATAL), mining threads 0..kMaxMiningThreads, ban durations and
// reasons as Network::Ban (kMaxBanDuration, kMaxBanReasonBytes).
//
// Handlers run on gRPC's callback threads, which every service of the
// process shares, and return at once: Backup runs the backup on a thread
// of its own (one operator backup at a time: a second is
// FAILED_PRECONDITION "a backup is in progress") and finishes the call
// from there; StopNode answers first and then asks main to shut down.
#ifndef PBCHAIN_NODE_ADMIN_ADMIN_SERVICE_H_
#define PBCHAIN_NODE_ADMIN_ADMIN_SERVICE_H_

#include <functional>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "node/core/node.h"
#include "node/p2p/network.h"
#include "pbchain/v1/admin.grpc.pb.h"

namespace pbchain {

// Highest glog verbosity SetLogLevel sets.
inline constexpr int kMaxLogVerbosity = 10;

class AdminServiceImpl final : public v1::AdminService::CallbackService {
 public:
  // Serves `node` and `network`, which must outlive the service and every
  // call on it. `request_stop` is called (on a gRPC thread, after the
  // StopNode answer was handed to gRPC) to shut the node down gracefully;
  // pbnode raises SIGTERM in it.
  AdminServiceImpl(Node* node, Network* network,
                   std::function<void()> request_stop);
  // Waits for a backup in progress (its thread). The gRPC server must be
  // stopped first (its Stop waits for the backup call to finish too).
  ~AdminServiceImpl() override;

  AdminServiceImpl(const AdminServiceImpl&) = delete;
  AdminServiceImpl& operator=(const AdminServiceImpl&) = delete;

  // Tests: `hook` runs on the backup thread before each operator backup
  // (a test holds a backup in progress with it). Set before calls come.
  void SetBackupHookForTesting(std::function<void()> hook)
      ABSL_LOCKS_EXCLUDED(backup_mu_);

  grpc::ServerUnaryReactor* AddPeer(grpc::CallbackServerContext* ctx,
                                    const v1::AddPeerRequest* request,
                                    v1::AddPeerResponse* response) override;
  grpc::ServerUnaryReactor* DisconnectPeer(
      grpc::CallbackServerContext* ctx,
      const v1::DisconnectPeerRequest* request,
      v1::DisconnectPeerResponse* response) override;
  grpc::ServerUnaryReactor* BanPeer(grpc::CallbackServerContext* ctx,
                                    const v1::BanPeerRequest* request,
                                    v1::BanPeerResponse* response) override;
  grpc::ServerUnaryReactor* UnbanPeer(grpc::CallbackServerContext* ctx,
                                      const v1::UnbanPeerRequest* request,
                                      v1::UnbanPeerResponse* response) override;
  grpc::ServerUnaryReactor* ListBans(grpc::CallbackServerContext* ctx,
                                     const v1::ListBansRequest* request,
                                     v1::ListBansResponse* response) override;
  grpc::ServerUnaryReactor* SetMining(grpc::CallbackServerContext* ctx,
                                      const v1::SetMiningRequest* request,
                                      v1::SetMiningResponse* response) override;
  grpc::ServerUnaryReactor* Backup(grpc::CallbackServerContext* ctx,
                                   const v1::BackupRequest* request,
                                   v1::BackupResponse* response) override;
  grpc::ServerUnaryReactor* StopNode(grpc::CallbackServerContext* ctx,
                                     const v1::StopNodeRequest* request,
                                     v1::StopNodeResponse* response) override;
  grpc::ServerUnaryReactor* SetLogLevel(
      grpc::CallbackServerContext* ctx, const v1::SetLogLevelRequest* request,
      v1::SetLogLevelResponse* response) override;

 private:
  Node* const node_;
  Network* const network_;
  const std::function<void()> request_stop_;
  // Serializes read-modify-write of glog's FLAGS_v / FLAGS_minloglevel.
  absl::Mutex log_mu_;
  // The operator backup: its thread (the last one started, joined before
  // the next starts and in the destructor) and whether it still runs.
  absl::Mutex backup_mu_;
  bool backup_running_ ABSL_GUARDED_BY(backup_mu_) = false;
  std::thread backup_thread_ ABSL_GUARDED_BY(backup_mu_);
  std::function<void()> backup_hook_ ABSL_GUARDED_BY(backup_mu_);
};

}  // namespace pbchain

#endif  // PBCHAIN_NODE_ADMIN_ADMIN_SERVICE_H_
