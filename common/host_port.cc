#include "common/host_port.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace pbchain {
namespace {

absl::Status Invalid(absl::string_view text, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("address '", text, "': ", why));
}

}  // namespace

std::string HostPort::ToString() const {
  return is_ipv6() ? absl::StrCat("[", host, "]:", port)
                   : absl::StrCat(host, ":", port);
}

bool HostPort::is_ipv6() const { return host.find(':') != std::string::npos; }

absl::StatusOr<HostPort> ParseHostPort(absl::string_view text,
                                       const HostPortRules& rules) {
  if (text.empty()) {
    return absl::InvalidArgumentError(
        "address is empty (want HOST:PORT, e.g. 127.0.0.1:7700)");
  }
  if (text.size() > kMaxAddressBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "address has ", text.size(), " bytes, limit ", kMaxAddressBytes));
  }
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c <= ' ' || c > '~') {
      // Not echoed: it may not be printable.
      return absl::InvalidArgumentError(absl::StrCat(
          "address: character ", i, " is not printable ASCII or is a space"));
    }
  }
  absl::string_view host;
  absl::string_view port;
  const bool bracketed = text.front() == '[';
  if (bracketed) {
    const size_t close = text.find(']');
    if (close == absl::string_view::npos || close + 1 >= text.size() ||
        text[close + 1] != ':') {
      return Invalid(text, "want [IPv6]:PORT, e.g. [::1]:7700");
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == absl::string_view::npos) {
      return Invalid(text, "want HOST:PORT, e.g. 127.0.0.1:7700");
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != absl::string_view::npos) {
      return Invalid(text, "an IPv6 host goes in brackets, e.g. [::1]:7700");
    }
  }
  if (host.empty()) {
    return Invalid(text, "no host (e.g. 127.0.0.1 for loopback)");
  }
  for (char c : host) {
    const bool ok = absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
                    c == '.' || c == '-' || c == '_' ||
                    (bracketed && (c == ':' || c == '%'));
    if (!ok) {
      return Invalid(text,
                     "the host may hold only letters, digits, '.', '-', '_' "
                     "(and ':' '%' inside [IPv6] brackets)");
    }
  }
  HostPort out;
  out.host = std::string(host);
  if (bracketed && !out.is_ipv6()) {
    return Invalid(text, "only IPv6 hosts go in brackets");
  }
  const int low = rules.allow_port_zero ? 0 : 1;
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(),
                   [](char c) { return c >= '0' && c <= '9'; }) ||
      !absl::SimpleAtoi(port, &out.port) || out.port < low ||
      out.port > 65535) {
    return Invalid(text, rules.allow_port_zero
                             ? "the port must be 0..65535 (0 picks a free one)"
                             : "the port must be 1..65535");
  }
  return out;
}

std::string IpFromGrpcPeer(absl::string_view peer) {
  absl::string_view p = peer;
  if (!absl::ConsumePrefix(&p, "ipv4:") && !absl::ConsumePrefix(&p, "ipv6:")) {
    return std::string(peer);
  }
  if (size_t colon = p.rfind(':'); colon != absl::string_view::npos) {
    p = p.substr(0, colon);
  }
  // Some gRPC versions %-encode the brackets, in either case.
  absl::ConsumePrefix(&p, "[") || absl::ConsumePrefix(&p, "%5B") ||
      absl::ConsumePrefix(&p, "%5b");
  absl::ConsumeSuffix(&p, "]") || absl::ConsumeSuffix(&p, "%5D") ||
      absl::ConsumeSuffix(&p, "%5d");
  return std::string(p);
}

namespace {

// The IP as 4 or 16 bytes; false if `ip` is not an IP address (inet_pton:
// dotted quads and every IPv6 spelling, IPv4-mapped included).
bool ParseIp(absl::string_view ip, std::string* bytes) {
  const std::string text(ip);
  unsigned char buf[16];
  if (inet_pton(AF_INET, text.c_str(), buf) == 1) {
    bytes->assign(reinterpret_cast<char*>(buf), 4);
    return true;
  }
  if (inet_pton(AF_INET6, text.c_str(), buf) == 1) {
    bytes->assign(reinterpret_cast<char*>(buf), 16);
    return true;
  }
  return false;
}

constexpr unsigned char kV4MappedPrefix[12] = {0, 0, 0, 0, 0,    0,
                                               0, 0, 0, 0, 0xff, 0xff};

// An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as its 4 IPv4 bytes; other
// addresses unchanged.
std::string Unmapped(const std::string& bytes) {
  if (bytes.size() == 16 && std::memcmp(bytes.data(), kV4MappedPrefix,
                                        sizeof(kV4MappedPrefix)) == 0) {
    return bytes.substr(12);
  }
  return bytes;
}

// The IPv4 bytes of a numeric shorthand that resolvers (inet_aton,
// getaddrinfo) take but inet_pton does not: "0", "127.1", "2130706433",
// "0x7f.1". False for anything else.
bool ParseIpv4Shorthand(absl::string_view host, std::string* bytes) {
  if (host.empty() || !std::all_of(host.begin(), host.end(), [](char c) {
        return absl::ascii_isxdigit(static_cast<unsigned char>(c)) ||
               c == '.' || c == 'x' || c == 'X';
      })) {
    return false;
  }
  const std::string text(host);
  in_addr a{};
  if (inet_aton(text.c_str(), &a) == 0) return false;
  bytes->assign(reinterpret_cast<const char*>(&a.s_addr), 4);
  return true;
}

bool IsLoopbackBytes(const std::string& raw) {
  const std::string bytes = Unmapped(raw);
  if (bytes.size() == 4) return static_cast<unsigned char>(bytes[0]) == 127;
  static constexpr unsigned char kV6Loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0,
                                                    0, 0, 0, 0, 0, 0, 0, 1};
  return bytes.size() == 16 && std::memcmp(bytes.data(), kV6Loopback, 16) == 0;
}

bool IsZeroBytes(const std::string& raw) {
  const std::string bytes = Unmapped(raw);
  return !bytes.empty() &&
         std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == 0; });
}

}  // namespace

bool IsLoopbackIp(absl::string_view ip) {
  std::string bytes;
  if (ParseIp(ip, &bytes)) return IsLoopbackBytes(bytes);
  // A dial of 0.0.0.0 reaches this host: the shorthand "0" is local too.
  if (ParseIpv4Shorthand(ip, &bytes)) {
    return IsLoopbackBytes(bytes) || IsZeroBytes(bytes);
  }
  // Names: "localhost" and names under it (RFC 6761), any case, with or
  // without the trailing dot of a fully qualified name.
  std::string name = absl::AsciiStrToLower(ip);
  if (absl::EndsWith(name, ".")) name.pop_back();
  return name == "localhost" || absl::EndsWith(name, ".localhost");
}

bool IsUnspecifiedIp(absl::string_view ip) {
  std::string bytes;
  return ParseIp(ip, &bytes) && IsZeroBytes(bytes);
}

absl::StatusOr<std::string> ResolveClaimedAddress(
    absl::string_view claimed, absl::string_view observed_ip) {
  absl::StatusOr<HostPort> parsed = ParseHostPort(claimed);
  if (!parsed.ok()) return parsed.status();
  if (!IsUnspecifiedIp(parsed->host)) return std::string(claimed);
  absl::string_view ip = observed_ip;
  if (absl::StartsWith(ip, "::ffff:") &&
      ip.find('.') != absl::string_view::npos) {
    ip.remove_prefix(strlen("::ffff:"));  // IPv4-mapped: dial IPv4
  }
  std::string bytes;
  if (!ParseIp(ip, &bytes) || IsUnspecifiedIp(ip)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "address ", claimed,
        " has an unspecified host and the connection's IP is unknown ('",
        observed_ip, "')"));
  }
  HostPort resolved;
  resolved.host = std::string(ip);
  resolved.port = parsed->port;
  return resolved.ToString();
}

}  // namespace pbchain
