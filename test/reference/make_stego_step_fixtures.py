#!/usr/bin/python3
"""STEGO training steps (specs/stego.md) in plain PyTorch, as the official training step
(mhamilton723/STEGO src/train_segmentation.py, modules.py), with dinofeat's generator replicated
(splitmix64; uniforms (x >> 40) 2^-24; normals by Box-Muller; the draw order of lib/stego/trainer.c)
so the C trainer's initial weights, dropout masks, coordinates and permutations are the same:

  step ID SEED STEPS LR PROBE_LR EPS B D K C H W P N HL WL
      STEPS steps with Adam (lr for the head, probe_lr for both probes, eps): ID.f.f32 ID.fk.f32
      (STEPS x B, D, H, W), a batch a step; ID.initial.f32 and ID.after.f32 (the 9 parameters
      concatenated, before the first step and after the last); ID.losses.f64 (STEPS x (self,
      knn, random, total, cluster, linear)); with HL x WL > 0, ID.labels.i64 (STEPS x B, HL, WL)
      train the linear probe
  predict ID OUT_H OUT_W  the trained head of case ID predicts (df_stego_predict): see predict_case
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from generator import Generator  # noqa: E402
from stego_reference import terms  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/stego"
os.makedirs(OUT, exist_ok=True)


def initial_parameters(g, d, k, c):
    shapes = [(k, d, 1, 1), (k,), (d, d, 1, 1), (d,), (k, d, 1, 1), (k,), (c, k), (c, k, 1, 1), (c,)]
    out = []
    for i, shape in enumerate(shapes):
        n = int(np.prod(shape))
        bound = 1.0 / math.sqrt(d if i < 6 else k)
        if i == 6:
            values = [g.normal() for _ in range(n)]
        else:
            values = [np.float32((2.0 * float(g.uniform()) - 1.0) * bound) for _ in range(n)]
        out.append(torch.tensor(np.array(values, np.float32).reshape(shape)))
    return out


def draws(g, b, d, p, negatives, dropout=0.1):
    keep = np.float32(1.0 / (1.0 - dropout))
    masks = np.array([keep if g.uniform() >= np.float32(dropout) else 0 for _ in range(6 * b * d)], np.float32)
    c1 = np.array([2 * g.uniform() - 1 for _ in range(b * p * p * 2)], np.float32).reshape(b, p, p, 2)
    c2 = np.array([2 * g.uniform() - 1 for _ in range(b * p * p * 2)], np.float32).reshape(b, p, p, 2)
    perms = []
    for _ in range(negatives):
        perm = list(range(b))
        for i in range(b, 1, -1):
            j = g.next() % i
            perm[i - 1], perm[j] = perm[j], perm[i - 1]
        perms.append([(v + 1) % b if v == i else v for i, v in enumerate(perm)])
    return (torch.tensor(masks.reshape(6, b, d)), torch.tensor(c1), torch.tensor(c2),
            torch.tensor(perms, dtype=torch.long))


def head(params, f, mask_linear, mask_nonlinear):
    a = f * mask_linear[:, :, None, None]
    b = f * mask_nonlinear[:, :, None, None]
    return F.conv2d(a, params[0], params[1]) + F.conv2d(F.relu(F.conv2d(b, params[2], params[3])), params[4], params[5])


def step_case(case_id, seed, steps=1, lr=5e-4, probe_lr=5e-3, eps=1e-8, b=3, d=12, k=6, c=4, h=7, w=6, p=5,
              negatives=3, label_size=0, predict=None):
    g = Generator(seed)
    params = [t.requires_grad_(True) for t in initial_parameters(g, d, k, c)]
    initial = torch.cat([t.detach().reshape(-1) for t in params])
    torch.manual_seed(seed)
    head_optim = torch.optim.Adam(params[:6], lr=lr, eps=eps, foreach=False)
    probe_optim = torch.optim.Adam(params[6:7], lr=probe_lr, eps=eps, foreach=False)
    linear_optim = torch.optim.Adam(params[7:], lr=probe_lr, eps=eps, foreach=False)
    inputs, labels, losses = {"f": [], "fk": []}, [], []
    for _ in range(steps):
        f, fk = torch.randn(b, d, h, w), torch.randn(b, d, h, w)
        inputs["f"].append(f)
        inputs["fk"].append(fk)
        masks, c1, c2, perms = draws(g, b, d, p, negatives)
        for o in (head_optim, probe_optim, linear_optim):
            o.zero_grad()
        code = head(params, f, masks[0], masks[1])
        signal = f * masks[2][:, :, None, None]
        code_pos = head(params, fk, masks[3], masks[4])
        signal_pos = fk * masks[5][:, :, None, None]
        self_term, knn_term, random_term = terms(signal, code, signal_pos, code_pos, c1, c2, perms)
        loss = 0.67 * self_term + 0.25 * knn_term + 0.63 * random_term
        clusters = params[6]
        inner = torch.einsum("bchw,nc->bnhw", F.normalize(code.detach(), dim=1), F.normalize(clusters, dim=1))
        probs = F.one_hot(torch.argmax(inner, dim=1), c).permute(0, 3, 1, 2).to(torch.float32)
        cluster_loss = -(probs * inner).sum(1).mean()
        linear_loss = torch.zeros(())
        if label_size:
            label = torch.randint(-1, c + 1, (b, label_size, label_size))  # -1 and c: ignored
            labels.append(label)
            logits = F.interpolate(F.conv2d(code.detach(), params[7], params[8]), label.shape[-2:], mode="bilinear",
                                   align_corners=False)
            logits = logits.permute(0, 2, 3, 1).reshape(-1, c)
            flat = label.reshape(-1)
            mask = (flat >= 0) & (flat < c)
            linear_loss = torch.nn.CrossEntropyLoss()(logits[mask], flat[mask]).mean()
        (loss + cluster_loss + linear_loss).backward()
        for o in (head_optim, probe_optim, linear_optim):
            o.step()
        losses += [self_term.item(), knn_term.item(), random_term.item(), loss.item(), cluster_loss.item(),
                   linear_loss.item()]
    after = torch.cat([t.detach().reshape(-1) for t in params])
    if predict:
        predict_case(case_id, params, b, d, h, w, *predict)
    if label_size:
        torch.cat(labels).numpy().astype(np.int64).tofile(os.path.join(OUT, f"{case_id}.labels.i64"))
    for name, t in (("f", torch.cat(inputs["f"])), ("fk", torch.cat(inputs["fk"])), ("initial", initial),
                    ("after", after)):
        t.numpy().astype(np.float32).tofile(os.path.join(OUT, f"{case_id}.{name}.f32"))
    np.array(losses, np.float64).tofile(os.path.join(OUT, f"{case_id}.losses.f64"))
    return (f"step {case_id} {seed} {steps} {lr!r} {probe_lr!r} {eps!r} {b} {d} {k} {c} {h} {w} {p} {negatives} "
            f"{label_size} {label_size}")


def predict_case(case_id, params, b, d, h, w, out_h, out_w):
    """STEGO's evaluation (the official eval_segmentation.py / train_segmentation.py validation):
    the head without dropout on the features and on the flipped image's features, the second code
    flipped back and averaged in, upsampled bilinearly (align_corners False) to the label size, the
    cluster probe's softmax of 2 x cosine. Writes ID.predict_f / _g.f32 (B, D, H, W), the
    probabilities ID.predict_probs.f32 (B, OUT_H, OUT_W, C) and the argmax ID.predict_labels.i32."""
    f, g = torch.randn(b, d, h, w), torch.randn(b, d, h, w)
    ones = torch.ones(b, d)
    with torch.no_grad():
        code = (head(params, f, ones, ones) + head(params, g, ones, ones).flip(dims=[3])) / 2
        code = F.interpolate(code, (out_h, out_w), mode="bilinear", align_corners=False)
        inner = torch.einsum("bchw,nc->bnhw", F.normalize(code, dim=1), F.normalize(params[6], dim=1))
        probs = torch.softmax(2 * inner, 1)
    for name, t in (("predict_f", f), ("predict_g", g), ("predict_probs", probs.permute(0, 2, 3, 1))):
        t.contiguous().numpy().astype(np.float32).tofile(os.path.join(OUT, f"{case_id}.{name}.f32"))
    probs.argmax(1).numpy().astype(np.int32).tofile(os.path.join(OUT, f"{case_id}.predict_labels.i32"))
    predictions.append(f"predict {case_id} {out_h} {out_w}")


predictions = []
# Adam's first step with PyTorch's eps moves every weight by about lr x the sign of its gradient,
# whatever the gradient's size, and a gradient within rounding of 0 may take either sign on another
# CPU: the default-settings case (step0) pins the losses and bounds the step by lr. With eps = 1
# and lr = 1 a step is m / (sqrt(v) + 1), close to SGD's g for the small gradients here: those cases
# (step1, step2) compare the gradients' values, over three steps, through the weights.
lines = [step_case("step0", 0),
         step_case("step1", 123456789, steps=3, lr=1.0, probe_lr=1.0, eps=1.0, predict=(17, 13)),
         step_case("step2", 77, steps=3, lr=1.0, probe_lr=1.0, eps=1.0, label_size=13)]
with open(os.path.join(OUT, "steps.txt"), "w") as out:
    out.write("\n".join(lines + predictions) + "\n")
print(f"{len(lines)} STEGO step cases in {OUT}")
