/* .npy files and visualisations for the dinofeat command. */
#include "output.h"
#include "cli.h"
#include "draw.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_write_npy(const char *path, const float *values, size_t ndim, const int64_t *shape) {
    char header[256];
    int length = snprintf(header, sizeof header, "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    size_t count = 1;
    for (size_t i = 0; i < ndim; i++) {
        length += snprintf(header + length, sizeof header - (size_t)length, "%lld,%s", (long long)shape[i],
                           i + 1 < ndim ? " " : "");
        count *= (size_t)shape[i];
    }
    length += snprintf(header + length, sizeof header - (size_t)length, "), }");
    /* The format pads the header with spaces and a newline so the data starts 64-byte aligned. */
    size_t total = 10 + (size_t)length + 1, padded = (total + 63) / 64 * 64;
    cli_output out;
    FILE *file = cli_output_open(path, &out);
    if (file == NULL) return -1;
    unsigned char preamble[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0, 0};
    size_t header_length = padded - 10;
    preamble[8] = (unsigned char)(header_length & 0xFF);
    preamble[9] = (unsigned char)(header_length >> 8);
    fwrite(preamble, 1, 10, file);
    fwrite(header, 1, (size_t)length, file);
    for (size_t i = total; i < padded; i++) fputc(' ', file);
    fputc('\n', file);
    fwrite(values, sizeof *values, count, file); /* a failed write sets the error flag commit checks */
    return cli_output_commit(&out);
}

/* The top eigenvector of the centred data's covariance, orthogonal to the previous ones, by
 * power iteration on X^T X v: O(n d) per step, no d x d matrix. */
static void principal_component(const float *x, size_t n, size_t d, const double *previous, size_t count,
                                double *v) {
    double *xv = malloc(n * sizeof *xv), *next = malloc(d * sizeof *next);
    for (size_t j = 0; j < d; j++) v[j] = 1.0 / sqrt((double)d) * (1.0 + 0.01 * (double)(j % 7));
    for (int iteration = 0; iteration < 200; iteration++) {
        for (size_t c = 0; c < count; c++) { /* deflate */
            double dot = 0;
            for (size_t j = 0; j < d; j++) dot += v[j] * previous[c * d + j];
            for (size_t j = 0; j < d; j++) v[j] -= dot * previous[c * d + j];
        }
        for (size_t i = 0; i < n; i++) {
            double s = 0;
            for (size_t j = 0; j < d; j++) s += x[i * d + j] * v[j];
            xv[i] = s;
        }
        memset(next, 0, d * sizeof *next);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < d; j++) next[j] += x[i * d + j] * xv[i];
        double norm = 0;
        for (size_t j = 0; j < d; j++) norm += next[j] * next[j];
        norm = sqrt(norm);
        if (norm == 0) break;
        double change = 0;
        for (size_t j = 0; j < d; j++) {
            double value = next[j] / norm;
            change += fabs(value - v[j]);
            v[j] = value;
        }
        if (change < 1e-9) break;
    }
    free(xv);
    free(next);
}

static void enlarge(const unsigned char *small, size_t width, size_t height, size_t channels, df_image *image) {
    size_t out_width = df_image_width(image), out_height = df_image_height(image);
    unsigned char *pixels = df_image_pixels(image);
    for (size_t y = 0; y < out_height; y++)
        for (size_t x = 0; x < out_width; x++) {
            size_t sx = x * width / out_width, sy = y * height / out_height;
            memcpy(pixels + (y * out_width + x) * channels, small + (sy * width + sx) * channels, channels);
        }
}

df_status cli_pca_image(const float *features, size_t width, size_t height, size_t d, size_t out_width,
                        size_t out_height, df_image **out) {
    size_t n = width * height;
    float *centred = malloc(n * d * sizeof *centred);
    double *components = calloc(3 * d, sizeof *components), *mean = calloc(d, sizeof *mean);
    unsigned char *small = malloc(n * 3);
    double *projection = malloc(n * 3 * sizeof *projection);
    df_status status = DF_E_OUT_OF_MEMORY;
    if (centred && components && mean && small && projection) {
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < d; j++) mean[j] += features[i * d + j] / (double)n;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < d; j++) centred[i * d + j] = (float)(features[i * d + j] - mean[j]);
        /* Components from at most 20000 evenly spread samples: full-resolution maps have hundreds
         * of thousands of pixels, and the basis does not need them all. */
        size_t step = n > 20000 ? (n + 19999) / 20000 : 1, samples = (n + step - 1) / step;
        float *subset = step == 1 ? centred : malloc(samples * d * sizeof *subset);
        if (subset != centred && subset != NULL)
            for (size_t i = 0; i < samples; i++) memcpy(subset + i * d, centred + i * step * d, d * sizeof *subset);
        for (size_t c = 0; subset && c < 3 && c < d; c++)
            principal_component(subset, samples, d, components, c, components + c * d);
        if (subset != centred) free(subset);
        for (size_t c = 0; c < 3; c++) {
            double low = INFINITY, high = -INFINITY;
            for (size_t i = 0; i < n; i++) {
                double s = 0;
                for (size_t j = 0; j < d; j++) s += centred[i * d + j] * components[c * d + j];
                projection[i * 3 + c] = s;
                low = fmin(low, s);
                high = fmax(high, s);
            }
            for (size_t i = 0; i < n; i++)
                small[i * 3 + c] = (unsigned char)(high > low ? 255.0 * (projection[i * 3 + c] - low) / (high - low) + 0.5 : 0);
        }
        status = df_image_new(out_width, out_height, 3, 8, out);
        if (status == DF_OK) enlarge(small, width, height, 3, *out);
    }
    free(centred);
    free(components);
    free(mean);
    free(small);
    free(projection);
    return status;
}

/* A ramp from dark blue through teal and yellow-green to yellow, close to viridis. */
static void ramp(double t, unsigned char *rgb) {
    static const double stops[5][3] = {{68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
    double at = fmin(fmax(t, 0.0), 1.0) * 4.0;
    int i = (int)at < 4 ? (int)at : 3;
    double f = at - i;
    for (int c = 0; c < 3; c++) rgb[c] = (unsigned char)(stops[i][c] + f * (stops[i + 1][c] - stops[i][c]) + 0.5);
}

df_status cli_heat_image(const float *values, size_t width, size_t height, size_t out_width, size_t out_height,
                         df_image **out) {
    size_t n = width * height;
    unsigned char *small = malloc(n * 3);
    if (small == NULL) return DF_E_OUT_OF_MEMORY;
    float low = INFINITY, high = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        low = fminf(low, values[i]);
        high = fmaxf(high, values[i]);
    }
    for (size_t i = 0; i < n; i++) ramp(high > low ? (values[i] - low) / (high - low) : 0.0, small + 3 * i);
    df_status status = df_image_new(out_width, out_height, 3, 8, out);
    if (status == DF_OK) enlarge(small, width, height, 3, *out);
    free(small);
    return status;
}

float *cli_host_copy(const df_tensor *tensor) {
    size_t count = (size_t)df_tensor_numel(tensor);
    float *values = malloc((count ? count : 1) * sizeof *values);
    if (values && df_tensor_copy_to_host(tensor, values, count) != DF_OK) {
        free(values);
        values = NULL;
    }
    return values;
}
