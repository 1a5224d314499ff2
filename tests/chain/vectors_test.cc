// Checks that the C++ consensus kernel reproduces every protocol test vector
// in tests/vectors/vectors.json. The vectors were produced by an independent
// Python implementation of docs/PROTOCOL.md
// (tests/vectors/protocol_vectors.py), so a failure here means the kernel and
// the protocol document disagree.
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "chain/address.h"
#include "chain/block.h"
#include "chain/bytes.h"
#include "chain/difficulty.h"
#include "chain/hash.h"
#include "chain/keys.h"
#include "chain/params.h"
#include "chain/pow.h"
#include "chain/transaction.h"
#include "chain/uint256.h"
#include "chain/validation.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace pbchain {
namespace {

using Json = nlohmann::json;

const Json& Vectors() {
  static const Json* const vectors = [] {
    const std::string path =
        std::string(PBCHAIN_SOURCE_DIR) + "/tests/vectors/vectors.json";
    std::ifstream in(path);
    std::stringstream buf;
    buf << in.rdbuf();
    Json j = Json::parse(buf.str(), nullptr, /*allow_exceptions=*/false);
    // An unreadable file gives an empty object: FileLoads fails, the other
    // tests see empty sections.
    return new Json(j.is_object() ? std::move(j) : Json::object());
  }();
  return *vectors;
}

// One section of the vectors (an array); empty if absent.
const Json& Section(const char* name) {
  static const Json* const empty = new Json(Json::array());
  return Vectors().contains(name) ? Vectors()[name] : *empty;
}

Bytes Hex(const Json& j) {
  absl::StatusOr<Bytes> b = HexDecode(j.get<std::string>());
  EXPECT_TRUE(b.ok()) << j;
  return b.ok() ? *b : Bytes{};
}

std::string ToString(const Bytes& b) { return std::string(b.begin(), b.end()); }

uint64_t U64(const Json& j) { return std::stoull(j.get<std::string>()); }

uint32_t Bits(const Json& j) {
  return static_cast<uint32_t>(std::stoul(j.get<std::string>(), nullptr, 16));
}

Hash256 Display(const Json& j) {
  absl::StatusOr<Hash256> h = Hash256::FromDisplayHex(j.get<std::string>());
  EXPECT_TRUE(h.ok()) << j;
  return h.ok() ? *h : Hash256{};
}

Address AddressFromHex(const Json& j) {
  absl::StatusOr<Address> a = Address::FromBytes(Hex(j));
  EXPECT_TRUE(a.ok()) << j;
  return a.ok() ? *a : Address{};
}

// Builds a Transaction from a vector's "fields" (signature not set).
Transaction TxFromFields(const Json& f) {
  Transaction tx;
  tx.kind = f["kind"] == "transfer" ? TxKind::kTransfer : TxKind::kCoinbase;
  tx.chain_id = f["chain_id"].get<std::string>();
  tx.recipient = AddressFromHex(f["recipient"]);
  tx.amount = U64(f["amount"]);
  if (tx.kind == TxKind::kTransfer) {
    Bytes sender = Hex(f["sender"]);
    EXPECT_EQ(sender.size(), tx.sender.size());
    std::copy_n(sender.begin(), std::min(sender.size(), tx.sender.size()),
                tx.sender.begin());
    tx.fee = U64(f["fee"]);
    tx.nonce = U64(f["nonce"]);
  } else {
    tx.height = U64(f["height"]);
    tx.extra_nonce = U64(f["extra_nonce"]);
  }
  if (!f["record"].is_null()) {
    const Json& r = f["record"];
    DataRecord rec;
    rec.ns = r["namespace"].get<std::string>();
    if (!r["key_hex"].is_null()) rec.key = ToString(Hex(r["key_hex"]));
    rec.payload = ToString(Hex(r["payload_hex"]));
    tx.record = std::move(rec);
  }
  return tx;
}

// Like TxFromFields, plus a "signature" field for transfers (block vectors).
Transaction TxWithSignature(const Json& f) {
  Transaction tx = TxFromFields(f);
  if (tx.kind == TxKind::kTransfer) {
    Bytes sig = Hex(f["signature"]);
    EXPECT_EQ(sig.size(), tx.signature.size());
    std::copy_n(sig.begin(), std::min(sig.size(), tx.signature.size()),
                tx.signature.begin());
  }
  return tx;
}

TEST(VectorsTest, FileLoads) {
  ASSERT_FALSE(Vectors().empty())
      << "cannot read " PBCHAIN_SOURCE_DIR "/tests/vectors/vectors.json";
  for (const char* section :
       {"keys", "signatures", "address_text_cases", "transactions", "merkle",
        "headers", "compact", "compact_encode", "genesis", "blocks",
        "difficulty", "median_time_past"}) {
    ASSERT_TRUE(Vectors().contains(section)) << section;
    EXPECT_FALSE(Vectors()[section].empty()) << section;
  }
}

TEST(VectorsTest, KeysAndAddresses) {
  for (const Json& k : Section("keys")) {
    SCOPED_TRACE(k["seed"].get<std::string>());
    absl::StatusOr<PrivateKey> key = PrivateKey::FromSeed(Hex(k["seed"]));
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_EQ(HexEncode(key->public_key()), k["public_key"]);
    Address addr = AddressFromPublicKey(key->public_key());
    EXPECT_EQ(HexEncode(addr.bytes), k["address"]);
    EXPECT_EQ(addr.ToText(), k["address_text"]);
    absl::StatusOr<Address> parsed =
        Address::FromText(k["address_text"].get<std::string>());
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, addr);
  }
}

TEST(VectorsTest, Rfc8032Signatures) {
  for (const Json& c : Section("signatures")) {
    SCOPED_TRACE(c["seed"].get<std::string>());
    absl::StatusOr<PrivateKey> key = PrivateKey::FromSeed(Hex(c["seed"]));
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_EQ(HexEncode(key->public_key()), c["public_key"]);
    const Bytes msg = Hex(c["message"]);
    const Signature sig = key->Sign(msg);
    EXPECT_EQ(HexEncode(sig), c["signature"]);
    EXPECT_TRUE(VerifySignature(key->public_key(), msg, sig));
  }
}

TEST(VectorsTest, AddressTextCases) {
  for (const Json& c : Section("address_text_cases")) {
    SCOPED_TRACE(c["name"].get<std::string>());
    absl::StatusOr<Address> a = Address::FromText(c["text"].get<std::string>());
    EXPECT_EQ(a.ok(), c["valid"].get<bool>()) << a.status();
    if (a.ok() && c["valid"].get<bool>()) {
      EXPECT_EQ(HexEncode(a->bytes), c["address"]);
    }
  }
}

TEST(VectorsTest, Transactions) {
  ChainParams params;
  for (const Json& t : Section("transactions")) {
    SCOPED_TRACE(t["name"].get<std::string>());
    Transaction tx = TxFromFields(t["fields"]);
    EXPECT_EQ(HexEncode(tx.SigningBytes()), t["signing_bytes"]);
    if (tx.kind == TxKind::kTransfer) {
      absl::StatusOr<PrivateKey> key = PrivateKey::FromSeed(Hex(t["seed"]));
      ASSERT_TRUE(key.ok()) << key.status();
      const PublicKey sender = tx.sender;
      tx.Sign(*key);
      EXPECT_EQ(tx.sender, sender) << "seed does not match the sender field";
      EXPECT_EQ(HexEncode(tx.signature), t["signature"]);
      EXPECT_TRUE(tx.HasValidSignature());
    } else {
      EXPECT_TRUE(t["signature"].is_null());
      EXPECT_FALSE(tx.HasValidSignature());
    }
    EXPECT_EQ(HexEncode(tx.Encode()), t["encoding"]);
    EXPECT_EQ(tx.Id().ToDisplayHex(), t["txid_display"]);
    EXPECT_EQ(Sha256d(Hex(t["encoding"])).ToDisplayHex(), t["txid_display"]);

    absl::StatusOr<Transaction> decoded =
        Transaction::Decode(Hex(t["encoding"]));
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, tx);

    // Every vector is well formed; only the chain id can differ from a
    // network's, so check against a network with the vector's chain id.
    params.chain_id = tx.chain_id;
    EXPECT_TRUE(CheckTransaction(tx, params).ok())
        << CheckTransaction(tx, params).ToString();
    // A flipped byte of the signed part breaks the signature.
    if (tx.kind == TxKind::kTransfer) {
      Transaction bad = tx;
      bad.amount ^= 1;
      EXPECT_FALSE(bad.HasValidSignature());
    }
  }
}

TEST(VectorsTest, MerkleRoots) {
  for (const Json& m : Section("merkle")) {
    std::vector<Hash256> ids;
    for (const Json& id : m["txids_display"]) ids.push_back(Display(id));
    SCOPED_TRACE(ids.size());
    bool mutated = false;
    EXPECT_EQ(ComputeMerkleRoot(ids, &mutated).ToDisplayHex(),
              m["root_display"]);
    EXPECT_EQ(mutated, m["mutated"].get<bool>());
  }
}

TEST(VectorsTest, Headers) {
  for (const Json& h : Section("headers")) {
    SCOPED_TRACE(h["name"].get<std::string>());
    Bytes raw = Hex(h["header_hex"]);
    absl::StatusOr<BlockHeader> header = BlockHeader::Parse(raw);
    ASSERT_TRUE(header.ok()) << header.status();
    EXPECT_EQ(header->version, h["version"].get<uint32_t>());
    EXPECT_EQ(header->prev_hash.ToDisplayHex(), h["prev_display"]);
    EXPECT_EQ(header->merkle_root.ToDisplayHex(), h["merkle_display"]);
    EXPECT_EQ(header->time, h["time"].get<uint32_t>());
    EXPECT_EQ(header->bits, Bits(h["bits"]));
    EXPECT_EQ(header->nonce, h["nonce"].get<uint32_t>());
    EXPECT_EQ(HexEncode(header->Serialize()), h["header_hex"]);
    EXPECT_EQ(header->Hash().ToDisplayHex(), h["hash_display"]);

    CompactDecode d = DecodeCompact(header->bits);
    EXPECT_FALSE(d.negative);
    EXPECT_FALSE(d.overflow);
    EXPECT_EQ(d.target.ToHex(), h["target_hex"]);
    EXPECT_EQ(HashMeetsTarget(header->Hash(), d.target),
              h["meets_target"].get<bool>());
    EXPECT_EQ(BlockWork(d.target).ToDecimal(), h["work"]);
  }
}

TEST(VectorsTest, CompactBits) {
  for (const Json& c : Section("compact")) {
    SCOPED_TRACE(c["bits"].get<std::string>());
    CompactDecode d = DecodeCompact(Bits(c["bits"]));
    EXPECT_EQ(d.target.ToHex(), c["target_hex"]);
    EXPECT_EQ(d.negative, c["negative"].get<bool>());
    EXPECT_EQ(d.overflow, c["overflow"].get<bool>());
    EXPECT_EQ(EncodeCompact(d.target), Bits(c["reencoded"]));
  }
  for (const Json& c : Section("compact_encode")) {
    SCOPED_TRACE(c["target_hex"].get<std::string>());
    absl::StatusOr<UInt256> t =
        UInt256::FromHex(c["target_hex"].get<std::string>());
    ASSERT_TRUE(t.ok()) << t.status();
    EXPECT_EQ(EncodeCompact(*t), Bits(c["bits"]));
  }
}

TEST(VectorsTest, Genesis) {
  for (const Json& g : Section("genesis")) {
    const std::string json = g["json"].dump();
    absl::StatusOr<ChainParams> params = ParseGenesis(json);
    ASSERT_TRUE(params.ok()) << params.status();
    EXPECT_EQ(params->CanonicalText(), g["canonical_text"]);
    Block genesis = MakeGenesisBlock(*params);
    ASSERT_EQ(genesis.txs.size(), g["tx_encodings"].size());
    for (size_t i = 0; i < genesis.txs.size(); ++i) {
      SCOPED_TRACE(i);
      EXPECT_EQ(HexEncode(genesis.txs[i].Encode()), g["tx_encodings"][i]);
      EXPECT_EQ(genesis.txs[i].Id().ToDisplayHex(), g["txids_display"][i]);
    }
    EXPECT_EQ(genesis.header.merkle_root.ToDisplayHex(), g["merkle_display"]);
    EXPECT_EQ(HexEncode(genesis.header.Serialize()), g["header_hex"]);
    EXPECT_EQ(genesis.Hash().ToDisplayHex(), g["hash_display"]);
    EXPECT_EQ(HexEncode(genesis.Encode()), g["block_encoding"]);
    // ToJson -> FromJson keeps every parameter (so the same genesis).
    absl::StatusOr<ChainParams> again = ChainParams::FromJson(params->ToJson());
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_EQ(*again, *params);
  }
}

TEST(VectorsTest, Blocks) {
  for (const Json& b : Section("blocks")) {
    SCOPED_TRACE(b["name"].get<std::string>());
    Block block;
    for (const Json& t : b["txs"]) block.txs.push_back(TxWithSignature(t));
    const Json& h = b["header"];
    block.header.version = h["version"].get<uint32_t>();
    block.header.prev_hash = Display(h["prev_display"]);
    block.header.time = h["time"].get<uint32_t>();
    block.header.bits = Bits(h["bits"]);
    block.header.nonce = h["nonce"].get<uint32_t>();
    block.header.merkle_root = BlockMerkleRoot(block);
    EXPECT_EQ(block.header.merkle_root.ToDisplayHex(), b["merkle_display"]);
    EXPECT_EQ(HexEncode(block.header.Serialize()), b["header_hex"]);
    EXPECT_EQ(block.Hash().ToDisplayHex(), b["hash_display"]);
    EXPECT_EQ(block.ConsensusSize(), b["consensus_size"].get<size_t>());
    EXPECT_EQ(HexEncode(block.Encode()), b["encoding"]);
    absl::StatusOr<Block> decoded = Block::Decode(Hex(b["encoding"]));
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(*decoded, block);
  }
}

TEST(VectorsTest, Difficulty) {
  for (const Json& c : Section("difficulty")) {
    SCOPED_TRACE(c["name"].get<std::string>());
    DifficultyParams p;
    p.target_interval_ms = c["target_interval_ms"].get<int64_t>();
    p.difficulty_window = c["difficulty_window"].get<int>();
    p.pow_limit = DecodeCompact(Bits(c["pow_limit_bits"])).target;
    p.genesis_bits = Bits(c["genesis_bits"]);
    std::vector<BlockTimeBits> window;
    for (const Json& w : c["window"]) {
      window.push_back({w[0].get<int64_t>(), Bits(w[1])});
    }
    EXPECT_EQ(NextBits(window, p), Bits(c["next_bits"]));
  }
}

TEST(VectorsTest, MedianTimePast) {
  for (const Json& c : Section("median_time_past")) {
    std::vector<int64_t> times = c["times"].get<std::vector<int64_t>>();
    EXPECT_EQ(MedianTime(times), c["median"].get<int64_t>()) << c["times"];
  }
}

}  // namespace
}  // namespace pbchain
