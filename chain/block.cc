#include "chain/block.h"

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "chain/consensus.h"
#include "chain/hash.h"

namespace pbchain {

HeaderBytes BlockHeader::Serialize() const {
  HeaderBytes out;
  WriteLe32(&out[0], version);
  std::memcpy(&out[4], prev_hash.bytes.data(), 32);
  std::memcpy(&out[36], merkle_root.bytes.data(), 32);
  WriteLe32(&out[68], time);
  WriteLe32(&out[72], bits);
  WriteLe32(&out[76], nonce);
  return out;
}

BlockHeader BlockHeader::Deserialize(const HeaderBytes& in) {
  BlockHeader h;
  h.version = ReadLe32(&in[0]);
  std::memcpy(h.prev_hash.bytes.data(), &in[4], 32);
  std::memcpy(h.merkle_root.bytes.data(), &in[36], 32);
  h.time = ReadLe32(&in[68]);
  h.bits = ReadLe32(&in[72]);
  h.nonce = ReadLe32(&in[76]);
  return h;
}

absl::StatusOr<BlockHeader> BlockHeader::Parse(ByteSpan data) {
  if (data.size() != kHeaderSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("header must be 80 bytes, got ", data.size()));
  }
  HeaderBytes raw;
  std::copy(data.begin(), data.end(), raw.begin());
  return Deserialize(raw);
}

Hash256 BlockHeader::Hash() const { return Sha256d(Serialize()); }

size_t Block::ConsensusSize() const {
  size_t size = kHeaderSize;
  for (const Transaction& tx : txs) size += tx.Encode().size();
  return size;
}

Bytes Block::Encode() const {
  ByteWriter w;
  w.Raw(header.Serialize());
  w.U32(static_cast<uint32_t>(txs.size()));
  for (const Transaction& tx : txs) w.Raw(tx.Encode());
  return w.Take();
}

absl::StatusOr<Block> Block::Decode(ByteSpan data) {
  ByteReader r(data);
  ByteSpan raw;
  if (!r.Raw(kHeaderSize, raw)) {
    return absl::InvalidArgumentError("block encoding shorter than a header");
  }
  Block block;
  block.header = *BlockHeader::Parse(raw);
  uint32_t count;
  if (!r.U32(count))
    return absl::InvalidArgumentError("block missing tx count");
  if (count > kMaxBlockTxs) {
    return absl::InvalidArgumentError(absl::StrCat(
        "block claims ", count, " transactions, limit ", kMaxBlockTxs));
  }
  block.txs.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    absl::StatusOr<Transaction> tx = Transaction::DecodeFrom(r);
    if (!tx.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("transaction ", i, ": ", tx.status().message()));
    }
    block.txs.push_back(*std::move(tx));
  }
  if (!r.AtEnd()) {
    return absl::InvalidArgumentError(
        absl::StrCat(r.remaining(), " trailing bytes after block"));
  }
  return block;
}

Hash256 ComputeMerkleRoot(std::vector<Hash256> level, bool* mutated) {
  bool mutation = false;
  if (level.empty()) {
    if (mutated) *mutated = false;
    return Hash256{};
  }
  while (level.size() > 1) {
    // Detect the ambiguity before padding: equal siblings at any level.
    for (size_t i = 0; i + 1 < level.size(); i += 2) {
      if (level[i] == level[i + 1]) mutation = true;
    }
    if (level.size() % 2 == 1) level.push_back(level.back());
    std::vector<Hash256> next(level.size() / 2);
    for (size_t i = 0; i < next.size(); ++i) {
      uint8_t pair[64];
      std::memcpy(pair, level[2 * i].bytes.data(), 32);
      std::memcpy(pair + 32, level[2 * i + 1].bytes.data(), 32);
      next[i] = Sha256d(pair);
    }
    level = std::move(next);
  }
  if (mutated) *mutated = mutation;
  return level[0];
}

Hash256 BlockMerkleRoot(const Block& block, bool* mutated) {
  std::vector<Hash256> ids;
  ids.reserve(block.txs.size());
  for (const Transaction& tx : block.txs) ids.push_back(tx.Id());
  return ComputeMerkleRoot(std::move(ids), mutated);
}

}  // namespace pbchain
