"""Segmentation workflows on a backbone: TokenCut (and the HR-Dv2 class-agnostic segmentation)."""
import ctypes

from ._native import PROGRESS_FN, Handle, Progress, _numpy, lib
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


class _CasView(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("height", ctypes.c_int64), ("width", ctypes.c_int64),
                ("cluster_count", ctypes.c_size_t), ("clusters", ctypes.c_void_p), ("centroids", ctypes.c_void_p),
                ("dim", ctypes.c_int64), ("cluster_density", ctypes.c_void_p),
                ("cluster_foreground", ctypes.c_void_p), ("cutoff", ctypes.c_double), ("class_count", ctypes.c_size_t),
                ("class_of_cluster", ctypes.c_void_p), ("classes", ctypes.c_void_p), ("class_density", ctypes.c_void_p),
                ("class_foreground", ctypes.c_void_p), ("box_count", ctypes.c_size_t), ("boxes", ctypes.c_void_p),
                ("box_class", ctypes.c_void_p), ("has_superbox", ctypes.c_int), ("superbox", ctypes.c_int32 * 4),
                ("saliency", ctypes.c_void_p)]


class _CasResult(Handle):
    _free, _name = "df_cas_result_free", "CasResult"


def _array(address, shape, ctype):
    np = _numpy()
    count = 1
    for s in shape:
        count *= s
    if count == 0:
        return np.zeros(shape, dtype=ctype)
    buffer = (ctypes.c_char * (count * np.dtype(ctype).itemsize)).from_address(address)
    return np.frombuffer(buffer, dtype=ctype).reshape(shape).copy()


def _cas_result(handle):
    np = _numpy()
    with _CasResult(handle) as result:
        v = _CasView(struct_size=ctypes.sizeof(_CasView))
        lib.df_cas_result_view(result.handle, ctypes.byref(v))
        h, w, k, c, b = v.height, v.width, v.cluster_count, v.class_count, v.box_count
        return {"classes": _array(v.classes, (h, w), np.int32), "class_count": c,
                "clusters": _array(v.clusters, (h, w), np.int32),
                "centroids": _array(v.centroids, (k, v.dim), np.float32),
                "cluster_density": _array(v.cluster_density, (k,), np.float64),
                "cluster_foreground": _array(v.cluster_foreground, (k,), np.uint8).astype(bool),
                "cutoff": v.cutoff, "class_of_cluster": _array(v.class_of_cluster, (k,), np.int32),
                "class_density": _array(v.class_density, (c,), np.float64),
                "class_foreground": _array(v.class_foreground, (c,), np.uint8).astype(bool),
                "boxes": _array(v.boxes, (b, 4), np.int32), "box_class": _array(v.box_class, (b,), np.int32),
                "superbox": list(v.superbox) if v.has_superbox else None,
                "saliency": _array(v.saliency, (h, w), np.uint8)}


_CAS_SETTINGS = {"clusters": Param.KMEANS_K, "sample": Param.KMEANS_SAMPLE, "seed": Param.KMEANS_SEED,
                 "inits": Param.KMEANS_INITS, "cutoff_scale": Param.CAS_CUTOFF_SCALE, "bins": Param.CAS_BINS,
                 "min_area": Param.CAS_MIN_AREA, "superbox_iou": Param.CAS_SUPERBOX_IOU,
                 "stride": Param.UPS_STRIDE, "batch": Param.UPS_BATCH,
                 "crf_iterations": Param.CRF_ITERATIONS}


def _cas_options(options, crf, exact_crf, pad, settings):
    for name, value in settings.items():
        if name not in _CAS_SETTINGS:
            raise TypeError(f"dinofeat.segment: unknown setting '{name}'")
        options[_CAS_SETTINGS[name]] = value
    options[Param.CAS_CRF] = int(bool(crf))
    options[Param.CRF_FILTER] = 1 if exact_crf else 0
    options[Param.UPS_PAD] = int(bool(pad))


def segment(model, image, crf=True, pad=True, size=None, progress=None, exact_crf=False, **settings):
    """HR-Dv2 unsupervised class-agnostic segmentation of one image (specs/hrdv2.md section 2).

    Returns a dict: classes (H, W) int32, class_count, clusters (H, W) (k-means, before merging),
    centroids, cluster_density, cluster_foreground, cutoff, class_of_cluster, class_density,
    class_foreground, boxes (N, 4) [x_min, y_min, x_max, y_max], box_class, superbox (or None),
    saliency (H, W) uint8 0/255. Settings: clusters (80), sample (50000), seed, inits,
    cutoff_scale (1.0; 1.1 for DINO v1), bins (20), min_area (200), superbox_iou (0.8), stride (4),
    batch, crf_iterations. pad=True covers every pixel (False: centre-crop to whole patches, as the
    official code). progress: a callable (done, total, stage) -> bool, True to cancel."""
    pixels = Model._pixels(image, size)
    reporter = Progress(progress, with_stage=True)
    handle = ctypes.c_void_p()
    with Options() as options:
        _cas_options(options, crf, exact_crf, pad, settings)
        reporter.call(lib.df_cas_segment, model.handle, pixels.handle, options.handle, reporter.callback, None,
                      ctypes.byref(handle))
    return _cas_result(handle)


def segment_features(features, attention, rgb, crf=True, exact_crf=False, **settings):
    """The same workflow from upsampled features (H, W, D), attention (H, W, heads) and the image's
    (H, W, 3) uint8 pixels (for the CRF)."""
    np = _numpy()
    features = np.ascontiguousarray(features, dtype=np.float32)
    attention = np.ascontiguousarray(attention, dtype=np.float32)
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    if features.ndim != 3 or attention.ndim != 3 or rgb.shape != features.shape[:2] + (3,):
        raise ValueError("dinofeat.segment_features: features (H, W, D), attention (H, W, heads), rgb (H, W, 3)")
    f, a = Tensor.from_numpy(features, borrow=True), Tensor.from_numpy(attention, borrow=True)
    handle = ctypes.c_void_p()
    with Options() as options:
        _cas_options(options, crf, exact_crf, False, settings)
        lib.df_cas_segment_features(f.handle, a.handle, rgb.ctypes.data_as(ctypes.c_void_p), options.handle,
                                    PROGRESS_FN(), None, ctypes.byref(handle))
    del f, a
    return _cas_result(handle)


Model.segment = segment

__all__ = ["tokencut", "segment", "segment_features"]
