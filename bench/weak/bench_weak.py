#!/usr/bin/python3
"""Classical features: dinofeat's 58-channel stack vs the numpy/scipy reference
(test/reference/classical_reference.py) on the same 1024 x 1024 image and threads, in one run.
Checks that both computed the same channels first; reports each side's time and the ratio
(reference / ours)."""
import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bindings", "python"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "test", "reference"))
import dinofeat  # noqa: E402
from classical_reference import classical_features  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    dinofeat.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:args.size, 0:args.size]
    grey = np.clip(100 + 50 * np.sin(xx / 7.0) * (yy > args.size // 2) + rng.normal(0, 15, xx.shape), 0, 255)
    grey = grey.astype(np.uint8)
    start = time.perf_counter()
    ours = dinofeat.weak.classical_features(grey)
    our_seconds = time.perf_counter() - start
    start = time.perf_counter()
    reference = classical_features(grey)
    reference_seconds = time.perf_counter() - start
    scale = np.abs(reference).reshape(-1, 58).max(0)
    worst = (np.abs(ours - reference).reshape(-1, 58).max(0) / np.maximum(scale, 1e-12)).max()
    print(f"classical features, {args.size} x {args.size}, {args.threads} threads "
          f"(largest channel-relative difference {worst:.1e})")
    print(f"numpy/scipy {reference_seconds:7.2f} s")
    print(f"dinofeat    {our_seconds:7.2f} s")
    print(f"time ratio (reference / ours): {reference_seconds / our_seconds:.1f}x")


if __name__ == "__main__":
    main()
