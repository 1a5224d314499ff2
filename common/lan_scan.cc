#include "common/lan_scan.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"

namespace pbchain {

bool ParseIpv4(absl::string_view text, uint32_t* out) {
  // inet_pton accepts only the strict dotted quad (no "127.1", no octal).
  const std::string copy(text);
  in_addr addr{};
  if (copy.empty() || inet_pton(AF_INET, copy.c_str(), &addr) != 1) {
    return false;
  }
  *out = ntohl(addr.s_addr);
  return true;
}

std::string Ipv4ToString(uint32_t ip) {
  return absl::StrCat(ip >> 24, ".", (ip >> 16) & 0xff, ".", (ip >> 8) & 0xff,
                      ".", ip & 0xff);
}

bool Ipv4Cidr::Contains(uint32_t ip) const {
  const uint32_t mask = prefix == 0 ? 0 : ~uint32_t{0} << (32 - prefix);
  return (ip & mask) == base;
}

std::string Ipv4Cidr::ToString() const {
  return absl::StrCat(Ipv4ToString(base), "/", prefix);
}

absl::StatusOr<Ipv4Cidr> ParseIpv4Cidr(absl::string_view text) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad subnet '", text, "': ", why,
                     " (want an IPv4 CIDR such as 192.168.1.0/24)"));
  };
  if (text.find(':') != absl::string_view::npos) {
    return bad("IPv6 is not supported, only IPv4");
  }
  std::vector<absl::string_view> parts = absl::StrSplit(text, '/');
  if (parts.size() > 2) return bad("more than one '/'");
  uint32_t ip = 0;
  if (!ParseIpv4(parts[0], &ip)) return bad("not an IPv4 address");
  int prefix = 32;
  if (parts.size() == 2) {
    if (parts[1].empty() || parts[1].size() > 2 ||
        !std::all_of(parts[1].begin(), parts[1].end(), absl::ascii_isdigit) ||
        !absl::SimpleAtoi(parts[1], &prefix) || prefix > 32) {
      return bad("the prefix length must be 0..32");
    }
  }
  if (prefix < kMinScanPrefix) {
    return bad(absl::StrCat(
        "a /", prefix, " has ", uint64_t{1} << (32 - prefix),
        " addresses; at most a /", kMinScanPrefix, " (",
        uint64_t{1} << (32 - kMinScanPrefix), " addresses) is scanned"));
  }
  Ipv4Cidr cidr;
  cidr.prefix = prefix;
  cidr.base = prefix == 0 ? 0 : ip & (~uint32_t{0} << (32 - prefix));
  return cidr;
}

absl::StatusOr<PortRange> ParsePortRange(absl::string_view text) {
  auto bad = [&]() {
    return absl::InvalidArgumentError(absl::StrCat(
        "bad port range '", text, "': want LOW-HIGH or PORT, ports 1..65535, ",
        "LOW <= HIGH, at most ", kMaxScanPorts, " ports (e.g. 7701-7710)"));
  };
  auto port = [](absl::string_view p, int* out) {
    return !p.empty() && p.size() <= 5 &&
           std::all_of(p.begin(), p.end(), absl::ascii_isdigit) &&
           absl::SimpleAtoi(p, out) && *out >= 1 && *out <= 65535;
  };
  std::vector<absl::string_view> parts = absl::StrSplit(text, '-');
  PortRange range;
  if (parts.size() == 1) {
    if (!port(parts[0], &range.low)) return bad();
    range.high = range.low;
  } else if (parts.size() == 2) {
    if (!port(parts[0], &range.low) || !port(parts[1], &range.high)) {
      return bad();
    }
  } else {
    return bad();
  }
  if (range.low > range.high || range.count() > kMaxScanPorts) return bad();
  return range;
}

std::vector<std::string> ParseNeighbourTable(absl::string_view text) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  bool header = true;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (header) {  // "IP address  HW type  Flags  HW address  Mask  Device"
      header = false;
      continue;
    }
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (fields.size() < 3) continue;
    uint32_t ip = 0;
    if (!ParseIpv4(fields[0], &ip)) continue;
    absl::string_view flags = fields[2];
    if (!absl::ConsumePrefix(&flags, "0x") &&
        !absl::ConsumePrefix(&flags, "0X")) {
      continue;
    }
    uint32_t value = 0;
    if (!absl::SimpleHexAtoi(flags, &value) || value == 0) continue;
    std::string host = Ipv4ToString(ip);
    if (seen.insert(host).second) out.push_back(std::move(host));
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> ReadNeighbourTable(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path));
  }
  std::string text;
  text.resize(kMaxNeighbourTableBytes);
  in.read(text.data(), kMaxNeighbourTableBytes);
  text.resize(static_cast<size_t>(in.gcount()));
  if (in.bad()) return absl::DataLossError(absl::StrCat("cannot read ", path));
  return ParseNeighbourTable(text);
}

std::vector<std::string> LocalIpv4Addresses() {
  std::vector<std::string> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    const auto* sin = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
    std::string host = Ipv4ToString(ntohl(sin->sin_addr.s_addr));
    if (std::find(out.begin(), out.end(), host) == out.end()) {
      out.push_back(std::move(host));
    }
  }
  freeifaddrs(list);
  return out;
}

std::string EscapeForTerminal(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\\') {
      out += "\\\\";
    } else if (byte >= 0x20 && byte < 0x7f) {
      out += c;
    } else {
      absl::StrAppend(&out, "\\x", absl::Hex(byte, absl::kZeroPad2));
    }
  }
  return out;
}

std::string ScanTarget::address() const {
  return absl::StrCat(host, ":", port);
}

absl::StatusOr<std::vector<ScanTarget>> ScanTargets(
    const Ipv4Cidr& cidr, const PortRange& ports,
    const std::vector<std::string>& neighbours,
    const std::vector<std::string>& skip) {
  if (ports.count() <= 0) {
    return absl::InvalidArgumentError("the port range is empty");
  }
  // Network and broadcast addresses answer nobody up to a /30.
  uint64_t first = cidr.base;
  uint64_t last = uint64_t{cidr.base} + cidr.size() - 1;
  if (cidr.prefix <= 30) {
    ++first;
    --last;
  }
  std::vector<uint32_t> known;
  std::set<uint32_t> known_set;
  for (const std::string& n : neighbours) {
    uint32_t ip = 0;
    if (!ParseIpv4(n, &ip) || !cidr.Contains(ip) || ip < first || ip > last) {
      continue;
    }
    if (known_set.insert(ip).second) known.push_back(ip);
  }
  const uint64_t hosts = last - first + 1;
  const uint64_t total = hosts * static_cast<uint64_t>(ports.count());
  if (total > static_cast<uint64_t>(kMaxScanTargets)) {
    return absl::InvalidArgumentError(
        absl::StrCat("scanning ", cidr.ToString(), " on ", ports.count(),
                     " port(s) is ", total, " probes (", hosts, " hosts x ",
                     ports.count(), " ports); at most ", kMaxScanTargets,
                     ": narrow the subnet or the port range"));
  }
  const std::set<std::string> skipped(skip.begin(), skip.end());
  std::vector<ScanTarget> out;
  out.reserve(total);
  auto add_host = [&](uint32_t ip, bool neighbour) {
    const std::string host = Ipv4ToString(ip);
    for (int port = ports.low; port <= ports.high; ++port) {
      ScanTarget t{host, port, neighbour};
      if (skipped.count(t.address()) != 0) continue;
      out.push_back(std::move(t));
    }
  };
  for (uint32_t ip : known) add_host(ip, true);
  for (uint64_t ip = first; ip <= last; ++ip) {
    if (known_set.count(static_cast<uint32_t>(ip)) != 0) continue;
    add_host(static_cast<uint32_t>(ip), false);
  }
  return out;
}

int ScanConcurrency(int rate_per_second, absl::Duration timeout) {
  const double needed = std::ceil(std::max(1, rate_per_second) *
                                  absl::ToDoubleSeconds(timeout));
  return static_cast<int>(std::clamp<double>(
      needed, kScanConcurrency, kMaxScanConcurrency));
}

int64_t RunScan(const std::vector<ScanTarget>& targets,
                const ScanLimits& limits,
                const std::function<void(const ScanTarget&)>& probe,
                const ScanHooks& hooks) {
  if (targets.empty()) return 0;
  std::function<absl::Time()> now =
      hooks.now ? hooks.now : [] { return absl::Now(); };
  std::function<bool(absl::Time)> wait_until =
      hooks.wait_until ? hooks.wait_until : [now](absl::Time t) {
        absl::SleepFor(t - now());
        return true;
      };
  const int rate = std::max(1, limits.rate_per_second);
  const absl::Duration spacing = absl::Seconds(1) / rate;
  const absl::Time start = now();

  // Probe i goes to whoever takes index i, and starts at start + i*spacing:
  // a fixed schedule, so a slow probe never lets the rate burst above it.
  struct State {
    absl::Mutex mu;
    size_t next ABSL_GUARDED_BY(mu) = 0;
    bool stop ABSL_GUARDED_BY(mu) = false;
    int64_t started ABSL_GUARDED_BY(mu) = 0;
  } state;
  auto worker = [&] {
    while (true) {
      size_t index;
      {
        absl::MutexLock lock(&state.mu);
        if (state.stop || state.next >= targets.size()) return;
        index = state.next++;
      }
      if (!wait_until(start + spacing * static_cast<int64_t>(index))) {
        absl::MutexLock lock(&state.mu);
        state.stop = true;
        return;
      }
      {
        absl::MutexLock lock(&state.mu);
        if (state.stop) return;
        ++state.started;
      }
      probe(targets[index]);
    }
  };
  const size_t threads = std::min<size_t>(
      targets.size(), static_cast<size_t>(std::max(1, limits.concurrency)));
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (size_t i = 1; i < threads; ++i) pool.emplace_back(worker);
  worker();  // the calling thread is one of them
  for (std::thread& t : pool) t.join();
  absl::MutexLock lock(&state.mu);
  return state.started;
}

}  // namespace pbchain
