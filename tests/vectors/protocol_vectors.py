#!/usr/bin/python3
"""Independent Python implementation of docs/PROTOCOL.md, and the pbchain test
vectors it produces.

    /usr/bin/python3 tests/vectors/protocol_vectors.py generate  # writes vectors.json
    /usr/bin/python3 tests/vectors/protocol_vectors.py check     # recomputes it

`check` recomputes every expected value from the inputs stored in
vectors.json and exits non-zero on any mismatch. This file is written from
the protocol document alone (not from the C++ kernel), so that the kernel's
own test (tests/chain/vectors_test.cc) compares two implementations.

Needs only the standard library and python3-cryptography (Debian package) for
Ed25519.
"""

import hashlib
import json
import os
import re
import struct
import sys

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey, Ed25519PublicKey)

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS_PATH = os.path.join(HERE, "vectors.json")

# --- section 12: limits -----------------------------------------------------
TX_VERSION = 1
MAX_CHAIN_ID = 32
MAX_NAMESPACE = 64
MAX_KEY = 128
MAX_PAYLOAD = 65536
MAX_TX_SIZE = 70000
MEDIAN_TIME_SPAN = 11
GENESIS_NAMESPACE = "pbchain.genesis"
U64 = (1 << 64) - 1
U256 = (1 << 256) - 1


# --- sections 1-2: hashing and byte order ----------------------------------
def sha256(b):
    return hashlib.sha256(b).digest()


def sha256d(b):
    return sha256(sha256(b))


def display(h):
    """Display hex of a 32-byte hash (byte-reversed)."""
    return h[::-1].hex()


def from_display(s):
    return bytes.fromhex(s)[::-1]


def u32(v):
    return struct.pack("<I", v)


def u64(v):
    return struct.pack("<Q", v)


# --- section 3: header -----------------------------------------------------
def header_bytes(version, prev, merkle, time, bits, nonce):
    assert len(prev) == 32 and len(merkle) == 32
    return u32(version) + prev + merkle + u32(time) + u32(bits) + u32(nonce)


def parse_header(raw):
    assert len(raw) == 80
    version, = struct.unpack_from("<I", raw, 0)
    time, bits, nonce = struct.unpack_from("<III", raw, 68)
    return {"version": version, "prev": raw[4:36], "merkle": raw[36:68],
            "time": time, "bits": bits, "nonce": nonce}


def block_hash(raw_header):
    return sha256d(raw_header)


# --- section 4: compact bits, pow, work ------------------------------------
def decode_compact(bits):
    """Returns (target, negative, overflow), Bitcoin SetCompact semantics."""
    size = bits >> 24
    word = bits & 0x007FFFFF
    if size <= 3:
        word >>= 8 * (3 - size)
        target = word
    else:
        shift = 8 * (size - 3)
        target = (word << shift) & U256 if shift < 256 else 0
    negative = word != 0 and (bits & 0x00800000) != 0
    overflow = word != 0 and (size > 34 or (word > 0xFF and size > 33) or
                              (word > 0xFFFF and size > 32))
    return target, negative, overflow


def encode_compact(target):
    size = (target.bit_length() + 7) // 8
    if size <= 3:
        word = (target << (8 * (3 - size))) & 0xFFFFFFFF
    else:
        word = (target >> (8 * (size - 3))) & 0xFFFFFFFF
    if word & 0x00800000:
        word >>= 8
        size += 1
    return (word | (size << 24)) & 0xFFFFFFFF


def meets_target(hash32, target):
    return int.from_bytes(hash32, "little") <= target


def work(target):
    return 0 if target == 0 else (1 << 256) // (target + 1)


def target_hex(t):
    return "%064x" % t


# --- section 5: merkle -----------------------------------------------------
def merkle_root(txids):
    """Returns (root, mutated): mutated if equal siblings were paired."""
    if not txids:
        return b"\0" * 32, False
    level = list(txids)
    mutated = False
    while len(level) > 1:
        for i in range(0, len(level) - 1, 2):
            if level[i] == level[i + 1]:
                mutated = True
        if len(level) % 2 == 1:
            level.append(level[-1])
        level = [sha256d(level[i] + level[i + 1])
                 for i in range(0, len(level), 2)]
    return level[0], mutated


# --- section 6: keys and addresses -----------------------------------------
def public_key(seed):
    sk = Ed25519PrivateKey.from_private_bytes(seed)
    return sk.public_key().public_bytes(serialization.Encoding.Raw,
                                        serialization.PublicFormat.Raw)


def ed25519_sign(seed, msg):
    return Ed25519PrivateKey.from_private_bytes(seed).sign(msg)


def ed25519_verify(pub, msg, sig):
    try:
        Ed25519PublicKey.from_public_bytes(pub).verify(sig, msg)
        return True
    except Exception:  # noqa: BLE001 - any failure means "invalid"
        return False


def address_of(pub):
    return sha256(pub)[:20]


def address_text(addr):
    return "pb" + addr.hex() + sha256(addr)[:4].hex()


def parse_address_text(text):
    """Returns the 20 bytes, or raises ValueError."""
    if not text.startswith("pb"):
        raise ValueError("prefix")
    if len(text) != 50:
        raise ValueError("length")
    try:
        raw = bytes.fromhex(text[2:])
    except ValueError as e:
        raise ValueError("hex") from e
    if len(raw) != 24 or not all(c in "0123456789abcdefABCDEF"
                                 for c in text[2:]):
        raise ValueError("hex")
    addr, check = raw[:20], raw[20:]
    if sha256(addr)[:4] != check:
        raise ValueError("checksum")
    return addr


# --- sections 7-8: records and transactions --------------------------------
def valid_namespace(ns):
    return (1 <= len(ns) <= MAX_NAMESPACE and
            all(c in "abcdefghijklmnopqrstuvwxyz0123456789._-" for c in ns))


def encode_record(rec):
    if rec is None:
        return b"\x00"
    ns = rec["namespace"].encode("ascii")
    out = b"\x01" + bytes([len(ns)]) + ns
    key = rec["key"]
    if key is None:
        out += b"\x00"
    else:
        out += b"\x01" + bytes([len(key)]) + key
    out += u32(len(rec["payload"])) + rec["payload"]
    return out


def signing_bytes(tx):
    cid = tx["chain_id"].encode("ascii")
    out = bytes([TX_VERSION, 0 if tx["kind"] == "transfer" else 1, len(cid)])
    out += cid
    if tx["kind"] == "transfer":
        out += tx["sender"] + tx["recipient"]
        out += u64(tx["amount"]) + u64(tx["fee"]) + u64(tx["nonce"])
    else:
        out += tx["recipient"]
        out += u64(tx["amount"]) + u64(tx["height"]) + u64(tx["extra_nonce"])
    return out + encode_record(tx["record"])


def full_encoding(tx):
    sb = signing_bytes(tx)
    return sb + tx["signature"] if tx["kind"] == "transfer" else sb


def txid(tx):
    return sha256d(full_encoding(tx))


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError("truncated")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def u8(self):
        return self.take(1)[0]

    def u32(self):
        return struct.unpack("<I", self.take(4))[0]

    def u64(self):
        return struct.unpack("<Q", self.take(8))[0]


def decode_tx_from(r):
    if r.u8() != TX_VERSION:
        raise ValueError("version")
    kind = r.u8()
    if kind > 1:
        raise ValueError("kind")
    tx = {"kind": "transfer" if kind == 0 else "coinbase"}
    tx["chain_id"] = r.take(r.u8()).decode("ascii")
    if kind == 0:
        tx["sender"] = r.take(32)
        tx["recipient"] = r.take(20)
        tx["amount"], tx["fee"], tx["nonce"] = r.u64(), r.u64(), r.u64()
    else:
        tx["recipient"] = r.take(20)
        tx["amount"], tx["height"], tx["extra_nonce"] = (r.u64(), r.u64(),
                                                         r.u64())
    has_record = r.u8()
    if has_record > 1:
        raise ValueError("has_record")
    tx["record"] = None
    if has_record:
        ns = r.take(r.u8()).decode("ascii")
        has_key = r.u8()
        if has_key > 1:
            raise ValueError("has_key")
        key = r.take(r.u8()) if has_key else None
        n = r.u32()
        if n > MAX_PAYLOAD:
            raise ValueError("payload too long")
        tx["record"] = {"namespace": ns, "key": key, "payload": r.take(n)}
    if kind == 0:
        tx["signature"] = r.take(64)
    return tx


def decode_tx(data):
    if len(data) > MAX_TX_SIZE:
        raise ValueError("too large")
    r = Reader(data)
    tx = decode_tx_from(r)
    if r.pos != len(data):
        raise ValueError("trailing bytes")
    return tx


# --- section 11: blocks ----------------------------------------------------
def encode_block(header_raw, txs):
    out = header_raw + u32(len(txs))
    for tx in txs:
        out += full_encoding(tx)
    return out


def decode_block(data):
    r = Reader(data)
    header = r.take(80)
    n = r.u32()
    if n > 10000:
        raise ValueError("too many txs")
    txs = [decode_tx_from(r) for _ in range(n)]
    if r.pos != len(data):
        raise ValueError("trailing bytes")
    return header, txs


# --- section 14: genesis ---------------------------------------------------
def parse_uint(v):
    """A genesis number: a JSON integer >= 0, or a string of decimal digits or
    "0x" + hex digits (section 14). Nothing else (no sign, spaces, octal)."""
    if isinstance(v, bool):
        raise ValueError("bool")
    if isinstance(v, int):
        if v < 0:
            raise ValueError("negative")
        return v
    if isinstance(v, str):
        if re.fullmatch(r"0[xX][0-9a-fA-F]+", v):
            return int(v[2:], 16)
        if re.fullmatch(r"[0-9]+", v):
            return int(v, 10)
    raise ValueError("not a number")


def genesis_params(j):
    p = {"chain_id": j["chain_id"]}
    for f in ("target_interval_ms", "genesis_time", "genesis_bits",
              "pow_limit_bits", "block_reward", "difficulty_window",
              "max_future_block_time_s", "genesis_nonce"):
        p[f] = parse_uint(j[f])
    p["allocations"] = [(parse_address_text(a["address"]),
                         parse_uint(a["amount"]))
                        for a in j.get("allocations", [])]
    return p


def canonical_text(p):
    s = ("pbchain-genesis-v1 chain_id=%s target_interval_ms=%d "
         "genesis_time=%d genesis_bits=0x%08x pow_limit_bits=0x%08x "
         "block_reward=%d difficulty_window=%d max_future_block_time_s=%d" %
         (p["chain_id"], p["target_interval_ms"], p["genesis_time"],
          p["genesis_bits"], p["pow_limit_bits"], p["block_reward"],
          p["difficulty_window"], p["max_future_block_time_s"]))
    for addr, amount in p["allocations"]:
        s += " alloc=%s:%d" % (address_text(addr), amount)
    return s


def coinbase(chain_id, recipient, amount, height, extra_nonce, record=None):
    return {"kind": "coinbase", "chain_id": chain_id, "recipient": recipient,
            "amount": amount, "height": height, "extra_nonce": extra_nonce,
            "record": record}


def genesis_txs(p):
    txs = [coinbase(p["chain_id"], b"\0" * 20, 0, 0, 0,
                    {"namespace": GENESIS_NAMESPACE, "key": None,
                     "payload": canonical_text(p).encode("ascii")})]
    for i, (addr, amount) in enumerate(p["allocations"]):
        txs.append(coinbase(p["chain_id"], addr, amount, 0, i + 1))
    return txs


def genesis_header(p, nonce=None):
    root, _ = merkle_root([txid(t) for t in genesis_txs(p)])
    return header_bytes(1, b"\0" * 32, root, p["genesis_time"],
                        p["genesis_bits"],
                        p["genesis_nonce"] if nonce is None else nonce)


def mine_genesis(p):
    target, _, _ = decode_compact(p["genesis_bits"])
    base = genesis_header(p, 0)[:76]
    for nonce in range(1 << 32):
        if meets_target(sha256d(base + u32(nonce)), target):
            return nonce
    raise RuntimeError("no nonce")


# --- section 15: LWMA ------------------------------------------------------
def next_bits(window, T, N, pow_limit, genesis_bits):
    """window: list of (time, bits), oldest first, parent last."""
    n = len(window)
    if n == 0:
        return genesis_bits
    if n < 3 or T <= 0 or N < 2:
        return window[-1][1]
    m = min(n - 1, N)
    B = window[-(m + 1):]
    prev = 1000 * B[0][0]
    t = 0
    for j in range(1, m + 1):
        this = max(1000 * B[j][0], prev)
        st = min(this - prev, 6 * T)
        prev = this
        t += j * st
    avg = sum(decode_compact(B[j][1])[0] for j in range(1, m + 1)) // m
    k = T * m * (m + 1) // 2
    nxt = min(avg * t // k, U256)
    P = decode_compact(B[m][1])[0]
    nxt = max(nxt, P // 2)
    nxt = min(nxt, min(2 * P, U256))
    nxt = min(nxt, pow_limit)
    nxt = max(nxt, 1)
    return encode_compact(nxt)


# --- section 16: MTP -------------------------------------------------------
def median_time(times):
    if not times:
        return 0
    s = sorted(times[:MEDIAN_TIME_SPAN])
    return s[len(s) // 2]


# ===========================================================================
# Vector (de)serialization. u64 values are decimal strings in the JSON so
# that every language reads them exactly; bytes are hex.
# ===========================================================================
def tx_to_json(tx):
    j = {"kind": tx["kind"], "chain_id": tx["chain_id"],
         "recipient": tx["recipient"].hex(), "amount": str(tx["amount"])}
    if tx["kind"] == "transfer":
        j.update({"sender": tx["sender"].hex(), "fee": str(tx["fee"]),
                  "nonce": str(tx["nonce"])})
    else:
        j.update({"height": str(tx["height"]),
                  "extra_nonce": str(tx["extra_nonce"])})
    rec = tx["record"]
    j["record"] = None if rec is None else {
        "namespace": rec["namespace"],
        "key_hex": None if rec["key"] is None else rec["key"].hex(),
        "payload_hex": rec["payload"].hex()}
    return j


def tx_from_json(j):
    tx = {"kind": j["kind"], "chain_id": j["chain_id"],
          "recipient": bytes.fromhex(j["recipient"]),
          "amount": int(j["amount"])}
    if j["kind"] == "transfer":
        tx.update({"sender": bytes.fromhex(j["sender"]), "fee": int(j["fee"]),
                   "nonce": int(j["nonce"])})
    else:
        tx.update({"height": int(j["height"]),
                   "extra_nonce": int(j["extra_nonce"])})
    rec = j["record"]
    tx["record"] = None if rec is None else {
        "namespace": rec["namespace"],
        "key": None if rec["key_hex"] is None else bytes.fromhex(
            rec["key_hex"]),
        "payload": bytes.fromhex(rec["payload_hex"])}
    return tx


# --- inputs chosen for the vectors -----------------------------------------
RFC8032_TEST1_SEED = ("9d61b19deffd5a60ba844af492ec2cc4"
                      "4449c5697b326919703bac031cae7f60")
RFC8032_TEST1_PUB = ("d75a980182b10ab7d54bfed3c964073a"
                     "0ee172f3daa62325af021a68f707511a")
RFC8032_TEST2_SEED = ("4ccd089b28ff96da9db6c346ec114e0f"
                      "5b8a319f35aba624da8cf6ed4fb8a6fb")
RFC8032_TEST2_PUB = ("3d4017c3e843895a92b70aa74d1b7ebc"
                     "9c982ccf2ec4968cc0cd55f12af4660c")
SEED3 = bytes(range(32)).hex()
# RFC 8032 section 7.1 TEST 1 (empty message) and TEST 2 (one byte 0x72).
RFC8032_SIGNATURES = [
    (RFC8032_TEST1_SEED, "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
     "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
    (RFC8032_TEST2_SEED, "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
     "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
]

CHAIN_ID = "pbchain-vectors"

BTC_GENESIS_HEADER = (
    "01000000" + "00" * 32 +
    "3ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a"
    "29ab5f49ffff001d1dac2b7c")
BTC_GENESIS_HASH = ("000000000019d6689c085ae165831e93"
                    "4ff763ae46a2a6c172b3f1b60a8ce26f")
BTC_100000_HEADER = (
    "0100000050120119172a610421a6c3011dd330d9df07b63616c2cc1f1cd00200"
    "000000006657a9252aacd5c0b2940996ecff952228c3067cc38d4885efb5a4ac"
    "4247e9f337221b4d4c86041b0f2b5710")
BTC_100000_HASH = ("000000000003ba27aa200b1cecaad478"
                   "d2b00432346c3f1f3986da1afd33e506")
# The four txids of Bitcoin block 100,000 (display order).
BTC_100000_TXIDS = [
    "8c14f0db3df150123e6f3dbbf30f8b955a8249b62ac1d1ff16284aefa3d06d87",
    "fff2525b8931402dd09222c50775608f75787bd2b87e56995a7bdd30f79702c4",
    "6359f0868171b1d194cbee1af2f16ea598ae8fad666d9b012c8ed2b79a236ec4",
    "e9a66845e05d5abc0ad04ec80f774a7e585c6e8db975962d069a522137b80c1d",
]
BTC_100000_MERKLE = ("f3e94742aca4b5ef85488dc37c06c328"
                     "2295ffec960994b2c0d5ac2a25a95766")

COMPACT_BITS = [
    0x00000000, 0x00123456, 0x01003456, 0x02000056, 0x03000000, 0x04000000,
    0x00923456, 0x01803456, 0x02800056, 0x03800000, 0x04800000, 0x01123456,
    0x01fedcba, 0x02123456, 0x03123456, 0x04123456, 0x04923456, 0x05009234,
    0x20123456, 0x1d00ffff, 0x1b04864c, 0x207fffff, 0x1f00ffff, 0x22000001,
    0x21010000, 0x22000100, 0x23000001, 0xff123456,
]
ENCODE_TARGETS = [0x80, 0x12345600, 0x1, 0xFFFFFF, (1 << 255)]


def key_entry(seed_hex):
    seed = bytes.fromhex(seed_hex)
    pub = public_key(seed)
    addr = address_of(pub)
    return {"seed": seed_hex, "public_key": pub.hex(), "address": addr.hex(),
            "address_text": address_text(addr)}


def make_transactions():
    s1, s2, s3 = (bytes.fromhex(x) for x in (RFC8032_TEST1_SEED,
                                             RFC8032_TEST2_SEED, SEED3))
    a2 = address_of(public_key(s2))
    a3 = address_of(public_key(s3))

    def transfer(name, seed, recipient, amount, fee, nonce, record=None,
                 chain_id=CHAIN_ID):
        return name, seed.hex(), {"kind": "transfer", "chain_id": chain_id,
                            "sender": public_key(seed),
                            "recipient": recipient, "amount": amount,
                            "fee": fee, "nonce": nonce, "record": record}

    return [
        transfer("plain_transfer", s1, a2, 1000, 10, 0),
        transfer("transfer_keyed_record", s1, a2, 0x0102030405060708, 3, 7,
                 {"namespace": "shop.orders", "key": b"order-1",
                  "payload": b"monkey x2"}),
        transfer("transfer_keyless_record", s2, a3, 5, 1, 1,
                 {"namespace": "chat", "key": None,
                  "payload": "hello, chain \u2713".encode("utf-8")}),
        transfer("record_only_zero_amount", s3, address_of(public_key(s3)), 0,
                 2, 42, {"namespace": "vote.2024", "key": bytes.fromhex(
                     "00ff7f80"), "payload": b""}, chain_id="x"),
        ("coinbase", None,
         coinbase(CHAIN_ID, a3, 50 + 10 + 3, 12, 0xDEADBEEFCAFE)),
    ]


def make_genesis_json():
    return {
        "chain_id": CHAIN_ID,
        "target_interval_ms": 2000,
        "genesis_time": 1700000000,
        "genesis_bits": "0x1f00ffff",
        "pow_limit_bits": "0x207fffff",
        "block_reward": 50,
        "difficulty_window": 45,
        "max_future_block_time_s": 15,
        "genesis_nonce": 0,
        "allocations": [
            {"address": key_entry(s)["address_text"], "amount": amt}
            for s, amt in ((RFC8032_TEST1_SEED, 1000000),
                           (RFC8032_TEST2_SEED, 250000),
                           (SEED3, 18446744073709551615 - 1250000))
        ],
    }


def difficulty_inputs():
    T = 2000
    N = 45
    limit_bits = 0x207fffff
    g = 0x1f00ffff
    t0 = 1700000000
    cases = []

    def add(name, window, T=T, N=N, limit_bits=limit_bits):
        cases.append({"name": name, "target_interval_ms": T,
                      "difficulty_window": N, "pow_limit_bits":
                      "0x%08x" % limit_bits, "genesis_bits": "0x%08x" % g,
                      "window": [[t, "0x%08x" % b] for t, b in window]})

    add("empty_window_is_genesis", [])
    add("one_block_keeps_parent", [(t0, g)])
    add("two_blocks_keep_parent", [(t0, g), (t0 + 2, g)])
    add("steady_2s_keeps_bits", [(t0 + 2 * i, 0x1e7fffff) for i in range(46)])
    add("fast_blocks_harder", [(t0 + i // 2, 0x1e7fffff) for i in range(46)])
    add("slow_blocks_easier", [(t0 + 5 * i, 0x1e0fffff) for i in range(46)])
    add("short_window_clamped_2x", [(t0, 0x1e0fffff), (t0 + 60, 0x1e0fffff),
                                    (t0 + 120, 0x1e0fffff)])
    add("all_zero_solve_times_halves", [(t0, 0x1e0fffff)] * 10)
    add("out_of_order_times",
        [(t0, g), (t0 + 3, g), (t0 + 1, g), (t0 + 9, g), (t0 + 8, g),
         (t0 + 12, g)])
    add("pow_limit_caps", [(t0 + 100 * i, 0x207fffff) for i in range(5)])
    add("longer_than_window_uses_last_n_plus_1",
        [(t0 + 1000 * i, 0x1d00ffff) for i in range(3)] +
        [(t0 + 3000 + i, 0x1d00ffff) for i in range(4)], N=4)
    add("sub_second_interval",
        [(t0 + i // 3, 0x1f00ffff) for i in range(30)], T=250, N=20)
    return cases


# ===========================================================================
# Computation of expected values (shared by generate and check).
# ===========================================================================
def compute_signature(c):
    seed = bytes.fromhex(c["seed"])
    return {"seed": c["seed"], "public_key": public_key(seed).hex(),
            "message": c["message"],
            "signature": ed25519_sign(seed, bytes.fromhex(c["message"])).hex()}


def compute_keys(inputs):
    return [key_entry(k["seed"]) for k in inputs]


def compute_tx_vector(name, seed_hex, tx):
    if tx["kind"] == "transfer":
        seed = bytes.fromhex(seed_hex)
        assert public_key(seed) == tx["sender"]
        tx = dict(tx, signature=ed25519_sign(seed, signing_bytes(tx)))
        assert ed25519_verify(tx["sender"], signing_bytes(tx),
                              tx["signature"])
    enc = full_encoding(tx)
    assert decode_tx(enc) == tx, name
    return {"name": name, "seed": seed_hex, "fields": tx_to_json(tx),
            "signing_bytes": signing_bytes(tx).hex(),
            "signature": tx["signature"].hex() if "signature" in tx else None,
            "encoding": enc.hex(), "txid_display": display(sha256d(enc))}


def compute_merkle(txids_display):
    root, mutated = merkle_root([from_display(t) for t in txids_display])
    return {"txids_display": txids_display, "root_display": display(root),
            "mutated": mutated}


def compute_header(name, header_hex):
    raw = bytes.fromhex(header_hex)
    h = parse_header(raw)
    target, neg, ovf = decode_compact(h["bits"])
    assert not neg and not ovf
    hh = block_hash(raw)
    return {"name": name, "header_hex": header_hex,
            "version": h["version"], "prev_display": display(h["prev"]),
            "merkle_display": display(h["merkle"]), "time": h["time"],
            "bits": "0x%08x" % h["bits"], "nonce": h["nonce"],
            "hash_display": display(hh), "target_hex": target_hex(target),
            "meets_target": meets_target(hh, target),
            "work": str(work(target))}


def compute_compact(bits):
    target, neg, ovf = decode_compact(bits)
    return {"bits": "0x%08x" % bits, "target_hex": target_hex(target),
            "negative": neg, "overflow": ovf,
            "reencoded": "0x%08x" % encode_compact(target)}


def compute_encode(t):
    return {"target_hex": target_hex(t), "bits": "0x%08x" % encode_compact(t)}


def compute_genesis(gjson):
    p = genesis_params(gjson)
    txs = genesis_txs(p)
    raw = genesis_header(p)
    hh = block_hash(raw)
    return {"json": gjson, "canonical_text": canonical_text(p),
            "tx_encodings": [full_encoding(t).hex() for t in txs],
            "txids_display": [display(txid(t)) for t in txs],
            "merkle_display": display(merkle_root([txid(t)
                                                   for t in txs])[0]),
            "header_hex": raw.hex(), "hash_display": display(hh),
            "meets_target": meets_target(hh, decode_compact(
                p["genesis_bits"])[0]),
            "block_encoding": encode_block(raw, txs).hex()}


def compute_block(inp):
    txs = [tx_from_block_json(t) for t in inp["txs"]]
    h = inp["header"]
    root, _ = merkle_root([txid(t) for t in txs])
    raw = header_bytes(h["version"], from_display(h["prev_display"]), root,
                       h["time"], parse_uint(h["bits"]), h["nonce"])
    enc = encode_block(raw, txs)
    dh, dtxs = decode_block(enc)
    assert dh == raw and dtxs == txs
    return {"name": inp["name"], "header": h, "txs": inp["txs"],
            "merkle_display": display(root), "header_hex": raw.hex(),
            "hash_display": display(block_hash(raw)),
            "consensus_size": 80 + sum(len(full_encoding(t)) for t in txs),
            "encoding": enc.hex()}


def compute_difficulty(c):
    window = [(t, parse_uint(b)) for t, b in c["window"]]
    limit = decode_compact(parse_uint(c["pow_limit_bits"]))[0]
    nb = next_bits(window, c["target_interval_ms"], c["difficulty_window"],
                   limit, parse_uint(c["genesis_bits"]))
    return dict(c, next_bits="0x%08x" % nb)


def address_text_case(name, text):
    try:
        addr = parse_address_text(text)
        return {"name": name, "text": text, "valid": True,
                "address": addr.hex()}
    except ValueError:
        return {"name": name, "text": text, "valid": False, "address": None}


# ===========================================================================
def generate():
    keys = compute_keys([{"seed": s} for s in (RFC8032_TEST1_SEED,
                                               RFC8032_TEST2_SEED, SEED3)])
    assert keys[0]["public_key"] == RFC8032_TEST1_PUB
    assert keys[1]["public_key"] == RFC8032_TEST2_PUB
    sigs = [compute_signature({"seed": sd, "message": m})
            for sd, m, _ in RFC8032_SIGNATURES]
    for got, (_, _, want) in zip(sigs, RFC8032_SIGNATURES):
        assert got["signature"] == want, got
    good = keys[0]["address_text"]
    bad_sum = good[:-1] + ("0" if good[-1] != "0" else "1")
    addr_cases = [
        address_text_case("lowercase", good),
        address_text_case("uppercase_hex", "pb" + good[2:].upper()),
        address_text_case("bad_checksum", bad_sum),
        address_text_case("uppercase_prefix", "PB" + good[2:]),
        address_text_case("too_short", good[:-2]),
        address_text_case("non_hex", good[:10] + "g" + good[11:]),
    ]

    txs = [compute_tx_vector(n, s, t) for n, s, t in make_transactions()]

    ids = [t["txid_display"] for t in txs]
    merkle = [compute_merkle(ids[:1]), compute_merkle(ids[:2]),
              compute_merkle(ids[:3]), compute_merkle(ids[:4]),
              compute_merkle(ids[:3] + ids[2:3]),
              compute_merkle(BTC_100000_TXIDS)]
    assert merkle[5]["root_display"] == BTC_100000_MERKLE
    assert merkle[4]["root_display"] == merkle[2]["root_display"]
    assert merkle[4]["mutated"] and not merkle[2]["mutated"]

    btc_g = bytearray(bytes.fromhex(BTC_GENESIS_HEADER))
    btc_g[76:80] = u32(struct.unpack_from("<I", btc_g, 76)[0] + 1)
    headers = [compute_header("bitcoin_genesis", BTC_GENESIS_HEADER),
               compute_header("bitcoin_100000", BTC_100000_HEADER),
               compute_header("bitcoin_genesis_wrong_nonce", btc_g.hex())]
    assert headers[0]["hash_display"] == BTC_GENESIS_HASH
    assert headers[1]["hash_display"] == BTC_100000_HASH
    assert headers[0]["meets_target"] and headers[1]["meets_target"]
    assert not headers[2]["meets_target"]

    gjson = make_genesis_json()
    gjson["genesis_nonce"] = mine_genesis(genesis_params(gjson))
    genesis = [compute_genesis(gjson)]

    blk_txs = [txs[4]["fields"], dict(txs[0]["fields"],
                                      signature=txs[0]["signature"]),
               dict(txs[1]["fields"], signature=txs[1]["signature"])]
    blocks = [compute_block({
        "name": "coinbase_and_two_transfers",
        "header": {"version": 1, "prev_display": genesis[0]["hash_display"],
                   "time": 1700000002, "bits": "0x1f00ffff", "nonce": 12345},
        "txs": blk_txs})]

    vectors = {
        "description": "pbchain protocol v1 test vectors; see "
                       "docs/PROTOCOL.md section 20. Hashes named *_display "
                       "are byte-reversed; u64 values are decimal strings; "
                       "bytes are lowercase hex.",
        "keys": keys,
        "signatures": sigs,
        "address_text_cases": addr_cases,
        "transactions": txs,
        "merkle": merkle,
        "headers": headers,
        "compact": [compute_compact(b) for b in COMPACT_BITS],
        "compact_encode": [compute_encode(t) for t in ENCODE_TARGETS],
        "genesis": genesis,
        "blocks": blocks,
        "difficulty": [compute_difficulty(c) for c in difficulty_inputs()],
        "median_time_past": [
            {"times": ts, "median": median_time(ts)}
            for ts in ([], [5], [5, 3], [1, 2, 3], [9, 1, 8, 2, 7, 3],
                       list(range(100, 89, -1)),
                       [7, 7, 1, 30, 2, 2, 40, 5, 6, 9, 100])]
    }
    with open(VECTORS_PATH, "w", encoding="utf-8") as f:
        json.dump(vectors, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print("wrote %s" % VECTORS_PATH)
    return vectors


def tx_from_block_json(j):
    tx = tx_from_json(j)
    if j["kind"] == "transfer":
        tx["signature"] = bytes.fromhex(j["signature"])
    return tx


def check():
    with open(VECTORS_PATH, encoding="utf-8") as f:
        v = json.load(f)
    passed = failed = 0

    def expect(label, got, want):
        nonlocal passed, failed
        if got == want:
            passed += 1
        else:
            failed += 1
            print("FAIL %s:\n  got  %r\n  want %r" % (label, got, want))

    for k in v["keys"]:
        expect("key " + k["seed"][:8], key_entry(k["seed"]), k)
    for c in v["signatures"]:
        expect("signature " + c["seed"][:8], compute_signature(c), c)
        expect("verify " + c["seed"][:8], ed25519_verify(
            bytes.fromhex(c["public_key"]), bytes.fromhex(c["message"]),
            bytes.fromhex(c["signature"])), True)
    for c in v["address_text_cases"]:
        expect("address text " + c["name"],
               address_text_case(c["name"], c["text"]), c)
    for t in v["transactions"]:
        tx = tx_from_json(t["fields"])
        if t["signature"] is not None:
            tx["signature"] = bytes.fromhex(t["signature"])
        expect("tx %s fields->signing_bytes" % t["name"],
               signing_bytes(tx).hex(), t["signing_bytes"])
        expect("tx %s fields->encoding" % t["name"], full_encoding(tx).hex(),
               t["encoding"])
        expect("tx %s decode" % t["name"],
               decode_tx(bytes.fromhex(t["encoding"])), tx)
        if tx["kind"] == "transfer":
            expect("tx %s verify" % t["name"],
                   ed25519_verify(tx["sender"], signing_bytes(tx),
                                  tx["signature"]), True)
            tx.pop("signature")
        expect("tx %s all" % t["name"],
               compute_tx_vector(t["name"], t["seed"], tx), t)
    for m in v["merkle"]:
        expect("merkle %d" % len(m["txids_display"]),
               compute_merkle(m["txids_display"]), m)
    for h in v["headers"]:
        expect("header " + h["name"], compute_header(h["name"],
                                                     h["header_hex"]), h)
    for c in v["compact"]:
        expect("compact " + c["bits"], compute_compact(int(c["bits"], 16)), c)
    for c in v["compact_encode"]:
        expect("compact encode " + c["target_hex"],
               compute_encode(int(c["target_hex"], 16)), c)
    for g in v["genesis"]:
        got = compute_genesis(g["json"])
        expect("genesis", got, g)
        expect("genesis meets target", got["meets_target"], True)
    for b in v["blocks"]:
        expect("block " + b["name"], compute_block(
            {"name": b["name"], "header": b["header"], "txs": b["txs"]}), b)
        # The block encoding decodes back to the vector's transactions.
        _, dtxs = decode_block(bytes.fromhex(b["encoding"]))
        expect("block %s decode" % b["name"], dtxs,
               [tx_from_block_json(t) for t in b["txs"]])
    for c in v["difficulty"]:
        expect("difficulty " + c["name"], compute_difficulty(
            {k: c[k] for k in c if k != "next_bits"}), c)
    for c in v["median_time_past"]:
        expect("mtp %r" % c["times"], median_time(c["times"]), c["median"])
    print("%d passed, %d failed" % (passed, failed))
    return failed == 0


def main(argv):
    if len(argv) != 2 or argv[1] not in ("generate", "check"):
        print(__doc__)
        return 2
    if argv[1] == "generate":
        generate()
        return 0 if check() else 1
    return 0 if check() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
