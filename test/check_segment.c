/* TokenCut and the HR-Dv2 class-agnostic segmentation against the numpy/scipy/scikit-learn
 * references of test/reference/make_tokencut_fixtures.py and make_cas_fixtures.py. */
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

#define CAS_DIR "fixtures/cas/"

typedef struct cas_case {
    char id[32];
    int h, w, d, heads, k, min_area, classes, boxes;
    double cutoff;
} cas_case;

static void *cas_file(const cas_case *c, const char *name, size_t expected_size) {
    char file[128];
    snprintf(file, sizeof file, "%s.%s.raw", c->id, name);
    size_t size;
    void *data = read_fixture_from(CAS_DIR, file, &size);
    ck_assert_ptr_nonnull(data);
    if (expected_size) ck_assert_uint_eq(size, expected_size);
    return data;
}

static int read_cas_cases(cas_case *cases, int max) {
    FILE *m = fopen(CAS_DIR "manifest.txt", "r");
    ck_assert_ptr_nonnull(m);
    char line[512];
    int count = 0;
    while (count < max && fgets(line, sizeof line, m)) {
        cas_case *c = &cases[count];
        if (sscanf(line, "cas %31s %d %d %d %d %d %d %lf %d %d", c->id, &c->h, &c->w, &c->d, &c->heads, &c->k,
                   &c->min_area, &c->cutoff, &c->classes, &c->boxes) == 10)
            count++;
    }
    fclose(m);
    ck_assert_int_ge(count, 2);
    return count;
}

/* map[ours] = theirs for two labellings of the same n pixels, which must be the same partition. */
static void match_partitions(const int32_t *ours, const int32_t *theirs, size_t n, int32_t *map, size_t labels,
                             const char *what) {
    for (size_t l = 0; l < labels; l++) map[l] = -1;
    for (size_t i = 0; i < n; i++) {
        if (map[ours[i]] < 0) map[ours[i]] = theirs[i];
        ck_assert_msg(map[ours[i]] == theirs[i], "%s: pixel %zu is %d here, %d in the reference", what, i, ours[i],
                      theirs[i]);
    }
    for (size_t a = 0; a < labels; a++)
        for (size_t b = a + 1; b < labels; b++)
            ck_assert_msg(map[a] < 0 || map[a] != map[b], "%s: two labels here are one in the reference", what);
}

static df_options *cas_options(const cas_case *c) {
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_KMEANS_K, c->k));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_CAS_MIN_AREA, c->min_area));
    return o; /* the CRF as users get it: the default lattice filter, as the reference has it */
}

static void check_cas_case(const cas_case *c) {
    const size_t n = (size_t)c->h * c->w;
    float *features = cas_file(c, "features", n * c->d * sizeof(float));
    float *attention = cas_file(c, "attention", n * c->heads * sizeof(float));
    uint8_t *rgb = cas_file(c, "rgb", n * 3);
    df_tensor *f, *a;
    int64_t fshape[3] = {c->h, c->w, c->d}, ashape[3] = {c->h, c->w, c->heads};
    ck_assert_ok(df_tensor_borrow_host(features, 3, fshape, &f));
    ck_assert_ok(df_tensor_borrow_host(attention, 3, ashape, &a));
    df_options *o = cas_options(c);
    df_cas_result *result;
    ck_assert_ok(df_cas_segment_features(f, a, rgb, o, NULL, NULL, &result));
    df_cas_view v = {.struct_size = sizeof v};
    ck_assert_ok(df_cas_result_view(result, &v));
    ck_assert_int_eq(v.height, c->h);
    ck_assert_int_eq(v.width, c->w);
    ck_assert_uint_eq(v.cluster_count, (size_t)c->k);
    /* k-means: the same clusters as scikit-learn's, up to numbering */
    int32_t cluster_map[64], class_map[64];
    int32_t *clusters = cas_file(c, "clusters", n * 4);
    match_partitions(v.clusters, clusters, n, cluster_map, v.cluster_count, c->id);
    double *density = cas_file(c, "cluster_density", (size_t)c->k * 8);
    for (int k = 0; k < c->k; k++)
        ck_assert_msg(fabs(v.cluster_density[k] - density[cluster_map[k]]) < 1e-5, "%s: density of cluster %d: %g vs %g",
                      c->id, k, v.cluster_density[k], density[cluster_map[k]]);
    ck_assert_msg(fabs(v.cutoff - c->cutoff) < 1e-5, "%s: cutoff %.9g, reference %.9g", c->id, v.cutoff, c->cutoff);
    /* merging: the same classes of clusters */
    ck_assert_uint_eq(v.class_count, (size_t)c->classes);
    int32_t *class_of_cluster = cas_file(c, "class_of_cluster", (size_t)c->k * 4), mapped[64];
    for (int k = 0; k < c->k; k++) mapped[k] = class_of_cluster[cluster_map[k]];
    match_partitions(v.class_of_cluster, mapped, v.cluster_count, class_map, v.class_count, c->id);
    /* the CRF's map (default filter), the class densities, the foreground, boxes, superbox and saliency */
    int32_t *classes = cas_file(c, "classes", n * 4);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(class_map[v.classes[i]] == classes[i], "%s: pixel %zu has class %d, reference %d", c->id, i,
                      class_map[v.classes[i]], classes[i]);
    double *class_density = cas_file(c, "class_density", (size_t)c->classes * 8);
    for (int k = 0; k < c->classes; k++) {
        double ref = class_density[class_map[k]];
        ck_assert_msg(isnan(ref) ? isnan(v.class_density[k]) : fabs(v.class_density[k] - ref) < 1e-5,
                      "%s: class %d density %g vs %g", c->id, k, v.class_density[k], ref);
    }
    int32_t *boxes = cas_file(c, "boxes", (size_t)c->boxes * 5 * 4), *superbox = cas_file(c, "superbox", 16);
    ck_assert_uint_eq(v.box_count, (size_t)c->boxes);
    for (size_t b = 0; b < v.box_count; b++) {
        int found = 0;
        for (int r = 0; r < c->boxes && !found; r++)
            found = memcmp(v.boxes + 4 * b, boxes + 5 * r, 16) == 0 && class_map[v.box_class[b]] == boxes[5 * r + 4];
        ck_assert_msg(found, "%s: box %zu [%d %d %d %d] is not in the reference", c->id, b, v.boxes[4 * b],
                      v.boxes[4 * b + 1], v.boxes[4 * b + 2], v.boxes[4 * b + 3]);
    }
    ck_assert_int_eq(v.has_superbox, 1);
    ck_assert_mem_eq(v.superbox, superbox, 16);
    uint8_t *saliency = cas_file(c, "saliency", n);
    ck_assert_mem_eq(v.saliency, saliency, n);
    free(clusters), free(density), free(class_of_cluster), free(classes), free(class_density), free(boxes);
    free(superbox), free(saliency);
    df_cas_result_free(result);
    df_options_free(o);
    df_tensor_free(f);
    df_tensor_free(a);
    free(features), free(attention), free(rgb);
}

START_TEST(test_cas_equals_reference) {
    cas_case cases[8];
    int count = read_cas_cases(cases, 8);
    for (int i = 0; i < count; i++) check_cas_case(&cases[i]);
}
END_TEST

static int count_stages(void *user_data, uint64_t done, uint64_t total, const char *stage) {
    (void)done, (void)total;
    int *seen = user_data;
    seen[strcmp(stage, "upsample") == 0 ? 0 : strcmp(stage, "regions") == 0 ? 2 : 1]++;
    return 0;
}

static int cancel_at_merge(void *user_data, uint64_t done, uint64_t total, const char *stage) {
    (void)user_data, (void)done, (void)total;
    return strcmp(stage, "merge") == 0;
}

START_TEST(test_cas_segment_on_a_model) {
    df_options *mo;
    df_model *model;
    ck_assert_ok(df_options_new(&mo));
    ck_assert_ok(df_options_set_int(mo, DF_PARAM_MODEL_HEADS, 2));
    ck_assert_ok(df_model_open("fixtures/models/dinov2_s14_reg4.pth", NULL, mo, &model));
    const int64_t h = 60, w = 45;
    float *pixels = malloc((size_t)(3 * h * w) * sizeof *pixels);
    for (int64_t i = 0; i < 3 * h * w; i++) pixels[i] = (float)((i * 7919) % 2001) / 1000.0f - 1.0f;
    int64_t shape[4] = {1, 3, h, w};
    df_tensor *image;
    ck_assert_ok(df_tensor_from_host(pixels, 4, shape, &image));
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_KMEANS_K, 12));
    ck_assert_ok(df_options_set_str(o, DF_PARAM_UPS_SHIFTS, "1"));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_UPS_PAD, 1));
    int seen[3] = {0, 0, 0};
    df_cas_result *result = NULL;
    ck_assert_ok(df_cas_segment(model, image, o, count_stages, seen, &result));
    ck_assert_int_eq(seen[0], 27); /* (1 + 8) x 3 views */
    ck_assert_int_eq(seen[1], 3);
    ck_assert_int_eq(seen[2], 1);
    df_cas_view v = {.struct_size = sizeof v};
    ck_assert_ok(df_cas_result_view(result, &v));
    ck_assert_int_eq(v.height, h); /* padded: every pixel of the image */
    ck_assert_int_eq(v.width, w);
    ck_assert_uint_eq(v.cluster_count, 12);
    ck_assert_uint_ge(v.class_count, 1);
    for (int64_t i = 0; i < h * w; i++) ck_assert_int_lt(v.classes[i], (int)v.class_count);
    /* the model's own AUTO interpolation is back after the workflow's OFFSET */
    int64_t interp;
    ck_assert_ok(df_model_get_int(model, DF_PARAM_MODEL_POS_INTERP, &interp));
    ck_assert_int_eq(interp, DF_POS_INTERP_AUTO);
    df_cas_result_free(result);
    ck_assert_fails_with(df_cas_segment(model, image, o, cancel_at_merge, NULL, &result), DF_E_CANCELLED,
                         "df_cas_segment");
    ck_assert_ptr_null(result);
    ck_assert_ok(df_options_set_int(o, DF_PARAM_UPS_ATTENTION, DF_UPS_ATTN_NONE));
    ck_assert_fails_with(df_cas_segment(model, image, o, NULL, NULL, &result), DF_E_INVALID_ARG, "df_cas_segment");
    ck_assert_fails_with(df_cas_segment(NULL, image, o, NULL, NULL, &result), DF_E_INVALID_ARG, "df_cas_segment");
    ck_assert_fails_with(df_cas_segment(model, image, o, NULL, NULL, NULL), DF_E_INVALID_ARG, "df_cas_segment");
    df_tensor_free(image);
    free(pixels);
    df_options_free(o);
    df_options_free(mo);
    df_model_free(model);
}
END_TEST

START_TEST(test_cas_invalid) {
    float values[2 * 3 * 4] = {0};
    uint8_t rgb[18] = {0};
    df_tensor *f, *a, *wrong;
    int64_t fshape[3] = {2, 3, 4}, ashape[3] = {2, 3, 1}, wshape[3] = {3, 2, 1};
    ck_assert_ok(df_tensor_borrow_host(values, 3, fshape, &f));
    ck_assert_ok(df_tensor_borrow_host(values, 3, ashape, &a));
    ck_assert_ok(df_tensor_borrow_host(values, 3, wshape, &wrong));
    df_cas_result *result = NULL;
    ck_assert_fails_with(df_cas_segment_features(f, wrong, rgb, NULL, NULL, NULL, &result), DF_E_INVALID_ARG,
                         "df_cas_segment_features");
    ck_assert_fails_with(df_cas_segment_features(f, a, NULL, NULL, NULL, NULL, &result), DF_E_INVALID_ARG,
                         "df_cas_segment_features");
    /* 80 clusters (the workflow's default) need at least 80 pixels */
    ck_assert_fails_with(df_cas_segment_features(f, a, rgb, NULL, NULL, NULL, &result), DF_E_INVALID_ARG,
                         "df_cas_segment_features");
    ck_assert_ptr_null(result);
    df_cas_view v = {.struct_size = 4};
    ck_assert_fails_with(df_cas_result_view(NULL, &v), DF_E_INVALID_ARG, "df_cas_result_view");
    df_cas_result_free(NULL);
    df_tensor_free(f);
    df_tensor_free(a);
    df_tensor_free(wrong);
}
END_TEST

Suite *segment_suite(void) {
    Suite *s = suite_create("segment");
    TCase *tc = tcase_create("tokencut");
    tcase_set_timeout(tc, HANG_GUARD_SECONDS);
    tcase_add_test(tc, test_tokencut_equals_reference);
    tcase_add_test(tc, test_tokencut_invalid);
    tcase_add_test(tc, test_cas_equals_reference);
    tcase_add_test(tc, test_cas_segment_on_a_model);
    tcase_add_test(tc, test_cas_invalid);
    suite_add_tcase(s, tc);
    return s;
}
