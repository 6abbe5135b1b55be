/*
 * dinofeat images: PNG and JPEG decoding (from a path or memory), PNG encoding, resizing with
 * PIL's resampling (so torchvision-style preprocessing is reproduced), channel conversion and
 * conversion to a normalised float tensor.
 *
 * Pixels are interleaved, rows tightly packed (row stride = width * channels * bit_depth / 8),
 * 16-bit samples in host byte order. Channels: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA.
 */
#ifndef DINOFEAT_IMAGE_H
#define DINOFEAT_IMAGE_H

#include "dinofeat/core.h"
#include "dinofeat/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct df_image df_image;

/* Resampling filters, numbered as PIL's. */
typedef enum df_resize_filter {
    DF_RESIZE_NEAREST = 0,
    DF_RESIZE_BILINEAR = 2,
    DF_RESIZE_BICUBIC = 3
} df_resize_filter;

/* Colour adjustments, as torchvision's adjust_brightness / adjust_contrast / adjust_saturation /
 * adjust_hue apply them to a PIL image (df_image_adjust). */
typedef enum df_image_adjustment {
    DF_ADJUST_BRIGHTNESS = 0, /* factor >= 0: 0 black, 1 unchanged */
    DF_ADJUST_CONTRAST = 1,   /* factor >= 0: 0 the grey image's mean, 1 unchanged */
    DF_ADJUST_SATURATION = 2, /* factor >= 0: 0 grey, 1 unchanged */
    DF_ADJUST_HUE = 3         /* factor in -0.5..0.5: the share of a turn the hue rotates by */
} df_image_adjustment;

/* out: new, free with df_image_free. Decodes a PNG (1/2/4/8/16-bit grey, grey+alpha, RGB, RGBA,
 * palette, interlaced; palettes and tRNS become RGB(A)/grey+alpha, sub-byte grey becomes 8-bit)
 * or a JPEG (baseline, progressive, greyscale, CMYK; EXIF orientation applied unless
 * DF_PARAM_IMAGE_APPLY_EXIF is 0). The kind is recognised from the bytes, not the name.
 * Errors: DF_E_IO (cannot read), DF_E_FORMAT (neither PNG nor JPEG, corrupt or truncated data),
 * DF_E_LIMIT (more than DF_PARAM_IMAGE_MAX_PIXELS pixels; nothing large is allocated). */
DF_API df_status df_image_load(const char *path, const df_options *options, df_image **out);
/* As df_image_load, from size bytes at data (not kept after the call). */
DF_API df_status df_image_load_memory(const void *data, size_t size, const df_options *options,
                                      df_image **out);
/* out: new, a zero-filled image. channels 1..4, bit_depth 8 or 16. */
DF_API df_status df_image_new(size_t width, size_t height, size_t channels, size_t bit_depth,
                              df_image **out);
/* out: new, a copy of caller pixels whose rows are row_stride bytes apart (0: tightly packed). */
DF_API df_status df_image_from_pixels(const void *pixels, size_t width, size_t height,
                                      size_t channels, size_t bit_depth, size_t row_stride,
                                      df_image **out);
/* Does nothing when image is NULL. */
DF_API void df_image_free(df_image *image);

/* Each returns 0 for NULL. */
DF_API size_t df_image_width(const df_image *image);
DF_API size_t df_image_height(const df_image *image);
DF_API size_t df_image_channels(const df_image *image);
DF_API size_t df_image_bit_depth(const df_image *image);
/* Borrowed: the pixels, writable, living as long as the image; NULL for NULL. */
DF_API void *df_image_pixels(df_image *image);

/* Writes a PNG (same channels and depth) to path atomically: to a temporary file beside it,
 * then renamed over path, so a failure never leaves a partial file. */
DF_API df_status df_image_save_png(const df_image *image, const char *path);
/* Writes a one-channel 8-bit image of indices as a palette PNG (colours RGB triples, 1..256 of
 * them, every index below colours), atomically as df_image_save_png: label maps that viewers
 * show in colour and that load back as their indices with DF_PARAM_IMAGE_PALETTE_INDICES. */
DF_API df_status df_image_save_palette_png(const df_image *image, const uint8_t *palette, size_t colours,
                                           const char *path);

/* out: new, the image resampled to width x height with PIL's algorithm (Image.resize): a
 * separable convolution whose support widens when shrinking (antialiasing), horizontal pass
 * first; 8-bit results are rounded like PIL's fixed point, so they match it exactly. */
DF_API df_status df_image_resize(const df_image *image, size_t width, size_t height,
                                 df_resize_filter filter, df_image **out);
/* out: new, the image with channels (1..4) channels: grey is ITU-R 601-2 luma
 * (0.299 R + 0.587 G + 0.114 B) in PIL's fixed point, so it equals PIL's convert("L");
 * alpha dropped or added opaque; grey replicated to RGB. */
DF_API df_status df_image_convert(const df_image *image, size_t channels, df_image **out);

/* out: new, an 8-bit RGB image (3 channels) adjusted bit for bit as torchvision does a PIL image:
 * brightness, contrast and saturation blend towards black, the grey mean (PIL's ImageEnhance,
 * rounded) or the grey image (ITU-R 601-2 luma) with Pillow's float arithmetic, clipped and
 * truncated to bytes; hue shifts Pillow's 8-bit HSV hue by uint8(factor x 255). Another bit
 * depth or channel count (convert first), an unknown adjustment or a factor outside its range
 * is DF_E_INVALID_ARG. */
DF_API df_status df_image_adjust(const df_image *image, df_image_adjustment adjustment, double factor,
                                 df_image **out);

/* out: new, a float32 host tensor of shape (1, 3, height, width): samples scaled to [0, 1],
 * grey replicated, alpha dropped, then (x - mean[c]) / std[c]. mean and std NULL mean ImageNet's
 * (0.485, 0.456, 0.406) and (0.229, 0.224, 0.225), as every DINO model expects. */
DF_API df_status df_image_to_tensor(const df_image *image, const float *mean, const float *std,
                                    df_tensor **out);

#ifdef __cplusplus
}
#endif

#endif /* DINOFEAT_IMAGE_H */
