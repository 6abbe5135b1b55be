"""Model.upsample against the reference fixtures (test/fixtures/upsample)."""
import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import dinofeat  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "test", "fixtures")


def image(h, w):
    n = np.arange(3 * h * w, dtype=np.int64)
    return (((n * 7919) % 2001).astype(np.float32) / np.float32(1000) - np.float32(1)).reshape(1, 3, h, w)


class UpsampleTest(unittest.TestCase):
    def setUp(self):
        self.model = dinofeat.Model(os.path.join(FIXTURES, "models", "dinov2_s14.pth"), heads=2, pos_interp="offset")

    def test_matches_reference(self):
        features, attention = self.model.upsample(image(28, 42), stride=7, shifts=(1, 2), flips=True, attention="o")
        self.assertEqual(features.shape, (28, 42, 16))
        self.assertEqual(attention.shape, (28, 42, 2))
        for name, array in (("features", features), ("attention", attention)):
            expected = np.fromfile(os.path.join(FIXTURES, "upsample", f"products.{name}.raw"), "<f4").reshape(array.shape)
            self.assertLess(np.abs(array - expected).max() / np.abs(expected).max(), 1e-5)

    def test_progress_and_cancel(self):
        seen = []
        self.model.upsample(image(28, 28), stride=14, shifts=(1,), flips=False, attention=None,
                            progress=lambda done, total: seen.append((done, total)) and False)
        self.assertEqual(seen[-1], (9, 9))
        with self.assertRaises(dinofeat.Error) as raised:
            self.model.upsample(image(28, 28), stride=14, progress=lambda done, total: done >= 2)
        self.assertEqual(raised.exception.status, dinofeat.Status.CANCELLED)

        def broken(done, total):
            raise KeyError("from the callback")
        with self.assertRaises(KeyError):
            self.model.upsample(image(28, 28), stride=14, progress=broken)

    def test_view_count_and_settings(self):
        self.assertEqual(dinofeat.upsample_view_count(), 51)
        self.assertEqual(dinofeat.upsample_view_count(shifts=(1,), flips=False, neighbourhood="neumann"), 5)
        with self.assertRaises(dinofeat.Error):
            dinofeat.upsample_view_count(shifts=(-1,))
        self.model.set(stride=7, layers=[0])
        self.assertEqual(self.model.get("model.stride"), 7)
        self.assertEqual(self.model.get(dinofeat.Param.MODEL_LAYERS), "0")
        self.assertEqual(self.model.get("model.pos_interp"), dinofeat.PosInterp.OFFSET)

    def test_bad_parameters(self):
        for kwargs in ({"stride": 15}, {"shifts": (0,)}, {"stride": 0}):
            with self.assertRaises(dinofeat.Error):
                self.model.upsample(image(28, 28), **kwargs)


if __name__ == "__main__":
    unittest.main()
