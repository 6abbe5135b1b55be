#!/usr/bin/python3
"""df_neco_views' crops made by other code: the boxes by torchvision's RandomResizedCrop.get_params
(scale 0.25..1 for global crops, 0.05..0.25 for local ones; aspect 3/4..4/3; ten tries, then the
centre crop) with dinofeat's generator behind its draws (splitmix64; a uniform in [lo, hi) from 53
bits, an integer below n as the draw modulo n), each box redrawn (up to 1000 times, then the whole
image) until it overlaps every earlier global box by more than floor(W H min_intersection) pixels
(twice that between globals); the crops by PIL (crop, then resize with Image.BILINEAR); then, with
probability JITTER_P, torchvision's ColorJitter(0.8, 0.8, 0.8, 0.2) on the PIL crop (its four
adjustments in an order from the generator: a Fisher-Yates shuffle of 0..3 drawing below(i + 1)
for i = 3, 2, 1; then the brightness, contrast and saturation factors in [0.2, 1.8) and the hue in
[-0.2, 0.2)), with probability GREY_P torchvision's rgb_to_grayscale(img, 3), with probability
BLUR_P PIL's ImageFilter.GaussianBlur(radius) with the radius drawn in [0.1, 2) (the official
transforms' blur); ImageNet normalisation:

  views ID SEED GLOBAL_SIZE LOCAL_SIZE GLOBALS LOCALS MIN_INTERSECTION JITTER_P GREY_P BLUR_P
      ID.image.png (RGB), ID.global.f32 (G, 3, S, S), ID.local.f32 (L, 3, s, s), ID.boxes.f32 (G + L, 4)
"""
import math
import os
import sys

import numpy as np
import torchvision.transforms.functional as TF
from PIL import Image, ImageFilter

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


def colour(g, crop, jitter_p, grey_p, blur_p):
    """The crop's colour operations and their draws, in the library's order."""
    if g.uniform_range(0, 1) < jitter_p:
        order = [0, 1, 2, 3]
        for i in range(3, 0, -1):
            j = g.below(i + 1)
            order[i], order[j] = order[j], order[i]
        factors = [g.uniform_range(0.2, 1.8), g.uniform_range(0.2, 1.8), g.uniform_range(0.2, 1.8),
                   g.uniform_range(-0.2, 0.2)]
        adjust = (TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue)
        for k in order:
            crop = adjust[k](crop, factors[k])
    if g.uniform_range(0, 1) < grey_p:
        crop = TF.rgb_to_grayscale(crop, 3)
    if g.uniform_range(0, 1) < blur_p:
        crop = crop.filter(ImageFilter.GaussianBlur(radius=g.uniform_range(0.1, 2.0)))
    return crop


def views_case(case_id, seed, width, height, global_size=56, local_size=28, globals_=2, locals_=4,
               min_intersection=0.01, jitter_p=0.0, grey_p=0.0, blur_p=0.0):
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
        crop = colour(g, image.crop(tuple(box)).resize((size, size), Image.BILINEAR), jitter_p, grey_p,
                      blur_p)
        crop = np.asarray(crop, np.float64)
        crops.append(((crop / 255.0 - MEAN) / STD).transpose(2, 0, 1).astype(np.float32))
    np.stack(crops[:globals_]).tofile(os.path.join(OUT, f"{case_id}.global.f32"))
    np.stack(crops[globals_:]).tofile(os.path.join(OUT, f"{case_id}.local.f32"))
    np.array(boxes, np.float32).tofile(os.path.join(OUT, f"{case_id}.boxes.f32"))
    return (f"views {case_id} {seed} {global_size} {local_size} {globals_} {locals_} {min_intersection!r} "
            f"{jitter_p!r} {grey_p!r} {blur_p!r}")


lines = [views_case("views_a", 11, 120, 90), views_case("views_b", 12345, 77, 131, min_intersection=0.05),
         views_case("views_jitter", 7, 96, 96, jitter_p=1.0, grey_p=0.3),
         views_case("views_blur", 5, 100, 70, blur_p=1.0),
         views_case("views_official", 99, 150, 110, globals_=2, locals_=6, jitter_p=0.8, grey_p=0.2, blur_p=0.5)]
with open(os.path.join(OUT, "views.txt"), "w") as f:
    f.write("\n".join(lines) + "\n")
print(f"{len(lines)} NeCo view cases in {OUT}")
