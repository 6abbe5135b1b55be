/* Rank filters over a disk with a sliding histogram: moving one pixel right removes the left end
 * of each footprint row and adds the right end, as skimage's rank filters do. */
#include "rank.h"

#include <stdlib.h>
#include <string.h>

static float rank_value(const uint32_t *histogram, uint32_t population, uint64_t sum, dfi_rank_kind kind) {
    if (population == 0) return 0;
    switch (kind) {
    case DFI_RANK_MEAN: return (float)(uint8_t)((double)sum / population);
    case DFI_RANK_MINIMUM:
        for (int v = 0; v < 256; v++)
            if (histogram[v]) return (float)v;
        return 0;
    case DFI_RANK_MAXIMUM:
        for (int v = 255; v >= 0; v--)
            if (histogram[v]) return (float)v;
        return 0;
    default: {
        double half = population / 2.0;
        for (int v = 0; v < 256; v++)
            if (histogram[v]) {
                half -= histogram[v];
                if (half < 0) return (float)v;
            }
        return 0;
    }
    }
}

int dfi_rank_filter(const uint8_t *grey, size_t w, size_t h, int radius, dfi_rank_kind kind, float *out,
                    size_t channels, size_t c) {
    /* half-widths of the disk's rows: the x with x^2 + dy^2 < radius^2 */
    int *half = malloc((size_t)(2 * radius + 1) * sizeof *half);
    if (half == NULL) return -1;
    for (int dy = -radius; dy <= radius; dy++) {
        int x = -1;
        while ((x + 1) * (x + 1) + dy * dy < radius * radius) x++;
        half[dy + radius] = x; /* -1: the row is empty */
    }
    int failed = 0;
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
                out[(y * w + x) * channels + c] = rank_value(histogram, population, sum, kind);
            }
        }
    }
    free(half);
    return failed;
}
