#!/usr/bin/python3
"""Classical feature fixtures (classical_reference.py, HR-Dv2's featuriser semantics): three grey
images of 64 x 48, 127 x 129 and 256 x 256 (random bytes over smooth shapes, so that both the
noise and the wide Gaussians' Hessians are exercised), and the 58 channels of a set of their
pixels: every pixel of the first, and of the others the three rows and columns at each border and
2000 random pixels inside.

Then three images with other groups and settings, every pixel: all the groups this library offers
with scales 0..8 and a 15 x 15 membrane of thickness 3; the rank filters and neighbours from
sigma 0.5 to 4; scales 3, 6.93, 16 (not powers of two).

manifest.txt: "image NAME H W COUNT"; NAME.u8 (H x W bytes), NAME.index.u32 (COUNT pixel indices
y * W + x), NAME.f32 (COUNT x 58 float32); and "settings NAME H W GROUPS MIN MAX SIZE THICKNESS
CHANNELS": NAME.u8, NAME.f32 (H x W x CHANNELS float32); "settings16 ..." the same of a 16-bit
image NAME.u16 (little-endian); "groups NAME H W COUNT CHANNELS": every group at the default
scales of image NAME at COUNT pixels, NAME.groups.index.u32 and NAME.groups.f32."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from classical_reference import classical_features  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/classical"
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(21)
lines = []
for name, (h, w) in (("small", (48, 64)), ("odd", (129, 127)), ("square", (256, 256))):
    yy, xx = np.mgrid[0:h, 0:w]
    smooth = 120 + 80 * np.sin(xx / 9.0) * np.cos(yy / 13.0) + 50 * ((xx - w / 3) ** 2 + (yy - h / 2) ** 2 < (h / 4) ** 2)
    noise = rng.normal(0, 25, (h, w)) * (xx > w / 2)
    grey = np.clip(smooth + noise, 0, 255).astype(np.uint8)
    features = classical_features(grey).reshape(h * w, 58)
    if name == "small":
        index = np.arange(h * w)
    else:
        border = (yy < 3) | (yy >= h - 3) | (xx < 3) | (xx >= w - 3)
        inside = np.flatnonzero(~border)
        index = np.union1d(np.flatnonzero(border), rng.choice(inside, 2000, replace=False))
    grey.tofile(os.path.join(OUT, f"{name}.u8"))
    index.astype("<u4").tofile(os.path.join(OUT, f"{name}.index.u32"))
    features[index].astype("<f4").tofile(os.path.join(OUT, f"{name}.f32"))
    lines.append(f"image {name} {h} {w} {len(index)}")
ALL = ("gaussian,sobel,hessian,dog,membrane,mean,median,minimum,maximum,entropy,structure,neighbours,derivatives,"
       "bilateral")
for name, (h, w), groups, low, high, size, thickness in (
        ("all_groups", (29, 35), ALL, 0, 8, 15, 3),
        ("rank_half", (33, 40), "mean,median,minimum,maximum,neighbours,gaussian", -1, 4, 19, 1),
        ("odd_scales", (37, 45), "gaussian,hessian,mean,neighbours,dog", 3, 16, 19, 1)):
    grey = rng.integers(0, 256, (h, w), dtype=np.uint8)
    grey[: h // 2] = np.clip(grey[: h // 2] // 4 + 100, 0, 255)  # a quieter half: rank ties
    features = classical_features(grey, groups.split(","), low, high, size, thickness)
    grey.tofile(os.path.join(OUT, f"{name}.u8"))
    features.astype("<f4").tofile(os.path.join(OUT, f"{name}.f32"))
    lines.append(f"settings {name} {h} {w} {groups} {low} {high} {size} {thickness} {features.shape[-1]}")
# a 16-bit image (12 bits used, as many microscopes write): every group, the rank filters on the
# high bytes
h, w = 31, 38
grey16 = (rng.integers(0, 4096, (h, w)) * 16 + rng.integers(0, 16, (h, w))).astype(np.uint16)
grey16[: h // 3] = 30000 + grey16[: h // 3] // 8
features = classical_features(grey16, ALL.split(","), 0, 4, 19, 1)
grey16.astype("<u2").tofile(os.path.join(OUT, "sixteen.u16"))
features.astype("<f4").tofile(os.path.join(OUT, "sixteen.f32"))
lines.append(f"settings16 sixteen {h} {w} {ALL} 0 4 19 1 {features.shape[-1]}")
# every group at the default scales on the three images above: their border pixels and 400 inside
picker = np.random.default_rng(22)
for name, (h, w) in (("small", (48, 64)), ("odd", (129, 127)), ("square", (256, 256))):
    grey = np.fromfile(os.path.join(OUT, f"{name}.u8"), np.uint8).reshape(h, w)
    features = classical_features(grey, ALL.split(","))
    yy, xx = np.mgrid[0:h, 0:w]
    border = (yy < 3) | (yy >= h - 3) | (xx < 3) | (xx >= w - 3)
    index = np.union1d(np.flatnonzero(border), picker.choice(np.flatnonzero(~border), 400, replace=False))
    index.astype("<u4").tofile(os.path.join(OUT, f"{name}.groups.index.u32"))
    features.reshape(h * w, -1)[index].astype("<f4").tofile(os.path.join(OUT, f"{name}.groups.f32"))
    lines.append(f"groups {name} {h} {w} {len(index)} {features.shape[-1]}")
with open(os.path.join(OUT, "manifest.txt"), "w") as f:
    f.write("\n".join(lines) + "\n")
print("\n".join(lines))
