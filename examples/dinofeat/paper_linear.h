/* NeCo's linear segmentation protocol (Table 2, after Leopart) for dinofeat paper: a linear probe
 * trained on the frozen backbone's patch tokens of a training split, scored on the val split. */
#ifndef DINOFEAT_CLI_PAPER_LINEAR_H
#define DINOFEAT_CLI_PAPER_LINEAR_H

#include "dinofeat/model.h"

typedef struct linear_request {
    const char *data, *out, *json; /* the dataset's root (dataset.* settings from --set: the val
                                      split's), the folder of the probe and the feature cache, the
                                      figures as JSON (may be NULL) */
    const char *name, *source;     /* the protocol and where its published figure comes from */
    const char *train_split;       /* the split the probe trains on */
    double train_fraction;         /* of the training split's images, drawn once (COCO: 0.1) */
    df_model *model;
    long classes, epochs, batch;
    double published;              /* mIoU in percent */
} linear_request;

/* Trains the probe (resuming from OUT/probe.dfprobe at the last whole epoch), scores it on the val
 * split and prints the row (and writes r->json). An exit code, its error said. */
int paper_linear(const linear_request *r);

#endif
