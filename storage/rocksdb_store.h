// The RocksDB implementation of the kernel's ChainStore port: one RocksDB
// database per datadir (DATADIR/chain), one column family per kind of data,
// every mutation of the active chain one synced WriteBatch. The only place
// in pbchain that includes rocksdb/.
#ifndef PBCHAIN_STORAGE_ROCKSDB_STORE_H_
#define PBCHAIN_STORAGE_ROCKSDB_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "chain/store.h"

namespace rocksdb {
class ColumnFamilyHandle;
class DB;
class WriteBatch;
}  // namespace rocksdb

namespace pbchain {

// Version of the on-disk layout this software writes and reads. A datadir
// with a higher version was written by newer software and is refused; one
// of version 1 (no address index) is upgraded in place when opened.
//   1: the column families up to kTxIndex.
//   2: adds kAddrIndex.
inline constexpr uint32_t kSchemaVersion = 2;

// The column families, declared in one place; Open checks that a datadir has
// exactly these.
enum class Column : int {
  kDefault = 0,  // unused (RocksDB requires it)
  kMeta,         // schema version, tip, head marker, genesis params
  kBlocks,       // block hash -> Block::Encode()
  kIndex,        // block hash -> BlockIndexEntry::Encode()
  kHeights,      // height (u32 big-endian) -> hash of the active chain's block
  kAccounts,     // address (20 bytes) -> AccountState::Encode()
  kRecords,      // record index key -> RecordLocation::Encode()
  kUndo,         // block hash -> BlockUndo::Encode()
  kTxIndex,      // txid -> TxLocation::Encode() (active chain only)
  kAddrIndex,    // AddressIndexKey (address 20 | height u32 BE | index u32
                 // BE) -> txid 32 (active chain only; schema 2)
  kCount,
};
// RocksDB names of the column families, indexed by Column.
const std::vector<std::string>& ColumnNames();

struct RocksStoreOptions {
  // Create the datadir if it does not exist. When false, a missing datadir
  // is NOT_FOUND (tools that only read use this).
  bool create_if_missing = true;
  // fsync every write (the WAL). Off only for benchmarks that say so.
  bool sync = true;
  // Receives progress lines of long operations (the schema upgrade), on the
  // thread that called Open. Null: they go to stderr.
  std::function<void(const std::string&)> log = nullptr;
  // Open without writing a single file (RocksDB's read-only mode): for
  // tools on a snapshot, read-only media or a live node's datadir. Takes no
  // lock, never creates or upgrades; every write is FAILED_PRECONDITION.
  bool read_only = false;
};

// In the message of the FAILED_PRECONDITION a read-only Open of a datadir
// that needs a schema upgrade returns (tools then open it read-write).
inline constexpr char kNeedsUpgrade[] = "needs a schema upgrade";

// RocksDB's informational log (DATADIR/chain/LOG) is rotated to LOG.old at
// this size; pbchain writes it itself (see rocksdb_store.cc) so that a full
// or failing disk never aborts the process.
inline constexpr uint64_t kMaxInfoLogBytes = 16 * 1024 * 1024;

// Counts and sizes for `pbtool inspect`.
struct StoreStats {
  uint64_t blocks = 0;
  uint64_t index_entries = 0;
  uint64_t accounts = 0;
  uint64_t records = 0;
  uint64_t transactions = 0;  // tx index entries: txs of the active chain
  uint64_t address_index_entries = 0;  // (address, transaction) pairs
  uint64_t bytes_on_disk = 0;
};

class RocksChainStore : public ChainStore {
 public:
  // Opens or creates the store in `datadir` (the database lives in
  // DATADIR/chain). Errors, each with a message naming the datadir:
  //   NOT_FOUND           no datadir and create_if_missing is false;
  //   FAILED_PRECONDITION another process has it open (RocksDB's LOCK), or
  //                       it was written by newer software (schema), or its
  //                       column families are not pbchain's;
  //   DATA_LOSS           corrupted or truncated files (never repaired
  //                       silently: a write-ahead log damaged before its
  //                       last record, or a missing one, is refused; only
  //                       a torn last record from a crash is dropped), or a
  //                       database missing its CURRENT file.
  // With options.read_only a schema-1 datadir is FAILED_PRECONDITION (it
  // needs the upgrade a read-write open does).
  // A schema-1 datadir is upgraded to schema 2 first: the address index of
  // its main chain is built (reading every main-chain block once, progress
  // through options.log), then the version is written. A kill during the
  // upgrade leaves schema 1, and the next Open redoes it from scratch.
  static absl::StatusOr<std::unique_ptr<RocksChainStore>> Open(
      const std::string& datadir, RocksStoreOptions options = {});
  ~RocksChainStore() override;

  absl::Status PutBlock(const BlockIndexEntry& entry,
                        const Block& block) override;
  absl::Status PutIndexEntries(
      const std::vector<BlockIndexEntry>& entries) override;
  absl::Status Commit(const StateDelta& delta) override;
  absl::StatusOr<std::optional<Block>> GetBlock(const Hash256& hash) override;
  absl::Status ForEachIndexEntry(
      const std::function<absl::Status(const BlockIndexEntry&)>& fn) override;
  absl::StatusOr<std::optional<AccountState>> GetAccount(
      const Address& address) override;
  absl::StatusOr<std::optional<RecordLocation>> GetRecord(
      const std::string& key) override;
  absl::StatusOr<std::vector<std::pair<std::string, RecordLocation>>>
  ScanRecords(const std::string& prefix, const std::string& start_after,
              size_t limit) override;
  absl::StatusOr<std::optional<TxLocation>> GetTxLocation(
      const Hash256& txid) override;
  absl::StatusOr<std::optional<BlockUndo>> GetUndo(
      const Hash256& hash) override;
  absl::StatusOr<std::optional<Hash256>> GetTip() override;
  absl::StatusOr<std::optional<Hash256>> GetMainChainHash(
      uint32_t height) override;
  absl::Status PutMeta(const std::string& key,
                       const std::string& value) override;
  absl::StatusOr<std::optional<std::string>> GetMeta(
      const std::string& key) override;
  absl::Status SetHeadMarker(const std::optional<Hash256>& target) override;
  absl::StatusOr<std::optional<Hash256>> GetHeadMarker() override;
  absl::Status ForEachAccount(
      const std::function<absl::Status(const Address&, const AccountState&)>&
          fn) override;
  absl::StatusOr<std::vector<AddressIndexEntry>> ScanAddressIndex(
      const Address& address, const std::optional<TxPosition>& before,
      size_t limit) override;
  absl::Status ForEachAddressIndexEntry(
      const std::function<absl::Status(const AddressIndexEntry&)>& fn) override;

  // Counts by scanning (O(data)); size from the datadir's files.
  absl::StatusOr<StoreStats> Stats();
  // Bytes of the live database as RocksDB reports it, cheaply (no scan):
  // "rocksdb.total-sst-files-size" plus "rocksdb.cur-size-all-mem-tables",
  // summed over the column families. For metrics. Any thread.
  uint64_t LiveSizeBytes() const;

  // Writes a backup of the live database into `backup_dir` with RocksDB's
  // BackupEngine (incremental: files shared with earlier backups are not
  // copied again), then deletes all but the newest `keep` backups (keep >= 1).
  // Safe while this process uses the store (a running node backs itself up;
  // another process cannot open a live datadir). Returns the new backup id.
  absl::StatusOr<uint32_t> Backup(const std::string& backup_dir, int keep);

  const std::string& datadir() const { return datadir_; }

  // OK while writes succeed; after the first failed write (or a failed
  // background flush or compaction) the error, and every write returns it
  // without touching the disk until Resume succeeds:
  //   RESOURCE_EXHAUSTED  the disk is full (Resume may clear it);
  //   INTERNAL / other    the filesystem failed (I/O error): do not resume,
  //                       close the store.
  // Any thread.
  absl::Status WriteError() const;

  // After a RESOURCE_EXHAUSTED write error: asks RocksDB to leave its
  // read-only state (flushes the memtables to a new file and starts a new
  // write-ahead log). OK clears WriteError; otherwise the reason (still no
  // space). FAILED_PRECONDITION for any other error, which is not resumed.
  // Any thread; callers retry at a bounded rate.
  absl::Status Resume();

  // Shared with the RocksDB event listener; see rocksdb_store.cc.
  struct WriteState {
    mutable absl::Mutex mu;
    absl::Status error ABSL_GUARDED_BY(mu);
  };

 private:
  RocksChainStore(std::string datadir, RocksStoreOptions options);
  rocksdb::ColumnFamilyHandle* cf(Column c) const {
    return handles_[static_cast<int>(c)];
  }
  absl::StatusOr<std::optional<std::string>> Get(Column c,
                                                 const std::string& key);
  // Schema 1 -> 2: creates kAddrIndex if missing, clears it (leftovers of an
  // interrupted upgrade), indexes every main-chain block, then writes
  // version 2, synced.
  absl::Status UpgradeFromSchema1();
  void Log(const std::string& line) const;
  // The one path of every write after Open: refused while WriteError is
  // set, else written (synced per options) and a failure recorded.
  absl::Status Write(rocksdb::WriteBatch& batch, const std::string& what);

  const std::string datadir_;
  const RocksStoreOptions options_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  std::shared_ptr<WriteState> write_state_ = std::make_shared<WriteState>();
};

// Restores the newest backup in `backup_dir` into `datadir`, which must not
// exist yet (FAILED_PRECONDITION otherwise: a restore never overwrites).
absl::Status RestoreBackup(const std::string& backup_dir,
                           const std::string& datadir);

// Ids and times of the backups in `backup_dir`, oldest first.
struct BackupInfo {
  uint32_t id = 0;
  int64_t timestamp = 0;  // unix seconds
  uint64_t size = 0;      // bytes
};
absl::StatusOr<std::vector<BackupInfo>> ListBackups(
    const std::string& backup_dir);

}  // namespace pbchain

#endif  // PBCHAIN_STORAGE_ROCKSDB_STORE_H_
