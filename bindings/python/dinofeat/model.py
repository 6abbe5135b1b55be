"""Backbones: open a DINO / DINOv2 checkpoint, run it, get numpy arrays."""
import ctypes
import enum
import os
import warnings
from ctypes import c_size_t

from ._native import Handle, Progress, _numpy, choice, lib, path_arg, text_arg
from .core import Options, Param
from .image import Image
from .tensor import DType, Tensor


class PosInterp(enum.IntEnum):
    AUTO = 0
    OFFSET = 1
    SIZE_AA = 2
    SIZE = 3


class Cover(enum.IntEnum):
    CROP = 0
    PAD = 1
    NONE = 2


class Output(enum.IntFlag):
    PATCH = 1
    CLS = 2
    REGISTERS = 4
    CLS_ATTENTION = 8
    Q = 16
    K = 32
    V = 64
    LAYERS = 128
    ALL = 255


_NEIGHBOURHOODS = {"moore": 0, "neumann": 1, "von_neumann": 1}
_FLIPS = {False: 0, True: 1, "off": 0, "on": 1, "official": 2}
_BORDERS = {"wrap": 0, "zero": 1, "replicate": 2}
_INTERPS = {"nearest-exact": 0, "nearest_exact": 0, "bilinear": 1}
_ATTENTIONS = {"cls": 0, "o": 1, "q": 2, "k": 3, "v": 4, None: 5, "none": 5}

_TEXT_INFO = {"family": 1, "size": 2, "layout": 3, "device": 4, "precision": 5, "pos_interp": 6, "mlp": 7}
_NUMBER_INFO = {"patch": 100, "dim": 101, "depth": 102, "heads": 103, "registers": 104, "pos_grid": 105,
                "parameters": 106, "layerscale": 107, "stride": 108}
_OUTPUT_NAMES = {"patch": Output.PATCH, "cls": Output.CLS, "registers": Output.REGISTERS,
                 "cls_attention": Output.CLS_ATTENTION, "q": Output.Q, "k": Output.K, "v": Output.V}
_PRECISIONS = {"float32": DType.FLOAT32, "bfloat16": DType.BFLOAT16, "float16": DType.FLOAT16}
_POS_INTERPS = {**{m.name.lower(): m for m in PosInterp}, **{m: m for m in PosInterp}}
_COVERS = {**{m.name.lower(): m for m in Cover}, **{m: m for m in Cover}}
_PARAMS = {**{m.name: m for m in Param}, **{m: m for m in Param}}


def inference_precision(device="cpu"):
    """The precision inference runs fastest in on device at an accuracy the README documents, and
    why: ("bfloat16", ...) on a CPU with AVX512-BF16 dot products, else ("float32", ...).
    Model(precision="auto") opens with it."""
    dtype, reason = ctypes.c_int(), ctypes.c_char_p()
    lib.df_inference_precision(text_arg(device, "inference_precision: device"), ctypes.byref(dtype), ctypes.byref(reason))
    name = next(name for name, value in _PRECISIONS.items() if value == dtype.value)
    return name, reason.value.decode()


def _warn_if_bfloat16_gains_nothing(device):
    """A CPU without bfloat16 dot products computes bfloat16's matrix products in float32: no
    faster, only less precise, which a user asking for bfloat16 for speed would not guess."""
    fastest, reason = inference_precision(device)
    if fastest != "bfloat16":
        warnings.warn(f"Model: precision bfloat16 on this CPU; precision='auto' takes {reason}", RuntimeWarning,
                      stacklevel=3)


def _lower(value):
    return value.lower() if isinstance(value, str) else value


class Model(Handle):
    """A backbone read from an official .pth, a DINO training checkpoint, or Hugging Face / timm
    safetensors. Forward-time settings (stride, pos_interp, cover, attn_chunk, layers, heads) can be
    passed here or changed later with set()."""

    _free, _name = "df_model_free", "Model"

    def __init__(self, path, device="cpu", precision="float32", checkpoint=None, **settings):
        """precision: float32, bfloat16, float16, or auto (inference_precision(device)'s choice)."""
        handle = ctypes.c_void_p()
        with Options() as options:
            if precision == "auto":
                precision = inference_precision(device)[0]
            elif precision == "bfloat16" and not str(device).startswith("cuda"):
                _warn_if_bfloat16_gains_nothing(device)
            options[Param.MODEL_PRECISION] = choice(_PRECISIONS, precision, "Model: precision")
            if checkpoint is not None:
                options[Param.MODEL_CHECKPOINT] = checkpoint
            if "heads" in settings:
                options[Param.MODEL_HEADS] = settings["heads"]
            lib.df_model_open(path_arg(path, "Model: path"), text_arg(device, "Model: device"), options.handle, ctypes.byref(handle))
        super().__init__(handle)
        self.set(**settings)

    def set(self, heads=None, stride=None, pos_interp=None, cover=None, attn_chunk=None, layers=None):
        """Changes forward-time settings; pos_interp and cover take enum members or their names."""
        ints = {Param.MODEL_HEADS: heads, Param.MODEL_STRIDE: stride, Param.MODEL_ATTN_CHUNK: attn_chunk,
                Param.MODEL_POS_INTERP: None if pos_interp is None else choice(_POS_INTERPS, _lower(pos_interp), "Model: pos_interp"),
                Param.MODEL_COVER: None if cover is None else choice(_COVERS, _lower(cover), "Model: cover")}
        for key, value in ints.items():
            if value is not None:
                lib.df_model_set_int(self.handle, key, int(value))
        if layers is not None:
            lib.df_model_set_str(self.handle, Param.MODEL_LAYERS, ",".join(str(int(i)) for i in layers).encode())

    def get(self, key):
        """A model parameter's value: a Param member or its name ("model.stride")."""
        key = choice(_PARAMS, key.upper().replace(".", "_") if isinstance(key, str) else key, "Model.get: key")
        if key in (Param.MODEL_CHECKPOINT, Param.MODEL_LAYERS):
            out = ctypes.c_char_p()
            lib.df_model_get_str(self.handle, key, ctypes.byref(out))
            return out.value.decode()
        out = ctypes.c_int64()
        lib.df_model_get_int(self.handle, key, ctypes.byref(out))
        return out.value

    @property
    def info(self):
        """family, size, layout, device, precision, pos_interp, mlp, patch, dim, depth, heads,
        registers, pos_grid, parameters, layerscale, stride."""
        result = {}
        for name, key in _TEXT_INFO.items():
            out = ctypes.c_char_p()
            lib.df_model_info_str(self.handle, key, ctypes.byref(out))
            result[name] = out.value.decode()
        for name, key in _NUMBER_INFO.items():
            out = ctypes.c_int64()
            lib.df_model_info_int(self.handle, key, ctypes.byref(out))
            result[name] = out.value
        return result

    @staticmethod
    def _pixels(image, size):
        """A (B, 3, H, W) float32 Tensor from a path, an Image, an (H, W, C) uint8/uint16 array,
        or an already normalised (B, 3, H, W) float array / Tensor."""
        np = _numpy()
        if isinstance(image, Tensor):
            return image
        if isinstance(image, (str, bytes, os.PathLike)):
            image = Image.load(image)
        elif isinstance(image, np.ndarray) and image.dtype in (np.uint8, np.uint16):
            image = Image.from_numpy(image)
        if isinstance(image, Image):
            rgb = image.convert(3)
            if size is not None:
                rgb = rgb.resize(*size)
            return rgb.to_tensor()
        array = np.asarray(image, dtype=np.float32)
        if array.ndim == 3:
            array = array[None]
        return Tensor.from_numpy(array)

    def forward(self, image, outputs=("patch", "cls", "registers", "cls_attention"), size=None):
        """Runs the backbone; returns {name: numpy array} for the requested outputs: patch
        (B, gh, gw, D), cls (B, D), registers (B, R, D), cls_attention (B, heads, gh, gw), q / k / v
        (B, N, D), and "layers" (a list of (B, gh, gw, D)) when set(layers=...) named blocks.
        image: a path, an Image, a uint8/uint16 (H, W, C) array (converted to RGB, resized to
        size=(width, height) if given, ImageNet-normalised), or a normalised (B, 3, H, W) array."""
        names = [n for n in outputs if n != "layers"]
        mask = Output(0)
        for name in names:
            mask |= choice(_OUTPUT_NAMES, name, "Model.forward: outputs")
        if "layers" in outputs:
            mask |= Output.LAYERS
        pixels = self._pixels(image, size)
        handle = ctypes.c_void_p()
        lib.df_model_forward(self.handle, pixels.handle, int(mask), ctypes.byref(handle))
        try:
            result = {}
            for name in names:
                tensor = ctypes.c_void_p()
                lib.df_forward_output(handle, int(_OUTPUT_NAMES[name]), ctypes.byref(tensor))
                result[name] = _copy_borrowed(tensor)
            if "layers" in outputs:
                layers = []
                for index in range(lib.df_forward_layer_count(handle)):
                    tensor = ctypes.c_void_p()
                    lib.df_forward_layer(handle, index, ctypes.byref(tensor))
                    layers.append(_copy_borrowed(tensor))
                result["layers"] = layers
            return result
        finally:
            lib.df_forward_free(handle)


def _upsample(model, image, stride=4, shifts=(1, 2), flips=True, attention="cls", neighbourhood="moore",
              border="wrap", interp="nearest-exact", batch=1, size=None, progress=None, pad=False):
    """HR-Dv2 upsampling: (features (H, W, D), attention (H, W, heads) or None) as numpy float32
    arrays, H and W the image's (after size=(width, height)) cropped to multiples of the patch, or
    the image's own with pad=True (zero-padded for the model, cut back after).
    flips: True/False or "official"; attention: "cls" (the library's default), "o" (HR-Dv2's
    segmentation), "q", "k", "v" or None; progress:
    a callable (done, total) -> bool, True to cancel."""
    np = _numpy()
    pixels = Model._pixels(image, size)
    with Options() as options:
        options[Param.UPS_STRIDE] = stride
        options[Param.UPS_SHIFTS] = ",".join(str(int(d)) for d in shifts)
        options[Param.UPS_FLIPS] = choice(_FLIPS, flips, "upsample: flips")
        options[Param.UPS_NEIGHBOURHOOD] = choice(_NEIGHBOURHOODS, neighbourhood, "upsample: neighbourhood")
        options[Param.UPS_BORDER] = choice(_BORDERS, border, "upsample: border")
        options[Param.UPS_INTERP] = choice(_INTERPS, interp, "upsample: interp")
        options[Param.UPS_ATTENTION] = choice(_ATTENTIONS, attention, "upsample: attention")
        options[Param.UPS_BATCH] = batch
        options[Param.UPS_PAD] = int(bool(pad))
        reporter = Progress(progress)
        features, attn = ctypes.c_void_p(), ctypes.c_void_p()
        reporter.call(lib.df_upsample, model.handle, pixels.handle, options.handle, reporter.callback, None,
                      ctypes.byref(features), ctypes.byref(attn) if attention is not None else None)
    result = [Tensor(features).numpy(copy=True), Tensor(attn).numpy(copy=True) if attn.value else None]
    return result[0].astype(np.float32, copy=False), result[1]


Model.upsample = _upsample


def upsample_view_count(shifts=(1, 2), flips=True, neighbourhood="moore"):
    """How many views (forward passes) Model.upsample makes with these settings."""
    with Options() as options:
        options[Param.UPS_SHIFTS] = ",".join(str(int(d)) for d in shifts)
        options[Param.UPS_FLIPS] = choice(_FLIPS, flips, "upsample: flips")
        options[Param.UPS_NEIGHBOURHOOD] = choice(_NEIGHBOURHOODS, neighbourhood, "upsample: neighbourhood")
        out = c_size_t()
        lib.df_upsample_view_count(options.handle, ctypes.byref(out))
        return out.value


def _copy_borrowed(handle):
    """A float32 numpy copy of a tensor the library lends (it dies with its forward pass)."""
    np = _numpy()
    ndim = lib.df_tensor_ndim(handle)
    shape = (ctypes.c_int64 * max(ndim, 1))()
    lib.df_tensor_shape(handle, shape, ndim)
    out = np.empty(tuple(shape[:ndim]), dtype=np.float32)
    lib.df_tensor_copy_to_host(handle, out.ctypes.data_as(ctypes.c_void_p), out.size)
    return out


__all__ = ["Model", "PosInterp", "Cover", "Output", "upsample_view_count"]
