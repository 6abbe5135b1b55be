/*
 * dinofeat DatUS² (Kumar et al. 2024, specs/datus.md): pseudo-annotated segmentation masks for an
 * unlabelled image folder. So far the per-image steps: segments from patch keys, and the masked
 * crops of the valid segments with their [CLS] features.
 */
#ifndef DINOFEAT_DATUS_H
#define DINOFEAT_DATUS_H

#include "dinofeat/core.h"
#include "dinofeat/image.h"
#include "dinofeat/model.h"

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

#ifdef __cplusplus
}
#endif

#endif /* DINOFEAT_DATUS_H */
