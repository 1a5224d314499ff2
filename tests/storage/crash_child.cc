// crash_child DATADIR GENESIS_JSON_FILE
//
// The victim of the storage crash test (crash_test.cc): opens DATADIR with
// the genesis parameters in GENESIS_JSON_FILE and grows the chain forever
// (until killed). Each block carries a few signed transfers from the keys
// testing::TestKey(0..15) that the genesis funds, some with data records; now
// and then a competing branch forks off 1-3 blocks below the tip and
// overtakes it (a multi-step reorg, which writes the head marker).
//
// After AcceptBlock returns, each block that became active is reported on
// stdout, oldest first, as "COMMITTED <display hash> <height>\n" (flushed):
// the parent may rely on everything reported being durable.
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "chain/chain_state.h"
#include "chain/params.h"
#include "storage/rocksdb_store.h"
#include "tests/chain/test_chain.h"

namespace pbchain {
namespace {

int Fail(const std::string& what, const absl::Status& s) {
  std::fprintf(stderr, "crash_child: %s: %s\n", what.c_str(),
               s.ToString().c_str());
  return 1;
}

struct Funded {
  PrivateKey key;
  Address address;
};

class Grower {
 public:
  Grower(ChainState* state, std::vector<Funded> keys, uint64_t seed)
      : state_(state), keys_(std::move(keys)), rng_(seed) {}

  // Adds one block on the tip, or a competing branch that overtakes it.
  absl::Status Step() {
    const TipInfo tip = state_->Tip();
    if (tip.height >= 4 && rng_() % 5 == 0) {
      return Reorg(tip, 1 + static_cast<uint32_t>(rng_() % 3));
    }
    absl::StatusOr<std::map<Address, uint64_t>> nonces = TipNonces();
    if (!nonces.ok()) return nonces.status();
    return AcceptAndReport(
        MakeBlockOn(tip.header, tip.height, *nonces, /*branch=*/0));
  }

 private:
  absl::StatusOr<std::map<Address, uint64_t>> TipNonces() {
    std::map<Address, uint64_t> out;
    for (const Funded& f : keys_) {
      absl::StatusOr<AccountState> a = state_->GetAccount(f.address);
      if (!a.ok()) return a.status();
      out[f.address] = a->nonce;
    }
    return out;
  }

  Block MakeBlockOn(const BlockHeader& parent, uint32_t parent_height,
                    std::map<Address, uint64_t>& nonces, uint64_t branch) {
    const ChainParams& p = state_->params();
    std::vector<Transaction> txs;
    const int n = 1 + static_cast<int>(rng_() % 4);
    for (int i = 0; i < n; ++i) {
      const Funded& from = keys_[rng_() % keys_.size()];
      const Funded& to = keys_[rng_() % keys_.size()];
      std::optional<DataRecord> record;
      if (rng_() % 3 == 0) {
        record = DataRecord{"crash", "k" + std::to_string(rng_()),
                            "payload " + std::to_string(parent_height)};
      }
      txs.push_back(testing::MakeTransfer(p, from.key, to.address,
                                          1 + rng_() % 100, rng_() % 3,
                                          nonces[from.address]++, record));
    }
    const Address miner = keys_[rng_() % keys_.size()].address;
    return testing::MakeBlock(p, parent, parent_height, std::move(txs), miner,
                              (branch << 32) ^ rng_());
  }

  // Builds `depth + 1` blocks on the active block `depth` below the tip;
  // the last one gives the branch more work than the current chain.
  absl::Status Reorg(const TipInfo& tip, uint32_t depth) {
    const uint32_t fork_height = tip.height - depth;
    absl::StatusOr<std::map<Address, uint64_t>> nonces = TipNonces();
    if (!nonces.ok()) return nonces.status();
    // Nonces at the fork point: undo the transfers of the blocks above it.
    for (uint32_t h = fork_height + 1; h <= tip.height; ++h) {
      absl::StatusOr<Block> b = state_->GetBlock(*state_->ActiveHashAt(h));
      if (!b.ok()) return b.status();
      for (const Transaction& tx : b->txs) {
        if (!tx.IsCoinbase()) --(*nonces)[tx.SenderAddress()];
      }
    }
    absl::StatusOr<Block> fork =
        state_->GetBlock(*state_->ActiveHashAt(fork_height));
    if (!fork.ok()) return fork.status();
    BlockHeader parent = fork->header;
    const uint64_t branch = ++branches_;
    for (uint32_t i = 0; i <= depth; ++i) {
      Block b = MakeBlockOn(parent, fork_height + i, *nonces, branch);
      if (absl::Status s = AcceptAndReport(b); !s.ok()) return s;
      parent = b.header;
    }
    if (state_->Tip().hash != parent.Hash()) {
      return absl::InternalError("the competing branch did not take over");
    }
    return absl::OkStatus();
  }

  absl::Status AcceptAndReport(const Block& block) {
    absl::StatusOr<AcceptResult> r = state_->AcceptBlock(block);
    if (!r.ok()) return r.status();
    if (r->status == AcceptStatus::kInvalid) {
      return absl::InternalError("built an invalid block: " +
                                 r->validation.ToString());
    }
    for (const Hash256& h : r->connected) {
      std::optional<BlockIndexEntry> e = state_->GetIndexEntry(h);
      std::printf("COMMITTED %s %u\n", h.ToDisplayHex().c_str(),
                  e ? e->height : 0u);
    }
    std::fflush(stdout);
    return absl::OkStatus();
  }

  ChainState* state_;
  std::vector<Funded> keys_;
  std::mt19937_64 rng_;
  uint64_t branches_ = 0;
};

int Run(const std::string& datadir, const std::string& genesis_file) {
  std::ifstream in(genesis_file);
  std::string json((std::istreambuf_iterator<char>(in)), {});
  absl::StatusOr<ChainParams> params = ChainParams::FromJson(json);
  if (!params.ok()) return Fail("reading " + genesis_file, params.status());

  std::vector<Funded> keys;
  for (int i = 0; i < 16; ++i) {
    PrivateKey k = testing::TestKey(i);
    Address a = AddressFromPublicKey(k.public_key());
    for (const auto& alloc : params->allocations) {
      if (alloc.address == a) keys.push_back({k, a});
    }
  }
  if (keys.empty()) {
    return Fail("genesis", absl::InvalidArgumentError("funds no TestKey"));
  }

  absl::StatusOr<std::unique_ptr<RocksChainStore>> store =
      RocksChainStore::Open(datadir);
  if (!store.ok()) return Fail("opening the store", store.status());
  absl::StatusOr<std::unique_ptr<ChainState>> state =
      ChainState::Create(*params, store->get());
  if (!state.ok()) return Fail("opening the chain", state.status());
  // Tells the test the store is open (so most kills land while writing).
  std::printf("OPENED\n");
  std::fflush(stdout);

  Grower grower(state->get(), std::move(keys),
                static_cast<uint64_t>(time(nullptr)) * 1000003u + getpid());
  for (;;) {
    if (absl::Status s = grower.Step(); !s.ok()) return Fail("growing", s);
  }
}

}  // namespace
}  // namespace pbchain

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s DATADIR GENESIS_JSON_FILE\n", argv[0]);
    return 2;
  }
  return pbchain::Run(argv[1], argv[2]);
}
