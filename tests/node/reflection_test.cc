// buf curl (npm @bufbuild/buf, installed by tools/lint-proto.sh) against a
// real pbnode: everything it knows comes from server reflection.
#include <array>
#include <cstdio>
#include <fstream>
#include <regex>

#include "chain/params.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/chain/test_chain.h"
#include "tests/util/process.h"

namespace pbchain {
namespace {

using testing::ChildProcess;
using testing::TempDir;

const std::string kBuf =
    std::string(PBCHAIN_SOURCE_DIR) + "/tools/node_modules/.bin/buf";


TEST(ReflectionTest, BufCurlListsDescribesAndCallsThroughReflection) {
  ASSERT_EQ(access(kBuf.c_str(), X_OK), 0)
      << kBuf << " missing: run tools/lint-proto.sh";
  TempDir dir("reflection");
  ChainParams p = testing::TestParams(1);
  const std::string genesis = dir.Sub("genesis.json");
  std::ofstream(genesis) << p.ToJson();
  ChildProcess node(std::string(PBCHAIN_BIN_DIR) + "/pbnode",
                    {"--listen=127.0.0.1:0", "--datadir=" + dir.Sub("data"),
                     "--genesis=" + genesis},
                    dir.Sub("pbnode.log"));
  std::optional<std::string> line = node.ReadLine(std::chrono::seconds(30));
  std::smatch m;
  ASSERT_TRUE(line &&
              std::regex_search(*line, m, std::regex("listening on (\\S+)")));
  const std::string url = "http://" + m[1].str();
  const std::string buf = kBuf +
                          " curl --protocol grpc --http2-prior-knowledge "
                          "--reflect-protocol grpc-v1alpha ";
  int code = 0;

  std::string services = testing::RunShellCommand(buf + "--list-services " + url, &code);
  ASSERT_EQ(code, 0) << services;
  EXPECT_NE(services.find("pbchain.v1.NodeService"), std::string::npos)
      << services;
  EXPECT_NE(services.find("grpc.health.v1.Health"), std::string::npos)
      << services;

  // The service's description: every method, with its request/response types
  // resolved through reflection.
  std::string methods = testing::RunShellCommand(buf + "--list-methods " + url, &code);
  ASSERT_EQ(code, 0) << methods;
  for (const char* method :
       {"GetInfo", "GetBlock", "GetHeaders", "GetBlocks", "BroadcastBlock",
        "GetBlockTemplate", "SubmitTransaction", "GetTransaction", "GetAccount",
        "GetMempool", "GetRecords", "ListPeers", "WatchTips"}) {
    EXPECT_NE(methods.find(std::string("pbchain.v1.NodeService/") + method),
              std::string::npos)
        << method << " in:\n"
        << methods;
  }

  std::string info =
      testing::RunShellCommand(buf + url + "/pbchain.v1.NodeService/GetInfo", &code);
  ASSERT_EQ(code, 0) << info;
  nlohmann::json j = nlohmann::json::parse(info, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << info;
  EXPECT_EQ(j["chainId"], p.chain_id);
  EXPECT_EQ(j["genesisHash"].is_string(), true);

  std::string health =
      testing::RunShellCommand(buf + url + "/grpc.health.v1.Health/Check", &code);
  ASSERT_EQ(code, 0) << health;
  EXPECT_NE(health.find("SERVING"), std::string::npos) << health;

  // A bad request through reflection gets a clear gRPC status, not a crash.
  std::string bad = testing::RunShellCommand(buf + "--data '{\"address\":\"nope\"}' " + url +
                                   "/pbchain.v1.NodeService/GetAccount",
                               &code);
  EXPECT_NE(code, 0);
  EXPECT_NE(bad.find("invalid_argument"), std::string::npos) << bad;

  node.Kill(SIGTERM);
  EXPECT_EQ(node.Wait(std::chrono::seconds(20)), 0);
}

}  // namespace
}  // namespace pbchain
