#!/usr/bin/env bash
# tools/lint-layers.sh: passes on the repository, and on a copy of its
# layer folders with one forbidden include it fails naming that file and line.
set -euo pipefail
src="$1"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

bash "$src/tools/lint-layers.sh" "$src"

for d in chain storage tracker client common node/core node/p2p node/rpc node/http node/admin node/metrics proto tools tests; do
  mkdir -p "$tmp/$d"
  cp -r "$src/$d/." "$tmp/$d/" 2>/dev/null || true
done
bash "$src/tools/lint-layers.sh" "$tmp" >/dev/null

check() {  # FILE LINE-TEXT: the lint must fail and name FILE:2
  local file="$1" text="$2"
  printf '// test\n%s\n' "$text" > "$tmp/$file"
  if out=$(bash "$src/tools/lint-layers.sh" "$tmp" 2>&1); then
    echo "FAIL: lint passed with '$text' in $file"; exit 1
  fi
  grep -q "^$file:2:" <<<"$out" || { echo "FAIL: no '$file:2:' in: $out"; exit 1; }
  rm "$tmp/$file"
}
check chain/bad.h '#include "grpcpp/grpcpp.h"'
check chain/bad.cc '#include <rocksdb/db.h>'
check storage/bad.cc '#include "node/core/node.h"'
check tracker/bad.cc '#include "node/p2p/wire.h"'
check client/bad.cc '  #  include "storage/rocksdb_store.h"'
check common/bad.h '#include "chain/block.h"'
check node/core/bad.cc '#include "pbchain/v1/types.pb.h"'
check node/http/bad.cc '#include "node/core/node.h"'
check node/p2p/bad.cc '#include "../rpc/node_service.h"'
check node/metrics/bad.cc '#include "node/rpc/node_service.h"'
check node/core/bad.h '#include "prometheus/counter.h"'
echo "lint_layers_test: ok"
