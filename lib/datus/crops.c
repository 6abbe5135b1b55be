/* DatUS² step 6 (specs/datus.md): each valid segment's masked tight crop, resized (short side
 * `resize`, bicubic) and centre-cropped, and its [CLS] feature. */
#include "../internal.h"
#include "dinofeat/datus.h"
#include "dinofeat/image.h"
#include "dinofeat/model.h"
#include "dinofeat/tensor.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The tight box of segment id on the grid, in patches, max exclusive; 0 when it has no patch. */
static int segment_box(const int32_t *segments, size_t gh, size_t gw, int32_t id, size_t box[4]) {
    size_t x0 = gw, y0 = gh, x1 = 0, y1 = 0;
    for (size_t y = 0; y < gh; y++)
        for (size_t x = 0; x < gw; x++)
            if (segments[y * gw + x] == id) {
                if (x < x0) x0 = x;
                if (y < y0) y0 = y;
                if (x + 1 > x1) x1 = x + 1;
                if (y + 1 > y1) y1 = y + 1;
            }
    box[0] = x0, box[1] = y0, box[2] = x1, box[3] = y1;
    return x1 > x0;
}

static df_status masked_crop(const df_image *image, const int32_t *segments, size_t gh, size_t gw, size_t patch,
                             int32_t id, df_image **out) {
    size_t box[4];
    if (!segment_box(segments, gh, gw, id, box)) return dfi_error(DF_E_INVALID_ARG, "segment %d has no patch", id);
    const size_t w = (box[2] - box[0]) * patch, h = (box[3] - box[1]) * patch, iw = df_image_width(image);
    df_status status = df_image_new(w, h, 3, 8, out);
    if (status != DF_OK) return status;
    uint8_t *target = df_image_pixels(*out);
    const uint8_t *source = df_image_pixels((df_image *)image);
    for (size_t y = 0; y < h; y++)
        for (size_t x = 0; x < w; x++) {
            const size_t py = box[1] + y / patch, px = box[0] + x / patch, sy = box[1] * patch + y,
                         sx = box[0] * patch + x;
            const int inside = segments[py * gw + px] == id;
            for (size_t c = 0; c < 3; c++) target[(y * w + x) * 3 + c] = inside ? source[(sy * iw + sx) * 3 + c] : 0;
        }
    return DF_OK;
}

/* torchvision's Resize(short) then CenterCrop(crop) on a PIL image. */
static df_status resize_and_centre(const df_image *crop_in, size_t resize, size_t crop, df_image **out) {
    const size_t w = df_image_width(crop_in), h = df_image_height(crop_in);
    size_t nw = resize, nh = resize;
    if (w < h) nh = (size_t)((double)resize * (double)h / (double)w); /* int(): truncation */
    else if (h < w) nw = (size_t)((double)resize * (double)w / (double)h);
    df_image *sized = NULL;
    df_status status = df_image_resize(crop_in, nw, nh, DF_RESIZE_BICUBIC, &sized);
    if (status != DF_OK) return status;
    if (nw < crop || nh < crop) {
        df_image_free(sized);
        return dfi_error(DF_E_INVALID_ARG, "crop %zu exceeds the resized %zu x %zu", crop, nw, nh);
    }
    /* Python round(): halves to even, as CenterCrop computes its offsets */
    const size_t top = (size_t)rint((double)(nh - crop) / 2.0), left = (size_t)rint((double)(nw - crop) / 2.0);
    const uint8_t *source = df_image_pixels(sized);
    status = df_image_from_pixels(source + (top * nw + left) * 3, crop, crop, 3, 8, nw * 3, out);
    df_image_free(sized);
    return status;
}

static df_status check_inputs(const df_image *image, size_t gh, size_t gw, size_t patch) {
    if (df_image_channels(image) != 3 || df_image_bit_depth(image) != 8)
        return dfi_error(DF_E_INVALID_ARG, "the image must be 8-bit RGB");
    if (gh == 0 || gw == 0 || patch == 0 || df_image_width(image) < gw * patch || df_image_height(image) < gh * patch)
        return dfi_error(DF_E_INVALID_ARG, "a %zu x %zu grid of %zu-pixel patches does not fit the %zu x %zu image", gh,
                         gw, patch, df_image_width(image), df_image_height(image));
    return DF_OK;
}

df_status df_datus_crop(const df_image *image, const int32_t *segments, size_t gh, size_t gw, size_t patch, int32_t id,
                        size_t resize, size_t crop, df_image **out) {
    DFI_CHECK_NOT_NULL(out);
    *out = NULL;
    DFI_CHECK_NOT_NULL(image);
    DFI_CHECK_NOT_NULL(segments);
    DFI_CHECK_ARG(crop > 0 && resize >= crop, "need 0 < crop <= resize");
    df_status status = check_inputs(image, gh, gw, patch);
    df_image *masked = NULL;
    if (status == DF_OK) status = masked_crop(image, segments, gh, gw, patch, id, &masked);
    if (status == DF_OK) status = resize_and_centre(masked, resize, crop, out);
    df_image_free(masked);
    DFI_RETURN(status);
}

/* Crops per forward pass: a batch keeps the matrix products large (a pass per crop left the
 * GPU idle between them), and 16 crops of 224 x 224 keep the activations small. */
#define CROPS_PER_PASS 16

/* The L2-normalised [CLS] of `count` crop tensors (each 3 x side x side floats, packed in
 * pixels), into features (count x dim). */
static df_status batch_features(df_model *model, const float *pixels, size_t count, size_t side, float *features,
                                size_t dim) {
    const int64_t shape[4] = {(int64_t)count, 3, (int64_t)side, (int64_t)side};
    df_tensor *x = NULL;
    df_forward *forward = NULL;
    const df_tensor *cls = NULL;
    df_status status = df_tensor_borrow_host(pixels, 4, shape, &x);
    if (status == DF_OK) status = df_model_forward(model, x, DF_OUTPUT_CLS, &forward);
    if (status == DF_OK) status = df_forward_output(forward, DF_OUTPUT_CLS, &cls);
    if (status == DF_OK) status = df_tensor_copy_to_host(cls, features, count * dim);
    if (status == DF_OK) dfi_normalise_rows(features, count, dim);
    df_forward_free(forward);
    df_tensor_free(x);
    return status;
}

df_status df_datus_crop_features(df_model *model, const df_image *image, const int32_t *segments, size_t gh, size_t gw,
                                 size_t count, size_t resize, size_t crop, float *features) {
    DFI_CHECK_NOT_NULL(model);
    DFI_CHECK_NOT_NULL(image);
    DFI_CHECK_NOT_NULL(segments);
    DFI_CHECK_ARG(count == 0 || features != NULL, "features is NULL");
    int64_t patch = 0, dim = 0;
    df_status status = df_model_info_int(model, DF_MODEL_INFO_PATCH, &patch);
    if (status == DF_OK) status = df_model_info_int(model, DF_MODEL_INFO_DIM, &dim);
    const size_t plane = 3 * crop * crop;
    float *pixels = status == DF_OK && count ? malloc(CROPS_PER_PASS * plane * sizeof *pixels) : NULL;
    if (status == DF_OK && count && pixels == NULL) status = dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    for (size_t first = 0; status == DF_OK && first < count; first += CROPS_PER_PASS) {
        const size_t n = count - first < CROPS_PER_PASS ? count - first : CROPS_PER_PASS;
        for (size_t s = 0; status == DF_OK && s < n; s++) {
            df_image *piece = NULL;
            df_tensor *x = NULL;
            status = df_datus_crop(image, segments, gh, gw, (size_t)patch, (int32_t)(first + s) + 1, resize, crop, &piece);
            if (status == DF_OK) status = df_image_to_tensor(piece, NULL, NULL, &x);
            if (status == DF_OK) status = df_tensor_copy_to_host(x, pixels + s * plane, plane);
            df_tensor_free(x);
            df_image_free(piece);
        }
        if (status == DF_OK) status = batch_features(model, pixels, n, crop, features + first * (size_t)dim, (size_t)dim);
    }
    free(pixels);
    DFI_RETURN(status);
}
