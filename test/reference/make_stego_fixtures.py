#!/usr/bin/python3
"""STEGO loss fixtures from test/reference/stego_reference.py (float32, as the official code):

  pair ID FLAGS SHIFT B D K H W P      ID.f1 .f2 .s1 .s2 .c1 .c2 (.f32), ID.loss.f64,
                                       ID.grad_s1.f32, ID.grad_s2.f32
  total ID PRESET B D K H W P N        ID.f .s .fk .sk .c1 .c2 (.f32), ID.perms.i64,
                                       ID.losses.f64 (self, knn, random, total), ID.grad_s.f32,
                                       ID.grad_sk.f32
FLAGS: 1 centering, 2 stabilize, 4 zero clamp. PRESET 0: the code's, 1: the paper's Table 6.
"""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stego_reference import pair_loss, super_perm, terms  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/stego"
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(5)
manifest = []
PRESETS = {0: ((0.67, 0.25, 0.63), (0.18, 0.12, 0.46)), 1: ((0.10, 1.00, 0.15), (0.12, 0.20, 1.00))}


def save(name, tensor, dtype=np.float32):
    tensor.detach().numpy().astype(dtype).tofile(os.path.join(OUT, name))


def maps(b, d, k, h, w, p):
    f = torch.randn(b, d, h, w)
    s = torch.randn(b, k, h, w) + 0.3 * f[:, :k]  # codes that correlate with the features somewhat
    c = torch.rand(b, p, p, 2) * 2 - 1
    return f, s, c


def pair_case(case_id, flags, shift, b=2, d=8, k=5, h=6, w=7, p=4):
    f1, s1, c1 = maps(b, d, k, h, w, p)
    f2, s2, c2 = maps(b, d, k, h, w, p)
    s1.requires_grad_(True)
    s2.requires_grad_(True)
    loss = pair_loss(f1, f2, s1, s2, c1, c2, shift, pointwise=bool(flags & 1), stabilize=bool(flags & 2),
                     zero_clamp=bool(flags & 4))
    loss.backward()
    for name, t in (("f1", f1), ("f2", f2), ("s1", s1), ("s2", s2), ("c1", c1), ("c2", c2), ("grad_s1", s1.grad),
                    ("grad_s2", s2.grad)):
        save(f"{case_id}.{name}.f32", t)
    np.array([loss.item()], np.float64).tofile(os.path.join(OUT, f"{case_id}.loss.f64"))
    manifest.append(f"pair {case_id} {flags} {shift} {b} {d} {k} {h} {w} {p}")


def total_case(case_id, preset, b=3, d=8, k=5, h=6, w=6, p=5, n=5):
    weights, shifts = PRESETS[preset]
    f, s, c1 = maps(b, d, k, h, w, p)
    fk, sk, c2 = maps(b, d, k, h, w, p)
    perms = torch.stack([super_perm(b, "cpu") for _ in range(n)])
    s.requires_grad_(True)
    sk.requires_grad_(True)
    self_term, knn_term, random_term = terms(f, s, fk, sk, c1, c2, perms, shifts=shifts)
    total = weights[0] * self_term + weights[1] * knn_term + weights[2] * random_term
    total.backward()
    for name, t in (("f", f), ("s", s), ("fk", fk), ("sk", sk), ("c1", c1), ("c2", c2), ("grad_s", s.grad),
                    ("grad_sk", sk.grad)):
        save(f"{case_id}.{name}.f32", t)
    save(f"{case_id}.perms.i64", perms, np.int64)
    np.array([self_term.item(), knn_term.item(), random_term.item(), total.item()], np.float64).tofile(
        os.path.join(OUT, f"{case_id}.losses.f64"))
    manifest.append(f"total {case_id} {preset} {b} {d} {k} {h} {w} {p} {n}")


for flags in range(8):
    pair_case(f"pair{flags}", flags, 0.3)
pair_case("pair_big", 5, 0.12, b=2, d=24, k=9, h=11, w=9, p=11)
total_case("total_code", 0)
total_case("total_paper", 1)
with open(os.path.join(OUT, "manifest.txt"), "w") as f:
    f.write("\n".join(manifest) + "\n")
print(f"{len(manifest)} STEGO loss cases in {OUT}")
