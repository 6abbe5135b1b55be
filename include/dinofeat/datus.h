/*
 * dinofeat DatUS² (Kumar et al. 2024, specs/datus.md): pseudo-annotated segmentation masks for an
 * unlabelled image folder: the per-image steps (segments from patch keys, the valid segments' masked
 * crops and [CLS] features), and a run over a dataset (df_datus) that stores them in a resumable
 * file, clusters every segment of the dataset and makes the pseudo masks.
 */
#ifndef DINOFEAT_DATUS_H
#define DINOFEAT_DATUS_H

#include "dinofeat/core.h"
#include "dinofeat/image.h"
#include "dinofeat/model.h"
#include "dinofeat/weak.h"

#ifdef __cplusplus
extern "C" {
#endif

/* DatUS² steps 4 and 5 (specs/datus.md): the communities of a gh x gw patch grid (row-major) split
 * into their 8-connected pieces; pieces of more than tau patches are the valid segments. segments
 * (gh * gw) gets 1..*count for patches of valid segments, numbered in raster order of their first
 * patch, and 0 for noise. */
DF_API df_status df_datus_split(const int32_t *communities, size_t gh, size_t gw, size_t tau, int32_t *segments,
                                size_t *count);
/* DatUS² steps 2 to 5 on a grid's patch keys (gh * gw x dim floats, row-major, [CLS] dropped): the
 * unweighted graph with an edge wherever k_m . k_n > 0, Louvain communities (resolution 1), then
 * df_datus_split. communities (may be NULL) gets each patch's community. */
DF_API df_status df_datus_segments(const float *keys, size_t gh, size_t gw, size_t dim, size_t tau, uint64_t seed,
                                   int32_t *segments, size_t *count, int32_t *communities);

/* DatUS² step 6 for one segment: image is the (resized) RGB image the patch grid covers (gh * p x
 * gw * p pixels at least, p the patch size); the tight box of segment id's patches (in pixels),
 * every pixel outside the segment's patches set to 0, resized so its short side is `resize`
 * (bicubic, the long side scaled and truncated, as torchvision's Resize), centre-cropped to crop x
 * crop (torchvision's CenterCrop). out: new. */
DF_API df_status df_datus_crop(const df_image *image, const int32_t *segments, size_t gh, size_t gw, size_t patch,
                               int32_t id, size_t resize, size_t crop, df_image **out);
/* The L2-normalised final-norm [CLS] feature of each valid segment's crop (ids 1..count):
 * features gets count x dim floats. */
DF_API df_status df_datus_crop_features(df_model *model, const df_image *image, const int32_t *segments, size_t gh,
                                        size_t gw, size_t count, size_t resize, size_t crop, float *features);

/* A DatUS² run over a dataset: a store file of one record per image (its name and size, its
 * segment grid and the [CLS] features of its valid segments), appended and flushed image by image,
 * so a run killed at any point resumes from the images it completed; then the clusters of every
 * segment of the dataset (step 7) and the pseudo masks (step 8). */
typedef struct df_datus df_datus;

/* The cluster id the pseudo masks give patches of no valid segment ('unlabelled'). */
#define DF_DATUS_NOISE 255

/* out: new, free with df_datus_free. Opens the store at path, creating it when it does not exist;
 * an existing store keeps its records (a partial last record, from a run that was killed while
 * writing it, is cut off) and must have been made with the same per-image settings as options
 * asks (DF_PARAM_DATUS_THRESHOLD, _SIZE, _RESIZE, _CROP, _SEED), else DF_E_INVALID_ARG says which
 * differs. DF_E_FORMAT for a file that is not a store, DF_E_UNSUPPORTED for a newer version. */
DF_API df_status df_datus_open(const char *path, const df_options *options, df_datus **out);
/* Steps 1 to 6 for one image, recorded as name: the image (8-bit grey or colour) resized to size x
 * size (bicubic), the last block's keys ([CLS] and registers dropped), df_datus_segments, and
 * df_datus_crop_features of the resized image. DF_E_INVALID_ARG when name is already recorded or
 * the model's dimension differs from the store's. */
DF_API df_status df_datus_add_image(df_datus *run, df_model *model, const char *name, const df_image *image);
/* Records precomputed per-image results as name: an image of width x height whose gh x gw segment
 * grid (0 = noise, 1..count = valid segments) and count x dim segment features (L2-normalised by the
 * caller if wanted) came from elsewhere, e.g. df_datus_segments on keys of the caller's own. */
DF_API df_status df_datus_add_segments(df_datus *run, const char *name, size_t width, size_t height,
                                       const int32_t *segments, size_t gh, size_t gw, const float *features,
                                       size_t count, size_t dim);
/* Images recorded. */
DF_API df_status df_datus_images(const df_datus *run, size_t *count);
/* found gets 1 and index the record of name when it is recorded, else found gets 0. */
DF_API df_status df_datus_find(const df_datus *run, const char *name, int *found, size_t *index);
/* The index-th record: name (borrowed, lives as long as run; may be NULL), the image's width and
 * height, its valid segments (each may be NULL). */
DF_API df_status df_datus_image(const df_datus *run, size_t index, const char **name, size_t *width,
                                size_t *height, size_t *segments);
/* Borrowed: the index-th record's segment grid (gh * gw, row-major), living as long as run. */
DF_API df_status df_datus_grid(const df_datus *run, size_t index, const int32_t **segments, size_t *gh, size_t *gw);
/* Step 7 over every recorded segment: the features projected on their first DF_PARAM_DATUS_PCA
 * principal components (when set), then df_kmeans_fit with DF_PARAM_KMEANS_* (K =
 * DF_PARAM_KMEANS_K, at most 255 and at most the segments recorded). Replaces earlier clusters;
 * adding an image afterwards discards them. */
DF_API df_status df_datus_cluster(df_datus *run, const df_options *options);
/* Borrowed: the index-th record's cluster of each of its segments (segment s at s - 1), after
 * df_datus_cluster; DF_E_INVALID_ARG before it. */
DF_API df_status df_datus_segment_clusters(const df_datus *run, size_t index, const int32_t **clusters);
/* Step 8: the index-th image's pseudo mask at width x height (the record's size for the spec's
 * mask, the grid's for the patch-level one): nearest-upsampled from the grid, each pixel its
 * segment's cluster, DF_DATUS_NOISE for noise. */
DF_API df_status df_datus_mask(const df_datus *run, size_t index, size_t width, size_t height, uint8_t *mask);
/* Optional step 9: out (new) is a de-noising segmenter trained on the pseudo masks of count
 * recorded images (indices, each record's image given in images), ignoring the unlabelled pixels:
 * df_weak_train with deep features (by default one view at stride 4, no shifts, no flips: a linear
 * 1 x 1 convolution head on the frozen backbone's features, fitted as multinomial logistic
 * regression on DF_PARAM_WEAK_SAMPLES (default 1000) pseudo-labelled pixels per image); options
 * may change any of these. df_weak_predict then labels every pixel with cluster + 1. */
DF_API df_status df_datus_denoise(const df_datus *run, df_model *model, const size_t *indices,
                                  const df_image *const *images, size_t count, const df_options *options,
                                  df_weak **out);
/* Closes the store. Does nothing when run is NULL. */
DF_API void df_datus_free(df_datus *run);

#ifdef __cplusplus
}
#endif

#endif /* DINOFEAT_DATUS_H */
