"""DatUS² (specs/datus.md): the per-image steps (the positive-affinity graph of the patch keys,
Louvain communities (igraph), their valid 8-connected segments, the segments' masked crops and
[CLS] features), and a resumable run over a dataset (Run, run) that clusters every segment and
makes the pseudo masks (255 = unlabelled)."""
import ctypes

from ._native import Handle, _numpy, lib, path_arg

NOISE = 255


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


class Run(Handle):
    """A DatUS² run over a dataset, stored in the file at path (created, or reopened to resume: it
    must have been made with the same threshold, size, resize, crop and seed). Images are added
    one by one (add_image, or add_segments for precomputed results), each record flushed to the
    file; then cluster(k) and mask(i)."""

    _free, _name = "df_datus_free", "datus.Run"

    def __init__(self, path, threshold=5, size=224, resize=256, crop=224, seed=0):
        from .core import Options
        handle = ctypes.c_void_p()
        with Options(datus_threshold=threshold, datus_size=size, datus_resize=resize, datus_crop=crop,
                     datus_seed=seed) as options:
            lib.df_datus_open(path_arg(path, "path"), options.handle, ctypes.byref(handle))
        super().__init__(handle)

    def __len__(self):
        out = ctypes.c_size_t()
        lib.df_datus_images(self.handle, ctypes.byref(out))
        return out.value

    def __contains__(self, name):
        return self.find(name) is not None

    def find(self, name):
        """The index of the image recorded as name, or None."""
        found, index = ctypes.c_int(), ctypes.c_size_t()
        lib.df_datus_find(self.handle, path_arg(name, "name"), ctypes.byref(found), ctypes.byref(index))
        return index.value if found.value else None

    def add_image(self, model, name, image):
        """Steps 1 to 6 for image (a path, an Image or an (H, W, C) uint8 array), recorded as name."""
        from .weak import _image
        picture = _image(image)  # held: freeing it before the call returns would free the pixels
        lib.df_datus_add_image(self.handle, model.handle, path_arg(name, "name"), picture.handle)

    def add_segments(self, name, width, height, segments, features):
        """Records precomputed results: the (gh, gw) segment grid (0 = noise, 1..count) of a width x
        height image and its (count, D) segment features."""
        np = _numpy()
        segments = np.ascontiguousarray(segments, dtype=np.int32)
        features = np.ascontiguousarray(features, dtype=np.float32).reshape(-1, np.shape(features)[-1])
        lib.df_datus_add_segments(self.handle, path_arg(name, "name"), width, height,
                                  segments.ctypes.data_as(ctypes.c_void_p), segments.shape[0], segments.shape[1],
                                  features.ctypes.data_as(ctypes.c_void_p), features.shape[0], features.shape[1])

    def image(self, index):
        """{"name", "width", "height", "segments"} of the index-th record."""
        name, w, h, n = ctypes.c_char_p(), ctypes.c_size_t(), ctypes.c_size_t(), ctypes.c_size_t()
        lib.df_datus_image(self.handle, index, ctypes.byref(name), ctypes.byref(w), ctypes.byref(h), ctypes.byref(n))
        return {"name": name.value.decode(), "width": w.value, "height": h.value, "segments": n.value}

    def grid(self, index):
        """(gh, gw) int32: the index-th record's segment grid (a copy)."""
        np = _numpy()
        pointer, gh, gw = ctypes.c_void_p(), ctypes.c_size_t(), ctypes.c_size_t()
        lib.df_datus_grid(self.handle, index, ctypes.byref(pointer), ctypes.byref(gh), ctypes.byref(gw))
        view = (ctypes.c_int32 * (gh.value * gw.value)).from_address(pointer.value)
        return np.frombuffer(view, dtype=np.int32).reshape(gh.value, gw.value).copy()

    def cluster(self, k, pca=0, seed=0, inits=10):
        """Step 7: k-means (k clusters, the best of inits) over every recorded segment, after
        projecting the features on pca principal components when pca > 0."""
        from .core import Options
        with Options(kmeans_k=k, kmeans_seed=seed, kmeans_inits=inits, datus_pca=pca) as options:
            lib.df_datus_cluster(self.handle, options.handle)

    def clusters(self, index):
        """(segments,) int32: the cluster of each of the index-th record's segments (a copy)."""
        np = _numpy()
        pointer = ctypes.c_void_p()
        lib.df_datus_segment_clusters(self.handle, index, ctypes.byref(pointer))
        n = self.image(index)["segments"]
        if n == 0:
            return np.empty(0, dtype=np.int32)
        return np.frombuffer((ctypes.c_int32 * n).from_address(pointer.value), dtype=np.int32).copy()

    def mask(self, index, size=None):
        """Step 8: (H, W) uint8 pseudo mask, cluster ids and NOISE (255); size=(width, height),
        default the image's."""
        np = _numpy()
        if size is None:
            info = self.image(index)
            size = (info["width"], info["height"])
        out = np.empty((size[1], size[0]), dtype=np.uint8)
        lib.df_datus_mask(self.handle, index, size[0], size[1], out.ctypes.data_as(ctypes.c_void_p))
        return out

    def denoise(self, model, images, indices=None):
        """Step 9: a weak.Classifier trained on the pseudo masks of the records indices (default:
        all) whose images are given (paths, Images or arrays, in the same order); its
        predict(image, model=model) labels every pixel with cluster + 1."""
        from .weak import Classifier, _image
        indices = list(range(len(self))) if indices is None else list(indices)
        pictures = [_image(image) for image in images]
        if len(pictures) != len(indices):
            raise ValueError("dinofeat.datus.Run.denoise: one image per index")
        index_array = (ctypes.c_size_t * len(indices))(*indices)
        handles = (ctypes.c_void_p * len(pictures))(*[p.handle for p in pictures])
        handle = ctypes.c_void_p()
        lib.df_datus_denoise(self.handle, model.handle, index_array, handles, len(pictures), None,
                             ctypes.byref(handle))
        return Classifier(handle)


def list_images(folder):
    """The PNG/JPEG files under folder (subfolders included, hidden entries skipped) as sorted
    relative paths, the order dinofeat datus uses."""
    import os
    names = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for f in files:
            if not f.startswith(".") and os.path.splitext(f)[1].lower() in (".png", ".jpg", ".jpeg"):
                names.append(os.path.relpath(os.path.join(root, f), folder))
    return sorted(names, key=lambda n: n.encode())


def run(model, images, clusters, store, threshold=5, size=224, pca=0, seed=0, progress=None):
    """The DatUS² pipeline: every image of images (a folder, a list of paths, or a
    dinofeat.dataset.Dataset, e.g. a dataset as distributed: layout="suim") recorded in the store
    file (images recorded there already are skipped: an interrupted run resumes), then k-means
    with `clusters` clusters. Returns the Run; run.mask(i) is image i's pseudo mask.
    progress(done, total), if given, is called after each image."""
    import os
    from .dataset import Dataset
    dataset = isinstance(images, Dataset)
    if dataset:
        names = [images.name(i)[0] for i in range(len(images))]
    elif isinstance(images, (str, bytes, os.PathLike)):
        names = list_images(images)
        paths = [os.path.join(images, n) for n in names]
    else:
        paths = names = [str(p) for p in images]
    result = Run(store, threshold=threshold, size=size, seed=seed)
    for i, name in enumerate(names):
        if name not in result:
            result.add_image(model, name, images[i][0] if dataset else paths[i])
        if progress is not None:
            progress(i + 1, len(names))
    result.cluster(clusters, pca=pca, seed=seed)
    return result


__all__ = ["NOISE", "louvain", "split", "segments_from_keys", "segments", "crop", "crop_features", "Run", "run",
           "list_images"]
