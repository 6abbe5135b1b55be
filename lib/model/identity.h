/* A model's identity: what a file computed with one model records, so another model is refused. */
#ifndef DINOFEAT_LIB_MODEL_IDENTITY_H
#define DINOFEAT_LIB_MODEL_IDENTITY_H

#include "../internal.h"
#include "../checkpoint/json.h"
#include "dinofeat/model.h"

typedef struct dfi_model_identity {
    char family[16];
    int64_t dim, depth, patch, heads, registers, parameters;
} dfi_model_identity;

df_status dfi_model_identity_of(df_model *model, dfi_model_identity *out);
int dfi_model_identity_equal(const dfi_model_identity *a, const dfi_model_identity *b);
/* "dino dim 384 depth 12 patch 8 heads 6 registers 0 (21.7M parameters)" */
void dfi_model_identity_text(const dfi_model_identity *id, char *text, size_t size);
/* As a JSON object; -1 when it does not fit. */
int dfi_model_identity_json(const dfi_model_identity *id, char *text, size_t size);
/* From a JSON object written by dfi_model_identity_json; -1 for a missing or mistyped field. */
int dfi_model_identity_from_json(const dfi_json *object, dfi_model_identity *out);

#endif
