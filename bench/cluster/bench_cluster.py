#!/usr/bin/python3
"""k-means: dinofeat vs scikit-learn's KMeans on the same data and threads, in one run.

HR-Dv2's setting: K = 80, fit on 50,000 x 384 points (k-means++, best of --inits), then assign
200,000 points. Data: 80 planted clusters with noise, so both reach comparable optima. Reports
each side's time and inertia on the fitted sample, and the time ratio (scikit-learn / ours).
"""
import argparse
import os
import sys
import time

import numpy as np
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bindings", "python"))
import dinofeat  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=80)
    parser.add_argument("--sample", type=int, default=50000)
    parser.add_argument("--points", type=int, default=200000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--inits", type=int, default=1)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 1, (args.k, args.dim)).astype(np.float32)
    labels = rng.integers(0, args.k, args.points)
    points = centres[labels] + rng.normal(0, 0.7, (args.points, args.dim)).astype(np.float32)
    sample = points[: args.sample]
    dinofeat.set_num_threads(args.threads)
    print(f"k-means K={args.k}, fit {args.sample} x {args.dim}, assign {args.points}, best of {args.inits} init(s), "
          f"{args.threads} threads")
    with threadpool_limits(args.threads):
        start = time.perf_counter()
        theirs = KMeans(args.k, n_init=args.inits, max_iter=300, tol=1e-4, random_state=0).fit(sample)
        theirs.predict(points)
        sklearn_seconds = time.perf_counter() - start
    start = time.perf_counter()
    ours = dinofeat.KMeans(args.k, inits=args.inits, max_iter=300, tol=1e-4, seed=0).fit(sample)
    ours.predict(points)
    our_seconds = time.perf_counter() - start
    print(f"scikit-learn {sklearn_seconds:7.2f} s  inertia {theirs.inertia_:.6g}  iterations {theirs.n_iter_}")
    print(f"dinofeat     {our_seconds:7.2f} s  inertia {ours.inertia:.6g}  iterations {ours.iterations}")
    print(f"time ratio (scikit-learn / ours): {sklearn_seconds / our_seconds:.2f}x; "
          f"inertia ratio (ours / scikit-learn): {ours.inertia / theirs.inertia_:.4f}")


if __name__ == "__main__":
    main()
