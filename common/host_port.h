// The one parser of network addresses in pbchain: "host:port" text given on
// command lines, in Hello messages and tracker joins, and gRPC's peer text
// ("ipv4:1.2.3.4:5678"). Every program and service validates addresses with
// it, so an address one part accepts is accepted by all.
//
// Pure functions; any thread.
#ifndef PBCHAIN_COMMON_HOST_PORT_H_
#define PBCHAIN_COMMON_HOST_PORT_H_

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace pbchain {

// Longest address text accepted anywhere (bytes).
inline constexpr size_t kMaxAddressBytes = 255;

// A parsed address. `host` is without brackets ("::1", "10.0.0.1",
// "node-1.example").
struct HostPort {
  std::string host;
  int port = 0;

  // The text form: "host:port", IPv6 hosts in brackets ("[::1]:7700").
  std::string ToString() const;
  bool is_ipv6() const;
};

struct HostPortRules {
  // Port 0 ("pick a free port") is allowed: listen addresses.
  bool allow_port_zero = false;
};

// Parses "host:port" or "[IPv6]:port". The text must be at most
// kMaxAddressBytes of printable ASCII without spaces; the host non-empty and
// made of letters, digits, '.', '-', '_' (plus ':' and '%' inside brackets:
// no resolver scheme or path can hide in it); an unbracketed host may not
// contain ':'; the port decimal digits, 1..65535 (0..65535 with
// allow_port_zero). INVALID_ARGUMENT saying what is wrong, with an example.
absl::StatusOr<HostPort> ParseHostPort(absl::string_view text,
                                       const HostPortRules& rules = {});

// The IP in gRPC's peer text: "ipv4:1.2.3.4:5678" -> "1.2.3.4",
// "ipv6:[::1]:5678" (brackets possibly %-encoded) -> "::1". Other transports
// (unix:, inproc) give the whole text.
std::string IpFromGrpcPeer(absl::string_view peer);

// True for a host that reaches only this machine, judged as an address, not
// as text: an IP (inet_pton, any spelling) in 127.0.0.0/8, ::1 or
// ::ffff:127.0.0.0/104 ("[0:0:0:0:0:0:0:1]", "::ffff:7f00:1" included); a
// numeric shorthand resolvers take (inet_aton: "127.1", "2130706433",
// "0x7f.1") for such an IP or for 0.0.0.0 (the bare "0": dialing it reaches
// this host); the name "localhost" or a name under it, in any case, with
// or without a trailing dot ("LOCALHOST", "localhost."). Takes an observed
// IP (IpFromGrpcPeer) or any host text (HostPort::host).
bool IsLoopbackIp(absl::string_view ip);

// --- Addresses seen by the receiver (docs/PROTOCOL.md "Addresses") ---

// True for the unspecified (wildcard) IP: 0.0.0.0, :: and ::ffff:0.0.0.0,
// in any spelling (compared as bytes). Not for the shorthand "0" (which
// IsLoopbackIp counts as local-only: never replaced by an observed IP).
bool IsUnspecifiedIp(absl::string_view ip);

// The address a peer or a tracker client can be reached at, from the
// address it claims and the IP its connection came from (IpFromGrpcPeer):
// a claimed unspecified host ("0.0.0.0:P", "[::]:P", what a node with a
// wildcard --listen and no --advertise sends) becomes `observed_ip` with
// the claimed port (an IPv4-mapped IPv6 address as plain IPv4); any other
// claim is returned as it is. INVALID_ARGUMENT if `claimed` does not parse
// (ParseHostPort), or it needs the observed IP and `observed_ip` is not an
// IP address (a unix: or in-process connection) or is itself unspecified.
absl::StatusOr<std::string> ResolveClaimedAddress(
    absl::string_view claimed, absl::string_view observed_ip);

}  // namespace pbchain

#endif  // PBCHAIN_COMMON_HOST_PORT_H_
