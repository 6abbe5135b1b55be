#!/usr/bin/env bash
# make bench runs this: the backbone forward pass against the plain-PyTorch reference.
set -euo pipefail
cd "$(dirname "$0")/../.."
DINOFEAT_LIBRARY=$PWD/lib/libdinofeat.so /usr/bin/python3 bench/forward/bench_forward.py "$@"
