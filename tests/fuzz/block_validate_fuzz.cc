// Fuzzes full block validation (ChainState::AcceptBlock: context-free
// checks, the header against its parent's chain, every transaction against
// the account and record state, reorganizations) on a fresh 4-block chain
// in memory (tests/fuzz/fuzz_util.h) per input.
//
// Input: one flags byte, one parent byte, then a canonical block encoding
// (Block::Decode). A fuzzer cannot sign, hash or mine, so the flags ask the
// harness to fix up what it cannot produce:
//   bit 0: re-sign every transfer with its sender's test key (or test key
//          (first sender byte % 4) if the sender is none of them)
//   bit 1: set the coinbase amount to reward + fees and its height
//   bit 2: recompute the merkle root
//   bit 3: set prev_hash to chain block (parent byte % 4; 0 = genesis)
//   bit 4: search a nonce that meets the header's bits (easy test target)
// Properties: no crash; AcceptBlock never fails with an error status (the
// store is memory); an accepted block is known afterwards and, if active,
// the tip; coins are conserved: the sum of all balances equals the
// allocations plus one block reward per active block above genesis.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "absl/numeric/int128.h"
#include "chain/pow.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using namespace pbchain;

// Nonces tried by the proof-of-work fix-up (the test target is met by about
// every second hash).
constexpr uint32_t kMaxNonceTries = 64;

// The funded test key whose public key is `sender`, else test key
// (first byte % 4).
PrivateKey SignerFor(const PublicKey& sender) {
  for (int i = 0; i < 4; ++i) {
    if (testing::TestKey(i).public_key() == sender) return testing::TestKey(i);
  }
  return testing::TestKey(sender[0] % 4);
}

absl::uint128 TotalBalance(MemoryChainStore& store) {
  absl::uint128 total = 0;
  absl::Status st =
      store.ForEachAccount([&](const Address&, const AccountState& account) {
        total += account.balance;
        return absl::OkStatus();
      });
  FUZZ_CHECK(st.ok());
  return total;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t flags = data[0];
  const uint8_t parent = data[1];
  absl::StatusOr<Block> decoded = Block::Decode(ByteSpan(data + 2, size - 2));
  if (!decoded.ok()) return 0;
  Block block = *std::move(decoded);
  const ChainParams& params = fuzz::FuzzParams();
  const std::vector<Block>& chain_blocks = fuzz::FuzzChainBlocks();

  if (flags & 1) {
    for (Transaction& tx : block.txs) {
      if (tx.IsCoinbase()) continue;
      tx.Sign(SignerFor(tx.sender));
    }
  }
  if ((flags & 8) != 0) {
    const size_t i = parent % (chain_blocks.size() + 1);
    block.header.prev_hash =
        i == 0 ? MakeGenesisBlock(params).Hash() : chain_blocks[i - 1].Hash();
    if ((flags & 2) != 0 && !block.txs.empty() && block.txs[0].IsCoinbase())
      block.txs[0].height = i + 1;
  }
  if ((flags & 2) != 0 && !block.txs.empty() && block.txs[0].IsCoinbase()) {
    uint64_t fees = 0;
    for (size_t i = 1; i < block.txs.size(); ++i) fees += block.txs[i].fee;
    block.txs[0].amount = params.block_reward + fees;
  }
  if (flags & 4) block.header.merkle_root = BlockMerkleRoot(block);
  if (flags & 16) {
    const CompactDecode target = DecodeCompact(block.header.bits);
    if (!target.negative && !target.overflow) {
      for (uint32_t i = 0;
           i < kMaxNonceTries && !HashMeetsTarget(block.Hash(), target.target);
           ++i) {
        ++block.header.nonce;
      }
    }
  }

  fuzz::FuzzChain c = fuzz::MakeFuzzChain();
  const absl::uint128 before = TotalBalance(*c.store);
  const uint32_t height_before = c.chain->Tip().height;
  absl::StatusOr<AcceptResult> result = c.chain->AcceptBlock(block);
  FUZZ_CHECK(result.ok());
  const TipInfo tip = c.chain->Tip();
  // PBCHAIN_FUZZ_VERBOSE=1: say what became of each input (to check that
  // the seeds reach the rules they are meant to).
  static const bool verbose = std::getenv("PBCHAIN_FUZZ_VERBOSE") != nullptr;
  if (verbose) {
    std::fprintf(stderr, "block_validate: status %d, %s, height %u\n",
                 static_cast<int>(result->status),
                 result->validation.ToString().c_str(), tip.height);
  }
  switch (result->status) {
    case AcceptStatus::kActive:
      FUZZ_CHECK(result->validation.ok());
      FUZZ_CHECK(c.chain->GetIndexEntry(block.Hash()).has_value());
      FUZZ_CHECK(tip.hash == block.Hash());
      break;
    case AcceptStatus::kSideBranch:
      FUZZ_CHECK(c.chain->GetIndexEntry(block.Hash()).has_value());
      FUZZ_CHECK(tip.hash == chain_blocks.back().Hash());
      break;
    case AcceptStatus::kAlreadyKnown:
      FUZZ_CHECK(tip.hash == chain_blocks.back().Hash());
      break;
    case AcceptStatus::kInvalid:
      FUZZ_CHECK(!result->validation.ok());
      FUZZ_CHECK(tip.hash == chain_blocks.back().Hash());
      break;
  }
  const absl::uint128 after = TotalBalance(*c.store);
  FUZZ_CHECK(after + absl::uint128(params.block_reward) * height_before ==
             before + absl::uint128(params.block_reward) * tip.height);
  return 0;
}
