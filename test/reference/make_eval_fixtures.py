#!/usr/bin/python3
"""Evaluation fixtures, computed independently with scipy / numpy:

  assign NAME ROWS COLS FILE TOTAL    float64 cost matrix; scipy's optimal total
  pairs NAME FILE                     int64 (row, col) pairs of scipy's assignment
  maps NAME N K C PRED GT             int32 label arrays (255 in GT = ignore)
  score NAME PROTOCOL MIOU ACC F1     the metrics, ignore pixels excluded; unmatched clusters'
                                      pixels count as false negatives of their true class
"""
import os
import sys

import numpy as np
from scipy.optimize import linear_sum_assignment

OUT = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/eval"
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(11)
manifest = []

for rows, cols in ((1, 1), (5, 5), (10, 7), (7, 10), (40, 60), (60, 40), (3, 8), (25, 25)):
    name = f"cost_{rows}x{cols}"
    cost = rng.uniform(-10, 10, (rows, cols))
    r, c = linear_sum_assignment(cost)
    cost.astype("<f8").tofile(os.path.join(OUT, name + ".f64"))
    np.stack([r, c], 1).astype("<i8").tofile(os.path.join(OUT, name + ".pairs.i64"))
    manifest.append(f"assign {name} {rows} {cols} {name}.f64 {cost[r, c].sum():.17g}")
    manifest.append(f"pairs {name} {name}.pairs.i64")


def scores(pred, gt, k, c, protocol):
    keep = gt != 255
    m = np.zeros((k, c), np.int64)
    np.add.at(m, (pred[keep], gt[keep]), 1)
    if protocol == "hungarian":
        rows, cols = linear_sum_assignment(-m)          # clusters -> classes, one to one
        mapping = np.full(k, -1)
        mapping[rows] = cols
    else:
        mapping = np.where(m.sum(1) > 0, m.argmax(1), -1)  # each cluster to its best class
    ious, f1s = [], []
    tp_total = 0
    for cls in range(c):
        mine = mapping == cls
        tp = m[mine, cls].sum()
        fp = m[mine].sum() - tp
        fn = m[:, cls].sum() - tp
        tp_total += tp
        if tp + fp + fn > 0:
            ious.append(tp / (tp + fp + fn))
            f1s.append(2 * tp / (2 * tp + fp + fn))
    return np.mean(ious), tp_total / m.sum(), np.mean(f1s)


for name, n, k, c in (("equal", 5000, 6, 6), ("over", 8000, 12, 5), ("small", 50, 4, 3)):
    gt = rng.integers(0, c, n)
    # predictions correlated with the truth, so the matching matters
    pred = np.where(rng.random(n) < 0.7, (gt * 2 + rng.integers(0, 2, n)) % k, rng.integers(0, k, n))
    gt = np.where(rng.random(n) < 0.05, 255, gt)
    pred.astype("<i4").tofile(os.path.join(OUT, name + ".pred.i32"))
    gt.astype("<i4").tofile(os.path.join(OUT, name + ".gt.i32"))
    manifest.append(f"maps {name} {n} {k} {c} {name}.pred.i32 {name}.gt.i32")
    for protocol in ("hungarian", "many-to-one"):
        miou, acc, f1 = scores(pred, gt, k, c, protocol)
        manifest.append(f"score {name} {protocol} {miou:.17g} {acc:.17g} {f1:.17g}")

with open(os.path.join(OUT, "manifest.txt"), "w") as f:
    f.write("\n".join(manifest) + "\n")
print(len(manifest), "lines")
