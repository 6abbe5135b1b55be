"""dinofeat.stego against the plain-PyTorch reference (test/reference/stego_reference.py)."""
import os
import sys
import tempfile
import unittest

import numpy as np

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "test", "reference"))
import dinofeat  # noqa: E402


class StegoTest(unittest.TestCase):
    def test_losses_match_reference(self):
        import torch
        from stego_reference import pair_loss, terms
        rng = np.random.default_rng(0)
        f1, f2 = rng.standard_normal((2, 2, 8, 5, 6), dtype=np.float32)
        s1, s2 = rng.standard_normal((2, 2, 4, 5, 6), dtype=np.float32)
        c1, c2 = (rng.random((2, 2, 3, 3, 2), dtype=np.float32) * 2 - 1)
        loss, g1, g2 = dinofeat.stego.corr_loss(f1, f2, s1, s2, c1, c2, 0.2, stabilize=True)
        a, b = torch.tensor(s1, requires_grad=True), torch.tensor(s2, requires_grad=True)
        want = pair_loss(torch.tensor(f1), torch.tensor(f2), a, b, torch.tensor(c1), torch.tensor(c2), 0.2,
                         stabilize=True)
        want.backward()
        self.assertAlmostEqual(loss, want.item(), places=6)
        np.testing.assert_allclose(g1, a.grad.numpy(), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(g2, b.grad.numpy(), rtol=1e-5, atol=1e-7)
        perms = np.array([[1, 0], [1, 0]])
        losses, gs, gk = dinofeat.stego.loss(f1, s1, f2, s2, c1, c2, perms, preset="paper")
        t = terms(torch.tensor(f1), torch.tensor(s1), torch.tensor(f2), torch.tensor(s2), torch.tensor(c1),
                  torch.tensor(c2), torch.tensor(perms), shifts=(0.12, 0.20, 1.00))
        self.assertAlmostEqual(losses["knn"], t[1].item(), places=6)
        self.assertAlmostEqual(losses["total"], 0.10 * t[0].item() + 1.00 * t[1].item() + 0.15 * t[2].item(),
                               places=5)
        self.assertEqual(gs.shape, s1.shape)
        with self.assertRaises(dinofeat.Error):
            dinofeat.stego.corr_loss(f1, f2, s1, s2, c1, c2[:1], 0.2)

    def test_trainer_steps_saves_and_predicts(self):
        rng = np.random.default_rng(1)
        f, fk = rng.standard_normal((2, 4, 16, 6, 6), dtype=np.float32)
        trainer = dinofeat.stego.Trainer(16, code_dim=8, classes=3, seed=4, samples=5, negatives=2)
        self.assertEqual(set(trainer.losses.values()), {0.0})
        losses = trainer.step(f, fk)
        self.assertEqual(set(losses), {"self", "knn", "random", "total", "cluster", "linear"})
        self.assertEqual(losses["linear"], 0.0)
        self.assertEqual(trainer.steps, 1)
        with tempfile.TemporaryDirectory() as d:
            trainer.save(os.path.join(d, "t.dfstego"))
            again = dinofeat.stego.Trainer.load(os.path.join(d, "t.dfstego"))
            self.assertEqual((again.setting("classes"), again.setting("seed"), again.setting("samples")), (3, 4, 5))
            self.assertAlmostEqual(again.setting("lr"), trainer.setting("lr"))
            with self.assertRaises(TypeError):
                again.setting("no_such")
            losses = trainer.step(f, fk)
            self.assertEqual(losses, again.step(f, fk))
            for name, values in trainer.parameters().items():
                np.testing.assert_array_equal(values, again.parameters()[name])
            again.close()
        labels = trainer.predict(f, flipped=f[..., ::-1], size=(12, 10))
        self.assertEqual(labels.shape, (4, 10, 12))
        again_labels, p = trainer.predict(f, flipped=f[..., ::-1], size=(12, 10), probabilities=True)
        np.testing.assert_array_equal(again_labels, labels)
        np.testing.assert_allclose(p.sum(-1), 1, rtol=1e-5)
        np.testing.assert_array_equal(p.argmax(-1), labels)
        self.assertEqual(trainer.last_losses["total"], losses["total"])
        self.assertEqual(trainer.losses, trainer.last_losses)  # the view all trainers share
        self.assertIs(trainer.to("cpu"), trainer)
        with self.assertRaises(dinofeat.Error):
            trainer.to("cuda:63")
        with self.assertRaises(dinofeat.Error):
            dinofeat.stego.Trainer(16, device="cuda:63")
        mixed = dinofeat.stego.Trainer(16, code_dim=8, classes=3, seed=4, samples=5, negatives=2, precision="bfloat16")
        self.assertEqual(mixed.setting("precision"), 3)  # DF_DTYPE_BFLOAT16: products in bfloat16
        self.assertNotEqual(mixed.step(f, fk)["total"], dinofeat.stego.Trainer(
            16, code_dim=8, classes=3, seed=4, samples=5, negatives=2).step(f, fk)["total"])
        with self.assertRaises(dinofeat.Error):
            dinofeat.stego.Trainer(16, precision="float16")
        self.assertTrue(((labels >= 0) & (labels < 3)).all())
        self.assertEqual(trainer.codes(f).shape, (4, 8, 6, 6))
        probe = trainer.parameters()["probe.weight"].copy()
        self.assertGreater(trainer.step(f, fk, labels=rng.integers(0, 3, (4, 12, 12)))["linear"], 0)
        self.assertFalse(np.array_equal(probe, trainer.parameters()["probe.weight"]))
        trainer.close()

    def test_segment_is_the_evaluation_written_out(self):
        """Trainer.segment: the image at side 24 (40 x 28 -> 32 x 24, whole 8-pixel patches), its
        features and its mirror image's averaged by predict at the image's size; crf=True is
        dinofeat.crf with the STEGO preset over those probabilities."""
        model = dinofeat.Model(os.path.join(HERE, "..", "..", "..", "test", "fixtures", "models", "dino_s8.pth"),
                               heads=2)
        rng = np.random.default_rng(3)
        pixels = (rng.random((28, 40, 3)) * 255).astype(np.uint8)
        image = dinofeat.Image.from_numpy(pixels)
        trainer = dinofeat.stego.Trainer(16, code_dim=8, classes=3, seed=2)
        sized = image.resize(32, 24).numpy(copy=True)
        f = model.forward(sized, outputs=("patch",))["patch"].transpose(0, 3, 1, 2)
        g = model.forward(np.ascontiguousarray(sized[:, ::-1]), outputs=("patch",))["patch"].transpose(0, 3, 1, 2)
        want, p = trainer.predict(f, flipped=g, size=(40, 28), probabilities=True)
        np.testing.assert_array_equal(trainer.segment(model, image, side=24), want[0])
        refined, _ = dinofeat.crf(pixels, p[0], preset="stego")
        np.testing.assert_array_equal(trainer.segment(model, image, side=24, crf=True), refined)
        fewer, _ = dinofeat.crf(pixels, p[0], preset="stego", iterations=1)
        np.testing.assert_array_equal(trainer.segment(model, image, side=24, crf={"iterations": 1}), fewer)
        # the linear probe: the same evaluation with its classes
        linear, q = trainer.predict(f, flipped=g, size=(40, 28), probabilities=True, probe="linear")
        np.testing.assert_array_equal(trainer.segment(model, image, side=24, probe="linear"), linear[0])
        self.assertEqual(q.shape, (1, 28, 40, 3))
        with self.assertRaises(ValueError):
            trainer.segment(model, image, probe="clusters")
        with self.assertRaises(TypeError):
            trainer.segment(model, image, crf={"no_such": 1})
        with self.assertRaises(dinofeat.Error):
            trainer.segment(model, image, side=0)
        trainer.close()
        model.close()


if __name__ == "__main__":
    unittest.main()
