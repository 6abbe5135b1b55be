"""Connected components, bounding boxes and box IoU over numpy label maps."""
import ctypes

from ._native import _numpy, lib


def connected_components(labels, connectivity=8, background=0):
    """(components, count): components (H, W) int32, 0 where labels == background (None: label every
    pixel), 1..count numbered in raster order of each component's first pixel, as scipy does."""
    np = _numpy()
    labels = np.ascontiguousarray(labels, dtype=np.int32)
    if labels.ndim != 2:
        raise ValueError("dinofeat.regions.connected_components: labels must be 2-D")
    components = np.empty_like(labels)
    count = ctypes.c_size_t()
    lib.df_connected_components(labels.ctypes.data_as(ctypes.c_void_p), labels.shape[1], labels.shape[0], connectivity,
                                -1 if background is None else background, components.ctypes.data_as(ctypes.c_void_p),
                                ctypes.byref(count))
    return components, count.value


def component_boxes(components, count):
    """(boxes (count, 4) int32 as x_min, y_min, x_max, y_max with max exclusive, areas (count,) int64)."""
    np = _numpy()
    components = np.ascontiguousarray(components, dtype=np.int32)
    boxes = np.empty((count, 4), dtype=np.int32)
    areas = np.empty(count, dtype=np.int64)
    lib.df_component_boxes(components.ctypes.data_as(ctypes.c_void_p), components.shape[1], components.shape[0], count,
                           boxes.ctypes.data_as(ctypes.c_void_p), areas.ctypes.data_as(ctypes.POINTER(ctypes.c_int64)))
    return boxes, areas


def box_iou(a, b):
    """Intersection over union of two [x_min, y_min, x_max, y_max] boxes (max exclusive)."""
    np = _numpy()
    a, b = np.ascontiguousarray(a, dtype=np.int32), np.ascontiguousarray(b, dtype=np.int32)
    out = ctypes.c_double()
    lib.df_box_iou(a.ctypes.data_as(ctypes.c_void_p), b.ctypes.data_as(ctypes.c_void_p), ctypes.byref(out))
    return out.value


__all__ = ["connected_components", "component_boxes", "box_iou"]
