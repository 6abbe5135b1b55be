"""dinofeat.sempart against the plain-PyTorch reference (test/reference/sempart_reference.py)."""
import os
import sys
import tempfile
import unittest

import numpy as np

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "test", "reference"))
import dinofeat  # noqa: E402

MODELS = os.path.join(HERE, "..", "..", "..", "test", "fixtures", "models")


class SempartTest(unittest.TestCase):
    def test_losses_match_reference(self):
        import torch
        from sempart_reference import gtv_coarse_loss, gtv_fine_loss, ncut_loss, sr_loss
        rng = np.random.default_rng(0)
        for dtype in (np.float32, np.float64):
            masks = rng.random((2, 4, 5)).astype(dtype)
            features = rng.standard_normal((2, 4, 5, 6)).astype(dtype)
            fine = rng.random((2, 32, 40)).astype(dtype)
            images = rng.standard_normal((2, 3, 32, 40)).astype(dtype)
            for ours, theirs, args in ((dinofeat.sempart.ncut_loss, ncut_loss, (masks, features)),
                                       (dinofeat.sempart.gtv_coarse_loss, gtv_coarse_loss, (masks, features)),
                                       (dinofeat.sempart.gtv_fine_loss, gtv_fine_loss, (fine, images))):
                loss, grad = ours(*args)
                m = torch.tensor(args[0], requires_grad=True)
                want = theirs(m, torch.tensor(args[1]))
                want.backward()
                self.assertAlmostEqual(loss, want.item(), delta=1e-5 * abs(want.item()))
                np.testing.assert_allclose(grad, m.grad.numpy(), rtol=1e-4, atol=1e-6)
            loss, gf, gc = dinofeat.sempart.sr_loss(fine, masks)
            a, b = torch.tensor(fine, requires_grad=True), torch.tensor(masks, requires_grad=True)
            want = sr_loss(a, b)
            want.backward()
            self.assertAlmostEqual(loss, want.item(), delta=1e-5 * abs(want.item()))
            np.testing.assert_allclose(gf, a.grad.numpy(), rtol=1e-4, atol=1e-7)
            np.testing.assert_allclose(gc, b.grad.numpy(), rtol=1e-4, atol=1e-7)
        with self.assertRaises(dinofeat.Error):
            dinofeat.sempart.ncut_loss(masks, features[:, :3])

    def test_trainer_steps_saves_forwards_and_predicts(self):
        rng = np.random.default_rng(1)
        f = rng.standard_normal((2, 4, 4, 16)).astype(np.float32)
        x = rng.standard_normal((2, 3, 32, 32)).astype(np.float32)
        trainer = dinofeat.sempart.Trainer(16, 4, 4, seed=2, lr=1e-3, width=8)
        losses = trainer.step(f, x)
        self.assertEqual(set(losses), set(dinofeat.sempart.LOSSES))
        self.assertEqual(trainer.steps, 1)
        self.assertEqual(losses, trainer.last_losses)
        self.assertEqual(trainer.losses, trainer.last_losses)
        coarse, fine = trainer.forward(f, x)
        self.assertEqual((coarse.shape, fine.shape), ((2, 4, 4), (2, 32, 32)))
        self.assertTrue(((coarse > 0) & (coarse < 1)).all())
        with tempfile.TemporaryDirectory() as d:
            trainer.save(os.path.join(d, "t.dfsempart"))
            again = dinofeat.sempart.Trainer.load(os.path.join(d, "t.dfsempart"))
            self.assertEqual(trainer.step(f, x), again.step(f, x))
            for name, values in trainer.parameters().items():
                np.testing.assert_array_equal(values, again.parameters()[name])
            again.close()
        trainer.set_branches("coarse")
        self.assertEqual(trainer.step(f, x)["gtv_fine"], 0.0)
        states = trainer.parameters()
        self.assertEqual(len(states), 40)
        trainer.set_parameters({"coarse.bias": np.array([5.0])})
        np.testing.assert_array_equal(trainer.parameters()["coarse.bias"], [5.0])
        with self.assertRaises(dinofeat.Error):
            trainer.step(f[:, :3], x)
        model = dinofeat.Model(os.path.join(MODELS, "dino_s8.pth"), heads=2)
        image = dinofeat.Image.from_numpy((rng.random((36, 40, 3)) * 255).astype(np.uint8))
        coarse, fine, boxes = trainer.predict(model, image, select="framing")
        self.assertEqual((coarse.shape, fine.shape, boxes.shape[1]), ((4, 4), (36, 40), 4))
        self.assertEqual(coarse.dtype, np.uint8)
        trainer.close()


if __name__ == "__main__":
    unittest.main()
