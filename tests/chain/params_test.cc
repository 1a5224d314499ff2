#include "chain/params.h"

#include "gtest/gtest.h"
#include "tests/chain/test_chain.h"

namespace pbchain {
namespace {

TEST(ParamsTest, JsonRoundTripAndGenesisPow) {
  ChainParams p = testing::TestParams(3);
  absl::StatusOr<ChainParams> back = ParseGenesis(p.ToJson());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, p);
  EXPECT_EQ(MakeGenesisBlock(*back).Hash(), MakeGenesisBlock(p).Hash());
}

TEST(ParamsTest, GenesisHashCommitsToEveryParam) {
  ChainParams p = testing::TestParams(1);
  Hash256 base = MakeGenesisBlock(p).Hash();
  ChainParams q = p;
  q.block_reward += 1;
  EXPECT_NE(MakeGenesisBlock(q).Hash(), base);
  q = p;
  q.target_interval_ms += 1;
  EXPECT_NE(MakeGenesisBlock(q).Hash(), base);
  q = p;
  q.allocations[0].amount += 1;
  EXPECT_NE(MakeGenesisBlock(q).Hash(), base);
}

TEST(ParamsTest, WrongNonceIsRejected) {
  ChainParams p;
  p.genesis_bits = 0x1f00ffff;  // 1 in 65536 hashes
  ASSERT_TRUE(MineGenesis(p).ok());
  EXPECT_TRUE(ParseGenesis(p.ToJson()).ok());
  p.genesis_nonce += 1;
  EXPECT_FALSE(ParseGenesis(p.ToJson()).ok());
}

TEST(ParamsTest, GenesisMustFitInABlock) {
  ChainParams p = testing::TestParams(1);
  p.allocations.assign(1200, p.allocations[0]);
  absl::StatusOr<ChainParams> back = ChainParams::FromJson(p.ToJson());
  EXPECT_EQ(back.status().code(), absl::StatusCode::kInvalidArgument);
  p.allocations.resize(500);
  ASSERT_TRUE(ChainParams::FromJson(p.ToJson()).ok());
  Block g = MakeGenesisBlock(p);
  EXPECT_TRUE(Block::Decode(g.Encode()).ok());
}

TEST(ParamsTest, NumbersAreStrictDecimalOrHex) {
  std::string base = testing::TestParams(1).ToJson();
  auto reward = [&](const std::string& value) {
    std::string j = base;
    size_t pos = j.find("\"block_reward\"");
    size_t colon = j.find(':', pos);
    size_t end = j.find_first_of(",\n", colon);
    return ChainParams::FromJson(j.substr(0, colon + 1) + " " + value +
                                 j.substr(end));
  };
  EXPECT_EQ(reward("\"010\"")->block_reward, 10u);  // not octal
  EXPECT_EQ(reward("\"0x10\"")->block_reward, 16u);
  EXPECT_FALSE(reward("\"-1\"").ok());
  EXPECT_FALSE(reward("\" 7\"").ok());
  EXPECT_FALSE(reward("\"+7\"").ok());
  EXPECT_FALSE(reward("\"99999999999999999999999\"").ok());
}

TEST(ParamsTest, BadFieldsAreNamed) {
  auto err = [](std::string json) {
    return std::string(ChainParams::FromJson(json).status().message());
  };
  EXPECT_NE(err("not json").find("JSON"), std::string::npos);
  EXPECT_NE(err("{}").find("chain_id"), std::string::npos);
  std::string base = testing::TestParams(1).ToJson();
  auto with = [&](const std::string& field, const std::string& value) {
    std::string j = base;
    size_t pos = j.find("\"" + field + "\"");
    size_t colon = j.find(':', pos);
    size_t end = j.find_first_of(",\n", colon);
    return j.substr(0, colon + 1) + " " + value + j.substr(end);
  };
  EXPECT_NE(err(with("target_interval_ms", "0")).find("target_interval_ms"),
            std::string::npos);
  EXPECT_NE(err(with("block_reward", "-5")).find("block_reward"),
            std::string::npos);
  EXPECT_NE(err(with("genesis_bits", "\"0x01003456\"")).find("genesis_bits"),
            std::string::npos);
  EXPECT_NE(err(with("chain_id", "\"\"")).find("chain_id"), std::string::npos);
  EXPECT_FALSE(LoadGenesisFile("/nonexistent/genesis.json").ok());
}

}  // namespace
}  // namespace pbchain
