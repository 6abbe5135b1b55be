/* A model's identity for the files computed with it (feature caches). */
#include "identity.h"

#include <stdio.h>
#include <string.h>

df_status dfi_model_identity_of(df_model *model, dfi_model_identity *out) {
    memset(out, 0, sizeof *out);
    const char *family = NULL;
    df_status status = df_model_info_str(model, DF_MODEL_INFO_FAMILY, &family);
    if (status == DF_OK) snprintf(out->family, sizeof out->family, "%s", family);
    const df_model_info keys[6] = {DF_MODEL_INFO_DIM,   DF_MODEL_INFO_DEPTH,     DF_MODEL_INFO_PATCH,
                                   DF_MODEL_INFO_HEADS, DF_MODEL_INFO_REGISTERS, DF_MODEL_INFO_PARAMETERS};
    int64_t *fields[6] = {&out->dim, &out->depth, &out->patch, &out->heads, &out->registers, &out->parameters};
    for (int i = 0; status == DF_OK && i < 6; i++) status = df_model_info_int(model, keys[i], fields[i]);
    return status;
}

int dfi_model_identity_equal(const dfi_model_identity *a, const dfi_model_identity *b) {
    return strcmp(a->family, b->family) == 0 && a->dim == b->dim && a->depth == b->depth && a->patch == b->patch &&
           a->heads == b->heads && a->registers == b->registers && a->parameters == b->parameters;
}

void dfi_model_identity_text(const dfi_model_identity *id, char *text, size_t size) {
    snprintf(text, size, "%s dim %lld depth %lld patch %lld heads %lld registers %lld (%lld parameters)", id->family,
             (long long)id->dim, (long long)id->depth, (long long)id->patch, (long long)id->heads,
             (long long)id->registers, (long long)id->parameters);
}

int dfi_model_identity_json(const dfi_model_identity *id, char *text, size_t size) {
    const int n = snprintf(text, size,
                           "{\"family\": \"%s\", \"dim\": %lld, \"depth\": %lld, \"patch\": %lld, \"heads\": %lld, "
                           "\"registers\": %lld, \"parameters\": %lld}",
                           id->family, (long long)id->dim, (long long)id->depth, (long long)id->patch,
                           (long long)id->heads, (long long)id->registers, (long long)id->parameters);
    return n > 0 && (size_t)n < size ? 0 : -1;
}

int dfi_model_identity_from_json(const dfi_json *object, dfi_model_identity *out) {
    static const char *const names[6] = {"dim", "depth", "patch", "heads", "registers", "parameters"};
    int64_t *fields[6] = {&out->dim, &out->depth, &out->patch, &out->heads, &out->registers, &out->parameters};
    const dfi_json *family = object ? dfi_json_member(object, "family") : NULL;
    if (family == NULL || family->kind != DFI_JSON_STRING || strlen(family->string) >= sizeof out->family) return -1;
    snprintf(out->family, sizeof out->family, "%s", family->string);
    for (int i = 0; i < 6; i++) {
        const dfi_json *value = dfi_json_member(object, names[i]);
        if (value == NULL || !value->is_integer) return -1;
        *fields[i] = value->integer;
    }
    return 0;
}
