#!/usr/bin/python3
"""df_neco_views' crops made by other code: the boxes by torchvision's RandomResizedCrop.get_params
(scale 0.25..1 for global crops, 0.05..0.25 for local ones; aspect 3/4..4/3; ten tries, then the
centre crop) with dinofeat's generator behind its draws (splitmix64; a uniform in [lo, hi) from 53
bits, an integer below n as the draw modulo n), each box redrawn (up to 1000 times, then the whole
image) until it overlaps every earlier global box by more than floor(W H min_intersection) pixels
(twice that between globals); the crops by PIL (crop, then resize with Image.BILINEAR); ImageNet
normalisation. Colour jitter, greyscale and blur are off (probability 0), but their three draws
per crop are taken, as the library takes them:

  views ID SEED GLOBAL_SIZE LOCAL_SIZE GLOBALS LOCALS MIN_INTERSECTION
      ID.image.png (RGB), ID.global.f32 (G, 3, S, S), ID.local.f32 (L, 3, s, s), ID.boxes.f32 (G + L, 4)
"""
import math
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from generator import Generator  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/neco"
os.makedirs(OUT, exist_ok=True)
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def get_params(g, width, height, scale):
    """torchvision.transforms.RandomResizedCrop.get_params, its draws from g."""
    area = width * height
    log_ratio = (math.log(3 / 4), math.log(4 / 3))
    for _ in range(10):
        target = area * g.uniform_range(*scale)
        aspect = math.exp(g.uniform_range(*log_ratio))
        w, h = int(round(math.sqrt(target * aspect))), int(round(math.sqrt(target / aspect)))
        if 0 < w <= width and 0 < h <= height:
            top, left = g.below(height - h + 1), g.below(width - w + 1)
            return [left, top, left + w, top + h]
    ratio = width / height
    w, h = width, height
    if ratio < 3 / 4:
        h = int(round(w / (3 / 4)))
    elif ratio > 4 / 3:
        w = int(round(h * (4 / 3)))
    left, top = (width - w) // 2, (height - h) // 2
    return [left, top, left + w, top + h]


def overlap(a, b):
    w, h = min(a[2], b[2]) - max(a[0], b[0]), min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0


def views_case(case_id, seed, width, height, global_size=56, local_size=28, globals_=2, locals_=4,
               min_intersection=0.01):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    rgb = np.stack([(xx * 255 // (width - 1)), (yy * 255 // (height - 1)), (xx * 3 + yy * 5) % 256], -1)
    rgb = np.clip(rgb + rng.integers(-20, 21, rgb.shape), 0, 255).astype(np.uint8)
    image = Image.fromarray(rgb)
    image.save(os.path.join(OUT, f"{case_id}.image.png"))
    g = Generator(seed)
    boxes = []
    for index in range(globals_ + locals_):
        is_global = index < globals_
        minimum = math.floor(width * height * min_intersection) * (2 if is_global else 1)
        earlier = boxes[: index if is_global else globals_]
        for _ in range(1000):
            box = get_params(g, width, height, (0.25, 1.0) if is_global else (0.05, 0.25))
            if all(overlap(box, other) > minimum for other in earlier):
                break
        else:
            box = [0, 0, width, height]
        boxes.append(box)
    crops = []
    for index, box in enumerate(boxes):
        size = global_size if index < globals_ else local_size
        crop = np.asarray(image.crop(tuple(box)).resize((size, size), Image.BILINEAR), np.float64)
        for _ in range(3):  # jitter, greyscale and blur: drawn, none taken at probability 0
            g.uniform_range(0, 1)
        crops.append(((crop / 255.0 - MEAN) / STD).transpose(2, 0, 1).astype(np.float32))
    np.stack(crops[:globals_]).tofile(os.path.join(OUT, f"{case_id}.global.f32"))
    np.stack(crops[globals_:]).tofile(os.path.join(OUT, f"{case_id}.local.f32"))
    np.array(boxes, np.float32).tofile(os.path.join(OUT, f"{case_id}.boxes.f32"))
    return f"views {case_id} {seed} {global_size} {local_size} {globals_} {locals_} {min_intersection!r}"


lines = [views_case("views_a", 11, 120, 90), views_case("views_b", 12345, 77, 131, min_intersection=0.05)]
with open(os.path.join(OUT, "views.txt"), "w") as f:
    f.write("\n".join(lines) + "\n")
print(f"{len(lines)} NeCo view cases in {OUT}")
