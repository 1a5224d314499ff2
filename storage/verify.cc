#include "storage/verify.h"

#include <map>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "chain/chain_state.h"
#include "chain/memory_store.h"
#include "common/status_macros.h"
#include "storage/rocksdb_store.h"

namespace pbchain {
namespace {

constexpr size_t kMaxMismatchesListed = 20;

void Mismatch(VerifyReport& r, std::string what) {
  if (r.mismatches.size() < kMaxMismatchesListed) {
    r.mismatches.push_back(std::move(what));
  } else if (r.mismatches.size() == kMaxMismatchesListed) {
    r.mismatches.push_back("(more mismatches not listed)");
  }
}

// The whole address index of `s`, by key.
absl::StatusOr<std::map<std::string, AddressIndexEntry>> AllAddressIndex(
    ChainStore& s) {
  std::map<std::string, AddressIndexEntry> out;
  absl::Status st = s.ForEachAddressIndexEntry([&](const AddressIndexEntry& e) {
    out.emplace(AddressIndexKey(e.address, e.position), e);
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return out;
}

std::string Describe(const AddressIndexEntry& e) {
  return absl::StrCat("address index entry ", e.address.ToText(), " at height ",
                      e.position.height, ", index ", e.position.index);
}

absl::StatusOr<std::map<Address, AccountState>> AllAccounts(ChainStore& s) {
  std::map<Address, AccountState> out;
  absl::Status st =
      s.ForEachAccount([&](const Address& a, const AccountState& v) {
        out[a] = v;
        return absl::OkStatus();
      });
  if (!st.ok()) return st;
  return out;
}

// Checks that the store indexes every transaction of `block` (active, at
// `height`) at its position. Returns only store errors.
absl::Status CheckTxIndex(ChainStore& store, const Block& block,
                          const Hash256& hash, uint32_t height,
                          VerifyReport& report) {
  for (size_t i = 0; i < block.txs.size(); ++i) {
    const Hash256 txid = block.txs[i].Id();
    PBCHAIN_ASSIGN_OR_RETURN(std::optional<TxLocation> loc,
                             store.GetTxLocation(txid));
    const TxLocation want{hash, height, static_cast<uint32_t>(i)};
    if (!loc.has_value()) {
      Mismatch(report, absl::StrCat("transaction ", txid.ToDisplayHex(),
                                    " (block ", height, ", index ", i,
                                    ") is missing from the transaction index"));
    } else if (*loc != want) {
      Mismatch(report,
               absl::StrCat("transaction ", txid.ToDisplayHex(), " (block ",
                            height, ", index ", i, ") is indexed at height ",
                            loc->height, ", index ", loc->index, " of block ",
                            loc->block_hash.ToDisplayHex()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ChainParams> LoadStoredParams(ChainStore& store) {
  PBCHAIN_ASSIGN_OR_RETURN(std::optional<std::string> raw,
                           store.GetMeta(kMetaGenesisParams));
  if (!raw.has_value()) {
    return absl::DataLossError("the store has no genesis parameters");
  }
  absl::StatusOr<ChainParams> params = ParseGenesis(*raw);
  if (!params.ok()) {
    return absl::DataLossError(
        absl::StrCat("stored genesis parameters are unreadable: ",
                     params.status().message()));
  }
  return params;
}

absl::StatusOr<VerifyReport> VerifyStore(
    ChainStore& store,
    const std::function<void(uint64_t, uint64_t)>& progress) {
  VerifyReport report;
  PBCHAIN_ASSIGN_OR_RETURN(ChainParams params, LoadStoredParams(store));
  PBCHAIN_ASSIGN_OR_RETURN(std::optional<Hash256> tip, store.GetTip());
  if (!tip.has_value()) return absl::DataLossError("the store has no tip");
  report.tip = *tip;

  // The stored index, and the active chain it implies (tip back to genesis).
  absl::flat_hash_map<Hash256, BlockIndexEntry> index;
  absl::Status s = store.ForEachIndexEntry([&](const BlockIndexEntry& e) {
    index[e.hash] = e;
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  report.index_entries = index.size();
  auto tip_entry = index.find(report.tip);
  if (tip_entry == index.end()) {
    Mismatch(report, "the tip is not in the block index");
    return report;
  }
  report.height = tip_entry->second.height;
  std::vector<Hash256> chain(report.height + 1);
  Hash256 at = report.tip;
  for (int64_t h = report.height; h >= 0; --h) {
    auto it = index.find(at);
    if (it == index.end() || it->second.height != h) {
      Mismatch(report, absl::StrCat("the block index breaks at height ", h));
      return report;
    }
    chain[h] = at;
    at = it->second.header.prev_hash;
  }
  const Hash256 genesis = MakeGenesisBlock(params).Hash();
  if (chain[0] != genesis) {
    Mismatch(report,
             "the active chain does not start at this network's genesis");
    return report;
  }
  for (uint32_t h = 0; h <= report.height; ++h) {
    PBCHAIN_ASSIGN_OR_RETURN(std::optional<Hash256> stored,
                             store.GetMainChainHash(h));
    if (stored != chain[h]) {
      Mismatch(report, absl::StrCat("height index at ", h,
                                    " disagrees with the tip's ancestry"));
    }
  }
  PBCHAIN_ASSIGN_OR_RETURN(std::optional<Hash256> beyond,
                           store.GetMainChainHash(report.height + 1));
  if (beyond.has_value())
    Mismatch(report, "height index has entries above the tip");

  // Replay the active chain into a fresh in-memory store. The clock is set
  // far ahead: these blocks were accepted already, and the replay checks
  // consistency, not the node's clock at the time.
  MemoryChainStore replay_store;
  ChainStateOptions options;
  options.clock = [] { return int64_t{1} << 40; };
  PBCHAIN_ASSIGN_OR_RETURN(std::unique_ptr<ChainState> replay,
                           ChainState::Create(params, &replay_store, options));
  if (progress) progress(0, report.height);
  const Block genesis_block = MakeGenesisBlock(params);
  if (s = CheckTxIndex(store, genesis_block, genesis, 0, report); !s.ok())
    return s;
  for (uint32_t h = 1; h <= report.height; ++h) {
    PBCHAIN_ASSIGN_OR_RETURN(std::optional<Block> block,
                             store.GetBlock(chain[h]));
    if (!block.has_value()) {
      Mismatch(report, absl::StrCat("body of block ", h, " (",
                                    chain[h].ToDisplayHex(), ") is missing"));
      return report;
    }
    if (block->Hash() != chain[h]) {
      Mismatch(report, absl::StrCat("stored body at height ", h,
                                    " hashes differently"));
      return report;
    }
    PBCHAIN_ASSIGN_OR_RETURN(AcceptResult r, replay->AcceptBlock(*block));
    if (r.status != AcceptStatus::kActive) {
      Mismatch(report,
               absl::StrCat("block ", h, " does not connect on replay: ",
                            r.validation.ToString()));
      return report;
    }
    report.blocks_replayed++;
    report.transactions += block->txs.size();
    if (s = CheckTxIndex(store, *block, chain[h], h, report); !s.ok()) return s;
    std::optional<BlockIndexEntry> expected = replay->GetIndexEntry(chain[h]);
    const BlockIndexEntry& stored = index[chain[h]];
    if (!expected || expected->chain_work != stored.chain_work ||
        expected->tx_count != stored.tx_count ||
        !(stored.status & kBlockHaveData) || (stored.status & kBlockFailed)) {
      Mismatch(report, absl::StrCat("index entry of block ", h,
                                    " disagrees with the replay"));
    }
    absl::StatusOr<std::optional<BlockUndo>> undo = store.GetUndo(chain[h]);
    absl::StatusOr<std::optional<BlockUndo>> replay_undo =
        replay_store.GetUndo(chain[h]);
    if (!undo.ok()) return undo.status();
    if (*undo != *replay_undo) {
      Mismatch(report, absl::StrCat("undo data of block ", h,
                                    " disagrees with the replay"));
    }
    if (progress && (h % 1000 == 0 || h == report.height))
      progress(h, report.height);
  }

  // State at the tip.
  absl::StatusOr<std::map<Address, AccountState>> want =
      AllAccounts(replay_store);
  absl::StatusOr<std::map<Address, AccountState>> have = AllAccounts(store);
  if (!want.ok()) return want.status();
  if (!have.ok()) return have.status();
  report.accounts = have->size();
  for (const auto& [addr, state] : *want) {
    auto it = have->find(addr);
    if (it == have->end()) {
      Mismatch(report, absl::StrCat("account ", addr.ToText(), " is missing"));
    } else if (it->second != state) {
      Mismatch(report,
               absl::StrCat("account ", addr.ToText(), ": stored balance ",
                            it->second.balance, " nonce ", it->second.nonce,
                            ", replay gives balance ", state.balance, " nonce ",
                            state.nonce));
    }
  }
  for (const auto& [addr, state] : *have) {
    if (!want->contains(addr)) {
      Mismatch(report,
               absl::StrCat("account ", addr.ToText(), " should not exist"));
    }
  }
  constexpr size_t kAll = ~size_t{0};
  auto want_records = replay_store.ScanRecords("", "", kAll);
  auto have_records = store.ScanRecords("", "", kAll);
  if (!want_records.ok()) return want_records.status();
  if (!have_records.ok()) return have_records.status();
  report.records = have_records->size();
  if (*want_records != *have_records) {
    Mismatch(report,
             absl::StrCat("data records differ: stored ", have_records->size(),
                          ", replay gives ", want_records->size()));
  }

  // The address index: exactly the replay's (every touched address of every
  // active transaction, nothing of side branches).
  absl::StatusOr<std::map<std::string, AddressIndexEntry>> want_addr =
      AllAddressIndex(replay_store);
  absl::StatusOr<std::map<std::string, AddressIndexEntry>> have_addr =
      AllAddressIndex(store);
  if (!want_addr.ok()) return want_addr.status();
  if (!have_addr.ok()) return have_addr.status();
  report.address_index_entries = have_addr->size();
  for (const auto& [key, e] : *want_addr) {
    auto it = have_addr->find(key);
    if (it == have_addr->end()) {
      Mismatch(report, absl::StrCat(Describe(e), " (txid ",
                                    e.txid.ToDisplayHex(), ") is missing"));
    } else if (it->second.txid != e.txid) {
      Mismatch(report, absl::StrCat(Describe(e), " names txid ",
                                    it->second.txid.ToDisplayHex(),
                                    ", replay gives ", e.txid.ToDisplayHex()));
    }
  }
  for (const auto& [key, e] : *have_addr) {
    if (!want_addr->contains(key)) {
      Mismatch(report,
               absl::StrCat(Describe(e), " (txid ", e.txid.ToDisplayHex(),
                            ") should not exist"));
    }
  }

  // The transaction index holds the active chain only: transactions of
  // stored side-branch blocks are not indexed (unless the active chain has
  // them too, checked above), and the RocksDB store, which can count its
  // entries, holds no more than the active chain's transactions.
  for (const auto& [hash, entry] : index) {
    if (!(entry.status & kBlockHaveData)) continue;
    if (entry.height <= report.height && chain[entry.height] == hash) continue;
    PBCHAIN_ASSIGN_OR_RETURN(std::optional<Block> block, store.GetBlock(hash));
    if (!block.has_value()) continue;  // a missing side body is not state
    for (const Transaction& tx : block->txs) {
      const Hash256 txid = tx.Id();
      PBCHAIN_ASSIGN_OR_RETURN(std::optional<TxLocation> loc,
                               store.GetTxLocation(txid));
      if (loc.has_value() && (loc->height > report.height ||
                              chain[loc->height] != loc->block_hash)) {
        Mismatch(report,
                 absl::StrCat("transaction ", txid.ToDisplayHex(),
                              " of side-branch block ", hash.ToDisplayHex(),
                              " is in the transaction index"));
      }
    }
  }
  const uint64_t active_txs = report.transactions + genesis_block.txs.size();
  if (auto* rocks = dynamic_cast<RocksChainStore*>(&store)) {
    PBCHAIN_ASSIGN_OR_RETURN(StoreStats stats, rocks->Stats());
    if (stats.transactions != active_txs) {
      Mismatch(report,
               absl::StrCat("the transaction index holds ", stats.transactions,
                            " entries; the active chain has ", active_txs,
                            " transactions"));
    }
  }
  return report;
}

absl::StatusOr<VerifyReport> VerifyDatadir(
    const std::string& datadir,
    const std::function<void(uint64_t, uint64_t)>& progress) {
  RocksStoreOptions options;
  options.create_if_missing = false;
  // Writes nothing: works on read-only media and a live node's datadir.
  // A schema-1 datadir is upgraded first, which needs a read-write open.
  options.read_only = true;
  absl::StatusOr<std::unique_ptr<RocksChainStore>> opened =
      RocksChainStore::Open(datadir, options);
  if (absl::IsFailedPrecondition(opened.status()) &&
      absl::StrContains(opened.status().message(), kNeedsUpgrade)) {
    options.read_only = false;
    opened = RocksChainStore::Open(datadir, options);
  }
  PBCHAIN_ASSIGN_OR_RETURN(std::unique_ptr<RocksChainStore> store,
                           std::move(opened));
  return VerifyStore(*store, progress);
}

}  // namespace pbchain
