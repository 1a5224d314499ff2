#!/usr/bin/env bash
# Lints proto/ with buf (npm package @bufbuild/buf, pinned in tools/package.json).
set -euo pipefail
cd "$(dirname "$0")"
bash npm-install.sh
cd ../proto
../tools/node_modules/.bin/buf lint
echo "buf lint: proto/ is clean"
