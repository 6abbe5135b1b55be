#!/usr/bin/python3
"""What bfloat16 costs in accuracy against float32, on the same random full-size ViT-S/14 and the
same photo (examples/data/photo.jpg at 224 x 224), in one run:
- the patch tokens of one forward pass: cosine similarity per token (smallest, mean);
- HR-Dv2's upsampled features (stride 4, the default 51 views: shifts 1 and 2 in the Moore
  neighbourhood, with flips): cosine similarity per pixel (smallest, 0.1% quantile, mean);
- k-means of those features (K = 80, cosine, HR-Dv2's setting, same seed): the share of pixels whose
  cluster matches after the best one-to-one matching of the two labellings (Hungarian);
- the demo's segmentation (dinofeat.segment, HR-Dv2's class-agnostic workflow): the same agreement
  of the class maps, and the IoU of the two saliency masks.
Also the time of each upsampling (ratio float32 / bfloat16). Random weights are a harder case than
trained ones for the clusterings: their features have less structure, so more pixels sit near a
boundary between clusters.
"""
import argparse
import os
import sys
import tempfile
import time
import warnings

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bindings", "python"))
sys.path.insert(0, os.path.join(HERE, "..", "forward"))
# bfloat16 is timed on purpose, also where it gains nothing over float32
warnings.filterwarnings("ignore", "Model: precision bfloat16 on this CPU", RuntimeWarning)

import dinofeat  # noqa: E402
from bench_forward import HEADS, random_state  # noqa: E402

PHOTO = os.path.join(HERE, "..", "..", "examples", "data", "photo.jpg")


def cosines(a, b):
    a = a.reshape(-1, a.shape[-1]).astype(np.float64)
    b = b.reshape(-1, b.shape[-1]).astype(np.float64)
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def matched_agreement(x, y):
    """The share of positions whose labels agree after the best one-to-one matching."""
    x, y = x.ravel().astype(np.int64), y.ravel().astype(np.int64)
    counts = np.zeros((x.max() + 1, y.max() + 1), dtype=np.int64)
    np.add.at(counts, (x, y), 1)
    rows, cols = linear_sum_assignment(-counts)
    return counts[rows, cols].sum() / x.size


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--size", type=int, default=224)
    args = parser.parse_args()
    dinofeat.set_num_threads(args.threads)
    torch.set_num_threads(args.threads)
    precision, reason = dinofeat.inference_precision()
    print(f"inference_precision(): {precision} ({reason})")
    image = dinofeat.load_image(PHOTO)
    size = (args.size, args.size)
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = os.path.join(tmp, "vits14.pth")
        torch.save(random_state(14, 37), checkpoint)
        runs = {}
        for name in ("float32", "bfloat16"):
            model = dinofeat.Model(checkpoint, precision=name, heads=HEADS)
            tokens = model.forward(image, outputs=("patch",), size=size)["patch"]
            start = time.perf_counter()
            features, _ = model.upsample(image, size=size, stride=4, attention="o")
            seconds = time.perf_counter() - start
            labels = dinofeat.KMeans(80, metric="cosine", seed=0, sample=50000).fit(
                features.reshape(-1, features.shape[-1])).predict(features.reshape(-1, features.shape[-1]))
            segmented = dinofeat.segment(model, image, size=size)
            runs[name] = dict(tokens=tokens, features=features, seconds=seconds, labels=labels, seg=segmented)
    f32, b16 = runs["float32"], runs["bfloat16"]
    token_cos = cosines(f32["tokens"], b16["tokens"])
    pixel_cos = cosines(f32["features"], b16["features"])
    saliency = [r["seg"]["saliency"] > 0 for r in (f32, b16)]
    union = np.logical_or(*saliency).sum()
    iou = np.logical_and(*saliency).sum() / union if union else 1.0
    print(f"random ViT-S/14, {args.size} x {args.size}, {args.threads} threads, bfloat16 against float32:")
    print("| measure | value |")
    print("| --- | --- |")
    print(f"| patch tokens, cosine: smallest / mean | {token_cos.min():.5f} / {token_cos.mean():.5f} |")
    print(f"| upsampled features (stride 4, {dinofeat.upsample_view_count()} views), cosine: smallest / 0.1% / mean | "
          f"{pixel_cos.min():.5f} / {np.quantile(pixel_cos, 0.001):.5f} / {pixel_cos.mean():.5f} |")
    print(f"| k-means K = 80 of the upsampled features: pixels in matched clusters | "
          f"{matched_agreement(f32['labels'], b16['labels']):.4f} |")
    print(f"| segmentation: pixels in matched classes ({f32['seg']['class_count']} and "
          f"{b16['seg']['class_count']} classes) | {matched_agreement(f32['seg']['classes'], b16['seg']['classes']):.4f} |")
    print(f"| segmentation: saliency IoU | {iou:.4f} |")
    print(f"| upsampling time, float32 / bfloat16 | {f32['seconds'] / b16['seconds']:.2f}x "
          f"({f32['seconds']:.2f} s / {b16['seconds']:.2f} s) |")


if __name__ == "__main__":
    main()
