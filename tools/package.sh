#!/usr/bin/env bash
# Builds the Debian package of pbchain: pbchain_<version>_amd64.deb.
#
#   bash tools/package.sh            # build in build-pkg/, package into build-pkg/package/
#   bash tools/package.sh --help
#
# Uses its own build directory, build-pkg/ (RelWithDebInfo like build/, so
# ccache hits; tests and benchmarks off; installed to /usr; binaries
# stripped by cpack), then runs `cpack -G DEB` (cmake/package.cmake).
# Installs missing Debian packages first (tools/install-deps.sh, which
# brings dpkg-dev for dpkg-shlibdeps; needs root or sudo).
# PBCHAIN_PACKAGE_BUILD_DIR overrides the build directory.
#
# Progress goes to stderr; the LAST line on stdout is the absolute path of
# the .deb (scripts rely on it: deb=$(bash tools/package.sh | tail -1)).
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
  "") ;;
  -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "package: unknown argument '$1' (see --help)" >&2; exit 2 ;;
esac

build_dir="${PBCHAIN_PACKAGE_BUILD_DIR:-build-pkg}"

bash tools/install-deps.sh >&2

cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DPBCHAIN_BUILD_TESTS=OFF -DPBCHAIN_BUILD_BENCHMARKS=OFF \
  -DPBCHAIN_PACKAGE=ON -DCMAKE_INSTALL_PREFIX=/usr >&2
cmake --build "$build_dir" -j2 >&2

version=$(sed -nE 's/^CMAKE_PROJECT_VERSION:STATIC=(.*)$/\1/p' "$build_dir/CMakeCache.txt")
rm -f "$build_dir"/package/pbchain_*.deb
(cd "$build_dir" && cpack -G DEB --config CPackConfig.cmake) >&2

deb=$(ls "$build_dir"/package/pbchain_"${version}"_*.deb 2>/dev/null | head -1 || true)
if [ -z "$deb" ]; then
  echo "package: cpack made no $build_dir/package/pbchain_${version}_*.deb" >&2
  exit 1
fi
echo "package: $(dpkg-deb -f "$deb" Package Version Architecture | tr '\n' ' ')" >&2
echo "package: Depends: $(dpkg-deb -f "$deb" Depends)" >&2
realpath "$deb"
