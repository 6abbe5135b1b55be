"""Sempart (specs/sempart.md) in plain PyTorch: the network as an nn.Module whose state_dict names
are dinofeat's, and the losses written literally from the spec (dense W, sums over neighbour
pairs in both orders), the reference the C library is tested against."""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Encoder(nn.Module):
    def __init__(self, dim, grid, width=64, heads=2):
        super().__init__()
        self.heads = heads
        self.proj = nn.Linear(dim, width)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, width))
        self.pos_embed = nn.Parameter(torch.zeros(1, grid[0] * grid[1] + 1, width))
        self.norm1 = nn.LayerNorm(width)
        self.attn = nn.Module()
        self.attn.qkv = nn.Linear(width, 3 * width)
        self.attn.proj = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width)
        self.mlp = nn.Module()
        self.mlp.fc1 = nn.Linear(width, 4 * width)
        self.mlp.fc2 = nn.Linear(4 * width, width)

    def forward(self, f):  # f (B, h, w, D) -> (B, E, h, w)
        b, h, w, _ = f.shape
        x = self.proj(f.reshape(b, h * w, -1))
        x = torch.cat([self.cls_token.expand(b, -1, -1), x], 1) + self.pos_embed
        y = self.norm1(x)
        e = x.shape[-1]
        qkv = self.attn.qkv(y).reshape(b, -1, 3, self.heads, e // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        a = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(e // self.heads), -1)
        x = x + self.attn.proj((a @ v).transpose(1, 2).reshape(b, -1, e))
        x = x + self.mlp.fc2(F.gelu(self.mlp.fc1(self.norm2(x))))
        return x[:, 1:].transpose(1, 2).reshape(b, e, h, w)


class Block(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)  # ours: BatchNorm cancels a bias
        self.bn = nn.BatchNorm2d(c_out)
        self.channels_last = False

    def forward(self, x):
        if self.channels_last:  # the convolution algorithm dinofeat uses (see Sempart)
            cl = torch.channels_last
            x = F.conv2d(x.contiguous(memory_format=cl), self.conv.weight.contiguous(memory_format=cl), padding=1)
        else:
            x = self.conv(x)
        return F.leaky_relu(self.bn(x), 0.01)


class Fine(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.block1 = Block(width + 3, 192)
        self.block2 = Block(195, 128)
        self.block3 = Block(131, 128)
        self.block4 = Block(128, 128)
        self.out = nn.Conv2d(131, 1, 1)


def resized(x, size):
    return x if tuple(x.shape[-2:]) == tuple(size) else F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class Sempart(nn.Module):
    """channels_last runs the fine blocks' convolutions channels-last, as dinofeat does: the
    same values up to rounding, but libtorch's other algorithm rounds differently, and the first
    Adam steps (lr x the gradient's sign) turn a near-zero gradient's rounding into a whole step,
    so step-for-step comparisons need the same algorithm on both sides."""

    def __init__(self, dim, grid, width=64, heads=2, joint=True, channels_last=False):
        super().__init__()
        self.joint = joint
        self.encoder = Encoder(dim, grid, width, heads)
        self.coarse = nn.Conv2d(width, 1, 1)
        self.fine = Fine(width)
        for block in (self.fine.block1, self.fine.block2, self.fine.block3, self.fine.block4):
            block.channels_last = channels_last

    def forward(self, f, images):
        h, w = f.shape[1], f.shape[2]
        t = self.encoder(f)
        coarse = torch.sigmoid(self.coarse(t)).squeeze(1)
        x = t if self.joint else t.detach()
        for block, scale in ((self.fine.block1, 2), (self.fine.block2, 4), (self.fine.block3, 8)):
            x = block(torch.cat([resized(x, (scale * h, scale * w)), resized(images, (scale * h, scale * w))], 1))
        x = torch.cat([self.fine.block4(x), resized(images, (8 * h, 8 * w))], 1)
        return coarse, torch.sigmoid(self.fine.out(x)).squeeze(1)


def ncut_loss(masks, features, tau=0.2, eps=1e-6):
    """sum over X in {A, B} of S_X^T W (1 - S_X) / (S_X^T W 1), mean over images; a term whose
    partition is empty (S_X^T W 1 = 0) is 1, its limit (ours: the spec leaves 0 / 0 open)."""
    b = masks.shape[0]
    total = 0
    for i in range(b):
        s = masks[i].reshape(-1).to(torch.float64 if masks.dtype == torch.float64 else torch.float32)
        f = F.normalize(features[i].reshape(s.numel(), -1).to(s.dtype), dim=-1)
        a = f @ f.T
        w = torch.where(a > tau, torch.ones_like(a), torch.full_like(a, eps))
        w.fill_diagonal_(0)
        for sx in (s, 1 - s):
            assoc = sx @ w @ torch.ones_like(sx)
            total = total + ((sx @ w @ (1 - sx)) / assoc if assoc > 0 else 1.0)
    return total / b


def _grid_pairs(h, w):
    """4-neighbour pairs in both orders, as index tensors into the flattened grid."""
    i, j = [], []
    for y in range(h):
        for x in range(w):
            for dy, dx in ((0, 1), (1, 0), (0, -1), (-1, 0)):
                if 0 <= y + dy < h and 0 <= x + dx < w:
                    i.append(y * w + x)
                    j.append((y + dy) * w + x + dx)
    return torch.tensor(i), torch.tensor(j)


def gtv_coarse_loss(masks, features, eps=1e-6):
    b, h, w = masks.shape
    i, j = _grid_pairs(h, w)
    total = 0
    for k in range(b):
        s = masks[k].reshape(-1)
        f = F.normalize(features[k].reshape(h * w, -1).to(s.dtype), dim=-1)
        dot = (f[i] * f[j]).sum(-1)
        a = torch.where(dot > 0, torch.ones_like(dot), torch.full_like(dot, eps))
        total = total + 0.5 * (a * (s[i] - s[j]) ** 2).sum()
    return total / b


def gtv_fine_loss(masks, images, sigma=1.0):
    b, h, w = masks.shape
    i, j = _grid_pairs(h, w)
    total = 0
    for k in range(b):
        s = masks[k].reshape(-1)
        x = images[k].reshape(images.shape[1], -1).to(s.dtype)
        a = torch.exp(-((x[:, i] - x[:, j]) ** 2).sum(0) / sigma)
        total = total + 0.5 * (a * (s[i] - s[j]) ** 2).sum()
    return total / b


def sr_loss(fine, coarse):
    factor = fine.shape[1] // coarse.shape[1]
    pooled = F.avg_pool2d(fine.unsqueeze(1), factor).squeeze(1)
    return ((pooled - coarse) ** 2).sum((1, 2)).mean()


WEIGHTS = (0.0006, 0.0002, 20.0)


def step(model, optimiser, f, images, tau=0.2, eps=1e-6, sigma=1.0, weights=WEIGHTS):
    """One training step as the spec says; returns the four terms and the total."""
    model.train()
    optimiser.zero_grad()
    coarse, fine = model(f, images)
    target = coarse if model.joint else coarse.detach()
    terms = [ncut_loss(coarse, f, tau, eps), gtv_coarse_loss(coarse, f, eps),
             gtv_fine_loss(fine, resized(images, fine.shape[-2:]), sigma), sr_loss(fine, target)]
    total = terms[0] + weights[0] * terms[1] + weights[1] * terms[2] + weights[2] * terms[3]
    total.backward()
    optimiser.step()
    return [t.item() for t in terms] + [total.item()]
