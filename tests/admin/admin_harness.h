// Helpers of the admin API tests: a real pbnode with its admin listener
// (addresses read from its first two stdout lines), AdminService and
// NodeService stubs, calls with or without the cookie token, and polling
// with a deadline. Header-only; one test's main thread.
#ifndef PBCHAIN_TESTS_ADMIN_ADMIN_HARNESS_H_
#define PBCHAIN_TESTS_ADMIN_ADMIN_HARNESS_H_

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "pbchain/v1/admin.grpc.pb.h"
#include "pbchain/v1/node.grpc.pb.h"
#include "tests/util/pbnode_process.h"
#include "tests/util/process.h"

namespace pbchain::testing {

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Permission bits of `path`, or -1 if it does not exist.
inline int FileMode(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 0777);
}

// Polls `done` every 50 ms until it holds or `timeout` passes (a bound for
// a broken node, not a timing assertion).
inline bool Eventually(const std::function<bool()>& done,
                       absl::Duration timeout = absl::Seconds(60)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (done()) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return done();
}

struct AdminNode {
  RunningPbnode node;  // process, NodeService stub, public address
  std::string datadir;
  std::string log;
  std::string admin_address;
  std::unique_ptr<v1::AdminService::Stub> admin;

  std::string cookie_path() const { return datadir + "/.cookie"; }
  std::string address_path() const { return datadir + "/.admin-address"; }
  std::string token() const { return ReadText(cookie_path()); }

  v1::GetInfoResponse Info() const {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(10));
    v1::GetInfoResponse info;
    grpc::Status s = node.stub->GetInfo(&ctx, v1::GetInfoRequest(), &info);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return info;
  }
  std::string node_id() const { return Info().node_id(); }
};

// A context with a 10 s deadline and, unless `authorization` is empty, that
// metadata entry.
inline std::unique_ptr<grpc::ClientContext> Ctx(
    const std::string& authorization) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(std::chrono::system_clock::now() +
                    std::chrono::seconds(10));
  if (!authorization.empty()) ctx->AddMetadata("authorization", authorization);
  return ctx;
}

// A context carrying the node's current token.
inline std::unique_ptr<grpc::ClientContext> Authed(const AdminNode& n) {
  return Ctx("Bearer " + n.token());
}

// pbnode on `datadir` (admin listener on by default: 127.0.0.1:0) with
// `extra` flags; the admin address from its second line. Failures are test
// failures (admin stub left null).
inline AdminNode StartAdminNode(const std::string& datadir,
                                const std::string& genesis,
                                const std::string& log,
                                const std::vector<std::string>& extra = {}) {
  AdminNode n;
  n.datadir = datadir;
  n.log = log;
  n.node = StartPbnode(datadir, genesis, log, extra);
  if (n.node.stub == nullptr) return n;
  // The admin line comes after the others (gateway, metrics).
  std::optional<std::string> line;
  std::smatch m;
  for (int i = 0; i < 4; ++i) {
    line = n.node.process->ReadLine(std::chrono::seconds(30));
    if (!line || std::regex_search(*line, m,
                                   std::regex("admin listening on (\\S+)"))) {
      break;
    }
  }
  if (!line ||
      !std::regex_search(*line, m, std::regex("admin listening on (\\S+)"))) {
    ADD_FAILURE() << "pbnode did not report its admin address; got: "
                  << line.value_or("(nothing)");
    return n;
  }
  n.admin_address = m[1];
  n.admin = v1::AdminService::NewStub(
      grpc::CreateChannel(n.admin_address, grpc::InsecureChannelCredentials()));
  return n;
}

// Writes the quick chain's genesis into `dir` and returns its path.
inline std::string WriteGenesis(const TempDir& dir, const std::string& id) {
  const std::string path = dir.Sub("genesis.json");
  std::ofstream(path) << QuickProcessParams(id).ToJson();
  return path;
}

}  // namespace pbchain::testing

#endif  // PBCHAIN_TESTS_ADMIN_ADMIN_HARNESS_H_
