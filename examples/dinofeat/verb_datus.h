/* DatUS²'s pseudo masks over an image folder or a distributed dataset, shared by dinofeat datus
 * and dinofeat paper's DatUS² protocols (verb_datus.c). */
#ifndef DINOFEAT_CLI_VERB_DATUS_H
#define DINOFEAT_CLI_VERB_DATUS_H

#include "dinofeat/dataset.h"
#include "dinofeat/datus.h"
#include "dinofeat/model.h"

#include <stddef.h>

typedef struct datus_named {
    const char *name;
    size_t index;
} datus_named;

/* The images, their names in the dataset's order, and the names sorted (to find a record's image). */
typedef struct datus_images {
    df_dataset *dataset;
    const char **names; /* borrowed from dataset */
    datus_named *sorted;
    size_t count;
} datus_images;

/* images (a folder, or a dataset's root with dataset.layout in settings) opened; an image that
 * cannot be decoded fails when it is met. An exit code, its error said. */
int datus_images_open(const char *images, const df_options *settings, const char *verb, datus_images *out);
void datus_images_free(datus_images *images);

typedef struct datus_job {
    const char *verb, *size_name; /* size_name: how the verb names datus.size, for its error */
    const datus_images *listing;
    df_model *model;
    df_options *settings;      /* datus.* and kmeans.* (K, seed) */
    const char *store, *masks; /* the segment store (created or resumed), the masks' folder */
} datus_job;

/* DatUS² steps 1 to 8: every image of the listing the store lacks recorded (an image that fails is
 * listed on stderr and *some_failed set; the rest go on), k-means over every recorded segment, each
 * record's pseudo mask (its image's size; clusters 0..K-1, 255 unlabelled) written as
 * masks/NAME.png. *run: the clustered store, for what a verb writes from it (df_datus_free). An
 * exit code, its error said. */
int datus_pseudo_masks(const datus_job *job, df_datus **run, int *some_failed);

#endif
