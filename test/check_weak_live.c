/* The live scribble loop (df_weak_live_*) against full retrains, and the weak workflow with other
 * classical settings and 16-bit images. */
#include "check_common.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <unistd.h>

/* A one-channel label image of w x h from int32 labels (16 bits, so any class fits). */
static df_image *label_image(const int32_t *labels, size_t w, size_t h) {
    df_image *image;
    ck_assert_ok(df_image_new(w, h, 1, 16, &image));
    uint16_t *p = df_image_pixels(image);
    for (size_t i = 0; i < w * h; i++) p[i] = (uint16_t)labels[i];
    return image;
}

/* Where needle (length bytes) first occurs in haystack, or NULL. */
static char *find_bytes(char *haystack, size_t size, const char *needle, size_t length) {
    for (size_t at = 0; at + length <= size; at++)
        if (memcmp(haystack + at, needle, length) == 0) return haystack + at;
    return NULL;
}

/* The probabilities df_weak_train gives on image and labels with trees trees and seed 3. */
static float *full_retrain(const df_image *image, const df_image *labels, int64_t trees, size_t *classes) {
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_FOREST_TREES, trees));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_FOREST_SEED, 3));
    const df_image *images[1] = {image}, *marks[1] = {labels};
    df_weak *weak;
    ck_assert_ok(df_weak_train(NULL, images, marks, 1, o, &weak));
    ck_assert_ok(df_weak_classes(weak, classes));
    const size_t n = df_image_width(image) * df_image_height(image);
    float *p = malloc(n * *classes * sizeof *p);
    ck_assert_ok(df_weak_predict(weak, NULL, image, NULL, p, NULL));
    df_weak_free(weak);
    df_options_free(o);
    return p;
}

static df_weak_live *start_live(const df_image *image) {
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_WEAK_LIVE_TREES, 10));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_FOREST_TREES, 20));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_FOREST_SEED, 3));
    df_weak_live *live;
    ck_assert_ok(df_weak_live_new(image, o, &live));
    df_options_free(o); /* the loop keeps its own copy */
    return live;
}

/* The live forest is the one a full retrain with as many trees grows, after scribbles, strokes
 * and erasures alike; regions are crops of the whole; the exported classifier is the full one. */
START_TEST(test_live_equals_full_retrain) {
    df_image *image = load_weak_png("micrograph.png", 0), *scribbles = load_weak_png("scribbles.png", 1);
    const size_t w = df_image_width(image), h = df_image_height(image), n = w * h;
    df_weak_live *live = start_live(image);
    size_t classes = 7;
    ck_assert_ok(df_weak_live_classes(live, &classes));
    ck_assert_uint_eq(classes, 0);
    int32_t *labels = malloc(n * sizeof *labels), *current = malloc(n * sizeof *current);
    const uint8_t *marks = df_image_pixels(scribbles);
    for (size_t i = 0; i < n; i++) labels[i] = marks[i];
    ck_assert_ok(df_weak_live_set_labels(live, 0, 0, w, h, labels));
    ck_assert_ok(df_weak_live_labels(live, current));
    ck_assert_mem_eq(current, labels, n * sizeof *labels);

    float *p = malloc(n * 3 * sizeof *p), *region = malloc(100 * 70 * 3 * sizeof *region);
    int32_t *predicted = malloc(n * sizeof *predicted);
    ck_assert_ok(df_weak_live_predict(live, 37, 50, 100, 70, region, NULL)); /* refits first */
    ck_assert_ok(df_weak_live_classes(live, &classes));
    ck_assert_uint_eq(classes, 3);
    ck_assert_ok(df_weak_live_predict(live, 0, 0, w, h, p, predicted));
    size_t full_classes;
    float *want = full_retrain(image, scribbles, 10, &full_classes);
    ck_assert_uint_eq(full_classes, 3);
    ck_assert_mem_eq(p, want, n * 3 * sizeof *p);
    free(want);
    for (size_t r = 0; r < 70; r++) /* the region predicted before the rest is the whole's crop */
        ck_assert_mem_eq(region + r * 100 * 3, p + ((50 + r) * w + 37) * 3, 100 * 3 * sizeof *p);
    for (size_t i = 0; i < n; i++) {
        const size_t best = p[i * 3 + 1] > p[i * 3] ? (p[i * 3 + 2] > p[i * 3 + 1] ? 2 : 1) : (p[i * 3 + 2] > p[i * 3] ? 2 : 0);
        ck_assert_int_eq(predicted[i], (int32_t)best + 1);
    }

    /* a disc: the 13 pixels within 2 of (100, 100); a segment of radius 1 from (10, 10) to
     * (20, 10): 13 pixels on its row, 11 on each neighbouring row */
    const float disc[2] = {100, 100}, segment[4] = {10, 10, 20, 10};
    for (int k = 0; k < 2; k++) {
        ck_assert_ok(df_weak_live_set_labels(live, 0, 0, w, h, labels));
        ck_assert_ok(df_weak_live_stroke(live, k == 0 ? disc : segment, k == 0 ? 1 : 2, k == 0 ? 2.0f : 1.0f, 5));
        ck_assert_ok(df_weak_live_labels(live, current));
        size_t painted = 0;
        for (size_t i = 0; i < n; i++) painted += current[i] == 5;
        ck_assert_uint_eq(painted, k == 0 ? 13 : 35);
        ck_assert_int_eq(current[k == 0 ? 102 * w + 100 : 9 * w + 10], 5);
        ck_assert_int_ne(current[k == 0 ? 102 * w + 101 : 9 * w + 9], 5);
        ck_assert_ok(df_weak_live_stroke(live, k == 0 ? disc : segment, k == 0 ? 1 : 2, k == 0 ? 2.0f : 1.0f, 0));
    }
    /* a stroke of class 4 over the image's middle, then the full retrain on the same labels */
    const float line[6] = {30, 200, 120, 180, 220, 230};
    ck_assert_ok(df_weak_live_stroke(live, line, 3, 2.5f, 4));
    ck_assert_ok(df_weak_live_labels(live, current));
    df_image *edited = label_image(current, w, h);
    float *four = malloc(n * 4 * sizeof *four);
    ck_assert_ok(df_weak_live_predict(live, 0, 0, w, h, four, NULL));
    ck_assert_ok(df_weak_live_classes(live, &classes));
    ck_assert_uint_eq(classes, 4);
    want = full_retrain(image, edited, 10, &full_classes);
    ck_assert_mem_eq(four, want, n * 4 * sizeof *four);
    free(want);
    /* the exported classifier: the full forest (20 trees) on the scribbles */
    df_weak *exported;
    ck_assert_ok(df_weak_live_classifier(live, &exported));
    want = full_retrain(image, edited, 20, &full_classes);
    ck_assert_ok(df_weak_predict(exported, NULL, image, NULL, four, NULL));
    ck_assert_mem_eq(four, want, n * 4 * sizeof *four);
    free(want);
    df_weak_free(exported);
    /* erased: back to three classes and the first forest */
    ck_assert_ok(df_weak_live_stroke(live, line, 3, 2.5f, 0));
    ck_assert_ok(df_weak_live_set_labels(live, 0, 0, w, h, labels));
    ck_assert_ok(df_weak_live_update(live));
    ck_assert_ok(df_weak_live_classes(live, &classes));
    ck_assert_uint_eq(classes, 3);
    ck_assert_ok(df_weak_live_predict(live, 0, 0, w, h, four, NULL));
    ck_assert_mem_eq(four, p, n * 3 * sizeof *p);
    df_image_free(edited);
    free(four), free(p), free(region), free(predicted), free(labels), free(current);
    df_weak_live_free(live);
    df_weak_live_free(NULL);
    df_image_free(image), df_image_free(scribbles);
}
END_TEST

START_TEST(test_live_errors) {
    df_image *image = load_weak_png("micrograph.png", 0), *thin;
    df_weak_live *live = NULL;
    ck_assert_fails_with(df_weak_live_new(image, NULL, NULL), DF_E_INVALID_ARG, "df_weak_live_new");
    ck_assert_fails_with(df_weak_live_new(NULL, NULL, &live), DF_E_INVALID_ARG, "df_weak_live_new");
    ck_assert_ok(df_image_new(1, 5, 1, 8, &thin));
    ck_assert_fails_with(df_weak_live_new(thin, NULL, &live), DF_E_INVALID_ARG, "df_weak_live_new");
    ck_assert_ptr_null(live);
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_str(o, DF_PARAM_CLASSICAL_GROUPS, "gaussian,laplacian"));
    ck_assert_fails_with(df_weak_live_new(image, o, &live), DF_E_INVALID_ARG, "df_weak_live_new");
    ck_assert_fails_with(df_options_set_int(o, DF_PARAM_WEAK_LIVE_TREES, 0), DF_E_INVALID_ARG, "df_options_set_int");
    df_options_free(o);
    live = start_live(image);
    float p[3];
    int32_t label;
    ck_assert_fails_with(df_weak_live_update(live), DF_E_INVALID_ARG, "df_weak_live_update");
    ck_assert_msg(strstr(df_last_error_message(), "no pixel is labelled") != NULL, "%s", df_last_error_message());
    ck_assert_fails_with(df_weak_live_predict(live, 0, 0, 1, 1, p, &label), DF_E_INVALID_ARG, "df_weak_live_predict");
    df_weak *weak = NULL;
    ck_assert_fails_with(df_weak_live_classifier(live, &weak), DF_E_INVALID_ARG, "df_weak_live_classifier");
    ck_assert_ptr_null(weak);
    const float point[2] = {3, 4}, nan_point[2] = {NAN, 1};
    ck_assert_fails_with(df_weak_live_stroke(NULL, point, 1, 1, 1), DF_E_INVALID_ARG, "df_weak_live_stroke");
    ck_assert_fails_with(df_weak_live_stroke(live, NULL, 1, 1, 1), DF_E_INVALID_ARG, "df_weak_live_stroke");
    ck_assert_fails_with(df_weak_live_stroke(live, point, 0, 1, 1), DF_E_INVALID_ARG, "df_weak_live_stroke");
    ck_assert_fails_with(df_weak_live_stroke(live, point, 1, 0, 1), DF_E_INVALID_ARG, "df_weak_live_stroke");
    ck_assert_fails_with(df_weak_live_stroke(live, point, 1, NAN, 1), DF_E_INVALID_ARG, "df_weak_live_stroke");
    ck_assert_fails_with(df_weak_live_stroke(live, point, 1, 1, -1), DF_E_INVALID_ARG, "df_weak_live_stroke");
    ck_assert_fails_with(df_weak_live_stroke(live, point, 1, 1, 65536), DF_E_INVALID_ARG, "df_weak_live_stroke");
    ck_assert_fails_with(df_weak_live_stroke(live, nan_point, 1, 1, 1), DF_E_INVALID_ARG, "df_weak_live_stroke");
    const float outside[2] = {-50, 900};
    ck_assert_ok(df_weak_live_stroke(live, outside, 1, 3, 1)); /* nothing inside the image: no change */
    ck_assert_fails_with(df_weak_live_update(live), DF_E_INVALID_ARG, "df_weak_live_update");
    const int32_t one = 1, bad = -2;
    ck_assert_fails_with(df_weak_live_set_labels(live, 256, 0, 1, 1, &one), DF_E_INVALID_ARG,
                         "df_weak_live_set_labels");
    ck_assert_fails_with(df_weak_live_set_labels(live, 0, 200, 1, 57, &one), DF_E_INVALID_ARG,
                         "df_weak_live_set_labels");
    ck_assert_fails_with(df_weak_live_set_labels(live, 0, 0, 1, 1, NULL), DF_E_INVALID_ARG, "df_weak_live_set_labels");
    ck_assert_fails_with(df_weak_live_set_labels(live, 0, 0, 1, 1, &bad), DF_E_INVALID_ARG, "df_weak_live_set_labels");
    ck_assert_fails_with(df_weak_live_set_labels(NULL, 0, 0, 1, 1, &one), DF_E_INVALID_ARG, "df_weak_live_set_labels");
    ck_assert_ok(df_weak_live_stroke(live, point, 1, 1, 1)); /* one class: every pixel is it */
    ck_assert_ok(df_weak_live_predict(live, 255, 255, 1, 1, p, &label));
    ck_assert_int_eq(label, 1);
    ck_assert_float_eq(p[0], 1.0f);
    ck_assert_fails_with(df_weak_live_predict(live, 0, 0, 0, 1, p, &label), DF_E_INVALID_ARG, "df_weak_live_predict");
    ck_assert_fails_with(df_weak_live_predict(live, 250, 0, 7, 1, p, &label), DF_E_INVALID_ARG,
                         "df_weak_live_predict");
    ck_assert_fails_with(df_weak_live_predict(NULL, 0, 0, 1, 1, p, &label), DF_E_INVALID_ARG, "df_weak_live_predict");
    size_t classes;
    ck_assert_fails_with(df_weak_live_classes(live, NULL), DF_E_INVALID_ARG, "df_weak_live_classes");
    ck_assert_fails_with(df_weak_live_classes(NULL, &classes), DF_E_INVALID_ARG, "df_weak_live_classes");
    ck_assert_fails_with(df_weak_live_labels(live, NULL), DF_E_INVALID_ARG, "df_weak_live_labels");
    ck_assert_fails_with(df_weak_live_update(NULL), DF_E_INVALID_ARG, "df_weak_live_update");
    ck_assert_fails_with(df_weak_live_classifier(NULL, &weak), DF_E_INVALID_ARG, "df_weak_live_classifier");
    ck_assert_fails_with(df_weak_live_classifier(live, NULL), DF_E_INVALID_ARG, "df_weak_live_classifier");
    df_weak_live_free(live);
    df_image_free(thin), df_image_free(image);
}
END_TEST

/* A classifier trained with other classical settings records them: saved and loaded it computes
 * the same channels (equal predictions), its header names them, and a 16-bit copy of the image
 * (each byte times 257) has the 8-bit image's features; the classical features of a colour image are those of its
 * grey conversion. */
START_TEST(test_weak_classical_settings_and_sixteen_bits) {
    df_image *image = load_weak_png("micrograph.png", 0), *scribbles = load_weak_png("scribbles.png", 1), *wide;
    const size_t w = df_image_width(image), h = df_image_height(image), n = w * h;
    ck_assert_ok(df_image_new(w, h, 1, 16, &wide));
    const uint8_t *bytes = df_image_pixels(image);
    uint16_t *words = df_image_pixels(wide);
    for (size_t i = 0; i < n; i++) words[i] = (uint16_t)(bytes[i] * 257u);
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_FOREST_TREES, 12));
    ck_assert_ok(df_options_set_str(o, DF_PARAM_CLASSICAL_GROUPS, "gaussian,mean,neighbours,entropy"));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_CLASSICAL_MIN_SIGMA, 1));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_CLASSICAL_MAX_SIGMA, 4));
    const df_image *images[1] = {wide}, *labels[1] = {scribbles};
    df_weak *weak, *loaded;
    ck_assert_ok(df_weak_train(NULL, images, labels, 1, o, &weak));
    char path[] = "/tmp/dinofeat_weak_settings_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_ok(df_weak_save(weak, path));
    ck_assert_ok(df_weak_load(path, &loaded));
    size_t size;
    char *text = (char *)read_fixture_from("", path, &size);
    ck_assert_ptr_nonnull(find_bytes(text, size, "\"groups\": \"gaussian,mean,neighbours,entropy\", \"min_sigma\": 1, "
                                             "\"max_sigma\": 4", 72));
    ck_assert_ptr_nonnull(find_bytes(text, size, "\"channels\": 39,", 15)); /* 3 scales x (1 + 1 + 8 + 3) */
    free(text);
    remove(path);
    float *a = malloc(n * 3 * sizeof *a), *b = malloc(n * 3 * sizeof *b);
    ck_assert_ok(df_weak_predict(weak, NULL, wide, NULL, a, NULL));
    ck_assert_ok(df_weak_predict(loaded, NULL, wide, NULL, b, NULL));
    ck_assert_mem_eq(a, b, n * 3 * sizeof *a);
    /* each byte times 257 is the same image to the features: the filters see v / 65535 = b / 255
     * (to float32 rounding of the scale factor), the rank filters the high byte b */
    size_t channels;
    ck_assert_ok(df_classical_channels(o, &channels));
    ck_assert_uint_eq(channels, 39);
    float *fa = malloc(n * channels * sizeof *fa), *fb = malloc(n * channels * sizeof *fb);
    ck_assert_ok(df_classical_compute_image(wide, o, fa));
    ck_assert_ok(df_classical_compute_image(image, o, fb));
    for (size_t i = 0; i < n * channels; i++)
        ck_assert_msg(fabsf(fa[i] - fb[i]) <= 4 * FLT_EPSILON * fmaxf(1.0f, fabsf(fb[i])), "value %zu: %g vs %g", i,
                      fa[i], fb[i]);
    /* colour: the features of its grey conversion */
    df_image *rgb, *grey;
    ck_assert_ok(df_image_convert(wide, 3, &rgb));
    ck_assert_ok(df_image_convert(rgb, 1, &grey));
    ck_assert_ok(df_classical_compute_image(rgb, o, fa));
    ck_assert_ok(df_classical_compute_image(grey, o, fb));
    ck_assert_mem_eq(fa, fb, n * channels * sizeof *fa);
    ck_assert_fails_with(df_classical_compute_image(NULL, o, fa), DF_E_INVALID_ARG, "df_classical_compute_image");
    ck_assert_fails_with(df_classical_compute_image(grey, o, NULL), DF_E_INVALID_ARG, "df_classical_compute_image");
    df_image *thin;
    ck_assert_ok(df_image_new(7, 1, 1, 16, &thin));
    ck_assert_fails_with(df_classical_compute_image(thin, o, fa), DF_E_INVALID_ARG, "df_classical_compute_image");
    ck_assert_msg(strstr(df_last_error_message(), "at least 2 x 2") != NULL, "%s", df_last_error_message());
    /* a file whose settings cannot be computed is refused as damaged */
    ck_assert_ok(df_weak_save(weak, path));
    text = (char *)read_fixture_from("", path, &size);
    char *groups = find_bytes(text, size, "gaussian,mean,", 14);
    ck_assert_ptr_nonnull(groups);
    memcpy(groups, "gaussian,moon,", 14);
    FILE *f = fopen(path, "wb");
    fwrite(text, 1, size, f);
    fclose(f);
    df_weak *bad = NULL;
    ck_assert_fails_with(df_weak_load(path, &bad), DF_E_FORMAT, "df_weak_load");
    ck_assert_msg(strstr(df_last_error_message(), "'moon' is not a group") != NULL, "%s", df_last_error_message());
    remove(path);
    free(text);
    df_image_free(thin), df_image_free(rgb), df_image_free(grey);
    free(fa), free(fb), free(a), free(b);
    df_weak_free(weak), df_weak_free(loaded);
    df_options_free(o);
    df_image_free(image), df_image_free(scribbles), df_image_free(wide);
}
END_TEST

Suite *weak_live_suite(void) {
    Suite *s = suite_create("weak_live");
    TCase *tc = tcase_create("live");
    tcase_set_timeout(tc, HANG_GUARD_SECONDS);
    tcase_add_test(tc, test_live_equals_full_retrain);
    tcase_add_test(tc, test_live_errors);
    tcase_add_test(tc, test_weak_classical_settings_and_sixteen_bits);
    suite_add_tcase(s, tc);
    return s;
}
