/* The fused attention's portable family, in plain C: 4 query rows x 4 columns of one float each,
 * for CPUs (or architectures) without the vector families. */
#include "attention_internal.h"

#include <math.h>

#define TARGET
#define INLINE static inline
typedef float vec;
#define W 1
#define ROWS 4
#define NV 4
#define KERNEL dfi_attention_generic

INLINE vec vzero(void) { return 0.0f; }
INLINE vec vload(const float *p) { return *p; }
INLINE void vstore(float *p, vec x) { *p = x; }
INLINE vec vset1(float x) { return x; }
INLINE vec vadd(vec a, vec b) { return a + b; }
INLINE vec vsub(vec a, vec b) { return a - b; }
INLINE vec vmul(vec a, vec b) { return a * b; }
INLINE vec vmax(vec a, vec b) { return a > b ? a : b; }
INLINE vec vfma(vec a, vec b, vec c) { return a * b + c; }
INLINE float vhmax(vec x) { return x; }
INLINE float vhsum(vec x) { return x; }
INLINE vec vexp(vec x) { return x < -87.0f ? 0.0f : expf(x); }

#include "attention_body.inc"
