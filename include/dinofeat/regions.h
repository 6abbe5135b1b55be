/*
 * dinofeat regions: connected components of label maps, their bounding boxes, box IoU.
 * Boxes are [x_min, y_min, x_max, y_max] in pixels, max exclusive (specs/eval.md).
 */
#ifndef DINOFEAT_REGIONS_H
#define DINOFEAT_REGIONS_H

#include "dinofeat/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Connected components of equal-valued pixels of a width x height label map (row-major), with 4-
 * or 8-connectivity. components (width * height entries) gets 0 for pixels equal to background
 * (pass -1 to label every pixel) and 1..*count otherwise, numbered in raster order of each
 * component's first pixel (as scipy.ndimage.label numbers them). */
DF_API df_status df_connected_components(const int32_t *labels, size_t width, size_t height, int connectivity,
                                         int32_t background, int32_t *components, size_t *count);
/* The bounding box of each of count components (ids 1..count in components): boxes gets 4 int32
 * per component, areas (may be NULL) its pixel count. */
DF_API df_status df_component_boxes(const int32_t *components, size_t width, size_t height, size_t count,
                                    int32_t *boxes, int64_t *areas);
/* Intersection over union of two boxes; 0 when both are empty. */
DF_API df_status df_box_iou(const int32_t *a, const int32_t *b, double *out);

#ifdef __cplusplus
}
#endif

#endif /* DINOFEAT_REGIONS_H */
