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

Suite *weak_suite(void) {
    Suite *s = suite_create("weak");
    TCase *tc = tcase_create("classical");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_classical_equals_scipy);
    tcase_add_test(tc, test_classical_names_and_errors);
    suite_add_tcase(s, tc);
    return s;
}
