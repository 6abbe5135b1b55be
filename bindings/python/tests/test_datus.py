"""dinofeat.datus against the scipy/networkx fixtures (test/fixtures/datus)."""
import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import dinofeat  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "test", "fixtures")


class DatusTest(unittest.TestCase):
    def test_louvain_and_split(self):
        d = os.path.join(FIXTURES, "datus")
        edges = np.fromfile(os.path.join(d, "graph0.i64"), "<i8").reshape(-1, 2)
        membership, q = dinofeat.datus.louvain(100, edges)
        self.assertEqual(membership.shape, (100,))
        self.assertGreater(q, 0.6)
        communities = np.fromfile(os.path.join(d, "split0.communities.i32"), "<i4").reshape(28, 28)
        segments, count = dinofeat.datus.split(communities, tau=5)
        np.testing.assert_array_equal(segments, np.fromfile(os.path.join(d, "split0.segments.i32"), "<i4").reshape(28, 28))
        self.assertEqual(count, 12)
        with self.assertRaises(dinofeat.Error):
            dinofeat.datus.louvain(3, [[0, 5]])

    def test_segments_of_an_image(self):
        model = dinofeat.Model(os.path.join(FIXTURES, "models", "dino_s8.pth"), heads=2)
        x = np.random.default_rng(0).integers(0, 256, (40, 48, 3), dtype=np.uint8)
        segments, count, communities = dinofeat.datus.segments(model, x, tau=2, size=64)
        self.assertEqual(segments.shape, (8, 8))
        self.assertEqual(communities.shape, (8, 8))
        self.assertLessEqual(segments.max(), count)

    def test_run_with_precomputed_segments_resumes(self):
        import tempfile
        rng = np.random.default_rng(0)
        prototypes = np.eye(3, 8, dtype=np.float32)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "run.dfds")
            truth = {}
            with dinofeat.datus.Run(path, threshold=2) as r:
                for i in range(6):
                    grid = np.zeros((4, 6), np.int32)
                    grid[:, :3], grid[:, 3:] = 1, 2
                    grid[0, 0] = 0
                    classes = [(i) % 3, (i + 1) % 3]
                    features = prototypes[classes] + 0.05 * rng.standard_normal((2, 8)).astype(np.float32)
                    r.add_segments(f"im{i}", 12, 8, grid, features)
                    truth[f"im{i}"] = classes
                self.assertEqual(len(r), 6)
            with self.assertRaises(dinofeat.Error):  # another threshold than the store's
                dinofeat.datus.Run(path, threshold=3)
            with dinofeat.datus.Run(path, threshold=2) as r:  # reopened: the records are back
                self.assertEqual(len(r), 6)
                self.assertIn("im3", r)
                self.assertEqual(r.image(3), {"name": "im3", "width": 12, "height": 8, "segments": 2})
                self.assertEqual(r.grid(3)[0, 0], 0)
                with self.assertRaises(dinofeat.Error):
                    r.clusters(0)
                r.cluster(3)
                mapping = {}
                for i in range(6):
                    for cluster, cls in zip(r.clusters(i), truth[f"im{i}"]):
                        self.assertEqual(mapping.setdefault(int(cluster), cls), cls)
                mask = r.mask(0)
                self.assertEqual(mask.shape, (8, 12))
                self.assertEqual(mask[0, 0], dinofeat.datus.NOISE)
                self.assertEqual(mask[0, 11], r.clusters(0)[1])
                self.assertEqual(r.mask(0, size=(6, 4)).shape, (4, 6))

    def test_run_over_a_folder_and_denoise(self):
        import tempfile
        from PIL import Image
        model = dinofeat.Model(os.path.join(FIXTURES, "models", "dino_s8.pth"), heads=2)
        rng = np.random.default_rng(1)
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, "in", "sub"))
            for name in ("a.png", "sub/b.png", "c.jpg"):
                x = np.kron(rng.integers(0, 256, (4, 4, 3)), np.ones((12, 12, 1))).astype(np.uint8)
                Image.fromarray(x).save(os.path.join(d, "in", name))
            self.assertEqual(dinofeat.datus.list_images(os.path.join(d, "in")), ["a.png", "c.jpg", "sub/b.png"])
            calls = []
            r = dinofeat.datus.run(model, os.path.join(d, "in"), 2, os.path.join(d, "s.dfds"), threshold=2, size=64,
                                   progress=lambda done, total: calls.append((done, total)))
            self.assertEqual(calls[-1], (3, 3))
            self.assertEqual(r.image(2)["name"], "sub/b.png")
            masks = [r.mask(i) for i in range(3)]
            self.assertEqual(masks[0].shape, (48, 48))
            again = dinofeat.datus.run(model, os.path.join(d, "in"), 2, os.path.join(d, "s.dfds"), threshold=2,
                                       size=64)
            for i in range(3):
                np.testing.assert_array_equal(again.mask(i), masks[i])
            folder = dinofeat.dataset.Dataset(os.path.join(d, "in"))  # the same images through a Dataset
            through = dinofeat.datus.run(model, folder, 2, os.path.join(d, "t.dfds"), threshold=2, size=64)
            self.assertEqual([through.image(i)["name"] for i in range(3)], ["a.png", "c.jpg", "sub/b.png"])
            for i in range(3):
                np.testing.assert_array_equal(through.mask(i), masks[i])
            through.close()
            folder.close()
            paths = [os.path.join(d, "in", r.image(i)["name"]) for i in range(3)]
            denoiser = r.denoise(model, paths)
            self.assertEqual(denoiser.features, "deep")
            labels, _ = denoiser.predict(paths[0], model=model)
            self.assertEqual(labels.shape, (48, 48))
            self.assertTrue(((labels >= 1) & (labels <= denoiser.classes)).all())
            r.close()
            again.close()

    def test_crops(self):
        d = os.path.join(FIXTURES, "datus_crops")
        image = np.fromfile(os.path.join(d, "image.rgb.u8"), np.uint8).reshape(64, 64, 3)
        segments = np.fromfile(os.path.join(d, "segments.i32"), "<i4").reshape(8, 8)
        crop = dinofeat.datus.crop(image, segments, 8, 2, resize=40, crop=32)
        np.testing.assert_array_equal(crop, np.fromfile(os.path.join(d, "crop2.u8"), np.uint8).reshape(32, 32, 3))
        model = dinofeat.Model(os.path.join(FIXTURES, "models", "dino_s8.pth"), heads=2)
        features = dinofeat.datus.crop_features(model, image, segments, 3, resize=40, crop=32)
        expected = np.fromfile(os.path.join(d, "features.f32"), "<f4").reshape(3, 16)
        np.testing.assert_allclose(features, expected, atol=1e-5)


if __name__ == "__main__":
    unittest.main()
