/* What lib/weak/ shares: the classifier's insides and a forest's storage for the classifier file. */
#ifndef DINOFEAT_LIB_WEAK_INTERNAL_H
#define DINOFEAT_LIB_WEAK_INTERNAL_H

#include "../internal.h"

#include <stdio.h>

/* Feature sets; the classifier file names them. */
typedef enum { DFI_WEAK_CLASSICAL = 0 } dfi_weak_features_kind;

typedef struct df_weak_kind {
    dfi_weak_features_kind features;
} df_weak_kind;

struct df_weak {
    df_weak_kind kind;
    size_t classes;
    df_forest *forest;
};

/* *out: new (malloc), width * height * channels floats of image's feature set. */
df_status dfi_weak_features(const df_weak_kind *kind, const df_image *image, float **out);

/* Writes the forest's trees (little-endian; see forest.c); -1 on a write error. */
int dfi_forest_write(const df_forest *forest, FILE *file);
/* Reads trees written by dfi_forest_write from data[0 .. size), checking every index; *used gets
 * the bytes read. DF_E_FORMAT for anything malformed or truncated. */
df_status dfi_forest_read(const unsigned char *data, size_t size, size_t features, size_t classes, df_forest **out,
                          size_t *used);
size_t dfi_forest_features(const df_forest *forest);
size_t dfi_forest_classes(const df_forest *forest);
size_t dfi_forest_trees(const df_forest *forest);

#endif
