#!/usr/bin/python3
"""Sempart fixtures from test/reference/sempart_reference.py:

  loss ID DTYPE B h w D H W     ID.masks ID.features ID.fine ID.images (DTYPE: f32 or f64),
                                ID.losses.f64 (ncut, gtv coarse, gtv fine, sr), ID.grad_ncut,
                                ID.grad_gtvc, ID.grad_gtvf, ID.grad_sr_fine, ID.grad_sr_coarse (.f32)
  net ID JOINT B h w D E HEADS  ID.features ID.images (.f32), ID.init.txt (a line per state, in
                                state_dict order: offset and amplitude), ID.coarse_eval ID.fine_eval
                                ID.coarse_train ID.fine_train (.f32), ID.steps.f64 (5 losses of each
                                of 2 steps), ID.after.f32 (the 40 states after the first step, sampled)
  predict ID h w E HEADS THRESHOLD RULE N
                                df_sempart_predict on an image with the tiny DINO model: see predict_case
Images are (B, 3, 8h, 8w). tau 0.2, eps 1e-6, sigma 1, weights 0.0006 / 0.0002 / 20; Adam with lr 0.1 and eps 1
(see below).
The fine branch alone has half a million weights, so the starting states are not stored: state k
(n elements) starts at offset + amplitude u_j, u_j uniform in [-1, 1) from splitmix64 seeded with
k + 1 (uniform() below), computed in float64 and rounded to float32; after the steps, states of more than 4096 elements are stored
at every 17th element only.
"""
import os
import sys

import numpy as np
import scipy.ndimage
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vit_reference as ref_vit  # noqa: E402
from sempart_reference import Sempart, gtv_coarse_loss, gtv_fine_loss, ncut_loss, sr_loss, step  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/sempart"
os.makedirs(OUT, exist_ok=True)
torch.manual_seed(11)
# Adam's first step moves each weight by lr x the sign of its gradient (with the default eps), so
# a gradient within rounding of 0 (and rounding differs with thread counts and algorithms) would
# move its weight a whole step the other way; with eps = 1 the step is lr g / (|g| + 1), about lr g
# for small g: the steps compare the gradients themselves, to the last digits.
LR, ADAM_EPS = 0.1, 1.0
manifest = []


def save(name, tensor, dtype=np.float32):
    tensor.detach().numpy().astype(dtype).tofile(os.path.join(OUT, name))


def dinofeat_order(model):
    """dinofeat's state order: the parameters as nn.Module registers them (the encoder's own
    [CLS] and position embedding after its projection), then the BatchNorm buffers."""
    state = model.state_dict()
    names = ["encoder.proj.weight", "encoder.proj.bias", "encoder.cls_token", "encoder.pos_embed"]
    names += [n for n, _ in model.named_parameters() if n not in names]
    names += [n for n in state if n.endswith(("running_mean", "running_var"))]
    return names


def states(model):
    state = model.state_dict()
    return [state[n] for n in dinofeat_order(model)]


def loss_case(case_id, dtype, b=2, h=5, w=6, d=12):
    torch_type = torch.float64 if dtype == "f64" else torch.float32
    np_type = np.float64 if dtype == "f64" else np.float32
    features = torch.randn(b, h, w, d, dtype=torch_type)
    features[:, :2] += 2 * torch.randn(d, dtype=torch_type)  # a group of similar tokens: edges above tau
    masks = torch.rand(b, h, w, dtype=torch_type).requires_grad_(True)
    fine = torch.rand(b, 8 * h, 8 * w, dtype=torch_type).requires_grad_(True)
    images = torch.randn(b, 3, 8 * h, 8 * w, dtype=torch_type) * 0.5
    losses, grads = [], []
    for fn, args, wrt in ((ncut_loss, (masks, features), (masks,)), (gtv_coarse_loss, (masks, features), (masks,)),
                          (gtv_fine_loss, (fine, images), (fine,)), (sr_loss, (fine, masks), (fine, masks))):
        value = fn(*args)
        losses.append(value.item())
        grads += torch.autograd.grad(value, wrt)
    for name, t in (("masks", masks), ("features", features), ("fine", fine), ("images", images)):
        save(f"{case_id}.{name}", t, np_type)
    for name, g in zip(("grad_ncut", "grad_gtvc", "grad_gtvf", "grad_sr_fine", "grad_sr_coarse"), grads):
        save(f"{case_id}.{name}", g)
    np.array(losses, np.float64).tofile(os.path.join(OUT, f"{case_id}.losses.f64"))
    manifest.append(f"loss {case_id} {dtype} {b} {h} {w} {d} {8 * h} {8 * w}")


MASK = (1 << 64) - 1


def uniform(seed, count):
    """count values in [-1, 1) from splitmix64 seeded with seed: (z >> 11) / 2^52 - 1."""
    state, out = seed, np.empty(count)
    for i in range(count):
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = ((state ^ (state >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        out[i] = ((z ^ (z >> 31)) >> 11) / 4503599627370496.0 - 1.0
    return out


def initial_state(model):
    """Deterministic starting values a C test can recompute: (offset, amplitude) per state."""
    lines = []
    with torch.no_grad():
        for k, (name, t) in enumerate(zip(dinofeat_order(model), states(model))):
            offset = 1.0 if name.endswith(("running_var", "norm1.weight", "norm2.weight", "bn.weight")) else 0.0
            fan_in = t[0].numel() if t.dim() > 1 and not name.endswith(("cls_token", "pos_embed")) else 16
            amplitude = (0.5 if name.endswith("running_var") else 1.0) / np.sqrt(fan_in)
            values = offset + amplitude * uniform(k + 1, t.numel())
            t.copy_(torch.from_numpy(values.astype(np.float32)).reshape(t.shape))
            lines.append(f"{offset!r} {amplitude!r}")
    return lines


def sampled(model):
    """The states after training, sampled; the key part of the qkv bias zeroed: its gradient is 0
    (softmax ignores a constant added to every key), so Adam steps it by lr in the direction of
    its rounding noise, in PyTorch and here alike, and no two implementations agree on that."""
    parts = []
    for name, t in zip(dinofeat_order(model), states(model)):
        flat = t.reshape(-1).clone()
        if name == "encoder.attn.qkv.bias":
            e = flat.numel() // 3
            flat[e:2 * e] = 0
        parts.append(flat if flat.numel() <= 4096 else flat[::17])
    return torch.cat(parts)


def net_case(case_id, joint, b=2, h=4, w=5, d=16, e=8, heads=2):
    model = Sempart(d, (h, w), e, heads, joint=bool(joint), channels_last=True)
    with open(os.path.join(OUT, f"{case_id}.init.txt"), "w") as f:
        f.write("\n".join(initial_state(model)) + "\n")
    features = torch.randn(b, h, w, d)
    features[:, : h // 2] += 1.5 * torch.randn(d)  # a top half of similar tokens
    images = torch.randn(b, 3, 8 * h, 8 * w) * 0.5
    save(f"{case_id}.features", features)
    save(f"{case_id}.images", images)
    model.eval()
    with torch.no_grad():
        coarse, fine = model(features, images)
    save(f"{case_id}.coarse_eval", coarse)
    save(f"{case_id}.fine_eval", fine)
    model.train()
    kept = [t.clone() for t in states(model)]
    with torch.no_grad():
        coarse, fine = model(features, images)
        for t, k in zip(states(model), kept):
            t.copy_(k)  # a forward in training mode leaves the running statistics as they were here
    save(f"{case_id}.coarse_train", coarse)
    save(f"{case_id}.fine_train", fine)
    optimiser = torch.optim.Adam(model.parameters(), lr=LR, eps=ADAM_EPS)
    losses = step(model, optimiser, features, images)
    save(f"{case_id}.after", sampled(model))
    losses += step(model, optimiser, features, images)
    np.array(losses, np.float64).tofile(os.path.join(OUT, f"{case_id}.steps.f64"))
    manifest.append(f"net {case_id} {joint} {b} {h} {w} {d} {e} {heads}")


def predict_case(case_id="predict", h=4, w=5, e=8, heads=2):
    """df_sempart_predict's whole path on the tiny DINO ViT-S/8 of fixtures/models: an image of
    exactly the grid's size (8h x 8w: the resize is the identity), normalised with ImageNet's
    mean and std, the ViT's patch features (vit_reference, the DINO default offset interpolation of
    the position embeddings), the network (states as the 'joint' case starts) in inference mode;
    the partition of coarse > THRESHOLD that RULE (0 corners, 1 centrality) names is the
    foreground, and both masks are flipped to it. Writes ID.image.png, ID.coarse_fg.f64 (h, w),
    ID.fine_fg.f64 (8h, 8w): the foreground probabilities before 255 x p is rounded; ID.boxes.i32
    (N, 4), the boxes [x0, y0, x1, y1) of the 4-connected components of round(255 x fine) >
    floor(255 x THRESHOLD), the largest first."""
    state = torch.load(os.path.join(os.path.dirname(OUT.rstrip("/")), "models", "dino_s8.pth"))
    yy, xx = np.mgrid[0:8 * h, 0:8 * w]
    disc = (xx - 22.0) ** 2 / 90 + (yy - 15.0) ** 2 / 60 < 1
    rgb = np.stack([np.where(disc, 220, 40 + 30 * np.sin(xx * 0.7)), np.where(disc, 80, 90 + 20 * np.cos(yy * 0.5)),
                    np.where(disc, 60, 120 + (xx * 7 + yy * 3) % 40)], -1).astype(np.uint8)
    Image.fromarray(rgb).save(os.path.join(OUT, f"{case_id}.image.png"))
    mean, std = np.array([0.485, 0.456, 0.406], np.float32), np.array([0.229, 0.224, 0.225], np.float32)
    x = torch.from_numpy(((rgb.astype(np.float32) / np.float32(255) - mean) / std).transpose(2, 0, 1)[None].copy())
    features = ref_vit.forward(state, x, 2, "offset")["patch"]
    model = Sempart(features.shape[-1], (h, w), e, heads, joint=True, channels_last=True)
    initial_state(model)
    model.eval()
    with torch.no_grad():
        coarse, fine = model(features, x)
    coarse, fine = coarse[0].double().numpy(), fine[0].double().numpy()
    # the defaults; then a threshold inside this untrained network's narrow range and the
    # centrality rule, which picks the complement (the masks flipped) and leaves no box
    for suffix, threshold, rule in (("", 0.5, 0), ("_centre", 0.547, 1)):
        select(f"{case_id}{suffix}", coarse, fine, threshold, rule, h, w, e, heads)


def select(case_id, coarse, fine, threshold, rule, h, w, e, heads):
    part = coarse > threshold
    smaller = part.sum() <= (~part).sum()
    if rule == 0:  # corners: the partition touching fewer of them
        inside = int(part[0, 0]) + int(part[0, -1]) + int(part[-1, 0]) + int(part[-1, -1])
        foreground = smaller if inside == 4 - inside else inside < 4 - inside
    else:  # centrality: the lower mean distance of its cells' centres to the image's centre
        yy, xx = np.mgrid[0:h, 0:w]
        distance = np.sqrt(((xx + 0.5) / w - 0.5) ** 2 + ((yy + 0.5) / h - 0.5) ** 2)
        mean1 = distance[part].mean() if part.any() else np.inf
        mean0 = distance[~part].mean() if (~part).any() else np.inf
        foreground = smaller if mean1 == mean0 else mean1 < mean0
    if not foreground:
        coarse, fine = 1.0 - coarse, 1.0 - fine
    coarse.tofile(os.path.join(OUT, f"{case_id}.coarse_fg.f64"))
    fine.tofile(os.path.join(OUT, f"{case_id}.fine_fg.f64"))
    components, count = scipy.ndimage.label(np.rint(255.0 * fine) > np.floor(255.0 * threshold))
    boxes = [[sl[1].start, sl[0].start, sl[1].stop, sl[0].stop] for sl in scipy.ndimage.find_objects(components)]
    boxes.sort(key=lambda b: -(b[2] - b[0]) * (b[3] - b[1]))
    np.array(boxes, np.int32).reshape(-1, 4).tofile(os.path.join(OUT, f"{case_id}.boxes.i32"))
    manifest.append(f"predict {case_id} {h} {w} {e} {heads} {threshold!r} {rule} {len(boxes)}")


loss_case("loss32", "f32")
loss_case("loss64", "f64")
net_case("joint", 1)
net_case("separate", 0)
predict_case()
with open(os.path.join(OUT, "manifest.txt"), "w") as f:
    f.write("\n".join(manifest) + "\n")
