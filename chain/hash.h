// SHA-256 and double SHA-256 (SHA256d) over byte spans. Every hash in the
// consensus kernel (block hashes, txids, merkle nodes, addresses) goes through
// these two functions.
#ifndef PBCHAIN_CHAIN_HASH_H_
#define PBCHAIN_CHAIN_HASH_H_

#include "chain/bytes.h"

namespace pbchain {

// Returns SHA-256(data) in internal byte order (as SHA-256 outputs it).
// Accepts any span, including an empty one. Does not allocate.
// Thread-safe: pure function, callable from any thread.
Hash256 Sha256(ByteSpan data);

// Returns SHA-256(SHA-256(data)), the hash used for block headers, txids and
// merkle nodes. Accepts any span, including an empty one. Does not allocate.
// Thread-safe: pure function, callable from any thread.
Hash256 Sha256d(ByteSpan data);

}  // namespace pbchain

#endif  // PBCHAIN_CHAIN_HASH_H_
