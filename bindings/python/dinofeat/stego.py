"""STEGO (specs/stego.md): the feature-correspondence loss and the trainer of the segmentation
head and its cluster probe (dinofeat/stego.h). Feature maps are (B, D, H, W) float32 arrays (or
dinofeat.Tensor), as the official code's."""
import ctypes

from ._native import Handle, TrainerView, Progress, _numpy, choice, lib, path_arg
from .tensor import DType, Tensor

_FLAGS = {"center": 1, "stabilize": 2, "zero_clamp": 4}


def _tensor(x):
    if isinstance(x, Tensor):
        return x
    return Tensor.from_numpy(_numpy().ascontiguousarray(x, dtype=_numpy().float32), borrow=True)


def _perms(perms):
    """(negatives, B) int64 tensor; the indices pass exactly through float32 (batches < 2^24)."""
    with Tensor.from_numpy(_numpy().asarray(perms, dtype=_numpy().float32)) as floats:
        return floats.to(dtype=DType.INT64)


def corr_loss(f1, f2, s1, s2, coords1, coords2, b, center=True, stabilize=False, zero_clamp=True):
    """(loss, d loss / d s1, d loss / d s2) of one pair: maps (B, C, H, W), coords (B, P, P, 2)."""
    flags = (center and 1) | (stabilize and 2) | (zero_clamp and 4)
    loss = ctypes.c_double()
    g1, g2 = ctypes.c_void_p(), ctypes.c_void_p()
    tensors = [_tensor(x) for x in (f1, f2, s1, s2, coords1, coords2)]
    lib.df_stego_corr_loss(*[t.handle for t in tensors], float(b), flags, ctypes.byref(loss), ctypes.byref(g1),
                           ctypes.byref(g2))
    with Tensor(g1) as a, Tensor(g2) as c:
        return loss.value, a.numpy(copy=True), c.numpy(copy=True)


def loss(f, s, f_knn, s_knn, coords1, coords2, perms=None, preset="code", **settings):
    """({self, knn, random, total}, d total / d s, d total / d s_knn) with fixed coordinates and
    permutations (negatives, B). preset "code" or "paper"; settings override stego.* values
    (shift_self=..., weight_knn=..., center=0, ...)."""
    from .core import Options, setting_key
    tensors = [_tensor(x) for x in (f, s, f_knn, s_knn, coords1, coords2)]
    p = _perms(perms) if perms is not None else None
    losses = (ctypes.c_double * 4)()
    g, gk = ctypes.c_void_p(), ctypes.c_void_p()
    with Options() as options:
        lib.df_stego_preset_apply(options.handle, choice({"code": 0, "paper": 1}, preset, "stego: preset"))
        for name, value in settings.items():
            options[setting_key("STEGO_", name, "stego")] = value
        lib.df_stego_loss(*[t.handle for t in tensors], p.handle if p else None, options.handle, losses,
                          ctypes.byref(g), ctypes.byref(gk))
    with Tensor(g) as a, Tensor(gk) as b:
        return dict(zip(("self", "knn", "random", "total"), losses)), a.numpy(copy=True), b.numpy(copy=True)


def _linear(probe, method):
    if probe not in ("cluster", "linear"):
        raise ValueError(f"dinofeat.stego.Trainer.{method}: probe is 'cluster' or 'linear', not {probe!r}")
    return probe == "linear"


class Trainer(TrainerView, Handle):
    """Trainer(dim, code_dim=70, classes=27, seed=0, **settings) or Trainer.load(path): step(f, f_knn)
    runs one optimisation step and returns the loss terms; train(cache, knn, steps, batch)
    runs many over a feature cache; predict(f) gives cluster labels; save(path)."""

    _free, _name, _view = "df_stego_free", "stego.Trainer", "df_stego_trainer"
    _NAMES = ("self", "knn", "random", "total", "cluster", "linear")

    def __init__(self, dim=None, code_dim=70, classes=27, seed=0, handle=None, **settings):
        from .core import Options, setting_key
        if handle is None:
            handle = ctypes.c_void_p()
            with Options(stego_code_dim=code_dim, stego_classes=classes, stego_seed=seed) as options:
                for name, value in settings.items():
                    options[setting_key("STEGO_", name, "stego")] = value
                lib.df_stego_new(dim, options.handle, ctypes.byref(handle))
        super().__init__(handle)

    @classmethod
    def load(cls, path):
        handle = ctypes.c_void_p()
        lib.df_stego_load(path_arg(path, "path"), ctypes.byref(handle))
        return cls(handle=handle)

    def save(self, path):
        lib.df_stego_save(self.handle, path_arg(path, "path"))

    @property
    def steps(self):
        out = ctypes.c_int64()
        lib.df_stego_steps(self.handle, ctypes.byref(out))
        return out.value

    def setting(self, name):
        """The trainer's value of a stego.* setting ("classes", "seed", "lr", ...), as created or as
        its file records it."""
        from .core import ParamType, param_type, setting_key
        key = setting_key("STEGO_", name, "stego.Trainer.setting")
        if param_type(key) == ParamType.INT:
            out = ctypes.c_int64()
            lib.df_stego_get_int(self.handle, key, ctypes.byref(out))
        else:
            out = ctypes.c_double()
            lib.df_stego_get_float(self.handle, key, ctypes.byref(out))
        return out.value

    def step(self, features, knn_features, labels=None):
        """One step on (B, D, H, W) features and their KNN partners'; labels ((B, H', W') ints,
        outside 0..C-1 ignored) also train the linear probe. The six loss values."""
        losses = (ctypes.c_double * 6)()
        a, b = _tensor(features), _tensor(knn_features)
        y = _perms(labels) if labels is not None else None
        lib.df_stego_head_step(self.handle, a.handle, b.handle, y.handle if y else None, losses)
        return dict(zip(self._NAMES, losses))

    def parameters(self):
        """{name: array} of the head's and the probe's weights."""
        np = _numpy()
        out = {}
        for index in range(9):
            name, count = ctypes.c_char_p(), ctypes.c_size_t()
            lib.df_stego_parameter(self.handle, index, ctypes.byref(name), None, 0, ctypes.byref(count))
            values = np.empty(count.value, dtype=np.float32)
            lib.df_stego_parameter(self.handle, index, None, values.ctypes.data_as(ctypes.c_void_p), values.size, None)
            out[name.value.decode()] = values
        return out

    def codes(self, features):
        handle = ctypes.c_void_p()
        f = _tensor(features)
        lib.df_stego_codes(self.handle, f.handle, ctypes.byref(handle))
        with Tensor(handle) as t:
            return t.numpy(copy=True)

    def predict(self, features, flipped=None, size=None, probabilities=False, probe="cluster"):
        """(B, H, W) int32 cluster labels; flipped: the horizontally flipped images' features
        (averaged in); size=(width, height), default the features' grid. probabilities=True also
        returns (B, H, W, C) float32 softmax(2 x cosine). probe="linear": the linear probe's
        classes and the softmax of its logits instead."""
        np = _numpy()
        f = _tensor(features)
        g = _tensor(flipped) if flipped is not None else None
        b, _, h, w = f.shape
        width, height = size if size is not None else (w, h)
        out = np.empty((b, height, width), dtype=np.int32)
        p = np.empty((b, height, width, self.parameters()["clusters"].size // self.codes_dim()), np.float32) \
            if probabilities else None
        predict = lib.df_stego_predict_linear if _linear(probe, "predict") else lib.df_stego_predict
        predict(self.handle, f.handle, g.handle if g else None, width, height,
                             p.ctypes.data_as(ctypes.c_void_p) if p is not None else None,
                             out.ctypes.data_as(ctypes.c_void_p))
        return (out, p) if probabilities else out

    def segment(self, model, image, side=224, crf=False, probe="cluster"):
        """(H, W) int32 cluster labels of a dinofeat.Image at its size, as STEGO's evaluation: the
        image resized so its short side is `side` (whole patches), its features and its mirror
        image's averaged; crf=True refines them with the dense CRF at STEGO's settings, a dict
        of dinofeat.crf's settings (iterations, bilateral_sxy, ...) overrides some of them.
        probe="linear": the linear probe's classes (score them without matching)."""
        np = _numpy()
        labels = np.empty((image.height, image.width), dtype=np.int32)
        options = None
        if crf:
            from .core import Options
            from .crf import PRESETS, _SETTINGS
            options = Options()
            lib.df_crf_preset_apply(options.handle, PRESETS["stego"])
            for name, value in (crf.items() if isinstance(crf, dict) else ()):
                if name not in _SETTINGS:
                    raise TypeError(f"dinofeat.stego.Trainer.segment: unknown CRF setting '{name}'")
                options[_SETTINGS[name]] = value
        try:
            segment = lib.df_stego_segment_linear if _linear(probe, "segment") else lib.df_stego_segment
            segment(self.handle, model.handle, image.handle, side, options.handle if options else None,
                    labels.ctypes.data_as(ctypes.c_void_p))
        finally:
            if options is not None:
                options.close()
        return labels

    def codes_dim(self):
        return self.parameters()["linear.bias"].size

    @property
    def last_losses(self):
        losses = (ctypes.c_double * 6)()
        lib.df_stego_last_losses(self.handle, losses)
        return dict(zip(self._NAMES, losses))

    def check_model(self, model):
        """Raises dinofeat.Error when the head was trained on another backbone than model."""
        lib.df_stego_check_model(self.handle, model.handle)

    def train(self, cache, knn, steps, batch=16, checkpoint=None, every=0, progress=None, labels=None):
        """Trains until `steps` steps are done (a loaded trainer goes on from its own count) over a
        dataset.FeatureCache and its KNN table (items, k); labels: the cache's dataset.Dataset
        opened with its label folder, to train the linear probe. checkpoint is saved every `every`
        steps, at the end, and when progress returns True to stop (then dinofeat.Error, cancelled)."""
        np = _numpy()
        knn = np.ascontiguousarray(knn, dtype=np.int32)
        reporter = Progress(progress)
        reporter.call(lib.df_stego_train, self.handle, cache.handle, knn.ctypes.data_as(ctypes.c_void_p), knn.shape[1],
                      labels.handle if labels is not None else None, steps, batch, None if checkpoint is None else path_arg(checkpoint, "checkpoint"), every, reporter.callback,
                      None)


__all__ = ["corr_loss", "loss", "Trainer"]
