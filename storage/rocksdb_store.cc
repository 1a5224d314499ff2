#include "storage/rocksdb_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/listener.h"
#include "rocksdb/options.h"
#include "rocksdb/utilities/backup_engine.h"
#include "rocksdb/write_batch.h"

namespace pbchain {
namespace {

namespace fs = std::filesystem;

// Reserved meta keys; PutMeta keys live under "meta/".
constexpr char kKeySchema[] = "schema_version";
constexpr char kKeyTip[] = "tip";
constexpr char kKeyHeadMarker[] = "head_marker";

std::string MetaKey(const std::string& key) { return "meta/" + key; }

std::string AsString(ByteSpan b) { return std::string(b.begin(), b.end()); }
std::string HashKey(const Hash256& h) { return AsString(h.bytes); }
std::string HeightKey(uint32_t height) {
  std::string k(4, '\0');
  for (int i = 0; i < 4; ++i) k[i] = static_cast<char>(height >> (24 - 8 * i));
  return k;
}
// Inverse of HeightKey; false if `key` is not 4 bytes.
bool ParseHeightKey(const rocksdb::Slice& key, uint32_t& height) {
  if (key.size() != 4) return false;
  height = 0;
  for (size_t i = 0; i < 4; ++i) {
    height = height << 8 | static_cast<uint8_t>(key[i]);
  }
  return true;
}
ByteSpan Span(const rocksdb::Slice& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
ByteSpan Span(const std::string& s) { return AsBytes(s); }

// Maps a RocksDB status to an absl::Status with context.
absl::Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = absl::StrCat(what, ": ", s.ToString());
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsNoSpace()) {
    return absl::ResourceExhaustedError(
        absl::StrCat(what, ": the disk is full (", s.ToString(), ")"));
  }
  // RocksDB names its lock file ".../LOCK"; match that, not any path that
  // happens to contain "lock".
  if (s.IsIOError() && absl::StrContains(s.ToString(), "/LOCK")) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, ": the datadir is in use by another process (",
                     s.ToString(), ")"));
  }
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  return absl::InternalError(msg);
}

// RocksDB's informational log, written by pbchain: RocksDB's own logger
// asserts on a write after a failed one (in Debian's build, an abort on
// `sync_without_flush_called_` at the first log line after the disk filled
// up). This one drops the lines it cannot write and tries again with the
// next. `path` empty: drops everything (read-only opens write no file).
class InfoLog : public rocksdb::Logger {
 public:
  explicit InfoLog(std::string path)
      : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL),
        path_(std::move(path)) {}
  ~InfoLog() override {
    absl::MutexLock lock(&mu_);
    if (file_ != nullptr) std::fclose(file_);
  }

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char line[1024];
    const int n = std::vsnprintf(line, sizeof(line), format, ap);
    if (n < 0) return;
    if (absl::StrContains(line, "Corruption") && absl::StrContains(line, "/")) {
      // RocksDB's status of a damaged WAL does not name the file; this
      // line of its log does ("/path/000027.log: dropping 32768 bytes;
      // Corruption: checksum mismatch").
      absl::MutexLock lock(&mu_);
      last_damage_ = line;
    }
    if (path_.empty()) return;
    const std::string stamped =
        absl::StrCat(absl::FormatTime("%Y/%m/%d-%H:%M:%E6S ", absl::Now(),
                                      absl::LocalTimeZone()),
                     line, "\n");
    absl::MutexLock lock(&mu_);
    if (file_ != nullptr && written_ + stamped.size() > kMaxInfoLogBytes) {
      std::fclose(file_);
      file_ = nullptr;
      std::error_code ec;
      fs::rename(path_, path_ + ".old", ec);
    }
    if (file_ == nullptr) {
      file_ = std::fopen(path_.c_str(), "a");
      if (file_ == nullptr) return;
      std::error_code ec;
      written_ = fs::file_size(path_, ec);
      if (ec) written_ = 0;
    }
    if (std::fwrite(stamped.data(), 1, stamped.size(), file_) !=
            stamped.size() ||
        std::fflush(file_) != 0) {
      // Full or failing disk: drop this line, reopen for the next.
      std::fclose(file_);
      file_ = nullptr;
      return;
    }
    written_ += stamped.size();
  }

  // The last line that reported damage in a named file, or "".
  std::string last_damage() const {
    absl::MutexLock lock(&mu_);
    return last_damage_;
  }

 private:
  const std::string path_;
  mutable absl::Mutex mu_;
  std::FILE* file_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::string last_damage_ ABSL_GUARDED_BY(mu_);
  uint64_t written_ ABSL_GUARDED_BY(mu_) = 0;
};

// Records background errors (a failed flush or compaction) as the store's
// write error, and keeps RocksDB from recovering by itself: its automatic
// recovery from a full disk never finished in tests (Resume stayed
// "Resource busy" after space was freed), so the node resumes explicitly
// at its own pace (RocksChainStore::Resume).
class ErrorListener : public rocksdb::EventListener {
 public:
  explicit ErrorListener(std::shared_ptr<RocksChainStore::WriteState> state)
      : state_(std::move(state)) {}

  void OnBackgroundError(rocksdb::BackgroundErrorReason /*reason*/,
                         rocksdb::Status* bg_error) override {
    if (bg_error == nullptr || bg_error->ok()) return;
    absl::Status error = FromRocks(*bg_error, "writing the datadir");
    absl::MutexLock lock(&state_->mu);
    // The first error stays, except that a failure worse than a full disk
    // replaces "full" (the node must then stop, not wait for space).
    if (state_->error.ok() || (absl::IsResourceExhausted(state_->error) &&
                               !absl::IsResourceExhausted(error))) {
      state_->error = std::move(error);
    }
  }

  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason /*reason*/,
                            rocksdb::Status /*bg_error*/,
                            bool* auto_recovery) override {
    if (auto_recovery != nullptr) *auto_recovery = false;
  }

 private:
  std::shared_ptr<RocksChainStore::WriteState> state_;
};

// The options of every open of a pbchain database at `db_path`.
//   - WAL recovery: a torn last record (a crash in the middle of a write,
//     never acknowledged) is dropped; damage anywhere before it is
//     Corruption, so DATA_LOSS, instead of RocksDB's default of silently
//     recovering to the point before it (kPointInTimeRecovery).
//   - Closed write-ahead logs are recorded in the MANIFEST and a missing or
//     shortened one is refused at open (the live one is checked by
//     CheckLiveWal).
//   - The informational log is ours (InfoLog).
rocksdb::Options DbOptions(
    const std::string& db_path, bool read_only,
    std::shared_ptr<RocksChainStore::WriteState> write_state = nullptr) {
  rocksdb::Options options;
  options.paranoid_checks = true;
  options.max_open_files = 256;
  options.wal_recovery_mode =
      rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  options.track_and_verify_wals_in_manifest = true;
  options.info_log = std::make_shared<InfoLog>(
      read_only ? std::string() : (fs::path(db_path) / "LOG").string());
  if (write_state != nullptr) {
    options.listeners.push_back(
        std::make_shared<ErrorListener>(std::move(write_state)));
  }
  return options;
}

// An open of `datadir` failed with `s`: damage (Corruption: a write-ahead
// log damaged before its last record, which RocksDB names, a table file,
// the MANIFEST) is DATA_LOSS saying what to do; anything else as FromRocks.
absl::Status OpenFailure(const rocksdb::Status& s, const std::string& datadir,
                         const rocksdb::Options& options) {
  if (s.IsCorruption()) {
    std::string where;
    if (auto* log = dynamic_cast<InfoLog*>(options.info_log.get())) {
      where = log->last_damage();
      if (!where.empty()) where = absl::StrCat(" (", where, ")");
    }
    return absl::DataLossError(absl::StrCat(
        "datadir ", datadir, " is damaged: ", s.ToString(), where,
        "; nothing was repaired or changed: restore the datadir from a "
        "backup (pbtool restore) or resync into a new one"));
  }
  return FromRocks(s, absl::StrCat("opening datadir ", datadir));
}

// The number in a write-ahead log's file name (000123.log), or nullopt.
std::optional<uint64_t> WalNumber(const fs::path& file) {
  if (file.extension() != ".log") return std::nullopt;
  const std::string stem = file.stem().string();
  uint64_t number = 0;
  if (stem.empty() || !std::all_of(stem.begin(), stem.end(), [](char c) {
        return c >= '0' && c <= '9';
      })) {
    return std::nullopt;
  }
  if (!absl::SimpleAtoi(stem, &number)) return std::nullopt;
  return number;
}

template <typename T>
absl::StatusOr<std::optional<T>> DecodeOptional(
    const absl::StatusOr<std::optional<std::string>>& raw,
    absl::StatusOr<T> (*decode)(ByteSpan)) {
  if (!raw.ok()) return raw.status();
  if (!raw->has_value()) return std::nullopt;
  absl::StatusOr<T> value = decode(Span(**raw));
  if (!value.ok()) {
    // Stored bytes that do not decode are damage, not bad input.
    return absl::DataLossError(
        absl::StrCat("corrupt stored value: ", value.status().message()));
  }
  return std::optional<T>(*std::move(value));
}

absl::StatusOr<Hash256> DecodeHash(ByteSpan b) {
  absl::StatusOr<Hash256> h = Hash256::FromBytes(b);
  if (!h.ok()) return absl::DataLossError("corrupt stored hash");
  return h;
}

// The schema version stored in a meta value. INVALID_ARGUMENT if malformed.
absl::StatusOr<uint32_t> DecodeSchema(const std::string& raw) {
  ByteReader r(Span(raw));
  uint32_t version = 0;
  if (!r.U32(version) || !r.AtEnd()) {
    return absl::InvalidArgumentError("corrupt schema version");
  }
  return version;
}

// The schema version of the database at `db_path` with column families
// `cfs`, read without changing any file. DATA_LOSS if it has none.
absl::StatusOr<uint32_t> ReadSchemaReadOnly(
    const std::string& db_path, const std::vector<std::string>& cfs) {
  rocksdb::Options options = DbOptions(db_path, /*read_only=*/true);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : cfs) {
    descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenForReadOnly(options, db_path,
                                                   descriptors, &handles, &raw);
  if (!s.ok()) return FromRocks(s, "reading the schema version");
  std::unique_ptr<rocksdb::DB> db(raw);
  const int meta = static_cast<int>(
      std::find(cfs.begin(), cfs.end(),
                ColumnNames()[static_cast<int>(Column::kMeta)]) -
      cfs.begin());
  std::string value;
  absl::StatusOr<uint32_t> version =
      absl::DataLossError("no schema version: not a pbchain store or damaged");
  if (meta < static_cast<int>(handles.size())) {
    s = db->Get(rocksdb::ReadOptions(), handles[meta], kKeySchema, &value);
    if (s.ok()) {
      version = DecodeSchema(value);
      if (!version.ok())
        version = absl::DataLossError("corrupt schema version");
    } else if (!s.IsNotFound()) {
      version = FromRocks(s, "reading the schema version");
    }
  }
  for (rocksdb::ColumnFamilyHandle* h : handles) {
    db->DestroyColumnFamilyHandle(h);
  }
  db->Close();
  return version;
}

// RocksDB tracks only closed write-ahead logs in its MANIFEST: without the
// live one (the writes acknowledged since the last flush) it would open,
// silently without them. The MANIFEST names the oldest log still needed;
// when no log file from that number on exists, it was deleted: DATA_LOSS.
// Reads only.
absl::Status CheckLiveWal(const std::string& db_path,
                          const std::vector<std::string>& cfs,
                          const std::string& datadir) {
  rocksdb::Options options = DbOptions(db_path, /*read_only=*/true);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : cfs) {
    descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenForReadOnly(options, db_path,
                                                   descriptors, &handles, &raw);
  if (!s.ok()) return OpenFailure(s, datadir, options);
  std::unique_ptr<rocksdb::DB> db(raw);
  uint64_t needed = 0;
  const bool known =
      db->GetIntProperty(rocksdb::DB::Properties::kMinLogNumberToKeep, &needed);
  for (rocksdb::ColumnFamilyHandle* h : handles) {
    db->DestroyColumnFamilyHandle(h);
  }
  db->Close();
  if (!known) return absl::OkStatus();
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(db_path, ec)) {
    std::optional<uint64_t> n = WalNumber(e.path());
    if (n && *n >= needed) return absl::OkStatus();
  }
  if (ec) {
    return absl::InternalError(absl::StrCat(
        "datadir ", datadir, ": cannot list ", db_path, ": ", ec.message()));
  }
  return absl::DataLossError(absl::StrFormat(
      "datadir %s is damaged: its write-ahead log (chain/%06d.log) is "
      "missing, and with it every block written since the last flush; "
      "restore the datadir from a backup (pbtool restore) or resync into a "
      "new one (nothing was changed)",
      datadir, needed));
}

uint64_t DirectorySize(const fs::path& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

}  // namespace

const std::vector<std::string>& ColumnNames() {
  static const std::vector<std::string>* names =
      new std::vector<std::string>{rocksdb::kDefaultColumnFamilyName,
                                   "meta",
                                   "blocks",
                                   "index",
                                   "heights",
                                   "accounts",
                                   "records",
                                   "undo",
                                   "txindex",
                                   "addrindex"};
  return *names;
}

RocksChainStore::RocksChainStore(std::string datadir, RocksStoreOptions options)
    : datadir_(std::move(datadir)), options_(options) {}

RocksChainStore::~RocksChainStore() {
  if (db_) {
    for (rocksdb::ColumnFamilyHandle* h : handles_) {
      if (h != nullptr) db_->DestroyColumnFamilyHandle(h);
    }
    db_->Close();
  }
}

// Creates an empty store atomically: built (all column families and the
// schema version, synced) in DATADIR/chain.new, then renamed to
// DATADIR/chain. A kill at any moment leaves either no chain/ (a leftover
// chain.new/ is discarded on the next try) or a complete one.
static absl::Status CreateFresh(const fs::path& dir) {
  const fs::path staging = dir / "chain.new";
  const fs::path final_path = dir / "chain";
  std::error_code ec;
  fs::remove_all(staging, ec);
  rocksdb::Options options = DbOptions(staging.string(), /*read_only=*/false);
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : ColumnNames()) {
    descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      rocksdb::DB::Open(options, staging.string(), descriptors, &handles, &raw);
  if (!s.ok()) return FromRocks(s, absl::StrCat("creating ", staging.string()));
  std::unique_ptr<rocksdb::DB> db(raw);
  ByteWriter w;
  w.U32(kSchemaVersion);
  rocksdb::WriteOptions wo;
  wo.sync = true;
  s = db->Put(wo, handles[static_cast<int>(Column::kMeta)], kKeySchema,
              AsString(w.bytes()));
  for (rocksdb::ColumnFamilyHandle* h : handles)
    db->DestroyColumnFamilyHandle(h);
  rocksdb::Status closed = db->Close();
  if (!s.ok()) return FromRocks(s, "writing the schema version");
  if (!closed.ok()) return FromRocks(closed, "closing the new store");
  db.reset();
  fs::remove(final_path, ec);  // an empty chain/ left by older versions
  fs::rename(staging, final_path, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("cannot rename ", staging.string(),
                                            " to ", final_path.string(), ": ",
                                            ec.message()));
  }
  // Make the rename durable.
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<RocksChainStore>> RocksChainStore::Open(
    const std::string& datadir, RocksStoreOptions options) {
  const fs::path dir(datadir);
  const fs::path db_path = dir / "chain";
  std::error_code ec;
  if (options.read_only) options.create_if_missing = false;
  if (!fs::exists(dir, ec)) {
    if (!options.create_if_missing) {
      return absl::NotFoundError(absl::StrCat("no datadir at ", datadir));
    }
    fs::create_directories(dir, ec);
    if (ec) {
      return absl::InternalError(
          absl::StrCat("cannot create datadir ", datadir, ": ", ec.message()));
    }
  }
  bool existing = fs::exists(db_path / "CURRENT", ec);
  if (!existing && fs::exists(db_path, ec) && !fs::is_empty(db_path, ec)) {
    return absl::DataLossError(absl::StrCat(
        "datadir ", datadir,
        ": chain/ holds files but no CURRENT file: the database is damaged "
        "(restore it from a backup; nothing was changed)"));
  }
  if (!existing && !options.create_if_missing) {
    return absl::NotFoundError(absl::StrCat("no chain database in ", datadir));
  }
  if (!existing) {
    PBCHAIN_RETURN_IF_ERROR(CreateFresh(dir));
  }

  std::unique_ptr<RocksChainStore> store(new RocksChainStore(datadir, options));
  rocksdb::Options db_options =
      DbOptions(db_path.string(), options.read_only, store->write_state_);
  db_options.create_if_missing = false;
  db_options.create_missing_column_families = false;

  // The column families: exactly pbchain's, or those of schema 1 (all but
  // the ones later schemas added), which Open upgrades below.
  std::vector<std::string> found;
  rocksdb::Status s =
      rocksdb::DB::ListColumnFamilies(db_options, db_path.string(), &found);
  if (!s.ok()) return FromRocks(s, absl::StrCat("opening datadir ", datadir));
  const std::vector<std::string>& names = ColumnNames();
  auto has = [&found](const std::string& name) {
    return std::find(found.begin(), found.end(), name) != found.end();
  };
  const bool all_ours =
      std::all_of(found.begin(), found.end(), [&](const std::string& name) {
        return std::find(names.begin(), names.end(), name) != names.end();
      });
  if (!all_ours) {
    return absl::FailedPreconditionError(
        absl::StrCat("datadir ", datadir, " has column families [",
                     absl::StrJoin(found, ", "), "], not pbchain's [",
                     absl::StrJoin(names, ", "), "]"));
  }
  std::vector<std::string> missing;
  for (const std::string& name : names) {
    if (!has(name)) missing.push_back(name);
  }
  const std::string& addr_index_name =
      names[static_cast<int>(Column::kAddrIndex)];
  const bool schema1_layout =
      missing == std::vector<std::string>{addr_index_name};
  auto damaged = [&] {
    return absl::DataLossError(absl::StrCat(
        "datadir ", datadir, " is damaged: only column families [",
        absl::StrJoin(found, ", "), "] of pbchain's [",
        absl::StrJoin(names, ", "),
        "] are listed (truncated MANIFEST?); restore it from a backup"));
  };
  if (!missing.empty() && !schema1_layout) return damaged();
  if (schema1_layout) {
    // Schema 1, or a damaged newer store: read the version without
    // changing a file before deciding.
    absl::StatusOr<uint32_t> version =
        ReadSchemaReadOnly(db_path.string(), found);
    if (!version.ok()) {
      return absl::Status(
          version.status().code(),
          absl::StrCat("datadir ", datadir, ": ", version.status().message()));
    }
    if (*version != 1) return damaged();
    if (options.read_only) {
      return absl::FailedPreconditionError(absl::StrCat(
          "datadir ", datadir, " has schema version 1 and ", kNeedsUpgrade,
          ", which a read-only open cannot do: open it once read-write "
          "(start the node)"));
    }
  }
  PBCHAIN_RETURN_IF_ERROR(CheckLiveWal(db_path.string(), found, datadir));

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  std::vector<int> columns;  // Column of each descriptor
  for (size_t i = 0; i < names.size(); ++i) {
    if (!has(names[i])) continue;
    descriptors.emplace_back(names[i], rocksdb::ColumnFamilyOptions());
    columns.push_back(static_cast<int>(i));
  }
  std::vector<rocksdb::ColumnFamilyHandle*> opened;
  rocksdb::DB* raw = nullptr;
  s = options.read_only
          ? rocksdb::DB::OpenForReadOnly(db_options, db_path.string(),
                                         descriptors, &opened, &raw)
          : rocksdb::DB::Open(db_options, db_path.string(), descriptors,
                              &opened, &raw);
  if (!s.ok()) return OpenFailure(s, datadir, db_options);
  store->db_.reset(raw);
  store->handles_.assign(static_cast<int>(Column::kCount), nullptr);
  for (size_t i = 0; i < opened.size(); ++i) {
    store->handles_[columns[i]] = opened[i];
  }

  PBCHAIN_ASSIGN_OR_RETURN(std::optional<std::string> schema,
                           store->Get(Column::kMeta, kKeySchema));
  if (!schema.has_value()) {
    return absl::DataLossError(
        absl::StrCat("datadir ", datadir,
                     " has no schema version: not a pbchain store or damaged"));
  }
  absl::StatusOr<uint32_t> version = DecodeSchema(*schema);
  if (!version.ok()) {
    return absl::DataLossError(
        absl::StrCat("datadir ", datadir, ": corrupt schema version"));
  }
  if (*version == 1) {
    if (absl::Status u = store->UpgradeFromSchema1(); !u.ok()) {
      return absl::Status(u.code(),
                          absl::StrCat("datadir ", datadir,
                                       ": upgrading from schema version 1 to ",
                                       kSchemaVersion, ": ", u.message()));
    }
  } else if (*version != kSchemaVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "datadir ", datadir, " has schema version ", *version,
        "; this pbchain reads version ", kSchemaVersion,
        *version > kSchemaVersion ? " (it was written by newer software)"
                                  : ""));
  } else if (schema1_layout) {
    return damaged();  // not reached: the read-only check saw version 1
  }
  return store;
}

void RocksChainStore::Log(const std::string& line) const {
  if (options_.log) {
    options_.log(line);
  } else {
    std::cerr << line << std::endl;
  }
}

absl::Status RocksChainStore::UpgradeFromSchema1() {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point start = Clock::now();
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  const int addr = static_cast<int>(Column::kAddrIndex);
  if (handles_[addr] == nullptr) {
    rocksdb::Status s = db_->CreateColumnFamily(
        rocksdb::ColumnFamilyOptions(), ColumnNames()[addr], &handles_[addr]);
    if (!s.ok()) return FromRocks(s, "creating the address index");
  }
  // Leftovers of an interrupted upgrade: every key is kAddressIndexKeySize
  // bytes, so this range holds them all.
  rocksdb::Status s =
      db_->DeleteRange(wo, cf(Column::kAddrIndex), std::string(),
                       std::string(kAddressIndexKeySize + 1, '\xff'));
  if (!s.ok()) return FromRocks(s, "clearing the address index");

  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf(Column::kHeights)));
  it->SeekToLast();
  if (!it->status().ok()) return FromRocks(it->status(), "reading heights");
  uint64_t total = 0;
  if (it->Valid()) {
    uint32_t top = 0;
    if (!ParseHeightKey(it->key(), top)) {
      return absl::DataLossError("corrupt height key");
    }
    total = uint64_t{top} + 1;
  }
  Log(absl::StrCat("datadir ", datadir_,
                   ": upgrading the store from schema version 1 to 2: "
                   "building the address index of ",
                   total,
                   " main-chain blocks (once; safe to interrupt, the "
                   "next start redoes it)"));
  constexpr uint64_t kBlocksPerBatch = 1000;
  constexpr uint64_t kLogEvery = 20000;
  rocksdb::WriteBatch batch;
  uint64_t blocks = 0, entries = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    uint32_t height = 0;
    if (!ParseHeightKey(it->key(), height) || height != blocks) {
      return absl::DataLossError(absl::StrCat(
          "the height index has a gap or a bad key after height ", blocks));
    }
    PBCHAIN_ASSIGN_OR_RETURN(Hash256 hash, DecodeHash(Span(it->value())));
    PBCHAIN_ASSIGN_OR_RETURN(std::optional<Block> block, GetBlock(hash));
    if (!block.has_value()) {
      return absl::DataLossError(absl::StrCat("body of main-chain block ",
                                              height, " (", hash.ToDisplayHex(),
                                              ") is missing"));
    }
    for (const AddressIndexEntry& e : AddressIndexEntriesOf(*block, height)) {
      batch.Put(cf(Column::kAddrIndex), AddressIndexKey(e.address, e.position),
                HashKey(e.txid));
      ++entries;
    }
    ++blocks;
    if (blocks % kBlocksPerBatch == 0) {
      // Unsynced: the synced version write below makes them all durable
      // (one WAL), and without it the next Open starts over anyway.
      s = db_->Write(rocksdb::WriteOptions(), &batch);
      if (!s.ok()) return FromRocks(s, "writing the address index");
      batch.Clear();
    }
    if (blocks % kLogEvery == 0) {
      Log(absl::StrCat("datadir ", datadir_, ": address index: ", blocks, "/",
                       total, " blocks"));
    }
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading heights");
  ByteWriter w;
  w.U32(kSchemaVersion);
  batch.Put(cf(Column::kMeta), kKeySchema, AsString(w.bytes()));
  s = db_->Write(wo, &batch);
  if (!s.ok()) return FromRocks(s, "writing the schema version");
  const double seconds =
      std::chrono::duration<double>(Clock::now() - start).count();
  Log(absl::StrCat("datadir ", datadir_, ": upgraded to schema version ",
                   kSchemaVersion, ": indexed ", blocks, " blocks, ", entries,
                   " address index entries in ",
                   absl::StrFormat("%.1f", seconds), " s"));
  return absl::OkStatus();
}

absl::Status RocksChainStore::Write(rocksdb::WriteBatch& batch,
                                    const std::string& what) {
  if (options_.read_only) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, ": datadir ", datadir_, " is open read-only"));
  }
  {
    absl::MutexLock lock(&write_state_->mu);
    if (!write_state_->error.ok()) {
      // Stop writing after the first failure: RocksDB's files may be in an
      // error state, and a full disk only fills up further.
      return absl::Status(write_state_->error.code(),
                          absl::StrCat(what,
                                       ": not written, the datadir "
                                       "failed earlier: ",
                                       write_state_->error.message()));
    }
  }
  rocksdb::WriteOptions wo;
  wo.sync = options_.sync;
  absl::Status s = FromRocks(db_->Write(wo, &batch), what);
  if (!s.ok() && !absl::IsDataLoss(s)) {
    absl::MutexLock lock(&write_state_->mu);
    if (write_state_->error.ok()) write_state_->error = s;
  }
  return s;
}

absl::Status RocksChainStore::WriteError() const {
  absl::MutexLock lock(&write_state_->mu);
  return write_state_->error;
}

absl::Status RocksChainStore::Resume() {
  absl::Status error = WriteError();
  if (error.ok()) return absl::OkStatus();
  if (!absl::IsResourceExhausted(error)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "not resumed: the datadir failed with more than a full disk: ",
        error.message()));
  }
  rocksdb::Status s = db_->Resume();
  if (!s.ok()) {
    absl::Status failed = FromRocks(s, "resuming writes");
    // Still full, or busy: try again later. Anything else (the device
    // failed meanwhile) is the store's error from now on.
    if (!s.IsNoSpace() && !s.IsBusy() && !absl::IsResourceExhausted(failed)) {
      absl::MutexLock lock(&write_state_->mu);
      write_state_->error = failed;
    }
    return failed;
  }
  absl::MutexLock lock(&write_state_->mu);
  write_state_->error = absl::OkStatus();
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> RocksChainStore::Get(
    Column c, const std::string& key) {
  std::string value;
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cf(c), key, &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromRocks(s, "reading the store");
  return value;
}

absl::Status RocksChainStore::PutBlock(const BlockIndexEntry& entry,
                                       const Block& block) {
  rocksdb::WriteBatch batch;
  batch.Put(cf(Column::kBlocks), HashKey(entry.hash), AsString(block.Encode()));
  batch.Put(cf(Column::kIndex), HashKey(entry.hash), AsString(entry.Encode()));
  return Write(batch, "storing a block");
}

absl::Status RocksChainStore::PutIndexEntries(
    const std::vector<BlockIndexEntry>& entries) {
  rocksdb::WriteBatch batch;
  for (const BlockIndexEntry& e : entries) {
    batch.Put(cf(Column::kIndex), HashKey(e.hash), AsString(e.Encode()));
  }
  return Write(batch, "updating the block index");
}

absl::Status RocksChainStore::Commit(const StateDelta& d) {
  rocksdb::WriteBatch batch;
  for (const auto& [addr, value] : d.accounts) {
    if (value) {
      batch.Put(cf(Column::kAccounts), AsString(addr.bytes),
                AsString(value->Encode()));
    } else {
      batch.Delete(cf(Column::kAccounts), AsString(addr.bytes));
    }
  }
  for (const auto& [key, value] : d.records) {
    if (value) {
      batch.Put(cf(Column::kRecords), key, AsString(value->Encode()));
    } else {
      batch.Delete(cf(Column::kRecords), key);
    }
  }
  for (const auto& [txid, value] : d.txs) {
    if (value) {
      batch.Put(cf(Column::kTxIndex), HashKey(txid), AsString(value->Encode()));
    } else {
      batch.Delete(cf(Column::kTxIndex), HashKey(txid));
    }
  }
  if (d.put_undo) {
    batch.Put(cf(Column::kUndo), HashKey(d.put_undo->first),
              AsString(d.put_undo->second.Encode()));
  }
  if (d.erase_undo) batch.Delete(cf(Column::kUndo), HashKey(*d.erase_undo));
  for (const BlockIndexEntry& e : d.index_updates) {
    batch.Put(cf(Column::kIndex), HashKey(e.hash), AsString(e.Encode()));
  }
  for (const auto& [height, hash] : d.main_chain) {
    if (hash) {
      batch.Put(cf(Column::kHeights), HeightKey(height), HashKey(*hash));
    } else {
      batch.Delete(cf(Column::kHeights), HeightKey(height));
    }
  }
  for (const AddressIndexEntry& e : d.address_index_erase) {
    batch.Delete(cf(Column::kAddrIndex),
                 AddressIndexKey(e.address, e.position));
  }
  for (const AddressIndexEntry& e : d.address_index_put) {
    batch.Put(cf(Column::kAddrIndex), AddressIndexKey(e.address, e.position),
              HashKey(e.txid));
  }
  batch.Put(cf(Column::kMeta), kKeyTip, HashKey(d.new_tip));
  return Write(batch, "committing a block");
}

absl::StatusOr<std::optional<Block>> RocksChainStore::GetBlock(
    const Hash256& hash) {
  absl::StatusOr<std::optional<Block>> b = DecodeOptional<Block>(
      Get(Column::kBlocks, HashKey(hash)), &Block::Decode);
  if (!b.ok() && b.status().code() == absl::StatusCode::kInvalidArgument) {
    return absl::DataLossError(
        absl::StrCat("stored block ", hash.ToDisplayHex(),
                     " is corrupt: ", b.status().message()));
  }
  return b;
}

absl::Status RocksChainStore::ForEachIndexEntry(
    const std::function<absl::Status(const BlockIndexEntry&)>& fn) {
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf(Column::kIndex)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    PBCHAIN_ASSIGN_OR_RETURN(BlockIndexEntry e,
                             BlockIndexEntry::Decode(Span(it->value())));
    PBCHAIN_RETURN_IF_ERROR(fn(e));
  }
  return FromRocks(it->status(), "reading the block index");
}

absl::StatusOr<std::optional<AccountState>> RocksChainStore::GetAccount(
    const Address& address) {
  return DecodeOptional<AccountState>(
      Get(Column::kAccounts, AsString(address.bytes)), &AccountState::Decode);
}

absl::StatusOr<std::optional<RecordLocation>> RocksChainStore::GetRecord(
    const std::string& key) {
  return DecodeOptional<RecordLocation>(Get(Column::kRecords, key),
                                        &RecordLocation::Decode);
}

absl::StatusOr<std::vector<std::pair<std::string, RecordLocation>>>
RocksChainStore::ScanRecords(const std::string& prefix,
                             const std::string& start_after, size_t limit) {
  std::vector<std::pair<std::string, RecordLocation>> out;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf(Column::kRecords)));
  const bool after = start_after >= prefix;
  it->Seek(after ? start_after : prefix);
  if (after && it->Valid() && it->key() == start_after) it->Next();
  for (; it->Valid() && out.size() < limit; it->Next()) {
    if (!it->key().starts_with(prefix)) break;
    PBCHAIN_ASSIGN_OR_RETURN(RecordLocation loc,
                             RecordLocation::Decode(Span(it->value())));
    out.emplace_back(it->key().ToString(), loc);
  }
  PBCHAIN_RETURN_IF_ERROR(FromRocks(it->status(), "reading records"));
  return out;
}

absl::StatusOr<std::optional<TxLocation>> RocksChainStore::GetTxLocation(
    const Hash256& txid) {
  return DecodeOptional<TxLocation>(Get(Column::kTxIndex, HashKey(txid)),
                                    &TxLocation::Decode);
}

absl::StatusOr<std::optional<BlockUndo>> RocksChainStore::GetUndo(
    const Hash256& hash) {
  return DecodeOptional<BlockUndo>(Get(Column::kUndo, HashKey(hash)),
                                   &BlockUndo::Decode);
}

absl::StatusOr<std::optional<Hash256>> RocksChainStore::GetTip() {
  return DecodeOptional<Hash256>(Get(Column::kMeta, kKeyTip), &DecodeHash);
}

absl::StatusOr<std::optional<Hash256>> RocksChainStore::GetMainChainHash(
    uint32_t height) {
  return DecodeOptional<Hash256>(Get(Column::kHeights, HeightKey(height)),
                                 &DecodeHash);
}

absl::Status RocksChainStore::PutMeta(const std::string& key,
                                      const std::string& value) {
  rocksdb::WriteBatch batch;
  batch.Put(cf(Column::kMeta), MetaKey(key), value);
  return Write(batch, "writing meta");
}

absl::StatusOr<std::optional<std::string>> RocksChainStore::GetMeta(
    const std::string& key) {
  return Get(Column::kMeta, MetaKey(key));
}

absl::Status RocksChainStore::SetHeadMarker(
    const std::optional<Hash256>& target) {
  rocksdb::WriteBatch batch;
  if (target) {
    batch.Put(cf(Column::kMeta), kKeyHeadMarker, HashKey(*target));
  } else {
    batch.Delete(cf(Column::kMeta), kKeyHeadMarker);
  }
  return Write(batch, "writing the head marker");
}

absl::StatusOr<std::optional<Hash256>> RocksChainStore::GetHeadMarker() {
  return DecodeOptional<Hash256>(Get(Column::kMeta, kKeyHeadMarker),
                                 &DecodeHash);
}

absl::Status RocksChainStore::ForEachAccount(
    const std::function<absl::Status(const Address&, const AccountState&)>&
        fn) {
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf(Column::kAccounts)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    absl::StatusOr<Address> addr = Address::FromBytes(Span(it->key()));
    absl::StatusOr<AccountState> state =
        AccountState::Decode(Span(it->value()));
    if (!addr.ok()) return absl::DataLossError("corrupt account key");
    if (!state.ok()) return state.status();
    PBCHAIN_RETURN_IF_ERROR(fn(*addr, *state));
  }
  return FromRocks(it->status(), "reading accounts");
}

absl::StatusOr<std::vector<AddressIndexEntry>>
RocksChainStore::ScanAddressIndex(const Address& address,
                                  const std::optional<TxPosition>& before,
                                  size_t limit) {
  std::vector<AddressIndexEntry> out;
  if (limit == 0) return out;
  const std::string prefix = AsString(address.bytes);
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf(Column::kAddrIndex)));
  if (before) {
    const std::string key = AddressIndexKey(address, *before);
    it->SeekForPrev(key);
    if (it->Valid() && it->key() == key) it->Prev();
  } else {
    it->SeekForPrev(AddressIndexKey(address, {UINT32_MAX, UINT32_MAX}));
  }
  for (; it->Valid() && out.size() < limit; it->Prev()) {
    if (!it->key().starts_with(prefix)) break;
    PBCHAIN_ASSIGN_OR_RETURN(
        AddressIndexEntry e,
        DecodeAddressIndexEntry(Span(it->key()), Span(it->value())));
    out.push_back(e);
  }
  PBCHAIN_RETURN_IF_ERROR(FromRocks(it->status(), "reading the address index"));
  return out;
}

absl::Status RocksChainStore::ForEachAddressIndexEntry(
    const std::function<absl::Status(const AddressIndexEntry&)>& fn) {
  std::unique_ptr<rocksdb::Iterator> it(
      db_->NewIterator(rocksdb::ReadOptions(), cf(Column::kAddrIndex)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    PBCHAIN_ASSIGN_OR_RETURN(
        AddressIndexEntry e,
        DecodeAddressIndexEntry(Span(it->key()), Span(it->value())));
    PBCHAIN_RETURN_IF_ERROR(fn(e));
  }
  return FromRocks(it->status(), "reading the address index");
}

absl::StatusOr<StoreStats> RocksChainStore::Stats() {
  StoreStats stats;
  auto count = [&](Column c, uint64_t& out) -> absl::Status {
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), cf(c)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++out;
    return FromRocks(it->status(), "counting");
  };
  for (auto [c, out] :
       {std::pair{Column::kBlocks, &stats.blocks},
        std::pair{Column::kIndex, &stats.index_entries},
        std::pair{Column::kAccounts, &stats.accounts},
        std::pair{Column::kRecords, &stats.records},
        std::pair{Column::kTxIndex, &stats.transactions},
        std::pair{Column::kAddrIndex, &stats.address_index_entries}}) {
    PBCHAIN_RETURN_IF_ERROR(count(c, *out));
  }
  stats.bytes_on_disk = DirectorySize(datadir_);
  return stats;
}

uint64_t RocksChainStore::LiveSizeBytes() const {
  uint64_t total = 0;
  for (const char* property :
       {"rocksdb.total-sst-files-size", "rocksdb.cur-size-all-mem-tables"}) {
    uint64_t value = 0;
    if (db_->GetAggregatedIntProperty(property, &value)) total += value;
  }
  return total;
}

absl::StatusOr<uint32_t> RocksChainStore::Backup(const std::string& backup_dir,
                                                 int keep) {
  if (keep < 1) return absl::InvalidArgumentError("keep at least one backup");
  rocksdb::BackupEngine* raw = nullptr;
  rocksdb::IOStatus s = rocksdb::BackupEngine::Open(
      rocksdb::BackupEngineOptions(backup_dir), rocksdb::Env::Default(), &raw);
  if (!s.ok())
    return FromRocks(s, absl::StrCat("opening backups in ", backup_dir));
  std::unique_ptr<rocksdb::BackupEngine> engine(raw);
  rocksdb::CreateBackupOptions create;
  create.flush_before_backup = true;
  rocksdb::BackupID id = 0;
  s = engine->CreateNewBackup(create, db_.get(), &id);
  if (!s.ok()) return FromRocks(s, "creating a backup");
  s = engine->PurgeOldBackups(static_cast<uint32_t>(keep));
  if (!s.ok()) return FromRocks(s, "deleting old backups");
  return id;
}

// Opens the backups in `backup_dir` for reading. NOT_FOUND if there are none.
static absl::StatusOr<std::unique_ptr<rocksdb::BackupEngineReadOnly>>
OpenBackupsReadOnly(const std::string& backup_dir) {
  std::error_code ec;
  if (!fs::exists(fs::path(backup_dir) / "meta", ec)) {
    return absl::NotFoundError(absl::StrCat("no backups in ", backup_dir));
  }
  rocksdb::BackupEngineReadOnly* raw = nullptr;
  rocksdb::IOStatus s = rocksdb::BackupEngineReadOnly::Open(
      rocksdb::BackupEngineOptions(backup_dir), rocksdb::Env::Default(), &raw);
  if (!s.ok()) {
    return FromRocks(s, absl::StrCat("opening backups in ", backup_dir));
  }
  return std::unique_ptr<rocksdb::BackupEngineReadOnly>(raw);
}

absl::Status RestoreBackup(const std::string& backup_dir,
                           const std::string& datadir) {
  std::error_code ec;
  if (fs::exists(datadir, ec) || ec) {
    return absl::FailedPreconditionError(
        absl::StrCat(datadir, " exists: restore only into a new datadir"));
  }
  PBCHAIN_ASSIGN_OR_RETURN(
      std::unique_ptr<rocksdb::BackupEngineReadOnly> engine,
      OpenBackupsReadOnly(backup_dir));
  const std::string db_path = (fs::path(datadir) / "chain").string();
  fs::create_directories(db_path, ec);
  if (ec) {
    return absl::InternalError(
        absl::StrCat("cannot create ", db_path, ": ", ec.message()));
  }
  rocksdb::IOStatus s = engine->RestoreDBFromLatestBackup(db_path, db_path);
  if (!s.ok()) {
    fs::remove_all(datadir, ec);
    return FromRocks(s, "restoring the backup");
  }
  // A backup holds no write-ahead log (it was flushed first). Open the
  // restored database once, which starts one, so that Open's check for a
  // missing log (CheckLiveWal) sees a complete datadir.
  std::vector<std::string> cfs;
  rocksdb::Options options = DbOptions(db_path, /*read_only=*/false);
  rocksdb::Status st = rocksdb::DB::ListColumnFamilies(options, db_path, &cfs);
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : cfs) {
    descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  if (st.ok()) {
    st = rocksdb::DB::Open(options, db_path, descriptors, &handles, &raw);
  }
  if (!st.ok()) {
    fs::remove_all(datadir, ec);
    return FromRocks(st, "opening the restored datadir");
  }
  std::unique_ptr<rocksdb::DB> db(raw);
  for (rocksdb::ColumnFamilyHandle* h : handles)
    db->DestroyColumnFamilyHandle(h);
  st = db->Close();
  if (!st.ok()) return FromRocks(st, "closing the restored datadir");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<BackupInfo>> ListBackups(
    const std::string& backup_dir) {
  PBCHAIN_ASSIGN_OR_RETURN(
      std::unique_ptr<rocksdb::BackupEngineReadOnly> engine,
      OpenBackupsReadOnly(backup_dir));
  std::vector<rocksdb::BackupInfo> infos;
  engine->GetBackupInfo(&infos);
  std::vector<BackupInfo> out;
  for (const rocksdb::BackupInfo& i : infos) {
    out.push_back({i.backup_id, i.timestamp, i.size});
  }
  return out;
}

}  // namespace pbchain
