#!/usr/bin/env bash
# Makes a Debian 12 (bookworm) base image for docker from Debian's own
# packages, for machines that cannot pull debian:bookworm-slim from a
# registry (this project's CI among them). The image is a debootstrap
# "minbase" root imported with `docker import`; it is the same Debian the
# slim image carries, give or take a few packages.
#
#   bash tools/make-base-image.sh               # makes pbchain-base:bookworm unless it exists
#   bash tools/make-base-image.sh --force       # makes it again
#   bash tools/make-base-image.sh --tag NAME    # another tag
#
# Needs root, debootstrap (installed here if missing) and a running docker
# daemon. The mirror is the one apt uses (/etc/apt/sources.list*), else
# http://deb.debian.org/debian; PBCHAIN_DEBIAN_MIRROR overrides it. Prints
# the image's tag as the last line.
set -euo pipefail

tag=pbchain-base:bookworm
force=0
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) tag="${2:?--tag needs a NAME}"; shift 2 ;;
    --force) force=1; shift ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "make-base-image: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

if ! docker info >/dev/null 2>&1; then
  echo "make-base-image: no docker daemon answers (start dockerd first)" >&2
  exit 1
fi
if [ "$force" = 0 ] && docker image inspect "$tag" >/dev/null 2>&1; then
  echo "make-base-image: $tag exists (--force makes it again)" >&2
  echo "$tag"
  exit 0
fi

mirror="${PBCHAIN_DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
  mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
             /etc/apt/sources.list.d/*.sources 2>/dev/null |
           sed -nE 's/^URIs: *//p; s/^deb (\[[^]]*\] )?//p' |
           awk '$1 !~ /security/ && !found { print $1; found = 1 }' || true)
fi
mirror="${mirror:-http://deb.debian.org/debian}"

if ! command -v debootstrap >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null
fi

root=$(mktemp -d /tmp/pbchain-base.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "make-base-image: debootstrap bookworm from $mirror (a few minutes)" >&2
if ! debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1; then
  tail -20 "$root.log" >&2
  rm -f "$root.log"
  echo "make-base-image: debootstrap failed (log above)" >&2
  exit 1
fi
rm -f "$root.log"
# Keep the image small and its apt lists fresh at first use, as the slim
# image does.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb
tar -C "$root" -c . | docker import \
  --change 'CMD ["bash"]' \
  --change 'ENV LANG=C.UTF-8' \
  - "$tag" >/dev/null
echo "make-base-image: imported $tag" >&2
echo "$tag"
