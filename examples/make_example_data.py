#!/usr/bin/env python3
"""Writes the small files the README's examples run on (committed in examples/data/):
tiny-dinov2-s14-reg4.safetensors, a tiny RANDOM DINOv2-with-registers backbone (dim 16, depth 2,
2 heads, patch 14; the test fixture's weights in timm's layout) that records its head count in the
safetensors metadata ("dinofeat.heads"), so every verb opens it without --heads; and photo.jpg, a
320 x 240 JPEG. Only the pipeline is real: a random model's features mean nothing.
Needs python3-numpy and python3-pil; run from the repository root."""
import json
import os
import struct
import sys

import numpy as np
from PIL import Image

OUT = sys.argv[1] if len(sys.argv) > 1 else "examples/data"
SOURCE = "test/fixtures/models/dinov2_s14_reg4_timm.safetensors"


def with_heads(source, heads):
    data = open(source, "rb").read()
    length = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + length])
    header["__metadata__"] = {"format": "pt", "dinofeat.heads": str(heads)}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the data stays 8-byte aligned
    return struct.pack("<Q", len(text)) + text + data[8 + length:]


def photo():
    y, x = np.mgrid[0:240, 0:320].astype(np.float32)
    r = 128 + 100 * np.sin(x / 23.0) * np.cos(y / 31.0)
    g = np.where((x - 200) ** 2 + (y - 120) ** 2 < 60 ** 2, 210, 60 + y / 3)
    b = 90 + 80 * np.cos((x + y) / 40.0)
    return Image.fromarray(np.clip(np.stack([r, g, b], -1), 0, 255).astype(np.uint8))


os.makedirs(OUT, exist_ok=True)
open(os.path.join(OUT, "tiny-dinov2-s14-reg4.safetensors"), "wb").write(with_heads(SOURCE, 2))
photo().save(os.path.join(OUT, "photo.jpg"), quality=90)
print(f"wrote {OUT}/tiny-dinov2-s14-reg4.safetensors and {OUT}/photo.jpg")
