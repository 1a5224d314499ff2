#include "chain/memory_store.h"

#include "common/status_macros.h"

namespace pbchain {

absl::Status MemoryChainStore::PutBlock(const BlockIndexEntry& entry,
                                        const Block& block) {
  absl::MutexLock lock(&mu_);
  blocks_[entry.hash] = block;
  index_[entry.hash] = entry;
  return absl::OkStatus();
}

absl::Status MemoryChainStore::PutIndexEntries(
    const std::vector<BlockIndexEntry>& entries) {
  absl::MutexLock lock(&mu_);
  for (const BlockIndexEntry& e : entries) index_[e.hash] = e;
  return absl::OkStatus();
}

absl::Status MemoryChainStore::Commit(const StateDelta& d) {
  absl::MutexLock lock(&mu_);
  for (const auto& [addr, value] : d.accounts) {
    if (value) {
      accounts_[addr] = *value;
    } else {
      accounts_.erase(addr);
    }
  }
  for (const auto& [key, value] : d.records) {
    if (value) {
      records_[key] = *value;
    } else {
      records_.erase(key);
    }
  }
  for (const auto& [txid, value] : d.txs) {
    if (value) {
      txs_[txid] = *value;
    } else {
      txs_.erase(txid);
    }
  }
  if (d.put_undo) undo_[d.put_undo->first] = d.put_undo->second;
  if (d.erase_undo) undo_.erase(*d.erase_undo);
  for (const BlockIndexEntry& e : d.index_updates) index_[e.hash] = e;
  for (const auto& [height, hash] : d.main_chain) {
    if (hash) {
      main_chain_[height] = *hash;
    } else {
      main_chain_.erase(height);
    }
  }
  for (const AddressIndexEntry& e : d.address_index_erase) {
    address_index_.erase(AddressIndexKey(e.address, e.position));
  }
  for (const AddressIndexEntry& e : d.address_index_put) {
    address_index_[AddressIndexKey(e.address, e.position)] = e.txid;
  }
  tip_ = d.new_tip;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<Block>> MemoryChainStore::GetBlock(
    const Hash256& hash) {
  absl::MutexLock lock(&mu_);
  auto it = blocks_.find(hash);
  if (it == blocks_.end()) return std::nullopt;
  return it->second;
}

absl::Status MemoryChainStore::ForEachIndexEntry(
    const std::function<absl::Status(const BlockIndexEntry&)>& fn) {
  std::vector<BlockIndexEntry> copy;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [hash, e] : index_) copy.push_back(e);
  }
  for (const BlockIndexEntry& e : copy) {
    PBCHAIN_RETURN_IF_ERROR(fn(e));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<AccountState>> MemoryChainStore::GetAccount(
    const Address& a) {
  absl::MutexLock lock(&mu_);
  auto it = accounts_.find(a);
  if (it == accounts_.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<std::optional<RecordLocation>> MemoryChainStore::GetRecord(
    const std::string& key) {
  absl::MutexLock lock(&mu_);
  auto it = records_.find(key);
  if (it == records_.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<std::vector<std::pair<std::string, RecordLocation>>>
MemoryChainStore::ScanRecords(const std::string& prefix,
                              const std::string& start_after, size_t limit) {
  absl::MutexLock lock(&mu_);
  std::vector<std::pair<std::string, RecordLocation>> out;
  auto it = records_.lower_bound(prefix);
  if (start_after >= prefix) it = records_.upper_bound(start_after);
  for (; it != records_.end() && out.size() < limit; ++it) {
    if (it->first.compare(0, prefix.size(), prefix) != 0) break;
    out.emplace_back(it->first, it->second);
  }
  return out;
}

absl::StatusOr<std::optional<TxLocation>> MemoryChainStore::GetTxLocation(
    const Hash256& txid) {
  absl::MutexLock lock(&mu_);
  auto it = txs_.find(txid);
  if (it == txs_.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<std::optional<BlockUndo>> MemoryChainStore::GetUndo(
    const Hash256& hash) {
  absl::MutexLock lock(&mu_);
  auto it = undo_.find(hash);
  if (it == undo_.end()) return std::nullopt;
  return it->second;
}

absl::StatusOr<std::optional<Hash256>> MemoryChainStore::GetTip() {
  absl::MutexLock lock(&mu_);
  return tip_;
}

absl::StatusOr<std::optional<Hash256>> MemoryChainStore::GetMainChainHash(
    uint32_t height) {
  absl::MutexLock lock(&mu_);
  auto it = main_chain_.find(height);
  if (it == main_chain_.end()) return std::nullopt;
  return it->second;
}

absl::Status MemoryChainStore::ForEachAccount(
    const std::function<absl::Status(const Address&, const AccountState&)>&
        fn) {
  std::map<Address, AccountState> copy;
  {
    absl::MutexLock lock(&mu_);
    copy = accounts_;
  }
  for (const auto& [a, s] : copy) {
    PBCHAIN_RETURN_IF_ERROR(fn(a, s));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<AddressIndexEntry>>
MemoryChainStore::ScanAddressIndex(const Address& address,
                                   const std::optional<TxPosition>& before,
                                   size_t limit) {
  absl::MutexLock lock(&mu_);
  const std::string prefix(address.bytes.begin(), address.bytes.end());
  // The first key past the range; walk backwards from just before it.
  auto end = before
                 ? address_index_.lower_bound(AddressIndexKey(address, *before))
                 : address_index_.upper_bound(
                       AddressIndexKey(address, {UINT32_MAX, UINT32_MAX}));
  std::vector<AddressIndexEntry> out;
  for (auto it = end; it != address_index_.begin() && out.size() < limit;) {
    --it;
    if (!it->first.starts_with(prefix)) break;
    PBCHAIN_ASSIGN_OR_RETURN(
        AddressIndexEntry e,
        DecodeAddressIndexEntry(AsBytes(it->first), it->second.bytes));
    out.push_back(e);
  }
  return out;
}

absl::Status MemoryChainStore::ForEachAddressIndexEntry(
    const std::function<absl::Status(const AddressIndexEntry&)>& fn) {
  std::map<std::string, Hash256> copy;
  {
    absl::MutexLock lock(&mu_);
    copy = address_index_;
  }
  for (const auto& [key, txid] : copy) {
    PBCHAIN_ASSIGN_OR_RETURN(AddressIndexEntry e,
                             DecodeAddressIndexEntry(AsBytes(key), txid.bytes));
    PBCHAIN_RETURN_IF_ERROR(fn(e));
  }
  return absl::OkStatus();
}

absl::Status MemoryChainStore::PutMeta(const std::string& key,
                                       const std::string& value) {
  absl::MutexLock lock(&mu_);
  meta_[key] = value;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<std::string>> MemoryChainStore::GetMeta(
    const std::string& key) {
  absl::MutexLock lock(&mu_);
  auto it = meta_.find(key);
  if (it == meta_.end()) return std::nullopt;
  return it->second;
}

absl::Status MemoryChainStore::SetHeadMarker(
    const std::optional<Hash256>& target) {
  absl::MutexLock lock(&mu_);
  head_marker_ = target;
  return absl::OkStatus();
}

absl::StatusOr<std::optional<Hash256>> MemoryChainStore::GetHeadMarker() {
  absl::MutexLock lock(&mu_);
  return head_marker_;
}

}  // namespace pbchain
