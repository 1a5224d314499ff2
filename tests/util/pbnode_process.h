// A pbnode process for integration tests: a quick chain's parameters and a
// node started on a datadir, with its address (read from its "listening
// on" line) and a NodeService stub. Shared by the tests under tests/node.
#ifndef PBCHAIN_TESTS_UTIL_PBNODE_PROCESS_H_
#define PBCHAIN_TESTS_UTIL_PBNODE_PROCESS_H_

#include <time.h>

#include <chrono>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "chain/address.h"
#include "chain/params.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "pbchain/v1/node.grpc.pb.h"
#include "tests/chain/test_chain.h"
#include "tests/util/process.h"

namespace pbchain::testing {

inline const std::string& PbnodeBinary() {
  static const std::string path = std::string(PBCHAIN_BIN_DIR) + "/pbnode";
  return path;
}

// A quick network: easy start, LWMA towards 300 ms blocks, test keys 0..2
// funded with 1,000,000 each.
inline ChainParams QuickProcessParams(const std::string& chain_id) {
  ChainParams p;
  p.chain_id = chain_id;
  p.target_interval_ms = 300;
  p.genesis_time = static_cast<uint32_t>(time(nullptr)) - 60;
  p.genesis_bits = 0x1f7fffff;
  p.pow_limit_bits = 0x207fffff;
  p.difficulty_window = 45;
  for (int i = 0; i < 3; ++i) {
    p.allocations.push_back(
        {AddressFromPublicKey(TestKey(i).public_key()), 1'000'000});
  }
  EXPECT_TRUE(MineGenesis(p).ok());
  return p;
}

struct RunningPbnode {
  std::unique_ptr<ChildProcess> process;
  std::unique_ptr<v1::NodeService::Stub> stub;
  std::string address;
};

// pbnode on `datadir` with `genesis`, listening on 127.0.0.1 (a free port),
// stderr to `log`, then `extra` flags. A node that does not report its
// address within `start_timeout` is a test failure (stub left null).
inline RunningPbnode StartPbnode(
    const std::string& datadir, const std::string& genesis,
    const std::string& log, const std::vector<std::string>& extra,
    std::chrono::seconds start_timeout = std::chrono::seconds(60)) {
  std::vector<std::string> args = {
      "--listen=127.0.0.1:0", "--datadir=" + datadir, "--genesis=" + genesis};
  args.insert(args.end(), extra.begin(), extra.end());
  RunningPbnode n;
  n.process = std::make_unique<ChildProcess>(PbnodeBinary(), args, log);
  std::optional<std::string> line = n.process->ReadLine(start_timeout);
  std::smatch m;
  if (!line ||
      !std::regex_search(*line, m, std::regex("listening on (\\S+)"))) {
    ADD_FAILURE() << "pbnode did not report its address; got: "
                  << line.value_or("(nothing)");
    return n;
  }
  n.address = m[1];
  n.stub = v1::NodeService::NewStub(
      grpc::CreateChannel(n.address, grpc::InsecureChannelCredentials()));
  return n;
}

}  // namespace pbchain::testing

#endif  // PBCHAIN_TESTS_UTIL_PBNODE_PROCESS_H_
