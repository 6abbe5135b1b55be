/* Connected components and boxes against scipy.ndimage (test/reference/make_components_fixtures.py). */
#include "check_common.h"

#include <stdlib.h>

#define REGIONS_DIR "fixtures/components/"

START_TEST(test_components_equal_scipy) {
    FILE *m = fopen(REGIONS_DIR "manifest.txt", "r");
    ck_assert_ptr_nonnull(m);
    char line[256], name[64], file[128];
    int w = 0, h = 0, connectivity, count, checked = 0;
    int32_t *mask = NULL, *components = NULL;
    size_t found = 0;
    while (fgets(line, sizeof line, m)) {
        if (sscanf(line, "mask %63s %d %d %127s", name, &w, &h, file) == 4) {
            size_t size;
            unsigned char *bytes = read_fixture_from(REGIONS_DIR, file, &size);
            free(mask);
            free(components);
            mask = malloc((size_t)w * h * sizeof *mask);
            components = malloc((size_t)w * h * sizeof *components);
            for (int i = 0; i < w * h; i++) mask[i] = bytes[i];
            free(bytes);
        } else if (sscanf(line, "components %63s %d %d %127s", name, &connectivity, &count, file) == 4) {
            ck_assert_ok(df_connected_components(mask, (size_t)w, (size_t)h, connectivity, 0, components, &found));
            ck_assert_msg((int)found == count, "%s %d: %zu components, scipy %d", name, connectivity, found, count);
            size_t size;
            int32_t *expected = (int32_t *)read_fixture_from(REGIONS_DIR, file, &size);
            ck_assert_msg(memcmp(components, expected, size) == 0, "%s %d: labels differ from scipy's", name, connectivity);
            free(expected);
            checked++;
        } else if (sscanf(line, "boxes %63s %d %127s", name, &connectivity, file) == 3) {
            ck_assert_ok(df_connected_components(mask, (size_t)w, (size_t)h, connectivity, 0, components, &found));
            int32_t *boxes = malloc((found ? found : 1) * 4 * sizeof *boxes);
            int64_t *areas = malloc((found ? found : 1) * sizeof *areas);
            ck_assert_ok(df_component_boxes(components, (size_t)w, (size_t)h, found, boxes, areas));
            size_t size;
            int32_t *expected = (int32_t *)read_fixture_from(REGIONS_DIR, file, &size);
            ck_assert_uint_eq(size, found * 5 * sizeof(int32_t));
            for (size_t i = 0; i < found; i++) {
                for (int k = 0; k < 4; k++) ck_assert_int_eq(boxes[4 * i + k], expected[5 * i + k]);
                ck_assert_int_eq(areas[i], expected[5 * i + 4]);
            }
            free(expected);
            free(boxes);
            free(areas);
        }
    }
    fclose(m);
    free(mask);
    free(components);
    ck_assert_int_ge(checked, 8);
}
END_TEST

START_TEST(test_multi_valued_maps_and_iou) {
    /* Three values; with background -1 every pixel belongs to a component of its own value. */
    const int32_t map[4 * 5] = {1, 1, 2, 2, 2,
                                1, 3, 3, 2, 1,
                                3, 3, 1, 1, 1,
                                3, 2, 2, 1, 1};
    int32_t components[20];
    size_t count;
    ck_assert_ok(df_connected_components(map, 5, 4, 4, -1, components, &count));
    ck_assert_uint_eq(count, 5); /* two groups of 1s, two of 2s, one of 3s */
    ck_assert_int_eq(components[0], 1);
    ck_assert_int_eq(components[2], 2);
    ck_assert_int_eq(components[6], 3);  /* numbered in raster order of first pixels */
    ck_assert_int_eq(components[9], 4);  /* the 1 at (4, 1) joins the 1s below it */
    ck_assert_int_eq(components[14], 4);
    ck_assert_int_eq(components[16], 5);
    /* A checkerboard: 4 components with 4-connectivity, 2 with 8. */
    const int32_t board[4] = {1, 0, 0, 1};
    ck_assert_ok(df_connected_components(board, 2, 2, 4, -1, components, &count));
    ck_assert_uint_eq(count, 4);
    ck_assert_ok(df_connected_components(board, 2, 2, 8, -1, components, &count));
    ck_assert_uint_eq(count, 2);
    ck_assert_int_eq(components[0], components[3]);
    ck_assert_int_eq(components[1], components[2]);
    int32_t a[4] = {0, 0, 10, 10}, b[4] = {5, 5, 15, 15}, empty[4] = {3, 3, 3, 8};
    double iou;
    ck_assert_ok(df_box_iou(a, b, &iou));
    ck_assert_double_eq_tol(iou, 25.0 / 175.0, 1e-15);
    ck_assert_ok(df_box_iou(a, a, &iou));
    ck_assert_double_eq(iou, 1.0);
    ck_assert_ok(df_box_iou(empty, empty, &iou));
    ck_assert_double_eq(iou, 0.0);
}
END_TEST

START_TEST(test_regions_errors) {
    int32_t map[4] = {0, 1, 1, 0}, components[4], boxes[8];
    size_t count;
    ck_assert_fails_with(df_connected_components(map, 2, 2, 6, 0, components, &count), DF_E_INVALID_ARG,
                         "df_connected_components");
    ck_assert_fails_with(df_connected_components(map, 0, 2, 4, 0, components, &count), DF_E_INVALID_ARG,
                         "df_connected_components");
    ck_assert_fails_with(df_connected_components(NULL, 2, 2, 4, 0, components, &count), DF_E_INVALID_ARG,
                         "df_connected_components");
    ck_assert_fails_with(df_connected_components(map, 2, 2, 4, 0, NULL, &count), DF_E_INVALID_ARG, "df_connected_components");
    ck_assert_fails_with(df_connected_components(map, 2, 2, 4, 0, components, NULL), DF_E_INVALID_ARG,
                         "df_connected_components");
    int32_t bad[4] = {0, 3, 1, 0};
    ck_assert_fails_with(df_component_boxes(bad, 2, 2, 2, boxes, NULL), DF_E_INVALID_ARG, "df_component_boxes");
    ck_assert_fails_with(df_component_boxes(NULL, 2, 2, 2, boxes, NULL), DF_E_INVALID_ARG, "df_component_boxes");
    ck_assert_fails_with(df_component_boxes(map, 2, 2, 2, NULL, NULL), DF_E_INVALID_ARG, "df_component_boxes");
    double iou;
    ck_assert_fails_with(df_box_iou(NULL, boxes, &iou), DF_E_INVALID_ARG, "df_box_iou");
    ck_assert_fails_with(df_box_iou(boxes, boxes, NULL), DF_E_INVALID_ARG, "df_box_iou");
}
END_TEST

Suite *regions_suite(void) {
    Suite *suite = suite_create("regions");
    TCase *tc = tcase_create("regions");
    tcase_add_test(tc, test_components_equal_scipy);
    tcase_add_test(tc, test_multi_valued_maps_and_iou);
    tcase_add_test(tc, test_regions_errors);
    suite_add_tcase(suite, tc);
    return suite;
}
