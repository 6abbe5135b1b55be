"""Evaluation: exact assignment and unsupervised-segmentation scores over numpy label maps."""
import ctypes

from ._native import Handle, _numpy, choice, count_arg, lib, path_arg

IGNORE_LABEL = 255
_MATCH = {"hungarian": 0, "many-to-one": 1, "many_to_one": 1, "hungarian-iou": 2, "hungarian_iou": 2, "none": 3}


def linear_sum_assignment(cost):
    """(rows, cols) of the minimum-cost assignment, as scipy.optimize.linear_sum_assignment."""
    np = _numpy()
    cost = np.ascontiguousarray(cost, dtype=np.float64)
    if cost.ndim != 2:
        raise ValueError("dinofeat.metrics.linear_sum_assignment: cost must be 2-D")
    col_of_row = np.empty(cost.shape[0], dtype=np.int64)
    lib.df_linear_sum_assignment(cost.ctypes.data_as(ctypes.c_void_p), cost.shape[0], cost.shape[1],
                                 col_of_row.ctypes.data_as(ctypes.POINTER(ctypes.c_int64)))
    rows = np.nonzero(col_of_row >= 0)[0]
    return rows, col_of_row[rows]


class Confusion(Handle):
    """A clusters x classes confusion matrix accumulated over a dataset (255 in truth = ignore)."""

    _free, _name = "df_confusion_free", "Confusion"

    def __init__(self, clusters, classes):
        handle = ctypes.c_void_p()
        lib.df_confusion_new(clusters, classes, ctypes.byref(handle))
        super().__init__(handle)
        self.clusters, self.classes = clusters, classes

    def add(self, predicted, truth):
        np = _numpy()
        predicted = np.ascontiguousarray(predicted, dtype=np.int32).ravel()
        truth = np.ascontiguousarray(truth, dtype=np.int32).ravel()
        if predicted.size != truth.size:
            raise ValueError("dinofeat.metrics.Confusion.add: predicted and truth differ in size")
        lib.df_confusion_add(self.handle, predicted.ctypes.data_as(ctypes.c_void_p),
                             truth.ctypes.data_as(ctypes.c_void_p), predicted.size)
        return self

    @property
    def counts(self):
        np = _numpy()
        pointer = ctypes.POINTER(ctypes.c_int64)()
        lib.df_confusion_counts(self.handle, ctypes.byref(pointer))
        return np.ctypeslib.as_array(pointer, (self.clusters, self.classes)).copy()

    def match(self, match="hungarian"):
        """The class of each cluster (-1: unmatched)."""
        np = _numpy()
        out = np.empty(self.clusters, dtype=np.int64)
        lib.df_confusion_match(self.handle, choice(_MATCH, match, "Confusion: match"), out.ctypes.data_as(ctypes.POINTER(ctypes.c_int64)))
        return out

    def scores(self, match="hungarian"):
        """{"miou", "accuracy", "f1", "iou" (per class)} after matching."""
        np = _numpy()
        miou, accuracy, f1 = ctypes.c_double(), ctypes.c_double(), ctypes.c_double()
        per_class = np.empty(self.classes, dtype=np.float64)
        lib.df_confusion_scores(self.handle, choice(_MATCH, match, "Confusion: match"), ctypes.byref(miou), ctypes.byref(accuracy), ctypes.byref(f1),
                                per_class.ctypes.data_as(ctypes.POINTER(ctypes.c_double)))
        return {"miou": miou.value, "accuracy": accuracy.value, "f1": f1.value, "iou": per_class}


class Saliency(Handle):
    """Foreground masks over a dataset: add(prediction, truth) per image (uint8 0..255, truth
    foreground > 127), then scores(): mean IoU and accuracy, and maxF_beta (beta^2 = 0.3)."""

    _free, _name = "df_saliency_free", "Saliency"

    def __init__(self):
        handle = ctypes.c_void_p()
        lib.df_saliency_new(ctypes.byref(handle))
        super().__init__(handle)

    def add(self, prediction, truth):
        np = _numpy()
        prediction = np.ascontiguousarray(prediction, dtype=np.uint8).ravel()
        truth = np.ascontiguousarray(truth, dtype=np.uint8).ravel()
        if prediction.size != truth.size:
            raise ValueError("dinofeat.metrics.Saliency.add: prediction and truth differ in size")
        lib.df_saliency_add(self.handle, prediction.ctypes.data_as(ctypes.c_void_p),
                            truth.ctypes.data_as(ctypes.c_void_p), prediction.size)
        return self

    def scores(self):
        iou, accuracy, max_f = ctypes.c_double(), ctypes.c_double(), ctypes.c_double()
        lib.df_saliency_scores(self.handle, ctypes.byref(iou), ctypes.byref(accuracy), ctypes.byref(max_f))
        return {"iou": iou.value, "accuracy": accuracy.value, "max_f_beta": max_f.value}


def corloc_hit(predicted_boxes, true_boxes):
    """True when some predicted box has IoU > 0.5 with some true box ([x0, y0, x1, y1], max exclusive)."""
    np = _numpy()
    predicted = np.ascontiguousarray(predicted_boxes, dtype=np.int32).reshape(-1, 4)
    truth = np.ascontiguousarray(true_boxes, dtype=np.int32).reshape(-1, 4)
    out = ctypes.c_int()
    lib.df_corloc_hit(predicted.ctypes.data_as(ctypes.c_void_p), len(predicted), truth.ctypes.data_as(ctypes.c_void_p),
                      len(truth), ctypes.byref(out))
    return bool(out.value)


def load_boxes(path):
    """(N, 4) int32 boxes [x0, y0, x1, y1] of a box file: JSON (path ending in .json: every
    "box": [...], as the segmenters write) or text (four whole numbers a line, # comments).
    A box that cannot be read raises dinofeat.Error naming the line."""
    np = _numpy()
    count = ctypes.c_size_t()
    lib.df_boxes_load(path_arg(path), None, 0, ctypes.byref(count))
    boxes = np.empty((count.value, 4), dtype=np.int32)
    lib.df_boxes_load(path_arg(path), boxes.ctypes.data_as(ctypes.c_void_p), count.value, ctypes.byref(count))
    return boxes


class Retrieval(Handle):
    """Dense nearest-neighbour retrieval (Hummingbird protocol): add labelled patch features to a
    memory bank (add: class labels; add_soft: distributions over the classes), then label query
    patches by the similarity-weighted vote of their k nearest (cosine) bank features. temperature 0 weighs votes by similarity, T > 0 by softmax(sim / T);
    bank > 0 caps the bank by reservoir sampling (seeded)."""

    _free, _name = "df_retrieval_free", "Retrieval"

    def __init__(self, dim, classes, k=30, temperature=0.0, bank=0, seed=0):
        from .core import Options, Param
        handle = ctypes.c_void_p()
        with Options() as options:
            options[Param.RETRIEVAL_K] = k
            options[Param.RETRIEVAL_TEMPERATURE] = temperature
            options[Param.RETRIEVAL_BANK] = bank
            options[Param.RETRIEVAL_SEED] = seed
            lib.df_retrieval_new(dim, classes, options.handle, ctypes.byref(handle))
        super().__init__(handle)
        self.dim, self.classes = dim, classes

    def add(self, features, labels):
        """features (N, dim), labels (N,) in 0..classes-1 or IGNORE_LABEL (skipped)."""
        np = _numpy()
        features = np.ascontiguousarray(features, dtype=np.float32).reshape(-1, self.dim)
        labels = np.ascontiguousarray(labels, dtype=np.int32).reshape(-1)
        if labels.shape[0] != features.shape[0]:
            raise ValueError("dinofeat.metrics.Retrieval.add: one label per feature")
        lib.df_retrieval_add(self.handle, features.ctypes.data_as(ctypes.c_void_p),
                             labels.ctypes.data_as(ctypes.c_void_p), features.shape[0])

    def add_soft(self, features, distributions):
        """features (N, dim) with soft labels (N, classes): each a feature's weights per class
        (Hummingbird's memory: a patch's pixel fractions per class), finite and >= 0."""
        np = _numpy()
        features = np.ascontiguousarray(features, dtype=np.float32).reshape(-1, self.dim)
        distributions = np.ascontiguousarray(distributions, dtype=np.float32)
        if distributions.shape != (features.shape[0], self.classes):
            raise ValueError("dinofeat.metrics.Retrieval.add_soft: distributions must be (N, classes)")
        lib.df_retrieval_add_soft(self.handle, features.ctypes.data_as(ctypes.c_void_p),
                                  distributions.ctypes.data_as(ctypes.c_void_p), features.shape[0])

    def __len__(self):
        out = ctypes.c_size_t()
        lib.df_retrieval_size(self.handle, ctypes.byref(out))
        return out.value

    def predict(self, queries):
        """(labels (N,) int32, scores (N, classes) float32) for queries (N, dim)."""
        np = _numpy()
        queries = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        labels = np.empty(queries.shape[0], dtype=np.int32)
        scores = np.empty((queries.shape[0], self.classes), dtype=np.float32)
        lib.df_retrieval_predict(self.handle, queries.ctypes.data_as(ctypes.c_void_p), queries.shape[0],
                                 labels.ctypes.data_as(ctypes.c_void_p), scores.ctypes.data_as(ctypes.c_void_p))
        return labels, scores


class LinearProbe(Handle):
    """A linear probe on frozen patch features (NeCo's linear segmentation): a 1 x 1 convolution
    dim -> classes, its logits upsampled bilinearly to the labels, cross-entropy, SGD with momentum
    and weight decay, the rate times gamma every drop_at epochs. step(features, labels) with
    features (B, h, w, dim) and labels (B, H, W) uint8 (255 and values past the classes not
    scored) returns the loss; end_epoch(); predict(features, height, width); save(path) and
    LinearProbe.load(path). The defaults are NeCo's."""

    _free, _name = "df_linear_probe_free", "LinearProbe"

    def __init__(self, dim=None, classes=None, lr=0.01, momentum=0.9, weight_decay=1e-4, drop_at=20, gamma=0.1,
                 seed=0, handle=None):
        from .core import Options, Param
        if handle is None:
            handle = ctypes.c_void_p()
            with Options() as options:
                options[Param.PROBE_LR] = lr
                options[Param.PROBE_MOMENTUM] = momentum
                options[Param.PROBE_WEIGHT_DECAY] = weight_decay
                options[Param.PROBE_DROP_AT] = drop_at
                options[Param.PROBE_GAMMA] = gamma
                options[Param.PROBE_SEED] = seed
                lib.df_linear_probe_new(count_arg(dim, "LinearProbe: dim"), count_arg(classes, "LinearProbe: classes"),
                                        options.handle, ctypes.byref(handle))
        super().__init__(handle)

    @classmethod
    def load(cls, path):
        handle = ctypes.c_void_p()
        lib.df_linear_probe_load(path_arg(path, "path"), ctypes.byref(handle))
        return cls(handle=handle)

    def save(self, path):
        lib.df_linear_probe_save(self.handle, path_arg(path, "path"))

    @staticmethod
    def _features(features):
        from .tensor import Tensor
        np = _numpy()
        array = np.ascontiguousarray(features, dtype=np.float32)
        if array.ndim != 4:
            raise ValueError("dinofeat.metrics.LinearProbe: features must be (B, h, w, dim)")
        return Tensor.from_numpy(array, borrow=True)

    def step(self, features, labels):
        """One SGD step on a batch; the batch's mean cross-entropy (0 when no pixel is scored)."""
        np = _numpy()
        labels = np.ascontiguousarray(labels, dtype=np.uint8)
        if labels.ndim != 3 or labels.shape[0] != np.shape(features)[0]:
            raise ValueError("dinofeat.metrics.LinearProbe.step: labels must be (B, H, W), B as the features'")
        loss = ctypes.c_double()
        with self._features(features) as x:
            lib.df_linear_probe_step(self.handle, x.handle, labels.ctypes.data_as(ctypes.c_void_p), labels.shape[1],
                                     labels.shape[2], ctypes.byref(loss))
        return loss.value

    def end_epoch(self):
        lib.df_linear_probe_end_epoch(self.handle)

    @property
    def epochs(self):
        out = ctypes.c_int64()
        lib.df_linear_probe_progress(self.handle, ctypes.byref(out), None)
        return out.value

    @property
    def steps(self):
        out = ctypes.c_int64()
        lib.df_linear_probe_progress(self.handle, None, ctypes.byref(out))
        return out.value

    def predict(self, features, height, width):
        """Labels (B, height, width) uint8: the argmax class of the upsampled logits."""
        np = _numpy()
        out = np.empty((np.shape(features)[0], count_arg(height, "height"), count_arg(width, "width")), dtype=np.uint8)
        with self._features(features) as x:
            lib.df_linear_probe_predict(self.handle, x.handle, height, width, out.ctypes.data_as(ctypes.c_void_p))
        return out


__all__ = ["IGNORE_LABEL", "linear_sum_assignment", "Confusion", "Saliency", "corloc_hit", "load_boxes", "Retrieval", "LinearProbe"]
