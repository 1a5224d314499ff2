#include "storage/periodic_backup.h"

namespace pbchain {

absl::StatusOr<std::unique_ptr<PeriodicBackup>> PeriodicBackup::Start(
    RocksChainStore* store, PeriodicBackupOptions options) {
  if (options.backup_dir.empty()) {
    return absl::InvalidArgumentError("backup directory is empty");
  }
  if (options.interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("backup interval must be positive");
  }
  if (options.keep < 1)
    return absl::InvalidArgumentError("keep at least one backup");
  std::unique_ptr<PeriodicBackup> p(
      new PeriodicBackup(store, std::move(options)));
  p->thread_ = std::thread([raw = p.get()] { raw->Run(); });
  return p;
}

PeriodicBackup::PeriodicBackup(RocksChainStore* store,
                               PeriodicBackupOptions options)
    : store_(store), options_(std::move(options)) {}

PeriodicBackup::~PeriodicBackup() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void PeriodicBackup::Run() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      // Wakes early when stopping_ becomes true.
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.interval);
      if (stopping_) return;
    }
    (void)BackupNow();
  }
}

absl::StatusOr<uint32_t> PeriodicBackup::BackupNow() {
  absl::MutexLock backup_lock(&backup_mu_);
  absl::StatusOr<uint32_t> id =
      store_->Backup(options_.backup_dir, options_.keep);
  absl::MutexLock lock(&mu_);
  last_ = id.status();
  if (id.ok()) ++taken_;
  return id;
}

uint64_t PeriodicBackup::backups_taken() const {
  absl::MutexLock lock(&mu_);
  return taken_;
}

absl::Status PeriodicBackup::last_status() const {
  absl::MutexLock lock(&mu_);
  return last_;
}

}  // namespace pbchain
