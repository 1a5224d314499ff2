// HttpServer (node/http/http_server.h) on its own, with a trivial handler and
// small limits, so that what the gateway tests show with a real node in tens
// of seconds shows here in a few: body and header limits, the refusal path,
// streamed bodies, the connection cap, the watchdog cutting trickling
// clients, and Shutdown closing every connection.
#include "node/http/http_server.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/gateway/raw_connection.h"

namespace pbchain {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;

bool WaitFor(const std::function<bool()>& done, seconds limit = seconds(20)) {
  const auto deadline = steady_clock::now() + limit;
  while (steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(50));
  }
  return false;
}

// A streamed body: `pieces`, one per Next, each after `pause`. Counts its
// destructions in `destroyed`.
class PiecesSource final : public HttpBodySource {
 public:
  PiecesSource(std::vector<std::string> pieces, milliseconds pause,
               std::atomic<int>* destroyed)
      : pieces_(std::move(pieces)), pause_(pause), destroyed_(destroyed) {}
  ~PiecesSource() override { ++*destroyed_; }
  std::optional<std::string> Next() override {
    if (next_ == pieces_.size()) return std::nullopt;
    std::this_thread::sleep_for(pause_);
    return pieces_[next_++];
  }

 private:
  const std::vector<std::string> pieces_;
  const milliseconds pause_;
  std::atomic<int>* const destroyed_;
  size_t next_ = 0;
};

// GET /hello: "hello" and what the server parsed ("path|k=v;k=v|bad_query").
// POST /echo: takes a body and answers it. GET /stream: "first", then a
// piece every 100 ms (`stream_pieces` of them). Refusals: "CODE: message".
class TestHandler final : public HttpHandler {
 public:
  bool TakesBody(const HttpRequest& req) const override {
    return req.method == "POST" && req.path == "/echo";
  }
  void Handle(const HttpRequest& req, HttpResponse& res) override {
    ++handled;
    if (req.path == "/echo") {
      res.status = 200;
      res.set_content(req.body, "text/plain");
      return;
    }
    if (req.path == "/stream") {
      res.status = 200;
      res.set_content("first|", "text/plain");
      res.stream = std::make_unique<PiecesSource>(
          std::vector<std::string>(stream_pieces, "x|"), milliseconds(100),
          &streams_destroyed);
      return;
    }
    std::string params;
    for (const auto& [key, value] : req.params) {
      absl::StrAppend(&params, key, "=", value, ";");
    }
    res.status = 200;
    res.set_header("X-Test", "yes");
    res.set_content(
        absl::StrCat("hello|", req.path, "|", params, "|", req.bad_query),
        "text/plain");
  }
  void Refuse(int http_status, const absl::Status& error,
              HttpResponse& res) const override {
    res.status = http_status;
    res.set_content(absl::StrCat(absl::StatusCodeToString(error.code()), ": ",
                                 error.message()),
                    "text/plain");
  }

  int stream_pieces = 3;
  std::atomic<int> handled{0};
  std::atomic<int> streams_destroyed{0};
};

using ::pbchain::testing::RawConnection;

class HttpServerTest : public ::testing::Test {
 protected:
  // Small limits and short deadlines; libmicrohttpd's idle timeout far above
  // them, so that only the watchdog can cut a client within the tests'
  // bounds.
  static HttpServerOptions SmallOptions() {
    HttpServerOptions options;
    options.listen = "127.0.0.1:0";
    options.max_connections = 4;
    options.connection_timeout = seconds(120);
    options.request_head_deadline = milliseconds(1000);
    options.body_deadline = milliseconds(1000);
    options.response_deadline = milliseconds(1000);
    options.max_header_count = 8;
    options.max_request_body_bytes = 16;
    options.max_discarded_body_bytes = 32;
    return options;
  }

  void StartServer(HttpServerOptions options) {
    absl::StatusOr<std::unique_ptr<HttpServer>> server =
        HttpServer::Create(std::move(options), &handler_);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    absl::StatusOr<int> port = server_->Start();
    ASSERT_TRUE(port.ok()) << port.status();
    port_ = *port;
  }
  void SetUp() override { StartServer(SmallOptions()); }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  // Replaces the server of SetUp by one with `options`.
  void RestartWith(HttpServerOptions options) {
    server_->Shutdown();
    server_.reset();
    StartServer(std::move(options));
  }

  std::unique_ptr<httplib::Client> Client() {
    auto client = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client->set_read_timeout(seconds(10));
    return client;
  }

  TestHandler handler_;
  std::unique_ptr<HttpServer> server_;
  int port_ = 0;
};

TEST_F(HttpServerTest, ServesTheHandlerWithTheQueryDecoded) {
  // Raw, so that the target goes out exactly as written ('+' included).
  RawConnection c(port_);
  ASSERT_TRUE(
      c.Send("GET /hello%2Fx?a=1+2&b=%41%42&empty= HTTP/1.1\r\nHost: x\r\n"
             "Connection: close\r\n\r\n"));
  ASSERT_TRUE(c.ReadToEof(milliseconds(5000)));
  EXPECT_EQ(c.status(), 200) << c.received();
  // The path stays escaped (the handler decodes it); the query is decoded.
  const std::string& raw = c.received();
  EXPECT_EQ(raw.substr(raw.find("\r\n\r\n") + 4),
            "hello|/hello%2Fx|a=1 2;b=AB;empty=;|");

  std::unique_ptr<httplib::Client> client = Client();
  httplib::Result r = client->Get("/hello");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/plain");
  EXPECT_EQ(r->get_header_value("X-Test"), "yes");
  EXPECT_EQ(r->get_header_value("X-Content-Type-Options"), "nosniff");

  // A bad escape or invalid UTF-8 in the query is reported to the handler.
  r = client->Get("/hello?a=%zz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello|/hello||query: bad percent-encoding in '%zz'");
  r = client->Get("/hello?k=%C0%80");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "hello|/hello||query parameter 'k': not valid UTF-8");
}

TEST_F(HttpServerTest, BodiesWithinTheLimitAreReadOthersRefused) {
  std::unique_ptr<httplib::Client> client = Client();
  // At the limit: read and echoed.
  httplib::Result r = client->Post("/echo", std::string(16, 'b'), "text/plain");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, std::string(16, 'b'));

  // Over it: refused from the headers (no body sent at all), then closed.
  {
    RawConnection c(port_);
    ASSERT_TRUE(
        c.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n\r\n"));
    ASSERT_TRUE(c.ReadToEof(milliseconds(5000))) << c.received();
    EXPECT_EQ(c.status(), 413) << c.received();
    EXPECT_NE(
        c.received().find("RESOURCE_EXHAUSTED: request body larger than 16"),
        std::string::npos)
        << c.received();
  }
  // Chunked: 411 before any chunk, then closed.
  {
    RawConnection c(port_);
    ASSERT_TRUE(
        c.Send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
               "chunked\r\n\r\n"));
    ASSERT_TRUE(c.ReadToEof(milliseconds(5000))) << c.received();
    EXPECT_EQ(c.status(), 411) << c.received();
    EXPECT_NE(c.received().find("INVALID_ARGUMENT: chunked"), std::string::npos)
        << c.received();
  }
  // Compressed: 415 (the small body is read and dropped).
  r = client->Post("/echo", httplib::Headers{{"Content-Encoding", "gzip"}},
                   "abc", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 415);
  EXPECT_NE(r->body.find("'gzip'"), std::string::npos) << r->body;
  // A malformed Content-Length: 400.
  {
    RawConnection c(port_);
    ASSERT_TRUE(
        c.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n"));
    ASSERT_TRUE(c.ReadToEof(milliseconds(5000))) << c.received();
    // libmicrohttpd may refuse the header itself (400 without our text).
    EXPECT_EQ(c.status(), 400) << c.received();
  }
  // More than max_header_count headers: 431.
  httplib::Headers many;
  for (int i = 0; i < 9; ++i) many.emplace("X-H" + std::to_string(i), "v");
  r = client->Get("/hello", many);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_NE(r->body.find("more than 8 request headers"), std::string::npos)
      << r->body;
  // A body sent to a request that takes none is dropped, not echoed, and the
  // handler still answers.
  r = client->Post("/hello", std::string(10, 'z'), "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello|/hello||");
}

TEST_F(HttpServerTest, StreamedBodyOutlivesTheResponseDeadline) {
  // 15 pieces 100 ms apart: 1.5 s, beyond the 1 s response deadline, which
  // a streamed response does not have.
  handler_.stream_pieces = 15;
  std::unique_ptr<httplib::Client> client = Client();
  httplib::Result r = client->Get("/stream");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
  std::string want = "first|";
  for (int i = 0; i < 15; ++i) want += "x|";
  EXPECT_EQ(r->body, want);
  EXPECT_EQ(r->get_header_value("Transfer-Encoding"), "chunked");
  // The source is destroyed once the response is done.
  EXPECT_TRUE(WaitFor([&] { return handler_.streams_destroyed == 1; }));
}

TEST_F(HttpServerTest, TricklingClientsAreCutByTheirDeadline) {
  // A byte every 100 ms keeps libmicrohttpd's idle timeout (120 s) away:
  // only the watchdog's deadlines (1 s) can cut these. One sends its
  // headers; the other its body, at most 15 of its 16 bytes.
  RawConnection slow_head(port_);
  ASSERT_TRUE(slow_head.Send("GET /hello HTTP/1.1\r\nHost: x\r\nX-A: "));
  RawConnection slow_body(port_);
  ASSERT_TRUE(slow_body.Send(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 16\r\n\r\na"));
  int body_bytes = 1;
  const auto start = steady_clock::now();
  bool head_cut = false;
  bool body_cut = false;
  while (!(head_cut && body_cut) && steady_clock::now() - start < seconds(20)) {
    std::this_thread::sleep_for(milliseconds(100));
    if (!head_cut) {
      head_cut = !slow_head.Send("a") || slow_head.ReadToEof(milliseconds(1));
    }
    if (!body_cut && body_bytes < 15) {
      body_cut = !slow_body.Send("a");
      ++body_bytes;
    }
    body_cut = body_cut || slow_body.ReadToEof(milliseconds(1));
  }
  EXPECT_TRUE(head_cut);
  EXPECT_TRUE(body_cut);
  EXPECT_EQ(handler_.handled, 0);
}

TEST_F(HttpServerTest, ConnectionsBeyondTheCapAreClosed) {
  HttpServerOptions options = SmallOptions();
  options.request_head_deadline = seconds(60);  // the held ones stay
  RestartWith(options);
  std::vector<std::unique_ptr<RawConnection>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<RawConnection>(port_));
    ASSERT_TRUE(held.back()->ok());
    // Each holds a served connection (its request head due in 60 s).
    ASSERT_TRUE(held.back()->Send("GET /hello HTTP/1.1\r\n"));
  }
  std::this_thread::sleep_for(milliseconds(200));
  RawConnection extra(port_);
  ASSERT_TRUE(extra.ok());  // accepted by the kernel...
  extra.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(extra.ReadToEof(milliseconds(5000)));  // ...then closed
  EXPECT_EQ(extra.status(), 0) << extra.received();
  held.clear();
  // Once they are gone, requests are served again.
  EXPECT_TRUE(WaitFor([&] {
    httplib::Result r = Client()->Get("/hello");
    return r && r->status == 200;
  }));
}

TEST_F(HttpServerTest, ShutdownClosesEveryConnection) {
  // An idle keep-alive connection, a request half sent, a stream in
  // progress (a piece every 100 ms, 600 of them). Deadlines long enough
  // that only Shutdown can close them.
  HttpServerOptions options = SmallOptions();
  options.request_head_deadline = seconds(60);
  RestartWith(options);
  RawConnection idle(port_);
  ASSERT_TRUE(idle.Send("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  RawConnection half(port_);
  ASSERT_TRUE(half.Send("GET /hello HTTP/1.1\r\nHost"));
  handler_.stream_pieces = 600;
  RawConnection streaming(port_);
  ASSERT_TRUE(streaming.Send("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::this_thread::sleep_for(milliseconds(300));

  const auto start = steady_clock::now();
  server_->Shutdown();
  EXPECT_LT(steady_clock::now() - start, seconds(10));
  for (RawConnection* c : {&idle, &half, &streaming}) {
    EXPECT_TRUE(c->ReadToEof(milliseconds(2000))) << c->received();
  }
  EXPECT_EQ(idle.status(), 200);
  // Chunked: "first|" then "x|" pieces, each its own chunk.
  EXPECT_NE(streaming.received().find("\r\n6\r\nfirst|\r\n2\r\nx|\r\n"),
            std::string::npos)
      << streaming.received();
  // The stream was cut, not finished.
  EXPECT_EQ(streaming.received().find("\r\n0\r\n\r\n"), std::string::npos);
  EXPECT_EQ(handler_.streams_destroyed, 1);
  // Nothing listens any more; Shutdown again is harmless, Start refused.
  EXPECT_FALSE(RawConnection(port_).ok());
  server_->Shutdown();
  absl::StatusOr<int> again = server_->Start();
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(HttpServerCreateTest, RefusesBadOptionsAndASecondStart) {
  TestHandler handler;
  HttpServerOptions options;
  options.listen = "127.0.0.1";
  EXPECT_EQ(HttpServer::Create(options, &handler).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.listen = "127.0.0.1:0";
  EXPECT_EQ(HttpServer::Create(options, nullptr).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.max_connections = 0;
  EXPECT_EQ(HttpServer::Create(options, &handler).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.max_connections = 1;
  options.body_deadline = milliseconds(0);
  EXPECT_EQ(HttpServer::Create(options, &handler).status().code(),
            absl::StatusCode::kInvalidArgument);
  options.body_deadline = milliseconds(10);
  absl::StatusOr<std::unique_ptr<HttpServer>> server =
      HttpServer::Create(options, &handler);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ((*server)->host(), "127.0.0.1");
  absl::StatusOr<int> port = (*server)->Start();
  ASSERT_TRUE(port.ok()) << port.status();
  EXPECT_GT(*port, 0);
  EXPECT_EQ((*server)->Start().status().code(),
            absl::StatusCode::kFailedPrecondition);
  // The port is taken: a second server on it cannot start.
  options.listen = absl::StrCat("127.0.0.1:", *port);
  absl::StatusOr<std::unique_ptr<HttpServer>> second =
      HttpServer::Create(options, &handler);
  ASSERT_TRUE(second.ok());
  absl::StatusOr<int> taken = (*second)->Start();
  EXPECT_EQ(taken.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(taken.status().message().find(options.listen), std::string::npos)
      << taken.status();
}

TEST(HttpServerHelpersTest, PercentDecodeUtf8AndQuote) {
  EXPECT_EQ(PercentDecode("a%2Fb+c%41"), "a/b+cA");
  EXPECT_EQ(PercentDecode("%"), std::nullopt);
  EXPECT_EQ(PercentDecode("%4"), std::nullopt);
  EXPECT_EQ(PercentDecode("%g1"), std::nullopt);
  EXPECT_TRUE(IsUtf8("plain"));
  EXPECT_TRUE(IsUtf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));  // é € 😀
  EXPECT_FALSE(IsUtf8("\xC0\x80"));                             // overlong
  EXPECT_FALSE(IsUtf8("\xED\xA0\x80"));                         // surrogate
  EXPECT_FALSE(IsUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsUtf8("\xE2\x82"));          // truncated
  EXPECT_EQ(QuoteForMessage("ab"), "'ab'");
  EXPECT_EQ(QuoteForMessage(std::string(100, 'x')),
            "'" + std::string(80, 'x') + "...'");
}

}  // namespace
}  // namespace pbchain
