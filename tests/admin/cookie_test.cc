// The cookie files (node/admin/cookie.h) and the admin target and listen
// checks, on real files.
#include "node/admin/cookie.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "node/admin/admin_server.h"
#include "node/p2p/network.h"
#include "tests/util/process.h"

namespace pbchain {
namespace {

using testing::TempDir;

std::string Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

int Mode(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 0777);
}

TEST(CookieTest, CookieFileIsPrivateFreshAndRemovedWithItsOwner) {
  TempDir dir("cookie");
  const std::string path = dir.Sub(".cookie");
  // A permissive umask does not widen the mode.
  const mode_t old_umask = umask(0);
  absl::StatusOr<std::unique_ptr<OwnedFile>> a =
      WriteCookieFile(dir.path().string());
  umask(old_umask);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ((*a)->path(), path);
  EXPECT_EQ(Mode(path), 0600);
  EXPECT_EQ(Read(path), (*a)->content());
  EXPECT_EQ((*a)->content().size(), 2 * kCookieTokenBytes);
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
  const std::string first = (*a)->content();
  a->reset();
  EXPECT_FALSE(std::filesystem::exists(path));

  absl::StatusOr<std::unique_ptr<OwnedFile>> b =
      WriteCookieFile(dir.path().string());
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_NE((*b)->content(), first);
}

TEST(CookieTest, StaleFileIsReplacedAndAForeignOneIsLeftAlone) {
  TempDir dir("cookie_stale");
  const std::string path = dir.Sub(".cookie");
  std::ofstream(path) << "left by a crashed node";
  chmod(path.c_str(), 0644);
  absl::StatusOr<std::unique_ptr<OwnedFile>> a =
      WriteCookieFile(dir.path().string());
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(Read(path), (*a)->content());
  EXPECT_EQ(Mode(path), 0600);
  // Someone replaced it: not ours to remove.
  std::ofstream(path, std::ios::trunc) << "someone else's";
  a->reset();
  EXPECT_EQ(Read(path), "someone else's");
}

TEST(CookieTest, WriteFailsWithTheFileName) {
  absl::StatusOr<std::unique_ptr<OwnedFile>> a =
      WriteCookieFile("/nonexistent-dir/x");
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("/nonexistent-dir/x/.cookie"),
            std::string::npos)
      << a.status();
}

TEST(CookieTest, TokenMatchesOnlyTheWholeToken) {
  EXPECT_TRUE(TokenMatches("abcd", "abcd"));
  EXPECT_FALSE(TokenMatches("abce", "abcd"));
  EXPECT_FALSE(TokenMatches("abc", "abcd"));
  EXPECT_FALSE(TokenMatches("abcde", "abcd"));
  EXPECT_FALSE(TokenMatches("", ""));  // an empty token never matches
}

TEST(CookieTest, BanTargetsAreAddressesIpsOrNodeIds) {
  EXPECT_EQ(*ParseBanTarget("10.0.0.1:7700"), "10.0.0.1:7700");
  EXPECT_EQ(*ParseBanTarget("node.example:7700"), "node.example:7700");
  EXPECT_EQ(*ParseBanTarget("10.0.0.1"), "10.0.0.1");
  EXPECT_EQ(*ParseBanTarget("[2001:DB8::1]"), "2001:db8::1");
  EXPECT_EQ(*ParseBanTarget("2001:db8::1"), "2001:db8::1");
  EXPECT_EQ(*ParseBanTarget("0123456789abcdef0123456789abcdef"),
            "0123456789abcdef0123456789abcdef");
  for (const char* bad : {"", "127.0.0.1", "::1", "[::1]", "a b", "x:y:z"}) {
    absl::StatusOr<std::string> key = ParseBanTarget(bad);
    EXPECT_TRUE(absl::IsInvalidArgument(key.status())) << bad;
  }
}

// Ban keys are canonical addresses, so that every spelling of one address
// is one key, the one gRPC's peer text and a peer's address give, and
// every spelling of loopback or the unspecified address is refused.
TEST(CookieTest, BanTargetsAreComparedAsAddresses) {
  EXPECT_EQ(*ParseBanTarget("2001:DB8:0:0::1"), "2001:db8::1");
  EXPECT_EQ(*ParseBanTarget("[2001:0db8:0000::0001]"), "2001:db8::1");
  // IPv4-mapped: the IPv4 address gRPC reports ("ipv4:10.0.0.5:PORT").
  EXPECT_EQ(*ParseBanTarget("::ffff:10.0.0.5"), "10.0.0.5");
  EXPECT_EQ(*ParseBanTarget("::FFFF:a00:5"), "10.0.0.5");
  EXPECT_EQ(*ParseBanTarget("[2001:DB8::1]:7700"), "[2001:db8::1]:7700");
  EXPECT_EQ(*ParseBanTarget("[::ffff:10.0.0.5]:7700"), "10.0.0.5:7700");
  // A loopback host:port stays allowed (devnet nodes differ by port).
  EXPECT_EQ(*ParseBanTarget("127.0.0.1:7700"), "127.0.0.1:7700");
  for (const char* bad :
       {"::ffff:7f00:1", "::ffff:127.0.0.1", "[::FFFF:7F00:1]", "127.1.2.3",
        "0:0:0:0:0:0:0:1", "0.0.0.0", "::", "[::]", "0:0::0", "0.0.0.0:7700",
        "[::]:7700"}) {
    absl::StatusOr<std::string> key = ParseBanTarget(bad);
    EXPECT_TRUE(absl::IsInvalidArgument(key.status())) << bad;
  }
  IpKind kind;
  EXPECT_EQ(CanonicalIp("::ffff:127.0.0.1", &kind), "127.0.0.1");
  EXPECT_EQ(kind, IpKind::kLoopback);
  EXPECT_EQ(CanonicalIp("not-an-ip", &kind), "");
  EXPECT_EQ(kind, IpKind::kNotAnIp);
  EXPECT_EQ(CanonicalAddress("node.example:7700"), "node.example:7700");
}

TEST(CookieTest, AdminListenIsLoopbackUnlessTls) {
  EXPECT_TRUE(CheckAdminListen("127.0.0.1:0", false).ok());
  EXPECT_TRUE(CheckAdminListen("[::1]:7000", false).ok());
  EXPECT_TRUE(CheckAdminListen("localhost:7000", false).ok());
  EXPECT_TRUE(absl::IsInvalidArgument(CheckAdminListen("0.0.0.0:0", false)));
  EXPECT_TRUE(CheckAdminListen("0.0.0.0:0", true).ok());
  EXPECT_TRUE(absl::IsInvalidArgument(CheckAdminListen("nope", true)));
}

}  // namespace
}  // namespace pbchain
