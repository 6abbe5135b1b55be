#!/usr/bin/env bash
# make bench runs this: NeCo's differentiable sorting vs the dense-matrix reference, and one training
# step vs plain PyTorch.
set -euo pipefail
cd "$(dirname "$0")/../.."
DINOFEAT_LIBRARY=$PWD/lib/libdinofeat.so /usr/bin/python3 bench/neco/bench_sort.py "$@"
DINOFEAT_LIBRARY=$PWD/lib/libdinofeat.so /usr/bin/python3 bench/neco/bench_step.py
