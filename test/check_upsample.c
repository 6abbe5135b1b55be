/* df_upsample against the plain-PyTorch reference (test/reference/upsample_reference.py). */
#include "check_common.h"

#include <math.h>
#include <stdlib.h>

#define UPS_DIR "fixtures/upsample/"

typedef struct ups_case {
    char id[64], model[64], shifts[32], neighbourhood[16], flips[16], border[16], interp[16], attention[8];
    int heads, h, w, stride;
} ups_case;

static df_tensor *ups_input(int h, int w) {
    size_t n = (size_t)3 * h * w;
    float *data = malloc(n * sizeof *data);
    for (size_t i = 0; i < n; i++) data[i] = (float)(((int64_t)i * 7919) % 2001) / 1000.0f - 1.0f;
    const int64_t shape[4] = {1, 3, h, w};
    df_tensor *t = NULL;
    ck_assert_ok(df_tensor_from_host(data, 4, shape, &t));
    free(data);
    return t;
}

static int lookup(const char *name, const char *const *names, int count) {
    for (int i = 0; i < count; i++)
        if (strcmp(names[i], name) == 0) return i;
    ck_abort_msg("unknown setting %s", name);
    return 0;
}

static df_options *case_options(const ups_case *c) {
    static const char *const neighbourhoods[] = {"moore", "neumann"}, *const flips[] = {"off", "on", "official"};
    static const char *const borders[] = {"wrap", "zero", "replicate"}, *const interps[] = {"nearest-exact", "bilinear"};
    static const char *const attentions[] = {"cls", "o", "q", "k", "v", "none"};
    df_options *o = NULL;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_UPS_STRIDE, c->stride));
    ck_assert_ok(df_options_set_str(o, DF_PARAM_UPS_SHIFTS, strcmp(c->shifts, "-") == 0 ? "" : c->shifts));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_UPS_NEIGHBOURHOOD, lookup(c->neighbourhood, neighbourhoods, 2)));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_UPS_FLIPS, lookup(c->flips, flips, 3)));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_UPS_BORDER, lookup(c->border, borders, 3)));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_UPS_INTERP, lookup(c->interp, interps, 2)));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_UPS_ATTENTION, lookup(c->attention, attentions, 6)));
    return o;
}

static df_model *ups_model_on(const ups_case *c, const char *device) {
    char path[256];
    snprintf(path, sizeof path, "fixtures/models/%s.pth", c->model);
    df_options *o = NULL;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_MODEL_HEADS, c->heads));
    df_model *model = NULL;
    ck_assert_ok(df_model_open(path, device, o, &model));
    /* The reference interpolates positions with the official 'offset' for every model. */
    ck_assert_ok(df_model_set_int(model, DF_PARAM_MODEL_POS_INTERP, DF_POS_INTERP_OFFSET));
    df_options_free(o);
    return model;
}

static df_model *ups_model(const ups_case *c) { return ups_model_on(c, NULL); }

static float *values_of(const df_tensor *t, size_t *n) {
    *n = (size_t)df_tensor_numel(t);
    float *v = malloc(*n * sizeof *v);
    ck_assert_ok(df_tensor_copy_to_host(t, v, *n));
    return v;
}

static double rel_error(const float *a, const float *b, size_t n) {
    double worst = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        worst = fmax(worst, fabs((double)a[i] - b[i]));
        scale = fmax(scale, fabs((double)b[i]));
    }
    return scale > 0 ? worst / scale : worst;
}

static int read_cases(ups_case *cases) {
    FILE *m = fopen(UPS_DIR "manifest.txt", "r");
    ck_assert_ptr_nonnull(m);
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, m)) {
        ups_case *c = &cases[n];
        if (sscanf(line, "ups %63s %63s %d %d %d %d %31s %15s %15s %15s %15s %7s", c->id, c->model, &c->heads, &c->h,
                   &c->w, &c->stride, c->shifts, c->neighbourhood, c->flips, c->border, c->interp, c->attention) == 12)
            n++;
    }
    fclose(m);
    return n;
}

static void compare_to_fixture(const char *id, const char *name, const df_tensor *t) {
    FILE *m = fopen(UPS_DIR "manifest.txt", "r");
    char line[512], cid[64], cname[32], file[128];
    int ndim, found = 0;
    long long d0, d1, d2;
    while (fgets(line, sizeof line, m)) {
        if (sscanf(line, "out %63s %31s %127s %d %lld %lld %lld", cid, cname, file, &ndim, &d0, &d1, &d2) != 7 ||
            strcmp(cid, id) || strcmp(cname, name))
            continue;
        int64_t shape[3];
        ck_assert_ok(df_tensor_shape(t, shape, 3));
        ck_assert_msg(shape[0] == d0 && shape[1] == d1 && shape[2] == d2, "%s %s: shape (%lld, %lld, %lld), reference (%lld, %lld, %lld)",
                      id, name, (long long)shape[0], (long long)shape[1], (long long)shape[2], d0, d1, d2);
        size_t size, n;
        float *expected = (float *)read_fixture_from(UPS_DIR, file, &size), *got = values_of(t, &n);
        ck_assert_uint_eq(size, n * sizeof(float));
        double error = rel_error(got, expected, n);
        ck_assert_msg(error <= 1e-5, "%s %s: relative error %.3g", id, name, error);
        free(expected);
        free(got);
        found = 1;
    }
    fclose(m);
    ck_assert_msg(found, "no fixture for %s %s", id, name);
}

START_TEST(test_every_case_matches_the_reference) {
    ups_case cases[16];
    int n = read_cases(cases);
    ck_assert_int_ge(n, 6);
    for (int i = 0; i < n; i++) {
        df_model *model = ups_model(&cases[i]);
        df_options *o = case_options(&cases[i]);
        df_tensor *image = ups_input(cases[i].h, cases[i].w), *features = NULL, *attention = NULL;
        ck_assert_ok(df_upsample(model, image, o, NULL, NULL, &features, &attention));
        compare_to_fixture(cases[i].id, "features", features);
        compare_to_fixture(cases[i].id, "attention", attention);
        df_tensor_free(features);
        df_tensor_free(attention);
        df_tensor_free(image);
        df_options_free(o);
        df_model_free(model);
    }
}
END_TEST

typedef struct ticks {
    uint64_t calls, last_total, cancel_after;
} ticks;

static int count_ticks(void *user, uint64_t done, uint64_t total, const char *stage) {
    ticks *t = user;
    t->calls++;
    t->last_total = total;
    ck_assert_uint_eq(done, t->calls);
    ck_assert_str_eq(stage, "upsample");
    return t->cancel_after && t->calls >= t->cancel_after;
}

START_TEST(test_batch_sizes_agree_and_progress_ticks) {
    ups_case cases[16];
    int n = read_cases(cases), products = -1;
    for (int i = 0; i < n; i++)
        if (strcmp(cases[i].id, "products") == 0) products = i;
    ck_assert_int_ge(products, 0);
    df_model *model = ups_model(&cases[products]);
    df_options *o = case_options(&cases[products]);
    df_tensor *image = ups_input(cases[products].h, cases[products].w);
    size_t views;
    ck_assert_ok(df_upsample_view_count(o, &views));
    ck_assert_uint_eq(views, 51);
    float *first = NULL, *first_attention = NULL;
    size_t count = 0, attention_count = 0;
    const int batches[3] = {1, 3, 17};
    for (int b = 0; b < 3; b++) {
        ck_assert_ok(df_options_set_int(o, DF_PARAM_UPS_BATCH, batches[b]));
        ticks t = {0};
        df_tensor *features = NULL, *attention = NULL;
        ck_assert_ok(df_upsample(model, image, o, count_ticks, &t, &features, &attention));
        ck_assert_uint_eq(t.calls, 51);
        ck_assert_uint_eq(t.last_total, 51);
        float *v = values_of(features, &count), *a = values_of(attention, &attention_count);
        if (first == NULL) {
            first = v;
            first_attention = a;
        } else {
            ck_assert_msg(rel_error(v, first, count) <= 1e-6, "batch %d: features differ by %.3g", batches[b], rel_error(v, first, count));
            ck_assert_msg(rel_error(a, first_attention, attention_count) <= 1e-6, "batch %d: attention differs", batches[b]);
            free(v);
            free(a);
        }
        df_tensor_free(features);
        df_tensor_free(attention);
    }
    free(first);
    free(first_attention);
    ticks cancel = {.cancel_after = 5};
    df_tensor *features = (df_tensor *)(uintptr_t)1;
    ck_assert_fails_with(df_upsample(model, image, o, count_ticks, &cancel, &features, NULL), DF_E_CANCELLED, "df_upsample");
    ck_assert_ptr_null(features);
    ck_assert_uint_eq(cancel.calls, 5);
    df_tensor_free(image);
    df_options_free(o);
    df_model_free(model);
}
END_TEST

START_TEST(test_bad_parameters) {
    ups_case c = {.model = "dinov2_s14", .heads = 2};
    df_model *model = ups_model(&c);
    df_options *o = NULL;
    ck_assert_ok(df_options_new(&o));
    df_tensor *image = ups_input(28, 28), *small = ups_input(13, 40), *features = NULL, *attention = NULL;
    ck_assert_fails_with(df_options_set_int(o, DF_PARAM_UPS_STRIDE, 0), DF_E_INVALID_ARG, "df_options_set_int");
    ck_assert_ok(df_options_set_int(o, DF_PARAM_UPS_STRIDE, 15));
    ck_assert_fails_with(df_upsample(model, image, o, NULL, NULL, &features, &attention), DF_E_INVALID_ARG, "df_upsample");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "exceeds the patch size"));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_UPS_STRIDE, 7));
    const char *bad_shifts[] = {"0", "-1", "1,,2", "x", "1;2"};
    for (int i = 0; i < 5; i++) {
        ck_assert_ok(df_options_set_str(o, DF_PARAM_UPS_SHIFTS, bad_shifts[i]));
        ck_assert_fails_with(df_upsample(model, image, o, NULL, NULL, &features, &attention), DF_E_INVALID_ARG, "df_upsample");
        size_t views;
        ck_assert_fails_with(df_upsample_view_count(o, &views), DF_E_INVALID_ARG, "df_upsample_view_count");
    }
    ck_assert_ok(df_options_set_str(o, DF_PARAM_UPS_SHIFTS, "1"));
    ck_assert_fails_with(df_upsample(model, small, o, NULL, NULL, &features, &attention), DF_E_INVALID_ARG, "df_upsample");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "smaller than one patch"));
    ck_assert_fails_with(df_upsample(NULL, image, o, NULL, NULL, &features, &attention), DF_E_INVALID_ARG, "df_upsample");
    ck_assert_fails_with(df_upsample(model, NULL, o, NULL, NULL, &features, &attention), DF_E_INVALID_ARG, "df_upsample");
    ck_assert_fails_with(df_upsample(model, image, o, NULL, NULL, NULL, &attention), DF_E_INVALID_ARG, "df_upsample");
    ck_assert_fails_with(df_upsample_view_count(o, NULL), DF_E_INVALID_ARG, "df_upsample_view_count");
    /* Features alone: attention NULL, defaults otherwise (stride 4, shifts 1,2, flips: 51 views). */
    size_t views;
    ck_assert_ok(df_upsample_view_count(NULL, &views));
    ck_assert_uint_eq(views, 51);
    ck_assert_ok(df_options_set_int(o, DF_PARAM_UPS_FLIPS, DF_UPS_FLIPS_OFF));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_UPS_NEIGHBOURHOOD, DF_UPS_VON_NEUMANN));
    ck_assert_ok(df_upsample_view_count(o, &views));
    ck_assert_uint_eq(views, 5);
    ck_assert_ok(df_upsample(model, image, o, NULL, NULL, &features, NULL));
    int64_t shape[3];
    ck_assert_ok(df_tensor_shape(features, shape, 3));
    ck_assert(shape[0] == 28 && shape[1] == 28 && shape[2] == 16);
    df_tensor_free(features);

    /* Padding: features for every pixel of a 45 x 32 image; on an image already a multiple of the
     * patch it changes nothing. */
    df_tensor *odd = ups_input(45, 32), *padded = NULL, *cropped = NULL;
    ck_assert_ok(df_options_set_int(o, DF_PARAM_UPS_PAD, 1));
    ck_assert_ok(df_upsample(model, odd, o, NULL, NULL, &padded, NULL));
    ck_assert_ok(df_tensor_shape(padded, shape, 3));
    ck_assert(shape[0] == 45 && shape[1] == 32 && shape[2] == 16);
    ck_assert_ok(df_upsample(model, image, o, NULL, NULL, &features, NULL));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_UPS_PAD, 0));
    ck_assert_ok(df_upsample(model, image, o, NULL, NULL, &cropped, NULL));
    size_t n;
    float *a = values_of(features, &n), *b = values_of(cropped, &n);
    ck_assert_int_eq(memcmp(a, b, n * sizeof *a), 0);
    free(a);
    free(b);
    df_tensor_free(padded);
    df_tensor_free(cropped);
    df_tensor_free(features);
    df_tensor_free(odd);
    df_tensor_free(image);
    df_tensor_free(small);
    df_options_free(o);
    df_model_free(model);
}
END_TEST

/* On a GPU: the same result, computed on the device, left there on request. */
START_TEST(test_cuda_upsample_when_available) {
    int available = 0;
    ck_assert_ok(df_device_available("cuda", &available));
    ck_assert_msg(available || getenv("DINOFEAT_REQUIRE_CUDA") == NULL, "CUDA required but not available");
    if (!available) return;
    ups_case cases[16];
    int n = read_cases(cases);
    for (int i = 0; i < n; i++) {
        df_model *model = ups_model_on(&cases[i], "cuda");
        df_options *o = case_options(&cases[i]);
        ck_assert_ok(df_options_set_int(o, DF_PARAM_UPS_ON_DEVICE, 1));
        ck_assert_ok(df_options_set_int(o, DF_PARAM_UPS_BATCH, 4));
        df_tensor *image = ups_input(cases[i].h, cases[i].w), *features = NULL, *attention = NULL;
        ck_assert_ok(df_upsample(model, image, o, NULL, NULL, &features, &attention));
        ck_assert_str_eq(df_tensor_device(features), "cuda:0");
        compare_to_fixture(cases[i].id, "features", features);
        compare_to_fixture(cases[i].id, "attention", attention);
        df_tensor_free(features);
        df_tensor_free(attention);
        df_tensor_free(image);
        df_options_free(o);
        df_model_free(model);
    }
}
END_TEST

Suite *upsample_suite(void) {
    Suite *suite = suite_create("upsample");
    TCase *tc = tcase_create("upsample");
    tcase_set_timeout(tc, HANG_GUARD_SECONDS);
    tcase_add_test(tc, test_every_case_matches_the_reference);
    tcase_add_test(tc, test_batch_sizes_agree_and_progress_ticks);
    tcase_add_test(tc, test_bad_parameters);
    tcase_add_test(tc, test_cuda_upsample_when_available);
    suite_add_tcase(suite, tc);
    return suite;
}
