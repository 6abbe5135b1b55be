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

/* The result of the HR-Dv2 class-agnostic segmentation. */
typedef struct df_cas_result df_cas_result;

/* What a df_cas_result holds; every pointer is borrowed and lives as long as the result. The
 * caller sets struct_size = sizeof(df_cas_view). Maps are height x width, row-major. */
typedef struct df_cas_view {
    size_t struct_size;
    int64_t height, width;
    size_t cluster_count;             /* k-means clusters K */
    const int32_t *clusters;          /* each pixel's k-means cluster */
    const float *centroids;           /* K x dim, of the L2-normalised features */
    int64_t dim;
    const double *cluster_density;    /* K: mean summed attention over the cluster's pixels (NaN
                                         for an empty cluster) */
    const uint8_t *cluster_foreground; /* K: 1 where the density exceeds the mean over clusters */
    double cutoff;                    /* the merge distance: lambda x the right edge of the fullest
                                         bin of foreground-background centroid distances; clusters
                                         merge while their complete-linkage distance is below it */
    size_t class_count;               /* classes after merging */
    const int32_t *class_of_cluster;  /* K: each cluster's merged class */
    const int32_t *classes;           /* each pixel's class: after the CRF, or the merged clusters
                                         when DF_PARAM_CAS_CRF is 0 */
    const double *class_density;      /* class_count, on the final map (NaN for an empty class) */
    const uint8_t *class_foreground;  /* class_count */
    size_t box_count;                 /* boxes kept after the superbox rule */
    const int32_t *boxes;             /* box_count x 4: [x_min, y_min, x_max, y_max], max exclusive */
    const int32_t *box_class;         /* box_count: the class of each box */
    int has_superbox;                 /* 0 when no pixel is foreground */
    int32_t superbox[4];              /* around the largest 8-connected component of the saliency mask */
    const uint8_t *saliency;          /* 255 on pixels of foreground classes, 0 elsewhere */
} df_cas_view;

/* The unsupervised class-agnostic segmentation of HR-Dv2 (specs/hrdv2.md section 2) on one image,
 * (1, 3, H, W) normalised as df_image_to_tensor makes it: df_upsample, then
 * df_cas_segment_features on its output and the image's pixels. options (NULL: defaults) holds
 * the upsample.*, kmeans.*, crf.* and cas.* keys; for keys the caller did not set, the workflow
 * uses the paper's settings rather than the general defaults: attention DF_UPS_ATTN_O, 80
 * clusters, a k-means sample of 50000 pixels; and the model's DF_POS_INTERP_AUTO means OFFSET here,
 * as the official code interpolates. progress (may be NULL) sees the stages "upsample", "kmeans",
 * "merge", "crf", "regions". out: new, free with df_cas_result_free. */
DF_API df_status df_cas_segment(df_model *model, const df_tensor *image, const df_options *options,
                                df_progress_fn progress, void *user_data, df_cas_result **out);
/* The same from upsampled features (H, W, D) and attention (H, W, heads), both float on any
 * device, and the image's pixels (H * W * 3 bytes, RGB, for the CRF). */
DF_API df_status df_cas_segment_features(const df_tensor *features, const df_tensor *attention,
                                         const uint8_t *rgb, const df_options *options, df_progress_fn progress,
                                         void *user_data, df_cas_result **out);
/* Fills *out with borrowed views of result. */
DF_API df_status df_cas_result_view(const df_cas_result *result, df_cas_view *out);
/* Does nothing when result is NULL. */
DF_API void df_cas_result_free(df_cas_result *result);

#ifdef __cplusplus
}
#endif

#endif /* DINOFEAT_SEGMENT_H */
