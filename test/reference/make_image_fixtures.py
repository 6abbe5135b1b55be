#!/usr/bin/python3
"""Generates the image fixtures: small PNG/JPEG files of every flavour the loader reads, broken
files it must refuse, and the pixels PIL / torchvision produce for decoding, EXIF orientation,
resizing, grey conversion and tensor normalisation. Writes manifest.txt, one case per line:

  decode FILE W H C DEPTH EXPECTED.raw TOLERANCE
  resize SOURCE.png FILTER W H EXPECTED.raw TOLERANCE     (FILTER: 0 nearest, 2 bilinear, 3 bicubic)
  grey SOURCE.png EXPECTED.raw
  tensor SOURCE.png EXPECTED_float32.raw
  adjust SOURCE.png KIND FACTOR EXPECTED.raw              (KIND: 0 brightness, 1 contrast, 2 saturation, 3 hue)
  fail FILE STATUS                                        (a df_status name)

Raw files hold the samples row-major, interleaved, little-endian. Run with Debian's python3.
"""
import io
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image, ImageOps

OUT = sys.argv[1] if len(sys.argv) > 1 else "test/fixtures/images"
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(20261122)
manifest = []


def path(name):
    return os.path.join(OUT, name)


def save_raw(name, array):
    array = np.ascontiguousarray(array)
    if array.dtype == np.uint16:
        array = array.astype("<u2")
    elif array.dtype == np.float32:
        array = array.astype("<f4")
    with open(path(name), "wb") as f:
        f.write(array.tobytes())


def photo(w, h, channels=3):
    """Smooth gradients with texture: non-trivial for resampling, compressible for JPEG."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    planes = []
    for c in range(channels):
        plane = 127 + 90 * np.sin(x / (3.0 + c) + c) * np.cos(y / (4.0 + c)) + rng.normal(0, 12, (h, w))
        planes.append(plane)
    return np.clip(np.stack(planes, -1), 0, 255).astype(np.uint8)


def decode_case(name, expected, tolerance=0):
    h, w = expected.shape[:2]
    c = 1 if expected.ndim == 2 else expected.shape[2]
    depth = 16 if expected.dtype == np.uint16 else 8
    save_raw(name + ".raw", expected)
    manifest.append(f"decode {name} {w} {h} {c} {depth} {name}.raw {tolerance}")


# ---- PNG flavours ----------------------------------------------------------------------------
W, H = 23, 17
rgb = photo(W, H)
Image.fromarray(rgb, "RGB").save(path("rgb8.png"))
decode_case("rgb8.png", rgb)

grey = photo(W, H, 1)[:, :, 0]
Image.fromarray(grey, "L").save(path("grey8.png"))
decode_case("grey8.png", grey)

rgba = np.concatenate([rgb, rng.integers(0, 256, (H, W, 1), dtype=np.uint8)], -1)
Image.fromarray(rgba, "RGBA").save(path("rgba8.png"))
decode_case("rgba8.png", rgba)

greya = np.stack([grey, rng.integers(0, 256, (H, W), dtype=np.uint8)], -1)
Image.fromarray(greya, "LA").save(path("greya8.png"))
decode_case("greya8.png", greya)

grey16 = rng.integers(0, 65536, (H, W), dtype=np.uint16)
Image.fromarray(grey16.astype(np.uint16), "I;16").save(path("grey16.png"))
decode_case("grey16.png", grey16)

bits = rng.integers(0, 2, (H, W), dtype=np.uint8)
Image.fromarray((bits * 255).astype(np.uint8), "L").convert("1").save(path("grey1.png"))
decode_case("grey1.png", (bits * 255).astype(np.uint8))

palette_image = Image.fromarray(rgb, "RGB").quantize(colors=16)
palette_image.save(path("palette.png"))
decode_case("palette.png", np.asarray(palette_image.convert("RGB")))

palette_trns = palette_image.copy()
palette_trns.info["transparency"] = 3
palette_trns.save(path("palette_trns.png"), transparency=3)
decode_case("palette_trns.png", np.asarray(Image.open(path("palette_trns.png")).convert("RGBA")))
# the indices themselves, as image.palette_indices decodes them (label maps)
save_raw("palette.png.indices.raw", np.asarray(Image.open(path("palette.png"))))



def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def write_png(name, array, color_type, bit_depth, interlace=0):
    """A PNG written by hand, for flavours PIL does not write (16-bit RGB, Adam7)."""
    h, w = array.shape[:2]
    ihdr = struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, interlace)
    dtype = ">u2" if bit_depth == 16 else np.uint8
    rows = array.astype(dtype).reshape(h, -1)
    if interlace == 0:
        raw = b"".join(b"\x00" + row.tobytes() for row in rows)
    else:
        passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        raw = b""
        for x0, y0, dx, dy in passes:
            sub = array[y0::dy, x0::dx]
            if sub.size == 0:
                continue
            for row in sub.astype(dtype).reshape(sub.shape[0], -1):
                raw += b"\x00" + row.tobytes()
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b"")
    with open(path(name), "wb") as f:
        f.write(data)
    return data


rgb16 = rng.integers(0, 65536, (H, W, 3), dtype=np.uint16)
write_png("rgb16.png", rgb16, 2, 16)
decode_case("rgb16.png", rgb16)
write_png("interlaced.png", rgb, 2, 8, interlace=1)
decode_case("interlaced.png", rgb)

# ---- JPEG flavours (expected pixels: PIL's decode, which uses the same libjpeg-turbo) ---------
JW, JH = 40, 24
jrgb = photo(JW, JH)
Image.fromarray(jrgb).save(path("baseline.jpg"), quality=90)
decode_case("baseline.jpg", np.asarray(Image.open(path("baseline.jpg")).convert("RGB")), 1)
Image.fromarray(jrgb).save(path("progressive.jpg"), quality=90, progressive=True)
decode_case("progressive.jpg", np.asarray(Image.open(path("progressive.jpg")).convert("RGB")), 1)
Image.fromarray(jrgb[:, :, 1]).save(path("grey.jpg"), quality=90)
decode_case("grey.jpg", np.asarray(Image.open(path("grey.jpg"))), 1)
Image.fromarray(jrgb).convert("CMYK").save(path("cmyk.jpg"), quality=95)
decode_case("cmyk.jpg", np.asarray(Image.open(path("cmyk.jpg")).convert("RGB")), 2)

# Orientation: a picture with distinct corners, saved with each EXIF orientation.
for orientation in range(1, 9):
    exif = Image.Exif()
    exif[0x0112] = orientation
    name = f"exif{orientation}.jpg"
    Image.fromarray(jrgb).save(path(name), quality=90, exif=exif.tobytes())
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path(name))).convert("RGB"))
    decode_case(name, expected, 1)

# ---- broken files ----------------------------------------------------------------------------
baseline = open(path("baseline.jpg"), "rb").read()
open(path("truncated.jpg"), "wb").write(baseline[: len(baseline) * 6 // 10])
manifest.append("fail truncated.jpg DF_E_FORMAT")
rgb_png = open(path("rgb8.png"), "rb").read()
open(path("truncated.png"), "wb").write(rgb_png[: len(rgb_png) * 6 // 10])
manifest.append("fail truncated.png DF_E_FORMAT")
corrupt = bytearray(rgb_png)
idat = corrupt.find(b"IDAT")
for i in range(idat + 8, idat + 24):
    corrupt[i] ^= 0x5A
open(path("corrupt_crc.png"), "wb").write(bytes(corrupt))
manifest.append("fail corrupt_crc.png DF_E_FORMAT")
# A SOF0 that declares zero components.
sof = baseline.find(b"\xff\xc0")
bad_sof = bytearray(baseline)
bad_sof[sof + 9] = 0
open(path("bad_sof.jpg"), "wb").write(bytes(bad_sof))
manifest.append("fail bad_sof.jpg DF_E_FORMAT")
# Headers that claim 60000 x 60000 pixels: refused before any pixel buffer is allocated.
huge = bytearray(baseline)
huge[sof + 5:sof + 9] = struct.pack(">HH", 60000, 60000)
open(path("huge.jpg"), "wb").write(bytes(huge))
manifest.append("fail huge.jpg DF_E_LIMIT")
huge_png = bytearray(rgb_png)
huge_png[16:24] = struct.pack(">II", 60000, 60000)
huge_png[29:33] = struct.pack(">I", zlib.crc32(bytes(huge_png[12:29])) & 0xFFFFFFFF)
open(path("huge.png"), "wb").write(bytes(huge_png))
manifest.append("fail huge.png DF_E_LIMIT")
open(path("not_an_image.txt"), "wb").write(b"hello, this is text\n")
manifest.append("fail not_an_image.txt DF_E_FORMAT")
open(path("empty.png"), "wb").write(b"")
manifest.append("fail empty.png DF_E_FORMAT")
manifest.append("fail does_not_exist.png DF_E_IO")

# ---- resizing, grey conversion, tensors ------------------------------------------------------
filters = {0: Image.NEAREST, 2: Image.BILINEAR, 3: Image.BICUBIC}
for source in ("rgb8.png", "grey8.png"):
    image = Image.open(path(source))
    for code, pil_filter in filters.items():
        for size in ((64, 48), (11, 7), (23, 5), (1, 1), (50, 17)):
            name = f"resize_{source[:-4]}_{code}_{size[0]}x{size[1]}.raw"
            save_raw(name, np.asarray(image.resize(size, pil_filter)))
            manifest.append(f"resize {source} {code} {size[0]} {size[1]} {name} 0")
# A larger, non-integer ratio case for the nearest walk and for wide kernels.
Image.fromarray(photo(97, 61)).save(path("photo97x61.png"))
big = Image.open(path("photo97x61.png"))
for code, pil_filter in filters.items():
    for size in ((150, 100), (13, 29)):
        name = f"resize_photo_{code}_{size[0]}x{size[1]}.raw"
        save_raw(name, np.asarray(big.resize(size, pil_filter)))
        manifest.append(f"resize photo97x61.png {code} {size[0]} {size[1]} {name} 0")

# A smooth 448 x 448 picture for the command-line tests of full-size outputs (compresses to KBs).
yy, xx = np.mgrid[0:448, 0:448]
smooth = np.stack([(xx * 255 // 447), (yy * 255 // 447), ((xx + yy) * 255 // 894)], -1).astype(np.uint8)
Image.fromarray(smooth).save(path("smooth448.png"), optimize=True)

save_raw("grey_of_rgb8.raw", np.asarray(Image.open(path("rgb8.png")).convert("L")))
manifest.append("grey rgb8.png grey_of_rgb8.raw")

import torch  # noqa: E402  (only needed here)
from torchvision import transforms  # noqa: E402

to_tensor = transforms.Compose([transforms.ToTensor(),
                                transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])
for source in ("rgb8.png", "grey8.png"):
    tensor = to_tensor(Image.open(path(source)).convert("RGB"))
    name = f"tensor_{source[:-4]}.raw"
    save_raw(name, tensor.numpy().astype(np.float32))
    manifest.append(f"tensor {source} {name}")

# torchvision's colour adjustments on a PIL image (the Hummingbird memory's jitter, NeCo's views):
# factors both sides of 1 (and of 0 for hue), 0 and an extreme, on a photo with saturated corners.
from torchvision.transforms import functional as TF  # noqa: E402

adjusted = Image.open(path("photo97x61.png")).convert("RGB")
adjustments = ((0, TF.adjust_brightness, (0.0, 0.9, 1.1, 2.5)), (1, TF.adjust_contrast, (0.0, 0.9, 1.1, 2.5)),
               (2, TF.adjust_saturation, (0.0, 0.9, 1.1, 2.5)), (3, TF.adjust_hue, (-0.5, -0.1, 0.03, 0.1, 0.5)))
for code, adjust, factors in adjustments:
    for factor in factors:
        name = f"adjust_{code}_{factor:g}.raw"
        save_raw(name, np.asarray(adjust(adjusted, factor)))
        manifest.append(f"adjust photo97x61.png {code} {factor!r} {name}")

with open(path("manifest.txt"), "w") as f:
    f.write("\n".join(manifest) + "\n")
print(f"{len(manifest)} cases in {OUT}/manifest.txt")
