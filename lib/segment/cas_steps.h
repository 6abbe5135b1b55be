/* The steps of the HR-Dv2 class-agnostic segmentation on host arrays (specs/hrdv2.md section 2). */
#ifndef DINOFEAT_LIB_SEGMENT_CAS_STEPS_H
#define DINOFEAT_LIB_SEGMENT_CAS_STEPS_H

#include "dinofeat/core.h"

#include <stddef.h>

/* density[k] = mean of value over the pixels labelled k (NaN when there are none); -1 when out of
 * memory. */
int dfi_cas_densities(const int32_t *labels, const float *value, size_t n, size_t k, double *density);
/* side[k] = 1 where density[k] > the mean of the defined densities, 0 where below, -1 for equal or
 * undefined; foreground[k] = side[k] == 1. */
void dfi_cas_sides(const double *density, size_t k, int8_t *side, uint8_t *foreground);
/* The right edge of the fullest of `bins` equal bins (numpy.histogram's) of the Euclidean distances
 * between every foreground and every background centroid; 0 when either side is empty, NaN when
 * out of memory. */
double dfi_cas_histogram_cutoff(const float *centroids, size_t k, size_t d, const int8_t *side, int bins);
/* means[c] = the mean of the centroids of class c (class_of_cluster gives each cluster's class);
 * -1 when out of memory. */
int dfi_cas_class_means(const float *centroids, size_t k, size_t d, const int32_t *class_of_cluster, size_t classes,
                        float *means);
/* unary[i * classes + c] = L1 distance between row i of x and means[c]. */
void dfi_cas_l1_unary(const float *x, size_t n, size_t d, const float *means, size_t classes, float *unary);

#endif
