/* Complete-linkage agglomerative clustering by the nearest-neighbour chain (complete linkage is
 * reducible, so the chain finds exactly the merges of the greedy algorithm) with the
 * Lance-Williams update d(k, i + j) = max(d(k, i), d(k, j)). */
#include "../internal.h"
#include "dinofeat/cluster.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct merge {
    size_t a, b; /* representatives (original point indices) of the merged clusters */
    double height;
} merge;

static int by_height(const void *x, const void *y) {
    const merge *a = x, *b = y;
    return (a->height > b->height) - (a->height < b->height);
}

static size_t root_of(size_t *parent, size_t x) {
    while (parent[x] != x) x = parent[x] = parent[parent[x]];
    return x;
}

/* The n - 1 merges of the dendrogram (heights unsorted). d: n x n distances, overwritten. */
static void nearest_neighbour_chain(double *d, size_t n, merge *merges) {
    unsigned char *active = malloc(n);
    size_t *chain = malloc(n * sizeof *chain), length = 0, merged = 0;
    memset(active, 1, n);
    while (merged + 1 < n) {
        if (length == 0) {
            size_t first = 0;
            while (!active[first]) first++;
            chain[length++] = first;
        }
        size_t a = chain[length - 1], b = n;
        double best = INFINITY;
        /* Prefer the previous chain element on ties, so the chain cannot cycle. */
        if (length >= 2) b = chain[length - 2], best = d[a * n + b];
        for (size_t k = 0; k < n; k++)
            if (active[k] && k != a && d[a * n + k] < best) best = d[a * n + k], b = k;
        if (length >= 2 && b == chain[length - 2]) {
            length -= 2;
            merges[merged++] = (merge){a, b, best};
            for (size_t k = 0; k < n; k++) { /* the union lives in slot a */
                if (!active[k] || k == a || k == b) continue;
                double value = fmax(d[a * n + k], d[b * n + k]);
                d[a * n + k] = d[k * n + a] = value;
            }
            active[b] = 0;
        } else {
            chain[length++] = b;
        }
    }
    free(active);
    free(chain);
}

df_status df_agglomerate_complete(const float *points, size_t n, size_t dim, double threshold, size_t min_clusters,
                                  int32_t *labels, size_t *count) {
    DFI_CHECK_NOT_NULL(points);
    DFI_CHECK_NOT_NULL(labels);
    DFI_CHECK_NOT_NULL(count);
    if (n == 0 || dim == 0 || n > 32768)
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "n must be in 1..32768 and dim >= 1, got %zu and %zu", n, dim));
    if (!(threshold == threshold)) DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "threshold is NaN"));
    double *d = malloc(n * n * sizeof *d);
    merge *merges = malloc((n > 1 ? n - 1 : 1) * sizeof *merges);
    size_t *parent = malloc(n * sizeof *parent);
    if (!d || !merges || !parent) {
        free(d), free(merges), free(parent);
        DFI_RETURN(dfi_error(DF_E_OUT_OF_MEMORY, "%zu points need %zu MB of distances", n, n * n * 8 >> 20));
    }
#pragma omp parallel for schedule(dynamic, 16) if (n > 256)
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double sum = 0;
            for (size_t k = 0; k < dim; k++) {
                double diff = (double)points[i * dim + k] - (double)points[j * dim + k];
                sum += diff * diff;
            }
            d[i * n + j] = sqrt(sum);
        }
    nearest_neighbour_chain(d, n, merges);
    qsort(merges, n - 1, sizeof *merges, by_height);
    for (size_t i = 0; i < n; i++) parent[i] = i;
    size_t clusters = n;
    for (size_t m = 0; m + 1 < n && merges[m].height <= threshold && clusters > min_clusters; m++) {
        parent[root_of(parent, merges[m].a)] = root_of(parent, merges[m].b);
        clusters--;
    }
    /* Number clusters in order of their first point. */
    for (size_t i = 0; i < n; i++) labels[i] = -1;
    int32_t next = 0;
    int32_t *ids = malloc(n * sizeof *ids);
    for (size_t i = 0; ids && i < n; i++) ids[i] = -1;
    for (size_t i = 0; ids && i < n; i++) {
        size_t root = root_of(parent, i);
        if (ids[root] < 0) ids[root] = next++;
        labels[i] = ids[root];
    }
    free(d), free(merges), free(parent);
    if (ids == NULL) DFI_RETURN(dfi_error(DF_E_OUT_OF_MEMORY, "out of memory"));
    free(ids);
    *count = (size_t)next;
    return DF_OK;
}
