#!/usr/bin/python3
"""Connected-component fixtures from scipy.ndimage.label (binary masks, 4- and 8-connectivity):

  mask NAME W H FILE                    uint8 mask, row-major
  components NAME CONNECTIVITY COUNT FILE   int32 component id per pixel (0 = background), scipy's
                                            numbering: raster order of first pixel
  boxes NAME CONNECTIVITY FILE          int32 x_min y_min x_max y_max area per component (max exclusive)
"""
import os
import sys

import numpy as np
from scipy import ndimage

OUT = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/components"
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(5)
manifest = []
structures = {4: ndimage.generate_binary_structure(2, 1), 8: ndimage.generate_binary_structure(2, 2)}
for name, (w, h, p) in {"sparse": (37, 23, 0.35), "dense": (64, 48, 0.55), "line": (50, 1, 0.5),
                        "column": (1, 40, 0.5)}.items():
    mask = (rng.random((h, w)) < p).astype(np.uint8)
    mask.tofile(os.path.join(OUT, f"{name}.mask.u8"))
    manifest.append(f"mask {name} {w} {h} {name}.mask.u8")
    for connectivity, structure in structures.items():
        labels, count = ndimage.label(mask, structure)
        labels.astype("<i4").tofile(os.path.join(OUT, f"{name}.{connectivity}.i32"))
        manifest.append(f"components {name} {connectivity} {count} {name}.{connectivity}.i32")
        boxes = []
        for i, found in enumerate(ndimage.find_objects(labels), 1):
            ys, xs = found
            boxes.append([xs.start, ys.start, xs.stop, ys.stop, int((labels == i).sum())])
        np.array(boxes, dtype="<i4").reshape(-1, 5).tofile(os.path.join(OUT, f"{name}.{connectivity}.boxes.i32"))
        manifest.append(f"boxes {name} {connectivity} {name}.{connectivity}.boxes.i32")
with open(os.path.join(OUT, "manifest.txt"), "w") as f:
    f.write("\n".join(manifest) + "\n")
print(len(manifest), "lines")
