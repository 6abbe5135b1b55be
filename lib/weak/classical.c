/* The 58 classical (Trainable Weka style) channels of specs/hrdv2.md section 4, equal to HR-Dv2's
 * own featuriser (scikit-image and scipy semantics), in C with OpenMP. Each channel is computed in
 * the precision the official code computes it in, because the float32 rounding of a wide Gaussian
 * is what its Hessian differentiates: scale 0 in float64 (the raw bytes, the image in [0, 1] for
 * Sobel), the Gaussians float32 after each pass (scipy writes every pass to the float32 output),
 * their gradients, Hessians, differences and the membrane statistics in float32 as numpy does. */
#include "../internal.h"
#include "membrane.h"
#include "rank.h"
#include "dinofeat/image.h"
#include "dinofeat/weak.h"

#include <stdio.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>


/* 'nearest' border (a a a | a b c d): the edge sample repeated. */
static size_t nearest(long i, size_t n) { return i < 0 ? 0 : i >= (long)n ? n - 1 : (size_t)i; }

/* scipy.ndimage.gaussian_filter1d(in, sd, axis, mode='nearest', truncate=4.0) into a float32
 * plane: per output sample the centre tap, then the pairs of symmetric taps from the outermost
 * in, summed in double (scipy's order for a symmetric kernel). axis 0: along y, 1: along x. */
/* Sample i of a line of n, the border 'nearest' (zero: 'constant' with 0, the sample is dropped). */
static double line_sample(const float *line, long i, size_t n, size_t step, int zero) {
    if (zero && (i < 0 || i >= (long)n)) return 0.0;
    return line[nearest(i, n) * step];
}

static void gaussian_pass(const float *in, float *out, size_t w, size_t h, const double *weights, int radius, int axis,
                          int zero) {
    const size_t lines = axis == 0 ? w : h, length = axis == 0 ? h : w;
    const size_t step = axis == 0 ? w : 1, line_step = axis == 0 ? 1 : w;
#pragma omp parallel for schedule(static)
    for (size_t l = 0; l < lines; l++) {
        const float *line = in + l * line_step;
        float *o = out + l * line_step;
        for (size_t i = 0; i < length; i++) {
            double sum = line[i * step] * weights[0];
            for (int t = radius; t >= 1; t--)
                sum += (line_sample(line, (long)i - t, length, step, zero) +
                        line_sample(line, (long)i + t, length, step, zero)) *
                       weights[t];
            o[i * step] = (float)sum;
        }
    }
}

/* skimage.filters.gaussian(image, sd, preserve_range=True) of a float32 image: scipy's kernel
 * exp(-x^2 / (2 sd^2)) normalised over radius int(4 sd + 0.5), along y then x; border nearest,
 * or zero (constant 0). */
static int gaussian_bordered(const float *in, float *out, float *scratch, size_t w, size_t h, double sd, int zero) {
    const int radius = (int)(4.0 * sd + 0.5);
    double *weights = malloc((size_t)(radius + 1) * sizeof *weights), total = 0;
    if (weights == NULL) return -1;
    for (int t = -radius; t <= radius; t++) total += exp(-0.5 / (sd * sd) * (double)(t * t));
    for (int t = 0; t <= radius; t++) weights[t] = exp(-0.5 / (sd * sd) * (double)(t * t)) / total;
    gaussian_pass(in, scratch, w, h, weights, radius, 0, zero);
    gaussian_pass(scratch, out, w, h, weights, radius, 1, zero);
    free(weights);
    return 0;
}

static int gaussian(const float *in, float *out, float *scratch, size_t w, size_t h, double sd) {
    return gaussian_bordered(in, out, scratch, w, h, sd, 0);
}

/* scipy.ndimage.sobel(image, axis, mode='constant') of a float32 image, unnormalised: [-1, 0, 1]
 * along axis, then [1, 2, 1] across it, each pass stored as float32. */
static void sobel_unnormalised(const float *in, float *out, float *scratch, size_t w, size_t h, int axis) {
    for (int pass = 0; pass < 2; pass++) {
        const int along = pass == 0 ? axis : 1 - axis;
        const float *from = pass == 0 ? in : scratch;
        float *to = pass == 0 ? scratch : out;
        const size_t length = along == 0 ? h : w, step = along == 0 ? w : 1, lines = along == 0 ? w : h,
                     line_step = along == 0 ? 1 : w;
#pragma omp parallel for schedule(static)
        for (size_t l = 0; l < lines; l++) {
            const float *line = from + l * line_step;
            float *o = to + l * line_step;
            for (size_t i = 0; i < length; i++) {
                const double before = line_sample(line, (long)i - 1, length, step, 1),
                             after = line_sample(line, (long)i + 1, length, step, 1);
                o[i * step] = (float)(pass == 0 ? after - before : 2.0 * line[i * step] + (before + after));
            }
        }
    }
}

/* skimage.feature.structure_tensor(image, sigma) (Sobel derivatives, border constant 0, their
 * products smoothed by a Gaussian of sigma, border constant 0) and its two eigenvalues, largest
 * first, into channels c, c + 1. t: 7 float planes. */
static int structure_eigenvalues(const float *unit, double sigma, float *out, size_t channels, size_t c, float *t,
                                 size_t w, size_t h) {
    const size_t n = w * h;
    float *dy = t, *dx = t + n, *product = t + 2 * n, *scratch = t + 3 * n, *xx = t + 4 * n, *xy = t + 5 * n,
          *yy = t + 6 * n;
    sobel_unnormalised(unit, dy, scratch, w, h, 0);
    sobel_unnormalised(unit, dx, scratch, w, h, 1);
    float *const smoothed[3] = {xx, xy, yy};
    const float *const first[3] = {dx, dx, dy}, *const second[3] = {dx, dy, dy};
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < n; i++) product[i] = first[k][i] * second[k][i];
        if (gaussian_bordered(product, smoothed[k], scratch, w, h, sigma, 1) != 0) return -1;
    }
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        const double mean = ((double)xx[i] + yy[i]) / 2, half = ((double)xx[i] - yy[i]) / 2,
                     root = sqrt(half * half + (double)xy[i] * xy[i]);
        out[i * channels + c] = (float)(mean + root);
        out[i * channels + c + 1] = (float)(mean - root);
    }
    return 0;
}

/* skimage.filters.sobel: [1, 0, -1] across one axis, [1, 2, 1] / 4 along the other, border
 * reflect, magnitude sqrt((Gx^2 + Gy^2) / 2); in double, then into channel c. */
static void sobel(const double *f, float *out, size_t channels, size_t c, size_t w, size_t h) {
#pragma omp parallel for schedule(static)
    for (size_t y = 0; y < h; y++) {
        const size_t up = dfi_reflect_index((long)y - 1, h) * w, down = dfi_reflect_index((long)y + 1, h) * w,
                     row = y * w;
        for (size_t x = 0; x < w; x++) {
            const size_t left = dfi_reflect_index((long)x - 1, w), right = dfi_reflect_index((long)x + 1, w);
            const double gx = ((f[up + right] - f[up + left]) + 2 * (f[row + right] - f[row + left]) +
                               (f[down + right] - f[down + left])) / 4,
                         gy = ((f[down + left] - f[up + left]) + 2 * (f[down + x] - f[up + x]) +
                               (f[down + right] - f[up + right])) / 4;
            out[(row + x) * channels + c] = (float)(sqrt(gx * gx + gy * gy) / sqrt(2.0));
        }
    }
}

/* np.gradient along axis (0: y, 1: x) with unit spacing: central differences inside, one-sided
 * first-order differences at the two ends (a line of one sample has none: 0). Generated for
 * double and for float, as numpy computes in the array's own type. */
#define DEFINE_GRADIENT(name, type)                                                                              \
    static void name(const type *f, type *out, size_t w, size_t h, int axis) {                                   \
        const size_t length = axis == 0 ? h : w, step = axis == 0 ? w : 1, lines = axis == 0 ? w : h,           \
                     line_step = axis == 0 ? 1 : w;                                                              \
        _Pragma("omp parallel for schedule(static)") for (size_t l = 0; l < lines; l++) {                       \
            const type *a = f + l * line_step;                                                                   \
            type *o = out + l * line_step;                                                                       \
            if (length < 2) {                                                                                    \
                o[0] = 0;                                                                                        \
                continue;                                                                                        \
            }                                                                                                    \
            o[0] = a[step] - a[0];                                                                               \
            for (size_t i = 1; i + 1 < length; i++) o[i * step] = (type)(a[(i + 1) * step] - a[(i - 1) * step]) / 2; \
            o[(length - 1) * step] = a[(length - 1) * step] - a[(length - 2) * step];                            \
        }                                                                                                        \
    }
DEFINE_GRADIENT(gradient_double, double)
DEFINE_GRADIENT(gradient_float, float)

/* The five Hessian channels from a = d2/dy2, b = d2/dydx, d = d2/dx2, in the type numpy computes
 * them in: module, trace, determinant, the two eigenvalues. */
#define DEFINE_HESSIAN(name, type, gradient, root)                                                               \
    static void name(const type *f, float *out, size_t channels, size_t c, type *t, size_t w, size_t h) {        \
        const size_t n = w * h;                                                                                  \
        type *dy = t, *dx = t + n, *a = t + 2 * n, *b = t + 3 * n, *d = t + 4 * n;                               \
        gradient(f, dy, w, h, 0);                                                                                \
        gradient(f, dx, w, h, 1);                                                                                \
        gradient(dy, a, w, h, 0);                                                                                \
        gradient(dy, b, w, h, 1);                                                                                \
        gradient(dx, d, w, h, 1);                                                                                \
        _Pragma("omp parallel for schedule(static)") for (size_t i = 0; i < n; i++) {                            \
            const type trace = a[i] + d[i], bb = b[i] * b[i], amd = a[i] - d[i];                                 \
            const type spread = root((type)4 * bb + amd * amd);                                                  \
            float *o = out + i * channels + c;                                                                   \
            o[0] = (float)root(a[i] * a[i] + bb + d[i] * d[i]);                                                  \
            o[1] = (float)trace;                                                                                 \
            o[2] = (float)(a[i] * d[i] - bb);                                                                    \
            o[3] = (float)((type)(trace + spread) / 2);                                                          \
            o[4] = (float)((type)(trace - spread) / 2);                                                          \
        }                                                                                                        \
    }
DEFINE_HESSIAN(hessian_double, double, gradient_double, sqrt)
DEFINE_HESSIAN(hessian_float, float, gradient_float, sqrtf)

/* The feature groups, in the bit order of plan.groups, by their lower-case GUI names. */
enum { GAUSSIAN, SOBEL, HESSIAN, DOG, MEMBRANE, MEAN, MEDIAN, MINIMUM, MAXIMUM, NEIGHBOURS, DERIVATIVES, BILATERAL,
       STRUCTURE, ENTROPY, GROUPS };
static const char *const group_names[GROUPS] = {"gaussian",   "sobel",       "hessian",   "dog",     "membrane",
                                               "mean",       "median",      "minimum",   "maximum", "neighbours",
                                               "derivatives", "bilateral", "structure", "entropy"};
static const char *const hessian_names[5] = {"hessian_module", "hessian_trace", "hessian_determinant",
                                             "hessian_eigenvalue_1", "hessian_eigenvalue_2"};
#define MAX_SCALES 16

typedef struct classical_plan {
    unsigned groups;
    int zero_scale, scales;
    double sigmas[MAX_SCALES];
    int membrane_size, membrane_thickness;
} classical_plan;

static int has(const classical_plan *p, int group) { return (p->groups >> group) & 1u; }

/* The settings as the official multiscale_advanced_features reads them: scale 0 when the minimum
 * sigma is 0 (then from 1), 0.5 for -1; scales 2^linspace(log2 min, log2 max, n) with
 * n = int(log2 max - log2 min + 1), as np.logspace. */
static df_status make_plan(const df_options *options, classical_plan *p) {
    memset(p, 0, sizeof *p);
    const char *list = dfi_option_str(options, DF_PARAM_CLASSICAL_GROUPS);
    for (const char *at = list; *at;) {
        const size_t length = strcspn(at, ",");
        int found = -1;
        for (int g = 0; g < GROUPS; g++)
            if (strlen(group_names[g]) == length && strncmp(at, group_names[g], length) == 0) found = g;
        if (found < 0)
            return dfi_error(DF_E_INVALID_ARG,
                             "classical.groups: '%.*s' is not a group (gaussian, sobel, hessian, dog, membrane, mean, "
                             "median, minimum, maximum, entropy, structure, neighbours, derivatives, bilateral)",
                             (int)length, at);
        p->groups |= 1u << found;
        at += length + (at[length] == ',');
    }
    const int64_t low = dfi_option_int(options, DF_PARAM_CLASSICAL_MIN_SIGMA),
                  high = dfi_option_int(options, DF_PARAM_CLASSICAL_MAX_SIGMA);
    p->zero_scale = low == 0;
    const double first = low == -1 ? 0.5 : low == 0 ? 1.0 : (double)low;
    if ((double)high < first)
        return dfi_error(DF_E_INVALID_ARG, "classical.max_sigma %lld is below the smallest scale %g", (long long)high,
                         first);
    const double start = log2(first), stop = log2((double)high);
    p->scales = (int)(stop - start + 1);
    if (p->scales > MAX_SCALES) return dfi_error(DF_E_INVALID_ARG, "classical: more than %d scales", MAX_SCALES);
    /* np.linspace: start + i * step, the last exactly stop */
    const double step = p->scales > 1 ? (stop - start) / (p->scales - 1) : 0.0;
    for (int i = 0; i < p->scales; i++) p->sigmas[i] = pow(2.0, i == p->scales - 1 && i > 0 ? stop : start + i * step);
    p->membrane_size = (int)dfi_option_int(options, DF_PARAM_CLASSICAL_MEMBRANE_SIZE);
    p->membrane_thickness = (int)dfi_option_int(options, DF_PARAM_CLASSICAL_MEMBRANE_THICKNESS);
    return DF_OK;
}

static size_t per_scale(const classical_plan *p) {
    return (size_t)has(p, GAUSSIAN) + has(p, SOBEL) + 5u * has(p, HESSIAN) + has(p, MEAN) + has(p, MEDIAN) +
           has(p, MINIMUM) + has(p, MAXIMUM) + 3u * has(p, ENTROPY) + 2u * has(p, STRUCTURE) +
           8u * has(p, NEIGHBOURS) + 4u * has(p, DERIVATIVES);
}

static size_t plan_channels(const classical_plan *p) {
    const size_t scales = (size_t)p->scales;
    return (p->zero_scale ? 1u + has(p, SOBEL) + 5u * has(p, HESSIAN) : 0u) + scales * per_scale(p) +
           (has(p, DOG) ? scales * (scales - 1) / 2 : 0u) + 6u * has(p, MEMBRANE) + 4u * has(p, BILATERAL);
}

/* The name of channel index of the plan (index below plan_channels). */
static void channel_label(const classical_plan *p, size_t index, char *name, size_t size) {
    if (p->zero_scale) {
        const size_t zero = 1u + has(p, SOBEL) + 5u * has(p, HESSIAN);
        if (index < zero) {
            if (index == 0) snprintf(name, size, "raw");
            else if (has(p, SOBEL) && index == 1) snprintf(name, size, "sobel_0");
            else snprintf(name, size, "%s_0", hessian_names[index - 1 - has(p, SOBEL)]);
            return;
        }
        index -= zero;
    }
    const size_t each = per_scale(p);
    if (index < (size_t)p->scales * each) {
        const double sigma = p->sigmas[index / each];
        size_t k = index % each;
        const char *single[4] = {"mean", "median", "minimum", "maximum"};
        if (has(p, GAUSSIAN) && k-- == 0) snprintf(name, size, "gaussian_%g", sigma);
        else if (has(p, SOBEL) && k-- == 0) snprintf(name, size, "sobel_%g", sigma);
        else if (has(p, HESSIAN) && k < 5) snprintf(name, size, "%s_%g", hessian_names[k], sigma);
        else {
            if (has(p, HESSIAN)) k -= 5;
            for (int g = 0; g < 4; g++)
                if (has(p, MEAN + g) && k-- == 0) {
                    snprintf(name, size, "%s_%g", single[g], sigma);
                    return;
                }
            if (has(p, ENTROPY) && k < 3) {
                snprintf(name, size, "entropy_%d_%g", 32 << k, sigma);
                return;
            }
            if (has(p, ENTROPY)) k -= 3;
            if (has(p, STRUCTURE) && k < 2) {
                snprintf(name, size, "structure_eigenvalue_%d_%g", (int)k + 1, sigma);
                return;
            }
            if (has(p, STRUCTURE)) k -= 2;
            if (has(p, NEIGHBOURS) && k < 8) {
                const int neighbour = (int)k + (k >= 4); /* the centre is skipped */
                snprintf(name, size, "neighbour_%d_%d_%g", neighbour / 3 - 1, neighbour % 3 - 1, sigma);
            } else {
                if (has(p, NEIGHBOURS)) k -= 8;
                snprintf(name, size, "derivative_%d_%g", 4 + 2 * (int)k, sigma);
            }
        }
        return;
    }
    index -= (size_t)p->scales * each;
    if (has(p, DOG) && index < (size_t)p->scales * (p->scales - 1) / 2) {
        for (int i = 1; i < p->scales; i++)
            for (int j = 0; j < i; j++)
                if (index-- == 0) {
                    snprintf(name, size, "dog_%g_%g", p->sigmas[j], p->sigmas[i]);
                    return;
                }
    }
    if (has(p, DOG)) index -= (size_t)p->scales * (p->scales - 1) / 2;
    static const char *const membrane[6] = {"membrane_mean", "membrane_max", "membrane_min",
                                            "membrane_sum",  "membrane_std", "membrane_median"};
    if (has(p, MEMBRANE) && index < 6) {
        snprintf(name, size, "%s", membrane[index]);
        return;
    }
    if (has(p, MEMBRANE)) index -= 6;
    snprintf(name, size, "bilateral_%d_%d", index < 2 ? 5 : 10, index % 2 ? 100 : 50);
}

/* The image the features are computed from: 8-bit, or 16-bit with the bytes the rank filters
 * see (the high byte, as skimage's img_as_ubyte). */
typedef struct classical_source {
    const uint8_t *bytes;
    const uint16_t *words; /* NULL for an 8-bit image */
} classical_source;

static double sample_at(const classical_source *s, size_t i) { return s->words ? s->words[i] : s->bytes[i]; }

/* Scale 0 as the official zero_scale_filters sees it: the raw samples; Sobel of the image as
 * skimage converts it ([0, 1], float64); the Hessian of the samples as np.gradient converts them
 * (float64, 0..255 or 0..65535). t: 6 double planes. Returns the next channel. */
static size_t scale_zero(const classical_plan *p, const classical_source *src, float *out, size_t channels, double *t,
                         size_t w, size_t h) {
    const size_t n = w * h;
    const double to_unit = src->words ? 1.0 / 65535.0 : 1.0 / 255.0;
    double *raw = t, *unit = t + n;
    for (size_t i = 0; i < n; i++) {
        raw[i] = sample_at(src, i), unit[i] = raw[i] * to_unit;
        out[i * channels] = (float)raw[i];
    }
    size_t c = 1;
    if (has(p, SOBEL)) sobel(unit, out, channels, c++, w, h);
    if (has(p, HESSIAN)) hessian_double(raw, out, channels, c, t + n, w, h), c += 5;
    return c;
}

/* The eight neighbours at distance sigma, the image wrapped (scipy's convolve, mode 'wrap'). */
static void neighbours(const float *unit, int distance, float *out, size_t channels, size_t c, size_t w, size_t h) {
    int k = 0;
    for (int dx = -1; dx <= 1; dx++)
        for (int dy = -1; dy <= 1; dy++) {
            if (dx == 0 && dy == 0) continue;
            const long sy = ((long)dy * distance) % (long)h, sx = ((long)dx * distance) % (long)w;
#pragma omp parallel for schedule(static)
            for (size_t y = 0; y < h; y++) {
                const size_t from_y = (size_t)(((long)y - sy + (long)h) % (long)h);
                for (size_t x = 0; x < w; x++)
                    out[(y * w + x) * channels + c + (size_t)k] =
                        unit[from_y * w + (size_t)(((long)x - sx + (long)w) % (long)w)];
            }
            k++;
        }
}

/* The official higher-order derivatives: the rank gradient (max - min over the disk) applied ten
 * times to the bytes, orders 4, 6, 8 and 10 kept. */
static int derivatives(const uint8_t *grey, size_t w, size_t h, int radius, float *out, size_t channels, size_t c) {
    uint8_t *a = malloc(w * h), *b = malloc(w * h);
    int failed = a == NULL || b == NULL;
    const uint8_t *from = grey;
    for (int order = 1; order <= 10 && !failed; order++) {
        uint8_t *to = order % 2 ? a : b;
        failed = dfi_rank_bytes(from, w, h, radius, DFI_RANK_GRADIENT, 0, to) != 0;
        if (order >= 4 && order % 2 == 0)
            for (size_t i = 0; i < w * h; i++) out[i * channels + c + (size_t)(order / 2 - 2)] = to[i];
        from = to;
    }
    free(a), free(b);
    return failed ? -1 : 0;
}

static df_status compute(const classical_plan *p, const classical_source *src, size_t w, size_t h, float *out) {
    const uint8_t *grey = src->bytes;
    const size_t n = w * h, channels = plan_channels(p), scales = (size_t)p->scales;
    double *wide = malloc(6 * n * sizeof *wide);
    /* the image in [0, 1], 1 pass scratch, 5 Hessian and 7 structure tensor planes, the Gaussians */
    float *planes = malloc((14 + scales) * n * sizeof *planes);
    if (wide == NULL || planes == NULL) {
        free(wide), free(planes);
        return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory for a %zu x %zu image", w, h);
    }
    float *unit = planes, *scratch = planes + n, *hessian = planes + 2 * n, *structure = planes + 7 * n,
          *blurred = planes + 14 * n;
    /* img_as_float32: the samples times float32(1 / 255) or float32(1 / 65535) */
    const float scale = (float)(src->words ? 1.0 / 65535.0 : 1.0 / 255.0);
    for (size_t i = 0; i < n; i++) unit[i] = (float)sample_at(src, i) * scale;
    size_t c = p->zero_scale ? scale_zero(p, src, out, channels, wide, w, h) : 0;
    int failed = 0;
    for (size_t s = 0; s < scales && !failed; s++) {
        float *g = blurred + s * n;
        failed = gaussian(unit, g, scratch, w, h, 0.4 * p->sigmas[s]) != 0;
        if (has(p, GAUSSIAN))
            for (size_t i = 0; i < n; i++) out[i * channels + c] = g[i];
        c += has(p, GAUSSIAN);
        if (has(p, SOBEL)) {
            for (size_t i = 0; i < n; i++) wide[i] = g[i];
            sobel(wide, out, channels, c++, w, h);
        }
        if (has(p, HESSIAN)) hessian_float(g, out, channels, c, hessian, w, h), c += 5;
        const int radius = (int)ceil(p->sigmas[s]);
        for (int k = 0; k < 4 && !failed; k++)
            if (has(p, MEAN + k)) failed = dfi_rank_filter(grey, w, h, radius, (dfi_rank_kind)k, out, channels, c++) != 0;
        if (has(p, ENTROPY) && !failed) failed = dfi_rank_entropy(grey, w, h, radius, out, channels, c) != 0, c += 3;
        if (has(p, STRUCTURE) && !failed)
            failed = structure_eigenvalues(unit, p->sigmas[s], out, channels, c, structure, w, h) != 0, c += 2;
        if (has(p, NEIGHBOURS)) neighbours(unit, (int)p->sigmas[s], out, channels, c, w, h), c += 8;
        if (has(p, DERIVATIVES) && !failed) failed = derivatives(grey, w, h, radius, out, channels, c) != 0, c += 4;
    }
    for (size_t i = 0; has(p, DOG) && i < scales && !failed; i++)
        for (size_t j = 0; j < i; j++) {
            const float *gi = blurred + i * n, *gj = blurred + j * n;
#pragma omp parallel for schedule(static)
            for (size_t q = 0; q < n; q++) out[q * channels + c] = gj[q] - gi[q];
            c++;
        }
    if (!failed && has(p, MEMBRANE))
        failed = dfi_membrane_projections(unit, w, h, p->membrane_size, p->membrane_thickness, out, channels, c) != 0;
    c += 6u * has(p, MEMBRANE);
    /* the official bilateral: spatial radius 5 and 10, each with value ranges 50 and 100 */
    for (int k = 0; has(p, BILATERAL) && k < 4 && !failed; k++)
        failed = dfi_rank_filter_ranged(grey, w, h, k < 2 ? 5 : 10, k % 2 ? 100 : 50, out, channels, c++) != 0;
    free(wide), free(planes);
    return failed ? dfi_error(DF_E_OUT_OF_MEMORY, "out of memory") : DF_OK;
}

static df_status check_and_compute(const classical_source *src, size_t width, size_t height,
                                   const df_options *options, float *out) {
    if (out == NULL) return dfi_error(DF_E_INVALID_ARG, "out is NULL");
    classical_plan plan;
    const df_status status = make_plan(options, &plan);
    if (status != DF_OK) return status;
    /* np.gradient, which the Hessians use, needs two samples along each axis */
    if (width < 2 || height < 2)
        return dfi_error(DF_E_INVALID_ARG, "the image is %zu x %zu: the classical features need at least 2 x 2", width,
                         height);
    size_t n;
    if (dfi_mul_size(width, height, &n) != 0 || n > SIZE_MAX / 16 / sizeof(double) / (plan_channels(&plan) + 16))
        return dfi_error(DF_E_LIMIT, "image too large");
    return compute(&plan, src, width, height, out);
}

df_status df_classical_compute(const uint8_t *grey, size_t width, size_t height, const df_options *options,
                               float *out) {
    DFI_CHECK_NOT_NULL(grey);
    const classical_source src = {.bytes = grey};
    DFI_RETURN(check_and_compute(&src, width, height, options, out));
}

df_status df_classical_features(const uint8_t *grey, size_t width, size_t height, float *out) {
    DFI_CHECK_NOT_NULL(grey);
    const classical_source src = {.bytes = grey};
    DFI_RETURN(check_and_compute(&src, width, height, NULL, out));
}

/* The features of a grey image of 8 or 16 bits (16: the rank filters see the high bytes). */
static df_status compute_grey(const df_image *grey, const df_options *options, float *out) {
    const size_t w = df_image_width(grey), h = df_image_height(grey);
    if (df_image_bit_depth(grey) == 8) {
        const classical_source src = {.bytes = df_image_pixels((df_image *)grey)};
        return check_and_compute(&src, w, h, options, out);
    }
    const uint16_t *words = df_image_pixels((df_image *)grey);
    uint8_t *bytes = malloc(w * h + 1);
    if (bytes == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory for a %zu x %zu image", w, h);
    for (size_t i = 0; i < w * h; i++) bytes[i] = (uint8_t)(words[i] >> 8);
    const classical_source src = {.bytes = bytes, .words = words};
    const df_status status = check_and_compute(&src, w, h, options, out);
    free(bytes);
    return status;
}

df_status df_classical_compute_image(const df_image *image, const df_options *options, float *out) {
    DFI_CHECK_NOT_NULL(image);
    df_image *grey = NULL;
    df_status status = df_image_channels(image) == 1 ? DF_OK : df_image_convert(image, 1, &grey);
    if (status == DF_OK) status = compute_grey(grey ? grey : image, options, out);
    df_image_free(grey);
    DFI_RETURN(status);
}

df_status df_classical_channels(const df_options *options, size_t *channels) {
    DFI_CHECK_NOT_NULL(channels);
    classical_plan plan;
    const df_status status = make_plan(options, &plan);
    if (status != DF_OK) DFI_RETURN(status);
    *channels = plan_channels(&plan);
    return DF_OK;
}

df_status df_classical_channel_label(const df_options *options, size_t index, char *name, size_t size) {
    DFI_CHECK_NOT_NULL(name);
    DFI_CHECK_ARG(size > 0, "size is 0");
    classical_plan plan;
    const df_status status = make_plan(options, &plan);
    if (status != DF_OK) DFI_RETURN(status);
    if (index >= plan_channels(&plan))
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "channel %zu: these settings give %zu", index, plan_channels(&plan)));
    channel_label(&plan, index, name, size);
    return DF_OK;
}

static const char *const channel_names[DF_CLASSICAL_CHANNELS] = {
    "raw", "sobel_0", "hessian_module_0", "hessian_trace_0", "hessian_determinant_0",
    "hessian_eigenvalue_1_0", "hessian_eigenvalue_2_0", "gaussian_1", "sobel_1", "hessian_module_1",
    "hessian_trace_1", "hessian_determinant_1", "hessian_eigenvalue_1_1", "hessian_eigenvalue_2_1",
    "gaussian_2", "sobel_2", "hessian_module_2", "hessian_trace_2", "hessian_determinant_2",
    "hessian_eigenvalue_1_2", "hessian_eigenvalue_2_2", "gaussian_4", "sobel_4", "hessian_module_4",
    "hessian_trace_4", "hessian_determinant_4", "hessian_eigenvalue_1_4", "hessian_eigenvalue_2_4",
    "gaussian_8", "sobel_8", "hessian_module_8", "hessian_trace_8", "hessian_determinant_8",
    "hessian_eigenvalue_1_8", "hessian_eigenvalue_2_8", "gaussian_16", "sobel_16", "hessian_module_16",
    "hessian_trace_16", "hessian_determinant_16", "hessian_eigenvalue_1_16", "hessian_eigenvalue_2_16",
    "dog_1_2", "dog_1_4", "dog_2_4", "dog_1_8", "dog_2_8", "dog_4_8", "dog_1_16", "dog_2_16", "dog_4_16",
    "dog_8_16", "membrane_mean", "membrane_max", "membrane_min", "membrane_sum", "membrane_std",
    "membrane_median"};

const char *df_classical_channel_name(size_t index) {
    return index < DF_CLASSICAL_CHANNELS ? channel_names[index] : NULL;
}
