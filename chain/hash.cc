// The low-level SHA256_Init/Update/Final API is deprecated in OpenSSL 3.0 in
// favour of EVP, but it is still shipped, runs the same assembly (SHA-NI where
// the CPU has it) and, unlike EVP_Digest / the 3.0 one-shot SHA256() (which go
// through EVP_Q_digest: a provider fetch plus a heap-allocated context per
// call), it works on a stack context with no allocation and no locking. Block
// and tx hashing is on the hot path of validation, so we keep the low-level
// API and silence the deprecation for this file only.
#define OPENSSL_SUPPRESS_DEPRECATED

#include "chain/hash.h"

#include <openssl/sha.h>

namespace pbchain {
namespace {

// Hashes `data` into `out` (32 bytes).
inline void Sha256Into(ByteSpan data, uint8_t* out) {
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, data.data(), data.size());
  SHA256_Final(out, &ctx);
}

}  // namespace

Hash256 Sha256(ByteSpan data) {
  Hash256 out;
  Sha256Into(data, out.bytes.data());
  return out;
}

Hash256 Sha256d(ByteSpan data) {
  Hash256 once;
  Sha256Into(data, once.bytes.data());
  Hash256 out;
  Sha256Into(once.bytes, out.bytes.data());
  return out;
}

}  // namespace pbchain
