/* NeCo's frozen-feature clustering protocol (Leopart's overclustering evaluation) for dinofeat
 * paper: k-means over every patch token of a dataset, cluster maps matched to the classes. */
#ifndef DINOFEAT_CLI_PAPER_CLUSTERING_H
#define DINOFEAT_CLI_PAPER_CLUSTERING_H

#include "dinofeat/model.h"

#include <stddef.h>

#define CLUSTERING_MAX_K 16

typedef struct clustering_request {
    const char *data, *out, *json; /* the dataset's root (dataset.* settings from --set), the
                                      folder of the feature cache, the figures as JSON (may be NULL) */
    const char *name, *source;     /* the protocol and where its published figures come from */
    df_model *model;
    long classes;
    long k[CLUSTERING_MAX_K];      /* the clusterings to score, each averaged over the seeds */
    double published[CLUSTERING_MAX_K]; /* in percent; NAN where the paper has none */
    size_t k_count;
} clustering_request;

/* The protocol's figures printed (and written to r->json): for each K, the mean over seeds 0..4
 * of the mIoU of k-means (K = classes: matched one to one by IoU; more: each cluster to the class
 * it overlaps most) over the standardised, PCA-reduced (50 components) patch tokens of every
 * image, cluster maps and labels compared at 100 x 100. An exit code, its error said. */
int paper_clustering(const clustering_request *r);

/* The source index of destination index dst when PyTorch's nearest interpolation resizes in to
 * out: floor(dst * (in / out)) in float32, as ATen computes it (25 * 0.32f is 7.99999982: 7). */
size_t torch_nearest_index(size_t dst, size_t in, size_t out);

/* "21,300,500" into k (at most CLUSTERING_MAX_K values, each 2..100000); 0, or -1. */
int clustering_parse_k(const char *text, long *k, size_t *count);

#endif
