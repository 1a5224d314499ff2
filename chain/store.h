// The ports through which the chain state reads and writes persistent data.
// chain/ defines them; storage/ implements them with RocksDB and
// chain/memory_store.h with plain maps (tests, tools). Every mutation of the
// active chain goes through ChainStore::Commit as one atomic unit.
#ifndef PBCHAIN_CHAIN_STORE_H_
#define PBCHAIN_CHAIN_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "chain/address.h"
#include "chain/block.h"
#include "chain/bytes.h"
#include "chain/transaction.h"
#include "chain/uint256.h"

namespace pbchain {

// Meta key under which ChainState keeps the genesis parameters (JSON), so
// that tools can open a datadir without the genesis file.
inline constexpr char kMetaGenesisParams[] = "genesis_params";

// Status bits of a block index entry.
enum BlockStatus : uint32_t {
  kBlockHaveData = 1,  // the body is stored
  kBlockFailed =
      2,  // the block broke a rule when connected (or descends from one)
};

// What the node knows of one block, kept in memory for every block and
// persisted so that a restart does not re-read bodies.
struct BlockIndexEntry {
  Hash256 hash;
  BlockHeader header;
  uint32_t height = 0;
  UInt256 chain_work;     // sum of the work of this block and its ancestors
  uint32_t status = 0;    // BlockStatus bits
  uint64_t sequence = 0;  // order of arrival; the lower wins ties of work
  uint32_t tx_count = 0;

  // Fixed-width encoding for stores: hash 32 | header 80 | height u32 |
  // chain_work 32 (little-endian) | status u32 | sequence u64 | tx_count u32.
  Bytes Encode() const;
  static absl::StatusOr<BlockIndexEntry> Decode(ByteSpan data);
  friend bool operator==(const BlockIndexEntry&,
                         const BlockIndexEntry&) = default;
};

struct AccountState {
  uint64_t balance = 0;
  uint64_t nonce = 0;    // number of transfers sent = the next expected nonce
  Bytes Encode() const;  // balance u64 | nonce u64
  static absl::StatusOr<AccountState> Decode(ByteSpan data);
  friend bool operator==(const AccountState&, const AccountState&) = default;
};

// Where a data record was written.
struct RecordLocation {
  Hash256 txid;
  Hash256 block_hash;
  uint32_t height = 0;
  Bytes Encode() const;  // txid 32 | block_hash 32 | height u32
  static absl::StatusOr<RecordLocation> Decode(ByteSpan data);
  friend bool operator==(const RecordLocation&,
                         const RecordLocation&) = default;
};

// The record index key: namespace, 0x00, then 'k' + key for a keyed record
// or 't' + txid (32 bytes) for a record without a key. Sorting by it groups
// a namespace together.
std::string RecordIndexKey(const std::string& ns,
                           const std::optional<std::string>& key,
                           const Hash256& txid);
// The prefix shared by all index keys of a namespace.
std::string RecordNamespacePrefix(const std::string& ns);

// Where a transaction of the active chain is: its block, that block's
// height, and its position in the block (0 = the coinbase).
struct TxLocation {
  Hash256 block_hash;
  uint32_t height = 0;
  uint32_t index = 0;
  Bytes Encode() const;  // block_hash 32 | height u32 | index u32
  // DATA_LOSS if `data` is not exactly such an encoding.
  static absl::StatusOr<TxLocation> Decode(ByteSpan data);
  friend bool operator==(const TxLocation&, const TxLocation&) = default;
};

// A position on the main chain: transaction `index` (0 = the coinbase) of
// the block at `height`. Orders by height, then index.
struct TxPosition {
  uint32_t height = 0;
  uint32_t index = 0;
  friend bool operator==(const TxPosition&, const TxPosition&) = default;
  friend auto operator<=>(const TxPosition&, const TxPosition&) = default;
};

// One entry of the address index: the main-chain transaction `txid` at
// `position` touches `address` (it is the recipient, or the sender of a
// transfer).
struct AddressIndexEntry {
  Address address;
  TxPosition position;
  Hash256 txid;
  friend bool operator==(const AddressIndexEntry&,
                         const AddressIndexEntry&) = default;
};

// Size of an address index key: address 20 | height u32 BE | index u32 BE.
inline constexpr size_t kAddressIndexKeySize = 28;
// The address index key of (address, position); big-endian numbers, so that
// byte order is (address, height, index) order.
std::string AddressIndexKey(const Address& address, const TxPosition& position);
// Parses an AddressIndexKey and a 32-byte txid value. DATA_LOSS if either
// has the wrong size.
absl::StatusOr<AddressIndexEntry> DecodeAddressIndexEntry(ByteSpan key,
                                                          ByteSpan value);

// The addresses transaction `tx` touches, each once: the recipient, and the
// sender of a transfer (a transfer to oneself gives one address).
std::vector<Address> TouchedAddresses(const Transaction& tx);
// The address index entries of `block` at main-chain height `height`, in
// transaction order. `txids`, if not empty, are the block's txids (saves
// hashing them again).
std::vector<AddressIndexEntry> AddressIndexEntriesOf(
    const Block& block, uint32_t height, std::span<const Hash256> txids = {});

// What connecting a block changed, so that disconnecting can undo it.
struct BlockUndo {
  // Each touched account with its value before the block (nullopt: it did not
  // exist).
  std::vector<std::pair<Address, std::optional<AccountState>>> prev_accounts;
  // Record index keys the block created.
  std::vector<std::string> created_records;
  Bytes Encode() const;
  static absl::StatusOr<BlockUndo> Decode(ByteSpan data);
  friend bool operator==(const BlockUndo&, const BlockUndo&) = default;
};

// One atomic change of the active chain (a connect or a disconnect).
struct StateDelta {
  std::vector<std::pair<Address, std::optional<AccountState>>>
      accounts;  // nullopt = erase
  std::vector<std::pair<std::string, std::optional<RecordLocation>>>
      records;  // nullopt = erase
  // Transaction index: txid -> where it is on the active chain; every tx of
  // a connected block is set, every tx of a disconnected block erased.
  std::vector<std::pair<Hash256, std::optional<TxLocation>>>
      txs;  // nullopt = erase
  std::optional<std::pair<Hash256, BlockUndo>> put_undo;
  std::optional<Hash256> erase_undo;
  std::vector<BlockIndexEntry> index_updates;
  // Main-chain height index: set (hash) or erase (nullopt) the entry at height.
  std::vector<std::pair<uint32_t, std::optional<Hash256>>> main_chain;
  // Address index: entries to set (connect) and keys to erase (disconnect;
  // only address and position are used).
  std::vector<AddressIndexEntry> address_index_put;
  std::vector<AddressIndexEntry> address_index_erase;
  Hash256 new_tip;
};

class ChainStore {
 public:
  virtual ~ChainStore() = default;

  // Stores a block body and its index entry (not yet on the active chain).
  // Durable when it returns OK.
  virtual absl::Status PutBlock(const BlockIndexEntry& entry,
                                const Block& block) = 0;
  // Writes index entries alone (status changes). Durable when OK.
  virtual absl::Status PutIndexEntries(
      const std::vector<BlockIndexEntry>& entries) = 0;
  // Applies `delta` atomically (all or nothing) and durably.
  virtual absl::Status Commit(const StateDelta& delta) = 0;

  // Readers. Missing data is nullopt, never an error; errors are I/O or
  // corruption (INTERNAL / DATA_LOSS).
  virtual absl::StatusOr<std::optional<Block>> GetBlock(
      const Hash256& hash) = 0;
  virtual absl::Status ForEachIndexEntry(
      const std::function<absl::Status(const BlockIndexEntry&)>& fn) = 0;
  virtual absl::StatusOr<std::optional<AccountState>> GetAccount(
      const Address& address) = 0;
  virtual absl::StatusOr<std::optional<RecordLocation>> GetRecord(
      const std::string& key) = 0;
  // Index keys and locations of records whose key starts with `prefix`,
  // in key order, at most `limit`, starting after `start_after` (exclusive).
  virtual absl::StatusOr<std::vector<std::pair<std::string, RecordLocation>>>
  ScanRecords(const std::string& prefix, const std::string& start_after,
              size_t limit) = 0;
  // Where transaction `txid` is on the active chain (nullopt: not on it).
  virtual absl::StatusOr<std::optional<TxLocation>> GetTxLocation(
      const Hash256& txid) = 0;
  virtual absl::StatusOr<std::optional<BlockUndo>> GetUndo(
      const Hash256& hash) = 0;
  virtual absl::StatusOr<std::optional<Hash256>> GetTip() = 0;
  virtual absl::StatusOr<std::optional<Hash256>> GetMainChainHash(
      uint32_t height) = 0;
  // Small named values (the genesis parameters, ...). Durable when OK.
  virtual absl::Status PutMeta(const std::string& key,
                               const std::string& value) = 0;
  virtual absl::StatusOr<std::optional<std::string>> GetMeta(
      const std::string& key) = 0;
  // The head marker: the block a multi-step reorg is moving to. Written
  // (durably) before the first step and cleared after the last, so that a
  // node killed in between knows on restart where it was going.
  virtual absl::Status SetHeadMarker(const std::optional<Hash256>& target) = 0;
  virtual absl::StatusOr<std::optional<Hash256>> GetHeadMarker() = 0;
  // Every account, in address order (for verification and tests).
  virtual absl::Status ForEachAccount(
      const std::function<absl::Status(const Address&, const AccountState&)>&
          fn) = 0;
  // Address index entries of `address`, newest first (position descending),
  // strictly before `before` when given, at most `limit`.
  virtual absl::StatusOr<std::vector<AddressIndexEntry>> ScanAddressIndex(
      const Address& address, const std::optional<TxPosition>& before,
      size_t limit) = 0;
  // Every address index entry, in key order (address, then position); for
  // verification and tests.
  virtual absl::Status ForEachAddressIndexEntry(
      const std::function<absl::Status(const AddressIndexEntry&)>& fn) = 0;
};

}  // namespace pbchain

#endif  // PBCHAIN_CHAIN_STORE_H_
