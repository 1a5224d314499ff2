#!/usr/bin/python3
"""A small, self-contained pbchain client in Python.

Everything a wallet needs is here, written from docs/PROTOCOL.md alone:

- addresses and their "pb..." text form (PROTOCOL.md section 6),
- the canonical transaction encoding, signing bytes, Ed25519 signature and
  txid (sections 8-10),
- the mapping to the gRPC `Transaction` message (section 19),
- a `Client` around the generated NodeService stub, with a deadline on every
  call and `submit_and_wait`, in plaintext or over TLS (`--tls-ca FILE`, and
  `--tls-client-cert FILE --tls-client-key FILE` for mutual TLS),
- wallet files, plaintext or encrypted (PROTOCOL.md "Wallet file": scrypt
  and ChaCha20-Poly1305; the passphrase from `--passphrase-file FILE` or
  $PBCHAIN_PASSPHRASE).

Requirements (Debian): python3-grpcio, python3-protobuf, python3-cryptography,
and the stubs generated from proto/ (never committed):

    protoc -I proto --python_out=OUT --grpc_python_out=OUT \
        --plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin \
        proto/pbchain/v1/types.proto proto/pbchain/v1/node.proto

Command line (OUT is the stub directory above):

    pbchain_client.py vectors tests/vectors/vectors.json
    pbchain_client.py wallet-vector tests/vectors/encrypted_wallet.json
    pbchain_client.py --passphrase-file pw address --key wallet.json
    pbchain_client.py --stubs OUT --node 127.0.0.1:7701 --tls-ca ca.pem info
    pbchain_client.py keygen
    pbchain_client.py --stubs OUT --node 127.0.0.1:7701 balance pb...
    pbchain_client.py --stubs OUT --node 127.0.0.1:7701 send \
        --key wallet.json --to pb... --amount 100 --fee 1
    pbchain_client.py --stubs OUT --node 127.0.0.1:7701 flow --key wallet.json

`flow` is the end-to-end check run by the test suite: a new recipient key, a
signed transfer with a data record, confirmation, balances, and a transfer
with a corrupted signature that the node must reject.
"""

import argparse
import dataclasses
import hashlib
import json
import os
import secrets
import struct
import sys
import time
from typing import Optional

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey, Ed25519PublicKey)

# --------------------------------------------------------------------------
# Hashes, keys, addresses (PROTOCOL.md sections 1, 2, 6)
# --------------------------------------------------------------------------

U64_MAX = 2**64 - 1


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def sha256d(data: bytes) -> bytes:
    """SHA-256(SHA-256(data)): txids and block hashes."""
    return sha256(sha256(data))


def display_hex(hash32: bytes) -> str:
    """A hash (internal byte order) as explorers and logs show it: reversed."""
    return hash32[::-1].hex()


def public_key_of(seed: bytes) -> bytes:
    """The 32-byte Ed25519 public key of a 32-byte seed (RFC 8032)."""
    sk = Ed25519PrivateKey.from_private_bytes(seed)
    return sk.public_key().public_bytes(serialization.Encoding.Raw,
                                        serialization.PublicFormat.Raw)


def new_seed() -> bytes:
    """A fresh random 32-byte Ed25519 seed."""
    sk = Ed25519PrivateKey.generate()
    return sk.private_bytes(serialization.Encoding.Raw,
                            serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())


def address_of(public_key: bytes) -> bytes:
    """Address = first 20 bytes of a single SHA-256 of the public key."""
    if len(public_key) != 32:
        raise ValueError("public key must be 32 bytes")
    return sha256(public_key)[:20]


def address_text(address: bytes) -> str:
    """"pb" + hex(address) + hex(SHA-256(address)[0:4]), 50 characters."""
    if len(address) != 20:
        raise ValueError("address must be 20 bytes")
    return "pb" + address.hex() + sha256(address)[:4].hex()


def parse_address_text(text: str) -> bytes:
    """The 20 address bytes of a "pb..." text; ValueError if invalid."""
    if not text.startswith("pb"):
        raise ValueError("address text must start with 'pb'")
    if len(text) != 50:
        raise ValueError("address text must be 50 characters")
    digits = text[2:]
    if any(c not in "0123456789abcdefABCDEF" for c in digits):
        raise ValueError("address text must be hex after 'pb'")
    raw = bytes.fromhex(digits)
    address, checksum = raw[:20], raw[20:]
    if sha256(address)[:4] != checksum:
        raise ValueError("address checksum mismatch")
    return address


# --------------------------------------------------------------------------
# Transactions (PROTOCOL.md sections 7, 8, 10)
# --------------------------------------------------------------------------

TX_VERSION = 1
KIND_TRANSFER = 0  # canonical kind byte; the proto enum is this + 1
KIND_COINBASE = 1


@dataclasses.dataclass
class Record:
    """A data record: namespace [a-z0-9._-]{1,64}, optional key, payload."""
    namespace: str
    key: Optional[bytes]  # None = no key (different from a present key)
    payload: bytes = b""


@dataclasses.dataclass
class Transfer:
    """The fields of a transfer (kind 0). `signature` is empty until signed."""
    chain_id: str
    sender_pubkey: bytes
    recipient: bytes  # raw 20 bytes
    amount: int
    fee: int
    nonce: int
    record: Optional[Record] = None
    signature: bytes = b""


@dataclasses.dataclass
class Coinbase:
    """The fields of a coinbase (kind 1); only needed to check vectors."""
    chain_id: str
    recipient: bytes
    amount: int
    height: int
    extra_nonce: int
    record: Optional[Record] = None


def _u64(value: int) -> bytes:
    if not 0 <= value <= U64_MAX:
        raise ValueError(f"{value} does not fit in u64")
    return struct.pack("<Q", value)


def _prefix(kind: int, chain_id: str) -> bytes:
    cid = chain_id.encode("ascii")
    if not 1 <= len(cid) <= 32:
        raise ValueError("chain id must be 1..32 bytes")
    return bytes([TX_VERSION, kind, len(cid)]) + cid


def _record_section(record: Optional[Record]) -> bytes:
    if record is None:
        return b"\x00"
    ns = record.namespace.encode("ascii")
    out = b"\x01" + bytes([len(ns)]) + ns
    if record.key is None:
        out += b"\x00"
    else:
        out += b"\x01" + bytes([len(record.key)]) + record.key
    return out + struct.pack("<I", len(record.payload)) + record.payload


def signing_bytes(tx: Transfer) -> bytes:
    """The bytes a transfer's signature covers (everything but the signature)."""
    if len(tx.sender_pubkey) != 32 or len(tx.recipient) != 20:
        raise ValueError("sender_pubkey must be 32 bytes, recipient 20")
    return (_prefix(KIND_TRANSFER, tx.chain_id) + tx.sender_pubkey +
            tx.recipient + _u64(tx.amount) + _u64(tx.fee) + _u64(tx.nonce) +
            _record_section(tx.record))


def coinbase_encoding(cb: Coinbase) -> bytes:
    """The full (unsigned) encoding of a coinbase."""
    return (_prefix(KIND_COINBASE, cb.chain_id) + cb.recipient +
            _u64(cb.amount) + _u64(cb.height) + _u64(cb.extra_nonce) +
            _record_section(cb.record))


def sign(tx: Transfer, seed: bytes) -> Transfer:
    """Sets tx.signature = Ed25519(seed, signing_bytes(tx)); returns tx."""
    if public_key_of(seed) != tx.sender_pubkey:
        raise ValueError("seed does not belong to sender_pubkey")
    tx.signature = Ed25519PrivateKey.from_private_bytes(seed).sign(
        signing_bytes(tx))
    return tx


def verify(tx: Transfer) -> bool:
    """True if tx.signature is the sender's signature of its signing bytes."""
    try:
        Ed25519PublicKey.from_public_bytes(tx.sender_pubkey).verify(
            tx.signature, signing_bytes(tx))
        return True
    except Exception:  # InvalidSignature, or a bad key/signature length
        return False


def encoding(tx: Transfer) -> bytes:
    """Full canonical encoding of a signed transfer: signing bytes || sig."""
    if len(tx.signature) != 64:
        raise ValueError("transfer is not signed")
    return signing_bytes(tx) + tx.signature


def txid(tx: Transfer) -> bytes:
    """SHA256d of the full encoding, internal byte order (display reversed)."""
    return sha256d(encoding(tx))


# --------------------------------------------------------------------------
# The gRPC side (PROTOCOL.md section 19; proto/pbchain/v1/node.proto)
# --------------------------------------------------------------------------

def load_stubs(stub_dir: Optional[str] = None):
    """Imports the generated modules (types_pb2, node_pb2, node_pb2_grpc).

    stub_dir is the --python_out/--grpc_python_out directory of protoc; it is
    put on sys.path so that `pbchain.v1.*_pb2` resolve (the generated files
    import each other as `from pbchain.v1 import types_pb2`).
    """
    if stub_dir and stub_dir not in sys.path:
        sys.path.insert(0, stub_dir)
    from pbchain.v1 import node_pb2, node_pb2_grpc, types_pb2  # noqa: E402
    return types_pb2, node_pb2, node_pb2_grpc


def _read_file(flag: str, path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise ValueError(f"--{flag} {path}: cannot read: {e.strerror}")


def channel_credentials(tls_ca: Optional[str], tls_client_cert: Optional[str],
                        tls_client_key: Optional[str]):
    """None (plaintext) without a CA; else TLS trusting only that CA, with
    the client certificate and key for mutual TLS when given."""
    import grpc
    if not tls_ca:
        if tls_client_cert or tls_client_key:
            raise ValueError("--tls-client-cert and --tls-client-key need "
                             "--tls-ca")
        return None
    if bool(tls_client_cert) != bool(tls_client_key):
        raise ValueError("--tls-client-cert and --tls-client-key go "
                         "together: give both or neither")
    return grpc.ssl_channel_credentials(
        root_certificates=_read_file("tls-ca", tls_ca),
        private_key=(_read_file("tls-client-key", tls_client_key)
                     if tls_client_key else None),
        certificate_chain=(_read_file("tls-client-cert", tls_client_cert)
                           if tls_client_cert else None))


def explain_unavailable(target: str, details: str, tls: bool) -> str:
    """One line for a failed connection, naming the TLS cause and the flag
    to check (the same wording as pbcli)."""
    d = (details or "").lower()
    where = (f"cannot reach the node at {target} over TLS" if tls
             else f"cannot reach node at {target}")
    if tls:
        if "peer name" in d or "not in peer certificate" in d:
            return (f"{where}: the node's certificate does not name this "
                    "host")
        if "certificate_verify_failed" in d or "certificate verify failed" in d:
            return f"{where}: certificate not trusted (check --tls-ca)"
        if "wrong_version_number" in d or "wrong version number" in d:
            return (f"{where}: the node does not speak TLS (drop --tls-ca, "
                    "or give the node a certificate)")
        if "socket closed" in d or "connection reset" in d:
            return (f"{where}: the node closed the connection during the "
                    "handshake (does it require a client certificate? check "
                    "--tls-client-cert and --tls-client-key)")
        if "handshake" in d or "ssl" in d:
            return f"{where}: TLS handshake failed"
    elif "socket closed" in d or "connection reset" in d:
        return (f"{where}: connection closed during setup; if the node serves "
                "TLS, give --tls-ca")
    return f"{where}: {details}"


class Client:
    """NodeService over a loopback channel (plaintext, or TLS when tls_ca is
    given); every call has a deadline."""

    def __init__(self, target: str, stub_dir: Optional[str] = None,
                 deadline_s: float = 10.0, tls_ca: Optional[str] = None,
                 tls_client_cert: Optional[str] = None,
                 tls_client_key: Optional[str] = None):
        import grpc
        self.grpc = grpc
        self.target = target
        self.types_pb2, self.node_pb2, node_pb2_grpc = load_stubs(stub_dir)
        creds = channel_credentials(tls_ca, tls_client_cert, tls_client_key)
        self.tls = creds is not None
        self.channel = (grpc.secure_channel(target, creds) if creds
                        else grpc.insecure_channel(target))
        self.stub = node_pb2_grpc.NodeServiceStub(self.channel)
        self.deadline_s = deadline_s

    def close(self):
        self.channel.close()

    def get_info(self):
        return self.stub.GetInfo(self.node_pb2.GetInfoRequest(),
                                 timeout=self.deadline_s)

    def get_account(self, address: str):
        """GetAccountResponse: .account.balance, .account.nonce, .pending_nonce."""
        return self.stub.GetAccount(
            self.node_pb2.GetAccountRequest(address=address),
            timeout=self.deadline_s)

    def get_transaction(self, txid_internal: bytes):
        return self.stub.GetTransaction(
            self.node_pb2.GetTransactionRequest(txid=txid_internal),
            timeout=self.deadline_s)

    def get_records(self, namespace: str, key: Optional[bytes] = None):
        req = self.node_pb2.GetRecordsRequest(namespace=namespace)
        if key is not None:
            req.key = key
        return self.stub.GetRecords(req, timeout=self.deadline_s)

    def to_proto(self, tx: Transfer):
        """The gRPC Transaction carrying exactly the signed field values."""
        t = self.types_pb2
        msg = t.Transaction(
            version=TX_VERSION,
            kind=t.TRANSACTION_KIND_TRANSFER,  # = canonical kind byte 0 + 1
            chain_id=tx.chain_id,
            sender_pubkey=tx.sender_pubkey,
            recipient=tx.recipient,
            amount=tx.amount, fee=tx.fee, nonce=tx.nonce,
            signature=tx.signature)
        if tx.record is not None:
            msg.record.namespace = tx.record.namespace
            if tx.record.key is not None:
                msg.record.key = tx.record.key  # sets presence (has_key)
            msg.record.payload = tx.record.payload
            msg.record.SetInParent()  # present even if every field is empty
        return msg

    def submit(self, tx: Transfer) -> bytes:
        """SubmitTransaction; returns the node's txid (internal order).

        Raises grpc.RpcError on rejection (INVALID_ARGUMENT for a bad
        signature or a stateless rule, FAILED_PRECONDITION for nonce/balance).
        """
        resp = self.stub.SubmitTransaction(
            self.node_pb2.SubmitTransactionRequest(transaction=self.to_proto(tx)),
            timeout=self.deadline_s)
        return resp.txid

    def wait_confirmed(self, txid_internal: bytes, confirmations: int = 1,
                       timeout_s: float = 120.0, poll_s: float = 0.25):
        """Polls GetTransaction until it is in a main-chain block with at
        least `confirmations`; returns the GetTransactionResponse."""
        end = time.monotonic() + timeout_s
        last = "never seen"
        while True:
            try:
                r = self.get_transaction(txid_internal)
                if r.block_hash and r.confirmations >= confirmations:
                    return r
                last = ("in mempool" if r.in_mempool else
                        f"{r.confirmations} confirmations")
            except self.grpc.RpcError as e:
                if e.code() != self.grpc.StatusCode.NOT_FOUND:
                    raise
                last = "NOT_FOUND"
            if time.monotonic() > end:
                raise TimeoutError(f"tx {display_hex(txid_internal)} not "
                                   f"confirmed in {timeout_s}s (last: {last})")
            time.sleep(poll_s)

    def submit_and_wait(self, tx: Transfer, confirmations: int = 1,
                        timeout_s: float = 120.0):
        """Submits, checks the node's txid equals ours, waits for confirmation."""
        ours = txid(tx)
        theirs = self.submit(tx)
        if theirs != ours:
            raise AssertionError(f"node txid {display_hex(theirs)} != local "
                                 f"{display_hex(ours)}: encodings differ")
        return self.wait_confirmed(ours, confirmations, timeout_s)


# --------------------------------------------------------------------------
# Key files: plaintext {seed, public_key, address} (`pbtool keygen`,
# `pbcli keygen --no-encrypt`) or encrypted (PROTOCOL.md "Wallet file")
# --------------------------------------------------------------------------

WALLET_FORMAT = "pbchain-encrypted-wallet"
# The limits a reader accepts (PROTOCOL.md "Wallet file"): a hostile file
# cannot make scrypt allocate more than 256 MiB; and log2_n < 16 * r
# (RFC 7914).
MIN_LOG2_N, MAX_LOG2_N, MAX_R, MAX_P = 10, 20, 32, 16
MAX_SCRYPT_MEMORY = 256 << 20
MAX_WALLET_FILE_BYTES = 64 * 1024


def wallet_aad(log2_n: int, r: int, p: int, salt: bytes, nonce: bytes,
               address: str) -> bytes:
    return (f"{WALLET_FORMAT}/1 scrypt log2_n={log2_n} r={r} p={p} "
            f"salt={salt.hex()} chacha20-poly1305 nonce={nonce.hex()} "
            f"address={address}").encode()


def wallet_key(passphrase: bytes, salt: bytes, log2_n: int, r: int,
               p: int) -> bytes:
    return hashlib.scrypt(passphrase, salt=salt, n=1 << log2_n, r=r, p=p,
                          maxmem=128 * r * (1 << log2_n) + 128 * r * p +
                          (1 << 20), dklen=32)


def _json_int(doc: dict, name: str) -> int:
    """A JSON integer field (no string, float or bool), as C++ reads it."""
    v = doc.get(name) if isinstance(doc, dict) else None
    if type(v) is not int or v < 0 or v > 0xffffffff:
        raise ValueError(f"not a valid encrypted wallet: field \"{name}\" "
                         "must be a small whole number")
    return v


def _hex_field(doc: dict, name: str) -> bytes:
    """A hex string field: an even number of 0-9 a-f A-F, nothing else
    (bytes.fromhex alone would also take spaces)."""
    v = doc.get(name) if isinstance(doc, dict) else None
    if (not isinstance(v, str) or len(v) % 2 or
            any(c not in "0123456789abcdefABCDEF" for c in v)):
        raise ValueError(f"not a valid encrypted wallet: field \"{name}\" "
                         "must be a hex string")
    return bytes.fromhex(v)


def decrypt_wallet(doc: dict, passphrase: bytes) -> bytes:
    """The seed of an encrypted wallet document. ValueError naming the
    problem; "wrong passphrase or damaged wallet file" when it does not
    open. Read as PROTOCOL.md "Wallet file" says (and as pbcli reads it):
    version, log2_n, r, p JSON integers; hex in either case; the AAD holds
    the canonical (lowercase) address text."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
    version = _json_int(doc, "version")
    if version != 1:
        raise ValueError(f"encrypted wallet version {version} is not "
                         "supported (this client reads version 1)")
    if doc.get("kdf") != "scrypt" or doc.get("cipher") != "chacha20-poly1305":
        raise ValueError("not a valid encrypted wallet: unknown kdf or cipher")
    sc = doc.get("scrypt")
    if not isinstance(sc, dict):
        raise ValueError("not a valid encrypted wallet: field \"scrypt\" "
                         "must be an object")
    log2_n, r, p = _json_int(sc, "log2_n"), _json_int(sc, "r"), _json_int(
        sc, "p")
    if 1 <= r and log2_n >= 16 * r:
        raise ValueError(f"not a valid encrypted wallet: scrypt log2_n "
                         f"{log2_n} r {r}: RFC 7914 needs log2_n < 16 * r")
    if not (MIN_LOG2_N <= log2_n <= MAX_LOG2_N and 1 <= r <= MAX_R and
            1 <= p <= MAX_P and 128 * r * (1 << log2_n) <= MAX_SCRYPT_MEMORY):
        raise ValueError("not a valid encrypted wallet: scrypt parameters "
                         f"log2_n={log2_n} r={r} p={p} are out of range")
    salt = _hex_field(sc, "salt")
    nonce = _hex_field(doc, "nonce")
    sealed = _hex_field(doc, "ciphertext")
    if not isinstance(doc.get("address"), str):
        raise ValueError("not a valid encrypted wallet: field \"address\" "
                         "must be a string")
    try:
        want = parse_address_text(doc["address"])
    except ValueError as e:
        raise ValueError(f"not a valid encrypted wallet: address: {e}")
    if not (16 <= len(salt) <= 64 and len(nonce) == 12 and len(sealed) == 48):
        raise ValueError("not a valid encrypted wallet: bad salt, nonce or "
                         "ciphertext size")
    key = wallet_key(passphrase, salt, log2_n, r, p)
    try:
        seed = ChaCha20Poly1305(key).decrypt(
            nonce, sealed,
            wallet_aad(log2_n, r, p, salt, nonce, address_text(want)))
    except InvalidTag:
        raise ValueError("wrong passphrase or damaged wallet file")
    if address_of(public_key_of(seed)) != want:
        raise ValueError("wrong passphrase or damaged wallet file")
    return seed


def passphrase_from(path: Optional[str]) -> bytes:
    """--passphrase-file's first line, else $PBCHAIN_PASSPHRASE."""
    if path:
        text = _read_file("passphrase-file", path).split(b"\n", 1)[0]
        text = text[:-1] if text.endswith(b"\r") else text
        if not text:
            raise ValueError(f"--passphrase-file {path}: empty first line")
        return text
    env = os.environb.get(b"PBCHAIN_PASSPHRASE", b"")
    if env:
        return env
    raise ValueError("the wallet is encrypted: give --passphrase-file FILE or "
                     "set $PBCHAIN_PASSPHRASE")


def load_key_file(path: str, passphrase_file: Optional[str] = None) -> bytes:
    """The seed of a wallet file, plaintext or encrypted, cross-checked."""
    raw = _read_file("key", path)
    if len(raw) > MAX_WALLET_FILE_BYTES:
        raise ValueError(f"wallet file {path}: not a wallet file (too large)")
    try:
        k = json.loads(raw)
    except ValueError:
        raise ValueError(f"wallet file {path}: not JSON (damaged or "
                         "truncated?)")
    if not isinstance(k, dict):
        raise ValueError(f"wallet file {path}: not a JSON object")
    if k.get("format") == WALLET_FORMAT:
        try:
            return decrypt_wallet(k, passphrase_from(passphrase_file))
        except ValueError as e:
            if str(e) == "wrong passphrase or damaged wallet file":
                raise ValueError(f"{e} {path}")
            raise ValueError(f"wallet file {path}: {e}")
    print(f"[python-client] warning: wallet file {path} is not encrypted",
          file=sys.stderr, flush=True)
    seed = bytes.fromhex(k["seed"])
    pub = public_key_of(seed)
    if "public_key" in k and bytes.fromhex(k["public_key"]) != pub:
        raise ValueError(f"{path}: public_key does not match the seed")
    if "address" in k and parse_address_text(k["address"]) != address_of(pub):
        raise ValueError(f"{path}: address does not match the key")
    return seed


# --------------------------------------------------------------------------
# Test vectors (tests/vectors/vectors.json, PROTOCOL.md section 20)
# --------------------------------------------------------------------------

def _record_from_vector(r) -> Optional[Record]:
    if r is None:
        return None
    key = None if r["key_hex"] is None else bytes.fromhex(r["key_hex"])
    return Record(r["namespace"], key, bytes.fromhex(r["payload_hex"]))


def check_vectors(path: str) -> int:
    """Checks every client-relevant vector; raises AssertionError on the
    first mismatch, returns the number of checks."""
    with open(path) as f:
        v = json.load(f)
    n = 0

    def expect(what, got, want):
        nonlocal n
        if got != want:
            raise AssertionError(f"vector {what}: got {got!r}, want {want!r}")
        n += 1

    for k in v["keys"]:
        seed = bytes.fromhex(k["seed"])
        pub = public_key_of(seed)
        expect(f"keys[{k['seed'][:8]}].public_key", pub.hex(), k["public_key"])
        addr = address_of(pub)
        expect(f"keys[{k['seed'][:8]}].address", addr.hex(), k["address"])
        expect(f"keys[{k['seed'][:8]}].address_text", address_text(addr),
               k["address_text"])
        expect(f"keys[{k['seed'][:8]}].parse", parse_address_text(
            k["address_text"]).hex(), k["address"])

    for c in v["address_text_cases"]:
        try:
            got = parse_address_text(c["text"]).hex()
        except ValueError:
            got = None
        expect(f"address_text_cases[{c['name']}]", got,
               c["address"] if c["valid"] else None)

    for s in v["signatures"]:
        seed = bytes.fromhex(s["seed"])
        expect("signatures.public_key", public_key_of(seed).hex(),
               s["public_key"])
        sig = Ed25519PrivateKey.from_private_bytes(seed).sign(
            bytes.fromhex(s["message"]))
        expect(f"signatures[{s['message'][:8]}]", sig.hex(), s["signature"])

    for t in v["transactions"]:
        name, f = t["name"], t["fields"]
        record = _record_from_vector(f["record"])
        if f["kind"] == "coinbase":
            cb = Coinbase(f["chain_id"], bytes.fromhex(f["recipient"]),
                          int(f["amount"]), int(f["height"]),
                          int(f["extra_nonce"]), record)
            enc = coinbase_encoding(cb)
            expect(f"{name}.signing_bytes", enc.hex(), t["signing_bytes"])
            expect(f"{name}.encoding", enc.hex(), t["encoding"])
            expect(f"{name}.txid_display", display_hex(sha256d(enc)),
                   t["txid_display"])
            continue
        seed = bytes.fromhex(t["seed"])
        tx = Transfer(f["chain_id"], public_key_of(seed),
                      bytes.fromhex(f["recipient"]), int(f["amount"]),
                      int(f["fee"]), int(f["nonce"]), record)
        expect(f"{name}.sender", tx.sender_pubkey.hex(), f["sender"])
        expect(f"{name}.signing_bytes", signing_bytes(tx).hex(),
               t["signing_bytes"])
        sign(tx, seed)
        expect(f"{name}.signature", tx.signature.hex(), t["signature"])
        expect(f"{name}.verify", verify(tx), True)
        expect(f"{name}.encoding", encoding(tx).hex(), t["encoding"])
        expect(f"{name}.txid_display", display_hex(txid(tx)),
               t["txid_display"])
    return n


# --------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------

def log(msg: str):
    print(f"[python-client] {msg}", flush=True)


def check(cond: bool, what: str):
    if not cond:
        raise AssertionError(what)


def cmd_flow(args) -> None:
    """The end-to-end check (see the module docstring)."""
    c = new_client(args)
    grpc = c.grpc
    try:
        info = c.get_info()
        chain_id = info.chain_id
        log(f"node {args.node}: chain {chain_id!r}, height {info.height}")

        seed = load_key_file(args.key, args.passphrase_file)
        sender_pub = public_key_of(seed)
        sender = address_text(address_of(sender_pub))
        recipient_seed = new_seed()
        recipient_addr = address_of(public_key_of(recipient_seed))
        recipient = address_text(recipient_addr)
        log(f"sender {sender}, new recipient {recipient}")

        before = c.get_account(sender)
        check(before.account.address == sender,
              f"GetAccount address {before.account.address} != {sender}")
        check(before.account.balance >= args.amount + args.fee,
              f"sender balance {before.account.balance} too low")
        r0 = c.get_account(recipient)
        check(r0.account.balance == 0 and r0.account.nonce == 0,
              "a new recipient must start empty")

        record_key = b"run-" + secrets.token_hex(8).encode()
        tx = Transfer(chain_id=chain_id, sender_pubkey=sender_pub,
                      recipient=recipient_addr, amount=args.amount,
                      fee=args.fee, nonce=before.pending_nonce,
                      record=Record("polyglot.python", record_key,
                                    b"hello from python"))
        sign(tx, seed)
        log(f"submitting {display_hex(txid(tx))} (nonce {tx.nonce}, "
            f"{len(encoding(tx))} bytes)")
        conf = c.submit_and_wait(tx, confirmations=1, timeout_s=args.timeout)
        log(f"confirmed in block {conf.block_height} "
            f"({display_hex(conf.block_hash)}), index {conf.index_in_block}, "
            f"{conf.confirmations} confirmation(s)")
        check(not conf.in_mempool and conf.index_in_block >= 1,
              "a confirmed transfer is not in the mempool and not a coinbase")
        check(conf.transaction == c.to_proto(tx),
              "GetTransaction returned different fields than submitted")

        after = c.get_account(sender)
        r1 = c.get_account(recipient)
        check(r1.account.balance == args.amount,
              f"recipient balance {r1.account.balance} != {args.amount}")
        want = before.account.balance - args.amount - args.fee
        check(after.account.balance == want,
              f"sender balance {after.account.balance} != {want} "
              f"(before {before.account.balance} - amount - fee)")
        check(after.account.nonce == tx.nonce + 1,
              f"sender nonce {after.account.nonce} != {tx.nonce + 1}")
        log(f"balances ok: recipient {r1.account.balance}, "
            f"sender {before.account.balance} -> {after.account.balance}")

        recs = c.get_records("polyglot.python", record_key).records
        check(len(recs) == 1 and recs[0].txid == txid(tx) and
              recs[0].record.payload == b"hello from python" and
              recs[0].sender_address == sender,
              f"GetRecords did not return the record: {recs}")
        log("record ok")

        bad = Transfer(chain_id=chain_id, sender_pubkey=sender_pub,
                       recipient=recipient_addr, amount=1, fee=args.fee,
                       nonce=after.pending_nonce)
        sign(bad, seed)
        bad.signature = bytes([bad.signature[0] ^ 0x01]) + bad.signature[1:]
        check(not verify(bad), "the corrupted signature still verifies")
        try:
            c.submit(bad)
        except grpc.RpcError as e:
            check(e.code() == grpc.StatusCode.INVALID_ARGUMENT and
                  "tx-bad-signature" in (e.details() or ""),
                  f"corrupted signature: got {e.code()} ({e.details()}), "
                  "want INVALID_ARGUMENT naming tx-bad-signature")
            log(f"corrupted signature rejected: {e.code().name}: "
                f"{e.details()}")
        else:
            raise AssertionError("node accepted a corrupted signature")
    finally:
        c.close()
    log("flow OK")


def cmd_vectors(args) -> None:
    n = check_vectors(args.path)
    log(f"vectors OK ({n} checks, {args.path})")


def cmd_wallet_vector(args) -> None:
    """Checks tests/vectors/encrypted_wallet.json: the key, the AAD, the
    ciphertext made again, and the file opened by load_key_file."""
    with open(args.path) as f:
        v = json.load(f)
    doc = json.loads(v["file"])
    sc = doc["scrypt"]
    salt, nonce = bytes.fromhex(sc["salt"]), bytes.fromhex(doc["nonce"])
    pw = v["passphrase"].encode()
    key = wallet_key(pw, salt, sc["log2_n"], sc["r"], sc["p"])
    check(key.hex() == v["key"], f"scrypt key {key.hex()} != {v['key']}")
    aad = wallet_aad(sc["log2_n"], sc["r"], sc["p"], salt, nonce,
                     doc["address"])
    check(aad == v["aad"].encode(), f"aad {aad!r} != {v['aad']!r}")
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
    sealed = ChaCha20Poly1305(key).encrypt(nonce, bytes.fromhex(v["seed"]),
                                           aad)
    check(sealed.hex() == v["ciphertext"] == doc["ciphertext"],
          "ciphertext differs from the vector")
    seed = decrypt_wallet(doc, pw)
    check(seed.hex() == v["seed"], "decrypted seed differs")
    check(address_text(address_of(public_key_of(seed))) == v["address"],
          "address differs")
    try:
        decrypt_wallet(doc, pw + b"!")
    except ValueError as e:
        check(str(e) == "wrong passphrase or damaged wallet file", str(e))
    else:
        raise AssertionError("a wrong passphrase opened the wallet")
    bad = dict(doc, scrypt=dict(sc, log2_n=40))
    try:
        decrypt_wallet(bad, pw)
    except ValueError as e:
        check("out of range" in str(e), str(e))
    else:
        raise AssertionError("log2_n=40 was accepted")
    log(f"wallet vector OK ({args.path})")


def cmd_address(args) -> None:
    seed = load_key_file(args.key, args.passphrase_file)
    print(address_text(address_of(public_key_of(seed))))


def cmd_info(args) -> None:
    c = new_client(args)
    try:
        info = c.get_info()
        print(json.dumps({"chain_id": info.chain_id, "height": info.height}))
    finally:
        c.close()


def new_client(args) -> Client:
    return Client(args.node, args.stubs, tls_ca=args.tls_ca,
                  tls_client_cert=args.tls_client_cert,
                  tls_client_key=args.tls_client_key)


def cmd_keygen(args) -> None:
    seed = new_seed()
    pub = public_key_of(seed)
    print(json.dumps({"seed": seed.hex(), "public_key": pub.hex(),
                      "address": address_text(address_of(pub))}, indent=2))


def cmd_balance(args) -> None:
    c = new_client(args)
    try:
        r = c.get_account(args.address)
        print(json.dumps({"address": r.account.address,
                          "balance": r.account.balance,
                          "nonce": r.account.nonce,
                          "pending_nonce": r.pending_nonce,
                          "height": r.height}))
    finally:
        c.close()


def cmd_send(args) -> None:
    c = new_client(args)
    try:
        seed = load_key_file(args.key, args.passphrase_file)
        pub = public_key_of(seed)
        acct = c.get_account(address_text(address_of(pub)))
        record = None
        if args.namespace:
            key = None if args.record_key is None else args.record_key.encode()
            record = Record(args.namespace, key, args.payload.encode())
        tx = sign(Transfer(c.get_info().chain_id, pub,
                           parse_address_text(args.to), args.amount, args.fee,
                           acct.pending_nonce, record), seed)
        r = c.submit_and_wait(tx, timeout_s=args.timeout)
        print(json.dumps({"txid": display_hex(txid(tx)),
                          "block_height": r.block_height}))
    finally:
        c.close()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--node", default="127.0.0.1:7701", help="host:port")
    p.add_argument("--stubs", default=os.environ.get("PBCHAIN_PY_STUBS"),
                   help="directory of the protoc-generated modules")
    p.add_argument("--tls-ca", default=os.environ.get("PBCHAIN_TLS_CA"),
                   help="TLS, trusting only the CA certificate(s) in FILE")
    p.add_argument("--tls-client-cert",
                   default=os.environ.get("PBCHAIN_TLS_CLIENT_CERT"),
                   help="client certificate for mutual TLS")
    p.add_argument("--tls-client-key",
                   default=os.environ.get("PBCHAIN_TLS_CLIENT_KEY"),
                   help="its private key")
    p.add_argument("--passphrase-file",
                   help="first line = passphrase of an encrypted wallet "
                        "(else $PBCHAIN_PASSPHRASE)")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("vectors", help="check tests/vectors/vectors.json")
    s.add_argument("path")
    s.set_defaults(func=cmd_vectors)
    s = sub.add_parser("wallet-vector",
                       help="check tests/vectors/encrypted_wallet.json")
    s.add_argument("path")
    s.set_defaults(func=cmd_wallet_vector)
    s = sub.add_parser("address", help="the address of a wallet file")
    s.add_argument("--key", required=True, help="wallet file")
    s.set_defaults(func=cmd_address)
    s = sub.add_parser("info", help="GetInfo: chain id and height")
    s.set_defaults(func=cmd_info)
    s = sub.add_parser("keygen", help="print a new key as JSON")
    s.set_defaults(func=cmd_keygen)
    s = sub.add_parser("balance", help="GetAccount of an address")
    s.add_argument("address")
    s.set_defaults(func=cmd_balance)
    s = sub.add_parser("send", help="sign, submit and wait for a transfer")
    s.add_argument("--key", required=True, help="pbtool keygen JSON file")
    s.add_argument("--to", required=True, help="recipient address text")
    s.add_argument("--amount", type=int, required=True)
    s.add_argument("--fee", type=int, default=1)
    s.add_argument("--namespace", help="attach a record in this namespace")
    s.add_argument("--record-key", help="record key (UTF-8); none if absent")
    s.add_argument("--payload", default="", help="record payload (UTF-8)")
    s.add_argument("--timeout", type=float, default=120.0)
    s.set_defaults(func=cmd_send)
    s = sub.add_parser("flow", help="the end-to-end check of the test suite")
    s.add_argument("--key", required=True, help="funded pbtool keygen file")
    s.add_argument("--amount", type=int, default=12345)
    s.add_argument("--fee", type=int, default=7)
    s.add_argument("--timeout", type=float, default=120.0)
    s.set_defaults(func=cmd_flow)
    args = p.parse_args(argv)
    try:
        args.func(args)
    except (AssertionError, TimeoutError, ValueError) as e:
        print(f"[python-client] FAIL: {e}", file=sys.stderr, flush=True)
        return 1
    except Exception as e:  # a failed connection: one line, not a trace
        grpc = sys.modules.get("grpc")
        if (grpc is None or not isinstance(e, grpc.RpcError) or
                e.code() != grpc.StatusCode.UNAVAILABLE):
            raise
        line = explain_unavailable(args.node, e.details(), bool(args.tls_ca))
        print(f"[python-client] {line}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
