/* Louvain (igraph) against planted partitions and networkx, and DatUS²'s segment split against
 * scipy (test/reference/make_datus_fixtures.py). */
#include "check_common.h"

#include <math.h>
#include <stdlib.h>

#define DATUS_DIR "fixtures/datus/"

/* cliques of `size` vertices each, consecutive ones joined by one edge (a ring when ring != 0). */
static size_t clique_edges(size_t cliques, size_t size, int ring, int64_t *edges) {
    size_t m = 0;
    for (size_t c = 0; c < cliques; c++) {
        for (size_t a = 0; a < size; a++)
            for (size_t b = a + 1; b < size; b++) edges[2 * m] = (int64_t)(c * size + a), edges[2 * m + 1] = (int64_t)(c * size + b), m++;
        if (c + 1 < cliques || (ring && cliques > 2))
            edges[2 * m] = (int64_t)(c * size), edges[2 * m + 1] = (int64_t)(((c + 1) % cliques) * size + 1), m++;
    }
    return m;
}

START_TEST(test_louvain_recovers_cliques) {
    int64_t edges[2 * 200];
    int32_t membership[60];
    size_t count;
    double q;
    size_t m = clique_edges(2, 5, 0, edges);
    ck_assert_ok(df_louvain(10, edges, m, NULL, 1.0, 0, membership, &count, &q));
    ck_assert_uint_eq(count, 2);
    for (int i = 0; i < 10; i++) ck_assert_int_eq(membership[i], i / 5);
    m = clique_edges(6, 5, 1, edges);
    ck_assert_ok(df_louvain(30, edges, m, NULL, 1.0, 7, membership, &count, &q));
    ck_assert_uint_eq(count, 6);
    for (int i = 0; i < 30; i++) ck_assert_int_eq(membership[i], i / 5);
    ck_assert_double_gt(q, 0.6);
    /* isolated vertices are their own communities */
    ck_assert_ok(df_louvain(3, edges, 0, NULL, 1.0, 0, membership, &count, NULL));
    ck_assert_uint_eq(count, 3);
}
END_TEST

/* Newman's modularity of a partition of an unweighted graph, computed here: the sum over
 * communities of (edges inside) / m - (degree sum / 2m)^2. */
static double recomputed_modularity(const int64_t *edges, size_t m, const int32_t *membership, size_t count) {
    double *inside = calloc(count, sizeof *inside), *degree = calloc(count, sizeof *degree);
    for (size_t e = 0; e < m; e++) {
        const int32_t a = membership[edges[2 * e]], b = membership[edges[2 * e + 1]];
        ck_assert(a >= 0 && (size_t)a < count && b >= 0 && (size_t)b < count);
        degree[a] += 1, degree[b] += 1;
        if (a == b) inside[a] += 1;
    }
    double q = 0;
    for (size_t c = 0; c < count; c++) q += inside[c] / (double)m - pow(degree[c] / (2.0 * (double)m), 2);
    free(inside), free(degree);
    return q;
}

START_TEST(test_louvain_modularity_matches_networkx) {
    FILE *f = fopen(DATUS_DIR "manifest.txt", "r");
    ck_assert_ptr_nonnull(f);
    char line[256], id[32], file[64];
    int checked = 0;
    size_t n, m;
    double expected;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "graph %31s %zu %zu %lf %63s", id, &n, &m, &expected, file) != 5) continue;
        size_t size;
        int64_t *edges = (int64_t *)read_fixture_from(DATUS_DIR, file, &size);
        ck_assert_uint_eq(size, m * 2 * sizeof(int64_t));
        int32_t *membership = malloc(n * sizeof *membership), *again = malloc(n * sizeof *again);
        size_t count;
        double best = -1, q;
        for (uint64_t seed = 0; seed < 5; seed++) {
            ck_assert_ok(df_louvain(n, edges, m, NULL, 1.0, seed, membership, &count, &q));
            const double recomputed = recomputed_modularity(edges, m, membership, count);
            ck_assert_msg(fabs(q - recomputed) <= 1e-9, "%s seed %llu: reported modularity %.12f, recomputed %.12f", id,
                          (unsigned long long)seed, q, recomputed);
            best = fmax(best, q);
        }
        fprintf(stderr, "louvain %s: modularity %.6f, networkx %.6f\n", id, best, expected);
        ck_assert_msg(best >= expected - 1e-9, "%s: modularity %.9f below networkx's %.9f", id, best, expected);
        /* the same seed, the same communities */
        ck_assert_ok(df_louvain(n, edges, m, NULL, 1.0, 3, membership, &count, NULL));
        ck_assert_ok(df_louvain(n, edges, m, NULL, 1.0, 3, again, &count, NULL));
        ck_assert_mem_eq(membership, again, n * sizeof *again);
        free(edges), free(membership), free(again);
        checked++;
    }
    fclose(f);
    ck_assert_int_ge(checked, 3);
}
END_TEST

START_TEST(test_datus_split_equals_scipy) {
    FILE *f = fopen(DATUS_DIR "manifest.txt", "r");
    ck_assert_ptr_nonnull(f);
    char line[256], id[32], cfile[64], sfile[64];
    int checked = 0;
    size_t gh, gw, tau, expected_count;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "split %31s %zu %zu %zu %zu %63s %63s", id, &gh, &gw, &tau, &expected_count, cfile, sfile) != 7)
            continue;
        size_t size;
        int32_t *communities = (int32_t *)read_fixture_from(DATUS_DIR, cfile, &size);
        int32_t *expected = (int32_t *)read_fixture_from(DATUS_DIR, sfile, &size);
        int32_t *segments = malloc(gh * gw * sizeof *segments);
        size_t count;
        ck_assert_ok(df_datus_split(communities, gh, gw, tau, segments, &count));
        ck_assert_uint_eq(count, expected_count);
        ck_assert_msg(memcmp(segments, expected, gh * gw * sizeof *segments) == 0, "%s: segments differ from scipy's", id);
        free(communities), free(expected), free(segments);
        checked++;
    }
    fclose(f);
    ck_assert_int_ge(checked, 3);
}
END_TEST

/* Keys of three region classes whose directions are 120 degrees apart: positive affinity only
 * within a class, so communities are the classes and segments their connected regions. */
START_TEST(test_datus_segments_of_planted_keys) {
    enum { GH = 14, GW = 16, DIM = 4 };
    float keys[GH * GW * DIM];
    int32_t region[GH * GW], segments[GH * GW], communities[GH * GW];
    for (int y = 0; y < GH; y++)
        for (int x = 0; x < GW; x++) {
            int r = x < 6 ? 0 : (y < 7 ? 1 : 2);
            if (x >= 13 && y >= 11) r = 0; /* a second, separate piece of class 0 */
            if (x == 8 && y == 3) r = 2;   /* a speck: noise */
            region[y * GW + x] = r;
            const double angle = 2.0944 * r, jitter = 0.05 * sin(7.0 * (y * GW + x));
            float *k = keys + (y * GW + x) * DIM;
            k[0] = (float)cos(angle + jitter), k[1] = (float)sin(angle + jitter), k[2] = 0.01f * (float)jitter, k[3] = 0;
        }
    size_t count;
    ck_assert_ok(df_datus_segments(keys, GH, GW, DIM, 5, 0, segments, &count, communities));
    ck_assert_uint_eq(count, 4); /* class 0 left, class 1, class 2, class 0's corner */
    for (int i = 0; i < GH * GW; i++)
        for (int j = 0; j < GH * GW; j++)
            ck_assert((communities[i] == communities[j]) == (region[i] == region[j]));
    ck_assert_int_eq(segments[3 * GW + 8], 0); /* the speck is noise */
    ck_assert_int_eq(segments[0], 1);
    ck_assert_int_ne(segments[13 * GW + 15], segments[0]);
    ck_assert_int_gt(segments[13 * GW + 15], 0);
}
END_TEST

START_TEST(test_louvain_errors) {
    int64_t edges[4] = {0, 1, 1, 5};
    int32_t membership[4];
    size_t count;
    double weights[2] = {1, -1};
    ck_assert_fails_with(df_louvain(4, edges, 2, NULL, 1.0, 0, membership, &count, NULL), DF_E_INVALID_ARG, "df_louvain");
    edges[3] = 2;
    ck_assert_fails_with(df_louvain(4, edges, 2, weights, 1.0, 0, membership, &count, NULL), DF_E_INVALID_ARG, "df_louvain");
    ck_assert_fails_with(df_louvain(0, edges, 0, NULL, 1.0, 0, membership, &count, NULL), DF_E_INVALID_ARG, "df_louvain");
    ck_assert_fails_with(df_louvain(4, edges, 2, NULL, -1.0, 0, membership, &count, NULL), DF_E_INVALID_ARG, "df_louvain");
    weights[1] = 2;
    ck_assert_ok(df_louvain(4, edges, 2, weights, 1.0, 0, membership, &count, NULL));
    ck_assert_fails_with(df_datus_split(NULL, 2, 2, 1, membership, &count), DF_E_INVALID_ARG, "df_datus_split");
    float keys[4] = {1, 0, 0, 1};
    ck_assert_fails_with(df_datus_segments(keys, 0, 2, 2, 1, 0, membership, &count, NULL), DF_E_INVALID_ARG,
                         "df_datus_segments");
}
END_TEST

Suite *datus_suite(void) {
    Suite *s = suite_create("datus");
    TCase *tc = tcase_create("graph");
    tcase_add_test(tc, test_louvain_recovers_cliques);
    tcase_add_test(tc, test_louvain_modularity_matches_networkx);
    tcase_add_test(tc, test_datus_split_equals_scipy);
    tcase_add_test(tc, test_datus_segments_of_planted_keys);
    tcase_add_test(tc, test_louvain_errors);
    suite_add_tcase(s, tc);
    return s;
}

#define CROPS_DIR "fixtures/datus_crops/"

/* Crops and their [CLS] features against torchvision + the reference ViT. */
START_TEST(test_datus_crops_equal_reference) {
    size_t size;
    uint8_t *rgb = read_fixture_from(CROPS_DIR, "image.rgb.u8", &size);
    ck_assert_uint_eq(size, 64 * 64 * 3);
    int32_t *segments = (int32_t *)read_fixture_from(CROPS_DIR, "segments.i32", &size);
    float *expected = (float *)read_fixture_from(CROPS_DIR, "features.f32", &size);
    ck_assert_uint_eq(size, 3 * 16 * sizeof(float));
    df_image *image;
    ck_assert_ok(df_image_from_pixels(rgb, 64, 64, 3, 8, 0, &image));
    for (int k = 1; k <= 3; k++) {
        df_image *crop;
        ck_assert_ok(df_datus_crop(image, segments, 8, 8, 8, k, 40, 32, &crop));
        ck_assert_uint_eq(df_image_width(crop), 32);
        char name[32];
        snprintf(name, sizeof name, "crop%d.u8", k);
        uint8_t *reference = read_fixture_from(CROPS_DIR, name, &size);
        ck_assert_uint_eq(size, 32 * 32 * 3);
        ck_assert_msg(memcmp(df_image_pixels(crop), reference, size) == 0, "crop %d differs from torchvision's", k);
        free(reference);
        df_image_free(crop);
    }
    df_options *o;
    df_model *model;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_MODEL_HEADS, 2));
    ck_assert_ok(df_model_open("fixtures/models/dino_s8.pth", NULL, o, &model));
    float features[3 * 16];
    ck_assert_ok(df_datus_crop_features(model, image, segments, 8, 8, 3, 40, 32, features));
    for (int i = 0; i < 48; i++) ck_assert_float_eq_tol(features[i], expected[i], 1e-5);
    df_image *missing = NULL;
    ck_assert_fails_with(df_datus_crop(image, segments, 8, 8, 8, 9, 40, 32, &missing), DF_E_INVALID_ARG, "df_datus_crop");
    ck_assert_fails_with(df_datus_crop(image, segments, 9, 8, 8, 1, 40, 32, &missing), DF_E_INVALID_ARG, "df_datus_crop");
    ck_assert_fails_with(df_datus_crop(image, segments, 8, 8, 8, 1, 30, 32, &missing), DF_E_INVALID_ARG, "df_datus_crop");
    ck_assert_ptr_null(missing);
    ck_assert_fails_with(df_datus_crop_features(NULL, image, segments, 8, 8, 3, 40, 32, features), DF_E_INVALID_ARG,
                         "df_datus_crop_features");
    ck_assert_fails_with(df_datus_crop_features(model, image, segments, 8, 8, 4, 40, 32, features), DF_E_INVALID_ARG,
                         "df_datus_crop_features"); /* segment 4 has no patch */
    ck_assert_fails_with(df_datus_crop_features(model, image, segments, 8, 8, 3, 40, 32, NULL), DF_E_INVALID_ARG,
                         "df_datus_crop_features");
    df_model_free(model);
    df_options_free(o);
    df_image_free(image);
    free(rgb), free(segments), free(expected);
}
END_TEST

/* More crops than one forward pass takes: every crop's feature equals its own pass's. */
START_TEST(test_datus_crop_features_in_passes) {
    size_t size;
    uint8_t *rgb = read_fixture_from(CROPS_DIR, "image.rgb.u8", &size);
    df_image *image;
    ck_assert_ok(df_image_from_pixels(rgb, 64, 64, 3, 8, 0, &image));
    int32_t segments[64];
    for (int i = 0; i < 64; i++) segments[i] = i + 1; /* every patch its own segment */
    df_options *o;
    df_model *model;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_MODEL_HEADS, 2));
    ck_assert_ok(df_model_open("fixtures/models/dino_s8.pth", NULL, o, &model));
    float *features = malloc(64 * 16 * sizeof *features), single[16];
    ck_assert_ok(df_datus_crop_features(model, image, segments, 8, 8, 64, 40, 32, features));
    const int ids[4] = {1, 16, 17, 64};
    for (int k = 0; k < 4; k++) {
        df_image *crop;
        df_tensor *x;
        df_forward *forward;
        const df_tensor *cls;
        ck_assert_ok(df_datus_crop(image, segments, 8, 8, 8, ids[k], 40, 32, &crop));
        ck_assert_ok(df_image_to_tensor(crop, NULL, NULL, &x));
        ck_assert_ok(df_model_forward(model, x, DF_OUTPUT_CLS, &forward));
        ck_assert_ok(df_forward_output(forward, DF_OUTPUT_CLS, &cls));
        ck_assert_ok(df_tensor_copy_to_host(cls, single, 16));
        double norm = 0;
        for (int d = 0; d < 16; d++) norm += (double)single[d] * single[d];
        for (int d = 0; d < 16; d++)
            ck_assert_float_eq_tol(features[(ids[k] - 1) * 16 + d], single[d] / sqrt(norm), 1e-5);
        df_forward_free(forward);
        df_tensor_free(x);
        df_image_free(crop);
    }
    free(features);
    free(rgb);
    df_model_free(model);
    df_options_free(o);
    df_image_free(image);
}
END_TEST

Suite *datus_crops_suite(void) {
    Suite *s = suite_create("datus_crops");
    TCase *tc = tcase_create("crops");
    tcase_add_test(tc, test_datus_crops_equal_reference);
    tcase_add_test(tc, test_datus_crop_features_in_passes);
    suite_add_tcase(s, tc);
    return s;
}
