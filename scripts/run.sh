#!/usr/bin/env bash
# make run: until the daemon exists, learn a skill from a bundled demonstration and roll it
# out to a new goal, printing the first rows.
set -euo pipefail
bin=$1 data=$2
mkdir -p "$data"
"$bin" learn testdata/masterarm_wiggling/d02209.csv --name wiggle -o "$data/wiggle.json"
"$bin" rollout "$data/wiggle.json" --dt 0.01 -o "$data/wiggle-rollout.csv"
echo "learned $data/wiggle.json; rollout in $data/wiggle-rollout.csv:"
head -5 "$data/wiggle-rollout.csv"
