#!/usr/bin/python3
"""HR-Dv2 upsampling: dinofeat vs the plain-PyTorch reference algorithm
(test/reference/upsample_reference.py, which keeps every full-resolution view) on the same random
ViT-S/14, stride 4, in one run. Per case: median time of each and their ratio (reference / ours),
and the peak memory each adds above the loaded model (CPU: resident set of a fresh worker process;
CUDA: torch.cuda.max_memory_allocated); ours again with the model in bfloat16 and its ratio to the
reference. Also ours with 1 view (the memory floor) and batch 8. Each timed pair is checked to
compute the same thing: the largest difference of ours from the reference, relative to the
reference's largest magnitude (features and attention), is printed and must stay within 1e-4 in
float32 (bfloat16's is printed, not checked: its error is its precision's).
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
sys.path.insert(0, os.path.join(HERE, "..", "forward"))

VIEWS = {1: ((), False), 17: ((1, 2), False), 51: ((1, 2), True)}


def peak_mb(device):
    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2 ** 20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def worker(args):
    torch.set_num_threads(args.threads)
    shifts, flips = VIEWS[args.views]
    image = torch.randn(1, 3, args.size, args.size, generator=torch.Generator().manual_seed(1))
    if args.worker == "ours":
        import dinofeat
        dinofeat.set_num_threads(args.threads)
        model = dinofeat.Model(args.checkpoint, device=args.device, precision=args.precision, heads=6,
                               pos_interp="offset")

        def run():
            return model.upsample(image.numpy(), stride=4, shifts=shifts, flips=flips, attention="o", batch=args.batch)
    else:
        import upsample_reference as ups
        state = {k: v.to(args.device) for k, v in torch.load(args.checkpoint).items()}
        x = image.to(args.device)

        def run():
            with torch.no_grad():
                f, a = ups.upsample(state, x, 6, 4, list(shifts), "moore", "on" if flips else "off", "wrap",
                                    "nearest-exact", "o")
                return f.cpu().numpy(), a.cpu().numpy()
    sync = torch.cuda.synchronize if args.device == "cuda" else (lambda: None)
    if args.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    before = peak_mb(args.device) if args.device != "cuda" else torch.cuda.memory_allocated() / 2 ** 20
    outputs = run()
    sync()
    extra = peak_mb(args.device) - before
    if args.dump:
        import numpy as np
        np.savez(args.dump, features=outputs[0], attention=outputs[1])
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        run()
        sync()
        times.append(time.perf_counter() - start)
    print(json.dumps({"seconds": statistics.median(times), "extra_mb": extra}))


def measure(args, side, checkpoint, size, views, batch=1, precision="float32", dump=None):
    command = [sys.executable, __file__, "--worker", side, "--checkpoint", checkpoint, "--size", str(size),
               "--views", str(views), "--batch", str(batch), "--threads", str(args.threads), "--repeats",
               str(args.repeats), "--device", args.device, "--precision", precision] + (["--dump", dump] if dump else [])
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def relative_difference(ours, reference):
    """The largest difference of ours from the reference, relative to its largest magnitude, over the
    features and the attention (each .npz of a worker's --dump)."""
    import numpy as np
    a, b = np.load(ours), np.load(reference)
    return max(float(np.abs(a[k] - b[k]).max() / max(np.abs(b[k]).max(), 1e-30)) for k in ("features", "attention"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=("ours", "reference"))
    parser.add_argument("--checkpoint")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--sizes", default="224", help="comma-separated image sizes (default 224; 448 wants a GPU)")
    parser.add_argument("--views", type=int, default=51, help=argparse.SUPPRESS)  # a worker's
    parser.add_argument("--view-counts", default="17,51",
                        help="comma-separated view counts to compare: 1 (no shift), 17 (shifts 1,2), 51 (and flips)")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", choices=("float32", "bfloat16"), default="float32")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=int(os.environ.get("BENCH_REPEATS", "1")))
    parser.add_argument("--dump", help=argparse.SUPPRESS)  # a worker's: where its outputs go
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    import bench_forward
    import dinofeat
    print(f"dinofeat {dinofeat.version()} | torch {torch.__version__} | {args.device} | {args.threads} threads | "
          f"ViT-S/14, stride 4, shifts 1,2 Moore, attention o | median of {args.repeats}")
    print(f"{'size':>9s} {'views':>5s} {'ref s':>9s} {'ours s':>9s} {'ratio':>6s} {'ref +MB':>9s} {'ours +MB':>9s} "
          f"{'ref/ours MB':>11s} {'bf16 s':>8s} {'bf16 ratio':>10s} {'f32 diff':>9s} {'bf16 diff':>9s}")
    with tempfile.TemporaryDirectory() as directory:
        checkpoint = os.path.join(directory, "s14.pth")
        torch.save(bench_forward.random_state(14, 37), checkpoint)
        for size in (int(s) for s in args.sizes.split(",")):
            floor = measure(args, "ours", checkpoint, size, 1)
            print(f"{size:>4d}x{size:<4d} {1:>5d} {'':>9s} {floor['seconds']:9.2f} {'':>6s} {'':>9s} "
                  f"{floor['extra_mb']:9.0f}", flush=True)
            for views in (int(v) for v in args.view_counts.split(",")):
                dumps = [os.path.join(directory, f"{name}.npz") for name in ("ref", "ours", "half")]
                ref = measure(args, "reference", checkpoint, size, views, dump=dumps[0])
                ours = measure(args, "ours", checkpoint, size, views, dump=dumps[1])
                half = measure(args, "ours", checkpoint, size, views, precision="bfloat16", dump=dumps[2])
                diff, half_diff = relative_difference(dumps[1], dumps[0]), relative_difference(dumps[2], dumps[0])
                print(f"{size:>4d}x{size:<4d} {views:>5d} {ref['seconds']:9.2f} {ours['seconds']:9.2f} "
                      f"{ref['seconds'] / ours['seconds']:6.2f} {ref['extra_mb']:9.0f} {ours['extra_mb']:9.0f} "
                      f"{ref['extra_mb'] / max(ours['extra_mb'], 1):11.1f} {half['seconds']:8.2f} "
                      f"{ref['seconds'] / half['seconds']:10.2f} {diff:9.1e} {half_diff:9.1e}", flush=True)
                if not diff <= 1e-4:
                    sys.exit(f"bench_upsample: ours differs from the reference by {diff:.3g} of its largest value at "
                             f"{size} x {size}, {views} views: the timings compare different computations")
            batched = measure(args, "ours", checkpoint, size, 51, batch=8)
            print(f"{size:>4d}x{size:<4d} {51:>5d} batch 8: {batched['seconds']:.2f} s, {batched['extra_mb']:.0f} MB "
                  f"(batch 1: see above)", flush=True)


if __name__ == "__main__":
    main()
