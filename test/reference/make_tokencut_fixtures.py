#!/usr/bin/python3
"""TokenCut fixtures: the official ncut() / detect_box() steps (github.com/YangtaoWANG95/TokenCut,
object_discovery.py) written with numpy + scipy on the keys of vit_reference.py, for the tiny
models of the model fixtures. manifest.txt lines:

  tokencut ID MODEL HEADS H W TAU EPS BINARY INPUT GH GW SEED X0 Y0 X1 Y1 EIGENVECTOR OBJECT
      INPUT float32 (1, 3, H, W) normalised image; EIGENVECTOR float32 (GH, GW), signed so the seed is
      in the partition; OBJECT uint8 (GH, GW) the seed's 4-connected component; box in pixels.
"""
import os
import sys

import numpy as np
import scipy.linalg
import scipy.ndimage
import torch

sys.path.insert(0, os.path.dirname(__file__))
import vit_reference as vit  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/tokencut"
MODELS = os.path.join(os.path.dirname(OUT.rstrip("/")), "models")
os.makedirs(OUT, exist_ok=True)
manifest = []


def scene(h, w, seed):
    """A bright textured blob on a dark smooth background, ImageNet-normalised."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    blob = ((xx - w * 0.35) / (w * 0.25)) ** 2 + ((yy - h * 0.4) / (h * 0.3)) ** 2 < 1
    rgb = np.where(blob[..., None], [0.9, 0.7, 0.2], [0.1, 0.2, 0.4]) + rng.normal(0, 0.05, (h, w, 3))
    mean, std = np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225])
    x = ((rgb - mean) / std).astype(np.float32).transpose(2, 0, 1)[None]
    return np.ascontiguousarray(x)


def ncut(keys, dims, tau, eps, binary):
    feats = keys / np.linalg.norm(keys, axis=1, keepdims=True)
    a = feats @ feats.T
    if binary:
        a = np.where(a > tau, 1.0, eps)
    else:
        a = np.where(a > tau, a, eps)
    d = np.diag(a.sum(1))
    values, vectors = scipy.linalg.eigh(d - a, d, subset_by_index=[1, 2])
    y = vectors[:, 0].copy()
    partition = y > y.mean()
    seed = int(np.argmax(np.abs(y)))
    if not partition[seed]:
        y, partition = -y, ~partition
    objects, _ = scipy.ndimage.label(partition.reshape(dims))
    obj = objects == objects[np.unravel_index(seed, dims)]
    ys, xs = np.nonzero(obj)
    return y.reshape(dims), seed, obj, (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1), values


def case(case_id, model, heads, h, w, tau=0.2, eps=1e-5, binary=True, variant="offset"):
    state = torch.load(os.path.join(MODELS, model + ".pth"))
    arch = vit.architecture(state)
    p = arch["patch"]
    x = scene(h, w, len(manifest))
    out = vit.forward(state, torch.from_numpy(x), heads, variant, cover_mode="pad")
    gh, gw = out["patch"].shape[1:3]
    keys = out["k"][0, 1 + arch["registers"]:].double().numpy()
    y, seed, obj, (x0, y0, x1, y1), values = ncut(keys, (gh, gw), tau, eps, binary)
    assert values[1] - values[0] > 1e-3, f"{case_id}: eigengap {values[1] - values[0]} too small for a fixture"
    box = (x0 * p, y0 * p, min(x1 * p, w), min(y1 * p, h))
    x.astype("<f4").tofile(os.path.join(OUT, f"{case_id}.input.f32"))
    y.astype("<f4").tofile(os.path.join(OUT, f"{case_id}.eigenvector.f32"))
    obj.astype(np.uint8).tofile(os.path.join(OUT, f"{case_id}.object.u8"))
    manifest.append(f"tokencut {case_id} {model} {heads} {h} {w} {tau} {eps} {int(binary)} {case_id}.input.f32 "
                    f"{gh} {gw} {seed} {box[0]} {box[1]} {box[2]} {box[3]} {case_id}.eigenvector.f32 "
                    f"{case_id}.object.u8")


case("dino", "dino_s8", 2, 52, 75)
case("similarity", "dino_s8", 2, 64, 48, tau=0.0, binary=False)
case("registers", "dinov2_s14_reg4", 2, 60, 90, variant="size_aa")  # the official variant of register models

with open(os.path.join(OUT, "manifest.txt"), "w") as f:
    f.write("\n".join(manifest) + "\n")
print("\n".join(manifest))
