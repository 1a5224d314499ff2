#!/usr/bin/env bash
# Builds every library and program (not the tests) with clang and
# -Wthread-safety -Werror=thread-safety, so that absl's lock annotations
# (ABSL_GUARDED_BY, ABSL_EXCLUSIVE_LOCKS_REQUIRED, ...) are checked: a field
# read without its mutex fails the build. Build dir: build-tsa/.
#
#   bash tools/thread-safety-build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh >/dev/null
CC=clang CXX=clang++ cmake -S . -B build-tsa -G Ninja \
  -DPBCHAIN_THREAD_SAFETY=ON -DPBCHAIN_BUILD_TESTS=OFF \
  -DPBCHAIN_BUILD_BENCHMARKS=OFF -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-tsa -j2
echo "thread-safety-build: ok (clang -Wthread-safety -Werror=thread-safety)"
