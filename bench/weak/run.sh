#!/usr/bin/env bash
# make bench runs this: the classical feature stack against its numpy/scipy reference, the random
# forest against scikit-learn, and the live scribble loop's latency.
set -euo pipefail
cd "$(dirname "$0")/../.."
DINOFEAT_LIBRARY=$PWD/lib/libdinofeat.so /usr/bin/python3 bench/weak/bench_weak.py "$@"
