"""NeCo's views of one image made by other code than the library's (specs/neco.md): the boxes by
torchvision's RandomResizedCrop.get_params with dinofeat's generator behind its draws, each redrawn
until it overlaps the global boxes enough; the crops by PIL (crop, bilinear resize); torchvision's
colour jitter and greyscale and PIL's Gaussian blur; ImageNet normalisation. make_neco_view_fixtures.py
says the draws in detail."""
import math

import numpy as np
import torchvision.transforms.functional as TF
from PIL import Image, ImageFilter

from generator import Generator

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


def make_views(image, seed, global_size, local_size, globals_, locals_, min_intersection, jitter_p, grey_p,
               blur_p):
    """The crops of a PIL image drawn from a generator seeded with seed: global (G, 3, S, S) and local
    (L, 3, s, s) float32, ImageNet-normalised, and each crop's box [x1, y1, x2, y2] (globals first)."""
    width, height = image.size
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
    local = np.stack(crops[globals_:]) if locals_ else np.zeros((0, 3, local_size, local_size), np.float32)
    return np.stack(crops[:globals_]), local, boxes
