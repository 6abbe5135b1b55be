"""dinofeat.weak.classical_features against the numpy/scipy fixtures (test/fixtures/classical)."""
import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import dinofeat  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "test", "fixtures", "classical")


class ClassicalTest(unittest.TestCase):
    def test_matches_scipy(self):
        grey = np.fromfile(os.path.join(FIXTURES, "grey.u8"), np.uint8).reshape(64, 80)
        expected = np.fromfile(os.path.join(FIXTURES, "features.f32"), "<f4").reshape(64, 80, 58)
        got = dinofeat.weak.classical_features(grey)
        scale = np.abs(expected).reshape(-1, 58).max(0)
        self.assertLessEqual((np.abs(got - expected).reshape(-1, 58).max(0) / np.maximum(scale, 1e-12)).max(), 1e-4)
        rgb = np.repeat(grey[..., None], 3, axis=2)
        np.testing.assert_array_equal(dinofeat.weak.classical_features(rgb), got)  # grey as RGB: the same
        self.assertEqual(dinofeat.weak.channel_names()[-1], "membrane_median")
        with self.assertRaises(ValueError):
            dinofeat.weak.classical_features(grey.astype(np.float32))


if __name__ == "__main__":
    unittest.main()
