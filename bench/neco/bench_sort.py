#!/usr/bin/python3
"""NeCo's differentiable sort (bitonic, cauchy, steepness 100, float32): dinofeat's column updates
vs the dense-matrix algorithm of the reference (diffsort's functional.sort, in plain PyTorch on the
same libtorch and threads), for n = 49, 64, 128, 256. Forward: values and P of 4096 rows. Backward:
the gradient of sum(G_s * sorted) + sum(G_p * P) (forward included) on as many rows as keep every
layer's saved tensors in memory (rows x n^2 <= 2^24: 4096 rows up to n = 64, 1024 at 128, 256 at
256). Checks that both sides agree, then reports the time ratio (reference / ours) of each."""
import argparse
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bindings", "python"))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "..", "test", "reference"))
import dinofeat  # noqa: E402
from timing import timed  # noqa: E402
from diffsort_reference import bitonic_network, sort  # noqa: E402


def reference_backward(network, x, gs, gp):
    t = torch.tensor(x, requires_grad=True)
    values, p = sort(network, t, steepness=100.0, sigmoid="cauchy")
    ((values * gs).sum() + (p * gp).sum()).backward()
    return t.grad.numpy()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dinofeat.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    print(f"bitonic sort, cauchy, steepness 100, float32, {args.threads} threads (torch {torch.__version__})")
    print("| n | rows fwd | forward ref / ours | rows bwd | backward ref / ours |")
    print("| --- | --- | --- | --- | --- |")
    for n in (49, 64, 128, 256):
        network = bitonic_network(n)
        x = rng.standard_normal((4096, n)).astype(np.float32)
        with torch.no_grad():
            want, want_p = sort(network, torch.from_numpy(x), steepness=100.0)
        got, got_p = dinofeat.neco.sort(x, steepness=100.0)
        # float32 at steepness 100: alpha moves by up to 32x a rounding of x_b - x_a (float64 agrees to 1e-14)
        if np.abs(got_p - want_p.numpy()).max() > 1e-4 or np.abs(got - want.numpy()).max() > 1e-4:
            sys.exit(f"n = {n}: the two sides disagree")
        del got_p, want_p
        ours = timed(lambda: dinofeat.neco.sort(x, steepness=100.0), args.repeats)
        with torch.no_grad():
            theirs = timed(lambda: sort(network, torch.from_numpy(x), steepness=100.0), args.repeats)
        rows = min(4096, (1 << 24) // (n * n))
        xb = x[:rows]
        gs = rng.standard_normal((rows, n)).astype(np.float32)
        gp = rng.standard_normal((rows, n, n)).astype(np.float32)
        tgs, tgp = torch.from_numpy(gs), torch.from_numpy(gp)
        grad = dinofeat.neco.sort_backward(xb, gs, gp, steepness=100.0)
        if np.abs(grad - reference_backward(network, xb, tgs, tgp)).max() > 1e-3 * max(1.0, np.abs(grad).max()):
            sys.exit(f"n = {n}: the gradients disagree")
        ours_b = timed(lambda: dinofeat.neco.sort_backward(xb, gs, gp, steepness=100.0), args.repeats)
        theirs_b = timed(lambda: reference_backward(network, xb, tgs, tgp), args.repeats)
        print(f"| {n} | 4096 | {theirs / ours:.1f}x ({1000 * theirs:.0f} / {1000 * ours:.0f} ms) | {rows} | "
              f"{theirs_b / ours_b:.1f}x ({1000 * theirs_b:.0f} / {1000 * ours_b:.0f} ms) |", flush=True)


if __name__ == "__main__":
    main()
