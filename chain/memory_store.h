// ChainStore on plain maps: for tests, tools and simulations. Same semantics
// as the RocksDB store, without durability.
#ifndef PBCHAIN_CHAIN_MEMORY_STORE_H_
#define PBCHAIN_CHAIN_MEMORY_STORE_H_

#include <map>

#include "absl/synchronization/mutex.h"
#include "chain/store.h"

namespace pbchain {

class MemoryChainStore : public ChainStore {
 public:
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

 private:
  absl::Mutex mu_;
  std::map<Hash256, Block> blocks_ ABSL_GUARDED_BY(mu_);
  std::map<Hash256, BlockIndexEntry> index_ ABSL_GUARDED_BY(mu_);
  std::map<Address, AccountState> accounts_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, RecordLocation> records_ ABSL_GUARDED_BY(mu_);
  std::map<Hash256, TxLocation> txs_ ABSL_GUARDED_BY(mu_);
  std::map<Hash256, BlockUndo> undo_ ABSL_GUARDED_BY(mu_);
  std::map<uint32_t, Hash256> main_chain_ ABSL_GUARDED_BY(mu_);
  std::optional<Hash256> tip_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> meta_ ABSL_GUARDED_BY(mu_);
  std::optional<Hash256> head_marker_ ABSL_GUARDED_BY(mu_);
  // AddressIndexKey -> txid.
  std::map<std::string, Hash256> address_index_ ABSL_GUARDED_BY(mu_);
};

}  // namespace pbchain

#endif  // PBCHAIN_CHAIN_MEMORY_STORE_H_
