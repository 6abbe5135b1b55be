/* The fused attention's AVX-512 family: 6 query rows x 4 vectors of 16 keys (or values), 24 of
 * the 32 registers as accumulators. Called only where the CPU reports AVX-512F (attention.c). */
#include "attention_internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#include "exp_avx512.h"

#define TARGET __attribute__((target("avx512f,fma")))
#define INLINE TARGET static inline __attribute__((always_inline))
typedef __m512 vec;
#define W 16
#define ROWS 6
#define NV 4
#define KERNEL dfi_attention_avx512

INLINE vec vzero(void) { return _mm512_setzero_ps(); }
INLINE vec vload(const float *p) { return _mm512_loadu_ps(p); }
INLINE void vstore(float *p, vec x) { _mm512_storeu_ps(p, x); }
INLINE vec vset1(float x) { return _mm512_set1_ps(x); }
INLINE vec vadd(vec a, vec b) { return _mm512_add_ps(a, b); }
INLINE vec vsub(vec a, vec b) { return _mm512_sub_ps(a, b); }
INLINE vec vmul(vec a, vec b) { return _mm512_mul_ps(a, b); }
INLINE vec vmax(vec a, vec b) { return _mm512_max_ps(a, b); }
INLINE vec vfma(vec a, vec b, vec c) { return _mm512_fmadd_ps(a, b, c); }
INLINE float vhmax(vec x) { return _mm512_reduce_max_ps(x); }
INLINE float vhsum(vec x) { return _mm512_reduce_add_ps(x); }

INLINE vec vexp(vec x) { return dfi_exp512(x); }

#include "attention_body.inc"
#endif
