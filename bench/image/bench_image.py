#!/usr/bin/python3
"""Image preprocessing, dinofeat vs PIL + torchvision, in one run on the same files.

The DINO preprocessing path: decode a JPEG, resize (bicubic), ToTensor + Normalize. Each
figure is the median of several repetitions; the ratio is PIL's time over ours (above 1 means
we are faster). Our path runs with 1 thread and with all threads; PIL is single-threaded.
"""
import io
import os
import statistics
import sys
import time

import numpy as np
from PIL import Image
from torchvision import transforms

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bindings", "python"))
import dinofeat  # noqa: E402

REPEATS = int(os.environ.get("BENCH_REPEATS", "15"))


def median_seconds(function):
    function()  # warm-up
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def make_jpeg(width, height):
    y, x = np.mgrid[0:height, 0:width]
    rng = np.random.default_rng(0)
    pixels = np.stack([127 + 100 * np.sin(x / (7.0 + c) + y / (11.0 + c)) for c in range(3)], -1)
    pixels = np.clip(pixels + rng.normal(0, 10, pixels.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def main():
    normalize = transforms.Compose([transforms.ToTensor(),
                                    transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])
    cores = os.cpu_count()
    print(f"dinofeat {dinofeat.version()} | {dinofeat.build_info()} | {cores} cores | median of {REPEATS}")
    print(f"{'case':44s} {'PIL+tv ms':>10s} {'ours 1t ms':>10s} {'ratio':>6s} {'ours {0}t ms'.format(cores):>10s} {'ratio':>6s}")
    for (width, height), size in (((1024, 768), 224), ((1024, 768), 518), ((3000, 2000), 448)):
        data = make_jpeg(width, height)

        def pil_pipeline():
            image = Image.open(io.BytesIO(data)).convert("RGB")
            return normalize(image.resize((size, size), Image.BICUBIC))

        def our_pipeline():
            with dinofeat.load_image(data) as image, image.resize(size, size) as small:
                return small.to_tensor().numpy()

        # Same answer first: a benchmark of different work would mean nothing.
        difference = np.abs(pil_pipeline().numpy() - our_pipeline()[0]).max()
        assert difference < 1e-5, f"outputs differ by {difference}"
        reference = median_seconds(pil_pipeline)
        dinofeat.set_num_threads(1)
        single = median_seconds(our_pipeline)
        dinofeat.set_num_threads(0)
        multi = median_seconds(our_pipeline)
        case = f"JPEG {width}x{height} -> bicubic {size}x{size} -> tensor"
        print(f"{case:44s} {reference * 1e3:10.2f} {single * 1e3:10.2f} {reference / single:6.2f} "
              f"{multi * 1e3:10.2f} {reference / multi:6.2f}")


if __name__ == "__main__":
    main()
