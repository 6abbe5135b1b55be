/* df_dataset: listing, label pairing, five-crop and resize, and passes whose order depends on the
 * seed and epoch only, not on the workers or the prefetch depth. */
#include "check_common.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[64];

/* An 8-bit RGB image of width x height whose pixel (x, y) is (x, y, tag). */
static void write_png(const char *relative, size_t width, size_t height, uint8_t tag, size_t channels) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", root, relative);
    df_image *image;
    ck_assert_ok(df_image_new(width, height, channels, 8, &image));
    uint8_t *p = df_image_pixels(image);
    for (size_t y = 0; y < height; y++)
        for (size_t x = 0; x < width; x++)
            for (size_t c = 0; c < channels; c++) p[(y * width + x) * channels + c] = (uint8_t)(c == 0 ? x : c == 1 ? y : tag);
    ck_assert_ok(df_image_save_png(image, path));
    df_image_free(image);
}

static void make_folders(void) {
    snprintf(root, sizeof root, "/tmp/dinofeat_dataset_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(root));
    char path[256];
    const char *folders[] = {"img", "img/sub", "img/.hidden", "lab", "lab/sub"};
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/%s", root, folders[i]);
        ck_assert_int_eq(mkdir(path, 0777), 0);
    }
    write_png("img/b.png", 40, 20, 1, 3);
    write_png("img/a.png", 30, 30, 2, 3);
    write_png("img/sub/c.png", 20, 40, 3, 3);
    write_png("img/.hidden/d.png", 8, 8, 4, 3);
    write_png("img/.e.png", 8, 8, 5, 3);
    write_png("lab/b.png", 40, 20, 0, 1);
    write_png("lab/a.png", 30, 30, 0, 1);
    write_png("lab/sub/c.png", 20, 40, 0, 1);
    snprintf(path, sizeof path, "%s/img/notes.txt", root);
    FILE *f = fopen(path, "w");
    fputs("not an image", f);
    fclose(f);
}

/* An empty img/ and lab/ in a new root, for a test's own images; their paths into images, labels. */
static void make_empty_folders(char *images, char *labels, size_t size) {
    snprintf(root, sizeof root, "/tmp/dinofeat_dataset_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(root));
    snprintf(images, size, "%s/img", root);
    snprintf(labels, size, "%s/lab", root);
    ck_assert_int_eq(mkdir(images, 0777), 0);
    ck_assert_int_eq(mkdir(labels, 0777), 0);
}

static void remove_folders(void) {
    char command[128];
    snprintf(command, sizeof command, "rm -rf '%s'", root);
    ck_assert_int_eq(system(command), 0);
}

static df_dataset *open_dataset(int labels, int64_t size, int five_crop, int shuffle, int64_t workers, int64_t prefetch) {
    char images[128], label_dir[128];
    snprintf(images, sizeof images, "%s/img", root);
    snprintf(label_dir, sizeof label_dir, "%s/lab", root);
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_DATASET_SIZE, size));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_DATASET_FIVE_CROP, five_crop));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_DATASET_SHUFFLE, shuffle));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_DATASET_WORKERS, workers));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_DATASET_PREFETCH, prefetch));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_DATASET_SEED, 7));
    df_dataset *d;
    ck_assert_ok(df_dataset_open(images, labels ? label_dir : NULL, o, &d));
    df_options_free(o);
    return d;
}

START_TEST(test_dataset_lists_and_decodes) {
    make_folders();
    df_dataset *d = open_dataset(1, 0, 0, 0, 2, 4);
    size_t count;
    ck_assert_ok(df_dataset_count(d, &count));
    ck_assert_uint_eq(count, 3);
    const char *name;
    int crop;
    const char *expected[3] = {"a.png", "b.png", "sub/c.png"};
    for (size_t i = 0; i < 3; i++) {
        ck_assert_ok(df_dataset_name(d, i, &name, &crop));
        ck_assert_str_eq(name, expected[i]);
        ck_assert_int_eq(crop, -1);
    }
    ck_assert_fails_with(df_dataset_name(d, 3, &name, NULL), DF_E_INVALID_ARG, "df_dataset_name");
    df_image *image, *labels;
    ck_assert_ok(df_dataset_get(d, 2, &image, &labels));
    ck_assert_uint_eq(df_image_width(image) * 100 + df_image_height(image), 2040);
    ck_assert_uint_eq(df_image_channels(labels), 1);
    ck_assert_int_eq(((uint8_t *)df_image_pixels(image))[(5 * 20 + 3) * 3 + 2], 3);
    df_image_free(image), df_image_free(labels);
    ck_assert_fails_with(df_dataset_get(d, 9, &image, NULL), DF_E_INVALID_ARG, "df_dataset_get");
    df_dataset_free(d);
    remove_folders();
}
END_TEST

/* A 16-bit image comes as it is decoded: microscopy's raw values are not cut to 8 bits. */
START_TEST(test_dataset_keeps_16_bit_images) {
    char images[128], labels[128], path[256];
    make_empty_folders(images, labels, sizeof images);
    snprintf(path, sizeof path, "%s/grey16.png", images);
    df_image *stored, *image;
    ck_assert_ok(df_image_load("fixtures/images/grey16.png", NULL, &stored));
    ck_assert_ok(df_image_save_png(stored, path));
    df_dataset *d;
    ck_assert_ok(df_dataset_open(images, NULL, NULL, &d));
    ck_assert_ok(df_dataset_get(d, 0, &image, NULL));
    ck_assert_uint_eq(df_image_bit_depth(image), 16);
    ck_assert_uint_eq(df_image_channels(image), df_image_channels(stored));
    ck_assert_mem_eq(df_image_pixels(image), df_image_pixels(stored),
                     df_image_width(stored) * df_image_height(stored) * df_image_channels(stored) * 2);
    df_image_free(image), df_image_free(stored);
    df_dataset_free(d);
    remove_folders();
}
END_TEST

/* Five-crop corners as torchvision's five_crop, then the short side to 8 and the centre. */
START_TEST(test_dataset_five_crop_and_resize) {
    make_folders();
    df_dataset *d = open_dataset(0, 0, 1, 0, 1, 1);
    size_t count;
    ck_assert_ok(df_dataset_count(d, &count));
    ck_assert_uint_eq(count, 15);
    /* b.png is 40 x 20: crops of 20 x 10 at (0,0) (20,0) (0,10) (20,10) and the centre (10,5) */
    const size_t corners[5][2] = {{0, 0}, {20, 0}, {0, 10}, {20, 10}, {10, 5}};
    for (int c = 0; c < 5; c++) {
        df_image *image;
        const char *name;
        int crop;
        ck_assert_ok(df_dataset_name(d, 5 + (size_t)c, &name, &crop));
        ck_assert_str_eq(name, "b.png");
        ck_assert_int_eq(crop, c);
        ck_assert_ok(df_dataset_get(d, 5 + (size_t)c, &image, NULL));
        ck_assert_uint_eq(df_image_width(image) * 100 + df_image_height(image), 2010);
        const uint8_t *p = df_image_pixels(image);
        ck_assert_uint_eq(p[0], corners[c][0]);
        ck_assert_uint_eq(p[1], corners[c][1]);
        df_image_free(image);
    }
    df_dataset_free(d);
    d = open_dataset(1, 8, 0, 0, 1, 1);
    df_image *image, *labels;
    ck_assert_ok(df_dataset_get(d, 1, &image, &labels)); /* 40 x 20 -> 16 x 8 -> centre 8 x 8 */
    ck_assert_uint_eq(df_image_width(image) * 100 + df_image_height(image), 808);
    ck_assert_uint_eq(df_image_width(labels) * 100 + df_image_height(labels), 808);
    const uint8_t *p = df_image_pixels(image);
    ck_assert_int_ge(p[0], 9); /* the centre: 8 of 16 from x = 4, about 11 of 40 */
    ck_assert_int_le(p[0], 13);
    df_image_free(image), df_image_free(labels);
    df_dataset_free(d);
    remove_folders();
}
END_TEST

/* Centre crops round as torchvision's CenterCrop (Python's round, halves to even): the five-crop
 * centre of a 26-wide image starts at x = round(6.5) = 6, the 4 x 4 centre of a 9 x 4 image at
 * x = round(2.5) = 2 (a half rounded away from zero gave 7 and 3). */
START_TEST(test_dataset_centre_crops_round_half_to_even) {
    char images[128], labels[128];
    make_empty_folders(images, labels, sizeof images);
    write_png("img/a.png", 26, 4, 0, 3);
    write_png("img/b.png", 9, 4, 0, 3);
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_DATASET_FIVE_CROP, 1));
    df_dataset *d;
    ck_assert_ok(df_dataset_open(images, NULL, o, &d));
    df_image *image;
    ck_assert_ok(df_dataset_get(d, 4, &image, NULL)); /* a.png's centre: 13 x 2 at (6, 1) */
    ck_assert_uint_eq(df_image_width(image) * 100 + df_image_height(image), 1302);
    ck_assert_uint_eq(((const uint8_t *)df_image_pixels(image))[0], 6);
    ck_assert_uint_eq(((const uint8_t *)df_image_pixels(image))[1], 1);
    df_image_free(image);
    df_dataset_free(d);
    ck_assert_ok(df_options_set_int(o, DF_PARAM_DATASET_FIVE_CROP, 0));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_DATASET_SIZE, 4));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_DATASET_FILTER, DF_RESIZE_NEAREST));
    ck_assert_ok(df_dataset_open(images, NULL, o, &d));
    ck_assert_ok(df_dataset_get(d, 1, &image, NULL)); /* b.png: already 4 high, its centre 4 x 4 from x = 2 */
    ck_assert_uint_eq(df_image_width(image) * 100 + df_image_height(image), 404);
    ck_assert_uint_eq(((const uint8_t *)df_image_pixels(image))[0], 2);
    df_image_free(image);
    df_dataset_free(d);
    df_options_free(o);
    remove_folders();
}
END_TEST

/* dataset.multiple: images and labels centre-cropped alike to whole multiples (HR-Dv2's
 * closest_crop): 31 x 17 to 28 x 14 from (2, 2), torchvision's round(1.5) = 2; after
 * dataset.size; refused for an image smaller than one multiple. */
START_TEST(test_dataset_crops_to_multiples) {
    char images[128], labels[128];
    make_empty_folders(images, labels, sizeof images);
    write_png("img/a.png", 31, 17, 0, 3);
    write_png("lab/a.png", 31, 17, 0, 1);
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_DATASET_MULTIPLE, 14));
    df_dataset *d;
    ck_assert_ok(df_dataset_open(images, labels, o, &d));
    df_image *image, *marks;
    ck_assert_ok(df_dataset_get(d, 0, &image, &marks));
    ck_assert_uint_eq(df_image_width(image) * 100 + df_image_height(image), 2814);
    ck_assert_uint_eq(df_image_width(marks) * 100 + df_image_height(marks), 2814);
    ck_assert_uint_eq(((const uint8_t *)df_image_pixels(image))[0], 2);
    ck_assert_uint_eq(((const uint8_t *)df_image_pixels(image))[1], 2);
    ck_assert_uint_eq(((const uint8_t *)df_image_pixels(marks))[0], 2);
    df_image_free(image), df_image_free(marks);
    df_dataset_free(d);
    ck_assert_ok(df_options_set_int(o, DF_PARAM_DATASET_SIZE, 16)); /* 16 x 29 -> 16 x 16 -> 14 x 14 */
    ck_assert_ok(df_dataset_open(images, NULL, o, &d));
    ck_assert_ok(df_dataset_get(d, 0, &image, NULL));
    ck_assert_uint_eq(df_image_width(image) * 100 + df_image_height(image), 1414);
    df_image_free(image);
    df_dataset_free(d);
    ck_assert_ok(df_options_set_int(o, DF_PARAM_DATASET_SIZE, 0));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_DATASET_MULTIPLE, 20));
    ck_assert_ok(df_dataset_open(images, NULL, o, &d));
    ck_assert_fails_with(df_dataset_get(d, 0, &image, NULL), DF_E_INVALID_ARG, "df_dataset_get");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "31 x 17 is smaller than dataset.multiple 20"));
    df_dataset_free(d);
    df_options_free(o);
    remove_folders();
}
END_TEST

/* dataset.stretch: size x size whatever the aspect, nothing cropped (torchvision's Resize((S, S))):
 * the 31 x 17 image's left and right columns (red 0 and 30) both survive, as a direct resize
 * gives them; labels by nearest neighbour. */
START_TEST(test_dataset_stretches) {
    char images[128], labels[128];
    make_empty_folders(images, labels, sizeof images);
    write_png("img/a.png", 31, 17, 0, 3);
    write_png("lab/a.png", 31, 17, 0, 1);
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_DATASET_SIZE, 31));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_DATASET_STRETCH, 1));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_DATASET_FILTER, DF_RESIZE_NEAREST));
    df_dataset *d;
    ck_assert_ok(df_dataset_open(images, labels, o, &d));
    df_image *image, *marks, *direct;
    ck_assert_ok(df_dataset_get(d, 0, &image, &marks));
    ck_assert_uint_eq(df_image_width(image) * 100 + df_image_height(image), 3131);
    ck_assert_uint_eq(df_image_width(marks) * 100 + df_image_height(marks), 3131);
    df_image *source;
    char path[160];
    snprintf(path, sizeof path, "%s/a.png", images);
    ck_assert_ok(df_image_load(path, NULL, &source));
    ck_assert_ok(df_image_resize(source, 31, 31, DF_RESIZE_NEAREST, &direct));
    ck_assert_mem_eq(df_image_pixels(image), df_image_pixels(direct), 31 * 31 * 3);
    ck_assert_uint_eq(((const uint8_t *)df_image_pixels(image))[0], 0);
    ck_assert_uint_eq(((const uint8_t *)df_image_pixels(image))[30 * 3], 30);
    ck_assert_uint_eq(((const uint8_t *)df_image_pixels(marks))[30], 30);
    df_image_free(image), df_image_free(marks), df_image_free(direct), df_image_free(source);
    df_dataset_free(d);
    ck_assert_fails_with(df_options_set_int(o, DF_PARAM_DATASET_STRETCH, 2), DF_E_INVALID_ARG, "df_options_set_int");
    df_options_free(o);
    remove_folders();
}
END_TEST

static void pass_items(df_dataset *d, uint64_t epoch, size_t *items, size_t count) {
    ck_assert_ok(df_dataset_start(d, epoch));
    int done = 0;
    for (size_t i = 0; i < count; i++) {
        df_image *image;
        ck_assert_ok(df_dataset_next(d, &items[i], &image, NULL, &done));
        ck_assert_int_eq(done, 0);
        const char *name;
        ck_assert_ok(df_dataset_name(d, items[i], &name, NULL));
        ck_assert_ptr_nonnull(image);
        df_image_free(image);
    }
    ck_assert_ok(df_dataset_next(d, NULL, NULL, NULL, &done));
    ck_assert_int_eq(done, 1);
}

START_TEST(test_dataset_pass_order_independent_of_workers) {
    make_folders();
    size_t one[15], many[15], other_epoch[15], plain[15];
    df_dataset *a = open_dataset(0, 8, 1, 1, 1, 1), *b = open_dataset(0, 8, 1, 1, 4, 3);
    pass_items(a, 3, one, 15);
    pass_items(b, 3, many, 15);
    ck_assert(memcmp(one, many, sizeof one) == 0);
    pass_items(b, 4, other_epoch, 15);
    ck_assert(memcmp(one, other_epoch, sizeof one) != 0);
    int seen[15] = {0};
    for (int i = 0; i < 15; i++) seen[one[i]]++;
    for (int i = 0; i < 15; i++) ck_assert_int_eq(seen[i], 1);
    /* restarting in the middle of a pass, and freeing in the middle of one, are clean */
    int done;
    ck_assert_ok(df_dataset_start(b, 3));
    ck_assert_ok(df_dataset_next(b, NULL, NULL, NULL, &done));
    pass_items(b, 3, many, 15);
    ck_assert(memcmp(one, many, sizeof one) == 0);
    ck_assert_ok(df_dataset_start(b, 5));
    df_dataset_free(b);
    df_dataset_free(a);
    a = open_dataset(0, 0, 0, 0, 3, 2);
    pass_items(a, 0, plain, 3);
    for (size_t i = 0; i < 3; i++) ck_assert_uint_eq(plain[i], i);
    ck_assert_fails_with(df_dataset_next(a, NULL, NULL, NULL, NULL), DF_E_INVALID_ARG, "df_dataset_next");
    df_dataset_free(a);
    remove_folders();
}
END_TEST

START_TEST(test_dataset_errors) {
    make_folders();
    char path[256];
    df_dataset *d = NULL;
    ck_assert_fails_with(df_dataset_open(NULL, NULL, NULL, &d), DF_E_INVALID_ARG, "df_dataset_open");
    size_t count;
    df_image *none;
    int finished;
    ck_assert_fails_with(df_dataset_count(NULL, &count), DF_E_INVALID_ARG, "df_dataset_count");
    ck_assert_fails_with(df_dataset_get(NULL, 0, &none, NULL), DF_E_INVALID_ARG, "df_dataset_get");
    ck_assert_fails_with(df_dataset_start(NULL, 0), DF_E_INVALID_ARG, "df_dataset_start");
    ck_assert_fails_with(df_dataset_next(NULL, NULL, NULL, NULL, &finished), DF_E_INVALID_ARG, "df_dataset_next");
    snprintf(path, sizeof path, "%s/missing", root);
    ck_assert_fails_with(df_dataset_open(path, NULL, NULL, &d), DF_E_IO, "df_dataset_open");
    snprintf(path, sizeof path, "%s/lab/sub", root);
    ck_assert_ok(df_dataset_open(path, NULL, NULL, &d)); /* labels are images too */
    df_dataset_free(d);
    snprintf(path, sizeof path, "%s/img/.hidden/x", root);
    ck_assert_int_eq(mkdir(path, 0777), 0);
    ck_assert_fails_with(df_dataset_open(path, NULL, NULL, &d), DF_E_INVALID_ARG, "df_dataset_open");
    ck_assert_ptr_null(d);
    /* a missing label image is named */
    snprintf(path, sizeof path, "%s/lab/a.png", root);
    ck_assert_int_eq(unlink(path), 0);
    char images[128], labels[128];
    snprintf(images, sizeof images, "%s/img", root);
    snprintf(labels, sizeof labels, "%s/lab", root);
    ck_assert_fails_with(df_dataset_open(images, labels, NULL, &d), DF_E_INVALID_ARG, "df_dataset_open");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "lab/a.png"));
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_DATASET_FILTER, 1));
    ck_assert_fails_with(df_dataset_open(images, NULL, o, &d), DF_E_INVALID_ARG, "df_dataset_open");
    df_options_free(o);
    /* a broken image fails at its place in the pass, and the pass goes on */
    snprintf(path, sizeof path, "%s/img/b.png", root);
    FILE *f = fopen(path, "w");
    fputs("broken", f);
    fclose(f);
    ck_assert_ok(df_dataset_open(images, NULL, NULL, &d));
    ck_assert_ok(df_dataset_start(d, 0));
    size_t item;
    int done;
    df_image *image;
    ck_assert_ok(df_dataset_next(d, &item, &image, NULL, &done));
    df_image_free(image);
    ck_assert_fails_with(df_dataset_next(d, &item, &image, NULL, &done), DF_E_FORMAT, "df_dataset_next");
    ck_assert_uint_eq(item, 1);
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "b.png"));
    ck_assert_ptr_null(image);
    ck_assert_ok(df_dataset_next(d, &item, &image, NULL, &done));
    ck_assert_uint_eq(item, 2);
    df_image_free(image);
    ck_assert_ok(df_dataset_next(d, &item, &image, NULL, &done));
    ck_assert_int_eq(done, 1);
    df_dataset_free(d);
    df_dataset_free(NULL);
    remove_folders();
}
END_TEST

/* dataset.skip_broken: broken images are left out at open and listed with the reason; five-crop
 * items follow the images kept; nothing usable is an error. */
START_TEST(test_dataset_skips_broken_images) {
    make_folders();
    char path[256], images[128];
    snprintf(images, sizeof images, "%s/img", root);
    snprintf(path, sizeof path, "%s/img/b.png", root);
    FILE *f = fopen(path, "w");
    fputs("broken", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/img/sub/c.png", root);
    ck_assert_int_eq(truncate(path, 60), 0); /* a valid header, the pixels cut off */
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_DATASET_SKIP_BROKEN, 1));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_DATASET_FIVE_CROP, 1));
    df_dataset *d;
    ck_assert_ok(df_dataset_open(images, NULL, o, &d));
    size_t count = 0, skipped = 0;
    const char *name = NULL, *reason = NULL;
    ck_assert_ok(df_dataset_count(d, &count));
    ck_assert_uint_eq(count, 5); /* a.png's five crops */
    ck_assert_ok(df_dataset_name(d, 4, &name, NULL));
    ck_assert_str_eq(name, "a.png");
    ck_assert_ok(df_dataset_skipped(d, 0, &skipped, &name, &reason));
    ck_assert_uint_eq(skipped, 2);
    ck_assert_str_eq(name, "b.png");
    ck_assert_ptr_nonnull(strstr(reason, "b.png"));
    ck_assert_ok(df_dataset_skipped(d, 1, NULL, &name, &reason));
    ck_assert_str_eq(name, "sub/c.png");
    ck_assert_ptr_nonnull(strstr(reason, "c.png"));
    ck_assert_fails_with(df_dataset_skipped(d, 2, NULL, &name, NULL), DF_E_INVALID_ARG, "df_dataset_skipped");
    ck_assert_fails_with(df_dataset_skipped(NULL, 0, &skipped, NULL, NULL), DF_E_INVALID_ARG, "df_dataset_skipped");
    df_image *image;
    ck_assert_ok(df_dataset_get(d, 4, &image, NULL));
    ck_assert_uint_eq(df_image_width(image), 15);
    df_image_free(image);
    df_dataset_free(d);
    /* without the option nothing is decoded at open (a broken image fails where it is read) */
    ck_assert_ok(df_dataset_open(images, NULL, NULL, &d));
    ck_assert_ok(df_dataset_count(d, &count));
    ck_assert_uint_eq(count, 3);
    ck_assert_ok(df_dataset_skipped(d, 0, &skipped, NULL, NULL));
    ck_assert_uint_eq(skipped, 0);
    df_dataset_free(d);
    snprintf(path, sizeof path, "%s/img/a.png", root);
    ck_assert_int_eq(truncate(path, 10), 0);
    ck_assert_fails_with(df_dataset_open(images, NULL, o, &d), DF_E_INVALID_ARG, "df_dataset_open");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "no image under"));
    df_options_free(o);
    remove_folders();
}
END_TEST

Suite *dataset_suite(void) {
    Suite *s = suite_create("dataset");
    TCase *tc = tcase_create("folder");
    tcase_add_test(tc, test_dataset_lists_and_decodes);
    tcase_add_test(tc, test_dataset_keeps_16_bit_images);
    tcase_add_test(tc, test_dataset_five_crop_and_resize);
    tcase_add_test(tc, test_dataset_centre_crops_round_half_to_even);
    tcase_add_test(tc, test_dataset_crops_to_multiples);
    tcase_add_test(tc, test_dataset_stretches);
    tcase_add_test(tc, test_dataset_pass_order_independent_of_workers);
    tcase_add_test(tc, test_dataset_errors);
    tcase_add_test(tc, test_dataset_skips_broken_images);
    suite_add_tcase(s, tc);
    return s;
}
