/* Rank filters over a disk with a sliding histogram: moving one pixel right removes the left end
 * of each footprint row and adds the right end, as skimage's rank filters do. */
#include "rank.h"

#include <math.h>
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

/* Calls visit(histogram, population, sum, pixel, user) for every pixel with the histogram of the
 * disk's pixels inside the image; rows in parallel. */
typedef void (*visit_fn)(const uint32_t *histogram, uint32_t population, uint64_t sum, size_t pixel, void *user);

static int walk(const uint8_t *grey, size_t w, size_t h, int radius, visit_fn visit, void *user) {
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
                visit(histogram, population, sum, y * w + x, user);
            }
        }
    }
    free(half);
    return 0;
}

typedef struct bytes_job {
    const uint8_t *grey;
    dfi_rank_kind kind;
    int range;
    uint8_t *out;
} bytes_job;

static void visit_bytes(const uint32_t *histogram, uint32_t population, uint64_t sum, size_t pixel, void *user) {
    bytes_job *job = user;
    job->out[pixel] = rank_value(histogram, population, sum, job->kind, job->grey[pixel], job->range);
}

int dfi_rank_bytes(const uint8_t *grey, size_t w, size_t h, int radius, dfi_rank_kind kind, int range, uint8_t *out) {
    bytes_job job = {grey, kind, range, out};
    return walk(grey, w, h, radius, visit_bytes, &job);
}

typedef struct entropy_job {
    float *out;
    size_t channels, c;
} entropy_job;

/* Per bin count b of 32, 64, 128: the counts of the values 0 .. b - 1 relative to the largest of
 * them, p, and the sum of -p log2 p over p > 0 (0 when no value falls below b). */
static void visit_entropy(const uint32_t *histogram, uint32_t population, uint64_t sum, size_t pixel, void *user) {
    (void)population, (void)sum;
    entropy_job *job = user;
    for (int k = 0; k < 3; k++) {
        const int bins = 32 << k;
        uint32_t most = 0;
        for (int v = 0; v < bins; v++) most = histogram[v] > most ? histogram[v] : most;
        double entropy = 0;
        for (int v = 0; most && v < bins; v++)
            if (histogram[v]) {
                const double p = (double)histogram[v] / most;
                entropy -= p * log2(p);
            }
        job->out[pixel * job->channels + job->c + (size_t)k] = (float)entropy;
    }
}

int dfi_rank_entropy(const uint8_t *grey, size_t w, size_t h, int radius, float *out, size_t channels, size_t c) {
    entropy_job job = {out, channels, c};
    return walk(grey, w, h, radius, visit_entropy, &job);
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
