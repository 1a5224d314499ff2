#!/usr/bin/env bash
# End-to-end check of tools/devnet: starts a 3-node devnet (state in a temp dir,
# free-ish ports, binaries from BIN_DIR), waits until every node has a peer and
# a height >= 2 (asked with buf curl, as the devnet's own examples do), checks
# that the printed "Explorer:" URL is node1's HTTP address and serves the
# explorer's HTML, and every node's HTTP column answers /v1/info; then SIGINTs
# the script and checks that it exits 0 and every process it started is gone.
#
#   bash tests/network/devnet_test.sh BIN_DIR      (ctest passes build/bin)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$root/build/bin}
buf=$root/tools/node_modules/.bin/buf
if [ ! -x "$buf" ]; then
  echo "devnet_test: $buf is missing (bash tools/lint-proto.sh installs it)" >&2
  exit 1
fi

state=$(mktemp -d "${TMPDIR:-/tmp}/pbchain_devnet_test.XXXXXX")
devnet_pid=""
fail() {
  echo "devnet_test: FAIL: $*" >&2
  echo "--- devnet output ---" >&2
  cat "$state/devnet.out" >&2 || true
  for log in "$state"/*.log; do
    [ -f "$log" ] || continue
    echo "--- $log (tail) ---" >&2
    tail -n 25 "$log" >&2
  done
  exit 1
}
cleanup() {
  # Only if the test itself failed half-way: stop what the devnet started.
  if [ -n "$devnet_pid" ] && kill -0 "$devnet_pid" 2>/dev/null; then
    kill -TERM "$devnet_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$devnet_pid" 2>/dev/null || break; sleep 0.2; done
  fi
  for f in "$state"/*.pid; do
    [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null || true
  done
  rm -rf "$state"
}
trap cleanup EXIT

# Free ports: BASE (tracker), BASE+1..BASE+3 (nodes), BASE+11..BASE+13 (HTTP).
base=$(python3 - <<'EOF'
import random, socket
for _ in range(200):
    base = random.randrange(20000, 60000)
    socks = []
    try:
        for p in list(range(base, base + 4)) + list(range(base + 11, base + 14)):
            s = socket.socket()
            s.bind(("127.0.0.1", p))
            socks.append(s)
        print(base)
        break
    except OSError:
        pass
    finally:
        for s in socks:
            s.close()
EOF
)
[ -n "$base" ] || fail "no free ports"

# Job control on, so the devnet does not start with SIGINT ignored (bash
# ignores SIGINT in background jobs of non-interactive shells).
set -m
PBCHAIN_DEVNET_DIR=$state/devnet PBCHAIN_DEVNET_BIN=$bin \
  PBCHAIN_DEVNET_TRACKER=127.0.0.1:$base PBCHAIN_DEVNET_BASE_PORT=$base \
  PBCHAIN_DEVNET_HTTP_BASE_PORT=$((base + 10)) \
  "$root/tools/devnet" 3 >"$state/devnet.out" 2>&1 &
devnet_pid=$!
set +m

# The table is printed once everyone listens.
for _ in $(seq 300); do
  grep -q "Ctrl-C stops the devnet" "$state/devnet.out" 2>/dev/null && break
  kill -0 "$devnet_pid" 2>/dev/null || fail "tools/devnet exited early"
  sleep 0.2
done
grep -q "Ctrl-C stops the devnet" "$state/devnet.out" || fail "no table within 60 s"
for i in 1 2 3; do
  grep -q "127.0.0.1:$((base + i))" "$state/devnet.out" || fail "node$i not in the table"
done
# The explorer: node1's HTTP address, printed on its own line, serving HTML;
# every node's HTTP column answers the JSON API.
explorer="http://127.0.0.1:$((base + 11))/"
grep -q "^Explorer: $explorer " "$state/devnet.out" || fail "no 'Explorer: $explorer' line"
# http_get URL: prints "STATUS CONTENT-TYPE", then the body (python3's urllib:
# curl is not on every Debian 12 install).
http_get() {
  python3 - "$1" <<'EOF'
import sys, urllib.request, urllib.error
try:
    with urllib.request.urlopen(sys.argv[1], timeout=10) as r:
        body = r.read().decode("utf-8", "replace")
        print(r.status, r.headers.get("Content-Type", ""))
        print(body)
except urllib.error.HTTPError as e:
    print(e.code, e.headers.get("Content-Type", ""))
EOF
}
page=$(http_get "$explorer") || fail "GET $explorer failed"
head -n 1 <<<"$page" | grep -q "^200 text/html" || fail "GET $explorer: $(head -n 1 <<<"$page")"
grep -qi "<!doctype html>" <<<"$page" || fail "GET $explorer is not an HTML page"
grep -q "<title>pbchain explorer</title>" <<<"$page" || fail "GET $explorer is not the explorer"
for i in 1 2 3; do
  grep -Eq "^node$i .* 127\.0\.0\.1:$((base + 10 + i)) " "$state/devnet.out" ||
    fail "node$i's HTTP address is not in the table"
  info_json=$(http_get "http://127.0.0.1:$((base + 10 + i))/v1/info") || fail "GET node$i /v1/info failed"
  head -n 1 <<<"$info_json" | grep -q "^200 application/json" || fail "node$i /v1/info: $(head -n 1 <<<"$info_json")"
  grep -q '"chainId":"pbchain-devnet"' <<<"$info_json" || fail "node$i /v1/info: $info_json"
done
echo "devnet_test: explorer at $explorer serves HTML; every node's /v1/info answers"

pids=("$(cat "$state/devnet/tracker.pid")")
for i in 1 2 3; do pids+=("$(cat "$state/devnet/node$i.pid")"); done

# info PORT: "height peer_count" from GetInfo (proto3 JSON omits zeros).
info() {
  "$buf" curl --protocol grpc --http2-prior-knowledge \
    "http://127.0.0.1:$1/pbchain.v1.NodeService/GetInfo" 2>/dev/null |
    python3 -c 'import json,sys; j=json.load(sys.stdin); print(int(j.get("height","0")), int(j.get("peerCount",0)))'
}
ready=0
for _ in $(seq 90); do
  ready=1
  seen=""
  for i in 1 2 3; do
    read -r height peers < <(info $((base + i)) || echo "-1 -1")
    seen="$seen node$i: height=$height peers=$peers;"
    if [ "$height" -lt 2 ] || [ "$peers" -lt 1 ]; then ready=0; fi
  done
  [ "$ready" = 1 ] && break
  sleep 1
done
[ "$ready" = 1 ] || fail "nodes not linked and growing after 90 s:$seen"
echo "devnet_test: all nodes up:$seen"

# Ctrl-C: the devnet stops nodes, then the tracker, and exits 0.
kill -INT "$devnet_pid"
code=0
for _ in $(seq 300); do kill -0 "$devnet_pid" 2>/dev/null || break; sleep 0.2; done
kill -0 "$devnet_pid" 2>/dev/null && fail "tools/devnet still running 60 s after SIGINT"
wait "$devnet_pid" || code=$?
devnet_pid=""
[ "$code" = 0 ] || fail "tools/devnet exited with $code after SIGINT"
for pid in "${pids[@]}"; do
  if kill -0 "$pid" 2>/dev/null; then fail "process $pid still running after the devnet stopped"; fi
done
grep -q "devnet: stopped" "$state/devnet.out" || fail "no 'devnet: stopped' line"
for i in 1 2 3; do
  grep -q "stopped cleanly" "$state/devnet/node$i.log" || fail "node$i did not stop cleanly"
done
echo "devnet_test: OK"
