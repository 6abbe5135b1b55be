/* What other lib/ modules need of a df_model. */
#ifndef DINOFEAT_LIB_MODEL_INTERNAL_H
#define DINOFEAT_LIB_MODEL_INTERNAL_H

#include "dinofeat/model.h"
#include "df_shim.h"
#include "vit_shim.h"

dfs_vit *dfi_model_vit(df_model *model);
int32_t dfi_model_patch(const df_model *model);
/* The forward settings the model's parameters give for an h x w image (heads, stride, cover,
 * position interpolation, attention chunk). */
df_status dfi_model_plan(const df_model *model, int64_t h, int64_t w, dfs_vit_run *run);

#endif
