"""Loads libdinofeat and declares every prototype of the public C API (ctypes, ABI mode)."""
import ctypes
import ctypes.util
import os

MAJOR = 0  # the ABI major version this package speaks


class _StatusReturn:
    """Marks functions returning df_status: they get an errcheck that raises Error."""


c_status = _StatusReturn
c_size = ctypes.c_size_t
c_int64_p = ctypes.POINTER(ctypes.c_int64)
LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p)
PROGRESS_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint64, ctypes.c_char_p)


class TensorView(ctypes.Structure):
    _fields_ = [
        ("struct_size", c_size),
        ("data", ctypes.c_void_p),
        ("ndim", ctypes.c_int32),
        ("shape", c_int64_p),
        ("strides", c_int64_p),
        ("dtype", ctypes.c_int),
        ("device_type", ctypes.c_int),
        ("device_id", ctypes.c_int32),
    ]


def _candidates():
    """$DINOFEAT_LIBRARY alone if set; else the library installed beside this package (make install
    writes its path into _location.py), the dynamic linker's, and the source tree's lib/."""
    explicit = os.environ.get("DINOFEAT_LIBRARY")
    if explicit:
        return [explicit]
    candidates = []
    try:
        from ._location import LIBRARY
        candidates.append(LIBRARY)
    except ImportError:  # not installed: running from the source tree
        pass
    here = os.path.dirname(os.path.abspath(__file__))
    in_tree = os.path.normpath(os.path.join(here, "..", "..", "..", "lib", f"libdinofeat.so.{MAJOR}"))
    return candidates + [f"libdinofeat.so.{MAJOR}", in_tree]


LIBRARY_PATH = None  # the file the package loaded


def _load():
    global LIBRARY_PATH
    errors = []
    for candidate in _candidates():
        try:
            library = ctypes.CDLL(candidate)
            LIBRARY_PATH = candidate
            return library
        except OSError as error:
            errors.append(f"{candidate}: {error}")
    raise ImportError("dinofeat: cannot load the C library (set DINOFEAT_LIBRARY to its path):\n  "
                      + "\n  ".join(errors))


P = ctypes.c_void_p
PP = ctypes.POINTER(ctypes.c_void_p)
# name: (restype, argtypes). Functions returning df_status get an errcheck in __init__.
PROTOTYPES = {
    "df_version_number": (ctypes.c_uint, []),
    "df_version_string": (ctypes.c_char_p, []),
    "df_build_info": (ctypes.c_char_p, []),
    "df_status_str": (ctypes.c_char_p, [ctypes.c_int]),
    "df_last_error_message": (ctypes.c_char_p, []),
    "df_set_num_threads": (c_status, [ctypes.c_int]),
    "df_get_num_threads": (ctypes.c_int, []),
    "df_memory_cached": (c_status, [ctypes.POINTER(ctypes.c_size_t)]),
    "df_memory_release": (c_status, []),
    "df_set_log_callback": (c_status, [LOG_FN, ctypes.c_void_p, ctypes.c_int]),
    "df_options_new": (c_status, [PP]),
    "df_options_free": (None, [P]),
    "df_options_copy": (c_status, [P, PP]),
    "df_options_set_int": (c_status, [P, ctypes.c_int, ctypes.c_int64]),
    "df_options_get_int": (c_status, [P, ctypes.c_int, c_int64_p]),
    "df_options_set_float": (c_status, [P, ctypes.c_int, ctypes.c_double]),
    "df_options_get_float": (c_status, [P, ctypes.c_int, ctypes.POINTER(ctypes.c_double)]),
    "df_options_set_str": (c_status, [P, ctypes.c_int, ctypes.c_char_p]),
    "df_options_get_str": (c_status, [P, ctypes.c_int, ctypes.POINTER(ctypes.c_char_p)]),
    "df_param_type_of": (c_status, [ctypes.c_int, ctypes.POINTER(ctypes.c_int)]),
    "df_param_bounds": (c_status, [ctypes.c_int, ctypes.POINTER(ctypes.c_double), ctypes.POINTER(ctypes.c_double)]),
    "df_param_name": (ctypes.c_char_p, [ctypes.c_int]),
    "df_param_from_name": (c_status, [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]),
    "df_param_count": (c_size, []),
    "df_param_at": (c_status, [c_size, ctypes.POINTER(ctypes.c_int)]),
    "df_param_default": (c_status, [ctypes.c_int, ctypes.POINTER(ctypes.c_double), ctypes.POINTER(ctypes.c_char_p)]),
    "df_param_help": (ctypes.c_char_p, [ctypes.c_int]),
    "df_param_value_name": (ctypes.c_char_p, [ctypes.c_int, ctypes.c_int64]),
    "df_param_value_from_name": (c_status, [ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int64)]),
    "df_options_set_from_string": (c_status, [P, ctypes.c_char_p]),
    "df_dtype_name": (ctypes.c_char_p, [ctypes.c_int]),
    "df_dtype_size": (c_size, [ctypes.c_int]),
    "df_tensor_new": (c_status, [c_size, c_int64_p, ctypes.c_int, ctypes.c_char_p, PP]),
    "df_tensor_from_host": (c_status, [P, c_size, c_int64_p, PP]),
    "df_tensor_borrow_host": (c_status, [P, c_size, c_int64_p, PP]),
    "df_tensor_free": (None, [P]),
    "df_tensor_ndim": (c_size, [P]),
    "df_tensor_shape": (c_status, [P, c_int64_p, c_size]),
    "df_tensor_numel": (ctypes.c_int64, [P]),
    "df_tensor_dtype": (ctypes.c_int, [P]),
    "df_tensor_device": (ctypes.c_char_p, [P]),
    "df_tensor_copy_to_host": (c_status, [P, P, c_size]),
    "df_tensor_to": (c_status, [P, ctypes.c_char_p, ctypes.c_int, PP]),
    "df_tensor_view_of": (c_status, [P, ctypes.POINTER(TensorView)]),
    "df_device_available": (c_status, [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int)]),
    "df_image_load": (c_status, [ctypes.c_char_p, P, PP]),
    "df_image_load_memory": (c_status, [P, c_size, P, PP]),
    "df_image_new": (c_status, [c_size, c_size, c_size, c_size, PP]),
    "df_image_from_pixels": (c_status, [P, c_size, c_size, c_size, c_size, c_size, PP]),
    "df_image_free": (None, [P]),
    "df_image_width": (c_size, [P]),
    "df_image_height": (c_size, [P]),
    "df_image_channels": (c_size, [P]),
    "df_image_bit_depth": (c_size, [P]),
    "df_image_pixels": (ctypes.c_void_p, [P]),
    "df_image_save_png": (c_status, [P, ctypes.c_char_p]),
    "df_image_save_palette_png": (c_status, [P, P, c_size, ctypes.c_char_p]),
    "df_image_resize": (c_status, [P, c_size, c_size, ctypes.c_int, PP]),
    "df_image_convert": (c_status, [P, c_size, PP]),
    "df_image_adjust": (c_status, [P, ctypes.c_int, ctypes.c_double, PP]),
    "df_image_to_tensor": (c_status, [P, P, P, PP]),
    "df_model_open": (c_status, [ctypes.c_char_p, ctypes.c_char_p, P, PP]),
    "df_model_free": (None, [P]),
    "df_inference_precision": (c_status, [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_char_p)]),
    "df_model_set_int": (c_status, [P, ctypes.c_int, ctypes.c_int64]),
    "df_model_get_int": (c_status, [P, ctypes.c_int, c_int64_p]),
    "df_model_set_str": (c_status, [P, ctypes.c_int, ctypes.c_char_p]),
    "df_model_get_str": (c_status, [P, ctypes.c_int, ctypes.POINTER(ctypes.c_char_p)]),
    "df_model_info_int": (c_status, [P, ctypes.c_int, c_int64_p]),
    "df_model_info_str": (c_status, [P, ctypes.c_int, ctypes.POINTER(ctypes.c_char_p)]),
    "df_model_forward": (c_status, [P, P, ctypes.c_uint, PP]),
    "df_forward_output": (c_status, [P, ctypes.c_int, PP]),
    "df_forward_layer_count": (c_size, [P]),
    "df_forward_layer": (c_status, [P, c_size, PP]),
    "df_forward_free": (None, [P]),
    "df_upsample": (c_status, [P, P, P, PROGRESS_FN, ctypes.c_void_p, PP, PP]),
    "df_upsample_view_count": (c_status, [P, ctypes.POINTER(c_size)]),
    "df_kmeans_fit": (c_status, [P, P, PP]),
    "df_kmeans_predict": (c_status, [P, P, PP]),
    "df_kmeans_centroids": (c_status, [P, PP]),
    "df_kmeans_inertia": (c_status, [P, ctypes.POINTER(ctypes.c_double)]),
    "df_kmeans_iterations": (c_status, [P, c_int64_p]),
    "df_kmeans_free": (None, [P]),
    "df_agglomerate_complete": (c_status, [P, c_size, c_size, ctypes.c_double, c_size, P, ctypes.POINTER(c_size)]),
    "df_pca_fit": (c_status, [P, c_size, c_size, c_size, P, P]),
    "df_linear_sum_assignment": (c_status, [P, c_size, c_size, c_int64_p]),
    "df_confusion_new": (c_status, [c_size, c_size, PP]),
    "df_confusion_free": (None, [P]),
    "df_confusion_add": (c_status, [P, P, P, c_size]),
    "df_confusion_counts": (c_status, [P, ctypes.POINTER(c_int64_p)]),
    "df_confusion_match": (c_status, [P, ctypes.c_int, c_int64_p]),
    "df_connected_components": (c_status, [P, c_size, c_size, ctypes.c_int, ctypes.c_int32, P, ctypes.POINTER(c_size)]),
    "df_component_boxes": (c_status, [P, c_size, c_size, c_size, P, c_int64_p]),
    "df_box_iou": (c_status, [P, P, ctypes.POINTER(ctypes.c_double)]),
    "df_crf_preset_apply": (c_status, [P, ctypes.c_int]),
    "df_tokencut": (c_status, [P, P, P, PP, P, P]),
    "df_tokencut_detail_clear": (None, [P]),
    "df_cas_segment": (c_status, [P, P, P, PROGRESS_FN, ctypes.c_void_p, PP]),
    "df_cas_segment_features": (c_status, [P, P, P, P, PROGRESS_FN, ctypes.c_void_p, PP]),
    "df_cas_result_view": (c_status, [P, P]),
    "df_cas_result_free": (None, [P]),
    "df_classical_features": (c_status, [P, c_size, c_size, P]),
    "df_classical_channel_name": (ctypes.c_char_p, [c_size]),
    "df_classical_compute": (c_status, [P, c_size, c_size, P, P]),
    "df_classical_channels": (c_status, [P, ctypes.POINTER(c_size)]),
    "df_classical_channel_label": (c_status, [P, c_size, ctypes.c_char_p, c_size]),
    "df_classical_compute_image": (c_status, [P, P, P]),
    "df_forest_train": (c_status, [P, P, c_size, c_size, c_size, P, PP]),
    "df_forest_predict": (c_status, [P, P, c_size, P]),
    "df_forest_free": (None, [P]),
    "df_logreg_train": (c_status, [P, P, c_size, c_size, c_size, P, PP]),
    "df_logreg_predict": (c_status, [P, P, c_size, P]),
    "df_logreg_iterations": (c_status, [P, ctypes.POINTER(ctypes.c_int64)]),
    "df_logreg_free": (None, [P]),
    "df_weak_train": (c_status, [P, P, P, c_size, P, PP]),
    "df_weak_classes": (c_status, [P, ctypes.POINTER(c_size)]),
    "df_weak_feature_set": (c_status, [P, ctypes.POINTER(ctypes.c_int)]),
    "df_weak_predict": (c_status, [P, P, P, P, P, P]),
    "df_weak_save": (c_status, [P, ctypes.c_char_p]),
    "df_weak_load": (c_status, [ctypes.c_char_p, PP]),
    "df_weak_free": (None, [P]),
    "df_weak_live_new": (c_status, [P, P, PP]),
    "df_weak_live_stroke": (c_status, [P, P, c_size, ctypes.c_float, ctypes.c_int32]),
    "df_weak_live_set_labels": (c_status, [P, c_size, c_size, c_size, c_size, P]),
    "df_weak_live_labels": (c_status, [P, P]),
    "df_weak_live_update": (c_status, [P]),
    "df_weak_live_classes": (c_status, [P, ctypes.POINTER(c_size)]),
    "df_weak_live_predict": (c_status, [P, c_size, c_size, c_size, c_size, P, P]),
    "df_weak_live_classifier": (c_status, [P, PP]),
    "df_weak_live_free": (None, [P]),
    "df_louvain": (c_status, [c_size, P, c_size, P, ctypes.c_double, ctypes.c_uint64, P, ctypes.POINTER(c_size),
                              ctypes.POINTER(ctypes.c_double)]),
    "df_datus_split": (c_status, [P, c_size, c_size, c_size, P, ctypes.POINTER(c_size)]),
    "df_datus_segments": (c_status, [P, c_size, c_size, c_size, c_size, ctypes.c_uint64, P, ctypes.POINTER(c_size), P]),
    "df_datus_crop": (c_status, [P, P, c_size, c_size, c_size, ctypes.c_int32, c_size, c_size, PP]),
    "df_datus_crop_features": (c_status, [P, P, P, c_size, c_size, c_size, c_size, c_size, P]),
    "df_datus_open": (c_status, [ctypes.c_char_p, P, PP]),
    "df_datus_add_image": (c_status, [P, P, ctypes.c_char_p, P]),
    "df_datus_add_segments": (c_status, [P, ctypes.c_char_p, c_size, c_size, P, c_size, c_size, P, c_size, c_size]),
    "df_datus_images": (c_status, [P, ctypes.POINTER(c_size)]),
    "df_datus_find": (c_status, [P, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(c_size)]),
    "df_datus_image": (c_status, [P, c_size, ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(c_size),
                                  ctypes.POINTER(c_size), ctypes.POINTER(c_size)]),
    "df_datus_grid": (c_status, [P, c_size, PP, ctypes.POINTER(c_size), ctypes.POINTER(c_size)]),
    "df_datus_cluster": (c_status, [P, P]),
    "df_datus_segment_clusters": (c_status, [P, c_size, PP]),
    "df_datus_mask": (c_status, [P, c_size, c_size, c_size, P]),
    "df_datus_denoise": (c_status, [P, P, P, P, c_size, P, PP]),
    "df_datus_free": (None, [P]),
    "df_dataset_open": (c_status, [ctypes.c_char_p, ctypes.c_char_p, P, PP]),
    "df_dataset_count": (c_status, [P, ctypes.POINTER(c_size)]),
    "df_dataset_skipped": (c_status, [P, c_size, ctypes.POINTER(c_size), ctypes.POINTER(ctypes.c_char_p),
                                      ctypes.POINTER(ctypes.c_char_p)]),
    "df_dataset_name": (c_status, [P, c_size, ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_int)]),
    "df_dataset_boxes": (c_status, [P, c_size, P, c_size, ctypes.POINTER(ctypes.c_size_t)]),
    "df_dataset_get": (c_status, [P, c_size, PP, PP]),
    "df_dataset_start": (c_status, [P, ctypes.c_uint64]),
    "df_dataset_next": (c_status, [P, ctypes.POINTER(c_size), PP, PP, ctypes.POINTER(ctypes.c_int)]),
    "df_dataset_free": (None, [P]),
    "df_feature_cache_build": (c_status, [P, P, ctypes.c_char_p, P, PROGRESS_FN, ctypes.c_void_p]),
    "df_feature_cache_open": (c_status, [ctypes.c_char_p, PP]),
    "df_feature_cache_shape": (c_status, [P, ctypes.POINTER(c_size), ctypes.POINTER(c_size), ctypes.POINTER(c_size),
                                          ctypes.POINTER(c_size)]),
    "df_feature_cache_read": (c_status, [P, c_size, P]),
    "df_feature_cache_check_model": (c_status, [P, P]),
    "df_feature_cache_free": (None, [P]),
    "df_knn_table": (c_status, [P, c_size, P]),
    "df_knn_save": (c_status, [ctypes.c_char_p, P, c_size, c_size]),
    "df_knn_load": (c_status, [ctypes.c_char_p, P, c_size, ctypes.POINTER(c_size), ctypes.POINTER(c_size)]),
    "df_stego_corr_loss": (c_status, [P, P, P, P, P, P, ctypes.c_double, ctypes.c_uint, ctypes.POINTER(ctypes.c_double),
                                      PP, PP]),
    "df_stego_loss": (c_status, [P, P, P, P, P, P, P, P, ctypes.POINTER(ctypes.c_double), PP, PP]),
    "df_stego_preset_apply": (c_status, [P, ctypes.c_int]),
    "df_stego_new": (c_status, [c_size, P, PP]),
    "df_stego_head_step": (c_status, [P, P, P, P, ctypes.POINTER(ctypes.c_double)]),
    "df_stego_get_int": (c_status, [P, ctypes.c_int, ctypes.POINTER(ctypes.c_int64)]),
    "df_stego_get_float": (c_status, [P, ctypes.c_int, ctypes.POINTER(ctypes.c_double)]),
    "df_stego_steps": (c_status, [P, ctypes.POINTER(ctypes.c_int64)]),
    "df_stego_parameter": (c_status, [P, c_size, ctypes.POINTER(ctypes.c_char_p), P, c_size, ctypes.POINTER(c_size)]),
    "df_stego_codes": (c_status, [P, P, PP]),
    "df_stego_predict": (c_status, [P, P, P, c_size, c_size, P, P]),
    "df_stego_segment": (c_status, [P, P, P, c_size, P, P]),
    "df_stego_predict_linear": (c_status, [P, P, P, c_size, c_size, P, P]),
    "df_stego_segment_linear": (c_status, [P, P, P, c_size, P, P]),
    "df_stego_last_losses": (c_status, [P, ctypes.POINTER(ctypes.c_double)]),
    "df_stego_trainer": (ctypes.c_void_p, [P]),
    "df_sempart_trainer": (ctypes.c_void_p, [P]),
    "df_neco_trainer": (ctypes.c_void_p, [P]),
    "df_trainer_steps": (c_status, [P, ctypes.POINTER(ctypes.c_int64)]),
    "df_trainer_losses": (c_status, [P, ctypes.POINTER(ctypes.c_double), ctypes.POINTER(ctypes.c_char_p), c_size,
                                     ctypes.POINTER(c_size)]),
    "df_trainer_save": (c_status, [P, ctypes.c_char_p]),
    "df_trainer_to": (c_status, [P, ctypes.c_char_p]),
    "df_stego_check_model": (c_status, [P, P]),
    "df_stego_train": (c_status, [P, P, P, c_size, P, c_size, c_size, ctypes.c_char_p, c_size, PROGRESS_FN,
                                  ctypes.c_void_p]),
    "df_stego_save": (c_status, [P, ctypes.c_char_p]),
    "df_stego_load": (c_status, [ctypes.c_char_p, PP]),
    "df_stego_free": (None, [P]),
    "df_ncut_loss": (c_status, [P, P, ctypes.c_double, ctypes.c_double, ctypes.POINTER(ctypes.c_double), PP]),
    "df_sempart_gtv_coarse_loss": (c_status, [P, P, ctypes.c_double, ctypes.POINTER(ctypes.c_double), PP]),
    "df_sempart_gtv_fine_loss": (c_status, [P, P, ctypes.c_double, ctypes.POINTER(ctypes.c_double), PP]),
    "df_sempart_sr_loss": (c_status, [P, P, ctypes.POINTER(ctypes.c_double), PP, PP]),
    "df_sempart_new": (c_status, [c_size, c_size, c_size, P, PP]),
    "df_ncut_train": (c_status, [P, P, P, ctypes.POINTER(ctypes.c_double)]),
    "df_sempart_forward": (c_status, [P, P, P, ctypes.c_int, PP, PP]),
    "df_sempart_set_branches": (c_status, [P, ctypes.c_int]),
    "df_sempart_steps": (c_status, [P, ctypes.POINTER(ctypes.c_int64)]),
    "df_sempart_last_losses": (c_status, [P, ctypes.POINTER(ctypes.c_double)]),
    "df_sempart_parameter": (c_status, [P, c_size, ctypes.POINTER(ctypes.c_char_p), P, c_size, ctypes.POINTER(c_size)]),
    "df_sempart_set_parameter": (c_status, [P, c_size, P, c_size]),
    "df_sempart_train": (c_status, [P, P, P, c_size, c_size, ctypes.c_char_p, c_size, PROGRESS_FN, ctypes.c_void_p]),
    "df_sempart_predict": (c_status, [P, P, P, P, PP, PP, PP]),
    "df_sempart_check_model": (c_status, [P, P]),
    "df_sempart_save": (c_status, [P, ctypes.c_char_p]),
    "df_sempart_load": (c_status, [ctypes.c_char_p, PP]),
    "df_sempart_free": (None, [P]),
    "df_diffsort": (c_status, [P, ctypes.c_int, ctypes.c_int, ctypes.c_double, PP, PP]),
    "df_diffsort_backward": (c_status, [P, ctypes.c_int, ctypes.c_int, ctypes.c_double, P, P, PP]),
    "df_neco_loss": (c_status, [P, P, P, P, ctypes.POINTER(ctypes.c_double), PP]),
    "df_distributed_init": (c_status, [P]),
    "df_distributed_rank": (c_status, [ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int)]),
    "df_distributed_barrier": (c_status, []),
    "df_distributed_shutdown": (None, []),
    "df_distributed_store_new": (c_status, [ctypes.c_int, ctypes.POINTER(P)]),
    "df_distributed_store_port": (c_status, [P, ctypes.POINTER(ctypes.c_int)]),
    "df_distributed_store_free": (None, [P]),
    "df_neco_new": (c_status, [P, ctypes.c_size_t, P, PP]),
    "df_neco_step": (c_status, [P, ctypes.POINTER(P), ctypes.c_size_t, ctypes.POINTER(ctypes.c_double)]),
    "df_neco_steps": (c_status, [P, ctypes.POINTER(ctypes.c_int64)]),
    "df_neco_last_loss": (c_status, [P, ctypes.POINTER(ctypes.c_double)]),
    "df_neco_train": (c_status, [P, P, c_size, c_size, ctypes.c_char_p, c_size, PROGRESS_FN, ctypes.c_void_p]),
    "df_neco_save": (c_status, [P, ctypes.c_char_p]),
    "df_neco_load": (c_status, [ctypes.c_char_p, P, PP]),
    "df_neco_export": (c_status, [P, ctypes.c_char_p]),
    "df_neco_free": (None, [P]),
    "df_neco_views": (c_status, [P, ctypes.c_uint64, P, PP, PP, PP]),
    "df_roi_align": (c_status, [P, P, ctypes.c_size_t, ctypes.c_double, ctypes.c_int, ctypes.c_int, PP]),
    "df_roi_align_backward": (c_status, [P, P, ctypes.c_size_t, ctypes.c_double, ctypes.c_int, ctypes.c_int, P, PP]),
    "df_retrieval_new": (c_status, [c_size, c_size, P, PP]),
    "df_retrieval_free": (None, [P]),
    "df_retrieval_add": (c_status, [P, P, P, c_size]),
    "df_retrieval_add_soft": (c_status, [P, P, P, c_size]),
    "df_retrieval_size": (c_status, [P, ctypes.POINTER(c_size)]),
    "df_retrieval_predict": (c_status, [P, P, c_size, P, P]),
    "df_linear_probe_new": (c_status, [c_size, c_size, P, PP]),
    "df_linear_probe_free": (None, [P]),
    "df_linear_probe_step": (c_status, [P, P, P, c_size, c_size, ctypes.POINTER(ctypes.c_double)]),
    "df_linear_probe_end_epoch": (c_status, [P]),
    "df_linear_probe_progress": (c_status, [P, ctypes.POINTER(ctypes.c_int64), ctypes.POINTER(ctypes.c_int64)]),
    "df_linear_probe_predict": (c_status, [P, P, c_size, c_size, P]),
    "df_linear_probe_save": (c_status, [P, ctypes.c_char_p]),
    "df_linear_probe_load": (c_status, [ctypes.c_char_p, PP]),
    "df_crf_infer": (c_status, [P, c_size, c_size, P, c_size, ctypes.c_int, P, P, P]),
    "df_saliency_new": (c_status, [PP]),
    "df_saliency_free": (None, [P]),
    "df_saliency_add": (c_status, [P, P, P, c_size]),
    "df_saliency_scores": (c_status, [P, ctypes.POINTER(ctypes.c_double), ctypes.POINTER(ctypes.c_double),
                                      ctypes.POINTER(ctypes.c_double)]),
    "df_corloc_hit": (c_status, [P, c_size, P, c_size, ctypes.POINTER(ctypes.c_int)]),
    "df_boxes_load": (c_status, [ctypes.c_char_p, P, c_size, ctypes.POINTER(ctypes.c_size_t)]),
    "df_confusion_scores": (c_status, [P, ctypes.c_int, ctypes.POINTER(ctypes.c_double), ctypes.POINTER(ctypes.c_double),
                                       ctypes.POINTER(ctypes.c_double), ctypes.POINTER(ctypes.c_double)]),
}


def _numpy():
    """numpy, imported when an array is asked for: the package itself loads without it."""
    try:
        import numpy
    except ImportError as error:
        raise ImportError("dinofeat: numpy is needed to exchange arrays (Debian: python3-numpy)") from error
    return numpy


class Progress:
    """A df_progress_fn around a Python callable progress(done, total) (with_stage: also the stage
    name) returning true to cancel. An exception inside it cannot cross C: it cancels the work and
    call() raises it afterwards."""

    def __init__(self, progress, with_stage=False):
        self.failure = []

        def report(_user, done, total, stage):
            try:
                arguments = (done, total, stage.decode()) if with_stage else (done, total)
                return 1 if progress(*arguments) else 0
            except Exception as error:
                self.failure.append(error)
                return 1
        self.callback = PROGRESS_FN(report) if progress else PROGRESS_FN()

    def call(self, function, *arguments):
        try:
            return function(*arguments)
        except Error:
            if self.failure:
                raise self.failure[0]
            raise


class _Owner:
    """Owns one C handle and frees it when the last Python reference goes: the Handle's own, or a
    numpy view's (through _Exported), so memory a view reads outlives close(). keep holds what the
    C object borrows (a numpy array a tensor views) for exactly as long."""

    __slots__ = ("pointer", "free", "keep")

    def __init__(self, pointer, free, keep=None):
        self.pointer, self.free, self.keep = pointer, free, keep

    def __del__(self):
        pointer, self.pointer = self.pointer, None
        if pointer is not None and self.free is not None:
            try:
                getattr(lib, self.free)(pointer)
            except Exception:  # at interpreter shutdown the library object may already be gone
                pass


def _pointer_value(handle):
    value = handle.value if isinstance(handle, ctypes.c_void_p) else handle
    return None if not value else handle


class TrainerView:
    """What the trainers share (dinofeat/trainer.h), mixed into stego, sempart and neco's Trainer
    (Handle subclasses naming their df_*_trainer function in _view)."""

    _view = None

    def _trainer(self):
        return getattr(lib, self._view)(self.handle)

    @property
    def losses(self):
        """The last step's losses by name (zeros before the first step), as the tool's loss logs
        name their columns."""
        view, count = self._trainer(), c_size()
        lib.df_trainer_losses(view, None, None, 0, ctypes.byref(count))
        values, names = (ctypes.c_double * count.value)(), (ctypes.c_char_p * count.value)()
        lib.df_trainer_losses(view, values, names, count.value, ctypes.byref(count))
        return {name.decode(): value for name, value in zip(names, values)}

    def to(self, device):
        """Moves a STEGO or Sempart trainer (weights, optimiser moments) to device ("cpu", "cuda",
        "cuda:N"): its next steps compute there; a loaded trainer starts on the CPU. dinofeat.Error
        for a device this build or machine lacks, and for NeCo (it computes where its backbone is).
        Returns the trainer."""
        lib.df_trainer_to(self._trainer(), device.encode())
        return self


class Handle:
    """An owned C handle: released by close(), a with-block, or garbage collection. The C object
    itself is freed once nothing refers to it any more: numpy views of its memory keep it alive.
    Subclasses name their C free function in _free and their type in _name."""

    _free = None
    _name = "handle"

    def __init__(self, handle):
        self._handle = handle

    @property
    def _handle(self):
        owner = self.__dict__.get("_owner")
        return None if owner is None else owner.pointer

    @_handle.setter
    def _handle(self, handle):
        handle = _pointer_value(handle)
        self.__dict__["_owner"] = None if handle is None else _Owner(handle, self._free)

    @property
    def handle(self):
        if self._handle is None:
            raise ValueError(f"dinofeat.{self._name}: used after close()")
        return self._handle

    def _owner_of_memory(self):
        """What a view of this handle's memory must keep alive."""
        self.handle  # raises after close()
        return self.__dict__["_owner"]

    def _keep(self, value):
        """Keeps value alive for as long as the C object lives."""
        self.__dict__["_owner"].keep = value

    def close(self):
        """Releases the handle; its C object is freed now, or when the last numpy view of it goes."""
        self.__dict__["_owner"] = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Error(Exception):
    """A failure reported by libdinofeat; .status is the df_status code."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def path_arg(value, what="path"):
    """A path (str, bytes or os.PathLike) as the bytes C reads; C would silently cut it at a NUL."""
    try:
        encoded = os.fsencode(value)
    except TypeError:
        raise TypeError(f"dinofeat: {what} must be a path (str, bytes or os.PathLike), "
                        f"not {type(value).__name__}") from None
    if b"\0" in encoded:
        raise ValueError(f"dinofeat: {what} contains a NUL byte: {value!r}")
    return encoded


def text_arg(value, what):
    """A str as the UTF-8 bytes C reads; refuses other types and embedded NULs."""
    if not isinstance(value, str):
        raise TypeError(f"dinofeat: {what} must be a str, not {type(value).__name__}")
    if "\0" in value:
        raise ValueError(f"dinofeat: {what} contains a NUL character: {value!r}")
    return value.encode()


def count_arg(value, what):
    """A non-negative integer (a size or a count): C's size_t would read -5 as 2**64 - 5."""
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"dinofeat: {what} must be an integer, not {type(value).__name__}")
    value = value.__index__()
    if value < 0:
        raise ValueError(f"dinofeat: {what} must be >= 0, not {value}")
    return value


def choice(table, value, what):
    """table[value]; an unknown value is a ValueError that lists the known ones."""
    try:
        return table[value]
    except (KeyError, TypeError):
        known = ", ".join(repr(key) for key in table)
        raise ValueError(f"dinofeat: {what} must be one of {known}, not {value!r}") from None


def _nul_free(function, position, value):
    if isinstance(value, (bytes, bytearray)) and b"\0" in value:
        raise ValueError(f"dinofeat: {function}: argument {position} contains a NUL byte: {value!r}")


def _non_negative(function, position, value):
    if isinstance(value, int) and value < 0:
        raise ValueError(f"dinofeat: {function}: argument {position} is a size or count and must be >= 0, "
                         f"not {value}")


# The last line of defence for arguments a Python wrapper did not check by name.
_ARGUMENT_CHECKS = {ctypes.c_char_p: _nul_free, ctypes.c_size_t: _non_negative, ctypes.c_uint64: _non_negative,
                    ctypes.c_uint: _non_negative}


def _guarded(name, function, argtypes):
    checks = [(i, _ARGUMENT_CHECKS[t]) for i, t in enumerate(argtypes) if t in _ARGUMENT_CHECKS]

    def call(*arguments):
        for i, check in checks:
            if i < len(arguments):
                check(name, i + 1, arguments[i])
        try:
            return function(*arguments)
        except ctypes.ArgumentError as error:
            raise TypeError(f"dinofeat: {name}: {error}") from None
    call.__name__ = call.__qualname__ = name
    return call


class _Library:
    """The C functions, each behind _guarded; attributes are the C names."""


def _declare(library):
    def check(result, function, arguments):
        if result != 0:
            raise Error(result, library.df_last_error_message().decode("utf-8", "replace"))
        return result

    functions = _Library()
    for name, (restype, argtypes) in PROTOTYPES.items():
        function = getattr(library, name)
        function.restype = ctypes.c_int if restype is c_status else restype
        function.argtypes = argtypes
        if restype is c_status:
            function.errcheck = check
        setattr(functions, name, _guarded(name, function, argtypes))
    return functions


lib = _declare(_load())

_loaded_major = lib.df_version_number() // 10000
if _loaded_major != MAJOR:
    raise ImportError(f"dinofeat: the loaded library has ABI major version {_loaded_major}, "
                      f"this package needs {MAJOR}")
