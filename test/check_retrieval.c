/* Dense nearest-neighbour retrieval against numpy (test/reference/make_retrieval_fixtures.py). */
#include "check_common.h"

#include <math.h>
#include <stdlib.h>

#define RETRIEVAL_DIR "fixtures/retrieval/"

static void *retrieval_file(const char *id, const char *name, size_t expected) {
    char file[128];
    snprintf(file, sizeof file, "%s.%s.raw", id, name);
    size_t size;
    void *data = read_fixture_from(RETRIEVAL_DIR, file, &size);
    ck_assert_ptr_nonnull(data);
    ck_assert_uint_eq(size, expected);
    return data;
}

/* The bank's predictions for a case's queries equal numpy's labels and votes. */
static void assert_predictions_equal_numpy(const df_retrieval *r, const char *id, int dim, int classes, int queries) {
    float *query = retrieval_file(id, "queries", (size_t)queries * dim * 4);
    int32_t *expected_labels = retrieval_file(id, "labels", (size_t)queries * 4);
    float *expected_scores = retrieval_file(id, "scores", (size_t)queries * classes * 4);
    int32_t *labels = malloc((size_t)queries * 4);
    float *scores = malloc((size_t)queries * classes * 4);
    ck_assert_ok(df_retrieval_predict(r, query, (size_t)queries, labels, scores));
    for (int i = 0; i < queries; i++) {
        ck_assert_msg(labels[i] == expected_labels[i], "%s: query %d label %d, numpy %d", id, i, labels[i],
                      expected_labels[i]);
        for (int c = 0; c < classes; c++)
            ck_assert_msg(fabsf(scores[i * classes + c] - expected_scores[i * classes + c]) < 1e-4f,
                          "%s: query %d class %d vote %g, numpy %g", id, i, c, scores[i * classes + c],
                          expected_scores[i * classes + c]);
    }
    free(query), free(expected_labels), free(expected_scores), free(labels), free(scores);
}

START_TEST(test_retrieval_equals_numpy) {
    FILE *m = fopen(RETRIEVAL_DIR "manifest.txt", "r");
    ck_assert_ptr_nonnull(m);
    char line[256], id[32];
    int dim, classes, bank_size, queries, k, checked = 0;
    double temperature;
    while (fgets(line, sizeof line, m)) {
        if (sscanf(line, "retrieval %31s %d %d %d %d %d %lf", id, &dim, &classes, &bank_size, &queries, &k,
                   &temperature) != 7)
            continue;
        float *bank = retrieval_file(id, "bank", (size_t)bank_size * dim * 4);
        int32_t *bank_labels = retrieval_file(id, "bank_labels", (size_t)bank_size * 4);
        df_options *o;
        ck_assert_ok(df_options_new(&o));
        ck_assert_ok(df_options_set_int(o, DF_PARAM_RETRIEVAL_K, k));
        ck_assert_ok(df_options_set_float(o, DF_PARAM_RETRIEVAL_TEMPERATURE, temperature));
        df_retrieval *r;
        ck_assert_ok(df_retrieval_new((size_t)dim, (size_t)classes, o, &r));
        /* in two parts: the bank grows */
        ck_assert_ok(df_retrieval_add(r, bank, bank_labels, (size_t)bank_size / 2));
        ck_assert_ok(df_retrieval_add(r, bank + (size_t)(bank_size / 2) * dim, bank_labels + bank_size / 2,
                                      (size_t)(bank_size - bank_size / 2)));
        assert_predictions_equal_numpy(r, id, dim, classes, queries);
        free(bank), free(bank_labels);
        df_retrieval_free(r);
        df_options_free(o);
        checked++;
    }
    fclose(m);
    ck_assert_int_ge(checked, 3);
}
END_TEST

/* Soft labels: half the bank with class labels (one-hot once the bank turns soft), half with
 * distributions, votes weighted by softmax(similarity / T) as Hummingbird's cross-attention. */
START_TEST(test_retrieval_soft_labels_equal_numpy) {
    FILE *m = fopen(RETRIEVAL_DIR "manifest.txt", "r");
    ck_assert_ptr_nonnull(m);
    char line[256], id[32];
    int dim, classes, bank_size, queries, k, checked = 0;
    double temperature;
    while (fgets(line, sizeof line, m)) {
        if (sscanf(line, "soft %31s %d %d %d %d %d %lf", id, &dim, &classes, &bank_size, &queries, &k, &temperature) != 7)
            continue;
        float *bank = retrieval_file(id, "bank", (size_t)bank_size * dim * 4);
        int32_t *bank_labels = retrieval_file(id, "bank_labels", (size_t)bank_size * 4);
        float *soft = retrieval_file(id, "bank_soft", (size_t)bank_size * classes * 4);
        df_options *o;
        ck_assert_ok(df_options_new(&o));
        ck_assert_ok(df_options_set_int(o, DF_PARAM_RETRIEVAL_K, k));
        ck_assert_ok(df_options_set_float(o, DF_PARAM_RETRIEVAL_TEMPERATURE, temperature));
        df_retrieval *r;
        ck_assert_ok(df_retrieval_new((size_t)dim, (size_t)classes, o, &r));
        const size_t half = (size_t)bank_size / 2;
        ck_assert_ok(df_retrieval_add(r, bank, bank_labels, half));
        ck_assert_ok(df_retrieval_add_soft(r, bank + half * dim, soft + half * classes, (size_t)bank_size - half));
        size_t size;
        ck_assert_ok(df_retrieval_size(r, &size));
        ck_assert_uint_eq(size, (size_t)bank_size);
        assert_predictions_equal_numpy(r, id, dim, classes, queries);
        /* a negative or non-finite weight adds nothing */
        soft[3] = -0.5f;
        ck_assert_fails_with(df_retrieval_add_soft(r, bank, soft, 2), DF_E_INVALID_ARG, "df_retrieval_add_soft");
        soft[3] = NAN;
        ck_assert_fails_with(df_retrieval_add_soft(r, bank, soft, 2), DF_E_INVALID_ARG, "df_retrieval_add_soft");
        ck_assert_fails_with(df_retrieval_add_soft(r, bank, NULL, 2), DF_E_INVALID_ARG, "df_retrieval_add_soft");
        ck_assert_fails_with(df_retrieval_add_soft(NULL, bank, soft, 2), DF_E_INVALID_ARG, "df_retrieval_add_soft");
        ck_assert_ok(df_retrieval_add_soft(r, NULL, NULL, 0));
        ck_assert_ok(df_retrieval_size(r, &size));
        ck_assert_uint_eq(size, (size_t)bank_size);
        free(bank), free(bank_labels), free(soft);
        df_retrieval_free(r);
        df_options_free(o);
        checked++;
    }
    fclose(m);
    ck_assert_int_ge(checked, 1);
}
END_TEST

/* A soft bank past its limit: reservoir sampling keeps each kept feature's own distribution. */
START_TEST(test_retrieval_soft_bank_limit) {
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_RETRIEVAL_BANK, 16));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_RETRIEVAL_K, 1));
    df_retrieval *r;
    ck_assert_ok(df_retrieval_new(2, 3, o, &r));
    /* feature i points at angle i; its distribution names class i % 3 */
    float features[2 * 300], soft[3 * 300];
    for (int i = 0; i < 300; i++) {
        features[2 * i] = cosf(0.02f * (float)i), features[2 * i + 1] = sinf(0.02f * (float)i);
        for (int c = 0; c < 3; c++) soft[3 * i + c] = c == i % 3 ? 0.75f : 0.125f;
    }
    ck_assert_ok(df_retrieval_add_soft(r, features, soft, 300));
    size_t size;
    ck_assert_ok(df_retrieval_size(r, &size));
    ck_assert_uint_eq(size, 16);
    /* each query is a bank feature of its own: its nearest neighbour is itself, with its distribution */
    int32_t labels[300];
    float scores[900];
    ck_assert_ok(df_retrieval_predict(r, features, 300, labels, scores));
    int found = 0;
    for (int i = 0; i < 300; i++)
        if (fabsf(scores[3 * i + i % 3] - 0.75f) < 1e-5f && labels[i] == i % 3) found++;
    ck_assert_int_ge(found, 16);
    df_retrieval_free(r);
    df_options_free(o);
}
END_TEST

START_TEST(test_retrieval_bank_limit_and_errors) {
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_RETRIEVAL_BANK, 50));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_RETRIEVAL_K, 3));
    df_retrieval *r, *again;
    ck_assert_ok(df_retrieval_new(2, 4, o, &r));
    ck_assert_ok(df_retrieval_new(2, 4, o, &again));
    float features[2000];
    int32_t labels[1000];
    for (int i = 0; i < 1000; i++) features[2 * i] = (float)(i % 7) + 1, features[2 * i + 1] = (float)(i % 5), labels[i] = i % 4;
    size_t size;
    int32_t out[4];
    ck_assert_fails_with(df_retrieval_predict(r, features, 4, out, NULL), DF_E_INVALID_ARG, "df_retrieval_predict");
    ck_assert_ok(df_retrieval_add(r, features, labels, 1000));
    ck_assert_ok(df_retrieval_size(r, &size));
    ck_assert_uint_eq(size, 50);
    /* reservoir sampling is deterministic for a seed, whatever the batching */
    for (int i = 0; i < 1000; i += 100) ck_assert_ok(df_retrieval_add(again, features + 2 * i, labels + i, 100));
    int32_t a[4], b[4];
    ck_assert_ok(df_retrieval_predict(r, features, 4, a, NULL));
    ck_assert_ok(df_retrieval_predict(again, features, 4, b, NULL));
    ck_assert_mem_eq(a, b, sizeof a);
    labels[3] = 4;
    ck_assert_fails_with(df_retrieval_add(r, features, labels, 10), DF_E_INVALID_ARG, "df_retrieval_add");
    df_retrieval_free(r);
    ck_assert_fails_with(df_retrieval_new(0, 4, NULL, &r), DF_E_INVALID_ARG, "df_retrieval_new");
    ck_assert_ptr_null(r);
    ck_assert_fails_with(df_retrieval_new(2, 255, NULL, &r), DF_E_INVALID_ARG, "df_retrieval_new");
    ck_assert_fails_with(df_retrieval_size(NULL, &size), DF_E_INVALID_ARG, "df_retrieval_size");
    df_retrieval_free(NULL);
    df_retrieval_free(again);
    df_options_free(o);
}
END_TEST

Suite *retrieval_suite(void) {
    Suite *s = suite_create("retrieval");
    TCase *tc = tcase_create("retrieval");
    tcase_add_test(tc, test_retrieval_equals_numpy);
    tcase_add_test(tc, test_retrieval_bank_limit_and_errors);
    tcase_add_test(tc, test_retrieval_soft_labels_equal_numpy);
    tcase_add_test(tc, test_retrieval_soft_bank_limit);
    suite_add_tcase(s, tc);
    return s;
}
