#!/usr/bin/env bash
# make run: start the daemon on the simulated SO-101 with its embedded MQTT broker and a
# seeded skill library in $DATA (docs/config.md). Ctrl-C stops it safely.
set -euo pipefail
bin=$1 data=$2
mkdir -p "$data"
echo "starting $bin serve --data $data --config scripts/run.yaml (Ctrl-C stops it)"
exec "$bin" serve --data "$data" --config scripts/run.yaml
