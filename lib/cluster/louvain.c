/* Louvain community detection through igraph's multilevel algorithm (Blondel et al. 2008), and
 * DatUS²'s patch segments (specs/datus.md steps 2 to 5). igraph reports errors through a
 * process-wide handler that aborts by default: every call here installs the ignoring handler for
 * its duration and turns igraph's error codes into ours. */
#include "../internal.h"
#include "../../shim/df_shim.h"
#include "datus_shim.h"
#include "dinofeat/cluster.h"
#include "dinofeat/datus.h"
#include "dinofeat/regions.h"

#include <igraph.h>
#include <stdlib.h>
#include <string.h>

typedef struct igraph_handlers {
    igraph_error_handler_t *error;
    igraph_warning_handler_t *warning;
} igraph_handlers;

static igraph_handlers quiet_igraph(void) {
    igraph_handlers old = {igraph_set_error_handler(igraph_error_handler_ignore),
                           igraph_set_warning_handler(igraph_warning_handler_ignore)};
    return old;
}

static void restore_igraph(igraph_handlers old) {
    igraph_set_error_handler(old.error);
    igraph_set_warning_handler(old.warning);
}

static df_status from_igraph(igraph_error_t code, const char *what) {
    if (code == IGRAPH_SUCCESS) return DF_OK;
    return dfi_error(code == IGRAPH_ENOMEM ? DF_E_OUT_OF_MEMORY : DF_E_INTERNAL, "igraph %s: %s", what,
                     igraph_strerror(code));
}

/* Communities renumbered 0..count - 1 in order of each one's first vertex. */
static size_t renumber(const igraph_vector_int_t *membership, size_t n, int32_t *out) {
    int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
    size_t count = 0;
    if (ids == NULL) return (size_t)-1;
    for (size_t i = 0; i < n; i++) ids[i] = -1;
    for (size_t i = 0; i < n; i++) {
        igraph_integer_t c = VECTOR(*membership)[i];
        if (ids[c] < 0) ids[c] = (int32_t)count++;
        out[i] = ids[c];
    }
    free(ids);
    return count;
}

static df_status run_louvain(size_t n, const int64_t *edges, size_t edge_count, const double *weights,
                             double resolution, uint64_t seed, int32_t *membership, size_t *count, double *modularity) {
    igraph_t graph;
    igraph_vector_int_t edge_list, groups;
    igraph_vector_t weight_list, levels;
    igraph_vector_int_init(&groups, 0);
    igraph_vector_init(&levels, 0);
    igraph_error_t code = igraph_vector_int_init(&edge_list, (igraph_integer_t)(2 * edge_count));
    for (size_t e = 0; code == IGRAPH_SUCCESS && e < 2 * edge_count; e++) VECTOR(edge_list)[e] = edges[e];
    if (code == IGRAPH_SUCCESS) code = igraph_vector_init(&weight_list, weights ? (igraph_integer_t)edge_count : 0);
    for (size_t e = 0; code == IGRAPH_SUCCESS && weights && e < edge_count; e++) VECTOR(weight_list)[e] = weights[e];
    int built = 0;
    if (code == IGRAPH_SUCCESS) code = igraph_create(&graph, &edge_list, (igraph_integer_t)n, IGRAPH_UNDIRECTED);
    built = code == IGRAPH_SUCCESS;
    /* The multilevel algorithm visits vertices in a random order: seed igraph's generator. */
    if (code == IGRAPH_SUCCESS) code = igraph_rng_seed(igraph_rng_default(), (igraph_uint_t)seed);
    if (code == IGRAPH_SUCCESS)
        code = igraph_community_multilevel(&graph, weights ? &weight_list : NULL, resolution, &groups, NULL, &levels);
    df_status status = from_igraph(code, "multilevel community detection");
    if (status == DF_OK) {
        *count = renumber(&groups, n, membership);
        if (*count == (size_t)-1) status = dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
        if (modularity) *modularity = igraph_vector_size(&levels) ? igraph_vector_max(&levels) : 0.0;
    }
    if (built) igraph_destroy(&graph);
    igraph_vector_int_destroy(&edge_list);
    igraph_vector_int_destroy(&groups);
    igraph_vector_destroy(&levels);
    if (code == IGRAPH_SUCCESS || built) igraph_vector_destroy(&weight_list);
    return status;
}

df_status df_louvain(size_t n, const int64_t *edges, size_t edge_count, const double *weights, double resolution,
                     uint64_t seed, int32_t *membership, size_t *count, double *modularity) {
    DFI_CHECK_NOT_NULL(membership);
    DFI_CHECK_NOT_NULL(count);
    DFI_CHECK_ARG(n > 0, "the graph has no vertex");
    DFI_CHECK_ARG(edge_count == 0 || edges != NULL, "edges is NULL");
    DFI_CHECK_ARG(resolution >= 0, "resolution must be >= 0");
    for (size_t e = 0; e < 2 * edge_count; e++)
        if (edges[e] < 0 || (size_t)edges[e] >= n)
            DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "edge %zu names vertex %lld, outside 0..%zu", e / 2,
                                 (long long)edges[e], n - 1));
    for (size_t e = 0; weights && e < edge_count; e++)
        if (!(weights[e] >= 0)) DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "weight %zu is negative or NaN", e));
    igraph_handlers old = quiet_igraph();
    df_status status = run_louvain(n, edges, edge_count, weights, resolution, seed, membership, count, modularity);
    restore_igraph(old);
    DFI_RETURN(status);
}

df_status df_datus_split(const int32_t *communities, size_t gh, size_t gw, size_t tau, int32_t *segments,
                         size_t *count) {
    DFI_CHECK_NOT_NULL(communities);
    DFI_CHECK_NOT_NULL(segments);
    DFI_CHECK_NOT_NULL(count);
    DFI_CHECK_ARG(gh > 0 && gw > 0, "the grid is empty");
    size_t pieces = 0;
    /* every community's 8-connected pieces at once: components of equal values */
    df_status status = df_connected_components(communities, gw, gh, 8, -1, segments, &pieces);
    if (status != DF_OK) DFI_RETURN(status);
    int64_t *areas = calloc(pieces + 1, sizeof *areas);
    int32_t *ids = malloc((pieces + 1) * sizeof *ids);
    if (areas == NULL || ids == NULL) {
        free(areas), free(ids);
        DFI_RETURN(dfi_error(DF_E_OUT_OF_MEMORY, "out of memory"));
    }
    for (size_t i = 0; i < gh * gw; i++) areas[segments[i]]++;
    size_t valid = 0;
    for (size_t p = 1; p <= pieces; p++) ids[p] = areas[p] > (int64_t)tau ? (int32_t)++valid : 0;
    for (size_t i = 0; i < gh * gw; i++) segments[i] = ids[segments[i]];
    free(areas), free(ids);
    *count = valid;
    return DF_OK;
}

/* The edges m < n with k_m . k_n > 0; the products come from one GEMM (shim), as n^2 d scalar
 * multiply-adds took 0.2 s for a 28 x 28 grid of ViT-B keys. */
static df_status positive_affinity_edges(const float *keys, size_t n, size_t dim, int64_t **edges, size_t *count) {
    uint8_t *positive = malloc(n * n);
    *count = 0;
    *edges = NULL;
    if (positive == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory for the affinity graph");
    df_status status = dfs_positive_pairs(keys, (int64_t)n, (int64_t)dim, positive);
    if (status != DF_OK) status = dfi_error(status, "affinities: %s", dfs_last_error());
    size_t total = 0;
    for (size_t a = 0; status == DF_OK && a < n; a++)
        for (size_t b = a + 1; b < n; b++) total += positive[a * n + b];
    if (status == DF_OK && (*edges = malloc(2 * (total ? total : 1) * sizeof **edges)) == NULL)
        status = dfi_error(DF_E_OUT_OF_MEMORY, "out of memory for %zu edges", total);
    for (size_t a = 0; status == DF_OK && a < n; a++)
        for (size_t b = a + 1; b < n; b++)
            if (positive[a * n + b]) (*edges)[2 * *count] = (int64_t)a, (*edges)[2 * *count + 1] = (int64_t)b, (*count)++;
    free(positive);
    return status;
}

df_status df_datus_segments(const float *keys, size_t gh, size_t gw, size_t dim, size_t tau, uint64_t seed,
                            int32_t *segments, size_t *count, int32_t *communities) {
    DFI_CHECK_NOT_NULL(keys);
    DFI_CHECK_NOT_NULL(segments);
    DFI_CHECK_NOT_NULL(count);
    DFI_CHECK_ARG(gh > 0 && gw > 0 && dim > 0, "the grid or the keys are empty");
    const size_t n = gh * gw;
    int64_t *edges = NULL;
    size_t edge_count = 0, found = 0;
    int32_t *membership = communities ? communities : malloc(n * sizeof *membership);
    df_status status = membership ? positive_affinity_edges(keys, n, dim, &edges, &edge_count)
                                  : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    if (status == DF_OK) status = df_louvain(n, edges, edge_count, NULL, 1.0, seed, membership, &found, NULL);
    if (status == DF_OK) status = df_datus_split(membership, gh, gw, tau, segments, count);
    free(edges);
    if (membership != communities) free(membership);
    DFI_RETURN(status);
}
