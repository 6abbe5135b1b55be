#!/usr/bin/python3
"""Weak supervision: the classical features and the random forest against their Python peers.

Classical features: dinofeat's 58-channel stack vs the numpy/scipy/scikit-image reference of HR-Dv2's
featuriser (test/reference/classical_reference.py) on the same 1024 x 1024 image and threads, in one run;
checks that both computed the same channels first; reports each side's time and the ratio
(reference / ours). Random forest: training on 20,000 labelled pixels of those features (200
trees, max_features 2, balanced) and predicting all 1,048,576 pixels, dinofeat vs scikit-learn
with the same threads. Live loop: the demo's synthetic micrograph at 1024 x 1024 (examples/make_micrograph.py),
its scribbles replayed one connected stroke at a time through dinofeat.weak.Live (features once, then per stroke
the forest refit and the whole image predicted): each step's latency, and the final mIoU against the ground truth
beside that of a full retrain (dinofeat.weak.train, the default 200 trees) on the same scribbles."""
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
    flat = reference.reshape(-1, 58)
    spread = flat.max(0) - flat.min(0)
    worst = (np.abs(ours - reference).reshape(-1, 58).max(0) / np.maximum(spread, 1e-30)).max()
    print(f"classical features, {args.size} x {args.size}, {args.threads} threads "
          f"(largest difference {worst:.1e} of a channel's range)")
    print(f"numpy/scipy {reference_seconds:7.2f} s")
    print(f"dinofeat    {our_seconds:7.2f} s")
    print(f"time ratio (reference / ours): {reference_seconds / our_seconds:.1f}x")
    bench_forest(ours, args)
    bench_live(args)


def bench_forest(features, args):
    from sklearn.ensemble import RandomForestClassifier
    from threadpoolctl import threadpool_limits
    rng = np.random.default_rng(1)
    x = features.reshape(-1, 58)
    # three classes from the image's own structure, so the trees are of realistic depth
    y = np.digitize(x[:, 7], np.quantile(x[:, 7], [1 / 3, 2 / 3])).astype(np.int32)
    picks = rng.choice(len(x), 20000, replace=False)
    start = time.perf_counter()
    ours = dinofeat.weak.RandomForest(200, max_features=2).fit(x[picks], y[picks], classes=3)
    our_fit = time.perf_counter() - start
    start = time.perf_counter()
    ours.predict_proba(x)
    our_predict = time.perf_counter() - start
    with threadpool_limits(args.threads):
        start = time.perf_counter()
        theirs = RandomForestClassifier(200, max_features=2, class_weight="balanced", n_jobs=args.threads,
                                        random_state=0).fit(x[picks], y[picks])
        their_fit = time.perf_counter() - start
        start = time.perf_counter()
        theirs.predict_proba(x)
        their_predict = time.perf_counter() - start
    print(f"random forest, 200 trees, fit 20000 x 58, predict {len(x)} pixels, {args.threads} threads")
    print(f"scikit-learn fit {their_fit:6.2f} s  predict {their_predict:6.2f} s")
    print(f"dinofeat     fit {our_fit:6.2f} s  predict {our_predict:6.2f} s")
    print(f"time ratios (scikit-learn / ours): fit {their_fit / our_fit:.1f}x, predict {their_predict / our_predict:.1f}x")


def bench_live(args):
    import itertools
    import subprocess
    import tempfile
    from PIL import Image
    from scipy import ndimage
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, os.path.join(HERE, "..", "..", "examples", "make_micrograph.py"), tmp,
                        "--size", str(args.size)], check=True, stdout=subprocess.DEVNULL)
        image = np.array(Image.open(os.path.join(tmp, "micrograph.png")))
        scribbles = np.array(Image.open(os.path.join(tmp, "scribbles.png")))
        truth = np.array(Image.open(os.path.join(tmp, "truth.png")))

    def miou(labels):
        return np.mean([((labels == k) & (truth == k)).sum() / ((labels == k) | (truth == k)).sum() for k in (1, 2, 3)])

    strokes = []  # connected strokes, the classes taking turns, as a person would paint them
    for k in (1, 2, 3):
        components, count = ndimage.label(scribbles == k)
        strokes.append([(k, components == c) for c in range(1, count + 1)])
    order = [s for group in itertools.zip_longest(*strokes) for s in group if s is not None]
    start = time.perf_counter()
    live = dinofeat.weak.Live(image)
    feature_seconds = time.perf_counter() - start
    latencies = []
    for k, mask in order:
        ys, xs = np.nonzero(mask)
        y0, x0 = ys.min(), xs.min()
        live.set_labels(np.where(mask[y0:ys.max() + 1, x0:xs.max() + 1], k, -1), x0, y0)
        start = time.perf_counter()
        labels, _ = live.predict()
        latencies.append(time.perf_counter() - start)
    live_miou = miou(labels)
    start = time.perf_counter()
    full = dinofeat.weak.train(image, scribbles)
    full_labels, _ = full.predict(image)
    full_seconds = time.perf_counter() - start
    full_miou = miou(full_labels)
    print(f"live loop, {args.size} x {args.size} micrograph, {len(order)} strokes ({(scribbles > 0).sum()} pixels), "
          f"{args.threads} threads, 100 trees")
    print(f"features once {feature_seconds:6.2f} s; per stroke refit + predict the whole image: "
          f"median {np.median(latencies):.2f} s, slowest {max(latencies):.2f} s")
    print(f"full retrain per stroke instead (features, 200 trees, predict): {full_seconds:.2f} s "
          f"({full_seconds / max(latencies):.1f}x the slowest live step)")
    print(f"mIoU: live {live_miou:.4f}, full retrain {full_miou:.4f} (difference {abs(live_miou - full_miou):.4f})")


if __name__ == "__main__":
    main()
