"""No Python code, however wrong, crashes the interpreter or reaches C with a value C misreads:
numpy views outlive close(), bad arrays, paths, sizes and names are clear Python errors."""
import os
import subprocess
import sys
import tempfile
import textwrap
import unittest

import numpy as np

PACKAGE = os.path.join(os.path.dirname(__file__), "..")
sys.path.insert(0, PACKAGE)
import dinofeat  # noqa: E402

MODELS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "test", "fixtures", "models")


def run_isolated(body):
    """Runs body in a fresh interpreter (a crash must not take the test runner with it)."""
    code = "import sys, gc; sys.path.insert(0, sys.argv[1]); import numpy as np, dinofeat\n" + textwrap.dedent(body)
    return subprocess.run([sys.executable, "-c", code, PACKAGE], capture_output=True, text=True, timeout=300)


# Large enough (12 MiB) that malloc serves it from its own mapping, which free() unmaps: a read of
# freed pixels then faults at once instead of returning stale bytes.
BIG_IMAGE = "pixels = (np.arange(2048 * 2048 * 3) % 251).astype(np.uint8).reshape(2048, 2048, 3)\n"


class ViewLifetimeTest(unittest.TestCase):
    def assert_survives(self, body):
        result = run_isolated(body)
        self.assertEqual(result.returncode, 0, f"exit {result.returncode}\n{result.stderr[-2000:]}")
        self.assertIn("intact", result.stdout)

    def test_image_view_after_close(self):
        self.assert_survives(BIG_IMAGE + """
image = dinofeat.Image.from_numpy(pixels)
view = image.numpy()
image.close()
junk = [np.ones(2048 * 2048 * 3, np.uint8) for _ in range(4)]  # reuse freed memory, if any was freed
view[0, 0, 0] = 7  # the view is writable: it must still be the image's pixels
assert np.array_equal(view[1:], pixels[1:]) and view[0, 0, 0] == 7
try:
    image.numpy()
except ValueError as error:
    assert "after close" in str(error)
else:
    raise SystemExit("numpy() after close() did not raise")
print("intact")
""")

    def test_image_view_after_with_block_and_del(self):
        self.assert_survives(BIG_IMAGE + """
with dinofeat.Image.from_numpy(pixels) as image:
    view = image.numpy()
second = dinofeat.Image.from_numpy(pixels).numpy()  # the Image object itself is gone at once
gc.collect()
junk = [np.ones(2048 * 2048 * 3, np.uint8) for _ in range(4)]
assert np.array_equal(view, pixels) and np.array_equal(second, pixels)
del view, second
gc.collect()
print("intact")
""")

    def test_tensor_view_after_close(self):
        self.assert_survives("""
values = np.random.default_rng(0).standard_normal((1024, 1024, 3)).astype(np.float32)
tensor = dinofeat.Tensor.from_numpy(values)
view = tensor.numpy()
tensor.close()
junk = [np.ones(1024 * 1024 * 3, np.float32) for _ in range(4)]
assert np.array_equal(view, values)
print("intact")
""")

    def test_borrowed_tensor_view_outlives_everything(self):
        # A borrowing tensor reads the caller's array: its view must keep that array alive too.
        self.assert_survives("""
tensor = dinofeat.Tensor.from_numpy(np.full((1024, 1024, 3), 2.5, np.float32), borrow=True)
view = tensor.numpy()
del tensor
gc.collect()
junk = [np.ones(1024 * 1024 * 3, np.float32) for _ in range(4)]
assert float(view.min()) == 2.5 == float(view.max())
print("intact")
""")

    def test_closing_frees_when_no_view_is_left(self):
        # Closing without views frees at once; with views, when the last one goes (no leak).
        image = dinofeat.Image.from_numpy(np.zeros((4, 4, 3), np.uint8))
        owner = image._owner_of_memory()
        view = image.numpy()
        image.close()
        self.assertIsNotNone(owner.pointer)
        del view
        self.assertEqual(sys.getrefcount(owner), 2)  # only ours: the C image goes with it


class ArgumentTest(unittest.TestCase):
    def test_from_numpy_refuses_what_is_not_real_numbers(self):
        for bad in (None, np.zeros(3, np.complex64), np.array([object(), 1], dtype=object), "abc", 3.0):
            with self.subTest(bad=type(bad).__name__):
                with self.assertRaises(TypeError) as raised:
                    dinofeat.Tensor.from_numpy(bad)
                self.assertIn("array", str(raised.exception))
        for bad in (None, np.zeros((4, 4), np.complex64), np.zeros((4, 4), object), "abc"):
            with self.assertRaises(TypeError):
                dinofeat.Image.from_numpy(bad)
        with self.assertRaises(dinofeat.Error):
            dinofeat.Image.from_numpy(np.zeros((0, 4, 3), np.uint8))

    def test_paths_with_nul_are_refused(self):
        with tempfile.TemporaryDirectory() as folder:
            image = dinofeat.Image.from_numpy(np.zeros((4, 4, 3), np.uint8))
            target = os.path.join(folder, "a.png")
            with self.assertRaises(ValueError) as raised:
                image.save_png(target + "\0.txt")
            self.assertIn("NUL", str(raised.exception))
            self.assertFalse(os.path.exists(target))  # not silently written under the cut name
            with self.assertRaises(ValueError):
                dinofeat.load_image(target + "\0")
            with self.assertRaises(ValueError):
                dinofeat.Model(os.path.join(MODELS, "dino_s8.pth") + "\0junk")
            with self.assertRaises(TypeError):
                dinofeat.load_image(42)
            with self.assertRaises(ValueError):
                dinofeat.Options()["model.checkpoint"] = "teacher\0student"

    def test_negative_sizes_are_refused(self):
        image = dinofeat.Image.from_numpy(np.zeros((4, 4, 3), np.uint8))
        with self.assertRaises(ValueError) as raised:
            image.resize(-5, 4)
        self.assertIn("width", str(raised.exception))
        with self.assertRaises(ValueError):
            image.convert(-1)
        with self.assertRaises(ValueError):
            dinofeat.Tensor.zeros((2, -3))
        with self.assertRaises(TypeError):
            image.resize(4.5, 4)
        # the last line of defence: the raw C layer refuses a negative size_t too
        from dinofeat._native import lib
        with self.assertRaises(ValueError) as raised:
            lib.df_image_new(-5, 4, 3, 8, None)
        self.assertIn("df_image_new", str(raised.exception))

    def test_unknown_names_are_clear_errors(self):
        image = dinofeat.Image.from_numpy(np.zeros((4, 4, 3), np.uint8))
        with self.assertRaises(ValueError) as raised:
            image.resize(2, 2, filter="lanczos")
        self.assertIn("filter", str(raised.exception))
        self.assertIn("'bicubic'", str(raised.exception))
        with self.assertRaises(TypeError):
            dinofeat.Options(no_such_parameter=1)
        with self.assertRaises(ValueError):
            dinofeat.Tensor.zeros((2,), dtype="complex")
        model = dinofeat.Model(os.path.join(MODELS, "dino_s8.pth"), heads=2)
        for call in (lambda: dinofeat.Model(os.path.join(MODELS, "dino_s8.pth"), precision="float8"),
                     lambda: model.set(pos_interp="cubic"), lambda: model.set(cover="stretch"),
                     lambda: model.get("model.no_such"), lambda: model.forward(np.zeros((1, 3, 16, 16)), outputs=("x",)),
                     lambda: model.upsample(np.zeros((1, 3, 16, 16)), flips="sometimes"),
                     lambda: model.upsample(np.zeros((1, 3, 16, 16)), attention="z")):
            with self.assertRaises(ValueError) as raised:
                call()
            self.assertIn("must be one of", str(raised.exception))
        with self.assertRaises(TypeError):
            dinofeat.stego.Trainer(16, no_such=1)
        with self.assertRaises(ValueError):
            dinofeat.crf(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4, 2), np.float32), preset="none")


if __name__ == "__main__":
    unittest.main()
