/* The trained student backbone as a safetensors file in the official layout (the names of
 * shim/vit.cpp), which df_model_open recognises like a released checkpoint. */
#include "neco_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct export_job {
    const df_neco *trainer;
    int32_t count; /* backbone parameters: the states before the head's */
    char *header;
    size_t length; /* padded to a multiple of 8 */
} export_job;

static int32_t backbone_count(const df_neco *t) {
    int32_t n = 0;
    const char *name;
    int32_t ndim;
    int64_t shape[DF_TENSOR_MAX_DIMS];
    while (n < dfs_neco_state_count(t->shim) && dfs_neco_state_info(t->shim, n, &name, &ndim, shape) == DF_OK &&
           strncmp(name, "head.", 5) != 0)
        n++;
    return n;
}

/* {"name": {"dtype": "F32", "shape": [...], "data_offsets": [a, b]}, ..., "__metadata__": {...}} */
static df_status build_header(export_job *job) {
    size_t capacity = 4096 + (size_t)job->count * 256, at = 0, offset = 0;
    char *text = malloc(capacity);
    if (text == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    /* the heads are recorded: they cannot be read off the weights' shapes */
    at += (size_t)snprintf(text, capacity,
                           "{\"__metadata__\": {\"format\": \"pt\", \"producer\": \"dinofeat %s neco\", "
                           "\"dinofeat.heads\": \"%d\"}",
                           df_version_string(), (int)job->trainer->settings.heads);
    for (int32_t i = 0; i < job->count; i++) {
        const char *name;
        int32_t ndim;
        int64_t shape[DF_TENSOR_MAX_DIMS];
        size_t numel = 1;
        dfs_neco_state_info(job->trainer->shim, i, &name, &ndim, shape);
        at += (size_t)snprintf(text + at, capacity - at, ", \"%s\": {\"dtype\": \"F32\", \"shape\": [", name);
        for (int32_t k = 0; k < ndim; k++) {
            at += (size_t)snprintf(text + at, capacity - at, "%s%lld", k ? ", " : "", (long long)shape[k]);
            numel *= (size_t)shape[k];
        }
        at += (size_t)snprintf(text + at, capacity - at, "], \"data_offsets\": [%zu, %zu]}", offset, offset + 4 * numel);
        offset += 4 * numel;
    }
    at += (size_t)snprintf(text + at, capacity - at, "}");
    while (at % 8 != 0 && at + 1 < capacity) text[at++] = ' ';
    text[at] = '\0';
    job->header = text, job->length = at;
    return at + 1 < capacity ? DF_OK : dfi_error(DF_E_INTERNAL, "safetensors header too long");
}

static int write_file(FILE *f, const void *user) {
    const export_job *job = user;
    const uint64_t length = job->length;
    if (fwrite(&length, 8, 1, f) != 1 || fwrite(job->header, 1, job->length, f) != job->length) return -1;
    for (int32_t i = 0; i < job->count; i++) {
        const char *name;
        int32_t ndim;
        int64_t shape[DF_TENSOR_MAX_DIMS];
        size_t numel = 1;
        dfs_neco_state_info(job->trainer->shim, i, &name, &ndim, shape);
        for (int32_t k = 0; k < ndim; k++) numel *= (size_t)shape[k];
        float *values = malloc(numel * sizeof *values);
        const int failed = values == NULL || dfs_neco_state(job->trainer->shim, i, 0, values, 0) != DF_OK ||
                           fwrite(values, sizeof *values, numel, f) != numel;
        free(values);
        if (failed) return -1;
    }
    return 0;
}

df_status df_neco_export(const df_neco *trainer, const char *path) {
    DFI_CHECK_NOT_NULL(trainer);
    DFI_CHECK_NOT_NULL(path);
    export_job job = {trainer, backbone_count(trainer), NULL, 0};
    df_status status = build_header(&job);
    if (status == DF_OK) status = dfi_atomic_write(path, write_file, &job);
    free(job.header);
    DFI_RETURN(status);
}
