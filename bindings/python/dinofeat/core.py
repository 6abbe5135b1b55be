"""Versions, status codes, threads, logging and parameters."""
import ctypes
import enum

from ._native import LOG_FN, Error, Handle, lib, text_arg


class Status(enum.IntEnum):
    OK = 0
    INVALID_ARG = 1
    OUT_OF_MEMORY = 2
    IO = 3
    FORMAT = 4
    UNSUPPORTED = 5
    CANCELLED = 6
    LIMIT = 7
    INTERNAL = 8


class Param(enum.IntEnum):
    IMAGE_MAX_PIXELS = 100
    IMAGE_APPLY_EXIF = 101
    IMAGE_PALETTE_INDICES = 102
    MODEL_PRECISION = 200
    MODEL_CHECKPOINT = 201
    MODEL_HEADS = 202
    MODEL_POS_INTERP = 203
    MODEL_STRIDE = 204
    MODEL_COVER = 205
    MODEL_ATTN_CHUNK = 206
    MODEL_LAYERS = 207
    UPS_STRIDE = 300
    UPS_SHIFTS = 301
    UPS_NEIGHBOURHOOD = 302
    UPS_FLIPS = 303
    UPS_BORDER = 304
    UPS_INTERP = 305
    UPS_ATTENTION = 306
    UPS_BATCH = 307
    UPS_ON_DEVICE = 308
    UPS_PAD = 309
    KMEANS_K = 400
    KMEANS_METRIC = 401
    KMEANS_INITS = 402
    KMEANS_MAX_ITER = 403
    KMEANS_TOL = 404
    KMEANS_SEED = 405
    KMEANS_SAMPLE = 406
    KMEANS_BATCH = 407
    CRF_ITERATIONS = 500
    CRF_GAUSSIAN_SXY = 501
    CRF_GAUSSIAN_COMPAT = 502
    CRF_BILATERAL_SXY = 503
    CRF_BILATERAL_SRGB = 504
    CRF_BILATERAL_COMPAT = 505
    CRF_NORMALIZATION = 506
    CRF_FILTER = 507
    CRF_PROB_FLOOR = 508
    TOKENCUT_TAU = 600
    TOKENCUT_EPS = 601
    TOKENCUT_BINARY = 602
    CAS_CUTOFF_SCALE = 700
    CAS_BINS = 701
    CAS_MIN_AREA = 702
    CAS_SUPERBOX_IOU = 703
    CAS_CRF = 704
    RETRIEVAL_K = 800
    RETRIEVAL_TEMPERATURE = 801
    RETRIEVAL_BANK = 802
    RETRIEVAL_SEED = 803
    FOREST_TREES = 900
    FOREST_MAX_FEATURES = 901
    FOREST_MAX_DEPTH = 902
    FOREST_SEED = 903
    WEAK_CRF = 1000
    WEAK_FEATURES = 1001
    WEAK_CLASSIFIER = 1002
    WEAK_MAX_SIZE = 1003
    WEAK_SAMPLES = 1004
    WEAK_LIVE_TREES = 1005
    CLASSICAL_GROUPS = 1050
    CLASSICAL_MIN_SIGMA = 1051
    CLASSICAL_MAX_SIGMA = 1052
    CLASSICAL_MEMBRANE_SIZE = 1053
    CLASSICAL_MEMBRANE_THICKNESS = 1054
    LOGREG_C = 1100
    LOGREG_MAX_ITER = 1101
    LOGREG_TOL = 1102
    DATUS_THRESHOLD = 1200
    DATUS_SIZE = 1201
    DATUS_RESIZE = 1202
    DATUS_CROP = 1203
    DATUS_SEED = 1204
    DATUS_PCA = 1205
    DATASET_SIZE = 1300
    DATASET_FIVE_CROP = 1301
    DATASET_SHUFFLE = 1302
    DATASET_SEED = 1303
    DATASET_WORKERS = 1304
    DATASET_PREFETCH = 1305
    DATASET_FILTER = 1306
    DATASET_SKIP_BROKEN = 1307
    DATASET_LAYOUT = 1308
    DATASET_SPLIT = 1309
    DATASET_LIST = 1310
    DATASET_MULTIPLE = 1311
    DATASET_STRETCH = 1312
    DATASET_REMOVE_HARDS = 1313
    CACHE_HALF = 1400
    CACHE_BATCH = 1401
    STEGO_SHIFT_SELF = 1500
    STEGO_SHIFT_KNN = 1501
    STEGO_SHIFT_RAND = 1502
    STEGO_WEIGHT_SELF = 1503
    STEGO_WEIGHT_KNN = 1504
    STEGO_WEIGHT_RAND = 1505
    STEGO_CENTER = 1506
    STEGO_STABILIZE = 1507
    STEGO_ZERO_CLAMP = 1508
    STEGO_SAMPLES = 1509
    STEGO_NEGATIVES = 1510
    STEGO_CODE_DIM = 1511
    STEGO_CLASSES = 1512
    STEGO_DROPOUT = 1513
    STEGO_LR = 1514
    STEGO_PROBE_LR = 1515
    STEGO_SEED = 1516
    STEGO_KNN_RANKS = 1517
    STEGO_ADAM_EPS = 1518
    STEGO_DEVICE = 1519
    STEGO_PRECISION = 1520
    SEMPART_TAU = 1600
    SEMPART_EPS = 1601
    SEMPART_SIGMA = 1602
    SEMPART_WEIGHT_GTV_COARSE = 1603
    SEMPART_WEIGHT_GTV_FINE = 1604
    SEMPART_WEIGHT_SR = 1605
    SEMPART_LR = 1606
    SEMPART_WIDTH = 1607
    SEMPART_HEADS = 1608
    SEMPART_JOINT = 1609
    SEMPART_SEED = 1610
    SEMPART_SELECT = 1611
    SEMPART_THRESHOLD = 1612
    SEMPART_BRANCHES = 1613
    SEMPART_ADAM_EPS = 1614
    SEMPART_DEVICE = 1615
    SEMPART_PRECISION = 1616
    NECO_STEEPNESS = 1700
    NECO_NETWORK = 1701
    NECO_SIGMOID = 1702
    NECO_EUCLIDEAN = 1703
    NECO_SYMMETRIC = 1704
    NECO_GLOBAL_SIZE = 1705
    NECO_LOCAL_SIZE = 1706
    NECO_GLOBAL_CROPS = 1707
    NECO_LOCAL_CROPS = 1708
    NECO_MIN_INTERSECTION = 1709
    NECO_JITTER_P = 1710
    NECO_GREY_P = 1711
    NECO_BLUR_P = 1712
    NECO_SEED = 1713
    NECO_LR_HEAD = 1714
    NECO_LR_BACKBONE = 1715
    NECO_WEIGHT_DECAY = 1716
    NECO_WEIGHT_DECAY_END = 1717
    NECO_MOMENTUM = 1718
    NECO_DROP_PATH = 1719
    NECO_QUEUE = 1720
    NECO_HEAD_HIDDEN = 1721
    NECO_HEAD_OUT = 1722
    NECO_ADAM_EPS = 1723
    DISTRIBUTED_TIMEOUT = 1800
    DISTRIBUTED_BUCKET_MB = 1801
    PROBE_LR = 1900
    PROBE_MOMENTUM = 1901
    PROBE_WEIGHT_DECAY = 1902
    PROBE_DROP_AT = 1903
    PROBE_GAMMA = 1904
    PROBE_SEED = 1905


class ParamType(enum.IntEnum):
    INT = 1
    FLOAT = 2
    STRING = 3


class LogLevel(enum.IntEnum):
    ERROR = 1
    WARNING = 2
    INFO = 3
    DEBUG = 4


def version():
    """The loaded library's version, "MAJOR.MINOR.PATCH"."""
    return lib.df_version_string().decode()


def version_number():
    return lib.df_version_number()


def build_info():
    """The library version, its libtorch, CUDA devices and OpenMP version."""
    return lib.df_build_info().decode()


def status_name(status):
    return lib.df_status_str(int(status)).decode()


def set_num_threads(count):
    """Sets OpenMP's and libtorch's pools; 0 means one thread per core."""
    lib.df_set_num_threads(count)


def get_num_threads():
    return lib.df_get_num_threads()


def memory_cached():
    """Bytes of freed CPU blocks the library keeps for reuse (64 KB and larger, 256 MB at most)."""
    size = ctypes.c_size_t()
    lib.df_memory_cached(ctypes.byref(size))
    return size.value


def memory_release():
    """Gives the kept blocks back to the system."""
    lib.df_memory_release()


_log_callback = None  # kept alive while the library may call it


def set_log_callback(function, max_level=LogLevel.WARNING):
    """Routes the library's diagnostics to function(level: LogLevel, message: str); None silences."""
    global _log_callback
    if function is None:
        lib.df_set_log_callback(LOG_FN(), None, LogLevel.ERROR)
        _log_callback = None
        return
    callback = LOG_FN(lambda _user, level, message: function(LogLevel(level), message.decode("utf-8", "replace")))
    lib.df_set_log_callback(callback, None, int(max_level))
    _log_callback = callback


def param_name(key):
    name = lib.df_param_name(int(key))
    return None if name is None else name.decode()


def param_from_name(name):
    key = ctypes.c_int()
    lib.df_param_from_name(text_arg(name, "parameter name"), ctypes.byref(key))
    return Param(key.value)


def param_type(key):
    out = ctypes.c_int()
    lib.df_param_type_of(int(key), ctypes.byref(out))
    return ParamType(out.value)


def param_bounds(key):
    """(lower, upper), inclusive."""
    lower, upper = ctypes.c_double(), ctypes.c_double()
    lib.df_param_bounds(int(key), ctypes.byref(lower), ctypes.byref(upper))
    return lower.value, upper.value


def params():
    """Every Param this library knows, in its order (df_param_count / df_param_at)."""
    keys = []
    for i in range(lib.df_param_count()):
        key = ctypes.c_int()
        lib.df_param_at(i, ctypes.byref(key))
        keys.append(Param(key.value))
    return keys


def param_default(key):
    """What a fresh Options holds for key: an int, a float or a str, as the library says."""
    number, text = ctypes.c_double(), ctypes.c_char_p()
    lib.df_param_default(int(key), ctypes.byref(number), ctypes.byref(text))
    kind = param_type(key)
    return text.value.decode() if kind == ParamType.STRING else int(number.value) if kind == ParamType.INT \
        else number.value


def param_help(key):
    """What key does, in one line (the header's comment)."""
    text = lib.df_param_help(int(key))
    return None if text is None else text.decode()


def param_value_names(key):
    """{value: name} of an enum-valued key ({} for others): upsample.attention gives {0: "cls", ...}."""
    if param_type(key) != ParamType.INT:
        return {}
    lower, upper = param_bounds(key)
    names = {}
    for value in range(int(lower), min(int(upper), int(lower) + 64) + 1):
        name = lib.df_param_value_name(int(key), value)
        if name is not None:
            names[value] = name.decode()
    return names


class Options(Handle):
    """A set of parameter values; keys are Param members or their names ("image.max_pixels").

    Options(image_max_pixels=10**6) or options[Param.IMAGE_MAX_PIXELS] = 10**6."""

    _free, _name = "df_options_free", "Options"

    def __init__(self, **values):
        handle = ctypes.c_void_p()
        lib.df_options_new(ctypes.byref(handle))
        super().__init__(handle)
        for name, value in values.items():
            if name.upper() not in Param.__members__:
                self.close()
                raise TypeError(f"dinofeat.Options: unknown parameter '{name}'")
            self[Param[name.upper()]] = value


    @staticmethod
    def _key(key):
        if isinstance(key, str):
            return param_from_name(key)
        try:
            return Param(key)
        except ValueError:
            raise ValueError(f"dinofeat.Options: unknown parameter key {key!r}") from None

    def __setitem__(self, key, value):
        key = self._key(key)
        kind = param_type(key)
        if kind == ParamType.INT and isinstance(value, str):  # an enum value by its name: "bfloat16"
            self.set_from_string(f"{param_name(key)}={value}")
        elif kind == ParamType.INT:
            lib.df_options_set_int(self.handle, key, int(value))
        elif kind == ParamType.FLOAT:
            lib.df_options_set_float(self.handle, key, float(value))
        else:
            lib.df_options_set_str(self.handle, key, text_arg(str(value), f"Options[{param_name(key)}]"))

    def __getitem__(self, key):
        key = self._key(key)
        kind = param_type(key)
        if kind == ParamType.INT:
            out = ctypes.c_int64()
            lib.df_options_get_int(self.handle, key, ctypes.byref(out))
            return out.value
        if kind == ParamType.FLOAT:
            out = ctypes.c_double()
            lib.df_options_get_float(self.handle, key, ctypes.byref(out))
            return out.value
        out = ctypes.c_char_p()
        lib.df_options_get_str(self.handle, key, ctypes.byref(out))
        return None if out.value is None else out.value.decode()

    def set_from_string(self, setting):
        """Sets "name=value" as the command line's --set does (an int also by its value name)."""
        lib.df_options_set_from_string(self.handle, text_arg(setting, "setting"))

    def copy(self):
        handle = ctypes.c_void_p()
        lib.df_options_copy(self.handle, ctypes.byref(handle))
        copy = Options.__new__(Options)
        copy._handle = handle
        return copy






def setting_key(prefix, name, what):
    """The Param for a keyword setting of a method (prefix "STEGO_", name "lr"); unknown names are a
    TypeError, as for any unexpected keyword argument."""
    key = prefix + name.upper()
    if key not in Param.__members__:
        raise TypeError(f"dinofeat.{what}: unknown setting '{name}'")
    return Param[key]


def _options_handle(options):
    return None if options is None else options.handle


__all__ = ["Error", "Status", "Param", "ParamType", "LogLevel", "Options", "version", "version_number",
           "build_info", "status_name", "set_num_threads", "get_num_threads", "set_log_callback",
           "param_name", "param_from_name", "param_type", "param_bounds", "params", "param_default", "param_help",
           "param_value_names"]
