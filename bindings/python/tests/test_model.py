"""The Python Model against the committed reference outputs (test/fixtures/models)."""
import os
import sys
import unittest
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import dinofeat  # noqa: E402

MODELS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "test", "fixtures", "models")


def model_file(name):
    return os.path.join(MODELS, name)


def case_input(b, h, w):
    n = np.arange(3 * h * w, dtype=np.int64)
    images = [((n * 7919 + i * 104729) % 2001).astype(np.float32) / np.float32(1000) - np.float32(1) for i in range(b)]
    return np.stack(images).reshape(b, 3, h, w)


def expected(case_id, name, shape):
    return np.fromfile(os.path.join(MODELS, f"{case_id}.{name}.raw"), dtype="<f4").reshape(shape)


class ModelTest(unittest.TestCase):
    def test_forward_matches_reference(self):
        model = dinofeat.Model(model_file("dinov2_s14_reg4_hf.safetensors"), heads=2)
        out = model.forward(case_input(1, 42, 70), outputs=("patch", "cls", "registers", "cls_attention", "k"))
        self.assertEqual(out["patch"].shape, (1, 3, 5, 16))
        self.assertEqual(out["registers"].shape, (1, 4, 16))
        self.assertEqual(out["cls_attention"].shape, (1, 2, 3, 5))
        self.assertEqual(out["k"].shape, (1, 1 + 4 + 15, 16))
        for name in ("patch", "cls", "registers", "cls_attention", "k"):
            reference = expected("dinov2_s14_reg4_wide", name, out[name].shape)
            error = np.abs(out[name] - reference).max() / np.abs(reference).max()
            self.assertLess(error, 1e-5, name)

    def test_settings_and_layers(self):
        model = dinofeat.Model(model_file("dinov2_s14.pth"), heads=2, stride=4, pos_interp="offset")
        out = model.forward(case_input(1, 46, 60), outputs=("patch",))
        np.testing.assert_allclose(out["patch"], expected("dinov2_s14_stride4", "patch", out["patch"].shape),
                                   rtol=0, atol=1e-5 * np.abs(out["patch"]).max())
        model.set(stride=0, layers=[0, -2])
        out = model.forward(case_input(1, 56, 56), outputs=("patch", "layers"))
        self.assertEqual(len(out["layers"]), 2)
        np.testing.assert_allclose(out["layers"][0], expected("dinov2_s14_layers", "intermediate_0", (1, 4, 4, 16)),
                                   atol=1e-5 * np.abs(out["layers"][0]).max())

    def test_info(self):
        info = dinofeat.Model(model_file("dino_s8_checkpoint.pth"), heads=2).info
        self.assertEqual(info["family"], "dino")
        self.assertEqual(info["layout"], "training-checkpoint")
        self.assertEqual((info["patch"], info["dim"], info["depth"], info["heads"]), (8, 16, 2, 2))
        self.assertEqual(info["pos_interp"], "offset")

    def test_images_in(self):
        model = dinofeat.Model(model_file("dino_s8.pth"), heads=2)
        image = dinofeat.load_image(os.path.join(MODELS, "..", "images", "photo97x61.png"))
        from_image = model.forward(image, outputs=("patch",), size=(64, 48))["patch"]
        from_array = model.forward(image.numpy(), outputs=("patch",), size=(64, 48))["patch"]
        self.assertEqual(from_image.shape, (1, 6, 8, 16))
        np.testing.assert_array_equal(from_image, from_array)

    def test_auto_precision(self):
        # the CPU's flags read independently of the library's detection
        with open("/proc/cpuinfo") as f:
            flags = next((line.split() for line in f if line.startswith("flags")), [])
        has_bf16 = "avx512_bf16" in flags and "avx512f" in flags
        name, reason = dinofeat.inference_precision()
        self.assertEqual(name, "bfloat16" if has_bf16 else "float32")
        self.assertIn("AVX512-BF16", reason)
        self.assertEqual(dinofeat.inference_precision("cuda:1")[0], "float32")
        model = dinofeat.Model(model_file("dino_s8.pth"), heads=2, precision="auto")
        self.assertEqual(model.info["precision"], name)
        # bfloat16 by name where it gains nothing: a warning; where it is fast: none
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            dinofeat.Model(model_file("dino_s8.pth"), heads=2, precision="bfloat16")
        expected = "precision bfloat16 on this CPU; precision='auto' takes float32: this CPU lacks"
        told = [w for w in caught if expected in str(w.message)]
        self.assertEqual(len(told), 0 if has_bf16 else 1)
        with self.assertRaises(dinofeat.Error) as raised:
            dinofeat.inference_precision("gpu")
        self.assertEqual(raised.exception.status, dinofeat.Status.INVALID_ARG)
        self.assertIn("df_inference_precision: 'gpu' is not a device", str(raised.exception))

    def test_errors(self):
        with self.assertRaises(dinofeat.Error) as raised:
            dinofeat.Model(model_file("unknown_global.pth"))
        self.assertEqual(raised.exception.status, dinofeat.Status.FORMAT)
        self.assertIn("not executed", str(raised.exception))
        with self.assertRaises(dinofeat.Error) as raised:
            dinofeat.Model(model_file("dino_s8.pth"), device="cuda:63")
        self.assertEqual(raised.exception.status, dinofeat.Status.UNSUPPORTED)
        model = dinofeat.Model(model_file("dino_s8.pth"))
        with self.assertRaises(dinofeat.Error) as raised:
            model.forward(case_input(1, 32, 32))
        self.assertIn("model.heads", str(raised.exception))
        with self.assertRaises(dinofeat.Error):
            model.set(stride=9)


if __name__ == "__main__":
    unittest.main()
