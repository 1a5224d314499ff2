#include "tools/pbtool/scan.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/exit_codes.h"
#include "grpcpp/grpcpp.h"
#include "nlohmann/json.hpp"
#include "pbchain/v1/node.grpc.pb.h"

namespace pbchain::scan {

const char kScanHelp[] =
    R"(  pbtool scan CIDR [--ports LOW-HIGH] [--json] [--timeout MS] [--rate N]
              [--tls-ca FILE [--tls-client-cert FILE --tls-client-key FILE]]
      Looks for pbchain nodes on an IPv4 subnet (at most a /16, 65536 probes):
      first the hosts in the kernel's neighbour table (/proc/net/arp), then
      every address, each on every port of --ports (default 7701), asking
      NodeService.GetInfo with a --timeout deadline (default 500 ms; up to
      60000), at most --rate starts a second (default 200, up to 10000) with
      rate x timeout probes in flight (16..256), so a scan where nobody
      answers runs at most 256 / timeout probes a second (512 at 500 ms; a
      /16 at the default rate takes ~5.5 minutes). Prints each node found by host, then port, then chain id,
      role, height, version, genesis hash, node id and tip; --json prints one
      JSON array of {host, port, chain_id, role, height, version,
      genesis_hash, node_id, tip_hash}. An answer over 64 KiB is ignored;
      text output shows control and non-ASCII bytes as \xNN. Exits 0 when the scan ran, found
      nodes or not ("no nodes found").
)";

namespace {

// What is kept of one answer: the printed fields only (an answer is at most
// kMaxScanAnswerBytes; its unknown fields and the rest are dropped).
struct Found {
  uint32_t ip = 0;  // for the order
  std::string host;
  int port = 0;
  std::string chain_id;
  v1::PeerRole role = v1::PEER_ROLE_UNSPECIFIED;
  uint64_t height = 0;
  std::string version;
  std::string genesis_hash;
  std::string node_id;
  std::string tip_hash;
};

std::string RoleName(v1::PeerRole role) {
  switch (role) {
    case v1::PEER_ROLE_HEAD:
      return "head";
    case v1::PEER_ROLE_SEED:
      return "seed";
    case v1::PEER_ROLE_FULL:
      return "full";
    default:
      return "unspecified";
  }
}

// A hash in protobuf bytes (internal order) as display hex (reversed).
std::string DisplayHex(const std::string& bytes) {
  std::string reversed(bytes.rbegin(), bytes.rend());
  return absl::BytesToHexString(reversed);
}

int Usage(std::ostream& err, const std::string& message) {
  err << "pbtool: scan: " << message << "\n";
  return kExitUsage;
}

bool ParseBounded(const std::string& text, int64_t low, int64_t high,
                  int64_t* out) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), absl::ascii_isdigit) &&
         text.size() <= 6 && absl::SimpleAtoi(text, out) && *out >= low &&
         *out <= high;
}

}  // namespace

int RunScanCommand(const ScanCommandOptions& options, std::ostream& out,
                   std::ostream& err) {
  absl::StatusOr<Ipv4Cidr> cidr = ParseIpv4Cidr(options.cidr);
  if (!cidr.ok()) return Usage(err, std::string(cidr.status().message()));
  absl::StatusOr<PortRange> ports = ParsePortRange(options.ports);
  if (!ports.ok()) {
    return Usage(err, absl::StrCat("--ports: ", ports.status().message()));
  }
  absl::Duration timeout = kScanProbeTimeout;
  if (!options.timeout_ms.empty()) {
    int64_t ms = 0;
    if (!ParseBounded(options.timeout_ms, 1,
                      absl::ToInt64Milliseconds(kMaxScanProbeTimeout), &ms)) {
      return Usage(err,
                   absl::StrCat("--timeout: want milliseconds 1..",
                                absl::ToInt64Milliseconds(kMaxScanProbeTimeout),
                                "; got '", options.timeout_ms, "'"));
    }
    timeout = absl::Milliseconds(ms);
  }
  ScanLimits limits;
  if (!options.rate.empty()) {
    int64_t rate = 0;
    if (!ParseBounded(options.rate, 1, kMaxScanRatePerSecond, &rate)) {
      return Usage(err, absl::StrCat("--rate: want probes a second 1..",
                                     kMaxScanRatePerSecond, "; got '",
                                     options.rate, "'"));
    }
    limits.rate_per_second = static_cast<int>(rate);
  }
  limits.concurrency = ScanConcurrency(limits.rate_per_second, timeout);
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      MakeChannelCredentials(options.tls);
  if (!credentials.ok()) {
    return Usage(err, std::string(credentials.status().message()));
  }
  std::vector<std::string> neighbours;
  if (absl::StatusOr<std::vector<std::string>> table =
          ReadNeighbourTable(options.neighbour_table);
      table.ok()) {
    neighbours = std::move(*table);
  }
  absl::StatusOr<std::vector<ScanTarget>> targets =
      ScanTargets(*cidr, *ports, neighbours);
  if (!targets.ok()) return Usage(err, std::string(targets.status().message()));

  absl::Mutex mu;
  std::vector<Found> found;  // guarded by mu (a local: no annotation)
  RunScan(*targets, limits, [&](const ScanTarget& target) {
    // The host is untrusted: its answer is bounded.
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(kMaxScanAnswerBytes);
    auto stub = v1::NodeService::NewStub(
        grpc::CreateCustomChannel(target.address(), *credentials, args));
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         absl::ToChronoMilliseconds(timeout));
    v1::GetInfoRequest request;
    v1::GetInfoResponse info;
    if (!stub->GetInfo(&context, request, &info).ok()) return;
    Found f;
    f.chain_id = info.chain_id();
    f.role = info.role();
    f.height = info.height();
    f.version = info.version();
    f.genesis_hash = info.genesis_hash();
    f.node_id = info.node_id();
    f.tip_hash = info.tip_hash();
    ParseIpv4(target.host, &f.ip);
    f.host = target.host;
    f.port = target.port;
    absl::MutexLock lock(&mu);
    found.push_back(std::move(f));
  });
  std::sort(found.begin(), found.end(), [](const Found& a, const Found& b) {
    return std::tie(a.ip, a.port) < std::tie(b.ip, b.port);
  });

  if (options.json) {
    nlohmann::json array = nlohmann::json::array();
    for (const Found& f : found) {
      array.push_back({{"host", f.host},
                       {"port", f.port},
                       {"chain_id", f.chain_id},
                       {"role", RoleName(f.role)},
                       {"height", f.height},
                       {"version", f.version},
                       {"genesis_hash", DisplayHex(f.genesis_hash)},
                       {"node_id", f.node_id},
                       {"tip_hash", DisplayHex(f.tip_hash)}});
    }
    // JSON escapes control characters; bytes that are not UTF-8 become
    // U+FFFD instead of an exception.
    out << array.dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
        << "\n";
    return kExitOk;
  }
  const std::string scanned =
      absl::StrCat(cidr->ToString(), " ports ", ports->low, "-", ports->high,
                   ": ", targets->size(), " probes");
  if (found.empty()) {
    out << "no nodes found (" << scanned << ")\n";
    return kExitOk;
  }
  out << found.size() << " node(s) found (" << scanned << ")\n";
  std::string host;
  for (const Found& f : found) {
    if (f.host != host) {
      host = f.host;
      out << host << "\n";
    }
    out << "  port " << f.port << "\n"
        << "    chain id " << EscapeForTerminal(f.chain_id) << ", role "
        << RoleName(f.role) << ", height " << f.height << ", version "
        << EscapeForTerminal(f.version) << "\n"
        << "    genesis " << DisplayHex(f.genesis_hash) << "\n"
        << "    node id " << EscapeForTerminal(f.node_id) << "\n"
        << "    tip " << DisplayHex(f.tip_hash) << "\n";
  }
  return kExitOk;
}

}  // namespace pbchain::scan
