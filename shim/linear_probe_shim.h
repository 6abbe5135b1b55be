/* One module's door from lib/ into shim/ (see df_shim.h): its own header, so that changing it
 * rebuilds only the files that use it. */
#ifndef DINOFEAT_SHIM_LINEAR_PROBE_H
#define DINOFEAT_SHIM_LINEAR_PROBE_H

#include "df_shim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the linear probe (shim/linear_probe.cpp) ------------------------------------------ */

/* A probe's state in lib/'s memory: weight (classes x dim), bias (classes) and SGD's momentum
 * buffers of the same shapes (has_buffers 0 until the first step fills them). */
typedef struct dfs_linear_probe_state {
    float *weight, *bias, *weight_buffer, *bias_buffer;
    int64_t dim, classes;
    int32_t has_buffers;
} dfs_linear_probe_state;

/* One SGD step (lr, momentum, weight decay as torch.optim.SGD, no dampening, no Nesterov) on the
 * cross-entropy of features (B, h, w, D) against labels (B x height x width; values past the
 * classes not scored): *scored gets the pixels scored; with none, nothing changes. */
df_status dfs_linear_probe_step(dfs_linear_probe_state *state, const dfs_tensor_desc *features, const uint8_t *labels,
                                int64_t height, int64_t width, double lr, double momentum, double weight_decay,
                                double *loss, int64_t *scored) DFS_NOEXCEPT;
/* The argmax class at each of B x height x width pixels. */
df_status dfs_linear_probe_predict(const dfs_linear_probe_state *state, const dfs_tensor_desc *features,
                                   int64_t height, int64_t width, uint8_t *labels) DFS_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif
