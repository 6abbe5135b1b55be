#!/usr/bin/python3
"""k-means fixtures: planted Gaussian clusters and scikit-learn's results on them.

  data NAME N D K FILE               float32 points, row-major
  labels NAME FILE                   int32 planted cluster of each point
  sklearn NAME METRIC INERTIA        best-of-10 k-means++ inertia (cosine: on L2-normalised rows)
"""
import os
import sys

import numpy as np
from sklearn.cluster import KMeans

OUT = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/kmeans"
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(7)
manifest = []


def planted(name, n, d, k, spread):
    centres = rng.normal(0, 1, (k, d)) * 6
    labels = rng.integers(0, k, n)
    points = (centres[labels] + rng.normal(0, spread, (n, d))).astype(np.float32)
    points.tofile(os.path.join(OUT, f"{name}.f32"))
    labels.astype(np.int32).tofile(os.path.join(OUT, f"{name}.labels.i32"))
    manifest.append(f"data {name} {n} {d} {k} {name}.f32")
    manifest.append(f"labels {name} {name}.labels.i32")
    for metric in ("euclidean", "cosine"):
        x = points if metric == "euclidean" else points / np.linalg.norm(points, axis=1, keepdims=True)
        model = KMeans(n_clusters=k, n_init=10, init="k-means++", max_iter=300, tol=1e-4, random_state=0).fit(x)
        manifest.append(f"sklearn {name} {metric} {model.inertia_:.9g}")


planted("separated", 1500, 8, 6, 0.5)     # planted clusters recovered exactly
planted("overlapping", 2000, 16, 12, 2.5)  # a harder objective, for the inertia comparison
with open(os.path.join(OUT, "manifest.txt"), "w") as f:
    f.write("\n".join(manifest) + "\n")
print("\n".join(manifest))
