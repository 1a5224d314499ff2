#!/usr/bin/env bash
# deploy/compose/pbchain-container's pki step recovers from an interrupted
# first run (no docker needed: the step only runs pbtool, here the build's):
#   - a stale genesis.json.tmp is replaced, not refused;
#   - an empty (half-written) wallet.json or miner.json is made anew, so the
#     genesis funds a real address, never "=N";
#   - a CA directory with ca.crt but no ca.key is made anew;
#   - a wallet.json without an address is one clear error, exit non-zero.
#
#   bash tests/docker/pki_test.sh SOURCE_DIR BIN_DIR
set -euo pipefail
src="$1"
export PATH="$2:$PATH"
work=$(mktemp -d /tmp/pbchain_pki_test.XXXXXX)
trap 'rm -rf "$work"' EXIT
export PBCHAIN_PKI="$work/pki" PBCHAIN_SERVICE=pki PBCHAIN_CHAIN_ID=pki-test
failed=0
fail() { echo "pki_test: FAIL: $*" >&2; failed=$((failed + 1)); }
ok() { echo "pki_test: ok: $*" >&2; }
run() { bash "$src/deploy/compose/pbchain-container" pki >"$work/out" 2>&1; }
address_of() { sed -n 's/.*"address": *"\([^"]*\)".*/\1/p' "$1"; }

# An interrupted first run: the CA's key, the wallet and the genesis were
# being written when it stopped.
mkdir -p "$PBCHAIN_PKI/ca"
pbtool tls-ca --out "$work/ca0" --name old >/dev/null
cp "$work/ca0/ca.crt" "$PBCHAIN_PKI/ca/ca.crt"
: >"$PBCHAIN_PKI/wallet.json"
echo '{"partial' >"$PBCHAIN_PKI/genesis.json.tmp"
if run; then
  ok "pki step ran again after an interrupted run"
else
  fail "pki step failed after an interrupted run: $(cat "$work/out")"
fi
funded=$(address_of "$PBCHAIN_PKI/wallet.json")
if [ -s "$PBCHAIN_PKI/genesis.json" ] && [[ "$funded" == pb* ]] &&
   grep -q "$funded" "$PBCHAIN_PKI/genesis.json"; then
  ok "genesis funds the new wallet $funded"
else
  fail "genesis does not fund a real address (wallet: '$funded')"
fi
if [ -s "$PBCHAIN_PKI/ca/ca.key" ] && [ -s "$PBCHAIN_PKI/miner.json" ] &&
   [ ! -e "$PBCHAIN_PKI/genesis.json.tmp" ]; then
  ok "CA key, miner wallet made; no .tmp left"
else
  fail "missing CA key or miner wallet, or a .tmp left: $(ls -R "$PBCHAIN_PKI")"
fi

# A wallet without an address: one clear error.
rm -rf "$PBCHAIN_PKI"
mkdir -p "$PBCHAIN_PKI"
echo '{}' >"$PBCHAIN_PKI/wallet.json"
if run; then
  fail "pki step accepted a wallet.json without an address"
elif grep -q "no address in" "$work/out" && [ ! -e "$PBCHAIN_PKI/genesis.json" ]; then
  ok "a wallet.json without an address is refused: $(tail -1 "$work/out")"
else
  fail "unexpected output: $(cat "$work/out")"
fi

echo "pki_test: $failed failed"
[ "$failed" = 0 ]
