#!/usr/bin/env bash
# make bench runs this: one Sempart training step, dinofeat vs the same step in plain PyTorch.
set -euo pipefail
cd "$(dirname "$0")/../.."
DINOFEAT_LIBRARY=$PWD/lib/libdinofeat.so /usr/bin/python3 bench/sempart/bench_sempart.py "$@"
