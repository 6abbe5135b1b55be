#!/usr/bin/python3
"""DatUS² crop fixtures: masked tight crops of hand-made segments on a 64 x 64 image (an 8 x 8 grid of
the tiny DINO ViT-S/8-shaped model's 8-pixel patches), resized with torchvision's Resize (short side
RESIZE, PIL bicubic) and CenterCrop(CROP), and their L2-normalised final-norm [CLS] features from
vit_reference.py.

  crops GH GW PATCH RESIZE CROP COUNT MODEL HEADS   files image.rgb.u8 (64, 64, 3), segments.i32
  (8, 8), crop{k}.u8 (CROP, CROP, 3) and features.f32 (COUNT, 16)
"""
import os
import sys

import numpy as np
import torch
from PIL import Image
from torchvision import transforms

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vit_reference as vit  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/datus_crops"
MODELS = os.path.join(os.path.dirname(OUT.rstrip("/")), "models")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(71)
GH = GW = 8
PATCH, RESIZE, CROP = 8, 40, 32
image = rng.integers(0, 256, (GH * PATCH, GW * PATCH, 3), dtype=np.uint8)
segments = np.zeros((GH, GW), np.int32)
segments[0:3, 0:5] = 1          # a wide box
segments[2:8, 6:8] = 2          # a tall box
segments[5:7, 1:4] = 3          # a small one
segments[4, 1] = 3              # an L-shape: its box holds pixels of other segments, masked
state = torch.load(os.path.join(MODELS, "dino_s8.pth"))
normalise = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.485, 0.456, 0.406),
                                                                            (0.229, 0.224, 0.225))])
features = []
for k in range(1, 4):
    ys, xs = np.nonzero(segments == k)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    mask = np.kron((segments == k).astype(np.uint8), np.ones((PATCH, PATCH), np.uint8)).astype(bool)
    masked = np.where(mask[..., None], image, 0)[y0 * PATCH:y1 * PATCH, x0 * PATCH:x1 * PATCH]
    crop = transforms.CenterCrop(CROP)(transforms.Resize(RESIZE, interpolation=transforms.InterpolationMode.BICUBIC)(
        Image.fromarray(np.ascontiguousarray(masked))))
    crop_array = np.asarray(crop)
    crop_array.tofile(os.path.join(OUT, f"crop{k}.u8"))
    x = normalise(crop).unsqueeze(0)
    cls = vit.forward(state, x, 2)["cls"][0].double()
    features.append((cls / cls.norm()).float().numpy())
image.tofile(os.path.join(OUT, "image.rgb.u8"))
segments.tofile(os.path.join(OUT, "segments.i32"))
np.stack(features).astype("<f4").tofile(os.path.join(OUT, "features.f32"))
with open(os.path.join(OUT, "manifest.txt"), "w") as f:
    f.write(f"crops {GH} {GW} {PATCH} {RESIZE} {CROP} 3 dino_s8 2\n")
