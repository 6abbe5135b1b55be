/* What lib/datus/ shares: a run's records in memory and its store file. */
#ifndef DINOFEAT_LIB_DATUS_INTERNAL_H
#define DINOFEAT_LIB_DATUS_INTERNAL_H

#include "../internal.h"
#include "dinofeat/datus.h"

#include <stdio.h>

/* One image of the dataset: its segment grid and where its segments' features start. */
typedef struct dfi_datus_record {
    char *name;
    uint32_t width, height, gh, gw, count;
    size_t first; /* row of its first segment in df_datus.features */
    int32_t *grid;
} dfi_datus_record;

/* The per-image settings a store is made with; a resumed run must ask for the same. */
typedef struct dfi_datus_settings {
    int64_t threshold, size, resize, crop, seed;
} dfi_datus_settings;

struct df_datus {
    FILE *file; /* appending */
    char *path;
    long long end; /* bytes of whole records in the file: a failed append is cut back to this */
    dfi_datus_settings settings;
    size_t dim; /* 0 until the first record */
    dfi_datus_record *records;
    size_t count, capacity;
    float *features; /* segments x dim */
    size_t segments, feature_rows;
    int32_t *clusters; /* one per segment; NULL until df_datus_cluster */
};

/* Opens or creates run->path with run->settings, reading back (and keeping) its records. */
df_status dfi_datus_store_open(df_datus *run);
/* Appends one record to the file (flushed) and to run's memory. */
df_status dfi_datus_store_append(df_datus *run, const char *name, uint32_t width, uint32_t height, const int32_t *grid,
                                 uint32_t gh, uint32_t gw, const float *features, uint32_t count, size_t dim);

#endif
