#!/usr/bin/env node
// A small, self-contained pbchain client for Node.js (>= 18), written from
// docs/PROTOCOL.md alone:
//
// - addresses and their "pb..." text form (PROTOCOL.md section 6),
// - the canonical transaction encoding, signing bytes, Ed25519 signature and
//   txid (sections 8-10), with Node's built-in node:crypto Ed25519,
// - the mapping to the gRPC `Transaction` message (section 19),
// - a `Client` around NodeService (@grpc/grpc-js, with the .proto files loaded
//   at run time by @grpc/proto-loader: no code generation), with a deadline
//   on every call and `submitAndWait`, in plaintext or over TLS (`--tls-ca
//   FILE`, and `--tls-client-cert FILE --tls-client-key FILE` for mutual TLS),
// - wallet files, plaintext or encrypted (PROTOCOL.md "Wallet file": scrypt and
//   ChaCha20-Poly1305 from node:crypto; the passphrase from
//   `--passphrase-file FILE` or $PBCHAIN_PASSPHRASE).
//
// Dependencies: `npm install @grpc/grpc-js @grpc/proto-loader` next to this
// file, or, inside the pbchain repository, `bash tools/npm-install.sh` (they
// are then found in tools/node_modules).
//
//   node pbchain_client.mjs vectors tests/vectors/vectors.json
//   node pbchain_client.mjs keygen
//   node pbchain_client.mjs wallet-vector tests/vectors/encrypted_wallet.json
//   node pbchain_client.mjs --passphrase-file pw address --key wallet.json
//   node pbchain_client.mjs --node 127.0.0.1:7701 --tls-ca ca.pem info
//   node pbchain_client.mjs --node 127.0.0.1:7701 balance pb...
//   node pbchain_client.mjs --node 127.0.0.1:7701 send --key wallet.json --to pb... --amount 100 --fee 1
//   node pbchain_client.mjs --node 127.0.0.1:7701 flow --key wallet.json
//
// `flow` is the end-to-end check run by the test suite: a new recipient key, a
// signed transfer with a data record, confirmation, balances, and a transfer
// with a corrupted signature that the node must reject.

import {
  createCipheriv, createDecipheriv, createHash, createPrivateKey, createPublicKey,
  generateKeyPairSync, randomBytes, scryptSync, sign as edSign, verify as edVerify,
} from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../..');

// @grpc/* from a node_modules next to this file (or above it), else from the
// repository's tools/node_modules.
function requireDep(name) {
  try {
    return createRequire(import.meta.url)(name);
  } catch {
    return createRequire(path.join(repoRoot, 'tools', 'package.json'))(name);
  }
}

// ---------------------------------------------------------------------------
// Hashes, keys, addresses (PROTOCOL.md sections 1, 2, 6)
// ---------------------------------------------------------------------------

const U64_MAX = (1n << 64n) - 1n;

export function sha256(data) {
  return createHash('sha256').update(data).digest();
}

/** SHA-256(SHA-256(data)): txids and block hashes. */
export function sha256d(data) {
  return sha256(sha256(data));
}

/** A hash (internal byte order) as explorers and logs show it: reversed. */
export function displayHex(hash32) {
  return Buffer.from(hash32).reverse().toString('hex');
}

// DER wrappers that let node:crypto take and give raw Ed25519 keys (RFC 8410).
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_ED25519_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function privateKeyObject(seed) {
  if (seed.length !== 32) throw new Error('seed must be 32 bytes');
  return createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8',
  });
}

function publicKeyObject(publicKey) {
  return createPublicKey({
    key: Buffer.concat([SPKI_ED25519_PREFIX, publicKey]), format: 'der', type: 'spki',
  });
}

/** The 32-byte Ed25519 public key of a 32-byte seed (RFC 8032). */
export function publicKeyOf(seed) {
  const spki = createPublicKey(privateKeyObject(seed)).export({ format: 'der', type: 'spki' });
  return spki.subarray(SPKI_ED25519_PREFIX.length);
}

/** A fresh random 32-byte Ed25519 seed. */
export function newSeed() {
  const { privateKey } = generateKeyPairSync('ed25519');
  return privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_ED25519_PREFIX.length);
}

/** Ed25519 signature (64 bytes) of message by seed. */
export function ed25519Sign(seed, message) {
  return edSign(null, message, privateKeyObject(seed));
}

/** Address = first 20 bytes of a single SHA-256 of the public key. */
export function addressOf(publicKey) {
  if (publicKey.length !== 32) throw new Error('public key must be 32 bytes');
  return sha256(publicKey).subarray(0, 20);
}

/** "pb" + hex(address) + hex(SHA-256(address)[0:4]), 50 characters. */
export function addressText(address) {
  if (address.length !== 20) throw new Error('address must be 20 bytes');
  return 'pb' + Buffer.from(address).toString('hex') + sha256(address).subarray(0, 4).toString('hex');
}

/** The 20 address bytes of a "pb..." text; throws if invalid. */
export function parseAddressText(text) {
  if (!text.startsWith('pb')) throw new Error("address text must start with 'pb'");
  if (text.length !== 50) throw new Error('address text must be 50 characters');
  const digits = text.slice(2);
  if (!/^[0-9a-fA-F]{48}$/.test(digits)) throw new Error("address text must be hex after 'pb'");
  const raw = Buffer.from(digits, 'hex');
  const address = raw.subarray(0, 20);
  if (!sha256(address).subarray(0, 4).equals(raw.subarray(20))) {
    throw new Error('address checksum mismatch');
  }
  return address;
}

// ---------------------------------------------------------------------------
// Transactions (PROTOCOL.md sections 7, 8, 10)
// ---------------------------------------------------------------------------

const TX_VERSION = 1;
const KIND_TRANSFER = 0; // canonical kind byte; the proto enum is this + 1
const KIND_COINBASE = 1;

function u8(n) {
  if (!Number.isInteger(n) || n < 0 || n > 255) throw new Error(`${n} does not fit in u8`);
  return Buffer.from([n]);
}

function u32le(n) {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

function u64le(value) {
  const v = BigInt(value);
  if (v < 0n || v > U64_MAX) throw new Error(`${value} does not fit in u64`);
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return b;
}

function prefix(kind, chainId) {
  const cid = Buffer.from(chainId, 'ascii');
  if (cid.length < 1 || cid.length > 32) throw new Error('chain id must be 1..32 bytes');
  return Buffer.concat([u8(TX_VERSION), u8(kind), u8(cid.length), cid]);
}

// record: null, or { namespace: string, key: Buffer | null, payload: Buffer }.
function recordSection(record) {
  if (!record) return Buffer.from([0]);
  const ns = Buffer.from(record.namespace, 'ascii');
  const parts = [u8(1), u8(ns.length), ns];
  if (record.key == null) {
    parts.push(u8(0));
  } else {
    parts.push(u8(1), u8(record.key.length), record.key);
  }
  parts.push(u32le(record.payload.length), record.payload);
  return Buffer.concat(parts);
}

/**
 * The bytes a transfer's signature covers. tx = { chainId, senderPubkey (32),
 * recipient (20 raw bytes), amount, fee, nonce (BigInt or decimal string),
 * record (or null), signature (64 bytes once signed) }.
 */
export function signingBytes(tx) {
  if (tx.senderPubkey.length !== 32 || tx.recipient.length !== 20) {
    throw new Error('senderPubkey must be 32 bytes, recipient 20');
  }
  return Buffer.concat([
    prefix(KIND_TRANSFER, tx.chainId), tx.senderPubkey, tx.recipient,
    u64le(tx.amount), u64le(tx.fee), u64le(tx.nonce), recordSection(tx.record),
  ]);
}

/** The full (unsigned) encoding of a coinbase. */
export function coinbaseEncoding(cb) {
  return Buffer.concat([
    prefix(KIND_COINBASE, cb.chainId), cb.recipient,
    u64le(cb.amount), u64le(cb.height), u64le(cb.extraNonce), recordSection(cb.record),
  ]);
}

/** Sets tx.signature = Ed25519(seed, signingBytes(tx)); returns tx. */
export function signTransfer(tx, seed) {
  if (!publicKeyOf(seed).equals(tx.senderPubkey)) throw new Error('seed does not belong to senderPubkey');
  tx.signature = ed25519Sign(seed, signingBytes(tx));
  return tx;
}

/** True if tx.signature is the sender's signature of its signing bytes. */
export function verifyTransfer(tx) {
  try {
    return edVerify(null, signingBytes(tx), publicKeyObject(tx.senderPubkey), tx.signature);
  } catch {
    return false;
  }
}

/** Full canonical encoding of a signed transfer: signing bytes || signature. */
export function encoding(tx) {
  if (!tx.signature || tx.signature.length !== 64) throw new Error('transfer is not signed');
  return Buffer.concat([signingBytes(tx), tx.signature]);
}

/** SHA256d of the full encoding, internal byte order (display reversed). */
export function txid(tx) {
  return sha256d(encoding(tx));
}

// ---------------------------------------------------------------------------
// The gRPC side (PROTOCOL.md section 19; proto/pbchain/v1/node.proto)
// ---------------------------------------------------------------------------

const DEADLINE_MS = 10_000;

/** The gRPC Transaction (proto field names) carrying exactly the signed values. */
export function toProto(tx) {
  const msg = {
    version: TX_VERSION,
    kind: 'TRANSACTION_KIND_TRANSFER', // = canonical kind byte 0 + 1
    chain_id: tx.chainId,
    sender_pubkey: tx.senderPubkey,
    recipient: tx.recipient,
    amount: BigInt(tx.amount).toString(), // u64 as decimal strings
    fee: BigInt(tx.fee).toString(),
    nonce: BigInt(tx.nonce).toString(),
    signature: tx.signature,
  };
  if (tx.record) {
    msg.record = { namespace: tx.record.namespace, payload: tx.record.payload };
    if (tx.record.key != null) msg.record.key = tx.record.key; // presence = has_key
  }
  return msg;
}

export class Client {
  /**
   * target = "host:port"; tls = {ca, cert, key} file names (TLS when ca is
   * set; cert and key for mutual TLS); protoDir = the repository's proto/.
   */
  constructor(target, tls = {}, protoDir = path.join(repoRoot, 'proto')) {
    this.grpc = requireDep('@grpc/grpc-js');
    this.target = target;
    this.tls = Boolean(tls.ca);
    const protoLoader = requireDep('@grpc/proto-loader');
    const def = protoLoader.loadSync(['pbchain/v1/node.proto'], {
      includeDirs: [protoDir],
      keepCase: true, // field names as in the .proto files and PROTOCOL.md
      longs: String, // u64 as decimal strings (exact; use BigInt to compute)
      enums: String,
      bytes: Buffer,
      defaults: true,
      oneofs: true,
    });
    const pkg = this.grpc.loadPackageDefinition(def).pbchain.v1;
    this.stub = new pkg.NodeService(target, channelCredentials(this.grpc, tls));
  }

  close() {
    this.stub.close();
  }

  // One unary call with a deadline, as a promise.
  call(method, request) {
    return new Promise((resolve, reject) => {
      this.stub[method](request, { deadline: Date.now() + DEADLINE_MS }, (err, resp) =>
        (err ? reject(err) : resolve(resp)));
    });
  }

  getInfo() { return this.call('GetInfo', {}); }

  /** GetAccountResponse: .account.balance, .account.nonce, .pending_nonce (strings). */
  getAccount(address) { return this.call('GetAccount', { address }); }

  getTransaction(txidInternal) { return this.call('GetTransaction', { txid: txidInternal }); }

  getRecords(namespace, key = null) {
    const req = { namespace };
    if (key != null) req.key = key;
    return this.call('GetRecords', req);
  }

  /**
   * SubmitTransaction; resolves to the node's txid (internal order). Rejects
   * with a gRPC error on refusal (.code INVALID_ARGUMENT for a bad signature
   * or a stateless rule, FAILED_PRECONDITION for nonce/balance; .details).
   */
  async submit(tx) {
    const resp = await this.call('SubmitTransaction', { transaction: toProto(tx) });
    return resp.txid;
  }

  /** Polls GetTransaction until it is in a main-chain block with >= confirmations. */
  async waitConfirmed(txidInternal, confirmations = 1, timeoutMs = 120_000, pollMs = 250) {
    const end = Date.now() + timeoutMs;
    let last = 'never seen';
    for (;;) {
      try {
        const r = await this.getTransaction(txidInternal);
        if (r.block_hash.length > 0 && BigInt(r.confirmations) >= BigInt(confirmations)) return r;
        last = r.in_mempool ? 'in mempool' : `${r.confirmations} confirmations`;
      } catch (e) {
        if (e.code !== this.grpc.status.NOT_FOUND) throw e;
        last = 'NOT_FOUND';
      }
      if (Date.now() > end) {
        throw new Error(`tx ${displayHex(txidInternal)} not confirmed in ${timeoutMs} ms (last: ${last})`);
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }

  /** Submits, checks the node's txid equals ours, waits for confirmation. */
  async submitAndWait(tx, confirmations = 1, timeoutMs = 120_000) {
    const ours = txid(tx);
    const theirs = await this.submit(tx);
    if (!ours.equals(theirs)) {
      throw new Error(`node txid ${displayHex(theirs)} != local ${displayHex(ours)}: encodings differ`);
    }
    return this.waitConfirmed(ours, confirmations, timeoutMs);
  }
}

function readFlagFile(flag, file) {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new Error(`--${flag} ${file}: cannot read: ${e.code ?? e.message}`);
  }
}

/** Insecure credentials without a CA, else TLS trusting only that CA. */
export function channelCredentials(grpc, tls = {}) {
  if (!tls.ca) {
    if (tls.cert || tls.key) throw new Error('--tls-client-cert and --tls-client-key need --tls-ca');
    return grpc.credentials.createInsecure();
  }
  if (Boolean(tls.cert) !== Boolean(tls.key)) {
    throw new Error('--tls-client-cert and --tls-client-key go together: give both or neither');
  }
  return grpc.credentials.createSsl(
    readFlagFile('tls-ca', tls.ca),
    tls.key ? readFlagFile('tls-client-key', tls.key) : null,
    tls.cert ? readFlagFile('tls-client-cert', tls.cert) : null,
  );
}

/** One line for a failed connection (UNAVAILABLE), the same wording as pbcli. */
export function explainUnavailable(target, details, tls) {
  const d = String(details ?? '').toLowerCase();
  const where = tls ? `cannot reach the node at ${target} over TLS` : `cannot reach node at ${target}`;
  if (tls) {
    if (d.includes('peer name') || d.includes('not in peer certificate') || d.includes('altnames')) {
      return `${where}: the node's certificate does not name this host`;
    }
    if (d.includes('certificate_verify_failed') || d.includes('certificate verify failed') ||
        d.includes('unable to verify') || d.includes('self signed') || d.includes('self-signed')) {
      return `${where}: certificate not trusted (check --tls-ca)`;
    }
    if (d.includes('wrong_version_number') || d.includes('wrong version number') ||
        d.includes('packet length too long')) {
      return `${where}: the node does not speak TLS (drop --tls-ca, or give the node a certificate)`;
    }
    if (d.includes('handshake') || d.includes('ssl') || d.includes('tls')) {
      return `${where}: TLS handshake failed (${details})`;
    }
  }
  return `${where}: ${details}`;
}

// Encrypted wallet files (PROTOCOL.md "Wallet file").
const WALLET_FORMAT = 'pbchain-encrypted-wallet';
// The limits a reader accepts: scrypt never allocates more than 256 MiB;
// and log2_n < 16 * r (RFC 7914).
const MIN_LOG2_N = 10, MAX_LOG2_N = 20, MAX_R = 32, MAX_P = 16;
const MAX_SCRYPT_MEMORY = 256 * 1024 * 1024;
const MAX_WALLET_FILE_BYTES = 64 * 1024;
const WRONG = 'wrong passphrase or damaged wallet file';

export function walletAad(log2n, r, p, salt, nonce, address) {
  return Buffer.from(`${WALLET_FORMAT}/1 scrypt log2_n=${log2n} r=${r} p=${p} ` +
    `salt=${salt.toString('hex')} chacha20-poly1305 nonce=${nonce.toString('hex')} address=${address}`);
}

export function walletKey(passphrase, salt, log2n, r, p) {
  const N = 2 ** log2n;
  return scryptSync(passphrase, salt, 32, { N, r, p, maxmem: 128 * r * N + 128 * r * p + (1 << 20) });
}

// version, log2_n, r, p must be JSON integers, as pbcli (C++) reads them:
// JSON.parse turns 15.0 and 1.5e1 into 15, so their spelling is checked in
// the file's text (a wallet file holds no other numbers).
const INTEGER_FIELDS = /"(version|log2_n|r|p)"\s*:\s*(-?[0-9][0-9.eE+-]*)/g;
function checkIntegerSpelling(text) {
  for (const m of text.matchAll(INTEGER_FIELDS)) {
    if (!/^(0|[1-9][0-9]*)$/.test(m[2])) {
      throw new Error(`not a valid encrypted wallet: field "${m[1]}" must be a small whole number`);
    }
  }
}

function jsonInt(obj, name) {
  const v = obj?.[name];
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
    throw new Error(`not a valid encrypted wallet: field "${name}" must be a small whole number`);
  }
  return v;
}

/**
 * The seed of an encrypted wallet document; Error naming the problem. Read
 * as PROTOCOL.md "Wallet file" says (and as pbcli reads it): version,
 * log2_n, r, p JSON integers (also call checkIntegerSpelling on the text);
 * hex in either case; the AAD holds the canonical (lowercase) address.
 */
export function decryptWallet(doc, passphrase) {
  const version = jsonInt(doc, 'version');
  if (version !== 1) {
    throw new Error(`encrypted wallet version ${version} is not supported (this client reads version 1)`);
  }
  if (doc.kdf !== 'scrypt' || doc.cipher !== 'chacha20-poly1305') {
    throw new Error('not a valid encrypted wallet: unknown kdf or cipher');
  }
  const sc = doc.scrypt;
  if (sc === null || typeof sc !== 'object') throw new Error('not a valid encrypted wallet: field "scrypt" must be an object');
  const log2n = jsonInt(sc, 'log2_n'), r = jsonInt(sc, 'r'), p = jsonInt(sc, 'p');
  if (r >= 1 && log2n >= 16 * r) {
    throw new Error(`not a valid encrypted wallet: scrypt log2_n ${log2n} r ${r}: RFC 7914 needs log2_n < 16 * r`);
  }
  if (log2n < MIN_LOG2_N || log2n > MAX_LOG2_N || r < 1 || r > MAX_R || p < 1 || p > MAX_P ||
      128 * r * 2 ** log2n > MAX_SCRYPT_MEMORY) {
    throw new Error(`not a valid encrypted wallet: scrypt parameters log2_n=${log2n} r=${r} p=${p} are out of range`);
  }
  const isHex = (x) => typeof x === 'string' && /^([0-9a-fA-F]{2})*$/.test(x);
  if (![sc.salt, doc.nonce, doc.ciphertext].every(isHex) || typeof doc.address !== 'string') {
    throw new Error('not a valid encrypted wallet: salt, nonce, ciphertext or address missing');
  }
  const salt = Buffer.from(sc.salt, 'hex');
  const nonce = Buffer.from(doc.nonce, 'hex');
  const sealed = Buffer.from(doc.ciphertext, 'hex');
  if (salt.length < 16 || salt.length > 64 || nonce.length !== 12 || sealed.length !== 48) {
    throw new Error('not a valid encrypted wallet: bad salt, nonce or ciphertext size');
  }
  let want;
  try {
    want = parseAddressText(doc.address);
  } catch (e) {
    throw new Error(`not a valid encrypted wallet: address: ${e.message}`);
  }
  const key = walletKey(passphrase, salt, log2n, r, p);
  const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  d.setAAD(walletAad(log2n, r, p, salt, nonce, addressText(want)), { plaintextLength: 32 });
  d.setAuthTag(sealed.subarray(32));
  let seed;
  try {
    seed = Buffer.concat([d.update(sealed.subarray(0, 32)), d.final()]);
  } catch {
    throw new Error(WRONG);
  }
  if (!addressOf(publicKeyOf(seed)).equals(want)) throw new Error(WRONG);
  return seed;
}

/**
 * --passphrase-file's first line (raw bytes: never decoded as UTF-8), else
 * $PBCHAIN_PASSPHRASE (as UTF-8: Node.js gives the environment as text).
 */
export function passphraseFrom(file) {
  if (file) {
    const raw = readFlagFile('passphrase-file', file);
    const nl = raw.indexOf(0x0a);
    let line = nl < 0 ? raw : raw.subarray(0, nl);
    if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
    if (line.length === 0) throw new Error(`--passphrase-file ${file}: empty first line`);
    return Buffer.from(line);
  }
  if (process.env.PBCHAIN_PASSPHRASE) return Buffer.from(process.env.PBCHAIN_PASSPHRASE, 'utf8');
  throw new Error('the wallet is encrypted: give --passphrase-file FILE or set $PBCHAIN_PASSPHRASE');
}

/** The seed of a wallet file, plaintext or encrypted, cross-checked. */
export function loadKeyFile(file, passphraseFile) {
  const raw = readFlagFile('key', file);
  if (raw.length > MAX_WALLET_FILE_BYTES) throw new Error(`wallet file ${file}: not a wallet file (too large)`);
  let k;
  try {
    k = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new Error(`wallet file ${file}: not JSON (damaged or truncated?)`);
  }
  if (k === null || typeof k !== 'object') throw new Error(`wallet file ${file}: not a JSON object`);
  if (k.format === WALLET_FORMAT) {
    try {
      checkIntegerSpelling(raw.toString('utf8'));
      return decryptWallet(k, passphraseFrom(passphraseFile));
    } catch (e) {
      throw new Error(e.message === WRONG ? `${WRONG} ${file}` : `wallet file ${file}: ${e.message}`);
    }
  }
  console.error(`[js-client] warning: wallet file ${file} is not encrypted`);
  const seed = Buffer.from(k.seed, 'hex');
  const pub = publicKeyOf(seed);
  if (k.public_key && !Buffer.from(k.public_key, 'hex').equals(pub)) {
    throw new Error(`${file}: public_key does not match the seed`);
  }
  if (k.address && !parseAddressText(k.address).equals(addressOf(pub))) {
    throw new Error(`${file}: address does not match the key`);
  }
  return seed;
}

// ---------------------------------------------------------------------------
// Test vectors (tests/vectors/vectors.json, PROTOCOL.md section 20)
// ---------------------------------------------------------------------------

const hex = (s) => Buffer.from(s, 'hex');

function recordFromVector(r) {
  if (r == null) return null;
  return { namespace: r.namespace, key: r.key_hex == null ? null : hex(r.key_hex), payload: hex(r.payload_hex) };
}

/** Checks every client-relevant vector; throws on the first mismatch. */
export function checkVectors(file) {
  const v = JSON.parse(readFileSync(file, 'utf8'));
  let n = 0;
  const expect = (what, got, want) => {
    if (got !== want) throw new Error(`vector ${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
    n += 1;
  };

  for (const k of v.keys) {
    const id = `keys[${k.seed.slice(0, 8)}]`;
    const pub = publicKeyOf(hex(k.seed));
    expect(`${id}.public_key`, pub.toString('hex'), k.public_key);
    const addr = addressOf(pub);
    expect(`${id}.address`, addr.toString('hex'), k.address);
    expect(`${id}.address_text`, addressText(addr), k.address_text);
    expect(`${id}.parse`, parseAddressText(k.address_text).toString('hex'), k.address);
  }
  for (const c of v.address_text_cases) {
    let got;
    try {
      got = parseAddressText(c.text).toString('hex');
    } catch {
      got = null;
    }
    expect(`address_text_cases[${c.name}]`, got, c.valid ? c.address : null);
  }
  for (const s of v.signatures) {
    const seed = hex(s.seed);
    expect('signatures.public_key', publicKeyOf(seed).toString('hex'), s.public_key);
    expect(`signatures[${s.message.slice(0, 8)}]`, ed25519Sign(seed, hex(s.message)).toString('hex'), s.signature);
  }
  for (const t of v.transactions) {
    const f = t.fields;
    const record = recordFromVector(f.record);
    if (f.kind === 'coinbase') {
      const enc = coinbaseEncoding({
        chainId: f.chain_id, recipient: hex(f.recipient), amount: f.amount,
        height: f.height, extraNonce: f.extra_nonce, record,
      });
      expect(`${t.name}.signing_bytes`, enc.toString('hex'), t.signing_bytes);
      expect(`${t.name}.encoding`, enc.toString('hex'), t.encoding);
      expect(`${t.name}.txid_display`, displayHex(sha256d(enc)), t.txid_display);
      continue;
    }
    const seed = hex(t.seed);
    const tx = {
      chainId: f.chain_id, senderPubkey: publicKeyOf(seed), recipient: hex(f.recipient),
      amount: f.amount, fee: f.fee, nonce: f.nonce, record,
    };
    expect(`${t.name}.sender`, tx.senderPubkey.toString('hex'), f.sender);
    expect(`${t.name}.signing_bytes`, signingBytes(tx).toString('hex'), t.signing_bytes);
    signTransfer(tx, seed);
    expect(`${t.name}.signature`, tx.signature.toString('hex'), t.signature);
    expect(`${t.name}.verify`, verifyTransfer(tx), true);
    expect(`${t.name}.encoding`, encoding(tx).toString('hex'), t.encoding);
    expect(`${t.name}.txid_display`, displayHex(txid(tx)), t.txid_display);
  }
  return n;
}

// ---------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------

const log = (msg) => console.log(`[js-client] ${msg}`);

function check(cond, what) {
  if (!cond) throw new Error(what);
}

// Compares a Transaction read back from the node with the one we signed.
function sameTransaction(got, tx) {
  const want = toProto(tx);
  const rec = got.record;
  const recOk = tx.record == null
    ? rec == null
    : rec != null && rec.namespace === tx.record.namespace && rec.payload.equals(tx.record.payload) &&
      (tx.record.key == null ? rec.key == null : rec.key != null && rec.key.equals(tx.record.key));
  return got.version === want.version && got.kind === want.kind && got.chain_id === want.chain_id &&
    got.sender_pubkey.equals(want.sender_pubkey) && got.recipient.equals(want.recipient) &&
    got.amount === want.amount && got.fee === want.fee && got.nonce === want.nonce &&
    got.height === '0' && got.extra_nonce === '0' && got.signature.equals(want.signature) && recOk;
}

/** Checks tests/vectors/encrypted_wallet.json (PROTOCOL.md "Wallet file"). */
export function checkWalletVector(file) {
  const v = JSON.parse(readFileSync(file, 'utf8'));
  const doc = JSON.parse(v.file);
  const sc = doc.scrypt;
  const salt = hex(sc.salt), nonce = hex(doc.nonce), pw = Buffer.from(v.passphrase, 'utf8');
  const key = walletKey(pw, salt, sc.log2_n, sc.r, sc.p);
  check(key.toString('hex') === v.key, `scrypt key ${key.toString('hex')} != ${v.key}`);
  const aad = walletAad(sc.log2_n, sc.r, sc.p, salt, nonce, doc.address);
  check(aad.toString() === v.aad, `aad ${aad} != ${v.aad}`);
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  c.setAAD(aad, { plaintextLength: 32 });
  const sealed = Buffer.concat([c.update(hex(v.seed)), c.final(), c.getAuthTag()]);
  check(sealed.toString('hex') === v.ciphertext && v.ciphertext === doc.ciphertext, 'ciphertext differs from the vector');
  const seed = decryptWallet(doc, pw);
  check(seed.toString('hex') === v.seed, 'decrypted seed differs');
  check(addressText(addressOf(publicKeyOf(seed))) === v.address, 'address differs');
  let refused = '';
  try { decryptWallet(doc, Buffer.concat([pw, Buffer.from('!')])); } catch (e) { refused = e.message; }
  check(refused === WRONG, `a wrong passphrase: ${refused || 'opened the wallet'}`);
  refused = '';
  try { decryptWallet({ ...doc, scrypt: { ...sc, log2_n: 40 } }, pw); } catch (e) { refused = e.message; }
  check(refused.includes('out of range'), `log2_n=40: ${refused || 'accepted'}`);
}

async function cmdFlow(opts) {
  const c = new Client(opts.node, opts.tls);
  const { grpc } = c;
  try {
    const info = await c.getInfo();
    const chainId = info.chain_id;
    log(`node ${opts.node}: chain '${chainId}', height ${info.height}`);

    const seed = loadKeyFile(opts.key, opts.passphraseFile);
    const senderPub = publicKeyOf(seed);
    const sender = addressText(addressOf(senderPub));
    const recipientAddr = addressOf(publicKeyOf(newSeed()));
    const recipient = addressText(recipientAddr);
    log(`sender ${sender}, new recipient ${recipient}`);

    const amount = BigInt(opts.amount);
    const fee = BigInt(opts.fee);
    const before = await c.getAccount(sender);
    check(before.account.address === sender, `GetAccount address ${before.account.address} != ${sender}`);
    const balanceBefore = BigInt(before.account.balance);
    check(balanceBefore >= amount + fee, `sender balance ${balanceBefore} too low`);
    const r0 = await c.getAccount(recipient);
    check(r0.account.balance === '0' && r0.account.nonce === '0', 'a new recipient must start empty');

    const recordKey = Buffer.from(`run-${randomBytes(8).toString('hex')}`);
    const payload = Buffer.from('hello from node.js');
    const tx = signTransfer({
      chainId, senderPubkey: senderPub, recipient: recipientAddr, amount, fee,
      nonce: BigInt(before.pending_nonce),
      record: { namespace: 'polyglot.js', key: recordKey, payload },
    }, seed);
    log(`submitting ${displayHex(txid(tx))} (nonce ${tx.nonce}, ${encoding(tx).length} bytes)`);
    const conf = await c.submitAndWait(tx, 1, opts.timeoutMs);
    log(`confirmed in block ${conf.block_height} (${displayHex(conf.block_hash)}), ` +
        `index ${conf.index_in_block}, ${conf.confirmations} confirmation(s)`);
    check(!conf.in_mempool && conf.index_in_block >= 1,
      'a confirmed transfer is not in the mempool and not a coinbase');
    check(sameTransaction(conf.transaction, tx), 'GetTransaction returned different fields than submitted');

    const after = await c.getAccount(sender);
    const r1 = await c.getAccount(recipient);
    check(BigInt(r1.account.balance) === amount, `recipient balance ${r1.account.balance} != ${amount}`);
    const want = balanceBefore - amount - fee;
    check(BigInt(after.account.balance) === want,
      `sender balance ${after.account.balance} != ${want} (before ${balanceBefore} - amount - fee)`);
    check(BigInt(after.account.nonce) === tx.nonce + 1n, `sender nonce ${after.account.nonce} != ${tx.nonce + 1n}`);
    log(`balances ok: recipient ${r1.account.balance}, sender ${balanceBefore} -> ${after.account.balance}`);

    const recs = (await c.getRecords('polyglot.js', recordKey)).records;
    check(recs.length === 1 && recs[0].txid.equals(txid(tx)) && recs[0].record.payload.equals(payload) &&
      recs[0].sender_address === sender, `GetRecords did not return the record: ${JSON.stringify(recs)}`);
    log('record ok');

    const bad = signTransfer({
      chainId, senderPubkey: senderPub, recipient: recipientAddr, amount: 1n, fee,
      nonce: BigInt(after.pending_nonce), record: null,
    }, seed);
    bad.signature = Buffer.from(bad.signature);
    bad.signature[0] ^= 0x01;
    check(!verifyTransfer(bad), 'the corrupted signature still verifies');
    let rejected = null;
    try {
      await c.submit(bad);
    } catch (e) {
      rejected = e;
    }
    check(rejected !== null, 'node accepted a corrupted signature');
    check(rejected.code === grpc.status.INVALID_ARGUMENT && /tx-bad-signature/.test(rejected.details ?? ''),
      `corrupted signature: got code ${rejected.code} (${rejected.details}), ` +
      'want INVALID_ARGUMENT naming tx-bad-signature');
    log(`corrupted signature rejected: INVALID_ARGUMENT: ${rejected.details}`);
  } finally {
    c.close();
  }
  log('flow OK');
}

async function cmdSend(opts) {
  const c = new Client(opts.node, opts.tls);
  try {
    const seed = loadKeyFile(opts.key, opts.passphraseFile);
    const pub = publicKeyOf(seed);
    const acct = await c.getAccount(addressText(addressOf(pub)));
    const info = await c.getInfo();
    const record = opts.namespace
      ? { namespace: opts.namespace, key: opts.recordKey == null ? null : Buffer.from(opts.recordKey),
        payload: Buffer.from(opts.payload ?? '') }
      : null;
    const tx = signTransfer({
      chainId: info.chain_id, senderPubkey: pub, recipient: parseAddressText(opts.to),
      amount: BigInt(opts.amount), fee: BigInt(opts.fee ?? 1), nonce: BigInt(acct.pending_nonce), record,
    }, seed);
    const r = await c.submitAndWait(tx, 1, opts.timeoutMs);
    console.log(JSON.stringify({ txid: displayHex(txid(tx)), block_height: r.block_height }));
  } finally {
    c.close();
  }
}

// Minimal "--name value" parser: returns { positional: [...], ...options }.
function parseArgs(argv) {
  const out = { positional: [] };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--')) {
      const name = argv[i].slice(2).replace(/-([a-z])/g, (_, ch) => ch.toUpperCase());
      if (i + 1 >= argv.length) throw new Error(`${argv[i]} needs a value`);
      out[name] = argv[++i];
    } else {
      out.positional.push(argv[i]);
    }
  }
  return out;
}

async function main(argv) {
  const opts = parseArgs(argv);
  opts.node ??= '127.0.0.1:7701';
  opts.timeoutMs = Math.round(Number(opts.timeout ?? 120) * 1000);
  opts.tls = {
    ca: opts.tlsCa ?? process.env.PBCHAIN_TLS_CA,
    cert: opts.tlsClientCert ?? process.env.PBCHAIN_TLS_CLIENT_CERT,
    key: opts.tlsClientKey ?? process.env.PBCHAIN_TLS_CLIENT_KEY,
  };
  const [cmd, ...rest] = opts.positional;
  switch (cmd) {
    case 'wallet-vector': {
      const file = rest[0] ?? path.join(repoRoot, 'tests/vectors/encrypted_wallet.json');
      checkWalletVector(file);
      log(`wallet vector OK (${file})`);
      return;
    }
    case 'address': {
      if (!opts.key) throw new Error('address needs --key FILE');
      console.log(addressText(addressOf(publicKeyOf(loadKeyFile(opts.key, opts.passphraseFile)))));
      return;
    }
    case 'info': {
      const c = new Client(opts.node, opts.tls);
      try {
        const i = await c.getInfo();
        console.log(JSON.stringify({ chain_id: i.chain_id, height: Number(i.height) }));
      } finally {
        c.close();
      }
      return;
    }
    case 'vectors': {
      const file = rest[0] ?? path.join(repoRoot, 'tests/vectors/vectors.json');
      log(`vectors OK (${checkVectors(file)} checks, ${file})`);
      return;
    }
    case 'keygen': {
      const seed = newSeed();
      const pub = publicKeyOf(seed);
      console.log(JSON.stringify({
        seed: seed.toString('hex'), public_key: pub.toString('hex'), address: addressText(addressOf(pub)),
      }, null, 2));
      return;
    }
    case 'balance': {
      const c = new Client(opts.node, opts.tls);
      try {
        const r = await c.getAccount(rest[0]);
        console.log(JSON.stringify({ ...r.account, pending_nonce: r.pending_nonce, height: r.height }));
      } finally {
        c.close();
      }
      return;
    }
    case 'send':
      if (!opts.key || !opts.to || opts.amount == null) throw new Error('send needs --key, --to and --amount');
      return cmdSend(opts);
    case 'flow':
      if (!opts.key) throw new Error('flow needs --key FILE');
      opts.amount ??= '12345';
      opts.fee ??= '7';
      return cmdFlow(opts);
    default:
      throw new Error('usage: pbchain_client.mjs [--node HOST:PORT] [--tls-ca FILE ' +
        '[--tls-client-cert FILE --tls-client-key FILE]] [--passphrase-file FILE] ' +
        'vectors FILE | wallet-vector FILE | address --key FILE | info | keygen | ' +
        'balance ADDRESS | send --key FILE --to ADDRESS --amount N [--fee N] ' +
        '[--namespace NS [--record-key K] [--payload P]] | flow --key FILE');
  }
}

// Run as a program (not when imported as a library).
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const argv = process.argv.slice(2);
  main(argv).catch((e) => {
    // A failed connection (UNAVAILABLE = 14): one line naming the cause.
    if (e.code === 14) {
      const o = parseArgs(argv);
      const tls = Boolean(o.tlsCa ?? process.env.PBCHAIN_TLS_CA);
      console.error(`[js-client] ${explainUnavailable(o.node ?? '127.0.0.1:7701', e.details, tls)}`);
    } else {
      console.error(`[js-client] FAIL: ${e.message}`);
    }
    process.exitCode = 1;
  });
}
