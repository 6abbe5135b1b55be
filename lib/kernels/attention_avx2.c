/* The fused attention's AVX2 + FMA family: 3 query rows x 4 vectors of 8 keys (or values), 12 of
 * the 16 registers as accumulators. Called only where the CPU reports AVX2 and FMA (attention.c). */
#include "attention_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define TARGET __attribute__((target("avx2,fma")))
#define INLINE TARGET static inline __attribute__((always_inline))
typedef __m256 vec;
#define W 8
#define ROWS 3
#define NV 4
#define KERNEL dfi_attention_avx2

INLINE vec vzero(void) { return _mm256_setzero_ps(); }
INLINE vec vload(const float *p) { return _mm256_loadu_ps(p); }
INLINE void vstore(float *p, vec x) { _mm256_storeu_ps(p, x); }
INLINE vec vset1(float x) { return _mm256_set1_ps(x); }
INLINE vec vadd(vec a, vec b) { return _mm256_add_ps(a, b); }
INLINE vec vsub(vec a, vec b) { return _mm256_sub_ps(a, b); }
INLINE vec vmul(vec a, vec b) { return _mm256_mul_ps(a, b); }
INLINE vec vmax(vec a, vec b) { return _mm256_max_ps(a, b); }
INLINE vec vfma(vec a, vec b, vec c) { return _mm256_fmadd_ps(a, b, c); }

INLINE float vhmax(vec x) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}
INLINE float vhsum(vec x) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

/* As the AVX-512 families' (exp_avx512.h); 2^n is built in the exponent bits, n in -126..127. */
INLINE vec vexp(vec x) {
    const vec tiny = _mm256_cmp_ps(x, _mm256_set1_ps(-87.0f), _CMP_LT_OQ);
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
    const vec n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    vec r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    vec p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i exponent = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_andnot_ps(tiny, _mm256_mul_ps(p, _mm256_castsi256_ps(exponent)));
}

#include "attention_body.inc"
#endif
