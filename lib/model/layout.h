/* Recognising a checkpoint's layout and architecture, and handing its weights to the shim under
 * the official names, converted to float32. */
#ifndef DINOFEAT_LIB_MODEL_LAYOUT_H
#define DINOFEAT_LIB_MODEL_LAYOUT_H

#include "../checkpoint/state_dict.h"
#include "df_shim.h"
#include "vit_shim.h"

typedef enum { DFI_LAYOUT_OFFICIAL, DFI_LAYOUT_HUGGINGFACE, DFI_LAYOUT_TIMM } dfi_layout_kind;

typedef struct dfi_layout {
    dfi_layout_kind kind;
    char prefix[128];      /* prepended to every source key ("teacher.backbone.", "dinov2.") */
    const char *name;      /* "official", "training-checkpoint", "chunked", "huggingface", "timm" */
    int chunked;           /* official blocks stored as blocks.{chunk}.{i} */
    int huggingface_v1;    /* Hugging Face ViTModel names (DINO v1) */
    int pos_without_cls;   /* timm register models: pos_embed lacks the [CLS] row */
    dfs_vit_config config;
    int is_dinov2;
} dfi_layout;

/* Recognises the layout and architecture; checkpoint picks "teacher" or "student" in training
 * checkpoints. DF_E_FORMAT when it is not a DINO / DINOv2 backbone. */
df_status dfi_layout_detect(const dfi_state_dict *dict, const char *checkpoint, dfi_layout *out);
/* Converts every weight to float32 and hands it to vit; missing keys and wrong shapes are
 * DF_E_FORMAT naming the key in the file. */
df_status dfi_layout_load(const dfi_state_dict *dict, const dfi_layout *layout, dfs_vit *vit);
/* Parameters the weights hold. */
int64_t dfi_layout_parameter_count(const dfi_layout *layout);

#endif
