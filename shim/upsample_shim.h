/* One module's door from lib/ into shim/ (see df_shim.h): its own header, so that changing it
 * rebuilds only the files that use it. */
#ifndef DINOFEAT_SHIM_UPSAMPLE_H
#define DINOFEAT_SHIM_UPSAMPLE_H

#include "df_shim.h"
#include "vit_shim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- HR-Dv2 upsampling (shim/upsample.cpp) --------------------------------------------- */

enum { DFS_UPS_ATTN_CLS = 0, DFS_UPS_ATTN_O = 1, DFS_UPS_ATTN_Q = 2, DFS_UPS_ATTN_K = 3, DFS_UPS_ATTN_V = 4,
       DFS_UPS_ATTN_NONE = 5 };

typedef struct dfs_upsample_config {
    dfs_vit_run run;             /* heads, pos_interp, attn_chunk, stride of the forward passes */
    const int32_t *distances;    /* shift distances, each > 0 */
    int32_t distance_count;
    int32_t von_neumann;         /* 4 directions instead of Moore's 8 */
    int32_t flips;               /* 0 none, 1 horizontal and vertical, 2 as 1 with identity doubled */
    int32_t border;              /* 0 wrap, 1 zero, 2 replicate */
    int32_t bilinear;            /* 0 nearest-exact */
    int32_t attention;           /* DFS_UPS_ATTN_* */
    int32_t batch;               /* views per forward pass */
    int32_t on_device;           /* keep outputs on the model's device */
    int32_t pad;                 /* zero-pad to multiples of the patch (and crop the result back)
                                    instead of centre-cropping the image */
    df_progress_fn progress;
    void *progress_user;
} dfs_upsample_config;

/* image: (1, 3, H, W). features: (H', W', D) float32, attention (H', W', heads) unless NONE, with
 * H', W' the image cropped to multiples of the patch size, or H, W when padding.
 * DF_E_CANCELLED if progress says so. */
df_status dfs_upsample(dfs_vit *vit, const dfs_tensor_desc *image, const dfs_upsample_config *config,
                       dfs_tensor **features, dfs_tensor_desc *features_desc, dfs_tensor **attention,
                       dfs_tensor_desc *attention_desc) DFS_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif
