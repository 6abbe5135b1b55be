/* Resampling as Pillow does it (libImaging/Resample.c), so preprocessing written with PIL and
 * torchvision gives the same pixels here: a separable convolution whose kernel support grows by
 * the scale when shrinking, horizontal pass first, 8-bit passes in 22-bit fixed point with the
 * intermediate image rounded to 8 bits; nearest uses PIL's 16.16 fixed-point affine walk. */
#include "image_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PRECISION_BITS (32 - 8 - 2)

typedef struct kernel {
    double support;
    double (*weight)(double x);
} kernel;

static double bilinear_weight(double x) {
    if (x < 0.0) x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
}

static double bicubic_weight(double x) {
    const double a = -0.5;
    if (x < 0.0) x = -x;
    if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

/* One output line's taps: input start, tap count, and ksize weights. */
typedef struct taps {
    int ksize;
    int *bounds;    /* 2 per output sample: xmin, count */
    double *weights; /* ksize per output sample */
    int32_t *fixed;  /* the same in PIL's fixed point */
} taps;

static void free_taps(taps *t) {
    free(t->bounds);
    free(t->weights);
    free(t->fixed);
}

static df_status compute_taps(int in_size, int out_size, const kernel *k, taps *t) {
    double scale = (double)in_size / out_size, filter_scale = scale < 1.0 ? 1.0 : scale;
    double support = k->support * filter_scale;
    t->ksize = (int)ceil(support) * 2 + 1;
    t->bounds = malloc((size_t)out_size * 2 * sizeof *t->bounds);
    t->weights = calloc((size_t)out_size * (size_t)t->ksize, sizeof *t->weights);
    t->fixed = calloc((size_t)out_size * (size_t)t->ksize, sizeof *t->fixed);
    if (!t->bounds || !t->weights || !t->fixed) {
        free_taps(t);
        return dfi_error(DF_E_OUT_OF_MEMORY, "cannot allocate resampling coefficients");
    }
    for (int xx = 0; xx < out_size; xx++) {
        double center = (xx + 0.5) * scale, total = 0.0, ss = 1.0 / filter_scale;
        int xmin = (int)(center - support + 0.5), xmax = (int)(center + support + 0.5);
        if (xmin < 0) xmin = 0;
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        double *w = t->weights + (size_t)xx * t->ksize;
        for (int x = 0; x < xmax; x++) {
            w[x] = k->weight((x + xmin - center + 0.5) * ss);
            total += w[x];
        }
        int32_t *f = t->fixed + (size_t)xx * t->ksize;
        for (int x = 0; x < xmax; x++) {
            if (total != 0.0) w[x] /= total;
            f[x] = w[x] < 0 ? (int32_t)(-0.5 + w[x] * (1 << PRECISION_BITS))
                            : (int32_t)(0.5 + w[x] * (1 << PRECISION_BITS));
        }
        t->bounds[2 * xx] = xmin;
        t->bounds[2 * xx + 1] = xmax;
    }
    return DF_OK;
}

static unsigned char clip8(int32_t value) {
    if (value >= (1 << PRECISION_BITS << 8)) return 255;
    if (value <= 0) return 0;
    return (unsigned char)(value >> PRECISION_BITS);
}

static uint16_t clip16(double value) {
    if (value <= 0.0) return 0;
    if (value >= 65535.0) return 65535;
    return (uint16_t)(value + 0.5);
}

/* One output row of the 8-bit horizontal pass. Always inlined and called with a constant
 * channel count, so the channel loop unrolls and the sums stay in registers; PIL's arithmetic:
 * 22-bit fixed point starting at one half, clipped to 8 bits. */
static inline __attribute__((always_inline)) void horizontal_row_8bpc(
    const unsigned char *restrict in, unsigned char *restrict out, size_t out_width,
    const int32_t *restrict weights, const int *restrict bounds, size_t ksize, const size_t channels) {
    for (size_t x = 0; x < out_width; x++) {
        const int32_t *restrict k = weights + x * ksize;
        const unsigned char *restrict first = in + (size_t)bounds[2 * x] * channels;
        const int count = bounds[2 * x + 1];
        int32_t sums[4] = {1 << (PRECISION_BITS - 1), 1 << (PRECISION_BITS - 1),
                           1 << (PRECISION_BITS - 1), 1 << (PRECISION_BITS - 1)};
        for (int i = 0; i < count; i++) {
#pragma GCC unroll 4
            for (size_t c = 0; c < channels; c++) sums[c] += first[i * channels + c] * k[i];
        }
#pragma GCC unroll 4
        for (size_t c = 0; c < channels; c++) out[x * channels + c] = clip8(sums[c]);
    }
}

static void horizontal_8bpc(const df_image *src, df_image *dst, const taps *t) {
    const size_t channels = src->channels;
    const size_t src_row = src->width * channels, dst_row = dst->width * channels;
    const size_t out_width = dst->width, out_height = dst->height, ksize = (size_t)t->ksize;
#pragma omp parallel for schedule(static) if (out_width * out_height > 16384)
    for (size_t y = 0; y < out_height; y++) {
        const unsigned char *in = src->pixels + y * src_row;
        unsigned char *out = dst->pixels + y * dst_row;
        /* The switch sits inside the parallel loop: OpenMP outlines the loop body before
         * inlining, so a switch outside would leave the channel count a variable. */
        switch (channels) {
        case 1: horizontal_row_8bpc(in, out, out_width, t->fixed, t->bounds, ksize, 1); break;
        case 2: horizontal_row_8bpc(in, out, out_width, t->fixed, t->bounds, ksize, 2); break;
        case 3: horizontal_row_8bpc(in, out, out_width, t->fixed, t->bounds, ksize, 3); break;
        default: horizontal_row_8bpc(in, out, out_width, t->fixed, t->bounds, ksize, 4); break;
        }
    }
}

/* 8-bit vertical pass: each output row accumulates whole input rows, a contiguous loop the
 * compiler vectorises, instead of walking columns. */
static df_status vertical_8bpc(const df_image *src, df_image *dst, const taps *t) {
    size_t row = dst->width * dst->channels;
    df_status status = DF_OK;
#pragma omp parallel if (dst->width * dst->height > 16384)
    {
        int32_t *sums = malloc(row * sizeof *sums);
        if (sums == NULL) {
#pragma omp critical
            status = DF_E_OUT_OF_MEMORY;
        }
#pragma omp for schedule(static)
        for (size_t y = 0; y < dst->height; y++) {
            if (sums == NULL) continue;
            int32_t *restrict acc = sums;
            const int32_t *k = t->fixed + y * t->ksize;
            const unsigned char *first = src->pixels + (size_t)t->bounds[2 * y] * row;
            const int count = t->bounds[2 * y + 1];
            for (size_t i = 0; i < row; i++) acc[i] = 1 << (PRECISION_BITS - 1);
            for (int j = 0; j < count; j++) {
                const unsigned char *restrict in = first + (size_t)j * row;
                const int32_t weight = k[j];
                for (size_t i = 0; i < row; i++) acc[i] += in[i] * weight;
            }
            unsigned char *restrict out = dst->pixels + y * row;
            for (size_t i = 0; i < row; i++) out[i] = clip8(acc[i]);
        }
        free(sums);
    }
    return status == DF_OK ? DF_OK : dfi_error(status, "cannot allocate a resampling row");
}

/* 16-bit pass along x (horizontal) or y, in double precision, rounded per pass. */
static void convolve_16bpc(const df_image *src, df_image *dst, const taps *t, int horizontal) {
    size_t channels = src->channels;
    size_t out_lines = horizontal ? dst->height : dst->width;
    size_t out_samples = horizontal ? dst->width : dst->height;
    size_t src_row = src->width * channels, dst_row = dst->width * channels;
    const uint16_t *in = (const uint16_t *)src->pixels;
    uint16_t *out = (uint16_t *)dst->pixels;
#pragma omp parallel for schedule(static) if (dst->width * dst->height > 16384)
    for (size_t line = 0; line < out_lines; line++) {
        for (size_t i = 0; i < out_samples; i++) {
            int xmin = t->bounds[2 * i], count = t->bounds[2 * i + 1];
            const double *k = t->weights + i * t->ksize;
            size_t dst_index = horizontal ? line * dst_row + i * channels : i * dst_row + line * channels;
            size_t step = horizontal ? channels : src_row;
            for (size_t c = 0; c < channels; c++) {
                size_t first = horizontal ? line * src_row + (size_t)xmin * channels + c
                                          : (size_t)xmin * src_row + line * channels + c;
                double sum = 0.0;
                for (int x = 0; x < count; x++) sum += in[first + x * step] * k[x];
                out[dst_index + c] = clip16(sum);
            }
        }
    }
}

static df_status convolve(const df_image *src, df_image *dst, const taps *t, int horizontal) {
    if (src->bit_depth == 16) {
        convolve_16bpc(src, dst, t, horizontal);
        return DF_OK;
    }
    if (horizontal) {
        horizontal_8bpc(src, dst, t);
        return DF_OK;
    }
    return vertical_8bpc(src, dst, t);
}

static df_status resample(const df_image *image, size_t width, size_t height, const kernel *k,
                          df_image **out) {
    taps horizontal = {0}, vertical = {0};
    df_image *temp = NULL, *result = NULL;
    df_status status = compute_taps((int)image->width, (int)width, k, &horizontal);
    if (status == DF_OK) status = compute_taps((int)image->height, (int)height, k, &vertical);
    if (status == DF_OK)
        status = dfi_image_alloc(width, image->height, image->channels, image->bit_depth, &temp);
    if (status == DF_OK)
        status = dfi_image_alloc(width, height, image->channels, image->bit_depth, &result);
    if (status == DF_OK) {
        /* PIL skips a pass whose size is unchanged: that pass would be the identity anyway, but
         * the skip keeps the 8-bit intermediate rounding identical to PIL's. */
        const df_image *source = image;
        if (width != image->width) {
            status = convolve(image, temp, &horizontal, 1);
            source = temp;
        }
        if (status == DF_OK && height != image->height)
            status = convolve(source, result, &vertical, 0);
        else if (status == DF_OK)
            memcpy(result->pixels, source->pixels, dfi_image_row_bytes(result) * height);
    }
    if (status == DF_OK) {
        *out = result;
        result = NULL;
    }
    free_taps(&horizontal);
    free_taps(&vertical);
    df_image_free(temp);
    df_image_free(result);
    return status;
}

/* PIL's affine nearest neighbour for a pure scale, in 16.16 fixed point while coordinates fit. */
static void nearest(const df_image *image, df_image *result) {
    double scale_x = (double)image->width / result->width, scale_y = (double)image->height / result->height;
    size_t pixel_bytes = image->channels * image->bit_depth / 8;
    size_t in_row = dfi_image_row_bytes(image), out_row = dfi_image_row_bytes(result);
    int fixed = fabs(result->width * scale_x) < 32768.0 && fabs(result->height * scale_y) < 32768.0;
#pragma omp parallel for schedule(static) if (result->width * result->height > 16384)
    for (size_t y = 0; y < result->height; y++) {
        size_t sy;
        if (fixed) {
            int32_t start = (int32_t)floor(scale_y * 0.5 * 65536.0 + 0.5), step = (int32_t)floor(scale_y * 65536.0 + 0.5);
            sy = (size_t)((start + (int64_t)step * (int64_t)y) >> 16);
        } else {
            sy = (size_t)(scale_y * 0.5 + scale_y * (double)y);
        }
        if (sy >= image->height) sy = image->height - 1;
        for (size_t x = 0; x < result->width; x++) {
            size_t sx;
            if (fixed) {
                int32_t start = (int32_t)floor(scale_x * 0.5 * 65536.0 + 0.5), step = (int32_t)floor(scale_x * 65536.0 + 0.5);
                sx = (size_t)((start + (int64_t)step * (int64_t)x) >> 16);
            } else {
                sx = (size_t)(scale_x * 0.5 + scale_x * (double)x);
            }
            if (sx >= image->width) sx = image->width - 1;
            memcpy(result->pixels + y * out_row + x * pixel_bytes,
                   image->pixels + sy * in_row + sx * pixel_bytes, pixel_bytes);
        }
    }
}

df_status df_image_resize(const df_image *image, size_t width, size_t height,
                          df_resize_filter filter, df_image **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_NOT_NULL(image);
    if (width == 0 || height == 0 || width > 0x7fffffff || height > 0x7fffffff)
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "target size %zu x %zu is not valid", width, height));
    static const kernel bilinear = {1.0, bilinear_weight}, bicubic = {2.0, bicubic_weight};
    if (filter == DF_RESIZE_BILINEAR) DFI_RETURN(resample(image, width, height, &bilinear, out));
    if (filter == DF_RESIZE_BICUBIC) DFI_RETURN(resample(image, width, height, &bicubic, out));
    if (filter != DF_RESIZE_NEAREST)
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "%d is not a df_resize_filter", (int)filter));
    df_image *result;
    df_status status = dfi_image_alloc(width, height, image->channels, image->bit_depth, &result);
    if (status != DF_OK) DFI_RETURN(status);
    nearest(image, result);
    *out = result;
    return DF_OK;
}
