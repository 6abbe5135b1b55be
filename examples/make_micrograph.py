#!/usr/bin/python3
"""A synthetic micrograph for the weakly supervised demo: three phases with the same mean
intensity that differ only in texture (smooth, grainy, striped), so intensity alone cannot tell
them apart; its ground truth; and sparse scribbles (a few strokes per phase, under 2% of the
pixels). Writes DIR/micrograph.png (grey), DIR/truth.png and DIR/scribbles.png (palette PNGs:
0 = unlabelled, 1..3 = phases).

Usage: make_micrograph.py DIR [--size 512] [--seed 0]"""
import argparse
import os

import numpy as np
from PIL import Image
from scipy import ndimage


def phases(size, rng):
    """Blobby regions: smoothed noise cut at its terciles, labels 1..3."""
    field = ndimage.gaussian_filter(rng.normal(0, 1, (size, size)), size / 10)
    cuts = np.quantile(field, [1 / 3, 2 / 3])
    return (1 + (field > cuts[0]) + (field > cuts[1])).astype(np.uint8)


def textures(size, rng):
    yy, xx = np.mgrid[0:size, 0:size]
    smooth = ndimage.gaussian_filter(rng.normal(0, 1, (size, size)), 6)
    smooth *= 18 / smooth.std()
    grain = rng.normal(0, 30, (size, size))
    stripes = 32 * np.sin((xx + yy) * 2 * np.pi / 9) + rng.normal(0, 6, (size, size))
    return smooth, grain, stripes


def scribbles(truth, rng, strokes_per_phase=3, length=40):
    """Short straight strokes 3 px wide, each inside one phase, away from its borders."""
    out = np.zeros_like(truth)
    inner = [ndimage.binary_erosion(truth == k, iterations=6) for k in (1, 2, 3)]
    for k in (1, 2, 3):
        ys, xs = np.nonzero(inner[k - 1])
        placed = 0
        while placed < strokes_per_phase:
            i = rng.integers(len(ys))
            angle = rng.uniform(0, np.pi)
            t = np.arange(-length // 2, length // 2)
            py = np.clip((ys[i] + t * np.sin(angle)).astype(int), 0, truth.shape[0] - 1)
            px = np.clip((xs[i] + t * np.cos(angle)).astype(int), 0, truth.shape[1] - 1)
            keep = inner[k - 1][py, px]
            if keep.sum() < length // 2:
                continue
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    out[np.clip(py[keep] + dy, 0, truth.shape[0] - 1), np.clip(px[keep] + dx, 0, truth.shape[1] - 1)] = k
            placed += 1
    return out


def palette_png(labels, path):
    image = Image.fromarray(labels, "P")
    image.putpalette([0, 0, 0, 31, 119, 180, 255, 127, 14, 44, 160, 44] + [0] * (256 - 4) * 3)
    image.save(path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    truth = phases(args.size, rng)
    smooth, grain, stripes = textures(args.size, rng)
    image = 128 + np.choose(truth - 1, [smooth, grain, stripes])
    image = np.clip(np.round(image), 0, 255).astype(np.uint8)
    marks = scribbles(truth, rng)
    os.makedirs(args.dir, exist_ok=True)
    Image.fromarray(image, "L").save(os.path.join(args.dir, "micrograph.png"))
    palette_png(truth, os.path.join(args.dir, "truth.png"))
    palette_png(marks, os.path.join(args.dir, "scribbles.png"))
    means = [float(image[truth == k].mean()) for k in (1, 2, 3)]
    print(f"{args.dir}/micrograph.png: {args.size} x {args.size}, phase means {means[0]:.1f} {means[1]:.1f} "
          f"{means[2]:.1f}; scribbles cover {(marks > 0).mean() * 100:.2f}% of the pixels")


if __name__ == "__main__":
    main()
