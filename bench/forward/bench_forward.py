#!/usr/bin/python3
"""Backbone forward pass: dinofeat vs the plain-PyTorch reference (test/reference/vit_reference.py)
on the same random full-size ViT-S/14 and ViT-S/8, in one run on one libtorch.

Reports per case: the median time of each, their ratio (reference / ours: above 1 means we are
faster), our achieved GFLOP/s and its share of the machine's fp32 matmul rate measured in the
same run, and the peak memory each side adds above the loaded model (each measured in a fresh
worker process, since a process's peak only grows). Then the peak memory of a stride-4 518 x 518
forward with and without query-chunked attention.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "test", "reference"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bindings", "python"))

MODELS = {"S/14": dict(patch=14, grid=37), "S/8": dict(patch=8, grid=28)}
DIM, DEPTH, HEADS = 384, 12, 6


def random_state(patch, grid, seed=0):
    """A ViT-S with every weight random, in the official DINOv2 / DINO layout."""
    g = torch.Generator().manual_seed(seed)

    def r(*shape, scale=0.02, center=0.0):
        return center + scale * torch.randn(*shape, generator=g)
    s = {"cls_token": r(1, 1, DIM), "pos_embed": r(1, 1 + grid * grid, DIM),
         "patch_embed.proj.weight": r(DIM, 3, patch, patch), "patch_embed.proj.bias": r(DIM),
         "norm.weight": r(DIM, center=1.0), "norm.bias": r(DIM)}
    for i in range(DEPTH):
        p = f"blocks.{i}."
        s.update({p + "norm1.weight": r(DIM, center=1.0), p + "norm1.bias": r(DIM),
                  p + "attn.qkv.weight": r(3 * DIM, DIM), p + "attn.qkv.bias": r(3 * DIM),
                  p + "attn.proj.weight": r(DIM, DIM), p + "attn.proj.bias": r(DIM),
                  p + "norm2.weight": r(DIM, center=1.0), p + "norm2.bias": r(DIM),
                  p + "mlp.fc1.weight": r(4 * DIM, DIM), p + "mlp.fc1.bias": r(4 * DIM),
                  p + "mlp.fc2.weight": r(DIM, 4 * DIM), p + "mlp.fc2.bias": r(DIM)})
        if patch == 14:
            s.update({p + "ls1.gamma": r(DIM, center=0.1), p + "ls2.gamma": r(DIM, center=0.1)})
    return s


def flops(patch, size, stride):
    grid = 1 + (size - patch) // stride
    n = 1 + grid * grid
    embed = 2 * grid * grid * DIM * 3 * patch * patch
    block = 2 * n * DIM * 3 * DIM + 2 * 2 * n * n * DIM + 2 * n * DIM * DIM + 2 * 2 * n * DIM * 4 * DIM
    return embed + DEPTH * block


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def worker(args):
    """One side, one case, in this fresh process: {seconds (median), extra_mb}."""
    torch.set_num_threads(args.threads)
    images = torch.randn(1, 3, args.size, args.size, generator=torch.Generator().manual_seed(1))
    if args.worker == "ours":
        import dinofeat
        dinofeat.set_num_threads(args.threads)
        model = dinofeat.Model(args.checkpoint, heads=HEADS, stride=args.stride, attn_chunk=args.chunk)
        pixels = dinofeat.Tensor.from_numpy(images.numpy())

        def run():
            model.forward(pixels, outputs=("patch", "cls"))
    else:
        import vit_reference as ref
        state = torch.load(args.checkpoint)

        def run():
            with torch.no_grad():
                ref.forward(state, images, HEADS, stride=args.stride)
    before = peak_rss_mb()
    run()  # warm-up, and the peak
    extra = peak_rss_mb() - before
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    print(json.dumps({"seconds": statistics.median(times), "extra_mb": extra}))


def measure(side, checkpoint, size, stride, threads, repeats, chunk=0):
    command = [sys.executable, __file__, "--worker", side, "--checkpoint", checkpoint, "--size", str(size),
               "--stride", str(stride), "--threads", str(threads), "--repeats", str(repeats), "--chunk", str(chunk)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def matmul_gflops(threads):
    torch.set_num_threads(threads)
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    torch.mm(a, b)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        torch.mm(a, b)
        times.append(time.perf_counter() - start)
    return 2 * 2048 ** 3 / min(times) / 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=("ours", "reference"))
    parser.add_argument("--checkpoint")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--stride", type=int, default=0)
    parser.add_argument("--chunk", type=int, default=0)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=int(os.environ.get("BENCH_REPEATS", "5")))
    parser.add_argument("--skip-stride4", action="store_true", help="skip the slow stride-4 memory comparison")
    args = parser.parse_args()
    if args.worker:
        args.stride = (args.stride or None) if args.worker == "reference" else args.stride
        return worker(args)

    import dinofeat
    peak = matmul_gflops(args.threads)
    print(f"dinofeat {dinofeat.version()} | torch {torch.__version__} | {args.threads} threads | "
          f"fp32 matmul 2048^3: {peak:.0f} GFLOP/s | median of {args.repeats}")
    print(f"{'model':6s} {'input':>9s} {'ref s':>8s} {'ours s':>8s} {'ratio':>6s} {'GFLOP/s':>8s} {'of peak':>8s} "
          f"{'ref +MB':>8s} {'ours +MB':>9s}")
    with tempfile.TemporaryDirectory() as directory:
        files = {}
        for name, spec in MODELS.items():
            files[name] = os.path.join(directory, name.replace("/", "") + ".pth")
            torch.save(random_state(**spec), files[name])
        for name, spec in MODELS.items():
            for size in (224, 518):
                size = size - size % spec["patch"] if spec["patch"] == 8 else size
                ref = measure("reference", files[name], size, spec["patch"], args.threads, args.repeats)
                ours = measure("ours", files[name], size, spec["patch"], args.threads, args.repeats)
                rate = flops(spec["patch"], size, spec["patch"]) / ours["seconds"] / 1e9
                print(f"{name:6s} {size:>4d}x{size:<4d} {ref['seconds']:8.3f} {ours['seconds']:8.3f} "
                      f"{ref['seconds'] / ours['seconds']:6.2f} {rate:8.1f} {rate / peak:8.0%} "
                      f"{ref['extra_mb']:8.0f} {ours['extra_mb']:9.0f}", flush=True)
        if not args.skip_stride4:
            print("stride 4, 518 x 518, S/14 (16,130 tokens): peak memory above the loaded model", flush=True)
            for label, chunk in (("unchunked", -1), ("chunked (1024 queries)", 1024)):
                ours = measure("ours", files["S/14"], 518, 4, args.threads, 1, chunk)
                print(f"  {label:24s} {ours['extra_mb']:8.0f} MB  {ours['seconds']:7.1f} s", flush=True)


if __name__ == "__main__":
    main()
