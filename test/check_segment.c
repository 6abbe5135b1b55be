/* TokenCut against the numpy/scipy reference of test/reference/make_tokencut_fixtures.py. */
#include "check_common.h"

#include <math.h>
#include <stdlib.h>

#define TOKENCUT_DIR "fixtures/tokencut/"

typedef struct tokencut_case {
    char id[32], model[64], input[64], eigenvector[64], object[64];
    int heads, h, w, binary, gh, gw, seed;
    double tau, eps;
    int32_t box[4];
} tokencut_case;

static int read_tokencut_cases(tokencut_case *cases, int max) {
    FILE *m = fopen(TOKENCUT_DIR "manifest.txt", "r");
    ck_assert_ptr_nonnull(m);
    char line[512];
    int count = 0;
    while (count < max && fgets(line, sizeof line, m)) {
        tokencut_case *c = &cases[count];
        if (sscanf(line, "tokencut %31s %63s %d %d %d %lf %lf %d %63s %d %d %d %d %d %d %d %63s %63s", c->id, c->model,
                   &c->heads, &c->h, &c->w, &c->tau, &c->eps, &c->binary, c->input, &c->gh, &c->gw, &c->seed,
                   &c->box[0], &c->box[1], &c->box[2], &c->box[3], c->eigenvector, c->object) == 18)
            count++;
    }
    fclose(m);
    ck_assert_int_ge(count, 3);
    return count;
}

static df_model *tokencut_model(const tokencut_case *c) {
    char path[256];
    snprintf(path, sizeof path, "fixtures/models/%s.pth", c->model);
    df_options *o;
    df_model *model;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_MODEL_HEADS, c->heads));
    ck_assert_ok(df_model_open(path, NULL, o, &model));
    df_options_free(o);
    return model;
}

static df_tensor *tokencut_input(const tokencut_case *c) {
    size_t size;
    float *pixels = (float *)read_fixture_from(TOKENCUT_DIR, c->input, &size);
    ck_assert_uint_eq(size, (size_t)3 * c->h * c->w * sizeof(float));
    int64_t shape[4] = {1, 3, c->h, c->w};
    df_tensor *image;
    ck_assert_ok(df_tensor_from_host(pixels, 4, shape, &image));
    free(pixels);
    return image;
}

START_TEST(test_tokencut_equals_reference) {
    tokencut_case cases[8];
    int count = read_tokencut_cases(cases, 8);
    for (int k = 0; k < count; k++) {
        const tokencut_case *c = &cases[k];
        df_model *model = tokencut_model(c);
        df_tensor *image = tokencut_input(c), *mask = NULL;
        df_options *o;
        ck_assert_ok(df_options_new(&o));
        ck_assert_ok(df_options_set_float(o, DF_PARAM_TOKENCUT_TAU, c->tau));
        ck_assert_ok(df_options_set_float(o, DF_PARAM_TOKENCUT_EPS, c->eps));
        ck_assert_ok(df_options_set_int(o, DF_PARAM_TOKENCUT_BINARY, c->binary));
        int32_t box[4];
        df_tokencut_detail detail = {.struct_size = sizeof detail};
        ck_assert_ok(df_tokencut(model, image, o, &mask, box, &detail));
        ck_assert_int_eq(detail.grid_height, c->gh);
        ck_assert_int_eq(detail.grid_width, c->gw);
        ck_assert_msg(detail.seed == c->seed, "%s: seed %lld, reference %d", c->id, (long long)detail.seed, c->seed);
        for (int i = 0; i < 4; i++) ck_assert_msg(box[i] == c->box[i], "%s: box[%d] %d, reference %d", c->id, i, box[i], c->box[i]);
        size_t size;
        float *expected = (float *)read_fixture_from(TOKENCUT_DIR, c->eigenvector, &size);
        float *got = malloc(size);
        ck_assert_ok(df_tensor_copy_to_host(detail.eigenvector, got, size / sizeof(float)));
        for (size_t i = 0; i < size / sizeof(float); i++)
            ck_assert_msg(fabsf(got[i] - expected[i]) < 1e-4f * (1.0f + fabsf(expected[i])), "%s: y[%zu] %g, reference %g",
                          c->id, i, got[i], expected[i]);
        unsigned char *object = read_fixture_from(TOKENCUT_DIR, c->object, &size);
        df_tensor_view view = {.struct_size = sizeof view};
        ck_assert_ok(df_tensor_view_of(detail.object, &view));
        ck_assert_msg(memcmp(view.data, object, size) == 0, "%s: object tokens differ", c->id);
        /* the pixel mask is the object's tokens at pixel resolution, cut to the image */
        ck_assert_ok(df_tensor_view_of(mask, &view));
        ck_assert_int_eq(view.shape[0], c->h);
        ck_assert_int_eq(view.shape[1], c->w);
        const uint8_t *pixels = view.data;
        int64_t patch_size;
        ck_assert_ok(df_model_info_int(model, DF_MODEL_INFO_PATCH, &patch_size));
        for (int y0 = 0; y0 < c->h; y0++)
            for (int x0 = 0; x0 < c->w; x0++)
                ck_assert_int_eq(pixels[y0 * c->w + x0], object[(y0 / patch_size) * c->gw + x0 / patch_size] ? 255 : 0);
        free(object);
        free(expected);
        free(got);
        df_tokencut_detail_clear(&detail);
        ck_assert_ptr_null(detail.eigenvector);
        df_tensor_free(mask);
        df_tensor_free(image);
        df_options_free(o);
        df_model_free(model);
    }
}
END_TEST

START_TEST(test_tokencut_invalid) {
    tokencut_case cases[8];
    read_tokencut_cases(cases, 8);
    df_model *model = tokencut_model(&cases[0]);
    df_tensor *image = tokencut_input(&cases[0]), *mask = NULL, *small = NULL;
    ck_assert_fails_with(df_tokencut(model, image, NULL, NULL, NULL, NULL), DF_E_INVALID_ARG, "df_tokencut");
    ck_assert_fails_with(df_tokencut(NULL, image, NULL, &mask, NULL, NULL), DF_E_INVALID_ARG, "df_tokencut");
    ck_assert_fails_with(df_tokencut(model, NULL, NULL, &mask, NULL, NULL), DF_E_INVALID_ARG, "df_tokencut");
    df_tokencut_detail old = {.struct_size = 8};
    ck_assert_fails_with(df_tokencut(model, image, NULL, &mask, NULL, &old), DF_E_INVALID_ARG, "df_tokencut");
    int64_t shape[4] = {1, 3, 4, 40};
    ck_assert_ok(df_tensor_new(4, shape, DF_DTYPE_FLOAT32, NULL, &small));
    ck_assert_fails_with(df_tokencut(model, small, NULL, &mask, NULL, NULL), DF_E_INVALID_ARG, "df_tokencut");
    ck_assert_ptr_null(mask);
    int64_t flat[3] = {3, 8, 8};
    df_tensor *three = NULL;
    ck_assert_ok(df_tensor_new(3, flat, DF_DTYPE_FLOAT32, NULL, &three));
    ck_assert_fails_with(df_tokencut(model, three, NULL, &mask, NULL, NULL), DF_E_INVALID_ARG, "df_tokencut");
    /* without detail or box it still gives the mask */
    ck_assert_ok(df_tokencut(model, image, NULL, &mask, NULL, NULL));
    ck_assert_ptr_nonnull(mask);
    df_tokencut_detail_clear(NULL);
    df_tensor_free(mask);
    df_tensor_free(three);
    df_tensor_free(small);
    df_tensor_free(image);
    df_model_free(model);
}
END_TEST

Suite *segment_suite(void) {
    Suite *s = suite_create("segment");
    TCase *tc = tcase_create("tokencut");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_tokencut_equals_reference);
    tcase_add_test(tc, test_tokencut_invalid);
    suite_add_tcase(s, tc);
    return s;
}
