/* The df_image struct and the decoders' entry points, shared inside lib/image/. */
#ifndef DINOFEAT_LIB_IMAGE_INTERNAL_H
#define DINOFEAT_LIB_IMAGE_INTERNAL_H

#include "../internal.h"
#include "dinofeat/image.h"

struct df_image {
    size_t width, height, channels, bit_depth;
    unsigned char *pixels; /* rows tightly packed, 16-bit samples in host order */
};

/* A zero-filled image, or DF_E_OUT_OF_MEMORY / DF_E_INVALID_ARG with a message. */
df_status dfi_image_alloc(size_t width, size_t height, size_t channels, size_t bit_depth,
                          df_image **out);
size_t dfi_image_row_bytes(const df_image *image);

/* Fails with DF_E_LIMIT when width * height exceeds the configured pixel limit. */
df_status dfi_check_pixel_limit(size_t width, size_t height, const df_options *options,
                                const char *kind);

/* Decoders: messages say what is wrong, without the file name (the caller adds it). */
int dfi_is_png(const unsigned char *data, size_t size);
int dfi_is_jpeg(const unsigned char *data, size_t size);
df_status dfi_png_decode(const unsigned char *data, size_t size, const df_options *options,
                         df_image **out);
df_status dfi_jpeg_decode(const unsigned char *data, size_t size, const df_options *options,
                          df_image **out);

/* The EXIF orientation (1..8) in an APP1 payload, or 1 when absent or unreadable. */
int dfi_exif_orientation(const unsigned char *app1, size_t size);
/* out: new, image transformed as orientation (1..8) prescribes. */
df_status dfi_image_orient(const df_image *image, int orientation, df_image **out);

/* PIL's convert("L") of one RGB pixel held as floats: ITU-R 601-2 luma in 16-bit fixed point. */
float dfi_luma(const float *p);
/* One adjustment (a valid kind and factor) of n RGB pixels, 8-bit samples held as floats, in place:
 * df_image_adjust's arithmetic, for callers that keep pixels as floats between steps. */
df_status dfi_adjust_rgb(float *rgb, size_t n, df_image_adjustment adjustment, double factor);

#endif
