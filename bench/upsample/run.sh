#!/usr/bin/env bash
# make bench runs this: HR-Dv2 upsampling against the plain-PyTorch reference (224 x 224 on the CPU;
# pass --sizes 224,448 --device cuda on a GPU).
set -euo pipefail
cd "$(dirname "$0")/../.."
DINOFEAT_LIBRARY=$PWD/lib/libdinofeat.so /usr/bin/python3 bench/upsample/bench_upsample.py "$@"
