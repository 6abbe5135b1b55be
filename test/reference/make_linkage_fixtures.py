#!/usr/bin/python3
"""Complete-linkage fixtures: scipy.cluster.hierarchy.linkage(points, 'complete') cut with
fcluster(Z, t, 'distance') at several thresholds.

  points NAME N D FILE                 float32 points
  cut NAME THRESHOLD COUNT FILE        int32 scipy cluster of each point (1..COUNT)
"""
import os
import sys

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage

OUT = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/linkage"
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(3)
manifest = []
for name, n, d in (("tiny", 12, 2), ("centroids", 80, 16), ("many", 600, 8)):
    points = rng.normal(0, 1, (n, d)).astype(np.float32)
    points.tofile(os.path.join(OUT, f"{name}.f32"))
    manifest.append(f"points {name} {n} {d} {name}.f32")
    z = linkage(points.astype(np.float64), "complete")
    for q in (0.1, 0.5, 0.9):
        t = float(np.quantile(z[:, 2], q)) + 1e-9  # between merge heights: no ties at the cut
        labels = fcluster(z, t, "distance")
        file = f"{name}.{int(q * 100)}.i32"
        labels.astype("<i4").tofile(os.path.join(OUT, file))
        manifest.append(f"cut {name} {t:.17g} {labels.max()} {file}")
with open(os.path.join(OUT, "manifest.txt"), "w") as f:
    f.write("\n".join(manifest) + "\n")
print(len(manifest), "lines")
