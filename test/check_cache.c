/* Feature caches on the tiny model: features equal the forward pass (float32) or its float16
 * rounding as libtorch does it, a stopped or torn build resumes to the same file, mismatches are
 * refused; the KNN table equals a direct computation and round-trips through its file. */
#include "check_common.h"

#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[64];

static void make_images(int count) {
    snprintf(root, sizeof root, "/tmp/dinofeat_cache_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(root));
    char path[256];
    snprintf(path, sizeof path, "%s/img", root);
    ck_assert_int_eq(mkdir(path, 0777), 0);
    for (int i = 0; i < count; i++) {
        df_image *image;
        ck_assert_ok(df_image_new(40, 36, 3, 8, &image));
        uint8_t *p = df_image_pixels(image);
        for (size_t j = 0; j < 40 * 36 * 3; j++) p[j] = (uint8_t)((j * (7 + (size_t)i * 13) + (size_t)i * 31) % 251);
        snprintf(path, sizeof path, "%s/img/%02d.png", root, i);
        ck_assert_ok(df_image_save_png(image, path));
        df_image_free(image);
    }
}

static df_dataset *sized_dataset(int five_crop) {
    char images[128];
    snprintf(images, sizeof images, "%s/img", root);
    df_options *o;
    df_dataset *d;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_DATASET_SIZE, 32));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_DATASET_FIVE_CROP, five_crop));
    ck_assert_ok(df_dataset_open(images, NULL, o, &d));
    df_options_free(o);
    return d;
}

static void build(df_model *model, df_dataset *d, const char *path, int half, int64_t batch) {
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_CACHE_HALF, half));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_CACHE_BATCH, batch));
    ck_assert_ok(df_feature_cache_build(model, d, path, o, NULL, NULL));
    df_options_free(o);
}

/* item's features from the model directly; half: rounded to float16 by libtorch. */
static void direct_features(df_model *model, df_dataset *d, size_t item, int half, float *out) {
    df_image *image, *rgb;
    df_tensor *x, *rounded = NULL;
    df_forward *forward;
    const df_tensor *patch;
    ck_assert_ok(df_dataset_get(d, item, &image, NULL));
    ck_assert_ok(df_image_convert(image, 3, &rgb));
    ck_assert_ok(df_image_to_tensor(rgb, NULL, NULL, &x));
    ck_assert_ok(df_model_forward(model, x, DF_OUTPUT_PATCH, &forward));
    ck_assert_ok(df_forward_output(forward, DF_OUTPUT_PATCH, &patch));
    if (half) ck_assert_ok(df_tensor_to(patch, NULL, DF_DTYPE_FLOAT16, &rounded));
    ck_assert_ok(df_tensor_copy_to_host(half ? rounded : patch, out, 4 * 4 * 16));
    df_tensor_free(rounded), df_forward_free(forward), df_tensor_free(x), df_image_free(rgb), df_image_free(image);
}

START_TEST(test_cache_equals_forward) {
    make_images(5);
    df_model *model = open_tiny_model("dino_s8.pth");
    df_dataset *d = sized_dataset(0);
    char path[128], half_path[128];
    snprintf(path, sizeof path, "%s/f32.dffeat", root);
    snprintf(half_path, sizeof half_path, "%s/f16.dffeat", root);
    build(model, d, path, 0, 2);
    build(model, d, half_path, 1, 3);
    for (int half = 0; half < 2; half++) {
        df_feature_cache *cache;
        ck_assert_ok(df_feature_cache_open(half ? half_path : path, &cache));
        size_t items, h, w, dim;
        ck_assert_ok(df_feature_cache_shape(cache, &items, &h, &w, &dim));
        ck_assert_uint_eq(items * 1000 + h * 100 + w * 10, 5440);
        ck_assert_uint_eq(dim, 16);
        float got[256], want[256];
        for (size_t i = 0; i < items; i++) {
            ck_assert_ok(df_feature_cache_read(cache, i, got));
            direct_features(model, d, i, half, want);
            /* batched and alone, the forward differs in its float32 sums' order */
            double scale = 0;
            for (int j = 0; j < 256; j++) scale = fmax(scale, fabs((double)want[j]));
            for (int j = 0; j < 256; j++) {
                const int close = half ? half_close(got[j], want[j], scale)
                                       : fabs((double)got[j] - want[j]) <= F32_FORWARD_RTOL * scale;
                ck_assert_msg(close, "item %zu value %d: %.9g, expected %.9g (scale %g)", i, j, got[j], want[j],
                              scale);
            }
        }
        ck_assert_ok(df_feature_cache_check_model(cache, model));
        ck_assert_fails_with(df_feature_cache_read(cache, 5, got), DF_E_INVALID_ARG, "df_feature_cache_read");
        df_model *other = open_tiny_model("dinov2_s14.pth");
        ck_assert_fails_with(df_feature_cache_check_model(cache, other), DF_E_INVALID_ARG,
                             "df_feature_cache_check_model");
        ck_assert_ptr_nonnull(strstr(df_last_error_message(), "was computed with dino dim 16"));
        df_model_free(other);
        df_feature_cache_free(cache);
    }
    df_dataset_free(d);
    df_model_free(model);
    remove_tree(root);
}
END_TEST

static int stop_after_first(void *user_data, uint64_t done, uint64_t total, const char *stage) {
    (void)total, (void)stage;
    *(uint64_t *)user_data = done;
    return 1;
}

/* The same header byte for byte, and the same features up to what re-batching may change: the
 * resumed build runs other batches than the straight one (see half_close). */
static void assert_same_cache(const char *straight, const char *resumed) {
    size_t size_a, size_b;
    unsigned char *a = read_fixture_from("", straight, &size_a), *b = read_fixture_from("", resumed, &size_b);
    ck_assert_uint_eq(size_a, size_b);
    uint32_t header_length;
    memcpy(&header_length, a + 12, 4);
    ck_assert_msg(16 + header_length <= size_a && memcmp(a, b, 16 + header_length) == 0,
                  "the resumed cache's header differs from the straight build's");
    free(a), free(b);
    df_feature_cache *x, *y;
    ck_assert_ok(df_feature_cache_open(straight, &x));
    ck_assert_ok(df_feature_cache_open(resumed, &y));
    size_t items, h, w, dim;
    ck_assert_ok(df_feature_cache_shape(x, &items, &h, &w, &dim));
    const size_t n = h * w * dim;
    float *p = malloc(n * sizeof *p), *q = malloc(n * sizeof *q);
    for (size_t i = 0; i < items; i++) {
        ck_assert_ok(df_feature_cache_read(x, i, p));
        ck_assert_ok(df_feature_cache_read(y, i, q));
        double scale = 0;
        for (size_t j = 0; j < n; j++) scale = fmax(scale, fabs((double)p[j]));
        for (size_t j = 0; j < n; j++)
            ck_assert_msg(half_close(q[j], p[j], scale), "resumed item %zu value %zu: %.9g, straight %.9g", i, j,
                          q[j], p[j]);
    }
    free(p), free(q);
    df_feature_cache_free(x), df_feature_cache_free(y);
}

START_TEST(test_cache_resumes_and_refuses) {
    make_images(5);
    df_model *model = open_tiny_model("dino_s8.pth");
    df_dataset *d = sized_dataset(1); /* 25 items */
    char straight[128], resumed[128];
    snprintf(straight, sizeof straight, "%s/straight.dffeat", root);
    snprintf(resumed, sizeof resumed, "%s/resumed.dffeat", root);
    build(model, d, straight, 1, 4);
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_CACHE_HALF, 1));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_CACHE_BATCH, 4));
    uint64_t done = 0;
    ck_assert_fails_with(df_feature_cache_build(model, d, resumed, o, stop_after_first, &done), DF_E_CANCELLED,
                         "df_feature_cache_build");
    ck_assert_uint_eq(done, 4);
    df_feature_cache *cache = NULL;
    ck_assert_fails_with(df_feature_cache_open(resumed, &cache), DF_E_FORMAT, "df_feature_cache_open");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "incomplete, 4 of 25 items"));
    size_t size;
    unsigned char *bytes = read_fixture_from("", resumed, &size);
    free(bytes);
    ck_assert_int_eq(truncate(resumed, (off_t)(size - 100)), 0); /* torn inside item 3 */
    ck_assert_ok(df_feature_cache_build(model, d, resumed, o, NULL, NULL));
    assert_same_cache(straight, resumed);
    ck_assert_ok(df_feature_cache_build(model, d, resumed, o, NULL, NULL)); /* complete: nothing to do */
    /* refusals: another dtype, another model, another dataset, stretched items, no size */
    ck_assert_ok(df_options_set_int(o, DF_PARAM_CACHE_HALF, 0));
    ck_assert_fails_with(df_feature_cache_build(model, d, resumed, o, NULL, NULL), DF_E_INVALID_ARG,
                         "df_feature_cache_build");
    ck_assert_ok(df_options_set_int(o, DF_PARAM_CACHE_HALF, 1));
    df_model *other = open_tiny_model("dinov2_s14.pth");
    ck_assert_fails_with(df_feature_cache_build(other, d, resumed, o, NULL, NULL), DF_E_INVALID_ARG,
                         "df_feature_cache_build");
    df_model_free(other);
    df_dataset *plain = sized_dataset(0);
    ck_assert_fails_with(df_feature_cache_build(model, plain, resumed, o, NULL, NULL), DF_E_INVALID_ARG,
                         "df_feature_cache_build");
    df_dataset_free(plain);
    char images[128];
    snprintf(images, sizeof images, "%s/img", root);
    df_options *stretched; /* the same size reached by stretching: other features, refused */
    ck_assert_ok(df_options_new(&stretched));
    ck_assert_ok(df_options_set_int(stretched, DF_PARAM_DATASET_SIZE, 32));
    ck_assert_ok(df_options_set_int(stretched, DF_PARAM_DATASET_FIVE_CROP, 1));
    ck_assert_ok(df_options_set_int(stretched, DF_PARAM_DATASET_STRETCH, 1));
    ck_assert_ok(df_dataset_open(images, NULL, stretched, &plain));
    df_options_free(stretched);
    ck_assert_fails_with(df_feature_cache_build(model, plain, resumed, o, NULL, NULL), DF_E_INVALID_ARG,
                         "df_feature_cache_build");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "stretch 0"));
    df_dataset_free(plain);
    ck_assert_ok(df_dataset_open(images, NULL, NULL, &plain));
    ck_assert_fails_with(df_feature_cache_build(model, plain, straight, o, NULL, NULL), DF_E_INVALID_ARG,
                         "df_feature_cache_build");
    df_dataset_free(plain);
    ck_assert_fails_with(df_feature_cache_open(images, &cache), DF_E_FORMAT, "df_feature_cache_open");
    snprintf(images, sizeof images, "%s/img/00.png", root);
    ck_assert_fails_with(df_feature_cache_open(images, &cache), DF_E_FORMAT, "df_feature_cache_open");
    df_options_free(o);
    df_dataset_free(d);
    df_model_free(model);
    remove_tree(root);
}
END_TEST

START_TEST(test_knn_table) {
    make_images(4);
    df_model *model = open_tiny_model("dino_s8.pth");
    df_dataset *d = sized_dataset(1); /* 20 items */
    char path[128], table_path[128];
    snprintf(path, sizeof path, "%s/f.dffeat", root);
    snprintf(table_path, sizeof table_path, "%s/knn.bin", root);
    build(model, d, path, 0, 8);
    df_feature_cache *cache, *cache_none = NULL;
    ck_assert_ok(df_feature_cache_open(path, &cache));
    int32_t table[20 * 5], loaded[20 * 5];
    ck_assert_ok(df_knn_table(cache, 5, table));
    /* directly: pooled, normalised, all similarities, sorted */
    float pooled[20][16], grid[256];
    for (int i = 0; i < 20; i++) {
        ck_assert_ok(df_feature_cache_read(cache, (size_t)i, grid));
        double norm = 0;
        for (int c = 0; c < 16; c++) {
            double s = 0;
            for (int p = 0; p < 16; p++) s += grid[p * 16 + c];
            pooled[i][c] = (float)(s / 16), norm += (s / 16) * (s / 16);
        }
        for (int c = 0; c < 16; c++) pooled[i][c] = (float)(pooled[i][c] / sqrt(norm));
    }
    for (int i = 0; i < 20; i++) {
        ck_assert_int_eq(table[i * 5], i);
        double previous = 2;
        for (int r = 0; r < 5; r++) {
            double s = 0;
            for (int c = 0; c < 16; c++) s += (double)pooled[i][c] * pooled[table[i * 5 + r]][c];
            ck_assert_double_le(s, previous + 1e-6);
            previous = s;
        }
        int beyond = 0; /* nothing left out is more similar than the 5th */
        for (int j = 0; j < 20; j++) {
            double s = 0;
            for (int c = 0; c < 16; c++) s += (double)pooled[i][c] * pooled[j][c];
            beyond += s > previous + 1e-6;
        }
        ck_assert_int_le(beyond, 4);
    }
    ck_assert_ok(df_knn_save(table_path, table, 20, 5));
    size_t items, k;
    ck_assert_ok(df_knn_load(table_path, NULL, 0, &items, &k));
    ck_assert_uint_eq(items * 10 + k, 205);
    ck_assert_ok(df_knn_load(table_path, loaded, 100, &items, &k));
    ck_assert(memcmp(table, loaded, sizeof table) == 0);
    ck_assert_fails_with(df_knn_load(table_path, loaded, 99, &items, &k), DF_E_INVALID_ARG, "df_knn_load");
    ck_assert_fails_with(df_knn_table(cache, 21, table), DF_E_INVALID_ARG, "df_knn_table");
    ck_assert_fails_with(df_knn_table(cache, 0, table), DF_E_INVALID_ARG, "df_knn_table");
    ck_assert_fails_with(df_knn_save(table_path, table, 0, 5), DF_E_INVALID_ARG, "df_knn_save");
    ck_assert_fails_with(df_feature_cache_shape(NULL, &items, NULL, NULL, NULL), DF_E_INVALID_ARG,
                         "df_feature_cache_shape");
    ck_assert_fails_with(df_feature_cache_check_model(cache, NULL), DF_E_INVALID_ARG, "df_feature_cache_check_model");
    ck_assert_fails_with(df_feature_cache_build(NULL, d, path, NULL, NULL, NULL), DF_E_INVALID_ARG,
                         "df_feature_cache_build");
    ck_assert_fails_with(df_feature_cache_open("/nonexistent-dir/f.dffeat", &cache_none), DF_E_IO,
                         "df_feature_cache_open");
    ck_assert_int_eq(truncate(table_path, 30), 0);
    ck_assert_fails_with(df_knn_load(table_path, NULL, 0, &items, &k), DF_E_FORMAT, "df_knn_load");
    ck_assert_fails_with(df_knn_load(path, NULL, 0, &items, &k), DF_E_FORMAT, "df_knn_load"); /* a cache */
    table[3] = 20; /* past the items */
    ck_assert_ok(df_knn_save(table_path, table, 20, 5));
    ck_assert_fails_with(df_knn_load(table_path, NULL, 0, &items, &k), DF_E_FORMAT, "df_knn_load");
    ck_assert_fails_with(df_knn_save("/nonexistent-dir/knn.bin", table, 20, 5), DF_E_IO, "df_knn_save");
    df_feature_cache_free(cache);
    df_dataset_free(d);
    df_model_free(model);
    remove_tree(root);
}
END_TEST


static int stop_at_seven(void *user_data, uint64_t done, uint64_t total, const char *stage) {
    (void)user_data, (void)total, (void)stage;
    return done == 7;
}

/* Every parameter of a and b, bit for bit. */
static void assert_same_stego(const df_stego *a, const df_stego *b) {
    for (size_t i = 0; i < 9; i++) {
        float x[512], y[512];
        size_t n, m;
        ck_assert_ok(df_stego_parameter(a, i, NULL, x, 512, &n));
        ck_assert_ok(df_stego_parameter(b, i, NULL, y, 512, &m));
        ck_assert_uint_eq(n, m);
        ck_assert_msg(memcmp(x, y, n * sizeof *x) == 0, "parameter %zu differs", i);
    }
}

/* Training runs until a total: a trainer already there takes no step, and one stopped by its
 * progress saves its checkpoint, from which the rest of the training is the same. */
static void check_stego_schedule(df_stego *loaded, const df_feature_cache *cache, const int32_t *knn,
                                 const char *checkpoint) {
    int64_t steps;
    ck_assert_ok(df_stego_train(loaded, cache, knn, 8, NULL, 6, 4, NULL, 0, NULL, NULL));
    ck_assert_ok(df_stego_steps(loaded, &steps));
    ck_assert_int_eq(steps, 6);
    ck_assert_fails_with(df_stego_train(loaded, cache, knn, 8, NULL, 20, 4, checkpoint, 0, stop_at_seven, NULL),
                         DF_E_CANCELLED, "df_stego_train");
    df_stego *stopped;
    ck_assert_ok(df_stego_load(checkpoint, &stopped));
    ck_assert_ok(df_stego_steps(stopped, &steps));
    ck_assert_int_eq(steps, 7);
    ck_assert_ok(df_stego_train(stopped, cache, knn, 8, NULL, 9, 4, NULL, 0, NULL, NULL));
    ck_assert_ok(df_stego_train(loaded, cache, knn, 8, NULL, 9, 4, NULL, 0, NULL, NULL));
    assert_same_stego(stopped, loaded);
    df_stego_free(stopped);
}

/* The (1, 16, h, w) channel-major patch features of rgb (any size of whole patches). */
static df_tensor *channel_major(df_model *model, const df_image *rgb) {
    df_tensor *x, *out;
    df_forward *forward;
    const df_tensor *patch;
    int64_t shape[4];
    ck_assert_ok(df_image_to_tensor(rgb, NULL, NULL, &x));
    ck_assert_ok(df_model_forward(model, x, DF_OUTPUT_PATCH, &forward));
    ck_assert_ok(df_forward_output(forward, DF_OUTPUT_PATCH, &patch));
    ck_assert_ok(df_tensor_shape(patch, shape, 4));
    const size_t cells = (size_t)(shape[1] * shape[2]), dim = (size_t)shape[3];
    float *hwd = malloc(cells * dim * sizeof *hwd), *dhw = malloc(cells * dim * sizeof *dhw);
    ck_assert_ok(df_tensor_copy_to_host(patch, hwd, cells * dim));
    for (size_t q = 0; q < cells; q++)
        for (size_t c = 0; c < dim; c++) dhw[c * cells + q] = hwd[q * dim + c];
    const int64_t chw[4] = {1, shape[3], shape[1], shape[2]};
    ck_assert_ok(df_tensor_from_host(dhw, 4, chw, &out));
    free(hwd), free(dhw), df_forward_free(forward), df_tensor_free(x);
    return out;
}

/* df_stego_segment is STEGO's evaluation written out: a 40 x 28 image at side 24 is resized to
 * 32 x 24 (24 / 28 of each side, rounded to whole 8-pixel patches), its features and its mirror
 * image's go to df_stego_predict at 40 x 28, and the CRF (when asked) runs over those
 * probabilities; grey and 16-bit images give what their 8-bit RGB equivalents give. */
START_TEST(test_stego_segments_an_image) {
    df_model *model = open_tiny_model("dino_s8.pth");
    df_options *o, *crf;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_STEGO_CODE_DIM, 8));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_STEGO_CLASSES, 8));
    df_stego *t;
    ck_assert_ok(df_stego_new(16, o, &t));
    enum { W = 40, H = 28 };
    df_image *grey, *rgb, *wide, *sized, *mirror;
    ck_assert_ok(df_image_new(W, H, 1, 8, &grey));
    ck_assert_ok(df_image_new(W, H, 3, 16, &wide));
    uint8_t *g = df_image_pixels(grey);
    for (size_t i = 0; i < W * H; i++) g[i] = (uint8_t)((i % W < 17 ? 20 : 150) + (i * i * 7 + i * 37) % 101);
    ck_assert_ok(df_image_convert(grey, 3, &rgb));
    uint16_t *w16 = df_image_pixels(wide);
    for (size_t i = 0; i < W * H * 3; i++) w16[i] = (uint16_t)(((const uint8_t *)df_image_pixels(rgb))[i] * 257u);
    ck_assert_ok(df_image_resize(rgb, 32, 24, DF_RESIZE_BICUBIC, &sized));
    ck_assert_ok(df_image_new(32, 24, 3, 8, &mirror));
    const uint8_t *from = df_image_pixels(sized);
    uint8_t *to = df_image_pixels(mirror);
    for (size_t y = 0; y < 24; y++)
        for (size_t x = 0; x < 32; x++) memcpy(to + (y * 32 + x) * 3, from + (y * 32 + 31 - x) * 3, 3);
    df_tensor *f = channel_major(model, sized), *fm = channel_major(model, mirror);
    static float probabilities[W * H * 8];
    int32_t want[W * H], want_crf[W * H], got[W * H];
    ck_assert_ok(df_stego_predict(t, f, fm, W, H, probabilities, want));
    ck_assert_ok(df_options_new(&crf));
    ck_assert_ok(df_crf_preset_apply(crf, DF_CRF_PRESET_STEGO));
    ck_assert_ok(df_crf_infer(df_image_pixels(rgb), W, H, probabilities, 8, DF_CRF_PROBABILITIES, crf, NULL, want_crf));
    const df_image *inputs[3] = {rgb, grey, wide};
    for (int i = 0; i < 3; i++) {
        ck_assert_ok(df_stego_segment(t, model, inputs[i], 24, NULL, got));
        ck_assert_mem_eq(got, want, sizeof want);
        ck_assert_ok(df_stego_segment(t, model, inputs[i], 24, crf, got));
        ck_assert_mem_eq(got, want_crf, sizeof want_crf);
    }
    size_t used = 0;
    for (size_t c = 0; c < 8; c++)
        for (size_t p = 0; p < W * H; p++)
            if (want[p] == (int32_t)c) {
                used++;
                break;
            }
    ck_assert_uint_ge(used, 2); /* the comparison is not of constant maps */
    /* the linear probe's segmentation is its prediction on the same features, CRF likewise */
    ck_assert_ok(df_stego_predict_linear(t, f, fm, W, H, probabilities, want));
    ck_assert_ok(df_crf_infer(df_image_pixels(rgb), W, H, probabilities, 8, DF_CRF_PROBABILITIES, crf, NULL, want_crf));
    ck_assert_ok(df_stego_segment_linear(t, model, grey, 24, NULL, got));
    ck_assert_mem_eq(got, want, sizeof want);
    ck_assert_ok(df_stego_segment_linear(t, model, grey, 24, crf, got));
    ck_assert_mem_eq(got, want_crf, sizeof want_crf);
    ck_assert_fails_with(df_stego_segment_linear(t, model, rgb, 24, NULL, NULL), DF_E_INVALID_ARG,
                         "df_stego_segment_linear");
    ck_assert_fails_with(df_stego_segment(t, model, rgb, 0, NULL, got), DF_E_INVALID_ARG, "df_stego_segment");
    ck_assert_fails_with(df_stego_segment(t, model, rgb, 24, NULL, NULL), DF_E_INVALID_ARG, "df_stego_segment");
    ck_assert_fails_with(df_stego_segment(NULL, model, rgb, 24, NULL, got), DF_E_INVALID_ARG, "df_stego_segment");
    ck_assert_fails_with(df_stego_segment(t, NULL, rgb, 24, NULL, got), DF_E_INVALID_ARG, "df_stego_segment");
    ck_assert_fails_with(df_stego_segment(t, model, NULL, 24, NULL, got), DF_E_INVALID_ARG, "df_stego_segment");
    df_tensor_free(f), df_tensor_free(fm);
    df_image_free(grey), df_image_free(rgb), df_image_free(wide), df_image_free(sized), df_image_free(mirror);
    df_options_free(o), df_options_free(crf);
    df_stego_free(t);
    df_model_free(model);
}
END_TEST

/* STEGO training over a cache: checkpoints, the recorded backbone, probabilities. */
START_TEST(test_stego_trains_on_a_cache) {
    make_images(4);
    df_model *model = open_tiny_model("dino_s8.pth"), *other = open_tiny_model("dinov2_s14.pth");
    df_dataset *d = sized_dataset(1); /* 20 items of 4 x 4 x 16 */
    char path[128], checkpoint[128], other_path[128];
    snprintf(path, sizeof path, "%s/f.dffeat", root);
    snprintf(checkpoint, sizeof checkpoint, "%s/head.dfstego", root);
    snprintf(other_path, sizeof other_path, "%s/other.dffeat", root);
    build(model, d, path, 1, 8);
    df_feature_cache *cache, *other_cache;
    ck_assert_ok(df_feature_cache_open(path, &cache));
    int32_t knn[20 * 8];
    ck_assert_ok(df_knn_table(cache, 8, knn));
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_STEGO_CODE_DIM, 8));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_STEGO_CLASSES, 3));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_STEGO_SAMPLES, 4));
    df_stego *t, *loaded;
    ck_assert_ok(df_stego_new(16, o, &t));
    ck_assert_ok(df_stego_check_model(t, other)); /* nothing recorded yet */
    ck_assert_ok(df_stego_train(t, cache, knn, 8, NULL, 6, 4, checkpoint, 3, NULL, NULL));
    ck_assert_ok(df_stego_check_model(t, model));
    ck_assert_fails_with(df_stego_check_model(t, other), DF_E_INVALID_ARG, "df_stego_check_model");
    df_image *photo;
    int32_t segmented[24 * 16];
    ck_assert_ok(df_image_new(24, 16, 3, 8, &photo));
    ck_assert_fails_with(df_stego_segment(t, other, photo, 16, NULL, segmented), DF_E_INVALID_ARG, "df_stego_segment");
    ck_assert_ok(df_stego_segment(t, model, photo, 16, NULL, segmented));
    df_image_free(photo);
    ck_assert_ok(df_stego_load(checkpoint, &loaded));
    int64_t steps;
    ck_assert_ok(df_stego_steps(loaded, &steps));
    ck_assert_int_eq(steps, 6);
    ck_assert_fails_with(df_stego_check_model(loaded, other), DF_E_INVALID_ARG, "df_stego_check_model");
    check_stego_schedule(loaded, cache, knn, checkpoint);
    double last[6];
    ck_assert_ok(df_stego_last_losses(t, last));
    ck_assert(last[3] != 0.0);
    ck_assert_double_eq(last[5], 0.0); /* no labels: the linear probe rests */
    /* with label images (classes 0..2 and 255, ignored) the linear probe trains too */
    char labels_dir[128], label_path[160], images_dir[128];
    snprintf(labels_dir, sizeof labels_dir, "%s/lab", root);
    snprintf(images_dir, sizeof images_dir, "%s/img", root);
    ck_assert_int_eq(mkdir(labels_dir, 0777), 0);
    for (int i = 0; i < 4; i++) {
        df_image *marks;
        ck_assert_ok(df_image_new(40, 36, 1, 8, &marks));
        uint8_t *m = df_image_pixels(marks);
        for (size_t j = 0; j < 40 * 36; j++) m[j] = (uint8_t)(j % 40 < 20 ? (j / 40) % 3 : 255);
        snprintf(label_path, sizeof label_path, "%s/%02d.png", labels_dir, i);
        ck_assert_ok(df_image_save_png(marks, label_path));
        df_image_free(marks);
    }
    df_options *lo;
    df_dataset *labelled;
    ck_assert_ok(df_options_new(&lo));
    ck_assert_ok(df_options_set_int(lo, DF_PARAM_DATASET_SIZE, 32));
    ck_assert_ok(df_options_set_int(lo, DF_PARAM_DATASET_FIVE_CROP, 1));
    ck_assert_ok(df_dataset_open(images_dir, labels_dir, lo, &labelled));
    ck_assert_ok(df_stego_train(t, cache, knn, 8, labelled, 8, 4, NULL, 0, NULL, NULL));
    ck_assert_ok(df_stego_last_losses(t, last));
    ck_assert_double_gt(last[5], 0.0);
    ck_assert_fails_with(df_stego_train(t, cache, knn, 8, d, 9, 4, NULL, 0, NULL, NULL), DF_E_INVALID_ARG,
                         "df_stego_train"); /* a dataset without labels */
    df_dataset_free(labelled);
    df_options_free(lo);
    /* a cache of another backbone, too few KNN columns, another dimension */
    build(other, d, other_path, 0, 8);
    ck_assert_ok(df_feature_cache_open(other_path, &other_cache));
    ck_assert_fails_with(df_stego_train(t, other_cache, knn, 8, NULL, 9, 4, NULL, 0, NULL, NULL), DF_E_INVALID_ARG,
                         "df_stego_train");
    ck_assert_fails_with(df_stego_train(loaded, cache, knn, 7, NULL, 9, 4, NULL, 0, NULL, NULL), DF_E_INVALID_ARG,
                         "df_stego_train");
    /* probabilities: a distribution per pixel whose argmax is the label */
    float features[256], chw[256], p[2 * 5 * 6 * 3];
    int32_t labels[2 * 5 * 6];
    ck_assert_ok(df_feature_cache_read(cache, 0, features));
    for (int c = 0; c < 16; c++)
        for (int q = 0; q < 16; q++) chw[c * 16 + q] = features[q * 16 + c];
    float two[512];
    memcpy(two, chw, sizeof chw), memcpy(two + 256, chw, sizeof chw);
    const int64_t shape[4] = {2, 16, 4, 4};
    df_tensor *x;
    ck_assert_ok(df_tensor_borrow_host(two, 4, shape, &x));
    ck_assert_ok(df_stego_predict(loaded, x, NULL, 6, 5, p, labels));
    for (int i = 0; i < 2 * 5 * 6; i++) {
        const float *q = p + i * 3;
        ck_assert_float_eq_tol(q[0] + q[1] + q[2], 1.0f, 1e-5f);
        const int best = q[1] > q[0] ? (q[2] > q[1] ? 2 : 1) : (q[2] > q[0] ? 2 : 0);
        ck_assert_int_eq(labels[i], best);
    }
    ck_assert_fails_with(df_stego_predict(loaded, x, NULL, 6, 5, NULL, NULL), DF_E_INVALID_ARG, "df_stego_predict");
    df_tensor_free(x);
    df_feature_cache_free(other_cache);
    df_feature_cache_free(cache);
    df_stego_free(t), df_stego_free(loaded);
    df_options_free(o);
    df_dataset_free(d);
    df_model_free(model), df_model_free(other);
    remove_tree(root);
}
END_TEST

Suite *cache_suite(void) {
    Suite *s = suite_create("cache");
    TCase *tc = tcase_create("cache");
    tcase_set_timeout(tc, HANG_GUARD_SECONDS);
    tcase_add_test(tc, test_cache_equals_forward);
    tcase_add_test(tc, test_cache_resumes_and_refuses);
    tcase_add_test(tc, test_knn_table);
    tcase_add_test(tc, test_stego_trains_on_a_cache);
    tcase_add_test(tc, test_stego_segments_an_image);
    suite_add_tcase(s, tc);
    return s;
}
