/* Streaming confusion matrices and the unsupervised-segmentation scores (specs/eval.md). */
#include "../internal.h"
#include "dinofeat/eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct df_confusion {
    size_t clusters, classes;
    int64_t *counts; /* clusters x classes */
};

df_status df_confusion_new(size_t clusters, size_t classes, df_confusion **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    if (clusters == 0 || classes == 0 || clusters > 65536 || classes > 65536)
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "clusters and classes must be in 1..65536, got %zu and %zu", clusters, classes));
    df_confusion *c = calloc(1, sizeof *c);
    if (c) c->counts = calloc(clusters * classes, sizeof *c->counts);
    if (c == NULL || c->counts == NULL) {
        free(c);
        DFI_RETURN(dfi_error(DF_E_OUT_OF_MEMORY, "out of memory"));
    }
    c->clusters = clusters;
    c->classes = classes;
    *out = c;
    return DF_OK;
}

void df_confusion_free(df_confusion *confusion) {
    if (confusion == NULL) return;
    free(confusion->counts);
    free(confusion);
}

df_status df_confusion_add(df_confusion *c, const int32_t *predicted, const int32_t *truth, size_t count) {
    DFI_CHECK_NOT_NULL(c);
    DFI_CHECK_ARG(count == 0 || (predicted != NULL && truth != NULL), "predicted or truth is NULL");
    /* Check everything first, so a bad label adds nothing. */
    for (size_t i = 0; i < count; i++) {
        if (truth[i] == DF_IGNORE_LABEL) continue;
        if (predicted[i] < 0 || (size_t)predicted[i] >= c->clusters)
            DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "predicted[%zu] = %d is not a cluster in [0, %zu)", i, predicted[i], c->clusters));
        if (truth[i] < 0 || (size_t)truth[i] >= c->classes)
            DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "truth[%zu] = %d is neither a class in [0, %zu) nor %d", i, truth[i],
                                 c->classes, DF_IGNORE_LABEL));
    }
    for (size_t i = 0; i < count; i++)
        if (truth[i] != DF_IGNORE_LABEL) c->counts[(size_t)predicted[i] * c->classes + (size_t)truth[i]]++;
    return DF_OK;
}

df_status df_confusion_counts(const df_confusion *c, const int64_t **out) {
    DFI_CHECK_NOT_NULL(c);
    DFI_CHECK_NOT_NULL(out);
    *out = c->counts;
    return DF_OK;
}

static df_status match(const df_confusion *c, df_match protocol, int64_t *class_of_cluster) {
    size_t k = c->clusters, n = c->classes;
    if (protocol == DF_MATCH_MANY_TO_ONE) {
        for (size_t r = 0; r < k; r++) {
            int64_t best = -1, most = 0;
            for (size_t j = 0; j < n; j++)
                if (c->counts[r * n + j] > most) most = c->counts[r * n + j], best = (int64_t)j;
            class_of_cluster[r] = best;
        }
        return DF_OK;
    }
    if (protocol == DF_MATCH_NONE) {
        for (size_t r = 0; r < k; r++) class_of_cluster[r] = r < n ? (int64_t)r : -1;
        return DF_OK;
    }
    if (protocol != DF_MATCH_HUNGARIAN && protocol != DF_MATCH_HUNGARIAN_IOU)
        return dfi_error(DF_E_INVALID_ARG, "%d is not a df_match", (int)protocol);
    double *cost = malloc(k * n * sizeof *cost);
    int64_t *class_total = calloc(n, sizeof *class_total);
    if (cost == NULL || class_total == NULL) {
        free(cost), free(class_total);
        return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    }
    for (size_t i = 0; i < k * n; i++) class_total[i % n] += c->counts[i];
    for (size_t r = 0; r < k; r++) {
        int64_t cluster_total = 0;
        for (size_t j = 0; j < n; j++) cluster_total += c->counts[r * n + j];
        for (size_t j = 0; j < n; j++) {
            const int64_t tp = c->counts[r * n + j], union_ = cluster_total + class_total[j] - tp;
            cost[r * n + j] = protocol == DF_MATCH_HUNGARIAN ? -(double)tp : union_ ? -(double)tp / (double)union_ : 0.0;
        }
    }
    free(class_total);
    df_status status = df_linear_sum_assignment(cost, k, n, class_of_cluster);
    free(cost);
    return status;
}

df_status df_confusion_match(const df_confusion *c, df_match protocol, int64_t *class_of_cluster) {
    DFI_CHECK_NOT_NULL(c);
    DFI_CHECK_NOT_NULL(class_of_cluster);
    DFI_RETURN(match(c, protocol, class_of_cluster));
}

df_status df_confusion_scores(const df_confusion *c, df_match protocol, double *miou, double *accuracy,
                              double *mean_f1, double *per_class_iou) {
    DFI_CHECK_NOT_NULL(c);
    size_t k = c->clusters, n = c->classes;
    int64_t *mapping = malloc(k * sizeof *mapping);
    if (mapping == NULL) DFI_RETURN(dfi_error(DF_E_OUT_OF_MEMORY, "out of memory"));
    df_status status = match(c, protocol, mapping);
    if (status != DF_OK) {
        free(mapping);
        DFI_RETURN(status);
    }
    int64_t total = 0, matched = 0;
    for (size_t i = 0; i < k * n; i++) total += c->counts[i];
    double iou_sum = 0, f1_sum = 0;
    size_t present = 0;
    for (size_t j = 0; j < n; j++) {
        int64_t tp = 0, predicted = 0, actual = 0;
        for (size_t r = 0; r < k; r++) {
            actual += c->counts[r * n + j];
            if (mapping[r] != (int64_t)j) continue;
            tp += c->counts[r * n + j];
            for (size_t q = 0; q < n; q++) predicted += c->counts[r * n + q];
        }
        /* fp: pixels of other classes given to j; fn: pixels of j elsewhere, unmatched included */
        int64_t fp = predicted - tp, fn = actual - tp, union_ = tp + fp + fn;
        matched += tp;
        double iou = union_ > 0 ? (double)tp / (double)union_ : NAN;
        if (per_class_iou) per_class_iou[j] = iou;
        if (union_ > 0) {
            iou_sum += iou;
            f1_sum += 2.0 * (double)tp / (double)(2 * tp + fp + fn);
            present++;
        }
    }
    free(mapping);
    if (miou) *miou = present ? iou_sum / (double)present : NAN;
    if (mean_f1) *mean_f1 = present ? f1_sum / (double)present : NAN;
    if (accuracy) *accuracy = total ? (double)matched / (double)total : NAN;
    return DF_OK;
}
