/* Hummingbird's in-context (dense nearest-neighbour retrieval) protocol as NeCo reports it (its
 * Figure 2 and Table 8) for dinofeat paper: a memory of augmented training patches with their
 * pixel-class fractions, each val patch labelled by its neighbours in it. */
#ifndef DINOFEAT_CLI_PAPER_INCONTEXT_H
#define DINOFEAT_CLI_PAPER_INCONTEXT_H

#include "dinofeat/model.h"

#include <stddef.h>

#define INCONTEXT_MAX_LISTS 16

typedef struct incontext_request {
    const char *data, *out, *json; /* the dataset's root (dataset.* settings from --set: the val
                                      split's), the folder of the val feature cache, the figures as
                                      JSON (may be NULL) */
    const char *name, *source;     /* the protocol and where its published figure comes from */
    const char *train_split;       /* the split the memory comes from */
    const char *lists[INCONTEXT_MAX_LISTS]; /* image lists of that split, one memory each (the
                                              official fraction subsets); none: the whole split */
    size_t list_count;
    df_model *model;
    long classes;        /* the val labels' classes */
    long memory_classes; /* the memory's: classes, or one more where unlabelled pixels are a class */
    long unlabelled;     /* the memory's class of unlabelled (255) pixels */
    double published;    /* mIoU in percent */
} incontext_request;

/* Builds each memory, labels the val split from it, prints the row (and writes r->json). An
 * exit code, its error said. */
int paper_incontext(const incontext_request *r);

#endif
