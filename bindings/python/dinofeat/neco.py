"""NeCo (specs/neco.md; dinofeat/neco.h): the differentiable sorting networks its loss ranks with
(values are (rows, n) float32 or float64 arrays), the loss, ROI align, the crops, and the
post-pretraining Trainer that writes a backbone dinofeat.Model opens."""
import ctypes

from ._native import Handle, TrainerView, Progress, choice, lib, path_arg
from .sempart import _gradients, _tensor

NETWORKS = {"bitonic": 0, "odd_even": 1}
SIGMOIDS = {"cauchy": 0, "logistic": 1, "logistic_phi": 2, "reciprocal": 3, "gaussian": 4, "optimal": 5}


def sort(values, network="bitonic", sigmoid="cauchy", steepness=10.0, permutation=True):
    """(sorted (rows, n), P (rows, n, n)) of each row sorted ascending by the relaxed network; P[r, i, p]
    is input i's weight at position p. permutation=False returns the sorted values alone."""
    s, p = ctypes.c_void_p(), ctypes.c_void_p()
    x = _tensor(values)
    lib.df_diffsort(x.handle, NETWORKS[network], SIGMOIDS[sigmoid], float(steepness), ctypes.byref(s),
                    ctypes.byref(p) if permutation else None)
    out = _gradients(s, p) if permutation else _gradients(s)
    return tuple(out) if permutation else out[0]


def sort_backward(values, grad_sorted=None, grad_permutation=None, network="bitonic", sigmoid="cauchy",
                  steepness=10.0):
    """d/d values of sum(grad_sorted * sorted) + sum(grad_permutation * P)."""
    g = ctypes.c_void_p()
    x = _tensor(values)
    gs = _tensor(grad_sorted) if grad_sorted is not None else None
    gp = _tensor(grad_permutation) if grad_permutation is not None else None
    lib.df_diffsort_backward(x.handle, NETWORKS[network], SIGMOIDS[sigmoid], float(steepness),
                             gs.handle if gs else None, gp.handle if gp else None, ctypes.byref(g))
    return _gradients(g)[0]


def roi_align(features, boxes, output_size=7, spatial_scale=1.0, sampling_ratio=-1, aligned=True):
    """torchvision.ops.roi_align: features (B, C, H, W), boxes (K, 5) (batch index, x1, y1, x2, y2) ->
    (K, C, output_size, output_size); sampling_ratio <= 0 is adaptive."""
    out = ctypes.c_void_p()
    f, b = _tensor(features), _tensor(boxes)
    lib.df_roi_align(f.handle, b.handle, int(output_size), float(spatial_scale), int(sampling_ratio), int(bool(aligned)),
                     ctypes.byref(out))
    return _gradients(out)[0]


def roi_align_backward(features, boxes, grad_out, output_size=7, spatial_scale=1.0, sampling_ratio=-1, aligned=True):
    """d/d features of sum(grad_out * roi_align(features, boxes, ...))."""
    g = ctypes.c_void_p()
    f, b, go = _tensor(features), _tensor(boxes), _tensor(grad_out)
    lib.df_roi_align_backward(f.handle, b.handle, int(output_size), float(spatial_scale), int(sampling_ratio),
                              int(bool(aligned)), go.handle, ctypes.byref(g))
    return _gradients(g)[0]


def loss(student, teacher, refs, gradient=True, **settings):
    """NeCo's loss of student and teacher patch features (B, Nq, d) against references (B, R, d):
    (loss, d loss / d student) or, with gradient=False, the loss. settings override neco.* values
    (steepness=100, network="bitonic", sigmoid="cauchy", euclidean=False, symmetric=False)."""
    value, g = ctypes.c_double(), ctypes.c_void_p()
    s, t, r = _tensor(student), _tensor(teacher), _tensor(refs)
    with _options(settings) as options:
        lib.df_neco_loss(s.handle, t.handle, r.handle, options.handle, ctypes.byref(value),
                         ctypes.byref(g) if gradient else None)
    return (value.value, _gradients(g)[0]) if gradient else value.value

def _options(settings):
    """An Options with neco.* values from keyword settings (network/sigmoid by name)."""
    from .core import Options, setting_key
    options = Options()
    tables = {"network": NETWORKS, "sigmoid": SIGMOIDS}
    for name, setting in settings.items():
        options[setting_key("NECO_", name, "neco")] = choice(tables[name], setting, f"neco: {name}") if name in tables else setting
    return options


def views(image, seed=0, **settings):
    """(global (G, 3, S, S), local (L, 3, s, s) or None, boxes (G + L, 4)) float32: NeCo's crops of a
    dinofeat.Image, normalised, and each crop's box in the image. settings override neco.* values
    (global_size=224, local_size=98, global_crops=2, local_crops=4, jitter_p=0.8, ...)."""
    g, l, b = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_void_p()
    with _options(settings) as options:
        lib.df_neco_views(image.handle, int(seed), options.handle, ctypes.byref(g), ctypes.byref(l), ctypes.byref(b))
    global_crops, boxes = _gradients(g, b)
    return global_crops, (_gradients(l)[0] if l.value else None), boxes


class Trainer(TrainerView, Handle):
    """Trainer(model, total_steps=0, **settings) or Trainer.load(path, model): NeCo post-pretraining
    of a dinofeat.Model's backbone. settings override neco.* values (seed=0, lr_head=1e-4,
    lr_backbone=1e-5, global_size=224, local_size=98, queue=0, ...). step(images) trains on a list of
    dinofeat.Image (total_steps, the schedules' length, must then be given); train(dataset, epochs,
    batch) runs epochs over a dinofeat.Dataset; save/load the whole state; export(path) writes the
    student backbone, which dinofeat.Model opens."""

    _free, _name, _view = "df_neco_free", "neco.Trainer", "df_neco_trainer"

    def __init__(self, model=None, total_steps=0, handle=None, **settings):
        if handle is None:
            handle = ctypes.c_void_p()
            with _options(settings) as options:
                lib.df_neco_new(model.handle, int(total_steps), options.handle, ctypes.byref(handle))
        super().__init__(handle)

    @classmethod
    def load(cls, path, model):
        handle = ctypes.c_void_p()
        lib.df_neco_load(path_arg(path, "path"), model.handle, ctypes.byref(handle))
        return cls(handle=handle)

    def save(self, path):
        lib.df_neco_save(self.handle, path_arg(path, "path"))

    def export(self, path):
        lib.df_neco_export(self.handle, path_arg(path, "path"))

    @property
    def steps(self):
        out = ctypes.c_int64()
        lib.df_neco_steps(self.handle, ctypes.byref(out))
        return out.value

    @property
    def last_loss(self):
        out = ctypes.c_double()
        lib.df_neco_last_loss(self.handle, ctypes.byref(out))
        return out.value

    def step(self, images):
        """One step on a list of dinofeat.Image; returns its loss."""
        handles = (ctypes.c_void_p * len(images))(*[image.handle for image in images])
        out = ctypes.c_double()
        lib.df_neco_step(self.handle, handles, len(images), ctypes.byref(out))
        return out.value

    def train(self, dataset, epochs, batch=64, checkpoint=None, every=0, progress=None):
        """Trains until epochs epochs are done (a loaded trainer goes on from its own count) over a
        dinofeat.Dataset; checkpoint is saved every `every` steps, at the end, and when
        progress(done, total) returns True to stop (then dinofeat.Error, cancelled)."""
        reporter = Progress(progress)
        reporter.call(lib.df_neco_train, self.handle, dataset.handle, epochs, batch,
                      None if checkpoint is None else path_arg(checkpoint, "checkpoint"), every, reporter.callback, None)


__all__ = ["sort", "sort_backward", "roi_align", "roi_align_backward", "views", "Trainer", "loss", "NETWORKS", "SIGMOIDS"]
