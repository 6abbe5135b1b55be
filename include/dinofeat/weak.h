/*
 * dinofeat weak supervision (HR-Dv2 section 3.3, specs/hrdv2.md sections 3 and 4): per-pixel
 * feature stacks (classical, deep, hybrid), classifiers (random forest, logistic regression),
 * training from scribbles, prediction, classifier files.
 */
#ifndef DINOFEAT_WEAK_H
#define DINOFEAT_WEAK_H

#include "dinofeat/core.h"
#include "dinofeat/image.h"
#include "dinofeat/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Channels of the classical (Trainable Weka style) stack. */
#define DF_CLASSICAL_CHANNELS 58

/* The classical feature stack of a width x height grey image (row-major bytes; a colour image is
 * converted first, as df_image_convert does: ITU-R 601 luma, PIL's "L"), equal to HR-Dv2's own
 * featuriser (hr_dv2/wss/features.py, multiscale_advanced_features with its default Weka set,
 * scikit-image 0.19 and scipy semantics) to float32 rounding. out: width * height * 58 floats, the
 * channels of each pixel contiguous, in the official order: scale 0 (the raw 0..255 value; the
 * Sobel magnitude of the image in [0, 1]; the five Hessian channels of the raw values), then for
 * sigma 1, 2, 4, 8, 16 the image in [0, 1] blurred with a Gaussian of standard deviation 0.4 sigma
 * (border nearest, truncated at 4 standard deviations), its Sobel magnitude and its five Hessian
 * channels; the ten differences of Gaussians G_j - G_i (j < i); and the mean, max, min, sum,
 * standard deviation and median of 30 membrane projections (a 19 x 19 kernel whose centre column
 * is ones, rotated by 0, 6, ..., 174 degrees with scipy.ndimage.rotate's cubic spline and rounded,
 * convolved with border reflect). Sobel: [1, 0, -1] x [1, 2, 1] / 4, magnitude
 * sqrt((Gx^2 + Gy^2) / 2), border reflect. Hessian: a = Hyy, b = Hxy, d = Hxx from np.gradient
 * applied twice (one-sided differences at the borders); sqrt(a^2 + b^2 + d^2), a + d, a d - b^2,
 * and the two eigenvalues. Images need at least 2 x 2 pixels (DF_E_INVALID_ARG otherwise). */
DF_API df_status df_classical_features(const uint8_t *grey, size_t width, size_t height, float *out);
/* The classical features with the groups and settings of options (NULL: the default 58 above;
 * DF_PARAM_CLASSICAL_*), as the official featuriser stacks them: scale 0 when the minimum sigma is
 * 0 (the raw value, then Sobel and Hessian if chosen); per scale its Gaussian, Sobel, five Hessian
 * channels, then the rank filters mean, median, minimum, maximum of the bytes over the disk of
 * radius ceil(sigma) (pixels at squared distance below its square, those inside the image; the
 * mean truncated), then the entropy over the values below 32, 64 and 128 in that disk (each
 * count relative to the largest, p, summed as -p log2 p; 0 where no value is below the bin count,
 * where the official code gives NaN or reads uninitialised memory), then the two eigenvalues of
 * the structure tensor (scipy's unnormalised Sobel
 * derivatives of the image in [0, 1], their products smoothed by a Gaussian of sigma, both with
 * border 0; largest first), then the 8 neighbours at distance int(sigma) (the image wrapped; x = -1, 0, 1
 * outer, y inner), then the derivatives (the rank gradient, max - min over that disk, applied 10
 * times to the bytes; orders 4, 6, 8, 10), each group only if chosen; the differences of
 * Gaussians; the membrane statistics; the bilateral means (disks of radius 5 and 10, each over the
 * values within 50 and within 100 of the centre's, truncated). out: width * height *
 * df_classical_channels floats. */
DF_API df_status df_classical_compute(const uint8_t *grey, size_t width, size_t height, const df_options *options,
                                      float *out);
/* df_classical_compute of a df_image: grey or colour (converted as df_image_convert does), 8 or
 * 16 bits. A 16-bit image is what the official featuriser computes from a uint16 array: the raw
 * channel holds 0..65535, the filters see the samples / 65535; the rank filters (mean, median,
 * minimum, maximum, entropy, derivatives, bilateral), which need bytes, see the high byte of each
 * sample (skimage's img_as_ubyte; the official code's astype(np.uint8) keeps the low byte, whose
 * values wrap, and is not followed). out: width * height * df_classical_channels floats. */
DF_API df_status df_classical_compute_image(const df_image *image, const df_options *options, float *out);
/* The channels df_classical_compute writes with options (NULL: 58). DF_E_INVALID_ARG names an
 * unknown group or a maximum sigma below the minimum. */
DF_API df_status df_classical_channels(const df_options *options, size_t *channels);
/* The name of channel index with options into name (size bytes, truncated to fit): "gaussian_1",
 * "mean_4", "neighbour_-1_0_2" (x, y, sigma), ...; an index past the last is DF_E_INVALID_ARG. */
DF_API df_status df_classical_channel_label(const df_options *options, size_t index, char *name, size_t size);
/* Borrowed: the name of channel index ("raw", "sobel_0", ..., "membrane_median"); NULL past 57. */
DF_API const char *df_classical_channel_name(size_t index);

/* A random forest classifier: CART trees on uniform bootstrap samples, samples weighted inversely
 * to their class's frequency (scikit-learn's class_weight='balanced'), weighted Gini impurity,
 * DF_PARAM_FOREST_MAX_FEATURES random features tried per split, trees grown until pure unless
 * DF_PARAM_FOREST_MAX_DEPTH; probabilities are the mean of the leaves' class distributions. */
typedef struct df_forest df_forest;

/* out: new, free with df_forest_free. x: n x features floats (finite), y: n labels in
 * 0..classes - 1; options (NULL: defaults) holds DF_PARAM_FOREST_*. Trees grow in parallel. */
DF_API df_status df_forest_train(const float *x, const int32_t *y, size_t n, size_t features, size_t classes,
                                 const df_options *options, df_forest **out);
/* probabilities: n x classes floats for the n x features samples x. */
DF_API df_status df_forest_predict(const df_forest *forest, const float *x, size_t n, float *probabilities);
/* Does nothing when forest is NULL. */
DF_API void df_forest_free(df_forest *forest);

/* Logistic regression as scikit-learn's LogisticRegression(C, class_weight='balanced') defines it:
 * multinomial for three or more classes, one sigmoid for two; L2 penalty 1/2 |W|^2 (intercepts
 * not penalised) against C x the class-weighted log loss; solved with L-BFGS to
 * DF_PARAM_LOGREG_TOL. */
typedef struct df_logreg df_logreg;

/* out: new, free with df_logreg_free. x: n x features floats (finite), y: n labels in
 * 0..classes - 1, every class present (2 <= classes <= 256); options holds DF_PARAM_LOGREG_*. */
DF_API df_status df_logreg_train(const float *x, const int32_t *y, size_t n, size_t features, size_t classes,
                                 const df_options *options, df_logreg **out);
/* probabilities: n x classes floats for the n x features samples x. */
DF_API df_status df_logreg_predict(const df_logreg *model, const float *x, size_t n, float *probabilities);
/* The L-BFGS iterations the fit took. */
DF_API df_status df_logreg_iterations(const df_logreg *model, int64_t *out);
/* Does nothing when model is NULL. */
DF_API void df_logreg_free(df_logreg *model);

/* A classifier trained from scribbles, with the feature set, model identity and settings it needs. */
typedef struct df_weak df_weak;

/* Per-pixel feature sets (specs/hrdv2.md section 3). */
typedef enum df_weak_features {
    DF_WEAK_CLASSICAL = 0, /* the classical stack (58 channels by default): no model needed */
    DF_WEAK_DEEP = 1,      /* HR-Dv2 upsampled features (DF_PARAM_UPS_STRIDE, _SHIFTS, _FLIPS) */
    DF_WEAK_HYBRID = 2     /* deep then classical, each channel min-max scaled over the image */
} df_weak_features;

typedef enum df_weak_classifier {
    DF_WEAK_AUTO = 0,   /* the paper's: a forest for classical features, logistic regression else */
    DF_WEAK_FOREST = 1, /* df_forest with DF_PARAM_FOREST_* */
    DF_WEAK_LOGREG = 2  /* df_logreg with DF_PARAM_LOGREG_* */
} df_weak_classifier;

/* out: new, free with df_weak_free. Trains on count images (grey or colour, 8 or 16 bits: grey for
 * the classical stack as df_classical_compute_image computes it, RGB for the model) and their label images (one
 * channel, 8- or 16-bit, the same size: 0 = unlabelled, 1..C = classes; load palette PNGs with
 * DF_PARAM_IMAGE_PALETTE_INDICES). options: DF_PARAM_WEAK_FEATURES, _CLASSIFIER, _MAX_SIZE, the
 * upsampling keys for deep features, DF_PARAM_CLASSICAL_* for the classical channels (recorded in
 * the classifier and used again at prediction), DF_PARAM_FOREST_* or DF_PARAM_LOGREG_*. model: NULL for
 * classical features, else the backbone (recorded, and required to match at prediction).
 * Errors: DF_E_INVALID_ARG for a size mismatch (the message names the image), no labelled pixel,
 * a multi-channel label image, a missing model, classical settings that give no channel list. */
DF_API df_status df_weak_train(df_model *model, const df_image *const *images, const df_image *const *labels,
                               size_t count, const df_options *options, df_weak **out);
/* Classes C of a trained classifier. */
DF_API df_status df_weak_classes(const df_weak *weak, size_t *out);
/* The feature set the classifier was trained on. */
DF_API df_status df_weak_feature_set(const df_weak *weak, df_weak_features *out);
/* Segments image with model (NULL for classical features; else one that matches the training
 * model's identity, or DF_E_INVALID_ARG saying how it differs): probabilities (may be NULL) gets
 * width * height * C floats, pixel-major;
 * labels (may be NULL) width * height classes 1..C. With DF_PARAM_WEAK_CRF the probabilities are
 * refined by the dense CRF (unary -log p, DF_PARAM_CRF_*: the HR-Dv2 preset by default) first. */
DF_API df_status df_weak_predict(const df_weak *weak, df_model *model, const df_image *image,
                                 const df_options *options, float *probabilities, int32_t *labels);
/* Writes a classifier file (.dfclf: versioned, self-describing) atomically: a temporary file
 * renamed over path. */
DF_API df_status df_weak_save(const df_weak *weak, const char *path);
/* out: new. DF_E_FORMAT for a truncated, corrupt or foreign file, DF_E_UNSUPPORTED for a newer
 * format version. */
DF_API df_status df_weak_load(const char *path, df_weak **out);
/* Does nothing when weak is NULL. */
DF_API void df_weak_free(df_weak *weak);

/* A live scribble loop for interactive tools (as ilastik's live update): the classical features
 * of one image computed once (DF_PARAM_CLASSICAL_*), scribbles painted and erased, the random
 * forest (DF_PARAM_WEAK_LIVE_TREES trees, the other DF_PARAM_FOREST_* settings) refit on every
 * labelled pixel after a change, and predictions of any region, kept per band of rows until the
 * next change. The forest is the one df_weak_train grows from the image and a label image of the
 * scribbles with as many trees: the loop changes when work is done, not the result. */
typedef struct df_weak_live df_weak_live;

/* out: new, free with df_weak_live_free. image: grey or colour, 8 or 16 bits (at least 2 x 2);
 * options (NULL: defaults) are copied. Computing the features is the slow part (about a second
 * per megapixel on two cores); they take width x height x channels floats. */
DF_API df_status df_weak_live_new(const df_image *image, const df_options *options, df_weak_live **out);
/* Paints class label (1..65535; 0 erases) on the pixels whose centres (x, y) lie within radius
 * (> 0) of the polyline through the count points (x, y pairs; one point paints a disc). Pixels
 * outside the image are ignored. */
DF_API df_status df_weak_live_stroke(df_weak_live *live, const float *points, size_t count, float radius,
                                     int32_t label);
/* Sets the labels of the width x height rectangle at (x, y) from labels (row-major, -1 leaves a
 * pixel as it is, 0 erases, 1..65535 a class). DF_E_INVALID_ARG if the rectangle leaves the image. */
DF_API df_status df_weak_live_set_labels(df_weak_live *live, size_t x, size_t y, size_t width, size_t height,
                                         const int32_t *labels);
/* The current labels of every pixel (width x height, 0 = unlabelled) into labels. */
DF_API df_status df_weak_live_labels(const df_weak_live *live, int32_t *labels);
/* Refits the forest if the scribbles changed since the last fit (else does nothing).
 * DF_E_INVALID_ARG when no pixel is labelled. */
DF_API df_status df_weak_live_update(df_weak_live *live);
/* Classes C of the current fit (the largest label present at the last update); 0 before any. */
DF_API df_status df_weak_live_classes(const df_weak_live *live, size_t *out);
/* Updates if needed, then predicts the width x height rectangle at (x, y): probabilities (may be
 * NULL) width x height x C floats, labels (may be NULL) width x height classes 1..C. Bands of rows
 * predicted since the last change are not predicted again. */
DF_API df_status df_weak_live_predict(df_weak_live *live, size_t x, size_t y, size_t width, size_t height,
                                      float *probabilities, int32_t *labels);
/* out: new, a classifier for other images (df_weak_predict, df_weak_save) trained on the current
 * scribbles with the options' DF_PARAM_FOREST_TREES (the full forest, not the live one): equal to
 * df_weak_train on the image and a label image of the scribbles. */
DF_API df_status df_weak_live_classifier(const df_weak_live *live, df_weak **out);
/* Does nothing when live is NULL. */
DF_API void df_weak_live_free(df_weak_live *live);

#ifdef __cplusplus
}
#endif

#endif /* DINOFEAT_WEAK_H */
