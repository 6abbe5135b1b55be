#!/usr/bin/python3
"""Data-parallel training on one machine: the same NeCo steps (ViT-S/14, batch 8, 2 x 224 + 4 x 98
crops) taken by one process with every core, by two ranks with half the cores each (Gloo on
127.0.0.1), and by two ranks whose gradients are all-reduced in one bucket after backward instead
of in 25 MiB buckets during it; and the same STEGO head steps (384 x 28 x 28 features, batch 16,
the paper's settings) by one process and by two ranks. Reports seconds per step and the ratios,
measured in one run: one process / two ranks (what splitting the batch costs or gains on the same
cores) and one bucket / buckets (what overlapping the all-reduce with backward gains)."""
import argparse
import os
import socket
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bindings", "python"))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "neco"))


def images(batch):
    """batch 320 x 320 images with smooth structure, so crops differ in content."""
    import numpy as np
    import dinofeat
    rng = np.random.default_rng(0)
    out = []
    for _ in range(batch):
        pixels = rng.integers(0, 256, (320, 320, 3), dtype=np.uint8)
        pixels[:] = (pixels.astype(np.float32) * 0.3 + 120 + 60 * np.sin(np.arange(320) / 17)[:, None, None]).astype(np.uint8)
        out.append(dinofeat.Image.from_numpy(pixels))
    return out


def worker(model_path, batch, repeats, bucket_mb):
    """One rank (or the only process): prints seconds per step and the last loss on rank 0. A
    model path of "stego" times STEGO head steps instead."""
    import numpy as np
    import dinofeat
    from timing import timed
    dinofeat.distributed.init(timeout=600, bucket_mb=bucket_mb)
    rank, world = dinofeat.distributed.rank()
    mine = slice(batch * rank // world, batch * (rank + 1) // world)
    if model_path == "stego":
        f, fk = np.random.default_rng(0).standard_normal((2, batch, 384, 28, 28), dtype=np.float32)
        trainer = dinofeat.stego.Trainer(384)
        seconds = timed(lambda: trainer.step(f[mine], fk[mine]), repeats)
        loss = trainer.last_losses["total"]
    else:
        trainer = dinofeat.neco.Trainer(dinofeat.Model(model_path), total_steps=100)
        share = images(batch)[mine]
        seconds = timed(lambda: trainer.step(share), repeats)
        loss = trainer.last_loss
    if rank == 0:
        print(f"{seconds} {loss}")
    dinofeat.distributed.shutdown()


def run(ranks, threads, model_path, batch, repeats, bucket_mb):
    """(seconds per step, last loss) of `ranks` processes with `threads` threads each."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    processes = []
    for rank in range(ranks):
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), DINOFEAT_LIBRARY=os.environ["DINOFEAT_LIBRARY"])
        if ranks > 1:
            env.update(RANK=str(rank), WORLD_SIZE=str(ranks), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        processes.append(subprocess.Popen([sys.executable, __file__, "--worker", model_path, str(batch), str(repeats),
                                           str(bucket_mb)], env=env, stdout=subprocess.PIPE, text=True))
    outputs = [p.communicate()[0] for p in processes]
    if any(p.returncode for p in processes):
        sys.exit(f"a rank failed: {[p.returncode for p in processes]}")
    seconds, loss = outputs[0].split()
    return float(seconds), float(loss)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    import torch
    from bench_step import ViT
    cores = os.cpu_count()
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "vits14.pth")
        torch.save(ViT().state_dict(), path)
        one, loss_one = run(1, cores, path, args.batch, args.repeats, 25)
        two, loss_two = run(2, max(1, cores // 2), path, args.batch, args.repeats, 25)
        late, loss_late = run(2, max(1, cores // 2), path, args.batch, args.repeats, 4096)
    stego_one, stego_loss_one = run(1, cores, "stego", 16, 5, 25)
    stego_two, stego_loss_two = run(2, max(1, cores // 2), "stego", 16, 5, 25)
    print(f"NeCo step, ViT-S/14, batch {args.batch}, {cores} cores (torch {torch.__version__})")
    print(f"last loss: one process {loss_one:.6f}, two ranks {loss_two:.6f}, two ranks one bucket {loss_late:.6f}")
    print("| one process | two ranks, 25 MiB buckets | two ranks, one bucket after backward | one / two | one bucket / buckets |\n"
          "| --- | --- | --- | --- | --- |\n"
          f"| {one:.2f} s | {two:.2f} s | {late:.2f} s | {one / two:.2f}x | {late / two:.2f}x |")
    print(f"\nSTEGO head step, 384 x 28 x 28, batch 16; last loss: one process {stego_loss_one:.6f}, two ranks "
          f"{stego_loss_two:.6f}")
    print("| one process | two ranks | one / two |\n| --- | --- | --- |\n"
          f"| {stego_one:.3f} s | {stego_two:.3f} s | {stego_one / stego_two:.2f}x |")


if __name__ == "__main__":
    main()
