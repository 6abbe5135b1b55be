"""Weak supervision from scribbles (HR-Dv2 section 3.3): per-pixel feature stacks. So far the
classical (Trainable Weka style) stack."""
import ctypes

from ._native import _numpy, lib

CHANNELS = 58


def channel_names():
    """The 58 classical channels' names, in order."""
    return [lib.df_classical_channel_name(i).decode() for i in range(CHANNELS)]


def classical_features(image):
    """(H, W, 58) float32: the classical feature stack of a grey (H, W) uint8 image, or of an
    (H, W, 3) RGB one converted to grey as PIL's "L" does (ITU-R 601 luma)."""
    np = _numpy()
    from .image import Image
    if isinstance(image, Image):
        image = image.convert(1).numpy()
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if image.ndim == 3:
        image = Image.from_numpy(np.ascontiguousarray(image, dtype=np.uint8)).convert(1).numpy()[..., 0]
    if image.ndim != 2 or image.dtype != np.uint8:
        raise ValueError("dinofeat.weak.classical_features: an (H, W) or (H, W, 3) uint8 image")
    grey = np.ascontiguousarray(image)
    out = np.empty(grey.shape + (CHANNELS,), dtype=np.float32)
    lib.df_classical_features(grey.ctypes.data_as(ctypes.c_void_p), grey.shape[1], grey.shape[0],
                              out.ctypes.data_as(ctypes.c_void_p))
    return out


__all__ = ["CHANNELS", "channel_names", "classical_features"]
