#!/usr/bin/env bash
# Layering lint: each layer includes only from the layers below it
# (docs/ARCHITECTURE.md, "Layers"). Prints every offending include as
# FILE:LINE: ... and exits 1 if there is one.
#
#   bash tools/lint-layers.sh          # the repository this script is in
#   bash tools/lint-layers.sh ROOT     # another tree (tests/tools/lint_layers_test.sh)
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"

# folder | include prefixes it must not use | why
rules=(
  "chain|grpcpp/ grpc/ rocksdb/ pbchain/v1/ google/protobuf/ proto/ storage/ node/ client/ tracker/|the consensus kernel knows no transport, database or schema"
  "storage|node/ client/ tracker/ grpcpp/|storage serves the node; it knows no service"
  "tracker|node/ chain/ storage/ client/|the tracker shares only common/ and the schema with the node"
  "client|node/ storage/ tracker/ rocksdb/|clients talk to nodes over gRPC only"
  "common|node/ tracker/ chain/ storage/ client/ proto/ pbchain/v1/ rocksdb/|common/ is below every other layer"
  "node/core|node/p2p/ node/rpc/ node/http/ node/metrics/ grpcpp/ grpc/ pbchain/v1/ proto/ prometheus/|the node core knows no network or service"
  "node/p2p|node/rpc/ node/http/ node/metrics/ prometheus/|the network does not call the API layers"
  "node/rpc|node/http/|the HTTP gateway sits above the gRPC API"
  "node/admin|node/rpc/ node/http/|the admin API stands beside the public API, on the node core and the network"
  "node/metrics|node/rpc/ node/http/|the metrics read the node and the network, never the API layers"
  "node/http|node/core/ node/p2p/ node/rpc/ storage/ rocksdb/|the gateway reaches the node only through its gRPC API"
)

failed=0
for rule in "${rules[@]}"; do
  IFS='|' read -r folder banned why <<<"$rule"
  [ -d "$folder" ] || { echo "lint-layers: no folder $folder" >&2; exit 2; }
  pattern=""
  for prefix in $banned; do
    pattern+="${pattern:+|}${prefix//./\\.}"
  done
  # '#include "prefix...' or '#include <prefix...'
  while IFS= read -r hit; do
    [ -n "$hit" ] || continue
    echo "$hit: $folder/ may not include this ($why)"
    failed=1
  done < <(grep -rnE --include='*.h' --include='*.cc' --include='*.hpp' \
             "^[[:space:]]*#[[:space:]]*include[[:space:]]*[\"<]($pattern)" \
             "$folder" || true)
done

# Relative includes ("../storage/x.h") would slip past every rule above.
while IFS= read -r hit; do
  [ -n "$hit" ] || continue
  echo "$hit: include with a full project path (\"storage/x.h\"), not a relative one"
  failed=1
done < <(grep -rnE --include='*.h' --include='*.cc' --include='*.hpp' \
           '^[[:space:]]*#[[:space:]]*include[[:space:]]*"\.\.?/' \
           chain storage tracker client common node proto tools tests 2>/dev/null || true)

if [ "$failed" -ne 0 ]; then
  echo "lint-layers: FAILED (see docs/ARCHITECTURE.md, Layers)"
  exit 1
fi
echo "lint-layers: ok (${#rules[@]} rules)"
