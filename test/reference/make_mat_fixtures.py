"""Writes test/fixtures/mat/: MATLAB level-5 files as Potsdam is distributed (IIC's preprocessing
saved them with scipy.io.savemat), for lib/dataset/mat.c's tests. The values follow formulas the
C test recomputes: img[y, x, c] = 28 y + 4 x + c (uint8, 5 x 7 x 4, RGB + infrared), gt[y, x]
cycling 0, 1, 2, 3, 4, 5, 255 row-major. Variants: compressed with a text variable first (skipped),
float64 in [0, 1] (x 255 truncated, as torchvision's to_pil_image), big-endian written by hand (no
scipy writer makes one; scipy reads it back here to prove the bytes), int32 labels, and a
hand-written file whose dimensions claim more than its bytes hold.

Usage: /usr/bin/python3 test/reference/make_mat_fixtures.py test/fixtures/mat"""
import struct
import sys

import numpy as np
import scipy.io

out = sys.argv[1]
y, x, c = np.meshgrid(np.arange(5), np.arange(7), np.arange(4), indexing="ij")
img = (28 * y + 4 * x + c).astype(np.uint8)
gt = np.array([0, 1, 2, 3, 4, 5, 255], np.uint8)[np.arange(35) % 7].reshape(5, 7)

scipy.io.savemat(f"{out}/img.mat", {"img": img})
scipy.io.savemat(f"{out}/gt.mat", {"gt": gt})
scipy.io.savemat(f"{out}/img_compressed.mat", {"a_note": "RGB and infrared", "img": img}, do_compression=True)
scipy.io.savemat(f"{out}/img_double.mat", {"img": img[:, :, :3].astype(np.float64) / 255.0})
scipy.io.savemat(f"{out}/gt_int32.mat", {"gt": gt.astype(np.int32)})
scipy.io.savemat(f"{out}/out_of_range.mat", {"gt": gt.astype(np.int32) * 2})


def element(kind, payload):
    """A big-endian data element, padded to 8 bytes."""
    padding = (8 - len(payload) % 8) % 8
    return struct.pack(">II", kind, len(payload)) + payload + b"\0" * padding


header = b"MATLAB 5.0 MAT-file, written by hand big-endian".ljust(116, b" ") + b"\0" * 8 + struct.pack(">H", 0x0100) + b"MI"
flags = element(6, struct.pack(">II", 9, 0))  # miUINT32: class mxUINT8_CLASS
dims = element(5, struct.pack(">iii", 5, 7, 4))  # miINT32
name = element(1, b"img")  # miINT8
real = element(2, img.tobytes(order="F"))  # miUINT8, column-major
matrix = flags + dims + name + real
with open(f"{out}/img_big_endian.mat", "wb") as f:
    f.write(header + struct.pack(">II", 14, len(matrix)) + matrix)
assert (scipy.io.loadmat(f"{out}/img_big_endian.mat")["img"] == img).all()
# dimensions whose product overflows 64 bits over four stored bytes: refused, never allocated
huge = element(6, struct.pack(">II", 9, 0)) + element(5, struct.pack(">iii", 0x7fffffff, 0x7fffffff, 4)) + \
    element(1, b"img") + element(2, b"\1\2\3\4")
with open(f"{out}/huge_dims.mat", "wb") as f:
    f.write(header + struct.pack(">II", 14, len(huge)) + huge)
for name in ("img", "img_compressed"):
    assert (scipy.io.loadmat(f"{out}/{name}.mat")["img"] == img).all()
