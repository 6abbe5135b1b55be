"""dinofeat.tokencut against the numpy/scipy reference fixtures (test/fixtures/tokencut)."""
import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import dinofeat  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "test", "fixtures")


class TokenCutTest(unittest.TestCase):
    def test_matches_reference(self):
        model = dinofeat.Model(os.path.join(FIXTURES, "models", "dino_s8.pth"), heads=2)
        x = np.fromfile(os.path.join(FIXTURES, "tokencut", "dino.input.f32"), "<f4").reshape(1, 3, 52, 75)
        result = model.tokencut(x)
        self.assertEqual(result["mask"].shape, (52, 75))
        self.assertEqual(result["box"], [8, 0, 48, 40])
        self.assertEqual(result["seed"], 21)
        expected = np.fromfile(os.path.join(FIXTURES, "tokencut", "dino.eigenvector.f32"), "<f4").reshape(7, 10)
        np.testing.assert_allclose(result["eigenvector"], expected, rtol=1e-4, atol=1e-4)
        obj = np.fromfile(os.path.join(FIXTURES, "tokencut", "dino.object.u8"), np.uint8).reshape(7, 10)
        np.testing.assert_array_equal(result["object"], obj)
        np.testing.assert_array_equal(result["mask"], np.kron(obj, np.ones((8, 8), np.uint8))[:52, :75] * 255)
        with self.assertRaises(dinofeat.Error):
            model.tokencut(np.zeros((1, 3, 4, 40), np.float32))


if __name__ == "__main__":
    unittest.main()


class SegmentTest(unittest.TestCase):
    def test_features_match_reference(self):
        d = os.path.join(FIXTURES, "cas")
        features = np.fromfile(os.path.join(d, "merged6.features.raw"), "<f4").reshape(24, 30, 8)
        attention = np.fromfile(os.path.join(d, "merged6.attention.raw"), "<f4").reshape(24, 30, 2)
        rgb = np.fromfile(os.path.join(d, "merged6.rgb.raw"), np.uint8).reshape(24, 30, 3)
        result = dinofeat.segment_features(features, attention, rgb, exact_crf=True, clusters=9, min_area=12)
        self.assertEqual(result["class_count"], 6)
        self.assertAlmostEqual(result["cutoff"], 0.91751948504261016, places=5)
        expected = np.fromfile(os.path.join(d, "merged6.classes.raw"), "<i4").reshape(24, 30)
        pairs = set(zip(result["classes"].reshape(-1).tolist(), expected.reshape(-1).tolist()))
        self.assertEqual(len(pairs), 6)  # the same partition of the pixels
        saliency = np.fromfile(os.path.join(d, "merged6.saliency.raw"), np.uint8).reshape(24, 30)
        np.testing.assert_array_equal(result["saliency"], saliency)
        self.assertEqual(result["boxes"].shape, (3, 4))
        with self.assertRaises(TypeError):
            dinofeat.segment_features(features, attention, rgb, lambda_=1)

    def test_on_a_model(self):
        model = dinofeat.Model(os.path.join(FIXTURES, "models", "dinov2_s14.pth"), heads=2)
        stages = []
        x = np.random.default_rng(0).integers(0, 256, (30, 40, 3), dtype=np.uint8)
        result = model.segment(x, clusters=10, stride=7, progress=lambda d, t, s: stages.append(s) and False)
        self.assertEqual(result["classes"].shape, (30, 40))
        self.assertEqual(stages[-1], "regions")
        self.assertIn("upsample", stages)
        with self.assertRaises(dinofeat.Error) as raised:
            model.segment(x, clusters=10, stride=7, progress=lambda d, t, s: s == "crf")
        self.assertEqual(raised.exception.status, dinofeat.Status.CANCELLED)
