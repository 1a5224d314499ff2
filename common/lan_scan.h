// LAN discovery: what to probe and at what pace, shared by pbnode
// (--discover-subnet, --discover-local; node/p2p/network.cc) and
// `pbtool scan` (tools/pbtool/scan.cc). No gRPC here: each user brings its
// own probe (a NodeService.GetInfo call); this module enumerates the
// targets and runs the probes with bounded concurrency and a bounded rate.
//
// Targets: first the hosts the kernel already knows (its IPv4 neighbour
// table, /proc/net/arp; incomplete entries, flags 0x0, are skipped, and so
// are hosts outside the subnet), then every address of the subnet in
// order, each times every port of the range. The network and broadcast
// addresses of a subnet up to /30 are not probed (a /31 or /32 has none).
// IPv4 only: an IPv6 CIDR is refused with a clear message.
//
// Thread safety: the functions are pure or read files; RunScan calls the
// probe from up to ScanLimits::concurrency threads at once.
#ifndef PBCHAIN_COMMON_LAN_SCAN_H_
#define PBCHAIN_COMMON_LAN_SCAN_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace pbchain {

// Largest subnet scanned: a /16 (65,536 addresses); a wider prefix is
// refused.
inline constexpr int kMinScanPrefix = 16;
// Most ports in one range (--discover-ports, --discover-local, --ports).
inline constexpr int kMaxScanPorts = 1024;
// Most probes in one scan (hosts x ports, neighbour hosts included): a /16
// on one port, or a /24 on 256 ports. More is refused, not truncated.
inline constexpr int64_t kMaxScanTargets = 65536;
// The default pace of probe starts, and the bounds of the probes in flight
// at once (ScanConcurrency: enough for the rate when every probe waits out
// its deadline, as one to an empty address does, between these bounds).
inline constexpr int kScanRatePerSecond = 200;
inline constexpr int kScanConcurrency = 16;
inline constexpr int kMaxScanConcurrency = 256;
// The largest --rate / --discover-rate accepted.
inline constexpr int kMaxScanRatePerSecond = 10000;
// The deadline of one probe (a GetInfo call), and the longest pbtool scan
// --timeout accepts.
inline constexpr absl::Duration kScanProbeTimeout = absl::Milliseconds(500);
inline constexpr absl::Duration kMaxScanProbeTimeout = absl::Seconds(60);
// The largest answer a probe accepts (the probe channel's gRPC receive
// limit): a GetInfoResponse is a few hundred bytes; a host on the scanned
// subnet is not trusted, and a larger answer fails the probe.
inline constexpr int kMaxScanAnswerBytes = 64 * 1024;
// The kernel's IPv4 neighbour (ARP) table, and the most of it read.
inline constexpr char kNeighbourTablePath[] = "/proc/net/arp";
inline constexpr int64_t kMaxNeighbourTableBytes = 1 << 20;

// An IPv4 subnet. `base` has the host bits cleared (host byte order).
struct Ipv4Cidr {
  uint32_t base = 0;
  int prefix = 32;
  uint64_t size() const { return uint64_t{1} << (32 - prefix); }
  bool Contains(uint32_t ip) const;
  std::string ToString() const;  // "10.0.0.0/24"
};

// "A.B.C.D/N" (N 16..32) or "A.B.C.D" (a /32). Host bits may be set
// ("192.168.1.7/24" is 192.168.1.0/24: an interface's own address and
// prefix work). INVALID_ARGUMENT, naming the text, for anything else: not
// IPv4 (IPv6 is not supported), a prefix wider than /16 (kMinScanPrefix).
absl::StatusOr<Ipv4Cidr> ParseIpv4Cidr(absl::string_view text);

// An inclusive port range.
struct PortRange {
  int low = 0;
  int high = -1;
  int count() const { return high >= low ? high - low + 1 : 0; }
};

// "LOW-HIGH" or "PORT"; ports 1..65535, LOW <= HIGH, at most
// kMaxScanPorts. INVALID_ARGUMENT naming the text otherwise.
absl::StatusOr<PortRange> ParsePortRange(absl::string_view text);

// The dotted-quad IPv4 address as a number (host byte order), or false.
bool ParseIpv4(absl::string_view text, uint32_t* out);
std::string Ipv4ToString(uint32_t ip);

// The complete entries of a table in /proc/net/arp's format (a header
// line, then "IP HWtype Flags HWaddress Mask Device"): the IPv4 addresses
// whose flags are not 0x0 (0x0 is an incomplete entry: no answer to ARP),
// in table order, without duplicates. Malformed lines are skipped.
std::vector<std::string> ParseNeighbourTable(absl::string_view text);

// ParseNeighbourTable of the file at `path` (at most
// kMaxNeighbourTableBytes are read). NOT_FOUND / other errors when the
// file cannot be read (not Linux, no /proc): callers scan the subnet
// alone then.
absl::StatusOr<std::vector<std::string>> ReadNeighbourTable(
    const std::string& path = kNeighbourTablePath);

// This host's IPv4 interface addresses (getifaddrs), e.g. for a node to
// skip its own listening port on each of them. Empty on error.
std::vector<std::string> LocalIpv4Addresses();

// `text` (from an untrusted answer) safe to print on a terminal: printable
// ASCII as is, a backslash as "\\", any other byte (control characters
// such as ESC, and non-ASCII) as "\xNN".
std::string EscapeForTerminal(absl::string_view text);

struct ScanTarget {
  std::string host;  // dotted quad
  int port = 0;
  bool from_neighbour_table = false;
  std::string address() const;  // "host:port"
};

// The probes of one scan, in order: the neighbour hosts inside `cidr`
// (given order, duplicates dropped), then the rest of the subnet's
// addresses in ascending order, each with every port of `ports` in turn.
// A "host:port" in `skip` (e.g. a node's own listening endpoint) is left
// out. INVALID_ARGUMENT when the scan would exceed kMaxScanTargets
// probes (the message says how many and how to narrow it) or the port
// range is empty.
absl::StatusOr<std::vector<ScanTarget>> ScanTargets(
    const Ipv4Cidr& cidr, const PortRange& ports,
    const std::vector<std::string>& neighbours,
    const std::vector<std::string>& skip = {});

// Probes in flight for `rate_per_second` starts a second of probes that
// take up to `timeout` each: ceil(rate x timeout), at least
// kScanConcurrency, at most kMaxScanConcurrency. A scan then starts
// min(rate, kMaxScanConcurrency / timeout) probes a second even when no
// address answers (at the 500 ms default deadline: up to 512 a second;
// a /16 at the default 200 a second takes ~5.5 minutes).
int ScanConcurrency(int rate_per_second, absl::Duration timeout);

struct ScanLimits {
  int concurrency = kScanConcurrency;        // probes in flight, >= 1
  int rate_per_second = kScanRatePerSecond;  // probe starts per second, >= 1
};

// How RunScan reads time and waits (tests give a fake clock). `wait_until`
// returns once the time has come, or false at once if the scan should stop
// (no further probe starts then). Null members: the real clock and
// absl::SleepFor, never stopping.
struct ScanHooks {
  std::function<absl::Time()> now;
  std::function<bool(absl::Time)> wait_until;
};

// Calls probe(target) for every target, from at most limits.concurrency
// threads at once; probe i (in target order) starts no earlier than
// start + i / limits.rate_per_second, so at most 1 + rate * T probes have
// started T after the start. Returns when every started probe returned;
// the result is how many were started (fewer than targets.size() when
// wait_until said stop).
int64_t RunScan(const std::vector<ScanTarget>& targets,
                const ScanLimits& limits,
                const std::function<void(const ScanTarget&)>& probe,
                const ScanHooks& hooks = {});

}  // namespace pbchain

#endif  // PBCHAIN_COMMON_LAN_SCAN_H_
