#!/usr/bin/python3
"""Backbone forward pass: dinofeat vs the plain-PyTorch reference (test/reference/vit_reference.py)
on the same random full-size ViT-S/14 and ViT-S/8, in one run on one libtorch.

Reports per case: the median time of each, their ratio (reference / ours: above 1 means we are
faster), our achieved GFLOP/s and its share of the machine's fp32 matmul rate measured in the
same run; ours in bfloat16, its share of twice that rate (the bf16 dot-product rate) and the
smallest cosine similarity of a patch token to its float32 counterpart; the peak memory each side
adds above the loaded model (each measured in a fresh worker process, since a process's peak only
grows). Then the peak memory of a stride-4 518 x 518 forward (16,130 tokens).
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
import warnings

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "test", "reference"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bindings", "python"))
# bfloat16 is timed on purpose, also where it gains nothing over float32
warnings.filterwarnings("ignore", "Model: precision bfloat16 on this CPU", RuntimeWarning)

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


# (model, side, stride): ViT-S/14 at 224 and 518, one HR-Dv2 view (stride 4 at 224), ViT-S/8.
CASES = (("S/14", 224, 14), ("S/14", 518, 14), ("S/14", 224, 4), ("S/8", 224, 8), ("S/8", 512, 8))


def bfloat16_cosine(checkpoint, size, stride):
    """The smallest cosine similarity between a patch token in bfloat16 and in float32."""
    import dinofeat
    image = dinofeat.Tensor.from_numpy(torch.randn(1, 3, size, size, generator=torch.Generator().manual_seed(1)).numpy())
    tokens = []
    for precision in ("float32", "bfloat16"):
        model = dinofeat.Model(checkpoint, precision=precision, heads=HEADS, stride=stride)
        patch = torch.from_numpy(model.forward(image, outputs=("patch",))["patch"]).float()
        tokens.append(patch.reshape(-1, patch.shape[-1]) if patch.shape[-1] == DIM else
                      patch.movedim(1, -1).reshape(-1, DIM))
    return torch.nn.functional.cosine_similarity(tokens[0], tokens[1], dim=1).min().item()


def status_mb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    raise KeyError(field)


def reset_peak_rss_mb():
    """Restarts the resident-set high-water mark (Linux: clear_refs 5) where the kernel allows, so
    that the peak is this run's, not loading the model's; the resident set now, the base to count
    from (else the old high-water mark, and a peak below it reads as 0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return status_mb("VmRSS")
    except OSError:
        return peak_rss_mb()


def peak_rss_mb():
    try:
        return status_mb("VmHWM")
    except (OSError, KeyError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def worker(args):
    """One side, one case, in this fresh process: {seconds (median), extra_mb}."""
    torch.set_num_threads(args.threads)
    images = torch.randn(1, 3, args.size, args.size, generator=torch.Generator().manual_seed(1))
    if args.worker == "ours":
        import dinofeat
        dinofeat.set_num_threads(args.threads)
        model = dinofeat.Model(args.checkpoint, precision=args.precision, heads=HEADS, stride=args.stride)
        pixels = dinofeat.Tensor.from_numpy(images.numpy())

        def run(x=pixels):
            model.forward(x, outputs=("patch", "cls"))
        small = dinofeat.Tensor.from_numpy(torch.zeros(1, 3, 112, 112).numpy())
    else:
        import vit_reference as ref
        state = torch.load(args.checkpoint)

        def run(x=images):
            with torch.no_grad():
                ref.forward(state, x, HEADS, stride=args.stride)
        small = torch.zeros(1, 3, 112, 112)
    run(small)  # the libraries' own start-up (BLAS buffers, thread pools) is not the forward's memory
    before = reset_peak_rss_mb()
    run()  # warm-up, and the peak
    extra = peak_rss_mb() - before
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    print(json.dumps({"seconds": statistics.median(times), "extra_mb": extra}))


def measure(side, checkpoint, size, stride, threads, repeats, precision="float32"):
    command = [sys.executable, __file__, "--worker", side, "--checkpoint", checkpoint, "--size", str(size),
               "--stride", str(stride), "--threads", str(threads), "--repeats", str(repeats), "--precision", precision]
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
    parser.add_argument("--precision", choices=("float32", "bfloat16"), default="float32")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=int(os.environ.get("BENCH_REPEATS", "5")))
    parser.add_argument("--bfloat16", choices=("on", "off"), default="on",
                        help="also time ours in bfloat16 (faster than float32 only on CPUs with AVX512-BF16; "
                             "elsewhere its products run in float32)")
    parser.add_argument("--skip-stride4", action="store_true", help="skip the stride-4 518 x 518 memory figure")
    args = parser.parse_args()
    if args.worker:
        args.stride = (args.stride or None) if args.worker == "reference" else args.stride
        return worker(args)

    import dinofeat
    peak = matmul_gflops(args.threads)
    print(f"dinofeat {dinofeat.version()} | torch {torch.__version__} | {args.threads} threads | "
          f"fp32 matmul 2048^3: {peak:.0f} GFLOP/s | median of {args.repeats}")
    print(f"{'model':6s} {'input':>9s} {'stride':>6s} {'ref s':>7s} {'ours s':>7s} {'ratio':>6s} {'GFLOP/s':>8s} "
          f"{'of peak':>8s} {'bf16 s':>7s} {'of 2x':>6s} {'bf16 cos':>9s} {'ref +MB':>8s} {'ours +MB':>9s}")
    with tempfile.TemporaryDirectory() as directory:
        files = {}
        for name, spec in MODELS.items():
            files[name] = os.path.join(directory, name.replace("/", "") + ".pth")
            torch.save(random_state(**spec), files[name])
        for name, size, stride in CASES:
            patch = MODELS[name]["patch"]
            ref = measure("reference", files[name], size, stride, args.threads, args.repeats)
            ours = measure("ours", files[name], size, stride, args.threads, args.repeats)
            work = flops(patch, size, stride)
            rate = work / ours["seconds"] / 1e9
            half = f"{'-':>7s} {'-':>6s} {'-':>9s}"
            if args.bfloat16 == "on":
                seconds = measure("ours", files[name], size, stride, args.threads, args.repeats, "bfloat16")["seconds"]
                half = (f"{seconds:7.3f} {work / seconds / 1e9 / (2 * peak):6.0%} "
                        f"{bfloat16_cosine(files[name], size, stride):9.5f}")
            print(f"{name:6s} {size:>4d}x{size:<4d} {stride:6d} {ref['seconds']:7.3f} {ours['seconds']:7.3f} "
                  f"{ref['seconds'] / ours['seconds']:6.2f} {rate:8.1f} {rate / peak:8.0%} {half} "
                  f"{ref['extra_mb']:8.0f} {ours['extra_mb']:9.0f}", flush=True)
        if not args.skip_stride4:
            ours = measure("ours", files["S/14"], 518, 4, args.threads, 1)
            print(f"stride 4, 518 x 518, S/14 (16,130 tokens): ours adds {ours['extra_mb']:.0f} MB above the loaded "
                  f"model, {ours['seconds']:.1f} s", flush=True)

if __name__ == "__main__":
    main()
