#!/usr/bin/python3
"""Fixtures for df_upsample: the reference upsampler (upsample_reference.py) on the tiny DINOv2
model of the model fixtures. manifest.txt lines:

  ups ID MODEL HEADS H W STRIDE SHIFTS NEIGHBOURHOOD FLIPS BORDER INTERP ATTENTION
  out ID NAME FILE NDIM D0 D1 ...

SHIFTS is "-" for none. The input image is the model fixtures' formula (batch index 0).
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import upsample_reference as ups  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/upsample"
MODELS = os.path.join(os.path.dirname(OUT.rstrip("/")), "models")
os.makedirs(OUT, exist_ok=True)
manifest = []


def image(h, w):
    n = np.arange(3 * h * w, dtype=np.int64)
    return torch.from_numpy(((n * 7919) % 2001).astype(np.float32) / np.float32(1000) - np.float32(1)).reshape(1, 3, h, w)


def case(case_id, model, heads, h, w, stride, shifts, neighbourhood, flips, border, interp, attention):
    state = torch.load(os.path.join(MODELS, model + ".pth"))
    distances = [int(d) for d in shifts.split(",")] if shifts != "-" else []
    features, attn = ups.upsample(state, image(h, w), heads, stride, distances, neighbourhood, flips, border, interp,
                                  attention)
    manifest.append(f"ups {case_id} {model} {heads} {h} {w} {stride} {shifts} {neighbourhood} {flips} {border} "
                    f"{interp} {attention}")
    for name, array in (("features", features), ("attention", attn)):
        array = array.contiguous().numpy().astype("<f4")
        file = f"{case_id}.{name}.raw"
        array.tofile(os.path.join(OUT, file))
        manifest.append(f"out {case_id} {name} {file} {array.ndim} " + " ".join(str(d) for d in array.shape))


case("shifts", "dinov2_s14", 2, 28, 42, 7, "1,2", "moore", "off", "wrap", "nearest-exact", "cls")
case("flips", "dinov2_s14", 2, 28, 42, 7, "-", "moore", "on", "wrap", "nearest-exact", "o")
case("products", "dinov2_s14", 2, 28, 42, 7, "1,2", "moore", "on", "wrap", "nearest-exact", "o")
case("products_wide", "dinov2_s14", 2, 45, 32, 4, "1,2", "moore", "on", "wrap", "nearest-exact", "cls")
case("zero_border", "dinov2_s14", 2, 45, 32, 4, "1", "neumann", "on", "zero", "nearest-exact", "k")
case("replicate_bilinear", "dinov2_s14_reg4", 2, 28, 42, 7, "2", "neumann", "official", "replicate", "bilinear", "v")
case("q_channels", "dino_s8", 2, 32, 40, 4, "1", "moore", "on", "wrap", "nearest-exact", "q")

with open(os.path.join(OUT, "manifest.txt"), "w") as f:
    f.write("\n".join(manifest) + "\n")
print(f"{len(manifest)} lines; {sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT)) // 1024} KiB")
