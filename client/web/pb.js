// pb.js: pbchain encodings for the explorer (no DOM). The gateway sends
// protobuf's JSON mapping: bytes as base64 in internal byte order, u64/i64 as
// decimal strings. Hashes are shown in display form (hex of the reversed
// bytes); addresses as "pb" + hex(address) + hex(SHA-256(address)[0:4])
// (docs/PROTOCOL.md section 6).
(function () {
  'use strict';
  const PB = (window.PB = window.PB || {});

  /** Decodes base64 (standard or URL alphabet) to a Uint8Array; '' -> empty. */
  PB.b64ToBytes = function (b64) {
    if (!b64) return new Uint8Array(0);
    const s = atob(String(b64).replace(/-/g, '+').replace(/_/g, '/'));
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  };

  /** Lowercase hex of bytes. */
  PB.hex = function (bytes) {
    let s = '';
    for (let i = 0; i < bytes.length; i++) s += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
    return s;
  };

  /** Bytes of an even-length hex string, or null if it is not hex. */
  PB.hexToBytes = function (hex) {
    if (hex.length % 2 || /[^0-9a-fA-F]/.test(hex)) return null;
    const out = new Uint8Array(hex.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(2 * i, 2), 16);
    return out;
  };

  /** Display form of a hash given as base64 of its internal bytes ('' -> ''). */
  PB.displayHash = function (b64) {
    const b = PB.b64ToBytes(b64);
    if (!b.length) return '';
    return PB.hex(b.slice().reverse());
  };

  /** True if a display hash is all zeros (the genesis block's prev_hash). */
  PB.isZeroHash = function (hex) {
    return !hex || /^0+$/.test(hex);
  };

  /** Address text of 20 raw address bytes. */
  PB.addressText = function (addr) {
    if (!addr || addr.length !== 20) return '';
    return 'pb' + PB.hex(addr) + PB.hex(PB.sha256(addr).subarray(0, 4));
  };

  /** Address text from base64 of the raw 20 bytes ('' if empty or malformed). */
  PB.addressFromB64 = function (b64) {
    return PB.addressText(PB.b64ToBytes(b64));
  };

  /** Address text of an Ed25519 public key (base64): SHA-256(pubkey)[0:20]. */
  PB.addressFromPubkey = function (b64) {
    const pk = PB.b64ToBytes(b64);
    if (pk.length !== 32) return '';
    return PB.addressText(PB.sha256(pk).subarray(0, 20));
  };

  /**
   * Parses address text per PROTOCOL.md section 6: "pb" prefix (lowercase),
   * 50 chars, hex in either case, checksum verified. Returns the canonical
   * lowercase text, or null with PB.parseAddress.error set.
   */
  PB.parseAddress = function (text) {
    const t = String(text).trim();
    if (!t.startsWith('pb')) return fail('an address starts with "pb"');
    if (t.length !== 50) return fail('an address has 50 characters, this has ' + t.length);
    const raw = PB.hexToBytes(t.slice(2));
    if (!raw) return fail('an address is "pb" followed by 48 hex digits');
    const addr = raw.subarray(0, 20);
    const sum = PB.hex(PB.sha256(addr).subarray(0, 4));
    if (sum !== PB.hex(raw.subarray(20))) return fail('the address checksum does not match (a typo?)');
    return 'pb' + PB.hex(raw);
    function fail(msg) {
      PB.parseAddress.error = msg;
      return null;
    }
  };

  /** Groups the digits of a u64 decimal string with thin spaces: 1 000 000. */
  PB.groupDigits = function (v) {
    const s = String(v == null ? '0' : v);
    if (!/^\d+$/.test(s)) return s;
    return s.replace(/\B(?=(\d{3})+(?!\d))/g, '\u202f');
  };

  /** Enum value name without its prefix: ("TRANSACTION_KIND_COINBASE", "TRANSACTION_KIND_") -> "coinbase". */
  PB.enumName = function (v, prefix) {
    if (v == null) return 'unspecified';
    const s = String(v);
    return (s.startsWith(prefix) ? s.slice(prefix.length) : s).toLowerCase().replace(/_/g, ' ');
  };

  /** True for a coinbase transaction (enum as name or number). */
  PB.isCoinbase = function (tx) {
    return tx && (tx.kind === 'TRANSACTION_KIND_COINBASE' || tx.kind === 2);
  };

  /**
   * Text of bytes when they are valid UTF-8 without control characters
   * (other than tab and newlines), else null.
   */
  PB.printable = function (bytes) {
    if (!bytes.length) return '';
    let text;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch (e) {
      return null;
    }
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/.test(text)) return null;
    return text;
  };

  /** Short form of a long hex string or address: head…tail. */
  PB.short = function (s, head, tail) {
    head = head || 8;
    tail = tail || 6;
    if (!s || s.length <= head + tail + 1) return s || '';
    return s.slice(0, head) + '\u2026' + s.slice(-tail);
  };

  /** "12 s ago", "3 min ago", "2 h ago", "4 d ago" from Unix ms. */
  PB.age = function (unixMs, nowMs) {
    const d = Math.round(((nowMs || Date.now()) - unixMs) / 1000);
    if (d < 0) return 'in ' + -d + ' s';
    if (d < 60) return d + ' s ago';
    if (d < 3600) return Math.floor(d / 60) + ' min ago';
    if (d < 86400) return Math.floor(d / 3600) + ' h ago';
    return Math.floor(d / 86400) + ' d ago';
  };

  /** ISO-like local time "2026-11-22 05:10:54" of Unix seconds. */
  PB.timeText = function (unixSeconds) {
    const d = new Date(Number(unixSeconds) * 1000);
    const p = (n) => String(n).padStart(2, '0');
    return (
      d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + ' ' +
      p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds())
    );
  };

  /** "1.23 kH/s" etc. */
  PB.hashRate = function (hps) {
    const units = ['H/s', 'kH/s', 'MH/s', 'GH/s', 'TH/s', 'PH/s'];
    let v = Number(hps) || 0;
    let i = 0;
    while (v >= 1000 && i < units.length - 1) {
      v /= 1000;
      i++;
    }
    return (i ? v.toFixed(2) : v.toFixed(0)) + ' ' + units[i];
  };

  /** Bytes as "1.2 KiB". */
  PB.sizeText = function (n) {
    n = Number(n) || 0;
    if (n < 1024) return n + ' B';
    if (n < 1024 * 1024) return (n / 1024).toFixed(1) + ' KiB';
    return (n / 1024 / 1024).toFixed(2) + ' MiB';
  };
})();
