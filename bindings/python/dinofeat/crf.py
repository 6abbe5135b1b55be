"""Dense CRF refinement of label maps over numpy arrays (specs/crf.md)."""
import ctypes

from ._native import _numpy, choice, lib
from .core import Options, Param

PRESETS = {"hrdv2": 0, "stego": 1}
_SETTINGS = {"iterations": Param.CRF_ITERATIONS, "gaussian_sxy": Param.CRF_GAUSSIAN_SXY,
             "gaussian_compat": Param.CRF_GAUSSIAN_COMPAT, "bilateral_sxy": Param.CRF_BILATERAL_SXY,
             "bilateral_srgb": Param.CRF_BILATERAL_SRGB, "bilateral_compat": Param.CRF_BILATERAL_COMPAT,
             "prob_floor": Param.CRF_PROB_FLOOR}


def crf(image, unary, kind="probabilities", preset="hrdv2", normalization="symmetric", exact=False, **settings):
    """(labels, probabilities): mean-field inference of a fully connected CRF.

    image: (H, W, 3) uint8 RGB; unary: (H, W, L) per-pixel probabilities (kind="probabilities",
    unary = -log p) or energies (kind="energies", lower is better). preset "hrdv2" or "stego" sets
    the kernels; keyword settings override them: iterations, gaussian_sxy, gaussian_compat,
    bilateral_sxy, bilateral_srgb, bilateral_compat, prob_floor. normalization "symmetric" or
    "none"; exact=True filters every pixel pair (O(pixels^2), small images only).
    labels: (H, W) int32 argmax of the final Q; probabilities: (H, W, L) float32 Q."""
    np = _numpy()
    image = np.ascontiguousarray(image, dtype=np.uint8)
    unary = np.ascontiguousarray(unary, dtype=np.float32)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError("dinofeat.crf: image must be (H, W, 3) uint8")
    if unary.ndim != 3 or unary.shape[:2] != image.shape[:2]:
        raise ValueError(f"dinofeat.crf: unary must be (H, W, L) with H, W = {image.shape[:2]}")
    options = Options()
    lib.df_crf_preset_apply(options.handle, choice(PRESETS, preset, "crf: preset"))
    for name, value in settings.items():
        if name not in _SETTINGS:
            raise TypeError(f"dinofeat.crf: unknown setting '{name}'")
        options[_SETTINGS[name]] = value
    options[Param.CRF_NORMALIZATION] = choice({"symmetric": 0, "none": 1}, normalization, "crf: normalization")
    options[Param.CRF_FILTER] = 1 if exact else 0
    h, w, labels_count = unary.shape
    labels = np.empty((h, w), dtype=np.int32)
    q = np.empty((h, w, labels_count), dtype=np.float32)
    lib.df_crf_infer(image.ctypes.data_as(ctypes.c_void_p), w, h, unary.ctypes.data_as(ctypes.c_void_p),
                     labels_count, {"probabilities": 0, "energies": 1}[kind], options.handle,
                     q.ctypes.data_as(ctypes.c_void_p), labels.ctypes.data_as(ctypes.c_void_p))
    return labels, q


__all__ = ["crf", "PRESETS"]
