/* What lib/weak/ shares: the classifier's insides and a forest's storage for the classifier file. */
#ifndef DINOFEAT_LIB_WEAK_INTERNAL_H
#define DINOFEAT_LIB_WEAK_INTERNAL_H

#include "../internal.h"
#include "../model/identity.h"
#include "dinofeat/image.h"
#include "dinofeat/weak.h"

#include <stdio.h>

/* Feature sets and classifiers; the classifier file names them. */
typedef enum { DFI_WEAK_CLASSICAL = 0, DFI_WEAK_DEEP = 1, DFI_WEAK_HYBRID = 2 } dfi_weak_features_kind;
typedef enum { DFI_WEAK_FOREST = 1, DFI_WEAK_LOGREG = 2 } dfi_weak_classifier_kind;

/* What a deep feature set needs to be reproduced: the model's identity and the upsampling. */
typedef struct df_weak_kind {
    dfi_weak_features_kind features;
    dfi_weak_classifier_kind classifier;
    dfi_model_identity model; /* zeros for classical features */
    int64_t stride, flips, max_size;
    char shifts[64];
    /* the classical channels' settings (DF_PARAM_CLASSICAL_*) and how many channels they give */
    char groups[256];
    int64_t min_sigma, max_sigma, membrane_size, membrane_thickness;
    size_t classical_channels;
} df_weak_kind;

struct df_weak {
    df_weak_kind kind;
    size_t classes, channels;
    df_forest *forest;
    df_logreg *logreg;
};

/* The identity of model (NULL: none) and the upsampling settings of options, into kind. */
df_status dfi_weak_describe(df_model *model, const df_options *options, df_weak_kind *kind);
/* *out: new options holding kind's classical settings. */
df_status dfi_weak_classical_options(const df_weak_kind *kind, df_options **out);
/* Checks kind's classical settings and sets kind->classical_channels. */
df_status dfi_weak_classical_check(df_weak_kind *kind);
/* DF_OK when model is the one kind was trained with (or none is needed), else DF_E_INVALID_ARG. */
df_status dfi_weak_check_model(const df_weak_kind *kind, df_model *model);
/* Channels of kind's feature set, once the model's dimension is known. */
size_t dfi_weak_channels(const df_weak_kind *kind);
/* *out: new (malloc), width * height * channels floats of image's feature set. */
df_status dfi_weak_features(const df_weak_kind *kind, df_model *model, const df_image *image, float **out);

/* Logistic regression storage: u32 rows, u32 features, u32 classes, rows x (features + 1) f64. */
int dfi_logreg_write(const df_logreg *model, FILE *file);
df_status dfi_logreg_read(const unsigned char *data, size_t size, size_t features, size_t classes, df_logreg **out,
                          size_t *used);

/* Writes the forest's trees (little-endian; see forest.c); -1 on a write error. */
int dfi_forest_write(const df_forest *forest, FILE *file);
/* Reads trees written by dfi_forest_write from data[0 .. size), checking every index; *used gets
 * the bytes read. DF_E_FORMAT for anything malformed or truncated. */
df_status dfi_forest_read(const unsigned char *data, size_t size, size_t features, size_t classes, df_forest **out,
                          size_t *used);

#endif
