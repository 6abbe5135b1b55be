"""k-means over numpy arrays (or dinofeat Tensors)."""
import ctypes

from ._native import Handle, _numpy, lib
from .core import Options, Param
from .tensor import Tensor


class _Fitted(Handle):
    _free, _name = "df_kmeans_free", "KMeans"


class KMeans:
    """k-means with k-means++ initialisation, the best of `inits` kept; metric "euclidean" or
    "cosine" (rows L2-normalised first, as HR-Dv2 does); `sample` fits on that many random points;
    `batch` > 0 uses minibatch updates. Deterministic for a seed and thread count."""

    def __init__(self, k=8, metric="euclidean", inits=10, max_iter=300, tol=1e-4, seed=0, sample=0, batch=0):
        self._settings = {Param.KMEANS_K: k, Param.KMEANS_METRIC: {"euclidean": 0, "cosine": 1}[metric],
                          Param.KMEANS_INITS: inits, Param.KMEANS_MAX_ITER: max_iter, Param.KMEANS_TOL: tol,
                          Param.KMEANS_SEED: seed, Param.KMEANS_SAMPLE: sample, Param.KMEANS_BATCH: batch}
        self._fitted = None

    @staticmethod
    def _points(points):
        if isinstance(points, Tensor):
            return points
        # borrowed, not copied: the Tensor keeps the array alive for as long as it lives
        return Tensor.from_numpy(_numpy().ascontiguousarray(points, dtype="float32"), borrow=True)

    def fit(self, points):
        handle = ctypes.c_void_p()
        tensor = self._points(points)  # held: a temporary's C tensor would be freed mid-call
        with Options() as options:
            for key, value in self._settings.items():
                options[key] = value
            lib.df_kmeans_fit(tensor.handle, options.handle, ctypes.byref(handle))
        self._fitted = _Fitted(handle)
        return self

    def predict(self, points):
        """(N,) int64 labels: the nearest centroid of each point."""
        labels = ctypes.c_void_p()
        tensor = self._points(points)
        lib.df_kmeans_predict(self._handle(), tensor.handle, ctypes.byref(labels))
        return Tensor(labels).numpy(copy=True)

    def fit_predict(self, points):
        return self.fit(points).predict(points)

    def _handle(self):
        if self._fitted is None:
            raise ValueError("dinofeat.KMeans: fit() first")
        return self._fitted.handle

    @property
    def centroids(self):
        out = ctypes.c_void_p()
        lib.df_kmeans_centroids(self._handle(), ctypes.byref(out))
        return _borrowed_copy(out)  # borrowed from the fit: copied, never freed here

    @property
    def inertia(self):
        out = ctypes.c_double()
        lib.df_kmeans_inertia(self._handle(), ctypes.byref(out))
        return out.value

    @property
    def iterations(self):
        out = ctypes.c_int64()
        lib.df_kmeans_iterations(self._handle(), ctypes.byref(out))
        return out.value


def _borrowed_copy(handle):
    from .model import _copy_borrowed
    return _copy_borrowed(handle)


def kmeans(points, k, **settings):
    """(labels, centroids, inertia) of k-means on points (N, D); settings as KMeans takes them."""
    model = KMeans(k, **settings).fit(points)
    return model.predict(points), model.centroids, model.inertia


def agglomerate_complete(points, threshold, min_clusters=1):
    """(labels, count): complete-linkage clusters of points (N, D), merged while the linkage distance
    is <= threshold and more than min_clusters remain (scipy's linkage + fcluster 'distance')."""
    np = _numpy()
    points = np.ascontiguousarray(points, dtype=np.float32)
    if points.ndim != 2:
        raise ValueError("dinofeat.agglomerate_complete: points must be (N, D)")
    labels = np.empty(points.shape[0], dtype=np.int32)
    count = ctypes.c_size_t()
    lib.df_agglomerate_complete(points.ctypes.data_as(ctypes.c_void_p), points.shape[0], points.shape[1],
                                float(threshold), min_clusters, labels.ctypes.data_as(ctypes.c_void_p),
                                ctypes.byref(count))
    return labels, count.value


def pca_fit(points, components):
    """(mean, basis): the mean (D,) of points (N, D) and their principal axes (components, D), largest
    variance first, each with its largest-magnitude entry positive; coordinates are
    (points - mean) @ basis.T."""
    np = _numpy()
    points = np.ascontiguousarray(points, dtype=np.float32)
    if points.ndim != 2:
        raise ValueError("dinofeat.pca_fit: points must be (N, D)")
    mean = np.empty(points.shape[1], dtype=np.float32)
    basis = np.empty((int(components), points.shape[1]), dtype=np.float32)
    lib.df_pca_fit(points.ctypes.data_as(ctypes.c_void_p), points.shape[0], points.shape[1], int(components),
                   mean.ctypes.data_as(ctypes.c_void_p), basis.ctypes.data_as(ctypes.c_void_p))
    return mean, basis


__all__ = ["KMeans", "kmeans", "agglomerate_complete", "pca_fit"]
