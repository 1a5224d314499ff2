// NodeClient against nodes that are down or hang: every call ends by its
// deadline with a message naming the node.
#include "client/node_client.h"

#include <string>

#include "gtest/gtest.h"
#include "tests/client/client_harness.h"

namespace pbchain::client {
namespace {

// Addresses are checked by pbchain::ParseHostPort (common/host_port.h),
// the parser every pbchain program uses.
TEST(NodeClientTest, CreateChecksTheAddress) {
  for (const char* bad :
       {"", "nohostport", "127.0.0.1", "127.0.0.1:", ":7701", "127.0.0.1:0",
        "127.0.0.1:65536", "127.0.0.1:77x1", "::1:7701", "[::1:7701",
        "dns:///localhost:7701", "unix:/tmp/sock", "host name:7701"}) {
    NodeClientOptions opts;
    opts.address = bad;
    absl::StatusOr<std::unique_ptr<NodeClient>> node = NodeClient::Create(opts);
    EXPECT_EQ(node.status().code(), absl::StatusCode::kInvalidArgument)
        << "'" << bad << "'";
    EXPECT_EQ(node.status().message().rfind("node address", 0), 0u)
        << node.status();
  }
  for (const char* good : {"127.0.0.1:7701", "[::1]:7701", "localhost:1",
                           "node-1.example:65535"}) {
    NodeClientOptions opts;
    opts.address = good;
    absl::StatusOr<std::unique_ptr<NodeClient>> node = NodeClient::Create(opts);
    EXPECT_TRUE(node.ok()) << good << ": " << node.status();
  }
}

TEST(NodeClientTest, DownNodeIsUnavailableNamingTheAddress) {
  NodeClientOptions opts;
  opts.address = "127.0.0.1:" + std::to_string(testing::DeadPort());
  opts.call_timeout = absl::Seconds(20);
  absl::StatusOr<std::unique_ptr<NodeClient>> node = NodeClient::Create(opts);
  ASSERT_TRUE(node.ok()) << node.status();
  absl::StatusOr<v1::GetInfoResponse> info = (*node)->GetInfo();
  EXPECT_EQ(info.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(info.status().message().rfind(
                "cannot reach node at " + opts.address + ": ", 0),
            0u)
      << info.status();
  absl::Status watch = (*node)->WatchTips(
      true, [](const v1::WatchTipsResponse&) { return true; });
  EXPECT_EQ(watch.code(), absl::StatusCode::kUnavailable) << watch;
}

TEST(NodeClientTest, HangingNodeHitsTheDeadline) {
  testing::SilentServer silent;
  NodeClientOptions opts;
  opts.address = silent.address();
  opts.call_timeout = absl::Milliseconds(500);
  absl::StatusOr<std::unique_ptr<NodeClient>> node = NodeClient::Create(opts);
  ASSERT_TRUE(node.ok()) << node.status();
  absl::StatusOr<v1::GetAccountResponse> acct = (*node)->GetAccount(Address());
  EXPECT_EQ(acct.status().code(), absl::StatusCode::kDeadlineExceeded)
      << acct.status();
  EXPECT_EQ(acct.status().message(),
            "node at " + opts.address + " did not answer within 500ms");
  // A bounded WatchTips ends OK at its max duration.
  absl::Status watch = (*node)->WatchTips(
      true, [](const v1::WatchTipsResponse&) { return true; },
      absl::Milliseconds(300));
  EXPECT_TRUE(watch.ok()) << watch;
}

TEST(NodeClientTest, CancelStreamsEndsAWatch) {
  testing::SilentServer silent;
  NodeClientOptions opts;
  opts.address = silent.address();
  absl::StatusOr<std::unique_ptr<NodeClient>> node = NodeClient::Create(opts);
  ASSERT_TRUE(node.ok());
  (*node)->CancelStreams();  // cancels this and later streams
  absl::Status watch = (*node)->WatchTips(
      true, [](const v1::WatchTipsResponse&) { return true; });
  EXPECT_EQ(watch.code(), absl::StatusCode::kCancelled) << watch;
}

}  // namespace
}  // namespace pbchain::client
