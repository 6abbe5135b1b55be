/* Dense CRF mean-field inference (specs/crf.md), densecrf's algorithm with the pixel's own term
 * removed from every message, as the paper's message passing (sum over j != i) has it. */
#include "lattice.h"

#include "../internal.h"
#include "dinofeat/crf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One Gaussian kernel: its features, its filter and its normalisation. */
typedef struct kernel {
    float compat;
    int dim;
    size_t n;
    float *features; /* n x dim, divided by the standard deviations (exact filter) */
    dfi_lattice *lattice; /* (lattice filter) */
    float *self;     /* n: the lattice's weight of each pixel to itself, subtracted */
    float *norm;     /* n: per-pixel factor applied before and after filtering */
} kernel;

static void kernel_free(kernel *k) {
    free(k->features);
    dfi_lattice_free(k->lattice);
    free(k->self);
    free(k->norm);
}

/* out_i = sum_{j != i} exp(-|f_i - f_j|^2 / 2) in_j, plainly. */
static void filter_exact(const kernel *k, const float *in, float *out, size_t channels) {
    const size_t n = k->n;
    const int dim = k->dim;
#pragma omp parallel for schedule(dynamic, 16)
    for (size_t i = 0; i < n; i++) {
        float *o = out + i * channels;
        for (size_t c = 0; c < channels; c++) o[c] = 0.0f;
        const float *fi = k->features + i * dim;
        for (size_t j = 0; j < n; j++) {
            if (j == i) continue;
            const float *fj = k->features + j * dim;
            float d2 = 0.0f;
            for (int a = 0; a < dim; a++) d2 += (fi[a] - fj[a]) * (fi[a] - fj[a]);
            const float w = expf(-0.5f * d2);
            for (size_t c = 0; c < channels; c++) o[c] += w * in[j * channels + c];
        }
    }
}

/* out = K in with the diagonal of K left out; in and out must differ. */
static df_status filter(const kernel *k, const float *in, float *out, size_t channels) {
    if (k->lattice == NULL) {
        filter_exact(k, in, out, channels);
        return DF_OK;
    }
    df_status status = dfi_lattice_filter(k->lattice, in, out, channels);
    if (status != DF_OK) return status;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < k->n; i++)
        for (size_t c = 0; c < channels; c++) out[i * channels + c] -= k->self[i] * in[i * channels + c];
    return DF_OK;
}

static df_status kernel_init(kernel *k, const uint8_t *rgb, size_t width, size_t height, double sxy, double srgb,
                             int bilateral, int exact, int symmetric) {
    k->n = width * height;
    k->dim = bilateral ? 5 : 2;
    k->features = malloc(k->n * (size_t)k->dim * sizeof *k->features);
    k->norm = malloc(k->n * sizeof *k->norm);
    float *ones = malloc(k->n * sizeof *ones);
    if (k->features == NULL || k->norm == NULL || ones == NULL) {
        free(ones);
        return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    }
    for (size_t y = 0; y < height; y++)
        for (size_t x = 0; x < width; x++) {
            size_t i = y * width + x;
            float *f = k->features + i * k->dim;
            f[0] = (float)((double)x / sxy);
            f[1] = (float)((double)y / sxy);
            for (int c = 0; bilateral && c < 3; c++) f[2 + c] = (float)(rgb[i * 3 + c] / srgb);
        }
    df_status status = DF_OK;
    if (!exact) {
        status = dfi_lattice_new(k->features, k->n, k->dim, &k->lattice);
        if (status == DF_OK) {
            k->self = malloc(k->n * sizeof *k->self);
            status = k->self == NULL ? dfi_error(DF_E_OUT_OF_MEMORY, "out of memory")
                                     : dfi_lattice_self_weights(k->lattice, k->self);
        }
    }
    /* The degrees include the pixel itself (K_ii = 1), as pydensecrf's NORMALIZE_SYMMETRIC has
     * them: without it an isolated pixel's degree is ~0 and the lattice's rounding, divided by
     * it, swamps the message. */
    for (size_t i = 0; i < k->n; i++) ones[i] = 1.0f;
    if (status == DF_OK && symmetric) {
        if (exact) {
            status = filter(k, ones, k->norm, 1);
            for (size_t i = 0; i < k->n; i++) k->norm[i] += 1.0f;
        } else {
            status = dfi_lattice_filter(k->lattice, ones, k->norm, 1);
        }
    }
    if (status == DF_OK && symmetric)
        for (size_t i = 0; i < k->n; i++) k->norm[i] = 1.0f / sqrtf(k->norm[i] + 1e-20f);
    if (status == DF_OK && !symmetric) {
        /* The lattice's kernel is about c K, with c (0.4 to 0.9, by dimension and density) the
         * mean weight it gives a point to itself where K_ii = 1: undo c, so an unnormalised
         * kernel keeps the scale the compatibilities were chosen for. */
        double mean_self = 0;
        for (size_t i = 0; !exact && i < k->n; i++) mean_self += k->self[i];
        float scale = exact || mean_self <= 0 ? 1.0f : (float)sqrt((double)k->n / mean_self);
        for (size_t i = 0; i < k->n; i++) k->norm[i] = scale;
    }
    free(ones);
    return status;
}

/* q = softmax(-energy) per pixel. */
static void softmax_negative(const float *energy, float *q, size_t n, size_t labels) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        const float *e = energy + i * labels;
        float *p = q + i * labels, lowest = e[0], total = 0.0f;
        for (size_t l = 1; l < labels; l++) lowest = fminf(lowest, e[l]);
        for (size_t l = 0; l < labels; l++) total += p[l] = expf(lowest - e[l]);
        for (size_t l = 0; l < labels; l++) p[l] /= total;
    }
}

static df_status read_unary(const float *unary, size_t count, df_crf_unary kind, double floor_p, float *out) {
    for (size_t i = 0; i < count; i++) {
        float u = unary[i];
        if (!isfinite(u)) return dfi_error(DF_E_INVALID_ARG, "unary value %zu is not finite", i);
        if (kind == DF_CRF_PROBABILITIES) {
            if (u < 0.0f || u > 1.0f) return dfi_error(DF_E_INVALID_ARG, "probability %zu is outside [0, 1]", i);
            u = (float)-log(fmax((double)u, floor_p));
        }
        out[i] = u;
    }
    return DF_OK;
}

/* One mean-field step: energy = unary - sum_k compat_k norm_k (K_k (norm_k q)); q = softmax(-energy). */
static df_status mean_field_step(const kernel *kernels, int count, const float *unary, float *q, float *energy,
                                 float *scaled, float *message, size_t n, size_t labels) {
    memcpy(energy, unary, n * labels * sizeof *energy);
    for (int k = 0; k < count; k++) {
        const kernel *kn = &kernels[k];
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++)
            for (size_t l = 0; l < labels; l++) scaled[i * labels + l] = kn->norm[i] * q[i * labels + l];
        df_status status = filter(kn, scaled, message, labels);
        if (status != DF_OK) return status;
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++)
            for (size_t l = 0; l < labels; l++)
                energy[i * labels + l] -= kn->compat * kn->norm[i] * message[i * labels + l];
    }
    softmax_negative(energy, q, n, labels);
    return DF_OK;
}

static void argmax_labels(const float *q, size_t n, size_t labels, int32_t *label_map) {
    for (size_t i = 0; i < n; i++) {
        size_t best = 0;
        for (size_t l = 1; l < labels; l++)
            if (q[i * labels + l] > q[i * labels + best]) best = l;
        label_map[i] = (int32_t)best;
    }
}

static df_status run_crf(const uint8_t *rgb, size_t width, size_t height, const float *unary, size_t labels,
                         df_crf_unary kind, const df_options *options, float *probabilities, int32_t *label_map) {
    const size_t n = width * height;
    size_t cells;
    if (dfi_mul_size(n, labels, &cells) != 0 || cells > SIZE_MAX / 4 / sizeof(float))
        return dfi_error(DF_E_LIMIT, "image too large");
    const int exact = dfi_option_int(options, DF_PARAM_CRF_FILTER) == DF_CRF_FILTER_EXACT;
    const int symmetric = dfi_option_int(options, DF_PARAM_CRF_NORMALIZATION) == DF_CRF_NORM_SYMMETRIC;
    kernel kernels[2];
    memset(kernels, 0, sizeof kernels);
    int count = 0;
    float *buffer = malloc(4 * cells * sizeof *buffer);
    if (buffer == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory for %zu x %zu x %zu CRF", width, height, labels);
    float *u = buffer, *q = buffer + cells, *energy = buffer + 2 * cells, *scaled = buffer + 3 * cells;
    df_status status = read_unary(unary, cells, kind, dfi_option_float(options, DF_PARAM_CRF_PROB_FLOOR), u);
    const double gaussian_compat = dfi_option_float(options, DF_PARAM_CRF_GAUSSIAN_COMPAT);
    const double bilateral_compat = dfi_option_float(options, DF_PARAM_CRF_BILATERAL_COMPAT);
    if (status == DF_OK && gaussian_compat > 0) {
        kernels[count].compat = (float)gaussian_compat;
        status = kernel_init(&kernels[count++], rgb, width, height,
                             dfi_option_float(options, DF_PARAM_CRF_GAUSSIAN_SXY), 1.0, 0, exact, symmetric);
    }
    if (status == DF_OK && bilateral_compat > 0) {
        kernels[count].compat = (float)bilateral_compat;
        status = kernel_init(&kernels[count++], rgb, width, height,
                             dfi_option_float(options, DF_PARAM_CRF_BILATERAL_SXY),
                             dfi_option_float(options, DF_PARAM_CRF_BILATERAL_SRGB), 1, exact, symmetric);
    }
    if (status == DF_OK) softmax_negative(u, q, n, labels);
    /* The message buffer doubles as the output's when the caller wants probabilities. */
    float *message = probabilities, *own_message = NULL;
    if (status == DF_OK && message == NULL && count > 0) {
        own_message = malloc(cells * sizeof *own_message);
        if (own_message == NULL) status = dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
        message = own_message;
    }
    const int64_t iterations = count > 0 ? dfi_option_int(options, DF_PARAM_CRF_ITERATIONS) : 0;
    for (int64_t it = 0; it < iterations && status == DF_OK; it++)
        status = mean_field_step(kernels, count, u, q, energy, scaled, message, n, labels);
    if (status == DF_OK && probabilities != NULL) memcpy(probabilities, q, cells * sizeof *q);
    if (status == DF_OK && label_map != NULL) argmax_labels(q, n, labels, label_map);
    for (int k = 0; k < count; k++) kernel_free(&kernels[k]);
    free(own_message);
    free(buffer);
    return status;
}

df_status df_crf_infer(const uint8_t *rgb, size_t width, size_t height, const float *unary, size_t labels,
                       df_crf_unary kind, const df_options *options, float *probabilities, int32_t *label_map) {
    DFI_CHECK_NOT_NULL(rgb);
    DFI_CHECK_NOT_NULL(unary);
    DFI_CHECK_ARG(width > 0 && height > 0, "the image is empty");
    DFI_CHECK_ARG(labels > 0, "labels must be at least 1");
    DFI_CHECK_ARG(kind == DF_CRF_PROBABILITIES || kind == DF_CRF_ENERGIES, "kind is not a df_crf_unary");
    if (width > SIZE_MAX / height) DFI_RETURN(dfi_error(DF_E_LIMIT, "image too large"));
    DFI_RETURN(run_crf(rgb, width, height, unary, labels, kind, options, probabilities, label_map));
}

df_status df_crf_preset_apply(df_options *options, df_crf_preset preset) {
    DFI_CHECK_NOT_NULL(options);
    DFI_CHECK_ARG(preset == DF_CRF_PRESET_HRDV2 || preset == DF_CRF_PRESET_STEGO, "preset is not a df_crf_preset");
    static const double values[2][5] = {{3, 10, 80, 13, 10}, {1, 3, 67, 3, 4}};
    static const df_param keys[5] = {DF_PARAM_CRF_GAUSSIAN_SXY, DF_PARAM_CRF_GAUSSIAN_COMPAT,
                                     DF_PARAM_CRF_BILATERAL_SXY, DF_PARAM_CRF_BILATERAL_SRGB,
                                     DF_PARAM_CRF_BILATERAL_COMPAT};
    for (int i = 0; i < 5; i++) {
        df_status status = df_options_set_float(options, keys[i], values[preset][i]);
        if (status != DF_OK) DFI_RETURN(status);
    }
    DFI_RETURN(df_options_set_int(options, DF_PARAM_CRF_ITERATIONS, 10));
}
