#!/usr/bin/env bash
# make bench runs this: k-means against scikit-learn.
set -euo pipefail
cd "$(dirname "$0")/../.."
DINOFEAT_LIBRARY=$PWD/lib/libdinofeat.so /usr/bin/python3 bench/cluster/bench_cluster.py "$@"
