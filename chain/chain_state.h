// The chain state: the block index (every known block), the active chain by
// most cumulative work, and the account and data-record state of its tip.
// It validates and connects blocks, reorganizes onto a chain with more work
// (ties: the first seen stays), and builds block templates. It persists
// through the ChainStore port and reads no flags.
//
// Thread safety: every public method may be called from any thread; one
// internal mutex serializes them. No method blocks on the network.
#ifndef PBCHAIN_CHAIN_CHAIN_STATE_H_
#define PBCHAIN_CHAIN_CHAIN_STATE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "chain/block.h"
#include "chain/params.h"
#include "chain/store.h"
#include "chain/validation.h"

namespace pbchain {

struct ChainStateOptions {
  // The node's clock in unix seconds (tests inject one). Default: system clock.
  std::function<int64_t()> clock;
  // Signature checks can be skipped only when replaying blocks this node
  // already validated (e.g. verify-db of a trusted datadir). Default on.
  bool verify_signatures = true;
};

struct TipInfo {
  Hash256 hash;
  uint32_t height = 0;
  UInt256 chain_work;
  BlockHeader header;
};

enum class AcceptStatus {
  kActive,        // the block is now on the active chain (maybe after a reorg)
  kSideBranch,    // stored and valid so far, but its chain has no more work
  kAlreadyKnown,  // we had it already
  kInvalid,       // it broke a rule; see AcceptResult::validation
};

struct AcceptResult {
  AcceptStatus status = AcceptStatus::kInvalid;
  ValidationResult validation;
  Hash256 hash;
  std::vector<Hash256> connected;     // in order, oldest first
  std::vector<Hash256> disconnected;  // newest first
  // Non-coinbase transactions of disconnected blocks that the new active
  // chain does not contain: the mempool takes them back.
  std::vector<Transaction> returned_txs;
  // Transactions of the connected blocks (the mempool drops them).
  std::vector<Transaction> confirmed_txs;
  bool tip_changed() const {
    return !connected.empty() || !disconnected.empty();
  }
};

// Where a record was written, with the record itself.
struct RecordEntry {
  std::string index_key;
  RecordLocation location;
  DataRecord record;
};

// One main-chain transaction touching an address, with where it is and what
// it moved for that address (ChainState::GetAddressHistory).
struct AddressHistoryEntry {
  Hash256 txid;
  Transaction tx;
  Hash256 block_hash;
  uint32_t height = 0;      // of the block
  uint32_t block_time = 0;  // header time of the block
  uint32_t index = 0;       // position in the block (0 = the coinbase)
  uint64_t received = 0;    // tx.amount if the address is the recipient
  uint64_t sent = 0;        // amount + fee if the address sent it (a transfer)
};

// A page of an address's history, newest first.
struct AddressHistoryPage {
  std::vector<AddressHistoryEntry> entries;
  // Where the next (older) page starts (pass it as `before`); nullopt when
  // there are no older entries.
  std::optional<TxPosition> next;
  uint32_t tip_height = 0;  // main-chain height the page was read at
};

// How a branch tip stands (ChainState::GetChainTips).
enum class ChainTipStatus {
  kActive,     // the main-chain tip
  kValidFork,  // a side branch not known to be invalid
  kInvalid,    // a side branch ending in a block marked failed
};

// The tip of one branch of the block tree.
struct ChainTip {
  Hash256 hash;
  uint32_t height = 0;
  // Blocks from the fork point (exclusive) to the tip; 0 for the main tip.
  uint32_t branch_length = 0;
  // The main-chain block the branch leaves from (the tip itself for the
  // main tip).
  Hash256 fork_hash;
  ChainTipStatus status = ChainTipStatus::kValidFork;
  UInt256 chain_work;
  uint32_t time = 0;  // header time of the tip block
};

// What ChainState::CheckHeaderChain found.
struct HeaderChainCheck {
  size_t valid = 0;          // leading headers that passed every check
  ValidationResult failure;  // why headers[valid] failed; ok if all passed
  UInt256 chain_work;        // chain work up to headers[valid - 1]
  uint32_t height = 0;       // height of headers[valid - 1]
  Hash256 last_hash;         // hash of headers[valid - 1] (or the parent)
};

class ChainState {
 public:
  // Opens the chain on `store` (which must outlive it). An empty store gets
  // the genesis block of `params`. A store whose genesis differs from params
  // is FAILED_PRECONDITION; a store whose tip is not in its index is
  // DATA_LOSS. If the store holds a chain with more work than its tip (a
  // reorg interrupted by a crash), it is activated now.
  static absl::StatusOr<std::unique_ptr<ChainState>> Create(
      ChainParams params, ChainStore* store, ChainStateOptions options = {});

  // Validates `block` and adds it: to the active chain if its chain then has
  // the most work (reorganizing as needed), else as a side branch. A broken
  // rule is AcceptStatus::kInvalid with the reason, not an error status;
  // errors are store failures (INTERNAL, DATA_LOSS). A block whose parent is
  // unknown is kInvalid with kHeaderUnknownParent (the caller may fetch the
  // parent and retry).
  absl::StatusOr<AcceptResult> AcceptBlock(const Block& block);

  TipInfo Tip() const;
  const ChainParams& params() const { return params_; }
  const Hash256& genesis_hash() const { return genesis_hash_; }

  std::optional<BlockIndexEntry> GetIndexEntry(const Hash256& hash) const;
  // Hash of the active chain's block at `height`, if the chain is that tall.
  std::optional<Hash256> ActiveHashAt(uint32_t height) const;
  bool IsActive(const Hash256& hash) const;
  // A block body. NOT_FOUND if unknown; store errors as such.
  absl::StatusOr<Block> GetBlock(const Hash256& hash) const;
  // Balance and nonce of `address` at the tip (zero if never seen).
  absl::StatusOr<AccountState> GetAccount(const Address& address) const;
  // The keyed record (ns, key) at the tip, if written.
  absl::StatusOr<std::optional<RecordEntry>> GetRecord(
      const std::string& ns, const std::string& key) const;
  // Records of namespace `ns` in index-key order after `start_after`.
  absl::StatusOr<std::vector<RecordEntry>> ListRecords(
      const std::string& ns, const std::string& start_after,
      size_t limit) const;
  // Transaction `txid` if it is on the active chain, with where it is (block,
  // height, position; 0 is the coinbase, genesis included). nullopt if it
  // is not on the active chain (unknown, in the mempool, or only in a side
  // branch). The number of confirmations is Tip().height - height + 1; the
  // tip may move between the two calls, so a caller that needs them to agree
  // checks IsActive(location.block_hash) afterwards. DATA_LOSS if the index
  // and the stored blocks disagree; store errors as such.
  absl::StatusOr<std::optional<std::pair<Transaction, TxLocation>>>
  GetTransaction(const Hash256& txid) const;
  // Main-chain transactions touching `address` (as recipient, or as sender
  // of a transfer), newest first (height, then position, descending),
  // strictly before `before` when given, at most `limit` (>= 1; 0 is
  // INVALID_ARGUMENT). Read under one lock: entries, their blocks and
  // tip_height agree. DATA_LOSS if the address index and the stored blocks
  // disagree; store errors as such. O(limit) index reads plus one body read
  // per distinct block.
  absl::StatusOr<AddressHistoryPage> GetAddressHistory(
      const Address& address, const std::optional<TxPosition>& before,
      size_t limit) const;
  // The branch tips of the block tree: the main-chain tip first, then every
  // block without children that is not the main tip (side branches), by
  // height descending (ties: more work first, then earlier seen); at most
  // `limit` in all. Reads the set of childless blocks kept as blocks are
  // added (not the whole index): O(branch tips) under the reader lock, plus
  // the walk from each returned side tip back to the main chain.
  std::vector<ChainTip> GetChainTips(size_t limit) const;

  // A block locator of the active chain: tip, then exponentially sparser
  // ancestors, ending with genesis.
  std::vector<Hash256> GetLocator() const;
  // Main-chain headers after the first locator entry on the main chain
  // (after genesis if none is), in ascending height order: at most
  // `max_count`, ending with `stop` if it comes first. `*start_height` is
  // the height of the first one. Read under one lock, so consecutive.
  std::vector<BlockHeader> HeadersAfterLocator(
      std::span<const Hash256> locator, const std::optional<Hash256>& stop,
      uint32_t max_count, uint32_t* start_height) const;
  // Checks a run of headers that extends a block of the index, storing
  // nothing (headers-first sync checks a peer's chain before downloading
  // bodies). Each header must link to the one before it, the first to a
  // known block not marked invalid; each must pass CheckHeader and the
  // contextual rules (bits, time) against its real ancestors, including
  // the earlier headers of the run. The first `trusted` headers passed an
  // earlier call and only feed the context (their links are still checked).
  // O(headers + difficulty window); holds the chain lock only to read the
  // ancestors of the first header.
  HeaderChainCheck CheckHeaderChain(std::span<const BlockHeader> headers,
                                    size_t trusted = 0) const;
  // Bits the next block on the tip must carry, and the median-time-past the
  // next block's time must exceed.
  uint32_t NextBitsOnTip() const;
  int64_t MedianTimePastOfTip() const;
  size_t IndexSize() const;

  // Checks `tx` against the tip state plus `pending` (transactions assumed
  // applied first, in order; e.g. the mempool's for the same sender).
  // Returns the first broken rule. Store errors as status. Callers that have
  // verified the signature already (the mempool re-checking its own
  // transactions) pass verify_signature = false.
  absl::StatusOr<ValidationResult> CheckTransactionOnTip(
      const Transaction& tx, std::span<const Transaction> pending,
      bool verify_signature = true) const;

  // How many leading transactions of `txs` are valid when applied in order
  // on the tip state (context-free rules without signatures, then state
  // rules), in one pass. For re-checking a sender's pooled chain of nonces.
  absl::StatusOr<size_t> CheckSequenceOnTip(
      std::span<const Transaction> txs) const;

  // A block on the tip paying the reward and fees to `miner`, with as many
  // `candidates` as fit that are valid in the given order (invalid ones are
  // skipped). Time = max(now, median-time-past + 1). Nonce 0, extra nonce 0.
  absl::StatusOr<Block> CreateBlockTemplate(
      const Address& miner, std::span<const Transaction> candidates,
      int64_t now) const;

 private:
  struct Node {
    BlockIndexEntry entry;
    Node* parent = nullptr;
  };

 public:
  class View;  // tip state plus pending changes (chain_state.cc)

 private:
  ChainState(ChainParams params, ChainStore* store, ChainStateOptions options);
  absl::Status Load();
  int64_t Now() const;

  Node* Lookup(const Hash256& hash) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  Node* AddNode(const BlockIndexEntry& entry)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  uint32_t NextBits(const Node* parent) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  int64_t MedianTimePast(const Node* node) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  static const Node* Fork(const Node* a, const Node* b);
  bool IsActiveLocked(const Node* n) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // True if a's chain should replace b's: more work, or equal work and seen
  // earlier (never true for a == b).
  static bool Better(const Node* a, const Node* b);

  absl::StatusOr<ValidationResult> ConnectBlock(Node* node, const Block& block)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<Block> DisconnectTip() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Moves the active chain to `target`. On an invalid block along the way it
  // marks it (and descendants) failed and settles on the best valid chain.
  absl::Status ActivateChain(Node* target, AcceptResult& result)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status MarkFailed(Node* node) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The block with the most work (first seen among equals) whose body is
  // stored and that is not known invalid; the tip if none beats it. O(index).
  Node* FindBestCandidate() const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::Status MoveTo(Node* target, std::vector<Block>& disconnected,
                      std::vector<Block>& connected, Node** failed,
                      ValidationResult* failure)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::optional<RecordEntry>> ReadRecord(
      const std::string& index_key, const RecordLocation& loc) const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  const ChainParams params_;
  ChainStore* const store_;
  const ChainStateOptions options_;
  Hash256 genesis_hash_;

  mutable absl::Mutex mu_;
  absl::flat_hash_map<Hash256, std::unique_ptr<Node>> index_
      ABSL_GUARDED_BY(mu_);
  // The blocks of index_ without children (the tips of the block tree,
  // the main tip among them unless it has a child, e.g. one marked failed).
  // AddNode keeps it: a new block is a leaf and its parent no longer is.
  // Blocks never leave the index, so nothing else changes it.
  absl::flat_hash_set<Node*> leaves_ ABSL_GUARDED_BY(mu_);
  std::vector<Node*> active_ ABSL_GUARDED_BY(mu_);  // active_[h] at height h
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace pbchain

#endif  // PBCHAIN_CHAIN_CHAIN_STATE_H_
