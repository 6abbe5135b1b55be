/* Rank filters over a disk with a sliding histogram: moving one pixel right removes the left end
 * of each footprint row and adds the right end, as skimage's rank filters do. */
#include "rank.h"

#include <stdlib.h>
#include <string.h>

static uint8_t rank_value(const uint32_t *histogram, uint32_t population, uint64_t sum, dfi_rank_kind kind,
                          uint8_t centre, int range) {
    if (population == 0) return 0;
    int low = 0, high = 255;
    while (low < 255 && histogram[low] == 0) low++;
    while (high > 0 && histogram[high] == 0) high--;
    switch (kind) {
    case DFI_RANK_MEAN: return (uint8_t)((double)sum / population);
    case DFI_RANK_MINIMUM: return (uint8_t)low;
    case DFI_RANK_MAXIMUM: return (uint8_t)high;
    case DFI_RANK_GRADIENT: return (uint8_t)(high - low);
    case DFI_RANK_BILATERAL_MEAN: {
        uint64_t count = 0, total = 0;
        for (int v = low; v <= high; v++)
            if (v > centre - range && v < centre + range) count += histogram[v], total += (uint64_t)histogram[v] * v;
        return count ? (uint8_t)((double)total / count) : 0;
    }
    default: {
        double half = population / 2.0;
        for (int v = low; v <= high; v++)
            if (histogram[v]) {
                half -= histogram[v];
                if (half < 0) return (uint8_t)v;
            }
        return 0;
    }
    }
}

int dfi_rank_bytes(const uint8_t *grey, size_t w, size_t h, int radius, dfi_rank_kind kind, int range, uint8_t *out) {
    /* half-widths of the disk's rows: the x with x^2 + dy^2 < radius^2 (-1: the row is empty) */
    int *half = malloc((size_t)(2 * radius + 1) * sizeof *half);
    if (half == NULL) return -1;
    for (int dy = -radius; dy <= radius; dy++) {
        int x = -1;
        while ((x + 1) * (x + 1) + dy * dy < radius * radius) x++;
        half[dy + radius] = x;
    }
#pragma omp parallel
    {
        uint32_t histogram[256];
#pragma omp for schedule(static)
        for (size_t y = 0; y < h; y++) {
            memset(histogram, 0, sizeof histogram);
            uint32_t population = 0;
            uint64_t sum = 0;
            for (size_t x = 0; x < w; x++) {
                for (int dy = -radius; dy <= radius; dy++) {
                    const long row = (long)y + dy, hw = half[dy + radius];
                    if (hw < 0 || row < 0 || row >= (long)h) continue;
                    const uint8_t *line = grey + (size_t)row * w;
                    if (x == 0) {
                        for (long xx = 0; xx <= hw && xx < (long)w; xx++)
                            histogram[line[xx]]++, population++, sum += line[xx];
                        continue;
                    }
                    const long leaving = (long)x - 1 - hw, entering = (long)x + hw;
                    if (leaving >= 0) histogram[line[leaving]]--, population--, sum -= line[leaving];
                    if (entering < (long)w) histogram[line[entering]]++, population++, sum += line[entering];
                }
                out[y * w + x] = rank_value(histogram, population, sum, kind, grey[y * w + x], range);
            }
        }
    }
    free(half);
    return 0;
}

static int rank_to_channel(const uint8_t *grey, size_t w, size_t h, int radius, dfi_rank_kind kind, int range,
                           float *out, size_t channels, size_t c) {
    uint8_t *bytes = malloc(w * h);
    if (bytes == NULL || dfi_rank_bytes(grey, w, h, radius, kind, range, bytes) != 0) {
        free(bytes);
        return -1;
    }
    for (size_t i = 0; i < w * h; i++) out[i * channels + c] = bytes[i];
    free(bytes);
    return 0;
}

int dfi_rank_filter(const uint8_t *grey, size_t w, size_t h, int radius, dfi_rank_kind kind, float *out,
                    size_t channels, size_t c) {
    return rank_to_channel(grey, w, h, radius, kind, 0, out, channels, c);
}

int dfi_rank_filter_ranged(const uint8_t *grey, size_t w, size_t h, int radius, int range, float *out, size_t channels,
                           size_t c) {
    return rank_to_channel(grey, w, h, radius, DFI_RANK_BILATERAL_MEAN, range, out, channels, c);
}
