"""Segmentation workflows on a backbone: TokenCut (and the HR-Dv2 class-agnostic segmentation)."""
import ctypes

from ._native import lib
from .core import Options, Param
from .model import Model
from .tensor import Tensor


class _TokenCutDetail(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("grid_height", ctypes.c_int64), ("grid_width", ctypes.c_int64),
                ("seed", ctypes.c_int64), ("eigenvalue", ctypes.c_double), ("eigenvector", ctypes.c_void_p),
                ("partition", ctypes.c_void_p), ("object", ctypes.c_void_p)]


def tokencut(model, image, tau=0.2, eps=1e-5, binary=True, size=None):
    """TokenCut (training-free object discovery) on one image: a dict with mask (H, W) uint8, 255
    on the object; box [x_min, y_min, x_max, y_max] (pixels, max exclusive); eigenvector (gh, gw)
    float32 signed so the seed is in the partition; eigenvalue; seed (row-major token index);
    partition and object (gh, gw) uint8 0/1. image as for Model.forward."""
    pixels = Model._pixels(image, size)
    detail = _TokenCutDetail(struct_size=ctypes.sizeof(_TokenCutDetail))
    box = (ctypes.c_int32 * 4)()
    mask = ctypes.c_void_p()
    with Options() as options:
        options[Param.TOKENCUT_TAU] = tau
        options[Param.TOKENCUT_EPS] = eps
        options[Param.TOKENCUT_BINARY] = int(bool(binary))
        lib.df_tokencut(model.handle, pixels.handle, options.handle, ctypes.byref(mask), box, ctypes.byref(detail))
    try:
        owned = {}
        for name in ("eigenvector", "partition", "object"):  # take the tensors over from the detail
            owned[name] = Tensor(ctypes.c_void_p(getattr(detail, name)))
            setattr(detail, name, None)
        return {"mask": Tensor(mask).numpy(copy=True), "box": list(box), "eigenvalue": detail.eigenvalue,
                "seed": detail.seed, **{name: tensor.numpy(copy=True) for name, tensor in owned.items()}}
    finally:
        lib.df_tokencut_detail_clear(ctypes.byref(detail))


Model.tokencut = tokencut

__all__ = ["tokencut"]
