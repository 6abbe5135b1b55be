#!/usr/bin/env bash
# make bench runs this: image preprocessing against PIL + torchvision.
set -euo pipefail
cd "$(dirname "$0")/../.."
DINOFEAT_LIBRARY=$PWD/lib/libdinofeat.so /usr/bin/python3 bench/image/bench_image.py
