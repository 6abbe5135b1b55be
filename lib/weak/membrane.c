/* Membrane projections: a line kernel at 30 angles, rotated with scipy.ndimage.rotate's semantics
 * (order-3 B-spline interpolation of mirror-extended coefficients, zero outside the input) and
 * rounded to 0 / 1, each convolved with the image; then six statistics of the 30 responses. */
#include "membrane.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The pole of the cubic B-spline's inverse filter: sqrt(3) - 2. */
#define POLE (-0.267949192431122706472553658494127633)

/* cos and sin of an angle in degrees, exact at the multiples of 90 (as scipy.special.cosdg). */
static void cos_sin_degrees(double degrees, double *c, double *s) {
    double reduced = fmod(degrees, 360.0);
    if (reduced < 0) reduced += 360.0;
    if (reduced == 0) *c = 1, *s = 0;
    else if (reduced == 90) *c = 0, *s = 1;
    else if (reduced == 180) *c = -1, *s = 0;
    else if (reduced == 270) *c = 0, *s = -1;
    else *c = cos(reduced * M_PI / 180.0), *s = sin(reduced * M_PI / 180.0);
}

/* Index i of a line of n samples mirrored about its end samples (c b | a b c d | c b). */
static int mirror(int i, int n) {
    if (n == 1) return 0;
    const int period = 2 * n - 2;
    i = abs(i) % period;
    return i < n ? i : period - i;
}

/* In place: the cubic B-spline coefficients of n samples at stride step whose interpolant passes
 * through them, the samples extended by mirroring (Unser's recursive filter, one causal and one
 * anticausal pass, both started from the mirrored sequence's exact sums). */
static void spline_coefficients(double *c, int n, int step) {
    if (n < 2) return;
    const double z = POLE, gain = (1 - z) * (1 - 1 / z);
    for (int i = 0; i < n; i++) c[i * step] *= gain;
    const double z_last = pow(z, n - 1);
    double first = c[0] + z_last * c[(n - 1) * step], zi = z;
    for (int i = 1; i < n - 1; i++) {
        first += zi * (c[i * step] + z_last * c[(n - 1 - i) * step]);
        zi *= z;
    }
    c[0] = first / (1 - z_last * z_last);
    for (int i = 1; i < n; i++) c[i * step] += z * c[(i - 1) * step];
    c[(n - 1) * step] = (z * c[(n - 2) * step] + c[(n - 1) * step]) * z / (z * z - 1);
    for (int i = n - 2; i >= 0; i--) c[i * step] = z * (c[(i + 1) * step] - c[i * step]);
}

/* The four cubic B-spline weights of the samples floor(x) - 1 .. floor(x) + 2 at x. */
static void spline_weights(double x, double w[4]) {
    const double y = x - floor(x), z = 1 - y;
    w[1] = (y * y * (y - 2) * 3 + 4) / 6;
    w[2] = (z * z * (z - 2) * 3 + 4) / 6;
    w[0] = z * z * z / 6;
    w[3] = 1 - w[0] - w[1] - w[2];
}

int dfi_membrane_kernel(int size, int thickness, double degrees, unsigned char *taps, int *rows, int *cols) {
    double *coefficients = calloc((size_t)size * (size_t)size, sizeof *coefficients);
    if (coefficients == NULL) return -1;
    const int first = size / 2 - thickness / 2, last = size / 2 + thickness / 2;
    for (int r = 0; r < size; r++)
        for (int k = first; k <= last; k++) coefficients[r * size + k] = 1;
    for (int k = 0; k < size; k++) spline_coefficients(coefficients + k, size, size); /* along y */
    for (int r = 0; r < size; r++) spline_coefficients(coefficients + r * size, size, 1); /* along x */
    double c, s;
    cos_sin_degrees(degrees, &c, &s);
    /* the rotated square's bounding box, and the offset that maps output centre to input centre */
    const double ys[4] = {0, s * size, c * size, c * size + s * size},
                 xs[4] = {0, c * size, -s * size, -s * size + c * size};
    double y_low = ys[0], y_high = ys[0], x_low = xs[0], x_high = xs[0];
    for (int i = 1; i < 4; i++) {
        y_low = fmin(y_low, ys[i]), y_high = fmax(y_high, ys[i]);
        x_low = fmin(x_low, xs[i]), x_high = fmax(x_high, xs[i]);
    }
    *rows = (int)(y_high - y_low + 0.5), *cols = (int)(x_high - x_low + 0.5);
    const double half_rows = (*rows - 1) / 2.0, half_cols = (*cols - 1) / 2.0, centre = (size - 1) / 2.0;
    const double offset_y = centre - (c * half_rows + s * half_cols), offset_x = centre - (-s * half_rows + c * half_cols);
    for (int oy = 0; oy < *rows; oy++)
        for (int ox = 0; ox < *cols; ox++) {
            const double y = c * oy + s * ox + offset_y, x = -s * oy + c * ox + offset_x;
            double value = 0;
            if (y >= 0 && y <= size - 1 && x >= 0 && x <= size - 1) {
                double wy[4], wx[4];
                spline_weights(y, wy), spline_weights(x, wx);
                const int y0 = (int)floor(y) - 1, x0 = (int)floor(x) - 1;
                for (int a = 0; a < 4; a++) {
                    const double *row = coefficients + mirror(y0 + a, size) * size;
                    double line = 0;
                    for (int b = 0; b < 4; b++) line += wx[b] * row[mirror(x0 + b, size)];
                    value += wy[a] * line;
                }
            }
            taps[oy * *cols + ox] = rint(value) != 0;
        }
    free(coefficients);
    return 0;
}

/* One kernel as the offsets (dy, dx) of its ones relative to the pixel: convolution puts tap
 * (r, k) of a rows x cols kernel at the input pixel (y - r + rows / 2, x - k + cols / 2). */
typedef struct offsets {
    int count;
    int *dy, *dx;
} offsets;

static int kernel_offsets(int size, int thickness, double degrees, offsets *o) {
    const size_t most = 4 * (size_t)size * (size_t)size;
    unsigned char *taps = malloc(most);
    o->dy = malloc(most * sizeof *o->dy), o->dx = malloc(most * sizeof *o->dx), o->count = 0;
    int rows, cols, failed = taps == NULL || o->dy == NULL || o->dx == NULL;
    if (!failed) failed = dfi_membrane_kernel(size, thickness, degrees, taps, &rows, &cols) != 0;
    for (int r = 0; !failed && r < rows; r++)
        for (int k = 0; k < cols; k++)
            if (taps[r * cols + k]) o->dy[o->count] = rows / 2 - r, o->dx[o->count++] = cols / 2 - k;
    free(taps);
    return failed ? -1 : 0;
}

static int ascending(const void *a, const void *b) {
    const float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* numpy's float32 statistics over the 30 responses (sums in order, each step rounded to float32):
 * mean, max, min, sum, std (population), median. */
static void statistics(float *v, float *o) {
    float sum = v[0];
    for (int k = 1; k < DFI_MEMBRANE_ANGLES; k++) sum += v[k];
    const float mean = sum / (float)DFI_MEMBRANE_ANGLES;
    float squares = (v[0] - mean) * (v[0] - mean);
    for (int k = 1; k < DFI_MEMBRANE_ANGLES; k++) squares += (v[k] - mean) * (v[k] - mean);
    qsort(v, DFI_MEMBRANE_ANGLES, sizeof *v, ascending);
    o[0] = mean;
    o[1] = v[DFI_MEMBRANE_ANGLES - 1];
    o[2] = v[0];
    o[3] = sum;
    o[4] = sqrtf(squares / (float)DFI_MEMBRANE_ANGLES);
    o[5] = (v[DFI_MEMBRANE_ANGLES / 2 - 1] + v[DFI_MEMBRANE_ANGLES / 2]) / 2.0f;
}

size_t dfi_reflect_index(long i, size_t n) {
    const long period = 2 * (long)n;
    long m = i % period;
    if (m < 0) m += period;
    return (size_t)(m < (long)n ? m : period - 1 - m);
}

int dfi_membrane_projections(const float *unit, size_t w, size_t h, int size, int thickness, float *out,
                             size_t channels, size_t c) {
    offsets kernels[DFI_MEMBRANE_ANGLES];
    memset(kernels, 0, sizeof kernels);
    /* a rotated kernel is at most size * sqrt(2) + 1 wide: pad by size on every side */
    const size_t pad = (size_t)size, pw = w + 2 * pad, ph = h + 2 * pad;
    float *padded = malloc(pw * ph * sizeof *padded);
    int failed = padded == NULL;
    for (int k = 0; !failed && k < DFI_MEMBRANE_ANGLES; k++)
        failed = kernel_offsets(size, thickness, 6.0 * k, &kernels[k]) != 0;
    for (size_t y = 0; !failed && y < ph; y++)
        for (size_t x = 0; x < pw; x++)
            padded[y * pw + x] = unit[dfi_reflect_index((long)y - (long)pad, h) * w + dfi_reflect_index((long)x - (long)pad, w)];
#pragma omp parallel if (!failed)
    {
        double *sums = malloc(w * sizeof *sums);
        float *responses = malloc(DFI_MEMBRANE_ANGLES * w * sizeof *responses);
        if (sums == NULL || responses == NULL) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(static)
        for (size_t y = 0; y < h; y++) {
            if (sums == NULL || responses == NULL || failed) continue;
            for (int k = 0; k < DFI_MEMBRANE_ANGLES; k++) {
                /* the float32 pixels of a kernel sum exactly in double: one rounding, as scipy's */
                for (size_t x = 0; x < w; x++) sums[x] = 0;
                for (int t = 0; t < kernels[k].count; t++) {
                    const float *row = padded + (size_t)((long)(y + pad) + kernels[k].dy[t]) * pw +
                                       (size_t)((long)pad + kernels[k].dx[t]);
                    for (size_t x = 0; x < w; x++) sums[x] += row[x];
                }
                for (size_t x = 0; x < w; x++) responses[(size_t)k * w + x] = (float)sums[x];
            }
            for (size_t x = 0; x < w; x++) {
                float v[DFI_MEMBRANE_ANGLES];
                for (int k = 0; k < DFI_MEMBRANE_ANGLES; k++) v[k] = responses[(size_t)k * w + x];
                statistics(v, out + (y * w + x) * channels + c);
            }
        }
        free(sums), free(responses);
    }
    for (int k = 0; k < DFI_MEMBRANE_ANGLES; k++) free(kernels[k].dy), free(kernels[k].dx);
    free(padded);
    return failed ? -1 : 0;
}
