#!/usr/bin/env bash
# Starts one mining pbnode on loopback with a fresh devnet genesis (the local
# network grows to a tracker and several nodes with the network issue).
#
#   bash tools/run-node.sh            # builds if needed; Ctrl-C stops the node
#
# State lives in .devnet/ (genesis, miner key, datadir); delete it to start over.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/install-deps.sh >/dev/null
if [ ! -x build/bin/pbnode ] || [ ! -x build/bin/pbtool ]; then
  cmake -S . -B build -G Ninja >/dev/null
  cmake --build build -j2 --target pbnode pbtool
fi
bash tools/lint-proto.sh >/dev/null  # installs buf for the query examples below

mkdir -p .devnet
if [ ! -f .devnet/miner.json ]; then
  build/bin/pbtool keygen --out .devnet/miner.json >/dev/null
fi
miner=$(python3 -c 'import json,sys; print(json.load(open(".devnet/miner.json"))["address"])')
if [ ! -f .devnet/genesis.json ]; then
  build/bin/pbtool genesis --out .devnet/genesis.json --chain-id pbchain-devnet \
    --target-interval-ms 2000 --alloc "$miner=1000000" >/dev/null
fi

port=${PBNODE_PORT:-7700}
echo "starting pbnode (datadir .devnet/node1, miner $miner)"
build/bin/pbnode --listen "127.0.0.1:$port" --datadir .devnet/node1 \
  --genesis .devnet/genesis.json --mine --miner-address "$miner" \
  --mining-threads 1 2>.devnet/node1.log &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; echo "pbnode stopped"' INT TERM EXIT
sleep 1
cat <<MSG
pbnode is mining on 127.0.0.1:$port (log: .devnet/node1.log). Try:
  tools/node_modules/.bin/buf curl --protocol grpc --http2-prior-knowledge http://127.0.0.1:$port/pbchain.v1.NodeService/GetInfo
  tools/node_modules/.bin/buf curl --protocol grpc --http2-prior-knowledge --list-methods http://127.0.0.1:$port
Ctrl-C stops it.
MSG
wait $pid
