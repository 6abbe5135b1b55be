"""Image folders as datasets (dinofeat/dataset.h): every PNG/JPEG under a folder (sorted), label
images of the same relative stem, five-crop and resize, decoded on worker threads ahead of the
consumer in an order that depends only on the seed and the epoch. Feature caches and STEGO's KNN
table over them (dinofeat/cache.h)."""
import ctypes
import enum
import os

from ._native import Handle, Progress, _numpy, choice, lib, path_arg


class Layout(enum.IntEnum):
    """What a Dataset's folder is: any image folder, or a dataset as distributed (dataset.h)."""
    FOLDER = 0
    COCOSTUFF27 = 1
    CITYSCAPES27 = 2
    ECSSD = 3
    DUTS_TE = 4
    DUT_OMRON = 5
    VOC07 = 6
    VOC12 = 7
    POTSDAM = 8
    POTSDAM3 = 9
    COCO20K = 10
    CUB = 11
    COCOTHINGS = 12
    COCOSTUFF15 = 13
    COCOSTUFF171 = 14
    ADE20K = 15
    SUIM = 16


class Dataset(Handle):
    """Dataset(images, labels=None, size=0, five_crop=False, shuffle=False, seed=0, workers=2,
    prefetch=8, filter=ResizeFilter.BILINEAR, skip_broken=False, stretch=False, multiple=0). size
    resizes the short side to size and takes the centred square, or with stretch the whole image
    to size x size (NeCo's evaluation); multiple then crops to whole multiples of it (HR-Dv2's
    closest_crop). len(d) items; d[i] = (image,
    labels) arrays (labels None without a label folder); d.name(i) = (relative path, five-crop
    position or -1); d.epoch(e) yields (item, image, labels) for a whole pass. skip_broken decodes
    every image once now and leaves out those that fail: d.skipped lists (relative path, reason).
    layout="cocostuff27" or "cityscapes27" (or a Layout) opens a dataset as distributed at its root
    (labels then None), split "val" or "train", image_list a file naming the images in place of the
    layout's own; labels come mapped to the 27 classes STEGO scores, 255 where not scored. The
    saliency test sets "ecssd", "duts_te" and "dut_omron" give their masks as stored; "voc07" and
    "voc12" (split also "trainval", "test", or a list under ImageSets as "Segmentation/val") their segmentation labels and d.boxes(i); "potsdam"
    and "potsdam3" (split also "unlabelled_train", "all") read the .mat files of STEGO's download,
    labels in six classes or STEGO's three; "coco20k" the object-discovery set (no labels) and
    d.boxes(i); "cub" CUB-200-2011's images and foreground masks (split "train" or "val", its
    test images); "cocothings" and "cocostuff15" COCO's images/SPLIT2017 with the 12 thing or the
    15 stuff supercategories Leopart and NeCo score; "cocostuff171" all of COCO-Stuff's classes
    (MMSegmentation's numbering); "ade20k" ADEChallengeData2016's 150 classes; "suim" SUIM's
    train_val (split "train") or TEST ("val") images, their BMP colour masks as the six classes of
    SUIM's benchmark and DatUS²."""

    _free, _name = "df_dataset_free", "dataset.Dataset"

    def __init__(self, images, labels=None, size=0, five_crop=False, shuffle=False, seed=0, workers=2, prefetch=8,
                 filter=2, skip_broken=False, layout=Layout.FOLDER, split="val", image_list="", stretch=False,
                 multiple=0, remove_hards=False):
        from .core import Options
        handle = ctypes.c_void_p()
        if isinstance(layout, str):
            layout = choice({m.name.lower(): m for m in Layout}, layout, "Dataset: layout")
        with Options(dataset_size=size, dataset_five_crop=int(bool(five_crop)), dataset_shuffle=int(bool(shuffle)),
                     dataset_seed=seed, dataset_workers=workers, dataset_prefetch=prefetch,
                     dataset_filter=int(filter), dataset_skip_broken=int(bool(skip_broken)),
                     dataset_layout=int(layout), dataset_split=split, dataset_stretch=int(bool(stretch)),
                     dataset_multiple=multiple, dataset_remove_hards=int(bool(remove_hards)),
                     dataset_list=os.fsdecode(path_arg(image_list, "image_list")) if image_list else "") as options:
            lib.df_dataset_open(path_arg(images, "images"), None if labels is None else path_arg(labels, "labels"),
                                options.handle, ctypes.byref(handle))
        super().__init__(handle)
        self._has_labels = labels is not None or int(layout) != Layout.FOLDER

    def __len__(self):
        out = ctypes.c_size_t()
        lib.df_dataset_count(self.handle, ctypes.byref(out))
        return out.value

    @property
    def skipped(self):
        """[(relative path, reason)] of the images skip_broken left out."""
        count = ctypes.c_size_t()
        lib.df_dataset_skipped(self.handle, 0, ctypes.byref(count), None, None)
        result = []
        for index in range(count.value):
            name, reason = ctypes.c_char_p(), ctypes.c_char_p()
            lib.df_dataset_skipped(self.handle, index, None, ctypes.byref(name), ctypes.byref(reason))
            result.append((name.value.decode(), reason.value.decode("utf-8", "replace")))
        return result

    def boxes(self, item):
        """(N, 4) int32 true boxes [x0, y0, x1, y1] of item's image (VOC: every object of its
        annotation, 0-based, maximum exclusive; COCO-20k: its non-crowd annotations);
        dinofeat.Error for a layout without boxes."""
        np = _numpy()
        count = ctypes.c_size_t()
        lib.df_dataset_boxes(self.handle, item, None, 0, ctypes.byref(count))
        out = np.empty((count.value, 4), dtype=np.int32)
        lib.df_dataset_boxes(self.handle, item, out.ctypes.data_as(ctypes.c_void_p), count.value, ctypes.byref(count))
        return out

    def name(self, item):
        name, crop = ctypes.c_char_p(), ctypes.c_int()
        lib.df_dataset_name(self.handle, item, ctypes.byref(name), ctypes.byref(crop))
        return name.value.decode(), crop.value

    @staticmethod
    def _arrays(image, labels):
        from .image import Image
        with Image(image) as picture:
            pixels = picture.numpy(copy=True)
        if not labels:
            return pixels, None
        with Image(labels) as marks:
            return pixels, marks.numpy(copy=True)[..., 0]

    def __getitem__(self, item):
        if not 0 <= item < len(self):
            raise IndexError(item)
        image, labels = ctypes.c_void_p(), ctypes.c_void_p()
        lib.df_dataset_get(self.handle, item, ctypes.byref(image), ctypes.byref(labels) if self._has_labels else None)
        return self._arrays(image, labels if self._has_labels else None)

    def epoch(self, epoch=0):
        """Yields (item, image, labels) for every item, in the pass's order."""
        lib.df_dataset_start(self.handle, epoch)
        while True:
            item, done = ctypes.c_size_t(), ctypes.c_int()
            image, labels = ctypes.c_void_p(), ctypes.c_void_p()
            lib.df_dataset_next(self.handle, ctypes.byref(item), ctypes.byref(image),
                                ctypes.byref(labels) if self._has_labels else None, ctypes.byref(done))
            if done.value:
                return
            yield (item.value, *self._arrays(image, labels if self._has_labels else None))


def build_feature_cache(model, dataset, path, half=False, batch=8, progress=None):
    """Writes (or completes) the feature cache at path: every item's final-norm patch features.
    progress(done, total) is called after each batch; a true return stops (what was written is
    kept, and building again resumes)."""
    from .core import Options
    reporter = Progress(progress)
    with Options(cache_half=int(bool(half)), cache_batch=batch) as options:
        reporter.call(lib.df_feature_cache_build, model.handle, dataset.handle, path_arg(path, "path"), options.handle,
                      reporter.callback, None)


class FeatureCache(Handle):
    """A complete feature cache: len(c) items, c.shape = (height, width, dim), c[i] the (h, w, D)
    float32 features of item i, read from the file on demand."""

    _free, _name = "df_feature_cache_free", "dataset.FeatureCache"

    def __init__(self, path):
        handle = ctypes.c_void_p()
        lib.df_feature_cache_open(path_arg(path, "path"), ctypes.byref(handle))
        super().__init__(handle)
        items, h, w, d = (ctypes.c_size_t() for _ in range(4))
        lib.df_feature_cache_shape(handle, ctypes.byref(items), ctypes.byref(h), ctypes.byref(w), ctypes.byref(d))
        self._items, self.shape = items.value, (h.value, w.value, d.value)

    def __len__(self):
        return self._items

    def __getitem__(self, item):
        if not 0 <= item < self._items:
            raise IndexError(item)
        out = _numpy().empty(self.shape, dtype=_numpy().float32)
        lib.df_feature_cache_read(self.handle, item, out.ctypes.data_as(ctypes.c_void_p))
        return out

    def check_model(self, model):
        """Raises dinofeat.Error unless model is the one the cache was computed with."""
        lib.df_feature_cache_check_model(self.handle, model.handle)

    def knn(self, k=30):
        """(items, k) int32: STEGO's KNN table, the most similar items first (cosine of the
        average-pooled features)."""
        out = _numpy().empty((self._items, k), dtype=_numpy().int32)
        lib.df_knn_table(self.handle, k, out.ctypes.data_as(ctypes.c_void_p))
        return out


def save_knn(path, table):
    np = _numpy()
    table = np.ascontiguousarray(table, dtype=np.int32)
    lib.df_knn_save(path_arg(path, "path"), table.ctypes.data_as(ctypes.c_void_p), table.shape[0], table.shape[1])


def load_knn(path):
    np = _numpy()
    items, k = ctypes.c_size_t(), ctypes.c_size_t()
    lib.df_knn_load(path_arg(path, "path"), None, 0, ctypes.byref(items), ctypes.byref(k))
    out = np.empty((items.value, k.value), dtype=np.int32)
    lib.df_knn_load(path_arg(path, "path"), out.ctypes.data_as(ctypes.c_void_p), out.size, ctypes.byref(items),
                    ctypes.byref(k))
    return out


__all__ = ["Layout", "Dataset", "FeatureCache", "build_feature_cache", "save_knn", "load_knn"]
