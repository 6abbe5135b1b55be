#!/usr/bin/env bash
# make bench runs this: what bfloat16 costs in accuracy against float32 (features, k-means, segmentation).
set -euo pipefail
cd "$(dirname "$0")/../.."
DINOFEAT_LIBRARY=$PWD/lib/libdinofeat.so /usr/bin/python3 bench/precision/bench_precision.py "$@"
