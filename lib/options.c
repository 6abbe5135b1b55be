/* Parameter keys (names, types, bounds, defaults) and the df_options value set. */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct dfi_param_value {
    int64_t value;
    const char *name;
} dfi_param_value;

typedef struct dfi_param_meta {
    df_param key;
    const char *help;
    const dfi_param_value *values; /* NULL-terminated; NULL when the key takes no named values */
} dfi_param_meta;

#include "param_meta.h"

typedef struct param_spec {
    df_param key;
    const char *name;
    df_param_type type;
    double lower, upper;
    double default_number;
    const char *default_string;
} param_spec;

/* One row per key; a new key is a new row (and a new enum value in core.h). */
static const param_spec param_table[] = {
    {DF_PARAM_IMAGE_MAX_PIXELS, "image.max_pixels", DF_PARAM_TYPE_INT, 1.0, 1099511627776.0,
     268435456.0, NULL},
    {DF_PARAM_IMAGE_APPLY_EXIF, "image.apply_exif", DF_PARAM_TYPE_INT, 0.0, 1.0, 1.0, NULL},
    {DF_PARAM_IMAGE_PALETTE_INDICES, "image.palette_indices", DF_PARAM_TYPE_INT, 0.0, 1.0, 0.0, NULL},
    {DF_PARAM_MODEL_PRECISION, "model.precision", DF_PARAM_TYPE_INT, 1.0, 3.0, 1.0, NULL},
    {DF_PARAM_MODEL_CHECKPOINT, "model.checkpoint", DF_PARAM_TYPE_STRING, 0, 0, 0, "teacher"},
    {DF_PARAM_MODEL_HEADS, "model.heads", DF_PARAM_TYPE_INT, 0.0, 4096.0, 0.0, NULL},
    {DF_PARAM_MODEL_POS_INTERP, "model.pos_interp", DF_PARAM_TYPE_INT, 0.0, 3.0, 0.0, NULL},
    {DF_PARAM_MODEL_STRIDE, "model.stride", DF_PARAM_TYPE_INT, 0.0, 1024.0, 0.0, NULL},
    {DF_PARAM_MODEL_COVER, "model.cover", DF_PARAM_TYPE_INT, 0.0, 2.0, 0.0, NULL},
    {DF_PARAM_MODEL_ATTN_CHUNK, "model.attn_chunk", DF_PARAM_TYPE_INT, -1.0, 1073741824.0, 0.0, NULL},
    {DF_PARAM_MODEL_LAYERS, "model.layers", DF_PARAM_TYPE_STRING, 0, 0, 0, ""},
    {DF_PARAM_UPS_STRIDE, "upsample.stride", DF_PARAM_TYPE_INT, 1.0, 1024.0, 4.0, NULL},
    {DF_PARAM_UPS_SHIFTS, "upsample.shifts", DF_PARAM_TYPE_STRING, 0, 0, 0, "1,2"},
    {DF_PARAM_UPS_NEIGHBOURHOOD, "upsample.neighbourhood", DF_PARAM_TYPE_INT, 0.0, 1.0, 0.0, NULL},
    {DF_PARAM_UPS_FLIPS, "upsample.flips", DF_PARAM_TYPE_INT, 0.0, 2.0, 1.0, NULL},
    {DF_PARAM_UPS_BORDER, "upsample.border", DF_PARAM_TYPE_INT, 0.0, 2.0, 0.0, NULL},
    {DF_PARAM_UPS_INTERP, "upsample.interp", DF_PARAM_TYPE_INT, 0.0, 1.0, 0.0, NULL},
    {DF_PARAM_UPS_ATTENTION, "upsample.attention", DF_PARAM_TYPE_INT, 0.0, 5.0, 0.0, NULL},
    {DF_PARAM_UPS_BATCH, "upsample.batch", DF_PARAM_TYPE_INT, 1.0, 4096.0, 1.0, NULL},
    {DF_PARAM_UPS_ON_DEVICE, "upsample.on_device", DF_PARAM_TYPE_INT, 0.0, 1.0, 0.0, NULL},
    {DF_PARAM_UPS_PAD, "upsample.pad", DF_PARAM_TYPE_INT, 0.0, 1.0, 0.0, NULL},
    {DF_PARAM_KMEANS_K, "kmeans.k", DF_PARAM_TYPE_INT, 1.0, 1048576.0, 8.0, NULL},
    {DF_PARAM_KMEANS_METRIC, "kmeans.metric", DF_PARAM_TYPE_INT, 0.0, 1.0, 0.0, NULL},
    {DF_PARAM_KMEANS_INITS, "kmeans.inits", DF_PARAM_TYPE_INT, 1.0, 1000.0, 10.0, NULL},
    {DF_PARAM_KMEANS_MAX_ITER, "kmeans.max_iter", DF_PARAM_TYPE_INT, 1.0, 1000000.0, 300.0, NULL},
    {DF_PARAM_KMEANS_TOL, "kmeans.tol", DF_PARAM_TYPE_FLOAT, 0.0, 1.0, 1e-4, NULL},
    {DF_PARAM_KMEANS_SEED, "kmeans.seed", DF_PARAM_TYPE_INT, 0.0, 9007199254740991.0, 0.0, NULL},
    {DF_PARAM_KMEANS_SAMPLE, "kmeans.sample", DF_PARAM_TYPE_INT, 0.0, 1099511627776.0, 0.0, NULL},
    {DF_PARAM_KMEANS_BATCH, "kmeans.batch", DF_PARAM_TYPE_INT, 0.0, 1099511627776.0, 0.0, NULL},
    {DF_PARAM_CRF_ITERATIONS, "crf.iterations", DF_PARAM_TYPE_INT, 0.0, 10000.0, 10.0, NULL},
    {DF_PARAM_CRF_GAUSSIAN_SXY, "crf.gaussian_sxy", DF_PARAM_TYPE_FLOAT, 1e-3, 1e6, 3.0, NULL},
    {DF_PARAM_CRF_GAUSSIAN_COMPAT, "crf.gaussian_compat", DF_PARAM_TYPE_FLOAT, 0.0, 1e6, 10.0, NULL},
    {DF_PARAM_CRF_BILATERAL_SXY, "crf.bilateral_sxy", DF_PARAM_TYPE_FLOAT, 1e-3, 1e6, 80.0, NULL},
    {DF_PARAM_CRF_BILATERAL_SRGB, "crf.bilateral_srgb", DF_PARAM_TYPE_FLOAT, 1e-3, 1e6, 13.0, NULL},
    {DF_PARAM_CRF_BILATERAL_COMPAT, "crf.bilateral_compat", DF_PARAM_TYPE_FLOAT, 0.0, 1e6, 10.0, NULL},
    {DF_PARAM_CRF_NORMALIZATION, "crf.normalization", DF_PARAM_TYPE_INT, 0.0, 1.0, 0.0, NULL},
    {DF_PARAM_CRF_FILTER, "crf.filter", DF_PARAM_TYPE_INT, 0.0, 1.0, 0.0, NULL},
    {DF_PARAM_CRF_PROB_FLOOR, "crf.prob_floor", DF_PARAM_TYPE_FLOAT, 1e-30, 1.0, 1e-5, NULL},
    {DF_PARAM_TOKENCUT_TAU, "tokencut.tau", DF_PARAM_TYPE_FLOAT, -1.0, 1.0, 0.2, NULL},
    {DF_PARAM_TOKENCUT_EPS, "tokencut.eps", DF_PARAM_TYPE_FLOAT, 1e-12, 1.0, 1e-5, NULL},
    {DF_PARAM_TOKENCUT_BINARY, "tokencut.binary", DF_PARAM_TYPE_INT, 0.0, 1.0, 1.0, NULL},
    {DF_PARAM_CAS_CUTOFF_SCALE, "cas.cutoff_scale", DF_PARAM_TYPE_FLOAT, 0.0, 1e6, 1.0, NULL},
    {DF_PARAM_CAS_BINS, "cas.bins", DF_PARAM_TYPE_INT, 1.0, 1e6, 20.0, NULL},
    {DF_PARAM_CAS_MIN_AREA, "cas.min_area", DF_PARAM_TYPE_INT, 0.0, 1099511627776.0, 200.0, NULL},
    {DF_PARAM_CAS_SUPERBOX_IOU, "cas.superbox_iou", DF_PARAM_TYPE_FLOAT, 0.0, 1.0, 0.8, NULL},
    {DF_PARAM_CAS_CRF, "cas.crf", DF_PARAM_TYPE_INT, 0.0, 1.0, 1.0, NULL},
    {DF_PARAM_RETRIEVAL_K, "retrieval.k", DF_PARAM_TYPE_INT, 1.0, 1048576.0, 30.0, NULL},
    {DF_PARAM_RETRIEVAL_TEMPERATURE, "retrieval.temperature", DF_PARAM_TYPE_FLOAT, 0.0, 1e6, 0.0, NULL},
    {DF_PARAM_RETRIEVAL_BANK, "retrieval.bank", DF_PARAM_TYPE_INT, 0.0, 1099511627776.0, 0.0, NULL},
    {DF_PARAM_RETRIEVAL_SEED, "retrieval.seed", DF_PARAM_TYPE_INT, 0.0, 9007199254740991.0, 0.0, NULL},
    {DF_PARAM_FOREST_TREES, "forest.trees", DF_PARAM_TYPE_INT, 1.0, 100000.0, 200.0, NULL},
    {DF_PARAM_FOREST_MAX_FEATURES, "forest.max_features", DF_PARAM_TYPE_INT, 1.0, 1048576.0, 2.0, NULL},
    {DF_PARAM_FOREST_MAX_DEPTH, "forest.max_depth", DF_PARAM_TYPE_INT, 0.0, 100000.0, 0.0, NULL},
    {DF_PARAM_FOREST_SEED, "forest.seed", DF_PARAM_TYPE_INT, 0.0, 9007199254740991.0, 0.0, NULL},
    {DF_PARAM_WEAK_CRF, "weak.crf", DF_PARAM_TYPE_INT, 0.0, 1.0, 0.0, NULL},
    {DF_PARAM_WEAK_FEATURES, "weak.features", DF_PARAM_TYPE_INT, 0.0, 2.0, 0.0, NULL},
    {DF_PARAM_WEAK_CLASSIFIER, "weak.classifier", DF_PARAM_TYPE_INT, 0.0, 2.0, 0.0, NULL},
    {DF_PARAM_WEAK_MAX_SIZE, "weak.max_size", DF_PARAM_TYPE_INT, 0.0, 1048576.0, 518.0, NULL},
    {DF_PARAM_WEAK_SAMPLES, "weak.samples", DF_PARAM_TYPE_INT, 0.0, 1e12, 0.0, NULL},
    {DF_PARAM_WEAK_LIVE_TREES, "weak.live_trees", DF_PARAM_TYPE_INT, 1.0, 100000.0, 100.0, NULL},
    {DF_PARAM_CLASSICAL_GROUPS, "classical.groups", DF_PARAM_TYPE_STRING, 0, 0, 0, "gaussian,sobel,hessian,dog,membrane"},
    {DF_PARAM_CLASSICAL_MIN_SIGMA, "classical.min_sigma", DF_PARAM_TYPE_INT, -1.0, 64.0, 0.0, NULL},
    {DF_PARAM_CLASSICAL_MAX_SIGMA, "classical.max_sigma", DF_PARAM_TYPE_INT, 1.0, 64.0, 16.0, NULL},
    {DF_PARAM_CLASSICAL_MEMBRANE_SIZE, "classical.membrane_size", DF_PARAM_TYPE_INT, 1.0, 255.0, 19.0, NULL},
    {DF_PARAM_CLASSICAL_MEMBRANE_THICKNESS, "classical.membrane_thickness", DF_PARAM_TYPE_INT, 1.0, 255.0, 1.0, NULL},
    {DF_PARAM_LOGREG_C, "logreg.c", DF_PARAM_TYPE_FLOAT, 1e-12, 1e12, 1.0, NULL},
    {DF_PARAM_LOGREG_MAX_ITER, "logreg.max_iter", DF_PARAM_TYPE_INT, 1.0, 1000000.0, 1000.0, NULL},
    {DF_PARAM_LOGREG_TOL, "logreg.tol", DF_PARAM_TYPE_FLOAT, 0.0, 1.0, 1e-9, NULL},
    {DF_PARAM_DATUS_THRESHOLD, "datus.threshold", DF_PARAM_TYPE_INT, 0.0, 1048576.0, 5.0, NULL},
    {DF_PARAM_DATUS_SIZE, "datus.size", DF_PARAM_TYPE_INT, 1.0, 16384.0, 224.0, NULL},
    {DF_PARAM_DATUS_RESIZE, "datus.resize", DF_PARAM_TYPE_INT, 1.0, 16384.0, 256.0, NULL},
    {DF_PARAM_DATUS_CROP, "datus.crop", DF_PARAM_TYPE_INT, 1.0, 16384.0, 224.0, NULL},
    {DF_PARAM_DATUS_SEED, "datus.seed", DF_PARAM_TYPE_INT, 0.0, 9007199254740991.0, 0.0, NULL},
    {DF_PARAM_DATUS_PCA, "datus.pca", DF_PARAM_TYPE_INT, 0.0, 1048576.0, 0.0, NULL},
    {DF_PARAM_DATASET_SIZE, "dataset.size", DF_PARAM_TYPE_INT, 0.0, 16384.0, 0.0, NULL},
    {DF_PARAM_DATASET_FIVE_CROP, "dataset.five_crop", DF_PARAM_TYPE_INT, 0.0, 1.0, 0.0, NULL},
    {DF_PARAM_DATASET_SHUFFLE, "dataset.shuffle", DF_PARAM_TYPE_INT, 0.0, 1.0, 0.0, NULL},
    {DF_PARAM_DATASET_SEED, "dataset.seed", DF_PARAM_TYPE_INT, 0.0, 9007199254740991.0, 0.0, NULL},
    {DF_PARAM_DATASET_WORKERS, "dataset.workers", DF_PARAM_TYPE_INT, 1.0, 64.0, 2.0, NULL},
    {DF_PARAM_DATASET_PREFETCH, "dataset.prefetch", DF_PARAM_TYPE_INT, 1.0, 4096.0, 8.0, NULL},
    {DF_PARAM_DATASET_FILTER, "dataset.filter", DF_PARAM_TYPE_INT, 0.0, 3.0, 2.0, NULL},
    {DF_PARAM_DATASET_SKIP_BROKEN, "dataset.skip_broken", DF_PARAM_TYPE_INT, 0.0, 1.0, 0.0, NULL},
    {DF_PARAM_DATASET_LAYOUT, "dataset.layout", DF_PARAM_TYPE_INT, 0.0, 16.0, 0.0, NULL},
    {DF_PARAM_DATASET_SPLIT, "dataset.split", DF_PARAM_TYPE_STRING, 0, 0, 0, "val"},
    {DF_PARAM_DATASET_LIST, "dataset.list", DF_PARAM_TYPE_STRING, 0, 0, 0, ""},
    {DF_PARAM_DATASET_MULTIPLE, "dataset.multiple", DF_PARAM_TYPE_INT, 0.0, 65536.0, 0.0, NULL},
    {DF_PARAM_DATASET_STRETCH, "dataset.stretch", DF_PARAM_TYPE_INT, 0.0, 1.0, 0.0, NULL},
    {DF_PARAM_DATASET_REMOVE_HARDS, "dataset.remove_hards", DF_PARAM_TYPE_INT, 0.0, 1.0, 0.0, NULL},
    {DF_PARAM_CACHE_HALF, "cache.half", DF_PARAM_TYPE_INT, 0.0, 1.0, 0.0, NULL},
    {DF_PARAM_CACHE_BATCH, "cache.batch", DF_PARAM_TYPE_INT, 1.0, 1024.0, 8.0, NULL},
    {DF_PARAM_STEGO_SHIFT_SELF, "stego.shift_self", DF_PARAM_TYPE_FLOAT, -10.0, 10.0, 0.18, NULL},
    {DF_PARAM_STEGO_SHIFT_KNN, "stego.shift_knn", DF_PARAM_TYPE_FLOAT, -10.0, 10.0, 0.12, NULL},
    {DF_PARAM_STEGO_SHIFT_RAND, "stego.shift_rand", DF_PARAM_TYPE_FLOAT, -10.0, 10.0, 0.46, NULL},
    {DF_PARAM_STEGO_WEIGHT_SELF, "stego.weight_self", DF_PARAM_TYPE_FLOAT, 0.0, 1000.0, 0.67, NULL},
    {DF_PARAM_STEGO_WEIGHT_KNN, "stego.weight_knn", DF_PARAM_TYPE_FLOAT, 0.0, 1000.0, 0.25, NULL},
    {DF_PARAM_STEGO_WEIGHT_RAND, "stego.weight_rand", DF_PARAM_TYPE_FLOAT, 0.0, 1000.0, 0.63, NULL},
    {DF_PARAM_STEGO_CENTER, "stego.center", DF_PARAM_TYPE_INT, 0.0, 1.0, 1.0, NULL},
    {DF_PARAM_STEGO_STABILIZE, "stego.stabilize", DF_PARAM_TYPE_INT, 0.0, 1.0, 0.0, NULL},
    {DF_PARAM_STEGO_ZERO_CLAMP, "stego.zero_clamp", DF_PARAM_TYPE_INT, 0.0, 1.0, 1.0, NULL},
    {DF_PARAM_STEGO_SAMPLES, "stego.samples", DF_PARAM_TYPE_INT, 1.0, 1024.0, 11.0, NULL},
    {DF_PARAM_STEGO_NEGATIVES, "stego.negatives", DF_PARAM_TYPE_INT, 0.0, 1024.0, 5.0, NULL},
    {DF_PARAM_STEGO_CODE_DIM, "stego.code_dim", DF_PARAM_TYPE_INT, 1.0, 65536.0, 70.0, NULL},
    {DF_PARAM_STEGO_CLASSES, "stego.classes", DF_PARAM_TYPE_INT, 1.0, 65536.0, 27.0, NULL},
    {DF_PARAM_STEGO_DROPOUT, "stego.dropout", DF_PARAM_TYPE_FLOAT, 0.0, 0.99, 0.1, NULL},
    {DF_PARAM_STEGO_LR, "stego.lr", DF_PARAM_TYPE_FLOAT, 0.0, 10.0, 5e-4, NULL},
    {DF_PARAM_STEGO_PROBE_LR, "stego.probe_lr", DF_PARAM_TYPE_FLOAT, 0.0, 10.0, 5e-3, NULL},
    {DF_PARAM_STEGO_SEED, "stego.seed", DF_PARAM_TYPE_INT, 0.0, 9007199254740991.0, 0.0, NULL},
    {DF_PARAM_STEGO_KNN_RANKS, "stego.knn_ranks", DF_PARAM_TYPE_INT, 1.0, 4096.0, 7.0, NULL},
    {DF_PARAM_STEGO_ADAM_EPS, "stego.adam_eps", DF_PARAM_TYPE_FLOAT, 1e-12, 1e6, 1e-8, NULL},
    {DF_PARAM_STEGO_DEVICE, "stego.device", DF_PARAM_TYPE_STRING, 0, 0, 0, "cpu"},
    {DF_PARAM_STEGO_PRECISION, "stego.precision", DF_PARAM_TYPE_INT, 1.0, 3.0, 1.0, NULL},
    {DF_PARAM_SEMPART_TAU, "sempart.tau", DF_PARAM_TYPE_FLOAT, -1.0, 1.0, 0.2, NULL},
    {DF_PARAM_SEMPART_EPS, "sempart.eps", DF_PARAM_TYPE_FLOAT, 0.0, 1.0, 1e-6, NULL},
    {DF_PARAM_SEMPART_SIGMA, "sempart.sigma", DF_PARAM_TYPE_FLOAT, 1e-6, 1e6, 1.0, NULL},
    {DF_PARAM_SEMPART_WEIGHT_GTV_COARSE, "sempart.weight_gtv_coarse", DF_PARAM_TYPE_FLOAT, 0.0, 1e6, 0.0006, NULL},
    {DF_PARAM_SEMPART_WEIGHT_GTV_FINE, "sempart.weight_gtv_fine", DF_PARAM_TYPE_FLOAT, 0.0, 1e6, 0.0002, NULL},
    {DF_PARAM_SEMPART_WEIGHT_SR, "sempart.weight_sr", DF_PARAM_TYPE_FLOAT, 0.0, 1e6, 20.0, NULL},
    {DF_PARAM_SEMPART_LR, "sempart.lr", DF_PARAM_TYPE_FLOAT, 0.0, 10.0, 1e-4, NULL},
    {DF_PARAM_SEMPART_WIDTH, "sempart.width", DF_PARAM_TYPE_INT, 1.0, 4096.0, 64.0, NULL},
    {DF_PARAM_SEMPART_HEADS, "sempart.heads", DF_PARAM_TYPE_INT, 1.0, 64.0, 2.0, NULL},
    {DF_PARAM_SEMPART_JOINT, "sempart.joint", DF_PARAM_TYPE_INT, 0.0, 1.0, 1.0, NULL},
    {DF_PARAM_SEMPART_SEED, "sempart.seed", DF_PARAM_TYPE_INT, 0.0, 9007199254740991.0, 0.0, NULL},
    {DF_PARAM_SEMPART_SELECT, "sempart.select", DF_PARAM_TYPE_INT, 0.0, 3.0, 0.0, NULL},
    {DF_PARAM_SEMPART_THRESHOLD, "sempart.threshold", DF_PARAM_TYPE_FLOAT, 0.0, 1.0, 0.5, NULL},
    {DF_PARAM_SEMPART_BRANCHES, "sempart.branches", DF_PARAM_TYPE_INT, 1.0, 3.0, 3.0, NULL},
    {DF_PARAM_SEMPART_ADAM_EPS, "sempart.adam_eps", DF_PARAM_TYPE_FLOAT, 1e-12, 1e6, 1e-8, NULL},
    {DF_PARAM_SEMPART_DEVICE, "sempart.device", DF_PARAM_TYPE_STRING, 0, 0, 0, "cpu"},
    {DF_PARAM_SEMPART_PRECISION, "sempart.precision", DF_PARAM_TYPE_INT, 1.0, 3.0, 1.0, NULL},
    {DF_PARAM_NECO_STEEPNESS, "neco.steepness", DF_PARAM_TYPE_FLOAT, 1e-6, 1e12, 100.0, NULL},
    {DF_PARAM_NECO_NETWORK, "neco.network", DF_PARAM_TYPE_INT, 0.0, 1.0, 0.0, NULL},
    {DF_PARAM_NECO_SIGMOID, "neco.sigmoid", DF_PARAM_TYPE_INT, 0.0, 5.0, 0.0, NULL},
    {DF_PARAM_NECO_EUCLIDEAN, "neco.euclidean", DF_PARAM_TYPE_INT, 0.0, 1.0, 0.0, NULL},
    {DF_PARAM_NECO_SYMMETRIC, "neco.symmetric", DF_PARAM_TYPE_INT, 0.0, 1.0, 0.0, NULL},
    {DF_PARAM_NECO_GLOBAL_SIZE, "neco.global_size", DF_PARAM_TYPE_INT, 14.0, 4096.0, 224.0, NULL},
    {DF_PARAM_NECO_LOCAL_SIZE, "neco.local_size", DF_PARAM_TYPE_INT, 14.0, 4096.0, 98.0, NULL},
    {DF_PARAM_NECO_GLOBAL_CROPS, "neco.global_crops", DF_PARAM_TYPE_INT, 1.0, 8.0, 2.0, NULL},
    {DF_PARAM_NECO_LOCAL_CROPS, "neco.local_crops", DF_PARAM_TYPE_INT, 0.0, 32.0, 4.0, NULL},
    {DF_PARAM_NECO_MIN_INTERSECTION, "neco.min_intersection", DF_PARAM_TYPE_FLOAT, 0.0, 0.5, 0.01, NULL},
    {DF_PARAM_NECO_JITTER_P, "neco.jitter_p", DF_PARAM_TYPE_FLOAT, 0.0, 1.0, 0.8, NULL},
    {DF_PARAM_NECO_GREY_P, "neco.grey_p", DF_PARAM_TYPE_FLOAT, 0.0, 1.0, 0.2, NULL},
    {DF_PARAM_NECO_BLUR_P, "neco.blur_p", DF_PARAM_TYPE_FLOAT, 0.0, 1.0, 0.5, NULL},
    {DF_PARAM_NECO_SEED, "neco.seed", DF_PARAM_TYPE_INT, 0.0, 9007199254740991.0, 0.0, NULL},
    {DF_PARAM_NECO_LR_HEAD, "neco.lr_head", DF_PARAM_TYPE_FLOAT, 0.0, 10.0, 0.0001, NULL},
    {DF_PARAM_NECO_LR_BACKBONE, "neco.lr_backbone", DF_PARAM_TYPE_FLOAT, 0.0, 10.0, 1e-05, NULL},
    {DF_PARAM_NECO_WEIGHT_DECAY, "neco.weight_decay", DF_PARAM_TYPE_FLOAT, 0.0, 10.0, 0.04, NULL},
    {DF_PARAM_NECO_WEIGHT_DECAY_END, "neco.weight_decay_end", DF_PARAM_TYPE_FLOAT, 0.0, 10.0, 0.5, NULL},
    {DF_PARAM_NECO_MOMENTUM, "neco.momentum", DF_PARAM_TYPE_FLOAT, 0.0, 1.0, 0.9995, NULL},
    {DF_PARAM_NECO_DROP_PATH, "neco.drop_path", DF_PARAM_TYPE_FLOAT, 0.0, 0.9, 0.1, NULL},
    {DF_PARAM_NECO_QUEUE, "neco.queue", DF_PARAM_TYPE_INT, 0.0, 1048576.0, 0.0, NULL},
    {DF_PARAM_NECO_HEAD_HIDDEN, "neco.head_hidden", DF_PARAM_TYPE_INT, 1.0, 65536.0, 2048.0, NULL},
    {DF_PARAM_NECO_HEAD_OUT, "neco.head_out", DF_PARAM_TYPE_INT, 1.0, 65536.0, 256.0, NULL},
    {DF_PARAM_NECO_ADAM_EPS, "neco.adam_eps", DF_PARAM_TYPE_FLOAT, 1e-12, 1e6, 1e-8, NULL},
    {DF_PARAM_DISTRIBUTED_TIMEOUT, "distributed.timeout", DF_PARAM_TYPE_INT, 1.0, 86400.0, 300.0, NULL},
    {DF_PARAM_DISTRIBUTED_BUCKET_MB, "distributed.bucket_mb", DF_PARAM_TYPE_FLOAT, 0.0001, 4096.0, 25.0, NULL},
    {DF_PARAM_PROBE_LR, "probe.lr", DF_PARAM_TYPE_FLOAT, 0.0, 10.0, 0.01, NULL},
    {DF_PARAM_PROBE_MOMENTUM, "probe.momentum", DF_PARAM_TYPE_FLOAT, 0.0, 0.999, 0.9, NULL},
    {DF_PARAM_PROBE_WEIGHT_DECAY, "probe.weight_decay", DF_PARAM_TYPE_FLOAT, 0.0, 1.0, 1e-4, NULL},
    {DF_PARAM_PROBE_DROP_AT, "probe.drop_at", DF_PARAM_TYPE_INT, 1.0, 1000000.0, 20.0, NULL},
    {DF_PARAM_PROBE_GAMMA, "probe.gamma", DF_PARAM_TYPE_FLOAT, 0.0, 1.0, 0.1, NULL},
    {DF_PARAM_PROBE_SEED, "probe.seed", DF_PARAM_TYPE_INT, 0.0, 9007199254740991.0, 0.0, NULL},
};
#define PARAM_COUNT (sizeof param_table / sizeof param_table[0])

typedef struct param_value {
    int is_set;
    int64_t int_value;
    double float_value;
    char *string_value;
} param_value;

struct df_options {
    param_value values[PARAM_COUNT];
};

static int param_index(df_param key) {
    for (size_t i = 0; i < PARAM_COUNT; i++)
        if (param_table[i].key == key) return (int)i;
    return -1;
}

/* Finds the key and checks its type, recording the error otherwise. */
static df_status lookup(df_param key, df_param_type expected, int *index) {
    *index = param_index(key);
    if (*index < 0) return dfi_error(DF_E_UNSUPPORTED, "unknown parameter key %d", (int)key);
    const param_spec *spec = &param_table[*index];
    if (expected != 0 && spec->type != expected)
        return dfi_error(DF_E_INVALID_ARG, "parameter '%s' is not of the type this function takes",
                         spec->name);
    return DF_OK;
}

df_status df_options_new(df_options **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = calloc(1, sizeof **out);
    if (*out == NULL) DFI_RETURN(dfi_error(DF_E_OUT_OF_MEMORY, "out of memory"));
    return DF_OK;
}

void df_options_free(df_options *options) {
    if (options == NULL) return;
    for (size_t i = 0; i < PARAM_COUNT; i++) free(options->values[i].string_value);
    free(options);
}

df_status df_options_copy(const df_options *options, df_options **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_NOT_NULL(options);
    df_options *copy = calloc(1, sizeof *copy);
    if (copy == NULL) DFI_RETURN(dfi_error(DF_E_OUT_OF_MEMORY, "out of memory"));
    *copy = *options;
    for (size_t i = 0; i < PARAM_COUNT; i++) {
        copy->values[i].string_value = NULL;
        if (options->values[i].string_value == NULL) continue;
        copy->values[i].string_value = strdup(options->values[i].string_value);
        if (copy->values[i].string_value == NULL) {
            df_options_free(copy);
            DFI_RETURN(dfi_error(DF_E_OUT_OF_MEMORY, "out of memory"));
        }
    }
    *out = copy;
    return DF_OK;
}

static df_status check_bounds(const param_spec *spec, double value) {
    if (!(value >= spec->lower && value <= spec->upper))
        return dfi_error(DF_E_INVALID_ARG, "parameter '%s' must be in [%.17g, %.17g], got %.17g",
                         spec->name, spec->lower, spec->upper, value);
    return DF_OK;
}

df_status df_options_set_int(df_options *options, df_param key, int64_t value) {
    DFI_CHECK_NOT_NULL(options);
    int i;
    df_status status = lookup(key, DF_PARAM_TYPE_INT, &i);
    if (status == DF_OK) status = check_bounds(&param_table[i], (double)value);
    if (status != DF_OK) DFI_RETURN(status);
    options->values[i].is_set = 1;
    options->values[i].int_value = value;
    return DF_OK;
}

df_status df_options_get_int(const df_options *options, df_param key, int64_t *out) {
    DFI_CHECK_NOT_NULL(options);
    DFI_CHECK_NOT_NULL(out);
    int i;
    df_status status = lookup(key, DF_PARAM_TYPE_INT, &i);
    if (status != DF_OK) DFI_RETURN(status);
    *out = options->values[i].is_set ? options->values[i].int_value
                                     : (int64_t)param_table[i].default_number;
    return DF_OK;
}

df_status df_options_set_float(df_options *options, df_param key, double value) {
    DFI_CHECK_NOT_NULL(options);
    int i;
    df_status status = lookup(key, DF_PARAM_TYPE_FLOAT, &i);
    if (status == DF_OK) status = check_bounds(&param_table[i], value);
    if (status != DF_OK) DFI_RETURN(status);
    options->values[i].is_set = 1;
    options->values[i].float_value = value;
    return DF_OK;
}

df_status df_options_get_float(const df_options *options, df_param key, double *out) {
    DFI_CHECK_NOT_NULL(options);
    DFI_CHECK_NOT_NULL(out);
    int i;
    df_status status = lookup(key, DF_PARAM_TYPE_FLOAT, &i);
    if (status != DF_OK) DFI_RETURN(status);
    *out = options->values[i].is_set ? options->values[i].float_value
                                     : param_table[i].default_number;
    return DF_OK;
}

df_status df_options_set_str(df_options *options, df_param key, const char *value) {
    DFI_CHECK_NOT_NULL(options);
    DFI_CHECK_NOT_NULL(value);
    int i;
    df_status status = lookup(key, DF_PARAM_TYPE_STRING, &i);
    if (status != DF_OK) DFI_RETURN(status);
    char *copy = strdup(value);
    if (copy == NULL) DFI_RETURN(dfi_error(DF_E_OUT_OF_MEMORY, "out of memory"));
    free(options->values[i].string_value);
    options->values[i].string_value = copy;
    options->values[i].is_set = 1;
    return DF_OK;
}

df_status df_options_get_str(const df_options *options, df_param key, const char **out) {
    DFI_CHECK_NOT_NULL(options);
    DFI_CHECK_NOT_NULL(out);
    int i;
    df_status status = lookup(key, DF_PARAM_TYPE_STRING, &i);
    if (status != DF_OK) DFI_RETURN(status);
    *out = options->values[i].is_set ? options->values[i].string_value
                                     : param_table[i].default_string;
    return DF_OK;
}

df_status df_param_type_of(df_param key, df_param_type *out) {
    DFI_CHECK_NOT_NULL(out);
    int i;
    df_status status = lookup(key, 0, &i);
    if (status != DF_OK) DFI_RETURN(status);
    *out = param_table[i].type;
    return DF_OK;
}

df_status df_param_bounds(df_param key, double *lower, double *upper) {
    DFI_CHECK_NOT_NULL(lower);
    DFI_CHECK_NOT_NULL(upper);
    int i;
    df_status status = lookup(key, 0, &i);
    if (status == DF_OK && param_table[i].type == DF_PARAM_TYPE_STRING)
        status = dfi_error(DF_E_INVALID_ARG, "parameter '%s' is a string and has no bounds",
                           param_table[i].name);
    if (status != DF_OK) DFI_RETURN(status);
    *lower = param_table[i].lower;
    *upper = param_table[i].upper;
    return DF_OK;
}

const char *df_param_name(df_param key) {
    int i = param_index(key);
    return i < 0 ? NULL : param_table[i].name;
}

df_status df_param_from_name(const char *name, df_param *out) {
    DFI_CHECK_NOT_NULL(name);
    DFI_CHECK_NOT_NULL(out);
    for (size_t i = 0; i < PARAM_COUNT; i++) {
        if (strcmp(param_table[i].name, name) == 0) {
            *out = param_table[i].key;
            return DF_OK;
        }
    }
    DFI_RETURN(dfi_error(DF_E_UNSUPPORTED, "unknown parameter name '%s'", name));
}

const char *dfi_option_str(const df_options *options, df_param key) {
    int i = param_index(key);
    if (i < 0) return NULL;
    if (options != NULL && options->values[i].is_set) return options->values[i].string_value;
    return param_table[i].default_string;
}

double dfi_option_float(const df_options *options, df_param key) {
    int i = param_index(key);
    if (i < 0) return 0.0;
    if (options != NULL && options->values[i].is_set) return options->values[i].float_value;
    return param_table[i].default_number;
}

int dfi_option_is_set(const df_options *options, df_param key) {
    int i = param_index(key);
    return i >= 0 && options != NULL && options->values[i].is_set;
}

int64_t dfi_option_int(const df_options *options, df_param key) {
    int i = param_index(key);
    if (i < 0) return 0;
    if (options != NULL && options->values[i].is_set) return options->values[i].int_value;
    return (int64_t)param_table[i].default_number;
}

size_t df_param_count(void) { return PARAM_COUNT; }

df_status df_param_at(size_t index, df_param *out) {
    DFI_CHECK_NOT_NULL(out);
    if (index >= PARAM_COUNT)
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "parameter index %zu: there are %zu", index, (size_t)PARAM_COUNT));
    *out = param_table[index].key;
    return DF_OK;
}

df_status df_param_default(df_param key, double *number, const char **string) {
    int i;
    const df_status status = lookup(key, 0, &i);
    if (status != DF_OK) DFI_RETURN(status);
    if (number) *number = param_table[i].default_number;
    if (string) *string = param_table[i].default_string;
    return DF_OK;
}

static const dfi_param_meta *meta_of(df_param key) {
    for (size_t i = 0; i < sizeof param_meta / sizeof *param_meta; i++)
        if (param_meta[i].key == key) return &param_meta[i];
    return NULL;
}

const char *df_param_help(df_param key) {
    const dfi_param_meta *meta = param_index(key) < 0 ? NULL : meta_of(key);
    return meta ? meta->help : NULL;
}

/* The named values of key that its bounds allow, in a NULL-terminated list, or NULL. */
static int value_allowed(int index, int64_t value) {
    return (double)value >= param_table[index].lower && (double)value <= param_table[index].upper;
}

const char *df_param_value_name(df_param key, int64_t value) {
    const int i = param_index(key);
    const dfi_param_meta *meta = i < 0 ? NULL : meta_of(key);
    for (const dfi_param_value *v = meta ? meta->values : NULL; v && v->name; v++)
        if (v->value == value && value_allowed(i, value)) return v->name;
    return NULL;
}

/* "a, b, c": the value names of key, into text. */
static void list_names(int index, const dfi_param_value *values, char *text, size_t size) {
    size_t used = 0;
    text[0] = 0;
    for (const dfi_param_value *v = values; v && v->name; v++)
        if (value_allowed(index, v->value) && used < size)
            used += (size_t)snprintf(text + used, size - used, "%s%s", used ? ", " : "", v->name);
}

df_status df_param_value_from_name(df_param key, const char *name, int64_t *out) {
    DFI_CHECK_NOT_NULL(name);
    DFI_CHECK_NOT_NULL(out);
    int i;
    const df_status status = lookup(key, 0, &i);
    if (status != DF_OK) DFI_RETURN(status);
    const dfi_param_meta *meta = meta_of(key);
    if (meta == NULL || meta->values == NULL)
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "parameter '%s' takes no named values", param_table[i].name));
    for (const dfi_param_value *v = meta->values; v->name; v++)
        if (strcmp(v->name, name) == 0 && value_allowed(i, v->value)) {
            *out = v->value;
            return DF_OK;
        }
    char names[512];
    list_names(i, meta->values, names, sizeof names);
    DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "parameter '%s' takes %s, not '%s'", param_table[i].name, names, name));
}

/* value as a whole number, or -1 if it is not one. */
static int parse_integer(const char *text, int64_t *out) {
    char *end;
    errno = 0;
    const long long v = strtoll(text, &end, 10);
    if (errno || end == text || *end) return -1;
    *out = (int64_t)v;
    return 0;
}

static df_status set_parsed(df_options *options, int i, const char *value) {
    const param_spec *spec = &param_table[i];
    if (spec->type == DF_PARAM_TYPE_STRING) return df_options_set_str(options, spec->key, value);
    if (spec->type == DF_PARAM_TYPE_FLOAT) {
        char *end;
        errno = 0;
        const double v = strtod(value, &end);
        if (errno || end == value || *end || !isfinite(v))
            return dfi_error(DF_E_INVALID_ARG, "parameter '%s' takes a number, not '%s'", spec->name, value);
        return df_options_set_float(options, spec->key, v);
    }
    int64_t v;
    if (parse_integer(value, &v) == 0) return df_options_set_int(options, spec->key, v);
    const dfi_param_meta *meta = meta_of(spec->key);
    if (meta == NULL || meta->values == NULL)
        return dfi_error(DF_E_INVALID_ARG, "parameter '%s' takes a whole number, not '%s'", spec->name, value);
    const df_status status = df_param_value_from_name(spec->key, value, &v);
    return status == DF_OK ? df_options_set_int(options, spec->key, v) : status;
}

df_status df_options_set_from_string(df_options *options, const char *setting) {
    DFI_CHECK_NOT_NULL(options);
    DFI_CHECK_NOT_NULL(setting);
    const char *equals = strchr(setting, '=');
    if (equals == NULL || equals == setting)
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "'%s' is not name=value", setting));
    const size_t length = (size_t)(equals - setting);
    for (size_t i = 0; i < PARAM_COUNT; i++)
        if (strlen(param_table[i].name) == length && strncmp(param_table[i].name, setting, length) == 0)
            DFI_RETURN(set_parsed(options, (int)i, equals + 1));
    DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "unknown parameter '%.*s' (dinofeat params lists them)", (int)length,
                         setting));
}
