/*
 * dinofeat evaluation: exact assignment (the Hungarian method) and streaming confusion matrices
 * with the unsupervised-segmentation protocols, dense retrieval and the linear probe
 * (specs/eval.md).
 */
#ifndef DINOFEAT_EVAL_H
#define DINOFEAT_EVAL_H

#include "dinofeat/core.h"
#include "dinofeat/regions.h"
#include "dinofeat/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Ground-truth pixels with this label are ignored. */
#define DF_IGNORE_LABEL 255

/* The optimal assignment of rows to columns of a rows x cols cost matrix (row-major), minimising
 * the total cost, as scipy.optimize.linear_sum_assignment: min(rows, cols) pairs. col_of_row[r]
 * (rows entries) is the column of row r, or -1 when rows > cols leaves it unassigned. Costs must
 * be finite. */
DF_API df_status df_linear_sum_assignment(const double *cost, size_t rows, size_t cols, int64_t *col_of_row);

typedef struct df_confusion df_confusion;

/* How predicted clusters are mapped to classes before scoring. */
typedef enum df_match {
    DF_MATCH_HUNGARIAN = 0,  /* one to one, maximising matched pixels; with more clusters than
                                classes the unmatched clusters' pixels count as errors */
    DF_MATCH_MANY_TO_ONE = 1, /* each cluster to the class it overlaps most (Leopart, NeCo) */
    DF_MATCH_HUNGARIAN_IOU = 2, /* one to one, maximising the sum of the matched pairs' IoU
                                  (NeCo's and Leopart's K = classes clustering) */
    DF_MATCH_NONE = 3          /* none: cluster i is class i (a trained probe's classes, as
                                  STEGO's linear-probe metrics); clusters past the classes are
                                  errors */
} df_match;

/* out: new, free with df_confusion_free: a clusters x classes matrix of zeros. */
DF_API df_status df_confusion_new(size_t clusters, size_t classes, df_confusion **out);
/* Does nothing when confusion is NULL. */
DF_API void df_confusion_free(df_confusion *confusion);
/* Adds count pixels: predicted in [0, clusters), truth in [0, classes) or DF_IGNORE_LABEL. Any
 * other value is DF_E_INVALID_ARG and nothing is added. */
DF_API df_status df_confusion_add(df_confusion *confusion, const int32_t *predicted, const int32_t *truth,
                                  size_t count);
/* out: borrowed, the clusters x classes counts (row-major), living until the next add or free. */
DF_API df_status df_confusion_counts(const df_confusion *confusion, const int64_t **out);
/* class_of_cluster (clusters entries): the class each cluster is mapped to, or -1. */
DF_API df_status df_confusion_match(const df_confusion *confusion, df_match match, int64_t *class_of_cluster);
/* After matching: mean IoU over the classes present in truth or prediction, pixel accuracy
 * (matched pixels / counted pixels), mean F1 (Dice); per_class_iou (classes entries, may be NULL)
 * holds each class's IoU, NaN for classes with no pixels anywhere. */
DF_API df_status df_confusion_scores(const df_confusion *confusion, df_match match, double *miou, double *accuracy,
                                     double *mean_f1, double *per_class_iou);

/* Saliency (foreground) evaluation over a dataset, one image per df_saliency_add. */
typedef struct df_saliency df_saliency;

/* out: new, free with df_saliency_free. */
DF_API df_status df_saliency_new(df_saliency **out);
/* Does nothing when saliency is NULL. */
DF_API void df_saliency_free(df_saliency *saliency);
/* Adds one image of count pixels: prediction 0..255 (soft, or binary as 0 / 255) and truth
 * 0..255, foreground where > 127 (anti-aliased edges are not foreground). */
DF_API df_status df_saliency_add(df_saliency *saliency, const uint8_t *prediction, const uint8_t *truth,
                                 size_t count);
/* iou: mean over images of the IoU of prediction > 127 with the truth (1 for an image where both
 * are empty); accuracy: mean pixel accuracy; max_f_beta: beta^2 = 0.3, precision and recall
 * averaged over images at each of 255 thresholds t_k = k / 254 (prediction / 255 >= t_k), the
 * maximum over thresholds of F_beta of those averages. Any output may be NULL. */
DF_API df_status df_saliency_scores(const df_saliency *saliency, double *iou, double *accuracy, double *max_f_beta);

/* The boxes (4 int32 each: x_min, y_min, x_max, y_max) of a box file: JSON when path ends in
 * .json (every "box": [x0, y0, x1, y1], as dinofeat segment, tokencut and sempart write them),
 * PASCAL VOC annotation when it ends in .xml (every <object>'s own <bndbox>, not its <part>s',
 * difficult and truncated objects included; VOC's 1-based inclusive corners made 0-based with the maximum exclusive,
 * x_min - 1 and y_min - 1, as the object-discovery papers' code does), otherwise text with four
 * whole numbers a line (blank lines and # comments allowed). Call with
 * boxes NULL to learn *count, then with room for capacity boxes. A box that cannot be read is
 * DF_E_FORMAT naming the file and line (CorLoc would count it a miss); a missing file DF_E_IO;
 * more boxes than capacity DF_E_INVALID_ARG. */
DF_API df_status df_boxes_load(const char *path, int32_t *boxes, size_t capacity, size_t *count);
/* CorLoc for one image: *out is 1 when some predicted box has IoU > 0.5 with some true box.
 * Boxes are 4 int32 each; either count may be 0. */
DF_API df_status df_corloc_hit(const int32_t *predicted, size_t predicted_count, const int32_t *truth,
                               size_t truth_count, int *out);

/* Dense nearest-neighbour retrieval (the Hummingbird in-context protocol): a memory bank of
 * labelled patch features; each query patch takes the labels of its k nearest bank features by
 * cosine similarity, combined by a similarity-weighted vote (DF_PARAM_RETRIEVAL_*). */
typedef struct df_retrieval df_retrieval;

/* out: new, free with df_retrieval_free: an empty bank of dim-dimensional features with labels
 * 0..classes - 1. options (NULL: defaults) holds DF_PARAM_RETRIEVAL_*. */
DF_API df_status df_retrieval_new(size_t dim, size_t classes, const df_options *options, df_retrieval **out);
/* Does nothing when retrieval is NULL. */
DF_API void df_retrieval_free(df_retrieval *retrieval);
/* Adds count features (count x dim floats, row-major; L2-normalised on the way in) with their
 * labels; features labelled DF_IGNORE_LABEL are skipped. Any other label outside 0..classes - 1 is
 * DF_E_INVALID_ARG and nothing is added. Past the bank's capacity, reservoir sampling keeps a
 * uniform sample of everything added. */
DF_API df_status df_retrieval_add(df_retrieval *retrieval, const float *features, const int32_t *labels,
                                  size_t count);
/* Adds count features with soft labels: distributions (count x classes, row-major, finite and >= 0;
 * Hummingbird's memory: each patch's fractions of pixels per class) weigh each class's share of a
 * neighbour's vote. Once a bank holds one, earlier and later class labels count as one-hot rows.
 * A negative or non-finite weight is DF_E_INVALID_ARG and nothing is added. */
DF_API df_status df_retrieval_add_soft(df_retrieval *retrieval, const float *features, const float *distributions,
                                       size_t count);
/* Features in the bank now. */
DF_API df_status df_retrieval_size(const df_retrieval *retrieval, size_t *out);
/* For count queries (count x dim): labels (count, may be NULL) the class of the highest vote, the
 * lowest on ties; scores (count x classes, may be NULL) the votes (with soft labels, each
 * neighbour's weight times its distribution, summed: Hummingbird's label estimate). Exact search by blocked matrix
 * products. DF_E_INVALID_ARG when the bank holds fewer than k features. */
DF_API df_status df_retrieval_predict(const df_retrieval *retrieval, const float *queries, size_t count,
                                      int32_t *labels, float *scores);

/* A linear probe on frozen patch features (the linear segmentation of NeCo's Table 2, after
 * Leopart): a 1 x 1 convolution D -> classes, its logits upsampled bilinearly (corners not
 * aligned) to the labels' size, cross-entropy over the scored pixels, SGD with momentum and weight
 * decay (PyTorch's torch.optim.SGD) and a step schedule (StepLR: lr x gamma^floor(epoch /
 * drop_at)); DF_PARAM_PROBE_*. The official code upsamples the features and then convolves; the
 * two are equal in arithmetic (the interpolation's weights sum to one) and this order keeps
 * classes, not D, channels at the labels' size. CPU only. */
typedef struct df_linear_probe df_linear_probe;

/* out: new, free with df_linear_probe_free: a probe of dim-dimensional features to classes
 * (1..254) classes, initialised as PyTorch's Conv2d (weights and biases uniform in
 * +-1/sqrt(dim)) from DF_PARAM_PROBE_SEED's generator. options (NULL: defaults). */
DF_API df_status df_linear_probe_new(size_t dim, size_t classes, const df_options *options, df_linear_probe **out);
/* Does nothing when probe is NULL. */
DF_API void df_linear_probe_free(df_linear_probe *probe);
/* One SGD step at the epoch's learning rate on a batch: features (B, h, w, D) float32 on the CPU
 * (df_forward's DF_OUTPUT_PATCH), labels B x height x width (row-major; DF_IGNORE_LABEL and any
 * value past the classes not scored). loss (may be NULL) gets the batch's mean cross-entropy. A
 * batch without a scored pixel changes nothing and has loss 0 (PyTorch's would be NaN and turn
 * every weight NaN). */
DF_API df_status df_linear_probe_step(df_linear_probe *probe, const df_tensor *features, const uint8_t *labels,
                                      size_t height, size_t width, double *loss);
/* Ends an epoch: the next steps take the schedule's next learning rate. */
DF_API df_status df_linear_probe_end_epoch(df_linear_probe *probe);
/* Epochs ended and steps taken since the probe was created (a loaded probe's included); either
 * may be NULL. */
DF_API df_status df_linear_probe_progress(const df_linear_probe *probe, int64_t *epochs, int64_t *steps);
/* labels (B x height x width, row-major): the class of the highest logit at each pixel of the
 * features' logits upsampled as in training (the lowest class on ties). */
DF_API df_status df_linear_probe_predict(const df_linear_probe *probe, const df_tensor *features, size_t height,
                                         size_t width, uint8_t *labels);
/* The probe (settings, weights, momentum buffers, epochs and steps) written to path atomically,
 * and read back: a loaded probe's next step is the saved one's next step. */
DF_API df_status df_linear_probe_save(const df_linear_probe *probe, const char *path);
DF_API df_status df_linear_probe_load(const char *path, df_linear_probe **out);

#ifdef __cplusplus
}
#endif

#endif /* DINOFEAT_EVAL_H */
