// Periodic backups of a live store: a background thread that calls
// RocksChainStore::Backup every `interval`, keeping the newest `keep`.
#ifndef PBCHAIN_STORAGE_PERIODIC_BACKUP_H_
#define PBCHAIN_STORAGE_PERIODIC_BACKUP_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "storage/rocksdb_store.h"

namespace pbchain {

struct PeriodicBackupOptions {
  std::string backup_dir;
  absl::Duration interval = absl::Hours(1);
  int keep = 5;  // retention: the newest `keep` backups survive
};

class PeriodicBackup {
 public:
  // Starts the thread; the first backup is taken after one interval.
  // `store` must outlive this object. INVALID_ARGUMENT for an empty
  // directory, a non-positive interval or keep < 1.
  static absl::StatusOr<std::unique_ptr<PeriodicBackup>> Start(
      RocksChainStore* store, PeriodicBackupOptions options);
  // Stops the thread (waits for a backup in progress). Any thread.
  ~PeriodicBackup();

  // Takes a backup now (in the calling thread; one at a time with the
  // periodic ones, which keep their schedule) and returns its id; errors as
  // RocksChainStore::Backup. Counted in backups_taken / last_status. Any
  // thread.
  absl::StatusOr<uint32_t> BackupNow() ABSL_LOCKS_EXCLUDED(backup_mu_, mu_);

  // Backups taken so far and the outcome of the last attempt. Any thread.
  uint64_t backups_taken() const;
  absl::Status last_status() const;

 private:
  PeriodicBackup(RocksChainStore* store, PeriodicBackupOptions options);
  void Run();

  RocksChainStore* const store_;
  const PeriodicBackupOptions options_;
  // One backup at a time (BackupEngine is not safe on one directory from
  // two places at once); taken before mu_.
  absl::Mutex backup_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t taken_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status last_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace pbchain

#endif  // PBCHAIN_STORAGE_PERIODIC_BACKUP_H_
