"""dinofeat.neco's sorting networks against the dense-matrix reference
(test/reference/diffsort_reference.py, as diffsort builds them): both networks, the six sigmoids,
n in {2, 3, 5, 8, 16, 49, 64}, float32 and float64, values, P and gradients to 1e-6."""
import os
import sys
import unittest

import numpy as np

HERE = os.path.dirname(__file__)
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "test", "reference"))
import dinofeat  # noqa: E402


class SortTest(unittest.TestCase):
    def test_matches_dense_reference(self):
        import torch
        from diffsort_reference import bitonic_network, odd_even_network, sort
        rng = np.random.default_rng(0)
        for n in (2, 3, 5, 8, 16, 49, 64):
            networks = {"bitonic": bitonic_network(n), "odd_even": odd_even_network(n)}
            for dtype, tolerance in ((np.float64, 1e-9), (np.float32, 1e-6)):
                x = rng.standard_normal((3, n)).astype(dtype)
                gs = rng.standard_normal((3, n)).astype(dtype)
                gp = rng.standard_normal((3, n, n)).astype(dtype)
                for name, network in networks.items():
                    for sigmoid in dinofeat.neco.SIGMOIDS:
                        with self.subTest(n=n, dtype=dtype.__name__, network=name, sigmoid=sigmoid):
                            values, p = dinofeat.neco.sort(x, name, sigmoid, steepness=5.0)
                            t = torch.tensor(x, requires_grad=True)
                            want_values, want_p = sort(network, t, steepness=5.0, sigmoid=sigmoid)
                            ((want_values * torch.tensor(gs)).sum() + (want_p * torch.tensor(gp)).sum()).backward()
                            self.assertEqual(values.dtype, dtype)
                            np.testing.assert_allclose(values, want_values.detach().numpy(), rtol=0, atol=tolerance * 10)
                            np.testing.assert_allclose(p, want_p.detach().numpy(), rtol=0, atol=tolerance)
                            grad = dinofeat.neco.sort_backward(x, gs, gp, name, sigmoid, steepness=5.0)
                            scale = max(1.0, float(np.abs(t.grad.numpy()).max()))
                            np.testing.assert_allclose(grad, t.grad.numpy(), rtol=0, atol=tolerance * 10 * scale)

    def test_doubly_stochastic_and_hard_limit(self):
        rng = np.random.default_rng(1)
        x = rng.permutation(49 * 4).reshape(4, 49).astype(np.float64)  # distinct values
        for network in dinofeat.neco.NETWORKS:
            _, p = dinofeat.neco.sort(x, network, steepness=1.0)
            np.testing.assert_allclose(p.sum(1), 1, atol=1e-12)
            np.testing.assert_allclose(p.sum(2), 1, atol=1e-12)
            self.assertTrue((p >= 0).all())
            values, p = dinofeat.neco.sort(x, network, steepness=1e4)
            ranks = np.argsort(np.argsort(x, axis=1), axis=1)
            np.testing.assert_array_equal(p.argmax(2), ranks)
            np.testing.assert_allclose(values, np.sort(x, axis=1), atol=0.5)  # gaps of at least 1
        with self.assertRaises(dinofeat.Error):
            dinofeat.neco.sort(x, steepness=0)
        with self.assertRaises(dinofeat.Error):
            dinofeat.neco.sort_backward(x, grad_sorted=x[:, :3])


if __name__ == "__main__":
    unittest.main()


class LossTest(unittest.TestCase):
    def test_matches_reference(self):
        import torch
        from neco_reference import neco_loss
        rng = np.random.default_rng(2)
        for dtype in (np.float64, np.float32):
            student = rng.standard_normal((2, 7, 12)).astype(dtype)
            teacher = (student + 0.3 * rng.standard_normal((2, 7, 12))).astype(dtype)
            refs = rng.standard_normal((2, 10, 12)).astype(dtype)
            for euclidean in (False, True):
                for symmetric in (False, True):
                    with self.subTest(dtype=dtype.__name__, euclidean=euclidean, symmetric=symmetric):
                        steepness = 5.0 if euclidean else 20.0
                        value, grad = dinofeat.neco.loss(student, teacher, refs, steepness=steepness,
                                                         euclidean=euclidean, symmetric=symmetric)
                        s = torch.tensor(student, requires_grad=True)
                        want = neco_loss(s, torch.tensor(teacher), torch.tensor(refs), steepness=steepness,
                                         euclidean=euclidean, symmetric=symmetric)
                        want.backward()
                        self.assertAlmostEqual(value, want.item(), delta=1e-5 * abs(want.item()))
                        self.assertEqual(grad.dtype, dtype)
                        scale = np.abs(s.grad.numpy()).max()
                        np.testing.assert_allclose(grad, s.grad.numpy(), rtol=0, atol=1e-5 * scale)
        self.assertIsInstance(dinofeat.neco.loss(student, teacher, refs, gradient=False), float)
        with self.assertRaises(dinofeat.Error):
            dinofeat.neco.loss(student, teacher[:, :3], refs)


class RoiAlignTest(unittest.TestCase):
    def test_matches_torchvision(self):
        import torch
        from torchvision.ops import roi_align
        rng = np.random.default_rng(3)
        features = rng.standard_normal((2, 4, 16, 16)).astype(np.float32)
        boxes = np.array([[0, 0, 0, 224, 224], [1, 20.5, 7.25, 97.0, 150.0], [1, -5, -5, 40, 300]], np.float32)
        grad_out = rng.standard_normal((3, 4, 7, 7)).astype(np.float32)
        for aligned in (True, False):
            with self.subTest(aligned=aligned):
                f = torch.tensor(features, requires_grad=True)
                want = roi_align(f, torch.tensor(boxes), 7, spatial_scale=1 / 14, sampling_ratio=-1, aligned=aligned)
                want.backward(torch.tensor(grad_out))
                got = dinofeat.neco.roi_align(features, boxes, 7, 1 / 14, aligned=aligned)
                np.testing.assert_allclose(got, want.detach().numpy(), rtol=0, atol=1e-5)
                grad = dinofeat.neco.roi_align_backward(features, boxes, grad_out, 7, 1 / 14, aligned=aligned)
                np.testing.assert_allclose(grad, f.grad.numpy(), rtol=0, atol=1e-5)
        with self.assertRaises(dinofeat.Error):
            dinofeat.neco.roi_align(features, boxes[:, :4])


class TrainerTest(unittest.TestCase):
    def test_step_save_load_export(self):
        import tempfile
        models = os.path.join(HERE, "..", "..", "..", "test", "fixtures", "models")
        model = dinofeat.Model(os.path.join(models, "dinov2_s14_reg4.pth"), heads=2)
        rng = np.random.default_rng(4)
        images = [dinofeat.Image.from_numpy(rng.integers(0, 255, (48, 40, 3), dtype=np.uint8)) for _ in range(3)]
        settings = dict(global_size=28, local_size=14, head_hidden=16, head_out=8, lr_backbone=1e-3, seed=2)
        g, l, boxes = dinofeat.neco.views(images[0], seed=1, global_size=28, local_size=14)
        self.assertEqual(g.shape, (2, 3, 28, 28))
        self.assertEqual(l.shape, (4, 3, 14, 14))
        self.assertEqual(boxes.shape, (6, 4))
        with dinofeat.neco.Trainer(model, total_steps=4, **settings) as trainer, tempfile.TemporaryDirectory() as d:
            loss = trainer.step(images)
            self.assertTrue(np.isfinite(loss) and loss > 0)
            self.assertEqual(trainer.last_loss, loss)
            self.assertEqual(trainer.losses, {"loss": loss})
            trainer.save(os.path.join(d, "t.dfneco"))
            want = trainer.step(images)
            with dinofeat.neco.Trainer.load(os.path.join(d, "t.dfneco"), model) as again:
                self.assertEqual(again.steps, 1)
                self.assertEqual(again.step(images), want)
            trainer.export(os.path.join(d, "backbone.safetensors"))
            trained = dinofeat.Model(os.path.join(d, "backbone.safetensors"), heads=2)
            self.assertEqual(trained.info["registers"], 4)
            self.assertEqual(trained.info["pos_interp"], "size_aa")
        with self.assertRaises(dinofeat.Error):
            dinofeat.neco.Trainer(model, global_size=30)
