/*
 * dinofeat core: versions, status codes, errors, threads, logging, progress and parameters.
 *
 * Stable ABI rules (STYLE.md): within a major version nothing here is removed or changed, only
 * added. Status codes and parameter keys have fixed numbers that are never reused.
 *
 * Two tiers, as zstd's ZSTD_STATIC_LINKING_ONLY: what the headers declare by default is the
 * stable API (version node DINOFEAT_MAJOR.MINOR). Sections under #ifdef DINOFEAT_EXPERIMENTAL
 * (the losses with their gradients, the backward passes, trainer parameters addressed by index:
 * what the trainers and the conformance tests use inside) are in the version node
 * DINOFEAT_EXPERIMENTAL and may change or go in any release: define DINOFEAT_EXPERIMENTAL before
 * including the headers to use them, knowing that.
 */
#ifndef DINOFEAT_CORE_H
#define DINOFEAT_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define DF_API __attribute__((visibility("default")))
#else
#define DF_API
#endif

/* ---- versions ------------------------------------------------------------------------- */

#define DF_VERSION_MAJOR 0
#define DF_VERSION_MINOR 1
#define DF_VERSION_PATCH 0
#define DF_VERSION_NUMBER (DF_VERSION_MAJOR * 10000 + DF_VERSION_MINOR * 100 + DF_VERSION_PATCH)

#define DF_STRINGIFY_(x) #x
#define DF_STRINGIFY(x) DF_STRINGIFY_(x)
#define DF_VERSION_STRING \
    DF_STRINGIFY(DF_VERSION_MAJOR) "." DF_STRINGIFY(DF_VERSION_MINOR) "." DF_STRINGIFY(DF_VERSION_PATCH)

/* The version of the library loaded at run time, as DF_VERSION_NUMBER computes it. */
DF_API unsigned df_version_number(void);
/* Borrowed: a static string, "MAJOR.MINOR.PATCH". */
DF_API const char *df_version_string(void);
/* Borrowed: a static string naming the version, the libtorch it was built with, whether that
 * libtorch has CUDA, the OpenMP version and the data-parallel process group compiled in ("gloo",
 * or "none": df_distributed_init is then DF_E_UNSUPPORTED). For bug reports. */
DF_API const char *df_build_info(void);

/* ---- status codes --------------------------------------------------------------------- */

/* Every function that can fail returns a df_status; DF_OK is 0. Numbers are fixed forever. */
typedef enum df_status {
    DF_OK = 0,
    DF_E_INVALID_ARG = 1,   /* a NULL pointer, a value out of range, an unknown enum value */
    DF_E_OUT_OF_MEMORY = 2, /* an allocation failed (host or device) */
    DF_E_IO = 3,            /* a file could not be opened, read or written */
    DF_E_FORMAT = 4,        /* the bytes are not a valid file of the expected kind */
    DF_E_UNSUPPORTED = 5,   /* valid, but not supported: an unknown parameter key, a device this
                               build lacks, a file variant the library does not read */
    DF_E_CANCELLED = 6,     /* a progress callback returned non-zero */
    DF_E_LIMIT = 7,         /* the input exceeds a configured limit (e.g. DF_PARAM_IMAGE_MAX_PIXELS) */
    DF_E_INTERNAL = 8       /* a bug or an unexpected failure in a dependency */
} df_status;

/* Borrowed: a static string naming the code ("DF_E_FORMAT"); "DF_E_UNKNOWN" for other values. */
DF_API const char *df_status_str(df_status status);

/* Borrowed: the message of the last failure on the calling thread, starting with the name of the
 * public function that failed; "" if none. Valid until the next call into the library on this
 * thread. */
DF_API const char *df_last_error_message(void);

/* ---- threads -------------------------------------------------------------------------- */

/* Sets the size of OpenMP's and libtorch's intra-op pools. 0 means one thread per core.
 * Process-wide; call it before starting work on other threads. Without this call the pools
 * have one thread per core, or OMP_NUM_THREADS threads when that variable is set. */
DF_API df_status df_set_num_threads(int num_threads);
/* The current intra-op pool size. */
DF_API int df_get_num_threads(void);

/* ---- memory --------------------------------------------------------------------------- */

/* CPU blocks of 64 KB and more that the library's calls free are kept, up to 256 MB in all,
 * process-wide, for its next allocations of the same size: a forward pass reuses its buffers
 * block after block and call after call instead of having fresh pages faulted in (a third of a
 * ViT forward's time on a virtual machine). *bytes: what is kept now. */
DF_API df_status df_memory_cached(size_t *bytes);
/* Gives every kept block back to the system; later calls allocate afresh and keep again. */
DF_API df_status df_memory_release(void);

/* ---- logging -------------------------------------------------------------------------- */

typedef enum df_log_level {
    DF_LOG_ERROR = 1,
    DF_LOG_WARNING = 2,
    DF_LOG_INFO = 3,
    DF_LOG_DEBUG = 4
} df_log_level;

/* message is borrowed for the duration of the call. The callback may be called from any thread
 * that runs library code. */
typedef void (*df_log_fn)(void *user_data, df_log_level level, const char *message);

/* Routes the library's diagnostics (e.g. recoverable JPEG warnings) to fn, for levels up to and
 * including max_level. fn NULL (the default) silences them. Process-wide. */
DF_API df_status df_set_log_callback(df_log_fn fn, void *user_data, df_log_level max_level);

/* ---- progress ------------------------------------------------------------------------- */

/* Long work calls this after each step with done <= total; stage is borrowed for the call.
 * Returning non-zero cancels the work, which then returns DF_E_CANCELLED. */
typedef int (*df_progress_fn)(void *user_data, uint64_t done, uint64_t total, const char *stage);

/* ---- parameters ----------------------------------------------------------------------- */

/* Parameter keys, grouped by hundreds; numbers are fixed and never reused. */
typedef enum df_param {
    /* image decoding */
    DF_PARAM_IMAGE_MAX_PIXELS = 100, /* int: width * height above which decoding is refused with
                                        DF_E_LIMIT before any pixel buffer is allocated;
                                        default 268435456 (2^28) */
    DF_PARAM_IMAGE_APPLY_EXIF = 101, /* int 0/1: rotate/flip JPEGs by their EXIF orientation;
                                        default 1 */
    DF_PARAM_IMAGE_PALETTE_INDICES = 102, /* int 0/1: decode palette PNGs to their 8-bit indices
                                        (one channel) instead of RGB(A): label maps; default 0 */

    /* models: read by df_model_open from its options; the forward-time ones (from
       DF_PARAM_MODEL_HEADS on) can also be changed with df_model_set_int / df_model_set_str */
    DF_PARAM_MODEL_PRECISION = 200,  /* int df_dtype: DF_DTYPE_FLOAT32 (default), DF_DTYPE_BFLOAT16,
                                        DF_DTYPE_FLOAT16 (devices that have it); fixed at open */
    DF_PARAM_MODEL_CHECKPOINT = 201, /* str: the model to take from a training checkpoint,
                                        "teacher" (default) or "student"; fixed at open */
    DF_PARAM_MODEL_HEADS = 202,      /* int: attention heads; 0 (default) = what the file records
                                        (safetensors metadata "dinofeat.heads", a Hugging Face
                                        config.json beside it), else dim / 64 as in every
                                        released DINO and DINOv2 model (dims 384..1536) */
    DF_PARAM_MODEL_POS_INTERP = 203, /* int df_pos_interp (model.h); default DF_POS_INTERP_AUTO:
                                        the checkpoint's official variant */
    DF_PARAM_MODEL_STRIDE = 204,     /* int: patch-embedding stride in pixels, 1..patch; 0 (default)
                                        = the patch size. Lower strides overlap patches (HR-Dv2) */
    DF_PARAM_MODEL_COVER = 205,      /* int df_cover (model.h): what to do with pixels the patch
                                        grid does not cover; default DF_COVER_CROP (centred) */
    DF_PARAM_MODEL_ATTN_CHUNK = 206, /* int: queries per attention chunk where libtorch computes
                                        attention (not float32 on the CPU, whose fused kernel
                                        needs none), so memory grows linearly with tokens; 0
                                        (default) = 1024 when there are more than 2048 tokens,
                                        otherwise unchunked; -1 = never chunk */
    DF_PARAM_MODEL_LAYERS = 207,     /* str: comma-separated block indices (negative count from the
                                        end) whose normed patch tokens DF_OUTPUT_LAYERS returns;
                                        default "" */

    /* HR-Dv2 upsampling (df_upsample, upsample.h) */
    DF_PARAM_UPS_STRIDE = 300,        /* int: patch-embedding stride of the views, 1..patch;
                                         default 4 */
    DF_PARAM_UPS_SHIFTS = 301,        /* str: comma-separated shift distances in pixels, each > 0;
                                         default "1,2"; "" = no shifts */
    DF_PARAM_UPS_NEIGHBOURHOOD = 302, /* int df_ups_neighbourhood; default DF_UPS_MOORE */
    DF_PARAM_UPS_FLIPS = 303,         /* int df_ups_flips; default DF_UPS_FLIPS_ON */
    DF_PARAM_UPS_BORDER = 304,        /* int df_ups_border; default DF_UPS_BORDER_WRAP */
    DF_PARAM_UPS_INTERP = 305,        /* int df_ups_interp; default DF_UPS_NEAREST_EXACT */
    DF_PARAM_UPS_ATTENTION = 306,     /* int df_ups_attention; default DF_UPS_ATTN_CLS */
    DF_PARAM_UPS_BATCH = 307,         /* int: views per forward pass; default 1. Results do not
                                         depend on it */
    DF_PARAM_UPS_ON_DEVICE = 308,     /* int 0/1: leave the outputs on the model's device;
                                         default 0 (host) */
    DF_PARAM_UPS_PAD = 309,           /* int 0/1: zero-pad the image at the bottom and right to
                                         multiples of the patch size, and return features for every
                                         pixel of it, instead of centre-cropping (the default, 0) */

    /* k-means (df_kmeans_fit, cluster.h) */
    DF_PARAM_KMEANS_K = 400,          /* int: clusters; default 8 */
    DF_PARAM_KMEANS_METRIC = 401,     /* int df_kmeans_metric; default DF_KMEANS_EUCLIDEAN */
    DF_PARAM_KMEANS_INITS = 402,      /* int: k-means++ initialisations, the best kept; default 10 */
    DF_PARAM_KMEANS_MAX_ITER = 403,   /* int: iterations per initialisation (minibatch: steps);
                                         default 300 */
    DF_PARAM_KMEANS_TOL = 404,        /* float: stop when the squared centroid shift falls below
                                         this times the data's mean variance; default 1e-4 */
    DF_PARAM_KMEANS_SEED = 405,       /* int: random seed; default 0. Same seed, same threads,
                                         same result */
    DF_PARAM_KMEANS_SAMPLE = 406,     /* int: fit on at most this many random points (0: all);
                                         df_kmeans_predict then assigns every point */
    DF_PARAM_KMEANS_BATCH = 407,      /* int: minibatch size, for data too large for full
                                         iterations (0, the default: full Lloyd iterations) */

    /* dense CRF (df_crf_infer, crf.h); the defaults are the HR-Dv2 preset */
    DF_PARAM_CRF_ITERATIONS = 500,    /* int: mean-field iterations; default 10 */
    DF_PARAM_CRF_GAUSSIAN_SXY = 501,  /* float: smoothness kernel's spatial std in pixels; default 3 */
    DF_PARAM_CRF_GAUSSIAN_COMPAT = 502, /* float: its Potts weight; default 10 (0: kernel off) */
    DF_PARAM_CRF_BILATERAL_SXY = 503, /* float: appearance kernel's spatial std; default 80 */
    DF_PARAM_CRF_BILATERAL_SRGB = 504, /* float: its colour std (0..255 RGB); default 13 */
    DF_PARAM_CRF_BILATERAL_COMPAT = 505, /* float: its Potts weight; default 10 (0: kernel off) */
    DF_PARAM_CRF_NORMALIZATION = 506, /* int df_crf_normalization; default DF_CRF_NORM_SYMMETRIC */
    DF_PARAM_CRF_FILTER = 507,        /* int df_crf_filter; default DF_CRF_FILTER_LATTICE */
    DF_PARAM_CRF_PROB_FLOOR = 508,    /* float: probabilities are clamped to at least this before
                                         -log; default 1e-5 (pydensecrf's unary_from_softmax) */

    /* TokenCut (df_tokencut, segment.h) */
    DF_PARAM_TOKENCUT_TAU = 600,      /* float: affinity threshold on key cosine similarity;
                                         default 0.2 */
    DF_PARAM_TOKENCUT_EPS = 601,      /* float: the affinity of pairs at or below tau; default 1e-5 */
    DF_PARAM_TOKENCUT_BINARY = 602,   /* int 0/1: pairs above tau get affinity 1 (default, 1) or
                                         keep their similarity (0) */

    /* HR-Dv2 class-agnostic segmentation (df_cas_segment, segment.h); it also reads the
       upsample.*, kmeans.* and crf.* keys */
    DF_PARAM_CAS_CUTOFF_SCALE = 700,  /* float: lambda, the merge cutoff's scale; default 1.0 (the
                                         paper uses 1.1 for DINO v1) */
    DF_PARAM_CAS_BINS = 701,          /* int: histogram bins of foreground-background centroid
                                         distances; default 20 */
    DF_PARAM_CAS_MIN_AREA = 702,      /* int: boxes are drawn around components of more than this
                                         many pixels; default 200 */
    DF_PARAM_CAS_SUPERBOX_IOU = 703,  /* float: boxes whose IoU with the superbox exceeds this are
                                         dropped; default 0.8 */
    DF_PARAM_CAS_CRF = 704,           /* int 0/1: refine with the dense CRF; default 1 */

    /* dense nearest-neighbour retrieval (df_retrieval_*, eval.h) */
    DF_PARAM_RETRIEVAL_K = 800,       /* int: neighbours per query; default 30 */
    DF_PARAM_RETRIEVAL_TEMPERATURE = 801, /* float: 0 (default) weighs each neighbour's vote by its
                                         cosine similarity; T > 0 by softmax(similarity / T) over
                                         the neighbours (Hummingbird's evaluation code uses 0.02) */
    DF_PARAM_RETRIEVAL_BANK = 802,    /* int: memory-bank capacity in features; past it, additions
                                         are reservoir-sampled; 0 (default) = unlimited */
    DF_PARAM_RETRIEVAL_SEED = 803,    /* int: the reservoir sampling's seed; default 0 */

    /* random forests (df_forest_train, weak.h) */
    DF_PARAM_FOREST_TREES = 900,      /* int: trees; default 200 */
    DF_PARAM_FOREST_MAX_FEATURES = 901, /* int: features tried per split; default 2 */
    DF_PARAM_FOREST_MAX_DEPTH = 902,  /* int: 0 (default) grows every tree until its leaves are pure */
    DF_PARAM_FOREST_SEED = 903,       /* int: default 0. Same seed, same forest, whatever the threads */

    /* weak supervision (df_weak_*, weak.h) */
    DF_PARAM_WEAK_CRF = 1000,         /* int 0/1: refine predictions with the dense CRF; default 0 */
    DF_PARAM_WEAK_FEATURES = 1001,    /* int df_weak_features; default DF_WEAK_CLASSICAL */
    DF_PARAM_WEAK_CLASSIFIER = 1002,  /* int df_weak_classifier; default DF_WEAK_AUTO */
    DF_PARAM_WEAK_MAX_SIZE = 1003,    /* int: deep features of an image whose longest side exceeds
                                         this are computed on a resized copy and resized back;
                                         default 518; 0 = never resize */
    DF_PARAM_WEAK_SAMPLES = 1004,     /* int: labelled pixels per image used for training, at most,
                                         a fixed-seed random draw (the same pixels every run);
                                         default 0 = all of them */
    DF_PARAM_WEAK_LIVE_TREES = 1005,  /* int: trees of the live loop's forest (df_weak_live_*);
                                         default 100, as ilastik's live update */

    /* logistic regression (df_logreg_train, weak.h) */
    /* The classical feature set (df_classical_compute, the weak workflow's classical features) */
    DF_PARAM_CLASSICAL_GROUPS = 1050,    /* str: the feature groups, comma-separated, HR-Dv2's GUI's
                                            names in lower case: gaussian, sobel, hessian, dog,
                                            membrane, mean, median, minimum, maximum, entropy,
                                            structure, neighbours, derivatives, bilateral; default
                                            "gaussian,sobel,hessian,dog,membrane" (its Weka set) */
    DF_PARAM_CLASSICAL_MIN_SIGMA = 1051, /* int: the smallest scale; 0 (default) adds the scale-0
                                            channels and starts at 1, -1 starts at 0.5 */
    DF_PARAM_CLASSICAL_MAX_SIGMA = 1052, /* int: the largest scale; default 16 (scales double) */
    DF_PARAM_CLASSICAL_MEMBRANE_SIZE = 1053,      /* int: the membrane kernel's side; default 19 */
    DF_PARAM_CLASSICAL_MEMBRANE_THICKNESS = 1054, /* int t: its line's width, 2 (t / 2) + 1 columns
                                                     (integer division, as the official code: 2
                                                     and 3 both give 3); default 1 */

    DF_PARAM_LOGREG_C = 1100,         /* float: inverse regularisation strength; default 1 */
    DF_PARAM_LOGREG_MAX_ITER = 1101,  /* int: L-BFGS iterations at most; default 1000 */
    DF_PARAM_LOGREG_TOL = 1102,       /* float: stop when the gradient's largest entry is below this
                                         x (1 + |objective|); default 1e-9 */

    /* DatUS² (df_datus_*, datus.h) */
    DF_PARAM_DATUS_THRESHOLD = 1200,  /* int: tau, segments of more patches than this are valid;
                                         default 5 */
    DF_PARAM_DATUS_SIZE = 1201,       /* int: images are resized to size x size for the keys; default 224 */
    DF_PARAM_DATUS_RESIZE = 1202,     /* int: a crop's short side before centre-cropping; default 256 */
    DF_PARAM_DATUS_CROP = 1203,       /* int: the centre crop's side; default 224 */
    DF_PARAM_DATUS_SEED = 1204,       /* int: Louvain's seed; default 0 */
    DF_PARAM_DATUS_PCA = 1205,        /* int: principal components the segment features are projected
                                         on before k-means; default 0 = no PCA (PCA with every
                                         component, as the official code, is a rotation and leaves
                                         k-means unchanged) */

    /* datasets (df_dataset_*, dataset.h) */
    DF_PARAM_DATASET_SIZE = 1300,     /* int: items are resized so the short side is this and
                                         centre-cropped to size x size; default 0 = as decoded */
    DF_PARAM_DATASET_FIVE_CROP = 1301, /* int 0/1: each image gives five items, its top-left,
                                         top-right, bottom-left, bottom-right and centre crops of
                                         half its width and height (STEGO's KNN items); default 0 */
    DF_PARAM_DATASET_SHUFFLE = 1302,  /* int 0/1: passes visit the items in a seeded random order;
                                         default 0 (item order) */
    DF_PARAM_DATASET_SEED = 1303,     /* int: the shuffle's seed; default 0 */
    DF_PARAM_DATASET_WORKERS = 1304,  /* int: decoding threads, 1..64; default 2 */
    DF_PARAM_DATASET_PREFETCH = 1305, /* int: items decoded ahead at most, 1..4096; default 8 */
    DF_PARAM_DATASET_FILTER = 1306,   /* int df_resize_filter for images (labels are always
                                         nearest); default DF_RESIZE_BILINEAR (STEGO's official
                                         code: nearest) */
    DF_PARAM_DATASET_SKIP_BROKEN = 1307, /* int 0/1: df_dataset_open decodes every image (and label)
                                         once and leaves out those that fail, listed by
                                         df_dataset_skipped; only a folder with nothing usable
                                         fails. Default 0: a broken image fails where it is read */
    DF_PARAM_DATASET_LAYOUT = 1308,   /* int df_dataset_layout (dataset.h): what df_dataset_open's
                                         folder is: any image folder (default) or a dataset as
                                         distributed, whose labels are mapped to the classes the
                                         papers evaluate on */
    DF_PARAM_DATASET_SPLIT = 1309,    /* str: a distributed dataset's split: "train" or "val", for
                                         VOC also "trainval" or "test" (ImageSets/Main/SPLIT.txt)
                                         or a list under ImageSets such as "Segmentation/val",
                                         for Potsdam also "unlabelled_train" or "all"; default
                                         "val" */
    DF_PARAM_DATASET_LIST = 1310,     /* str: the file listing a distributed dataset's images (one
                                         name a line) in place of the layout's own; default "" */
    DF_PARAM_DATASET_MULTIPLE = 1311, /* int: items (images and labels) are centre-cropped to whole
                                         multiples of this many pixels after dataset.size, as
                                         HR-Dv2's evaluations crop to whole patches (closest_crop);
                                         default 0 = as they are */
    DF_PARAM_DATASET_STRETCH = 1312,  /* int 0/1: dataset.size resizes items to size x size,
                                         the aspect ratio not kept and nothing cropped
                                         (torchvision's Resize((S, S)), as Leopart's and NeCo's
                                         evaluations); default 0 (short side, centre crop) */
    DF_PARAM_DATASET_REMOVE_HARDS = 1313, /* int 0/1: VOC layouts: the boxes of objects marked
                                         difficult or truncated are left out and images left
                                         without a box are no items (LOST's remove_hards, as
                                         HR-Dv2's CorLoc evaluation runs); default 0 */

    /* feature caches (df_feature_cache_*, cache.h) */
    DF_PARAM_CACHE_HALF = 1400,       /* int 0/1: store float16 (half the file); default 0 */
    DF_PARAM_CACHE_BATCH = 1401,      /* int: items per forward pass, 1..1024; default 8 */

    /* STEGO (df_stego_*, stego.h): the code's active values by default, the paper's Table 6 as a
       preset (df_stego_preset_apply) */
    DF_PARAM_STEGO_SHIFT_SELF = 1500, /* float: b of the self term; default 0.18 */
    DF_PARAM_STEGO_SHIFT_KNN = 1501,  /* float: b of the KNN term; default 0.12 */
    DF_PARAM_STEGO_SHIFT_RAND = 1502, /* float: b of the random term; default 0.46 */
    DF_PARAM_STEGO_WEIGHT_SELF = 1503, /* float: lambda of the self term; default 0.67 */
    DF_PARAM_STEGO_WEIGHT_KNN = 1504, /* float: lambda of the KNN term; default 0.25 */
    DF_PARAM_STEGO_WEIGHT_RAND = 1505, /* float: lambda of the random term; default 0.63 */
    DF_PARAM_STEGO_CENTER = 1506,     /* int 0/1: spatial centering of F (global mean kept); default 1 */
    DF_PARAM_STEGO_STABILIZE = 1507,  /* int 0/1: clamp S at 0.8 from above; default 0 */
    DF_PARAM_STEGO_ZERO_CLAMP = 1508, /* int 0/1: clamp S at 0 from below; default 1 */
    DF_PARAM_STEGO_SAMPLES = 1509,    /* int: P, P x P points sampled per image; default 11 */
    DF_PARAM_STEGO_NEGATIVES = 1510,  /* int: random-term permutations; default 5 */
    DF_PARAM_STEGO_CODE_DIM = 1511,   /* int: K, the code's channels; default 70 */
    DF_PARAM_STEGO_CLASSES = 1512,    /* int: cluster-probe centroids; default 27 */
    DF_PARAM_STEGO_DROPOUT = 1513,    /* float: channel-dropout probability; default 0.1 */
    DF_PARAM_STEGO_LR = 1514,         /* float: the head's Adam learning rate; default 5e-4 */
    DF_PARAM_STEGO_PROBE_LR = 1515,   /* float: the cluster probe's Adam learning rate; default 5e-3 */
    DF_PARAM_STEGO_SEED = 1516,       /* int: the trainer's generator (initial weights, dropout,
                                         coordinates, permutations, batches); default 0 */
    DF_PARAM_STEGO_KNN_RANKS = 1517,  /* int: a KNN partner is drawn from ranks 1..this; default 7 */
    DF_PARAM_STEGO_ADAM_EPS = 1518,   /* float: Adam's epsilon (head and probes); default 1e-8 (PyTorch's) */
    DF_PARAM_STEGO_DEVICE = 1519,     /* str: where a new trainer computes, "cpu", "cuda" or "cuda:N"
                                         (df_trainer_to moves one); default "cpu" */
    DF_PARAM_STEGO_PRECISION = 1520,  /* int df_dtype: the head's matrix products in DF_DTYPE_FLOAT32
                                         (default) or DF_DTYPE_BFLOAT16 (weights, Adam, losses and
                                         reductions stay float32); recorded in the trainer's file */

    /* Sempart (df_sempart_*, df_ncut_*, sempart.h): the paper's settings; *ours* where it is silent */
    DF_PARAM_SEMPART_TAU = 1600,      /* float: the normalized cut's edge threshold; default 0.2 */
    DF_PARAM_SEMPART_EPS = 1601,      /* float: the weight of non-edges (cut and coarse GTV); default 1e-6 */
    DF_PARAM_SEMPART_SIGMA = 1602,    /* float: the fine GTV's colour bandwidth; default 1 */
    DF_PARAM_SEMPART_WEIGHT_GTV_COARSE = 1603, /* float: default 0.0006 */
    DF_PARAM_SEMPART_WEIGHT_GTV_FINE = 1604,   /* float: default 0.0002 */
    DF_PARAM_SEMPART_WEIGHT_SR = 1605, /* float: the super-resolution term's weight; default 20 */
    DF_PARAM_SEMPART_LR = 1606,       /* float: Adam's learning rate; default 1e-4 */
    DF_PARAM_SEMPART_WIDTH = 1607,    /* int: the encoder's width (*ours*); default 64 */
    DF_PARAM_SEMPART_HEADS = 1608,    /* int: the encoder's attention heads; default 2 */
    DF_PARAM_SEMPART_JOINT = 1609,    /* int 0/1: all terms train the encoder (1, default); 0 trains
                                         the branches separately (the paper's ablation): the fine
                                         branch sees the encoder's output and the coarse mask
                                         detached */
    DF_PARAM_SEMPART_SEED = 1610,     /* int: initial weights and the epochs' orders; default 0 */
    DF_PARAM_SEMPART_SELECT = 1611,   /* int df_sempart_select: which partition is foreground;
                                         default DF_SEMPART_SELECT_CORNERS */
    DF_PARAM_SEMPART_THRESHOLD = 1612, /* float: masks are binarised above this; default 0.5 */
    DF_PARAM_SEMPART_BRANCHES = 1613, /* int df_sempart_branches: what a step trains; default both */
    DF_PARAM_SEMPART_ADAM_EPS = 1614, /* float: Adam's epsilon; default 1e-8 (PyTorch's) */
    DF_PARAM_SEMPART_DEVICE = 1615,   /* str: where a new trainer computes, "cpu", "cuda" or "cuda:N"
                                         (df_trainer_to moves one); default "cpu" */
    DF_PARAM_SEMPART_PRECISION = 1616, /* int df_dtype: the network's linear layers, attention and
                                         convolutions in DF_DTYPE_FLOAT32 (default) or
                                         DF_DTYPE_BFLOAT16 (weights, Adam, BatchNorm, losses and
                                         reductions stay float32); recorded in the trainer's file */

    /* NeCo (df_neco_*, neco.h): the official code's settings */
    DF_PARAM_NECO_STEEPNESS = 1700,   /* float: the sorting networks' steepness; default 100 */
    DF_PARAM_NECO_NETWORK = 1701,     /* int df_sort_network; default DF_SORT_BITONIC */
    DF_PARAM_NECO_SIGMOID = 1702,     /* int df_sort_sigmoid; default DF_SORT_CAUCHY */
    DF_PARAM_NECO_EUCLIDEAN = 1703,   /* int 0/1: Euclidean distances instead of cosine similarities;
                                         default 0 */
    DF_PARAM_NECO_SYMMETRIC = 1704,   /* int 0/1: add the reverse cross-entropy (the paper's form);
                                         default 0 (the official code's one direction) */
    DF_PARAM_NECO_GLOBAL_SIZE = 1705,  /* int: global crops' side in pixels; default 224 (518 in the released
                                         DINOv2 configs) */
    DF_PARAM_NECO_LOCAL_SIZE = 1706,   /* int: local crops' side; default 98 */
    DF_PARAM_NECO_GLOBAL_CROPS = 1707, /* int: global crops per image (the teacher's views); default 2 */
    DF_PARAM_NECO_LOCAL_CROPS = 1708,  /* int: local crops per image; default 4 */
    DF_PARAM_NECO_MIN_INTERSECTION = 1709, /* float: each crop overlaps every global crop by more than this
                                         fraction of the image (twice it between globals); default 0.01 */
    DF_PARAM_NECO_JITTER_P = 1710,     /* float: probability of colour jitter (0.8, 0.8, 0.8,
                                         0.2); default 0.8 */
    DF_PARAM_NECO_GREY_P = 1711,       /* float: probability of greyscale; default 0.2 */
    DF_PARAM_NECO_BLUR_P = 1712,       /* float: probability of a Gaussian blur of radius U(0.1, 2); default
                                         0.5 */
    DF_PARAM_NECO_SEED = 1713,         /* int: the generator of crops, drop-path, references and the epochs'
                                         orders; default 0 */
    DF_PARAM_NECO_LR_HEAD = 1714,      /* float: AdamW's peak learning rate of the projection head; default
                                         1e-4 */
    DF_PARAM_NECO_LR_BACKBONE = 1715,  /* float: AdamW's peak learning rate of the backbone; default 1e-5 */
    DF_PARAM_NECO_WEIGHT_DECAY = 1716, /* float: weight decay at the first step (cosine
                                         schedule); default 0.04 */
    DF_PARAM_NECO_WEIGHT_DECAY_END = 1717, /* float: weight decay at the last step; default 0.5 */
    DF_PARAM_NECO_MOMENTUM = 1718,     /* float: the teacher's EMA momentum at the first step (to 1 by a
                                         cosine); default 0.9995 */
    DF_PARAM_NECO_DROP_PATH = 1719,    /* float: the student's drop-path rate at the last block (linear over
                                         depth); default 0.1 */
    DF_PARAM_NECO_QUEUE = 1720,        /* int: entries per global-crop slot of the reference queue; 0
                                         (default): references from the batch */
    DF_PARAM_NECO_HEAD_HIDDEN = 1721,  /* int: the projection head's hidden width; default 2048 */
    DF_PARAM_NECO_HEAD_OUT = 1722,     /* int: the projection head's output width; default 256 */
    DF_PARAM_NECO_ADAM_EPS = 1723,     /* float: AdamW's epsilon; default 1e-8 (PyTorch's, the official code's) */

    /* Data-parallel training (df_distributed_*, distributed.h) */
    DF_PARAM_DISTRIBUTED_TIMEOUT = 1800, /* int: seconds the rendezvous and each collective wait
                                            for missing peers; default 300 */
    DF_PARAM_DISTRIBUTED_BUCKET_MB = 1801, /* float: MiB of float32 gradients per all-reduce, started
                                             while backward goes on (as DDP's bucket_cap_mb); 25 */

    /* A linear probe on frozen features (df_linear_probe_*, eval.h); defaults NeCo's (Leopart's) */
    DF_PARAM_PROBE_LR = 1900,          /* float: the linear probe's SGD learning rate; default 0.01 */
    DF_PARAM_PROBE_MOMENTUM = 1901,    /* float: the linear probe's SGD momentum; default 0.9 */
    DF_PARAM_PROBE_WEIGHT_DECAY = 1902, /* float: the linear probe's SGD weight decay; default 1e-4 */
    DF_PARAM_PROBE_DROP_AT = 1903,     /* int: epochs between the linear probe's learning-rate
                                          drops (StepLR's step_size); default 20 */
    DF_PARAM_PROBE_GAMMA = 1904,       /* float: the linear probe's learning rate is multiplied by
                                          this at each drop; default 0.1 */
    DF_PARAM_PROBE_SEED = 1905         /* int: the linear probe's initial weights' seed (and, in
                                          dinofeat paper, its crops' and epoch orders'); default 0 */
} df_param;

typedef enum df_param_type {
    DF_PARAM_TYPE_INT = 1,
    DF_PARAM_TYPE_FLOAT = 2,
    DF_PARAM_TYPE_STRING = 3
} df_param_type;

/* A set of parameter values; functions that take a `const df_options *` use the defaults for
 * every key not set, and all defaults when it is NULL. */
typedef struct df_options df_options;

/* out: new, free with df_options_free. Every key starts at its default. */
DF_API df_status df_options_new(df_options **out);
/* Does nothing when options is NULL. */
DF_API void df_options_free(df_options *options);
/* out: new, an independent copy of options; free with df_options_free. */
DF_API df_status df_options_copy(const df_options *options, df_options **out);

/* Typed setters and getters. A key of another type is DF_E_INVALID_ARG, an unknown key
 * DF_E_UNSUPPORTED, a value outside df_param_bounds DF_E_INVALID_ARG (nothing changes). */
DF_API df_status df_options_set_int(df_options *options, df_param key, int64_t value);
DF_API df_status df_options_get_int(const df_options *options, df_param key, int64_t *out);
DF_API df_status df_options_set_float(df_options *options, df_param key, double value);
DF_API df_status df_options_get_float(const df_options *options, df_param key, double *out);
/* value is copied. */
DF_API df_status df_options_set_str(df_options *options, df_param key, const char *value);
/* out: borrowed, lives until the key is set again or options is freed. */
DF_API df_status df_options_get_str(const df_options *options, df_param key, const char **out);

/* The type of a key. */
DF_API df_status df_param_type_of(df_param key, df_param_type *out);
/* The inclusive range of valid values of an int or float key. */
DF_API df_status df_param_bounds(df_param key, double *lower, double *upper);
/* Borrowed: the key's name in lower case ("image.max_pixels"), NULL for an unknown key. */
DF_API const char *df_param_name(df_param key);
/* The key with that name. */
DF_API df_status df_param_from_name(const char *name, df_param *out);
/* The parameters this build knows, in the order of the enum above: df_param_at(i, &key) for
 * i < df_param_count() (DF_E_INVALID_ARG past it). Tools list, document and set every parameter
 * from these, so that no parameter needs writing down twice. */
DF_API size_t df_param_count(void);
DF_API df_status df_param_at(size_t index, df_param *out);
/* A fresh df_options' value of key: an int or float key's in *number, a string key's in *string
 * (borrowed); either pointer may be NULL. DF_E_UNSUPPORTED for an unknown key. */
DF_API df_status df_param_default(df_param key, double *number, const char **string);
/* Borrowed: what key does, in one line (its comment above, without the type); NULL for an
 * unknown key. */
DF_API const char *df_param_help(df_param key);
/* Borrowed: the name of value for an enum-valued key ("cls" for DF_PARAM_UPS_ATTENTION and
 * DF_UPS_ATTN_CLS: the enum member without its common prefix, in lower case); NULL when key takes
 * no named values or value is none of them. Names of values outside df_param_bounds are NULL. */
DF_API const char *df_param_value_name(df_param key, int64_t value);
/* The value named name for an enum-valued key; DF_E_INVALID_ARG (the message lists the names)
 * when it is none of them, or the key takes no named values. */
DF_API df_status df_param_value_from_name(df_param key, const char *name, int64_t *out);
/* Sets one parameter from text, "name=value" (df_param_name's names): an int key takes a whole
 * number or one of its value names, a float key a number, a string key the rest of the text as
 * it is. DF_E_INVALID_ARG, saying why, for a malformed setting, an unknown name or a value out of
 * range (nothing changes). */
DF_API df_status df_options_set_from_string(df_options *options, const char *setting);

#ifdef __cplusplus
}
#endif

#endif /* DINOFEAT_CORE_H */
