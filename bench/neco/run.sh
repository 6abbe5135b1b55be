#!/usr/bin/env bash
# make bench runs this: NeCo's differentiable sorting, dinofeat vs the dense-matrix reference.
set -euo pipefail
cd "$(dirname "$0")/../.."
DINOFEAT_LIBRARY=$PWD/lib/libdinofeat.so /usr/bin/python3 bench/neco/bench_sort.py "$@"
