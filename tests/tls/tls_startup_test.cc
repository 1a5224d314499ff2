// pbnode and pbtracker refuse bad TLS files before they start anything:
// one line on stderr naming the flag and the problem, exit code 2
// (kExitUsage), no datadir created. And `pbtool tls-ca` / `tls-cert` exit
// 2 with one line for bad usage.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/exit_codes.h"
#include "gtest/gtest.h"
#include "tests/util/process.h"
#include "tools/pbtool/tls_certs.h"

namespace pbchain {
namespace {

using testing::ChildProcess;
using testing::TempDir;

std::string Bin(const std::string& name) {
  return std::string(PBCHAIN_BIN_DIR) + "/" + name;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Outcome {
  int code = -1;
  std::string stdout_text;
  std::string stderr_text;
};

// Runs `binary args` to its end (30 s at most).
Outcome RunTool(const TempDir& dir, const std::string& binary,
                const std::vector<std::string>& args) {
  const std::string err = dir.Sub("stderr.txt");
  std::filesystem::remove(err);
  ChildProcess p(Bin(binary), args, err);
  Outcome o;
  while (std::optional<std::string> line =
             p.ReadLine(std::chrono::seconds(30))) {
    o.stdout_text += *line + "\n";
  }
  o.code = p.Wait();
  o.stderr_text = ReadFile(err);
  return o;
}

// The lines of `text` that are not glog's (glog lines start with I/W/E and
// a date).
std::vector<std::string> PlainLines(const std::string& text) {
  std::vector<std::string> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (line.size() > 1 &&
        (line[0] == 'I' || line[0] == 'W' || line[0] == 'E') &&
        absl::ascii_isdigit(static_cast<unsigned char>(line[1]))) {
      continue;
    }
    out.emplace_back(line);
  }
  return out;
}

class TlsStartupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tlsgen::CaOptions ca;
    ca.out_dir = dir_.Sub("ca");
    ASSERT_TRUE(tlsgen::MakeCa(ca).ok());
    ca.out_dir = dir_.Sub("other");
    ASSERT_TRUE(tlsgen::MakeCa(ca).ok());
    Cert("good", "ca", absl::InfinitePast(), 365);
    Cert("other", "other", absl::InfinitePast(), 365);
    Cert("expired", "ca", absl::Now() - absl::Hours(24 * 10), 2);
    Outcome g =
        RunTool(dir_, "pbtool", {"genesis", "--out", dir_.Sub("genesis.json")});
    ASSERT_EQ(g.code, 0) << g.stderr_text;
  }
  void Cert(const std::string& name, const std::string& ca,
            absl::Time not_before, int days) {
    tlsgen::CertOptions o;
    o.ca_dir = dir_.Sub(ca);
    o.name = name;
    o.ips = {"127.0.0.1"};
    o.out_dir = dir_.Sub("certs");
    o.not_before = not_before;
    o.days = days;
    absl::StatusOr<tlsgen::Written> w = tlsgen::MakeCert(o);
    ASSERT_TRUE(w.ok()) << w.status();
  }
  std::string Crt(const std::string& n) {
    return dir_.Sub("certs/" + n + ".crt");
  }
  std::string Key(const std::string& n) {
    return dir_.Sub("certs/" + n + ".key");
  }

  // pbnode with `tls` flags must exit 2 with one line containing `want`,
  // and create no datadir.
  void ExpectNodeRefuses(const std::vector<std::string>& tls,
                         const std::string& want) {
    std::vector<std::string> args = {"--listen=127.0.0.1:0",
                                     "--datadir=" + dir_.Sub("data"),
                                     "--genesis=" + dir_.Sub("genesis.json")};
    args.insert(args.end(), tls.begin(), tls.end());
    Outcome o = RunTool(dir_, "pbnode", args);
    EXPECT_EQ(o.code, kExitUsage) << o.stderr_text;
    std::vector<std::string> lines = PlainLines(o.stderr_text);
    ASSERT_EQ(lines.size(), 1u) << o.stderr_text;
    EXPECT_TRUE(absl::StartsWith(lines[0], "pbnode: ")) << lines[0];
    EXPECT_TRUE(absl::StrContains(lines[0], want)) << lines[0];
    EXPECT_EQ(o.stdout_text, "");
    EXPECT_FALSE(std::filesystem::exists(dir_.Sub("data")));
  }
  void ExpectTrackerRefuses(const std::vector<std::string>& tls,
                            const std::string& want) {
    std::vector<std::string> args = {"--listen=127.0.0.1:0"};
    args.insert(args.end(), tls.begin(), tls.end());
    Outcome o = RunTool(dir_, "pbtracker", args);
    EXPECT_EQ(o.code, kExitUsage) << o.stderr_text;
    std::vector<std::string> lines = PlainLines(o.stderr_text);
    ASSERT_EQ(lines.size(), 1u) << o.stderr_text;
    EXPECT_TRUE(absl::StrContains(lines[0], want)) << lines[0];
    EXPECT_EQ(o.stdout_text, "");
  }

  TempDir dir_{"tls_startup"};
};

TEST_F(TlsStartupTest, NodeRefusesBadTlsFiles) {
  ExpectNodeRefuses(
      {"--tls-cert=" + Crt("expired"), "--tls-key=" + Key("expired")},
      "--tls-cert " + Crt("expired") + ": certificate /CN=expired expired on");
  ExpectNodeRefuses(
      {"--tls-cert=" + Crt("good"), "--tls-key=" + Key("other")},
      "--tls-key " + Key("other") + ": does not match the certificate");
  ExpectNodeRefuses(
      {"--tls-cert=" + dir_.Sub("nope.crt"), "--tls-key=" + Key("good")},
      "cannot read: No such file or directory");
  ExpectNodeRefuses({"--tls-cert=" + Crt("good")},
                    "--tls-cert and --tls-key go together");
  // Its own certificate from another CA than the one it trusts for peers.
  ExpectNodeRefuses({"--tls-cert=" + Crt("other"), "--tls-key=" + Key("other"),
                     "--tls-ca=" + dir_.Sub("ca/ca.crt")},
                    "does not verify against --tls-ca");
  ExpectNodeRefuses(
      {"--tls-client-cert=" + Crt("good"), "--tls-client-key=" + Key("good")},
      "need --tls-ca");
  ExpectNodeRefuses({"--tls-ca=" + Key("good")},
                    "--tls-ca " + Key("good") + ": no PEM certificate");
  ExpectNodeRefuses({"--tls-ca=" + dir_.Sub("ca/ca.crt"),
                     "--tls-client-cert=" + Crt("expired"),
                     "--tls-client-key=" + Key("expired")},
                    "--tls-client-cert " + Crt("expired"));
  ExpectNodeRefuses({"--http=127.0.0.1:0", "--http-tls"},
                    "--http-tls needs --tls-cert and --tls-key");
}

TEST_F(TlsStartupTest, TrackerRefusesBadTlsFiles) {
  ExpectTrackerRefuses(
      {"--tls-cert=" + Crt("expired"), "--tls-key=" + Key("expired")},
      "expired on");
  ExpectTrackerRefuses(
      {"--tls-cert=" + Crt("good"), "--tls-key=" + Key("other")},
      "does not match the certificate");
  ExpectTrackerRefuses(
      {"--tls-cert=" + Crt("other"), "--tls-key=" + Key("other"),
       "--tls-ca=" + dir_.Sub("ca/ca.crt")},
      "does not verify against --tls-ca");
  ExpectTrackerRefuses({"--tls-client-ca=" + dir_.Sub("ca/ca.crt")},
                       "--tls-client-ca needs --tls-cert and --tls-key");
  ExpectTrackerRefuses({"--tls-ca=" + dir_.Sub("missing.crt")},
                       "--tls-ca " + dir_.Sub("missing.crt") + ": cannot read");
}

TEST_F(TlsStartupTest, PbtoolTlsUsageErrorsExit2) {
  struct Case {
    std::vector<std::string> args;
    std::string want;
  };
  const std::vector<Case> cases = {
      {{"tls-ca", "--out", dir_.Sub("ca")}, "exists; not overwriting"},
      {{"tls-ca", "--out", dir_.Sub("x"), "--key-type", "rsa"},
       "--key-type 'rsa'"},
      {{"tls-ca", "--out", dir_.Sub("x"), "--days", "0"}, "--days must be"},
      {{"tls-cert", "--ca", dir_.Sub("ca"), "--name", "n", "--ip", "localhost",
        "--out", dir_.Sub("x")},
       "--ip 'localhost'"},
      {{"tls-cert", "--ca", dir_.Sub("nope"), "--name", "n", "--out",
        dir_.Sub("x")},
       "pbtool tls-ca"},
      {{"tls-cert", "--ca", dir_.Sub("ca"), "--out", dir_.Sub("x")}, "--name"},
  };
  for (const Case& c : cases) {
    Outcome o = RunTool(dir_, "pbtool", c.args);
    EXPECT_EQ(o.code, kExitUsage) << c.want << ": " << o.stderr_text;
    EXPECT_TRUE(absl::StrContains(o.stderr_text, c.want)) << o.stderr_text;
    EXPECT_EQ(PlainLines(o.stderr_text).size(), 1u) << o.stderr_text;
  }
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("x")));
  // And a good run: both files, the key 0600, a line saying what it wrote.
  Outcome ok = RunTool(dir_, "pbtool",
                       {"tls-cert", "--ca", dir_.Sub("ca"), "--name", "n1",
                        "--ip", "127.0.0.1", "--dns", "localhost", "--key-type",
                        "ed25519", "--days", "30", "--out", dir_.Sub("x")});
  EXPECT_EQ(ok.code, 0) << ok.stderr_text;
  EXPECT_TRUE(absl::StrContains(ok.stdout_text,
                                "wrote " + dir_.Sub("x/n1.crt") + " (Ed25519"))
      << ok.stdout_text;
  EXPECT_EQ(
      std::filesystem::status(dir_.Sub("x/n1.key")).permissions() &
          std::filesystem::perms::all,
      std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

}  // namespace
}  // namespace pbchain
