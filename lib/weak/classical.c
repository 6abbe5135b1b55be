/* The 58 classical (Trainable Weka style) channels of specs/hrdv2.md section 4, equal to HR-Dv2's
 * own featuriser (scikit-image and scipy semantics), in C with OpenMP. Each channel is computed in
 * the precision the official code computes it in, because the float32 rounding of a wide Gaussian
 * is what its Hessian differentiates: scale 0 in float64 (the raw bytes, the image in [0, 1] for
 * Sobel), the Gaussians float32 after each pass (scipy writes every pass to the float32 output),
 * their gradients, Hessians, differences and the membrane statistics in float32 as numpy does. */
#include "../internal.h"
#include "membrane.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SCALES 5

static const double sigmas[SCALES] = {1, 2, 4, 8, 16};

/* 'reflect' border (d c b a | a b c d): index i of a line of n samples, for any i. */
static size_t reflect(long i, size_t n) {
    const long period = 2 * (long)n;
    long m = i % period;
    if (m < 0) m += period;
    return (size_t)(m < (long)n ? m : period - 1 - m);
}

/* 'nearest' border (a a a | a b c d): the edge sample repeated. */
static size_t nearest(long i, size_t n) { return i < 0 ? 0 : i >= (long)n ? n - 1 : (size_t)i; }

/* scipy.ndimage.gaussian_filter1d(in, sd, axis, mode='nearest', truncate=4.0) into a float32
 * plane: per output sample the centre tap, then the pairs of symmetric taps from the outermost
 * in, summed in double (scipy's order for a symmetric kernel). axis 0: along y, 1: along x. */
static void gaussian_pass(const float *in, float *out, size_t w, size_t h, const double *weights, int radius, int axis) {
    const size_t lines = axis == 0 ? w : h, length = axis == 0 ? h : w;
    const size_t step = axis == 0 ? w : 1, line_step = axis == 0 ? 1 : w;
#pragma omp parallel for schedule(static)
    for (size_t l = 0; l < lines; l++) {
        const float *line = in + l * line_step;
        float *o = out + l * line_step;
        for (size_t i = 0; i < length; i++) {
            double sum = line[i * step] * weights[0];
            for (int t = radius; t >= 1; t--)
                sum += ((double)line[nearest((long)i - t, length) * step] + line[nearest((long)i + t, length) * step]) *
                       weights[t];
            o[i * step] = (float)sum;
        }
    }
}

/* skimage.filters.gaussian(image, sd, preserve_range=True) of a float32 image: scipy's kernel
 * exp(-x^2 / (2 sd^2)) normalised over radius int(4 sd + 0.5), along y then x. */
static int gaussian(const float *in, float *out, float *scratch, size_t w, size_t h, double sd) {
    const int radius = (int)(4.0 * sd + 0.5);
    double *weights = malloc((size_t)(radius + 1) * sizeof *weights), total = 0;
    if (weights == NULL) return -1;
    for (int t = -radius; t <= radius; t++) total += exp(-0.5 / (sd * sd) * (double)(t * t));
    for (int t = 0; t <= radius; t++) weights[t] = exp(-0.5 / (sd * sd) * (double)(t * t)) / total;
    gaussian_pass(in, scratch, w, h, weights, radius, 0);
    gaussian_pass(scratch, out, w, h, weights, radius, 1);
    free(weights);
    return 0;
}

/* skimage.filters.sobel: [1, 0, -1] across one axis, [1, 2, 1] / 4 along the other, border
 * reflect, magnitude sqrt((Gx^2 + Gy^2) / 2); in double, then into channel c. */
static void sobel(const double *f, float *out, size_t c, size_t w, size_t h) {
#pragma omp parallel for schedule(static)
    for (size_t y = 0; y < h; y++) {
        const size_t up = reflect((long)y - 1, h) * w, down = reflect((long)y + 1, h) * w, row = y * w;
        for (size_t x = 0; x < w; x++) {
            const size_t left = reflect((long)x - 1, w), right = reflect((long)x + 1, w);
            const double gx = ((f[up + right] - f[up + left]) + 2 * (f[row + right] - f[row + left]) +
                               (f[down + right] - f[down + left])) / 4,
                         gy = ((f[down + left] - f[up + left]) + 2 * (f[down + x] - f[up + x]) +
                               (f[down + right] - f[up + right])) / 4;
            out[(row + x) * DF_CLASSICAL_CHANNELS + c] = (float)(sqrt(gx * gx + gy * gy) / sqrt(2.0));
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
    static void name(const type *f, float *out, size_t c, type *t, size_t w, size_t h) {                         \
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
            float *o = out + i * DF_CLASSICAL_CHANNELS + c;                                                      \
            o[0] = (float)root(a[i] * a[i] + bb + d[i] * d[i]);                                                  \
            o[1] = (float)trace;                                                                                 \
            o[2] = (float)(a[i] * d[i] - bb);                                                                    \
            o[3] = (float)((type)(trace + spread) / 2);                                                          \
            o[4] = (float)((type)(trace - spread) / 2);                                                          \
        }                                                                                                        \
    }
DEFINE_HESSIAN(hessian_double, double, gradient_double, sqrt)
DEFINE_HESSIAN(hessian_float, float, gradient_float, sqrtf)

/* Scale 0 as the official zero_scale_filters sees it: the raw bytes; Sobel of the image as
 * skimage converts it ([0, 1], float64); the Hessian of the bytes as np.gradient converts them
 * (float64, 0..255). t: 6 double planes. */
static void scale_zero(const uint8_t *grey, float *out, double *t, size_t w, size_t h) {
    const size_t n = w * h;
    double *raw = t, *unit = t + n;
    for (size_t i = 0; i < n; i++) {
        raw[i] = grey[i], unit[i] = grey[i] * (1.0 / 255.0);
        out[i * DF_CLASSICAL_CHANNELS] = grey[i];
    }
    sobel(unit, out, 1, w, h);
    hessian_double(raw, out, 2, t + n, w, h);
}

static df_status compute(const uint8_t *grey, size_t w, size_t h, float *out) {
    const size_t n = w * h;
    double *wide = malloc(6 * n * sizeof *wide);
    /* the image in [0, 1], 5 Gaussians, 1 pass scratch, 5 Hessian scratch */
    float *planes = malloc(12 * n * sizeof *planes);
    if (wide == NULL || planes == NULL) {
        free(wide), free(planes);
        return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory for a %zu x %zu image", w, h);
    }
    float *unit = planes, *blurred = planes + n, *scratch = planes + 6 * n, *hessian = planes + 7 * n;
    /* img_as_float32: the bytes times float32(1 / 255) */
    const float scale = (float)(1.0 / 255.0);
    for (size_t i = 0; i < n; i++) unit[i] = (float)grey[i] * scale;
    scale_zero(grey, out, wide, w, h);
    size_t c = 7;
    int failed = 0;
    for (int s = 0; s < SCALES && !failed; s++) {
        float *g = blurred + (size_t)s * n;
        failed = gaussian(unit, g, scratch, w, h, 0.4 * sigmas[s]) != 0;
        for (size_t i = 0; i < n; i++) out[i * DF_CLASSICAL_CHANNELS + c] = g[i], wide[i] = g[i];
        sobel(wide, out, c + 1, w, h);
        hessian_float(g, out, c + 2, hessian, w, h);
        c += 7;
    }
    for (int i = 0; i < SCALES && !failed; i++)
        for (int j = 0; j < i; j++) {
            const float *gi = blurred + (size_t)i * n, *gj = blurred + (size_t)j * n;
#pragma omp parallel for schedule(static)
            for (size_t p = 0; p < n; p++) out[p * DF_CLASSICAL_CHANNELS + c] = gj[p] - gi[p];
            c++;
        }
    if (!failed) failed = dfi_membrane_projections(unit, w, h, DFI_MEMBRANE_SIZE, DFI_MEMBRANE_THICKNESS, out,
                                                   DF_CLASSICAL_CHANNELS, c) != 0;
    free(wide), free(planes);
    return failed ? dfi_error(DF_E_OUT_OF_MEMORY, "out of memory") : DF_OK;
}

df_status df_classical_features(const uint8_t *grey, size_t width, size_t height, float *out) {
    DFI_CHECK_NOT_NULL(grey);
    DFI_CHECK_NOT_NULL(out);
    /* np.gradient, which the Hessians use, needs two samples along each axis */
    if (width < 2 || height < 2)
        DFI_RETURN(dfi_error(DF_E_INVALID_ARG, "the image is %zu x %zu: the classical features need at least 2 x 2",
                             width, height));
    size_t n;
    if (dfi_mul_size(width, height, &n) != 0 || n > SIZE_MAX / 12 / sizeof(double) / DF_CLASSICAL_CHANNELS)
        DFI_RETURN(dfi_error(DF_E_LIMIT, "image too large"));
    DFI_RETURN(compute(grey, width, height, out));
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
