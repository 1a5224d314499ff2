#!/usr/bin/env bash
# tools/devnet --prometheus end to end: a 2-node devnet (state in a temp dir,
# free-ish ports, binaries from BIN_DIR) with a real Prometheus scraping it;
# the printed "Prometheus:" URL answers a PromQL query (through
# /api/v1/query) with both nodes' heights; then SIGINT stops the script, and
# every process it started, Prometheus included, is gone.
#
#   bash tests/metrics/devnet_prometheus_test.sh BIN_DIR   (ctest: build/bin)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$root/build/bin}
state=$(mktemp -d "${TMPDIR:-/tmp}/pbchain_devnet_prometheus_test.XXXXXX")
devnet_pid=""
fail() {
  echo "devnet_prometheus_test: FAIL: $*" >&2
  echo "--- devnet output ---" >&2
  cat "$state/devnet.out" >&2 || true
  for log in "$state"/devnet/*.log; do
    [ -f "$log" ] || continue
    echo "--- $log (tail) ---" >&2
    tail -n 25 "$log" >&2
  done
  exit 1
}
cleanup() {
  if [ -n "$devnet_pid" ] && kill -0 "$devnet_pid" 2>/dev/null; then
    kill -TERM "$devnet_pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$devnet_pid" 2>/dev/null || break; sleep 0.2; done
  fi
  for f in "$state"/devnet/*.pid; do
    [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null || true
  done
  rm -rf "$state"
}
trap cleanup EXIT

# Free ports: BASE (tracker), BASE+1..2 (nodes), BASE+11..12 (HTTP),
# BASE+20 (tracker metrics), BASE+21..22 (node metrics), BASE+30 (Prometheus).
base=$(python3 - <<'PY'
import random, socket
ports = lambda b: [b, b + 1, b + 2, b + 11, b + 12, b + 20, b + 21, b + 22, b + 30]
for _ in range(200):
    base = random.randrange(20000, 60000)
    socks = []
    try:
        for p in ports(base):
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
PY
)
[ -n "$base" ] || fail "no free ports"

set -m
PBCHAIN_DEVNET_DIR=$state/devnet PBCHAIN_DEVNET_BIN=$bin \
  PBCHAIN_DEVNET_TRACKER=127.0.0.1:$base PBCHAIN_DEVNET_BASE_PORT=$base \
  PBCHAIN_DEVNET_HTTP_BASE_PORT=$((base + 10)) \
  PBCHAIN_DEVNET_METRICS_BASE_PORT=$((base + 20)) \
  PBCHAIN_DEVNET_PROMETHEUS_PORT=$((base + 30)) \
  "$root/tools/devnet" 2 --prometheus >"$state/devnet.out" 2>&1 &
devnet_pid=$!
set +m

for _ in $(seq 300); do
  grep -q "Ctrl-C stops the devnet" "$state/devnet.out" 2>/dev/null && break
  kill -0 "$devnet_pid" 2>/dev/null || fail "tools/devnet exited early"
  sleep 0.2
done
grep -q "Ctrl-C stops the devnet" "$state/devnet.out" || fail "no table within 60 s"
url="http://127.0.0.1:$((base + 30))/"
grep -q "^Prometheus: $url " "$state/devnet.out" || fail "no 'Prometheus: $url' line"

# heights: "INSTANCE=VALUE ..." of pbchain_chain_height through Prometheus.
heights() {
  python3 - "${url}api/v1/query?query=pbchain_chain_height" <<'PY'
import json, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
    j = json.load(r)
assert j["status"] == "success", j
print(" ".join(sorted("%s=%s" % (s["metric"]["instance"], s["value"][1])
                      for s in j["data"]["result"])))
PY
}
want="127.0.0.1:$((base + 21)) 127.0.0.1:$((base + 22))"
ok=0
seen=""
for _ in $(seq 90); do
  seen=$(heights 2>&1 || true)
  ok=1
  for instance in $want; do
    h=$(tr ' ' '\n' <<<"$seen" | sed -n "s/^$instance=//p")
    if [ -z "$h" ] || [ "$h" -lt 2 ]; then ok=0; fi
  done
  [ "$ok" = 1 ] && break
  sleep 1
done
[ "$ok" = 1 ] || fail "Prometheus did not report both nodes at height >= 2 in 90 s: $seen"
echo "devnet_prometheus_test: Prometheus at $url reports $seen"

pids=("$(cat "$state/devnet/tracker.pid")" "$(cat "$state/devnet/prometheus.pid")")
for i in 1 2; do pids+=("$(cat "$state/devnet/node$i.pid")"); done
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
echo "devnet_prometheus_test: OK"
