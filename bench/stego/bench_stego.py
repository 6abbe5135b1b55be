#!/usr/bin/python3
"""STEGO: one training step of the head and cluster probe (batch 16, ViT-S/8-sized features of
224 x 224 images: 384 x 28 x 28, K = 70, 27 probe classes, 121 points, 5 negatives), dinofeat's
trainer vs the official step written in plain PyTorch (Debian's torch, the same libtorch as ours)
on the same random backbone features and threads, in one run. Reports each side's mean step time
and the ratio (reference / ours)."""
import argparse
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bindings", "python"))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "..", "test", "reference"))
import dinofeat  # noqa: E402
from timing import timed  # noqa: E402
from stego_reference import super_perm, terms  # noqa: E402


class Head(torch.nn.Module):
    """DinoFeaturizer's projection: code = cluster1(drop(f)) + cluster2(drop(f)), dropped features."""

    def __init__(self, dim, code_dim):
        super().__init__()
        self.cluster1 = torch.nn.Conv2d(dim, code_dim, (1, 1))
        self.cluster2 = torch.nn.Sequential(torch.nn.Conv2d(dim, dim, (1, 1)), torch.nn.ReLU(),
                                            torch.nn.Conv2d(dim, code_dim, (1, 1)))
        self.dropout = torch.nn.Dropout2d(p=0.1)

    def forward(self, f):
        code = self.cluster1(self.dropout(f)) + self.cluster2(self.dropout(f))
        return self.dropout(f), code


def reference_step(head, clusters, optimisers, f, fk, classes):
    for o in optimisers:
        o.zero_grad()
    feats, code = head(f)
    feats_pos, code_pos = head(fk)
    b = f.shape[0]
    c1, c2 = torch.rand(b, 11, 11, 2) * 2 - 1, torch.rand(b, 11, 11, 2) * 2 - 1
    perms = [super_perm(b, f.device) for _ in range(5)]
    self_term, knn_term, random_term = terms(feats, code, feats_pos, code_pos, c1, c2, perms)
    loss = 0.67 * self_term + 0.25 * knn_term + 0.63 * random_term
    inner = torch.einsum("bchw,nc->bnhw", F.normalize(code.detach(), dim=1), F.normalize(clusters, dim=1))
    probs = F.one_hot(torch.argmax(inner, dim=1), classes).permute(0, 3, 1, 2).to(torch.float32)
    (loss - (probs * inner).sum(1).mean()).backward()
    for o in optimisers:
        o.step()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dinofeat.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    f, fk = rng.standard_normal((2, 16, 384, 28, 28), dtype=np.float32)
    ours = dinofeat.stego.Trainer(384)
    our_seconds = timed(lambda: ours.step(f, fk), args.repeats)
    head, clusters = Head(384, 70), torch.nn.Parameter(torch.randn(27, 70))
    optimisers = [torch.optim.Adam(head.parameters(), lr=5e-4), torch.optim.Adam([clusters], lr=5e-3)]
    tf, tfk = torch.from_numpy(f), torch.from_numpy(fk)
    reference_seconds = timed(lambda: reference_step(head, clusters, optimisers, tf, tfk, 27), args.repeats)
    print(f"STEGO step, batch 16, 384 x 28 x 28 features, {args.threads} threads (torch {torch.__version__})")
    print(f"plain PyTorch {1000 * reference_seconds:8.1f} ms")
    print(f"dinofeat      {1000 * our_seconds:8.1f} ms")
    print(f"time ratio (reference / ours): {reference_seconds / our_seconds:.2f}x")


if __name__ == "__main__":
    main()
