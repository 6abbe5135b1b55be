"""What the model fixtures share with the C tests: the input images, computed by a formula that C
reproduces bit for bit (test/check_common.h, fixture_images), and the raw output files with their
manifest lines."""
import os

import numpy as np
import torch


def input_images(b, h, w):
    """Pixel n of image i: ((n * 7919 + i * 104729) % 2001) / 1000 - 1, exact in float32."""
    n = np.arange(3 * h * w, dtype=np.int64)
    batch = [((n * 7919 + i * 104729) % 2001).astype(np.float32) / np.float32(1000) - np.float32(1) for i in range(b)]
    return torch.from_numpy(np.stack(batch).reshape(b, 3, h, w))


def save_output(out, manifest, case_id, name, tensor):
    """Writes OUT/ID.NAME.raw (little-endian float32) and appends its 'out' line to manifest."""
    array = tensor.detach().contiguous().numpy().astype("<f4")
    file = f"{case_id}.{name}.raw"
    array.tofile(os.path.join(out, file))
    manifest.append(f"out {case_id} {name} {file} {array.ndim} " + " ".join(str(d) for d in array.shape))
