#!/usr/bin/python3
"""Dense-CRF fixtures from the exact numpy mean-field of crf_reference.py:

  crf NAME W H LABELS KIND ITER GSXY GCOMPAT BSXY BSRGB BCOMPAT NORM RGB UNARY Q
      KIND 0 = probabilities (unary = -log max(p, 1e-5)), 1 = energies; NORM 0 = symmetric, 1 = none;
      RGB uint8 (H, W, 3); UNARY float32 (H*W, LABELS); Q float64 (H*W, LABELS) after ITER steps.
  lattice NAME Q   the same case with the permutohedral-lattice filter (lattice_reference.py, the
                   library's default), its unary rounded to float32 as the library reads it.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lattice_reference  # noqa: E402
from crf_reference import mean_field  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/crf"
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(31)


def scene(w, h, labels):
    """Regions of distinct colours (a disc, a bar, the rest), noisy, and noisy unaries favouring them."""
    yy, xx = np.mgrid[0:h, 0:w]
    region = np.zeros((h, w), np.int64)
    region[((xx - w * 0.6) ** 2 + (yy - h * 0.45) ** 2) < (min(w, h) * 0.3) ** 2] = 1
    if labels > 2:
        region[:, : w // 5] = 2
    colours = np.array([[40, 60, 200], [220, 180, 30], [30, 160, 60], [200, 40, 120]])
    rgb = colours[region] + rng.normal(0, 12, (h, w, 3))
    rgb = np.clip(rgb, 0, 255).astype(np.uint8)
    logits = rng.normal(0, 1.0, (h * w, labels))
    logits[np.arange(h * w), region.reshape(-1) % labels] += 0.8
    return rgb, logits


cases = [
    # name, w, h, labels, kind, iterations, (gsxy, gcompat), (bsxy, bsrgb, bcompat), symmetric
    ("hrdv2", 24, 20, 3, 1, 10, (3.0, 10.0), (80.0, 13.0, 10.0), True),
    ("stego", 32, 32, 4, 0, 10, (1.0, 3.0), (67.0, 3.0, 4.0), True),
    ("plain", 16, 12, 2, 1, 5, (2.0, 0.3), (10.0, 20.0, 0.2), False),
    ("bilateral", 20, 16, 3, 1, 10, (3.0, 0.0), (8.0, 30.0, 5.0), True),
]
manifest, lattice_lines = [], []
for name, w, h, labels, kind, iters, gauss, bil, symmetric in cases:
    rgb, logits = scene(w, h, labels)
    if kind == 0:
        p = np.exp(logits - logits.max(1, keepdims=True))
        unary_in = (p / p.sum(1, keepdims=True)).astype(np.float32)
        unary = -np.log(np.maximum(unary_in.astype(np.float64), 1e-5))
    else:
        unary_in = np.abs(logits - 2.0).astype(np.float32)
        unary = unary_in.astype(np.float64)
    q = mean_field(rgb, unary, iters, gauss, bil, symmetric)
    rgb.tofile(os.path.join(OUT, f"{name}.rgb.u8"))
    unary_in.tofile(os.path.join(OUT, f"{name}.unary.f32"))
    q.astype(np.float64).tofile(os.path.join(OUT, f"{name}.q.f64"))
    manifest.append(f"crf {name} {w} {h} {labels} {kind} {iters} {gauss[0]} {gauss[1]} {bil[0]} {bil[1]} "
                    f"{bil[2]} {0 if symmetric else 1} {name}.rgb.u8 {name}.unary.f32 {name}.q.f64")
    q_lattice = lattice_reference.mean_field(rgb, unary.astype(np.float32).astype(np.float64), iters, gauss, bil,
                                             symmetric)
    q_lattice.tofile(os.path.join(OUT, f"{name}.q_lattice.f64"))
    lattice_lines.append(f"lattice {name} {name}.q_lattice.f64")
with open(os.path.join(OUT, "manifest.txt"), "w") as f:
    f.write("\n".join(manifest + lattice_lines) + "\n")
