// HttpGateway in process, over a fake NodeService (only what each test
// needs), for what a real node cannot show quickly: the size cap of
// GET /v1/blocks with blocks near the consensus size limit, and the
// gateway's pure helpers. The real node is tested in gateway_test.cc.
#include "node/http/http_gateway.h"

#include <httplib.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "pbchain/v1/node.grpc.pb.h"

namespace pbchain {
namespace {

using json = nlohmann::json;

// Writes main-chain "blocks" from..to, each carrying `payload` bytes.
class FakeBlocksWriter final
    : public grpc::ServerWriteReactor<v1::GetBlocksResponse> {
 public:
  FakeBlocksWriter(uint64_t from, uint64_t to, size_t payload)
      : next_(from), to_(to), payload_(payload) {
    WriteNext();
  }
  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "gone"));
      return;
    }
    WriteNext();
  }
  void OnDone() override { delete this; }

 private:
  void WriteNext() {
    if (next_ > to_) {
      Finish(grpc::Status::OK);
      return;
    }
    message_.Clear();
    message_.set_height(next_);
    message_.set_hash(std::string(32, '\x01'));
    message_.mutable_block()->add_transactions()->mutable_record()->set_payload(
        std::string(payload_, 'x'));
    ++next_;
    StartWrite(&message_);
  }

  uint64_t next_;
  const uint64_t to_;
  const size_t payload_;
  v1::GetBlocksResponse message_;
};

class FakeNode final : public v1::NodeService::CallbackService {
 public:
  static constexpr uint64_t kTip = 50;
  static constexpr size_t kPayload = 1'500'000;  // ~2 MB of base64 JSON

  grpc::ServerUnaryReactor* GetInfo(grpc::CallbackServerContext* ctx,
                                    const v1::GetInfoRequest*,
                                    v1::GetInfoResponse* response) override {
    response->set_height(kTip);
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
  grpc::ServerWriteReactor<v1::GetBlocksResponse>* GetBlocks(
      grpc::CallbackServerContext*,
      const v1::GetBlocksRequest* request) override {
    const uint64_t to =
        request->has_to_height() ? std::min(request->to_height(), kTip) : kTip;
    return new FakeBlocksWriter(request->from_height(), to, kPayload);
  }
};

class HttpGatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    HttpGatewayOptions options;
    options.listen = "127.0.0.1:0";
    absl::StatusOr<std::unique_ptr<HttpGateway>> gateway = HttpGateway::Create(
        options, server_->InProcessChannel(grpc::ChannelArguments()));
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    gateway_ = std::move(*gateway);
    absl::StatusOr<int> port = gateway_->Start();
    ASSERT_TRUE(port.ok()) << port.status();
    port_ = *port;
  }
  void TearDown() override {
    if (gateway_) gateway_->Shutdown();
    if (server_) {
      server_->Shutdown();
      server_->Wait();
    }
  }

  FakeNode service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<HttpGateway> gateway_;
  int port_ = 0;
};

TEST_F(HttpGatewayTest, BlocksResponseStopsBeforeTheSizeCap) {
  httplib::Client client("127.0.0.1", port_);
  client.set_read_timeout(std::chrono::seconds(30));
  httplib::Result r = client.Get("/v1/blocks?from=0&to=40");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  ASSERT_EQ(r->status, 200) << r->body.substr(0, 300);
  EXPECT_LE(r->body.size(), kHttpMaxBlocksResponseBytes);
  json body = json::parse(r->body);
  const size_t n = body["blocks"].size();
  // ~2 MB a block: 4 fit in 8 MiB, far fewer than the 41 asked for.
  EXPECT_EQ(n, 4u);
  EXPECT_EQ(body["blocks"][n - 1]["height"], std::to_string(n - 1));
  EXPECT_EQ(body.value("nextFrom", ""), std::to_string(n));
  EXPECT_EQ(body["tipHeight"], "50");
  // The next page goes on from there.
  httplib::Result next =
      client.Get(("/v1/blocks?from=" + std::to_string(n) + "&to=40").c_str());
  ASSERT_TRUE(next);
  ASSERT_EQ(next->status, 200);
  EXPECT_EQ(json::parse(next->body)["blocks"][0]["height"], std::to_string(n));
  // A route the fake does not implement: UNIMPLEMENTED -> 501.
  httplib::Result peers = client.Get("/v1/peers");
  ASSERT_TRUE(peers);
  EXPECT_EQ(peers->status, 501);
  EXPECT_EQ(json::parse(peers->body)["status"], "UNIMPLEMENTED");
}

TEST_F(HttpGatewayTest, ListensOnIpv6LoopbackAndLocalhost) {
  for (const char* listen : {"[::1]:0", "localhost:0"}) {
    HttpGatewayOptions options;
    options.listen = listen;
    absl::StatusOr<std::unique_ptr<HttpGateway>> gateway = HttpGateway::Create(
        options, server_->InProcessChannel(grpc::ChannelArguments()));
    ASSERT_TRUE(gateway.ok()) << gateway.status();
    absl::StatusOr<int> port = (*gateway)->Start();
    ASSERT_TRUE(port.ok()) << listen << ": " << port.status();
    EXPECT_GT(*port, 0);
    httplib::Client client(std::string(listen).rfind("[", 0) == 0 ? "::1"
                                                                  : "localhost",
                           *port);
    httplib::Result r = client.Get("/v1/info");
    ASSERT_TRUE(r) << listen << ": " << httplib::to_string(r.error());
    EXPECT_EQ(r->status, 200) << listen;
    (*gateway)->Shutdown();
  }
}

// A listen host is an IP address or "localhost": other names are not looked
// up (no DNS query), even one this machine resolves (its own hostname, from
// /etc/hosts).
TEST_F(HttpGatewayTest, HostNamesOtherThanLocalhostAreNotResolved) {
  char name[256] = {};
  ASSERT_EQ(gethostname(name, sizeof name - 1), 0);
  HttpGatewayOptions options;
  options.listen = std::string(name) + ":0";
  absl::StatusOr<std::unique_ptr<HttpGateway>> gateway = HttpGateway::Create(
      options, server_->InProcessChannel(grpc::ChannelArguments()));
  ASSERT_TRUE(gateway.ok()) << gateway.status();
  absl::StatusOr<int> port = (*gateway)->Start();
  ASSERT_FALSE(port.ok()) << options.listen;
  EXPECT_EQ(port.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(port.status().message().find(options.listen), std::string::npos)
      << port.status();
}

TEST(HttpGatewayHelpersTest, ListenAddress) {
  auto a = ParseHttpListenAddress("127.0.0.1:7800");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 7800);
  auto v6 = ParseHttpListenAddress("[::1]:0");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 0);
  for (const char* bad : {"", "127.0.0.1", ":80", "h:", "h:65536", "h:-1",
                          "h:8o", "::1:80", "h:123456"}) {
    EXPECT_FALSE(ParseHttpListenAddress(bad).ok()) << bad;
  }
  EXPECT_FALSE(HttpGateway::Create(
                   {.listen = "nohost"},
                   grpc::CreateChannel("127.0.0.1:1",
                                       grpc::InsecureChannelCredentials()))
                   .ok());
}

TEST(HttpGatewayHelpersTest, GrpcToHttpStatus) {
  using C = grpc::StatusCode;
  EXPECT_EQ(HttpStatusFromGrpc(C::OK), 200);
  EXPECT_EQ(HttpStatusFromGrpc(C::INVALID_ARGUMENT), 400);
  EXPECT_EQ(HttpStatusFromGrpc(C::FAILED_PRECONDITION), 400);
  EXPECT_EQ(HttpStatusFromGrpc(C::OUT_OF_RANGE), 400);
  EXPECT_EQ(HttpStatusFromGrpc(C::UNAUTHENTICATED), 401);
  EXPECT_EQ(HttpStatusFromGrpc(C::PERMISSION_DENIED), 403);
  EXPECT_EQ(HttpStatusFromGrpc(C::NOT_FOUND), 404);
  EXPECT_EQ(HttpStatusFromGrpc(C::ALREADY_EXISTS), 409);
  EXPECT_EQ(HttpStatusFromGrpc(C::ABORTED), 409);
  EXPECT_EQ(HttpStatusFromGrpc(C::RESOURCE_EXHAUSTED), 429);
  EXPECT_EQ(HttpStatusFromGrpc(C::CANCELLED), 499);
  EXPECT_EQ(HttpStatusFromGrpc(C::UNIMPLEMENTED), 501);
  EXPECT_EQ(HttpStatusFromGrpc(C::UNAVAILABLE), 503);
  EXPECT_EQ(HttpStatusFromGrpc(C::DEADLINE_EXCEEDED), 504);
  EXPECT_EQ(HttpStatusFromGrpc(C::INTERNAL), 500);
  EXPECT_EQ(HttpStatusFromGrpc(C::DATA_LOSS), 500);
  EXPECT_EQ(HttpStatusFromGrpc(C::UNKNOWN), 500);
}

}  // namespace
}  // namespace pbchain
