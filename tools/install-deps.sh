#!/usr/bin/env bash
# Installs everything pbchain needs to build and test on Debian 12 (bookworm).
# Idempotent: packages already present are skipped by apt-get. Must run as root
# (or with sudo available).
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates ccache
  clang clang-format libclang-rt-14-dev
  libgrpc++-dev libgrpc-dev protobuf-compiler-grpc
  libprotobuf-dev protobuf-compiler
  libabsl-dev libssl-dev librocksdb-dev nlohmann-json3-dev
  libgoogle-glog-dev libgflags-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  libmicrohttpd-dev libcpp-httplib-dev libcli11-dev libgnutls28-dev
  prometheus-cpp-dev libtomlplusplus-dev prometheus
  nodejs python3 python3-cryptography python3-grpcio python3-protobuf
  dpkg-dev  # tools/package.sh: dpkg-shlibdeps computes the .deb's Depends
  chromium
  docker.io docker-compose debootstrap iproute2  # container and multihost tests
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all Debian packages present"
fi

# npm comes with Debian's nodejs on some images and as its own package on others.
if ! command -v npm >/dev/null 2>&1; then
  $SUDO apt-get install -y -qq --no-install-recommends npm
fi
