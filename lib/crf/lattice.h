/* The permutohedral lattice (Adams, Baek and Davis 2010) as Krähenbühl's densecrf builds it:
 * Gaussian filtering of N points with d-dimensional features in O(N d^2), splat / blur / slice. */
#ifndef DINOFEAT_LIB_CRF_LATTICE_H
#define DINOFEAT_LIB_CRF_LATTICE_H

#include "dinofeat/core.h"

#include <stddef.h>

typedef struct dfi_lattice dfi_lattice;

/* out: new, free with dfi_lattice_free. features: n x dim floats, already divided by the
 * kernel's standard deviations, so the lattice approximates sum_j exp(-|f_i - f_j|^2 / 2) v_j. */
df_status dfi_lattice_new(const float *features, size_t n, int dim, dfi_lattice **out);
void dfi_lattice_free(dfi_lattice *lattice);

/* out[i] = sum_j W_ij in[j] for every point i, values of `channels` floats per point (n x channels,
 * row-major). out may equal in. Uses OpenMP. */
df_status dfi_lattice_filter(const dfi_lattice *lattice, const float *in, float *out, size_t channels);

/* self[i] = W_ii, the weight the lattice gives a point's own value, so callers can exclude it. */
df_status dfi_lattice_self_weights(const dfi_lattice *lattice, float *self);

#endif
