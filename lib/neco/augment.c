/* NeCo's views of an image (specs/neco.md; the official neco_transforms.py): random resized crops
 * (torchvision's parameters), each resampled until it overlaps every global crop enough, then
 * colour jitter, greyscale and Gaussian blur on 8-bit samples as torchvision and PIL apply them
 * to PIL images (bit for bit), and ImageNet normalisation. Every draw comes from one splitmix64 stream per image, so a batch is the same
 * whatever the threads. */
#include "neco_internal.h"

#include "../image/image_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const double imagenet_mean[3] = {0.485, 0.456, 0.406}, imagenet_std[3] = {0.229, 0.224, 0.225};

void dfi_neco_views_from(const df_options *options, dfi_neco_views *views) {
    views->global_size = (int)dfi_option_int(options, DF_PARAM_NECO_GLOBAL_SIZE);
    views->local_size = (int)dfi_option_int(options, DF_PARAM_NECO_LOCAL_SIZE);
    views->globals = (int)dfi_option_int(options, DF_PARAM_NECO_GLOBAL_CROPS);
    views->locals = (int)dfi_option_int(options, DF_PARAM_NECO_LOCAL_CROPS);
    views->min_intersection = dfi_option_float(options, DF_PARAM_NECO_MIN_INTERSECTION);
    views->jitter_p = dfi_option_float(options, DF_PARAM_NECO_JITTER_P);
    views->grey_p = dfi_option_float(options, DF_PARAM_NECO_GREY_P);
    views->blur_p = dfi_option_float(options, DF_PARAM_NECO_BLUR_P);
}

/* A uniform double in [lo, hi) from 53 bits. */
static double uniform(uint64_t *state, double lo, double hi) {
    return lo + (hi - lo) * (double)(dfi_splitmix64(state) >> 11) * 0x1.0p-53;
}

/* An integer in [0, n). */
static int below(uint64_t *state, int n) { return (int)(dfi_splitmix64(state) % (uint64_t)n); }

/* torchvision's RandomResizedCrop.get_params with ratio 3/4..4/3: ten tries at a random area and
 * log-uniform aspect, else the whole image's centre at the nearest allowed aspect. */
static void random_resized_crop(uint64_t *rng, int width, int height, double scale_lo, double scale_hi, double box[4]) {
    const double area = (double)width * height, log_lo = log(3.0 / 4.0), log_hi = log(4.0 / 3.0);
    for (int attempt = 0; attempt < 10; attempt++) {
        const double target = area * uniform(rng, scale_lo, scale_hi), aspect = exp(uniform(rng, log_lo, log_hi));
        const int w = (int)lround(sqrt(target * aspect)), h = (int)lround(sqrt(target / aspect));
        if (w > 0 && w <= width && h > 0 && h <= height) {
            const int top = below(rng, height - h + 1), left = below(rng, width - w + 1);
            box[0] = left, box[1] = top, box[2] = left + w, box[3] = top + h;
            return;
        }
    }
    const double ratio = (double)width / height;
    int w = width, h = height;
    if (ratio < 3.0 / 4.0) h = (int)lround(w / (3.0 / 4.0));
    else if (ratio > 4.0 / 3.0) w = (int)lround(h * (4.0 / 3.0));
    box[0] = (width - w) / 2, box[1] = (height - h) / 2, box[2] = box[0] + w, box[3] = box[1] + h;
}

static double overlap(const double *a, const double *b) {
    const double w = fmin(a[2], b[2]) - fmax(a[0], b[0]), h = fmin(a[3], b[3]) - fmax(a[1], b[1]);
    return w > 0 && h > 0 ? w * h : 0.0;
}

/* Crop index's box: resampled (up to 1000 times, then the whole image, which always overlaps)
 * until it overlaps every earlier global crop by more than the minimum (twice it between globals). */
static void sample_box(uint64_t *rng, int index, const dfi_neco_views *v, int width, int height, double *boxes) {
    const int is_global = index < v->globals;
    const double lo = is_global ? 0.25 : 0.05, hi = is_global ? 1.0 : 0.25;
    double minimum = floor((double)width * height * v->min_intersection);
    if (is_global) minimum *= 2;
    double *box = boxes + 4 * index;
    const int earlier = index < v->globals ? index : v->globals;
    for (int attempt = 0; attempt < 1000; attempt++) {
        random_resized_crop(rng, width, height, lo, hi, box);
        int ok = 1;
        for (int g = 0; g < earlier && ok; g++) ok = overlap(box, boxes + 4 * g) > minimum;
        if (ok) return;
    }
    box[0] = 0, box[1] = 0, box[2] = width, box[3] = height;
}

/* The crop resampled to size x size with PIL's bilinear filter, as RGB samples 0..255. */
static df_status crop_rgb(const df_image *image, const double *box, int size, float *rgb) {
    const size_t x0 = (size_t)box[0], y0 = (size_t)box[1], w = (size_t)(box[2] - box[0]), h = (size_t)(box[3] - box[1]);
    const size_t pixel = image->channels * image->bit_depth / 8;
    df_image *part = NULL, *resized = NULL;
    df_status status = dfi_image_alloc(w, h, image->channels, image->bit_depth, &part);
    for (size_t y = 0; status == DF_OK && y < h; y++)
        memcpy(part->pixels + y * w * pixel, image->pixels + ((y0 + y) * image->width + x0) * pixel, w * pixel);
    if (status == DF_OK) status = df_image_resize(part, (size_t)size, (size_t)size, DF_RESIZE_BILINEAR, &resized);
    df_image_free(part);
    if (status != DF_OK) return status;
    const size_t n = (size_t)size * size, c = resized->channels;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < 3; k++) {
            const size_t channel = c < 3 ? 0 : k;
            rgb[3 * i + k] = resized->bit_depth == 8
                                 ? resized->pixels[i * c + channel]
                                 : (float)lrint(((const uint16_t *)resized->pixels)[i * c + channel] / 257.0);
        }
    df_image_free(resized);
    return DF_OK;
}

/* torchvision's ColorJitter(0.8, 0.8, 0.8, 0.2): the four adjustments in a random order. */
static df_status colour_jitter(uint64_t *rng, float *rgb, size_t n) {
    int order[4] = {0, 1, 2, 3};
    for (int i = 3; i > 0; i--) {
        const int j = below(rng, i + 1), t = order[i];
        order[i] = order[j], order[j] = t;
    }
    const double brightness = uniform(rng, 0.2, 1.8), contrast = uniform(rng, 0.2, 1.8);
    const double saturation = uniform(rng, 0.2, 1.8), hue = uniform(rng, -0.2, 0.2);
    const double factors[4] = {brightness, contrast, saturation, hue};
    df_status status = DF_OK;
    for (int step = 0; status == DF_OK && step < 4; step++)
        status = dfi_adjust_rgb(rgb, n, (df_image_adjustment)order[step], factors[order[step]]);
    return status;
}

/* Pillow's GaussianBlur(radius): three passes of an extended box blur (Gwosdek et al. 2011) along
 * the rows, then three along the columns, in 8.24 fixed point with the edges extended. Written
 * from its observable results (test/reference/make_neco_view_fixtures.py holds it to PIL's); the
 * float / double mix of the box radius is Pillow's. */
static float box_radius(float radius, int passes) {
    const float sigma2 = radius * radius / (float)passes, length = (float)sqrt(12.0 * sigma2 + 1.0);
    const float whole = (float)floor((length - 1.0) / 2.0);
    float fraction = (2 * whole + 1) * (whole * (whole + 1) - 3 * sigma2);
    fraction /= 6 * (sigma2 - (whole + 1) * (whole + 1));
    return whole + fraction;
}

/* One pass over n samples at in[k * stride] into out[k]: each the box of radius r (the integer
 * part) plus the two samples beyond it at weight fw, the image's edge samples repeated outward. */
static void box_blur_line(const uint8_t *in, size_t stride, int n, int r, uint32_t ww, uint32_t fw, uint8_t *out) {
    const int last = n - 1, edge_a = r + 1 < n ? r + 1 : n, edge_b = n - r - 1 > 0 ? n - r - 1 : 0;
#define AT(i) ((uint32_t)in[(size_t)(i) * stride])
#define EMIT(x, left, right) out[x] = (uint8_t)((acc * ww + (AT(left) + AT(right)) * fw + (1u << 23)) >> 24)
    uint32_t acc = AT(0) * (uint32_t)(r + 1);
    for (int x = 0; x < edge_a - 1; x++) acc += AT(x);
    acc += AT(last) * (uint32_t)(r - edge_a + 1);
    if (edge_a <= edge_b) {
        for (int x = 0; x < edge_a; x++) acc += AT(x + r) - AT(0), EMIT(x, 0, x + r + 1);
        for (int x = edge_a; x < edge_b; x++) acc += AT(x + r) - AT(x - r - 1), EMIT(x, x - r - 1, x + r + 1);
        for (int x = edge_b; x <= last; x++) acc += AT(last) - AT(x - r - 1), EMIT(x, x - r - 1, last);
    } else {
        for (int x = 0; x < edge_b; x++) acc += AT(x + r) - AT(0), EMIT(x, 0, x + r + 1);
        for (int x = edge_b; x < edge_a; x++) acc += AT(last) - AT(0), EMIT(x, 0, last);
        for (int x = edge_a; x <= last; x++) acc += AT(last) - AT(x - r - 1), EMIT(x, x - r - 1, last);
    }
#undef EMIT
#undef AT
}

static df_status gaussian_blur(float *rgb, int size, double sigma) {
    const float radius = box_radius((float)sigma, 3);
    const int r = (int)radius;
    const uint32_t ww = (uint32_t)((float)(1u << 24) / (radius * 2 + 1)), fw = ((1u << 24) - (uint32_t)(r * 2 + 1) * ww) / 2;
    const size_t n = (size_t)size * size;
    uint8_t *plane = malloc(n), *line = malloc((size_t)size);
    if (!plane || !line) {
        free(plane), free(line);
        return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory for a crop");
    }
    for (int c = 0; c < 3; c++) {
        for (size_t i = 0; i < n; i++) plane[i] = (uint8_t)rgb[3 * i + c];
        for (int pass = 0; pass < 6; pass++) /* rows three times, then columns three times */
            for (int k = 0; k < size; k++) {
                const int rows = pass < 3;
                uint8_t *start = plane + (rows ? (size_t)k * size : (size_t)k);
                const size_t stride = rows ? 1 : (size_t)size;
                box_blur_line(start, stride, size, r, ww, fw, line);
                for (int x = 0; x < size; x++) start[(size_t)x * stride] = line[x];
            }
        for (size_t i = 0; i < n; i++) rgb[3 * i + c] = plane[i];
    }
    free(plane), free(line);
    return DF_OK;
}

/* One crop: resample, colour, normalise into out (3 x size x size). */
static df_status make_crop(const df_image *image, uint64_t *rng, const dfi_neco_views *v, const double *box, int size,
                           float *out) {
    const size_t n = (size_t)size * size;
    float *rgb = malloc(3 * n * sizeof *rgb);
    if (!rgb) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory for a %d x %d crop", size, size);
    df_status status = crop_rgb(image, box, size, rgb);
    if (status == DF_OK && uniform(rng, 0, 1) < v->jitter_p) status = colour_jitter(rng, rgb, n);
    if (status == DF_OK && uniform(rng, 0, 1) < v->grey_p)
        for (size_t i = 0; i < n; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = dfi_luma(rgb + 3 * i);
    if (status == DF_OK && uniform(rng, 0, 1) < v->blur_p) status = gaussian_blur(rgb, size, uniform(rng, 0.1, 2.0));
    for (size_t i = 0; status == DF_OK && i < n; i++)
        for (int c = 0; c < 3; c++)
            out[(size_t)c * n + i] = (float)((rgb[3 * i + c] / 255.0 - imagenet_mean[c]) / imagenet_std[c]);
    free(rgb);
    return status;
}

df_status dfi_neco_augment(const df_image *image, uint64_t seed, const dfi_neco_views *v, float *global, float *local,
                           double *boxes) {
    uint64_t rng = seed;
    const int views = v->globals + v->locals;
    for (int i = 0; i < views; i++) sample_box(&rng, i, v, (int)image->width, (int)image->height, boxes);
    for (int i = 0; i < views; i++) {
        const int is_global = i < v->globals, size = is_global ? v->global_size : v->local_size;
        float *out = is_global ? global + (size_t)i * 3 * size * size
                               : local + (size_t)(i - v->globals) * 3 * size * size;
        const df_status status = make_crop(image, &rng, v, boxes + 4 * i, size, out);
        if (status != DF_OK) return status;
    }
    return DF_OK;
}

void dfi_neco_intersections(const double *boxes, const dfi_neco_views *v, double *gc, double *all) {
    const int views = v->globals + v->locals;
    for (int g = 0; g < v->globals; g++)
        for (int i = 0; i < views; i++) {
            const double *a = boxes + 4 * g, *b = boxes + 4 * i;
            const double corner[4] = {fmax(a[0], b[0]), fmax(a[1], b[1]), fmin(a[2], b[2]), fmin(a[3], b[3])};
            const double size_i = i < v->globals ? v->global_size : v->local_size;
            for (int k = 0; k < 4; k++) {
                const int axis = k % 2; /* x then y */
                gc[(g * views + i) * 4 + k] =
                    v->global_size * (corner[k] - a[axis]) / (a[axis + 2] - a[axis]);
                all[(i * v->globals + g) * 4 + k] = size_i * (corner[k] - b[axis]) / (b[axis + 2] - b[axis]);
            }
        }
}
