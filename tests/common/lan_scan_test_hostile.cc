// `pbtool scan` against a hostile host (an in-process gRPC server in this
// test serving NodeService.GetInfo on 127.0.0.1): an answer larger than
// kMaxScanAnswerBytes (here: a big unknown field) fails the probe instead of
// being kept, and a chain id / version / node id carrying ESC and other
// control bytes is printed escaped (\xNN) in text and as JSON escapes
// (\u001b) with --json, never raw.
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/lan_scan.h"
#include "google/protobuf/unknown_field_set.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "pbchain/v1/node.grpc.pb.h"
#include "tools/pbtool/scan.h"

namespace pbchain {
namespace {

class FakeNode final : public v1::NodeService::Service {
 public:
  void Set(v1::GetInfoResponse info) {
    absl::MutexLock lock(&mu_);
    info_ = std::move(info);
  }
  grpc::Status GetInfo(grpc::ServerContext*, const v1::GetInfoRequest*,
                       v1::GetInfoResponse* out) override {
    absl::MutexLock lock(&mu_);
    *out = info_;
    return grpc::Status::OK;
  }

 private:
  absl::Mutex mu_;
  v1::GetInfoResponse info_ ABSL_GUARDED_BY(mu_);
};

class HostileScanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port_);
    builder.RegisterService(&node_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
  }
  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
  }
  // pbtool scan 127.0.0.1/32 --ports PORT [--json]; stdout.
  std::string Scan(bool json, int* code) {
    scan::ScanCommandOptions options;
    options.cidr = "127.0.0.1/32";
    options.ports = std::to_string(port_);
    options.json = json;
    options.neighbour_table = "/nonexistent/arp";  // the subnet alone
    options.timeout_ms = "5000";  // an answer, not the deadline, decides
    std::ostringstream out, err;
    *code = scan::RunScanCommand(options, out, err);
    return out.str();
  }
  v1::GetInfoResponse Honest() {
    v1::GetInfoResponse info;
    info.set_chain_id("pbchain-test");
    info.set_version("0.1.0");
    info.set_node_id("abcd");
    info.set_height(7);
    info.set_role(v1::PEER_ROLE_HEAD);
    return info;
  }

  FakeNode node_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(HostileScanTest, AnHonestAnswerIsListed) {
  node_.Set(Honest());
  int code = -1;
  const std::string text = Scan(false, &code);
  EXPECT_EQ(code, 0);
  EXPECT_TRUE(absl::StrContains(text, "1 node(s) found")) << text;
  EXPECT_TRUE(absl::StrContains(text, "chain id pbchain-test, role head"))
      << text;
}

TEST_F(HostileScanTest, AnAnswerOverTheLimitIsRefused) {
  v1::GetInfoResponse info = Honest();
  // Unknown field 1000: a host may send anything; the probe's receive
  // limit refuses it before it is parsed, let alone kept.
  info.GetReflection()->MutableUnknownFields(&info)->AddLengthDelimited(
      1000, std::string(kMaxScanAnswerBytes + 1, 'x'));
  node_.Set(info);
  int code = -1;
  const std::string text = Scan(false, &code);
  EXPECT_EQ(code, 0);
  EXPECT_TRUE(absl::StrContains(text, "no nodes found")) << text;
  const std::string json = Scan(true, &code);
  EXPECT_EQ(code, 0);
  EXPECT_EQ(nlohmann::json::parse(json, nullptr, false),
            nlohmann::json::array())
      << json;

  // Just under the limit is an answer like any other.
  info = Honest();
  info.GetReflection()->MutableUnknownFields(&info)->AddLengthDelimited(
      1000, std::string(kMaxScanAnswerBytes - 1024, 'x'));
  node_.Set(info);
  EXPECT_TRUE(absl::StrContains(Scan(false, &code), "1 node(s) found"));
}

TEST_F(HostileScanTest, ControlBytesAreEscaped) {
  v1::GetInfoResponse info = Honest();
  info.set_chain_id("evil\x1b[2J");
  info.set_version("1\x07\x1b]0;title\x07");
  info.set_node_id("id\r\nfake line\\");
  node_.Set(info);
  int code = -1;
  const std::string text = Scan(false, &code);
  EXPECT_EQ(code, 0);
  EXPECT_TRUE(absl::StrContains(text, "1 node(s) found")) << text;
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << text;
  EXPECT_EQ(text.find('\x07'), std::string::npos) << text;
  EXPECT_EQ(text.find('\r'), std::string::npos) << text;
  EXPECT_TRUE(absl::StrContains(text, "chain id evil\\x1b[2J, role head"))
      << text;
  EXPECT_TRUE(absl::StrContains(text, "version 1\\x07\\x1b]0;title\\x07"))
      << text;
  EXPECT_TRUE(absl::StrContains(text, "node id id\\x0d\\x0afake line\\\\\n"))
      << text;

  // JSON: escaped by the serializer, the exact bytes when parsed back.
  const std::string json = Scan(true, &code);
  EXPECT_EQ(code, 0);
  EXPECT_EQ(json.find('\x1b'), std::string::npos) << json;
  EXPECT_TRUE(absl::StrContains(json, "\\u001b")) << json;
  nlohmann::json doc = nlohmann::json::parse(json, nullptr, false);
  ASSERT_TRUE(doc.is_array() && doc.size() == 1) << json;
  EXPECT_EQ(doc[0].value("chain_id", ""), info.chain_id());
  EXPECT_EQ(doc[0].value("node_id", ""), info.node_id());
}

}  // namespace
}  // namespace pbchain
