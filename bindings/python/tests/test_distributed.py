"""Data-parallel Sempart training: two processes on 127.0.0.1 (Gloo), each with half of every
batch, end with the weights of one process trained on the whole batches (10 steps, coarse branch:
no BatchNorm); a rank whose peer dies fails with a message instead of hanging."""
import os
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

import numpy as np

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, ".."))
import dinofeat  # noqa: E402

MODELS = os.path.join(HERE, "..", "..", "..", "test", "fixtures", "models")
SETTINGS = dict(seed=1, branches="coarse", adam_eps=1.0, lr=1e-3)

NECO = dict(global_size=28, local_size=14, head_hidden=16, head_out=8, seed=2, lr_backbone=1e-4, lr_head=1e-4)

# One rank: joins the group, trains 10 steps (5 epochs of 8 images, batch 4), rank 0 saves.
RANK_SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {package!r})
    import dinofeat
    import os
    dinofeat.distributed.init(timeout=20)
    if os.environ.get("VANISH") == str(dinofeat.distributed.rank()[0]):
        os._exit(9)  # a rank killed after joining
    images, cache, out = sys.argv[1:4]
    if out.endswith(".safetensors"):
        model = dinofeat.Model(os.path.join({models!r}, "dinov2_s14_reg4.pth"), heads=2)
        trainer = dinofeat.neco.Trainer(model, **{neco!r})
        trainer.train(dinofeat.dataset.Dataset(images), 5, batch=4)
        if dinofeat.distributed.rank()[0] == 0:
            trainer.export(out)
        print("rank", dinofeat.distributed.rank(), "loss", trainer.last_loss)
    else:
        trainer = dinofeat.sempart.Trainer(16, 4, 4, **{settings!r})
        trainer.train(dinofeat.dataset.FeatureCache(cache), dinofeat.dataset.Dataset(images, size=32), 5, batch=4)
        if dinofeat.distributed.rank()[0] == 0:
            trainer.save(out)
        print("rank", dinofeat.distributed.rank(), "loss", trainer.last_losses["total"])
""")


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


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
        model = dinofeat.Model(os.path.join(MODELS, "dino_s8.pth"), heads=2)
        dinofeat.dataset.build_feature_cache(model, dinofeat.dataset.Dataset(self.images, size=32), self.cache)
        self.script = os.path.join(root, "rank.py")
        with open(self.script, "w") as f:
            f.write(RANK_SCRIPT.format(package=os.path.abspath(os.path.join(HERE, "..")), settings=SETTINGS,
                                       models=os.path.abspath(MODELS), neco=NECO))

    def tearDown(self):
        self.directory.cleanup()

    def launch(self, ranks, out, extra_env=None):
        port = str(free_port())
        processes = []
        for rank in ranks:
            env = dict(os.environ, RANK=str(rank), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1", MASTER_PORT=port,
                       OMP_NUM_THREADS="1", **(extra_env or {}))
            processes.append(subprocess.Popen([sys.executable, self.script, self.images, self.cache, out], env=env,
                                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
        return processes

    def test_two_ranks_equal_one(self):
        two = os.path.join(self.directory.name, "two.dfsempart")
        outputs = [p.communicate(timeout=120)[0] for p in self.launch([0, 1], two)]
        self.assertTrue(os.path.exists(two), outputs)
        trainer = dinofeat.sempart.Trainer(16, 4, 4, **SETTINGS)
        trainer.train(dinofeat.dataset.FeatureCache(self.cache), dinofeat.dataset.Dataset(self.images, size=32), 5,
                      batch=4)
        self.assertEqual(trainer.steps, 10)
        want = trainer.parameters()
        got = dinofeat.sempart.Trainer.load(two).parameters()
        for name in list(want)[:18]:  # the encoder and the coarse branch: what trained
            np.testing.assert_allclose(got[name], want[name], rtol=0, atol=1e-5, err_msg=name)
        self.assertIn("rank (1, 2)", outputs[1])

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
        for name in want:
            if name.endswith("attn.qkv.bias"):
                # The keys' bias shifts every score of a query alike: softmax cancels it, so its
                # gradient is rounding noise, which Adam scales up to steps of lr; it alone is
                # left out (measured: the rest agrees to 1.2e-7).
                want[name], got[name] = np.delete(want[name], np.s_[16:32]), np.delete(got[name], np.s_[16:32])
            np.testing.assert_allclose(got[name], want[name], rtol=0, atol=1e-5, err_msg=name)
        self.assertIn(f"loss {trainer.last_loss!r}"[:12], outputs[0])

    def test_a_lost_peer_fails_rather_than_hangs(self):
        out = os.path.join(self.directory.name, "lost.dfsempart")
        start = time.monotonic()
        # a peer that dies after joining: the survivor's first collective fails
        survivor, dead = self.launch([0, 1], out, {"DINOFEAT_DISTRIBUTED_TIMEOUT": "5", "VANISH": "1"})
        dead.communicate(timeout=60)
        self.assertEqual(dead.returncode, 9)
        output = survivor.communicate(timeout=60)[0]
        self.assertNotEqual(survivor.returncode, 0)
        self.assertIn("df_sempart_train", output)
        self.assertLess(time.monotonic() - start, 30)
        self.assertFalse(os.path.exists(out))

if __name__ == "__main__":
    unittest.main()
