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
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from neco_views_reference import make_views  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/neco"
os.makedirs(OUT, exist_ok=True)


def views_case(case_id, seed, width, height, global_size=56, local_size=28, globals_=2, locals_=4,
               min_intersection=0.01, jitter_p=0.0, grey_p=0.0, blur_p=0.0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    rgb = np.stack([(xx * 255 // (width - 1)), (yy * 255 // (height - 1)), (xx * 3 + yy * 5) % 256], -1)
    rgb = np.clip(rgb + rng.integers(-20, 21, rgb.shape), 0, 255).astype(np.uint8)
    image = Image.fromarray(rgb)
    image.save(os.path.join(OUT, f"{case_id}.image.png"))
    global_crops, local_crops, boxes = make_views(image, seed, global_size, local_size, globals_, locals_,
                                                  min_intersection, jitter_p, grey_p, blur_p)
    global_crops.tofile(os.path.join(OUT, f"{case_id}.global.f32"))
    local_crops.tofile(os.path.join(OUT, f"{case_id}.local.f32"))
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
