#!/usr/bin/env bash
# Builds the pbchain container image (deploy/Dockerfile) from the Debian
# package.
#
#   bash deploy/compose/build-image.sh [--deb FILE] [--base IMAGE] [--tag NAME]
#
#   --deb FILE    the .deb to install (default: build it, bash tools/package.sh)
#   --base IMAGE  the Debian 12 image to start from (default
#                 debian:bookworm-slim; without a registry:
#                 --base "$(bash tools/make-base-image.sh | tail -1)")
#   --tag NAME    the image's tag (default pbchain:latest, which
#                 deploy/compose.yaml runs unless PBCHAIN_IMAGE says otherwise)
#
# Needs a running docker daemon. The build context is a temporary directory
# holding only the Dockerfile, the .deb and pbchain-container. Prints the tag
# as the last line.
set -euo pipefail
cd "$(dirname "$0")/../.."

deb="" base="debian:bookworm-slim" tag="pbchain:latest"
while [ $# -gt 0 ]; do
  case "$1" in
    --deb) deb="${2:?--deb needs a FILE}"; shift 2 ;;
    --base) base="${2:?--base needs an IMAGE}"; shift 2 ;;
    --tag) tag="${2:?--tag needs a NAME}"; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-image: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

if ! docker info >/dev/null 2>&1; then
  echo "build-image: no docker daemon answers (start dockerd first)" >&2
  exit 1
fi
if [ -z "$deb" ]; then
  deb=$(bash tools/package.sh | tail -1)
fi
case "$deb" in
  *.deb) ;;
  *) echo "build-image: --deb '$deb' is not a .deb file" >&2; exit 2 ;;
esac
[ -f "$deb" ] || { echo "build-image: no such file: $deb" >&2; exit 2; }

ctx=$(mktemp -d /tmp/pbchain-image.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
cp deploy/Dockerfile deploy/compose/pbchain-container "$ctx/"
cp "$deb" "$ctx/$(basename "$deb")"
echo "build-image: $tag from $base with $(basename "$deb")" >&2
docker build --build-arg "BASE=$base" -t "$tag" "$ctx" >&2
echo "$tag"
