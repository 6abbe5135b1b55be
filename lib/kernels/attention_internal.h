/* What the fused attention's dispatcher (attention.c) shares with its micro-kernel families
 * (attention_avx512.c, attention_avx2.c, attention_generic.c, each an instance of
 * attention_body.inc). */
#ifndef DINOFEAT_KERNELS_ATTENTION_INTERNAL_H
#define DINOFEAT_KERNELS_ATTENTION_INTERNAL_H

#include "attention.h"

#include <stddef.h>

/* Queries a task, keys a block: a 96 x 256 block of scores (96 KB) plus a key block (64 KB at
 * head_dim 64) and its values (64 KB) stay in a core's L2. 96 is a multiple of every family's
 * rows, 256 of every family's column chunk. */
#define DFI_ATTENTION_QUERY_BLOCK 96
#define DFI_ATTENTION_KEY_BLOCK 256

/* One call's geometry. */
typedef struct dfi_attention_plan {
    const dfi_attention_args *args;
    int64_t key_blocks, query_blocks, padded_dim;
} dfi_attention_plan;

/* A thread's scratch: a task's work (dfi_attention_work_floats), and the keys and values of the
 * (batch item, head) it last packed. Keys: per key block, head_dim rows of KEY_BLOCK keys
 * (transposed, so a micro-kernel loads consecutive keys), zero beyond the tokens. Values: NULL
 * where head_dim is a multiple of the family's column chunk (they are read in place); otherwise
 * key_blocks x KEY_BLOCK rows of padded_dim, zero beyond head_dim. Threads take contiguous runs
 * of tasks, so each packs a head about once, and the packs never exceed one head per thread. */
typedef struct dfi_attention_scratch {
    float *work, *keys, *values;
    int64_t packed; /* batch item * heads + head, or -1 */
} dfi_attention_scratch;

/* Packs item_head's keys (and values, unless in place) into the scratch. */
void dfi_attention_pack(const dfi_attention_plan *plan, int64_t item_head, dfi_attention_scratch *scratch);

/* Floats of scratch one task needs: scores, output accumulators, running max, sum and rescale. */
static inline size_t dfi_attention_work_floats(int64_t padded_dim) {
    return (size_t)DFI_ATTENTION_QUERY_BLOCK * (DFI_ATTENTION_KEY_BLOCK + (size_t)padded_dim + 3);
}

typedef struct dfi_attention_kernel {
    int64_t columns; /* a micro-kernel's column chunk: padded_dim is a multiple of it */
    void (*task)(const dfi_attention_plan *plan, int64_t task, dfi_attention_scratch *scratch);
} dfi_attention_kernel;

extern const dfi_attention_kernel dfi_attention_generic;
#if defined(__x86_64__) || defined(__i386__)
extern const dfi_attention_kernel dfi_attention_avx2;
extern const dfi_attention_kernel dfi_attention_avx512;
#endif

#endif
