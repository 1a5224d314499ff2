// Ed25519 (RFC 8032) keys and signatures, backed by OpenSSL 3.
//
// A private key is a 32-byte seed, a public key 32 bytes, a signature 64 bytes.
// Signing is deterministic: the same key and message always give the same
// signature.
#ifndef PBCHAIN_CHAIN_KEYS_H_
#define PBCHAIN_CHAIN_KEYS_H_

#include <array>
#include <cstdint>

#include "absl/status/statusor.h"
#include "chain/bytes.h"

// OpenSSL's EVP_PKEY, declared here so that this header does not pull in the
// OpenSSL headers.
struct evp_pkey_st;

namespace pbchain {

using PublicKey = std::array<uint8_t, 32>;
using Signature = std::array<uint8_t, 64>;

// An Ed25519 private key: the 32-byte seed plus the derived public key and a
// ready-to-use OpenSSL key object (so signing does not re-derive the key).
//
// Copyable (copies share the immutable OpenSSL key object) and movable. A
// moved-from PrivateKey may only be destroyed or assigned to. The seed is
// wiped from memory when the object is destroyed.
//
// Thread-safety: all const methods may be called from many threads at once on
// the same object.
class PrivateKey {
 public:
  // Creates a new random key from OpenSSL's CSPRNG (RAND_bytes).
  // Needs nothing. Callable from any thread.
  // Returns INTERNAL if the random generator or OpenSSL key setup fails.
  static absl::StatusOr<PrivateKey> Generate();

  // Builds the key for a 32-byte seed (the RFC 8032 "secret key").
  // Callable from any thread.
  // Returns INVALID_ARGUMENT if `seed` is not exactly 32 bytes, INTERNAL if
  // OpenSSL fails to set the key up.
  static absl::StatusOr<PrivateKey> FromSeed(ByteSpan seed);

  PrivateKey(const PrivateKey& other);
  PrivateKey& operator=(const PrivateKey& other);
  PrivateKey(PrivateKey&& other) noexcept;
  PrivateKey& operator=(PrivateKey&& other) noexcept;
  ~PrivateKey();

  // The public key matching this private key.
  // Thread-safe (const, no side effects).
  const PublicKey& public_key() const { return public_key_; }

  // The 32-byte seed. Treat as secret: do not log it.
  // Thread-safe (const, no side effects).
  const std::array<uint8_t, 32>& seed() const { return seed_; }

  // Returns the Ed25519 signature of `msg` (any length, may be empty).
  // Deterministic. Thread-safe: many threads may sign with the same key at
  // once. Cannot fail for a valid key; if OpenSSL itself fails (out of memory)
  // the process is aborted, as it would be on any failed allocation.
  Signature Sign(ByteSpan msg) const;

 private:
  PrivateKey(const std::array<uint8_t, 32>& seed, const PublicKey& public_key,
             evp_pkey_st* pkey)
      : seed_(seed), public_key_(public_key), pkey_(pkey) {}

  std::array<uint8_t, 32> seed_{};
  PublicKey public_key_{};
  evp_pkey_st* pkey_ = nullptr;  // Owned (one reference).
};

// Returns true iff `signature` is a valid Ed25519 signature of `msg` by
// `public_key`. Any input is accepted: a public key that is not a valid curve
// point, a malformed or non-canonical signature, or any OpenSSL failure gives
// false, never a crash. Leaves the calling thread's OpenSSL error queue as it
// was.
// Thread-safe: may be called from many threads at once (no shared state).
bool VerifySignature(const PublicKey& public_key, ByteSpan msg,
                     const Signature& signature);

}  // namespace pbchain

#endif  // PBCHAIN_CHAIN_KEYS_H_
