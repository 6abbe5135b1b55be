/*
 * Fused CPU attention: softmax(scale q k^T) v in the flash-attention manner. Queries go in blocks
 * against blocks of keys with an online softmax, so the N x N scores are never materialised and a
 * block's scores stay in the core's L2; the inner products run in register-blocked micro-kernels
 * for AVX-512, AVX2 + FMA, or plain C, chosen at run time. Float32 in, float32 accumulation.
 *
 * Plain C and free of libtorch, so the shim (C++) calls it on the tensors' memory and tests call
 * it directly.
 */
#ifndef DINOFEAT_KERNELS_ATTENTION_H
#define DINOFEAT_KERNELS_ATTENTION_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* q, k, v are read and out written at element offsets b * batch_stride + i * token_stride +
 * h * head_stride + d (d contiguous), for batch item b, token i, head h; q, k and v share one set
 * of strides (they are views of one qkv projection), out has its own. */
typedef struct dfi_attention_args {
    const float *q, *k, *v;
    float *out;
    int64_t batch, tokens, heads, head_dim;
    int64_t batch_stride, token_stride, head_stride;
    int64_t out_batch_stride, out_token_stride, out_head_stride;
    float scale;
} dfi_attention_args;

/* The micro-kernel families; DFI_ATTENTION_AUTO is the best this CPU runs. */
typedef enum dfi_attention_isa {
    DFI_ATTENTION_AUTO = 0,
    DFI_ATTENTION_GENERIC = 1,
    DFI_ATTENTION_AVX2 = 2,
    DFI_ATTENTION_AVX512 = 3
} dfi_attention_isa;

/* 0 on success, -1 when out of memory, -2 when this CPU cannot run the family asked for.
 * Threads: OpenMP's, over (batch item, head, query block). */
int dfi_attention_f32(const dfi_attention_args *args, dfi_attention_isa isa);

/* The same for bfloat16 q, k, v and out (raw bits), on CPUs with AVX512-BF16: products of
 * bfloat16 pairs accumulated in float32, softmax in float32, its weights rounded to bfloat16.
 * Returns as dfi_attention_f32; -2 where the CPU lacks AVX512-BF16 (dfi_attention_bf16_supported
 * says so beforehand): the caller then computes in float32. */
typedef struct dfi_attention_bf16_args {
    const uint16_t *q, *k, *v;
    uint16_t *out;
    int64_t batch, tokens, heads, head_dim;
    int64_t batch_stride, token_stride, head_stride;
    int64_t out_batch_stride, out_token_stride, out_head_stride;
    float scale;
} dfi_attention_bf16_args;

int dfi_attention_bf16(const dfi_attention_bf16_args *args);
int dfi_attention_bf16_supported(void);

/* The family DFI_ATTENTION_AUTO picks here, and a family's name ("avx512", "avx2", "generic"). */
dfi_attention_isa dfi_attention_best_isa(void);
const char *dfi_attention_isa_name(dfi_attention_isa isa);

#ifdef __cplusplus
}
#endif

#endif
