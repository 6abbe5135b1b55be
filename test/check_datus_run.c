/* A DatUS² run over a dataset (df_datus_*): the pipeline on synthetic keys and crop features with
 * planted region classes (acceptance 3), interrupt-and-resume (acceptance 4), the store's failure
 * paths, PCA, and the image path and de-noiser on the tiny model. */
#include "check_common.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

enum { GH = 14, GW = 14, PATCH = 8, KEY_DIM = 8, FEATURE_DIM = 16, CLASSES = 4, IMAGES = 30 };

/* A deterministic uniform in [0, 1). */
static double uniform(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (double)((z ^ (z >> 31)) >> 11) / 9007199254740992.0;
}

/* Image i's planted classes on the grid: a left block, a right-top and a right-bottom block of
 * three of the classes, and a 2 x 2 speck of the fourth (noise by the threshold). */
static void planted_regions(int i, int32_t *region) {
    uint64_t state = 1000u + (uint64_t)i;
    const int cut_x = 4 + (int)(uniform(&state) * 6), cut_y = 4 + (int)(uniform(&state) * 6), skip = i % CLASSES;
    int classes[3], n = 0;
    for (int c = 0; c < CLASSES; c++)
        if (c != skip) classes[n++] = c;
    for (int y = 0; y < GH; y++)
        for (int x = 0; x < GW; x++) region[y * GW + x] = x < cut_x ? classes[0] : y < cut_y ? classes[1] : classes[2];
    const int sx = 1 + (i % 2), sy = GH - 4;
    for (int y = sy; y < sy + 2; y++)
        for (int x = sx; x < sx + 2; x++) region[y * GW + x] = skip;
}

/* Keys around centred simplex prototypes: same class > 0, other classes < 0. */
static void planted_keys(int i, const int32_t *region, float *keys) {
    uint64_t state = 5000u + (uint64_t)i;
    for (int p = 0; p < GH * GW; p++)
        for (int d = 0; d < KEY_DIM; d++)
            keys[p * KEY_DIM + d] = (float)((d == region[p]) - (d < CLASSES ? 1.0 / CLASSES : 0.0) +
                                            0.1 * (uniform(&state) - 0.5));
}

/* Each segment's crop feature: its majority class's prototype plus noise, L2-normalised. */
static void planted_features(int i, const int32_t *region, const int32_t *segments, size_t count, float *features) {
    uint64_t state = 9000u + (uint64_t)i;
    for (size_t s = 1; s <= count; s++) {
        int votes[CLASSES] = {0}, best = 0;
        for (int p = 0; p < GH * GW; p++)
            if (segments[p] == (int32_t)s) votes[region[p]]++;
        for (int c = 1; c < CLASSES; c++)
            if (votes[c] > votes[best]) best = c;
        float *f = features + (s - 1) * FEATURE_DIM;
        double norm = 0;
        for (int d = 0; d < FEATURE_DIM; d++) {
            f[d] = (float)((d == best) + 0.3 * (uniform(&state) - 0.5));
            norm += (double)f[d] * f[d];
        }
        for (int d = 0; d < FEATURE_DIM; d++) f[d] = (float)(f[d] / sqrt(norm));
    }
}

static void image_name(int i, char *name, size_t size) { snprintf(name, size, "image%03d.png", i); }

/* Steps 2 to 5 on image i's synthetic keys, and its synthetic crop features, recorded in run
 * unless recorded already (as a resumed run skips them). */
static void add_synthetic(df_datus *run, int i) {
    char name[32];
    image_name(i, name, sizeof name);
    int found;
    ck_assert_ok(df_datus_find(run, name, &found, NULL));
    if (found) return;
    int32_t region[GH * GW], segments[GH * GW];
    float keys[GH * GW * KEY_DIM], features[GH * GW * FEATURE_DIM];
    size_t count;
    planted_regions(i, region);
    planted_keys(i, region, keys);
    ck_assert_ok(df_datus_segments(keys, GH, GW, KEY_DIM, 5, 0, segments, &count, NULL));
    planted_features(i, region, segments, count, features);
    ck_assert_ok(df_datus_add_segments(run, name, GW * PATCH, GH * PATCH, segments, GH, GW, features, count,
                                       FEATURE_DIM));
}

static char directory[64];

static void make_directory(void) {
    snprintf(directory, sizeof directory, "/tmp/dinofeat_datus_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(directory));
}

static void remove_directory(void) {
    char command[128];
    snprintf(command, sizeof command, "rm -rf '%s'", directory);
    ck_assert_int_eq(system(command), 0);
}

static void store_path(const char *name, char *path, size_t size) { snprintf(path, size, "%s/%s", directory, name); }

static df_options *kmeans_options(int64_t k) {
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_KMEANS_K, k));
    return o;
}

/* Hungarian mIoU of the pseudo masks over the pixels they label. */
static double pseudo_mask_miou(const df_datus *run, int64_t k, double *labelled_share) {
    df_confusion *confusion;
    ck_assert_ok(df_confusion_new((size_t)k, CLASSES, &confusion));
    const size_t w = GW * PATCH, h = GH * PATCH;
    uint8_t *mask = malloc(w * h);
    int32_t *predicted = malloc(w * h * sizeof *predicted), *truth = malloc(w * h * sizeof *truth);
    size_t labelled = 0;
    for (int i = 0; i < IMAGES; i++) {
        int32_t region[GH * GW];
        planted_regions(i, region);
        ck_assert_ok(df_datus_mask(run, (size_t)i, w, h, mask));
        for (size_t p = 0; p < w * h; p++) {
            const int noise = mask[p] == DF_DATUS_NOISE;
            predicted[p] = noise ? 0 : mask[p];
            truth[p] = noise ? DF_IGNORE_LABEL : region[(p / w) / PATCH * GW + (p % w) / PATCH];
            labelled += !noise;
        }
        ck_assert_ok(df_confusion_add(confusion, predicted, truth, w * h));
    }
    double miou, accuracy, f1;
    ck_assert_ok(df_confusion_scores(confusion, DF_MATCH_HUNGARIAN, &miou, &accuracy, &f1, NULL));
    *labelled_share = (double)labelled / (double)(IMAGES * w * h);
    free(mask), free(predicted), free(truth);
    df_confusion_free(confusion);
    return miou;
}

START_TEST(test_datus_pipeline_recovers_planted_classes) {
    make_directory();
    char path[128];
    store_path("planted.dfds", path, sizeof path);
    df_datus *run;
    ck_assert_ok(df_datus_open(path, NULL, &run));
    for (int i = 0; i < IMAGES; i++) add_synthetic(run, i);
    size_t images, segments;
    ck_assert_ok(df_datus_images(run, &images));
    ck_assert_uint_eq(images, IMAGES);
    ck_assert_ok(df_datus_image(run, 3, NULL, NULL, NULL, &segments));
    ck_assert_uint_eq(segments, 3); /* three blocks; the speck is noise */
    df_options *o = kmeans_options(CLASSES);
    ck_assert_ok(df_datus_cluster(run, o));
    double share, miou = pseudo_mask_miou(run, CLASSES, &share);
    printf("datus planted classes: pseudo-mask mIoU %.4f over the %.1f%% labelled pixels\n", miou, 100 * share);
    ck_assert_double_ge(miou, 0.8);
    ck_assert_double_gt(share, 0.9);
    /* over-clustering is allowed: K > C */
    df_options_free(o);
    o = kmeans_options(2 * CLASSES);
    ck_assert_ok(df_datus_cluster(run, o));
    uint8_t patch_mask[GH * GW];
    ck_assert_ok(df_datus_mask(run, 0, GW, GH, patch_mask));
    int32_t region[GH * GW];
    planted_regions(0, region);
    ck_assert_int_eq(patch_mask[(GH - 4) * GW + 1], DF_DATUS_NOISE); /* the speck */
    for (int p = 0; p < GH * GW; p++) ck_assert_int_le(patch_mask[p] == DF_DATUS_NOISE ? 0 : patch_mask[p], 2 * CLASSES - 1);
    df_options_free(o);
    df_datus_free(run);
    remove_directory();
}
END_TEST

START_TEST(test_datus_resume_equals_one_run) {
    make_directory();
    char straight[128], resumed[128];
    store_path("straight.dfds", straight, sizeof straight);
    store_path("resumed.dfds", resumed, sizeof resumed);
    df_datus *one, *two;
    ck_assert_ok(df_datus_open(straight, NULL, &one));
    for (int i = 0; i < IMAGES; i++) add_synthetic(one, i);
    /* interrupted at image 12, while writing image 12's record: a torn record at the end */
    ck_assert_ok(df_datus_open(resumed, NULL, &two));
    for (int i = 0; i < 13; i++) add_synthetic(two, i);
    df_datus_free(two);
    size_t size;
    unsigned char *bytes = read_fixture_from("", resumed, &size);
    ck_assert_int_eq(truncate(resumed, (off_t)(size - 37)), 0);
    free(bytes);
    ck_assert_ok(df_datus_open(resumed, NULL, &two));
    size_t images;
    ck_assert_ok(df_datus_images(two, &images));
    ck_assert_uint_eq(images, 12);
    for (int i = 0; i < IMAGES; i++) add_synthetic(two, i); /* the runner skips what is recorded */
    size_t size_one, size_two;
    unsigned char *a = read_fixture_from("", straight, &size_one), *b = read_fixture_from("", resumed, &size_two);
    ck_assert_uint_eq(size_one, size_two);
    ck_assert_msg(memcmp(a, b, size_one) == 0, "the resumed store differs from the straight run's");
    free(a), free(b);
    df_options *o = kmeans_options(CLASSES);
    ck_assert_ok(df_datus_cluster(one, o));
    ck_assert_ok(df_datus_cluster(two, o));
    uint8_t mask_one[GH * GW * 4], mask_two[GH * GW * 4];
    for (size_t i = 0; i < IMAGES; i++) {
        ck_assert_ok(df_datus_mask(one, i, 2 * GW, 2 * GH, mask_one));
        ck_assert_ok(df_datus_mask(two, i, 2 * GW, 2 * GH, mask_two));
        ck_assert(memcmp(mask_one, mask_two, sizeof mask_one) == 0);
    }
    df_options_free(o);
    df_datus_free(one);
    df_datus_free(two);
    remove_directory();
}
END_TEST

/* PCA with every component is a rotation: k-means sees the same partition. */
START_TEST(test_datus_pca) {
    make_directory();
    char path[128];
    store_path("pca.dfds", path, sizeof path);
    df_datus *run;
    ck_assert_ok(df_datus_open(path, NULL, &run));
    for (int i = 0; i < IMAGES; i++) add_synthetic(run, i);
    df_options *o = kmeans_options(CLASSES);
    ck_assert_ok(df_datus_cluster(run, o));
    int32_t plain[3 * IMAGES], *at = plain;
    for (size_t i = 0; i < IMAGES; i++) {
        const int32_t *c;
        size_t n;
        ck_assert_ok(df_datus_image(run, i, NULL, NULL, NULL, &n));
        ck_assert_ok(df_datus_segment_clusters(run, i, &c));
        memcpy(at, c, n * sizeof *c), at += n;
    }
    const size_t total = (size_t)(at - plain);
    ck_assert_ok(df_options_set_int(o, DF_PARAM_DATUS_PCA, FEATURE_DIM));
    ck_assert_ok(df_datus_cluster(run, o));
    int32_t map[CLASSES];
    for (int c = 0; c < CLASSES; c++) map[c] = -1;
    at = plain;
    for (size_t i = 0; i < IMAGES; i++) {
        const int32_t *c;
        size_t n;
        ck_assert_ok(df_datus_image(run, i, NULL, NULL, NULL, &n));
        ck_assert_ok(df_datus_segment_clusters(run, i, &c));
        for (size_t s = 0; s < n; s++, at++) {
            if (map[*at] < 0) map[*at] = c[s];
            ck_assert_int_eq(map[*at], c[s]);
        }
    }
    ck_assert_uint_eq((size_t)(at - plain), total);
    ck_assert_ok(df_options_set_int(o, DF_PARAM_DATUS_PCA, 3)); /* fewer components work too */
    ck_assert_ok(df_datus_cluster(run, o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_DATUS_PCA, FEATURE_DIM + 1));
    ck_assert_fails_with(df_datus_cluster(run, o), DF_E_INVALID_ARG, "df_datus_cluster");
    df_options_free(o);
    df_datus_free(run);
    remove_directory();
}
END_TEST

static void write_bytes(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, size, f), size);
    fclose(f);
}

START_TEST(test_datus_store_errors) {
    make_directory();
    char path[128], other[128];
    store_path("errors.dfds", path, sizeof path);
    df_datus *run = NULL;
    ck_assert_fails_with(df_datus_open(NULL, NULL, &run), DF_E_INVALID_ARG, "df_datus_open");
    ck_assert_fails_with(df_datus_open(path, NULL, NULL), DF_E_INVALID_ARG, "df_datus_open");
    ck_assert_ok(df_datus_open(path, NULL, &run));
    add_synthetic(run, 0);
    add_synthetic(run, 1);
    int32_t grid[4] = {0, 1, 1, 0};
    float features[2 * FEATURE_DIM] = {1};
    ck_assert_fails_with(df_datus_add_segments(run, "image000.png", 16, 16, grid, 2, 2, features, 1, FEATURE_DIM),
                         DF_E_INVALID_ARG, "df_datus_add_segments"); /* recorded already */
    ck_assert_fails_with(df_datus_add_segments(run, "x", 16, 16, grid, 2, 2, features, 1, FEATURE_DIM + 1),
                         DF_E_INVALID_ARG, "df_datus_add_segments"); /* another dimension */
    grid[0] = 2;
    ck_assert_fails_with(df_datus_add_segments(run, "x", 16, 16, grid, 2, 2, features, 1, FEATURE_DIM),
                         DF_E_INVALID_ARG, "df_datus_add_segments"); /* id outside 0..count */
    ck_assert_fails_with(df_datus_add_segments(run, "", 16, 16, grid, 2, 2, features, 1, FEATURE_DIM),
                         DF_E_INVALID_ARG, "df_datus_add_segments");
    ck_assert_fails_with(df_datus_add_segments(run, "x", 0, 16, grid, 2, 2, features, 1, FEATURE_DIM),
                         DF_E_INVALID_ARG, "df_datus_add_segments");
    const int32_t *clusters;
    ck_assert_fails_with(df_datus_segment_clusters(run, 0, &clusters), DF_E_INVALID_ARG, "df_datus_segment_clusters");
    uint8_t mask[4];
    ck_assert_fails_with(df_datus_mask(run, 0, 2, 2, mask), DF_E_INVALID_ARG, "df_datus_segment_clusters");
    df_options *o = kmeans_options(7); /* two images have 6 segments */
    ck_assert_fails_with(df_datus_cluster(run, o), DF_E_INVALID_ARG, "df_datus_cluster");
    ck_assert_ok(df_options_set_int(o, DF_PARAM_KMEANS_K, 256));
    ck_assert_fails_with(df_datus_cluster(run, o), DF_E_INVALID_ARG, "df_datus_cluster");
    ck_assert_ok(df_options_set_int(o, DF_PARAM_KMEANS_K, 2));
    ck_assert_ok(df_datus_cluster(run, o));
    ck_assert_fails_with(df_datus_mask(run, 2, 2, 2, mask), DF_E_INVALID_ARG, "df_datus_segment_clusters");
    const char *name;
    ck_assert_fails_with(df_datus_image(run, 2, &name, NULL, NULL, NULL), DF_E_INVALID_ARG, "df_datus_image");
    ck_assert_ok(df_datus_image(run, 1, &name, NULL, NULL, NULL));
    ck_assert_str_eq(name, "image001.png");
    const int32_t *segments;
    size_t gh, gw, index;
    int found;
    ck_assert_ok(df_datus_grid(run, 1, &segments, &gh, &gw));
    ck_assert_uint_eq(gh * 100 + gw, GH * 100 + GW);
    ck_assert_fails_with(df_datus_grid(run, 5, &segments, &gh, &gw), DF_E_INVALID_ARG, "df_datus_grid");
    ck_assert_ok(df_datus_find(run, "image001.png", &found, &index));
    ck_assert_int_eq(found * 10 + (int)index, 11);
    ck_assert_ok(df_datus_find(run, "nothing", &found, &index));
    ck_assert_int_eq(found, 0);
    ck_assert_fails_with(df_datus_find(run, NULL, &found, &index), DF_E_INVALID_ARG, "df_datus_find");
    size_t images;
    ck_assert_fails_with(df_datus_images(NULL, &images), DF_E_INVALID_ARG, "df_datus_images");
    ck_assert_fails_with(df_datus_cluster(NULL, NULL), DF_E_INVALID_ARG, "df_datus_cluster");
    ck_assert_fails_with(df_datus_mask(run, 0, 2, 2, NULL), DF_E_INVALID_ARG, "df_datus_mask");
    ck_assert_fails_with(df_datus_image(NULL, 0, NULL, NULL, NULL, NULL), DF_E_INVALID_ARG, "df_datus_image");
    df_weak *denoiser;
    const size_t one = 0;
    ck_assert_fails_with(df_datus_denoise(run, NULL, &one, NULL, 1, NULL, &denoiser), DF_E_INVALID_ARG,
                         "df_datus_denoise");
    ck_assert_fails_with(df_datus_add_image(run, NULL, "y", NULL), DF_E_INVALID_ARG, "df_datus_add_image");
    df_datus_free(run);
    /* another threshold than the store's */
    ck_assert_ok(df_options_set_int(o, DF_PARAM_DATUS_THRESHOLD, 3));
    ck_assert_fails_with(df_datus_open(path, o, &run), DF_E_INVALID_ARG, "df_datus_open");
    ck_assert_ptr_null(run);
    ck_assert_msg(strstr(df_last_error_message(), "threshold 5") != NULL, "%s", df_last_error_message());
    /* a corrupt record before the last one is damage, not an interruption */
    size_t size;
    unsigned char *bytes = read_fixture_from("", path, &size);
    bytes[size / 2] ^= 0x55;
    store_path("corrupt.dfds", other, sizeof other);
    write_bytes(other, bytes, size);
    ck_assert_fails_with(df_datus_open(other, NULL, &run), DF_E_FORMAT, "df_datus_open");
    /* not a store; a newer version */
    write_bytes(other, "not a store at all", 18);
    ck_assert_fails_with(df_datus_open(other, NULL, &run), DF_E_FORMAT, "df_datus_open");
    bytes[8] = 99;
    write_bytes(other, bytes, size);
    ck_assert_fails_with(df_datus_open(other, NULL, &run), DF_E_UNSUPPORTED, "df_datus_open");
    store_path("missing/x.dfds", other, sizeof other);
    ck_assert_fails_with(df_datus_open(other, NULL, &run), DF_E_IO, "df_datus_open");
    free(bytes);
    df_options_free(o);
    remove_directory();
}
END_TEST

/* The image path equals the per-image steps run by hand; the de-noiser labels every pixel. */
START_TEST(test_datus_images_on_tiny_model) {
    make_directory();
    df_options *o;
    df_model *model;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_MODEL_HEADS, 2));
    ck_assert_ok(df_model_open("fixtures/models/dino_s8.pth", NULL, o, &model));
    df_options *settings;
    ck_assert_ok(df_options_new(&settings));
    ck_assert_ok(df_options_set_int(settings, DF_PARAM_DATUS_SIZE, 64));
    ck_assert_ok(df_options_set_int(settings, DF_PARAM_DATUS_THRESHOLD, 5));
    ck_assert_ok(df_options_set_int(settings, DF_PARAM_DATUS_RESIZE, 40));
    ck_assert_ok(df_options_set_int(settings, DF_PARAM_DATUS_CROP, 32));
    char path[128];
    store_path("images.dfds", path, sizeof path);
    df_datus *run;
    ck_assert_ok(df_datus_open(path, settings, &run));
    df_image *images[3];
    uint64_t state = 77;
    for (int i = 0; i < 3; i++) { /* 80 x 72 blocks of colour, so the keys have structure */
        ck_assert_ok(df_image_new(80, 72, 3, 8, &images[i]));
        uint8_t *p = df_image_pixels(images[i]);
        for (size_t y = 0; y < 72; y++)
            for (size_t x = 0; x < 80; x++)
                for (int c = 0; c < 3; c++)
                    p[(y * 80 + x) * 3 + c] = (uint8_t)(((x / 20 + y / 24 + (size_t)c + (size_t)i) % 3) * 100 +
                                                        (int)(uniform(&state) * 40));
        char name[16];
        snprintf(name, sizeof name, "picture%d", i);
        ck_assert_ok(df_datus_add_image(run, model, name, images[i]));
    }
    ck_assert_fails_with(df_datus_add_image(run, model, "picture0", images[0]), DF_E_INVALID_ARG, "df_datus_add_image");
    /* by hand: resize, keys, segments, crop features */
    df_image *sized, *rgb;
    df_tensor *x;
    df_forward *forward;
    const df_tensor *k;
    ck_assert_ok(df_image_convert(images[1], 3, &rgb));
    ck_assert_ok(df_image_resize(rgb, 64, 64, DF_RESIZE_BICUBIC, &sized));
    ck_assert_ok(df_image_to_tensor(sized, NULL, NULL, &x));
    ck_assert_ok(df_model_forward(model, x, DF_OUTPUT_K, &forward));
    ck_assert_ok(df_forward_output(forward, DF_OUTPUT_K, &k));
    float keys[65 * 16];
    ck_assert_ok(df_tensor_copy_to_host(k, keys, 65 * 16));
    int32_t expected[64];
    size_t count, width, height, recorded;
    ck_assert_ok(df_datus_segments(keys + 16, 8, 8, 16, 5, 0, expected, &count, NULL));
    const int32_t *grid;
    size_t gh, gw;
    ck_assert_ok(df_datus_grid(run, 1, &grid, &gh, &gw));
    ck_assert_uint_eq(gh * 10 + gw, 88);
    ck_assert(memcmp(grid, expected, sizeof expected) == 0);
    ck_assert_ok(df_datus_image(run, 1, NULL, &width, &height, &recorded));
    ck_assert_uint_eq(width * 1000 + height, 80072);
    ck_assert_uint_eq(recorded, count);
    ck_assert_uint_gt(count, 0);
    df_forward_free(forward);
    df_tensor_free(x);
    df_image_free(rgb);
    /* cluster and de-noise */
    size_t total = 0;
    for (size_t i = 0; i < 3; i++) {
        ck_assert_ok(df_datus_image(run, i, NULL, NULL, NULL, &recorded));
        total += recorded;
    }
    df_options *km = kmeans_options(total < 3 ? (int64_t)total : 3);
    ck_assert_ok(df_datus_cluster(run, km));
    const size_t indices[3] = {0, 1, 2};
    df_weak *denoiser = NULL;
    ck_assert_fails_with(df_datus_denoise(run, model, indices, (const df_image *const *)images, 0, NULL, &denoiser),
                         DF_E_INVALID_ARG, "df_datus_denoise");
    const df_image *wrong[1] = {sized}; /* 64 x 64, recorded at 80 x 72 */
    ck_assert_fails_with(df_datus_denoise(run, model, indices, wrong, 1, NULL, &denoiser), DF_E_INVALID_ARG,
                         "df_datus_denoise");
    ck_assert_ok(df_datus_denoise(run, model, indices, (const df_image *const *)images, 3, NULL, &denoiser));
    df_weak_features set;
    ck_assert_ok(df_weak_feature_set(denoiser, &set));
    ck_assert_int_eq(set, DF_WEAK_DEEP);
    /* The de-noiser is df_weak_train on the pseudo masks (cluster + 1, noise unlabelled) with the
     * documented settings, which test_weak_deep_equals_reference holds to the reference. */
    df_image *pseudo[3];
    size_t noise = 0, labelled = 0;
    for (int i = 0; i < 3; i++) {
        ck_assert_ok(df_image_new(80, 72, 1, 8, &pseudo[i]));
        uint8_t *mask = df_image_pixels(pseudo[i]);
        ck_assert_ok(df_datus_mask(run, (size_t)i, 80, 72, mask));
        for (size_t p = 0; p < 80 * 72; p++) {
            noise += mask[p] == DF_DATUS_NOISE, labelled += mask[p] != DF_DATUS_NOISE;
            mask[p] = mask[p] == DF_DATUS_NOISE ? 0 : (uint8_t)(mask[p] + 1);
        }
    }
    ck_assert_uint_gt(noise, 0);       /* segments under the threshold: left out, not a class */
    ck_assert_uint_gt(labelled, 1000); /* the default sample of 1000 pixels an image is drawn */
    df_options *documented;
    ck_assert_ok(df_options_new(&documented));
    ck_assert_ok(df_options_set_int(documented, DF_PARAM_WEAK_FEATURES, DF_WEAK_DEEP));
    ck_assert_ok(df_options_set_int(documented, DF_PARAM_WEAK_CLASSIFIER, DF_WEAK_LOGREG));
    ck_assert_ok(df_options_set_int(documented, DF_PARAM_WEAK_SAMPLES, 1000));
    ck_assert_ok(df_options_set_int(documented, DF_PARAM_UPS_STRIDE, 4));
    ck_assert_ok(df_options_set_str(documented, DF_PARAM_UPS_SHIFTS, ""));
    ck_assert_ok(df_options_set_int(documented, DF_PARAM_UPS_FLIPS, DF_UPS_FLIPS_OFF));
    df_weak *by_hand;
    ck_assert_ok(df_weak_train(model, (const df_image *const *)images, (const df_image *const *)pseudo, 3, documented,
                               &by_hand));
    size_t classes, hand_classes;
    ck_assert_ok(df_weak_classes(denoiser, &classes));
    ck_assert_ok(df_weak_classes(by_hand, &hand_classes));
    ck_assert_uint_eq(classes, hand_classes);
    float *p = malloc(80 * 72 * classes * sizeof *p), *q = malloc(80 * 72 * classes * sizeof *q);
    int32_t *labels = malloc(80 * 72 * sizeof *labels);
    for (int i = 0; i < 3; i++) {
        ck_assert_ok(df_weak_predict(denoiser, model, images[i], NULL, p, labels));
        ck_assert_ok(df_weak_predict(by_hand, model, images[i], NULL, q, NULL));
        ck_assert_mem_eq(p, q, 80 * 72 * classes * sizeof *p);
        for (size_t j = 0; j < 80 * 72; j++) ck_assert(labels[j] >= 1 && (size_t)labels[j] <= classes);
    }
    free(p), free(q), free(labels);
    for (int i = 0; i < 3; i++) df_image_free(pseudo[i]);
    df_options_free(documented);
    df_weak_free(by_hand);
    df_weak_free(denoiser);
    df_image_free(sized);
    df_datus_free(run);
    df_options_free(km);
    for (int i = 0; i < 3; i++) df_image_free(images[i]);
    df_options_free(settings);
    df_model_free(model);
    df_options_free(o);
    remove_directory();
}
END_TEST

Suite *datus_run_suite(void) {
    Suite *s = suite_create("datus_run");
    TCase *tc = tcase_create("run");
    tcase_set_timeout(tc, HANG_GUARD_SECONDS);
    tcase_add_test(tc, test_datus_pipeline_recovers_planted_classes);
    tcase_add_test(tc, test_datus_resume_equals_one_run);
    tcase_add_test(tc, test_datus_pca);
    tcase_add_test(tc, test_datus_store_errors);
    tcase_add_test(tc, test_datus_images_on_tiny_model);
    suite_add_tcase(s, tc);
    return s;
}
