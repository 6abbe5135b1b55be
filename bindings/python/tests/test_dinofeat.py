"""Tests of the Python package over the C ABI. Run from bindings/python:
    python3 -m unittest discover -s tests
"""
import gc
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import dinofeat  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "test", "fixtures", "images")


def fixture(name):
    return os.path.join(FIXTURES, name)


def raw(name, dtype, shape):
    return np.fromfile(fixture(name), dtype=dtype).reshape(shape)


class CoreTest(unittest.TestCase):
    def test_version(self):
        self.assertEqual(dinofeat.version(), dinofeat.__version__)
        self.assertEqual(dinofeat.version_number() // 10000, dinofeat.MAJOR)
        self.assertIn("libtorch", dinofeat.build_info())

    def test_imports_without_numpy(self):
        # The first python3 on a user's PATH may lack numpy: version() and errors must still work.
        code = ("import sys; sys.modules['numpy'] = None; sys.path.insert(0, sys.argv[1]); import dinofeat; "
                "print(dinofeat.version()); dinofeat.load_image(sys.argv[2])")
        package = os.path.join(os.path.dirname(__file__), "..")
        result = subprocess.run([sys.executable, "-c", code, package, fixture("rgb8.png")],
                                capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.strip(), dinofeat.version())

    def test_status_names(self):
        self.assertEqual(dinofeat.status_name(dinofeat.Status.FORMAT), "DF_E_FORMAT")
        self.assertEqual(dinofeat.status_name(999), "DF_E_UNKNOWN")

    def test_threads(self):
        dinofeat.set_num_threads(1)
        self.assertEqual(dinofeat.get_num_threads(), 1)
        dinofeat.set_num_threads(0)
        with self.assertRaises(dinofeat.Error) as raised:
            dinofeat.set_num_threads(-2)
        self.assertEqual(raised.exception.status, dinofeat.Status.INVALID_ARG)
        self.assertIn("df_set_num_threads", str(raised.exception))

    def test_memory_kept_for_reuse_and_released(self):
        model = dinofeat.Model(os.path.join(FIXTURES, "..", "models", "dino_s8.pth"), heads=2)
        pixels = dinofeat.Tensor.from_numpy(np.zeros((1, 3, 256, 256), np.float32))
        dinofeat.memory_release()
        self.assertEqual(dinofeat.memory_cached(), 0)
        model.forward(pixels, outputs=("patch",))
        kept = dinofeat.memory_cached()
        self.assertGreater(kept, 0)
        model.forward(pixels, outputs=("patch",))
        self.assertEqual(dinofeat.memory_cached(), kept)
        dinofeat.memory_release()
        self.assertEqual(dinofeat.memory_cached(), 0)

    def test_options(self):
        with dinofeat.Options(image_max_pixels=1000) as options:
            self.assertEqual(options[dinofeat.Param.IMAGE_MAX_PIXELS], 1000)
            self.assertEqual(options["image.apply_exif"], 1)
            options["image.apply_exif"] = 0
            copy = options.copy()
            options["image.apply_exif"] = 1
            self.assertEqual(copy["image.apply_exif"], 0)
            with self.assertRaises(dinofeat.Error) as raised:
                options[dinofeat.Param.IMAGE_APPLY_EXIF] = 5
            self.assertEqual(raised.exception.status, dinofeat.Status.INVALID_ARG)
            with self.assertRaises(dinofeat.Error):
                options["no.such.key"] = 1
        self.assertEqual(dinofeat.param_bounds(dinofeat.Param.IMAGE_APPLY_EXIF), (0.0, 1.0))
        self.assertEqual(dinofeat.param_type(dinofeat.Param.IMAGE_MAX_PIXELS), dinofeat.ParamType.INT)
        self.assertEqual(dinofeat.param_name(dinofeat.Param.IMAGE_MAX_PIXELS), "image.max_pixels")
        self.assertIsNone(dinofeat.param_name(4242))

    def test_log_callback(self):
        messages = []
        dinofeat.set_log_callback(lambda level, message: messages.append((level, message)))
        with open(fixture("baseline.jpg"), "rb") as f:
            data = f.read()
        cut = 4 + (data[4] << 8 | data[5])
        dinofeat.load_image(data[:cut] + b"\x01\x02\x03" + data[cut:])
        dinofeat.set_log_callback(None)
        self.assertTrue(messages)
        self.assertEqual(messages[0][0], dinofeat.LogLevel.WARNING)


class ImageTest(unittest.TestCase):
    def test_load_path_and_bytes(self):
        image = dinofeat.load_image(fixture("rgb8.png"))
        self.assertEqual((image.width, image.height, image.channels, image.bit_depth), (23, 17, 3, 8))
        expected = raw("rgb8.png.raw", np.uint8, (17, 23, 3))
        np.testing.assert_array_equal(image.numpy(), expected)
        with open(fixture("rgb8.png"), "rb") as f:
            from_bytes = dinofeat.Image.load(f.read())
        np.testing.assert_array_equal(from_bytes.numpy(), expected)

    def test_sixteen_bit(self):
        image = dinofeat.load_image(fixture("grey16.png"))
        pixels = image.numpy()
        self.assertEqual(pixels.dtype, np.uint16)
        np.testing.assert_array_equal(pixels[:, :, 0], raw("grey16.png.raw", "<u2", (17, 23)))

    def test_numpy_view_is_zero_copy_and_keeps_image_alive(self):
        image = dinofeat.load_image(fixture("rgb8.png"))
        view = image.numpy()
        view[0, 0, 0] = 7
        self.assertEqual(image.numpy()[0, 0, 0], 7)
        del image
        gc.collect()
        self.assertEqual(view[0, 0, 0], 7)  # still valid: the view holds the image

    def test_errors(self):
        with self.assertRaises(dinofeat.Error) as raised:
            dinofeat.load_image(fixture("truncated.jpg"))
        self.assertEqual(raised.exception.status, dinofeat.Status.FORMAT)
        self.assertIn("truncated.jpg", str(raised.exception))
        with self.assertRaises(dinofeat.Error) as raised:
            dinofeat.load_image(fixture("huge.jpg"))
        self.assertEqual(raised.exception.status, dinofeat.Status.LIMIT)
        with self.assertRaises(dinofeat.Error):
            dinofeat.load_image(fixture("missing.png"))
        with self.assertRaises(dinofeat.Error) as raised:
            dinofeat.load_image(fixture("rgb8.png"), dinofeat.Options(image_max_pixels=10))
        self.assertEqual(raised.exception.status, dinofeat.Status.LIMIT)
        with self.assertRaises(TypeError):
            dinofeat.Image.from_numpy(np.zeros((2, 2), np.float32))
        with self.assertRaises(dinofeat.Error):
            dinofeat.Image.from_numpy(np.zeros((2, 2, 5), np.uint8))

    def test_from_numpy_save_and_reload(self):
        pixels = np.arange(5 * 4 * 3, dtype=np.uint16).reshape(5, 4, 3) * 1000
        image = dinofeat.Image.from_numpy(pixels)
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "out.png")
            image.save_png(path)
            np.testing.assert_array_equal(dinofeat.load_image(path).numpy(), pixels)
            self.assertEqual(os.listdir(directory), ["out.png"])

    def test_resize_matches_pil(self):
        image = dinofeat.load_image(fixture("photo97x61.png"))
        for code in (0, 2, 3):
            resized = image.resize(150, 100, dinofeat.ResizeFilter(code))
            expected = raw(f"resize_photo_{code}_150x100.raw", np.uint8, (100, 150, 3))
            np.testing.assert_array_equal(resized.numpy(), expected)

    def test_adjust_matches_torchvision(self):
        image = dinofeat.load_image(fixture("photo97x61.png"))
        for code, factor, kind in ((0, 2.5, "brightness"), (1, 0.9, "contrast"), (2, 0.0, "saturation"), (3, -0.1, "hue")):
            adjusted = image.adjust(kind, factor)
            np.testing.assert_array_equal(adjusted.numpy(), raw(f"adjust_{code}_{factor:g}.raw", np.uint8, (61, 97, 3)))
        np.testing.assert_array_equal(image.adjust(dinofeat.Adjustment.HUE, 0.5).numpy(),
                                      raw("adjust_3_0.5.raw", np.uint8, (61, 97, 3)))
        with self.assertRaises(dinofeat.Error):
            image.adjust("hue", 0.7)
        with self.assertRaises(ValueError):
            image.adjust("gamma", 1.0)

    def test_convert_and_to_tensor(self):
        image = dinofeat.load_image(fixture("rgb8.png"))
        grey = image.convert(1)
        np.testing.assert_array_equal(grey.numpy()[:, :, 0], raw("grey_of_rgb8.raw", np.uint8, (17, 23)))
        tensor = image.to_tensor()
        self.assertEqual(tensor.shape, (1, 3, 17, 23))
        np.testing.assert_array_equal(tensor.numpy(), raw("tensor_rgb8.raw", "<f4", (3, 17, 23))[None])
        custom = image.to_tensor(mean=(0, 0, 0), std=(1, 1, 1)).numpy()
        np.testing.assert_allclose(custom[0].transpose(1, 2, 0), image.numpy() / np.float32(255), rtol=1e-6)


class TensorTest(unittest.TestCase):
    def test_from_numpy_copy_and_borrow(self):
        array = np.arange(12, dtype=np.float32).reshape(3, 4)
        copied = dinofeat.Tensor.from_numpy(array)
        borrowed = dinofeat.Tensor.from_numpy(array, borrow=True)
        array[0, 0] = 42
        self.assertEqual(copied.numpy()[0, 0], 0)
        self.assertEqual(borrowed.numpy()[0, 0], 42)
        self.assertEqual(copied.shape, (3, 4))
        self.assertEqual(copied.dtype, dinofeat.DType.FLOAT32)
        self.assertEqual(copied.device, "cpu")
        view = copied.numpy()
        self.assertFalse(view.flags.writeable)
        self.assertTrue(copied.numpy(copy=True).flags.writeable)

    def test_conversions(self):
        tensor = dinofeat.Tensor.from_numpy(np.array([[1.5, -2.25]], np.float32))
        half = tensor.to(dtype=dinofeat.DType.FLOAT16)
        self.assertEqual(half.numpy().dtype, np.float16)
        bf16 = tensor.to(dtype=dinofeat.DType.BFLOAT16)
        np.testing.assert_array_equal(bf16.numpy(), [[1.5, -2.25]])  # copied out as float32
        zeros = dinofeat.Tensor.zeros((2, 0, 3))
        self.assertEqual(zeros.numpy().shape, (2, 0, 3))

    def test_devices(self):
        self.assertTrue(dinofeat.device_available("cpu"))
        self.assertFalse(dinofeat.device_available("cuda:63"))
        with self.assertRaises(dinofeat.Error):
            dinofeat.device_available("gpu")
        with self.assertRaises(dinofeat.Error) as raised:
            dinofeat.Tensor.zeros((2,), device="cuda:63")
        self.assertEqual(raised.exception.status, dinofeat.Status.UNSUPPORTED)

    def test_closed_handles_refuse_use(self):
        tensor = dinofeat.Tensor.zeros((1,))
        tensor.close()
        tensor.close()
        with self.assertRaises(ValueError):
            tensor.numpy()


if __name__ == "__main__":
    unittest.main()
