"""dinofeat: self-supervised ViT features and the methods built on them, over libdinofeat's C ABI.

    import dinofeat
    image = dinofeat.load_image("photo.jpg")          # PNG/JPEG, EXIF applied
    pixels = image.numpy()                             # (H, W, C) uint8 view, no copy
    x = image.resize(224, 224).to_tensor().numpy()     # (1, 3, 224, 224) float32, ImageNet-normalised
    model = dinofeat.Model("dinov2_vits14_pretrain.pth")
    features = model.forward(image, size=(448, 448))["patch"]   # (1, 32, 32, 384)
"""
from ._native import Error, MAJOR
from .core import (LogLevel, Options, Param, ParamType, Status, build_info, get_num_threads, memory_cached,
                   memory_release, param_bounds, param_default, param_from_name, param_help, param_name, param_type, param_value_names, params,
                   set_log_callback, set_num_threads, status_name, version, version_number)
from . import dataset, datus, distributed, metrics, neco, regions, sempart, stego, weak
from .cluster import KMeans, agglomerate_complete, kmeans, pca_fit
from .crf import crf
from .segment import segment, segment_features, tokencut
from .image import Adjustment, Image, ResizeFilter, load_image
from .model import Cover, Model, Output, PosInterp, inference_precision, upsample_view_count
from .tensor import DType, Tensor, device_available

__version__ = version()

__all__ = ["Error", "MAJOR", "LogLevel", "Options", "Param", "ParamType", "Status", "build_info",
           "get_num_threads", "memory_cached", "memory_release", "param_bounds", "param_default", "param_from_name", "param_help", "param_name",
           "param_type", "param_value_names", "params",
           "set_log_callback", "set_num_threads", "status_name", "version", "version_number", "Image",
           "ResizeFilter", "Adjustment", "load_image", "DType", "Tensor", "device_available", "Model", "PosInterp", "Cover",
           "Output", "inference_precision", "upsample_view_count", "KMeans", "kmeans", "agglomerate_complete", "pca_fit", "crf", "tokencut", "segment", "segment_features", "dataset", "datus", "distributed", "metrics", "neco", "regions", "sempart", "stego", "weak"]
