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

/* The first numeric array of a MATLAB level-5 .mat file as an 8-bit image (lib/dataset/mat.c):
 * H x W grey, or the first three channels of H x W x C; integers as stored (0..255), floating
 * values x 255 truncated (torchvision's to_pil_image, as STEGO's Potsdam loader reads them). */
df_status dfi_mat_load(const char *path, df_image **out);

/* An uncompressed Windows bitmap (1-, 4-, 8-bit palette, 24- or 32-bit) as 8-bit RGB
 * (lib/dataset/bmp.c): SUIM's masks. options: image.max_pixels (may be NULL). */
df_status dfi_bmp_load(const char *path, const df_options *options, df_image **out);

/* COCO's instances JSON at path: the boxes of each image of names (an id in its name, as
 * COCO_train2014_000000560992.jpg), crowds left out, [x, y, x + w, y + h] rounded half to even
 * (lib/dataset/coco.c). values: new, 4 int32 a box; offsets: new, count + 1 entries, image i's
 * boxes at values[4 offsets[i]] .. values[4 offsets[i + 1]]. */
df_status dfi_coco_boxes(const char *path, char *const *names, size_t count, int32_t **values, size_t **offsets);

/* A distributed dataset's items (lib/dataset/layouts.c): names relative to images, label files
 * under labels at the same relative path with label_from's suffix of the stem replaced by
 * label_to (NULL: kept) and the extension by label_extension (NULL: .png), and their values
 * mapped by label_map. */
typedef struct dfi_layout {
    char *images, *labels, *boxes; /* boxes: the folder of VOC annotations (NULL: none) */
    char **names;
    size_t count;
    int32_t *box_values;  /* boxes read at open (COCO), as dfi_coco_boxes gives them; NULL: none */
    size_t *box_offsets;
    const char *label_from, *label_to, *label_extension;
    const uint8_t *label_map; /* 256 entries; NULL for none */
    int label_colours;        /* RGB labels: each channel > 127 a bit (R 4, G 2, B 1), then label_map */
} dfi_layout;
/* The layout options name under root (df_dataset_layout other than the folder). */
df_status dfi_layout_open(const char *root, const df_options *options, dfi_layout *out);

struct df_dataset {
    char *images, *labels, *boxes; /* folders; boxes: VOC annotations */
    int32_t *box_values;           /* boxes read at open (COCO-20k); NULL: none */
    size_t *box_offsets;
    const char *label_from, *label_to; /* the label file's stem suffix in place of the image's */
    const char *label_extension;       /* the label file's (NULL: .png) */
    const uint8_t *label_map;          /* label values to classes; NULL: as stored */
    int label_colours;                 /* RGB labels coded as dfi_layout says */
    char **names;
    size_t count;    /* images */
    int five_crop;
    int64_t size, filter, shuffle, seed, workers, prefetch, multiple, stretch;
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
