#!/usr/bin/python3
"""Saliency and CorLoc fixtures computed with numpy (shared/specs/eval.md):

  image NAME W H PRED GT           uint8 soft prediction and ground truth (0..255), one image
  saliency SET IOU ACC MAXF        over the images listed before it: mean IoU and accuracy of
                                   pred > 127 vs gt > 127, and maxF_beta (beta^2 = 0.3) with
                                   precision and recall averaged over images at each of 255
                                   thresholds t_k = k / 254 (pred / 255 >= t_k)
  corloc SET HITS IMAGES FILE      int32 records: npred, ngt, then the boxes (x0 y0 x1 y1)
"""
import os
import sys

import numpy as np

OUT = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/saliency"
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(9)
manifest = []
EPS = 1e-8
images = []
for i, (w, h) in enumerate(((40, 30), (25, 25), (60, 20), (33, 17))):
    yy, xx = np.mgrid[0:h, 0:w]
    gt = (((xx - w * 0.4) ** 2 + (yy - h * 0.5) ** 2) < (min(w, h) * 0.3) ** 2) * 255
    gt = np.where(rng.random((h, w)) < 0.02, 128, gt)  # anti-aliased edge values: not foreground
    soft = np.clip(gt * 0.7 + rng.normal(60, 50, (h, w)), 0, 255)
    pred = soft.astype(np.uint8) if i != 1 else ((soft > 127) * 255).astype(np.uint8)  # one binary
    pred.tofile(os.path.join(OUT, f"pred{i}.u8"))
    gt.astype(np.uint8).tofile(os.path.join(OUT, f"gt{i}.u8"))
    manifest.append(f"image img{i} {w} {h} pred{i}.u8 gt{i}.u8")
    images.append((pred.astype(np.int64), gt.astype(np.int64) > 127))

ious, accs = [], []
precisions, recalls = np.zeros(255), np.zeros(255)
for pred, truth in images:
    binary = pred > 127
    union = (binary | truth).sum()
    ious.append((binary & truth).sum() / union if union else 1.0)
    accs.append((binary == truth).mean())
    for k in range(255):
        chosen = pred * 254 >= k * 255
        tp = (chosen & truth).sum()
        precisions[k] += tp / (chosen.sum() + EPS)
        recalls[k] += tp / (truth.sum() + EPS)
precisions /= len(images)
recalls /= len(images)
f = (1 + 0.3) * precisions * recalls / (0.3 * precisions + recalls + EPS)
manifest.append(f"saliency all {np.mean(ious):.17g} {np.mean(accs):.17g} {f.max():.17g}")

records, hits = [], 0
for i in range(30):
    npred, ngt = rng.integers(0, 4), rng.integers(1, 3)
    boxes = []
    for _ in range(npred + ngt):
        x0, y0 = rng.integers(0, 50, 2)
        boxes.append([x0, y0, x0 + rng.integers(1, 40), y0 + rng.integers(1, 40)])
    pred_boxes, gt_boxes = boxes[:npred], boxes[npred:]
    if npred and i % 2 == 0:  # a near miss or a near hit of the first ground-truth box
        g = gt_boxes[0]
        shift = int(rng.integers(0, 6))
        pred_boxes[0] = [g[0] + shift, g[1] + shift, g[2] + shift, g[3] + shift]
        boxes[0] = pred_boxes[0]

    def iou(a, b):
        w = min(a[2], b[2]) - max(a[0], b[0])
        h = min(a[3], b[3]) - max(a[1], b[1])
        inter = w * h if w > 0 and h > 0 else 0
        return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)
    hits += any(iou(p, g) > 0.5 for p in pred_boxes for g in gt_boxes)
    records += [npred, ngt] + [v for b in boxes for v in b]
np.array(records, dtype="<i4").tofile(os.path.join(OUT, "corloc.i32"))
manifest.append(f"corloc boxes {hits} 30 corloc.i32")
with open(os.path.join(OUT, "manifest.txt"), "w") as f:
    f.write("\n".join(manifest) + "\n")
print("\n".join(manifest[-2:]))
