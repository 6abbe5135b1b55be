"""Weak supervision from scribbles (HR-Dv2 section 3.3): per-pixel feature stacks. So far the
classical (Trainable Weka style) stack."""
import ctypes

from ._native import Handle, _numpy, choice, lib, path_arg

CHANNELS = 58


def _settings(groups, min_sigma, max_sigma, membrane_size, membrane_thickness):
    """Options for the classical settings given (None: the library's default)."""
    from .core import Options, Param
    options = Options()
    if groups is not None:
        options[Param.CLASSICAL_GROUPS] = groups if isinstance(groups, str) else ",".join(groups)
    for key, value in ((Param.CLASSICAL_MIN_SIGMA, min_sigma), (Param.CLASSICAL_MAX_SIGMA, max_sigma),
                       (Param.CLASSICAL_MEMBRANE_SIZE, membrane_size),
                       (Param.CLASSICAL_MEMBRANE_THICKNESS, membrane_thickness)):
        if value is not None:
            options[key] = value
    return options


def channel_names(groups=None, min_sigma=None, max_sigma=None, membrane_size=None, membrane_thickness=None):
    """The classical channels' names, in order, for these settings (the defaults: the 58)."""
    with _settings(groups, min_sigma, max_sigma, membrane_size, membrane_thickness) as options:
        count = ctypes.c_size_t()
        lib.df_classical_channels(options.handle, ctypes.byref(count))
        name = ctypes.create_string_buffer(64)
        names = []
        for i in range(count.value):
            lib.df_classical_channel_label(options.handle, i, name, len(name))
            names.append(name.value.decode())
        return names


def classical_features(image, groups=None, min_sigma=None, max_sigma=None, membrane_size=None,
                       membrane_thickness=None):
    """(H, W, C) float32: the classical feature stack of a grey (H, W) uint8 or uint16 image, or
    of an (H, W, 3) RGB one converted to grey as PIL's "L" does (ITU-R 601 luma), as HR-Dv2's
    featuriser computes it (16-bit: the rank filters see the high bytes). groups: names or a
    comma-separated string among gaussian, sobel, hessian, dog, membrane, mean, median, minimum,
    maximum, entropy, structure, neighbours, derivatives, bilateral (default its Weka set, 58
    channels); min_sigma (0: scale 0 too, -1: from 0.5), max_sigma, membrane_size,
    membrane_thickness. image may also be an Image or a path."""
    np = _numpy()
    from .image import Image
    if not isinstance(image, Image) and not isinstance(image, (str, bytes)) and not hasattr(image, "__fspath__"):
        array = np.asarray(image)
        if array.ndim == 3 and array.shape[2] == 1:
            array = array[..., 0]
        if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] != 3) or \
                array.dtype not in (np.uint8, np.uint16):
            raise ValueError("dinofeat.weak.classical_features: an (H, W) or (H, W, 3) uint8 or uint16 image")
        image = array
    picture = _image(image)
    with _settings(groups, min_sigma, max_sigma, membrane_size, membrane_thickness) as options:
        count = ctypes.c_size_t()
        lib.df_classical_channels(options.handle, ctypes.byref(count))
        out = np.empty((picture.height, picture.width, count.value), dtype=np.float32)
        lib.df_classical_compute_image(picture.handle, options.handle, out.ctypes.data_as(ctypes.c_void_p))
    return out


class _Fitted(Handle):
    """A classifier over (N, F) float32 samples: subclasses name their C calls and settings."""

    _train = _predict = None

    def __init__(self):
        super().__init__(None)
        self.classes = 0

    def _set_options(self, options):
        raise NotImplementedError

    def fit(self, x, y, classes=None):
        from .core import Options
        np = _numpy()
        x = np.ascontiguousarray(x, dtype=np.float32)
        y = np.ascontiguousarray(y, dtype=np.int32).reshape(-1)
        if x.ndim != 2 or x.shape[0] != y.shape[0]:
            raise ValueError(f"dinofeat.weak.{self._name}.fit: x (N, F) and y (N,)")
        classes = int(classes if classes is not None else y.max() + 1)
        handle = ctypes.c_void_p()
        with Options() as options:
            self._set_options(options)
            getattr(lib, self._train)(x.ctypes.data_as(ctypes.c_void_p), y.ctypes.data_as(ctypes.c_void_p), x.shape[0],
                                      x.shape[1], classes, options.handle, ctypes.byref(handle))
        self.close()
        self._handle = handle
        self.classes = classes
        return self

    def predict_proba(self, x):
        np = _numpy()
        if self._handle is None:
            raise ValueError(f"dinofeat.weak.{self._name}: fit() first")
        x = np.ascontiguousarray(x, dtype=np.float32)
        out = np.empty((x.shape[0], self.classes), dtype=np.float32)
        getattr(lib, self._predict)(self.handle, x.ctypes.data_as(ctypes.c_void_p), x.shape[0],
                                    out.ctypes.data_as(ctypes.c_void_p))
        return out

    def predict(self, x):
        return self.predict_proba(x).argmax(1)


class RandomForest(_Fitted):
    """A random forest as scikit-learn's RandomForestClassifier(trees, max_features=max_features,
    class_weight='balanced') grows it: fit(x, y) with y in 0..classes-1, predict_proba(x)."""

    _free, _name, _train, _predict = "df_forest_free", "RandomForest", "df_forest_train", "df_forest_predict"

    def __init__(self, trees=200, max_features=2, max_depth=0, seed=0):
        super().__init__()
        self._settings = dict(trees=trees, max_features=max_features, max_depth=max_depth, seed=seed)

    def _set_options(self, options):
        from .core import Param
        options[Param.FOREST_TREES] = self._settings["trees"]
        options[Param.FOREST_MAX_FEATURES] = self._settings["max_features"]
        options[Param.FOREST_MAX_DEPTH] = self._settings["max_depth"]
        options[Param.FOREST_SEED] = self._settings["seed"]


class LogisticRegression(_Fitted):
    """scikit-learn's LogisticRegression(C, class_weight='balanced') (multinomial; a sigmoid for two
    classes), solved with L-BFGS: fit(x, y) with y in 0..classes-1, predict_proba(x)."""

    _free, _name, _train, _predict = "df_logreg_free", "LogisticRegression", "df_logreg_train", "df_logreg_predict"

    def __init__(self, C=1.0, max_iter=1000, tol=1e-9):
        super().__init__()
        self._settings = dict(C=C, max_iter=max_iter, tol=tol)

    def _set_options(self, options):
        from .core import Param
        options[Param.LOGREG_C] = self._settings["C"]
        options[Param.LOGREG_MAX_ITER] = self._settings["max_iter"]
        options[Param.LOGREG_TOL] = self._settings["tol"]

    @property
    def n_iter(self):
        out = ctypes.c_int64()
        lib.df_logreg_iterations(self.handle, ctypes.byref(out))
        return out.value


def _image(image, labels=False):
    """An Image from a path, an Image or a uint8/uint16 numpy array (label paths: palette indices)."""
    import os
    from .core import Options
    from .image import Image, load_image
    np = _numpy()
    if isinstance(image, Image):
        return image
    if isinstance(image, (str, bytes, os.PathLike)):
        if not labels:
            return load_image(image)
        with Options(image_palette_indices=1) as options:
            return load_image(image, options)
    array = np.asarray(image)
    if labels and array.dtype not in (np.uint8, np.uint16):
        array = array.astype(np.uint16 if array.max() > 255 else np.uint8)
    return Image.from_numpy(np.ascontiguousarray(array))


class Classifier(Handle):
    """A classifier trained from scribbles (classical features + random forest): predict(image),
    save(path); Classifier.load(path)."""

    _free, _name = "df_weak_free", "weak.Classifier"

    @property
    def classes(self):
        out = ctypes.c_size_t()
        lib.df_weak_classes(self.handle, ctypes.byref(out))
        return out.value

    @property
    def features(self):
        """The feature set it was trained on: "classical", "deep" or "hybrid"."""
        out = ctypes.c_int()
        lib.df_weak_feature_set(self.handle, ctypes.byref(out))
        return {v: k for k, v in _FEATURES.items()}[out.value]

    def predict(self, image, crf=False, model=None):
        """(labels (H, W) int32 in 1..C, probabilities (H, W, C) float32) for an image (path, Image
        or array); crf=True refines with the dense CRF first; model: the backbone a deep or hybrid
        classifier was trained with."""
        from .core import Options, Param
        np = _numpy()
        picture = _image(image)
        h, w = picture.height, picture.width
        labels = np.empty((h, w), dtype=np.int32)
        p = np.empty((h, w, self.classes), dtype=np.float32)
        with Options() as options:
            options[Param.WEAK_CRF] = int(bool(crf))
            lib.df_weak_predict(self.handle, model.handle if model is not None else None, picture.handle,
                                options.handle, p.ctypes.data_as(ctypes.c_void_p),
                                labels.ctypes.data_as(ctypes.c_void_p))
        return labels, p

    def save(self, path):
        lib.df_weak_save(self.handle, path_arg(path, "path"))

    @classmethod
    def load(cls, path):
        handle = ctypes.c_void_p()
        lib.df_weak_load(path_arg(path, "path"), ctypes.byref(handle))
        return cls(handle)


_FEATURES = {"classical": 0, "deep": 1, "hybrid": 2}
_CLASSIFIERS = {None: 0, "rf": 1, "logreg": 2}


def train(images, labels, features="classical", model=None, classifier=None, trees=200, seed=0, C=1.0, stride=4,
          shifts=(1, 2), flips=True, max_size=518, groups=None, min_sigma=None, max_sigma=None, membrane_size=None,
          membrane_thickness=None):
    """A Classifier trained on images (paths, Images or arrays, 8 or 16 bits; one or a list) and
    their label images (0 = unlabelled, 1..C = classes; palette PNG paths are read as indices).
    features: "classical" (no model), "deep" or "hybrid" (need model, a dinofeat.Model);
    classifier: "rf", "logreg" or None (rf for classical, logreg otherwise); groups, min_sigma,
    max_sigma, membrane_size, membrane_thickness: the classical settings (classical_features),
    recorded in the classifier."""
    from .core import Options, Param
    if features not in _FEATURES or classifier not in _CLASSIFIERS:
        raise ValueError("dinofeat.weak.train: features classical/deep/hybrid, classifier rf/logreg/None")
    if not isinstance(images, (list, tuple)):
        images, labels = [images], [labels]
    if len(images) != len(labels):
        raise ValueError("dinofeat.weak.train: one label image per image")
    pictures = [_image(i) for i in images]
    marks = [_image(m, labels=True) for m in labels]
    image_array = (ctypes.c_void_p * len(pictures))(*[p.handle.value for p in pictures])
    label_array = (ctypes.c_void_p * len(marks))(*[m.handle.value for m in marks])
    handle = ctypes.c_void_p()
    with _settings(groups, min_sigma, max_sigma, membrane_size, membrane_thickness) as options:
        options[Param.WEAK_FEATURES] = choice(_FEATURES, features, "weak: features")
        options[Param.WEAK_CLASSIFIER] = choice(_CLASSIFIERS, classifier, "weak: classifier")
        options[Param.WEAK_MAX_SIZE] = max_size
        options[Param.FOREST_TREES] = trees
        options[Param.FOREST_SEED] = seed
        options[Param.LOGREG_C] = C
        options[Param.UPS_STRIDE] = stride
        options[Param.UPS_SHIFTS] = ",".join(str(int(d)) for d in shifts)
        options[Param.UPS_FLIPS] = 1 if flips else 0
        lib.df_weak_train(model.handle if model is not None else None, image_array, label_array, len(pictures),
                          options.handle, ctypes.byref(handle))
    return Classifier(handle)


def predict(classifier, image, crf=False, model=None):
    """classifier.predict(image, crf, model): (labels (H, W) in 1..C, probabilities (H, W, C))."""
    return classifier.predict(image, crf=crf, model=model)


def load(path):
    """A Classifier read from a .dfclf file."""
    return Classifier.load(path)


__all__ = ["CHANNELS", "channel_names", "classical_features", "RandomForest", "LogisticRegression", "Classifier",
           "train", "predict", "load"]


class Live(Handle):
    """The live scribble loop of an interactive tool (as ilastik's live update): the classical
    features of one image computed once; stroke(), erase() and set_labels() change the scribbles;
    predict() refits the forest (trees, default 100) on every labelled pixel when they changed and
    predicts a region, keeping bands of rows already predicted until the next change.
    classifier() trains the full forest (full_trees) on the scribbles for other images."""

    _free, _name = "df_weak_live_free", "weak.Live"

    def __init__(self, image, trees=100, full_trees=200, seed=0, groups=None, min_sigma=None, max_sigma=None,
                 membrane_size=None, membrane_thickness=None):
        from .core import Param
        picture = _image(image)
        self.width, self.height = picture.width, picture.height
        handle = ctypes.c_void_p()
        with _settings(groups, min_sigma, max_sigma, membrane_size, membrane_thickness) as options:
            options[Param.WEAK_LIVE_TREES] = trees
            options[Param.FOREST_TREES] = full_trees
            options[Param.FOREST_SEED] = seed
            lib.df_weak_live_new(picture.handle, options.handle, ctypes.byref(handle))
        super().__init__(handle)

    def stroke(self, points, label, radius=2.0):
        """Paints class label (1..) along the polyline points ((x, y) pairs) with a round brush."""
        np = _numpy()
        xy = np.ascontiguousarray(np.asarray(points, dtype=np.float32).reshape(-1, 2))
        lib.df_weak_live_stroke(self.handle, xy.ctypes.data_as(ctypes.c_void_p), len(xy), float(radius), int(label))

    def erase(self, points, radius=2.0):
        """Erases the scribbles along the polyline points."""
        self.stroke(points, 0, radius)

    def set_labels(self, labels, x=0, y=0):
        """Sets a rectangle of labels at (x, y) from an (h, w) array: -1 keeps, 0 erases, 1.. classes."""
        np = _numpy()
        block = np.ascontiguousarray(np.asarray(labels, dtype=np.int32))
        if block.ndim != 2:
            raise ValueError("dinofeat.weak.Live.set_labels: an (h, w) array of labels")
        lib.df_weak_live_set_labels(self.handle, x, y, block.shape[1], block.shape[0],
                                    block.ctypes.data_as(ctypes.c_void_p))

    @property
    def labels(self):
        """(H, W) int32: the scribbles, 0 where unlabelled."""
        np = _numpy()
        out = np.empty((self.height, self.width), dtype=np.int32)
        lib.df_weak_live_labels(self.handle, out.ctypes.data_as(ctypes.c_void_p))
        return out

    def update(self):
        """Refits the forest if the scribbles changed."""
        lib.df_weak_live_update(self.handle)

    @property
    def classes(self):
        """Classes of the current fit (0 before the first)."""
        out = ctypes.c_size_t()
        lib.df_weak_live_classes(self.handle, ctypes.byref(out))
        return out.value

    def predict(self, region=None):
        """(labels (h, w) int32 in 1..C, probabilities (h, w, C) float32) of region (x, y, w, h;
        None: the whole image), refitting first if the scribbles changed."""
        np = _numpy()
        x, y, w, h = region if region is not None else (0, 0, self.width, self.height)
        self.update()
        labels = np.empty((h, w), dtype=np.int32)
        p = np.empty((h, w, self.classes), dtype=np.float32)
        lib.df_weak_live_predict(self.handle, x, y, w, h, p.ctypes.data_as(ctypes.c_void_p),
                                 labels.ctypes.data_as(ctypes.c_void_p))
        return labels, p

    def classifier(self):
        """A Classifier with the full forest trained on the scribbles (save it, apply it elsewhere)."""
        handle = ctypes.c_void_p()
        lib.df_weak_live_classifier(self.handle, ctypes.byref(handle))
        return Classifier(handle)
