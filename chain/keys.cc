#include "chain/keys.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace pbchain {
namespace {

// EVP_DigestSign/Verify want a non-null pointer even for an empty message on
// some code paths; point empty spans here.
constexpr uint8_t kEmpty[1] = {0};

const uint8_t* DataOrEmpty(ByteSpan s) { return s.empty() ? kEmpty : s.data(); }

// Restores the thread's OpenSSL error queue on scope exit, so that failures
// we handle here (a bad key, a bad signature) do not leave stale entries that
// could confuse unrelated OpenSSL users on the same thread (e.g. TLS).
class ErrorQueueMark {
 public:
  ErrorQueueMark() { ERR_set_mark(); }
  ~ErrorQueueMark() { ERR_pop_to_mark(); }
  ErrorQueueMark(const ErrorQueueMark&) = delete;
  ErrorQueueMark& operator=(const ErrorQueueMark&) = delete;
};

[[noreturn]] void SignFailed() {
  std::fputs("pbchain: Ed25519 signing failed inside OpenSSL\n", stderr);
  std::abort();
}

}  // namespace

absl::StatusOr<PrivateKey> PrivateKey::Generate() {
  std::array<uint8_t, 32> seed;
  if (RAND_bytes(seed.data(), static_cast<int>(seed.size())) != 1) {
    ERR_clear_error();
    return absl::InternalError("RAND_bytes failed to produce a key seed");
  }
  absl::StatusOr<PrivateKey> key = FromSeed(seed);
  OPENSSL_cleanse(seed.data(), seed.size());
  return key;
}

absl::StatusOr<PrivateKey> PrivateKey::FromSeed(ByteSpan seed) {
  if (seed.size() != 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("Ed25519 seed must be 32 bytes, got ", seed.size()));
  }
  ErrorQueueMark mark;
  EVP_PKEY* pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                                seed.data(), seed.size());
  if (pkey == nullptr) {
    return absl::InternalError("OpenSSL could not create the Ed25519 key");
  }
  PublicKey public_key;
  size_t len = public_key.size();
  if (EVP_PKEY_get_raw_public_key(pkey, public_key.data(), &len) != 1 ||
      len != public_key.size()) {
    EVP_PKEY_free(pkey);
    return absl::InternalError("OpenSSL could not derive the public key");
  }
  std::array<uint8_t, 32> seed_copy;
  std::copy(seed.begin(), seed.end(), seed_copy.begin());
  PrivateKey key(seed_copy, public_key, pkey);
  OPENSSL_cleanse(seed_copy.data(), seed_copy.size());
  return key;
}

PrivateKey::PrivateKey(const PrivateKey& other)
    : seed_(other.seed_), public_key_(other.public_key_), pkey_(other.pkey_) {
  if (pkey_ != nullptr) EVP_PKEY_up_ref(pkey_);
}

PrivateKey& PrivateKey::operator=(const PrivateKey& other) {
  if (this == &other) return *this;
  if (other.pkey_ != nullptr) EVP_PKEY_up_ref(other.pkey_);
  EVP_PKEY_free(pkey_);
  seed_ = other.seed_;
  public_key_ = other.public_key_;
  pkey_ = other.pkey_;
  return *this;
}

PrivateKey::PrivateKey(PrivateKey&& other) noexcept
    : seed_(other.seed_),
      public_key_(other.public_key_),
      pkey_(std::exchange(other.pkey_, nullptr)) {
  OPENSSL_cleanse(other.seed_.data(), other.seed_.size());
}

PrivateKey& PrivateKey::operator=(PrivateKey&& other) noexcept {
  if (this == &other) return *this;
  EVP_PKEY_free(pkey_);
  seed_ = other.seed_;
  public_key_ = other.public_key_;
  pkey_ = std::exchange(other.pkey_, nullptr);
  OPENSSL_cleanse(other.seed_.data(), other.seed_.size());
  return *this;
}

PrivateKey::~PrivateKey() {
  EVP_PKEY_free(pkey_);  // Frees OpenSSL's copy with a secure clear.
  OPENSSL_cleanse(seed_.data(), seed_.size());
}

Signature PrivateKey::Sign(ByteSpan msg) const {
  if (pkey_ == nullptr) SignFailed();  // Use of a moved-from key.
  ErrorQueueMark mark;
  Signature sig;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) SignFailed();
  size_t sig_len = sig.size();
  // Ed25519 is "pure": no separate digest, so md is NULL and the message is
  // passed whole to the one-shot EVP_DigestSign.
  const bool ok =
      EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, pkey_) == 1 &&
      EVP_DigestSign(ctx, sig.data(), &sig_len, DataOrEmpty(msg), msg.size()) ==
          1 &&
      sig_len == sig.size();
  EVP_MD_CTX_free(ctx);
  if (!ok) SignFailed();
  return sig;
}

bool VerifySignature(const PublicKey& public_key, ByteSpan msg,
                     const Signature& signature) {
  ErrorQueueMark mark;
  EVP_PKEY* pkey = EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr, public_key.data(), public_key.size());
  if (pkey == nullptr) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = false;
  if (ctx != nullptr &&
      EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, pkey) == 1) {
    // 1 = valid; 0 = invalid signature; negative = other failure (e.g. the
    // public key does not decode to a curve point).
    ok = EVP_DigestVerify(ctx, signature.data(), signature.size(),
                          DataOrEmpty(msg), msg.size()) == 1;
  }
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pkey);
  return ok;
}

}  // namespace pbchain
