#!/usr/bin/python3
"""A small, self-contained pbchain client in Python.

Everything a wallet needs is here, written from docs/PROTOCOL.md alone:

- addresses and their "pb..." text form (PROTOCOL.md section 6),
- the canonical transaction encoding, signing bytes, Ed25519 signature and
  txid (sections 8-10),
- the mapping to the gRPC `Transaction` message (section 19),
- a `Client` around the generated NodeService stub, with a deadline on every
  call and `submit_and_wait`.

Requirements (Debian): python3-grpcio, python3-protobuf, python3-cryptography,
and the stubs generated from proto/ (never committed):

    protoc -I proto --python_out=OUT --grpc_python_out=OUT \
        --plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin \
        proto/pbchain/v1/types.proto proto/pbchain/v1/node.proto

Command line (OUT is the stub directory above):

    pbchain_client.py vectors tests/vectors/vectors.json
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


class Client:
    """NodeService over an insecure loopback channel; every call has a deadline."""

    def __init__(self, target: str, stub_dir: Optional[str] = None,
                 deadline_s: float = 10.0):
        import grpc
        self.grpc = grpc
        self.types_pb2, self.node_pb2, node_pb2_grpc = load_stubs(stub_dir)
        self.channel = grpc.insecure_channel(target)
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
# Key files (the JSON `pbtool keygen --out FILE` writes)
# --------------------------------------------------------------------------

def load_key_file(path: str) -> bytes:
    """The seed of a {seed, public_key, address} key file, cross-checked."""
    with open(path) as f:
        k = json.load(f)
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
    c = Client(args.node, args.stubs)
    grpc = c.grpc
    try:
        info = c.get_info()
        chain_id = info.chain_id
        log(f"node {args.node}: chain {chain_id!r}, height {info.height}")

        seed = load_key_file(args.key)
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


def cmd_keygen(args) -> None:
    seed = new_seed()
    pub = public_key_of(seed)
    print(json.dumps({"seed": seed.hex(), "public_key": pub.hex(),
                      "address": address_text(address_of(pub))}, indent=2))


def cmd_balance(args) -> None:
    c = Client(args.node, args.stubs)
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
    c = Client(args.node, args.stubs)
    try:
        seed = load_key_file(args.key)
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
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("vectors", help="check tests/vectors/vectors.json")
    s.add_argument("path")
    s.set_defaults(func=cmd_vectors)
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
