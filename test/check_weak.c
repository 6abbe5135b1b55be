/* The classical feature stack against HR-Dv2's featuriser's semantics
 * (test/reference/make_classical_fixtures.py; the reference equals the official
 * multiscale_advanced_features bit for bit). */
#include "check_common.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#define CLASSICAL_DIR "fixtures/classical/"

/* Every channel of the fixture pixels within 1e-5 of the channel's range there. The library
 * rounds where the official code rounds (float32 Gaussians, float32 gradients and statistics), so
 * only the order of double sums differs, far below float32's unit; the wide Gaussians' Hessians
 * are differences of such float32 values, hence the range rather than the value as the scale. */
START_TEST(test_classical_equals_reference) {
    FILE *manifest = fopen(CLASSICAL_DIR "manifest.txt", "r");
    ck_assert_ptr_nonnull(manifest);
    char line[128], name[32];
    size_t h, w, count;
    int images = 0;
    double largest = 0;
    while (fgets(line, sizeof line, manifest)) {
        if (sscanf(line, "image %31s %zu %zu %zu", name, &h, &w, &count) != 4) continue;
        char file[64];
        size_t size;
        snprintf(file, sizeof file, "%s.u8", name);
        uint8_t *grey = read_fixture_from(CLASSICAL_DIR, file, &size);
        ck_assert_uint_eq(size, h * w);
        snprintf(file, sizeof file, "%s.index.u32", name);
        uint32_t *index = (uint32_t *)read_fixture_from(CLASSICAL_DIR, file, &size);
        ck_assert_uint_eq(size, count * 4);
        snprintf(file, sizeof file, "%s.f32", name);
        float *want = (float *)read_fixture_from(CLASSICAL_DIR, file, &size);
        ck_assert_uint_eq(size, count * DF_CLASSICAL_CHANNELS * 4);
        float *got = malloc(h * w * DF_CLASSICAL_CHANNELS * sizeof *got);
        ck_assert_ok(df_classical_features(grey, w, h, got));
        for (size_t c = 0; c < DF_CLASSICAL_CHANNELS; c++) {
            double low = INFINITY, high = -INFINITY, worst = 0;
            for (size_t i = 0; i < count; i++) {
                const double v = want[i * DF_CLASSICAL_CHANNELS + c];
                low = fmin(low, v), high = fmax(high, v);
                worst = fmax(worst, fabs(got[(size_t)index[i] * DF_CLASSICAL_CHANNELS + c] - v));
            }
            largest = fmax(largest, worst / fmax(high - low, 1e-30));
            ck_assert_msg(worst <= 1e-5 * fmax(high - low, 1e-30), "%s: channel %zu (%s): largest difference %g, range %g",
                          name, c, df_classical_channel_name(c), worst, high - low);
        }
        free(grey), free(index), free(want), free(got);
        images++;
    }
    fclose(manifest);
    ck_assert_int_eq(images, 3);
    fprintf(stderr, "classical features: largest difference %.2g of a channel's range\n", largest);
}
END_TEST

/* Other groups and settings (rank filters, neighbours, scales from 0.5 or not powers of two, a
 * thicker membrane) against the reference, every pixel, with the tolerance above; and their
 * channel counts and names. */
START_TEST(test_classical_groups_equal_reference) {
    FILE *manifest = fopen(CLASSICAL_DIR "manifest.txt", "r");
    ck_assert_ptr_nonnull(manifest);
    char line[256], name[32], groups[128];
    size_t h, w, want_channels;
    int low, high, size, thickness, cases = 0;
    while (fgets(line, sizeof line, manifest)) {
        const int sixteen = strncmp(line, "settings16 ", 11) == 0;
        if (sscanf(line + (sixteen ? 11 : 9), "%31s %zu %zu %127s %d %d %d %d %zu", name, &h, &w, groups, &low, &high,
                   &size, &thickness, &want_channels) != 9 ||
            (!sixteen && strncmp(line, "settings ", 9) != 0))
            continue;
        df_options *o;
        ck_assert_ok(df_options_new(&o));
        ck_assert_ok(df_options_set_str(o, DF_PARAM_CLASSICAL_GROUPS, groups));
        ck_assert_ok(df_options_set_int(o, DF_PARAM_CLASSICAL_MIN_SIGMA, low));
        ck_assert_ok(df_options_set_int(o, DF_PARAM_CLASSICAL_MAX_SIGMA, high));
        ck_assert_ok(df_options_set_int(o, DF_PARAM_CLASSICAL_MEMBRANE_SIZE, size));
        ck_assert_ok(df_options_set_int(o, DF_PARAM_CLASSICAL_MEMBRANE_THICKNESS, thickness));
        size_t channels = 0, bytes;
        ck_assert_ok(df_classical_channels(o, &channels));
        ck_assert_uint_eq(channels, want_channels);
        char file[64];
        snprintf(file, sizeof file, "%s.%s", name, sixteen ? "u16" : "u8");
        uint8_t *grey = read_fixture_from(CLASSICAL_DIR, file, &bytes);
        ck_assert_uint_eq(bytes, h * w * (sixteen ? 2 : 1));
        snprintf(file, sizeof file, "%s.f32", name);
        float *want = (float *)read_fixture_from(CLASSICAL_DIR, file, &bytes);
        ck_assert_uint_eq(bytes, h * w * channels * 4);
        float *got = malloc(h * w * channels * sizeof *got), *again = malloc(h * w * channels * sizeof *again);
        df_image *image;
        ck_assert_ok(df_image_new(w, h, 1, sixteen ? 16 : 8, &image));
        memcpy(df_image_pixels(image), grey, h * w * (sixteen ? 2 : 1)); /* little-endian host */
        ck_assert_ok(df_classical_compute_image(image, o, got));
        if (!sixteen) { /* the byte entry point computes the same */
            ck_assert_ok(df_classical_compute(grey, w, h, o, again));
            ck_assert_mem_eq(got, again, h * w * channels * sizeof *got);
        }
        df_image_free(image);
        free(again);
        for (size_t c = 0; c < channels; c++) {
            double lowest = INFINITY, highest = -INFINITY, worst = 0;
            for (size_t i = 0; i < h * w; i++) {
                const double v = want[i * channels + c];
                lowest = fmin(lowest, v), highest = fmax(highest, v);
                worst = fmax(worst, fabs(got[i * channels + c] - v));
            }
            char label[64];
            ck_assert_ok(df_classical_channel_label(o, c, label, sizeof label));
            ck_assert_msg(worst <= 1e-5 * fmax(highest - lowest, 1e-30), "%s: channel %zu (%s): largest difference %g, "
                          "range %g", name, c, label, worst, highest - lowest);
        }
        free(grey), free(want), free(got);
        df_options_free(o);
        cases++;
    }
    fclose(manifest);
    ck_assert_int_eq(cases, 4);
}
END_TEST

/* Every group at the default scales on the three images of the default stack's test, at their
 * border pixels and 400 inside, with the same tolerance. */
START_TEST(test_classical_all_groups_on_three_images) {
    FILE *manifest = fopen(CLASSICAL_DIR "manifest.txt", "r");
    ck_assert_ptr_nonnull(manifest);
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_str(o, DF_PARAM_CLASSICAL_GROUPS,
                                    "gaussian,sobel,hessian,dog,membrane,mean,median,minimum,maximum,entropy,structure,"
                                    "neighbours,derivatives,bilateral"));
    char line[128], name[32];
    size_t h, w, count, channels, want_channels;
    int images = 0;
    ck_assert_ok(df_classical_channels(o, &channels));
    while (fgets(line, sizeof line, manifest)) {
        if (sscanf(line, "groups %31s %zu %zu %zu %zu", name, &h, &w, &count, &want_channels) != 5) continue;
        ck_assert_uint_eq(channels, want_channels);
        char file[64];
        size_t size;
        snprintf(file, sizeof file, "%s.u8", name);
        uint8_t *grey = read_fixture_from(CLASSICAL_DIR, file, &size);
        ck_assert_uint_eq(size, h * w);
        snprintf(file, sizeof file, "%s.groups.index.u32", name);
        uint32_t *index = (uint32_t *)read_fixture_from(CLASSICAL_DIR, file, &size);
        ck_assert_uint_eq(size, count * 4);
        snprintf(file, sizeof file, "%s.groups.f32", name);
        float *want = (float *)read_fixture_from(CLASSICAL_DIR, file, &size);
        ck_assert_uint_eq(size, count * channels * 4);
        float *got = malloc(h * w * channels * sizeof *got);
        ck_assert_ok(df_classical_compute(grey, w, h, o, got));
        for (size_t c = 0; c < channels; c++) {
            double low = INFINITY, high = -INFINITY, worst = 0;
            for (size_t i = 0; i < count; i++) {
                const double v = want[i * channels + c];
                low = fmin(low, v), high = fmax(high, v);
                worst = fmax(worst, fabs(got[(size_t)index[i] * channels + c] - v));
            }
            char label[64];
            ck_assert_ok(df_classical_channel_label(o, c, label, sizeof label));
            ck_assert_msg(worst <= 1e-5 * fmax(high - low, 1e-30), "%s: channel %zu (%s): largest difference %g, range %g",
                          name, c, label, worst, high - low);
        }
        free(grey), free(index), free(want), free(got);
        images++;
    }
    fclose(manifest);
    df_options_free(o);
    ck_assert_int_eq(images, 3);
}
END_TEST

START_TEST(test_classical_settings_labels_and_errors) {
    size_t channels = 0;
    char label[32];
    ck_assert_ok(df_classical_channels(NULL, &channels));
    ck_assert_uint_eq(channels, DF_CLASSICAL_CHANNELS);
    for (size_t c = 0; c < DF_CLASSICAL_CHANNELS; c++) { /* the default labels are the fixed names */
        ck_assert_ok(df_classical_channel_label(NULL, c, label, sizeof label));
        ck_assert_str_eq(label, df_classical_channel_name(c));
    }
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_str(o, DF_PARAM_CLASSICAL_GROUPS, "neighbours,mean"));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_CLASSICAL_MIN_SIGMA, 2));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_CLASSICAL_MAX_SIGMA, 4));
    ck_assert_ok(df_classical_channels(o, &channels));
    ck_assert_uint_eq(channels, 18); /* scales 2 and 4, each mean then 8 neighbours; no scale 0 */
    ck_assert_ok(df_classical_channel_label(o, 0, label, sizeof label));
    ck_assert_str_eq(label, "mean_2");
    ck_assert_ok(df_classical_channel_label(o, 1, label, sizeof label));
    ck_assert_str_eq(label, "neighbour_-1_-1_2");
    ck_assert_ok(df_classical_channel_label(o, 17, label, sizeof label));
    ck_assert_str_eq(label, "neighbour_1_1_4");
    ck_assert_fails_with(df_classical_channel_label(o, 18, label, sizeof label), DF_E_INVALID_ARG,
                         "df_classical_channel_label");
    ck_assert_fails_with(df_classical_channel_label(o, 0, NULL, 4), DF_E_INVALID_ARG, "df_classical_channel_label");
    ck_assert_fails_with(df_classical_channels(o, NULL), DF_E_INVALID_ARG, "df_classical_channels");
    ck_assert_ok(df_options_set_str(o, DF_PARAM_CLASSICAL_GROUPS, "gaussian,laplacian"));
    ck_assert_fails_with(df_classical_channels(o, &channels), DF_E_INVALID_ARG, "df_classical_channels");
    ck_assert_msg(strstr(df_last_error_message(), "'laplacian' is not a group") != NULL, "%s", df_last_error_message());
    const uint8_t grey[4] = {1, 2, 3, 4};
    float out[4 * 64];
    ck_assert_fails_with(df_classical_compute(grey, 2, 2, o, out), DF_E_INVALID_ARG, "df_classical_compute");
    ck_assert_ok(df_options_set_str(o, DF_PARAM_CLASSICAL_GROUPS, "gaussian"));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_CLASSICAL_MIN_SIGMA, 8));
    ck_assert_fails_with(df_classical_channels(o, &channels), DF_E_INVALID_ARG, "df_classical_channels");
    ck_assert_msg(strstr(df_last_error_message(), "below the smallest scale") != NULL, "%s", df_last_error_message());
    df_options_free(o);
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
    /* one pixel thin: no gradient along that axis (np.gradient refuses it too) */
    ck_assert_fails_with(df_classical_features(grey, 1, 4, out), DF_E_INVALID_ARG, "df_classical_features");
    ck_assert_msg(strstr(df_last_error_message(), "1 x 4: the classical features need at least 2 x 2") != NULL, "%s",
                  df_last_error_message());
    ck_assert_fails_with(df_classical_features(grey, 4, 1, out), DF_E_INVALID_ARG, "df_classical_features");
    /* the smallest image: a flat 2 x 2 has no edge and no curvature */
    const uint8_t flat[4] = {7, 7, 7, 7};
    ck_assert_ok(df_classical_features(flat, 2, 2, out));
    ck_assert_float_eq(out[0], 7.0f);
    for (size_t c = 1; c < 7; c++) ck_assert_float_eq(out[c], 0.0f);
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

#define LOGREG_DIR "fixtures/logreg/"

static void *logreg_file(const char *id, const char *name, size_t expected) {
    char file[128];
    snprintf(file, sizeof file, "%s.%s.raw", id, name);
    size_t size;
    void *data = read_fixture_from(LOGREG_DIR, file, &size);
    ck_assert_ptr_nonnull(data);
    ck_assert_uint_eq(size, expected);
    return data;
}

START_TEST(test_logreg_equals_sklearn) {
    FILE *m = fopen(LOGREG_DIR "manifest.txt", "r");
    ck_assert_ptr_nonnull(m);
    char line[256], id[32];
    int features, classes, train, test, checked = 0;
    double c;
    while (fgets(line, sizeof line, m)) {
        if (sscanf(line, "logreg %31s %d %d %d %d %lf", id, &features, &classes, &train, &test, &c) != 6) continue;
        float *x = logreg_file(id, "train_x", (size_t)train * features * 4), *tx = logreg_file(id, "test_x", (size_t)test * features * 4);
        int32_t *y = logreg_file(id, "train_y", (size_t)train * 4);
        float *expected = logreg_file(id, "proba", (size_t)test * classes * 4), *got = malloc((size_t)test * classes * 4);
        df_options *o;
        ck_assert_ok(df_options_new(&o));
        ck_assert_ok(df_options_set_float(o, DF_PARAM_LOGREG_C, c));
        df_logreg *model;
        ck_assert_ok(df_logreg_train(x, y, (size_t)train, (size_t)features, (size_t)classes, o, &model));
        ck_assert_ok(df_logreg_predict(model, tx, (size_t)test, got));
        int64_t iterations;
        ck_assert_ok(df_logreg_iterations(model, &iterations));
        double worst = 0;
        for (int i = 0; i < test * classes; i++) worst = fmax(worst, fabs(got[i] - expected[i]));
        fprintf(stderr, "logistic regression %s: %lld iterations, max |p - scikit-learn| %.2g\n", id,
                (long long)iterations, worst);
        ck_assert_msg(worst < 1e-3, "%s: probabilities differ from scikit-learn's by %g", id, worst);
        free(x), free(tx), free(y), free(expected), free(got);
        df_logreg_free(model);
        df_options_free(o);
        checked++;
    }
    fclose(m);
    ck_assert_int_ge(checked, 3);
    const float x2[4] = {0, 1, 2, 3};
    const int32_t missing[4] = {0, 0, 2, 2};
    df_logreg *model = NULL;
    ck_assert_fails_with(df_logreg_train(x2, missing, 4, 1, 3, NULL, &model), DF_E_INVALID_ARG, "df_logreg_train");
    ck_assert_fails_with(df_logreg_train(x2, missing, 4, 1, 1, NULL, &model), DF_E_INVALID_ARG, "df_logreg_train");
    ck_assert_ptr_null(model);
    ck_assert_fails_with(df_logreg_predict(NULL, x2, 4, NULL), DF_E_INVALID_ARG, "df_logreg_predict");
    int64_t iterations;
    ck_assert_fails_with(df_logreg_iterations(NULL, &iterations), DF_E_INVALID_ARG, "df_logreg_iterations");
    df_logreg_free(NULL);
}
END_TEST

#define load_png load_weak_png

/* Pixel pairs (right and down neighbours) with different labels: the length of the boundaries. */
static size_t label_edges(const int32_t *labels, size_t w, size_t h) {
    size_t edges = 0;
    for (size_t y = 0; y < h; y++)
        for (size_t x = 0; x < w; x++) {
            if (x + 1 < w) edges += labels[y * w + x] != labels[y * w + x + 1];
            if (y + 1 < h) edges += labels[y * w + x] != labels[(y + 1) * w + x];
        }
    return edges;
}

static double mean_iou(const int32_t *predicted, df_image *truth, int classes) {
    const uint8_t *t = df_image_pixels(truth);
    const size_t n = df_image_width(truth) * df_image_height(truth);
    double total = 0;
    for (int k = 1; k <= classes; k++) {
        size_t both = 0, either = 0;
        for (size_t i = 0; i < n; i++) both += predicted[i] == k && t[i] == k, either += predicted[i] == k || t[i] == k;
        total += either ? (double)both / (double)either : 1.0;
    }
    return total / classes;
}

/* The synthetic micrograph (examples/make_micrograph.py): three phases of one mean intensity. */
START_TEST(test_weak_segments_the_micrograph_from_scribbles) {
    df_image *image = load_png("micrograph.png", 0), *scribbles = load_png("scribbles.png", 1),
             *truth = load_png("truth.png", 1);
    const size_t w = df_image_width(image), h = df_image_height(image), n = w * h;
    const uint8_t *marks = df_image_pixels(scribbles);
    size_t marked = 0;
    for (size_t i = 0; i < n; i++) marked += marks[i] > 0;
    ck_assert_msg(marked * 50 < n, "scribbles cover %zu of %zu pixels, not under 2%%", marked, n);
    df_weak *weak;
    const df_image *images[1] = {image}, *labels[1] = {scribbles};
    ck_assert_ok(df_weak_train(NULL, images, labels, 1, NULL, &weak));
    size_t classes;
    ck_assert_ok(df_weak_classes(weak, &classes));
    ck_assert_uint_eq(classes, 3);
    int32_t *predicted = malloc(n * sizeof *predicted), *again = malloc(n * sizeof *again);
    float *p = malloc(n * 3 * sizeof *p);
    ck_assert_ok(df_weak_predict(weak, NULL, image, NULL, p, predicted));
    double full = mean_iou(predicted, truth, 3);
    /* intensity alone: a forest on the raw channel only */
    float *features = malloc(n * DF_CLASSICAL_CHANNELS * sizeof *features), *raw = malloc(n * sizeof *raw),
          *train_x = malloc(marked * sizeof *train_x);
    int32_t *train_y = malloc(marked * sizeof *train_y);
    ck_assert_ok(df_classical_features(df_image_pixels(image), w, h, features));
    for (size_t i = 0, m = 0; i < n; i++) {
        raw[i] = features[i * DF_CLASSICAL_CHANNELS];
        if (marks[i]) train_x[m] = raw[i], train_y[m++] = marks[i] - 1;
    }
    df_options *one;
    ck_assert_ok(df_options_new(&one));
    ck_assert_ok(df_options_set_int(one, DF_PARAM_FOREST_MAX_FEATURES, 1));
    df_forest *intensity;
    ck_assert_ok(df_forest_train(train_x, train_y, marked, 1, 3, one, &intensity));
    ck_assert_ok(df_forest_predict(intensity, raw, n, p));
    for (size_t i = 0; i < n; i++) again[i] = 1 + (p[3 * i + 1] > p[3 * i] ? (p[3 * i + 2] > p[3 * i + 1] ? 2 : 1) : (p[3 * i + 2] > p[3 * i] ? 2 : 0));
    double alone = mean_iou(again, truth, 3);
    fprintf(stderr, "weak: mIoU %.3f from %.2f%% scribbles; intensity alone %.3f\n", full, 100.0 * marked / n, alone);
    ck_assert_double_ge(full, 0.85);
    ck_assert_double_lt(alone, 0.5);
    /* with the CRF: still a segmentation of the phases */
    df_options *crf;
    ck_assert_ok(df_options_new(&crf));
    ck_assert_ok(df_options_set_int(crf, DF_PARAM_WEAK_CRF, 1));
    ck_assert_ok(df_weak_predict(weak, NULL, image, crf, NULL, again));
    /* The CRF acts (pixels change) and does what a Potts model does: fewer label boundaries, the
     * isolated specks of the forest gone, while the phases stay (this micrograph's fine structures
     * cost it a little mIoU: the reason it is off by default). */
    size_t changed = 0;
    for (size_t i = 0; i < n; i++) changed += again[i] != predicted[i];
    const size_t edges_before = label_edges(predicted, w, h), edges_after = label_edges(again, w, h);
    fprintf(stderr, "weak CRF: mIoU %.4f (without %.4f), %zu pixels changed, label edges %zu -> %zu\n",
            mean_iou(again, truth, 3), full, changed, edges_before, edges_after);
    ck_assert_uint_gt(changed, n / 100);
    ck_assert_uint_lt(edges_after * 10, edges_before * 9);
    ck_assert_double_ge(mean_iou(again, truth, 3), full - 0.05);
    df_options_free(crf);
    df_options_free(one);
    df_forest_free(intensity);
    free(features), free(raw), free(train_x), free(train_y), free(predicted), free(again), free(p);
    df_weak_free(weak);
    df_image_free(image), df_image_free(scribbles), df_image_free(truth);
}
END_TEST

/* Dense labels with DF_PARAM_WEAK_SAMPLES: a fixed draw of pixels (the same forest twice), still
 * a segmentation; more samples than labelled pixels means all of them. */
START_TEST(test_weak_samples_of_dense_labels) {
    df_image *image = load_png("micrograph.png", 0), *truth = load_png("truth.png", 1);
    const size_t n = df_image_width(image) * df_image_height(image);
    const df_image *images[1] = {image}, *labels[1] = {truth};
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_WEAK_SAMPLES, 600));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_FOREST_TREES, 20));
    df_weak *a, *b;
    ck_assert_ok(df_weak_train(NULL, images, labels, 1, o, &a));
    ck_assert_ok(df_weak_train(NULL, images, labels, 1, o, &b));
    int32_t *pa = malloc(n * sizeof *pa), *pb = malloc(n * sizeof *pb);
    ck_assert_ok(df_weak_predict(a, NULL, image, NULL, NULL, pa));
    ck_assert_ok(df_weak_predict(b, NULL, image, NULL, NULL, pb));
    ck_assert(memcmp(pa, pb, n * sizeof *pa) == 0);
    ck_assert_double_ge(mean_iou(pa, truth, 3), 0.85);
    df_weak_free(a), df_weak_free(b);
    ck_assert_ok(df_options_set_int(o, DF_PARAM_WEAK_SAMPLES, (int64_t)n + 1));
    ck_assert_ok(df_weak_train(NULL, images, labels, 1, o, &a));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_WEAK_SAMPLES, 0));
    ck_assert_ok(df_weak_train(NULL, images, labels, 1, o, &b));
    ck_assert_ok(df_weak_predict(a, NULL, image, NULL, NULL, pa));
    ck_assert_ok(df_weak_predict(b, NULL, image, NULL, NULL, pb));
    ck_assert(memcmp(pa, pb, n * sizeof *pa) == 0);
    ck_assert_fails_with(df_options_set_int(o, DF_PARAM_WEAK_SAMPLES, -1), DF_E_INVALID_ARG, "df_options_set_int");
    df_weak_free(a), df_weak_free(b);
    free(pa), free(pb);
    df_options_free(o);
    df_image_free(image), df_image_free(truth);
}
END_TEST

/* Saved and loaded, a classifier predicts identically; damaged or foreign files are refused. */
START_TEST(test_weak_file_round_trip_and_refusals) {
    df_image *image = load_png("micrograph.png", 0), *scribbles = load_png("scribbles.png", 1);
    const size_t n = df_image_width(image) * df_image_height(image);
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_FOREST_TREES, 20));
    df_weak *weak, *loaded;
    const df_image *images[1] = {image}, *labels[1] = {scribbles};
    ck_assert_ok(df_weak_train(NULL, images, labels, 1, o, &weak));
    char path[] = "/tmp/dinofeat_weak_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_ok(df_weak_save(weak, path));
    ck_assert_ok(df_weak_load(path, &loaded));
    float *a = malloc(n * 3 * sizeof *a), *b = malloc(n * 3 * sizeof *b);
    ck_assert_ok(df_weak_predict(weak, NULL, image, NULL, a, NULL));
    ck_assert_ok(df_weak_predict(loaded, NULL, image, NULL, b, NULL));
    ck_assert_mem_eq(a, b, n * 3 * sizeof *a);
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *bytes = malloc((size_t)size);
    ck_assert_uint_eq(fread(bytes, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    df_weak *bad = NULL;
    /* trained on other classical features: a file of the earlier stack (no "classical" field:
     * blanked to spaces, the header keeps its length) or of another definition is refused */
    static const char field[] = "\"classical\": \"hrdv2\", ";
    long at = 0;
    while (at + (long)sizeof field - 1 <= size && memcmp(bytes + at, field, sizeof field - 1) != 0) at++;
    ck_assert_msg(at + (long)sizeof field - 1 <= size, "the header names its classical features");
    for (int variant = 0; variant < 2; variant++) {
        unsigned char *edited = malloc((size_t)size);
        memcpy(edited, bytes, (size_t)size);
        if (variant == 0) memset(edited + at, ' ', sizeof field - 1);
        else memcpy(edited + at + 14, "weka1", 5);
        f = fopen(path, "wb");
        fwrite(edited, 1, (size_t)size, f);
        fclose(f);
        free(edited);
        ck_assert_fails_with(df_weak_load(path, &bad), DF_E_UNSUPPORTED, "df_weak_load");
        ck_assert_ptr_null(bad);
        ck_assert_msg(strstr(df_last_error_message(), variant == 0 ? "trained on the earlier, simplified classical"
                                                                   : "trained on weka1 classical features") != NULL,
                      "%s", df_last_error_message());
    }
    /* truncated at every tenth of its length, and cut by one byte */
    for (long cut = size - 1; cut >= 0; cut = cut == size - 1 ? size * 9 / 10 : cut - size / 10) {
        f = fopen(path, "wb");
        fwrite(bytes, 1, (size_t)cut, f);
        fclose(f);
        ck_assert_fails_with(df_weak_load(path, &bad), DF_E_FORMAT, "df_weak_load");
        ck_assert_ptr_null(bad);
        if (cut == 0) break;
    }
    ck_assert_fails_with(df_weak_load(WEAK_DIR "micrograph.png", &bad), DF_E_FORMAT, "df_weak_load");
    ck_assert_fails_with(df_weak_load("/nonexistent/clf.dfclf", &bad), DF_E_IO, "df_weak_load");
    bytes[200] ^= 0x55; /* a corrupt node */
    f = fopen(path, "wb");
    fwrite(bytes, 1, (size_t)size, f);
    fclose(f);
    df_status status = df_weak_load(path, &bad);
    if (status == DF_OK) df_weak_free(bad); /* a flipped threshold is still a valid tree */
    else ck_assert_int_eq(status, DF_E_FORMAT);
    remove(path);
    /* a label image of another size is refused, naming it */
    df_image *small = NULL;
    ck_assert_ok(df_image_new(10, 10, 1, 8, &small));
    const df_image *wrong[1] = {small};
    ck_assert_fails_with(df_weak_train(NULL, images, wrong, 1, o, &bad), DF_E_INVALID_ARG, "df_weak_train");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "label image 0 is 10 x 10"));
    memset(df_image_pixels(small), 0, 100);
    const df_image *blank[1] = {small}, *tiny[1] = {small};
    ck_assert_fails_with(df_weak_train(NULL, tiny, blank, 1, o, &bad), DF_E_INVALID_ARG, "df_weak_train");
    ck_assert_fails_with(df_weak_predict(NULL, NULL, image, NULL, a, NULL), DF_E_INVALID_ARG, "df_weak_predict");
    ck_assert_fails_with(df_weak_save(weak, "/nonexistent/dir/clf.dfclf"), DF_E_IO, "df_weak_save");
    size_t classes;
    df_weak_features set;
    ck_assert_fails_with(df_weak_classes(NULL, &classes), DF_E_INVALID_ARG, "df_weak_classes");
    ck_assert_fails_with(df_weak_classes(weak, NULL), DF_E_INVALID_ARG, "df_weak_classes");
    ck_assert_fails_with(df_weak_feature_set(NULL, &set), DF_E_INVALID_ARG, "df_weak_feature_set");
    ck_assert_ok(df_weak_feature_set(weak, &set));
    ck_assert_int_eq(set, DF_WEAK_CLASSICAL);
    free(a), free(b), free(bytes);
    df_image_free(small);
    df_weak_free(weak);
    df_weak_free(loaded);
    df_weak_free(NULL);
    df_options_free(o);
    df_image_free(image), df_image_free(scribbles);
}
END_TEST

Suite *weak_suite(void) {
    Suite *s = suite_create("weak");
    TCase *tc = tcase_create("classical");
    tcase_set_timeout(tc, HANG_GUARD_SECONDS);
    tcase_add_test(tc, test_classical_equals_reference);
    tcase_add_test(tc, test_classical_names_and_errors);
    tcase_add_test(tc, test_classical_groups_equal_reference);
    tcase_add_test(tc, test_classical_all_groups_on_three_images);
    tcase_add_test(tc, test_classical_settings_labels_and_errors);
    tcase_add_test(tc, test_forest_matches_sklearn_accuracy);
    tcase_add_test(tc, test_forest_options_and_errors);
    tcase_add_test(tc, test_logreg_equals_sklearn);
    tcase_add_test(tc, test_weak_segments_the_micrograph_from_scribbles);
    tcase_add_test(tc, test_weak_file_round_trip_and_refusals);
    tcase_add_test(tc, test_weak_samples_of_dense_labels);
    suite_add_tcase(s, tc);
    return s;
}

/* Deep and hybrid features with the tiny random model: the whole path, the file, the model check. */
START_TEST(test_weak_deep_and_hybrid) {
    df_image *image = load_png("micrograph.png", 0), *scribbles = load_png("scribbles.png", 1);
    const size_t n = df_image_width(image) * df_image_height(image);
    df_model *model = open_tiny_model("dinov2_s14.pth"), *other = open_tiny_model("dino_s8.pth");
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_UPS_STRIDE, 7));
    ck_assert_ok(df_options_set_str(o, DF_PARAM_UPS_SHIFTS, "1"));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_UPS_FLIPS, DF_UPS_FLIPS_OFF));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_WEAK_MAX_SIZE, 128)); /* 256 x 256: resized, and back */
    const df_image *images[1] = {image}, *labels[1] = {scribbles};
    for (int set = DF_WEAK_DEEP; set <= DF_WEAK_HYBRID; set++) {
        ck_assert_ok(df_options_set_int(o, DF_PARAM_WEAK_FEATURES, set));
        df_weak *weak = NULL, *loaded = NULL;
        ck_assert_ok(df_weak_train(model, images, labels, 1, o, &weak));
        df_weak_features got;
        ck_assert_ok(df_weak_feature_set(weak, &got));
        ck_assert_int_eq(got, set);
        int32_t *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
        ck_assert_ok(df_weak_predict(weak, model, image, NULL, NULL, a));
        for (size_t i = 0; i < n; i++) ck_assert(a[i] >= 1 && a[i] <= 3);
        char path[] = "/tmp/dinofeat_deep_XXXXXX";
        int fd = mkstemp(path);
        close(fd);
        ck_assert_ok(df_weak_save(weak, path));
        ck_assert_ok(df_weak_load(path, &loaded));
        ck_assert_ok(df_weak_predict(loaded, model, image, NULL, NULL, b));
        ck_assert_mem_eq(a, b, n * sizeof *a);
        remove(path);
        ck_assert_fails_with(df_weak_predict(loaded, other, image, NULL, NULL, b), DF_E_INVALID_ARG, "df_weak_predict");
        ck_assert_ptr_nonnull(strstr(df_last_error_message(), "does not match"));
        ck_assert_fails_with(df_weak_predict(loaded, NULL, image, NULL, NULL, b), DF_E_INVALID_ARG, "df_weak_predict");
        free(a), free(b);
        df_weak_free(weak);
        df_weak_free(loaded);
    }
    df_weak *weak = NULL;
    ck_assert_fails_with(df_weak_train(NULL, images, labels, 1, o, &weak), DF_E_INVALID_ARG, "df_weak_train");
    ck_assert_ok(df_options_set_int(o, DF_PARAM_WEAK_FEATURES, DF_WEAK_CLASSICAL));
    ck_assert_fails_with(df_weak_train(model, images, labels, 1, o, &weak), DF_E_INVALID_ARG, "df_weak_train");
    /* logistic regression on the classical features, chosen explicitly */
    ck_assert_ok(df_options_set_int(o, DF_PARAM_WEAK_CLASSIFIER, DF_WEAK_LOGREG));
    ck_assert_ok(df_weak_train(NULL, images, labels, 1, o, &weak));
    df_weak_free(weak);
    df_options_free(o);
    df_model_free(model);
    df_model_free(other);
    df_image_free(image), df_image_free(scribbles);
}
END_TEST

#define WEAK_DEEP_DIR "fixtures/weak_deep/"

typedef struct weak_deep_image {
    char name[32];
    df_image *rgb, *labels;
} weak_deep_image;

/* One 8-bit fixture image of channels channels from WEAK_DEEP_DIR. */
static df_image *weak_deep_image_of(const char *file, size_t w, size_t h, size_t channels) {
    size_t size;
    unsigned char *bytes = read_fixture_from(WEAK_DEEP_DIR, file, &size);
    ck_assert_ptr_nonnull(bytes);
    ck_assert_uint_eq(size, w * h * channels);
    df_image *image;
    ck_assert_ok(df_image_new(w, h, channels, 8, &image));
    memcpy(df_image_pixels(image), bytes, size);
    free(bytes);
    return image;
}

/* Trains as the case says and compares every pixel's probabilities with the reference's. */
static void check_weak_deep_case(char *line, const weak_deep_image *all, size_t count, FILE *manifest) {
    char id[32], model_name[32], names[4][32];
    int heads, stride, classes;
    long long samples;
    int fields = sscanf(line, "weak %31s %31s %d %d %lld %d %31s %31s %31s %31s", id, model_name, &heads, &stride,
                        &samples, &classes, names[0], names[1], names[2], names[3]);
    ck_assert_int_ge(fields, 7);
    const size_t used = (size_t)fields - 6;
    const df_image *images[4], *labels[4];
    for (size_t i = 0; i < used; i++) {
        size_t k = 0;
        while (k < count && strcmp(all[k].name, names[i]) != 0) k++;
        ck_assert_uint_lt(k, count);
        images[i] = all[k].rgb, labels[i] = all[k].labels;
    }
    char file[64];
    snprintf(file, sizeof file, "%s.pth", model_name);
    df_model *model = open_tiny_model(file);
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_WEAK_FEATURES, DF_WEAK_DEEP));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_WEAK_CLASSIFIER, DF_WEAK_LOGREG));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_WEAK_SAMPLES, samples));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_UPS_STRIDE, stride));
    ck_assert_ok(df_options_set_str(o, DF_PARAM_UPS_SHIFTS, ""));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_UPS_FLIPS, DF_UPS_FLIPS_OFF));
    df_weak *weak;
    ck_assert_ok(df_weak_train(model, images, labels, used, o, &weak));
    size_t got_classes;
    ck_assert_ok(df_weak_classes(weak, &got_classes));
    ck_assert_uint_eq(got_classes, (size_t)classes);
    for (size_t i = 0; i < used; i++) {
        char out_line[256], out_id[32], image_name[32], out_file[64];
        ck_assert_ptr_nonnull(fgets(out_line, sizeof out_line, manifest));
        ck_assert_int_eq(sscanf(out_line, "out %31s %31s %63s", out_id, image_name, out_file), 3);
        ck_assert_str_eq(out_id, id);
        ck_assert_str_eq(image_name, names[i]);
        const size_t n = df_image_width(images[i]) * df_image_height(images[i]), c = (size_t)classes;
        size_t size;
        float *want = (float *)read_fixture_from(WEAK_DEEP_DIR, out_file, &size);
        ck_assert_ptr_nonnull(want);
        ck_assert_uint_eq(size, n * c * sizeof *want);
        float *got = malloc(size);
        int32_t *predicted = malloc(n * sizeof *predicted);
        ck_assert_ok(df_weak_predict(weak, model, images[i], NULL, got, predicted));
        double worst = 0;
        size_t decided = 0;
        for (size_t p = 0; p < n; p++) {
            size_t best = 0, second = 1;
            for (size_t k = 0; k < c; k++) {
                worst = fmax(worst, fabs((double)got[p * c + k] - want[p * c + k]));
                if (want[p * c + k] > want[p * c + best]) second = best, best = k;
                else if (k != best && (second == best || want[p * c + k] > want[p * c + second])) second = k;
            }
            /* where the reference's two best classes are apart by more than the tolerance below,
             * the label is decided */
            if (want[p * c + best] - want[p * c + second] > 2e-3) {
                ck_assert_msg(predicted[p] == (int32_t)best + 1, "%s %s pixel %zu: class %d, reference %zu", id,
                              names[i], p, predicted[p], best + 1);
                decided++;
            }
        }
        fprintf(stderr, "weak deep %s %s: max |p - reference| %.2g, %zu of %zu labels decided\n", id, names[i],
                worst, decided, n);
        /* Two fits of one convex problem to convergence (the logistic regression test's bound) */
        ck_assert_msg(worst < 1e-3, "%s %s: probabilities differ from the reference by %g", id, names[i], worst);
        ck_assert_uint_gt(decided, n / 2);
        free(want), free(got), free(predicted);
    }
    df_weak_free(weak);
    df_options_free(o);
    df_model_free(model);
}

/* Deep features (one stride-4 view of the zero-padded image) with logistic regression, on all
 * labelled pixels and on the library's sample of them: every pixel's probabilities equal the
 * reference's (test/reference/make_weak_deep_fixtures.py: the HR-Dv2 reference upsampler and
 * scikit-learn). These are df_datus_denoise's default settings. */
START_TEST(test_weak_deep_equals_reference) {
    FILE *m = fopen(WEAK_DEEP_DIR "manifest.txt", "r");
    ck_assert_ptr_nonnull(m);
    weak_deep_image all[4];
    size_t count = 0, cases = 0;
    char line[256];
    while (fgets(line, sizeof line, m)) {
        unsigned h, w;
        if (strncmp(line, "image ", 6) == 0) {
            ck_assert_uint_lt(count, 4);
            ck_assert_int_eq(sscanf(line, "image %31s %u %u", all[count].name, &h, &w), 3);
            char file[64];
            snprintf(file, sizeof file, "%s.rgb.u8", all[count].name);
            all[count].rgb = weak_deep_image_of(file, w, h, 3);
            snprintf(file, sizeof file, "%s.labels.u8", all[count].name);
            all[count].labels = weak_deep_image_of(file, w, h, 1);
            count++;
        } else if (strncmp(line, "weak ", 5) == 0) {
            check_weak_deep_case(line, all, count, m);
            cases++;
        }
    }
    fclose(m);
    ck_assert_uint_eq(cases, 2);
    for (size_t i = 0; i < count; i++) df_image_free(all[i].rgb), df_image_free(all[i].labels);
}
END_TEST

Suite *weak_deep_suite(void) {
    Suite *s = suite_create("weak_deep");
    TCase *tc = tcase_create("deep");
    tcase_set_timeout(tc, HANG_GUARD_SECONDS);
    tcase_add_test(tc, test_weak_deep_and_hybrid);
    tcase_add_test(tc, test_weak_deep_equals_reference);
    suite_add_tcase(s, tc);
    return s;
}
