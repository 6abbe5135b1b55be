#!/usr/bin/python3
"""One NeCo training step, dinofeat vs plain PyTorch: batch 8, 2 global crops of 224 and 4 local of
98, a ViT-S/14 DINOv2 (random weights in the official layout) with its projection head
(2048, 2048, 256), the EMA teacher on the global crops, every (global, other crop) pair ROI-aligned
to 7 x 7 (torchvision), references shuffled from the batch, the dense-matrix sorting network of the
reference (bitonic, cauchy, steepness 100), AdamW in four groups, the teacher's EMA. Both sides get
the same crops and boxes (dinofeat.neco.views; the reference's step does not pay for making them,
ours does: its timed step decodes nothing but augments on worker threads). Reports the time ratio
reference / ours and both first losses (the same images, crops drawn from different seeds)."""
import argparse
import os
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.ops import roi_align

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bindings", "python"))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "..", "test", "reference"))
import dinofeat  # noqa: E402
from timing import timed  # noqa: E402
from neco_reference import neco_loss  # noqa: E402

DIM, DEPTH, HEADS, PATCH, GRID = 384, 12, 6, 14, 37


class Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.qkv, self.proj = nn.Linear(DIM, 3 * DIM), nn.Linear(DIM, DIM)

    def forward(self, x):
        b, n, d = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, HEADS, d // HEADS).permute(2, 0, 3, 1, 4)
        attention = ((q * (d // HEADS) ** -0.5) @ k.transpose(-2, -1)).softmax(-1)
        return self.proj((attention @ v).transpose(1, 2).reshape(b, n, d))


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(DIM, 4 * DIM), nn.Linear(4 * DIM, DIM)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


class LayerScale(nn.Module):
    def __init__(self):
        super().__init__()
        self.gamma = nn.Parameter(torch.full((DIM,), 1e-5))

    def forward(self, x):
        return x * self.gamma


def drop_path(x, rate, training):
    if rate == 0 or not training:
        return x
    keep = torch.empty(x.shape[0], 1, 1).bernoulli_(1 - rate) / (1 - rate)
    return x * keep


class Block(nn.Module):
    def __init__(self, rate):
        super().__init__()
        self.norm1, self.attn, self.ls1 = nn.LayerNorm(DIM, eps=1e-6), Attention(), LayerScale()
        self.norm2, self.mlp, self.ls2 = nn.LayerNorm(DIM, eps=1e-6), Mlp(), LayerScale()
        self.rate = rate

    def forward(self, x):
        x = x + drop_path(self.ls1(self.attn(self.norm1(x))), self.rate, self.training)
        return x + drop_path(self.ls2(self.mlp(self.norm2(x))), self.rate, self.training)


class PatchEmbed(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Conv2d(3, DIM, PATCH, PATCH)


class ViT(nn.Module):
    """DINOv2 ViT-S/14 under the official names; forward gives the final-norm patch tokens."""

    def __init__(self, drop_path_rate=0.0):
        super().__init__()
        self.cls_token = nn.Parameter(torch.randn(1, 1, DIM) * 0.02)
        self.pos_embed = nn.Parameter(torch.randn(1, 1 + GRID * GRID, DIM) * 0.02)
        self.mask_token = nn.Parameter(torch.zeros(1, DIM))
        self.patch_embed = PatchEmbed()
        self.blocks = nn.ModuleList(Block(drop_path_rate * i / (DEPTH - 1)) for i in range(DEPTH))
        self.norm = nn.LayerNorm(DIM, eps=1e-6)

    def forward(self, x):
        b, _, h, w = x.shape
        tokens = self.patch_embed.proj(x).flatten(2).transpose(1, 2)
        grid = self.pos_embed[:, 1:].reshape(1, GRID, GRID, DIM).permute(0, 3, 1, 2)
        grid = F.interpolate(grid, scale_factor=((h // PATCH + 0.1) / GRID, (w // PATCH + 0.1) / GRID), mode="bicubic")
        pos = torch.cat([self.pos_embed[:, :1], grid.permute(0, 2, 3, 1).reshape(1, -1, DIM)], 1)
        x = torch.cat([self.cls_token.expand(b, -1, -1), tokens], 1) + pos
        for block in self.blocks:
            x = block(x)
        return self.norm(x)[:, 1:].reshape(b, h // PATCH, w // PATCH, DIM)


def head():
    return nn.Sequential(nn.Linear(DIM, 2048), nn.GELU(), nn.Linear(2048, 2048), nn.GELU(), nn.Linear(2048, 256))


def intersections(boxes, sizes, globals_):
    """The official calculate_bboxes: gc (G, V, 4) in the global crop's pixels, all (V, G, 4) in v's."""
    views = len(boxes)
    gc, al = np.zeros((globals_, views, 4)), np.zeros((views, globals_, 4))
    for g in range(globals_):
        for v in range(views):
            a, b = boxes[g], boxes[v]
            corner = [max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])]
            for k in range(4):
                axis = k % 2
                gc[g, v, k] = sizes[g] * (corner[k] - a[axis]) / (a[axis + 2] - a[axis])
                al[v, g, k] = sizes[v] * (corner[k] - b[axis]) / (b[axis + 2] - b[axis])
    return gc, al


class Reference:
    """The plain-PyTorch step: the official neco.py's arithmetic."""

    def __init__(self, state, total):
        self.student, self.teacher = ViT(0.1), ViT()
        self.student.load_state_dict(state)
        self.teacher.load_state_dict(state)
        self.head_s, self.head_t = head(), head()
        self.head_t.load_state_dict(self.head_s.state_dict())
        groups = [[], [], [], []]
        for module, base in ((self.student, 0), (self.head_s, 2)):
            for name, p in module.named_parameters():
                if name != "mask_token":
                    groups[base + (name.endswith(".bias") or p.dim() == 1)].append(p)
        lrs = (1e-5, 1e-5, 1e-4, 1e-4)
        self.optimizer = torch.optim.AdamW([{"params": g, "lr": lr, "weight_decay": 0.04 if i % 2 == 0 else 0.0}
                                            for i, (g, lr) in enumerate(zip(groups, lrs))])
        self.total, self.steps = total, 0

    def embed(self, vit, projection, x):
        return F.normalize(projection(vit(x)), dim=-1)

    def step(self, crops_g, crops_l, gc, al, batch):
        with torch.no_grad():
            teacher = self.embed(self.teacher, self.head_t, crops_g)
        student_g, student_l = self.embed(self.student, self.head_s, crops_g), self.embed(self.student, self.head_s, crops_l)
        index = torch.arange(batch, dtype=torch.float32).unsqueeze(1)
        loss = 0
        for g in range(2):
            t_map = teacher[g * batch:(g + 1) * batch].permute(0, 3, 1, 2)
            for v in range(6):
                if v == g:
                    continue
                t_al = roi_align(t_map, torch.cat([index, gc[:, g, v]], 1), 7, 1 / PATCH, -1, True)
                s_map = (student_g[v * batch:(v + 1) * batch] if v < 2 else student_l[(v - 2) * batch:(v - 1) * batch])
                s_al = roi_align(s_map.permute(0, 3, 1, 2), torch.cat([index, al[:, v, g]], 1), 7, 1 / PATCH, -1, True)
                t_al, s_al = t_al.flatten(2).transpose(1, 2), s_al.flatten(2).transpose(1, 2)
                refs = t_al.reshape(-1, 256)[torch.randperm(batch * 49)].reshape(batch, 49, 256)
                loss = loss + neco_loss(s_al, t_al, refs)
        loss = loss / 10
        self.optimizer.zero_grad()
        loss.backward()
        progress = self.steps / self.total
        for i, group in enumerate(self.optimizer.param_groups):
            group["lr"] = (1e-5 if i < 2 else 1e-4) * 0.5 * (1 + np.cos(np.pi * progress))
            if i % 2 == 0:
                group["weight_decay"] = 0.5 + 0.5 * (0.04 - 0.5) * (1 + np.cos(np.pi * progress))
        self.optimizer.step()
        m = 1 + 0.5 * (0.9995 - 1) * (1 + np.cos(np.pi * progress))
        with torch.no_grad():
            for ps, pt in zip(list(self.student.parameters()) + list(self.head_s.parameters()),
                              list(self.teacher.parameters()) + list(self.head_t.parameters())):
                pt.mul_(m).add_(ps.detach(), alpha=1 - m)
        self.steps += 1
        return loss.item()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dinofeat.set_num_threads(args.threads)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    state = ViT().state_dict()
    b = args.batch
    pixels = [rng.integers(0, 256, (320, 320, 3), dtype=np.uint8) for _ in range(b)]
    for array in pixels:  # smooth structure, so crops differ in content
        array[:] = (array.astype(np.float32) * 0.3 + 120 + 60 * np.sin(np.arange(320) / 17)[:, None, None]).astype(np.uint8)
    images = [dinofeat.Image.from_numpy(p) for p in pixels]
    views = [dinofeat.neco.views(image, seed=i) for i, image in enumerate(images)]
    crops_g = torch.from_numpy(np.stack([v[0] for v in views], 1).reshape(2 * b, 3, 224, 224))
    crops_l = torch.from_numpy(np.stack([v[1] for v in views], 1).reshape(4 * b, 3, 98, 98))
    boxes = [intersections(v[2], [224, 224, 98, 98, 98, 98], 2) for v in views]
    gc = torch.tensor(np.stack([x[0] for x in boxes]), dtype=torch.float32)
    al = torch.tensor(np.stack([x[1] for x in boxes]), dtype=torch.float32)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "vits14.pth")
        torch.save(state, path)
        model = dinofeat.Model(path)
        trainer = dinofeat.neco.Trainer(model, total_steps=100)
        reference = Reference(state, 100)
        first_ours = trainer.step(images)
        first_theirs = reference.step(crops_g, crops_l, gc, al, b)
        ours = timed(lambda: trainer.step(images), args.repeats)
        theirs = timed(lambda: reference.step(crops_g, crops_l, gc, al, b), args.repeats)
    print(f"NeCo step, ViT-S/14, batch {b}, 2 x 224 + 4 x 98 crops, {args.threads} threads (torch {torch.__version__})")
    print(f"first loss: dinofeat {first_ours:.4f}, plain PyTorch {first_theirs:.4f} (log 49 = {np.log(49):.4f})")
    print(f"| step | plain PyTorch | dinofeat | ratio |\n| --- | --- | --- | --- |\n"
          f"| batch {b} | {theirs:.2f} s | {ours:.2f} s | {theirs / ours:.2f}x |")


if __name__ == "__main__":
    main()
