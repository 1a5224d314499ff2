#include "common/host_port.h"

#include "gtest/gtest.h"

namespace pbchain {
namespace {

TEST(HostPortTest, ParsesNamesIpv4AndBracketedIpv6) {
  absl::StatusOr<HostPort> a = ParseHostPort("127.0.0.1:7700");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 7700);
  EXPECT_FALSE(a->is_ipv6());
  EXPECT_EQ(a->ToString(), "127.0.0.1:7700");

  absl::StatusOr<HostPort> v6 = ParseHostPort("[::1]:65535");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 65535);
  EXPECT_TRUE(v6->is_ipv6());
  EXPECT_EQ(v6->ToString(), "[::1]:65535");

  absl::StatusOr<HostPort> name = ParseHostPort("node-1.example_x:1");
  ASSERT_TRUE(name.ok()) << name.status();
  EXPECT_EQ(name->host, "node-1.example_x");
  EXPECT_TRUE(ParseHostPort("[fe80::1%eth0]:7700").ok());
}

TEST(HostPortTest, RefusesMalformedAddressesWithAReason) {
  for (const char* bad :
       {"", "127.0.0.1", ":80", "h:", "h:0", "h:65536", "h:-1", "h:8o",
        "h:123456", "::1:80", "[::1]", "[::1]80", "[::1:80", "h :80", "h/x:80",
        "dns:///h:80", "h:80\n", "[h]:80", "h:+80"}) {
    absl::StatusOr<HostPort> parsed = ParseHostPort(bad);
    EXPECT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
    EXPECT_FALSE(parsed.status().message().empty()) << bad;
  }
  EXPECT_FALSE(ParseHostPort(std::string(251, 'a') + ":7700").ok());  // 256
  EXPECT_TRUE(ParseHostPort(std::string(250, 'a') + ":7700").ok());   // 255
  // The message says what to write.
  EXPECT_NE(ParseHostPort("::1:80").status().message().find("[::1]"),
            std::string::npos);
}

TEST(HostPortTest, ListenRulesAllowPortZero) {
  EXPECT_FALSE(ParseHostPort("127.0.0.1:0").ok());
  HostPortRules listen;
  listen.allow_port_zero = true;
  EXPECT_TRUE(ParseHostPort("127.0.0.1:0", listen).ok());
  EXPECT_TRUE(ParseHostPort("[::]:0", listen).ok());
  EXPECT_FALSE(ParseHostPort("127.0.0.1:65536", listen).ok());
}

TEST(HostPortTest, IpFromGrpcPeerText) {
  EXPECT_EQ(IpFromGrpcPeer("ipv4:1.2.3.4:5678"), "1.2.3.4");
  EXPECT_EQ(IpFromGrpcPeer("ipv6:[2001:db8::1]:5678"), "2001:db8::1");
  EXPECT_EQ(IpFromGrpcPeer("ipv6:%5B::1%5D:5678"), "::1");
  EXPECT_EQ(IpFromGrpcPeer("ipv6:%5b::1%5d:5678"), "::1");
  EXPECT_EQ(IpFromGrpcPeer("unix:/tmp/s"), "unix:/tmp/s");
  EXPECT_EQ(IpFromGrpcPeer("inproc"), "inproc");
}

TEST(HostPortTest, Loopback) {
  EXPECT_TRUE(IsLoopbackIp("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackIp("127.8.9.10"));
  EXPECT_TRUE(IsLoopbackIp("::1"));
  EXPECT_TRUE(IsLoopbackIp("::ffff:127.0.0.1"));
  EXPECT_FALSE(IsLoopbackIp("10.0.0.1"));
  EXPECT_FALSE(IsLoopbackIp("::2"));
  EXPECT_FALSE(IsLoopbackIp("1127.0.0.1"));
}

// Loopback is judged as an address, not as text (issue 16): every spelling
// a remote peer could use to get a local-only address spread is caught.
TEST(HostPortTest, LoopbackInAnySpelling) {
  for (const char* host : {
           "::ffff:7f00:1",     // v4-mapped 127.0.0.1, hex
           "0:0:0:0:0:0:0:1",   // ::1 in full
           "0000::0001",        // ::1, zero-padded
           "::FFFF:127.0.0.1",  // upper case
           "LOCALHOST",
           "localhost.",
           "LocalHost.",
           "localhost",
           "node.localhost",  // RFC 6761: names under localhost
           "0",               // inet_aton: 0.0.0.0, dials this host
           "127.1",
           "2130706433",
           "0x7f.1",
           "0x7f000001",
       }) {
    EXPECT_TRUE(IsLoopbackIp(host)) << host;
  }
  for (const char* host : {
           "10.0.0.1",
           "::ffff:a00:1",
           "::2",
           "localhost.example",
           "notlocalhost",
           "example.com.",
           "dead",
           "10.1",
           "1.0.0.127",
           "",
           "::ffff:7f00:1x",
       }) {
    EXPECT_FALSE(IsLoopbackIp(host)) << host;
  }
}

// The hosts of the review, as a remote peer would claim them: each either
// stays local-only (refused from off loopback) or is the wildcard (replaced
// by the observed IP); none passes as a reachable address.
TEST(HostPortTest, ClaimedLocalAddressesAreRecognisedAfterResolution) {
  for (const char* claimed :
       {"LOCALHOST:7700", "[::ffff:7f00:1]:7700", "[0:0:0:0:0:0:0:1]:7700",
        "localhost.:7700", "0:7700"}) {
    absl::StatusOr<std::string> got =
        ResolveClaimedAddress(claimed, "198.51.100.4");
    ASSERT_TRUE(got.ok()) << claimed << " " << got.status();
    absl::StatusOr<HostPort> host = ParseHostPort(*got);
    ASSERT_TRUE(host.ok()) << *got;
    EXPECT_TRUE(IsLoopbackIp(host->host)) << claimed << " -> " << *got;
  }
  absl::StatusOr<std::string> mapped_zero =
      ResolveClaimedAddress("[::ffff:0.0.0.0]:7700", "198.51.100.4");
  ASSERT_TRUE(mapped_zero.ok()) << mapped_zero.status();
  EXPECT_EQ(*mapped_zero, "198.51.100.4:7700");
}

TEST(HostPortTest, UnspecifiedIps) {
  for (const char* ip : {"0.0.0.0", "::", "0:0:0:0:0:0:0:0", "::0",
                         "::ffff:0.0.0.0", "::ffff:0:0"}) {
    EXPECT_TRUE(IsUnspecifiedIp(ip)) << ip;
  }
  for (const char* ip :
       {"127.0.0.1", "::1", "0.0.0.1", "[::]", "", "host", "0"}) {
    EXPECT_FALSE(IsUnspecifiedIp(ip)) << ip;
  }
}

TEST(HostPortTest, ClaimedUnspecifiedHostBecomesTheObservedIp) {
  struct Case {
    const char* claimed;
    const char* observed;
    const char* want;
  };
  for (const Case& c : std::vector<Case>{
           {"0.0.0.0:7701", "10.1.2.3", "10.1.2.3:7701"},
           {"[::]:7701", "10.1.2.3", "10.1.2.3:7701"},
           {"0.0.0.0:7701", "2001:db8::5", "[2001:db8::5]:7701"},
           {"[::]:9", "::ffff:192.0.2.7", "192.0.2.7:9"},  // v4-mapped
           {"0.0.0.0:7701", "127.0.0.1", "127.0.0.1:7701"},
           // Anything else is kept as claimed, whatever the observed IP.
           {"192.0.2.1:7701", "10.1.2.3", "192.0.2.1:7701"},
           {"node-1.example:7701", "", "node-1.example:7701"},
           {"[::1]:7701", "10.1.2.3", "[::1]:7701"},
       }) {
    absl::StatusOr<std::string> got =
        ResolveClaimedAddress(c.claimed, c.observed);
    ASSERT_TRUE(got.ok()) << c.claimed << " " << got.status();
    EXPECT_EQ(*got, c.want) << c.claimed << " from " << c.observed;
  }
  // The unspecified host needs a real observed IP; malformed claims fail.
  EXPECT_FALSE(ResolveClaimedAddress("0.0.0.0:7701", "").ok());
  EXPECT_FALSE(ResolveClaimedAddress("0.0.0.0:7701", "unix:/tmp/s").ok());
  EXPECT_FALSE(ResolveClaimedAddress("0.0.0.0:7701", "0.0.0.0").ok());
  EXPECT_FALSE(ResolveClaimedAddress("0.0.0.0", "10.1.2.3").ok());
  EXPECT_FALSE(ResolveClaimedAddress("0.0.0.0:0", "10.1.2.3").ok());
}

}  // namespace
}  // namespace pbchain
