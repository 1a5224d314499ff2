// common/lan_scan: CIDR and port-range parsing with their limits, the
// neighbour table (a fixture in /proc/net/arp's format), target order and
// skipping, and RunScan's concurrency and rate bounds (counted on a fake
// clock, not timed).
#include "common/lan_scan.h"

#include <algorithm>
#include <atomic>
#include <fstream>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pbchain {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(LanScanTest, ParsesIpv4Cidrs) {
  absl::StatusOr<Ipv4Cidr> c = ParseIpv4Cidr("192.168.1.0/24");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->ToString(), "192.168.1.0/24");
  EXPECT_EQ(c->size(), 256u);
  // Host bits are cleared: an interface's address and prefix work.
  c = ParseIpv4Cidr("192.168.1.77/24");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->ToString(), "192.168.1.0/24");
  uint32_t ip = 0;
  ASSERT_TRUE(ParseIpv4("192.168.1.255", &ip));
  EXPECT_TRUE(c->Contains(ip));
  ASSERT_TRUE(ParseIpv4("192.168.2.1", &ip));
  EXPECT_FALSE(c->Contains(ip));
  // A bare address is a /32; a /16 is the widest.
  c = ParseIpv4Cidr("127.0.0.1");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->ToString(), "127.0.0.1/32");
  EXPECT_TRUE(ParseIpv4Cidr("10.1.0.0/16").ok());
}

TEST(LanScanTest, RefusesBadCidrsWithAReason) {
  struct Case {
    const char* text;
    const char* why;
  };
  for (const Case& c :
       {Case{"10.0.0.0/15", "at most a /16"},
        Case{"0.0.0.0/0", "at most a /16"},
        Case{"fe80::/64", "IPv6 is not supported"},
        Case{"10.0.0.0/33", "prefix length"},
        Case{"10.0.0.0/", "prefix length"},
        Case{"10.0.0.0/2x", "prefix length"},
        Case{"10.0.0.0/+8", "prefix length"},
        Case{"10.0.0/24", "not an IPv4 address"},
        Case{"10.0.0.256/24", "not an IPv4 address"},
        Case{"127.1/32", "not an IPv4 address"},
        Case{"", "not an IPv4 address"}, Case{"10.0.0.0/24/1", "more than one"},
        Case{"host.lan/24", "not an IPv4 address"}}) {
    absl::StatusOr<Ipv4Cidr> r = ParseIpv4Cidr(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(r.status().message(), HasSubstr(c.why)) << c.text;
  }
}

TEST(LanScanTest, ParsesPortRanges) {
  absl::StatusOr<PortRange> r = ParsePortRange("7701");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->low, 7701);
  EXPECT_EQ(r->high, 7701);
  r = ParsePortRange("1-1024");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->count(), kMaxScanPorts);
  for (const char* bad : {"", "0", "65536", "1-1025", "9-8", "1-", "-5",
                          "1-2-3", "a-b", " 7701", "+7701", "7701-0x7702"}) {
    EXPECT_FALSE(ParsePortRange(bad).ok()) << bad;
  }
}

// /proc/net/arp as the kernel writes it: a header, complete entries
// (flags 0x2, 0x6), an incomplete one (0x0), a duplicate and junk.
constexpr char kArpFixture[] =
    "IP address       HW type     Flags       HW address            Mask     "
    "Device\n"
    "192.168.1.20     0x1         0x2         52:54:00:12:34:56     *        "
    "eth0\n"
    "192.168.1.9      0x1         0x0         00:00:00:00:00:00     *        "
    "eth0\n"
    "10.9.9.9         0x1         0x2         52:54:00:aa:bb:cc     *        "
    "eth1\n"
    "192.168.1.5      0x1         0x6         52:54:00:12:34:57     *        "
    "eth0\n"
    "192.168.1.20     0x1         0x2         52:54:00:12:34:56     *        "
    "eth0\n"
    "garbage line\n"
    "192.168.1.300    0x1         0x2         52:54:00:12:34:58     *        "
    "eth0\n"
    "192.168.1.6      0x1         2           52:54:00:12:34:59     *        "
    "eth0\n";

TEST(LanScanTest, ReadsCompleteNeighbourEntriesFromAFile) {
  const std::string path =
      std::string(::testing::TempDir()) + "/lan_scan_test_arp";
  std::ofstream(path) << kArpFixture;
  absl::StatusOr<std::vector<std::string>> table = ReadNeighbourTable(path);
  ASSERT_TRUE(table.ok()) << table.status();
  // 192.168.1.9 is incomplete (0x0); ".300" and a flags field without 0x
  // are malformed; the duplicate .20 appears once.
  EXPECT_THAT(*table, ElementsAre("192.168.1.20", "10.9.9.9", "192.168.1.5"));
  EXPECT_FALSE(ReadNeighbourTable(path + ".missing").ok());
  std::remove(path.c_str());
}

TEST(LanScanTest, TargetsNeighboursFirstThenTheSubnetInsideItOnly) {
  const Ipv4Cidr cidr = *ParseIpv4Cidr("192.168.1.0/29");
  const PortRange ports = *ParsePortRange("7701-7702");
  absl::StatusOr<std::vector<ScanTarget>> targets = ScanTargets(
      cidr, ports, ParseNeighbourTable(kArpFixture), {"192.168.1.3:7702"});
  ASSERT_TRUE(targets.ok()) << targets.status();
  std::vector<std::string> got;
  for (const ScanTarget& t : *targets) got.push_back(t.address());
  // .5 from the neighbour table first (.20 and 10.9.9.9 are outside the
  // /29), then .1-.6 without .5, without the network (.0) and broadcast
  // (.7) addresses and without the skipped endpoint.
  EXPECT_THAT(
      got,
      ElementsAre("192.168.1.5:7701", "192.168.1.5:7702", "192.168.1.1:7701",
                  "192.168.1.1:7702", "192.168.1.2:7701", "192.168.1.2:7702",
                  "192.168.1.3:7701", "192.168.1.4:7701", "192.168.1.4:7702",
                  "192.168.1.6:7701", "192.168.1.6:7702"));
  EXPECT_TRUE((*targets)[0].from_neighbour_table);
  EXPECT_FALSE((*targets)[2].from_neighbour_table);

  // A /32 and a /31 have no network or broadcast address to leave out.
  targets =
      ScanTargets(*ParseIpv4Cidr("127.0.0.1/32"), *ParsePortRange("5"), {});
  ASSERT_TRUE(targets.ok());
  ASSERT_EQ(targets->size(), 1u);
  EXPECT_EQ((*targets)[0].address(), "127.0.0.1:5");
  targets =
      ScanTargets(*ParseIpv4Cidr("10.0.0.0/31"), *ParsePortRange("5"), {});
  ASSERT_TRUE(targets.ok());
  EXPECT_EQ(targets->size(), 2u);
}

TEST(LanScanTest, RefusesScansBeyondTheTargetLimit) {
  // A /16 on one port fits (65,534 hosts); on two ports it does not.
  absl::StatusOr<std::vector<ScanTarget>> ok =
      ScanTargets(*ParseIpv4Cidr("10.1.0.0/16"), *ParsePortRange("7701"), {});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->size(), 65534u);
  EXPECT_LE(static_cast<int64_t>(ok->size()), kMaxScanTargets);
  absl::StatusOr<std::vector<ScanTarget>> too_many = ScanTargets(
      *ParseIpv4Cidr("10.1.0.0/16"), *ParsePortRange("7701-7702"), {});
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(too_many.status().message(),
              HasSubstr("narrow the subnet or the port range"));
  // A /24 on 1,024 ports is too many as well.
  EXPECT_FALSE(
      ScanTargets(*ParseIpv4Cidr("10.1.1.0/24"), *ParsePortRange("1-1024"), {})
          .ok());
}

// A clock that moves only when a scan waits.
class FakeClock {
 public:
  absl::Time Now() {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  bool WaitUntil(absl::Time t) {
    absl::MutexLock lock(&mu_);
    now_ = std::max(now_, t);
    return true;
  }

 private:
  absl::Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_) = absl::UnixEpoch();
};

std::vector<ScanTarget> Targets(int n) {
  std::vector<ScanTarget> out;
  for (int i = 0; i < n; ++i) out.push_back({"10.0.0.1", 1 + i, false});
  return out;
}

TEST(LanScanTest, RunScanPacesProbeStartsToTheRate) {
  FakeClock clock;
  ScanHooks hooks{[&] { return clock.Now(); },
                  [&](absl::Time t) { return clock.WaitUntil(t); }};
  absl::Mutex mu;
  std::vector<absl::Time> starts;
  const int kRate = 10;
  const int64_t ran = RunScan(
      Targets(50), ScanLimits{4, kRate},
      [&](const ScanTarget&) {
        absl::Time t = clock.Now();
        absl::MutexLock lock(&mu);
        starts.push_back(t);
      },
      hooks);
  EXPECT_EQ(ran, 50);
  ASSERT_EQ(starts.size(), 50u);
  std::sort(starts.begin(), starts.end());
  // Counted: by start + k/rate at most k+1 probes had started.
  for (size_t i = 0; i < starts.size(); ++i) {
    EXPECT_GE(starts[i], absl::UnixEpoch() +
                             absl::Seconds(1) / kRate * static_cast<int64_t>(i))
        << "probe " << i << " started early";
  }
}

TEST(LanScanTest, RunScanBoundsConcurrencyAndProbesEveryTargetOnce) {
  std::atomic<int> in_flight{0};
  std::atomic<int> most{0};
  absl::Mutex mu;
  std::vector<int> ports;
  const int64_t ran = RunScan(
      Targets(200), ScanLimits{3, kMaxScanRatePerSecond},
      [&](const ScanTarget& t) {
        const int now = ++in_flight;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        {
          absl::MutexLock lock(&mu);
          ports.push_back(t.port);
        }
        --in_flight;
      },
      ScanHooks{nullptr, [](absl::Time) { return true; }});
  EXPECT_EQ(ran, 200);
  EXPECT_LE(most.load(), 3);
  EXPECT_GE(most.load(), 1);
  std::sort(ports.begin(), ports.end());
  ASSERT_EQ(ports.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(ports[i], i + 1);
}

TEST(LanScanTest, ConcurrencyFollowsTheRateTimesTheDeadline) {
  // rate x timeout probes in flight keep `rate` starts a second going when
  // every probe waits out its deadline; bounded below and above.
  EXPECT_EQ(ScanConcurrency(200, absl::Milliseconds(500)), 100);
  EXPECT_EQ(ScanConcurrency(201, absl::Milliseconds(500)), 101);  // ceil
  EXPECT_EQ(ScanConcurrency(10, absl::Milliseconds(500)), kScanConcurrency);
  EXPECT_EQ(ScanConcurrency(1, absl::Milliseconds(1)), kScanConcurrency);
  EXPECT_EQ(ScanConcurrency(10000, absl::Milliseconds(500)),
            kMaxScanConcurrency);
  EXPECT_EQ(ScanConcurrency(100, absl::Seconds(60)), kMaxScanConcurrency);
  EXPECT_EQ(ScanConcurrency(kScanRatePerSecond, kScanProbeTimeout), 100);
}

TEST(LanScanTest, EscapesUntrustedTextForTheTerminal) {
  EXPECT_EQ(EscapeForTerminal("pbchain-devnet 0.1.0"), "pbchain-devnet 0.1.0");
  EXPECT_EQ(EscapeForTerminal("a\x1b[31mb"), "a\\x1b[31mb");
  EXPECT_EQ(EscapeForTerminal(std::string("\0\n\x7f\xff", 4)),
            "\\x00\\x0a\\x7f\\xff");
  EXPECT_EQ(EscapeForTerminal("back\\slash"), "back\\\\slash");
}

TEST(LanScanTest, RunScanStopsStartingProbesWhenTold) {
  std::atomic<int> waits{0};
  std::atomic<int> probed{0};
  // The 6th wait says stop: 5 probes ran, no more start.
  const int64_t ran = RunScan(
      Targets(100), ScanLimits{1, 100}, [&](const ScanTarget&) { ++probed; },
      ScanHooks{nullptr, [&](absl::Time) { return ++waits <= 5; }});
  EXPECT_EQ(ran, 5);
  EXPECT_EQ(probed.load(), 5);
}

}  // namespace
}  // namespace pbchain
