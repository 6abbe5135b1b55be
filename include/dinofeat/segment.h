/*
 * dinofeat segmentation workflows built on a backbone: TokenCut (Wang et al. 2022, the
 * training-free baseline of specs/sempart.md) and the HR-Dv2 class-agnostic segmentation
 * (specs/hrdv2.md section 2).
 */
#ifndef DINOFEAT_SEGMENT_H
#define DINOFEAT_SEGMENT_H

#include "dinofeat/core.h"
#include "dinofeat/model.h"
#include "dinofeat/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

/* TokenCut's intermediate results. The caller sets struct_size = sizeof(df_tokencut_detail), so
 * later versions can add fields at the end; the tensors are new (host), freed by
 * df_tokencut_detail_clear. */
typedef struct df_tokencut_detail {
    size_t struct_size;
    int64_t grid_height, grid_width; /* the patch grid of the zero-padded image */
    int64_t seed;                    /* the seed token, row-major in the grid */
    double eigenvalue;               /* the second-smallest generalised eigenvalue */
    df_tensor *eigenvector;          /* (gh, gw) float32, y^T D y = 1, signed so the seed is in the
                                        partition */
    df_tensor *partition;            /* (gh, gw) uint8 1 where y > mean(y), after the sign flip */
    df_tensor *object;               /* (gh, gw) uint8 1 on the seed's 4-connected component */
} df_tokencut_detail;

/* TokenCut on one image, (1, 3, H, W) normalised as df_image_to_tensor makes it (H, W >= the
 * patch size). The image is zero-padded at the bottom and right to multiples of the patch and
 * run at stride = patch; the keys of the last block (all heads, qkv bias included; [CLS] and
 * registers dropped) are L2-normalised, A = f f^T thresholded per DF_PARAM_TOKENCUT_*, and the
 * eigenvector of the second-smallest eigenvalue of (D - A) y = lambda D y splits the tokens at
 * its mean. mask: new, (H, W) uint8 on the host, 255 on the object (the seed's component), 0
 * elsewhere. box (4 int32, may be NULL): the object's [x_min, y_min, x_max, y_max] in pixels,
 * max exclusive, clipped to W, H. detail may be NULL. */
DF_API df_status df_tokencut(df_model *model, const df_tensor *image, const df_options *options, df_tensor **mask,
                             int32_t *box, df_tokencut_detail *detail);
/* Frees the detail's tensors and sets them to NULL; does nothing when detail is NULL. */
DF_API void df_tokencut_detail_clear(df_tokencut_detail *detail);

#ifdef __cplusplus
}
#endif

#endif /* DINOFEAT_SEGMENT_H */
