/* Versions, status names, error messages, logging, and parameters. */
#include "check_common.h"

#include <pthread.h>
#include <stdlib.h>

START_TEST(test_version_matches_header) {
    ck_assert_uint_eq(df_version_number(), DF_VERSION_NUMBER);
    ck_assert_str_eq(df_version_string(), DF_VERSION_STRING);
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", DF_VERSION_MAJOR, DF_VERSION_MINOR, DF_VERSION_PATCH);
    ck_assert_str_eq(df_version_string(), expected);
}
END_TEST

START_TEST(test_status_names_are_fixed) {
    ck_assert_int_eq(DF_OK, 0);
    ck_assert_int_eq(DF_E_INVALID_ARG, 1);
    ck_assert_int_eq(DF_E_FORMAT, 4);
    ck_assert_int_eq(DF_E_LIMIT, 7);
    ck_assert_int_eq(DF_E_INTERNAL, 8);
    ck_assert_str_eq(df_status_str(DF_OK), "DF_OK");
    ck_assert_str_eq(df_status_str(DF_E_OUT_OF_MEMORY), "DF_E_OUT_OF_MEMORY");
    ck_assert_str_eq(df_status_str(DF_E_IO), "DF_E_IO");
    ck_assert_str_eq(df_status_str(DF_E_UNSUPPORTED), "DF_E_UNSUPPORTED");
    ck_assert_str_eq(df_status_str(DF_E_CANCELLED), "DF_E_CANCELLED");
    ck_assert_str_eq(df_status_str((df_status)12345), "DF_E_UNKNOWN");
}
END_TEST

START_TEST(test_error_message_names_function_and_is_per_thread) {
    ck_assert_fails_with(df_options_new(NULL), DF_E_INVALID_ARG, "df_options_new");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "out"));
}
END_TEST

static void *fail_on_other_thread(void *unused) {
    (void)unused;
    df_options_set_int(NULL, DF_PARAM_IMAGE_MAX_PIXELS, 1);
    return NULL;
}

START_TEST(test_error_message_is_thread_local) {
    ck_assert_int_eq(df_param_from_name("no.such.key", &(df_param){0}), DF_E_UNSUPPORTED);
    char before[256];
    snprintf(before, sizeof before, "%s", df_last_error_message());
    pthread_t thread;
    pthread_create(&thread, NULL, fail_on_other_thread, NULL);
    pthread_join(thread, NULL);
    ck_assert_str_eq(df_last_error_message(), before);
}
END_TEST

typedef struct log_record {
    int calls;
    df_log_level level;
    char message[256];
} log_record;

static void record_log(void *user_data, df_log_level level, const char *message) {
    log_record *record = user_data;
    record->calls++;
    record->level = level;
    snprintf(record->message, sizeof record->message, "%s", message);
}

START_TEST(test_log_callback_receives_warnings) {
    log_record record = {0};
    ck_assert_ok(df_set_log_callback(record_log, &record, DF_LOG_WARNING));
    /* A JPEG with junk between segments decodes with a libjpeg warning, which is logged. */
    size_t size;
    unsigned char *jpeg = read_fixture("baseline.jpg", &size);
    ck_assert_ptr_nonnull(jpeg);
    /* Junk after the first segment (SOI + APP0): libjpeg skips it with a warning. */
    size_t cut = 4 + ((size_t)jpeg[4] << 8 | jpeg[5]);
    unsigned char *junk = malloc(size + 4);
    memcpy(junk, jpeg, cut);
    memcpy(junk + cut, "\x01\x02\x03\x04", 4);
    memcpy(junk + cut + 4, jpeg + cut, size - cut);
    df_image *image = NULL;
    ck_assert_ok(df_image_load_memory(junk, size + 4, NULL, &image));
    ck_assert_int_ge(record.calls, 1);
    ck_assert_int_eq(record.level, DF_LOG_WARNING);
    ck_assert_ptr_nonnull(strstr(record.message, "JPEG"));
    /* Below the threshold nothing arrives; NULL silences. */
    record.calls = 0;
    ck_assert_ok(df_set_log_callback(record_log, &record, DF_LOG_ERROR));
    df_image_free(image);
    ck_assert_ok(df_image_load_memory(junk, size + 4, NULL, &image));
    ck_assert_int_eq(record.calls, 0);
    ck_assert_ok(df_set_log_callback(NULL, NULL, DF_LOG_ERROR));
    df_image_free(image);
    free(junk);
    free(jpeg);
}
END_TEST

START_TEST(test_log_callback_rejects_bad_level) {
    ck_assert_fails_with(df_set_log_callback(record_log, NULL, (df_log_level)9), DF_E_INVALID_ARG,
                         "df_set_log_callback");
}
END_TEST

Suite *core_suite(void) {
    Suite *suite = suite_create("core");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_version_matches_header);
    tcase_add_test(tc, test_status_names_are_fixed);
    tcase_add_test(tc, test_error_message_names_function_and_is_per_thread);
    tcase_add_test(tc, test_error_message_is_thread_local);
    tcase_add_test(tc, test_log_callback_receives_warnings);
    tcase_add_test(tc, test_log_callback_rejects_bad_level);
    suite_add_tcase(suite, tc);
    return suite;
}

/* ---- parameters --------------------------------------------------------------------------- */

START_TEST(test_options_defaults_and_round_trip) {
    df_options *options = NULL;
    ck_assert_ok(df_options_new(&options));
    int64_t value = 0;
    ck_assert_ok(df_options_get_int(options, DF_PARAM_IMAGE_MAX_PIXELS, &value));
    ck_assert_int_eq(value, 268435456);
    ck_assert_ok(df_options_get_int(options, DF_PARAM_IMAGE_APPLY_EXIF, &value));
    ck_assert_int_eq(value, 1);
    ck_assert_ok(df_options_set_int(options, DF_PARAM_IMAGE_MAX_PIXELS, 1000));
    ck_assert_ok(df_options_get_int(options, DF_PARAM_IMAGE_MAX_PIXELS, &value));
    ck_assert_int_eq(value, 1000);
    df_options *copy = NULL;
    ck_assert_ok(df_options_copy(options, &copy));
    ck_assert_ok(df_options_set_int(options, DF_PARAM_IMAGE_MAX_PIXELS, 5));
    ck_assert_ok(df_options_get_int(copy, DF_PARAM_IMAGE_MAX_PIXELS, &value));
    ck_assert_int_eq(value, 1000);
    df_options_free(copy);
    df_options_free(options);
    df_options_free(NULL);
}
END_TEST

START_TEST(test_options_refuse_bad_keys_types_and_values) {
    df_options *options = NULL;
    ck_assert_ok(df_options_new(&options));
    ck_assert_fails_with(df_options_set_int(options, (df_param)4242, 1), DF_E_UNSUPPORTED, "df_options_set_int");
    ck_assert_fails_with(df_options_set_int(options, DF_PARAM_IMAGE_APPLY_EXIF, 2), DF_E_INVALID_ARG, "df_options_set_int");
    ck_assert_fails_with(df_options_set_int(options, DF_PARAM_IMAGE_MAX_PIXELS, 0), DF_E_INVALID_ARG, "df_options_set_int");
    ck_assert_fails_with(df_options_set_int(NULL, DF_PARAM_IMAGE_MAX_PIXELS, 1), DF_E_INVALID_ARG, "df_options_set_int");
    int64_t value = 7;
    ck_assert_ok(df_options_get_int(options, DF_PARAM_IMAGE_APPLY_EXIF, &value));
    ck_assert_int_eq(value, 1); /* the refused set changed nothing */
    ck_assert_fails_with(df_options_get_int(options, (df_param)4242, &value), DF_E_UNSUPPORTED, "df_options_get_int");
    ck_assert_fails_with(df_options_get_int(options, DF_PARAM_IMAGE_APPLY_EXIF, NULL), DF_E_INVALID_ARG, "df_options_get_int");
    ck_assert_fails_with(df_options_get_int(NULL, DF_PARAM_IMAGE_APPLY_EXIF, &value), DF_E_INVALID_ARG, "df_options_get_int");
    double number;
    ck_assert_fails_with(df_options_set_float(options, DF_PARAM_IMAGE_MAX_PIXELS, 1.0), DF_E_INVALID_ARG, "df_options_set_float");
    ck_assert_fails_with(df_options_get_float(options, DF_PARAM_IMAGE_MAX_PIXELS, &number), DF_E_INVALID_ARG, "df_options_get_float");
    ck_assert_fails_with(df_options_set_float(NULL, DF_PARAM_IMAGE_MAX_PIXELS, 1.0), DF_E_INVALID_ARG, "df_options_set_float");
    ck_assert_fails_with(df_options_get_float(options, (df_param)4242, &number), DF_E_UNSUPPORTED, "df_options_get_float");
    const char *text;
    ck_assert_fails_with(df_options_set_str(options, DF_PARAM_IMAGE_MAX_PIXELS, "x"), DF_E_INVALID_ARG, "df_options_set_str");
    ck_assert_fails_with(df_options_set_str(options, DF_PARAM_IMAGE_MAX_PIXELS, NULL), DF_E_INVALID_ARG, "df_options_set_str");
    ck_assert_fails_with(df_options_get_str(options, DF_PARAM_IMAGE_MAX_PIXELS, &text), DF_E_INVALID_ARG, "df_options_get_str");
    ck_assert_fails_with(df_options_get_str(options, (df_param)4242, &text), DF_E_UNSUPPORTED, "df_options_get_str");
    df_options *copy = options;
    ck_assert_fails_with(df_options_copy(NULL, &copy), DF_E_INVALID_ARG, "df_options_copy");
    ck_assert_ptr_null(copy); /* *out is NULL on failure */
    df_options_free(options);
}
END_TEST

START_TEST(test_param_metadata) {
    df_param_type type;
    ck_assert_ok(df_param_type_of(DF_PARAM_IMAGE_MAX_PIXELS, &type));
    ck_assert_int_eq(type, DF_PARAM_TYPE_INT);
    double lower, upper;
    ck_assert_ok(df_param_bounds(DF_PARAM_IMAGE_APPLY_EXIF, &lower, &upper));
    ck_assert_double_eq(lower, 0.0);
    ck_assert_double_eq(upper, 1.0);
    ck_assert_str_eq(df_param_name(DF_PARAM_IMAGE_MAX_PIXELS), "image.max_pixels");
    ck_assert_ptr_null(df_param_name((df_param)4242));
    df_param key;
    ck_assert_ok(df_param_from_name("image.apply_exif", &key));
    ck_assert_int_eq(key, DF_PARAM_IMAGE_APPLY_EXIF);
    ck_assert_fails_with(df_param_from_name("image.nope", &key), DF_E_UNSUPPORTED, "df_param_from_name");
    ck_assert_fails_with(df_param_from_name(NULL, &key), DF_E_INVALID_ARG, "df_param_from_name");
    ck_assert_fails_with(df_param_type_of((df_param)4242, &type), DF_E_UNSUPPORTED, "df_param_type_of");
    ck_assert_fails_with(df_param_type_of(DF_PARAM_IMAGE_MAX_PIXELS, NULL), DF_E_INVALID_ARG, "df_param_type_of");
    ck_assert_fails_with(df_param_bounds((df_param)4242, &lower, &upper), DF_E_UNSUPPORTED, "df_param_bounds");
    ck_assert_fails_with(df_param_bounds(DF_PARAM_IMAGE_MAX_PIXELS, NULL, &upper), DF_E_INVALID_ARG, "df_param_bounds");
}
END_TEST

/* Every parameter is listed once, has help, a default a fresh df_options holds and its bounds
 * allow, and can be set from text to that default; enum-valued ones name their values both ways. */
START_TEST(test_every_parameter_described_and_settable_from_text) {
    df_options *fresh, *set;
    ck_assert_ok(df_options_new(&fresh));
    ck_assert_ok(df_options_new(&set));
    const size_t count = df_param_count();
    ck_assert_uint_ge(count, 140);
    size_t named = 0;
    for (size_t i = 0; i < count; i++) {
        df_param key;
        ck_assert_ok(df_param_at(i, &key));
        for (size_t j = 0; j < i; j++) { /* listed once */
            df_param other;
            ck_assert_ok(df_param_at(j, &other));
            ck_assert_int_ne(other, key);
        }
        const char *name = df_param_name(key), *help = df_param_help(key), *text = NULL;
        ck_assert_ptr_nonnull(name);
        ck_assert_msg(help != NULL && strlen(help) > 3, "%s has no help", name);
        df_param_type type;
        double number = -1;
        ck_assert_ok(df_param_type_of(key, &type));
        ck_assert_ok(df_param_default(key, &number, &text));
        char setting[256];
        if (type == DF_PARAM_TYPE_STRING) {
            const char *now;
            ck_assert_ok(df_options_get_str(fresh, key, &now));
            ck_assert_str_eq(now, text);
            snprintf(setting, sizeof setting, "%s=%s", name, text);
        } else {
            double lower, upper;
            ck_assert_ok(df_param_bounds(key, &lower, &upper));
            ck_assert_msg(number >= lower && number <= upper, "%s: default %g outside [%g, %g]", name, number, lower,
                          upper);
            if (type == DF_PARAM_TYPE_INT) {
                int64_t now;
                ck_assert_ok(df_options_get_int(fresh, key, &now));
                ck_assert_int_eq(now, (int64_t)number);
                const char *value_name = df_param_value_name(key, now);
                if (value_name) { /* by name, and the name back to the value */
                    int64_t back;
                    ck_assert_ok(df_param_value_from_name(key, value_name, &back));
                    ck_assert_int_eq(back, now);
                    named++;
                }
                snprintf(setting, sizeof setting, "%s=%s", name, value_name ? value_name : "");
                if (!value_name) snprintf(setting, sizeof setting, "%s=%lld", name, (long long)now);
            } else {
                double now;
                ck_assert_ok(df_options_get_float(fresh, key, &now));
                ck_assert_double_eq(now, number);
                snprintf(setting, sizeof setting, "%s=%.17g", name, number);
            }
        }
        ck_assert_msg(df_options_set_from_string(set, setting) == DF_OK, "%s: %s", setting, df_last_error_message());
    }
    ck_assert_uint_ge(named, 15);
    ck_assert_fails_with(df_param_at(count, &(df_param){0}), DF_E_INVALID_ARG, "df_param_at");
    ck_assert_fails_with(df_param_at(0, NULL), DF_E_INVALID_ARG, "df_param_at");
    df_options_free(fresh), df_options_free(set);
}
END_TEST

START_TEST(test_options_set_from_string) {
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    int64_t value;
    double number;
    const char *text;
    ck_assert_ok(df_options_set_from_string(o, "upsample.attention=o"));
    ck_assert_ok(df_options_get_int(o, DF_PARAM_UPS_ATTENTION, &value));
    ck_assert_int_eq(value, DF_UPS_ATTN_O);
    ck_assert_ok(df_options_set_from_string(o, "upsample.attention=4"));
    ck_assert_ok(df_options_get_int(o, DF_PARAM_UPS_ATTENTION, &value));
    ck_assert_int_eq(value, DF_UPS_ATTN_V);
    ck_assert_ok(df_options_set_from_string(o, "model.precision=bfloat16"));
    ck_assert_ok(df_options_get_int(o, DF_PARAM_MODEL_PRECISION, &value));
    ck_assert_int_eq(value, DF_DTYPE_BFLOAT16);
    ck_assert_ok(df_options_set_from_string(o, "crf.gaussian_sxy=2.5e0"));
    ck_assert_ok(df_options_get_float(o, DF_PARAM_CRF_GAUSSIAN_SXY, &number));
    ck_assert_double_eq(number, 2.5);
    ck_assert_ok(df_options_set_from_string(o, "upsample.shifts=1,2=3")); /* the rest, as it is */
    ck_assert_ok(df_options_get_str(o, DF_PARAM_UPS_SHIFTS, &text));
    ck_assert_str_eq(text, "1,2=3");
    ck_assert_ok(df_options_set_from_string(o, "upsample.shifts="));
    ck_assert_ok(df_options_get_str(o, DF_PARAM_UPS_SHIFTS, &text));
    ck_assert_str_eq(text, "");
    ck_assert_str_eq(df_param_value_name(DF_PARAM_UPS_FLIPS, DF_UPS_FLIPS_OFFICIAL), "official");
    ck_assert_ptr_null(df_param_value_name(DF_PARAM_UPS_FLIPS, 7));
    ck_assert_ptr_null(df_param_value_name(DF_PARAM_MODEL_PRECISION, DF_DTYPE_INT64)); /* outside the bounds */
    ck_assert_ptr_null(df_param_value_name(DF_PARAM_KMEANS_K, 8));
    ck_assert_ptr_null(df_param_value_name((df_param)4242, 0));
    ck_assert_ptr_null(df_param_help((df_param)4242));
    ck_assert_str_eq(df_param_help(DF_PARAM_CRF_ITERATIONS), "mean-field iterations; default 10");
    /* failures change nothing and say why */
    static const struct {
        const char *setting, *says;
    } bad[] = {{"upsample.attention=cls2", "takes cls, o, q, k, v, none, not 'cls2'"},
               {"model.precision=int64", "takes float32, float16, bfloat16, not 'int64'"},
               {"kmeans.k=eight", "takes a whole number, not 'eight'"},
               {"kmeans.k=0", "must be in [1, 1048576]"},
               {"kmeans.k=99999999999999999999", "takes a whole number"},
               {"crf.gaussian_sxy=wide", "takes a number, not 'wide'"},
               {"crf.gaussian_sxy=nan", "takes a number, not 'nan'"},
               {"kmeans.kk=3", "unknown parameter 'kmeans.kk'"},
               {"kmeans.k", "'kmeans.k' is not name=value"},
               {"=3", "'=3' is not name=value"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_fails_with(df_options_set_from_string(o, bad[i].setting), DF_E_INVALID_ARG,
                             "df_options_set_from_string");
        ck_assert_msg(strstr(df_last_error_message(), bad[i].says) != NULL, "%s: %s", bad[i].setting,
                      df_last_error_message());
    }
    ck_assert_ok(df_options_get_int(o, DF_PARAM_UPS_ATTENTION, &value));
    ck_assert_int_eq(value, DF_UPS_ATTN_V);
    ck_assert_fails_with(df_param_value_from_name(DF_PARAM_KMEANS_K, "eight", &value), DF_E_INVALID_ARG,
                         "df_param_value_from_name");
    ck_assert_fails_with(df_param_value_from_name(DF_PARAM_UPS_FLIPS, NULL, &value), DF_E_INVALID_ARG,
                         "df_param_value_from_name");
    ck_assert_fails_with(df_param_value_from_name((df_param)4242, "on", &value), DF_E_UNSUPPORTED,
                         "df_param_value_from_name");
    ck_assert_fails_with(df_param_default((df_param)4242, &number, &text), DF_E_UNSUPPORTED, "df_param_default");
    ck_assert_fails_with(df_options_set_from_string(NULL, "kmeans.k=3"), DF_E_INVALID_ARG,
                         "df_options_set_from_string");
    ck_assert_fails_with(df_options_set_from_string(o, NULL), DF_E_INVALID_ARG, "df_options_set_from_string");
    df_options_free(o);
}
END_TEST

Suite *options_suite(void) {
    Suite *suite = suite_create("options");
    TCase *tc = tcase_create("options");
    tcase_add_test(tc, test_options_defaults_and_round_trip);
    tcase_add_test(tc, test_options_refuse_bad_keys_types_and_values);
    tcase_add_test(tc, test_param_metadata);
    tcase_add_test(tc, test_every_parameter_described_and_settable_from_text);
    tcase_add_test(tc, test_options_set_from_string);
    suite_add_tcase(suite, tc);
    return suite;
}
