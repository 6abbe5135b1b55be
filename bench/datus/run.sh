#!/usr/bin/env bash
# make bench runs this: DatUS²'s per-image graph + Louvain + segments stage against numpy/networkx/scipy.
set -euo pipefail
cd "$(dirname "$0")/../.."
DINOFEAT_LIBRARY=$PWD/lib/libdinofeat.so /usr/bin/python3 bench/datus/bench_datus.py "$@"
