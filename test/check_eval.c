/* Assignment and segmentation scores against scipy / numpy (test/reference/make_eval_fixtures.py). */
#include "check_common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EVAL_DIR "fixtures/eval/"

START_TEST(test_assignment_equals_scipy) {
    FILE *m = fopen(EVAL_DIR "manifest.txt", "r");
    ck_assert_ptr_nonnull(m);
    char line[256], name[64], file[128], pairs_name[64], pairs_file[128];
    int rows, cols, checked = 0;
    double total;
    while (fgets(line, sizeof line, m)) {
        if (sscanf(line, "assign %63s %d %d %127s %lf", name, &rows, &cols, file, &total) != 5) continue;
        ck_assert(fgets(line, sizeof line, m) && sscanf(line, "pairs %63s %127s", pairs_name, pairs_file) == 2);
        size_t size;
        double *cost = (double *)read_fixture_from(EVAL_DIR, file, &size);
        int64_t *pairs = (int64_t *)read_fixture_from(EVAL_DIR, pairs_file, &size);
        int64_t *col_of_row = malloc((size_t)rows * sizeof *col_of_row);
        ck_assert_ok(df_linear_sum_assignment(cost, (size_t)rows, (size_t)cols, col_of_row));
        double ours = 0;
        int assigned = 0, used[128] = {0};
        for (int r = 0; r < rows; r++) {
            if (col_of_row[r] < 0) continue;
            ck_assert_msg(!used[col_of_row[r]], "%s: column %lld used twice", name, (long long)col_of_row[r]);
            used[col_of_row[r]] = 1;
            ours += cost[r * cols + col_of_row[r]];
            assigned++;
        }
        ck_assert_int_eq(assigned, rows < cols ? rows : cols);
        ck_assert_msg(fabs(ours - total) <= 1e-9 * fmax(1.0, fabs(total)), "%s: total %.17g, scipy %.17g", name, ours, total);
        /* Random real costs have a unique optimum: the very same pairs. */
        for (size_t p = 0; p < size / (2 * sizeof(int64_t)); p++)
            ck_assert_int_eq(col_of_row[pairs[2 * p]], pairs[2 * p + 1]);
        free(cost);
        free(pairs);
        free(col_of_row);
        checked++;
    }
    fclose(m);
    ck_assert_int_ge(checked, 8);
}
END_TEST

START_TEST(test_scores_equal_numpy) {
    FILE *m = fopen(EVAL_DIR "manifest.txt", "r");
    char line[256], name[64], pred_file[128], gt_file[128], protocol[32];
    int n, k, c, checked = 0;
    df_confusion *confusion = NULL;
    while (fgets(line, sizeof line, m)) {
        double miou, acc, f1;
        if (sscanf(line, "maps %63s %d %d %d %127s %127s", name, &n, &k, &c, pred_file, gt_file) == 6) {
            df_confusion_free(confusion);
            ck_assert_ok(df_confusion_new((size_t)k, (size_t)c, &confusion));
            size_t size;
            int32_t *pred = (int32_t *)read_fixture_from(EVAL_DIR, pred_file, &size);
            int32_t *gt = (int32_t *)read_fixture_from(EVAL_DIR, gt_file, &size);
            /* Streaming: two halves give the same matrix as one call. */
            ck_assert_ok(df_confusion_add(confusion, pred, gt, (size_t)n / 2));
            ck_assert_ok(df_confusion_add(confusion, pred + n / 2, gt + n / 2, (size_t)(n - n / 2)));
            free(pred);
            free(gt);
        } else if (sscanf(line, "score %63s %31s %lf %lf %lf", name, protocol, &miou, &acc, &f1) == 5) {
            df_match match = strcmp(protocol, "hungarian") == 0 ? DF_MATCH_HUNGARIAN : DF_MATCH_MANY_TO_ONE;
            double our_miou, our_acc, our_f1, per_class[64];
            ck_assert_ok(df_confusion_scores(confusion, match, &our_miou, &our_acc, &our_f1, per_class));
            ck_assert_msg(fabs(our_acc - acc) < 1e-12, "%s %s accuracy %.17g vs %.17g", name, protocol, our_acc, acc);
            ck_assert_msg(fabs(our_miou - miou) < 1e-12, "%s %s mIoU %.17g vs %.17g", name, protocol, our_miou, miou);
            ck_assert_msg(fabs(our_f1 - f1) < 1e-12, "%s %s F1 %.17g vs %.17g", name, protocol, our_f1, f1);
            checked++;
        }
    }
    fclose(m);
    df_confusion_free(confusion);
    ck_assert_int_ge(checked, 6);
}
END_TEST

START_TEST(test_over_clustering_counts_unmatched_clusters_as_errors) {
    /* 2 classes, 3 clusters: cluster 2 holds 10 pixels of class 0 and stays unmatched under the
     * one-to-one protocol; they must lower class 0's IoU, not vanish. */
    int32_t pred[30], truth[30];
    for (int i = 0; i < 30; i++) {
        pred[i] = i < 10 ? 0 : i < 20 ? 1 : 2;
        truth[i] = i < 10 ? 0 : i < 20 ? 1 : 0;
    }
    df_confusion *c = NULL;
    ck_assert_ok(df_confusion_new(3, 2, &c));
    ck_assert_ok(df_confusion_add(c, pred, truth, 30));
    int64_t mapping[3];
    ck_assert_ok(df_confusion_match(c, DF_MATCH_HUNGARIAN, mapping));
    ck_assert_int_eq(mapping[1], 1);
    ck_assert_int_eq(mapping[0] + mapping[2], -1); /* one of clusters 0 and 2 gets class 0 */
    double miou, acc, per_class[2];
    ck_assert_ok(df_confusion_scores(c, DF_MATCH_HUNGARIAN, &miou, &acc, NULL, per_class));
    ck_assert_double_eq_tol(per_class[0], 0.5, 1e-12);
    ck_assert_double_eq_tol(per_class[1], 1.0, 1e-12);
    ck_assert_double_eq_tol(acc, 20.0 / 30.0, 1e-12);
    ck_assert_ok(df_confusion_scores(c, DF_MATCH_MANY_TO_ONE, &miou, &acc, NULL, NULL));
    ck_assert_double_eq_tol(miou, 1.0, 1e-12);
    const int64_t *counts;
    ck_assert_ok(df_confusion_counts(c, &counts));
    ck_assert_int_eq(counts[2 * 2 + 0], 10);
    df_confusion_free(c);
}
END_TEST

/* Two clusters, two classes: cluster 0 holds 3 pixels of class 1, cluster 1 3 of class 0 and 7
 * of class 1. Most matched pixels pair them straight (0 + 7 > 3 + 3); the largest IoU sum
 * crosses them (3/10 + 3/10 > 0/6 + 7/13), as NeCo's K = classes evaluation matches. */
START_TEST(test_hungarian_by_iou_differs_from_by_pixels) {
    int32_t pred[13], truth[13];
    for (int i = 0; i < 13; i++) pred[i] = i < 3 ? 0 : 1, truth[i] = i < 3 ? 1 : i < 6 ? 0 : 1;
    df_confusion *c = NULL;
    ck_assert_ok(df_confusion_new(2, 2, &c));
    ck_assert_ok(df_confusion_add(c, pred, truth, 13));
    int64_t mapping[2];
    ck_assert_ok(df_confusion_match(c, DF_MATCH_HUNGARIAN, mapping));
    ck_assert(mapping[0] == 0 && mapping[1] == 1);
    ck_assert_ok(df_confusion_match(c, DF_MATCH_HUNGARIAN_IOU, mapping));
    ck_assert(mapping[0] == 1 && mapping[1] == 0);
    double miou, acc;
    ck_assert_ok(df_confusion_scores(c, DF_MATCH_HUNGARIAN_IOU, &miou, &acc, NULL, NULL));
    ck_assert_double_eq_tol(miou, 0.3, 1e-12);
    ck_assert_double_eq_tol(acc, 6.0 / 13.0, 1e-12);
    ck_assert_ok(df_confusion_scores(c, DF_MATCH_HUNGARIAN, &miou, &acc, NULL, NULL));
    ck_assert_double_eq_tol(miou, 7.0 / 26.0, 1e-12);
    df_confusion_free(c);
    /* no matching (a probe's classes): cluster i is class i, a cluster past the classes an error */
    int32_t three[14], truth3[14];
    memcpy(three, pred, sizeof pred), memcpy(truth3, truth, sizeof truth);
    three[13] = 2, truth3[13] = 0;
    ck_assert_ok(df_confusion_new(3, 2, &c));
    ck_assert_ok(df_confusion_add(c, three, truth3, 14));
    int64_t straight[3];
    ck_assert_ok(df_confusion_match(c, DF_MATCH_NONE, straight));
    ck_assert(straight[0] == 0 && straight[1] == 1 && straight[2] == -1);
    ck_assert_ok(df_confusion_scores(c, DF_MATCH_NONE, &miou, &acc, NULL, NULL));
    ck_assert_double_eq_tol(acc, 7.0 / 14.0, 1e-12);
    ck_assert_double_eq_tol(miou, (0.0 / 7.0 + 7.0 / 13.0) / 2, 1e-12);
    df_confusion_free(c);
}
END_TEST

START_TEST(test_eval_errors) {
    df_confusion *c = NULL;
    ck_assert_fails_with(df_confusion_new(0, 3, &c), DF_E_INVALID_ARG, "df_confusion_new");
    ck_assert_fails_with(df_confusion_new(3, 3, NULL), DF_E_INVALID_ARG, "df_confusion_new");
    ck_assert_ok(df_confusion_new(2, 2, &c));
    int32_t pred[3] = {0, 1, 2}, truth[3] = {0, 1, 1}, ignore[3] = {0, 1, DF_IGNORE_LABEL}, bad_truth[3] = {0, 7, 1};
    ck_assert_fails_with(df_confusion_add(c, pred, truth, 3), DF_E_INVALID_ARG, "df_confusion_add");
    ck_assert_fails_with(df_confusion_add(c, truth, bad_truth, 3), DF_E_INVALID_ARG, "df_confusion_add");
    const int64_t *counts;
    ck_assert_ok(df_confusion_counts(c, &counts));
    ck_assert_int_eq(counts[0] + counts[1] + counts[2] + counts[3], 0); /* refused adds added nothing */
    ck_assert_ok(df_confusion_add(c, pred, ignore, 3));                 /* cluster 2 is ignored with its pixel */
    ck_assert_int_eq(counts[0] + counts[3], 2);
    ck_assert_fails_with(df_confusion_add(NULL, pred, truth, 3), DF_E_INVALID_ARG, "df_confusion_add");
    ck_assert_fails_with(df_confusion_add(c, NULL, truth, 3), DF_E_INVALID_ARG, "df_confusion_add");
    int64_t mapping[2];
    ck_assert_fails_with(df_confusion_match(c, (df_match)5, mapping), DF_E_INVALID_ARG, "df_confusion_match");
    ck_assert_fails_with(df_confusion_match(c, DF_MATCH_HUNGARIAN, NULL), DF_E_INVALID_ARG, "df_confusion_match");
    ck_assert_fails_with(df_confusion_scores(NULL, DF_MATCH_HUNGARIAN, NULL, NULL, NULL, NULL), DF_E_INVALID_ARG,
                         "df_confusion_scores");
    ck_assert_fails_with(df_confusion_counts(c, NULL), DF_E_INVALID_ARG, "df_confusion_counts");
    double cost[4] = {1, 2, NAN, 4};
    int64_t cols[2];
    ck_assert_fails_with(df_linear_sum_assignment(cost, 2, 2, cols), DF_E_INVALID_ARG, "df_linear_sum_assignment");
    ck_assert_fails_with(df_linear_sum_assignment(cost, 0, 2, cols), DF_E_INVALID_ARG, "df_linear_sum_assignment");
    ck_assert_fails_with(df_linear_sum_assignment(NULL, 2, 2, cols), DF_E_INVALID_ARG, "df_linear_sum_assignment");
    df_confusion_free(c);
    df_confusion_free(NULL);
}
END_TEST

#define SALIENCY_DIR "fixtures/saliency/"

START_TEST(test_saliency_and_corloc_equal_numpy) {
    FILE *m = fopen(SALIENCY_DIR "manifest.txt", "r");
    ck_assert_ptr_nonnull(m);
    char line[256], name[64], pred_file[64], gt_file[64], file[64];
    int w, h, hits, images, checked = 0;
    double iou, acc, maxf;
    df_saliency *saliency = NULL;
    ck_assert_ok(df_saliency_new(&saliency));
    while (fgets(line, sizeof line, m)) {
        if (sscanf(line, "image %63s %d %d %63s %63s", name, &w, &h, pred_file, gt_file) == 5) {
            size_t size;
            unsigned char *pred = read_fixture_from(SALIENCY_DIR, pred_file, &size);
            unsigned char *gt = read_fixture_from(SALIENCY_DIR, gt_file, &size);
            ck_assert_ok(df_saliency_add(saliency, pred, gt, (size_t)w * h));
            free(pred);
            free(gt);
        } else if (sscanf(line, "saliency %63s %lf %lf %lf", name, &iou, &acc, &maxf) == 4) {
            double our_iou, our_acc, our_maxf;
            ck_assert_ok(df_saliency_scores(saliency, &our_iou, &our_acc, &our_maxf));
            ck_assert_msg(fabs(our_iou - iou) < 1e-12, "IoU %.17g vs %.17g", our_iou, iou);
            ck_assert_msg(fabs(our_acc - acc) < 1e-12, "accuracy %.17g vs %.17g", our_acc, acc);
            ck_assert_msg(fabs(our_maxf - maxf) < 1e-12, "maxF %.17g vs %.17g", our_maxf, maxf);
            checked++;
        } else if (sscanf(line, "corloc %63s %d %d %63s", name, &hits, &images, file) == 4) {
            size_t size;
            int32_t *records = (int32_t *)read_fixture_from(SALIENCY_DIR, file, &size), *at = records;
            int ours = 0;
            for (int i = 0; i < images; i++) {
                int npred = at[0], ngt = at[1], hit;
                ck_assert_ok(df_corloc_hit(at + 2, (size_t)npred, at + 2 + 4 * npred, (size_t)ngt, &hit));
                ours += hit;
                at += 2 + 4 * (npred + ngt);
            }
            ck_assert_int_eq(ours, hits);
            ck_assert_int_gt(hits, 0);
            free(records);
            checked++;
        }
    }
    fclose(m);
    ck_assert_int_eq(checked, 2);
    ck_assert_fails_with(df_saliency_add(saliency, NULL, (const uint8_t *)"", 1), DF_E_INVALID_ARG, "df_saliency_add");
    ck_assert_fails_with(df_saliency_add(saliency, (const uint8_t *)"", (const uint8_t *)"", 0), DF_E_INVALID_ARG,
                         "df_saliency_add");
    df_saliency_free(saliency);
    df_saliency_free(NULL);
    ck_assert_ok(df_saliency_new(&saliency));
    ck_assert_fails_with(df_saliency_scores(saliency, &iou, NULL, NULL), DF_E_INVALID_ARG, "df_saliency_scores");
    ck_assert_fails_with(df_saliency_scores(NULL, &iou, NULL, NULL), DF_E_INVALID_ARG, "df_saliency_scores");
    ck_assert_fails_with(df_saliency_new(NULL), DF_E_INVALID_ARG, "df_saliency_new");
    df_saliency_free(saliency);
    int hit;
    const int32_t box[4] = {0, 0, 4, 4};
    ck_assert_ok(df_corloc_hit(NULL, 0, box, 1, &hit));
    ck_assert_int_eq(hit, 0);
    ck_assert_fails_with(df_corloc_hit(NULL, 1, box, 1, &hit), DF_E_INVALID_ARG, "df_corloc_hit");
    ck_assert_fails_with(df_corloc_hit(box, 1, box, 1, NULL), DF_E_INVALID_ARG, "df_corloc_hit");
}
END_TEST

static char boxes_folder[] = "/tmp/dinofeat_boxes_XXXXXX";

/* path: name in the test's folder, holding text. */
static void write_text(char *path, size_t size, const char *name, const char *text) {
    snprintf(path, size, "%s/%s", boxes_folder, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

/* Box files as the segmenters write them and as people type them; a box that cannot be read is
 * an error naming its line, not a box fewer. */
START_TEST(test_boxes_load) {
    ck_assert_ptr_nonnull(mkdtemp(boxes_folder));
    char path[256];
    int32_t boxes[12];
    size_t count = 99;
    write_text(path, sizeof path, "a.json",
               "{\n  \"image\": \"a.png\",\n  \"boxes\": [\n    {\"class\": 1, \"box\": [3, 4, 50, 60]},\n"
               "    {\"class\": 2, \"box\" : [ -1,\n 0 , 7,8 ]}\n  ]\n}\n");
    ck_assert_ok(df_boxes_load(path, NULL, 0, &count));
    ck_assert_uint_eq(count, 2);
    ck_assert_ok(df_boxes_load(path, boxes, 2, &count));
    const int32_t json_want[8] = {3, 4, 50, 60, -1, 0, 7, 8};
    ck_assert_mem_eq(boxes, json_want, sizeof json_want);
    ck_assert_fails_with(df_boxes_load(path, boxes, 1, &count), DF_E_INVALID_ARG, "df_boxes_load");
    write_text(path, sizeof path, "b.txt", "# x0 y0 x1 y1\n\n10 20 30 40\n  1\t2 3 4  # a comment\r\n5 6 7 8");
    ck_assert_ok(df_boxes_load(path, boxes, 3, &count));
    ck_assert_uint_eq(count, 3);
    const int32_t text_want[12] = {10, 20, 30, 40, 1, 2, 3, 4, 5, 6, 7, 8};
    ck_assert_mem_eq(boxes, text_want, sizeof text_want);
    write_text(path, sizeof path, "empty.txt", "# none\n");
    ck_assert_ok(df_boxes_load(path, NULL, 0, &count));
    ck_assert_uint_eq(count, 0);
    write_text(path, sizeof path, "c.txt", "1 2 3 4\n1 2 3\n");
    ck_assert_fails_with(df_boxes_load(path, NULL, 0, &count), DF_E_FORMAT, "df_boxes_load");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "c.txt:2: a line must hold four whole numbers"));
    write_text(path, sizeof path, "d.txt", "1 2 3 4 5\n");
    ck_assert_fails_with(df_boxes_load(path, NULL, 0, &count), DF_E_FORMAT, "df_boxes_load");
    write_text(path, sizeof path, "e.txt", "1 2 3 99999999999\n");
    ck_assert_fails_with(df_boxes_load(path, NULL, 0, &count), DF_E_FORMAT, "df_boxes_load");
    write_text(path, sizeof path, "f.json", "{\"boxes\": [{\"box\": [1, 2, 3]}]}");
    ck_assert_fails_with(df_boxes_load(path, NULL, 0, &count), DF_E_FORMAT, "df_boxes_load");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "f.json:1: a box must be"));
    /* a VOC annotation: every object, difficult ones too, 1-based inclusive corners made 0-based,
     * maximum exclusive */
    write_text(path, sizeof path, "000005.xml",
               "<annotation>\n\t<size><width>500</width><height>375</height></size>\n"
               "\t<object>\n\t\t<name>chair</name>\n\t\t<difficult>1</difficult>\n"
               "\t\t<bndbox>\n\t\t\t<xmin>263</xmin>\n\t\t\t<ymin>211</ymin>\n"
               "\t\t\t<xmax>324</xmax>\n\t\t\t<ymax>339</ymax>\n\t\t</bndbox>\n\t</object>\n"
               "\t<object><name>dog</name><bndbox><xmin>1</xmin><ymin>1.0</ymin><xmax>500</xmax>"
               "<ymax>375</ymax></bndbox></object>\n</annotation>\n");
    ck_assert_ok(df_boxes_load(path, boxes, 3, &count));
    ck_assert_uint_eq(count, 2);
    const int32_t voc_want[8] = {262, 210, 324, 339, 0, 0, 500, 375};
    ck_assert_mem_eq(boxes, voc_want, sizeof voc_want);
    write_text(path, sizeof path, "000007.xml", "<object><bndbox><xmin>3</xmin><ymin>4.5</ymin><xmax>9</xmax>"
                                                "<ymax>9</ymax></bndbox></object>");
    ck_assert_fails_with(df_boxes_load(path, NULL, 0, &count), DF_E_FORMAT, "df_boxes_load");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "000007.xml:1: an <object> must hold a <bndbox>"));
    /* VOC's person layout: the head and hand boxes inside a person are parts, not objects (they
     * were read as two more true boxes, which CorLoc then matched); the person's own box may come
     * after them */
    write_text(path, sizeof path, "000010.xml",
               "<annotation><object><name>person</name><part><name>head</name><bndbox><xmin>5</xmin><ymin>5</ymin>"
               "<xmax>9</xmax><ymax>9</ymax></bndbox></part><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>40</xmax>"
               "<ymax>80</ymax></bndbox><part><name>hand</name><bndbox><xmin>30</xmin><ymin>30</ymin><xmax>35</xmax>"
               "<ymax>35</ymax></bndbox></part></object>\n<object><name>dog</name><truncated>1</truncated><bndbox>"
               "<xmin>50</xmin><ymin>60</ymin><xmax>70</xmax><ymax>80</ymax></bndbox></object></annotation>");
    ck_assert_ok(df_boxes_load(path, boxes, 3, &count));
    ck_assert_uint_eq(count, 2);
    const int32_t person_want[8] = {0, 1, 40, 80, 49, 59, 70, 80};
    ck_assert_mem_eq(boxes, person_want, sizeof person_want);
    write_text(path, sizeof path, "000011.xml", "<object><name>cat</name><part><bndbox><xmin>3</xmin><ymin>4</ymin>"
                                                "<xmax>9</xmax><ymax>9</ymax></bndbox></part></object>");
    ck_assert_fails_with(df_boxes_load(path, NULL, 0, &count), DF_E_FORMAT, "df_boxes_load");
    write_text(path, sizeof path, "000009.xml", "<object><bndbox><xmin>3</xmin><ymin>4</ymin><xmax>9</xmax>"
                                                "</bndbox></object>");
    ck_assert_fails_with(df_boxes_load(path, NULL, 0, &count), DF_E_FORMAT, "df_boxes_load");
    ck_assert_fails_with(df_boxes_load("/nonexistent/boxes.txt", NULL, 0, &count), DF_E_IO, "df_boxes_load");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "/nonexistent/boxes.txt"));
    ck_assert_fails_with(df_boxes_load(NULL, NULL, 0, &count), DF_E_INVALID_ARG, "df_boxes_load");
    ck_assert_fails_with(df_boxes_load(path, NULL, 0, NULL), DF_E_INVALID_ARG, "df_boxes_load");
    remove_tree(boxes_folder);
}
END_TEST

Suite *eval_suite(void) {
    Suite *suite = suite_create("eval");
    TCase *tc = tcase_create("eval");
    tcase_add_test(tc, test_assignment_equals_scipy);
    tcase_add_test(tc, test_scores_equal_numpy);
    tcase_add_test(tc, test_over_clustering_counts_unmatched_clusters_as_errors);
    tcase_add_test(tc, test_hungarian_by_iou_differs_from_by_pixels);
    tcase_add_test(tc, test_eval_errors);
    tcase_add_test(tc, test_saliency_and_corloc_equal_numpy);
    tcase_add_test(tc, test_boxes_load);
    suite_add_tcase(suite, tc);
    return suite;
}
