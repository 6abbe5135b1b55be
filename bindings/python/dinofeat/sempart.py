"""Sempart (specs/sempart.md): the normalized-cut, graph total variation and super-resolution
losses, and the trainer of the Sempart network that predicts coarse (patch-grid) and fine (8x)
saliency masks from a frozen backbone's features (dinofeat/sempart.h). Masks are (B, h, w),
features (B, h, w, D) as the backbone's patch output, images (B, 3, H, W) normalised."""
import ctypes

from ._native import Handle, TrainerView, Progress, TensorView, _numpy, choice, lib, path_arg
from .tensor import Tensor

LOSSES = ("ncut", "gtv_coarse", "gtv_fine", "sr", "total")
BRANCHES = {"coarse": 1, "fine": 2, "both": 3}
SELECT = {"corners": 0, "centrality": 1, "framing": 2, "attention": 3}


def _tensor(x, dtype=None):
    """A Tensor over x: float32, or float64 for float64 arrays (the losses compute in their type)."""
    if isinstance(x, Tensor):
        return x
    np = _numpy()
    array = np.asarray(x)
    if dtype is None and array.dtype == np.float64:
        from .tensor import DType
        array = np.ascontiguousarray(array)
        out = Tensor.zeros(array.shape, DType.FLOAT64)
        view = TensorView(struct_size=ctypes.sizeof(TensorView))
        lib.df_tensor_view_of(out.handle, ctypes.byref(view))
        ctypes.memmove(view.data, array.ctypes.data, array.nbytes)
        return out
    return Tensor.from_numpy(np.ascontiguousarray(array, dtype=np.float32), borrow=True)


def _gradients(*handles):
    out = []
    for h in handles:
        with Tensor(h) as t:
            out.append(t.numpy(copy=True))
    return out


def _mask_loss(function, masks, other, *numbers):
    loss, grad = ctypes.c_double(), ctypes.c_void_p()
    m, o = _tensor(masks), _tensor(other)
    function(m.handle, o.handle, *[float(v) for v in numbers], ctypes.byref(loss), ctypes.byref(grad))
    return (loss.value, *_gradients(grad))


def ncut_loss(masks, features, tau=0.2, eps=1e-6):
    """(loss, d loss / d masks): the expected normalized cut of the soft bipartitions masks of the
    patch graph W_ij = 1 where the features' cosine exceeds tau, else eps (batch mean)."""
    return _mask_loss(lib.df_ncut_loss, masks, features, tau, eps)


def gtv_coarse_loss(masks, features, eps=1e-6):
    """(loss, gradient): the graph total variation of masks on their 4-neighbour grid."""
    return _mask_loss(lib.df_sempart_gtv_coarse_loss, masks, features, eps)


def gtv_fine_loss(masks, images, sigma=1.0):
    """(loss, gradient): the graph total variation of fine masks weighted by the images' colours."""
    return _mask_loss(lib.df_sempart_gtv_fine_loss, masks, images, sigma)


def sr_loss(fine, coarse):
    """(loss, d / d fine, d / d coarse): fine average-pooled to coarse's grid against coarse."""
    loss, gf, gc = ctypes.c_double(), ctypes.c_void_p(), ctypes.c_void_p()
    f, c = _tensor(fine), _tensor(coarse)
    lib.df_sempart_sr_loss(f.handle, c.handle, ctypes.byref(loss), ctypes.byref(gf), ctypes.byref(gc))
    return (loss.value, *_gradients(gf, gc))


class Trainer(TrainerView, Handle):
    """Trainer(dim, grid_height, grid_width, seed=0, **settings) or Trainer.load(path). settings
    override sempart.* values (lr=..., weight_sr=..., branches="coarse", joint=0, ...).
    step(features, images) runs one Adam step and returns the loss terms; forward gives the masks;
    train(cache, dataset, epochs, batch) runs epochs over a feature cache; predict(model, image)
    gives masks and boxes; save(path)."""

    _free, _name, _view = "df_sempart_free", "sempart.Trainer", "df_sempart_trainer"

    def __init__(self, dim=None, grid_height=None, grid_width=None, seed=0, handle=None, **settings):
        from .core import Options, setting_key
        if handle is None:
            handle = ctypes.c_void_p()
            with Options(sempart_seed=seed) as options:
                for name, value in settings.items():
                    options[setting_key("SEMPART_", name, "sempart")] = BRANCHES.get(value, value) if name == "branches" else value
                lib.df_sempart_new(dim, grid_height, grid_width if grid_width is not None else grid_height,
                                   options.handle, ctypes.byref(handle))
        super().__init__(handle)

    @classmethod
    def load(cls, path):
        handle = ctypes.c_void_p()
        lib.df_sempart_load(path_arg(path, "path"), ctypes.byref(handle))
        return cls(handle=handle)

    def save(self, path):
        lib.df_sempart_save(self.handle, path_arg(path, "path"))

    @property
    def steps(self):
        out = ctypes.c_int64()
        lib.df_sempart_steps(self.handle, ctypes.byref(out))
        return out.value

    @property
    def last_losses(self):
        losses = (ctypes.c_double * 5)()
        lib.df_sempart_last_losses(self.handle, losses)
        return dict(zip(LOSSES, losses))

    def set_branches(self, branches):
        """"coarse", "fine" or "both": what the next steps train."""
        lib.df_sempart_set_branches(self.handle, choice(BRANCHES, branches, "sempart: branches"))

    def step(self, features, images):
        """One Adam step; {ncut, gtv_coarse, gtv_fine, sr, total}."""
        losses = (ctypes.c_double * 5)()
        f, x = _tensor(features, "float32"), _tensor(images, "float32")
        lib.df_ncut_train(self.handle, f.handle, x.handle, losses)
        return dict(zip(LOSSES, losses))

    def forward(self, features, images, training=False):
        """(coarse (B, h, w), fine (B, 8h, 8w)) float32 masks in [0, 1]."""
        c, g = ctypes.c_void_p(), ctypes.c_void_p()
        f, x = _tensor(features, "float32"), _tensor(images, "float32")
        lib.df_sempart_forward(self.handle, f.handle, x.handle, int(bool(training)), ctypes.byref(c), ctypes.byref(g))
        return tuple(_gradients(c, g))

    def parameters(self):
        """{name: array} of every state, as a PyTorch state_dict names them (flattened)."""
        np = _numpy()
        out = {}
        for index in range(40):
            name, count = ctypes.c_char_p(), ctypes.c_size_t()
            lib.df_sempart_parameter(self.handle, index, ctypes.byref(name), None, 0, ctypes.byref(count))
            values = np.empty(count.value, dtype=np.float32)
            lib.df_sempart_parameter(self.handle, index, None, values.ctypes.data_as(ctypes.c_void_p), values.size, None)
            out[name.value.decode()] = values
        return out

    def set_parameters(self, states):
        """Replaces the states named in states ({name: array of that many values})."""
        np = _numpy()
        names = list(self.parameters())
        for name, values in states.items():
            values = np.ascontiguousarray(values, dtype=np.float32).reshape(-1)
            lib.df_sempart_set_parameter(self.handle, names.index(name), values.ctypes.data_as(ctypes.c_void_p),
                                         values.size)

    def check_model(self, model):
        """Raises dinofeat.Error when the network was trained on another backbone than model."""
        lib.df_sempart_check_model(self.handle, model.handle)

    def train(self, cache, dataset, epochs, batch=8, checkpoint=None, every=0, progress=None):
        """Trains until epochs epochs are done (a loaded trainer goes on from its own count) over a
        dataset.FeatureCache and the dataset.Dataset it was built from; checkpoint is saved every
        `every` steps, at the end, and when progress(done, total) returns True to stop (then
        dinofeat.Error, cancelled)."""
        reporter = Progress(progress)
        reporter.call(lib.df_sempart_train, self.handle, cache.handle, dataset.handle, epochs, batch,
                      None if checkpoint is None else path_arg(checkpoint, "checkpoint"), every, reporter.callback, None)

    def predict(self, model, image, select="corners", threshold=0.5):
        """(coarse (h, w) uint8, fine (H, W) uint8, boxes (N, 4) int32) of a dinofeat.Image: 255 x
        the foreground probability, and the boxes of the fine foreground's components, largest
        first. select: corners, centrality, framing or attention."""
        from .core import Options
        c, f, b = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_void_p()
        with Options(sempart_select=SELECT[select], sempart_threshold=threshold) as options:
            lib.df_sempart_predict(self.handle, model.handle, image.handle, options.handle, ctypes.byref(c),
                                   ctypes.byref(f), ctypes.byref(b))
        return tuple(_gradients(c, f, b))


__all__ = ["ncut_loss", "gtv_coarse_loss", "gtv_fine_loss", "sr_loss", "Trainer", "LOSSES"]
