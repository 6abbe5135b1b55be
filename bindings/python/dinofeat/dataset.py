"""Image folders as datasets (dinofeat/dataset.h): every PNG/JPEG under a folder (sorted), label
images of the same relative stem, five-crop and resize, decoded on worker threads ahead of the
consumer in an order that depends only on the seed and the epoch."""
import ctypes

from ._native import Handle, lib


class Dataset(Handle):
    """Dataset(images, labels=None, size=0, five_crop=False, shuffle=False, seed=0, workers=2,
    prefetch=8, filter=ResizeFilter.BILINEAR). len(d) items; d[i] = (image, labels) arrays (labels
    None without a label folder); d.name(i) = (relative path, five-crop position or -1);
    d.epoch(e) yields (item, image, labels) for a whole pass."""

    _free, _name = "df_dataset_free", "dataset.Dataset"

    def __init__(self, images, labels=None, size=0, five_crop=False, shuffle=False, seed=0, workers=2, prefetch=8,
                 filter=2):
        from .core import Options
        handle = ctypes.c_void_p()
        with Options(dataset_size=size, dataset_five_crop=int(bool(five_crop)), dataset_shuffle=int(bool(shuffle)),
                     dataset_seed=seed, dataset_workers=workers, dataset_prefetch=prefetch,
                     dataset_filter=int(filter)) as options:
            lib.df_dataset_open(str(images).encode(), None if labels is None else str(labels).encode(),
                                options.handle, ctypes.byref(handle))
        super().__init__(handle)
        self._has_labels = labels is not None

    def __len__(self):
        out = ctypes.c_size_t()
        lib.df_dataset_count(self.handle, ctypes.byref(out))
        return out.value

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


__all__ = ["Dataset"]
