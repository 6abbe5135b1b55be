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
