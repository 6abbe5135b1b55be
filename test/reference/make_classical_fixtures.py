#!/usr/bin/python3
"""Classical feature fixtures: a 64 x 80 grey image with texture, edges and flat areas, and its 58
channels from classical_reference.py (float64, stored as float32): grey.u8 (64, 80), features.f32
(64, 80, 58)."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from classical_reference import classical_features  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/classical"
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(23)
h, w = 64, 80
yy, xx = np.mgrid[0:h, 0:w]
grey = 90 + 60 * np.sin(xx / 5.0) * (yy > 30) + 40 * ((xx - 55) ** 2 + (yy - 20) ** 2 < 150) + rng.normal(0, 12, (h, w))
grey = np.clip(grey, 0, 255).astype(np.uint8)
grey.tofile(os.path.join(OUT, "grey.u8"))
classical_features(grey).astype("<f4").tofile(os.path.join(OUT, "features.f32"))
print("64 x 80 x 58 written")
