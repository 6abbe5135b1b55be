/* Steps of the HR-Dv2 class-agnostic segmentation, each plain enough to check against numpy. */
#include "cas_steps.h"

#include <math.h>
#include <stdlib.h>

int dfi_cas_densities(const int32_t *labels, const float *value, size_t n, size_t k, double *density) {
    size_t *count = calloc(k, sizeof *count);
    if (count == NULL) return -1;
    for (size_t c = 0; c < k; c++) density[c] = 0;
    for (size_t i = 0; i < n; i++) {
        density[labels[i]] += value[i];
        count[labels[i]]++;
    }
    for (size_t c = 0; c < k; c++) density[c] = count[c] ? density[c] / (double)count[c] : NAN;
    free(count);
    return 0;
}

void dfi_cas_sides(const double *density, size_t k, int8_t *side, uint8_t *foreground) {
    double mean = 0;
    size_t defined = 0;
    for (size_t c = 0; c < k; c++)
        if (!isnan(density[c])) mean += density[c], defined++;
    mean = defined ? mean / (double)defined : 0;
    for (size_t c = 0; c < k; c++) {
        side[c] = isnan(density[c]) ? -1 : density[c] > mean ? 1 : density[c] < mean ? 0 : -1;
        foreground[c] = side[c] == 1;
    }
}

static double distance(const float *a, const float *b, size_t d) {
    double sum = 0;
    for (size_t j = 0; j < d; j++) sum += ((double)a[j] - b[j]) * ((double)a[j] - b[j]);
    return sqrt(sum);
}

double dfi_cas_histogram_cutoff(const float *centroids, size_t k, size_t d, const int8_t *side, int bins) {
    size_t fg = 0, bg = 0;
    for (size_t c = 0; c < k; c++) fg += side[c] == 1, bg += side[c] == 0;
    if (fg == 0 || bg == 0) return 0;
    double *values = malloc(fg * bg * sizeof *values);
    size_t *counts = calloc((size_t)bins, sizeof *counts);
    if (values == NULL || counts == NULL) {
        free(values);
        free(counts);
        return NAN;
    }
    size_t m = 0;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t a = 0; a < k; a++)
        for (size_t b = 0; side[a] == 1 && b < k; b++)
            if (side[b] == 0) {
                values[m] = distance(centroids + a * d, centroids + b * d, d);
                lo = fmin(lo, values[m]), hi = fmax(hi, values[m]);
                m++;
            }
    if (lo == hi) lo -= 0.5, hi += 0.5; /* numpy widens an empty range so */
    /* numpy.histogram's uniform-bin indexing, corrections included, so ties at edges agree */
    const double step = (hi - lo) / bins, norm = bins / (hi - lo);
#define EDGE(i) ((i) == bins ? hi : lo + (double)(i) * step)
    for (size_t i = 0; i < m; i++) {
        long index = (long)((values[i] - lo) * norm);
        if (index == bins) index--;
        if (values[i] < EDGE(index)) index--;
        else if (index != bins - 1 && values[i] >= EDGE(index + 1)) index++;
        counts[index]++;
    }
    int fullest = 0;
    for (int i = 1; i < bins; i++)
        if (counts[i] > counts[fullest]) fullest = i;
    double edge = EDGE(fullest + 1);
#undef EDGE
    free(values);
    free(counts);
    return edge;
}

int dfi_cas_class_means(const float *centroids, size_t k, size_t d, const int32_t *class_of_cluster, size_t classes,
                        float *means) {
    double *sums = calloc(classes * d, sizeof *sums);
    size_t *count = calloc(classes, sizeof *count);
    if (sums == NULL || count == NULL) {
        free(sums);
        free(count);
        return -1;
    }
    for (size_t c = 0; c < k; c++) {
        for (size_t j = 0; j < d; j++) sums[(size_t)class_of_cluster[c] * d + j] += centroids[c * d + j];
        count[class_of_cluster[c]]++;
    }
    for (size_t c = 0; c < classes; c++)
        for (size_t j = 0; j < d; j++)
            means[c * d + j] = count[c] ? (float)(sums[c * d + j] / (double)count[c]) : 0.0f;
    free(sums);
    free(count);
    return 0;
}

void dfi_cas_l1_unary(const float *x, size_t n, size_t d, const float *means, size_t classes, float *unary) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < classes; c++) {
            float sum = 0;
            for (size_t j = 0; j < d; j++) sum += fabsf(x[i * d + j] - means[c * d + j]);
            unary[i * classes + c] = sum;
        }
}
