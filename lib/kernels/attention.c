/* The fused attention's dispatcher: packs keys and values once per call, then runs one family's
 * task over (batch item, head, query block) on OpenMP's threads. */
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

/* Keys transposed per block of KEY_BLOCK (head_dim rows of consecutive keys), values padded to
 * padded_dim; zeros beyond the tokens and head_dim, so padding adds nothing to a sum. */
static void pack(const dfi_attention_args *a, int64_t key_blocks, int64_t padded_dim, float *keys, float *values) {
    const int64_t kb_total = a->batch * a->heads * key_blocks, hd = a->head_dim;
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < kb_total; t++) {
        const int64_t pair = t / key_blocks, kb = t % key_blocks, b = pair / a->heads, h = pair % a->heads;
        const int64_t base = b * a->batch_stride + h * a->head_stride;
        float *kt = keys + t * hd * DFI_ATTENTION_KEY_BLOCK, *vp = values + t * DFI_ATTENTION_KEY_BLOCK * padded_dim;
        memset(kt, 0, (size_t)(hd * DFI_ATTENTION_KEY_BLOCK) * sizeof *kt);
        memset(vp, 0, (size_t)(DFI_ATTENTION_KEY_BLOCK * padded_dim) * sizeof *vp);
        for (int64_t j = 0; j < DFI_ATTENTION_KEY_BLOCK && kb * DFI_ATTENTION_KEY_BLOCK + j < a->tokens; j++) {
            const int64_t at = base + (kb * DFI_ATTENTION_KEY_BLOCK + j) * a->token_stride;
            for (int64_t d = 0; d < hd; d++) kt[d * DFI_ATTENTION_KEY_BLOCK + j] = a->k[at + d];
            memcpy(vp + j * padded_dim, a->v + at, (size_t)hd * sizeof *vp);
        }
    }
}

static int run(const dfi_attention_args *a, const dfi_attention_kernel *kernel) {
    const int64_t key_blocks = (a->tokens + DFI_ATTENTION_KEY_BLOCK - 1) / DFI_ATTENTION_KEY_BLOCK;
    const int64_t padded_dim = (a->head_dim + kernel->columns - 1) / kernel->columns * kernel->columns;
    const size_t pairs = (size_t)(a->batch * a->heads), blocked = (size_t)(key_blocks * DFI_ATTENTION_KEY_BLOCK);
    float *keys = malloc(pairs * blocked * (size_t)a->head_dim * sizeof *keys);
    float *values = malloc(pairs * blocked * (size_t)padded_dim * sizeof *values);
    int failed = keys == NULL || values == NULL;
    if (!failed) {
        pack(a, key_blocks, padded_dim, keys, values);
        const dfi_attention_plan plan = {a, keys, values, key_blocks,
                                         (a->tokens + DFI_ATTENTION_QUERY_BLOCK - 1) / DFI_ATTENTION_QUERY_BLOCK,
                                         padded_dim};
        const int64_t tasks = a->batch * a->heads * plan.query_blocks;
        const size_t work_bytes = (dfi_attention_work_floats(padded_dim) * sizeof(float) + 63) / 64 * 64;
#pragma omp parallel reduction(| : failed)
        {
            float *work = aligned_alloc(64, work_bytes);
            failed |= work == NULL;
#pragma omp for schedule(dynamic)
            for (int64_t t = 0; t < tasks; t++)
                if (work) kernel->task(&plan, t, work);
            free(work);
        }
    }
    free(keys), free(values);
    return failed ? -1 : 0;
}

int dfi_attention_f32(const dfi_attention_args *args, dfi_attention_isa isa) {
    const dfi_attention_kernel *kernel = kernel_of(isa == DFI_ATTENTION_AUTO ? dfi_attention_best_isa() : isa);
    if (kernel == NULL) return -2;
    if (args->batch <= 0 || args->heads <= 0 || args->tokens <= 0 || args->head_dim <= 0) return 0;
    return run(args, kernel);
}
