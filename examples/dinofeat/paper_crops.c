#include "paper_crops.h"
#include "cli.h"

#include "dinofeat/tensor.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

uint64_t crops_splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double crops_uniform(uint64_t *state, double lo, double hi) {
    return lo + (hi - lo) * (double)(crops_splitmix64(state) >> 11) * 0x1.0p-53;
}

uint64_t crops_generator(uint64_t seed, uint64_t purpose, uint64_t epoch, uint64_t item) {
    uint64_t state = seed ^ purpose;
    state = crops_splitmix64(&state) ^ epoch;
    state = crops_splitmix64(&state) ^ item;
    return crops_splitmix64(&state);
}

void crops_shuffle(size_t *order, size_t n, uint64_t state) {
    for (size_t i = 0; i < n; i++) order[i] = i;
    for (size_t i = n; i > 1; i--) {
        const size_t j = (size_t)(crops_splitmix64(&state) % i), t = order[i - 1];
        order[i - 1] = order[j], order[j] = t;
    }
}

void crops_box(uint64_t *rng, size_t width, size_t height, double scale_lo, double scale_hi, size_t box[4]) {
    const double area = (double)width * (double)height, log_lo = log(3.0 / 4.0), log_hi = log(4.0 / 3.0);
    for (int attempt = 0; attempt < 10; attempt++) {
        const double target = area * crops_uniform(rng, scale_lo, scale_hi), aspect = exp(crops_uniform(rng, log_lo, log_hi));
        const long w = lround(sqrt(target * aspect)), h = lround(sqrt(target / aspect));
        if (w > 0 && (size_t)w <= width && h > 0 && (size_t)h <= height) {
            box[1] = (size_t)(crops_splitmix64(rng) % (height - (size_t)h + 1));
            box[0] = (size_t)(crops_splitmix64(rng) % (width - (size_t)w + 1));
            box[2] = (size_t)w, box[3] = (size_t)h;
            return;
        }
    }
    const double ratio = (double)width / (double)height;
    size_t w = width, h = height;
    if (ratio < 3.0 / 4.0) h = (size_t)lround((double)w / (3.0 / 4.0));
    else if (ratio > 4.0 / 3.0) w = (size_t)lround((double)h * (4.0 / 3.0));
    box[0] = (width - w) / 2, box[1] = (height - h) / 2, box[2] = w, box[3] = h;
}

df_status crops_resized(df_image *image, const size_t box[4], size_t side, df_resize_filter filter, int flip,
                        df_image **out) {
    const size_t pixel = df_image_channels(image) * df_image_bit_depth(image) / 8, stride = df_image_width(image) * pixel;
    const unsigned char *first = (const unsigned char *)df_image_pixels(image) + box[1] * stride + box[0] * pixel;
    df_image *part = NULL;
    df_status status = df_image_from_pixels(first, box[2], box[3], df_image_channels(image), df_image_bit_depth(image),
                                            stride, &part);
    if (status == DF_OK) status = df_image_resize(part, side, side, filter, out);
    df_image_free(part);
    if (status != DF_OK || !flip) return status;
    unsigned char *p = df_image_pixels(*out), swap[8];
    const size_t row = side * pixel;
    for (size_t y = 0; y < side; y++)
        for (size_t x = 0; x < side / 2; x++) {
            unsigned char *a = p + y * row + x * pixel, *b = p + y * row + (side - 1 - x) * pixel;
            memcpy(swap, a, pixel), memcpy(a, b, pixel), memcpy(b, swap, pixel);
        }
    return DF_OK;
}

df_status crops_forward_tokens(df_model *model, float *pixels, size_t count, size_t side, float *tokens, size_t grid,
                               size_t dim, int *said) {
    int64_t shape_out[4] = {0};
    const int64_t shape[4] = {(int64_t)count, 3, (int64_t)side, (int64_t)side};
    df_tensor *x = NULL;
    df_forward *forward = NULL;
    const df_tensor *patch = NULL;
    df_status status = df_tensor_borrow_host(pixels, 4, shape, &x);
    if (status == DF_OK) status = df_model_forward(model, x, DF_OUTPUT_PATCH, &forward);
    if (status == DF_OK) status = df_forward_output(forward, DF_OUTPUT_PATCH, &patch);
    if (status == DF_OK) status = df_tensor_shape(patch, shape_out, 4);
    if (status == DF_OK && (shape_out[1] != (int64_t)grid || shape_out[2] != (int64_t)grid || shape_out[3] != (int64_t)dim)) {
        fprintf(stderr, "dinofeat paper: the model gives %lld x %lld tokens of a %zu x %zu crop, the protocol's %zu x %zu "
                        "(patch-size stride): leave --stride (model.stride) at its default\n", (long long)shape_out[1],
                (long long)shape_out[2], side, side, grid, grid);
        status = DF_E_INVALID_ARG, *said = 1;
    }
    if (status == DF_OK) status = df_tensor_copy_to_host(patch, tokens, count * grid * grid * dim);
    df_forward_free(forward);
    df_tensor_free(x);
    return status;
}

df_status crops_open_split(const char *root, const char *split, const char *list, df_dataset **out) {
    df_options *o = NULL;
    df_status status = cli_options_new(&o);
    if (status == DF_OK) status = df_options_set_str(o, DF_PARAM_DATASET_SPLIT, split);
    if (status == DF_OK) status = df_options_set_str(o, DF_PARAM_DATASET_LIST, list ? list : "");
    if (status == DF_OK) status = df_options_set_int(o, DF_PARAM_DATASET_SIZE, 0);
    if (status == DF_OK) status = df_options_set_int(o, DF_PARAM_DATASET_STRETCH, 0);
    if (status == DF_OK) status = df_options_set_int(o, DF_PARAM_DATASET_MULTIPLE, 0);
    if (status == DF_OK) status = df_options_set_int(o, DF_PARAM_DATASET_FIVE_CROP, 0);
    if (status == DF_OK) status = cli_open_dataset(root, NULL, o, "paper", out);
    df_options_free(o);
    return status;
}
