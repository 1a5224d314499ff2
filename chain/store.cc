#include "chain/store.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace pbchain {
namespace {

absl::Status Corrupt(absl::string_view what) {
  return absl::DataLossError(absl::StrCat("corrupt ", what, " record"));
}

bool ReadHash(ByteReader& r, Hash256& out) {
  ByteSpan raw;
  if (!r.Raw(32, raw)) return false;
  std::copy(raw.begin(), raw.end(), out.bytes.begin());
  return true;
}

}  // namespace

Bytes BlockIndexEntry::Encode() const {
  ByteWriter w;
  w.Raw(hash.bytes);
  w.Raw(header.Serialize());
  w.U32(height);
  w.Raw(chain_work.ToHash().bytes);
  w.U32(status);
  w.U64(sequence);
  w.U32(tx_count);
  return w.Take();
}

absl::StatusOr<BlockIndexEntry> BlockIndexEntry::Decode(ByteSpan data) {
  ByteReader r(data);
  BlockIndexEntry e;
  ByteSpan raw;
  Hash256 work;
  if (!ReadHash(r, e.hash) || !r.Raw(kHeaderSize, raw))
    return Corrupt("block index");
  e.header = *BlockHeader::Parse(raw);
  if (!r.U32(e.height) || !ReadHash(r, work) || !r.U32(e.status) ||
      !r.U64(e.sequence) || !r.U32(e.tx_count) || !r.AtEnd()) {
    return Corrupt("block index");
  }
  e.chain_work = UInt256::FromHash(work);
  return e;
}

Bytes AccountState::Encode() const {
  ByteWriter w;
  w.U64(balance);
  w.U64(nonce);
  return w.Take();
}

absl::StatusOr<AccountState> AccountState::Decode(ByteSpan data) {
  ByteReader r(data);
  AccountState a;
  if (!r.U64(a.balance) || !r.U64(a.nonce) || !r.AtEnd())
    return Corrupt("account");
  return a;
}

Bytes RecordLocation::Encode() const {
  ByteWriter w;
  w.Raw(txid.bytes);
  w.Raw(block_hash.bytes);
  w.U32(height);
  return w.Take();
}

absl::StatusOr<RecordLocation> RecordLocation::Decode(ByteSpan data) {
  ByteReader r(data);
  RecordLocation loc;
  if (!ReadHash(r, loc.txid) || !ReadHash(r, loc.block_hash) ||
      !r.U32(loc.height) || !r.AtEnd()) {
    return Corrupt("data record location");
  }
  return loc;
}

Bytes TxLocation::Encode() const {
  ByteWriter w;
  w.Raw(block_hash.bytes);
  w.U32(height);
  w.U32(index);
  return w.Take();
}

absl::StatusOr<TxLocation> TxLocation::Decode(ByteSpan data) {
  ByteReader r(data);
  TxLocation loc;
  if (!ReadHash(r, loc.block_hash) || !r.U32(loc.height) || !r.U32(loc.index) ||
      !r.AtEnd()) {
    return Corrupt("transaction location");
  }
  return loc;
}

std::string RecordNamespacePrefix(const std::string& ns) {
  std::string prefix = ns;
  prefix.push_back('\0');
  return prefix;
}

std::string RecordIndexKey(const std::string& ns,
                           const std::optional<std::string>& key,
                           const Hash256& txid) {
  std::string out = RecordNamespacePrefix(ns);
  if (key) {
    out.push_back('k');
    out.append(*key);
  } else {
    out.push_back('t');
    out.append(txid.bytes.begin(), txid.bytes.end());
  }
  return out;
}

std::string AddressIndexKey(const Address& address,
                            const TxPosition& position) {
  std::string key(address.bytes.begin(), address.bytes.end());
  key.reserve(kAddressIndexKeySize);
  for (uint32_t v : {position.height, position.index}) {
    for (int shift = 24; shift >= 0; shift -= 8) {
      key.push_back(static_cast<char>((v >> shift) & 0xff));
    }
  }
  return key;
}

absl::StatusOr<AddressIndexEntry> DecodeAddressIndexEntry(ByteSpan key,
                                                          ByteSpan value) {
  if (key.size() != kAddressIndexKeySize || value.size() != 32) {
    return Corrupt("address index");
  }
  AddressIndexEntry e;
  std::copy(key.begin(), key.begin() + 20, e.address.bytes.begin());
  auto be32 = [&](size_t at) {
    return uint32_t{key[at]} << 24 | uint32_t{key[at + 1]} << 16 |
           uint32_t{key[at + 2]} << 8 | uint32_t{key[at + 3]};
  };
  e.position = TxPosition{be32(20), be32(24)};
  std::copy(value.begin(), value.end(), e.txid.bytes.begin());
  return e;
}

std::vector<Address> TouchedAddresses(const Transaction& tx) {
  std::vector<Address> out{tx.recipient};
  if (!tx.IsCoinbase()) {
    Address sender = tx.SenderAddress();
    if (sender != tx.recipient) out.push_back(sender);
  }
  return out;
}

std::vector<AddressIndexEntry> AddressIndexEntriesOf(
    const Block& block, uint32_t height, std::span<const Hash256> txids) {
  std::vector<AddressIndexEntry> out;
  out.reserve(block.txs.size() * 2);
  for (size_t i = 0; i < block.txs.size(); ++i) {
    const Transaction& tx = block.txs[i];
    const Hash256 txid = i < txids.size() ? txids[i] : tx.Id();
    for (const Address& a : TouchedAddresses(tx)) {
      out.push_back(AddressIndexEntry{
          a, TxPosition{height, static_cast<uint32_t>(i)}, txid});
    }
  }
  return out;
}

Bytes BlockUndo::Encode() const {
  ByteWriter w;
  w.U32(static_cast<uint32_t>(prev_accounts.size()));
  for (const auto& [addr, prev] : prev_accounts) {
    w.Raw(addr.bytes);
    w.U8(prev ? 1 : 0);
    if (prev) w.Raw(prev->Encode());
  }
  w.U32(static_cast<uint32_t>(created_records.size()));
  for (const std::string& key : created_records) {
    w.U32(static_cast<uint32_t>(key.size()));
    w.Raw(AsBytes(key));
  }
  return w.Take();
}

absl::StatusOr<BlockUndo> BlockUndo::Decode(ByteSpan data) {
  ByteReader r(data);
  BlockUndo undo;
  uint32_t n;
  if (!r.U32(n) || n > r.remaining() / 21) return Corrupt("undo");
  for (uint32_t i = 0; i < n; ++i) {
    ByteSpan raw;
    uint8_t present;
    if (!r.Raw(20, raw) || !r.U8(present) || present > 1)
      return Corrupt("undo");
    Address addr;
    std::copy(raw.begin(), raw.end(), addr.bytes.begin());
    std::optional<AccountState> prev;
    if (present) {
      AccountState a;
      if (!r.U64(a.balance) || !r.U64(a.nonce)) return Corrupt("undo");
      prev = a;
    }
    undo.prev_accounts.emplace_back(addr, prev);
  }
  if (!r.U32(n) || n > r.remaining() / 4) return Corrupt("undo");
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t len;
    ByteSpan raw;
    if (!r.U32(len) || !r.Raw(len, raw)) return Corrupt("undo");
    undo.created_records.emplace_back(raw.begin(), raw.end());
  }
  if (!r.AtEnd()) return Corrupt("undo");
  return undo;
}

}  // namespace pbchain
