"""A plain-PyTorch DINO / DINOv2 vision transformer written from ../../shared/specs/backbones.md,
functional over a state dict in the official key layout. It is the reference the C library is
tested against: obvious over fast, nothing clever.
"""
import math

import torch
import torch.nn.functional as F

LN_EPS = 1e-6


def architecture(state):
    """Family, dimensions and extras read from an official-layout state dict."""
    dim = state["cls_token"].shape[-1]
    depth = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("blocks."))
    patch = state["patch_embed.proj.weight"].shape[-1]
    registers = state["register_tokens"].shape[1] if "register_tokens" in state else 0
    layerscale = "blocks.0.ls1.gamma" in state
    swiglu = "blocks.0.mlp.w12.weight" in state
    grid = int(math.isqrt(state["pos_embed"].shape[1] - 1))
    return dict(dim=dim, depth=depth, patch=patch, registers=registers, layerscale=layerscale,
                swiglu=swiglu, grid=grid)


def interpolate_pos_embed(pos_embed, gh, gw, variant):
    """Resample the patch part of pos_embed (1, 1 + M*M, D) to gh x gw, per the spec's table."""
    cls_pos, patch_pos = pos_embed[:, :1], pos_embed[:, 1:]
    m = int(math.isqrt(patch_pos.shape[1]))
    if gh == m and gw == m:
        return pos_embed
    dim = patch_pos.shape[-1]
    grid = patch_pos.float().reshape(1, m, m, dim).permute(0, 3, 1, 2)
    if variant == "offset":
        grid = F.interpolate(grid, scale_factor=((gh + 0.1) / m, (gw + 0.1) / m), mode="bicubic",
                             align_corners=False, recompute_scale_factor=False)
    elif variant == "size_aa":
        grid = F.interpolate(grid, size=(gh, gw), mode="bicubic", align_corners=False, antialias=True)
    elif variant == "size":
        grid = F.interpolate(grid, size=(gh, gw), mode="bicubic", align_corners=False, antialias=False)
    else:
        raise ValueError(variant)
    assert grid.shape[-2:] == (gh, gw), grid.shape
    return torch.cat([cls_pos, grid.permute(0, 2, 3, 1).reshape(1, gh * gw, dim).to(pos_embed.dtype)], 1)


def cover(images, patch, stride, mode):
    """Centre-crop (default) or zero-pad (bottom/right) so the patch grid covers the input exactly;
    "none" leaves the remainder to the convolution."""
    _, _, h, w = images.shape
    if mode == "none":
        return images
    if mode == "crop":
        ch, cw = patch + stride * ((h - patch) // stride), patch + stride * ((w - patch) // stride)
        # torchvision's CenterCrop (HR-Dv2's closest_crop): Python's round, halves to even
        top, left = int(round((h - ch) / 2.0)), int(round((w - cw) / 2.0))
        return images[:, :, top:top + ch, left:left + cw]
    ph, pw = patch + stride * math.ceil((h - patch) / stride), patch + stride * math.ceil((w - patch) / stride)
    return F.pad(images, (0, pw - w, 0, ph - h))


def attention(x, state, prefix, heads):
    b, n, d = x.shape
    qkv = F.linear(x, state[prefix + "qkv.weight"], state[prefix + "qkv.bias"])
    q, k, v = qkv.reshape(b, n, 3, heads, d // heads).permute(2, 0, 3, 1, 4)
    weights = ((q @ k.transpose(-2, -1)) * (d // heads) ** -0.5).softmax(-1)
    out = (weights @ v).transpose(1, 2).reshape(b, n, d)
    return F.linear(out, state[prefix + "proj.weight"], state[prefix + "proj.bias"]), weights, qkv


def mlp(x, state, prefix, swiglu):
    if swiglu:
        x1, x2 = F.linear(x, state[prefix + "w12.weight"], state[prefix + "w12.bias"]).chunk(2, dim=-1)
        return F.linear(F.silu(x1) * x2, state[prefix + "w3.weight"], state[prefix + "w3.bias"])
    hidden = F.gelu(F.linear(x, state[prefix + "fc1.weight"], state[prefix + "fc1.bias"]))
    return F.linear(hidden, state[prefix + "fc2.weight"], state[prefix + "fc2.bias"])


def layer_norm(x, state, prefix):
    return F.layer_norm(x, x.shape[-1:], state[prefix + ".weight"], state[prefix + ".bias"], LN_EPS)


def forward(state, images, heads, variant="offset", stride=None, cover_mode="crop", intermediate=()):
    """Returns a dict: patch (B, gh, gw, D), cls (B, D), registers (B, R, D), cls_attention
    (B, heads, gh, gw), q / k / v (B, N, D) of the last block, and intermediate_{i} (B, gh, gw, D)."""
    arch = architecture(state)
    patch = arch["patch"]
    stride = stride or patch
    images = cover(images, patch, stride, cover_mode)
    tokens = F.conv2d(images, state["patch_embed.proj.weight"], state["patch_embed.proj.bias"], stride=stride)
    b, d, gh, gw = tokens.shape
    tokens = tokens.flatten(2).transpose(1, 2)
    x = torch.cat([state["cls_token"].expand(b, -1, -1), tokens], 1)
    x = x + interpolate_pos_embed(state["pos_embed"], gh, gw, variant)
    r = arch["registers"]
    if r:
        x = torch.cat([x[:, :1], state["register_tokens"].expand(b, -1, -1), x[:, 1:]], 1)
    outputs = {}
    wanted = {i % arch["depth"] for i in intermediate}
    for i in range(arch["depth"]):
        p = f"blocks.{i}."
        y, weights, qkv = attention(layer_norm(x, state, p + "norm1"), state, p + "attn.", heads)
        x = x + (state[p + "ls1.gamma"] * y if arch["layerscale"] else y)
        y = mlp(layer_norm(x, state, p + "norm2"), state, p + "mlp.", arch["swiglu"])
        x = x + (state[p + "ls2.gamma"] * y if arch["layerscale"] else y)
        if i in wanted:
            outputs[f"intermediate_{i}"] = layer_norm(x, state, "norm")[:, 1 + r:].reshape(b, gh, gw, d)
    x = layer_norm(x, state, "norm")
    outputs["cls"] = x[:, 0]
    outputs["registers"] = x[:, 1:1 + r]
    outputs["patch"] = x[:, 1 + r:].reshape(b, gh, gw, d)
    outputs["cls_attention"] = weights[:, :, 0, 1 + r:].reshape(b, heads, gh, gw)
    q, k, v = qkv.chunk(3, dim=-1)
    outputs.update(q=q, k=k, v=v)
    return outputs
