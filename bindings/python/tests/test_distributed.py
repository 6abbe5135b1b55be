"""Data-parallel training: two processes on 127.0.0.1 (Gloo), each with half of every batch, end
with the weights of one process trained on the whole batches (10 steps; Sempart's coarse branch:
no BatchNorm; NeCo and STEGO with their random draws on); a rank whose peer dies fails with a
message instead of hanging; a two-process STEGO run killed mid-way resumes from its checkpoint to
the uninterrupted result."""
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import unittest

import numpy as np

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, ".."))
import dinofeat  # noqa: E402

MODELS = os.path.join(HERE, "..", "..", "..", "test", "fixtures", "models")
SETTINGS = dict(seed=1, branches="coarse", adam_eps=1.0, lr=1e-3)
# both branches: the fine one's BatchNorm takes the whole batch's statistics on every rank
FULL = dict(seed=1, adam_eps=1.0, lr=1e-3)

NECO = dict(global_size=28, local_size=14, head_hidden=16, head_out=8, seed=2, lr_backbone=1e-4, lr_head=1e-4)
STEGO = dict(code_dim=8, classes=3, seed=3, lr=1e-3)

# One rank: joins the group, trains 10 steps (5 epochs of 8 images, batch 4), rank 0 saves.
RANK_SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {package!r})
    import dinofeat
    import os
    dinofeat.distributed.init(timeout=20, bucket_mb=0.001)  # many buckets: the overlap at work
    if os.environ.get("VANISH") == str(dinofeat.distributed.rank()[0]):
        os._exit(9)  # a rank killed after joining
    images, cache, out = sys.argv[1:4]
    rank = dinofeat.distributed.rank()[0]
    if out.endswith(".dfstego"):
        # batches of 4 drawn from the cache, labels training the linear probe too; KILL_AT: rank 1
        # dies at that step (after rank 0's checkpoint of every 5th), RESUME: go on from out
        import numpy as np
        labels = dinofeat.dataset.Dataset(images, os.path.join(images, "..", "labels"), size=32)
        cache = dinofeat.dataset.FeatureCache(cache)
        knn = cache.knn(8)
        if os.environ.get("RESUME") in ("all", str(rank)):
            trainer = dinofeat.stego.Trainer.load(out)
        else:
            trainer = dinofeat.stego.Trainer(cache.shape[2], **{stego!r})
        kill_at = int(os.environ.get("KILL_AT", "0"))
        def progress(done, total):
            if rank == 1 and done == kill_at:
                os._exit(9)
        trainer.train(cache, knn, 10, batch=4, checkpoint=out if rank == 0 else None, every=5,
                      progress=progress, labels=labels)
        print("rank", dinofeat.distributed.rank(), "losses", trainer.last_losses)
    elif out.endswith(".npz"):
        # df_stego_head_step: rank r passes rows 2r, 2r + 1 of every batch of 4
        import numpy as np
        sys.path.insert(0, {tests!r})
        from test_distributed import stego_batches
        trainer = dinofeat.stego.Trainer(16, **{stego!r})
        for f, fk, y in stego_batches():
            mine = slice(2 * rank, 2 * rank + 2)
            losses = trainer.step(f[mine], fk[mine], y[mine])
        if rank == 0:
            np.savez(out, **trainer.parameters())
        print("rank", dinofeat.distributed.rank(), "losses", losses)
    elif out.endswith(".safetensors"):
        model = dinofeat.Model(os.path.join({models!r}, "dinov2_s14_reg4.pth"), heads=2)
        trainer = dinofeat.neco.Trainer(model, **{neco!r})
        trainer.train(dinofeat.dataset.Dataset(images), 5, batch=4)
        if dinofeat.distributed.rank()[0] == 0:
            trainer.export(out)
        print("rank", dinofeat.distributed.rank(), "loss", trainer.last_loss)
    else:
        trainer = dinofeat.sempart.Trainer(16, 4, 4, **({full!r} if out.endswith("full.dfsempart") else {settings!r}))
        trainer.train(dinofeat.dataset.FeatureCache(cache), dinofeat.dataset.Dataset(images, size=32), 5, batch=4)
        if dinofeat.distributed.rank()[0] == 0:
            trainer.save(out)
        print("rank", dinofeat.distributed.rank(), "loss", trainer.last_losses["total"])
""")


def stego_batches():
    """10 batches of 4 (features, partners' features, labels) for STEGO head steps."""
    rng = np.random.default_rng(5)
    for step in range(10):
        f, fk = rng.standard_normal((2, 4, 16, 4, 4), dtype=np.float32)
        y = rng.integers(0, 4, (4, 8, 8))
        y[y == 3] = 255
        if step % 3 == 0:
            y[:2] = 255  # rank 0's pixels all ignored: the probe's mean is over rank 1's
        yield f, fk, y


def safetensors(path):
    """{name: float32 array} of a safetensors file."""
    import json
    with open(path, "rb") as f:
        data = f.read()
    length = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + length])
    body = data[8 + length:]
    return {name: np.frombuffer(body[v["data_offsets"][0]:v["data_offsets"][1]], dtype=np.float32)
            for name, v in header.items() if name != "__metadata__"}


class DistributedTest(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.TemporaryDirectory()
        root = self.directory.name
        self.images, self.cache = os.path.join(root, "images"), os.path.join(root, "f.dffeat")
        os.mkdir(self.images)
        rng = np.random.default_rng(0)
        for i in range(8):
            pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
            pixels[8 + i % 8:20, 10:24] = (220, 40, 40)
            dinofeat.Image.from_numpy(pixels).save_png(os.path.join(self.images, f"{i}.png"))
        os.mkdir(os.path.join(root, "labels"))
        for i in range(8):
            marks = rng.integers(0, 4, (32, 32), dtype=np.uint8)
            marks[marks == 3] = 255
            dinofeat.Image.from_numpy(marks).save_png(os.path.join(root, "labels", f"{i}.png"))
        model = dinofeat.Model(os.path.join(MODELS, "dino_s8.pth"), heads=2)
        dinofeat.dataset.build_feature_cache(model, dinofeat.dataset.Dataset(self.images, size=32), self.cache)
        self.script = os.path.join(root, "rank.py")
        with open(self.script, "w") as f:
            f.write(RANK_SCRIPT.format(package=os.path.abspath(os.path.join(HERE, "..")), settings=SETTINGS, full=FULL,
                                       models=os.path.abspath(MODELS), neco=NECO, stego=STEGO,
                                       tests=os.path.abspath(HERE)))

    def tearDown(self):
        self.directory.cleanup()

    def launch(self, ranks, out, extra_env=None):
        # the test serves each group's rendezvous, on a port the system chose and the store holds
        store = dinofeat.distributed.Store()
        self.addCleanup(store.close)
        processes = []
        for rank in ranks:
            env = dict(os.environ, **store.environment(rank, 2), OMP_NUM_THREADS="1", **(extra_env or {}))
            processes.append(subprocess.Popen([sys.executable, self.script, self.images, self.cache, out], env=env,
                                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
        return processes

    def sempart_two_and_one(self, out, settings):
        """(two ranks' outputs, their trainer's states, one process's states) after 10 steps."""
        two = os.path.join(self.directory.name, out)
        outputs = [p.communicate(timeout=120)[0] for p in self.launch([0, 1], two)]
        self.assertTrue(os.path.exists(two), outputs)
        trainer = dinofeat.sempart.Trainer(16, 4, 4, **settings)
        trainer.train(dinofeat.dataset.FeatureCache(self.cache), dinofeat.dataset.Dataset(self.images, size=32), 5,
                      batch=4)
        self.assertEqual(trainer.steps, 10)
        return outputs, dinofeat.sempart.Trainer.load(two).parameters(), trainer.parameters()

    def test_two_ranks_equal_one(self):
        outputs, got, want = self.sempart_two_and_one("two.dfsempart", SETTINGS)
        for name in list(want)[:18]:  # the encoder and the coarse branch: what trained
            np.testing.assert_allclose(got[name], want[name], rtol=0, atol=1e-5, err_msg=name)
        self.assertIn("rank (1, 2)", outputs[1])

    def test_sempart_batchnorm_two_ranks_equal_one(self):
        _, got, want = self.sempart_two_and_one("full.dfsempart", FULL)
        for name in list(want)[:32]:  # every parameter
            np.testing.assert_allclose(got[name], want[name], rtol=0, atol=1e-5, err_msg=name)
        for name in list(want)[32:]:
            # The running statistics sum activations, which magnify float rounding: one process
            # with 1 and with 2 threads ends 2.2e-5 apart on them (after one step, one and two
            # ranks are 6e-8 apart).
            np.testing.assert_allclose(got[name], want[name], rtol=0, atol=1e-4, err_msg=name)
        self.assertGreater(np.abs(want["fine.block1.bn.running_var"] - 1).max(), 1e-3)  # they moved

    def test_neco_two_ranks_equal_one(self):
        # drop-path on (0.1): its draws are keyed by the image's place in the whole batch
        two = os.path.join(self.directory.name, "two.safetensors")
        one = os.path.join(self.directory.name, "one.safetensors")
        outputs = [p.communicate(timeout=300)[0] for p in self.launch([0, 1], two)]
        self.assertTrue(os.path.exists(two), outputs)
        model = dinofeat.Model(os.path.join(MODELS, "dinov2_s14_reg4.pth"), heads=2)
        trainer = dinofeat.neco.Trainer(model, **NECO)
        trainer.train(dinofeat.dataset.Dataset(self.images), 5, batch=4)
        self.assertEqual(trainer.steps, 10)
        trainer.export(one)
        want, got = safetensors(one), safetensors(two)
        self.assertEqual(sorted(want), sorted(got))
        # Two ranks sum each gradient in another order than one process does. Adam divides a
        # gradient by its own size, so where a gradient is itself rounding noise (the keys' bias,
        # which softmax cancels, and the odd weight whose gradient happens to be near zero) that
        # difference becomes a step of up to lr in either direction: such weights may differ by
        # up to 2 lr per step, and they must be rare; every other weight agrees to 1e-5
        # (measured: 1e-6). Ranks that saw other samples, or drew other drop-paths, move most
        # weights apart by about lr.
        steps_bound = 2 * NECO["lr_backbone"] * trainer.steps
        for name in want:
            apart = np.abs(got[name] - want[name])
            self.assertLessEqual(apart.max(), steps_bound, name)
            if name.endswith("attn.qkv.bias"):
                apart = np.delete(apart, np.s_[16:32])
            self.assertLessEqual(int(np.count_nonzero(apart > 1e-5)), max(1, apart.size // 1000), name)
        # rank 0 prints the last loss, the same loss within what those weights change
        printed = re.search(r"loss (\S+)", outputs[0])
        self.assertIsNotNone(printed, outputs[0])
        self.assertAlmostEqual(float(printed.group(1)) / trainer.last_loss, 1, delta=1e-4)

    def stego_alone(self, steps):
        """A STEGO trainer after `steps` steps of one process on the whole batches."""
        cache = dinofeat.dataset.FeatureCache(self.cache)
        labels = dinofeat.dataset.Dataset(self.images, os.path.join(self.directory.name, "labels"), size=32)
        trainer = dinofeat.stego.Trainer(cache.shape[2], **STEGO)
        trainer.train(cache, cache.knn(8), steps, batch=4, labels=labels)
        return trainer

    def assert_same_stego(self, got, want):
        for name in want:
            np.testing.assert_allclose(got[name], want[name], rtol=0, atol=1e-5, err_msg=name)

    def test_stego_two_ranks_equal_one(self):
        # dropout, coordinates, partners and negatives on: drawn for the whole batch by every rank;
        # a negative of another rank's share is read from the cache; the probe learns from labels
        two = os.path.join(self.directory.name, "two.dfstego")
        outputs = [p.communicate(timeout=120)[0] for p in self.launch([0, 1], two)]
        self.assertTrue(os.path.exists(two), outputs)
        trainer = self.stego_alone(10)
        self.assertEqual(trainer.steps, 10)
        self.assert_same_stego(dinofeat.stego.Trainer.load(two).parameters(), trainer.parameters())
        self.assertGreater(trainer.last_losses["linear"], 0)
        self.assertIn(f"'total': {trainer.last_losses['total']!r}"[:18], outputs[1])

    def test_stego_head_steps_two_ranks_equal_one(self):
        two = os.path.join(self.directory.name, "two.npz")
        outputs = [p.communicate(timeout=120)[0] for p in self.launch([0, 1], two)]
        self.assertTrue(os.path.exists(two), outputs)
        trainer = dinofeat.stego.Trainer(16, **STEGO)
        for f, fk, y in stego_batches():
            trainer.step(f, fk, y)
        self.assert_same_stego(dict(np.load(two)), trainer.parameters())

    def test_stego_killed_mid_run_resumes(self):
        # rank 1 dies at step 7, after rank 0's checkpoint of step 5; both ranks go on from it
        out = os.path.join(self.directory.name, "killed.dfstego")
        survivor, dead = self.launch([0, 1], out, {"KILL_AT": "7", "DINOFEAT_DISTRIBUTED_TIMEOUT": "10"})
        dead.communicate(timeout=60)
        output = survivor.communicate(timeout=60)[0]
        self.assertEqual(dead.returncode, 9)
        self.assertNotEqual(survivor.returncode, 0, output)
        self.assertIn("df_stego_train", output)
        self.assertEqual(dinofeat.stego.Trainer.load(out).steps, 5)
        # rank 1 alone resumed: both refuse to start, the checkpoint untouched
        outputs = [p.communicate(timeout=60)[0] for p in self.launch([0, 1], out, {"RESUME": "1"})]
        for output in outputs:
            self.assertIn("rank 1 has steps taken 5, rank 0 0: every rank must start from the same checkpoint", output)
        self.assertEqual(dinofeat.stego.Trainer.load(out).steps, 5)
        outputs = [p.communicate(timeout=120)[0] for p in self.launch([0, 1], out, {"RESUME": "all"})]
        resumed = dinofeat.stego.Trainer.load(out)
        self.assertEqual(resumed.steps, 10, outputs)
        self.assert_same_stego(resumed.parameters(), self.stego_alone(10).parameters())

    def test_a_lost_peer_fails_rather_than_hangs(self):
        out = os.path.join(self.directory.name, "lost.dfsempart")
        # a peer that dies after joining: the survivor's first collective fails. A hang is what
        # the bound of communicate() catches (no wall-clock limit: machines differ in speed)
        survivor, dead = self.launch([0, 1], out, {"DINOFEAT_DISTRIBUTED_TIMEOUT": "5", "VANISH": "1"})
        dead.communicate(timeout=300)
        self.assertEqual(dead.returncode, 9)
        output = survivor.communicate(timeout=300)[0]
        self.assertNotEqual(survivor.returncode, 0)
        self.assertIn("df_sempart_train", output)
        self.assertFalse(os.path.exists(out))

class StoreTest(unittest.TestCase):
    def test_store_holds_its_port(self):
        with dinofeat.distributed.Store() as store:
            self.assertTrue(0 < store.port < 65536)
            with self.assertRaises(dinofeat.Error) as taken:
                dinofeat.distributed.Store(store.port)
            self.assertEqual(taken.exception.status, dinofeat.Status.IO)
            env = store.environment(1, 2)
            self.assertEqual((env["RANK"], env["WORLD_SIZE"], env["MASTER_PORT"], env["TORCHELASTIC_USE_AGENT_STORE"]),
                             ("1", "2", str(store.port), "True"))
        with self.assertRaisesRegex(ValueError, "used after close"):
            store.port
        with self.assertRaises(dinofeat.Error) as bad:
            dinofeat.distributed.Store(70000)
        self.assertEqual(bad.exception.status, dinofeat.Status.INVALID_ARG)


if __name__ == "__main__":
    unittest.main()
