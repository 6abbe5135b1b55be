/* The trainers' state arrays in their container files: float32, little-endian, state by state and
 * array by array, then the end marker. */
#include "trainer_internal.h"

#include <stdlib.h>
#include <string.h>

int dfi_trainer_write_states(const dfi_trainer_ops *ops, const void *trainer, FILE *f) {
    for (int32_t i = 0; i < ops->state_count(trainer); i++) {
        const size_t n = ops->state_numel(trainer, i);
        if (n == 0) continue;
        float *values = malloc(n * sizeof *values);
        int failed = values == NULL;
        for (int32_t which = 0; !failed && which < ops->state_arrays(trainer, i); which++)
            failed = ops->state_access((void *)trainer, i, which, values, 0) != DF_OK ||
                     fwrite(values, sizeof *values, n, f) != n;
        free(values);
        if (failed) return -1;
    }
    return 0;
}

static size_t body_size(const dfi_trainer_ops *ops, const void *trainer) {
    size_t size = 8;
    for (int32_t i = 0; i < ops->state_count(trainer); i++)
        size += (size_t)ops->state_arrays(trainer, i) * ops->state_numel(trainer, i) * sizeof(float);
    return size;
}

df_status dfi_trainer_read_states(const dfi_trainer_ops *ops, void *trainer, const char *path,
                                  const unsigned char *body, size_t size, const char end_marker[8]) {
    const size_t needed = body_size(ops, trainer);
    if (size != needed || memcmp(body + size - 8, end_marker, 8) != 0)
        return dfi_error(DF_E_FORMAT, "%s: truncated or corrupt (%zu bytes of state, %zu expected)", path, size, needed);
    const int32_t count = ops->state_count(trainer);
    /* copies: the body's floats need not be aligned */
    float **copies = calloc((size_t)count + 1, sizeof *copies);
    df_status status = copies ? DF_OK : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    const unsigned char *at = body;
    for (int32_t i = 0; i < count && status == DF_OK; i++) {
        const size_t bytes = (size_t)ops->state_arrays(trainer, i) * ops->state_numel(trainer, i) * sizeof(float);
        copies[i] = malloc(bytes + 1);
        if (copies[i] == NULL) status = dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
        else memcpy(copies[i], at, bytes), at += bytes;
    }
    if (status == DF_OK && ops->create) status = ops->create(trainer, (const float *const *)copies);
    for (int32_t i = 0; i < count && status == DF_OK; i++) {
        const size_t n = ops->state_numel(trainer, i);
        for (int32_t which = ops->create ? 1 : 0; which < ops->state_arrays(trainer, i) && status == DF_OK; which++)
            if (n > 0) status = ops->state_access(trainer, i, which, copies[i] + (size_t)which * n, 1);
    }
    for (int32_t i = 0; copies && i < count; i++) free(copies[i]);
    free(copies);
    return status;
}
