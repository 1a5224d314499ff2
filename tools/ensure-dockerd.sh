#!/usr/bin/env bash
# Makes sure a docker daemon answers on this machine: when `docker info`
# fails and this is root with Debian's dockerd installed, starts dockerd in
# the background (log in /var/log/pbchain-dockerd.log) and waits up to 60 s
# for it. Exit 0: a daemon answers; 1: none could be started (the reason on
# stderr). Used by .ci/run and by the container tests (tests/docker,
# tests/package), which skip where no daemon can run at all.
set -uo pipefail
if docker info >/dev/null 2>&1; then exit 0; fi
if ! command -v dockerd >/dev/null 2>&1; then
  echo "ensure-dockerd: dockerd is not installed (Debian: apt-get install docker.io)" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-dockerd: no docker daemon answers and only root can start one" >&2
  exit 1
fi
if ! command -v docker >/dev/null 2>&1; then
  echo "ensure-dockerd: the docker client is not installed" >&2
  exit 1
fi
log=/var/log/pbchain-dockerd.log
echo "ensure-dockerd: starting dockerd (log: $log)" >&2
setsid dockerd >"$log" 2>&1 < /dev/null &
for _ in $(seq 1 120); do
  if docker info >/dev/null 2>&1; then exit 0; fi
  if ! kill -0 $! 2>/dev/null; then break; fi
  sleep 0.5
done
echo "ensure-dockerd: dockerd did not come up; last lines of $log:" >&2
tail -5 "$log" >&2
exit 1
