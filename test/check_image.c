/* Image decoding, encoding, resizing, conversion, against the PIL / torchvision fixtures listed
 * in fixtures/images/manifest.txt (test/reference/make_image_fixtures.py). */
#include "check_common.h"

#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* Compares an image's samples with a raw fixture; returns the largest difference. */
static unsigned max_difference(df_image *image, const char *raw_name) {
    size_t size;
    unsigned char *expected = read_fixture(raw_name, &size);
    ck_assert_msg(expected != NULL, "missing fixture %s", raw_name);
    size_t depth = df_image_bit_depth(image);
    size_t samples = df_image_width(image) * df_image_height(image) * df_image_channels(image);
    ck_assert_uint_eq(size, samples * depth / 8);
    unsigned worst = 0;
    for (size_t i = 0; i < samples; i++) {
        unsigned a, b;
        if (depth == 16) {
            a = ((uint16_t *)df_image_pixels(image))[i];
            b = (unsigned)expected[2 * i] | (unsigned)expected[2 * i + 1] << 8;
        } else {
            a = ((unsigned char *)df_image_pixels(image))[i];
            b = expected[i];
        }
        unsigned d = a > b ? a - b : b - a;
        if (d > worst) worst = d;
    }
    free(expected);
    return worst;
}

static df_status status_named(const char *name) {
    for (int s = 0; s <= 8; s++)
        if (strcmp(df_status_str((df_status)s), name) == 0) return (df_status)s;
    ck_abort_msg("unknown status %s", name);
    return DF_E_INTERNAL;
}

static df_image *load_fixture(const char *name) {
    char path[512];
    snprintf(path, sizeof path, FIXTURE_DIR "%s", name);
    df_image *image = NULL;
    ck_assert_ok(df_image_load(path, NULL, &image));
    return image;
}

static void run_case(char *line) {
    char kind[16], a[128], b[128], c[128];
    unsigned w, h, ch, depth, tolerance, filter;
    if (sscanf(line, "%15s", kind) != 1) return;
    if (strcmp(kind, "decode") == 0) {
        ck_assert_int_eq(sscanf(line, "%*s %127s %u %u %u %u %127s %u", a, &w, &h, &ch, &depth, b, &tolerance), 7);
        df_image *image = load_fixture(a);
        ck_assert_msg(df_image_width(image) == w && df_image_height(image) == h, "%s: size", a);
        ck_assert_msg(df_image_channels(image) == ch, "%s: %zu channels, expected %u", a, df_image_channels(image), ch);
        ck_assert_uint_eq(df_image_bit_depth(image), depth);
        unsigned worst = max_difference(image, b);
        ck_assert_msg(worst <= tolerance, "%s differs from PIL by %u (tolerance %u)", a, worst, tolerance);
        /* The same bytes from memory decode identically. */
        size_t size;
        unsigned char *data = read_fixture(a, &size);
        df_image *again = NULL;
        ck_assert_ok(df_image_load_memory(data, size, NULL, &again));
        ck_assert_int_eq(max_difference(again, b), worst);
        df_image_free(again);
        free(data);
        df_image_free(image);
    } else if (strcmp(kind, "resize") == 0) {
        ck_assert_int_eq(sscanf(line, "%*s %127s %u %u %u %127s %u", a, &filter, &w, &h, b, &tolerance), 6);
        df_image *image = load_fixture(a), *resized = NULL;
        ck_assert_ok(df_image_resize(image, w, h, (df_resize_filter)filter, &resized));
        unsigned worst = max_difference(resized, b);
        ck_assert_msg(worst <= tolerance, "%s -> %ux%u filter %u differs from PIL by %u", a, w, h, filter, worst);
        df_image_free(resized);
        df_image_free(image);
    } else if (strcmp(kind, "grey") == 0) {
        ck_assert_int_eq(sscanf(line, "%*s %127s %127s", a, b), 2);
        df_image *image = load_fixture(a), *grey = NULL;
        ck_assert_ok(df_image_convert(image, 1, &grey));
        ck_assert_uint_eq(max_difference(grey, b), 0);
        df_image_free(grey);
        df_image_free(image);
    } else if (strcmp(kind, "tensor") == 0) {
        ck_assert_int_eq(sscanf(line, "%*s %127s %127s", a, b), 2);
        df_image *image = load_fixture(a);
        df_tensor *tensor = NULL;
        ck_assert_ok(df_image_to_tensor(image, NULL, NULL, &tensor));
        int64_t shape[4];
        ck_assert_ok(df_tensor_shape(tensor, shape, 4));
        ck_assert(shape[0] == 1 && shape[1] == 3 && shape[2] == (int64_t)df_image_height(image) &&
                  shape[3] == (int64_t)df_image_width(image));
        size_t size, count = (size_t)df_tensor_numel(tensor);
        float *expected = (float *)read_fixture(b, &size), *got = malloc(count * sizeof *got);
        ck_assert_uint_eq(size, count * sizeof(float));
        ck_assert_ok(df_tensor_copy_to_host(tensor, got, count));
        for (size_t i = 0; i < count; i++)
            ck_assert_msg(got[i] == expected[i], "%s: element %zu is %.9g, torchvision %.9g", a, i, got[i], expected[i]);
        free(got);
        free(expected);
        df_tensor_free(tensor);
        df_image_free(image);
    } else if (strcmp(kind, "adjust") == 0) {
        double factor = 0;
        ck_assert_int_eq(sscanf(line, "%*s %127s %u %lf %127s", a, &filter, &factor, b), 4);
        df_image *image = load_fixture(a), *adjusted = NULL;
        ck_assert_ok(df_image_adjust(image, (df_image_adjustment)filter, factor, &adjusted));
        ck_assert_uint_eq(df_image_channels(adjusted), 3);
        const unsigned worst = max_difference(adjusted, b);
        ck_assert_msg(worst == 0, "%s adjustment %u by %g differs from torchvision by %u", a, filter, factor, worst);
        df_image_free(adjusted);
        df_image_free(image);
    } else if (strcmp(kind, "fail") == 0) {
        ck_assert_int_eq(sscanf(line, "%*s %127s %127s", a, c), 2);
        char path[512];
        snprintf(path, sizeof path, FIXTURE_DIR "%s", a);
        df_image *image = (df_image *)(uintptr_t)1;
        df_status expected = status_named(c);
        ck_assert_fails_with(df_image_load(path, NULL, &image), expected, "df_image_load");
        ck_assert_ptr_null(image);
        ck_assert_msg(strstr(df_last_error_message(), a) != NULL, "message '%s' does not name the file",
                      df_last_error_message());
    } else {
        ck_abort_msg("unknown manifest line: %s", line);
    }
}

START_TEST(test_manifest_cases) {
    FILE *manifest = fopen(FIXTURE_DIR "manifest.txt", "r");
    ck_assert_ptr_nonnull(manifest);
    char line[512];
    int cases = 0;
    while (fgets(line, sizeof line, manifest)) {
        run_case(line);
        cases++;
    }
    fclose(manifest);
    ck_assert_int_ge(cases, 60);
}
END_TEST

START_TEST(test_palette_indices_for_label_maps) {
    df_options *o;
    df_image *image;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_IMAGE_PALETTE_INDICES, 1));
    ck_assert_ok(df_image_load(FIXTURE_DIR "palette.png", o, &image)); /* a 4-bit palette */
    ck_assert_uint_eq(df_image_channels(image), 1);
    ck_assert_uint_eq(df_image_bit_depth(image), 8);
    size_t size;
    unsigned char *expected = read_fixture("palette.png.indices.raw", &size);
    ck_assert_uint_eq(size, df_image_width(image) * df_image_height(image));
    ck_assert_mem_eq(df_image_pixels(image), expected, size);
    free(expected);
    df_image_free(image);
    /* with transparency too: the indices, no alpha */
    ck_assert_ok(df_image_load(FIXTURE_DIR "palette_trns.png", o, &image));
    ck_assert_uint_eq(df_image_channels(image), 1);
    df_image_free(image);
    df_options_free(o);
}
END_TEST

START_TEST(test_truncated_jpeg_message_says_truncated) {
    df_image *image = NULL;
    ck_assert_fails_with(df_image_load(FIXTURE_DIR "truncated.jpg", NULL, &image), DF_E_FORMAT, "df_image_load");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "truncated"));
}
END_TEST

START_TEST(test_pixel_limit_is_configurable) {
    df_options *options = NULL;
    ck_assert_ok(df_options_new(&options));
    ck_assert_ok(df_options_set_int(options, DF_PARAM_IMAGE_MAX_PIXELS, 23 * 17 - 1));
    df_image *image = NULL;
    ck_assert_fails_with(df_image_load(FIXTURE_DIR "rgb8.png", options, &image), DF_E_LIMIT, "df_image_load");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "image.max_pixels"));
    ck_assert_ok(df_options_set_int(options, DF_PARAM_IMAGE_MAX_PIXELS, 23 * 17));
    ck_assert_ok(df_image_load(FIXTURE_DIR "rgb8.png", options, &image));
    df_image_free(image);
    /* A higher limit still refuses the 60000 x 60000 header, before allocating 10 GB. */
    ck_assert_ok(df_options_set_int(options, DF_PARAM_IMAGE_MAX_PIXELS, 1000000));
    ck_assert_fails_with(df_image_load(FIXTURE_DIR "huge.jpg", options, &image), DF_E_LIMIT, "df_image_load");
    df_options_free(options);
}
END_TEST

START_TEST(test_exif_can_be_ignored) {
    df_options *options = NULL;
    ck_assert_ok(df_options_new(&options));
    ck_assert_ok(df_options_set_int(options, DF_PARAM_IMAGE_APPLY_EXIF, 0));
    df_image *raw = NULL, *plain = NULL;
    ck_assert_ok(df_image_load(FIXTURE_DIR "exif6.jpg", options, &raw));
    ck_assert_ok(df_image_load(FIXTURE_DIR "exif1.jpg", NULL, &plain));
    ck_assert_uint_eq(df_image_width(raw), 40); /* not rotated */
    ck_assert_uint_eq(df_image_height(raw), 24);
    df_image_free(raw);
    df_image_free(plain);
    df_options_free(options);
}
END_TEST

START_TEST(test_load_argument_errors) {
    df_image *image = NULL;
    ck_assert_fails_with(df_image_load(NULL, NULL, &image), DF_E_INVALID_ARG, "df_image_load");
    ck_assert_fails_with(df_image_load(FIXTURE_DIR "rgb8.png", NULL, NULL), DF_E_INVALID_ARG, "df_image_load");
    ck_assert_fails_with(df_image_load(FIXTURE_DIR, NULL, &image), DF_E_IO, "df_image_load");
    ck_assert_fails_with(df_image_load_memory(NULL, 10, NULL, &image), DF_E_INVALID_ARG, "df_image_load_memory");
    ck_assert_fails_with(df_image_load_memory("x", 1, NULL, NULL), DF_E_INVALID_ARG, "df_image_load_memory");
    ck_assert_fails_with(df_image_load_memory(NULL, 0, NULL, &image), DF_E_FORMAT, "df_image_load_memory");
    /* Every prefix of a valid file is refused cleanly (no crash, no out-of-bounds read). */
    size_t size;
    unsigned char *png = read_fixture("interlaced.png", &size);
    for (size_t cut = 0; cut < size; cut += 7) {
        ck_assert_int_ne(df_image_load_memory(png, cut, NULL, &image), DF_OK);
        ck_assert_ptr_null(image);
    }
    free(png);
    unsigned char *jpeg = read_fixture("progressive.jpg", &size);
    for (size_t cut = 0; cut + 2 < size; cut += 11) {
        ck_assert_int_ne(df_image_load_memory(jpeg, cut, NULL, &image), DF_OK);
        ck_assert_ptr_null(image);
    }
    free(jpeg);
}
END_TEST

START_TEST(test_new_from_pixels_and_accessors) {
    df_image *image = NULL;
    ck_assert_ok(df_image_new(5, 3, 2, 16, &image));
    ck_assert_uint_eq(df_image_width(image), 5);
    ck_assert_uint_eq(df_image_height(image), 3);
    ck_assert_uint_eq(df_image_channels(image), 2);
    ck_assert_uint_eq(df_image_bit_depth(image), 16);
    ck_assert_uint_eq(((uint16_t *)df_image_pixels(image))[29], 0);
    df_image_free(image);
    ck_assert_uint_eq(df_image_width(NULL), 0);
    ck_assert_uint_eq(df_image_height(NULL), 0);
    ck_assert_uint_eq(df_image_channels(NULL), 0);
    ck_assert_uint_eq(df_image_bit_depth(NULL), 0);
    ck_assert_ptr_null(df_image_pixels(NULL));
    df_image_free(NULL);
    ck_assert_fails_with(df_image_new(0, 3, 1, 8, &image), DF_E_INVALID_ARG, "df_image_new");
    ck_assert_fails_with(df_image_new(3, 3, 5, 8, &image), DF_E_INVALID_ARG, "df_image_new");
    ck_assert_fails_with(df_image_new(3, 3, 1, 12, &image), DF_E_INVALID_ARG, "df_image_new");
    ck_assert_fails_with(df_image_new(SIZE_MAX / 2, SIZE_MAX / 2, 1, 8, &image), DF_E_INVALID_ARG, "df_image_new");
    ck_assert_fails_with(df_image_new(3, 3, 1, 8, NULL), DF_E_INVALID_ARG, "df_image_new");

    /* Rows 8 bytes apart, 6 used: the padding is dropped. */
    unsigned char strided[3 * 8];
    for (int i = 0; i < 24; i++) strided[i] = (unsigned char)i;
    ck_assert_ok(df_image_from_pixels(strided, 2, 3, 3, 8, 8, &image));
    unsigned char *pixels = df_image_pixels(image);
    ck_assert_uint_eq(pixels[5], 5);
    ck_assert_uint_eq(pixels[6], 8);
    ck_assert_uint_eq(pixels[17], 21);
    df_image_free(image);
    ck_assert_fails_with(df_image_from_pixels(strided, 2, 3, 3, 8, 5, &image), DF_E_INVALID_ARG, "df_image_from_pixels");
    ck_assert_ptr_null(image);
    ck_assert_fails_with(df_image_from_pixels(NULL, 2, 3, 3, 8, 0, &image), DF_E_INVALID_ARG, "df_image_from_pixels");
    ck_assert_fails_with(df_image_from_pixels(strided, 2, 3, 3, 8, 0, NULL), DF_E_INVALID_ARG, "df_image_from_pixels");
}
END_TEST

START_TEST(test_save_png_round_trips_every_flavour) {
    char directory[] = "/tmp/dinofeat-test-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(directory));
    char path[256];
    snprintf(path, sizeof path, "%s/out.png", directory);
    for (size_t channels = 1; channels <= 4; channels++)
        for (size_t depth = 8; depth <= 16; depth += 8) {
            df_image *image = NULL, *loaded = NULL;
            ck_assert_ok(df_image_new(7, 5, channels, depth, &image));
            size_t bytes = 7 * 5 * channels * depth / 8;
            unsigned char *pixels = df_image_pixels(image);
            for (size_t i = 0; i < bytes; i++) pixels[i] = (unsigned char)(i * 37 + channels);
            ck_assert_ok(df_image_save_png(image, path));
            ck_assert_ok(df_image_load(path, NULL, &loaded));
            ck_assert_uint_eq(df_image_channels(loaded), channels);
            ck_assert_uint_eq(df_image_bit_depth(loaded), depth);
            ck_assert_int_eq(memcmp(df_image_pixels(loaded), pixels, bytes), 0);
            df_image_free(loaded);
            df_image_free(image);
        }
    /* No temporary file is left beside it. */
    char listing[512];
    snprintf(listing, sizeof listing, "test $(ls %s | wc -l) -eq 1", directory);
    ck_assert_int_eq(system(listing), 0);
    df_image *image = NULL;
    ck_assert_ok(df_image_new(2, 2, 1, 8, &image));
    ck_assert_fails_with(df_image_save_png(image, "/nonexistent-dir/x.png"), DF_E_IO, "df_image_save_png");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "/nonexistent-dir/x.png"));
    ck_assert_fails_with(df_image_save_png(NULL, path), DF_E_INVALID_ARG, "df_image_save_png");
    ck_assert_fails_with(df_image_save_png(image, NULL), DF_E_INVALID_ARG, "df_image_save_png");
    df_image_free(image);
    unlink(path);
    rmdir(directory);
}
END_TEST

/* A palette PNG loads back as RGB colours, or as its indices with DF_PARAM_IMAGE_PALETTE_INDICES. */
START_TEST(test_save_palette_png) {
    char directory[] = "/tmp/dinofeat-test-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(directory));
    char path[256];
    snprintf(path, sizeof path, "%s/labels.png", directory);
    const uint8_t palette[3 * 3] = {10, 20, 30, 200, 0, 0, 0, 0, 255};
    df_image *image = NULL, *loaded = NULL;
    ck_assert_ok(df_image_new(3, 2, 1, 8, &image));
    uint8_t *p = df_image_pixels(image);
    for (int i = 0; i < 6; i++) p[i] = (uint8_t)(i % 3);
    ck_assert_ok(df_image_save_palette_png(image, palette, 3, path));
    ck_assert_ok(df_image_load(path, NULL, &loaded));
    ck_assert_uint_eq(df_image_channels(loaded), 3);
    ck_assert_int_eq(memcmp(df_image_pixels(loaded), (const uint8_t[]){10, 20, 30, 200, 0, 0, 0, 0, 255}, 9), 0);
    df_image_free(loaded);
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_IMAGE_PALETTE_INDICES, 1));
    ck_assert_ok(df_image_load(path, o, &loaded));
    ck_assert_uint_eq(df_image_channels(loaded), 1);
    ck_assert_int_eq(memcmp(df_image_pixels(loaded), p, 6), 0);
    df_image_free(loaded);
    ck_assert_fails_with(df_image_save_palette_png(image, palette, 2, path), DF_E_INVALID_ARG,
                         "df_image_save_palette_png"); /* index 2 past 2 colours */
    ck_assert_fails_with(df_image_save_palette_png(image, palette, 0, path), DF_E_INVALID_ARG,
                         "df_image_save_palette_png");
    ck_assert_fails_with(df_image_save_palette_png(image, NULL, 3, path), DF_E_INVALID_ARG, "df_image_save_palette_png");
    ck_assert_fails_with(df_image_save_palette_png(image, palette, 3, "/nonexistent-dir/x.png"), DF_E_IO,
                         "df_image_save_palette_png");
    df_image_free(image);
    ck_assert_ok(df_image_new(3, 2, 3, 8, &image));
    ck_assert_fails_with(df_image_save_palette_png(image, palette, 3, path), DF_E_INVALID_ARG,
                         "df_image_save_palette_png");
    df_image_free(image);
    df_options_free(o);
    unlink(path);
    rmdir(directory);
}
END_TEST

START_TEST(test_resize_and_convert_errors) {
    df_image *image = NULL, *out = NULL;
    ck_assert_ok(df_image_new(4, 4, 3, 8, &image));
    ck_assert_fails_with(df_image_resize(image, 0, 4, DF_RESIZE_BILINEAR, &out), DF_E_INVALID_ARG, "df_image_resize");
    ck_assert_fails_with(df_image_resize(image, 4, 4, (df_resize_filter)1, &out), DF_E_INVALID_ARG, "df_image_resize");
    ck_assert_fails_with(df_image_resize(NULL, 4, 4, DF_RESIZE_BILINEAR, &out), DF_E_INVALID_ARG, "df_image_resize");
    ck_assert_fails_with(df_image_resize(image, 4, 4, DF_RESIZE_BILINEAR, NULL), DF_E_INVALID_ARG, "df_image_resize");
    ck_assert_fails_with(df_image_convert(image, 0, &out), DF_E_INVALID_ARG, "df_image_convert");
    ck_assert_fails_with(df_image_convert(image, 5, &out), DF_E_INVALID_ARG, "df_image_convert");
    ck_assert_fails_with(df_image_convert(NULL, 3, &out), DF_E_INVALID_ARG, "df_image_convert");
    ck_assert_fails_with(df_image_convert(image, 3, NULL), DF_E_INVALID_ARG, "df_image_convert");
    ck_assert_ptr_null(out);
    df_image_free(image);
}
END_TEST

START_TEST(test_adjust_errors_and_identity) {
    df_image *image = NULL, *grey = NULL, *out = NULL;
    ck_assert_ok(df_image_new(3, 2, 3, 8, &image));
    unsigned char *p = df_image_pixels(image);
    for (size_t i = 0; i < 18; i++) p[i] = (unsigned char)(i * 14);
    /* factor 1 leaves the pixels as they are (hue 0 does not: Pillow's HSV round trip is lossy,
     * and torchvision takes it; the manifest's cases hold that) */
    for (int kind = 0; kind < 3; kind++) {
        ck_assert_ok(df_image_adjust(image, (df_image_adjustment)kind, 1.0, &out));
        ck_assert_mem_eq(df_image_pixels(out), p, 18);
        df_image_free(out);
    }
    ck_assert_fails_with(df_image_adjust(image, DF_ADJUST_BRIGHTNESS, -0.1, &out), DF_E_INVALID_ARG, "df_image_adjust");
    ck_assert_fails_with(df_image_adjust(image, DF_ADJUST_CONTRAST, NAN, &out), DF_E_INVALID_ARG, "df_image_adjust");
    ck_assert_fails_with(df_image_adjust(image, DF_ADJUST_SATURATION, INFINITY, &out), DF_E_INVALID_ARG, "df_image_adjust");
    ck_assert_fails_with(df_image_adjust(image, DF_ADJUST_HUE, 0.6, &out), DF_E_INVALID_ARG, "df_image_adjust");
    ck_assert_fails_with(df_image_adjust(image, (df_image_adjustment)4, 1.0, &out), DF_E_INVALID_ARG, "df_image_adjust");
    ck_assert_fails_with(df_image_adjust(NULL, DF_ADJUST_HUE, 0.0, &out), DF_E_INVALID_ARG, "df_image_adjust");
    ck_assert_fails_with(df_image_adjust(image, DF_ADJUST_HUE, 0.0, NULL), DF_E_INVALID_ARG, "df_image_adjust");
    ck_assert_ok(df_image_convert(image, 1, &grey));
    ck_assert_fails_with(df_image_adjust(grey, DF_ADJUST_HUE, 0.0, &out), DF_E_INVALID_ARG, "df_image_adjust");
    ck_assert_ptr_null(out);
    df_image_free(grey);
    df_image_free(image);
}
END_TEST

START_TEST(test_resize_16bit_and_identity) {
    df_image *image = NULL, *out = NULL;
    ck_assert_ok(df_image_new(6, 4, 1, 16, &image));
    uint16_t *pixels = df_image_pixels(image);
    for (int i = 0; i < 24; i++) pixels[i] = (uint16_t)(i % 6 * 10000);
    ck_assert_ok(df_image_resize(image, 6, 4, DF_RESIZE_BICUBIC, &out));
    ck_assert_int_eq(memcmp(df_image_pixels(out), pixels, 48), 0);
    df_image_free(out);
    /* Doubling a linear ramp with bilinear interpolates between samples. */
    ck_assert_ok(df_image_resize(image, 12, 4, DF_RESIZE_BILINEAR, &out));
    uint16_t *wide = df_image_pixels(out);
    ck_assert_uint_eq(wide[0], 0);
    ck_assert_uint_eq(wide[2], 7500);  /* at x = 0.75: 0.75 * 10000 */
    ck_assert_uint_eq(wide[11], 50000);
    df_image_free(out);
    df_image_free(image);
}
END_TEST

START_TEST(test_convert_channels) {
    unsigned char rgba[2 * 4] = {10, 20, 30, 40, 200, 100, 50, 255};
    df_image *image = NULL, *out = NULL;
    ck_assert_ok(df_image_from_pixels(rgba, 2, 1, 4, 8, 0, &image));
    ck_assert_ok(df_image_convert(image, 2, &out));
    unsigned char *la = df_image_pixels(out);
    ck_assert_uint_eq(la[1], 40);
    ck_assert_uint_eq(la[3], 255);
    ck_assert_uint_eq(la[2], (200 * 19595 + 100 * 38470 + 50 * 7471 + 0x8000) >> 16);
    df_image *back = NULL;
    ck_assert_ok(df_image_convert(out, 3, &back));
    unsigned char *rgb = df_image_pixels(back);
    ck_assert(rgb[3] == la[2] && rgb[4] == la[2] && rgb[5] == la[2]);
    df_image_free(back);
    df_image_free(out);
    ck_assert_ok(df_image_convert(image, 3, &out));
    ck_assert_uint_eq(((unsigned char *)df_image_pixels(out))[5], 50);
    df_image_free(out);
    df_image_free(image);
}
END_TEST

START_TEST(test_to_tensor_errors_and_custom_normalisation) {
    unsigned char grey[2] = {0, 255};
    df_image *image = NULL;
    df_tensor *tensor = NULL;
    ck_assert_ok(df_image_from_pixels(grey, 2, 1, 1, 8, 0, &image));
    const float mean[3] = {0.5f, 0.5f, 0.5f}, std[3] = {0.5f, 0.25f, 1.0f};
    ck_assert_ok(df_image_to_tensor(image, mean, std, &tensor));
    float values[6];
    ck_assert_ok(df_tensor_copy_to_host(tensor, values, 6));
    ck_assert_float_eq(values[0], -1.0f);
    ck_assert_float_eq(values[3], 2.0f);
    ck_assert_float_eq(values[5], 0.5f);
    df_tensor_free(tensor);
    const float zero_std[3] = {1.0f, 0.0f, 1.0f};
    ck_assert_fails_with(df_image_to_tensor(image, NULL, zero_std, &tensor), DF_E_INVALID_ARG, "df_image_to_tensor");
    ck_assert_fails_with(df_image_to_tensor(NULL, NULL, NULL, &tensor), DF_E_INVALID_ARG, "df_image_to_tensor");
    ck_assert_fails_with(df_image_to_tensor(image, NULL, NULL, NULL), DF_E_INVALID_ARG, "df_image_to_tensor");
    ck_assert_ptr_null(tensor);
    df_image_free(image);
}
END_TEST

/* Entries of folder whose name contains part. */
static int entries_containing(const char *folder, const char *part) {
    DIR *dir = opendir(folder);
    ck_assert_ptr_nonnull(dir);
    int count = 0;
    for (struct dirent *e; (e = readdir(dir)) != NULL;) count += strstr(e->d_name, part) != NULL;
    closedir(dir);
    return count;
}

/* Every library writer goes through one path (lib/output_file.c): through symbolic links, in
 * place on devices, keeping a replaced file's permissions, and on a failed write (a full disk:
 * here the file-size limit) the previous file untouched and no temporary left. Runs forked: it
 * lowers the process's file-size limit. */
START_TEST(test_save_writes_through_links_and_never_tears) {
    char root[] = "/tmp/dinofeat_save_XXXXXX", path[128], link_path[128];
    ck_assert_ptr_nonnull(mkdtemp(root));
    df_image *image;
    ck_assert_ok(df_image_new(64, 64, 3, 8, &image));
    uint8_t *p = df_image_pixels(image);
    uint64_t state = 1;
    for (size_t i = 0; i < 64 * 64 * 3; i++) /* noise: the PNG stays far above the 1 KiB limit below */
        state = state * 6364136223846793005ull + 1442695040888963407ull, p[i] = (uint8_t)(state >> 56);
    snprintf(path, sizeof path, "%s/real.png", root);
    snprintf(link_path, sizeof link_path, "%s/link.png", root);
    FILE *f = fopen(path, "w");
    fputs("previous", f);
    fclose(f);
    ck_assert_int_eq(chmod(path, 0600), 0);
    ck_assert_int_eq(symlink("real.png", link_path), 0);
    ck_assert_ok(df_image_save_png(image, link_path));
    struct stat info;
    ck_assert_int_eq(lstat(link_path, &info), 0);
    ck_assert_msg(S_ISLNK(info.st_mode), "the link was replaced by a file");
    ck_assert_int_eq(stat(path, &info), 0);
    ck_assert_int_eq(info.st_mode & 0777, 0600);
    df_image *back;
    ck_assert_ok(df_image_load(path, NULL, &back));
    ck_assert_uint_eq(df_image_width(back), 64);
    df_image_free(back);
    ck_assert_ok(df_image_save_png(image, "/dev/null"));
    ck_assert_int_eq(stat("/dev/null", &info), 0);
    ck_assert(S_ISCHR(info.st_mode));
    /* a write that fails: the old bytes stay, the message names the file */
    ck_assert_int_eq(stat(path, &info), 0);
    const off_t size = info.st_size;
    signal(SIGXFSZ, SIG_IGN);
    const struct rlimit small = {1024, 1024};
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
    ck_assert_fails_with(df_image_save_png(image, link_path), DF_E_IO, "df_image_save_png");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "link.png"));
    ck_assert_int_eq(stat(path, &info), 0);
    ck_assert_int_eq(info.st_size, size);
    ck_assert_int_eq(entries_containing(root, "tmp"), 0);
    df_image_free(image);
    remove_tree(root);
}
END_TEST

Suite *image_suite(void) {
    Suite *suite = suite_create("image");
    TCase *tc = tcase_create("image");
    tcase_set_timeout(tc, HANG_GUARD_SECONDS);
    tcase_add_test(tc, test_manifest_cases);
    tcase_add_test(tc, test_palette_indices_for_label_maps);
    tcase_add_test(tc, test_truncated_jpeg_message_says_truncated);
    tcase_add_test(tc, test_pixel_limit_is_configurable);
    tcase_add_test(tc, test_exif_can_be_ignored);
    tcase_add_test(tc, test_load_argument_errors);
    tcase_add_test(tc, test_new_from_pixels_and_accessors);
    tcase_add_test(tc, test_save_png_round_trips_every_flavour);
    tcase_add_test(tc, test_save_palette_png);
    tcase_add_test(tc, test_resize_and_convert_errors);
    tcase_add_test(tc, test_adjust_errors_and_identity);
    tcase_add_test(tc, test_resize_16bit_and_identity);
    tcase_add_test(tc, test_convert_channels);
    tcase_add_test(tc, test_to_tensor_errors_and_custom_normalisation);
    tcase_add_test(tc, test_save_writes_through_links_and_never_tears);
    suite_add_tcase(suite, tc);
    return suite;
}
