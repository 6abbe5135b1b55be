/* The df_image handle: allocation, accessors and channel conversion. */
#include "image_internal.h"

#include <stdlib.h>
#include <string.h>

df_status dfi_image_alloc(size_t width, size_t height, size_t channels, size_t bit_depth,
                          df_image **out) {
    if (width == 0 || height == 0)
        return dfi_error(DF_E_INVALID_ARG, "image size %zu x %zu is empty", width, height);
    if (channels < 1 || channels > 4)
        return dfi_error(DF_E_INVALID_ARG, "channels must be 1..4, got %zu", channels);
    if (bit_depth != 8 && bit_depth != 16)
        return dfi_error(DF_E_INVALID_ARG, "bit_depth must be 8 or 16, got %zu", bit_depth);
    size_t bytes;
    if (dfi_mul_size(width, height, &bytes) || dfi_mul_size(bytes, channels * bit_depth / 8, &bytes))
        return dfi_error(DF_E_INVALID_ARG, "image size %zu x %zu overflows", width, height);
    df_image *image = calloc(1, sizeof *image);
    unsigned char *pixels = calloc(bytes, 1);
    if (image == NULL || pixels == NULL) {
        free(image);
        free(pixels);
        return dfi_error(DF_E_OUT_OF_MEMORY, "cannot allocate a %zu x %zu x %zu image", width,
                         height, channels);
    }
    image->width = width;
    image->height = height;
    image->channels = channels;
    image->bit_depth = bit_depth;
    image->pixels = pixels;
    *out = image;
    return DF_OK;
}

size_t dfi_image_row_bytes(const df_image *image) {
    return image->width * image->channels * (image->bit_depth / 8);
}

df_status dfi_check_pixel_limit(size_t width, size_t height, const df_options *options,
                                const char *kind) {
    int64_t limit = dfi_option_int(options, DF_PARAM_IMAGE_MAX_PIXELS);
    size_t pixels;
    if (dfi_mul_size(width, height, &pixels) || (uint64_t)pixels > (uint64_t)limit)
        return dfi_error(DF_E_LIMIT,
                         "%s of %zu x %zu pixels exceeds the limit of %lld pixels "
                         "(parameter image.max_pixels)",
                         kind, width, height, (long long)limit);
    return DF_OK;
}

df_status df_image_new(size_t width, size_t height, size_t channels, size_t bit_depth,
                       df_image **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_RETURN(dfi_image_alloc(width, height, channels, bit_depth, out));
}

df_status df_image_from_pixels(const void *pixels, size_t width, size_t height, size_t channels,
                               size_t bit_depth, size_t row_stride, df_image **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_NOT_NULL(pixels);
    df_image *image;
    df_status status = dfi_image_alloc(width, height, channels, bit_depth, &image);
    if (status != DF_OK) DFI_RETURN(status);
    size_t row_bytes = dfi_image_row_bytes(image);
    if (row_stride == 0) row_stride = row_bytes;
    if (row_stride < row_bytes) {
        df_image_free(image);
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "row_stride %zu is less than a row's %zu bytes",
                             row_stride, row_bytes));
    }
    for (size_t y = 0; y < height; y++)
        memcpy(image->pixels + y * row_bytes, (const unsigned char *)pixels + y * row_stride,
               row_bytes);
    *out = image;
    return DF_OK;
}

void df_image_free(df_image *image) {
    if (image == NULL) return;
    free(image->pixels);
    free(image);
}

size_t df_image_width(const df_image *image) { return image ? image->width : 0; }
size_t df_image_height(const df_image *image) { return image ? image->height : 0; }
size_t df_image_channels(const df_image *image) { return image ? image->channels : 0; }
size_t df_image_bit_depth(const df_image *image) { return image ? image->bit_depth : 0; }
void *df_image_pixels(df_image *image) { return image ? image->pixels : NULL; }

static unsigned sample_at(const df_image *image, size_t index) {
    return image->bit_depth == 16 ? ((const uint16_t *)image->pixels)[index] : image->pixels[index];
}

static void store_sample(df_image *image, size_t index, unsigned value) {
    if (image->bit_depth == 16)
        ((uint16_t *)image->pixels)[index] = (uint16_t)value;
    else
        image->pixels[index] = (unsigned char)value;
}

/* ITU-R 601-2 luma in PIL's 16-bit fixed point (Convert.c, L24), so grey images equal PIL's "L". */
static unsigned luma(unsigned r, unsigned g, unsigned b) {
    return (unsigned)(((uint64_t)r * 19595 + (uint64_t)g * 38470 + (uint64_t)b * 7471 + 0x8000) >> 16);
}

df_status df_image_convert(const df_image *image, size_t channels, df_image **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_NOT_NULL(image);
    df_image *result;
    df_status status = dfi_image_alloc(image->width, image->height, channels, image->bit_depth, &result);
    if (status != DF_OK) DFI_RETURN(status);
    unsigned opaque = image->bit_depth == 16 ? 65535u : 255u;
    size_t in_channels = image->channels, pixels = image->width * image->height;
    int in_has_alpha = in_channels == 2 || in_channels == 4;
#pragma omp parallel for schedule(static) if (pixels > 65536)
    for (size_t p = 0; p < pixels; p++) {
        size_t src = p * in_channels, dst = p * channels;
        unsigned r, g, b, a = in_has_alpha ? sample_at(image, src + in_channels - 1) : opaque;
        if (in_channels >= 3) {
            r = sample_at(image, src);
            g = sample_at(image, src + 1);
            b = sample_at(image, src + 2);
        } else {
            r = g = b = sample_at(image, src);
        }
        if (channels <= 2) {
            store_sample(result, dst, in_channels >= 3 ? luma(r, g, b) : r);
        } else {
            store_sample(result, dst, r);
            store_sample(result, dst + 1, g);
            store_sample(result, dst + 2, b);
        }
        if (channels == 2 || channels == 4) store_sample(result, dst + channels - 1, a);
    }
    *out = result;
    return DF_OK;
}
