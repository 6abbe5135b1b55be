#!/usr/bin/python3
"""Linear-probe fixtures (shared/specs/eval.md; NeCo's linear segmentation as its
linear_finetune.py trains it) in plain PyTorch: the features upsampled bilinearly to the labels'
size, then Conv2d(D, C, 1), CrossEntropyLoss(ignore_index=255), SGD(momentum, weight_decay) and
StepLR(step_size=drop_at, gamma) stepped once an epoch. The initial weights are the library's
documented draw (uniform in +-1/sqrt(D) from splitmix64, weights then biases), written out here.
Labels past the classes (other than 255) are mapped to 255: the library ignores them too.

  probe ID DIM CLASSES BATCH H W LH LW EPOCHS STEPS DROP_AT LR MOMENTUM DECAY GAMMA SEED PH PW
    files ID.features.raw (EPOCHS*STEPS x BATCH x H x W x DIM f32), ID.labels.raw (u8, x LH x LW),
    ID.losses.raw (f64 per step), ID.weight.raw (CLASSES x DIM f32), ID.bias.raw,
    ID.query.raw (BATCH x H x W x DIM f32), ID.predicted.raw (u8 BATCH x PH x PW; 255 where the two
    highest logits are within 1e-4, which float rounding may order either way)
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

OUT = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/linear_probe"
os.makedirs(OUT, exist_ok=True)
torch.set_num_threads(1)
rng = np.random.default_rng(23)
MASK = (1 << 64) - 1
manifest = []


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & MASK
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return state, z ^ (z >> 31)


def initial(dim, classes, seed):
    state, values = seed, []
    bound = np.float32(1.0 / np.sqrt(dim))
    for _ in range(classes * dim + classes):
        state, z = splitmix64(state)
        u = np.float32(z >> 40) * np.float32(1.0 / 16777216.0)
        values.append(bound * (np.float32(2) * u - np.float32(1)))
    values = np.array(values, dtype=np.float32)
    return values[:classes * dim].reshape(classes, dim), values[classes * dim:]


def case(case_id, dim, classes, batch, h, w, lh, lw, epochs, steps, drop_at, lr, momentum, decay, gamma, seed, ph, pw):
    weight, bias = initial(dim, classes, seed)
    conv = torch.nn.Conv2d(dim, classes, 1)
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(weight).view(classes, dim, 1, 1))
        conv.bias.copy_(torch.from_numpy(bias))
    optimiser = torch.optim.SGD(conv.parameters(), lr=lr, momentum=momentum, weight_decay=decay)
    schedule = torch.optim.lr_scheduler.StepLR(optimiser, step_size=drop_at, gamma=gamma)
    criterion = torch.nn.CrossEntropyLoss(ignore_index=255)
    features = rng.normal(0, 1, (epochs * steps, batch, h, w, dim)).astype(np.float32)
    labels = rng.integers(0, classes, (epochs * steps, batch, lh, lw)).astype(np.uint8)
    labels[rng.random(labels.shape) < 0.1] = 255
    labels[rng.random(labels.shape) < 0.03] = classes + 2  # past the classes: not scored
    losses = []
    for e in range(epochs):
        for s in range(steps):
            i = e * steps + s
            x = torch.from_numpy(features[i]).permute(0, 3, 1, 2)
            x = F.interpolate(x, size=(lh, lw), mode="bilinear")
            target = torch.from_numpy(labels[i]).long()
            target[target >= classes] = 255
            loss = criterion(conv(x), target)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
        schedule.step()
    query = rng.normal(0, 1, (batch, h, w, dim)).astype(np.float32)
    with torch.no_grad():
        logits = conv(F.interpolate(torch.from_numpy(query).permute(0, 3, 1, 2), size=(ph, pw), mode="bilinear"))
        top = logits.double().topk(2, dim=1).values
        predicted = logits.argmax(1).to(torch.uint8)
        predicted[(top[:, 0] - top[:, 1]) < 1e-4] = 255
    for name, array in (("features", features), ("labels", labels), ("losses", np.array(losses, dtype=np.float64)),
                        ("weight", conv.weight.detach().numpy().reshape(classes, dim)),
                        ("bias", conv.bias.detach().numpy()), ("query", query), ("predicted", predicted.numpy())):
        np.ascontiguousarray(array).tofile(os.path.join(OUT, f"{case_id}.{name}.raw"))
    manifest.append(f"probe {case_id} {dim} {classes} {batch} {h} {w} {lh} {lw} {epochs} {steps} {drop_at} {lr} "
                    f"{momentum} {decay} {gamma} {seed} {ph} {pw}")


# NeCo's settings, a schedule that drops, and a grid upsampled to a size no multiple of it
case("neco", 24, 5, 3, 4, 4, 13, 11, 3, 2, 2, 0.01, 0.9, 1e-4, 0.1, 7, 17, 9)
case("plain", 16, 3, 2, 5, 7, 10, 14, 2, 3, 1, 0.5, 0.0, 0.0, 0.5, 0, 5, 7)
with open(os.path.join(OUT, "manifest.txt"), "w") as f:
    f.write("\n".join(manifest) + "\n")
