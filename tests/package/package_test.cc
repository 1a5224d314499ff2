// The Debian package in a fresh Debian 12 container (issue 17): builds the
// .deb with tools/package.sh, installs it with `apt-get install ./*.deb` in
// an image made from Debian's own packages (tools/make-base-image.sh; no
// registry), boots systemd as PID 1 and drives the units with systemctl:
//
//   - the installed units pass `systemd-analyze verify`;
//   - pbtracker and pbnode@node start from the shipped configs, answer
//     grpc.health.v1 SERVING (checked from this process over the docker
//     network) and run as user pbchain with no capabilities;
//   - `systemctl stop` is a clean SIGTERM shutdown: the log says so and the
//     main process exits 0;
//   - a restart keeps the chain (a mined block is still there, same hash);
//   - a SIGKILLed node is restarted by systemd (Restart=on-failure);
//   - a reinstall of the same version keeps an edited conffile, its mode
//     and the running node, and copes with a deleted conffile; pbtracker
//     stops cleanly too;
//   - `apt-get remove` keeps /var/lib/pbchain and the user; `purge` deletes
//     them and the units' enable links;
//   - in a second container, tests/install/consumer builds against the
//     packaged client library once the package's Suggests are installed.
//
// ctest label `docker`; exits 77 (skipped) with one line only when no
// docker daemon can run here. It starts dockerd when it is not running
// (tools/ensure-dockerd.sh; left running). Every container and image it
// makes is removed at the end, also when a check fails; the shared base
// image is kept. A watchdog below ctest's TIMEOUT removes them too (a
// SIGKILL runs no destructor), and each run first removes what runs killed
// earlier left (names carry the owning process's PID).
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/util/health_check.h"
#include "tests/util/process.h"

namespace {

using pbchain::testing::HealthResponse;
using pbchain::testing::RunShellCommand;

// Longest wait for one state (a unit SERVING, a block mined, ...); polls,
// never a fixed sleep.
constexpr auto kWait = std::chrono::seconds(90);

// Runs `cmd`; on a non-zero exit records a failure with its output.
std::string Sh(const std::string& cmd, int* code_out = nullptr) {
  int code = 0;
  std::string out = RunShellCommand(cmd, &code);
  if (code_out != nullptr) {
    *code_out = code;
  } else if (code != 0) {
    ADD_FAILURE() << "command failed (exit " << code << "): " << cmd << "\n"
                  << out;
  }
  return out;
}

std::string Trim(std::string s) {
  return std::string(absl::StripAsciiWhitespace(s));
}

std::string LastLine(const std::string& out) {
  std::string t = Trim(out);
  const size_t nl = t.rfind('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

template <typename F>
bool WaitFor(F done, std::chrono::seconds limit = kWait) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return done();
}


// The container, its image and its build context; all removed by the
// destructor (also after a failed check).
class PackagedContainer {
 public:
  PackagedContainer()
      : tag_(absl::StrCat("pkg-test-", getpid())),
        context_("pkg_test_context") {}
  ~PackagedContainer() {
    int code = 0;
    if (started_) {
      RunShellCommand("docker rm -f " + tag_ + " >/dev/null", &code);
    }
    RunShellCommand("docker rmi -f " + tag_ + ":latest >/dev/null", &code);
    // Layers of a build that failed half way carry the label.
    RunShellCommand("docker image prune -f --filter label=pbchain-test=" +
                        tag_ + " >/dev/null",
                    &code);
  }

  const std::string& name() const { return tag_; }
  const std::string& ip() const { return ip_; }
  // The .deb's path inside the container.
  const std::string& deb() const { return deb_; }

  // Builds the image (FROM `base`, the .deb installed with apt-get) and
  // boots it with systemd as PID 1. Failures are recorded; returns false.
  bool Start(const std::string& base, const std::string& deb) {
    const std::string deb_name = std::filesystem::path(deb).filename().string();
    std::filesystem::copy_file(deb, context_.Sub(deb_name));
    deb_ = "/root/" + deb_name;
    std::ofstream(context_.Sub("Dockerfile"))
        << "FROM " << base << "\n"
        << "LABEL pbchain-test=" << tag_ << "\n"
        << "ENV DEBIAN_FRONTEND=noninteractive\n"
        << "RUN apt-get update -qq\n"
        << "COPY " << deb_name
        << " /root/\n"
        // The package alone on minbase first: its Depends must be enough.
        << "RUN cd /root && apt-get install -y -qq ./" << deb_name
        << " >/dev/null && pbnode --version\n"
        << "RUN apt-get install -y -qq systemd >/dev/null\n"
        << "STOPSIGNAL SIGRTMIN+3\n"
        << "CMD [\"/lib/systemd/systemd\"]\n";
    int code = 0;
    std::string out = RunShellCommand("docker build -q --force-rm -t " + tag_ +
                                          " " + context_.path().string(),
                                      &code);
    if (code != 0) {
      ADD_FAILURE() << "docker build of the test image failed:\n" << out;
      return false;
    }
    // systemd as PID 1: --privileged where the daemon may grant every
    // capability, else the few systemd needs (a daemon that runs inside a
    // container itself cannot give what it lacks, e.g. CAP_SYS_RESOURCE).
    const bool cgroup2 =
        Trim(RunShellCommand("docker info -f '{{.CgroupVersion}}'", &code)) ==
        "2";
    const std::string common =
        "docker run -d --name " + tag_ +
        " --tmpfs /run --tmpfs /run/lock --tmpfs /tmp " +
        (cgroup2 ? std::string("--cgroupns=private ")
                 : std::string("-v /sys/fs/cgroup:/sys/fs/cgroup:ro "));
    started_ = true;
    out = RunShellCommand(common + "--privileged " + tag_, &code);
    if (code != 0) {
      RunShellCommand("docker rm -f " + tag_ + " >/dev/null", &code);
      out = RunShellCommand(
          common +
              "--cap-add SYS_ADMIN --cap-add NET_ADMIN --cap-add MKNOD "
              "--security-opt seccomp=unconfined --security-opt "
              "apparmor=unconfined " +
              tag_,
          &code);
    }
    if (code != 0) {
      ADD_FAILURE() << "cannot run systemd in a container:\n" << out;
      return false;
    }
    ip_ = Trim(
        RunShellCommand("docker inspect -f '{{range .NetworkSettings.Networks}}"
                        "{{.IPAddress}}{{end}}' " +
                            tag_,
                        &code));
    if (code != 0 || ip_.empty()) {
      ADD_FAILURE() << "no IP address for the container: " << ip_;
      return false;
    }
    std::string state;
    if (!WaitFor([&] {
          state = Trim(Exec("systemctl is-system-running", &code));
          return state == "running" || state == "degraded";
        })) {
      ADD_FAILURE() << "systemd did not boot: " << state << "\n"
                    << Exec("systemctl --failed --no-pager", &code);
      return false;
    }
    return true;
  }

  // Runs `cmd` inside the container with sh -c.
  std::string Exec(const std::string& cmd, int* code) {
    return RunShellCommand("docker exec " + tag_ + " sh -c '" + cmd + "'",
                           code);
  }
  std::string Exec(const std::string& cmd) {
    return Sh("docker exec " + tag_ + " sh -c '" + cmd + "'");
  }

 private:
  std::string tag_;
  pbchain::testing::TempDir context_;
  std::string ip_;
  std::string deb_;
  bool started_ = false;
};

class PackageTest : public ::testing::Test {
 protected:
  // The .deb and the base image, made once for every test here.
  static void SetUpTestSuite() {
    const std::string src = PBCHAIN_SOURCE_DIR;
    // In the source tree's build-pkg/, beside build/: ccache rewrites paths
    // relative to the build directory, so one level deep they match
    // build/'s and the package's objects come from the cache.
    deb_ = new std::string(LastLine(Sh("bash " + src + "/tools/package.sh")));
    base_ = new std::string(
        LastLine(Sh("bash " + src + "/tools/make-base-image.sh")));
  }
  static void TearDownTestSuite() {
    delete deb_;
    delete base_;
  }
  void SetUp() override {
    ASSERT_TRUE(deb_->ends_with(".deb") && std::filesystem::exists(*deb_))
        << "package.sh's last line is not a .deb: " << *deb_;
    ASSERT_FALSE(base_->empty());
  }

  // `pbcli info --json` of the node in the container, or null.
  nlohmann::json Info() {
    int code = 0;
    std::string out = c_.Exec("pbcli --node 127.0.0.1:7701 --json info", &code);
    if (code != 0) return nullptr;
    return nlohmann::json::parse(out, nullptr, false);
  }
  bool Serving(const std::string& address) {
    std::optional<HealthResponse::ServingStatus> s = pbchain::testing::CheckHealth(address, "", std::chrono::seconds(3));
    return s.has_value() && *s == HealthResponse::SERVING;
  }
  std::string UnitProperty(const std::string& unit, const std::string& prop) {
    return Trim(c_.Exec("systemctl show -p " + prop + " --value " + unit));
  }

  static std::string* deb_;
  static std::string* base_;
  PackagedContainer c_;
};
std::string* PackageTest::deb_ = nullptr;
std::string* PackageTest::base_ = nullptr;

TEST_F(PackageTest, InstallsAndItsUnitsRunANode) {
  ASSERT_TRUE(c_.Start(*base_, *deb_));

  // The units as installed: systemd-analyze prints nothing (it warns about
  // unknown keys and bad values on stderr but still exits 0).
  EXPECT_EQ(Trim(c_.Exec("systemd-analyze verify "
                         "/lib/systemd/system/pbtracker.service "
                         "/lib/systemd/system/pbnode@node.service")),
            "");
  // Installed, not enabled, nothing running yet.
  EXPECT_EQ(UnitProperty("pbnode@node", "UnitFileState"), "disabled");
  EXPECT_EQ(UnitProperty("pbnode@node", "ActiveState"), "inactive");
  EXPECT_EQ(
      Trim(c_.Exec("stat -c %U:%G /var/lib/pbchain /etc/pbchain/node.toml")),
      "pbchain:pbchain\nroot:pbchain");

  // Start both from the shipped configs.
  c_.Exec("systemctl start pbtracker pbnode@node");
  const std::string node = c_.ip() + ":7701";
  const std::string tracker = c_.ip() + ":7600";
  ASSERT_TRUE(WaitFor([&] { return Serving(node); }))
      << c_.Exec("journalctl -u pbnode@node --no-pager | tail -30");
  ASSERT_TRUE(WaitFor([&] { return Serving(tracker); }))
      << c_.Exec("journalctl -u pbtracker --no-pager | tail -30");
  // The head node made its genesis in the state directory.
  EXPECT_EQ(Trim(c_.Exec("stat -c %U /var/lib/pbchain/genesis.json "
                         "/var/lib/pbchain/node")),
            "pbchain\npbchain");
  for (const std::string unit : {"pbnode@node", "pbtracker"}) {
    const std::string pid = UnitProperty(unit, "MainPID");
    ASSERT_NE(pid, "0") << unit;
    EXPECT_EQ(Trim(c_.Exec("stat -c %U /proc/" + pid)), "pbchain") << unit;
    const std::string status = c_.Exec("cat /proc/" + pid + "/status");
    EXPECT_NE(status.find("NoNewPrivs:\t1"), std::string::npos) << unit;
    EXPECT_NE(status.find("CapEff:\t0000000000000000"), std::string::npos)
        << unit;
    EXPECT_NE(status.find("Seccomp:\t2"), std::string::npos) << unit;
  }

  // A clean stop: SIGTERM, "stopped cleanly", exit status 0.
  c_.Exec("systemctl stop pbnode@node");
  EXPECT_EQ(UnitProperty("pbnode@node", "ActiveState"), "inactive");
  EXPECT_EQ(UnitProperty("pbnode@node", "Result"), "success");
  EXPECT_EQ(UnitProperty("pbnode@node", "ExecMainStatus"), "0");
  const std::string log = c_.Exec("journalctl -u pbnode@node --no-pager");
  EXPECT_NE(log.find("signal 15: shutting down"), std::string::npos) << log;
  EXPECT_NE(log.find("stopped cleanly"), std::string::npos) << log;

  // Mine a few blocks (the operator's edit of the conffile), then restart:
  // the chain is still there.
  const std::string miner =
      LastLine(c_.Exec("pbtool keygen --out /root/miner.json"));
  ASSERT_TRUE(miner.starts_with("pb")) << miner;
  c_.Exec(
      "sed -i -e \"s/^mine = false/mine = true/\" -e "
      "\"s/^miner_address = .*/miner_address = \\\"" +
      miner + "\\\"/\" /etc/pbchain/node.toml");
  c_.Exec("systemctl start pbnode@node");
  uint64_t height = 0;
  ASSERT_TRUE(WaitFor([&] {
    nlohmann::json info = Info();
    if (!info.is_object() || !info.contains("height")) return false;
    height = info["height"].get<uint64_t>();
    return height >= 3;
  })) << c_.Exec("journalctl -u pbnode@node --no-pager | tail -30");
  auto block_hash = [&](uint64_t h) {
    nlohmann::json b = nlohmann::json::parse(
        c_.Exec("pbcli --node 127.0.0.1:7701 --json block " +
                std::to_string(h)),
        nullptr, false);
    return b.is_object() ? b.value("hash", "") : "";
  };
  const std::string hash = block_hash(height);
  ASSERT_EQ(hash.size(), 64u);
  c_.Exec("systemctl restart pbnode@node");
  ASSERT_TRUE(WaitFor([&] { return Serving(node); }));
  nlohmann::json info = Info();
  ASSERT_TRUE(info.is_object());
  EXPECT_GE(info["height"].get<uint64_t>(), height);
  EXPECT_EQ(block_hash(height), hash);
  // The restart's stop was clean too.
  const std::string log2 = c_.Exec("journalctl -u pbnode@node --no-pager");
  const std::vector<absl::string_view> parts =
      absl::StrSplit(log2, "stopped cleanly");
  EXPECT_EQ(parts.size() - 1, 2u) << log2;

  // Restart=on-failure: a SIGKILLed node comes back by itself.
  const std::string killed = UnitProperty("pbnode@node", "MainPID");
  c_.Exec("systemctl kill -s SIGKILL pbnode@node");
  std::string pid;
  EXPECT_TRUE(WaitFor([&] {
    pid = UnitProperty("pbnode@node", "MainPID");
    return pid != "0" && pid != killed && Serving(node);
  })) << c_.Exec("systemctl status --no-pager pbnode@node");
  EXPECT_EQ(UnitProperty("pbnode@node", "NRestarts"), "1");

  int code = 0;
  // A reinstall of the same version (the upgrade path of dpkg, minus a
  // changed conffile) keeps the edited conffile, leaves the running node
  // alone and copes with a conffile the admin deleted (postinst must not
  // fail on it).
  const std::string running = UnitProperty("pbnode@node", "MainPID");
  c_.Exec("rm /etc/pbchain/tracker.toml");
  // ... and keeps the mode the admin gave a config (postinst sets modes at
  // the first install only).
  c_.Exec("chmod 0644 /etc/pbchain/node.toml");
  c_.Exec("apt-get install -y -qq --reinstall " + c_.deb() + " >/dev/null");
  EXPECT_EQ(Trim(c_.Exec("stat -c %a /etc/pbchain/node.toml")), "644");
  EXPECT_EQ(Trim(c_.Exec("dpkg-query -W -f=\\${db:Status-Status} pbchain")),
            "installed");
  EXPECT_NE(c_.Exec("cat /etc/pbchain/node.toml").find(miner),
            std::string::npos)
      << "the reinstall replaced the edited /etc/pbchain/node.toml";
  EXPECT_EQ(UnitProperty("pbnode@node", "MainPID"), running);
  EXPECT_EQ(UnitProperty("pbnode@node", "ActiveState"), "active");

  // The tracker stops cleanly on SIGTERM too.
  c_.Exec("systemctl stop pbtracker");
  EXPECT_EQ(UnitProperty("pbtracker", "Result"), "success");
  EXPECT_EQ(UnitProperty("pbtracker", "ExecMainStatus"), "0");
  const std::string tracker_log = c_.Exec("journalctl -u pbtracker --no-pager");
  EXPECT_NE(tracker_log.find("signal 15: shutting down"), std::string::npos)
      << tracker_log;
  EXPECT_NE(tracker_log.find("stopped cleanly"), std::string::npos)
      << tracker_log;

  // remove keeps the chains and the user; purge deletes them and the
  // enable links (else a later install would start the units by itself).
  c_.Exec("systemctl enable pbnode@node pbtracker 2>/dev/null");
  EXPECT_EQ(UnitProperty("pbnode@node", "UnitFileState"), "enabled");
  c_.Exec("apt-get remove -y -qq pbchain >/dev/null");
  EXPECT_EQ(UnitProperty("pbnode@node", "ActiveState"), "inactive");
  EXPECT_EQ(Trim(c_.Exec("test -d /var/lib/pbchain/node && "
                         "test -f /etc/pbchain/node.toml && "
                         "getent passwd pbchain | cut -d: -f1")),
            "pbchain");
  c_.Exec("apt-get purge -y -qq pbchain >/dev/null");
  c_.Exec("test -e /var/lib/pbchain", &code);
  EXPECT_NE(code, 0) << "purge left /var/lib/pbchain";
  c_.Exec("test -e /etc/pbchain", &code);
  EXPECT_NE(code, 0) << "purge left /etc/pbchain";
  c_.Exec("getent passwd pbchain", &code);
  EXPECT_NE(code, 0) << "purge left the pbchain user";
  EXPECT_EQ(Trim(c_.Exec("find /etc/systemd/system -name \"pbnode@*\" -o "
                         "-name \"pbtracker*\"")),
            "")
      << "purge left enable links";
}

// The client library as packaged: with the Suggests installed, a program
// outside the tree (tests/install/consumer) finds it with
// find_package(pbchain), builds and runs.
TEST_F(PackageTest, ClientLibraryBuildsWithTheSuggests) {
  pbchain::testing::TempDir dir("pkg_test_consumer");
  std::filesystem::copy_file(*deb_, dir.Sub("pbchain.deb"));
  std::filesystem::copy(
      std::string(PBCHAIN_SOURCE_DIR) + "/tests/install/consumer",
      dir.Sub("consumer"));
  const std::string name = absl::StrCat("pkg-test-consumer-", getpid());
  const std::string script =
      "set -e; export DEBIAN_FRONTEND=noninteractive; "
      "apt-get update -qq; "
      "apt-get install -y -qq /w/pbchain.deb >/dev/null; "
      "apt-get install -y -qq --no-install-recommends make "
      "$(dpkg-query -W -f=\\${Suggests} pbchain | tr -d ,) >/dev/null; "
      "cmake -S /w/consumer -B /b >/dev/null; cmake --build /b >/dev/null; "
      "pbtool keygen --out /k.json >/a; /b/consumer $(cat /a)";
  int code = 0;
  const std::string out = RunShellCommand(
      "docker run --rm --name " + name + " -v " + dir.path().string() + ":/w " +
          *base_ + " sh -c '" + script + "'",
      &code);
  int rm_code = 0;
  RunShellCommand("docker rm -f " + name + " >/dev/null 2>&1", &rm_code);
  EXPECT_EQ(code, 0) << out;
  const std::string line = LastLine(out);
  EXPECT_TRUE(line.starts_with("pbchain " + std::string(PBCHAIN_VERSION) +
                               " address pb"))
      << out;
}

// True once a docker daemon answers: tools/ensure-dockerd.sh starts one
// (left running) when none does and this is root.
bool DockerRuns() {
  int code = 0;
  const std::string out = RunShellCommand(
      "bash " + std::string(PBCHAIN_SOURCE_DIR) + "/tools/ensure-dockerd.sh",
      &code);
  if (code != 0) std::cerr << out;
  return code == 0;
}

// ctest's TIMEOUT for this test (tests/package/CMakeLists.txt).
constexpr auto kSweepAge = std::chrono::seconds(1500);

// When main() began: the watchdog counts from there, as ctest does.
const auto kStarted = std::chrono::steady_clock::now();

// Containers and images of this test are named pkg-test-PID and
// pkg-test-consumer-PID after the package_test process that made them.
// Removes those whose process is gone and that are older than kSweepAge (a
// run SIGKILLed by ctest's TIMEOUT or by hand never reached its
// destructors), or, with `pid`, this run's.
void RemoveContainers(const std::string& pid_or_empty) {
  const std::string script =
      "self=" + pid_or_empty +
      "; for c in $(docker ps -a --format \"{{.Names}}\"; "
      "docker images --format \"{{.Repository}}\"); do "
      "case $c in pkg-test-*) ;; *) continue ;; esac; pid=${c##*-}; "
      "case $pid in \"\"|*[!0-9]*) continue ;; esac; "
      "if [ -n \"$self\" ]; then [ \"$pid\" = \"$self\" ] || continue; "
      "elif [ \"$(cat /proc/$pid/comm 2>/dev/null)\" = package_test ]; then "
      "continue; "
      // Another run's may be alive where this process cannot see it (another
      // PID namespace sharing the daemon): only what is older than ctest's
      // TIMEOUT is surely left over.
      "else created=$(docker inspect -f \"{{.Created}}\" $c 2>/dev/null) && "
      "t=$(date -d \"$created\" +%s 2>/dev/null) && "
      "[ $(( $(date +%s) - t )) -ge " + std::to_string(kSweepAge.count()) +
      " ] || continue; fi; "
      "if [ -n \"$self\" ]; then echo \"package_test: removing $c\" >&2; "
      "else echo \"package_test: removing $c (its package_test, pid $pid, "
      "is gone)\" >&2; fi; "
      "docker rm -f $c >/dev/null 2>&1; docker rmi -f $c >/dev/null 2>&1; "
      "docker image prune -f --filter label=pbchain-test=$c >/dev/null 2>&1; "
      "done; true";
  int code = 0;
  std::cerr << RunShellCommand(script, &code);
}

// ctest's TIMEOUT SIGKILLs the process tree: no destructor would run and
// the --privileged systemd container would outlive the test. Below that
// TIMEOUT (tests/package/CMakeLists.txt) this removes this run's
// containers and images itself and exits with a failure.
// PBCHAIN_PACKAGE_TEST_LIMIT=SECONDS replaces it (to try the watchdog).
constexpr auto kOverallDeadline = std::chrono::seconds(1380);

void StartWatchdog() {
  std::chrono::seconds limit = kOverallDeadline;
  if (const char* env = std::getenv("PBCHAIN_PACKAGE_TEST_LIMIT")) {
    limit = std::chrono::seconds(std::atoi(env));
  }
  std::thread([limit] {
    std::this_thread::sleep_until(kStarted + limit);
    std::cerr << "package_test: FAIL: overall deadline of " << limit.count()
              << " s passed; removing this run's containers" << std::endl;
    RemoveContainers(std::to_string(getpid()));
    std::_Exit(1);
  }).detach();
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (!DockerRuns()) {
    std::cout << "package_test: SKIP: no docker daemon answers and none can "
                 "be started here"
              << std::endl;
    return 77;
  }
  RemoveContainers("");
  StartWatchdog();
  return RUN_ALL_TESTS();
}
