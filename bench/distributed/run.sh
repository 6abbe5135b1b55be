#!/usr/bin/env bash
# make bench runs this: data-parallel NeCo steps, one process vs two ranks on the same cores, and the
# overlap of the gradients' all-reduce with backward.
set -euo pipefail
cd "$(dirname "$0")/../.."
DINOFEAT_LIBRARY=$PWD/lib/libdinofeat.so /usr/bin/python3 bench/distributed/bench_data_parallel.py "$@"
