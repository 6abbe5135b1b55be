"""df_image <-> numpy: decode, save, resize, convert, to a normalised tensor."""
import ctypes
import enum

from ._native import Handle, _numpy, choice, count_arg, lib, path_arg
from .core import _options_handle
from .tensor import Tensor, _Exported


class ResizeFilter(enum.IntEnum):
    NEAREST = 0
    BILINEAR = 2
    BICUBIC = 3


_FILTERS = {**{f: int(f) for f in ResizeFilter}, **{f.name.lower(): int(f) for f in ResizeFilter}}


class Adjustment(enum.IntEnum):
    BRIGHTNESS = 0
    CONTRAST = 1
    SATURATION = 2
    HUE = 3


_ADJUSTMENTS = {**{a: int(a) for a in Adjustment}, **{a.name.lower(): int(a) for a in Adjustment}}


class Image(Handle):
    """A decoded image: pixels interleaved (height, width, channels), uint8 or uint16."""

    _free, _name = "df_image_free", "Image"

    @classmethod
    def load(cls, source, options=None):
        """Decodes a PNG or JPEG from a path or from bytes."""
        handle = ctypes.c_void_p()
        if isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
            lib.df_image_load_memory(data, len(data), _options_handle(options), ctypes.byref(handle))
        else:
            lib.df_image_load(path_arg(source, "source"), _options_handle(options), ctypes.byref(handle))
        return cls(handle)

    @classmethod
    def from_numpy(cls, array):
        """A copy of a (H, W), (H, W, C) uint8 or uint16 array, C in 1..4."""
        np = _numpy()
        if not hasattr(array, "__array_interface__") and not isinstance(array, (list, tuple)):
            raise TypeError(f"dinofeat.Image.from_numpy: array must be a numpy array, not {type(array).__name__}")
        array = np.asarray(array)
        if array.dtype not in (np.uint8, np.uint16):
            raise TypeError(f"dinofeat.Image.from_numpy: dtype must be uint8 or uint16, not {array.dtype}")
        if array.ndim == 2:
            array = array[:, :, None]
        if array.ndim != 3:
            raise ValueError(f"dinofeat.Image.from_numpy: expected (H, W) or (H, W, C), got {array.shape}")
        array = np.ascontiguousarray(array)
        handle = ctypes.c_void_p()
        height, width, channels = array.shape
        lib.df_image_from_pixels(array.ctypes.data_as(ctypes.c_void_p), width, height, channels,
                                 array.dtype.itemsize * 8, 0, ctypes.byref(handle))
        return cls(handle)


    width = property(lambda self: lib.df_image_width(self.handle))
    height = property(lambda self: lib.df_image_height(self.handle))
    channels = property(lambda self: lib.df_image_channels(self.handle))
    bit_depth = property(lambda self: lib.df_image_bit_depth(self.handle))

    def numpy(self, copy=False):
        """(H, W, C) array; without copy, a writable view of the image's own pixels (the view keeps
        the pixels alive, also after close())."""
        np = _numpy()
        dtype = "<u2" if self.bit_depth == 16 else "|u1"
        view = np.asarray(_Exported(self._owner_of_memory(), lib.df_image_pixels(self.handle),
                                    (self.height, self.width, self.channels), dtype, None, False))
        return view.copy() if copy else view

    def save_png(self, path):
        lib.df_image_save_png(self.handle, path_arg(path, "path"))

    def resize(self, width, height, filter=ResizeFilter.BICUBIC):
        """Resampled with PIL's algorithm (Image.resize), so results equal PIL's."""
        handle = ctypes.c_void_p()
        width, height = count_arg(width, "Image.resize: width"), count_arg(height, "Image.resize: height")
        lib.df_image_resize(self.handle, width, height, choice(_FILTERS, filter, "Image.resize: filter"),
                            ctypes.byref(handle))
        return Image(handle)

    def convert(self, channels):
        """1 grey (PIL's "L" luma), 2 grey+alpha, 3 RGB, 4 RGBA."""
        handle = ctypes.c_void_p()
        lib.df_image_convert(self.handle, count_arg(channels, "Image.convert: channels"), ctypes.byref(handle))
        return Image(handle)

    def adjust(self, adjustment, factor):
        """8-bit RGB adjusted bit for bit as torchvision's adjust_brightness / _contrast /
        _saturation / _hue on a PIL image (factor >= 0; hue: -0.5..0.5)."""
        handle = ctypes.c_void_p()
        lib.df_image_adjust(self.handle, choice(_ADJUSTMENTS, adjustment, "Image.adjust: adjustment"),
                            ctypes.c_double(float(factor)), ctypes.byref(handle))
        return Image(handle)

    def to_tensor(self, mean=None, std=None):
        """(1, 3, H, W) float32: ToTensor + Normalize (ImageNet statistics by default)."""
        def floats(values):
            return None if values is None else (ctypes.c_float * 3)(*values)
        handle = ctypes.c_void_p()
        lib.df_image_to_tensor(self.handle, floats(mean), floats(std), ctypes.byref(handle))
        return Tensor(handle)





    def __repr__(self):
        return f"dinofeat.Image({self.width}x{self.height}, channels={self.channels}, bit_depth={self.bit_depth})"


def load_image(source, options=None):
    return Image.load(source, options)


__all__ = ["Image", "ResizeFilter", "load_image"]
