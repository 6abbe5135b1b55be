/* What lib/neco/ shares inside: the settings of NeCo's views and the code that makes them. */
#ifndef DINOFEAT_LIB_NECO_INTERNAL_H
#define DINOFEAT_LIB_NECO_INTERNAL_H

#include "../internal.h"
#include "../trainer/trainer_internal.h"
#include "../model/identity.h"
#include "df_shim.h"
#include "dinofeat/image.h"
#include "dinofeat/neco.h"
#include "neco_shim.h"

/* The crops of one image (specs/neco.md). */
typedef struct dfi_neco_views {
    int global_size, local_size, globals, locals;
    double min_intersection, jitter_p, grey_p, blur_p;
} dfi_neco_views;

void dfi_neco_views_from(const df_options *options, dfi_neco_views *views);

/* Makes the globals + locals crops of image from a generator seeded with seed: global (globals x
 * 3 x S x S floats) and local (locals x 3 x s x s), ImageNet-normalised, channel-major; boxes
 * gets each crop's x1, y1, x2, y2 in the image (globals first). */
df_status dfi_neco_augment(const df_image *image, uint64_t seed, const dfi_neco_views *views, float *global,
                           float *local, double *boxes);

/* From the crops' boxes (views x 4): gc (globals x views x 4), the intersection of global crop g
 * and crop v in g's output pixels; all (views x globals x 4), the same intersection in v's. */
void dfi_neco_intersections(const double *boxes, const dfi_neco_views *views, double *gc, double *all);

struct df_neco {
    df_trainer view; /* df_neco_trainer's */
    dfs_neco *shim;
    dfs_neco_settings settings;
    dfi_neco_views views;
    dfi_model_identity model;
    int32_t patch;
    int64_t seed, batch; /* batch: df_neco_train's (0: not yet) */
    uint64_t generator;
    double last_loss;
};

/* The trainer's settings from options and model (views, schedules, forward settings). */
df_status dfi_neco_settings(df_model *model, const df_options *options, df_neco *trainer);
/* A trainer around a new shim state for model (weights copied, head drawn from the generator). */
df_status dfi_neco_create(df_neco *trainer, df_model *model);
/* One step on count decoded images. */
df_status dfi_neco_step(df_neco *trainer, const df_image *const *images, size_t count, double *loss);

/* A step of the shared training loop (lib/trainer/): data is train.c's step data. */
df_status dfi_neco_batch_step(void *trainer, void *data, const size_t *items, size_t count, size_t begin, size_t end);
/* The trainer to the shared loop and file code. */
extern const dfi_trainer_ops dfi_neco_ops;

#endif
