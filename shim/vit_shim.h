/* One module's door from lib/ into shim/ (see df_shim.h): its own header, so that changing it
 * rebuilds only the files that use it. */
#ifndef DINOFEAT_SHIM_VIT_H
#define DINOFEAT_SHIM_VIT_H

#include "df_shim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- vision transformers (shim/vit.cpp) ---------------------------------------------- */

typedef struct dfs_vit dfs_vit;

typedef struct dfs_vit_config {
    int32_t dim, depth, patch, registers, pos_grid, mlp_hidden;
    int32_t layerscale, swiglu; /* 0/1 */
} dfs_vit_config;

/* Output slots of a forward pass; intermediate layers follow DFS_VIT_OUT_FIRST_LAYER. */
enum {
    DFS_VIT_OUT_PATCH = 0, DFS_VIT_OUT_CLS, DFS_VIT_OUT_REGISTERS, DFS_VIT_OUT_CLS_ATTENTION,
    DFS_VIT_OUT_Q, DFS_VIT_OUT_K, DFS_VIT_OUT_V, DFS_VIT_OUT_FIRST_LAYER
};
enum { DFS_POS_OFFSET = 1, DFS_POS_SIZE_AA = 2, DFS_POS_SIZE = 3 };
enum { DFS_COVER_CROP = 0, DFS_COVER_PAD = 1, DFS_COVER_NONE = 2 };

typedef struct dfs_vit_run {
    int32_t heads, stride, cover, pos_interp, attn_chunk;
    uint32_t outputs;              /* bit k requests slot k (k < DFS_VIT_OUT_FIRST_LAYER) */
    const int32_t *layers;         /* block indices (0-based) of intermediate outputs */
    int32_t layer_count;
} dfs_vit_run;

df_status dfs_vit_create(const dfs_vit_config *config, df_device_type device_type, int32_t device_id,
                         df_dtype precision, dfs_vit **out) DFS_NOEXCEPT;
/* Copies a float32 host weight (official name, e.g. "blocks.0.attn.qkv.weight") into the model,
 * on its device and in its precision. Shapes are checked. */
df_status dfs_vit_set_weight(dfs_vit *vit, const char *name, const float *data, int32_t ndim,
                             const int64_t *shape) DFS_NOEXCEPT;
/* The weights the configuration needs, by index: official name (borrowed, lives as long as vit)
 * and shape. */
int32_t dfs_vit_weight_count(const dfs_vit *vit) DFS_NOEXCEPT;
df_status dfs_vit_weight_spec(const dfs_vit *vit, int32_t index, const char **name, int32_t *ndim,
                              int64_t *shape) DFS_NOEXCEPT;
/* DF_OK when every weight the configuration needs has been set. */
df_status dfs_vit_check_complete(const dfs_vit *vit) DFS_NOEXCEPT;
/* images: (B, 3, H, W). outs[k] / descs[k] are filled for each requested slot, NULL otherwise. */
df_status dfs_vit_forward(dfs_vit *vit, const dfs_tensor_desc *images, const dfs_vit_run *run,
                          dfs_tensor **outs, dfs_tensor_desc *descs) DFS_NOEXCEPT;
void dfs_vit_free(dfs_vit *vit) DFS_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif
