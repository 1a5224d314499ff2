#!/usr/bin/env bash
# The container image and the compose network, end to end (issue 17):
#   1. a docker daemon (tools/ensure-dockerd.sh starts one if none answers
#      and leaves it running); exit 77 (ctest: skipped) only when none can
#      run or this is not root (nsenter into the containers' namespaces);
#   2. a Debian 12 base image made from Debian's packages
#      (tools/make-base-image.sh: no registry is reachable here);
#   3. the .deb (tools/package.sh, or $PBCHAIN_DEB) and the image from
#      deploy/Dockerfile with BASE set to that base;
#   4. deploy/compose.yaml as project pbtest-docker-RANDOM on an internal
#      bridge network with a free /24 chosen here: pki, tracker, head and
#      seed (mining), two full nodes; then checks that
#      - every node reaches the same tip at height >= 3,
#      - a transfer sent to a full node is confirmed, in the same block, on
#        every node,
#      - the tracker lists every node at its container IP in the test subnet
#        (never 127.0.0.1 or 0.0.0.0),
#      - the HEALTHCHECK makes every server container "healthy";
#      - Prometheus (profile metrics) scrapes all four nodes and the tracker;
#   5. down -v and the test's image removed, also on failure (trap).
#
# ctest's TIMEOUT SIGKILLs the script (no trap runs) while the containers,
# which belong to dockerd, would keep mining: a watchdog removes the
# project at overall_limit, below that TIMEOUT (tests/CMakeLists.txt), and
# stops the script. The project name carries the script's PID
# (pbtest-docker-PID-RANDOM); each run first removes projects and images
# whose compose_test.sh is gone.
#
#   bash tests/docker/compose_test.sh [SOURCE_DIR]
#
# Env: PBCHAIN_DEB=FILE skips building the package; PBCHAIN_DOCKER_KEEP=1
# leaves the network up on failure (for debugging; clean up by hand);
# PBCHAIN_DOCKER_LIMIT=SECONDS replaces the watchdog's overall_limit.
set -euo pipefail

src="$(cd "${1:-$(dirname "$0")/../..}" && pwd)"
cd "$src"

name="pbtest-docker-$$-$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
image="$name:test"
compose=(docker-compose -p "$name" -f "$src/deploy/compose.yaml" --profile metrics)
# Prometheus's image depends only on deploy/compose/Dockerfile.prometheus and
# prometheus.yml: kept between runs under this tag (like the base image), so
# docker's build cache makes it once per machine.
prometheus_image=pbchain-prometheus:test
work=$(mktemp -d "/tmp/$name.XXXXXX")
# Seconds until the watchdog removes the project and stops the script;
# below docker_compose_test's ctest TIMEOUT (1800) with room for cleanup.
overall_limit="${PBCHAIN_DOCKER_LIMIT:-1650}"
case "$overall_limit" in
  ""|*[!0-9]*) echo "compose_test: PBCHAIN_DOCKER_LIMIT must be a number of seconds" >&2; exit 2 ;;
esac
# Leftovers of other runs are removed only once older than this (ctest's
# TIMEOUT): a younger project may belong to a live run that this shell
# cannot see (another PID namespace sharing the daemon, say).
sweep_age=1800
watchdog_pid=""
passed=0
failed=0
up=0

log() { echo "compose_test: $*" >&2; }
ok() { passed=$((passed + 1)); log "ok: $*"; }
fail() {
  failed=$((failed + 1))
  log "FAIL: $*"
}

cleanup() {
  local rc=$?
  # Nothing may cut the cleanup short: not the watchdog, not ctest's TERM.
  trap '' INT TERM
  # The watchdog first, while it is surely alive (no PID reuse), unless it
  # fired: then it is removing the project itself and signalled us.
  if [ -n "$watchdog_pid" ] && [ ! -e "$work/watchdog.fired" ]; then
    pkill -P "$watchdog_pid" 2>/dev/null || true  # its sleep
    kill "$watchdog_pid" 2>/dev/null || true
  fi
  if [ "$up" = 1 ]; then
    if [ "$failed" -gt 0 ] || [ "$rc" != 0 ]; then
      log "--- container logs (tail) ---"
      "${compose[@]}" logs --no-color --tail 30 >&2 2>&1 || true
    fi
    if [ "${PBCHAIN_DOCKER_KEEP:-}" = 1 ] && { [ "$failed" -gt 0 ] || [ "$rc" != 0 ]; }; then
      log "PBCHAIN_DOCKER_KEEP=1: leaving project $name up"
    else
      "${compose[@]}" down -v --remove-orphans -t 5 >/dev/null 2>&1 || true
    fi
  fi
  docker image rm -f "$image" >/dev/null 2>&1 || true
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

skip() {
  echo "compose_test: SKIPPED: $*" >&2
  exit 77
}

# Removes compose project $1 (containers, networks, volumes) and its image
# by their labels and names: needs neither compose.yaml's variables nor
# the compose command.
remove_project() {
  local p="$1"
  docker ps -aq --filter "label=com.docker.compose.project=$p" |
    xargs -r docker rm -f >/dev/null 2>&1 || true
  docker network ls -q --filter "label=com.docker.compose.project=$p" |
    xargs -r docker network rm >/dev/null 2>&1 || true
  docker volume ls -q --filter "label=com.docker.compose.project=$p" |
    xargs -r docker volume rm -f >/dev/null 2>&1 || true
  docker image rm -f "$p:test" >/dev/null 2>&1 || true
}

# True while PID $1 is a compose_test.sh.
script_alive() {
  tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" | grep -q compose_test.sh
}

# True when every container and the image of project $1 were made more
# than sweep_age seconds ago.
project_is_old() {
  local now created t
  now=$(date +%s)
  for created in $( {
      docker ps -aq --filter "label=com.docker.compose.project=$1" |
        xargs -r docker inspect -f '{{.Created}}'
      docker image inspect -f '{{.Created}}' "$1:test"
    } 2>/dev/null); do
    t=$(date -d "$created" +%s 2>/dev/null) || return 1
    [ $((now - t)) -ge "$sweep_age" ] || return 1
  done
  return 0
}

# Projects and images pbtest-docker-PID-* whose compose_test.sh (PID) is
# gone and that are older than sweep_age: left by a run that was SIGKILLed.
remove_leftovers() {
  local p pid
  {
    docker ps -a --format '{{.Label "com.docker.compose.project"}}'
    docker network ls --format '{{.Label "com.docker.compose.project"}}'
    docker images --format '{{.Repository}}'
  } 2>/dev/null | grep -E '^pbtest-docker-[0-9]+-[0-9a-f]+$' | sort -u |
    while read -r p; do
      pid=$(echo "$p" | cut -d- -f3)
      if script_alive "$pid"; then
        continue
      fi
      project_is_old "$p" || continue
      log "removing $p (left by compose_test.sh pid $pid, which is gone)"
      remove_project "$p"
    done || true  # grep finds none: no leftovers
}

# --- 1. a docker daemon ------------------------------------------------------
# Debian's docker.io and docker-compose (v1) when missing, as root: the
# project's machines install what its tests need.
missing=()
command -v docker >/dev/null 2>&1 || missing+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v nsenter >/dev/null 2>&1 || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || skip "${missing[*]} missing and not root to install them"
  log "installing ${missing[*]} (apt-get)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$work/apt.log" 2>&1 ||
    { tail -20 "$work/apt.log" >&2; log "cannot install ${missing[*]}"; exit 1; }
fi
command -v docker >/dev/null 2>&1 || skip "no docker command after installing docker.io"
# The checks enter the containers' network namespaces with nsenter.
[ "$(id -u)" = 0 ] || skip "nsenter into the containers' network namespaces needs root"
bash tools/ensure-dockerd.sh 2>"$work/dockerd.err" ||
  skip "no docker daemon can run here: $(tail -1 "$work/dockerd.err")"
remove_leftovers

# The watchdog: at overall_limit removes this run's project and image and
# stops the script (its children first: bash runs the TERM trap only once
# the command in the foreground has ended).
# (sleep's own output is /dev/null: ctest waits until every holder of the
# test's output pipe is gone.)
# It counts from the script's start (SECONDS), as ctest's TIMEOUT does, and
# looks every 2 s whether the script is still there: a script SIGKILLed by
# hand leaves it behind, and then it removes the project at once and ends
# (never signalling a PID that may since belong to another process).
(
  while [ "$SECONDS" -lt "$overall_limit" ]; do
    sleep 2 >/dev/null 2>&1
    if ! script_alive $$; then
      remove_project "$name"
      rm -rf "$work"
      exit 0
    fi
  done
  touch "$work/watchdog.fired"
  log "FAIL: overall deadline of $overall_limit s passed; removing project $name"
  remove_project "$name"
  kill -TERM $$ 2>/dev/null || true
  for child in $(pgrep -P $$); do  # the command in the foreground, not us
    [ "$child" = "$BASHPID" ] || kill -TERM "$child" 2>/dev/null || true
  done
) &
watchdog_pid=$!
disown "$watchdog_pid"  # no "Terminated" line when cleanup ends it

# --- 2., 3. base image, package, image ----------------------------------------
base=$(bash tools/make-base-image.sh | tail -1)
deb="${PBCHAIN_DEB:-}"
if [ -z "$deb" ]; then
  log "building the Debian package (tools/package.sh)"
  deb=$(bash tools/package.sh 2>"$work/package.log" | tail -1) ||
    { tail -20 "$work/package.log" >&2; exit 1; }
fi
log "image $image from $base with $deb"
bash deploy/compose/build-image.sh --deb "$deb" --base "$base" --tag "$image" \
  >"$work/build.log" 2>&1 || { tail -30 "$work/build.log" >&2; exit 1; }
ok "image built (BASE=$base)"

# --- 4. a free subnet and the network -----------------------------------------
# A /24 in 172.30.0.0/16 that overlaps no route of the host and no docker
# network (other tests may run at the same time).
taken="$work/taken"
ip -4 route show | awk '{print $1}' | grep -E '^[0-9.]+(/[0-9]+)?$' >"$taken" || true
docker network ls -q | xargs -r docker network inspect \
  -f '{{range .IPAM.Config}}{{.Subnet}} {{end}}' | tr ' ' '\n' |
  grep -E '^[0-9.]+/[0-9]+$' >>"$taken" || true
subnet=$(python3 - "$taken" <<'EOF'
import ipaddress, random, sys
taken = []
for line in open(sys.argv[1]):
    line = line.strip()
    if not line:
        continue
    try:
        taken.append(ipaddress.ip_network(line, strict=False))
    except ValueError:
        pass
thirds = list(range(1, 255))
random.shuffle(thirds)
for third in thirds:
    net = ipaddress.ip_network(f"172.30.{third}.0/24")
    if not any(net.overlaps(t) for t in taken):
        print(net)
        break
EOF
)
[ -n "$subnet" ] || { log "no free /24 in 172.30.0.0/16"; exit 1; }
prefix="${subnet%.0/24}."
# A free loopback port for the head node's published port (an internal
# network publishes nothing, but compose still wants a valid number).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
public_port=$(free_port)

prometheus_port=$(free_port)
export PBCHAIN_IMAGE="$image" PBCHAIN_SUBNET="$subnet" PBCHAIN_INTERNAL=true \
       PBCHAIN_PUBLIC_PORT="$public_port" PBCHAIN_FULL_NODES=2 \
       PBCHAIN_CHAIN_ID="$name" PBCHAIN_BASE="$base" \
       PBCHAIN_PROMETHEUS_IMAGE="$prometheus_image" \
       PBCHAIN_PROMETHEUS_PORT="$prometheus_port"
"${compose[@]}" build prometheus >"$work/prometheus-build.log" 2>&1 ||
  { tail -30 "$work/prometheus-build.log" >&2; exit 1; }
ok "Prometheus image $prometheus_image built (Debian's prometheus)"
log "project $name on internal network $subnet"
up=1
"${compose[@]}" up -d >"$work/up.log" 2>&1 || { cat "$work/up.log" >&2; exit 1; }

net_id=$(docker network ls -q --filter "label=com.docker.compose.project=$name")
if [ "$(docker network inspect -f '{{.Internal}}' "$net_id")" = true ]; then
  ok "network is internal ($subnet)"
else
  fail "network is not internal"
fi

# The node containers (head, seed, full x2) and the tracker.
containers() { "${compose[@]}" ps -q "$@"; }
nodes=$(containers head seed full | sort)
tracker=$(containers tracker)
node_count=$(echo "$nodes" | wc -w)
if [ "$node_count" = 4 ]; then
  ok "4 node containers"
else
  fail "want 4 node containers, got $node_count"
fi
full1=$(containers full | head -1)

cli() {  # cli CONTAINER ARGS...: pbcli on that container's node
  local c="$1"; shift
  docker exec "$c" pbchain-container cli "$@"
}
ip_of() {
  docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$1"
}

# --- converge: the same tip at height >= 3 everywhere --------------------------
deadline=$((SECONDS + 240))
converged=0
while [ $SECONDS -lt $deadline ]; do
  tips=""
  heights=""
  for c in $nodes; do
    j=$(cli "$c" info --json 2>/dev/null) || { tips="x"; break; }
    tips="$tips $(echo "$j" | python3 -c 'import json,sys; print(json.load(sys.stdin)["tip_hash"])' 2>/dev/null || echo x)"
    heights="$heights $(echo "$j" | python3 -c 'import json,sys; print(json.load(sys.stdin)["height"])' 2>/dev/null || echo 0)"
  done
  distinct=$(echo "$tips" | tr ' ' '\n' | grep -v '^$' | sort -u | wc -l)
  min_height=$(echo "$heights" | tr ' ' '\n' | grep -v '^$' | sort -n | head -1)
  if [ "$tips" != "x" ] && ! echo "$tips" | grep -qw x && [ "$distinct" = 1 ] && [ "${min_height:-0}" -ge 3 ]; then
    converged=1
    break
  fi
  sleep 2
done
if [ "$converged" = 1 ]; then
  ok "all $node_count nodes on one tip at height >= $min_height"
else
  fail "nodes did not converge in 240 s (tips:$tips; heights:$heights)"
fi

# --- a transfer sent to a full node is confirmed on every node ------------------
to=$(docker exec "$full1" pbtool keygen --out /tmp/recipient.json)
sent=$(cli "$full1" --wallet /pki/wallet.json --json send "$to" 12345 \
         --wait 1 --wait-timeout 120s 2>"$work/send.err") || true
outcome=$(echo "$sent" | python3 -c 'import json,sys; print(json.load(sys.stdin)["outcome"])' 2>/dev/null || echo none)
txid=$(echo "$sent" | python3 -c 'import json,sys; print(json.load(sys.stdin)["txid"])' 2>/dev/null || echo "")
if [ "$outcome" = confirmed ] && [ -n "$txid" ]; then
  ok "transfer $txid confirmed by the full node it was sent to"
else
  fail "send: outcome '$outcome': $sent $(cat "$work/send.err")"
fi
if [ -n "$txid" ]; then
  deadline=$((SECONDS + 60))
  while :; do
    blocks=""
    balances=""
    for c in $nodes; do
      t=$(cli "$c" --json tx "$txid" 2>/dev/null || echo '{}')
      blocks="$blocks $(echo "$t" | python3 -c 'import json,sys; j=json.load(sys.stdin); print(j.get("block_hash") if j.get("status") == "confirmed" else "none")')"
      b=$(cli "$c" --json balance "$to" 2>/dev/null || echo '{}')
      balances="$balances $(echo "$b" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("balance"))')"
    done
    distinct=$(echo "$blocks" | tr ' ' '\n' | grep -v '^$' | sort -u)
    if [ "$(echo "$distinct" | wc -l)" = 1 ] && [ "$distinct" != none ] &&
       [ "$(echo "$balances" | tr ' ' '\n' | grep -c '^12345$')" = "$node_count" ]; then
      ok "transfer confirmed in block $distinct on all $node_count nodes (balance 12345 everywhere)"
      break
    fi
    if [ $SECONDS -ge $deadline ]; then
      fail "transfer not confirmed on every node in 60 s (blocks:$blocks; balances:$balances)"
      break
    fi
    sleep 1
  done
fi

# --- the tracker lists the containers' IPs --------------------------------------
# Asked from inside the tracker container's network namespace (nsenter), with
# buf curl (tools/node_modules) and the tracker's own certificate.
bash tools/npm-install.sh >/dev/null
buf="$src/tools/node_modules/.bin/buf"
docker cp "$tracker:/pki/ca/ca.crt" "$work/ca.crt"
docker cp "$tracker:/var/lib/pbchain/tls/server.crt" "$work/client.crt"
docker cp "$tracker:/var/lib/pbchain/tls/server.key" "$work/client.key"
tracker_pid=$(docker inspect -f '{{.State.Pid}}' "$tracker")
head_c=$(containers head)
head_pid=$(docker inspect -f '{{.State.Pid}}' "$head_c")
curl_in() {  # curl_in PID URL [JSON]
  local pid="$1" url="$2" data="${3:-{\}}"
  nsenter -t "$pid" -n "$buf" curl --protocol grpc --reflect-protocol grpc-v1alpha \
    --cacert "$work/ca.crt" --cert "$work/client.crt" --key "$work/client.key" \
    -d "$data" "$url"
}
genesis=$(curl_in "$head_pid" https://127.0.0.1:7701/pbchain.v1.NodeService/GetInfo 2>"$work/curl.err" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["genesisHash"])' 2>/dev/null) ||
  { fail "GetInfo of the head node by buf curl: $(tail -3 "$work/curl.err")"; genesis=""; }
listed=$(curl_in "$tracker_pid" https://127.0.0.1:7600/pbchain.v1.Tracker/ListPeers \
  "{\"genesisHash\": \"$genesis\"}" 2>"$work/curl.err" |
  python3 -c 'import json,sys; [print(p["address"]) for p in json.load(sys.stdin).get("peers", [])]' 2>/dev/null | sort) ||
  { fail "ListPeers of the tracker by buf curl: $(tail -3 "$work/curl.err")"; listed=""; }
want=$(for c in $nodes; do echo "$(ip_of "$c"):7701"; done | sort)
if [ -n "$listed" ] && [ "$listed" = "$want" ]; then
  ok "tracker lists the $node_count nodes at their container IPs: $(echo "$listed" | tr '\n' ' ')"
else
  fail "tracker lists [$(echo "$listed" | tr '\n' ' ')], want [$(echo "$want" | tr '\n' ' ')]"
fi
bad=$(echo "$listed" | grep -v "^${prefix//./\\.}" || true)
if [ -n "$listed" ] && [ -z "$bad" ]; then
  ok "every listed address is in $subnet"
else
  fail "addresses outside $subnet (or none): $bad"
fi

# --- the HEALTHCHECK ------------------------------------------------------------
deadline=$((SECONDS + 90))
while :; do
  states=""
  all=1
  for c in $nodes $tracker; do
    s=$(docker inspect -f '{{.State.Health.Status}}' "$c" 2>/dev/null || echo unknown)
    states="$states $s"
    [ "$s" = healthy ] || all=0
  done
  if [ "$all" = 1 ]; then
    ok "all $((node_count + 1)) server containers healthy (pbcli health)"
    break
  fi
  if [ $SECONDS -ge $deadline ]; then
    fail "health states:$states"
    break
  fi
  sleep 2
done
# --- Prometheus scrapes every node and the tracker ------------------------------
prom=$(containers prometheus)
prom_pid=$(docker inspect -f '{{.State.Pid}}' "$prom")
# GET URL from inside the Prometheus container's network namespace (the
# host's python3: this script needs it anyway; no curl on the host).
get_in_prom() {
  nsenter -t "$prom_pid" -n python3 -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' "$1"
}
deadline=$((SECONDS + 90))
while :; do
  targets=$(get_in_prom http://127.0.0.1:9090/api/v1/targets 2>/dev/null |
    python3 -c 'import json,sys; print(" ".join(sorted(t["labels"]["job"] + "=" + t["health"] for t in json.load(sys.stdin)["data"]["activeTargets"])))' 2>/dev/null || true)
  heights=$(get_in_prom 'http://127.0.0.1:9090/api/v1/query?query=pbchain_chain_height' 2>/dev/null |
    python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]["result"]))' 2>/dev/null || echo 0)
  if [ "$targets" = "pbnode=up pbnode=up pbnode=up pbnode=up pbtracker=up" ] &&
     [ "$heights" = 4 ]; then
    ok "Prometheus scrapes 4 nodes and the tracker (pbchain_chain_height from 4)"
    break
  fi
  if [ $SECONDS -ge $deadline ]; then
    fail "Prometheus targets: [$targets], pbchain_chain_height series: $heights"
    break
  fi
  sleep 2
done

# The image's user is not root.
user=$(docker exec "$full1" id -un)
if [ "$user" = pbchain ]; then
  ok "containers run as user pbchain"
else
  fail "containers run as '$user'"
fi

echo "compose_test: $passed passed, $failed failed"
[ "$failed" = 0 ]
