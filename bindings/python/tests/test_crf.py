"""dinofeat.crf against the exact numpy mean-field fixtures (test/fixtures/crf)."""
import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import dinofeat  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "test", "fixtures", "crf")


class CrfTest(unittest.TestCase):
    def test_exact_matches_numpy_and_lattice_is_close(self):
        rgb = np.fromfile(os.path.join(FIXTURES, "hrdv2.rgb.u8"), np.uint8).reshape(20, 24, 3)
        unary = np.fromfile(os.path.join(FIXTURES, "hrdv2.unary.f32"), np.float32).reshape(20, 24, 3)
        expected = np.fromfile(os.path.join(FIXTURES, "hrdv2.q.f64"), np.float64).reshape(20, 24, 3)
        labels, q = dinofeat.crf(rgb, unary, kind="energies", exact=True)
        np.testing.assert_allclose(q, expected, atol=2e-5)
        np.testing.assert_array_equal(labels, expected.argmax(2))
        labels, q = dinofeat.crf(rgb, unary, kind="energies")
        self.assertLess(np.abs(q - expected).mean(), 0.02)

    def test_settings_and_errors(self):
        rgb = np.zeros((4, 5, 3), np.uint8)
        p = np.full((4, 5, 2), 0.5, np.float32)
        p[..., 0] = 0.7
        p[..., 1] = 0.3
        labels, _ = dinofeat.crf(rgb, p, preset="stego", gaussian_compat=0, bilateral_compat=0)
        self.assertTrue((labels == 0).all())
        with self.assertRaises(TypeError):
            dinofeat.crf(rgb, p, sigma=3)
        with self.assertRaises(ValueError):
            dinofeat.crf(rgb[..., 0], p)
        with self.assertRaises(dinofeat.Error):
            dinofeat.crf(rgb, p * 3)  # probabilities above 1


if __name__ == "__main__":
    unittest.main()
