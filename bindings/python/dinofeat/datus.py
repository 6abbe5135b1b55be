"""DatUS² (specs/datus.md), the per-image steps so far: the positive-affinity graph of the patch
keys, Louvain communities (igraph), their valid 8-connected segments, the segments' masked crops
and [CLS] features."""
import ctypes

from ._native import _numpy, lib


def louvain(n, edges, weights=None, resolution=1.0, seed=0):
    """(membership (n,) int32, modularity) of igraph's multilevel Louvain on an undirected graph:
    edges (E, 2) vertex pairs, weights (E,) or None."""
    np = _numpy()
    edges = np.ascontiguousarray(edges, dtype=np.int64).reshape(-1, 2)
    w = None if weights is None else np.ascontiguousarray(weights, dtype=np.float64).reshape(-1)
    membership = np.empty(n, dtype=np.int32)
    count, modularity = ctypes.c_size_t(), ctypes.c_double()
    lib.df_louvain(n, edges.ctypes.data_as(ctypes.c_void_p), edges.shape[0],
                   None if w is None else w.ctypes.data_as(ctypes.c_void_p), float(resolution), seed,
                   membership.ctypes.data_as(ctypes.c_void_p), ctypes.byref(count), ctypes.byref(modularity))
    return membership, modularity.value


def split(communities, tau=5):
    """(segments (gh, gw) int32: 1..count on valid segments, 0 on noise; count) of a community grid."""
    np = _numpy()
    communities = np.ascontiguousarray(communities, dtype=np.int32)
    segments = np.empty_like(communities)
    count = ctypes.c_size_t()
    lib.df_datus_split(communities.ctypes.data_as(ctypes.c_void_p), communities.shape[0], communities.shape[1], tau,
                       segments.ctypes.data_as(ctypes.c_void_p), ctypes.byref(count))
    return segments, count.value


def segments_from_keys(keys, tau=5, seed=0):
    """(segments, count, communities) of a (gh, gw, D) grid of patch keys."""
    np = _numpy()
    keys = np.ascontiguousarray(keys, dtype=np.float32)
    gh, gw, d = keys.shape
    segments = np.empty((gh, gw), dtype=np.int32)
    communities = np.empty((gh, gw), dtype=np.int32)
    count = ctypes.c_size_t()
    lib.df_datus_segments(keys.ctypes.data_as(ctypes.c_void_p), gh, gw, d, tau, seed,
                          segments.ctypes.data_as(ctypes.c_void_p), ctypes.byref(count),
                          communities.ctypes.data_as(ctypes.c_void_p))
    return segments, count.value, communities


def segments(model, image, tau=5, size=224, seed=0):
    """DatUS² steps 1 to 5 for one image: the last block's keys of the image resized to size x size
    ([CLS] and registers dropped), then segments_from_keys. Returns (segments, count, communities)
    on the patch grid."""
    out = model.forward(image, outputs=("k", "patch"), size=(size, size) if size else None)
    _, gh, gw, _ = out["patch"].shape
    keys = out["k"][0, -gh * gw:].reshape(gh, gw, -1)
    return segments_from_keys(keys, tau, seed)


def _rgb(image):
    from .image import Image
    np = _numpy()
    if isinstance(image, Image):
        return image.convert(3)
    return Image.from_numpy(np.ascontiguousarray(image, dtype=np.uint8)).convert(3)


def crop(image, segments, patch, segment, resize=256, crop=224):
    """(crop, crop, 3) uint8: segment's masked tight crop of image (the resized image the grid
    covers), resized so its short side is `resize` and centre-cropped (step 6)."""
    from .image import Image
    np = _numpy()
    picture = _rgb(image)
    segments = np.ascontiguousarray(segments, dtype=np.int32)
    handle = ctypes.c_void_p()
    lib.df_datus_crop(picture.handle, segments.ctypes.data_as(ctypes.c_void_p), segments.shape[0], segments.shape[1],
                      patch, segment, resize, crop, ctypes.byref(handle))
    with Image(handle) as result:
        return result.numpy(copy=True)


def crop_features(model, image, segments, count, resize=256, crop=224):
    """(count, D) float32: the L2-normalised [CLS] features of segments 1..count's crops."""
    np = _numpy()
    picture = _rgb(image)
    segments = np.ascontiguousarray(segments, dtype=np.int32)
    out = np.empty((count, model.info["dim"]), dtype=np.float32)
    lib.df_datus_crop_features(model.handle, picture.handle, segments.ctypes.data_as(ctypes.c_void_p),
                               segments.shape[0], segments.shape[1], count, resize, crop,
                               out.ctypes.data_as(ctypes.c_void_p))
    return out


__all__ = ["louvain", "split", "segments_from_keys", "segments", "crop", "crop_features"]
