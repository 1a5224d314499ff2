// Health follows the node's state (docs/PROTOCOL.md "Health"): a node
// started late against a peer far ahead reports NOT_SERVING for
// pbchain.v1.NodeService and for the whole server ("") while it catches up,
// SERVING once it has, and NOT_SERVING again as soon as it shuts down.
//
// The source mines kBlocks blocks (easiest bits, no retargeting: as fast as
// it can store them), restarts without mining, and the fresh node reaches
// it through a TcpProxy that is cut until the test watches the fresh node's
// health (Health/Watch streams every change, so a short spell is seen).
//
// A peer's claims are no evidence: a scripted peer whose Hello says height
// 4e9 and more work, and that never answers the header request this draws,
// leaves the node SERVING (it used to hold it at NOT_SERVING).
#include <iostream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/network/gossip_client.h"
#include "tests/network/net_harness.h"
#include "tests/network/tcp_proxy.h"
#include "tests/ops/health_watch.h"

namespace pbchain::opstest {
namespace {

using nettest::GenesisConfig;
using nettest::NodeConfig;
using nettest::NodeProcess;
using nettest::TestNet;

// Well past pbnode's kFarBehindBlocks (10).
constexpr uint64_t kBlocks = 400;
constexpr absl::Duration kWait = absl::Seconds(60);

TEST(HealthTest, NotServingWhileFarBehindServingWhenCaughtUpAndAtShutdown) {
  TestNet net("ops_health", GenesisConfig{.target_interval_ms = 1000,
                                          .bits = "0x207fffff",
                                          .difficulty_window = 0,
                                          .max_future_block_time_s = 3600});
  ASSERT_TRUE(net.ok());
  NodeProcess* source = net.StartNode("source", NodeConfig{.mine = true});
  ASSERT_NE(source, nullptr);
  ASSERT_TRUE(nettest::WaitFor(
      [&](std::string& seen) {
        absl::StatusOr<v1::GetInfoResponse> info = source->Info();
        seen = info.ok() ? absl::StrCat("height ", info->height())
                         : info.status().ToString();
        return info.ok() && info->height() >= kBlocks;
      },
      absl::Seconds(120), "the source to mine its blocks",
      absl::Milliseconds(200)));
  ASSERT_TRUE(net.RestartNode(source, NodeConfig{}));  // stops mining
  absl::StatusOr<v1::GetInfoResponse> source_info = source->Info();
  ASSERT_TRUE(source_info.ok()) << source_info.status();

  std::unique_ptr<nettest::TcpProxy> proxy =
      nettest::TcpProxy::Start(nettest::PortOf(source->address()));
  ASSERT_NE(proxy, nullptr);
  proxy->Cut();
  NodeProcess* fresh =
      net.StartNode("fresh", NodeConfig{.peers = {proxy->address()}});
  ASSERT_NE(fresh, nullptr);
  HealthWatch node_service(fresh->address(), "pbchain.v1.NodeService");
  HealthWatch whole(fresh->address(), "");
  // No peer yet: nothing says it is behind.
  ASSERT_TRUE(node_service.WaitFor(HealthResponse::SERVING, kWait))
      << node_service.SeenText();
  ASSERT_TRUE(whole.WaitFor(HealthResponse::SERVING, kWait))
      << whole.SeenText();
  const size_t before = node_service.seen().size();
  const size_t whole_before = whole.seen().size();

  proxy->Heal();  // the fresh node meets the source, far ahead
  EXPECT_TRUE(
      node_service.WaitForAfter(before, HealthResponse::NOT_SERVING, kWait))
      << node_service.SeenText() << "\n"
      << fresh->LogTail();
  EXPECT_TRUE(
      whole.WaitForAfter(whole_before, HealthResponse::NOT_SERVING, kWait))
      << whole.SeenText();
  ASSERT_TRUE(nettest::WaitFor(
      [&](std::string& seen) {
        absl::StatusOr<v1::GetInfoResponse> info = fresh->Info();
        seen = info.ok() ? absl::StrCat("height ", info->height())
                         : info.status().ToString();
        return info.ok() && info->height() == source_info->height();
      },
      kWait, "the fresh node to sync"));
  // Caught up: SERVING again, after the NOT_SERVING spell.
  std::vector<HealthResponse::ServingStatus> seen = node_service.seen();
  size_t not_serving = before;
  while (not_serving < seen.size() &&
         seen[not_serving] != HealthResponse::NOT_SERVING) {
    ++not_serving;
  }
  EXPECT_TRUE(node_service.WaitForAfter(not_serving + 1,
                                        HealthResponse::SERVING, kWait))
      << node_service.SeenText();
  size_t whole_not_serving = whole.seen().size();
  EXPECT_TRUE(
      whole.WaitForAfter(whole_not_serving - 1, HealthResponse::SERVING, kWait))
      << whole.SeenText();
  ASSERT_EQ(node_service.seen().back(), HealthResponse::SERVING)
      << node_service.SeenText();

  // Shutdown: NOT_SERVING at once, before the server closes.
  const size_t serving = node_service.seen().size();
  fresh->BeginStop();
  EXPECT_TRUE(node_service.WaitForAfter(serving, HealthResponse::NOT_SERVING,
                                        absl::Seconds(20)))
      << node_service.SeenText();
  EXPECT_EQ(fresh->Stop(), 0);
  std::cout << "NodeService health seen: " << node_service.SeenText() << "\n";
}

TEST(HealthTest, AHelloClaimingAHugeHeightDoesNotMakeTheNodeNotServing) {
  TestNet net("ops_health_claim", GenesisConfig{});
  ASSERT_TRUE(net.ok());
  NodeProcess* node = net.StartNode("node", NodeConfig{});
  ASSERT_NE(node, nullptr);
  absl::StatusOr<v1::GetInfoResponse> info = node->Info();
  ASSERT_TRUE(info.ok()) << info.status();
  HealthWatch node_service(node->address(), "pbchain.v1.NodeService");
  ASSERT_TRUE(node_service.WaitFor(HealthResponse::SERVING, kWait))
      << node_service.SeenText();
  const size_t before = node_service.seen().size();

  nettest::GossipSession liar(node->address());
  v1::GossipEnvelope hello =
      nettest::MakeHello(info->genesis_hash(), nettest::RandomNodeId());
  hello.mutable_hello()->set_height(4'000'000'000u);
  hello.mutable_hello()->set_chain_work("999999999999999999");
  ASSERT_TRUE(liar.Send(hello));
  // The claim draws a header request, which is never answered.
  ASSERT_TRUE(liar.WaitForMessage(
      [](const v1::GossipEnvelope& m) { return m.has_get_headers(); },
      absl::Seconds(10)))
      << liar.ReceivedSummary();
  absl::StatusOr<v1::GetInfoResponse> now = node->Info();
  ASSERT_TRUE(now.ok()) << now.status();
  EXPECT_TRUE(now->syncing()) << "the header request is not outstanding";
  // Health is looked at every 250 ms (kHealthPollInterval): eight looks
  // with the claim and the request outstanding change nothing.
  EXPECT_FALSE(node_service.WaitForAfter(before, HealthResponse::NOT_SERVING,
                                         absl::Seconds(2)))
      << node_service.SeenText() << "\n"
      << node->LogTail();
  EXPECT_EQ(node_service.seen().back(), HealthResponse::SERVING)
      << node_service.SeenText();
}

}  // namespace
}  // namespace pbchain::opstest
