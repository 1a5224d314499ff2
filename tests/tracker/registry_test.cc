// The tracker's registry with a fake clock: leases, expiry, networks kept
// apart, node id ownership, field checks, limits and watchers.
#include "tracker/registry.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace pbchain::tracker {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class FakeClock {
 public:
  absl::Time Now() const { return now_; }
  void Advance(absl::Duration d) { now_ += d; }

 private:
  absl::Time now_ = absl::FromUnixSeconds(1'700'000'000);
};

const std::string kGenesisA(32, 'A');
const std::string kGenesisB(32, 'B');

JoinInput Node(const std::string& id, const std::string& address,
               const std::string& genesis = kGenesisA,
               Role role = Role::kFull) {
  JoinInput input;
  input.node_id = id;
  input.address = address;
  input.genesis_hash = genesis;
  input.role = static_cast<int>(role);
  input.height = 7;
  input.tip_hash = std::string(32, 't');
  return input;
}

std::vector<std::string> Ids(const std::vector<Peer>& peers) {
  std::vector<std::string> ids;
  for (const Peer& p : peers) ids.push_back(p.node_id);
  return ids;
}

// "+id" for added, "-id" for removed, "~id@height" for updated.
std::string Describe(const Watcher::Batch& batch) {
  std::string out = batch.snapshot ? "snapshot:" : "";
  for (const auto& change : batch.changes) {
    if (!out.empty() && out.back() != ':') out += " ";
    switch (change->type) {
      case ChangeType::kAdded:
        out += "+" + change->peer.node_id;
        break;
      case ChangeType::kRemoved:
        out += "-" + change->peer.node_id;
        break;
      case ChangeType::kUpdated:
        absl::StrAppend(&out, "~", change->peer.node_id, "@",
                        change->peer.height);
        break;
    }
  }
  return out;
}

class PbtrackerRegistryTest : public ::testing::Test {
 protected:
  RegistryOptions Options() {
    RegistryOptions options;
    options.clock = [this] { return clock_.Now(); };
    return options;
  }

  // Next message of `watcher`, described; "" when nothing is pending; the
  // status text when it has ended.
  static std::string Pull(Watcher& watcher, size_t max = 1000) {
    absl::StatusOr<std::optional<Watcher::Batch>> next = watcher.Next(max);
    if (!next.ok()) return next.status().ToString();
    return next->has_value() ? Describe(**next) : "";
  }

  std::shared_ptr<Watcher> MustWatch(Registry& registry,
                                     const std::string& genesis,
                                     const std::string& exclude = "",
                                     int* notified = nullptr) {
    absl::StatusOr<std::shared_ptr<Watcher>> watcher =
        registry.Watch(genesis, exclude, [notified] {
          if (notified != nullptr) ++*notified;
        });
    EXPECT_TRUE(watcher.ok()) << watcher.status();
    return watcher.ok() ? *watcher : nullptr;
  }

  FakeClock clock_;
};

TEST_F(PbtrackerRegistryTest, JoinListHeartbeatLeave) {
  Registry registry(Options());
  absl::StatusOr<Lease> lease = registry.Join(Node("n1", "127.0.0.1:7001"));
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_EQ(lease->ttl, kDefaultLeaseTtl);
  EXPECT_EQ(lease->heartbeat_interval, kDefaultHeartbeatInterval);
  EXPECT_EQ(lease->expires, clock_.Now() + kDefaultLeaseTtl);
  EXPECT_EQ(lease->lease_id.size(), 32u);

  absl::StatusOr<std::vector<Peer>> peers = registry.List(kGenesisA, 0, "");
  ASSERT_TRUE(peers.ok());
  ASSERT_EQ(peers->size(), 1u);
  EXPECT_EQ((*peers)[0].node_id, "n1");
  EXPECT_EQ((*peers)[0].address, "127.0.0.1:7001");
  EXPECT_EQ((*peers)[0].height, 7u);
  EXPECT_EQ((*peers)[0].last_seen, clock_.Now());

  clock_.Advance(absl::Seconds(3));
  const std::string tip(32, 'u');
  absl::StatusOr<Lease> renewed =
      registry.Heartbeat("n1", lease->lease_id, 9, tip);
  ASSERT_TRUE(renewed.ok()) << renewed.status();
  EXPECT_EQ(renewed->lease_id, lease->lease_id);
  EXPECT_EQ(renewed->expires, clock_.Now() + kDefaultLeaseTtl);
  peers = registry.List(kGenesisA, 0, "");
  ASSERT_EQ(peers->size(), 1u);
  EXPECT_EQ((*peers)[0].height, 9u);
  EXPECT_EQ((*peers)[0].tip_hash, tip);
  EXPECT_EQ((*peers)[0].last_seen, clock_.Now());

  // The caller leaves itself out.
  EXPECT_TRUE(registry.List(kGenesisA, 0, "n1")->empty());

  ASSERT_TRUE(registry.Leave("n1", lease->lease_id).ok());
  EXPECT_TRUE(registry.List(kGenesisA, 0, "")->empty());
  EXPECT_EQ(registry.peer_count(), 0u);
  EXPECT_EQ(registry.network_count(), 0u);  // an empty network is forgotten
  EXPECT_TRUE(absl::IsNotFound(
      registry.Heartbeat("n1", lease->lease_id, 9, tip).status()));
}

TEST_F(PbtrackerRegistryTest, LeaseExpiresWithoutHeartbeats) {
  Registry registry(Options());
  absl::StatusOr<Lease> a = registry.Join(Node("a", "127.0.0.1:7001"));
  absl::StatusOr<Lease> b = registry.Join(Node("b", "127.0.0.1:7002"));
  ASSERT_TRUE(a.ok() && b.ok());

  // a heartbeats, b does not.
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(absl::Seconds(4));
    ASSERT_TRUE(registry.Heartbeat("a", a->lease_id, 7, "").ok());
  }
  // 12 s after joining, b's 10 s lease has run out: it is no longer listed
  // even before the sweep, and the sweep removes exactly it.
  EXPECT_THAT(Ids(*registry.List(kGenesisA, 0, "")), ElementsAre("a"));
  EXPECT_EQ(registry.Expire(), 1u);
  EXPECT_EQ(registry.peer_count(), 1u);
  absl::Status late = registry.Heartbeat("b", b->lease_id, 7, "").status();
  EXPECT_TRUE(absl::IsNotFound(late)) << late;

  clock_.Advance(absl::Seconds(10));  // a's lease too, to the microsecond
  EXPECT_EQ(registry.Expire(), 1u);
  EXPECT_EQ(registry.peer_count(), 0u);
}

TEST_F(PbtrackerRegistryTest, HeartbeatAfterExpiryBeforeSweepIsNotFound) {
  Registry registry(Options());
  absl::StatusOr<Lease> a = registry.Join(Node("a", "127.0.0.1:7001"));
  ASSERT_TRUE(a.ok());
  clock_.Advance(kDefaultLeaseTtl);
  absl::Status s = registry.Heartbeat("a", a->lease_id, 7, "").status();
  EXPECT_TRUE(absl::IsNotFound(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("expired"));
  EXPECT_EQ(registry.peer_count(), 0u);
}

TEST_F(PbtrackerRegistryTest, WrongLeaseOrUnknownIdIsNotFound) {
  Registry registry(Options());
  absl::StatusOr<Lease> a = registry.Join(Node("a", "127.0.0.1:7001"));
  ASSERT_TRUE(a.ok());
  const std::string wrong(32, '0');
  EXPECT_TRUE(absl::IsNotFound(registry.Heartbeat("a", wrong, 1, "").status()));
  EXPECT_TRUE(absl::IsNotFound(registry.Leave("a", wrong)));
  EXPECT_TRUE(absl::IsNotFound(
      registry.Heartbeat("nobody", a->lease_id, 1, "").status()));
  EXPECT_TRUE(absl::IsNotFound(registry.Leave("nobody", a->lease_id)));
  // The wrong lease changed nothing.
  EXPECT_EQ(registry.peer_count(), 1u);
  EXPECT_TRUE(registry.Heartbeat("a", a->lease_id, 1, "").ok());
}

TEST_F(PbtrackerRegistryTest, RejoinFromSameAddressReplacesTheLease) {
  Registry registry(Options());
  absl::StatusOr<Lease> first = registry.Join(Node("a", "127.0.0.1:7001"));
  clock_.Advance(absl::Seconds(1));
  absl::StatusOr<Lease> second = registry.Join(Node("a", "127.0.0.1:7001"));
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_NE(first->lease_id, second->lease_id);
  EXPECT_EQ(registry.peer_count(), 1u);
  EXPECT_TRUE(absl::IsNotFound(
      registry.Heartbeat("a", first->lease_id, 1, "").status()));
  EXPECT_TRUE(registry.Heartbeat("a", second->lease_id, 1, "").ok());
}

TEST_F(PbtrackerRegistryTest, NodeIdFromAnotherAddressRefusedWhileLive) {
  Registry registry(Options());
  ASSERT_TRUE(registry.Join(Node("a", "127.0.0.1:7001")).ok());

  absl::Status taken = registry.Join(Node("a", "127.0.0.1:9999")).status();
  EXPECT_TRUE(absl::IsAlreadyExists(taken)) << taken;
  EXPECT_THAT(taken.message(), HasSubstr("127.0.0.1:7001"));
  EXPECT_EQ(registry.RegisteredAddress("a"), "127.0.0.1:7001");
  // Naming some other address as unreachable does not help.
  EXPECT_TRUE(absl::IsAlreadyExists(
      registry.Join(Node("a", "127.0.0.1:9999"), "127.0.0.1:7002").status()));
  EXPECT_EQ((*registry.List(kGenesisA, 0, ""))[0].address, "127.0.0.1:7001");

  // The caller probed the old address and found it dead: the id moves.
  ASSERT_TRUE(
      registry.Join(Node("a", "127.0.0.1:9999"), "127.0.0.1:7001").ok());
  EXPECT_EQ((*registry.List(kGenesisA, 0, ""))[0].address, "127.0.0.1:9999");
  EXPECT_EQ(registry.peer_count(), 1u);
}

TEST_F(PbtrackerRegistryTest, NodeIdFromAnotherAddressAllowedAfterExpiry) {
  Registry registry(Options());
  ASSERT_TRUE(registry.Join(Node("a", "127.0.0.1:7001")).ok());
  clock_.Advance(kDefaultLeaseTtl - absl::Milliseconds(1));
  EXPECT_TRUE(absl::IsAlreadyExists(
      registry.Join(Node("a", "127.0.0.1:9999")).status()));
  std::shared_ptr<Watcher> watcher = MustWatch(registry, kGenesisA);
  EXPECT_EQ(Pull(*watcher), "snapshot:+a");
  clock_.Advance(absl::Milliseconds(1));  // now expired, not yet swept
  ASSERT_TRUE(registry.Join(Node("a", "127.0.0.1:9999")).ok());
  EXPECT_EQ((*registry.List(kGenesisA, 0, ""))[0].address, "127.0.0.1:9999");
  // The old registration ended and a new one began.
  EXPECT_EQ(Pull(*watcher), "-a +a");
}

TEST_F(PbtrackerRegistryTest, NewWatcherSweepsExpiredNodesFirst) {
  Registry registry(Options());
  ASSERT_TRUE(registry.Join(Node("a", "127.0.0.1:7001")).ok());
  std::shared_ptr<Watcher> early = MustWatch(registry, kGenesisA);
  EXPECT_EQ(Pull(*early), "snapshot:+a");
  clock_.Advance(kDefaultLeaseTtl);
  // The snapshot leaves the expired node out, and no REMOVED for it follows.
  std::shared_ptr<Watcher> late = MustWatch(registry, kGenesisA);
  EXPECT_EQ(Pull(*late), "snapshot:");
  EXPECT_EQ(registry.Expire(), 0u);
  EXPECT_EQ(Pull(*late), "");
  EXPECT_EQ(Pull(*early), "-a");
}

TEST_F(PbtrackerRegistryTest, NetworksNeverSeeEachOther) {
  Registry registry(Options());
  ASSERT_TRUE(registry.Join(Node("a1", "127.0.0.1:7001", kGenesisA)).ok());
  ASSERT_TRUE(registry.Join(Node("b1", "127.0.0.1:7002", kGenesisB)).ok());
  std::shared_ptr<Watcher> watch_a = MustWatch(registry, kGenesisA);
  std::shared_ptr<Watcher> watch_b = MustWatch(registry, kGenesisB);
  EXPECT_EQ(Pull(*watch_a), "snapshot:+a1");
  EXPECT_EQ(Pull(*watch_b), "snapshot:+b1");

  ASSERT_TRUE(registry.Join(Node("a2", "127.0.0.1:7003", kGenesisA)).ok());
  ASSERT_TRUE(registry.Join(Node("b2", "127.0.0.1:7004", kGenesisB)).ok());
  EXPECT_THAT(Ids(*registry.List(kGenesisA, 0, "")), ElementsAre("a1", "a2"));
  EXPECT_THAT(Ids(*registry.List(kGenesisB, 0, "")), ElementsAre("b1", "b2"));
  EXPECT_EQ(Pull(*watch_a), "+a2");
  EXPECT_EQ(Pull(*watch_b), "+b2");
  EXPECT_EQ(registry.network_count(), 2u);
}

TEST_F(PbtrackerRegistryTest, NodeMovingToAnotherGenesisLeavesTheOldNetwork) {
  Registry registry(Options());
  ASSERT_TRUE(registry.Join(Node("n", "127.0.0.1:7001", kGenesisA)).ok());
  std::shared_ptr<Watcher> watch_a = MustWatch(registry, kGenesisA);
  std::shared_ptr<Watcher> watch_b = MustWatch(registry, kGenesisB);
  EXPECT_EQ(Pull(*watch_a), "snapshot:+n");
  EXPECT_EQ(Pull(*watch_b), "snapshot:");

  ASSERT_TRUE(registry.Join(Node("n", "127.0.0.1:7001", kGenesisB)).ok());
  EXPECT_EQ(Pull(*watch_a), "-n");
  EXPECT_EQ(Pull(*watch_b), "+n");
  EXPECT_TRUE(registry.List(kGenesisA, 0, "")->empty());
  EXPECT_THAT(Ids(*registry.List(kGenesisB, 0, "")), ElementsAre("n"));
}

TEST_F(PbtrackerRegistryTest, EveryMalformedFieldIsInvalidArgumentNamingIt) {
  Registry registry(Options());
  struct Case {
    std::string name;
    std::function<void(JoinInput&)> mutate;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"empty id", [](JoinInput& j) { j.node_id = ""; }, "node_id"},
      {"65-char id", [](JoinInput& j) { j.node_id = std::string(65, 'x'); },
       "node_id"},
      {"space in id", [](JoinInput& j) { j.node_id = "a b"; }, "node_id"},
      {"control char in id", [](JoinInput& j) { j.node_id = "a\x01"; },
       "node_id"},
      {"non-ASCII id", [](JoinInput& j) { j.node_id = "caf\xc3\xa9"; },
       "node_id"},
      {"empty address", [](JoinInput& j) { j.address = ""; }, "address"},
      {"256-byte address",
       [](JoinInput& j) { j.address = std::string(251, 'h') + ":7000"; },
       "address"},
      {"no port", [](JoinInput& j) { j.address = "127.0.0.1"; }, "address"},
      {"empty port", [](JoinInput& j) { j.address = "127.0.0.1:"; }, "address"},
      {"port 0", [](JoinInput& j) { j.address = "127.0.0.1:0"; }, "address"},
      {"port 65536", [](JoinInput& j) { j.address = "127.0.0.1:65536"; },
       "address"},
      {"port not a number", [](JoinInput& j) { j.address = "host:http"; },
       "address"},
      {"signed port", [](JoinInput& j) { j.address = "host:+80"; }, "address"},
      {"empty host", [](JoinInput& j) { j.address = ":7000"; }, "address"},
      {"IPv6 without brackets", [](JoinInput& j) { j.address = "::1:7000"; },
       "address"},
      {"IPv6 without port", [](JoinInput& j) { j.address = "[::1]"; },
       "address"},
      {"unclosed bracket", [](JoinInput& j) { j.address = "[::1:7000"; },
       "address"},
      {"path in host", [](JoinInput& j) { j.address = "a/b:7000"; }, "address"},
      {"space in address", [](JoinInput& j) { j.address = "a b:7000"; },
       "address"},
      {"31-byte genesis",
       [](JoinInput& j) { j.genesis_hash = std::string(31, 'g'); },
       "genesis_hash"},
      {"33-byte genesis",
       [](JoinInput& j) { j.genesis_hash = std::string(33, 'g'); },
       "genesis_hash"},
      {"no genesis", [](JoinInput& j) { j.genesis_hash = ""; }, "genesis_hash"},
      {"31-byte tip", [](JoinInput& j) { j.tip_hash = std::string(31, 't'); },
       "tip_hash"},
      {"role 4", [](JoinInput& j) { j.role = 4; }, "role"},
      {"role -1", [](JoinInput& j) { j.role = -1; }, "role"},
  };
  for (const Case& c : cases) {
    JoinInput input = Node("n", "127.0.0.1:7001");
    c.mutate(input);
    absl::Status s = registry.Join(input).status();
    EXPECT_TRUE(absl::IsInvalidArgument(s)) << c.name << ": " << s;
    EXPECT_THAT(std::string(s.message()), ::testing::StartsWith(c.field + ":"))
        << c.name;
  }
  EXPECT_EQ(registry.peer_count(), 0u);

  // The edges that are fine.
  int n = 0;
  for (const char* address : {"[::1]:7000", "localhost:1", "127.0.0.1:65535",
                              "node-1.example_x:80", "[fe80::1%eth0]:7000"}) {
    absl::StatusOr<Lease> ok =
        registry.Join(Node(absl::StrCat("ok", n++), address));
    EXPECT_TRUE(ok.ok()) << address << ": " << ok.status();
  }
  JoinInput edge = Node(std::string(64, '~'), "127.0.0.1:7001");
  edge.tip_hash = "";
  edge.role = 0;  // unspecified reads as full
  ASSERT_TRUE(registry.Join(edge).ok());
  absl::StatusOr<std::vector<Peer>> listed =
      registry.List(kGenesisA, 0, std::string(64, '~'));
  EXPECT_EQ(listed->size(), 5u);
  listed = registry.List(kGenesisA, 1, "ok0");
  ASSERT_EQ(listed->size(), 1u);

  // The other calls check their fields too.
  EXPECT_TRUE(absl::IsInvalidArgument(registry.List("short", 0, "").status()));
  EXPECT_TRUE(
      absl::IsInvalidArgument(registry.List(kGenesisA, 0, "bad id").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      registry.Watch(std::string(31, 'g'), "", nullptr).status()));
  EXPECT_TRUE(
      absl::IsInvalidArgument(registry.Heartbeat("ok0", "", 1, "").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(
      registry.Heartbeat("ok0", std::string(65, 'l'), 1, "").status()));
  absl::Status tip =
      registry.Heartbeat("ok0", std::string(32, 'l'), 1, "x").status();
  EXPECT_TRUE(absl::IsInvalidArgument(tip)) << tip;
  EXPECT_THAT(tip.message(), HasSubstr("tip_hash"));
  EXPECT_TRUE(absl::IsInvalidArgument(registry.Leave("", "lease")));
}

TEST_F(PbtrackerRegistryTest, FullNetworkIsResourceExhausted) {
  RegistryOptions options = Options();
  options.max_peers_per_network = 3;
  Registry registry(options);
  std::vector<Lease> leases;
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<Lease> lease =
        registry.Join(Node(absl::StrCat("n", i), "127.0.0.1:7001"));
    ASSERT_TRUE(lease.ok()) << lease.status();
    leases.push_back(*lease);
  }
  absl::Status full = registry.Join(Node("n3", "127.0.0.1:7001")).status();
  EXPECT_TRUE(absl::IsResourceExhausted(full)) << full;
  EXPECT_THAT(full.message(), HasSubstr("network is full"));
  // A member joining again still fits; another network is not affected.
  EXPECT_TRUE(registry.Join(Node("n0", "127.0.0.1:7001")).ok());
  EXPECT_TRUE(registry.Join(Node("x", "127.0.0.1:7001", kGenesisB)).ok());

  ASSERT_TRUE(registry.Leave("n1", leases[1].lease_id).ok());
  EXPECT_TRUE(registry.Join(Node("n3", "127.0.0.1:7001")).ok());
  EXPECT_TRUE(absl::IsResourceExhausted(
      registry.Join(Node("n4", "127.0.0.1:7001")).status()));

  // An expired lease frees its slot at once, before any sweep.
  clock_.Advance(absl::Seconds(6));
  ASSERT_TRUE(registry.Heartbeat("n2", leases[2].lease_id, 1, "").ok());
  clock_.Advance(absl::Seconds(5));  // n0 (rejoined) and n3 ran out
  EXPECT_TRUE(registry.Join(Node("n4", "127.0.0.1:7001")).ok());
}

TEST_F(PbtrackerRegistryTest, TooManyNetworksIsResourceExhausted) {
  RegistryOptions options = Options();
  options.max_networks = 2;
  Registry registry(options);
  absl::StatusOr<Lease> a = registry.Join(Node("a", "127.0.0.1:1", kGenesisA));
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(registry.Join(Node("b", "127.0.0.1:2", kGenesisB)).ok());
  const std::string genesis_c(32, 'C');
  absl::Status s = registry.Join(Node("c", "127.0.0.1:3", genesis_c)).status();
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  ASSERT_TRUE(registry.Leave("a", a->lease_id).ok());
  EXPECT_TRUE(registry.Join(Node("c", "127.0.0.1:3", genesis_c)).ok());
}

TEST_F(PbtrackerRegistryTest, JoinFloodFromOneIpIsThrottled) {
  RegistryOptions options = Options();
  options.max_joins_per_second = 5;
  Registry registry(options);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(registry.AdmitJoin("10.0.0.1").ok()) << i;
  }
  absl::Status flood = registry.AdmitJoin("10.0.0.1");
  EXPECT_TRUE(absl::IsResourceExhausted(flood)) << flood;
  EXPECT_EQ(flood.message(), "too many joins from IP 10.0.0.1, retry in 200ms");
  EXPECT_TRUE(registry.AdmitJoin("10.0.0.2").ok());  // its own bucket

  clock_.Advance(absl::Milliseconds(200));  // one token back
  EXPECT_TRUE(registry.AdmitJoin("10.0.0.1").ok());
  EXPECT_TRUE(absl::IsResourceExhausted(registry.AdmitJoin("10.0.0.1")));
  clock_.Advance(absl::Seconds(10));  // refills only up to the burst
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(registry.AdmitJoin("10.0.0.1").ok());
  EXPECT_TRUE(absl::IsResourceExhausted(registry.AdmitJoin("10.0.0.1")));
}

TEST_F(PbtrackerRegistryTest, TrackedClientIpsAreBounded) {
  RegistryOptions options = Options();
  options.max_joins_per_second = 1;
  Registry registry(options);
  // Every bucket is busy (empty) right after its one join.
  for (size_t i = 0; i < kMaxTrackedClientIps; ++i) {
    ASSERT_TRUE(registry.AdmitJoin(absl::StrCat("ip", i)).ok()) << i;
  }
  absl::Status s = registry.AdmitJoin("one-more");
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  // Refilled buckets are forgotten, which makes room.
  clock_.Advance(absl::Seconds(1));
  EXPECT_TRUE(registry.AdmitJoin("one-more").ok());
}

TEST_F(PbtrackerRegistryTest, ListsSeedsFirstThenHeadsThenFull) {
  Registry registry(Options());
  ASSERT_TRUE(registry.Join(Node("a", "h:1", kGenesisA, Role::kFull)).ok());
  ASSERT_TRUE(registry.Join(Node("b", "h:2", kGenesisA, Role::kHead)).ok());
  ASSERT_TRUE(registry.Join(Node("c", "h:3", kGenesisA, Role::kSeed)).ok());
  ASSERT_TRUE(registry.Join(Node("d", "h:4", kGenesisA, Role::kFull)).ok());
  ASSERT_TRUE(registry.Join(Node("e", "h:5", kGenesisA, Role::kSeed)).ok());
  EXPECT_THAT(Ids(*registry.List(kGenesisA, 0, "")),
              ElementsAre("c", "e", "b", "a", "d"));
  std::shared_ptr<Watcher> watcher = MustWatch(registry, kGenesisA, "e");
  EXPECT_EQ(Pull(*watcher), "snapshot:+c +b +a +d");
}

TEST_F(PbtrackerRegistryTest, CappedListKeepsSeedsAndSamplesTheRest) {
  Registry registry(Options());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        registry
            .Join(Node(absl::StrCat("seed", i), "h:1", kGenesisA, Role::kSeed))
            .ok());
  }
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(registry.Join(Node(absl::StrCat("full", i), "h:1")).ok());
  }
  std::set<std::vector<std::string>> answers;
  for (int round = 0; round < 50; ++round) {
    std::vector<std::string> ids = Ids(*registry.List(kGenesisA, 5, ""));
    ASSERT_EQ(ids.size(), 5u);
    EXPECT_EQ(ids[0], "seed0");
    EXPECT_EQ(ids[1], "seed1");
    EXPECT_EQ(ids[2], "seed2");
    EXPECT_THAT(ids[3], ::testing::StartsWith("full"));
    EXPECT_LT(ids[3], ids[4]);  // sorted within the role
    answers.insert(ids);
  }
  // 45 possible pairs of full nodes: 50 identical draws would mean no
  // sampling at all.
  EXPECT_GT(answers.size(), 1u);
  // Fewer slots than seeds: seeds only.
  absl::StatusOr<std::vector<Peer>> seeds_only =
      registry.List(kGenesisA, 2, "");
  ASSERT_TRUE(seeds_only.ok());
  ASSERT_EQ(seeds_only->size(), 2u);
  for (const Peer& p : *seeds_only) {
    EXPECT_EQ(p.role, Role::kSeed);
  }
}

TEST_F(PbtrackerRegistryTest, WatcherSeesAddUpdateRemoveAndExpiry) {
  Registry registry(Options());
  int notified = 0;
  std::shared_ptr<Watcher> watcher =
      MustWatch(registry, kGenesisA, "self", &notified);
  EXPECT_EQ(Pull(*watcher), "snapshot:");
  EXPECT_EQ(Pull(*watcher), "");

  absl::StatusOr<Lease> a = registry.Join(Node("a", "127.0.0.1:7001"));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(notified, 1);
  ASSERT_TRUE(registry.Join(Node("self", "127.0.0.1:7009")).ok());  // excluded
  ASSERT_TRUE(registry.Heartbeat("a", a->lease_id, 7, std::string(32, 't'))
                  .ok());  // nothing changed: no event
  ASSERT_TRUE(registry.Heartbeat("a", a->lease_id, 8, "").ok());
  EXPECT_EQ(notified, 1);  // still pending since the first change
  EXPECT_EQ(Pull(*watcher), "+a ~a@8");

  ASSERT_TRUE(registry.Leave("a", a->lease_id).ok());
  EXPECT_EQ(notified, 2);
  EXPECT_EQ(Pull(*watcher), "-a");

  ASSERT_TRUE(registry.Join(Node("b", "127.0.0.1:7002")).ok());
  clock_.Advance(kDefaultLeaseTtl);
  EXPECT_EQ(registry.Expire(), 2u);  // b and self
  EXPECT_EQ(Pull(*watcher), "+b -b");

  registry.Unwatch(*watcher);
  EXPECT_EQ(registry.watcher_count(), 0u);
  EXPECT_TRUE(absl::IsCancelled(watcher->Next(10).status()));
}

TEST_F(PbtrackerRegistryTest, HeartbeatUpdatesCoalesceInTheQueue) {
  Registry registry(Options());
  std::shared_ptr<Watcher> watcher = MustWatch(registry, kGenesisA);
  EXPECT_EQ(Pull(*watcher), "snapshot:");
  absl::StatusOr<Lease> a = registry.Join(Node("a", "127.0.0.1:7001"));
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(registry.Heartbeat("a", a->lease_id, 100, "").ok());
  ASSERT_TRUE(registry.Join(Node("b", "127.0.0.1:7002")).ok());
  // Far more updates than the queue holds: they replace one another.
  for (uint64_t h = 101; h <= 100 + 3 * kMaxQueuedWatchChanges; ++h) {
    ASSERT_TRUE(registry.Heartbeat("a", a->lease_id, h, "").ok());
  }
  EXPECT_EQ(Pull(*watcher),
            absl::StrCat("+a ~a@", 100 + 3 * kMaxQueuedWatchChanges, " +b"));
  // Once read, the next update is queued anew (not merged into the past).
  ASSERT_TRUE(registry.Heartbeat("a", a->lease_id, 1, "").ok());
  ASSERT_TRUE(registry.Leave("a", a->lease_id).ok());
  ASSERT_TRUE(registry.Join(Node("a", "127.0.0.1:7001")).ok());
  a = registry.Join(Node("a", "127.0.0.1:7001"));
  ASSERT_TRUE(registry.Heartbeat("a", a->lease_id, 2, "").ok());
  EXPECT_EQ(Pull(*watcher), "~a@1 -a +a ~a@2");
}

TEST_F(PbtrackerRegistryTest, SlowWatcherIsDroppedAndMemoryStaysBounded) {
  Registry registry(Options());
  int slow_notified = 0;
  std::shared_ptr<Watcher> slow =
      MustWatch(registry, kGenesisA, "", &slow_notified);
  std::shared_ptr<Watcher> fast = MustWatch(registry, kGenesisA);
  EXPECT_EQ(Pull(*slow), "snapshot:");
  EXPECT_EQ(Pull(*fast), "snapshot:");

  // Exactly a full queue of joins and leaves: the slow one is still there.
  size_t changes = 0;
  for (int i = 0; changes < kMaxQueuedWatchChanges; ++i) {
    absl::StatusOr<Lease> lease =
        registry.Join(Node(absl::StrCat("n", i), "127.0.0.1:7001"));
    ASSERT_TRUE(lease.ok());
    ASSERT_TRUE(registry.Leave(absl::StrCat("n", i), lease->lease_id).ok());
    changes += 2;
    EXPECT_EQ(Pull(*fast), absl::StrCat("+n", i, " -n", i));
  }
  EXPECT_EQ(registry.watcher_count(), 2u);
  EXPECT_EQ(slow_notified, 1);

  // One more change and it is dropped; the fast one goes on.
  ASSERT_TRUE(registry.Join(Node("last", "127.0.0.1:7001")).ok());
  EXPECT_EQ(registry.watcher_count(), 1u);
  EXPECT_EQ(slow_notified, 2);  // woken to see its end
  absl::Status dropped = slow->Next(10).status();
  EXPECT_TRUE(absl::IsResourceExhausted(dropped)) << dropped;
  EXPECT_EQ(Pull(*fast), "+last");

  // It re-subscribes and starts from a fresh snapshot.
  std::shared_ptr<Watcher> again = MustWatch(registry, kGenesisA);
  EXPECT_EQ(Pull(*again), "snapshot:+last");
}

TEST_F(PbtrackerRegistryTest, BatchesAreCappedAfterTheSnapshot) {
  Registry registry(Options());
  std::shared_ptr<Watcher> watcher = MustWatch(registry, kGenesisA);
  EXPECT_EQ(Pull(*watcher), "snapshot:");
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(registry.Join(Node(absl::StrCat("n", i), "h:1")).ok());
  }
  EXPECT_EQ(Pull(*watcher, 2), "+n0 +n1");
  EXPECT_EQ(Pull(*watcher, 2), "+n2 +n3");
  EXPECT_EQ(Pull(*watcher, 2), "+n4");
  EXPECT_EQ(Pull(*watcher, 2), "");
}

TEST_F(PbtrackerRegistryTest, WatcherLimitAndClose) {
  RegistryOptions options = Options();
  options.max_watchers = 2;
  Registry registry(options);
  std::shared_ptr<Watcher> w1 = MustWatch(registry, kGenesisA);
  std::shared_ptr<Watcher> w2 = MustWatch(registry, kGenesisB);
  absl::Status s = registry.Watch(kGenesisA, "", nullptr).status();
  EXPECT_TRUE(absl::IsResourceExhausted(s)) << s;
  registry.Unwatch(*w1);
  std::shared_ptr<Watcher> w3 = MustWatch(registry, kGenesisA);

  registry.CloseWatchers(absl::UnavailableError("shutting down"));
  EXPECT_EQ(registry.watcher_count(), 0u);
  EXPECT_TRUE(absl::IsUnavailable(w2->Next(10).status()));
  EXPECT_TRUE(absl::IsUnavailable(w3->Next(10).status()));
  EXPECT_TRUE(
      absl::IsUnavailable(registry.Watch(kGenesisA, "", nullptr).status()));
}

TEST_F(PbtrackerRegistryTest, LeaseIdsAreDistinctHex) {
  Registry registry(Options());
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    absl::StatusOr<Lease> lease = registry.Join(Node("a", "127.0.0.1:7001"));
    ASSERT_TRUE(lease.ok());
    EXPECT_EQ(lease->lease_id.find_first_not_of("0123456789abcdef"),
              std::string::npos);
    ids.insert(lease->lease_id);
  }
  EXPECT_EQ(ids.size(), 100u);
}

}  // namespace
}  // namespace pbchain::tracker
