#!/usr/bin/python3
"""Fixtures for the weak workflow's deep features with logistic regression (df_weak_train with
DF_WEAK_DEEP, DF_WEAK_LOGREG), the settings df_datus_denoise trains with by default: one HR-Dv2
view at stride 4 (no shifts, no flips) of the image zero-padded to multiples of the patch
(specs/hrdv2.md section 1), the pixels labelled > 0, or `samples` of them per image drawn as the
library draws them (generator.py), and scikit-learn's multinomial LogisticRegression(C=1,
class_weight='balanced') objective minimised by Newton's method to a gradient of 1e-9 (on these
features scikit-learn's lbfgs stops after a failed line search, 5e-4 short in probability; its
newton-cg, given float64, agrees with ours to 1e-6, checked below); its probabilities for every pixel of every
image.
manifest.txt lines:

  image NAME H W                    files NAME.rgb.u8 (H x W x 3) NAME.labels.u8 (H x W, 0 = none)
  weak ID MODEL HEADS STRIDE SAMPLES CLASSES IMAGE...
  out ID IMAGE FILE                 ID.IMAGE.proba.f32 (H x W x CLASSES, pixel-major)
"""
import os
import sys
import warnings

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, os.path.dirname(__file__))
import upsample_reference as ups  # noqa: E402
import vit_reference as vit  # noqa: E402
from generator import Generator  # noqa: E402

warnings.filterwarnings("ignore", message="Line Search failed")  # newton-cg near the optimum
warnings.filterwarnings("ignore", message="The line search algorithm did not converge")
OUT = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/weak_deep"
MODELS = os.path.join(os.path.dirname(OUT.rstrip("/")), "models")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(2024)
manifest = []
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def blocks(h, w, classes):
    """Blocks of colour, one class each, with pixel noise; a band of unlabelled pixels."""
    by, bx = rng.integers(5, 12), rng.integers(5, 12)
    block_class = rng.integers(0, classes, (h // by + 1, w // bx + 1))
    palette = rng.integers(20, 236, (classes, 3))
    yy, xx = np.mgrid[0:h, 0:w]
    cls = block_class[yy // by, xx // bx]
    rgb = np.clip(palette[cls] + rng.normal(0, 12, (h, w, 3)), 0, 255).astype(np.uint8)
    labels = (cls + 1).astype(np.uint8)
    labels[h // 3:h // 3 + 4] = 0
    labels[rng.random((h, w)) < 0.05] = 0
    return rgb, labels


def to_tensor(rgb):
    """ToTensor then Normalize with ImageNet's mean and std, in float32."""
    x = (rgb.astype(np.float32) / np.float32(255) - MEAN) / STD
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]


def deep_features(state, heads, stride, rgb):
    """One view's upsampled features of the image zero-padded at the bottom and right to multiples
    of the patch, cut back to H x W: (H * W, D)."""
    h, w = rgb.shape[:2]
    p = vit.architecture(state)["patch"]
    x = F.pad(to_tensor(rgb), (0, -w % p, 0, -h % p))
    features, _ = ups.upsample(state, x, heads, stride, [], flips="off")
    return features[:h, :w].reshape(h * w, -1).numpy()


def sample(labels, k, samples):
    """The labelled pixels of image k in raster order, or `samples` of them: a partial
    Fisher-Yates shuffle with the library's generator seeded 0x5eed0000 + k, sorted back."""
    picked = list(np.flatnonzero(labels.reshape(-1) > 0))
    if samples == 0 or len(picked) <= samples:
        return np.array(picked)
    g = Generator(0x5EED0000 + k)
    for i in range(samples):
        j = i + g.below(len(picked) - i)
        picked[i], picked[j] = picked[j], picked[i]
    return np.sort(np.array(picked[:samples]))


def fit_logistic_regression(x, y, classes, c):
    """W (classes x D) and b minimising sum_i w_i (logsumexp(W x_i + b) - (W x_i + b)_{y_i}) +
    |W|^2 / (2 C), w_i = n / (classes * n_{y_i}) ('balanced'), in float64 by Newton's method."""
    x, y = torch.from_numpy(x.astype(np.float64)), torch.from_numpy(y)
    n, d = x.shape
    weight = (n / (classes * torch.bincount(y, minlength=classes).double()))[y]

    def objective(theta):
        w, b = theta[:classes * d].reshape(classes, d), theta[classes * d:]
        logits = x @ w.T + b
        loss = torch.logsumexp(logits, 1) - logits.gather(1, y[:, None])[:, 0]
        return (weight * loss).sum() + (w * w).sum() / (2 * c)

    theta = torch.zeros(classes * (d + 1), dtype=torch.float64)
    for _ in range(100):
        gradient = torch.autograd.functional.jacobian(objective, theta)
        if gradient.norm() < 1e-9:
            return theta[:classes * d].reshape(classes, d), theta[classes * d:]
        hessian = torch.autograd.functional.hessian(objective, theta)
        step, t, before = torch.linalg.solve(hessian, gradient), 1.0, objective(theta)
        while objective(theta - t * step) > before and t > 1e-12:
            t /= 2
        theta = theta - t * step
    raise RuntimeError("Newton's method did not converge")


def case(case_id, model, heads, stride, samples, images):
    state = torch.load(os.path.join(MODELS, model + ".pth"))
    features = {name: deep_features(state, heads, stride, rgb) for name, (rgb, _) in images.items()}
    x, y = [], []
    for k, (name, (_, labels)) in enumerate(images.items()):
        picked = sample(labels, k, samples)
        x.append(features[name][picked])
        y.append(labels.reshape(-1)[picked].astype(np.int64) - 1)
    classes = int(max(labels.max() for _, labels in images.values()))
    x, y = np.concatenate(x), np.concatenate(y)
    w, b = fit_logistic_regression(x, y, classes, 1.0)
    check = LogisticRegression(C=1.0, class_weight="balanced", solver="newton-cg", tol=1e-12, max_iter=1000).fit(x.astype(np.float64), y)
    manifest.append(f"weak {case_id} {model} {heads} {stride} {samples} {classes} " + " ".join(images))
    for name in images:
        file = f"{case_id}.{name}.proba.f32"
        p = torch.softmax(torch.from_numpy(features[name].astype(np.float64)) @ w.T + b, 1).numpy()
        assert np.abs(p - check.predict_proba(features[name].astype(np.float64))).max() < 1e-6, "scikit-learn's newton-cg disagrees"
        p.astype("<f4").tofile(os.path.join(OUT, file))
        manifest.append(f"out {case_id} {name} {file}")


images = {}
for name, (h, w) in (("wide", (38, 45)), ("tall", (41, 36))):
    rgb, labels = blocks(h, w, 3)
    rgb.tofile(os.path.join(OUT, f"{name}.rgb.u8"))
    labels.tofile(os.path.join(OUT, f"{name}.labels.u8"))
    manifest.append(f"image {name} {h} {w}")
    images[name] = (rgb, labels)
case("sampled", "dino_s8", 2, 4, 1000, images)  # df_datus_denoise's defaults
case("every_pixel", "dino_s8", 2, 4, 0, images)
with open(os.path.join(OUT, "manifest.txt"), "w") as f:
    f.write("\n".join(manifest) + "\n")
