#!/usr/bin/env bash
# Installs the npm packages pinned in tools/package.json (package-lock.json)
# into tools/node_modules when any is missing or the lock file changed: buf
# (proto lint, reflection client), @grpc/grpc-js + @grpc/proto-loader (the
# JavaScript client test) and playwright-core (the explorer's browser test,
# which drives Debian's chromium; no browser is downloaded).
set -euo pipefail
cd "$(dirname "$0")"
stamp=node_modules/.pbchain-lock
if [ -f "$stamp" ] && cmp -s package-lock.json "$stamp" &&
   [ -x node_modules/.bin/buf ] && [ -d node_modules/@grpc/grpc-js ] &&
   [ -d node_modules/@grpc/proto-loader ] && [ -d node_modules/playwright-core ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "npm-install: npm is missing; run tools/install-deps.sh first" >&2
  exit 1
fi
npm install --no-audit --no-fund --loglevel=error
cp package-lock.json "$stamp"
