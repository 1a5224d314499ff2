#!/usr/bin/env bash
# Installs the build tree into a temporary prefix, builds a program outside
# the repository against find_package(pbchain) (tests/install/consumer), and
# runs it: a valid address is parsed and printed, a bad one refused.
#
#   install_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src="$1"
build="$2"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cmake --install "$build" --prefix "$tmp/prefix" >"$tmp/install.log"
for f in bin/pbnode bin/pbtracker bin/pbcli bin/pbtool \
         lib/cmake/pbchain/pbchainConfig.cmake include/client/node_client.h \
         include/pbchain/v1/node.grpc.pb.h include/common/version.h; do
  [ -e "$tmp/prefix/$f" ] || { echo "FAIL: $f not installed"; exit 1; }
done
"$tmp/prefix/bin/pbnode" --version | grep -q '^pbnode [0-9]' \
  || { echo "FAIL: installed pbnode --version"; exit 1; }

# The consumer sees only the prefix: no source or build tree on its paths.
# A sanitizer build installs instrumented libraries: the consumer then needs
# the same runtime.
extra=()
if grep -q '^PBCHAIN_SANITIZE:BOOL=ON' "$build/CMakeCache.txt"; then
  extra+=(-DCMAKE_CXX_FLAGS=-fsanitize=address,undefined
          -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined)
fi
cp -r "$src/tests/install/consumer" "$tmp/consumer-src"
cmake -S "$tmp/consumer-src" -B "$tmp/consumer" -G Ninja \
      -DCMAKE_PREFIX_PATH="$tmp/prefix" "${extra[@]}" >"$tmp/configure.log" \
  || { cat "$tmp/configure.log"; exit 1; }
cmake --build "$tmp/consumer" >"$tmp/build.log" \
  || { cat "$tmp/build.log"; exit 1; }
if grep -qF -e "$src/" -e "$build/" "$tmp/consumer/build.ninja"; then
  echo "FAIL: the consumer's build uses the source or build tree"
  grep -F -e "$src/" -e "$build/" "$tmp/consumer/build.ninja" | head -3
  exit 1
fi

addr=pb000102030405060708090a0b0c0d0e0f10111213
# A valid address: from the kernel's own text form (checksum included).
good=$("$tmp/prefix/bin/pbtool" keygen --out "$tmp/w.json" >/dev/null && \
       sed -n 's/.*"address": *"\(pb[0-9a-f]*\)".*/\1/p' "$tmp/w.json")
[ -n "$good" ] || { echo "FAIL: no address from pbtool keygen"; cat "$tmp/w.json"; exit 1; }
out=$("$tmp/consumer/consumer" "$good")
echo "$out"
grep -q "address $good bytes [0-9a-f]\{40\}$" <<<"$out" \
  || { echo "FAIL: unexpected output"; exit 1; }
if "$tmp/consumer/consumer" "$addr" 2>"$tmp/err"; then
  echo "FAIL: a malformed address was accepted"; exit 1
fi
echo "install_test: ok"
