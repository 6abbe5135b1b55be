#!/usr/bin/python3
"""HR-Dv2 class-agnostic segmentation fixtures (shared/specs/hrdv2.md section 2) computed with
numpy, scikit-learn and scipy from planted features, so the intermediate values can be checked:

  cas ID H W D HEADS K MIN_AREA CUTOFF CLASSES
  file ID NAME FILE      features f32 (H, W, D); attention f32 (H, W, HEADS); rgb u8 (H, W, 3);
                         clusters i32 (H, W) sklearn's labels; cluster_density f64 (K);
                         class_of_cluster i32 (K) (fcluster - 1); classes i32 (H, W) after the CRF
                         with the library's default lattice filter (lattice_reference.py);
                         class_density f64 (CLASSES); boxes i32 (N, 5) x0 y0 x1 y1 class;
                         superbox i32 (4); saliency u8 (H, W)
"""
import os
import sys

import numpy as np
import scipy.cluster.hierarchy as hierarchy
import scipy.ndimage
from scipy.spatial.distance import cdist
from sklearn.cluster import KMeans

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lattice_reference import mean_field  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/cas"
os.makedirs(OUT, exist_ok=True)
manifest = []


def box_iou(a, b):
    iw = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def boxes_of(mask_labels):
    out = []
    for index, sl in enumerate(scipy.ndimage.find_objects(mask_labels)):
        area = int((mask_labels[sl] == index + 1).sum())
        out.append(([sl[1].start, sl[0].start, sl[1].stop, sl[0].stop], area))
    return out


def workflow(features, attention, rgb, k, min_area, bins=20, scale=1.0, iou_limit=0.8):
    h, w, d = features.shape
    x = features.reshape(-1, d).astype(np.float32)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    km = KMeans(k, n_init=10, random_state=0).fit(x)
    labels, centroids = km.labels_, km.cluster_centers_
    a = attention.reshape(-1, attention.shape[-1]).sum(1)
    density = np.array([a[labels == c].mean() for c in range(k)])
    fg, bg = density > density.mean(), density < density.mean()
    dist = cdist(centroids[fg], centroids[bg]).reshape(-1)
    counts, edges = np.histogram(dist, bins=bins)
    cutoff = edges[np.argmax(counts) + 1] * scale
    z = hierarchy.linkage(centroids, "complete")
    # A height equal to the cutoff (the fullest bin is the last: its edge is that very distance)
    # is stable under rounding of the centroids, a height merely near it is not.
    margin = np.abs(z[:, 2] - cutoff)
    assert ((margin == 0) | (margin > 1e-3)).all(), f"linkage height within {margin.min()} of the cutoff"
    # merged while the linkage distance is strictly below the cutoff (fcluster keeps <= t)
    class_of_cluster = hierarchy.fcluster(z, np.nextafter(cutoff, -np.inf), "distance") - 1
    classes = class_of_cluster.max() + 1
    means = np.stack([centroids[class_of_cluster == c].mean(0) for c in range(classes)])
    unary = np.abs(x[:, None, :] - means[None, :, :]).sum(-1)
    q = mean_field(rgb, unary.astype(np.float32).astype(np.float64), 10, (3.0, 10.0), (80.0, 13.0, 10.0), True)
    final = q.argmax(1)
    class_density = np.array([a[final == c].mean() if (final == c).any() else np.nan for c in range(classes)])
    defined = ~np.isnan(class_density)
    class_fg = np.zeros(classes, bool)
    class_fg[defined] = class_density[defined] > class_density[defined].mean()
    final = final.reshape(h, w)
    saliency = class_fg[final]
    comps, _ = scipy.ndimage.label(saliency, structure=np.ones((3, 3)))
    candidates = boxes_of(comps)
    superbox = max(candidates, key=lambda item: item[1])[0] if candidates else None
    boxes, dropped = [], 0
    for c in range(classes):
        if not class_fg[c]:
            continue
        comps, _ = scipy.ndimage.label(final == c, structure=np.ones((3, 3)))
        for box, area in boxes_of(comps):
            if area > min_area and superbox and box_iou(box, superbox) > iou_limit:
                dropped += 1
            elif area > min_area:
                boxes.append(box + [c])
    return dict(clusters=labels.reshape(h, w), cluster_density=density, class_of_cluster=class_of_cluster,
                classes=final, class_density=class_density, boxes=np.array(boxes, np.int32).reshape(-1, 5),
                superbox=np.array(superbox or [0, 0, 0, 0], np.int32), saliency=(saliency * 255).astype(np.uint8),
                cutoff=cutoff, class_count=classes, dropped=dropped)


def planted(case_id, h, w, d, k, seed, min_area):
    rng = np.random.default_rng(seed)
    region = np.zeros((h, w), np.int64)
    cuts_y = sorted(rng.choice(np.arange(4, h - 4), (k - 1) // 3, replace=False))
    cuts_x = sorted(rng.choice(np.arange(4, w - 4), 2, replace=False))
    for i, y in enumerate([0] + cuts_y):
        for j, xx in enumerate([0] + cuts_x):
            region[y:, xx:] = i * 3 + j
    centres = rng.normal(0, 1, (k, d))
    centres[1] = centres[0] + rng.normal(0, 0.3, d)  # a near pair that merges
    centres[4] = centres[3] + rng.normal(0, 0.3, d)
    features = centres[region] + rng.normal(0, 0.03, (h, w, d))
    hot = rng.permutation(k)[: k // 2]
    attention = np.where(np.isin(region, hot)[..., None], 1.0, 0.2) + rng.normal(0, 0.05, (h, w, 2))
    palette = rng.integers(0, 256, (k, 3))
    rgb = np.clip(palette[region] + rng.normal(0, 8, (h, w, 3)), 0, 255).astype(np.uint8)
    features, attention = features.astype(np.float32), attention.astype(np.float32)
    ref = workflow(features, attention, rgb, k, min_area)
    # k-means must recover the planted regions for the comparison to be about the workflow
    pairs = set(zip(region.reshape(-1), ref["clusters"].reshape(-1)))
    assert len(pairs) == k, "k-means did not recover the planted clusters"
    files = dict(features=features, attention=attention, rgb=rgb)
    files.update({n: ref[n] for n in ("clusters", "cluster_density", "class_of_cluster", "classes",
                                      "class_density", "boxes", "superbox", "saliency")})
    kinds = dict(features="<f4", attention="<f4", rgb="u1", clusters="<i4", cluster_density="<f8",
                 class_of_cluster="<i4", classes="<i4", class_density="<f8", boxes="<i4", superbox="<i4",
                 saliency="u1")
    manifest.append(f"cas {case_id} {h} {w} {d} 2 {k} {min_area} {ref['cutoff']:.17g} {ref['class_count']} "
                    f"{len(ref['boxes'])}")
    for name, array in files.items():
        fname = f"{case_id}.{name}.raw"
        np.ascontiguousarray(array).astype(kinds[name]).tofile(os.path.join(OUT, fname))
        manifest.append(f"file {case_id} {name} {fname}")
    print(case_id, "classes", ref["class_count"], "cutoff", ref["cutoff"], "boxes", len(ref["boxes"]), "dropped",
          ref["dropped"])


# Seeds chosen (run with FIRST LAST seeds to scan; see planted's checks) for several merged classes
# and boxes, and one where the superbox replaces a box: a 3 x 3 grid of planted clusters, two near
# pairs among them, half of them hot in the attention.
planted("merged6", 24, 30, 8, 9, 9, 12)
planted("merged4", 24, 30, 8, 9, 20, 12)
planted("superbox", 24, 30, 8, 9, 34, 12)
planted("equal_cutoff", 24, 30, 8, 9, 6, 12)  # a linkage height equals the cutoff: not merged
if len(sys.argv) > 3:
    for seed in range(int(sys.argv[2]), int(sys.argv[3])):
        try:
            planted(f"s{seed}", 24, 30, 8, 9, seed, 12)
        except AssertionError as e:
            print(seed, e)

with open(os.path.join(OUT, "manifest.txt"), "w") as f:
    f.write("\n".join(manifest) + "\n")
