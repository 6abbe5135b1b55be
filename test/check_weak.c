/* The classical feature stack against numpy/scipy (test/reference/make_classical_fixtures.py). */
#include "check_common.h"

#include <math.h>
#include <stdlib.h>

#define CLASSICAL_DIR "fixtures/classical/"

START_TEST(test_classical_equals_scipy) {
    const size_t w = 80, h = 64, n = w * h;
    size_t size;
    uint8_t *grey = read_fixture_from(CLASSICAL_DIR, "grey.u8", &size);
    ck_assert_uint_eq(size, n);
    float *expected = (float *)read_fixture_from(CLASSICAL_DIR, "features.f32", &size);
    ck_assert_uint_eq(size, n * DF_CLASSICAL_CHANNELS * sizeof(float));
    float *got = malloc(n * DF_CLASSICAL_CHANNELS * sizeof *got);
    ck_assert_ok(df_classical_features(grey, w, h, got));
    /* channel by channel, relative to the channel's largest magnitude, borders included */
    for (size_t c = 0; c < DF_CLASSICAL_CHANNELS; c++) {
        double scale = 0, worst = 0;
        for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(expected[i * DF_CLASSICAL_CHANNELS + c]));
        for (size_t i = 0; i < n; i++)
            worst = fmax(worst, fabs(got[i * DF_CLASSICAL_CHANNELS + c] - expected[i * DF_CLASSICAL_CHANNELS + c]));
        ck_assert_msg(worst <= 1e-4 * fmax(scale, 1e-12), "channel %zu (%s): max difference %g, largest value %g", c,
                      df_classical_channel_name(c), worst, scale);
    }
    free(grey);
    free(expected);
    free(got);
}
END_TEST

START_TEST(test_classical_names_and_errors) {
    ck_assert_str_eq(df_classical_channel_name(0), "raw");
    ck_assert_str_eq(df_classical_channel_name(7), "gaussian_1");
    ck_assert_str_eq(df_classical_channel_name(42), "dog_1_2");
    ck_assert_str_eq(df_classical_channel_name(57), "membrane_median");
    ck_assert_ptr_null(df_classical_channel_name(58));
    uint8_t grey[4] = {1, 2, 3, 4};
    float out[4 * DF_CLASSICAL_CHANNELS];
    ck_assert_fails_with(df_classical_features(NULL, 2, 2, out), DF_E_INVALID_ARG, "df_classical_features");
    ck_assert_fails_with(df_classical_features(grey, 2, 2, NULL), DF_E_INVALID_ARG, "df_classical_features");
    ck_assert_fails_with(df_classical_features(grey, 0, 2, out), DF_E_INVALID_ARG, "df_classical_features");
    ck_assert_fails_with(df_classical_features(grey, SIZE_MAX / 2, 4, out), DF_E_LIMIT, "df_classical_features");
    /* a 1 x 1 image: every filter reflects onto the one pixel */
    ck_assert_ok(df_classical_features(grey, 1, 1, out));
    ck_assert_float_eq(out[0], 1.0f);
    ck_assert_float_eq(out[1], 0.0f);
}
END_TEST

#define FOREST_DIR "fixtures/forest/"

static void *forest_file(const char *name, size_t expected) {
    size_t size;
    void *data = read_fixture_from(FOREST_DIR, name, &size);
    ck_assert_ptr_nonnull(data);
    ck_assert_uint_eq(size, expected);
    return data;
}

static double forest_accuracy(const df_forest *forest, const float *x, const int32_t *y, size_t n, size_t classes) {
    float *p = malloc(n * classes * sizeof *p);
    ck_assert_ok(df_forest_predict(forest, x, n, p));
    size_t right = 0;
    for (size_t i = 0; i < n; i++) {
        size_t best = 0;
        for (size_t c = 1; c < classes; c++)
            if (p[i * classes + c] > p[i * classes + best]) best = c;
        right += (int32_t)best == y[i];
        double total = 0;
        for (size_t c = 0; c < classes; c++) total += p[i * classes + c];
        ck_assert_double_eq_tol(total, 1.0, 1e-5);
    }
    free(p);
    return (double)right / (double)n;
}

START_TEST(test_forest_matches_sklearn_accuracy) {
    FILE *m = fopen(FOREST_DIR "manifest.txt", "r");
    ck_assert_ptr_nonnull(m);
    int features, classes, train, test;
    double sklearn;
    ck_assert_int_eq(fscanf(m, "forest %d %d %d %d %lf", &features, &classes, &train, &test, &sklearn), 5);
    fclose(m);
    float *train_x = forest_file("train_x.raw", (size_t)train * features * 4), *test_x = forest_file("test_x.raw", (size_t)test * features * 4);
    int32_t *train_y = forest_file("train_y.raw", (size_t)train * 4), *test_y = forest_file("test_y.raw", (size_t)test * 4);
    df_forest *forest, *again;
    ck_assert_ok(df_forest_train(train_x, train_y, (size_t)train, (size_t)features, (size_t)classes, NULL, &forest));
    double ours = forest_accuracy(forest, test_x, test_y, (size_t)test, (size_t)classes);
    fprintf(stderr, "random forest: held-out accuracy %.4f, scikit-learn %.4f\n", ours, sklearn);
    ck_assert_msg(ours >= sklearn - 0.02, "accuracy %.4f, scikit-learn %.4f", ours, sklearn);
    /* fully grown trees fit the training set (ties aside) */
    ck_assert_double_ge(forest_accuracy(forest, train_x, train_y, (size_t)train, (size_t)classes), 0.97);
    /* the same seed gives the same forest whatever the thread count */
    int threads = df_get_num_threads();
    ck_assert_ok(df_set_num_threads(1));
    ck_assert_ok(df_forest_train(train_x, train_y, (size_t)train, (size_t)features, (size_t)classes, NULL, &again));
    ck_assert_ok(df_set_num_threads(threads));
    float *p = malloc((size_t)test * classes * 4), *q = malloc((size_t)test * classes * 4);
    ck_assert_ok(df_forest_predict(forest, test_x, (size_t)test, p));
    ck_assert_ok(df_forest_predict(again, test_x, (size_t)test, q));
    ck_assert_mem_eq(p, q, (size_t)test * classes * 4);
    free(p), free(q), free(train_x), free(test_x), free(train_y), free(test_y);
    df_forest_free(forest);
    df_forest_free(again);
}
END_TEST

START_TEST(test_forest_options_and_errors) {
    const float x[8] = {0, 0, 1, 1, 0, 1, 1, 0};
    const int32_t y[4] = {0, 1, 1, 0};
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_FOREST_TREES, 5));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_FOREST_MAX_DEPTH, 1));
    df_forest *forest = NULL;
    ck_assert_ok(df_forest_train(x, y, 4, 2, 2, o, &forest));
    float p[8];
    ck_assert_ok(df_forest_predict(forest, x, 4, p));
    df_forest_free(forest);
    const int32_t bad[4] = {0, 1, 2, 0};
    ck_assert_fails_with(df_forest_train(x, bad, 4, 2, 2, o, &forest), DF_E_INVALID_ARG, "df_forest_train");
    ck_assert_ptr_null(forest);
    const float nan_x[8] = {0, NAN, 1, 1, 0, 1, 1, 0};
    ck_assert_fails_with(df_forest_train(nan_x, y, 4, 2, 2, o, &forest), DF_E_INVALID_ARG, "df_forest_train");
    ck_assert_fails_with(df_forest_train(x, y, 0, 2, 2, o, &forest), DF_E_INVALID_ARG, "df_forest_train");
    ck_assert_fails_with(df_forest_predict(NULL, x, 4, p), DF_E_INVALID_ARG, "df_forest_predict");
    df_forest_free(NULL);
    df_options_free(o);
}
END_TEST

Suite *weak_suite(void) {
    Suite *s = suite_create("weak");
    TCase *tc = tcase_create("classical");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_classical_equals_scipy);
    tcase_add_test(tc, test_classical_names_and_errors);
    tcase_add_test(tc, test_forest_matches_sklearn_accuracy);
    tcase_add_test(tc, test_forest_options_and_errors);
    suite_add_tcase(s, tc);
    return s;
}
