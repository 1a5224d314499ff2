// The listen address a peer claims in its Hello (pbchain issue 15): a real
// pbnode is told, again and again by inbound peers, that a node listens on
// a port that only accepts TCP connections and closes them at once. The
// node dials that address back once, passes it on to nobody, and does not
// dial it again within the limits of node/p2p/address_book.h however often
// it is claimed.
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/network/gossip_client.h"
#include "tests/network/net_harness.h"
#include "tests/network/tcp_proxy.h"

namespace pbchain::nettest {
namespace {

constexpr absl::Duration kReply = absl::Seconds(20);
// How long peers keep claiming the address: well under the 60 s the node
// waits before a second dial of an address whose first dial failed.
constexpr absl::Duration kClaiming = absl::Seconds(25);

TEST(ClaimedAddressTest,
     AnAddressThatOnlyAcceptsAndClosesIsDialedOnceAndNotKept) {
  TestNet net("claimed_address", GenesisConfig{});
  ASSERT_TRUE(net.ok());
  NodeProcess* node = net.StartNode("node", NodeConfig{});
  ASSERT_NE(node, nullptr);
  absl::StatusOr<v1::GetInfoResponse> info = node->Info();
  ASSERT_TRUE(info.ok()) << info.status();
  const std::string genesis = info->genesis_hash();

  // Accepts every connection and closes it at once (a cut relay), counting.
  std::unique_ptr<TcpProxy> trap = TcpProxy::Start(1);
  ASSERT_NE(trap, nullptr);
  trap->Cut();
  const std::string claimed = trap->address();

  // Peers come, claim the address, ask for addresses, and leave.
  const absl::Time end = absl::Now() + kClaiming;
  int sessions = 0;
  while (absl::Now() < end) {
    GossipSession claimer(node->address());
    v1::GossipEnvelope hello = MakeHello(genesis, RandomNodeId());
    hello.mutable_hello()->set_listen_address(claimed);
    ASSERT_TRUE(claimer.Send(hello));
    ASSERT_TRUE(claimer.WaitForHello(kReply).has_value())
        << claimer.ReceivedSummary();
    ASSERT_TRUE(claimer.PingPong(kReply)) << claimer.ReceivedSummary();
    v1::GossipEnvelope request;
    request.mutable_peer_request()->set_max_count(100);
    ASSERT_TRUE(claimer.Send(request));
    std::optional<v1::GossipEnvelope> list = claimer.WaitForMessage(
        [](const v1::GossipEnvelope& e) { return e.has_peer_list(); }, kReply);
    ASSERT_TRUE(list.has_value()) << claimer.ReceivedSummary();
    for (const v1::PeerInfo& p : list->peer_list().peers()) {
      EXPECT_NE(p.address(), claimed) << "an unverified address passed on";
    }
    ++sessions;
    absl::SleepFor(absl::Seconds(1));
  }
  ASSERT_GE(sessions, 3);

  // One dial (the dial-back while the first claimer was connected), one
  // connection attempt per dial. (That the address is forgotten after it
  // is checked in process, on a fake clock: gossip_protocol_test.)
  EXPECT_TRUE(WaitFor(
      [&](std::string& seen) {
        seen = absl::StrCat(trap->refused_connections(), " connections");
        return trap->refused_connections() >= 1;
      },
      kReply, "the dial-back of the claimed address"));
  EXPECT_LE(trap->refused_connections(), 2) << "dialed again within the limits";
}

}  // namespace
}  // namespace pbchain::nettest
