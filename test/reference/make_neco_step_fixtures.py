#!/usr/bin/python3
"""NeCo training steps written from the official code's semantics (vpariza/NeCo src/neco.py;
specs/neco.md), to hold df_neco_step to: the tiny DINOv2 of the model fixtures as student and
teacher (vit_reference.py, differentiable), the projection head Linear - GELU - Linear - GELU -
Linear, L2-normalised; each step's views made by other code than the library's
(neco_views_reference.py: torchvision's crop parameters, PIL's crops, torchvision's jitter, PIL's
blur) from the seeds the library draws; torchvision's roi_align (7 x 7, aligned, adaptive sampling,
scale 1 / patch) onto the crops' common boxes; references the teacher's aligned patches of the
batch in a random order; the loss of neco_reference.py (dense sorting networks); torch.optim.AdamW
with the official four groups (backbone / head, with / without decay for biases and 1-D tensors),
cosine learning rates and weight decay, and the teacher's EMA. In float64.

Where the library draws: its generator (generator.py) seeded with neco.seed draws the head's
weights (Box-Muller on two 53-bit uniforms, std 0.02, redrawn outside +-2; biases 0); then each
step draws a step seed, image i's views come from a generator seeded with the first draw of one
seeded (step seed) ^ (0x9E3779B97F4A7C15 (i + 1)); then a draw for the drop-path stream (unused
here: drop-path 0); then for every (global g, other crop v) pair a Fisher-Yates permutation of
the batch's B x 49 teacher patches (for i = n - 1 down to 1: swap i with a draw modulo i + 1),
image b's references being the permuted rows b x 49 .. b x 49 + 48.

manifest.txt lines:
  image NAME H W                      NAME.rgb.u8 (H x W x 3)
  settings KEY VALUE                  the neco.* settings of the run (names as lib/options.c)
  steps N TOTAL                       N steps of a TOTAL-step schedule, images in manifest order
  loss STEP VALUE                     the loss of each step (1-based)
  param NAME NUMEL                    the trainer's parameters in its order: initial.f32 holds their
                                      starting values, state.f32 per parameter the student, teacher,
                                      m and v after the last step
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torchvision.ops import roi_align

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vit_reference as vit  # noqa: E402
from generator import MASK, Generator  # noqa: E402
from neco_reference import neco_loss  # noqa: E402
from neco_views_reference import make_views  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/neco_step"
MODELS = os.path.join(os.path.dirname(OUT.rstrip("/")), "models")
os.makedirs(OUT, exist_ok=True)
torch.set_default_dtype(torch.float64)

SETTINGS = dict(global_size=56, local_size=28, global_crops=2, local_crops=2, head_hidden=32, head_out=16, seed=5,
                drop_path=0.0, adam_eps=1.0, lr_head=0.5, lr_backbone=0.5, weight_decay=0.04, weight_decay_end=0.5,
                momentum=0.5)
STEPS, TOTAL, HEADS, ALIGNED = 3, 4, 2, 7


def backbone_names(state):
    """The library's parameter order: the embeddings and final norm, then each block's."""
    arch = vit.architecture(state)
    names = ["cls_token", "pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias", "norm.weight", "norm.bias"]
    if arch["registers"]:
        names.append("register_tokens")
    for i in range(arch["depth"]):
        p = f"blocks.{i}."
        names += [p + n for n in ("norm1.weight", "norm1.bias", "norm2.weight", "norm2.bias", "attn.qkv.weight",
                                  "attn.qkv.bias", "attn.proj.weight", "attn.proj.bias")]
        mlp = ("w12", "w3") if arch["swiglu"] else ("fc1", "fc2")
        names += [p + f"mlp.{m}.{k}" for m in mlp for k in ("weight", "bias")]
        if arch["layerscale"]:
            names += [p + "ls1.gamma", p + "ls2.gamma"]
    return names


def head_weight(g, rows, cols):
    values = []
    while len(values) < rows * cols:
        u1, u2 = 1.0 - (g.next() >> 11) * 2.0 ** -53, (g.next() >> 11) * 2.0 ** -53
        z = 0.02 * math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)
        if -2.0 <= z <= 2.0:
            values.append(np.float32(z))
    return torch.tensor(np.array(values, np.float32).reshape(rows, cols), dtype=torch.float64)


def embed(params, crops):
    """Final-norm patch tokens through the head, L2-normalised: (N, gh, gw, E)."""
    x = vit.forward(params, crops, HEADS)["patch"]
    x = F.gelu(F.linear(x, params["head.0.weight"], params["head.0.bias"]))
    x = F.gelu(F.linear(x, params["head.2.weight"], params["head.2.bias"]))
    return F.normalize(F.linear(x, params["head.4.weight"], params["head.4.bias"]), dim=-1)


def common_box(a, b, size_of_a):
    """The intersection of boxes a and b in the pixels of a's crop (resized to size_of_a)."""
    corner = [max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])]
    return [size_of_a * (corner[k] - a[k % 2]) / (a[k % 2 + 2] - a[k % 2]) for k in range(4)]


def aligned(maps, boxes, patch):
    """maps (B, gh, gw, E), boxes B x [x1, y1, x2, y2] -> (B, 49, E)."""
    rois = torch.tensor([[i] + list(box) for i, box in enumerate(boxes)])
    out = roi_align(maps.permute(0, 3, 1, 2), rois, ALIGNED, spatial_scale=1.0 / patch, sampling_ratio=-1,
                    aligned=True)
    return out.flatten(2).transpose(1, 2)


def permutation(n, g):
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        j = g.next() % (i + 1)
        order[i], order[j] = order[j], order[i]
    return order


def cosine(start, end, step, total):
    return end + 0.5 * (start - end) * (1 + math.cos(math.pi * min(step, total) / total))


def make_images():
    rng = np.random.default_rng(77)
    images = {}
    for name, (h, w) in (("first", (64, 72)), ("second", (80, 64))):
        yy, xx = np.mgrid[0:h, 0:w]
        cy, cx, r = rng.integers(20, h - 20), rng.integers(20, w - 20), rng.integers(8, 16)
        disc = (yy - cy) ** 2 + (xx - cx) ** 2 < r * r
        rgb = np.stack([np.where(disc, 210, 60 + 40 * np.sin(xx * 0.5)), np.where(disc, 80, 90 + 30 * np.cos(yy * 0.4)),
                        np.where(disc, 40, 100 + (xx ^ yy) % 50)], -1)
        rgb = np.clip(rgb + rng.integers(-15, 16, rgb.shape), 0, 255).astype(np.uint8)
        rgb.tofile(os.path.join(OUT, f"{name}.rgb.u8"))
        images[name] = rgb
    return images


def main():
    s = SETTINGS
    images = make_images()
    state = torch.load(os.path.join(MODELS, "dinov2_s14.pth"))
    patch = vit.architecture(state)["patch"]
    g = Generator(s["seed"])
    names = backbone_names(state)
    student = {n: state[n].double().clone() for n in names}
    shapes = ((s["head_hidden"], state["cls_token"].shape[-1]), (s["head_hidden"], s["head_hidden"]),
              (s["head_out"], s["head_hidden"]))
    for layer, (rows, cols) in enumerate(shapes):
        student[f"head.{2 * layer}.weight"] = head_weight(g, rows, cols)
        student[f"head.{2 * layer}.bias"] = torch.zeros(rows)
    names = list(student)
    np.concatenate([student[n].reshape(-1).numpy().astype("<f4") for n in names]).tofile(
        os.path.join(OUT, "initial.f32"))
    teacher = {n: t.clone() for n, t in student.items()}
    for t in student.values():
        t.requires_grad_(True)
    groups = []
    for head in (False, True):
        for decay in (True, False):
            members = [n for n in names if n.startswith("head.") == head and
                       (not (n.endswith(".bias") or student[n].dim() == 1)) == decay]
            groups.append(dict(params=[student[n] for n in members], head=head, decay=decay))
    optimiser = torch.optim.AdamW(groups, betas=(0.9, 0.999), eps=s["adam_eps"])
    views = s["global_crops"] + s["local_crops"]
    batch = len(images)
    manifest = [f"image {n} {rgb.shape[0]} {rgb.shape[1]}" for n, rgb in images.items()]
    manifest += [f"settings {k} {v!r}" for k, v in s.items()]
    manifest.append(f"steps {STEPS} {TOTAL}")
    for step in range(STEPS):
        step_seed = g.next()
        crops, boxes = [], []
        for i, rgb in enumerate(images.values()):
            seed = Generator((step_seed ^ (0x9E3779B97F4A7C15 * (i + 1))) & MASK).next()
            global_crops, local_crops, image_boxes = make_views(
                Image.fromarray(rgb), seed, s["global_size"], s["local_size"], s["global_crops"], s["local_crops"],
                0.01, 0.8, 0.2, 0.5)
            crops.append(list(global_crops) + list(local_crops))
            boxes.append(image_boxes)
        g.next()  # the drop-path stream
        sizes = [s["global_size"]] * s["global_crops"] + [s["local_size"]] * s["local_crops"]
        # crop-major: crop v of image i at v * batch + i, as the official loader stacks them
        by_crop = [torch.from_numpy(np.stack([crops[i][v] for i in range(batch)])).double() for v in range(views)]
        with torch.no_grad():
            teacher_maps = [embed(teacher, by_crop[v]) for v in range(s["global_crops"])]
        student_globals = embed(student, torch.cat(by_crop[:s["global_crops"]]))
        student_locals = embed(student, torch.cat(by_crop[s["global_crops"]:]))
        student_maps = list(student_globals.split(batch)) + list(student_locals.split(batch))
        loss = 0
        for gi in range(s["global_crops"]):
            for v in range(views):
                if v == gi:
                    continue
                teacher_aligned = aligned(teacher_maps[gi], [common_box(boxes[i][gi], boxes[i][v], s["global_size"])
                                                             for i in range(batch)], patch)
                student_aligned = aligned(student_maps[v], [common_box(boxes[i][v], boxes[i][gi], sizes[v])
                                                            for i in range(batch)], patch)
                order = permutation(batch * ALIGNED * ALIGNED, g)
                refs = teacher_aligned.reshape(-1, teacher_aligned.shape[-1])[order].view_as(teacher_aligned)
                loss = loss + neco_loss(student_aligned, teacher_aligned, refs) / (s["global_crops"] * (views - 1))
        optimiser.zero_grad()
        loss.backward()
        for group in optimiser.param_groups:
            group["lr"] = (s["lr_head"] if group["head"] else s["lr_backbone"]) * cosine(1.0, 0.0, step, TOTAL)
            group["weight_decay"] = cosine(s["weight_decay"], s["weight_decay_end"], step, TOTAL) if group["decay"] else 0
        optimiser.step()
        momentum = cosine(s["momentum"], 1.0, step, TOTAL)
        with torch.no_grad():
            for n in names:
                teacher[n].mul_(momentum).add_(student[n], alpha=1 - momentum)
        manifest.append(f"loss {step + 1} {loss.item()!r}")
        print(f"step {step + 1}: loss {loss.item():.10f}")
    state_out = []
    for n in names:
        moments = optimiser.state[student[n]]
        for t in (student[n], teacher[n], moments["exp_avg"], moments["exp_avg_sq"]):
            state_out.append(t.detach().reshape(-1).numpy().astype("<f4"))
        manifest.append(f"param {n} {student[n].numel()}")
    np.concatenate(state_out).tofile(os.path.join(OUT, "state.f32"))
    with open(os.path.join(OUT, "manifest.txt"), "w") as f:
        f.write("\n".join(manifest) + "\n")


main()
