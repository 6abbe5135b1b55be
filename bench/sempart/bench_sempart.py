#!/usr/bin/python3
"""Sempart: one training step (batch 8, 320 x 320 images, random ViT-S/8-sized features 40 x 40 x
384, the paper's losses and weights, Adam), dinofeat's trainer vs the same network and losses
written the way a PyTorch user would (vectorised losses, the default memory format; Debian's torch,
the same libtorch as ours) on the same inputs, starting weights and threads, in one run. Checks
that both sides compute the same first loss, then reports each side's mean step time and the ratio
(reference / ours)."""
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
from sempart_reference import Sempart, sr_loss  # noqa: E402


def ncut(s, f, tau=0.2, eps=1e-6):
    b = s.shape[0]
    s = s.reshape(b, -1)
    with torch.no_grad():
        g = F.normalize(f.reshape(b, s.shape[1], -1), dim=-1)
        w = torch.where(g @ g.transpose(1, 2) > tau, 1.0, eps)
        w.diagonal(dim1=1, dim2=2).zero_()
    total = 0
    for sx in (s, 1 - s):
        total = total + (sx.unsqueeze(1) @ w @ (1 - sx).unsqueeze(2)).squeeze() / (sx * w.sum(2)).sum(1)
    return total.mean()


def grid_tv(s, across, down):
    dx, dy = s[:, :, 1:] - s[:, :, :-1], s[:, 1:] - s[:, :-1]
    return ((across * dx ** 2).sum((1, 2)) + (down * dy ** 2).sum((1, 2))).mean()


def gtv_coarse(s, f, eps=1e-6):
    with torch.no_grad():
        g = F.normalize(f, dim=-1)
        across = torch.where((g[:, :, 1:] * g[:, :, :-1]).sum(-1) > 0, 1.0, eps)
        down = torch.where((g[:, 1:] * g[:, :-1]).sum(-1) > 0, 1.0, eps)
    return grid_tv(s, across, down)


def gtv_fine(s, x, sigma=1.0):
    with torch.no_grad():
        across = torch.exp(-((x[..., 1:] - x[..., :-1]) ** 2).sum(1) / sigma)
        down = torch.exp(-((x[..., 1:, :] - x[..., :-1, :]) ** 2).sum(1) / sigma)
    return grid_tv(s, across, down)


def total_loss(model, f, x):
    coarse, fine = model(f, x)
    return ncut(coarse, f) + 0.0006 * gtv_coarse(coarse, f) + 0.0002 * gtv_fine(fine, x) + 20 * sr_loss(fine, coarse)


def reference_loss(model, f, x):
    """The first step's total loss, before any update, without changing the model."""
    model.eval()  # running statistics untouched...
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.train()  # ...but batch statistics, as in training
            module.momentum = 0.0
    with torch.no_grad():
        value = total_loss(model, f, x).item()
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.momentum = 0.1
    model.train()
    return value


def reference_step(model, optimiser, f, x):
    optimiser.zero_grad()
    total_loss(model, f, x).backward()
    optimiser.step()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dinofeat.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    f = rng.standard_normal((args.batch, 40, 40, 384), dtype=np.float32)
    x = rng.standard_normal((args.batch, 3, 320, 320), dtype=np.float32)
    ours = dinofeat.sempart.Trainer(384, 40, 40)
    model = Sempart(384, (40, 40)).train()
    state = model.state_dict()
    for name, values in ours.parameters().items():  # the same starting weights on both sides
        state[name].copy_(torch.from_numpy(values).reshape(state[name].shape))
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-4)
    tf, tx = torch.from_numpy(f), torch.from_numpy(x)
    first = ours.step(f, x)
    want = reference_loss(model, tf, tx)
    if abs(first["total"] - want) > 1e-4 * abs(want):
        sys.exit(f"the two sides disagree: total loss {first['total']} here, {want} in PyTorch")
    our_seconds = timed(lambda: ours.step(f, x), args.repeats)
    reference_seconds = timed(lambda: reference_step(model, optimiser, tf, tx), args.repeats)
    print(f"Sempart step, batch {args.batch}, 320 x 320, 40 x 40 x 384 features, {args.threads} threads "
          f"(torch {torch.__version__})")
    print(f"plain PyTorch {1000 * reference_seconds:8.1f} ms")
    print(f"dinofeat      {1000 * our_seconds:8.1f} ms")
    print(f"time ratio (reference / ours): {reference_seconds / our_seconds:.2f}x")


if __name__ == "__main__":
    main()
