#!/usr/bin/env bash
# Builds pbchain and runs every test (unit, process and protocol-lint checks).
#
#   bash tools/test.sh              # build in build/ and run the suite
#   bash tools/test.sh --sanitize   # the same under AddressSanitizer + UBSan, in build-asan/
#
# Installs missing Debian packages first (tools/install-deps.sh; needs root or sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/install-deps.sh

build_dir=build
cmake_args=(-G Ninja)
if [ "${1:-}" = "--sanitize" ]; then
  build_dir=build-asan
  cmake_args+=(-DPBCHAIN_SANITIZE=ON -DPBCHAIN_BUILD_BENCHMARKS=OFF -DCMAKE_BUILD_TYPE=Debug)
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
# Lints proto/ and installs buf, which the reflection test uses as a client.
bash tools/lint-proto.sh

cmake -S . -B "$build_dir" "${cmake_args[@]}"
cmake --build "$build_dir" -j2
ctest_args=()
if [ "$build_dir" = build-asan ]; then
  # The container and network-namespace tests exercise packaging and the
  # network between hosts, not memory safety: under the sanitizers they
  # would only repeat the plain run at several times the cost.
  ctest_args+=(-LE 'docker|multihost')
fi
ctest --test-dir "$build_dir" --output-on-failure -j2 --timeout 900 "${ctest_args[@]}"
