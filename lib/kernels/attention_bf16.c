/* The fused attention for bfloat16 inputs on CPUs with AVX512-BF16: the same blocks and online
 * softmax as the float32 families (attention_body.inc), with both products in vdpbf16ps, which
 * multiplies pairs of bfloat16 and accumulates in float32. Keys are packed in pairs of head
 * dimensions, values in pairs of keys, and each block's softmax weights are rounded to bfloat16
 * pairs (as a bfloat16 softmax followed by a bfloat16 matmul rounds them); scores, the running
 * max and sum and the output accumulators stay float32. */
#include "attention_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define TARGET __attribute__((target("avx512f,avx512bf16,fma")))
#define QB DFI_ATTENTION_QUERY_BLOCK
#define KB DFI_ATTENTION_KEY_BLOCK
#define ROWS 6
#define NV 4
#define CHUNK 64 /* NV vectors of 16 float32 lanes */

typedef struct plan {
    const dfi_attention_bf16_args *args;
    const uint32_t *keys;   /* per (item, head), per key block: pairs rows of KB (dim 2p, 2p + 1) */
    const uint32_t *values; /* per (item, head), per key block: KB / 2 rows of padded_dim (keys 2j, 2j + 1) */
    int64_t key_blocks, query_blocks, pairs, padded_dim;
} plan;

static inline uint32_t pair(uint16_t low, uint16_t high) { return (uint32_t)low | (uint32_t)high << 16; }

static inline uint16_t to_bfloat16(float x) {
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)(bits >> 16 | 0x40); /* NaN stays NaN */
    return (uint16_t)((bits + 0x7fffu + (bits >> 16 & 1u)) >> 16);
}

TARGET static inline __m512bh as_pairs(__m512i x) { return (__m512bh)x; }

/* Scores of ROWS packed query rows (pairs each) against the first `chunks` chunks of a key block. */
TARGET static void block_scores(const uint32_t *q, int64_t pairs, const uint32_t *keys, int64_t chunks,
                                float *scores) {
    for (int64_t c = 0; c < chunks; c++) {
        __m512 acc[ROWS][NV];
#pragma GCC unroll 16
        for (int r = 0; r < ROWS; r++)
#pragma GCC unroll 8
            for (int v = 0; v < NV; v++) acc[r][v] = _mm512_setzero_ps();
        const uint32_t *column = keys + c * CHUNK;
        for (int64_t p = 0; p < pairs; p++) {
            __m512bh k[NV];
#pragma GCC unroll 8
            for (int v = 0; v < NV; v++) k[v] = as_pairs(_mm512_loadu_si512(column + p * KB + v * 16));
#pragma GCC unroll 16
            for (int r = 0; r < ROWS; r++) {
                const __m512bh x = as_pairs(_mm512_set1_epi32((int)q[r * pairs + p]));
#pragma GCC unroll 8
                for (int v = 0; v < NV; v++) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], x, k[v]);
            }
        }
#pragma GCC unroll 16
        for (int r = 0; r < ROWS; r++)
#pragma GCC unroll 8
            for (int v = 0; v < NV; v++) _mm512_storeu_ps(scores + r * KB + c * CHUNK + v * 16, acc[r][v]);
    }
}

/* 2^t for t <= 0, for weights that are rounded to bfloat16 (2^-9) right after: 2^n 2^f with f in
 * [-1/2, 1/2] and 2^f by a degree-5 polynomial (fitted to 7.5e-8 relative, 2.3e-7 evaluated in
 * float32), 10 vector operations where the float32 kernels' expf-accurate exp takes 17; the
 * softmax is 13% of a bfloat16 forward at long sequences. Below 2^-126 (the masked keys' -inf
 * among them) gives 2^-126: those weights meet zero values and add 1e-38 to a sum of at least 1. */
TARGET static inline __m512 exp2_weights(__m512 t) {
    t = _mm512_max_ps(t, _mm512_set1_ps(-126.0f));
    const __m512 n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    const __m512 f = _mm512_sub_ps(t, n);
    __m512 p = _mm512_set1_ps(1.327647152e-3f);
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.675541331e-3f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.550713275e-2f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.402211972e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.931469671e-1f));
    p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.000000072e+0f));
    return _mm512_scalef_ps(p, n);
}

/* The online softmax of one row over one key block (as attention_body.inc's), its weights
 * written as bfloat16 pairs; returns the factor that rescales the row's earlier output. */
TARGET static float block_softmax(float *s, int64_t valid, int64_t width, float scale, float *max, float *sum,
                                  uint32_t *weights) {
    for (int64_t j = valid; j < width; j++) s[j] = -INFINITY;
    __m512 m = _mm512_loadu_ps(s);
    for (int64_t j = 16; j < width; j += 16) m = _mm512_max_ps(m, _mm512_loadu_ps(s + j));
    const float block_max = _mm512_reduce_max_ps(m), new_max = block_max > *max ? block_max : *max;
    const float alpha = *max == -INFINITY ? 0.0f : expf(scale * (*max - new_max));
    /* exp(scale (s - max)) = 2^(s c - max c), c = scale log2(e): one FMA for the argument */
    const float c = scale * 1.44269504088896341f;
    const __m512 factor = _mm512_set1_ps(c), offset = _mm512_set1_ps(new_max * c);
    __m512 total = _mm512_setzero_ps();
    for (int64_t j = 0; j < width; j += 32) {
        const __m512 low = exp2_weights(_mm512_fmsub_ps(_mm512_loadu_ps(s + j), factor, offset));
        const __m512 high = exp2_weights(_mm512_fmsub_ps(_mm512_loadu_ps(s + j + 16), factor, offset));
        total = _mm512_add_ps(total, _mm512_add_ps(low, high));
        _mm512_storeu_si512(weights + j / 2, (__m512i)_mm512_cvtne2ps_pbh(high, low));
    }
    *sum = *sum * alpha + _mm512_reduce_add_ps(total);
    *max = new_max;
    return alpha;
}

/* out (ROWS rows of padded_dim) = alpha * out + weights . values over `key_pairs` pairs of keys. */
TARGET static void block_values(const uint32_t *weights, int64_t key_pairs, const uint32_t *values,
                                int64_t padded_dim, const float *alpha, float *out) {
    for (int64_t c = 0; c < padded_dim / CHUNK; c++) {
        __m512 acc[ROWS][NV];
#pragma GCC unroll 16
        for (int r = 0; r < ROWS; r++) {
            const __m512 a = _mm512_set1_ps(alpha[r]);
#pragma GCC unroll 8
            for (int v = 0; v < NV; v++)
                acc[r][v] = _mm512_mul_ps(_mm512_loadu_ps(out + r * padded_dim + c * CHUNK + v * 16), a);
        }
        const uint32_t *column = values + c * CHUNK;
        for (int64_t j = 0; j < key_pairs; j++) {
            __m512bh x[NV];
#pragma GCC unroll 8
            for (int v = 0; v < NV; v++) x[v] = as_pairs(_mm512_loadu_si512(column + j * padded_dim + v * 16));
#pragma GCC unroll 16
            for (int r = 0; r < ROWS; r++) {
                const __m512bh p = as_pairs(_mm512_set1_epi32((int)weights[r * (KB / 2) + j]));
#pragma GCC unroll 8
                for (int v = 0; v < NV; v++) acc[r][v] = _mm512_dpbf16_ps(acc[r][v], p, x[v]);
            }
        }
#pragma GCC unroll 16
        for (int r = 0; r < ROWS; r++)
#pragma GCC unroll 8
            for (int v = 0; v < NV; v++) _mm512_storeu_ps(out + r * padded_dim + c * CHUNK + v * 16, acc[r][v]);
    }
}

static size_t work_bytes(const plan *p) {
    const size_t floats = (size_t)QB * KB + (size_t)QB * (size_t)p->padded_dim + 3 * QB;
    const size_t words = (size_t)QB * (KB / 2) + (size_t)QB * (size_t)p->pairs;
    return ((floats + words) * 4 + 63) / 64 * 64;
}

/* Task t: batch item, head and query block, as attention_body.inc's. */
TARGET static void task(const plan *plan, int64_t t, void *work) {
    const dfi_attention_bf16_args *a = plan->args;
    const int64_t per_item = a->heads * plan->query_blocks, pd = plan->padded_dim, pairs = plan->pairs;
    const int64_t b = t / per_item, h = t % per_item / plan->query_blocks, first = t % plan->query_blocks * QB;
    const int64_t rows = a->tokens - first < QB ? a->tokens - first : QB, groups = (rows + ROWS - 1) / ROWS;
    float *scores = work, *out = scores + (size_t)QB * KB, *max = out + (size_t)QB * pd, *sum = max + QB,
          *alpha = sum + QB;
    uint32_t *weights = (uint32_t *)(alpha + QB), *q = weights + (size_t)QB * (KB / 2);
    memset(out, 0, (size_t)(groups * ROWS * pd) * sizeof *out);
    for (int64_t i = 0; i < groups * ROWS; i++) {
        max[i] = -INFINITY, sum[i] = 0.0f;
        const int64_t row = first + i < a->tokens ? first + i : a->tokens - 1;
        const uint16_t *x = a->q + b * a->batch_stride + h * a->head_stride + row * a->token_stride;
        for (int64_t p = 0; p < pairs; p++)
            q[i * pairs + p] = pair(x[2 * p], 2 * p + 1 < a->head_dim ? x[2 * p + 1] : 0);
    }
    const int64_t item_head = b * a->heads + h;
    const uint32_t *keys = plan->keys + item_head * plan->key_blocks * pairs * KB;
    const uint32_t *values = plan->values + item_head * plan->key_blocks * (KB / 2) * pd;
    for (int64_t kb = 0; kb < plan->key_blocks; kb++) {
        const int64_t valid = a->tokens - kb * KB < KB ? a->tokens - kb * KB : KB;
        const int64_t chunks = (valid + CHUNK - 1) / CHUNK;
        for (int64_t g = 0; g < groups; g++)
            block_scores(q + g * ROWS * pairs, pairs, keys + kb * pairs * KB, chunks, scores + g * ROWS * KB);
        for (int64_t i = 0; i < groups * ROWS; i++)
            alpha[i] = block_softmax(scores + i * KB, valid, chunks * CHUNK, a->scale, max + i, sum + i,
                                     weights + i * (KB / 2));
        for (int64_t g = 0; g < groups; g++)
            block_values(weights + g * ROWS * (KB / 2), (valid + 1) / 2, values + kb * (KB / 2) * pd, pd,
                         alpha + g * ROWS, out + g * ROWS * pd);
    }
    for (int64_t i = 0; i < rows; i++) {
        uint16_t *target =
            a->out + b * a->out_batch_stride + (first + i) * a->out_token_stride + h * a->out_head_stride;
        for (int64_t d = 0; d < a->head_dim; d++) target[d] = to_bfloat16(out[i * pd + d] / sum[i]);
    }
}

/* Keys in pairs of head dimensions, values in pairs of keys; zeros beyond the tokens and dims. */
static void pack(const dfi_attention_bf16_args *a, const plan *p, uint32_t *keys, uint32_t *values) {
    const int64_t blocks = a->batch * a->heads * p->key_blocks, hd = a->head_dim, pd = p->padded_dim;
#pragma omp parallel for schedule(static)
    for (int64_t t = 0; t < blocks; t++) {
        const int64_t item_head = t / p->key_blocks, kb = t % p->key_blocks;
        const int64_t base = item_head / a->heads * a->batch_stride + item_head % a->heads * a->head_stride;
        uint32_t *kp = keys + t * p->pairs * KB, *vp = values + t * (KB / 2) * pd;
        memset(kp, 0, (size_t)(p->pairs * KB) * sizeof *kp);
        memset(vp, 0, (size_t)((KB / 2) * pd) * sizeof *vp);
        for (int64_t j = 0; j < KB && kb * KB + j < a->tokens; j++) {
            const uint16_t *k = a->k + base + (kb * KB + j) * a->token_stride;
            const uint16_t *v = a->v + base + (kb * KB + j) * a->token_stride;
            for (int64_t q = 0; q < p->pairs; q++) kp[q * KB + j] = pair(k[2 * q], 2 * q + 1 < hd ? k[2 * q + 1] : 0);
            uint16_t *half = (uint16_t *)(vp + j / 2 * pd) + (j & 1); /* little-endian: even keys low */
            for (int64_t d = 0; d < hd; d++) half[2 * d] = v[d];
        }
    }
}

int dfi_attention_bf16_supported(void) {
    return __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512f");
}

int dfi_attention_bf16(const dfi_attention_bf16_args *a) {
    if (!dfi_attention_bf16_supported()) return -2;
    if (a->batch <= 0 || a->heads <= 0 || a->tokens <= 0 || a->head_dim <= 0) return 0;
    plan p = {a, NULL, NULL, (a->tokens + KB - 1) / KB, (a->tokens + QB - 1) / QB, (a->head_dim + 1) / 2,
              (a->head_dim + CHUNK - 1) / CHUNK * CHUNK};
    const size_t blocks = (size_t)(a->batch * a->heads * p.key_blocks);
    uint32_t *keys = malloc(blocks * (size_t)(p.pairs * KB) * sizeof *keys);
    uint32_t *values = malloc(blocks * (size_t)((KB / 2) * p.padded_dim) * sizeof *values);
    int failed = keys == NULL || values == NULL;
    if (!failed) {
        pack(a, &p, keys, values);
        p.keys = keys, p.values = values;
        const int64_t tasks = a->batch * a->heads * p.query_blocks;
        const size_t bytes = work_bytes(&p);
#pragma omp parallel reduction(| : failed)
        {
            void *work = aligned_alloc(64, bytes);
            failed |= work == NULL;
#pragma omp for schedule(dynamic)
            for (int64_t t = 0; t < tasks; t++)
                if (work) task(&p, t, work);
            free(work);
        }
    }
    free(keys), free(values);
    return failed ? -1 : 0;
}

#else

int dfi_attention_bf16_supported(void) { return 0; }
int dfi_attention_bf16(const dfi_attention_bf16_args *a) {
    (void)a;
    return -2;
}

#endif
