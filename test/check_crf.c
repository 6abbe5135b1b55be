/* Dense CRF against the exact numpy mean-field (test/reference/make_crf_fixtures.py), the default
 * lattice filter against its numpy reference (lattice_reference.py), and the lattice against the
 * exact filter. */
#include "check_common.h"

#include <math.h>
#include <stdlib.h>

#define CRF_DIR "fixtures/crf/"

/* How far the lattice's answer is from the exact filter's: the approximation itself, not an error
 * of ours (the lattice is held to its own reference at float precision below), measured on the
 * four fixtures (test_lattice_close_to_exact prints it): mean |dQ| 0.0001 (HR-Dv2 preset) to
 * 0.013 (STEGO preset: srgb 3 against colour noise of std 12 leaves pixels nearly isolated in 5-D,
 * where the lattice is coarsest), max |dQ| 0.02 to 0.34, argmax labels equal on 99.0% to 100% of
 * pixels. */
#define LATTICE_MAX_Q_ERROR 0.4
#define LATTICE_MEAN_Q_ERROR 0.02
#define LATTICE_MIN_LABEL_AGREEMENT 0.985

typedef struct crf_case {
    char name[32];
    int w, h, labels, kind, iterations, normalization;
    double gsxy, gcompat, bsxy, bsrgb, bcompat;
    uint8_t *rgb;
    float *unary;
    double *q;
} crf_case;

static int read_cases(crf_case *cases, int max) {
    FILE *m = fopen(CRF_DIR "manifest.txt", "r");
    ck_assert_ptr_nonnull(m);
    char line[512], rgb[64], unary[64], q[64];
    int count = 0;
    while (count < max && fgets(line, sizeof line, m)) {
        crf_case *c = &cases[count];
        if (sscanf(line, "crf %31s %d %d %d %d %d %lf %lf %lf %lf %lf %d %63s %63s %63s", c->name, &c->w, &c->h,
                   &c->labels, &c->kind, &c->iterations, &c->gsxy, &c->gcompat, &c->bsxy, &c->bsrgb, &c->bcompat,
                   &c->normalization, rgb, unary, q) != 15)
            continue;
        size_t size;
        c->rgb = read_fixture_from(CRF_DIR, rgb, &size);
        ck_assert_uint_eq(size, (size_t)c->w * c->h * 3);
        c->unary = (float *)read_fixture_from(CRF_DIR, unary, &size);
        ck_assert_uint_eq(size, (size_t)c->w * c->h * c->labels * sizeof(float));
        c->q = (double *)read_fixture_from(CRF_DIR, q, &size);
        ck_assert_uint_eq(size, (size_t)c->w * c->h * c->labels * sizeof(double));
        count++;
    }
    fclose(m);
    ck_assert_int_ge(count, 4);
    return count;
}

static void free_cases(crf_case *cases, int count) {
    for (int i = 0; i < count; i++) free(cases[i].rgb), free(cases[i].unary), free(cases[i].q);
}

static df_options *case_options(const crf_case *c, df_crf_filter filter) {
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_CRF_ITERATIONS, c->iterations));
    ck_assert_ok(df_options_set_float(o, DF_PARAM_CRF_GAUSSIAN_SXY, c->gsxy));
    ck_assert_ok(df_options_set_float(o, DF_PARAM_CRF_GAUSSIAN_COMPAT, c->gcompat));
    ck_assert_ok(df_options_set_float(o, DF_PARAM_CRF_BILATERAL_SXY, c->bsxy));
    ck_assert_ok(df_options_set_float(o, DF_PARAM_CRF_BILATERAL_SRGB, c->bsrgb));
    ck_assert_ok(df_options_set_float(o, DF_PARAM_CRF_BILATERAL_COMPAT, c->bcompat));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_CRF_NORMALIZATION, c->normalization));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_CRF_FILTER, filter));
    return o;
}

/* Runs a case; returns the max |Q - reference|, sets the mean |Q - reference| and the fraction of
 * equal argmax labels. */
static double run_case(const crf_case *c, df_crf_filter filter, double *mean, double *agreement) {
    size_t n = (size_t)c->w * c->h, cells = n * c->labels;
    float *q = malloc(cells * sizeof *q);
    int32_t *labels = malloc(n * sizeof *labels);
    df_options *o = case_options(c, filter);
    ck_assert_ok(df_crf_infer(c->rgb, c->w, c->h, c->unary, c->labels, c->kind, o, q, labels));
    double worst = 0, total = 0;
    size_t same = 0;
    for (size_t i = 0; i < n; i++) {
        int best = 0;
        for (int l = 0; l < c->labels; l++) {
            double error = fabs(q[i * c->labels + l] - c->q[i * c->labels + l]);
            worst = fmax(worst, error);
            total += error;
            if (c->q[i * c->labels + l] > c->q[i * c->labels + best]) best = l;
        }
        same += labels[i] == best;
    }
    *agreement = (double)same / (double)n;
    *mean = total / (double)cells;
    df_options_free(o);
    free(q);
    free(labels);
    return worst;
}

START_TEST(test_exact_equals_numpy) {
    crf_case cases[8];
    int count = read_cases(cases, 8);
    for (int i = 0; i < count; i++) {
        double mean, agreement, worst = run_case(&cases[i], DF_CRF_FILTER_EXACT, &mean, &agreement);
        ck_assert_msg(worst < 2e-5, "%s: exact filter differs from numpy by %g", cases[i].name, worst);
        ck_assert_double_eq(agreement, 1.0);
    }
    free_cases(cases, count);
}
END_TEST

/* The default filter, the permutohedral lattice, against the same lattice written as matrices in
 * numpy (test/reference/lattice_reference.py, float64 after a float32 embedding): within 2e-5,
 * float32 rounding over the iterations' sums, as the exact filter is held to its reference. */
START_TEST(test_default_lattice_equals_numpy_lattice) {
    df_options *defaults;
    ck_assert_ok(df_options_new(&defaults));
    int64_t filter;
    ck_assert_ok(df_options_get_int(defaults, DF_PARAM_CRF_FILTER, &filter));
    ck_assert_int_eq(filter, DF_CRF_FILTER_LATTICE);
    df_options_free(defaults);
    crf_case cases[8];
    int count = read_cases(cases, 8), checked = 0;
    for (int i = 0; i < count; i++) {
        FILE *m = fopen(CRF_DIR "manifest.txt", "r");
        char line[512], name[32], file[64];
        while (fgets(line, sizeof line, m))
            if (sscanf(line, "lattice %31s %63s", name, file) == 2 && strcmp(name, cases[i].name) == 0) {
                size_t size;
                free(cases[i].q);
                cases[i].q = (double *)read_fixture_from(CRF_DIR, file, &size);
                ck_assert_uint_eq(size, (size_t)cases[i].w * cases[i].h * cases[i].labels * sizeof(double));
                double mean, agreement, worst = run_case(&cases[i], DF_CRF_FILTER_LATTICE, &mean, &agreement);
                ck_assert_msg(worst < 2e-5, "%s: the lattice differs from its numpy reference by %g", name, worst);
                checked++;
            }
        fclose(m);
    }
    ck_assert_int_eq(checked, count);
    ck_assert_int_eq(count, 4);
    free_cases(cases, count);
}
END_TEST

START_TEST(test_lattice_close_to_exact) {
    crf_case cases[8];
    int count = read_cases(cases, 8);
    for (int i = 0; i < count; i++) {
        double mean, agreement, worst = run_case(&cases[i], DF_CRF_FILTER_LATTICE, &mean, &agreement);
        fprintf(stderr, "crf lattice %s: |dQ| max %.4f mean %.5f, labels agree %.4f\n", cases[i].name, worst, mean,
                agreement);
        ck_assert_msg(mean < LATTICE_MEAN_Q_ERROR, "%s: lattice differs from exact by %g", cases[i].name, mean);
        ck_assert_msg(worst < LATTICE_MAX_Q_ERROR, "%s: lattice differs from exact by %g", cases[i].name, worst);
        ck_assert_msg(agreement >= LATTICE_MIN_LABEL_AGREEMENT, "%s: labels agree on %g", cases[i].name, agreement);
    }
    free_cases(cases, count);
}
END_TEST

static void random_scene(size_t n, size_t labels, uint8_t *rgb, float *unary, int constant) {
    for (size_t i = 0; i < n * 3; i++) rgb[i] = constant ? 90 : (uint8_t)((i * 7919u + (i / 3) * 31u) % 256u);
    for (size_t i = 0; i < n * labels; i++) unary[i] = (float)((i * 104729u) % 1000u) / 250.0f;
}

START_TEST(test_compat_zero_is_argmin_unary) {
    const size_t w = 13, h = 9, n = w * h, labels = 5;
    uint8_t rgb[13 * 9 * 3];
    float unary[13 * 9 * 5];
    int32_t got[13 * 9];
    random_scene(n, labels, rgb, unary, 0);
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_float(o, DF_PARAM_CRF_GAUSSIAN_COMPAT, 0));
    ck_assert_ok(df_options_set_float(o, DF_PARAM_CRF_BILATERAL_COMPAT, 0));
    for (int filter = 0; filter <= 1; filter++) {
        ck_assert_ok(df_options_set_int(o, DF_PARAM_CRF_FILTER, filter));
        ck_assert_ok(df_crf_infer(rgb, w, h, unary, labels, DF_CRF_ENERGIES, o, NULL, got));
        for (size_t i = 0; i < n; i++) {
            size_t best = 0;
            for (size_t l = 1; l < labels; l++)
                if (unary[i * labels + l] < unary[i * labels + best]) best = l;
            ck_assert_int_eq(got[i], (int32_t)best);
        }
    }
    df_options_free(o);
}
END_TEST

/* With a constant image the appearance kernel is the smoothness kernel with the same sxy. */
START_TEST(test_constant_image_bilateral_equals_gaussian) {
    const size_t w = 20, h = 14, n = w * h, labels = 3;
    uint8_t rgb[20 * 14 * 3];
    float unary[20 * 14 * 3], q_gauss[20 * 14 * 3], q_bilateral[20 * 14 * 3];
    random_scene(n, labels, rgb, unary, 1);
    df_options *g, *b;
    ck_assert_ok(df_options_new(&g));
    ck_assert_ok(df_options_new(&b));
    ck_assert_ok(df_options_set_float(g, DF_PARAM_CRF_BILATERAL_COMPAT, 0));
    ck_assert_ok(df_options_set_float(g, DF_PARAM_CRF_GAUSSIAN_SXY, 4));
    ck_assert_ok(df_options_set_float(b, DF_PARAM_CRF_GAUSSIAN_COMPAT, 0));
    ck_assert_ok(df_options_set_float(b, DF_PARAM_CRF_BILATERAL_SXY, 4));
    for (int filter = 1; filter >= 0; filter--) {
        ck_assert_ok(df_options_set_int(g, DF_PARAM_CRF_FILTER, filter));
        ck_assert_ok(df_options_set_int(b, DF_PARAM_CRF_FILTER, filter));
        ck_assert_ok(df_crf_infer(rgb, w, h, unary, labels, DF_CRF_ENERGIES, g, q_gauss, NULL));
        ck_assert_ok(df_crf_infer(rgb, w, h, unary, labels, DF_CRF_ENERGIES, b, q_bilateral, NULL));
        /* exact: the same sums; lattice: a 2-D and a 5-D lattice, each within its approximation */
        double tolerance = filter == DF_CRF_FILTER_EXACT ? 1e-5 : LATTICE_MAX_Q_ERROR;
        for (size_t i = 0; i < n * labels; i++)
            ck_assert_msg(fabs(q_gauss[i] - q_bilateral[i]) < tolerance, "filter %d, cell %zu: %g vs %g", filter, i,
                          q_gauss[i], q_bilateral[i]);
    }
    df_options_free(g);
    df_options_free(b);
}
END_TEST

/* What the CRF is for: a classifier that is right on 88% of the pixels of a two-colour image,
 * wrong in scattered places, is cleaned by the default CRF (lattice filter, HR-Dv2 preset) to
 * nearly every pixel, the boundary included; with the CRF's messages off (no iterations) nothing
 * changes. The same with the exact filter: the default's gain is the model's, not an artefact. */
START_TEST(test_default_crf_cleans_scattered_errors) {
    enum { W = 48, H = 40, N = W * H };
    static uint8_t rgb[N * 3];
    static float p[N * 2], q[N * 2];
    static int32_t truth[N], labels[N];
    uint64_t state = 12345;
    size_t wrong = 0;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            const int i = y * W + x, right = x > 22 + (int)(5 * sin(y * 0.3));
            truth[i] = right;
            rgb[3 * i] = right ? 40 : 200, rgb[3 * i + 1] = right ? 80 : 60, rgb[3 * i + 2] = right ? 200 : 40;
            state = state * 6364136223846793005ull + 1442695040888963407ull;
            const int flipped = (state >> 33) % 100 < 12;
            wrong += (size_t)flipped;
            p[2 * i + (right ^ flipped)] = 0.7f, p[2 * i + 1 - (right ^ flipped)] = 0.3f;
        }
    ck_assert(wrong > N / 10 && wrong < N / 7);
    for (int filter = 0; filter < 2; filter++) {
        df_options *o;
        ck_assert_ok(df_options_new(&o));
        ck_assert_ok(df_options_set_int(o, DF_PARAM_CRF_FILTER, filter));
        ck_assert_ok(df_crf_infer(rgb, W, H, p, 2, DF_CRF_PROBABILITIES, filter == 0 ? NULL : o, q, labels));
        size_t right = 0;
        for (int i = 0; i < N; i++) right += labels[i] == truth[i];
        fprintf(stderr, "crf %s: %.4f of the pixels right (the classifier %.4f)\n", filter ? "exact" : "lattice",
                (double)right / N, 1.0 - (double)wrong / N);
        ck_assert_msg(right >= N - N / 100, "filter %d: %zu of %d pixels right", filter, right, N);
        ck_assert_ok(df_options_set_int(o, DF_PARAM_CRF_ITERATIONS, 0));
        ck_assert_ok(df_crf_infer(rgb, W, H, p, 2, DF_CRF_PROBABILITIES, o, q, labels));
        right = 0;
        for (int i = 0; i < N; i++) right += labels[i] == truth[i];
        ck_assert_uint_eq(right, N - wrong);
        df_options_free(o);
    }
}
END_TEST

START_TEST(test_label_permutation_invariant) {
    const size_t w = 17, h = 11, n = w * h, labels = 4;
    const size_t perm[4] = {2, 0, 3, 1};
    uint8_t rgb[17 * 11 * 3];
    float unary[17 * 11 * 4], permuted[17 * 11 * 4], q[17 * 11 * 4], qp[17 * 11 * 4];
    random_scene(n, labels, rgb, unary, 0);
    for (size_t i = 0; i < n; i++)
        for (size_t l = 0; l < labels; l++) permuted[i * labels + perm[l]] = unary[i * labels + l];
    ck_assert_ok(df_crf_infer(rgb, w, h, unary, labels, DF_CRF_ENERGIES, NULL, q, NULL));
    ck_assert_ok(df_crf_infer(rgb, w, h, permuted, labels, DF_CRF_ENERGIES, NULL, qp, NULL));
    for (size_t i = 0; i < n; i++)
        for (size_t l = 0; l < labels; l++) ck_assert_float_eq_tol(qp[i * labels + perm[l]], q[i * labels + l], 1e-6);
}
END_TEST

START_TEST(test_zero_iterations_is_softmax_of_probabilities) {
    const size_t w = 3, h = 2, labels = 2;
    uint8_t rgb[3 * 2 * 3] = {0};
    float p[12] = {0.9f, 0.1f, 0.2f, 0.8f, 0.5f, 0.5f, 1.0f, 0.0f, 0.3f, 0.7f, 0.6f, 0.4f}, q[12];
    int32_t got[6];
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_CRF_ITERATIONS, 0));
    ck_assert_ok(df_crf_infer(rgb, w, h, p, labels, DF_CRF_PROBABILITIES, o, q, got));
    /* softmax(log max(p, 1e-5)) renormalises the clamped probabilities */
    ck_assert_float_eq_tol(q[0], 0.9f, 1e-6);
    ck_assert_float_eq_tol(q[6], 1.0f / (1.0f + 1e-5f), 1e-6);
    ck_assert_int_eq(got[0], 0);
    ck_assert_int_eq(got[1], 1);
    ck_assert_int_eq(got[2], 0); /* a tie takes the lower label */
    df_options_free(o);
}
END_TEST

START_TEST(test_presets) {
    df_options *o;
    double value;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_crf_preset_apply(o, DF_CRF_PRESET_STEGO));
    ck_assert_ok(df_options_get_float(o, DF_PARAM_CRF_BILATERAL_SXY, &value));
    ck_assert_double_eq(value, 67);
    ck_assert_ok(df_options_get_float(o, DF_PARAM_CRF_BILATERAL_SRGB, &value));
    ck_assert_double_eq(value, 3);
    ck_assert_ok(df_options_get_float(o, DF_PARAM_CRF_GAUSSIAN_COMPAT, &value));
    ck_assert_double_eq(value, 3);
    ck_assert_ok(df_crf_preset_apply(o, DF_CRF_PRESET_HRDV2));
    ck_assert_ok(df_options_get_float(o, DF_PARAM_CRF_BILATERAL_SRGB, &value));
    ck_assert_double_eq(value, 13);
    ck_assert_fails_with(df_crf_preset_apply(o, (df_crf_preset)7), DF_E_INVALID_ARG, "df_crf_preset_apply");
    ck_assert_fails_with(df_crf_preset_apply(NULL, DF_CRF_PRESET_HRDV2), DF_E_INVALID_ARG, "df_crf_preset_apply");
    df_options_free(o);
}
END_TEST

START_TEST(test_invalid_arguments) {
    uint8_t rgb[12] = {0};
    float unary[8] = {0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f};
    int32_t labels[4];
    ck_assert_fails_with(df_crf_infer(NULL, 2, 2, unary, 2, DF_CRF_ENERGIES, NULL, NULL, labels), DF_E_INVALID_ARG,
                         "df_crf_infer");
    ck_assert_fails_with(df_crf_infer(rgb, 2, 2, NULL, 2, DF_CRF_ENERGIES, NULL, NULL, labels), DF_E_INVALID_ARG,
                         "df_crf_infer");
    ck_assert_fails_with(df_crf_infer(rgb, 0, 2, unary, 2, DF_CRF_ENERGIES, NULL, NULL, labels), DF_E_INVALID_ARG,
                         "df_crf_infer");
    ck_assert_fails_with(df_crf_infer(rgb, 2, 2, unary, 0, DF_CRF_ENERGIES, NULL, NULL, labels), DF_E_INVALID_ARG,
                         "df_crf_infer");
    ck_assert_fails_with(df_crf_infer(rgb, 2, 2, unary, 2, (df_crf_unary)5, NULL, NULL, labels), DF_E_INVALID_ARG,
                         "df_crf_infer");
    unary[3] = NAN;
    ck_assert_fails_with(df_crf_infer(rgb, 2, 2, unary, 2, DF_CRF_ENERGIES, NULL, NULL, labels), DF_E_INVALID_ARG,
                         "df_crf_infer");
    unary[3] = 1.5f;
    ck_assert_ok(df_crf_infer(rgb, 2, 2, unary, 2, DF_CRF_ENERGIES, NULL, NULL, labels));
    ck_assert_fails_with(df_crf_infer(rgb, 2, 2, unary, 2, DF_CRF_PROBABILITIES, NULL, NULL, labels),
                         DF_E_INVALID_ARG, "df_crf_infer");
    ck_assert_fails_with(df_crf_infer(rgb, SIZE_MAX / 2, 4, unary, 2, DF_CRF_ENERGIES, NULL, NULL, labels),
                         DF_E_LIMIT, "df_crf_infer");
}
END_TEST

Suite *crf_suite(void) {
    Suite *s = suite_create("crf");
    TCase *tc = tcase_create("crf");
    tcase_set_timeout(tc, HANG_GUARD_SECONDS);
    tcase_add_test(tc, test_exact_equals_numpy);
    tcase_add_test(tc, test_default_lattice_equals_numpy_lattice);
    tcase_add_test(tc, test_lattice_close_to_exact);
    tcase_add_test(tc, test_compat_zero_is_argmin_unary);
    tcase_add_test(tc, test_constant_image_bilateral_equals_gaussian);
    tcase_add_test(tc, test_label_permutation_invariant);
    tcase_add_test(tc, test_zero_iterations_is_softmax_of_probabilities);
    tcase_add_test(tc, test_default_crf_cleans_scattered_errors);
    tcase_add_test(tc, test_presets);
    tcase_add_test(tc, test_invalid_arguments);
    suite_add_tcase(s, tc);
    return s;
}
