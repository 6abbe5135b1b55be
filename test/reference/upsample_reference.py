"""HR-Dv2 upsampling (shared/specs/hrdv2.md section 1), the obvious way: every view is computed,
resized to full resolution with F.interpolate, inverted with roll / flip, kept, and averaged."""
import torch
import torch.nn.functional as F

import vit_reference as ref

MOORE = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]
NEUMANN = [(-1, 0), (0, -1), (0, 1), (1, 0)]


def views(distances, neighbourhood, flips):
    shifts = [(0, 0)] + [(dy * d, dx * d) for d in distances for dy, dx in (MOORE if neighbourhood == "moore" else NEUMANN)]
    flip_list = [((), 2.0 if flips == "official" else 1.0)]
    if flips != "off":
        flip_list += [((3,), 1.0), ((2,), 1.0)]  # horizontal, vertical
    return [(s, f, w) for s in shifts for f, w in flip_list]


def shift(x, dy, dx, border):
    """Rows move down by dy, columns right by dx (torch.roll's sense); borders wrap, or fill."""
    if border == "wrap":
        return torch.roll(x, (dy, dx), (2, 3))
    h, w = x.shape[2:]
    pad = (max(dx, 0), max(-dx, 0), max(dy, 0), max(-dy, 0))
    padded = F.pad(x, pad) if border == "zero" else F.pad(x, pad, mode="replicate")
    return padded[:, :, max(-dy, 0):max(-dy, 0) + h, max(-dx, 0):max(-dx, 0) + w]


def attention_channels(out, kind, heads, registers, gh, gw):
    if kind == "cls":
        return out["cls_attention"]                               # (1, heads, gh, gw)
    b, n, d = out["q"].shape
    per_head = {name: out[name].reshape(b, n, heads, d // heads) for name in ("q", "k", "v")}
    if kind == "o":
        q, k, v = (per_head[name].transpose(1, 2) for name in ("q", "k", "v"))  # (1, heads, n, hd)
        weights = ((q[:, :, :1] @ k.transpose(-2, -1)) * (d // heads) ** -0.5).softmax(-1)
        o = weights @ v                                                         # (1, heads, 1, hd)
        channels = (v * o).sum(-1)                                              # (1, heads, n)
    else:
        channels = per_head[kind].sum(-1).transpose(1, 2)
    return channels[:, :, 1 + registers:].reshape(b, heads, gh, gw)


def upsample(state, image, heads, stride, distances, neighbourhood="moore", flips="on", border="wrap",
             interp="nearest-exact", attention="cls", variant="offset"):
    """Returns features (H, W, D) and attention (H, W, heads) for image (1, 3, H0, W0)."""
    arch = ref.architecture(state)
    p = arch["patch"]
    h, w = image.shape[2] // p * p, image.shape[3] // p * p
    # torchvision's CenterCrop, as HR-Dv2's closest_crop applies it: Python's round, halves to even
    top, left = int(round((image.shape[2] - h) / 2.0)), int(round((image.shape[3] - w) / 2.0))
    x = image[:, :, top:top + h, left:left + w]
    features, attentions, masks, weights = [], [], [], []
    for (dy, dx), flip_dims, weight in views(distances, neighbourhood, flips):
        seen = shift(x, dy, dx, border)
        if flip_dims:
            seen = torch.flip(seen, flip_dims)
        out = ref.forward(state, seen, heads, variant, stride, "none")
        gh, gw = out["patch"].shape[1:3]
        maps = [out["patch"].permute(0, 3, 1, 2), attention_channels(out, attention, heads, arch["registers"], gh, gw)]
        resized = [F.interpolate(m, size=(h, w), mode=interp, **({"align_corners": False} if interp == "bilinear" else {}))
                   for m in maps]
        inverse = []
        for m in resized + [torch.ones(1, 1, h, w, device=x.device)]:
            if flip_dims:
                m = torch.flip(m, flip_dims)
            inverse.append(shift(m, -dy, -dx, "wrap" if border == "wrap" else "zero"))
        features.append(inverse[0])
        attentions.append(inverse[1])
        masks.append(inverse[2])
        weights.append(weight)
    total = sum(w * m for w, m in zip(weights, masks))
    f = sum(w * m for w, m in zip(weights, features)) / total
    a = sum(w * m for w, m in zip(weights, attentions)) / total
    return f[0].permute(1, 2, 0), a[0].permute(1, 2, 0)
