/* The 58 classical (Trainable Weka style) channels of specs/hrdv2.md section 4, in C with OpenMP.
 * Filters follow scipy.ndimage's definitions, so a numpy/scipy reference can be written plainly:
 * borders 'reflect' (d c b a | a b c d), Gaussians truncated at 4 standard deviations, Sobel as
 * scipy.ndimage.sobel (unnormalised [1 2 1] x [-1 0 1]), second derivatives as central differences
 * [-1/2 0 1/2] applied twice. */
#include "../internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SCALES 5
#define MEMBRANE_ANGLES 30
#define MEMBRANE_SIZE 19

static const double sigmas[SCALES] = {1, 2, 4, 8, 16};

/* 'reflect' border: index i of a line of n samples, for any i. */
static size_t reflect(long i, size_t n) {
    const long period = 2 * (long)n;
    long m = i % period;
    if (m < 0) m += period;
    return (size_t)(m < (long)n ? m : period - 1 - m);
}

/* out = in correlated with weights (2 * radius + 1 taps, centred) along x (axis 1) or y (axis 0),
 * as scipy.ndimage.correlate1d. out must differ from in. Planes are double: the Hessians of the
 * widest Gaussians are differences of nearly equal values, which float32 would leave at 1e-4. */
static int correlate1d(const double *in, double *out, size_t w, size_t h, const double *weights, int radius,
                       int axis) {
    int failed = 0;
    if (axis == 0) {
#pragma omp parallel for schedule(static)
        for (size_t y = 0; y < h; y++) {
            double *o = out + y * w;
            for (size_t x = 0; x < w; x++) o[x] = 0;
            for (int t = -radius; t <= radius; t++) {
                const double *row = in + reflect((long)y + t, h) * w, wt = weights[t + radius];
                for (size_t x = 0; x < w; x++) o[x] += wt * row[x];
            }
        }
        return 0;
    }
#pragma omp parallel
    {
        double *padded = malloc((w + 2 * (size_t)radius) * sizeof *padded);
        if (padded == NULL) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static)
        for (size_t y = 0; y < h; y++) {
            if (padded == NULL) continue;
            const double *row = in + y * w;
            for (long x = -radius; x < (long)w + radius; x++) padded[x + radius] = row[reflect(x, w)];
            double *o = out + y * w;
            for (size_t x = 0; x < w; x++) {
                double sum = 0;
                for (int t = 0; t <= 2 * radius; t++) sum += weights[t] * padded[x + (size_t)t];
                o[x] = sum;
            }
        }
        free(padded);
    }
    return failed ? -1 : 0;
}

/* scipy.ndimage.gaussian_filter(in, sd, mode='reflect', truncate=4.0). */
static int gaussian(const double *in, double *out, double *scratch, size_t w, size_t h, double sd) {
    const int radius = (int)(4.0 * sd + 0.5);
    double *weights = malloc((size_t)(2 * radius + 1) * sizeof *weights);
    if (weights == NULL) return -1;
    double total = 0;
    for (int t = -radius; t <= radius; t++) total += exp(-0.5 * t * t / (sd * sd));
    for (int t = -radius; t <= radius; t++) weights[t + radius] = exp(-0.5 * t * t / (sd * sd)) / total;
    int failed = correlate1d(in, scratch, w, h, weights, radius, 0) || correlate1d(scratch, out, w, h, weights, radius, 1);
    free(weights);
    return failed ? -1 : 0;
}

/* Writes plane (w x h) into channel c of the (h, w, 58) output. */
static void put(float *out, size_t c, const double *plane, size_t n) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) out[i * DF_CLASSICAL_CHANNELS + c] = (float)plane[i];
}

/* Sobel magnitude and the five Hessian channels of f into channels c .. c + 5; t: 4 scratch planes. */
static int edges_and_hessian(const double *f, float *out, size_t c, double *t, size_t w, size_t h) {
    const size_t n = w * h;
    static const double derivative[3] = {-1, 0, 1}, smooth[3] = {1, 2, 1}, central[3] = {-0.5, 0, 0.5};
    double *a = t, *b = t + n, *d = t + 2 * n, *s = t + 3 * n;
    /* Sobel along x: the derivative in x, smoothing in y; and the other way round */
    if (correlate1d(f, s, w, h, derivative, 1, 1) || correlate1d(s, a, w, h, smooth, 1, 0) ||
        correlate1d(f, s, w, h, derivative, 1, 0) || correlate1d(s, b, w, h, smooth, 1, 1))
        return -1;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) out[i * DF_CLASSICAL_CHANNELS + c] = (float)sqrt(a[i] * a[i] + b[i] * b[i]);
    if (correlate1d(f, s, w, h, central, 1, 1) || /* dx */
        correlate1d(s, d, w, h, central, 1, 1) || /* Hxx */
        correlate1d(s, b, w, h, central, 1, 0) || /* Hyx */
        correlate1d(f, s, w, h, central, 1, 0) || /* dy */
        correlate1d(s, a, w, h, central, 1, 0))   /* Hyy */
        return -1;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        const double yy = a[i], yx = b[i], xx = d[i], root = sqrt(4 * yx * yx + (yy - xx) * (yy - xx));
        float *o = out + i * DF_CLASSICAL_CHANNELS + c + 1;
        o[0] = (float)sqrt(yy * yy + yx * yx + xx * xx);
        o[1] = (float)(yy + xx);
        o[2] = (float)(yy * xx - yx * yx);
        o[3] = (float)((yy + xx + root) / 2);
        o[4] = (float)((yy + xx - root) / 2);
    }
    return 0;
}

/* The taps of the membrane kernel rotated by angle degrees: a 19 x 19 kernel whose centre column
 * is ones, sampled bilinearly (zero outside) at the rotated position of each tap. */
typedef struct taps {
    int count;
    int dy[MEMBRANE_SIZE * MEMBRANE_SIZE], dx[MEMBRANE_SIZE * MEMBRANE_SIZE];
    float weight[MEMBRANE_SIZE * MEMBRANE_SIZE];
} taps;

static double base_kernel(long r, long col) {
    return r >= 0 && r < MEMBRANE_SIZE && col == MEMBRANE_SIZE / 2 ? 1.0 : 0.0;
}

static void membrane_taps(double degrees, taps *t) {
    const double angle = degrees * M_PI / 180.0, c = cos(angle), s = sin(angle), centre = MEMBRANE_SIZE / 2;
    t->count = 0;
    for (int r = 0; r < MEMBRANE_SIZE; r++)
        for (int col = 0; col < MEMBRANE_SIZE; col++) {
            const double y = r - centre, x = col - centre;
            const double sr = c * y + s * x + centre, sc = -s * y + c * x + centre;
            const double r0 = floor(sr), c0 = floor(sc), fr = sr - r0, fc = sc - c0;
            const double v = (1 - fr) * (1 - fc) * base_kernel((long)r0, (long)c0) +
                             (1 - fr) * fc * base_kernel((long)r0, (long)c0 + 1) +
                             fr * (1 - fc) * base_kernel((long)r0 + 1, (long)c0) +
                             fr * fc * base_kernel((long)r0 + 1, (long)c0 + 1);
            if (v > 1e-12) {
                t->dy[t->count] = r - (int)centre, t->dx[t->count] = col - (int)centre;
                t->weight[t->count++] = (float)v;
            }
        }
}

/* Mean, max, min, sum, population standard deviation and median of the 30 responses v. */
static void projection_statistics(float *v, float *o) {
    double sum = 0, squares = 0;
    for (int k = 0; k < MEMBRANE_ANGLES; k++) sum += v[k];
    const double mean = sum / MEMBRANE_ANGLES;
    for (int k = 0; k < MEMBRANE_ANGLES; k++) squares += (v[k] - mean) * (v[k] - mean);
    for (int k = 1; k < MEMBRANE_ANGLES; k++) { /* insertion sort: 30 values */
        float key = v[k];
        int j = k - 1;
        while (j >= 0 && v[j] > key) v[j + 1] = v[j], j--;
        v[j + 1] = key;
    }
    o[0] = (float)mean;
    o[1] = v[MEMBRANE_ANGLES - 1];
    o[2] = v[0];
    o[3] = (float)sum;
    o[4] = (float)sqrt(squares / MEMBRANE_ANGLES);
    o[5] = (v[MEMBRANE_ANGLES / 2 - 1] + v[MEMBRANE_ANGLES / 2]) / 2;
}

/* Convolution with the 30 rotated kernels (all are symmetric through the centre, so convolution
 * is correlation), row by row over a reflect-padded copy, then the statistics per pixel. */
static int membrane_projections(const double *f, float *out, size_t c, size_t w, size_t h) {
    const size_t pad = MEMBRANE_SIZE / 2, pw = w + 2 * pad;
    taps *kernels = malloc(MEMBRANE_ANGLES * sizeof *kernels);
    float *padded = malloc(pw * (h + 2 * pad) * sizeof *padded);
    int failed = kernels == NULL || padded == NULL;
    for (int k = 0; !failed && k < MEMBRANE_ANGLES; k++) membrane_taps(6.0 * k, &kernels[k]);
    for (size_t y = 0; !failed && y < h + 2 * pad; y++)
        for (size_t x = 0; x < pw; x++)
            padded[y * pw + x] = (float)f[reflect((long)y - (long)pad, h) * w + reflect((long)x - (long)pad, w)];
#pragma omp parallel if (!failed)
    {
        float *responses = malloc(MEMBRANE_ANGLES * w * sizeof *responses);
        if (responses == NULL) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static)
        for (size_t y = 0; y < h; y++) {
            if (responses == NULL) continue;
            for (int k = 0; k < MEMBRANE_ANGLES; k++) {
                float *r = responses + (size_t)k * w;
                for (size_t x = 0; x < w; x++) r[x] = 0;
                for (int i = 0; i < kernels[k].count; i++) {
                    const float wt = kernels[k].weight[i];
                    const float *row = padded + (y + pad + (size_t)(long)kernels[k].dy[i]) * pw + pad +
                                       (size_t)(long)kernels[k].dx[i];
                    for (size_t x = 0; x < w; x++) r[x] += wt * row[x];
                }
            }
            for (size_t x = 0; x < w; x++) {
                float v[MEMBRANE_ANGLES];
                for (int k = 0; k < MEMBRANE_ANGLES; k++) v[k] = responses[(size_t)k * w + x];
                projection_statistics(v, out + (y * w + x) * DF_CLASSICAL_CHANNELS + c);
            }
        }
        free(responses);
    }
    free(kernels);
    free(padded);
    return failed ? -1 : 0;
}

static df_status compute(const uint8_t *grey, size_t w, size_t h, float *out) {
    const size_t n = w * h;
    /* raw, float image, 5 blurred, 4 scratch */
    double *planes = malloc(11 * n * sizeof *planes);
    if (planes == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory for a %zu x %zu image", w, h);
    double *raw = planes, *f = planes + n, *blurred = planes + 2 * n, *scratch = planes + 7 * n;
    for (size_t i = 0; i < n; i++) raw[i] = grey[i], f[i] = grey[i] / 255.0;
    size_t c = 0;
    put(out, c++, raw, n);
    int failed = edges_and_hessian(raw, out, c, scratch, w, h);
    c += 6;
    for (int s = 0; s < SCALES && !failed; s++) {
        double *g = blurred + (size_t)s * n;
        failed = gaussian(f, g, scratch, w, h, 0.4 * sigmas[s]) != 0;
        put(out, c++, g, n);
        failed = failed || edges_and_hessian(g, out, c, scratch, w, h);
        c += 6;
    }
    for (int i = 0; i < SCALES && !failed; i++)
        for (int j = 0; j < i; j++) {
            const double *gi = blurred + (size_t)i * n, *gj = blurred + (size_t)j * n;
#pragma omp parallel for schedule(static)
            for (size_t p = 0; p < n; p++) out[p * DF_CLASSICAL_CHANNELS + c] = (float)(gj[p] - gi[p]);
            c++;
        }
    if (!failed) failed = membrane_projections(f, out, c, w, h) != 0;
    free(planes);
    return failed ? dfi_error(DF_E_OUT_OF_MEMORY, "out of memory") : DF_OK;
}

df_status df_classical_features(const uint8_t *grey, size_t width, size_t height, float *out) {
    DFI_CHECK_NOT_NULL(grey);
    DFI_CHECK_NOT_NULL(out);
    DFI_CHECK_ARG(width > 0 && height > 0, "the image is empty");
    size_t n;
    if (dfi_mul_size(width, height, &n) != 0 || n > SIZE_MAX / 11 / sizeof(double) / DF_CLASSICAL_CHANNELS)
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
