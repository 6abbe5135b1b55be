/* skimage.filters.rank's mean, median, minimum and maximum of a uint8 image over a disk. */
#ifndef DINOFEAT_WEAK_RANK_H
#define DINOFEAT_WEAK_RANK_H

#include <stddef.h>
#include <stdint.h>

typedef enum dfi_rank_kind {
    DFI_RANK_MEAN,
    DFI_RANK_MEDIAN,
    DFI_RANK_MINIMUM,
    DFI_RANK_MAXIMUM,
    DFI_RANK_GRADIENT,      /* maximum - minimum */
    DFI_RANK_BILATERAL_MEAN /* the truncated mean of the values within range of the centre's */
} dfi_rank_kind;

/* Per pixel, over the disk of pixels at squared distance below radius^2 that lie inside the image
 * (pixels outside count for nothing, as skimage's rank filters): the truncated mean, the median
 * (the first value at which the running count passes half the population), the minimum or the
 * maximum, as float into channel c of out (channels per pixel). */
int dfi_rank_filter(const uint8_t *grey, size_t w, size_t h, int radius, dfi_rank_kind kind, float *out,
                    size_t channels, size_t c);
/* The bilateral mean over the disk of radius, values within range of the centre's, as float. */
int dfi_rank_filter_ranged(const uint8_t *grey, size_t w, size_t h, int radius, int range, float *out, size_t channels,
                           size_t c);
/* The entropy of the window's histogram over the values below 32, 64 and 128 (HR-Dv2's): each
 * count relative to the largest of them, p, summed as -p log2 p over p > 0; 0 where no value
 * falls below the bin count. Into channels c .. c + 2. */
int dfi_rank_entropy(const uint8_t *grey, size_t w, size_t h, int radius, float *out, size_t channels, size_t c);
/* The same as bytes (every kind's value is one), into out (w x h); range: the bilateral mean's
 * half-width (values v with |v - centre| < range count). */
int dfi_rank_bytes(const uint8_t *grey, size_t w, size_t h, int radius, dfi_rank_kind kind, int range, uint8_t *out);

#endif
