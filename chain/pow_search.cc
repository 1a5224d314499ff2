// SHA256_Init and SHA256_Transform are deprecated in OpenSSL 3.0 (EVP has no
// way to run a single compression from a saved midstate), but they are still
// exported and SHA256_Transform runs OpenSSL's block function, which
// dispatches at run time to SHA-NI / AVX2 / SSSE3 code. Silence the
// deprecation for this file only.
#define OPENSSL_SUPPRESS_DEPRECATED

#include "chain/pow_search.h"

#include <openssl/sha.h>

#include <algorithm>
#include <cstring>
#include <thread>
#include <vector>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define PBCHAIN_POW_SHANI 1
#include <cpuid.h>
#include <immintrin.h>
#endif

namespace pbchain {
namespace {

constexpr uint32_t kCheckInterval = 4096;  // Nonces between abort checks.

constexpr uint32_t kSha256Iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372,
                                   0xa54ff53a, 0x510e527f, 0x9b05688c,
                                   0x1f83d9ab, 0x5be0cd19};

inline uint32_t ByteSwap32(uint32_t v) {  // Compiles to one bswap.
  return (v >> 24) | ((v >> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24);
}

inline uint32_t ReadBe32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 |
         uint32_t{p[3]};
}

// What the SHA256d of a header needs. SHA-256 of the 80-byte header is two
// compressions: block 0 = header[0..63], which does not contain the nonce and
// is compressed once per header (the "midstate"), and block 1 =
// header[64..79] + padding for 640 bits. The second SHA-256 hashes the
// 32-byte digest: one block = digest + padding for 256 bits. So each nonce
// costs two compressions.
//
// A hasher below computes, for kLanes consecutive nonces (mod 2^32), the
// final SHA-256 state words: hash byte 4*i+j is (out[i] >> (24 - 8*j)).
struct HeaderJob {
  explicit HeaderJob(const std::array<uint8_t, 80>& header) {
    SHA256_CTX ctx;
    SHA256_Init(&ctx);
    SHA256_Transform(&ctx, header.data());
    std::memcpy(midstate, ctx.h, sizeof(midstate));
    for (int i = 0; i < 3; ++i) tail[i] = ReadBe32(header.data() + 64 + 4 * i);
  }
  uint32_t midstate[8];
  uint32_t tail[3];  // Block 1 words 0..2 (merkle root end, time, bits).
};

// Portable: OpenSSL's one-block compression.
class PortableHasher {
 public:
  static constexpr int kLanes = 1;

  explicit PortableHasher(const HeaderJob& job) : job_(job) {
    for (int i = 0; i < 3; ++i) StoreBe(block1_ + 4 * i, job.tail[i]);
    block1_[16] = 0x80;
    block1_[62] = 0x02;  // 640 bits, big-endian.
    block1_[63] = 0x80;
    block2_[32] = 0x80;
    block2_[62] = 0x01;  // 256 bits, big-endian.
  }

  void Hash(uint32_t nonce, uint32_t (*out)[8]) {
    StoreBe(block1_ + 12, ByteSwap32(nonce));  // The nonce is little-endian.
    std::memcpy(ctx_.h, job_.midstate, sizeof(job_.midstate));
    SHA256_Transform(&ctx_, block1_);
    for (int i = 0; i < 8; ++i) StoreBe(block2_ + 4 * i, ctx_.h[i]);
    std::memcpy(ctx_.h, kSha256Iv, sizeof(kSha256Iv));
    SHA256_Transform(&ctx_, block2_);
    std::memcpy(out[0], ctx_.h, sizeof(out[0]));
  }

 private:
  static void StoreBe(uint8_t* p, uint32_t v) {
    const uint32_t be = ByteSwap32(v);
    std::memcpy(p, &be, 4);  // One 4-byte store (x86-64 is little-endian).
  }

  const HeaderJob& job_;
  alignas(64) uint8_t block1_[64] = {};
  alignas(64) uint8_t block2_[64] = {};
  SHA256_CTX ctx_;
};

#ifdef PBCHAIN_POW_SHANI
// x86-64 SHA extensions (Intel since Goldmont/Ice Lake, AMD since Zen). The
// functions are compiled for "sha,sse4.1" only and run only after the CPUID
// check in CpuHasShaNi, so the rest of the binary stays baseline x86-64.
#define PBCHAIN_SHANI __attribute__((target("sha,sse4.1,ssse3")))
#define PBCHAIN_SHANI_INLINE \
  __attribute__((target("sha,sse4.1,ssse3"), always_inline)) inline

bool CpuHasShaNi() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
  const bool ssse3 = c & (1u << 9);
  const bool sse41 = c & (1u << 19);
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  const bool sha = b & (1u << 29);
  return ssse3 && sse41 && sha;
}

alignas(16) constexpr uint32_t kK[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

// SHA state as SHA-NI keeps it: s0 = (A,B,E,F), s1 = (C,D,G,H), A in the top
// lane. From / to the plain a..h word order.
PBCHAIN_SHANI_INLINE void LoadState(const uint32_t h[8], __m128i& s0,
                                    __m128i& s1) {
  __m128i abcd = _mm_loadu_si128(reinterpret_cast<const __m128i*>(h));
  __m128i efgh = _mm_loadu_si128(reinterpret_cast<const __m128i*>(h + 4));
  abcd = _mm_shuffle_epi32(abcd, 0xB1);    // b a d c
  efgh = _mm_shuffle_epi32(efgh, 0x1B);    // h g f e
  s0 = _mm_alignr_epi8(abcd, efgh, 8);     // f e b a
  s1 = _mm_blend_epi16(efgh, abcd, 0xF0);  // h g d c
}

PBCHAIN_SHANI_INLINE void UnpackState(__m128i s0, __m128i s1, __m128i& abcd,
                                      __m128i& efgh) {
  const __m128i abef = _mm_shuffle_epi32(s0, 0x1B);  // a b e f
  const __m128i ghcd = _mm_shuffle_epi32(s1, 0xB1);  // g h c d
  abcd = _mm_blend_epi16(abef, ghcd, 0xF0);
  efgh = _mm_alignr_epi8(ghcd, abef, 8);
}

// One SHA-256 compression for each of N independent lanes, interleaved
// instruction by instruction: sha256rnds2 has a latency of several cycles but
// issues more often, so two independent chains keep the unit busy. m holds
// the 16 message words per lane (lane 0 of m[l][0] is W0) and is clobbered.
template <int N>
PBCHAIN_SHANI_INLINE void Compress(__m128i (&s0)[N], __m128i (&s1)[N],
                                   __m128i (&m)[N][4]) {
  __m128i save0[N], save1[N];
  for (int l = 0; l < N; ++l) {
    save0[l] = s0[l];
    save1[l] = s1[l];
  }
#pragma GCC unroll 16
  for (int q = 0; q < 16; ++q) {  // Four rounds per step.
    const __m128i k =
        _mm_load_si128(reinterpret_cast<const __m128i*>(kK + 4 * q));
#pragma GCC unroll 4
    for (int l = 0; l < N; ++l) {
      if (q >= 4) {  // W[4q..4q+3] from W[4q-16..4q-1].
        __m128i t = _mm_sha256msg1_epu32(m[l][q & 3], m[l][(q + 1) & 3]);
        t = _mm_add_epi32(
            t, _mm_alignr_epi8(m[l][(q + 3) & 3], m[l][(q + 2) & 3], 4));
        m[l][q & 3] = _mm_sha256msg2_epu32(t, m[l][(q + 3) & 3]);
      }
      __m128i w = _mm_add_epi32(m[l][q & 3], k);
      s1[l] = _mm_sha256rnds2_epu32(s1[l], s0[l], w);
      w = _mm_shuffle_epi32(w, 0x0E);
      s0[l] = _mm_sha256rnds2_epu32(s0[l], s1[l], w);
    }
  }
  for (int l = 0; l < N; ++l) {
    s0[l] = _mm_add_epi32(s0[l], save0[l]);
    s1[l] = _mm_add_epi32(s1[l], save1[l]);
  }
}

// SHA256d of the header for nonces nonce .. nonce+N-1.
template <int N>
PBCHAIN_SHANI void ShaNiHash(const HeaderJob& job, uint32_t nonce,
                             uint32_t (*out)[8]) {
  __m128i mid0, mid1, iv0, iv1;
  LoadState(job.midstate, mid0, mid1);
  LoadState(kSha256Iv, iv0, iv1);
  const __m128i tail = _mm_set_epi32(0, static_cast<int>(job.tail[2]),
                                     static_cast<int>(job.tail[1]),
                                     static_cast<int>(job.tail[0]));
  const __m128i pad1_w4 = _mm_set_epi32(0, 0, 0, static_cast<int>(0x80000000));
  const __m128i pad1_w12 = _mm_set_epi32(0x280, 0, 0, 0);  // 640 bits.
  const __m128i pad2_w12 = _mm_set_epi32(0x100, 0, 0, 0);  // 256 bits.

  __m128i s0[N], s1[N], m[N][4];
  for (int l = 0; l < N; ++l) {
    s0[l] = mid0;
    s1[l] = mid1;
    m[l][0] = _mm_insert_epi32(
        tail, static_cast<int>(ByteSwap32(nonce + static_cast<uint32_t>(l))),
        3);
    m[l][1] = pad1_w4;
    m[l][2] = _mm_setzero_si128();
    m[l][3] = pad1_w12;
  }
  Compress<N>(s0, s1, m);
  for (int l = 0; l < N; ++l) {
    UnpackState(s0[l], s1[l], m[l][0], m[l][1]);
    m[l][2] = pad1_w4;  // 0x80 right after the 32-byte digest.
    m[l][3] = pad2_w12;
    s0[l] = iv0;
    s1[l] = iv1;
  }
  Compress<N>(s0, s1, m);
  for (int l = 0; l < N; ++l) {
    __m128i abcd, efgh;
    UnpackState(s0[l], s1[l], abcd, efgh);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out[l]), abcd);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out[l] + 4), efgh);
  }
}

class ShaNiHasher {
 public:
  static constexpr int kLanes = 2;
  explicit ShaNiHasher(const HeaderJob& job) : job_(job) {}
  void Hash(uint32_t nonce, uint32_t (*out)[8]) {
    ShaNiHash<kLanes>(job_, nonce, out);
  }

 private:
  const HeaderJob& job_;
};
#endif  // PBCHAIN_POW_SHANI

// Compares SHA-256 state words (see HeaderJob) against the target.
class TargetCheck {
 public:
  explicit TargetCheck(const std::array<uint8_t, 32>& target_le)
      : target_(target_le), top_(ReadLe32(target_le.data() + 28)) {}

  bool Meets(const uint32_t state[8]) const {
    // Hash bytes 28..31 (the most significant, read little-endian) are the
    // bytes of state[7] reversed. Almost every nonce is decided here.
    const uint32_t top = ByteSwap32(state[7]);
    if (top != top_) return top < top_;
    Hash256 hash;
    for (int i = 0; i < 8; ++i) {
      const uint32_t be = ByteSwap32(state[i]);
      std::memcpy(hash.bytes.data() + 4 * i, &be, 4);
    }
    return HashMeetsTarget(hash, target_);
  }

 private:
  std::array<uint8_t, 32> target_;
  uint32_t top_;
};

// The search loop shared by both drivers. Stops when `abort` or (if given)
// `stop` reads true; checks both every kCheckInterval nonces.
template <typename Hasher>
SearchResult SearchRangeWith(const HeaderJob& job,
                             const std::array<uint8_t, 32>& target_le,
                             uint32_t first, uint32_t last,
                             const std::atomic<bool>& abort,
                             const std::atomic<bool>* stop) {
  constexpr int kLanes = Hasher::kLanes;
  static_assert(kCheckInterval % kLanes == 0);
  SearchResult result;
  Hasher hasher(job);
  const TargetCheck check(target_le);
  uint32_t out[kLanes][8];
  uint32_t start = first;
  while (true) {
    if (abort.load(std::memory_order_relaxed) ||
        (stop != nullptr && stop->load(std::memory_order_relaxed))) {
      return result;
    }
    const uint32_t end =
        last - start < kCheckInterval - 1 ? last : start + kCheckInterval - 1;
    for (uint32_t n = start;; n += kLanes) {
      hasher.Hash(n, out);
      for (int l = 0; l < kLanes; ++l) {
        const uint32_t nonce = n + static_cast<uint32_t>(l);
        if (nonce - start > end - start) break;  // Past the end of the batch.
        if (check.Meets(out[l])) [[unlikely]] {
          result.nonce = nonce;
          result.hashes += uint64_t{nonce - start} + 1;
          return result;
        }
      }
      if (end - n < static_cast<uint32_t>(kLanes)) break;
    }
    result.hashes += uint64_t{end - start} + 1;
    if (end == last) return result;
    start = end + 1;
  }
}

ShaBackend Resolve(ShaBackend backend) {
  if (backend == ShaBackend::kAuto) return SelectedShaBackend();
  if (!ShaBackendAvailable(backend)) return ShaBackend::kPortable;
  return backend;
}

SearchResult SearchRange(const std::array<uint8_t, 80>& header,
                         const std::array<uint8_t, 32>& target_le,
                         uint32_t first, uint32_t last,
                         const std::atomic<bool>& abort,
                         const std::atomic<bool>* stop, ShaBackend backend) {
  if (first > last) return {};
  const HeaderJob job(header);
#ifdef PBCHAIN_POW_SHANI
  if (Resolve(backend) == ShaBackend::kShaNi) {
    return SearchRangeWith<ShaNiHasher>(job, target_le, first, last, abort,
                                        stop);
  }
#endif
  return SearchRangeWith<PortableHasher>(job, target_le, first, last, abort,
                                         stop);
}

}  // namespace

bool ShaBackendAvailable(ShaBackend backend) {
  switch (backend) {
    case ShaBackend::kAuto:
    case ShaBackend::kPortable:
      return true;
    case ShaBackend::kShaNi:
#ifdef PBCHAIN_POW_SHANI
    {
      static const bool has_sha_ni = CpuHasShaNi();
      return has_sha_ni;
    }
#else
      return false;
#endif
  }
  return false;
}

ShaBackend SelectedShaBackend() {
  return ShaBackendAvailable(ShaBackend::kShaNi) ? ShaBackend::kShaNi
                                                 : ShaBackend::kPortable;
}

bool HashMeetsTarget(const Hash256& hash,
                     const std::array<uint8_t, 32>& target_le) {
  for (int i = 31; i >= 0; --i) {
    if (hash.bytes[i] != target_le[i]) return hash.bytes[i] < target_le[i];
  }
  return true;  // Equal.
}

SearchResult SearchNonces(const std::array<uint8_t, 80>& header,
                          const std::array<uint8_t, 32>& target_le,
                          uint32_t first, uint32_t last,
                          const std::atomic<bool>& abort, ShaBackend backend) {
  return SearchRange(header, target_le, first, last, abort, nullptr, backend);
}

SearchResult SearchNoncesParallel(const std::array<uint8_t, 80>& header,
                                  const std::array<uint8_t, 32>& target_le,
                                  int threads, const std::atomic<bool>& abort) {
  if (threads <= 0) {
    threads =
        static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  constexpr uint64_t kSpace = uint64_t{1} << 32;
  const uint64_t workers = static_cast<uint64_t>(threads);
  std::atomic<bool> found{false};
  std::vector<SearchResult> results(workers);
  std::vector<std::thread> pool;
  pool.reserve(workers);
  for (uint64_t w = 0; w < workers; ++w) {
    const uint32_t first = static_cast<uint32_t>(kSpace * w / workers);
    const uint32_t last = static_cast<uint32_t>(kSpace * (w + 1) / workers - 1);
    pool.emplace_back([&, w, first, last] {
      results[w] = SearchRange(header, target_le, first, last, abort, &found,
                               ShaBackend::kAuto);
      if (results[w].nonce) found.store(true, std::memory_order_relaxed);
    });
  }
  for (std::thread& t : pool) t.join();
  SearchResult total;
  for (const SearchResult& r : results) {
    total.hashes += r.hashes;
    if (r.nonce && !total.nonce) total.nonce = r.nonce;
  }
  return total;
}

}  // namespace pbchain
