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
