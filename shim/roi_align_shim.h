/* One module's door from lib/ into shim/ (see df_shim.h): its own header, so that changing it
 * rebuilds only the files that use it. */
#ifndef DINOFEAT_SHIM_ROI_ALIGN_H
#define DINOFEAT_SHIM_ROI_ALIGN_H

#include "df_shim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- ROI align (shim/roi_align.cpp) ------------------------------------------------------ */

/* features (B, C, H, W), boxes (K, 5): batch index, x1, y1, x2, y2 -> out (K, C, P, P) in the
 * features' type; torchvision.ops.roi_align's arithmetic (sampling_ratio <= 0: adaptive). */
df_status dfs_roi_align(const dfs_tensor_desc *features, const dfs_tensor_desc *boxes, int64_t output_size,
                        double spatial_scale, int64_t sampling_ratio, int32_t aligned, dfs_tensor **out,
                        dfs_tensor_desc *out_desc) DFS_NOEXCEPT;
/* grad (shaped as features) = the adjoint of that map applied to grad_out (K, C, P, P). */
df_status dfs_roi_align_backward(const dfs_tensor_desc *features, const dfs_tensor_desc *boxes, int64_t output_size,
                                 double spatial_scale, int64_t sampling_ratio, int32_t aligned,
                                 const dfs_tensor_desc *grad_out, dfs_tensor **grad,
                                 dfs_tensor_desc *grad_desc) DFS_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif
