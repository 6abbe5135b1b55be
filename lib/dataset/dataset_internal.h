/* What lib/dataset/ shares: the listing, the items and the prefetching pass. */
#ifndef DINOFEAT_LIB_DATASET_INTERNAL_H
#define DINOFEAT_LIB_DATASET_INTERNAL_H

#include "../internal.h"
#include "dinofeat/dataset.h"
#include "dinofeat/image.h"

#include <pthread.h>

/* *names (new, each malloc'd; free with dfi_free_names) gets the relative paths of every
 * PNG/JPEG under root, hidden entries skipped, sorted bytewise. */
df_status dfi_list_images(const char *root, char ***names, size_t *count);
void dfi_free_names(char **names, size_t count);

/* One decoded item of a pass, waiting in the prefetch ring. */
typedef struct dfi_prefetched {
    int ready;
    size_t item;
    df_image *image, *labels;
    df_status status;
    char message[512];
} dfi_prefetched;

/* A pass: the order, the ring, the workers. */
typedef struct dfi_pass {
    size_t *order, length;
    size_t scheduled, consumed; /* positions in order */
    dfi_prefetched *ring;
    size_t capacity;
    int stopping, running;
    pthread_t *threads;
    size_t thread_count;
    pthread_mutex_t lock;
    pthread_cond_t changed;
} dfi_pass;

/* A distributed dataset's items (lib/dataset/layouts.c): names relative to images, label files
 * under labels at the same relative path with label_from's suffix of the stem replaced by
 * label_to (NULL: kept) and the extension by .png, and their values mapped by label_map. */
typedef struct dfi_layout {
    char *images, *labels, *boxes; /* boxes: the folder of VOC annotations (NULL: none) */
    char **names;
    size_t count;
    const char *label_from, *label_to;
    const uint8_t *label_map; /* 256 entries; NULL for none */
} dfi_layout;
/* The layout options name under root (df_dataset_layout other than the folder). */
df_status dfi_layout_open(const char *root, const df_options *options, dfi_layout *out);

struct df_dataset {
    char *images, *labels, *boxes; /* folders; boxes: VOC annotations */
    const char *label_from, *label_to; /* the label file's stem suffix in place of the image's */
    const uint8_t *label_map;          /* label values to classes; NULL: as stored */
    char **names;
    size_t count;    /* images */
    int five_crop;
    int64_t size, filter, shuffle, seed, workers, prefetch;
    df_options *decode; /* image.* options for the images */
    char **skipped, **reasons; /* images left out by dataset.skip_broken, and why */
    size_t skipped_count;
    dfi_pass pass;
};

/* Decodes item (image and, when the dataset has them, labels; see df_dataset_get). */
df_status dfi_dataset_decode(const df_dataset *d, size_t item, df_image **image, df_image **labels);
/* Starts pass's workers over order (taken over), decoding with dataset. */
df_status dfi_pass_start(df_dataset *dataset, size_t *order, size_t length);
/* Stops and joins the workers and frees what they decoded. */
void dfi_pass_stop(dfi_pass *pass);
/* The next item of the pass (see df_dataset_next). */
df_status dfi_pass_next(dfi_pass *pass, size_t *item, df_image **image, df_image **labels, int *done);

#endif
