"""Weak supervision from scribbles (HR-Dv2 section 3.3): per-pixel feature stacks. So far the
classical (Trainable Weka style) stack."""
import ctypes

from ._native import Handle, _numpy, lib

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


class RandomForest(Handle):
    """A random forest as scikit-learn's RandomForestClassifier(trees, max_features=max_features,
    class_weight='balanced') grows it: fit(x, y) with y in 0..classes-1, predict_proba(x)."""

    _free, _name = "df_forest_free", "RandomForest"

    def __init__(self, trees=200, max_features=2, max_depth=0, seed=0):
        super().__init__(None)
        self._settings = dict(trees=trees, max_features=max_features, max_depth=max_depth, seed=seed)
        self.classes = 0

    def fit(self, x, y, classes=None):
        from .core import Options, Param
        np = _numpy()
        x = np.ascontiguousarray(x, dtype=np.float32)
        y = np.ascontiguousarray(y, dtype=np.int32).reshape(-1)
        if x.ndim != 2 or x.shape[0] != y.shape[0]:
            raise ValueError("dinofeat.weak.RandomForest.fit: x (N, F) and y (N,)")
        classes = int(classes if classes is not None else y.max() + 1)
        handle = ctypes.c_void_p()
        with Options() as options:
            options[Param.FOREST_TREES] = self._settings["trees"]
            options[Param.FOREST_MAX_FEATURES] = self._settings["max_features"]
            options[Param.FOREST_MAX_DEPTH] = self._settings["max_depth"]
            options[Param.FOREST_SEED] = self._settings["seed"]
            lib.df_forest_train(x.ctypes.data_as(ctypes.c_void_p), y.ctypes.data_as(ctypes.c_void_p), x.shape[0],
                                x.shape[1], classes, options.handle, ctypes.byref(handle))
        self.close()
        self._handle = handle
        self.classes = classes
        return self

    def predict_proba(self, x):
        np = _numpy()
        if self._handle is None:
            raise ValueError("dinofeat.weak.RandomForest: fit() first")
        x = np.ascontiguousarray(x, dtype=np.float32)
        out = np.empty((x.shape[0], self.classes), dtype=np.float32)
        lib.df_forest_predict(self.handle, x.ctypes.data_as(ctypes.c_void_p), x.shape[0],
                              out.ctypes.data_as(ctypes.c_void_p))
        return out

    def predict(self, x):
        return self.predict_proba(x).argmax(1)


__all__ = ["CHANNELS", "channel_names", "classical_features", "RandomForest"]
