// Review fixes of issue 16 (TLS), end to end with real processes:
//   - an encrypted PEM private key is refused with one line and exit 2 by
//     every binary that reads one (pbnode, pbtracker, pbcli, pbtool
//     tls-cert), also when it runs on a terminal, where OpenSSL's default
//     would prompt "Enter PEM pass phrase:" and wait;
//   - a CA file (--tls-ca, --tls-client-ca) must hold a CA certificate (a
//     leaf given as a trust anchor is refused);
//   - pbtracker checks its --tls-client-cert against its --tls-client-ca;
//   - pbcli info and pbcli admin against a real pbnode serving TLS: with
//     --tls-ca they work, without it they fail with one clear line.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/exit_codes.h"
#include "common/tls.h"
#include "gtest/gtest.h"
#include "tests/client/client_harness.h"
#include "tools/pbtool/tls_certs.h"

namespace pbchain {
namespace {

using client::testing::Bin;
using client::testing::Result;
using client::testing::RunProcess;
using client::testing::StartNode;
using client::testing::StopNode;
using ::pbchain::testing::TempDir;

// The lines of `text` that are not glog's (I/W/E + a digit), \r dropped.
std::vector<std::string> PlainLines(const std::string& text) {
  std::vector<std::string> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::string l(line);
    absl::StrReplaceAll({{"\r", ""}}, &l);
    if (l.empty()) continue;
    if (l.size() > 1 && (l[0] == 'I' || l[0] == 'W' || l[0] == 'E') &&
        absl::ascii_isdigit(static_cast<unsigned char>(l[1]))) {
      continue;
    }
    out.push_back(l);
  }
  return out;
}

struct PtyOutcome {
  int code = -1;
  std::string output;  // stdout and stderr, as the terminal saw them
  bool hung = false;   // still running at the deadline (then killed)
};

// Runs `binary args` on a new pseudo-terminal: its stdin, stdout and
// stderr, and its controlling terminal (/dev/tty), as in an operator's
// shell. Nothing is ever typed. A process still running after `limit`
// (waiting for input) is killed and reported as hung: a bound for a hang,
// not a timing assertion.
PtyOutcome RunOnPty(const std::string& binary,
                    const std::vector<std::string>& args,
                    std::chrono::seconds limit = std::chrono::seconds(30)) {
  PtyOutcome o;
  int master = -1;
  const pid_t parent = getpid();
  const pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  if (pid < 0) {
    ADD_FAILURE() << "forkpty: " << std::strerror(errno);
    return o;
  }
  if (pid == 0) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) {
      _exit(127);
    }
    std::vector<std::string> copy = args;
    std::string bin = binary;
    std::vector<char*> argv{bin.data()};
    for (std::string& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + limit;
  char buf[4096];
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      o.hung = true;
      break;
    }
    pollfd p{master, POLLIN, 0};
    const int r = poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) continue;
    const ssize_t n = read(master, buf, sizeof(buf));
    if (n <= 0) break;  // EIO: the child closed the terminal (exited)
    o.output.append(buf, static_cast<size_t>(n));
  }
  if (o.hung) kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  close(master);
  o.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return o;
}

class TlsCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tlsgen::CaOptions ca;
    ca.out_dir = dir_.Sub("ca");
    ASSERT_TRUE(tlsgen::MakeCa(ca).ok());
    ca.out_dir = dir_.Sub("other");
    ASSERT_TRUE(tlsgen::MakeCa(ca).ok());
    Cert("n1", "ca");
    Cert("n2", "other");
    Result g =
        RunProcess(Bin("pbtool"),
                   {"genesis", "--out", dir_.Sub("genesis.json")}, dir_.path());
    ASSERT_EQ(g.code, 0) << g.Show();
    // n1's key encrypted with a passphrase, and a CA directory whose key
    // is encrypted.
    ASSERT_EQ(std::system(("openssl pkey -in " + Key("n1") +
                           " -aes256 -passout pass:x -out " +
                           dir_.Sub("enc.key") + " 2>/dev/null")
                              .c_str()),
              0);
    std::filesystem::create_directories(dir_.Sub("encca"));
    std::filesystem::copy_file(dir_.Sub("ca/ca.crt"), dir_.Sub("encca/ca.crt"));
    ASSERT_EQ(std::system(("openssl pkey -in " + dir_.Sub("ca/ca.key") +
                           " -aes256 -passout pass:x -out " +
                           dir_.Sub("encca/ca.key") + " 2>/dev/null")
                              .c_str()),
              0);
  }
  void Cert(const std::string& name, const std::string& ca) {
    tlsgen::CertOptions o;
    o.ca_dir = dir_.Sub(ca);
    o.name = name;
    o.ips = {"127.0.0.1"};
    o.out_dir = dir_.Sub("certs");
    absl::StatusOr<tlsgen::Written> w = tlsgen::MakeCert(o);
    ASSERT_TRUE(w.ok()) << w.status();
  }
  std::string Crt(const std::string& n) {
    return dir_.Sub("certs/" + n + ".crt");
  }
  std::string Key(const std::string& n) {
    return dir_.Sub("certs/" + n + ".key");
  }
  std::string CaCrt() { return dir_.Sub("ca/ca.crt"); }

  // Each command line refused: exit 2, exactly one line (not glog's)
  // containing `want`, both with stdin not a terminal and on a terminal.
  void ExpectRefusedEverywhere(const std::string& binary,
                               const std::vector<std::string>& args,
                               const std::string& want) {
    SCOPED_TRACE(binary + " " + absl::StrJoin(args, " "));
    // On a terminal first: the hang this is about.
    PtyOutcome tty = RunOnPty(Bin(binary), args);
    EXPECT_FALSE(tty.hung) << "waited on the terminal; it showed:\n"
                           << tty.output;
    EXPECT_EQ(tty.code, kExitUsage) << tty.output;
    EXPECT_FALSE(absl::StrContains(tty.output, "pass phrase")) << tty.output;
    ExpectOneLine(PlainLines(tty.output), want, tty.output);

    Result plain = RunProcess(Bin(binary), args, dir_.path());
    EXPECT_EQ(plain.code, kExitUsage) << plain.Show();
    ExpectOneLine(PlainLines(plain.err), want, plain.Show());
  }
  static void ExpectOneLine(const std::vector<std::string>& lines,
                            const std::string& want, const std::string& all) {
    EXPECT_EQ(lines.size(), 1u) << all;
    if (!lines.empty()) EXPECT_TRUE(absl::StrContains(lines[0], want)) << all;
  }

  TempDir dir_{"tls_cli"};
};

TEST_F(TlsCliTest, EncryptedKeyIsRefusedWithoutAPrompt) {
  const std::string enc = dir_.Sub("enc.key");
  const std::string why = kEncryptedKeyRefused;
  ExpectRefusedEverywhere(
      "pbnode",
      {"--listen=127.0.0.1:0", "--datadir=" + dir_.Sub("data"),
       "--genesis=" + dir_.Sub("genesis.json"), "--tls-cert=" + Crt("n1"),
       "--tls-key=" + enc},
      "--tls-key " + enc + ": " + why);
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("data")));
  ExpectRefusedEverywhere(
      "pbtracker",
      {"--listen=127.0.0.1:0", "--tls-cert=" + Crt("n1"), "--tls-key=" + enc},
      "--tls-key " + enc + ": " + why);
  ExpectRefusedEverywhere(
      "pbcli",
      {"--node", "127.0.0.1:1", "--tls-ca", CaCrt(), "--tls-client-cert",
       Crt("n1"), "--tls-client-key", enc, "info"},
      "--tls-client-key " + enc + ": " + why);
  ExpectRefusedEverywhere("pbtool",
                          {"tls-cert", "--ca", dir_.Sub("encca"), "--name",
                           "n9", "--ip", "127.0.0.1", "--out", dir_.Sub("x")},
                          dir_.Sub("encca/ca.key") + ": " + why);
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("x/n9.crt")));
}

TEST_F(TlsCliTest, CaFilesMustHoldACaCertificate) {
  const std::string leaf = Crt("n1");
  const std::string want = "--tls-ca " + leaf + ": no CA certificate in it";
  Result cli = RunProcess(Bin("pbcli"),
                          {"--node", "127.0.0.1:1", "--tls-ca", leaf, "info"},
                          dir_.path());
  EXPECT_EQ(cli.code, kExitUsage) << cli.Show();
  ASSERT_EQ(PlainLines(cli.err).size(), 1u) << cli.Show();
  EXPECT_TRUE(absl::StrContains(cli.err, want)) << cli.Show();

  Result node = RunProcess(
      Bin("pbnode"),
      {"--listen=127.0.0.1:0", "--datadir=" + dir_.Sub("data"),
       "--genesis=" + dir_.Sub("genesis.json"), "--tls-cert=" + Crt("n1"),
       "--tls-key=" + Key("n1"), "--tls-client-ca=" + leaf},
      dir_.path());
  EXPECT_EQ(node.code, kExitUsage) << node.Show();
  ASSERT_EQ(PlainLines(node.err).size(), 1u) << node.Show();
  EXPECT_TRUE(absl::StrContains(
      node.err, "--tls-client-ca " + leaf + ": no CA certificate in it"))
      << node.Show();
  EXPECT_FALSE(std::filesystem::exists(dir_.Sub("data")));

  Result tracker =
      RunProcess(Bin("pbtracker"), {"--listen=127.0.0.1:0", "--tls-ca=" + leaf},
                 dir_.path());
  EXPECT_EQ(tracker.code, kExitUsage) << tracker.Show();
  ASSERT_EQ(PlainLines(tracker.err).size(), 1u) << tracker.Show();
  EXPECT_TRUE(absl::StrContains(tracker.err, want)) << tracker.Show();
}

// The tracker's probe presents --tls-client-cert to nodes that require
// certificates from the CA it requires itself (--tls-client-ca): one from
// another CA is refused at start, as pbnode refuses it.
TEST_F(TlsCliTest, TrackerChecksItsClientCertificate) {
  Result r =
      RunProcess(Bin("pbtracker"),
                 {"--listen=127.0.0.1:0", "--tls-cert=" + Crt("n1"),
                  "--tls-key=" + Key("n1"), "--tls-client-ca=" + CaCrt(),
                  "--tls-ca=" + CaCrt(), "--tls-client-cert=" + Crt("n2"),
                  "--tls-client-key=" + Key("n2")},
                 dir_.path());
  EXPECT_EQ(r.code, kExitUsage) << r.Show();
  ASSERT_EQ(PlainLines(r.err).size(), 1u) << r.Show();
  EXPECT_TRUE(absl::StrContains(
      r.err, "--tls-client-cert " + Crt("n2") +
                 ": does not verify against --tls-client-ca " + CaCrt()))
      << r.Show();
}

// pbcli info and pbcli admin against a real pbnode serving TLS on both its
// public and its admin listener.
TEST_F(TlsCliTest, PbcliInfoAndAdminOverTls) {
  std::optional<client::testing::Node> node =
      StartNode(dir_.path(), "node", dir_.Sub("genesis.json"),
                {"--tls-cert=" + Crt("n1"), "--tls-key=" + Key("n1")});
  ASSERT_TRUE(node.has_value());
  const std::string datadir = dir_.Sub("node");

  Result info = RunProcess(
      Bin("pbcli"),
      {"--node", node->address, "--tls-ca", CaCrt(), "--json", "info"},
      dir_.path());
  EXPECT_EQ(info.code, 0) << info.Show();
  EXPECT_TRUE(info.OutJson().contains("chain_id")) << info.Show();

  Result plain = RunProcess(
      Bin("pbcli"), {"--node", node->address, "--timeout", "10s", "info"},
      dir_.path());
  EXPECT_NE(plain.code, 0) << plain.Show();
  std::vector<std::string> lines = PlainLines(plain.err);
  ASSERT_EQ(lines.size(), 1u) << plain.Show();
  EXPECT_TRUE(absl::StrContains(lines[0], "give --tls-ca")) << lines[0];
  EXPECT_EQ(plain.out, "");

  Result admin = RunProcess(Bin("pbcli"),
                            {"--tls-ca", CaCrt(), "--json", "admin",
                             "log-level", "--datadir", datadir},
                            dir_.path());
  EXPECT_EQ(admin.code, 0) << admin.Show();
  EXPECT_TRUE(admin.OutJson().contains("verbosity")) << admin.Show();

  Result admin_plain = RunProcess(
      Bin("pbcli"),
      {"--timeout", "10s", "admin", "log-level", "--datadir", datadir},
      dir_.path());
  EXPECT_NE(admin_plain.code, 0) << admin_plain.Show();
  lines = PlainLines(admin_plain.err);
  ASSERT_EQ(lines.size(), 1u) << admin_plain.Show();
  EXPECT_TRUE(absl::StrContains(lines[0], "cannot reach the admin API at"))
      << lines[0];
  EXPECT_EQ(admin_plain.out, "");

  // A CA that did not issue the node's certificate: refused, one line.
  Result other = RunProcess(Bin("pbcli"),
                            {"--tls-ca", dir_.Sub("other/ca.crt"), "admin",
                             "log-level", "--datadir", datadir},
                            dir_.path());
  EXPECT_NE(other.code, 0) << other.Show();
  EXPECT_EQ(PlainLines(other.err).size(), 1u) << other.Show();
  StopNode(*node);
}

}  // namespace
}  // namespace pbchain
