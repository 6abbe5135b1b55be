"""Writes test/fixtures/bmp/: Windows bitmaps as SUIM distributes its masks, for lib/dataset/bmp.c's
tests. Each is 7 x 5 (a 24-bit row of 21 bytes is padded to 24), pixel i (row-major) coloured
COLOURS[i % 10]: SUIM's eight colours and two off-colour edge pixels that its reader (each channel
/ 255 > 0.5) sends to reefs (250, 3, 130) and wrecks (127, 128, 200). PIL writes the 24-bit, the
8-bit palette and the 32-bit files; the 4-bit top-down file, a 32-bit one with bit-field masks
(unused, B, G, R byte order), a run-length-encoded header and a truncated file are written by hand,
and PIL reads the first two back to prove their bytes.

Usage: /usr/bin/python3 test/reference/make_bmp_fixtures.py test/fixtures/bmp"""
import struct
import sys

from PIL import Image

out = sys.argv[1]
COLOURS = [(0, 0, 0), (0, 0, 255), (0, 255, 0), (0, 255, 255), (255, 0, 0), (255, 0, 255), (255, 255, 0),
           (255, 255, 255), (250, 3, 130), (127, 128, 200)]
W, H = 7, 5
pixels = [COLOURS[i % len(COLOURS)] for i in range(W * H)]
rgb = Image.new("RGB", (W, H))
rgb.putdata(pixels)
rgb.save(f"{out}/rgb24.bmp")
rgb.quantize(colors=16, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(f"{out}/palette8.bmp")
rgba = rgb.convert("RGBA")
rgba.save(f"{out}/rgba32.bmp")
for name in ("rgb24", "palette8", "rgba32"):
    assert list(Image.open(f"{out}/{name}.bmp").convert("RGB").getdata()) == pixels, name

# 4-bit palette indices, two pixels a byte, top-down rows (negative height), by hand
palette = b"".join(bytes((b, g, r, 0)) for r, g, b in COLOURS) + b"\0" * 4 * 6
stride = ((W * 4 + 31) // 32) * 4
rows = b""
for y in range(H):
    indices = [(y * W + x) % len(COLOURS) for x in range(W)] + [0]
    row = bytes(indices[k] << 4 | indices[k + 1] for k in range(0, W + 1, 2))
    rows += row.ljust(stride, b"\0")
offset = 14 + 40 + len(palette)
info = struct.pack("<IiiHHIIiiII", 40, W, -H, 1, 4, 0, len(rows), 2835, 2835, 16, 0)
with open(f"{out}/top_down4.bmp", "wb") as f:
    f.write(b"BM" + struct.pack("<IHHI", offset + len(rows), 0, 0, offset) + info + palette + rows)
assert list(Image.open(f"{out}/top_down4.bmp").convert("RGB").getdata()) == pixels

# 32-bit BI_BITFIELDS with the masks after a 40-byte header, bytes in unused, B, G, R order, by hand
rows = b"".join(bytes((0, b, g, r)) for y in reversed(range(H)) for r, g, b in pixels[y * W:(y + 1) * W])
masks = struct.pack("<III", 0xFF000000, 0xFF0000, 0xFF00)
offset = 14 + 40 + len(masks)
info = struct.pack("<IiiHHIIiiII", 40, W, H, 1, 32, 3, len(rows), 2835, 2835, 0, 0)
with open(f"{out}/bitfields32.bmp", "wb") as f:
    f.write(b"BM" + struct.pack("<IHHI", offset + len(rows), 0, 0, offset) + info + masks + rows)
assert list(Image.open(f"{out}/bitfields32.bmp").convert("RGB").getdata()) == pixels

# an 8-bit run-length-encoded header (BI_RLE8): refused as unsupported
info = struct.pack("<IiiHHIIiiII", 40, W, H, 1, 8, 1, 4, 2835, 2835, 0, 0)
with open(f"{out}/rle8.bmp", "wb") as f:
    f.write(b"BM" + struct.pack("<IHHI", 14 + 40 + 1024 + 4, 0, 0, 14 + 40 + 1024) + info + b"\0" * 1024 + b"\0\1\0\0")
# the 24-bit file without its last row's bytes
with open(f"{out}/rgb24.bmp", "rb") as f:
    whole = f.read()
with open(f"{out}/truncated.bmp", "wb") as f:
    f.write(whole[:-24])
