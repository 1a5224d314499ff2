#include "chain/block.h"

#include "chain/pow.h"
#include "gtest/gtest.h"
#include "tests/chain/test_chain.h"

namespace pbchain {
namespace {

Hash256 D(std::string_view display_hex) {
  return *Hash256::FromDisplayHex(display_hex);
}

TEST(BlockTest, BitcoinBlock100000HeaderHashAndPow) {
  Bytes raw = *HexDecode(
      "0100000050120119172a610421a6c3011dd330d9df07b63616c2cc1f1cd0020000000000"
      "6657a9252aacd5c0"
      "b2940996ecff952228c3067cc38d4885efb5a4ac4247e9f337221b4d4c86041b0f2b571"
      "0");
  absl::StatusOr<BlockHeader> h = BlockHeader::Parse(raw);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->version, 1u);
  EXPECT_EQ(h->time, 1293623863u);
  EXPECT_EQ(h->bits, 0x1b04864cu);
  EXPECT_EQ(h->nonce, 274148111u);
  EXPECT_EQ(
      h->prev_hash,
      D("000000000002d01c1fccc21636b607dfd930d31d01c3a62104612a1719011250"));
  EXPECT_EQ(h->Hash().ToDisplayHex(),
            "000000000003ba27aa200b1cecaad478d2b00432346c3f1f3986da1afd33e506");
  EXPECT_TRUE(HashMeetsTarget(h->Hash(), DecodeCompact(h->bits).target));
  auto back = h->Serialize();
  EXPECT_EQ(Bytes(back.begin(), back.end()), raw);
  BlockHeader tampered = *h;
  tampered.nonce += 1;
  EXPECT_FALSE(HashMeetsTarget(tampered.Hash(), DecodeCompact(h->bits).target));
}

TEST(BlockTest, HeaderParseRejectsWrongSize) {
  EXPECT_FALSE(BlockHeader::Parse(Bytes(79)).ok());
  EXPECT_FALSE(BlockHeader::Parse(Bytes(81)).ok());
}

TEST(BlockTest, BitcoinBlock100000MerkleRoot) {
  std::vector<Hash256> ids = {
      D("8c14f0db3df150123e6f3dbbf30f8b955a8249b62ac1d1ff16284aefa3d06d87"),
      D("fff2525b8931402dd09222c50775608f75787bd2b87e56995a7bdd30f79702c4"),
      D("6359f0868171b1d194cbee1af2f16ea598ae8fad666d9b012c8ed2b79a236ec4"),
      D("e9a66845e05d5abc0ad04ec80f774a7e585c6e8db975962d069a522137b80c1d")};
  bool mutated = true;
  EXPECT_EQ(ComputeMerkleRoot(ids, &mutated).ToDisplayHex(),
            "f3e94742aca4b5ef85488dc37c06c3282295ffec960994b2c0d5ac2a25a95766");
  EXPECT_FALSE(mutated);
}

TEST(BlockTest, MerkleSingleAndOddAndMutation) {
  Hash256 a =
      D("4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b");
  EXPECT_EQ(ComputeMerkleRoot({a}),
            a);  // Bitcoin genesis: root == coinbase txid
  Hash256 b = a, c = a;
  b.bytes[0] ^= 1;
  c.bytes[1] ^= 1;
  bool mutated = true;
  Hash256 odd = ComputeMerkleRoot({a, b, c}, &mutated);
  EXPECT_FALSE(mutated);
  // [a b c] and [a b c c] have the same root: the CVE-2012-2459 ambiguity,
  // which the mutation flag exposes.
  EXPECT_EQ(ComputeMerkleRoot({a, b, c, c}, &mutated), odd);
  EXPECT_TRUE(mutated);
}

TEST(BlockTest, EncodeDecodeRoundTripAndRejectsJunk) {
  ChainParams p = testing::TestParams(2);
  Block genesis = MakeGenesisBlock(p);
  Transaction tx = testing::MakeTransfer(
      p, testing::TestKey(0),
      AddressFromPublicKey(testing::TestKey(1).public_key()), 5, 1, 0,
      DataRecord{"votes", "alice", "a"});
  Block b = testing::MakeBlock(p, genesis.header, 0, {tx});
  Bytes enc = b.Encode();
  absl::StatusOr<Block> back = Block::Decode(enc);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, b);
  EXPECT_EQ(back->Hash(), b.Hash());
  Bytes truncated(enc.begin(), enc.end() - 1);
  EXPECT_FALSE(Block::Decode(truncated).ok());
  Bytes trailing = enc;
  trailing.push_back(0);
  EXPECT_FALSE(Block::Decode(trailing).ok());
  Bytes huge_count = enc;
  WriteLe32(&huge_count[80], 0xffffffffu);
  EXPECT_FALSE(Block::Decode(huge_count).ok());
}

}  // namespace
}  // namespace pbchain
