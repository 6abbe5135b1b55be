/* Saliency IoU, accuracy and maxF_beta (specs/eval.md), and CorLoc. */
#include "../internal.h"
#include "dinofeat/eval.h"
#include "dinofeat/regions.h"

#include <stdlib.h>

#define THRESHOLDS 255
#define EPS 1e-8
#define BETA_SQUARED 0.3

struct df_saliency {
    size_t images;
    double iou_sum, accuracy_sum;
    double precision_sum[THRESHOLDS], recall_sum[THRESHOLDS];
};

df_status df_saliency_new(df_saliency **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = calloc(1, sizeof **out);
    if (*out == NULL) DFI_RETURN(dfi_error(DF_E_OUT_OF_MEMORY, "out of memory"));
    return DF_OK;
}

void df_saliency_free(df_saliency *saliency) { free(saliency); }

df_status df_saliency_add(df_saliency *s, const uint8_t *prediction, const uint8_t *truth, size_t count) {
    DFI_CHECK_NOT_NULL(s);
    DFI_CHECK_NOT_NULL(prediction);
    DFI_CHECK_NOT_NULL(truth);
    if (count == 0) DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "an image without pixels"));
    /* Histograms over prediction values, of all pixels and of foreground pixels: every threshold's
     * counts are then suffix sums, one pass over the image whatever the number of thresholds. */
    uint64_t all[256] = {0}, foreground[256] = {0}, inter = 0, unite = 0, agree = 0, positives = 0;
    for (size_t i = 0; i < count; i++) {
        int fg = truth[i] > 127, predicted = prediction[i] > 127;
        all[prediction[i]]++;
        foreground[prediction[i]] += (uint64_t)fg;
        positives += (uint64_t)fg;
        inter += (uint64_t)(fg && predicted);
        unite += (uint64_t)(fg || predicted);
        agree += (uint64_t)(fg == predicted);
    }
    s->iou_sum += unite ? (double)inter / (double)unite : 1.0;
    s->accuracy_sum += (double)agree / (double)count;
    uint64_t chosen = 0, hits = 0;
    int value = 255;
    for (int k = THRESHOLDS - 1; k >= 0; k--) {
        /* pixels with value * 254 >= k * 255, added as k falls */
        while (value >= 0 && value * 254 >= k * 255) {
            chosen += all[value];
            hits += foreground[value];
            value--;
        }
        s->precision_sum[k] += (double)hits / ((double)chosen + EPS);
        s->recall_sum[k] += (double)hits / ((double)positives + EPS);
    }
    s->images++;
    return DF_OK;
}

df_status df_saliency_scores(const df_saliency *s, double *iou, double *accuracy, double *max_f_beta) {
    DFI_CHECK_NOT_NULL(s);
    if (s->images == 0) DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "no image was added"));
    double n = (double)s->images;
    if (iou) *iou = s->iou_sum / n;
    if (accuracy) *accuracy = s->accuracy_sum / n;
    if (max_f_beta) {
        double best = 0;
        for (int k = 0; k < THRESHOLDS; k++) {
            double p = s->precision_sum[k] / n, r = s->recall_sum[k] / n;
            double f = (1 + BETA_SQUARED) * p * r / (BETA_SQUARED * p + r + EPS);
            if (f > best) best = f;
        }
        *max_f_beta = best;
    }
    return DF_OK;
}

df_status df_corloc_hit(const int32_t *predicted, size_t predicted_count, const int32_t *truth, size_t truth_count,
                        int *out) {
    DFI_CHECK_NOT_NULL(out);
    DFI_CHECK_ARG(predicted_count == 0 || predicted != NULL, "predicted is NULL");
    DFI_CHECK_ARG(truth_count == 0 || truth != NULL, "truth is NULL");
    *out = 0;
    for (size_t i = 0; i < predicted_count && !*out; i++)
        for (size_t j = 0; j < truth_count && !*out; j++) {
            double iou;
            df_box_iou(predicted + 4 * i, truth + 4 * j, &iou);
            *out = iou > 0.5;
        }
    return DF_OK;
}
