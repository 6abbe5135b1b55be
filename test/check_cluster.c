/* k-means against scikit-learn (test/reference/make_kmeans_fixtures.py) and planted clusters. */
#include "check_common.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>

#define KMEANS_DIR "fixtures/kmeans/"

typedef struct dataset {
    df_tensor *points;
    int32_t *planted;
    int n, d, k;
    double sklearn[2]; /* euclidean, cosine */
} dataset;

static dataset load_dataset(const char *name) {
    dataset set = {0};
    FILE *m = fopen(KMEANS_DIR "manifest.txt", "r");
    ck_assert_ptr_nonnull(m);
    char line[256], a[64], b[64], file[128];
    while (fgets(line, sizeof line, m)) {
        int n, d, k;
        double inertia;
        if (sscanf(line, "data %63s %d %d %d %127s", a, &n, &d, &k, file) == 5 && strcmp(a, name) == 0) {
            size_t size;
            float *values = (float *)read_fixture_from(KMEANS_DIR, file, &size);
            const int64_t shape[2] = {n, d};
            ck_assert_ok(df_tensor_from_host(values, 2, shape, &set.points));
            free(values);
            set.n = n, set.d = d, set.k = k;
        } else if (sscanf(line, "labels %63s %127s", a, file) == 2 && strcmp(a, name) == 0) {
            size_t size;
            set.planted = (int32_t *)read_fixture_from(KMEANS_DIR, file, &size);
        } else if (sscanf(line, "sklearn %63s %63s %lf", a, b, &inertia) == 3 && strcmp(a, name) == 0) {
            set.sklearn[strcmp(b, "cosine") == 0] = inertia;
        }
    }
    fclose(m);
    ck_assert_ptr_nonnull(set.points);
    return set;
}

static void free_dataset(dataset *set) {
    df_tensor_free(set->points);
    free(set->planted);
}

static df_options *kmeans_options(int k, int metric) {
    df_options *o = NULL;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_KMEANS_K, k));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_KMEANS_METRIC, metric));
    return o;
}

/* Predicted clusters and planted ones correspond one to one. */
static void assert_recovers(const df_kmeans *kmeans, const dataset *set) {
    df_tensor *labels = NULL;
    ck_assert_ok(df_kmeans_predict(kmeans, set->points, &labels));
    df_tensor_view view = {.struct_size = sizeof view};
    ck_assert_ok(df_tensor_view_of(labels, &view));
    ck_assert_int_eq(view.dtype, DF_DTYPE_INT64);
    const int64_t *predicted = view.data;
    int map[64], back[64];
    for (int c = 0; c < 64; c++) map[c] = back[c] = -1;
    for (int i = 0; i < set->n; i++) {
        int p = (int)predicted[i], t = set->planted[i];
        ck_assert_msg(map[p] == -1 || map[p] == t, "cluster %d holds planted %d and %d", p, map[p], t);
        ck_assert_msg(back[t] == -1 || back[t] == p, "planted %d split over %d and %d", t, back[t], p);
        map[p] = t;
        back[t] = p;
    }
    df_tensor_free(labels);
}

START_TEST(test_recovers_planted_clusters) {
    dataset set = load_dataset("separated");
    for (int metric = 0; metric < 2; metric++) {
        df_options *o = kmeans_options(set.k, metric);
        df_kmeans *kmeans = NULL;
        ck_assert_ok(df_kmeans_fit(set.points, o, &kmeans));
        assert_recovers(kmeans, &set);
        const df_tensor *centroids;
        ck_assert_ok(df_kmeans_centroids(kmeans, &centroids));
        int64_t shape[2];
        ck_assert_ok(df_tensor_shape(centroids, shape, 2));
        ck_assert(shape[0] == set.k && shape[1] == set.d);
        int64_t iterations;
        ck_assert_ok(df_kmeans_iterations(kmeans, &iterations));
        ck_assert_int_ge(iterations, 1);
        df_kmeans_free(kmeans);
        df_options_free(o);
    }
    free_dataset(&set);
}
END_TEST

/* The inertia recomputed here from the points and the fitted centroids: the sum over points of
 * the squared distance to the nearest centroid (rows L2-normalised first for the cosine metric),
 * in double precision. *tolerance: how far a float32 computation may be from it, whatever its
 * order of operations: |x|^2 + |c|^2 - 2 x.c (the GEMM form) with each of the three terms off by
 * up to d float32 roundings of its size, summed over the points. */
static double recomputed_inertia(const df_tensor *points, const df_tensor *centroids, int cosine, double *tolerance) {
    int64_t ps[2], cs[2];
    ck_assert_ok(df_tensor_shape(points, ps, 2));
    ck_assert_ok(df_tensor_shape(centroids, cs, 2));
    ck_assert_int_eq(ps[1], cs[1]);
    const size_t n = (size_t)ps[0], k = (size_t)cs[0], d = (size_t)ps[1];
    float *x = malloc(n * d * sizeof *x), *c = malloc(k * d * sizeof *c);
    ck_assert_ok(df_tensor_copy_to_host(points, x, n * d));
    ck_assert_ok(df_tensor_copy_to_host(centroids, c, k * d));
    double total = 0, magnitude = 0;
    for (size_t i = 0; i < n; i++) {
        double norm = 0;
        for (size_t t = 0; t < d; t++) norm += (double)x[i * d + t] * x[i * d + t];
        const double scale = cosine ? 1 / fmax(sqrt(norm), 1e-12) : 1;
        double nearest = INFINITY, centre = 0;
        for (size_t j = 0; j < k; j++) {
            double distance = 0, size = 0;
            for (size_t t = 0; t < d; t++) {
                const double diff = x[i * d + t] * scale - c[j * d + t];
                distance += diff * diff;
                size += (double)c[j * d + t] * c[j * d + t];
            }
            if (distance < nearest) nearest = distance, centre = size;
        }
        total += nearest;
        magnitude += norm * scale * scale + centre + 2 * sqrt(norm * scale * scale * centre);
    }
    *tolerance = (double)d * FLT_EPSILON * magnitude;
    free(x), free(c);
    return total;
}

START_TEST(test_inertia_within_one_percent_of_sklearn) {
    const char *names[2] = {"separated", "overlapping"};
    for (int s = 0; s < 2; s++) {
        dataset set = load_dataset(names[s]);
        for (int metric = 0; metric < 2; metric++) {
            df_options *o = kmeans_options(set.k, metric);
            df_kmeans *kmeans = NULL;
            ck_assert_ok(df_kmeans_fit(set.points, o, &kmeans));
            double inertia;
            ck_assert_ok(df_kmeans_inertia(kmeans, &inertia));
            printf("k-means %s %s: inertia %.6g, scikit-learn best of 10 %.6g (ratio %.4f)\n", names[s],
                   metric ? "cosine" : "euclidean", inertia, set.sklearn[metric], inertia / set.sklearn[metric]);
            ck_assert_msg(inertia <= 1.01 * set.sklearn[metric], "%s: inertia %.6g vs scikit-learn %.6g", names[s], inertia,
                          set.sklearn[metric]);
            /* the reported inertia is that of the returned centroids */
            const df_tensor *centroids;
            ck_assert_ok(df_kmeans_centroids(kmeans, &centroids));
            double tolerance;
            const double recomputed = recomputed_inertia(set.points, centroids, metric == DF_KMEANS_COSINE, &tolerance);
            ck_assert_msg(fabs(inertia - recomputed) <= tolerance, "%s %s: reported inertia %.9g, recomputed %.9g (+- %.3g)",
                          names[s], metric ? "cosine" : "euclidean", inertia, recomputed, tolerance);
            ck_assert_msg(tolerance < 1e-2 * recomputed, "%s: a tolerance of %.3g says nothing", names[s], tolerance);
            df_kmeans_free(kmeans);
            df_options_free(o);
        }
        free_dataset(&set);
    }
}
END_TEST

START_TEST(test_deterministic_for_a_seed) {
    dataset set = load_dataset("overlapping");
    df_options *o = kmeans_options(set.k, DF_KMEANS_EUCLIDEAN);
    ck_assert_ok(df_options_set_int(o, DF_PARAM_KMEANS_SEED, 42));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_KMEANS_INITS, 3));
    df_kmeans *a = NULL, *b = NULL, *c = NULL;
    ck_assert_ok(df_kmeans_fit(set.points, o, &a));
    ck_assert_ok(df_kmeans_fit(set.points, o, &b));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_KMEANS_SEED, 43));
    ck_assert_ok(df_kmeans_fit(set.points, o, &c));
    const df_tensor *ca, *cb, *cc;
    df_kmeans_centroids(a, &ca);
    df_kmeans_centroids(b, &cb);
    df_kmeans_centroids(c, &cc);
    size_t n = (size_t)df_tensor_numel(ca);
    float *va = malloc(n * sizeof *va), *vb = malloc(n * sizeof *vb), *vc = malloc(n * sizeof *vc);
    ck_assert_ok(df_tensor_copy_to_host(ca, va, n));
    ck_assert_ok(df_tensor_copy_to_host(cb, vb, n));
    ck_assert_ok(df_tensor_copy_to_host(cc, vc, n));
    ck_assert_int_eq(memcmp(va, vb, n * sizeof *va), 0);
    ck_assert_int_ne(memcmp(va, vc, n * sizeof *va), 0);
    free(va);
    free(vb);
    free(vc);
    df_kmeans_free(a);
    df_kmeans_free(b);
    df_kmeans_free(c);
    df_options_free(o);
    free_dataset(&set);
}
END_TEST

START_TEST(test_sample_and_minibatch) {
    dataset set = load_dataset("separated");
    df_options *o = kmeans_options(set.k, DF_KMEANS_EUCLIDEAN);
    ck_assert_ok(df_options_set_int(o, DF_PARAM_KMEANS_SAMPLE, 300));
    df_kmeans *kmeans = NULL;
    ck_assert_ok(df_kmeans_fit(set.points, o, &kmeans));
    assert_recovers(kmeans, &set); /* fitted on 300 points, assigns all 1500 */
    df_kmeans_free(kmeans);
    ck_assert_ok(df_options_set_int(o, DF_PARAM_KMEANS_SAMPLE, 0));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_KMEANS_BATCH, 128));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_KMEANS_MAX_ITER, 100));
    ck_assert_ok(df_kmeans_fit(set.points, o, &kmeans));
    assert_recovers(kmeans, &set);
    double inertia;
    ck_assert_ok(df_kmeans_inertia(kmeans, &inertia));
    ck_assert_double_le(inertia, 1.05 * set.sklearn[0]);
    df_kmeans_free(kmeans);
    df_options_free(o);
    free_dataset(&set);
}
END_TEST

START_TEST(test_kmeans_errors) {
    dataset set = load_dataset("separated");
    df_kmeans *kmeans = NULL;
    df_options *o = kmeans_options(2000, DF_KMEANS_EUCLIDEAN);
    ck_assert_fails_with(df_kmeans_fit(set.points, o, &kmeans), DF_E_INVALID_ARG, "df_kmeans_fit");
    ck_assert_ptr_null(kmeans);
    ck_assert_fails_with(df_kmeans_fit(NULL, NULL, &kmeans), DF_E_INVALID_ARG, "df_kmeans_fit");
    ck_assert_fails_with(df_kmeans_fit(set.points, NULL, NULL), DF_E_INVALID_ARG, "df_kmeans_fit");
    const int64_t flat[1] = {12}, ints[2] = {4, 3};
    df_tensor *vector = NULL, *integers = NULL, *wrong_d = NULL;
    ck_assert_ok(df_tensor_new(1, flat, DF_DTYPE_FLOAT32, NULL, &vector));
    ck_assert_ok(df_tensor_new(2, ints, DF_DTYPE_INT64, NULL, &integers));
    ck_assert_ok(df_tensor_new(2, ints, DF_DTYPE_FLOAT32, NULL, &wrong_d));
    ck_assert_fails_with(df_kmeans_fit(vector, NULL, &kmeans), DF_E_INVALID_ARG, "df_kmeans_fit");
    ck_assert_fails_with(df_kmeans_fit(integers, NULL, &kmeans), DF_E_INVALID_ARG, "df_kmeans_fit");
    ck_assert_ok(df_kmeans_fit(set.points, NULL, &kmeans)); /* defaults: 8 clusters */
    df_tensor *labels = NULL;
    ck_assert_fails_with(df_kmeans_predict(kmeans, wrong_d, &labels), DF_E_INVALID_ARG, "df_kmeans_predict");
    ck_assert_fails_with(df_kmeans_predict(NULL, set.points, &labels), DF_E_INVALID_ARG, "df_kmeans_predict");
    ck_assert_fails_with(df_kmeans_predict(kmeans, NULL, &labels), DF_E_INVALID_ARG, "df_kmeans_predict");
    ck_assert_fails_with(df_kmeans_predict(kmeans, set.points, NULL), DF_E_INVALID_ARG, "df_kmeans_predict");
    ck_assert_ptr_null(labels);
    const df_tensor *centroids;
    double inertia;
    int64_t iterations;
    ck_assert_fails_with(df_kmeans_centroids(NULL, &centroids), DF_E_INVALID_ARG, "df_kmeans_centroids");
    ck_assert_fails_with(df_kmeans_inertia(kmeans, NULL), DF_E_INVALID_ARG, "df_kmeans_inertia");
    ck_assert_fails_with(df_kmeans_iterations(NULL, &iterations), DF_E_INVALID_ARG, "df_kmeans_iterations");
    ck_assert_ok(df_kmeans_inertia(kmeans, &inertia));
    ck_assert_double_gt(inertia, 0);
    ck_assert_fails_with(df_options_set_float(o, DF_PARAM_KMEANS_TOL, -1.0), DF_E_INVALID_ARG, "df_options_set_float");
    df_kmeans_free(kmeans);
    df_kmeans_free(NULL);
    df_tensor_free(vector);
    df_tensor_free(integers);
    df_tensor_free(wrong_d);
    df_options_free(o);
    free_dataset(&set);
}
END_TEST

#define LINKAGE_DIR "fixtures/linkage/"

/* Our clusters and scipy's fcluster labels are the same partition. */
static void assert_same_partition(const int32_t *ours, const int32_t *theirs, int n, const char *what) {
    int map[4096], back[4096];
    for (int i = 0; i < 4096; i++) map[i] = back[i] = -1;
    for (int i = 0; i < n; i++) {
        int a = ours[i], b = theirs[i];
        ck_assert_msg(map[a] == -1 || map[a] == b, "%s: our cluster %d holds scipy's %d and %d", what, a, map[a], b);
        ck_assert_msg(back[b] == -1 || back[b] == a, "%s: scipy's cluster %d split over %d and %d", what, b, back[b], a);
        map[a] = b;
        back[b] = a;
    }
}

START_TEST(test_complete_linkage_equals_scipy) {
    FILE *m = fopen(LINKAGE_DIR "manifest.txt", "r");
    ck_assert_ptr_nonnull(m);
    char line[256], name[64], file[128];
    int n = 0, d = 0, expected, cuts = 0;
    double threshold;
    float *points = NULL;
    while (fgets(line, sizeof line, m)) {
        if (sscanf(line, "points %63s %d %d %127s", name, &n, &d, file) == 4) {
            size_t size;
            free(points);
            points = (float *)read_fixture_from(LINKAGE_DIR, file, &size);
        } else if (sscanf(line, "cut %63s %lf %d %127s", name, &threshold, &expected, file) == 4) {
            int32_t *labels = malloc((size_t)n * sizeof *labels);
            size_t count;
            ck_assert_ok(df_agglomerate_complete(points, (size_t)n, (size_t)d, threshold, 1, labels, &count));
            ck_assert_msg((int)count == expected, "%s at %.6g: %zu clusters, scipy %d", name, threshold, count, expected);
            size_t size;
            int32_t *theirs = (int32_t *)read_fixture_from(LINKAGE_DIR, file, &size);
            assert_same_partition(labels, theirs, n, name);
            /* The cluster-count stop: never fewer than asked. */
            ck_assert_ok(df_agglomerate_complete(points, (size_t)n, (size_t)d, INFINITY, count, labels, &count));
            ck_assert_int_eq((int)count, expected);
            free(theirs);
            free(labels);
            cuts++;
        }
    }
    fclose(m);
    free(points);
    ck_assert_int_ge(cuts, 9);
}
END_TEST

START_TEST(test_linkage_errors_and_edges) {
    const float points[6] = {0, 0, 0, 1, 5, 5};
    int32_t labels[3];
    size_t count;
    ck_assert_ok(df_agglomerate_complete(points, 3, 2, 1.0, 1, labels, &count));
    ck_assert_uint_eq(count, 2);
    ck_assert(labels[0] == 0 && labels[1] == 0 && labels[2] == 1);
    ck_assert_ok(df_agglomerate_complete(points, 3, 2, -1.0, 1, labels, &count));
    ck_assert_uint_eq(count, 3);
    ck_assert_ok(df_agglomerate_complete(points, 1, 2, 1.0, 1, labels, &count));
    ck_assert_uint_eq(count, 1);
    ck_assert_fails_with(df_agglomerate_complete(points, 0, 2, 1.0, 1, labels, &count), DF_E_INVALID_ARG,
                         "df_agglomerate_complete");
    ck_assert_fails_with(df_agglomerate_complete(points, 3, 2, NAN, 1, labels, &count), DF_E_INVALID_ARG,
                         "df_agglomerate_complete");
    ck_assert_fails_with(df_agglomerate_complete(NULL, 3, 2, 1.0, 1, labels, &count), DF_E_INVALID_ARG,
                         "df_agglomerate_complete");
    ck_assert_fails_with(df_agglomerate_complete(points, 3, 2, 1.0, 1, NULL, &count), DF_E_INVALID_ARG,
                         "df_agglomerate_complete");
}
END_TEST

/* Four points +-2u +-v about (10, -5), u at 30 degrees, v at 120: the covariance's axes are u
 * (variance 4) and v (variance 1), exactly; each axis signed with its largest entry positive. */
START_TEST(test_pca_fit_finds_known_axes) {
    const double c = sqrt(3.0) / 2, s = 0.5;
    const double u[2] = {c, s}, v[2] = {-s, c};
    float points[8];
    for (int i = 0; i < 4; i++) {
        const double a = i & 1 ? 2 : -2, b = i & 2 ? 1 : -1;
        points[2 * i] = (float)(10 + a * u[0] + b * v[0]);
        points[2 * i + 1] = (float)(-5 + a * u[1] + b * v[1]);
    }
    float mean[2], basis[4];
    ck_assert_ok(df_pca_fit(points, 4, 2, 2, mean, basis));
    /* float32 inputs (rounded at 2^-20 near 10) and float32 outputs: 1e-5 is a few of their ulps */
    ck_assert_float_eq_tol(mean[0], 10.0f, 1e-5f);
    ck_assert_float_eq_tol(mean[1], -5.0f, 1e-5f);
    ck_assert_float_eq_tol(basis[0], (float)u[0], 1e-5f);
    ck_assert_float_eq_tol(basis[1], (float)u[1], 1e-5f);
    ck_assert_float_eq_tol(basis[2], (float)v[0], 1e-5f);
    ck_assert_float_eq_tol(basis[3], (float)v[1], 1e-5f);
    float first[2];
    ck_assert_ok(df_pca_fit(points, 4, 2, 1, mean, first)); /* fewer components: the leading ones */
    ck_assert_float_eq_tol(first[0], (float)u[0], 1e-5f);
    ck_assert_float_eq_tol(first[1], (float)u[1], 1e-5f);
    ck_assert_fails_with(df_pca_fit(points, 4, 2, 3, mean, basis), DF_E_INVALID_ARG, "df_pca_fit");
    ck_assert_fails_with(df_pca_fit(points, 4, 2, 0, mean, basis), DF_E_INVALID_ARG, "df_pca_fit");
    ck_assert_fails_with(df_pca_fit(points, 0, 2, 1, mean, basis), DF_E_INVALID_ARG, "df_pca_fit");
    ck_assert_fails_with(df_pca_fit(NULL, 4, 2, 1, mean, basis), DF_E_INVALID_ARG, "df_pca_fit");
    ck_assert_fails_with(df_pca_fit(points, 4, 2, 1, mean, NULL), DF_E_INVALID_ARG, "df_pca_fit");
}
END_TEST

Suite *cluster_suite(void) {
    Suite *suite = suite_create("cluster");
    TCase *tc = tcase_create("kmeans");
    tcase_set_timeout(tc, HANG_GUARD_SECONDS);
    tcase_add_test(tc, test_recovers_planted_clusters);
    tcase_add_test(tc, test_inertia_within_one_percent_of_sklearn);
    tcase_add_test(tc, test_deterministic_for_a_seed);
    tcase_add_test(tc, test_sample_and_minibatch);
    tcase_add_test(tc, test_kmeans_errors);
    suite_add_tcase(suite, tc);
    TCase *linkage = tcase_create("linkage");
    tcase_set_timeout(linkage, HANG_GUARD_SECONDS);
    tcase_add_test(linkage, test_complete_linkage_equals_scipy);
    tcase_add_test(linkage, test_linkage_errors_and_edges);
    tcase_add_test(linkage, test_pca_fit_finds_known_axes);
    suite_add_tcase(suite, linkage);
    return suite;
}
