/* dinofeat weak's request and option rows, shared by train and predict (verb_weak.c) and live
 * (verb_weak_live.c). */
#ifndef DINOFEAT_CLI_VERB_WEAK_H
#define DINOFEAT_CLI_VERB_WEAK_H

#include "model_args.h"
#include "rows.h"

typedef struct request {
    const char **images, **labels; /* train: repeatable, in pairs */
    size_t image_count, label_count;
    const char *image;             /* predict, live */
    const char *classifier, *folder, *out, *out_dir, *overlay, *proba, *script, *save, *view;
    model_args model;
} request;

enum { WEAK_TRAIN = 0, WEAK_PREDICT = 1, WEAK_LIVE = 2 };

extern const cli_command weak_command;

/* The classical settings over options, checked at once: a usage error for verb if they name no
 * channel the library can compute. */
int weak_check_classical(const df_options *options, const char *verb);

#endif
