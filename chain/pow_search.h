// The mining core: searches the 32-bit nonce of an 80-byte block header for a
// SHA256d(header) that meets a proof-of-work target.
//
// Hash and target are compared as 256-bit little-endian integers (byte 31 is
// the most significant), exactly as the consensus PoW rule does. The block
// level miner (extra-nonce rolling, new templates) sits on top: when a search
// returns no nonce it changes the coinbase extra_nonce / time, rebuilds the
// header and searches again.
#ifndef PBCHAIN_CHAIN_POW_SEARCH_H_
#define PBCHAIN_CHAIN_POW_SEARCH_H_

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "chain/bytes.h"

namespace pbchain {

// Byte offset of the little-endian u32 nonce inside the 80-byte header.
inline constexpr size_t kHeaderNonceOffset = 76;

// Outcome of a nonce search.
struct SearchResult {
  // A nonce whose header hash meets the target; nullopt if the range was
  // exhausted or the search was aborted.
  std::optional<uint32_t> nonce;
  // Number of header hashes computed (including the winning one). Equals the
  // range size when the range was exhausted without a find.
  uint64_t hashes = 0;
};

// The SHA-256 compression code a search runs on. Every backend computes the
// same hashes; they differ only in speed.
enum class ShaBackend {
  kAuto,      // The fastest one this build and CPU support.
  kPortable,  // OpenSSL's SHA256_Transform (its own asm dispatch); any CPU.
  kShaNi,     // x86-64 SHA extensions, two nonces interleaved.
};

// True iff `backend` can run in this build on this CPU (kAuto and kPortable
// always can). Thread-safe.
bool ShaBackendAvailable(ShaBackend backend);

// The backend kAuto resolves to (kShaNi or kPortable). Thread-safe.
ShaBackend SelectedShaBackend();

// True iff `hash` read as a little-endian 256-bit integer is <= the
// little-endian 256-bit `target_le`.
// Thread-safe (pure function).
bool HashMeetsTarget(const Hash256& hash,
                     const std::array<uint8_t, 32>& target_le);

// Tries nonces first, first+1, ..., last (inclusive; the header's own nonce
// bytes are ignored) and returns the first whose SHA256d(header with that
// nonce) meets `target_le`. Precomputes the SHA-256 midstate of the first 64
// header bytes, so each nonce costs two SHA-256 compressions.
// `abort` is polled every 4096 nonces; once it reads true the search returns
// promptly with nonce = nullopt and the hashes done so far. If first > last
// nothing is searched (hashes = 0).
// `backend` is for tests and benchmarks; an unavailable backend falls back to
// kPortable.
// Thread-safe: pure apart from reading `abort`; run as many searches at once
// as you like.
SearchResult SearchNonces(const std::array<uint8_t, 80>& header,
                          const std::array<uint8_t, 32>& target_le,
                          uint32_t first, uint32_t last,
                          const std::atomic<bool>& abort,
                          ShaBackend backend = ShaBackend::kAuto);

// Searches the whole nonce space [0, 2^32 - 1] with `threads` worker threads
// (<= 0 means one per hardware thread, std::thread::hardware_concurrency()),
// each taking a contiguous slice. As soon as one worker finds a nonce the
// others stop (within 4096 hashes), and that nonce is returned; when several
// meet the target any one of them may be returned, not necessarily the
// smallest. `hashes` is the total over all workers (2^32 if exhausted).
// `abort` is honoured as in SearchNonces. Blocks the caller until all workers
// have joined.
// Thread-safe: may be called from any thread; starts and joins its own.
SearchResult SearchNoncesParallel(const std::array<uint8_t, 80>& header,
                                  const std::array<uint8_t, 32>& target_le,
                                  int threads, const std::atomic<bool>& abort);

}  // namespace pbchain

#endif  // PBCHAIN_CHAIN_POW_SEARCH_H_
