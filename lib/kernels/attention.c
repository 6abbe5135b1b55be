/* The fused attention's dispatcher: runs one family's task over (batch item, head, query block) on
 * OpenMP's threads, each packing the keys (and values where they need padding) of the heads it
 * meets into its own scratch. */
#include "attention_internal.h"

#include <stdlib.h>
#include <string.h>

static const dfi_attention_kernel *kernel_of(dfi_attention_isa isa) {
    switch (isa) {
    case DFI_ATTENTION_GENERIC: return &dfi_attention_generic;
#if defined(__x86_64__) || defined(__i386__)
    case DFI_ATTENTION_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? &dfi_attention_avx2 : NULL;
    case DFI_ATTENTION_AVX512: return __builtin_cpu_supports("avx512f") ? &dfi_attention_avx512 : NULL;
#endif
    default: return NULL;
    }
}

dfi_attention_isa dfi_attention_best_isa(void) {
    if (kernel_of(DFI_ATTENTION_AVX512)) return DFI_ATTENTION_AVX512;
    if (kernel_of(DFI_ATTENTION_AVX2)) return DFI_ATTENTION_AVX2;
    return DFI_ATTENTION_GENERIC;
}

const char *dfi_attention_isa_name(dfi_attention_isa isa) {
    switch (isa == DFI_ATTENTION_AUTO ? dfi_attention_best_isa() : isa) {
    case DFI_ATTENTION_AVX512: return "avx512";
    case DFI_ATTENTION_AVX2: return "avx2";
    default: return "generic";
    }
}

void dfi_attention_pack(const dfi_attention_plan *plan, int64_t item_head, dfi_attention_scratch *scratch) {
    const dfi_attention_args *a = plan->args;
    const int64_t hd = a->head_dim, pd = plan->padded_dim, keys = plan->key_blocks * DFI_ATTENTION_KEY_BLOCK;
    const float *k = a->k + item_head / a->heads * a->batch_stride + item_head % a->heads * a->head_stride;
    const float *v = a->v + (k - a->k);
    memset(scratch->keys, 0, (size_t)(keys * hd) * sizeof *scratch->keys);
    for (int64_t j = 0; j < a->tokens; j++) {
        float *block = scratch->keys + j / DFI_ATTENTION_KEY_BLOCK * hd * DFI_ATTENTION_KEY_BLOCK;
        for (int64_t d = 0; d < hd; d++)
            block[d * DFI_ATTENTION_KEY_BLOCK + j % DFI_ATTENTION_KEY_BLOCK] = k[j * a->token_stride + d];
    }
    if (scratch->values) {
        memset(scratch->values, 0, (size_t)(keys * pd) * sizeof *scratch->values);
        for (int64_t j = 0; j < a->tokens; j++)
            memcpy(scratch->values + j * pd, v + j * a->token_stride, (size_t)hd * sizeof *scratch->values);
    }
    scratch->packed = item_head;
}

static int run(const dfi_attention_args *a, const dfi_attention_kernel *kernel) {
    const int64_t key_blocks = (a->tokens + DFI_ATTENTION_KEY_BLOCK - 1) / DFI_ATTENTION_KEY_BLOCK;
    const int64_t padded_dim = (a->head_dim + kernel->columns - 1) / kernel->columns * kernel->columns;
    const int64_t query_blocks = (a->tokens + DFI_ATTENTION_QUERY_BLOCK - 1) / DFI_ATTENTION_QUERY_BLOCK;
    const dfi_attention_plan plan = {a, key_blocks, query_blocks, padded_dim};
    const int64_t tasks = a->batch * a->heads * plan.query_blocks;
    const size_t keys = (size_t)(key_blocks * DFI_ATTENTION_KEY_BLOCK);
    /* ViTs' head_dim (64) needs no padding: their values are read where they are */
    const int in_place = padded_dim == a->head_dim;
    int failed = 0;
#pragma omp parallel reduction(| : failed)
    {
        dfi_attention_scratch scratch = {aligned_alloc(64, (dfi_attention_work_floats(padded_dim) * 4 + 63) / 64 * 64),
                                         malloc(keys * (size_t)a->head_dim * sizeof(float)),
                                         in_place ? NULL : malloc(keys * (size_t)padded_dim * sizeof(float)), -1};
        const int ready = scratch.work && scratch.keys && (in_place || scratch.values);
        failed |= !ready;
        /* contiguous runs of tasks: a thread meets each head once or twice, and packs it that often */
#pragma omp for schedule(static)
        for (int64_t t = 0; t < tasks; t++)
            if (ready) kernel->task(&plan, t, &scratch);
        free(scratch.work), free(scratch.keys), free(scratch.values);
    }
    return failed ? -1 : 0;
}

int dfi_attention_f32(const dfi_attention_args *args, dfi_attention_isa isa) {
    const dfi_attention_kernel *kernel = kernel_of(isa == DFI_ATTENTION_AUTO ? dfi_attention_best_isa() : isa);
    if (kernel == NULL) return -2;
    if (args->batch <= 0 || args->heads <= 0 || args->tokens <= 0 || args->head_dim <= 0) return 0;
    return run(args, kernel);
}
