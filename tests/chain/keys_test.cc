#include "chain/keys.h"

#include <openssl/err.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace pbchain {
namespace {

struct Rfc8032Vector {
  const char* secret;
  const char* public_key;
  const char* message;
  const char* signature;
};

// RFC 8032 section 7.1, TEST 1, 2 and 3.
constexpr Rfc8032Vector kVectors[] = {
    {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
     "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"},
    {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
     "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"},
    {"c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
     "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"},
};

Bytes Hex(const char* hex) {
  absl::StatusOr<Bytes> b = HexDecode(hex);
  EXPECT_TRUE(b.ok()) << hex;
  return b.ok() ? *b : Bytes();
}

template <size_t N>
std::array<uint8_t, N> HexArray(const char* hex) {
  Bytes b = Hex(hex);
  std::array<uint8_t, N> out{};
  EXPECT_EQ(b.size(), N);
  std::copy_n(b.begin(), std::min(N, b.size()), out.begin());
  return out;
}

PrivateKey KeyFromHex(const char* seed_hex) {
  absl::StatusOr<PrivateKey> key = PrivateKey::FromSeed(Hex(seed_hex));
  EXPECT_TRUE(key.ok()) << key.status();
  return *std::move(key);
}

TEST(KeysTest, Rfc8032Vectors) {
  for (const Rfc8032Vector& v : kVectors) {
    SCOPED_TRACE(v.secret);
    PrivateKey key = KeyFromHex(v.secret);
    EXPECT_EQ(HexEncode(key.seed()), v.secret);
    EXPECT_EQ(HexEncode(key.public_key()), v.public_key);
    const Bytes msg = Hex(v.message);
    const Signature sig = key.Sign(msg);
    EXPECT_EQ(HexEncode(sig), v.signature);
    EXPECT_TRUE(VerifySignature(HexArray<32>(v.public_key), msg,
                                HexArray<64>(v.signature)));
  }
}

TEST(KeysTest, FromSeedRejectsWrongLength) {
  const Bytes short_seed(31, 1);
  const Bytes long_seed(33, 1);
  EXPECT_EQ(PrivateKey::FromSeed(short_seed).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PrivateKey::FromSeed(long_seed).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PrivateKey::FromSeed(ByteSpan()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(KeysTest, GenerateSignVerifyRoundTrip) {
  absl::StatusOr<PrivateKey> a = PrivateKey::Generate();
  absl::StatusOr<PrivateKey> b = PrivateKey::Generate();
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_NE(a->seed(), b->seed());
  EXPECT_NE(a->public_key(), b->public_key());

  // The seed alone reproduces the key.
  absl::StatusOr<PrivateKey> again = PrivateKey::FromSeed(a->seed());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->public_key(), a->public_key());

  for (size_t len : {0, 1, 32, 1000, 70000}) {
    const Bytes msg(len, static_cast<uint8_t>(len));
    const Signature sig = a->Sign(msg);
    EXPECT_EQ(sig, again->Sign(msg));  // Deterministic.
    EXPECT_TRUE(VerifySignature(a->public_key(), msg, sig));
    EXPECT_FALSE(VerifySignature(b->public_key(), msg, sig));
  }
}

TEST(KeysTest, TamperingIsDetected) {
  PrivateKey key = KeyFromHex(kVectors[2].secret);
  const Bytes msg = Hex(kVectors[2].message);
  const Signature sig = key.Sign(msg);
  ASSERT_TRUE(VerifySignature(key.public_key(), msg, sig));

  for (size_t i = 0; i < msg.size(); ++i) {
    Bytes bad = msg;
    bad[i] ^= 0x01;
    EXPECT_FALSE(VerifySignature(key.public_key(), bad, sig)) << i;
  }
  Bytes longer = msg;
  longer.push_back(0);
  EXPECT_FALSE(VerifySignature(key.public_key(), longer, sig));
  EXPECT_FALSE(VerifySignature(key.public_key(), ByteSpan(), sig));

  for (size_t i = 0; i < sig.size(); ++i) {
    Signature bad = sig;
    bad[i] ^= 0x80;
    EXPECT_FALSE(VerifySignature(key.public_key(), msg, bad)) << i;
  }
  for (size_t i = 0; i < key.public_key().size(); ++i) {
    PublicKey bad = key.public_key();
    bad[i] ^= 0x04;
    EXPECT_FALSE(VerifySignature(bad, msg, sig)) << i;
  }
}

TEST(KeysTest, NonCanonicalSIsRejected) {
  // S + L (L = the group order) verifies in a lax implementation; it must not
  // here, or signatures (and so txids) would be malleable.
  constexpr uint8_t kL[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,
                              0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
                              0,    0,    0,    0,    0,    0,    0,    0,
                              0,    0,    0,    0,    0,    0,    0,    0x10};
  PrivateKey key = KeyFromHex(kVectors[0].secret);
  const Bytes msg = {1, 2, 3};
  const Signature sig = key.Sign(msg);
  Signature bad = sig;
  unsigned carry = 0;
  for (int i = 0; i < 32; ++i) {
    const unsigned sum = bad[32 + i] + kL[i] + carry;
    bad[32 + i] = static_cast<uint8_t>(sum);
    carry = sum >> 8;
  }
  ASSERT_EQ(carry, 0u);
  ASSERT_NE(bad, sig);
  EXPECT_FALSE(VerifySignature(key.public_key(), msg, bad));
}

TEST(KeysTest, GarbageNeverVerifiesAndNeverCrashes) {
  const Bytes msg = {'h', 'i'};
  PrivateKey key = KeyFromHex(kVectors[0].secret);
  const Signature good = key.Sign(msg);
  // Patterned public keys, many of which are not curve points or are
  // non-canonical encodings (y >= p), against a real and a junk signature.
  for (int pattern = 0; pattern < 256; ++pattern) {
    PublicKey pk;
    for (size_t i = 0; i < pk.size(); ++i) {
      pk[i] = static_cast<uint8_t>(pattern * 31 + i * (pattern | 1));
    }
    Signature junk;
    junk.fill(static_cast<uint8_t>(pattern));
    EXPECT_FALSE(VerifySignature(pk, msg, good));
    EXPECT_FALSE(VerifySignature(pk, msg, junk));
  }
  PublicKey all_ff;
  all_ff.fill(0xff);
  PublicKey all_zero{};
  Signature zero_sig{};
  EXPECT_FALSE(VerifySignature(all_ff, msg, good));
  EXPECT_FALSE(VerifySignature(all_zero, msg, good));
  EXPECT_FALSE(VerifySignature(key.public_key(), msg, zero_sig));
  // Failures do not leave entries on this thread's OpenSSL error queue.
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(KeysTest, CopiesAndMovesKeepWorking) {
  PrivateKey original = KeyFromHex(kVectors[1].secret);
  const Bytes msg = Hex(kVectors[1].message);
  const std::string expected = kVectors[1].signature;

  PrivateKey copy = original;
  EXPECT_EQ(HexEncode(copy.Sign(msg)), expected);
  PrivateKey moved = std::move(copy);
  EXPECT_EQ(HexEncode(moved.Sign(msg)), expected);

  PrivateKey other = KeyFromHex(kVectors[0].secret);
  other = original;  // Copy-assign over a live key.
  EXPECT_EQ(HexEncode(other.Sign(msg)), expected);
  other = KeyFromHex(kVectors[2].secret);  // Move-assign.
  EXPECT_EQ(HexEncode(other.public_key()), kVectors[2].public_key);
  EXPECT_EQ(HexEncode(original.Sign(msg)), expected);
}

TEST(KeysTest, ConcurrentSignAndVerify) {
  PrivateKey key = KeyFromHex(kVectors[0].secret);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const Bytes msg = {static_cast<uint8_t>(t), static_cast<uint8_t>(i)};
        const Signature sig = key.Sign(msg);
        if (!VerifySignature(key.public_key(), msg, sig)) ++failures;
        Signature bad = sig;
        bad[0] ^= 1;
        if (VerifySignature(key.public_key(), msg, bad)) ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

}  // namespace
}  // namespace pbchain
