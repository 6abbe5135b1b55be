/* STEGO's KNN table over a feature cache (specs/stego.md): each item's features average-pooled
 * and L2-normalised, exact cosine top-k by blocked matrix products (shim/retrieval.cpp); and the
 * table's file: "DFKNN\0\0\0", u32 version, u32 k, u64 items, items x k int32. */
#include "dataset_internal.h"
#include "../tensor_internal.h"
#include "dinofeat/cache.h"
#include "retrieval_shim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char magic[8] = {'D', 'F', 'K', 'N', 'N', 0, 0, 0};
#define FORMAT_VERSION 1u

/* The pooled, normalised feature of every item (items x dim, new). */
static df_status pooled_features(const df_feature_cache *cache, size_t items, size_t cells, size_t dim, float **out) {
    float *grid = malloc(cells * dim * sizeof *grid);
    *out = malloc(items * dim * sizeof **out);
    df_status status = grid && *out ? DF_OK : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory for %zu features", items);
    for (size_t i = 0; status == DF_OK && i < items; i++) {
        status = df_feature_cache_read(cache, i, grid);
        float *row = *out + i * dim;
        for (size_t d = 0; status == DF_OK && d < dim; d++) {
            double sum = 0;
            for (size_t c = 0; c < cells; c++) sum += grid[c * dim + d];
            row[d] = (float)(sum / (double)cells);
        }
    }
    if (status == DF_OK) dfi_normalise_rows(*out, items, dim);
    free(grid);
    return status;
}

df_status df_knn_table(const df_feature_cache *cache, size_t k, int32_t *neighbours) {
    DFI_CHECK_NOT_NULL(cache);
    DFI_CHECK_NOT_NULL(neighbours);
    size_t items, height, width, dim;
    df_feature_cache_shape(cache, &items, &height, &width, &dim);
    DFI_CHECK_ARG(k >= 1 && k <= items, "k must be in 1..items");
    float *pooled = NULL, *similarity = malloc(items * k * sizeof *similarity);
    int64_t *index = malloc(items * k * sizeof *index);
    df_status status = similarity && index ? pooled_features(cache, items, height * width, dim, &pooled)
                                           : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    const int64_t shape[2] = {(int64_t)items, (int64_t)dim};
    df_tensor *bank = NULL;
    if (status == DF_OK) status = df_tensor_borrow_host(pooled, 2, shape, &bank);
    if (status == DF_OK) {
        status = dfs_top_k_dot(dfi_tensor_desc(bank), dfi_tensor_desc(bank), (int64_t)k, index, similarity);
        if (status != DF_OK) status = dfi_error(status, "KNN: %s", dfs_last_error());
    }
    for (size_t i = 0; status == DF_OK && i < items * k; i++) neighbours[i] = (int32_t)index[i];
    df_tensor_free(bank);
    free(pooled), free(similarity), free(index);
    DFI_RETURN(status);
}

df_status df_knn_save(const char *path, const int32_t *neighbours, size_t items, size_t k) {
    DFI_CHECK_NOT_NULL(path);
    DFI_CHECK_NOT_NULL(neighbours);
    DFI_CHECK_ARG(items > 0 && k > 0 && k <= UINT32_MAX, "an empty table");
    dfi_output out;
    df_status status = dfi_output_open(path, &out);
    if (status != DF_OK) DFI_RETURN(status);
    const uint32_t version = FORMAT_VERSION, columns = (uint32_t)k;
    const uint64_t rows = items;
    FILE *f = out.file;
    errno = 0;
    const int failed = fwrite(magic, 1, 8, f) != 8 || fwrite(&version, 4, 1, f) != 1 || fwrite(&columns, 4, 1, f) != 1 ||
                       fwrite(&rows, 8, 1, f) != 1 || fwrite(neighbours, 4, items * k, f) != items * k;
    DFI_RETURN(dfi_output_commit(&out, path, failed));
}

df_status df_knn_load(const char *path, int32_t *neighbours, size_t capacity, size_t *items, size_t *k) {
    DFI_CHECK_NOT_NULL(path);
    DFI_CHECK_NOT_NULL(items);
    DFI_CHECK_NOT_NULL(k);
    unsigned char *data = NULL;
    size_t size = 0;
    df_status status = dfi_read_file(path, &data, &size);
    if (status != DF_OK) DFI_RETURN(status);
    uint32_t version = 0, columns = 0;
    uint64_t rows = 0;
    if (status == DF_OK && (size < 24 || memcmp(data, magic, 8) != 0))
        status = dfi_error(DF_E_FORMAT, "%s: not a dinofeat KNN table", path);
    if (status == DF_OK) memcpy(&version, data + 8, 4), memcpy(&columns, data + 12, 4), memcpy(&rows, data + 16, 8);
    if (status == DF_OK && version > FORMAT_VERSION)
        status = dfi_error(DF_E_UNSUPPORTED, "%s: format version %u is newer than this build's", path, version);
    if (status == DF_OK && (columns == 0 || rows == 0 || rows > (size - 24) / 4 / columns || size != 24 + rows * columns * 4))
        status = dfi_error(DF_E_FORMAT, "%s: truncated or corrupt KNN table", path);
    for (size_t i = 0; status == DF_OK && i < rows * columns; i++) {
        int32_t v;
        memcpy(&v, data + 24 + 4 * i, 4);
        if (v < 0 || (uint64_t)v >= rows) status = dfi_error(DF_E_FORMAT, "%s: neighbour %d of %llu items", path, v,
                                                             (unsigned long long)rows);
    }
    if (status == DF_OK) *items = (size_t)rows, *k = columns;
    if (status == DF_OK && neighbours != NULL && capacity < rows * columns)
        status = dfi_error(DF_E_INVALID_ARG, "capacity %zu is below the table's %llu entries", capacity,
                           (unsigned long long)(rows * columns));
    if (status == DF_OK && neighbours != NULL) memcpy(neighbours, data + 24, rows * columns * 4);
    free(data);
    DFI_RETURN(status);
}
