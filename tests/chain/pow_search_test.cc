#include "chain/pow_search.h"

#include <array>
#include <atomic>
#include <chrono>
#include <optional>
#include <ostream>
#include <thread>

#include "chain/hash.h"
#include "gtest/gtest.h"

namespace pbchain {

// Names the backend in gtest output instead of a byte dump.
void PrintTo(ShaBackend backend, std::ostream* os) {
  *os << (backend == ShaBackend::kPortable ? "kPortable"
          : backend == ShaBackend::kShaNi  ? "kShaNi"
                                           : "kAuto");
}

namespace {

using Header = std::array<uint8_t, 80>;
using Target = std::array<uint8_t, 32>;

constexpr char kBitcoinGenesisHeader[] =
    "0100000000000000000000000000000000000000000000000000000000000000000000"
    "003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab"
    "5f49ffff001d1dac2b7c";
constexpr uint32_t kBitcoinGenesisNonce = 2083236893;  // 0x7c2bac1d

Header GenesisHeader() {
  absl::StatusOr<Bytes> b = HexDecode(kBitcoinGenesisHeader);
  Header h{};
  if (b.ok() && b->size() == h.size())
    std::copy(b->begin(), b->end(), h.begin());
  return h;
}

Header PatternHeader(uint8_t seed) {
  Header h;
  for (size_t i = 0; i < h.size(); ++i) {
    h[i] = static_cast<uint8_t>(seed * 131 + i * 7 + 3);
  }
  return h;
}

// Target from compact bits 0x1d00ffff: 0xffff * 256^(0x1d - 3), i.e. the
// little-endian bytes 26 and 27 are 0xff and all others zero.
Target BitcoinGenesisTarget() {
  Target t{};
  t[26] = 0xff;
  t[27] = 0xff;
  return t;
}

// A target met by about one hash in 2^bits.
Target EasyTarget(int bits) {
  Target t;
  t.fill(0xff);
  int byte = 31;
  for (; bits >= 8; bits -= 8) t[byte--] = 0;
  t[byte] = static_cast<uint8_t>(0xff >> bits);
  return t;
}

// The straightforward reference: SHA256d of the full header, per nonce.
Hash256 ReferenceHash(Header header, uint32_t nonce) {
  WriteLe32(header.data() + kHeaderNonceOffset, nonce);
  return Sha256d(header);
}

std::optional<uint32_t> ReferenceSearch(const Header& header,
                                        const Target& target, uint32_t first,
                                        uint32_t last) {
  for (uint64_t n = first; n <= last; ++n) {
    if (HashMeetsTarget(ReferenceHash(header, static_cast<uint32_t>(n)),
                        target)) {
      return static_cast<uint32_t>(n);
    }
  }
  return std::nullopt;
}

TEST(PowSearchTest, HashMeetsTargetComparesLittleEndian) {
  Hash256 h;
  Target t{};
  EXPECT_TRUE(HashMeetsTarget(h, t));  // 0 <= 0.
  h.bytes[0] = 1;
  EXPECT_FALSE(HashMeetsTarget(h, t));  // 1 > 0.
  t[1] = 1;                             // target = 256.
  EXPECT_TRUE(HashMeetsTarget(h, t));
  h.bytes[31] = 1;  // 2^248 + 1 > 256.
  EXPECT_FALSE(HashMeetsTarget(h, t));
  t[31] = 1;  // target = 2^248 + 256.
  EXPECT_TRUE(HashMeetsTarget(h, t));
  h.bytes[1] = 2;  // hash = 2^248 + 513 > target.
  EXPECT_FALSE(HashMeetsTarget(h, t));
}

// The backend-specific tests run once per SHA-256 backend; a backend this CPU
// lacks is skipped.
class PowSearchBackendTest : public ::testing::TestWithParam<ShaBackend> {
 protected:
  void SetUp() override {
    if (!ShaBackendAvailable(GetParam())) {
      GTEST_SKIP() << "backend not available on this build/CPU";
    }
  }
  SearchResult Search(const Header& header, const Target& target,
                      uint32_t first, uint32_t last,
                      const std::atomic<bool>& abort) {
    return SearchNonces(header, target, first, last, abort, GetParam());
  }
};

INSTANTIATE_TEST_SUITE_P(Backends, PowSearchBackendTest,
                         ::testing::Values(ShaBackend::kPortable,
                                           ShaBackend::kShaNi,
                                           ShaBackend::kAuto),
                         [](const ::testing::TestParamInfo<ShaBackend>& info) {
                           switch (info.param) {
                             case ShaBackend::kPortable:
                               return "Portable";
                             case ShaBackend::kShaNi:
                               return "ShaNi";
                             case ShaBackend::kAuto:
                               return "Auto";
                           }
                           return "Unknown";
                         });

TEST(PowSearchTest, AutoPicksAnAvailableBackend) {
  EXPECT_TRUE(ShaBackendAvailable(ShaBackend::kAuto));
  EXPECT_TRUE(ShaBackendAvailable(ShaBackend::kPortable));
  EXPECT_NE(SelectedShaBackend(), ShaBackend::kAuto);
  EXPECT_TRUE(ShaBackendAvailable(SelectedShaBackend()));
}

TEST_P(PowSearchBackendTest, MatchesReferenceOverManyNonces) {
  // With a 1-in-16 target, walking [0, 20000] hit by hit compares the
  // midstate search against the reference on ~1250 finds and every miss in
  // between (a wrong hash would shift a find).
  for (uint8_t seed : {1, 2, 3}) {
    const Header header = PatternHeader(seed);
    const Target target = EasyTarget(4);
    const std::atomic<bool> abort{false};
    constexpr uint32_t kLast = 20000;
    uint32_t start = 0;
    int finds = 0;
    while (start <= kLast) {
      const std::optional<uint32_t> want =
          ReferenceSearch(header, target, start, kLast);
      const SearchResult got = Search(header, target, start, kLast, abort);
      ASSERT_EQ(got.nonce, want) << "seed " << int{seed} << " from " << start;
      if (!want) {
        EXPECT_EQ(got.hashes, uint64_t{kLast} - start + 1);
        break;
      }
      EXPECT_EQ(got.hashes, uint64_t{*want} - start + 1);
      ++finds;
      start = *want + 1;
    }
    EXPECT_GT(finds, 900);
    EXPECT_LT(finds, 1700);
  }
}

TEST_P(PowSearchBackendTest, ExactTargetBoundary) {
  // A target equal to the hash is met; one less is not. Exercises the slow
  // path where the top 32 bits of hash and target are equal.
  const Header header = PatternHeader(9);
  const std::atomic<bool> abort{false};
  for (uint32_t nonce : {0u, 12345u, 0xffffffffu}) {
    const Hash256 h = ReferenceHash(header, nonce);
    Target target = h.bytes;
    EXPECT_EQ(Search(header, target, nonce, nonce, abort).nonce, nonce);
    // target = hash - 1 (the hash is not zero).
    for (size_t i = 0; i < target.size(); ++i) {
      if (target[i]-- != 0) break;
    }
    const SearchResult r = Search(header, target, nonce, nonce, abort);
    EXPECT_FALSE(r.nonce.has_value());
    EXPECT_EQ(r.hashes, 1u);
  }
}

TEST_P(PowSearchBackendTest, FindsBitcoinGenesisNonce) {
  const Header header = GenesisHeader();
  const std::atomic<bool> abort{false};
  const SearchResult r =
      Search(header, BitcoinGenesisTarget(), kBitcoinGenesisNonce - 1000,
             kBitcoinGenesisNonce, abort);
  ASSERT_TRUE(r.nonce.has_value());
  EXPECT_EQ(*r.nonce, kBitcoinGenesisNonce);
  EXPECT_EQ(r.hashes, 1001u);
  EXPECT_EQ(ReferenceHash(header, *r.nonce).ToDisplayHex(),
            "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f");
  // A range ending just before the winner must not report it, even when the
  // backend hashes nonces in pairs and the pair straddles the end.
  const SearchResult before =
      Search(header, BitcoinGenesisTarget(), kBitcoinGenesisNonce - 1001,
             kBitcoinGenesisNonce - 1, abort);
  EXPECT_FALSE(before.nonce.has_value());
  EXPECT_EQ(before.hashes, 1001u);
  // The header's own nonce field does not matter.
  Header zeroed = header;
  WriteLe32(zeroed.data() + kHeaderNonceOffset, 0);
  EXPECT_EQ(Search(zeroed, BitcoinGenesisTarget(), kBitcoinGenesisNonce - 5000,
                   kBitcoinGenesisNonce + 5, abort)
                .nonce,
            kBitcoinGenesisNonce);
}

TEST_P(PowSearchBackendTest, ExhaustedRangeCountsEveryHash) {
  const Header header = PatternHeader(4);
  const Target impossible{};  // Only a zero hash would do.
  const std::atomic<bool> abort{false};
  // Not a multiple of the 4096 check interval.
  SearchResult r = Search(header, impossible, 100, 10099, abort);
  EXPECT_FALSE(r.nonce.has_value());
  EXPECT_EQ(r.hashes, 10000u);
  // The top of the nonce space terminates (no wrap-around).
  r = Search(header, impossible, 0xffffff00u, 0xffffffffu, abort);
  EXPECT_FALSE(r.nonce.has_value());
  EXPECT_EQ(r.hashes, 256u);
  r = Search(header, impossible, 0xffffffffu, 0xffffffffu, abort);
  EXPECT_EQ(r.hashes, 1u);
  // Empty range.
  r = Search(header, impossible, 5, 4, abort);
  EXPECT_FALSE(r.nonce.has_value());
  EXPECT_EQ(r.hashes, 0u);
}

TEST(PowSearchTest, PresetAbortSearchesNothing) {
  const std::atomic<bool> abort{true};
  const SearchResult r =
      SearchNonces(PatternHeader(5), EasyTarget(1), 0, 0xffffffffu, abort);
  EXPECT_FALSE(r.nonce.has_value());
  EXPECT_EQ(r.hashes, 0u);
  const SearchResult p =
      SearchNoncesParallel(PatternHeader(5), EasyTarget(1), 2, abort);
  EXPECT_FALSE(p.nonce.has_value());
  EXPECT_EQ(p.hashes, 0u);
}

TEST_P(PowSearchBackendTest, AbortStopsARunningSearch) {
  // The full range with an impossible target would take minutes; the abort
  // must end it long before the range is exhausted.
  std::atomic<bool> abort{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    abort.store(true);
  });
  const SearchResult r =
      SearchNonces(PatternHeader(6), Target{}, 0, 0xffffffffu, abort);
  stopper.join();
  EXPECT_FALSE(r.nonce.has_value());
  EXPECT_GT(r.hashes, 0u);
  EXPECT_LT(r.hashes, uint64_t{1} << 32);
  EXPECT_EQ(r.hashes % 4096, 0u);  // Stopped at a check point.
}

TEST(PowSearchTest, AbortStopsParallelSearch) {
  std::atomic<bool> abort{false};
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    abort.store(true);
  });
  const SearchResult r =
      SearchNoncesParallel(PatternHeader(7), Target{}, 3, abort);
  stopper.join();
  EXPECT_FALSE(r.nonce.has_value());
  EXPECT_LT(r.hashes, uint64_t{1} << 32);
}

TEST(PowSearchTest, ParallelFindsAValidNonce) {
  const std::atomic<bool> abort{false};
  for (int threads : {0, 1, 2, 3}) {
    const Header header = PatternHeader(static_cast<uint8_t>(10 + threads));
    const Target target = EasyTarget(16);  // ~65536 hashes per find.
    const SearchResult r = SearchNoncesParallel(header, target, threads, abort);
    ASSERT_TRUE(r.nonce.has_value()) << threads;
    EXPECT_TRUE(HashMeetsTarget(ReferenceHash(header, *r.nonce), target));
    EXPECT_GT(r.hashes, 0u);
    EXPECT_LT(r.hashes, uint64_t{1} << 32);
  }
}

}  // namespace
}  // namespace pbchain
