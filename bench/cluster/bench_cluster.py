#!/usr/bin/python3
"""The segmentation toolkit: k-means vs scikit-learn, the dense CRF, the HR-Dv2 workflow.

k-means, HR-Dv2's setting: K = 80, fit on 50,000 x 384 points (k-means++, best of --inits), then
assign 200,000 points, against scikit-learn's KMeans on the same data and threads. Data: 80
planted clusters with noise, so both reach comparable optima. Reports each side's time and inertia
on the fitted sample, and the time ratio (scikit-learn / ours).

Dense CRF: a 512 x 512 image with 10 labels, HR-Dv2's parameters, 10 iterations on the
permutohedral lattice; and, on a 64 x 64 image, the lattice against the exact O(N^2) filter (time
ratio and the largest probability difference).

HR-Dv2 class-agnostic segmentation end to end on a 224 x 224 image with a random ViT-S/14 with
registers (51 views at stride 4, 80 clusters, CRF): each stage's time.
"""
import argparse
import os
import sys
import time

import tempfile

import numpy as np
import torch
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bindings", "python"))
import dinofeat  # noqa: E402


def bench_kmeans(args):
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 1, (args.k, args.dim)).astype(np.float32)
    labels = rng.integers(0, args.k, args.points)
    points = centres[labels] + rng.normal(0, 0.7, (args.points, args.dim)).astype(np.float32)
    sample = points[: args.sample]
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
    if args.seeds > 1:
        # One run's inertia depends on its seed's luck; the mean over seeds compares the methods.
        mine, sk = [ours.inertia], [theirs.inertia_]
        with threadpool_limits(args.threads):
            for seed in range(1, args.seeds):
                sk.append(KMeans(args.k, n_init=args.inits, max_iter=300, tol=1e-4, random_state=seed).fit(sample).inertia_)
                mine.append(dinofeat.KMeans(args.k, inits=args.inits, max_iter=300, tol=1e-4, seed=seed).fit(sample).inertia)
        print(f"mean inertia over seeds 0..{args.seeds - 1}: ours / scikit-learn = {np.mean(mine) / np.mean(sk):.4f} "
              f"(ours {np.min(mine):.6g}..{np.max(mine):.6g}, scikit-learn {np.min(sk):.6g}..{np.max(sk):.6g})")


def scene(size, labels, rng):
    """Blocky regions of distinct colours with noise, and noisy probabilities favouring them."""
    blocks = rng.integers(0, labels, (8, 8))
    region = np.kron(blocks, np.ones((size // 8, size // 8), np.int64))
    rgb = np.clip(rng.integers(0, 256, (labels, 3))[region] + rng.normal(0, 10, (size, size, 3)), 0, 255)
    logits = rng.normal(0, 1, (size, size, labels))
    logits[np.arange(size)[:, None], np.arange(size)[None, :], region] += 1.0
    p = np.exp(logits - logits.max(2, keepdims=True))
    return rgb.astype(np.uint8), (p / p.sum(2, keepdims=True)).astype(np.float32)


def bench_crf(args):
    rng = np.random.default_rng(1)
    rgb, p = scene(512, 10, rng)
    dinofeat.crf(rgb, p)  # warm-up
    times = []
    for _ in range(3):
        start = time.perf_counter()
        dinofeat.crf(rgb, p)
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    dinofeat.crf(rgb, p, iterations=0)
    setup = time.perf_counter() - start
    best = min(times)
    print(f"CRF 512 x 512, 10 labels, 10 iterations (HR-Dv2 preset), lattice: {best:.2f} s "
          f"({setup:.2f} s building the lattices, {(best - setup) / 10 * 1000:.0f} ms per iteration)")
    rgb, p = scene(64, 10, rng)
    start = time.perf_counter()
    _, q_lattice = dinofeat.crf(rgb, p)
    lattice = time.perf_counter() - start
    start = time.perf_counter()
    _, q_exact = dinofeat.crf(rgb, p, exact=True)
    exact = time.perf_counter() - start
    print(f"CRF 64 x 64: exact filter {exact:.2f} s, lattice {lattice:.3f} s: {exact / lattice:.0f}x faster, "
          f"max |Q difference| {np.abs(q_lattice - q_exact).max():.3f}, mean {np.abs(q_lattice - q_exact).mean():.4f}")


def random_vits14_reg(path, seed=0):
    """A ViT-S/14 with 4 registers and every weight random, in the official DINOv2 layout."""
    g = torch.Generator().manual_seed(seed)
    dim = 384

    def r(*shape, scale=0.02, center=0.0):
        return center + scale * torch.randn(*shape, generator=g)
    s = {"cls_token": r(1, 1, dim), "pos_embed": r(1, 1 + 37 * 37, dim), "register_tokens": r(1, 4, dim),
         "mask_token": r(1, dim), "patch_embed.proj.weight": r(dim, 3, 14, 14), "patch_embed.proj.bias": r(dim),
         "norm.weight": r(dim, center=1.0), "norm.bias": r(dim)}
    for i in range(12):
        p = f"blocks.{i}."
        s.update({p + "norm1.weight": r(dim, center=1.0), p + "norm1.bias": r(dim),
                  p + "attn.qkv.weight": r(3 * dim, dim), p + "attn.qkv.bias": r(3 * dim),
                  p + "attn.proj.weight": r(dim, dim), p + "attn.proj.bias": r(dim),
                  p + "ls1.gamma": r(dim, center=0.1), p + "ls2.gamma": r(dim, center=0.1),
                  p + "norm2.weight": r(dim, center=1.0), p + "norm2.bias": r(dim),
                  p + "mlp.fc1.weight": r(4 * dim, dim), p + "mlp.fc1.bias": r(4 * dim),
                  p + "mlp.fc2.weight": r(dim, 4 * dim), p + "mlp.fc2.bias": r(dim)})
    torch.save(s, path)


def bench_workflow(args):
    rng = np.random.default_rng(2)
    image, _ = scene(224, 6, rng)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "vits14_reg4.pth")
        random_vits14_reg(path)
        model = dinofeat.Model(path)
        marks = []
        start = time.perf_counter()
        result = model.segment(image, progress=lambda done, total, stage: marks.append((stage, time.perf_counter())) and False)
        total = time.perf_counter() - start
    print(f"HR-Dv2 segmentation, 224 x 224, random ViT-S/14 + registers: {total:.2f} s, "
          f"{result['class_count']} classes, {len(result['boxes'])} boxes")
    previous = start
    for stage in ("upsample", "kmeans", "merge", "crf", "regions"):
        ends = [t for s, t in marks if s == stage]
        if ends:
            print(f"  {stage:9s} {ends[-1] - previous:6.2f} s")
            previous = ends[-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=80)
    parser.add_argument("--sample", type=int, default=50000)
    parser.add_argument("--points", type=int, default=200000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--inits", type=int, default=1)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--seeds", type=int, default=5, help="k-means: seeds over which mean inertias are compared")
    parser.add_argument("--only", choices=("kmeans", "crf", "workflow"))
    args = parser.parse_args()
    dinofeat.set_num_threads(args.threads)
    for name, bench in (("kmeans", bench_kmeans), ("crf", bench_crf), ("workflow", bench_workflow)):
        if args.only in (None, name):
            bench(args)


if __name__ == "__main__":
    main()
