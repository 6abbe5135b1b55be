#!/usr/bin/env python3
"""A synthetic saliency set: images of one elliptical object on a textured background, with
their true masks and boxes, for trying the saliency methods (dinofeat sempart, tokencut) and
their evaluation (dinofeat eval --task saliency / corloc) without a dataset download.

  make_saliency_set.py OUT [--count 12] [--size 64] [--seed 0]

writes OUT/images/NNN.png (RGB), OUT/masks/NNN.png (grey, 255 on the object) and
OUT/boxes/NNN.txt ('x_min y_min x_max y_max', max exclusive). Standard library only."""
import argparse
import os
import random
import struct
import zlib


def write_png(path, width, height, channels, rows):
    """rows: height lists of width * channels bytes values."""
    raw = b"".join(b"\x00" + bytes(row) for row in rows)
    colour = {1: 0, 3: 2}[channels]

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def one_image(rng, size):
    cx, cy = rng.uniform(0.35, 0.65) * size, rng.uniform(0.35, 0.65) * size
    rx, ry = rng.uniform(0.15, 0.3) * size, rng.uniform(0.15, 0.3) * size
    hue = [rng.randint(150, 255), rng.randint(0, 90), rng.randint(60, 200)]
    image, mask = [], []
    box = [size, size, 0, 0]
    for y in range(size):
        row, mrow = [], []
        for x in range(size):
            u, v = (x + 0.5 - cx) / rx, (y + 0.5 - cy) / ry
            inside = u * u + v * v < 1
            if inside:
                box = [min(box[0], x), min(box[1], y), max(box[2], x + 1), max(box[3], y + 1)]
                pixel = [min(255, max(0, c + rng.randint(-12, 12))) for c in hue]
            else:
                stripe = 40 if (x // 6 + y // 6) % 2 else 0
                pixel = [min(255, max(0, 60 + stripe + rng.randint(-20, 20))) for _ in range(3)]
            row += pixel
            mrow.append(255 if inside else 0)
        image.append(row)
        mask.append(mrow)
    return image, mask, box


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out")
    parser.add_argument("--count", type=int, default=12)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    for kind in ("images", "masks", "boxes"):
        os.makedirs(os.path.join(args.out, kind), exist_ok=True)
    for n in range(args.count):
        image, mask, box = one_image(rng, args.size)
        write_png(os.path.join(args.out, "images", f"{n:03d}.png"), args.size, args.size, 3, image)
        write_png(os.path.join(args.out, "masks", f"{n:03d}.png"), args.size, args.size, 1, mask)
        with open(os.path.join(args.out, "boxes", f"{n:03d}.txt"), "w") as f:
            f.write(" ".join(map(str, box)) + "\n")
    print(f"wrote {args.count} images, masks and boxes to {args.out}")


if __name__ == "__main__":
    main()
