/* STEGO's evaluation of one image (the official eval_segmentation's per-image path): the backbone
 * on the image and on its mirror image, their codes averaged, the cluster probe's labels, and the
 * dense CRF over its probabilities when asked. */
#include "stego_internal.h"
#include "dinofeat/crf.h"
#include "dinofeat/image.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The RGB pixels' columns in reverse order, in place. */
static void mirror_rows(uint8_t *rgb, size_t width, size_t height) {
    for (size_t y = 0; y < height; y++)
        for (size_t a = 0, b = width - 1; a < b; a++, b--)
            for (size_t c = 0; c < 3; c++) {
                uint8_t *left = rgb + (y * width + a) * 3 + c, *right = rgb + (y * width + b) * 3 + c;
                const uint8_t t = *left;
                *left = *right, *right = t;
            }
}

/* The backbone's (1, D, h, w) patch features of sized: df_model_forward gives them patch-major
 * (1, h, w, D), the head takes them channel-major. */
static df_status channel_major_features(df_model *model, const df_image *sized, df_tensor **out) {
    df_tensor *x = NULL;
    df_forward *forward = NULL;
    const df_tensor *features = NULL;
    int64_t shape[4] = {0};
    float *hwd = NULL, *dhw = NULL;
    df_status status = df_image_to_tensor(sized, NULL, NULL, &x);
    if (status == DF_OK) status = df_model_forward(model, x, DF_OUTPUT_PATCH, &forward);
    if (status == DF_OK) status = df_forward_output(forward, DF_OUTPUT_PATCH, &features);
    if (status == DF_OK) status = df_tensor_shape(features, shape, 4);
    const size_t cells = (size_t)(shape[1] * shape[2]), dim = (size_t)shape[3];
    if (status == DF_OK && ((hwd = malloc(cells * dim * sizeof *hwd)) == NULL || (dhw = malloc(cells * dim * sizeof *dhw)) == NULL))
        status = dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    if (status == DF_OK) status = df_tensor_copy_to_host(features, hwd, cells * dim);
    for (size_t c = 0; status == DF_OK && c < dim; c++)
        for (size_t q = 0; q < cells; q++) dhw[c * cells + q] = hwd[q * dim + c];
    const int64_t chw[4] = {1, shape[3], shape[1], shape[2]};
    if (status == DF_OK) status = df_tensor_from_host(dhw, 4, chw, out);
    free(hwd), free(dhw);
    df_forward_free(forward);
    df_tensor_free(x);
    return status;
}

/* The features of rgb resized so that its short side is `side` (each side rounded to whole
 * patches, at least one), and of that resized image's mirror. */
static df_status both_features(df_model *model, const df_image *rgb, size_t side, df_tensor **plain, df_tensor **mirrored) {
    int64_t patch = 0;
    df_status status = df_model_info_int(model, DF_MODEL_INFO_PATCH, &patch);
    const size_t w = df_image_width(rgb), h = df_image_height(rgb), shortest = w < h ? w : h;
    const double scale = (double)side / (double)shortest;
    const size_t nw = (size_t)fmax(1.0, (double)lround((double)w * scale / (double)patch)) * (size_t)patch,
                 nh = (size_t)fmax(1.0, (double)lround((double)h * scale / (double)patch)) * (size_t)patch;
    df_image *sized = NULL;
    if (status == DF_OK) status = df_image_resize(rgb, nw, nh, DF_RESIZE_BICUBIC, &sized);
    if (status == DF_OK) status = channel_major_features(model, sized, plain);
    if (status == DF_OK) mirror_rows(df_image_pixels(sized), nw, nh);
    if (status == DF_OK) status = channel_major_features(model, sized, mirrored);
    df_image_free(sized);
    return status;
}

/* image as 8-bit RGB (new): what the CRF's appearance kernel reads; 16-bit samples are scaled to
 * 0..255 as df_image_to_tensor scales both depths to 0..1. */
static df_status eight_bit_rgb(const df_image *image, df_image **out) {
    df_image *rgb = NULL;
    df_status status = df_image_convert(image, 3, &rgb);
    if (status != DF_OK || df_image_bit_depth(rgb) == 8) {
        *out = rgb;
        return status;
    }
    const size_t samples = df_image_width(rgb) * df_image_height(rgb) * 3;
    status = df_image_new(df_image_width(rgb), df_image_height(rgb), 3, 8, out);
    const uint16_t *wide = df_image_pixels(rgb);
    uint8_t *narrow = status == DF_OK ? df_image_pixels(*out) : NULL;
    for (size_t i = 0; narrow && i < samples; i++) narrow[i] = (uint8_t)((wide[i] + 128u) / 257u);
    df_image_free(rgb);
    return status;
}

/* STEGO's evaluation of one image with the cluster probe, or (linear) the linear probe. */
static df_status segment(const df_stego *trainer, int linear, df_model *model, const df_image *image, size_t side,
                         const df_options *crf, int32_t *labels) {
    if (trainer == NULL || model == NULL || image == NULL || labels == NULL)
        return dfi_error(DF_E_INVALID_ARG, "invalid argument '%s'",
                         trainer == NULL ? "trainer" : model == NULL ? "model" : image == NULL ? "image" : "labels");
    if (side == 0 || side > 65536) return dfi_error(DF_E_INVALID_ARG, "side %zu: 1..65536", side);
    if (df_image_width(image) == 0 || df_image_height(image) == 0) return dfi_error(DF_E_INVALID_ARG, "an empty image");
    df_status status = df_stego_check_model(trainer, model);
    if (status != DF_OK) return status;
    const size_t w = df_image_width(image), h = df_image_height(image), classes = (size_t)trainer->config.classes;
    df_image *rgb = NULL;
    df_tensor *plain = NULL, *mirrored = NULL;
    float *probabilities = NULL;
    status = eight_bit_rgb(image, &rgb);
    if (status == DF_OK) status = both_features(model, rgb, side, &plain, &mirrored);
    if (status == DF_OK && crf && (probabilities = malloc(w * h * classes * sizeof *probabilities)) == NULL)
        status = dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    if (status == DF_OK) status = dfi_stego_predict(trainer, linear, plain, mirrored, w, h, probabilities, labels);
    if (status == DF_OK && crf)
        status = df_crf_infer(df_image_pixels(rgb), w, h, probabilities, classes, DF_CRF_PROBABILITIES, crf, NULL, labels);
    free(probabilities);
    df_tensor_free(plain), df_tensor_free(mirrored);
    df_image_free(rgb);
    return status;
}

df_status df_stego_segment(const df_stego *trainer, df_model *model, const df_image *image, size_t side,
                           const df_options *crf, int32_t *labels) {
    DFI_RETURN(segment(trainer, 0, model, image, side, crf, labels));
}

df_status df_stego_segment_linear(const df_stego *trainer, df_model *model, const df_image *image, size_t side,
                                  const df_options *crf, int32_t *labels) {
    DFI_RETURN(segment(trainer, 1, model, image, side, crf, labels));
}
