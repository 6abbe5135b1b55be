#!/usr/bin/python3
"""HR-Dv2 upsampling: dinofeat vs the plain-PyTorch reference algorithm
(test/reference/upsample_reference.py, which keeps every full-resolution view) on the same random
ViT-S/14, stride 4, in one run. Per case: median time of each and their ratio (reference / ours),
and the peak memory each adds above the loaded model (CPU: the resident set's high-water mark in a
fresh worker process, restarted after loading; CUDA: torch.cuda.max_memory_allocated); ours again
with the model in bfloat16 and its ratio to the reference (--bfloat16). Also ours with 1 view (the memory floor) and batch 8. Each timed pair is checked to
compute the same thing: the largest difference of ours from the reference, relative to the
reference's largest magnitude (features and attention), is printed and must stay within 1e-4 in
float32 (bfloat16's is printed, not checked: its error is its precision's).

With --official HR_DV2_CHECKOUT --dinov2 DINOV2_CHECKOUT it also times the official HighResDV2 module
(tldr-group/HR-Dv2, its dinov2 backbone built from the local checkout with our random weights) on the
same image and views, features only: the official module computes attention outputs only through
xFormers (CUDA). Ours runs with attention off there too, and the two must agree to 1e-4. Under
PyTorch 1.x, which lacks scaled_dot_product_attention, the official backbone gets the plain
softmax(q k^T / sqrt(d)) v in its place (PyTorch 2's math path).
"""
import argparse
import json
import os
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
sys.path.insert(0, os.path.join(HERE, "..", "forward"))
# bfloat16 is timed on purpose, also where it gains nothing over float32
warnings.filterwarnings("ignore", "Model: precision bfloat16 on this CPU", RuntimeWarning)

VIEWS = {1: ((), False), 17: ((1, 2), False), 51: ((1, 2), True)}


def official_module(args):
    """The official HighResDV2 with the local dinov2 checkout standing in for torch.hub's download
    and our random weights (official key layout) loaded into it."""
    import types
    sys.path[:0] = [args.official, args.dinov2]
    if "timm" not in sys.modules:  # imported by high_res.py for non-DINO backbones only
        try:
            import timm  # noqa: F401
        except ImportError:
            sys.modules["timm"] = types.SimpleNamespace(create_model=None)
    if not hasattr(torch.nn.functional, "scaled_dot_product_attention"):
        def sdpa(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False):
            return torch.softmax(q @ k.transpose(-2, -1) * q.shape[-1] ** -0.5, dim=-1) @ v
        torch.nn.functional.scaled_dot_product_attention = sdpa
    from dinov2.hub import backbones
    torch.hub.load = lambda repo, name, *a, **k: getattr(backbones, name)(pretrained=False)
    from hr_dv2.high_res import HighResDV2
    from hr_dv2 import transform
    module = HighResDV2("dinov2_vits14", 4, dtype=torch.float32)
    missing, unexpected = module.dinov2.load_state_dict(torch.load(args.checkpoint), strict=False)
    if unexpected or set(missing) - {"mask_token"}:
        sys.exit(f"bench_upsample: the checkpoint does not fit the official model: {missing} {unexpected}")
    shifts, flips = VIEWS[args.views]
    if flips:
        sys.exit("bench_upsample: the official comparison covers shift views only (1 or 17)")
    module.set_transforms(*transform.get_shift_transforms(list(shifts), "Moore"))
    return module.to(args.device).eval()


def worker(args):
    torch.set_num_threads(args.threads)
    shifts, flips = VIEWS[args.views]
    image = torch.randn(1, 3, args.size, args.size, generator=torch.Generator().manual_seed(1))
    attention = None if args.no_attention else "o"
    if args.worker == "official":
        module = official_module(args)
        x = image[0].to(args.device)

        def run():
            with torch.no_grad():
                return module(x, attn_choice="none")[0].permute(1, 2, 0).cpu().numpy(), None
    elif args.worker == "ours":
        import dinofeat
        dinofeat.set_num_threads(args.threads)
        model = dinofeat.Model(args.checkpoint, device=args.device, precision=args.precision, heads=6,
                               pos_interp="offset")

        def run():
            return model.upsample(image.numpy(), stride=4, shifts=shifts, flips=flips, attention=attention, batch=args.batch)
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
    import bench_forward
    if args.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated() / 2 ** 20
    else:
        before = bench_forward.reset_peak_rss_mb()
    outputs = run()
    sync()
    peak = torch.cuda.max_memory_allocated() / 2 ** 20 if args.device == "cuda" else bench_forward.peak_rss_mb()
    extra = peak - before
    if args.dump:
        import numpy as np
        np.savez(args.dump, features=outputs[0], **({} if outputs[1] is None else {"attention": outputs[1]}))
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        run()
        sync()
        times.append(time.perf_counter() - start)
    print(json.dumps({"seconds": statistics.median(times), "extra_mb": extra}))


def measure(args, side, checkpoint, size, views, batch=1, precision="float32", dump=None, attention=True):
    command = [sys.executable, __file__, "--worker", side, "--checkpoint", checkpoint, "--size", str(size),
               "--views", str(views), "--batch", str(batch), "--threads", str(args.threads), "--repeats",
               str(args.repeats), "--device", args.device, "--precision", precision] + (["--dump", dump] if dump else [])
    command += ([] if attention else ["--no-attention"])
    command += ["--official", args.official, "--dinov2", args.dinov2] if side == "official" else []
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def relative_difference(ours, reference):
    """The largest difference of ours from the reference, relative to its largest magnitude, over the
    features and the attention (each .npz of a worker's --dump)."""
    import numpy as np
    a, b = np.load(ours), np.load(reference)
    return max(float(np.abs(a[k] - b[k]).max() / max(np.abs(b[k]).max(), 1e-30)) for k in b.files)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=("ours", "reference", "official"))
    parser.add_argument("--no-attention", action="store_true", help=argparse.SUPPRESS)  # a worker's
    parser.add_argument("--official", help="a checkout of tldr-group/HR-Dv2: also time its HighResDV2 module")
    parser.add_argument("--dinov2", help="a checkout of facebookresearch/dinov2 (with --official: its backbone)")
    parser.add_argument("--checkpoint")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--sizes", default="224", help="comma-separated image sizes (default 224; 448 wants a GPU)")
    parser.add_argument("--views", type=int, default=51, help=argparse.SUPPRESS)  # a worker's
    parser.add_argument("--view-counts", default="17,51",
                        help="comma-separated view counts to compare: 1 (no shift), 17 (shifts 1,2), 51 (and flips); empty: none")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", choices=("float32", "bfloat16"), default="float32")
    parser.add_argument("--bfloat16", choices=("on", "off"), default="on",
                        help="also time ours in bfloat16 (faster than float32 only on CUDA and on CPUs with "
                             "AVX512-BF16; elsewhere its products run in float32)")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeats", type=int, default=int(os.environ.get("BENCH_REPEATS", "1")))
    parser.add_argument("--dump", help=argparse.SUPPRESS)  # a worker's: where its outputs go
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    if bool(args.official) != bool(args.dinov2):
        parser.error("--official and --dinov2 go together")
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
            for views in (int(v) for v in args.view_counts.split(",") if v):
                dumps = [os.path.join(directory, f"{name}.npz") for name in ("ref", "ours", "half")]
                ref = measure(args, "reference", checkpoint, size, views, dump=dumps[0])
                ours = measure(args, "ours", checkpoint, size, views, dump=dumps[1])
                half = bfloat16_columns(args, checkpoint, size, views, dumps[2], dumps[0], ref["seconds"])
                diff = relative_difference(dumps[1], dumps[0])
                print(f"{size:>4d}x{size:<4d} {views:>5d} {ref['seconds']:9.2f} {ours['seconds']:9.2f} "
                      f"{ref['seconds'] / ours['seconds']:6.2f} {ref['extra_mb']:9.0f} {ours['extra_mb']:9.0f} "
                      f"{ref['extra_mb'] / max(ours['extra_mb'], 1):11.1f} {half[0]} {half[1]} {diff:9.1e} {half[2]}",
                      flush=True)
                if not diff <= 1e-4:
                    sys.exit(f"bench_upsample: ours differs from the reference by {diff:.3g} of its largest value at "
                             f"{size} x {size}, {views} views: the timings compare different computations")
            if 51 in (int(v) for v in args.view_counts.split(",") if v):
                batched = measure(args, "ours", checkpoint, size, 51, batch=8)
                print(f"{size:>4d}x{size:<4d} {51:>5d} batch 8: {batched['seconds']:.2f} s, "
                      f"{batched['extra_mb']:.0f} MB (batch 1: see above)", flush=True)
        if args.official:
            compare_official(args, checkpoint, directory)


def bfloat16_columns(args, checkpoint, size, views, dump, against_dump, against_seconds, attention=True):
    """Ours in bfloat16: (seconds, the other side's seconds / ours, difference) as printed columns,
    blank where --bfloat16 is off."""
    if args.bfloat16 == "off":
        return f"{'-':>8s}", f"{'-':>10s}", f"{'-':>9s}"
    half = measure(args, "ours", checkpoint, size, views, precision="bfloat16", dump=dump, attention=attention)
    return (f"{half['seconds']:8.2f}", f"{against_seconds / half['seconds']:10.2f}",
            f"{relative_difference(dump, against_dump):9.1e}")


def compare_official(args, checkpoint, directory):
    """The official HighResDV2 against ours, features only (see the module's description)."""
    print(f"\nthe official HighResDV2 (tldr-group/HR-Dv2), features only, 17 views:\n{'size':>9s} {'official s':>10s} "
          f"{'ours s':>9s} {'ratio':>6s} {'off +MB':>9s} {'ours +MB':>9s} {'bf16 s':>8s} {'bf16 ratio':>10s} "
          f"{'f32 diff':>9s} {'bf16 diff':>9s}")
    for size in (int(s) for s in args.sizes.split(",")):
        dumps = [os.path.join(directory, f"{name}.npz") for name in ("official", "ours", "half")]
        official = measure(args, "official", checkpoint, size, 17, dump=dumps[0], attention=False)
        ours = measure(args, "ours", checkpoint, size, 17, dump=dumps[1], attention=False)
        half = bfloat16_columns(args, checkpoint, size, 17, dumps[2], dumps[0], official["seconds"], attention=False)
        diff = relative_difference(dumps[1], dumps[0])
        print(f"{size:>4d}x{size:<4d} {official['seconds']:10.2f} {ours['seconds']:9.2f} "
              f"{official['seconds'] / ours['seconds']:6.2f} {official['extra_mb']:9.0f} {ours['extra_mb']:9.0f} "
              f"{half[0]} {half[1]} {diff:9.1e} {half[2]}", flush=True)
        if not diff <= 1e-4:
            sys.exit(f"bench_upsample: ours differs from the official module by {diff:.3g} of its largest value at "
                     f"{size} x {size}: the timings compare different computations")


if __name__ == "__main__":
    main()
