// Fuzzes the canonical transaction decoding (Transaction::Decode, the bytes
// that are signed, hashed and stored in blocks). Properties: decoding never
// crashes; the format is canonical, so whatever decodes re-encodes to exactly
// the input and decodes again to the same value; the context-free checks
// (CheckTransaction, signature included) take any decoded value.
#include <cstddef>
#include <cstdint>

#include "chain/transaction.h"
#include "chain/validation.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pbchain;
  const ByteSpan input(data, size);
  absl::StatusOr<Transaction> tx = Transaction::Decode(input);
  if (!tx.ok()) {
    FUZZ_CHECK(tx.status().code() == absl::StatusCode::kInvalidArgument);
    return 0;
  }
  const Bytes encoded = tx->Encode();
  FUZZ_CHECK(encoded == Bytes(data, data + size));
  absl::StatusOr<Transaction> again = Transaction::Decode(encoded);
  FUZZ_CHECK(again.ok() && *again == *tx);
  FUZZ_CHECK(tx->Id() == again->Id());
  // SigningBytes is a prefix of the full encoding (the signature follows
  // for a transfer).
  const Bytes signing = tx->SigningBytes();
  FUZZ_CHECK(signing.size() <= encoded.size() &&
             std::equal(signing.begin(), signing.end(), encoded.begin()));
  (void)CheckTransaction(*tx, fuzz::FuzzParams(), /*verify_signature=*/true);
  return 0;
}
