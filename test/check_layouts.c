/* Distributed datasets (dataset.layout) on miniature replicas of their on-disk layouts, written
 * here: a real JPEG for COCO's images, label PNGs with the stored values, STEGO's curated list;
 * the expected classes are the papers' mappings worked out by hand for the values used. */
#include "check_common.h"

#include <stdlib.h>
#include <sys/stat.h>

static char root[64];

static void make_root(void) {
    snprintf(root, sizeof root, "/tmp/dinofeat_layouts_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(root));
}

static void remove_root(void) { remove_tree(root); }

static void make_folder(const char *relative) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", root, relative);
    ck_assert_int_eq(mkdir(path, 0777), 0);
}

static void write_text(const char *relative, const char *text) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", root, relative);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
}

/* A width x height grey PNG whose pixels cycle through values[0..count-1], row-major. */
static void write_labels(const char *relative, size_t width, size_t height, const uint8_t *values, size_t count) {
    char path[256];
    snprintf(path, sizeof path, "%s/%s", root, relative);
    df_image *image;
    ck_assert_ok(df_image_new(width, height, 1, 8, &image));
    uint8_t *p = df_image_pixels(image);
    for (size_t i = 0; i < width * height; i++) p[i] = values[i % count];
    ck_assert_ok(df_image_save_png(image, path));
    df_image_free(image);
}

static void copy_file(const char *from, const char *relative) {
    size_t size;
    unsigned char *bytes = read_fixture_from("", from, &size);
    char path[256];
    snprintf(path, sizeof path, "%s/%s", root, relative);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(bytes, 1, size, f), size);
    ck_assert_int_eq(fclose(f), 0);
    free(bytes);
}

static df_options *layout_options(df_dataset_layout layout, const char *split) {
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_DATASET_LAYOUT, layout));
    ck_assert_ok(df_options_set_str(o, DF_PARAM_DATASET_SPLIT, split));
    return o;
}

/* The size of fixtures/images/baseline.jpg, the replicas' photo. */
static void photo_size(size_t *width, size_t *height) {
    df_image *photo;
    ck_assert_ok(df_image_load("fixtures/images/baseline.jpg", NULL, &photo));
    *width = df_image_width(photo), *height = df_image_height(photo);
    df_image_free(photo);
}

/* The dataset options open at root, which must hold count items, the first named first. */
static df_dataset *open_layout(const df_options *o, size_t count, const char *first) {
    df_dataset *d;
    size_t items;
    const char *name;
    ck_assert_ok(df_dataset_open(root, NULL, o, &d));
    ck_assert_ok(df_dataset_count(d, &items));
    ck_assert_uint_eq(items, count);
    ck_assert_ok(df_dataset_name(d, 0, &name, NULL));
    ck_assert_str_eq(name, first);
    return d;
}

/* The item's labels, which must be width x height, alone and beside the image. */
static void assert_labels(df_dataset *d, size_t item, size_t width, size_t height, const uint8_t *want, size_t count) {
    df_image *image, *labels, *alone;
    ck_assert_ok(df_dataset_get(d, item, NULL, &alone));
    ck_assert_ok(df_dataset_get(d, item, &image, &labels));
    ck_assert_uint_eq(df_image_width(alone), df_image_width(labels));
    ck_assert_mem_eq(df_image_pixels(alone), df_image_pixels(labels), df_image_width(labels) * df_image_height(labels));
    df_image_free(alone);
    ck_assert_uint_eq(df_image_width(labels), width);
    ck_assert_uint_eq(df_image_height(labels), height);
    const uint8_t *p = df_image_pixels(labels);
    for (size_t i = 0; i < width * height; i++) ck_assert_uint_eq(p[i], want[i % count]);
    df_image_free(image), df_image_free(labels);
}

/* COCO-Stuff-27 as STEGO's Coco loader reads it: the curated list's order, ID.jpg beside ID.png,
 * the 182 fine classes in five representative places mapped to the coarse ones (fine 0 person ->
 * 9, 91 banner -> 17, 181 wood -> 24, 255 unlabelled and the unused 200 ignored). */
START_TEST(test_cocostuff27_replica) {
    make_root();
    const char *folders[] = {"images", "images/val2017", "annotations", "annotations/val2017", "curated",
                             "curated/val2017"};
    for (int i = 0; i < 6; i++) make_folder(folders[i]);
    size_t w, h;
    photo_size(&w, &h);
    const uint8_t fine[5] = {0, 91, 181, 255, 200}, coarse[5] = {9, 17, 24, 255, 255};
    copy_file("fixtures/images/baseline.jpg", "images/val2017/000000000285.jpg");
    copy_file("fixtures/images/baseline.jpg", "images/val2017/000000000139.jpg");
    write_labels("annotations/val2017/000000000285.png", w, h, fine, 5);
    write_labels("annotations/val2017/000000000139.png", w, h, fine + 1, 4);
    write_text("curated/val2017/Coco164kFull_Stuff_Coarse_7.txt", "000000000285\n000000000139\r\n\n");
    df_options *o = layout_options(DF_DATASET_LAYOUT_COCOSTUFF27, "val");
    df_dataset *d = open_layout(o, 2, "val2017/000000000285.jpg"); /* the list's order, not sorted */
    assert_labels(d, 0, w, h, coarse, 5);
    assert_labels(d, 1, w, h, coarse + 1, 4);
    df_dataset_free(d);
    /* the paper's resize: short side, centre crop, labels nearest, still mapped */
    ck_assert_ok(df_options_set_int(o, DF_PARAM_DATASET_SIZE, 16));
    ck_assert_ok(df_dataset_open(root, NULL, o, &d));
    df_image *image, *labels;
    ck_assert_ok(df_dataset_get(d, 0, &image, &labels));
    ck_assert_uint_eq(df_image_width(labels), 16);
    const uint8_t *p = df_image_pixels(labels);
    for (size_t i = 0; i < 16 * 16; i++) ck_assert(p[i] == 9 || p[i] == 17 || p[i] == 24 || p[i] == 255);
    df_image_free(image), df_image_free(labels);
    df_dataset_free(d);
    /* another list, one image */
    write_text("mine.txt", "000000000139\n");
    char list[256];
    snprintf(list, sizeof list, "%s/mine.txt", root);
    ck_assert_ok(df_options_set_str(o, DF_PARAM_DATASET_LIST, list));
    df_dataset_free(open_layout(o, 1, "val2017/000000000139.jpg"));
    /* a listed image that is not there, or has no annotation, is refused by name */
    write_text("mine.txt", "000000000139\n000000000999\n");
    ck_assert_fails_with(df_dataset_open(root, NULL, o, &d), DF_E_INVALID_ARG, "df_dataset_open");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "000000000999.jpg: listed but absent"));
    /* without its annotation it can be predicted, not scored */
    copy_file("fixtures/images/baseline.jpg", "images/val2017/000000000999.jpg");
    d = open_layout(o, 2, "val2017/000000000139.jpg");
    ck_assert_ok(df_dataset_get(d, 1, &image, NULL));
    df_image_free(image);
    ck_assert_int_ne(df_dataset_get(d, 1, &image, &labels), DF_OK);
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "annotations/val2017/000000000999.png"));
    df_dataset_free(d);
    df_options_free(o);
    /* the train split's list is absent here: the error says which file and where it comes from */
    o = layout_options(DF_DATASET_LAYOUT_COCOSTUFF27, "train");
    ck_assert_fails_with(df_dataset_open(root, NULL, o, &d), DF_E_INVALID_ARG, "df_dataset_open");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "curated/train2017/Coco164kFull_Stuff_Coarse.txt"));
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "STEGO"));
    ck_assert_ok(df_options_set_str(o, DF_PARAM_DATASET_SPLIT, "test"));
    ck_assert_fails_with(df_dataset_open(root, NULL, o, &d), DF_E_INVALID_ARG, "df_dataset_open");
    ck_assert_ok(df_options_set_str(o, DF_PARAM_DATASET_SPLIT, "val"));
    ck_assert_fails_with(df_dataset_open(root, root, o, &d), DF_E_INVALID_ARG, "df_dataset_open");
    df_options_free(o);
    remove_root();
}
END_TEST

/* COCO-Things and COCO-Stuff as Leopart's and NeCo's loaders read them: every image of
 * images/val2017 (sorted), category ids to the supercategories in alphabetical order. Things:
 * 1 person -> 9, 44 bottle -> kitchen 7, 2 bicycle -> vehicle 11, 27 backpack -> accessory 0,
 * 72 tv -> electronic 3; the unused id 12, stuff (92), 0 and 200 ignored. Stuff: 92 banner ->
 * textile 11, 106 clouds -> sky 8, 95 bridge -> building 0, 182 wood -> solid 9, 179
 * waterdrops -> water 13; things (0) and other (183) ignored. */
START_TEST(test_coco_supercategory_replicas) {
    make_root();
    const char *folders[] = {"images", "images/val2017", "annotations", "annotations/val2017",
                             "annotations/stuff_annotations", "annotations/stuff_annotations/stuff_val2017_pixelmaps"};
    for (int i = 0; i < 6; i++) make_folder(folders[i]);
    copy_file("fixtures/images/baseline.jpg", "images/val2017/000000000285.jpg");
    copy_file("fixtures/images/baseline.jpg", "images/val2017/000000000139.jpg");
    size_t w, h;
    photo_size(&w, &h);
    const uint8_t thing_ids[9] = {1, 44, 2, 27, 72, 12, 92, 0, 200}, things[9] = {9, 7, 11, 0, 3, 255, 255, 255, 255};
    const uint8_t stuff_ids[7] = {92, 106, 95, 182, 179, 0, 183}, stuff[7] = {11, 8, 0, 9, 13, 255, 255};
    write_labels("annotations/val2017/000000000139.png", w, h, thing_ids, 9);
    write_labels("annotations/stuff_annotations/stuff_val2017_pixelmaps/000000000139.png", w, h, stuff_ids, 7);
    df_options *o = layout_options(DF_DATASET_LAYOUT_COCOTHINGS, "val");
    df_dataset *d = open_layout(o, 2, "000000000139.jpg");
    assert_labels(d, 0, w, h, things, 9);
    df_image *image, *labels;
    ck_assert_int_ne(df_dataset_get(d, 1, &image, &labels), DF_OK); /* 285 has no mask */
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "annotations/val2017/000000000285.png"));
    df_dataset_free(d);
    df_options_free(o);
    o = layout_options(DF_DATASET_LAYOUT_COCOSTUFF15, "val");
    d = open_layout(o, 2, "000000000139.jpg");
    assert_labels(d, 0, w, h, stuff, 7);
    df_dataset_free(d);
    ck_assert_ok(df_options_set_str(o, DF_PARAM_DATASET_SPLIT, "train"));
    ck_assert_fails_with(df_dataset_open(root, NULL, o, &d), DF_E_IO, "df_dataset_open");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "images/train2017"));
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "train2017.zip unpacked under images/"));
    df_options_free(o);
    remove_root();
}
END_TEST

/* COCO-Stuff-171 (MMSegmentation's numbering: the stuffthingmaps' values without the 11 no class
 * has: 10 stays 10, 12 -> 11, 89 toothbrush -> 79, 91 banner -> 80, 181 wood -> 170; 11, 90 and
 * 255 ignored) and ADE20K (1..150 -> 0..149, 0 ignored; training/ for split train). */
START_TEST(test_cocostuff171_and_ade20k_replicas) {
    make_root();
    const char *folders[] = {"images", "images/val2017", "annotations", "annotations/val2017"};
    for (int i = 0; i < 4; i++) make_folder(folders[i]);
    copy_file("fixtures/images/baseline.jpg", "images/val2017/000000000139.jpg");
    size_t w, h;
    photo_size(&w, &h);
    const uint8_t fine[8] = {10, 12, 89, 91, 181, 11, 90, 255}, classes[8] = {10, 11, 79, 80, 170, 255, 255, 255};
    write_labels("annotations/val2017/000000000139.png", w, h, fine, 8);
    df_options *o = layout_options(DF_DATASET_LAYOUT_COCOSTUFF171, "val");
    df_dataset *d = open_layout(o, 1, "000000000139.jpg");
    assert_labels(d, 0, w, h, classes, 8);
    df_dataset_free(d);
    df_options_free(o);
    remove_root();
    make_root();
    const char *ade[] = {"ADEChallengeData2016", "ADEChallengeData2016/images", "ADEChallengeData2016/annotations",
                         "ADEChallengeData2016/images/training", "ADEChallengeData2016/annotations/training",
                         "ADEChallengeData2016/images/validation"};
    for (int i = 0; i < 6; i++) make_folder(ade[i]);
    copy_file("fixtures/images/baseline.jpg", "ADEChallengeData2016/images/training/ADE_train_00000002.jpg");
    copy_file("fixtures/images/baseline.jpg", "ADEChallengeData2016/images/training/ADE_train_00000001.jpg");
    const uint8_t stored[5] = {0, 1, 150, 151, 255}, scored[5] = {255, 0, 149, 255, 255};
    write_labels("ADEChallengeData2016/annotations/training/ADE_train_00000001.png", w, h, stored, 5);
    o = layout_options(DF_DATASET_LAYOUT_ADE20K, "train");
    d = open_layout(o, 2, "ADE_train_00000001.jpg");
    assert_labels(d, 0, w, h, scored, 5);
    df_dataset_free(d);
    ck_assert_ok(df_options_set_str(o, DF_PARAM_DATASET_SPLIT, "val")); /* validation/ holds nothing */
    ck_assert_fails_with(df_dataset_open(root, NULL, o, &d), DF_E_INVALID_ARG, "df_dataset_open");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "images/validation holds no image"));
    df_options_free(o);
    remove_root();
}
END_TEST

/* Cityscapes-27 as STEGO reads it: every *_leftImg8bit.png of the split's cities (sorted), its
 * *_gtFine_labelIds.png, labelIds 7..33 as classes 0..26 and the void ids below 7 ignored. */
START_TEST(test_cityscapes27_replica) {
    make_root();
    const char *folders[] = {"leftImg8bit", "leftImg8bit/val", "leftImg8bit/val/lindau", "leftImg8bit/val/frankfurt",
                             "gtFine", "gtFine/val", "gtFine/val/lindau", "gtFine/val/frankfurt"};
    for (int i = 0; i < 8; i++) make_folder(folders[i]);
    const uint8_t ids[6] = {0, 6, 7, 24, 26, 33}, classes[6] = {255, 255, 0, 17, 19, 26};
    const uint8_t grey[1] = {128};
    write_labels("leftImg8bit/val/lindau/lindau_000000_000019_leftImg8bit.png", 12, 6, grey, 1);
    write_labels("leftImg8bit/val/frankfurt/frankfurt_000000_000294_leftImg8bit.png", 12, 6, grey, 1);
    write_labels("leftImg8bit/val/frankfurt/notes.png", 4, 4, grey, 1); /* not a Cityscapes image */
    write_labels("gtFine/val/lindau/lindau_000000_000019_gtFine_labelIds.png", 12, 6, ids, 6);
    write_labels("gtFine/val/frankfurt/frankfurt_000000_000294_gtFine_labelIds.png", 12, 6, ids + 2, 4);
    df_options *o = layout_options(DF_DATASET_LAYOUT_CITYSCAPES27, "val");
    df_dataset *d = open_layout(o, 2, "frankfurt/frankfurt_000000_000294_leftImg8bit.png");
    assert_labels(d, 0, 12, 6, classes + 2, 4);
    assert_labels(d, 1, 12, 6, classes, 6);
    df_dataset_free(d);
    ck_assert_ok(df_options_set_str(o, DF_PARAM_DATASET_SPLIT, "train"));
    ck_assert_fails_with(df_dataset_open(root, NULL, o, &d), DF_E_IO, "df_dataset_open");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "leftImg8bit/train"));
    df_options_free(o);
    remove_root();
}
END_TEST

/* The saliency test sets as their archives unpack: images and masks of the same stems, masks as
 * stored (0 / 255 and the grey of anti-aliased edges). */
START_TEST(test_saliency_set_replicas) {
    static const struct {
        df_dataset_layout layout;
        const char *images, *masks;
    } sets[] = {{DF_DATASET_LAYOUT_ECSSD, "images", "ground_truth_mask"},
                {DF_DATASET_LAYOUT_DUTS_TE, "DUTS-TE-Image", "DUTS-TE-Mask"},
                {DF_DATASET_LAYOUT_DUT_OMRON, "DUT-OMRON-image", "pixelwiseGT-new-PNG"}};
    const uint8_t mask[3] = {0, 255, 128};
    for (size_t k = 0; k < 3; k++) {
        make_root();
        char image[128], label[128];
        make_folder(sets[k].images), make_folder(sets[k].masks);
        const char *stems[2] = {"b_0002", "a_0001"};
        for (int i = 0; i < 2; i++) {
            snprintf(image, sizeof image, "%s/%s.jpg", sets[k].images, stems[i]);
            snprintf(label, sizeof label, "%s/%s.png", sets[k].masks, stems[i]);
            copy_file("fixtures/images/baseline.jpg", image);
            write_labels(label, 40, 24, mask, 3);
        }
        df_options *o = layout_options(sets[k].layout, "val");
        df_dataset *d = open_layout(o, 2, "a_0001.jpg");
        assert_labels(d, 1, 40, 24, mask, 3);
        df_dataset_free(d);
        /* as TokenCut's download scripts leave them: img/ and gt/ */
        char from[160], to[160];
        snprintf(from, sizeof from, "%s/%s", root, sets[k].images), snprintf(to, sizeof to, "%s/img", root);
        ck_assert_int_eq(rename(from, to), 0);
        snprintf(from, sizeof from, "%s/%s", root, sets[k].masks), snprintf(to, sizeof to, "%s/gt", root);
        ck_assert_int_eq(rename(from, to), 0);
        d = open_layout(o, 2, "a_0001.jpg");
        assert_labels(d, 0, 40, 24, mask, 3);
        df_dataset_free(d);
        /* a root holding neither: the error says which folders the archive unpacks to */
        ck_assert_int_eq(rename(to, from), 0);
        snprintf(to, sizeof to, "%s/img", root), snprintf(from, sizeof from, "%s/elsewhere", root);
        ck_assert_int_eq(rename(to, from), 0);
        ck_assert_fails_with(df_dataset_open(root, NULL, o, &d), DF_E_IO, "df_dataset_open");
        ck_assert_ptr_nonnull(strstr(df_last_error_message(), sets[k].images));
        ck_assert_ptr_nonnull(strstr(df_last_error_message(), "img/ and gt/ as TokenCut's scripts name them"));
        df_options_free(o);
        remove_root();
    }
}
END_TEST

/* PASCAL VOC 2007 as its tar files unpack: the split's list, JPEGImages, every object's box from
 * Annotations (1-based corners made 0-based), SegmentationClass where the image has one. */
START_TEST(test_voc_replica) {
    make_root();
    const char *folders[] = {"VOCdevkit", "VOCdevkit/VOC2007", "VOCdevkit/VOC2007/JPEGImages",
                             "VOCdevkit/VOC2007/Annotations", "VOCdevkit/VOC2007/ImageSets",
                             "VOCdevkit/VOC2007/ImageSets/Main", "VOCdevkit/VOC2007/SegmentationClass"};
    for (int i = 0; i < 7; i++) make_folder(folders[i]);
    copy_file("fixtures/images/baseline.jpg", "VOCdevkit/VOC2007/JPEGImages/000005.jpg");
    copy_file("fixtures/images/baseline.jpg", "VOCdevkit/VOC2007/JPEGImages/000007.jpg");
    write_text("VOCdevkit/VOC2007/ImageSets/Main/trainval.txt", "000005\n000007\n");
    write_text("VOCdevkit/VOC2007/Annotations/000005.xml",
               "<annotation><object><name>chair</name><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>20</xmax>"
               "<ymax>24</ymax></bndbox></object><object><name>dog</name><difficult>1</difficult><bndbox>"
               "<xmin>10</xmin><ymin>5</ymin><xmax>40</xmax><ymax>12</ymax></bndbox></object></annotation>\n");
    const uint8_t classes[3] = {0, 15, 255};
    write_labels("VOCdevkit/VOC2007/SegmentationClass/000005.png", 40, 24, classes, 3);
    df_options *o = layout_options(DF_DATASET_LAYOUT_VOC07, "trainval");
    df_dataset *d = open_layout(o, 2, "000005.jpg");
    int32_t boxes[8];
    size_t count = 0;
    ck_assert_ok(df_dataset_boxes(d, 0, NULL, 0, &count));
    ck_assert_uint_eq(count, 2);
    ck_assert_ok(df_dataset_boxes(d, 0, boxes, 2, &count));
    const int32_t want[8] = {0, 1, 20, 24, 9, 4, 40, 12};
    ck_assert_mem_eq(boxes, want, sizeof want);
    assert_labels(d, 0, 40, 24, classes, 3);
    ck_assert_fails_with(df_dataset_boxes(d, 1, NULL, 0, &count), DF_E_IO, "df_dataset_boxes");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "Annotations/000007.xml"));
    ck_assert_fails_with(df_dataset_boxes(d, 2, NULL, 0, &count), DF_E_INVALID_ARG, "df_dataset_boxes");
    ck_assert_fails_with(df_dataset_get(d, 0, NULL, NULL), DF_E_INVALID_ARG, "df_dataset_get");
    df_dataset_free(d);
    /* the VOC2007 folder itself as the root; a split VOC has not is refused */
    char base[128];
    snprintf(base, sizeof base, "%s/VOCdevkit/VOC2007", root);
    ck_assert_ok(df_dataset_open(base, NULL, o, &d));
    df_dataset_free(d);
    /* LOST's remove_hards: 000005 keeps its chair (the dog is difficult); 000009 has only a
     * truncated object and is no item; 000007's annotation is missing, which is said at open */
    copy_file("fixtures/images/baseline.jpg", "VOCdevkit/VOC2007/JPEGImages/000009.jpg");
    write_text("VOCdevkit/VOC2007/Annotations/000009.xml",
               "<annotation><object><truncated>1</truncated><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>20</xmax>"
               "<ymax>24</ymax></bndbox></object></annotation>\n");
    write_text("VOCdevkit/VOC2007/ImageSets/Main/test.txt", "000005\n000009\n");
    ck_assert_ok(df_options_set_str(o, DF_PARAM_DATASET_SPLIT, "test"));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_DATASET_REMOVE_HARDS, 1));
    d = open_layout(o, 1, "000005.jpg");
    ck_assert_ok(df_dataset_boxes(d, 0, boxes, 2, &count));
    ck_assert_uint_eq(count, 1);
    ck_assert_mem_eq(boxes, want, 4 * sizeof *want);
    df_dataset_free(d);
    ck_assert_ok(df_options_set_str(o, DF_PARAM_DATASET_SPLIT, "trainval"));
    ck_assert_fails_with(df_dataset_open(root, NULL, o, &d), DF_E_IO, "df_dataset_open");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "Annotations/000007.xml"));
    write_text("VOCdevkit/VOC2007/ImageSets/Main/test.txt", "000009\n");
    ck_assert_ok(df_options_set_str(o, DF_PARAM_DATASET_SPLIT, "test"));
    ck_assert_fails_with(df_dataset_open(root, NULL, o, &d), DF_E_INVALID_ARG, "df_dataset_open");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "neither difficult nor truncated"));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_DATASET_REMOVE_HARDS, 0));
    /* the segmentation subset's list (ImageSets/Segmentation/val.txt), as NeCo and Leopart score */
    make_folder("VOCdevkit/VOC2007/ImageSets/Segmentation");
    write_text("VOCdevkit/VOC2007/ImageSets/Segmentation/val.txt", "000005\n");
    ck_assert_ok(df_options_set_str(o, DF_PARAM_DATASET_SPLIT, "Segmentation/val"));
    d = open_layout(o, 1, "000005.jpg");
    assert_labels(d, 0, 40, 24, classes, 3);
    df_dataset_free(d);
    /* the SBD-augmented training list (NeCo's linear probe): masks from SegmentationClassAug */
    make_folder("VOCdevkit/VOC2007/SegmentationClassAug");
    const uint8_t augmented[2] = {7, 255};
    write_labels("VOCdevkit/VOC2007/SegmentationClassAug/000007.png", 40, 24, augmented, 2);
    write_text("VOCdevkit/VOC2007/ImageSets/Segmentation/trainaug.txt", "000007\n000005\n");
    ck_assert_ok(df_options_set_str(o, DF_PARAM_DATASET_SPLIT, "Segmentation/trainaug"));
    d = open_layout(o, 2, "000007.jpg");
    assert_labels(d, 0, 40, 24, augmented, 2);
    df_image *missing = NULL;
    ck_assert_fails_with(df_dataset_get(d, 1, NULL, &missing), DF_E_IO, "df_dataset_get");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "SegmentationClassAug/000005.png"));
    df_dataset_free(d);
    const char *refused[] = {"everything", "../Main/trainval", "/val", "Segmentation/", "a/b/val"};
    for (int i = 0; i < 5; i++) {
        ck_assert_ok(df_options_set_str(o, DF_PARAM_DATASET_SPLIT, refused[i]));
        ck_assert_fails_with(df_dataset_open(root, NULL, o, &d), DF_E_INVALID_ARG, "df_dataset_open");
        ck_assert_ptr_nonnull(strstr(df_last_error_message(), "trainval, test or a list under ImageSets"));
    }
    df_options_free(o);
    /* a layout without boxes says so */
    o = layout_options(DF_DATASET_LAYOUT_FOLDER, "val");
    char images[160];
    snprintf(images, sizeof images, "%s/VOCdevkit/VOC2007/JPEGImages", root);
    ck_assert_ok(df_dataset_open(images, NULL, o, &d));
    ck_assert_fails_with(df_dataset_boxes(d, 0, NULL, 0, &count), DF_E_UNSUPPORTED, "df_dataset_boxes");
    ck_assert_fails_with(df_dataset_boxes(d, 0, NULL, 0, NULL), DF_E_INVALID_ARG, "df_dataset_boxes");
    df_dataset_free(d);
    df_options_free(o);
    remove_root();
}
END_TEST

/* Item item's image: 7 x 5 RGB, the fixture's img[y, x, c] = 28 y + 4 x + c with the infrared
 * dropped; as_float: stored as that / 255 in float64, read back x 255 truncated. */
static void assert_potsdam_image(df_dataset *d, size_t item, int as_float) {
    df_image *image;
    ck_assert_ok(df_dataset_get(d, item, &image, NULL));
    ck_assert_uint_eq(df_image_width(image), 7);
    ck_assert_uint_eq(df_image_height(image), 5);
    ck_assert_uint_eq(df_image_channels(image), 3);
    const uint8_t *p = df_image_pixels(image);
    for (int y = 0; y < 5; y++)
        for (int x = 0; x < 7; x++)
            for (int c = 0; c < 3; c++) {
                const int k = 28 * y + 4 * x + c;
                ck_assert_uint_eq(p[(y * 7 + x) * 3 + c], as_float ? (uint8_t)((double)k / 255.0 * 255.0) : k);
            }
    df_image_free(image);
}

/* Potsdam as STEGO's download holds it: .mat files (test/reference/make_mat_fixtures.py wrote them
 * with scipy: plain, compressed after a text variable, float64, int32 labels, and one big-endian
 * file written by hand), the split lists, the six classes and STEGO's three. */
START_TEST(test_potsdam_replica) {
    make_root();
    const char *folders[] = {"potsdam", "potsdam/imgs", "potsdam/gt"};
    for (int i = 0; i < 3; i++) make_folder(folders[i]);
    copy_file("fixtures/mat/img.mat", "potsdam/imgs/2_10_3.mat");
    copy_file("fixtures/mat/img_compressed.mat", "potsdam/imgs/1_0_0.mat");
    copy_file("fixtures/mat/gt.mat", "potsdam/gt/2_10_3.mat");
    copy_file("fixtures/mat/gt_int32.mat", "potsdam/gt/1_0_0.mat");
    write_text("potsdam/labelled_test.txt", "2_10_3\n1_0_0\n");
    write_text("potsdam/labelled_train.txt", "1_0_0\n");
    /* stored 0 1 2 3 4 5 255 on every row: roads+cars 0, buildings+clutter 1, vegetation+trees 2 */
    const uint8_t six[7] = {0, 1, 2, 3, 4, 5, 255}, three[7] = {0, 1, 2, 2, 0, 1, 255};
    df_options *o = layout_options(DF_DATASET_LAYOUT_POTSDAM3, "val");
    df_dataset *d = open_layout(o, 2, "2_10_3.mat");
    assert_potsdam_image(d, 0, 0);
    assert_potsdam_image(d, 1, 0);
    assert_labels(d, 0, 7, 5, three, 7);
    assert_labels(d, 1, 7, 5, three, 7);
    df_dataset_free(d);
    df_options_free(o);
    o = layout_options(DF_DATASET_LAYOUT_POTSDAM, "train");
    d = open_layout(o, 1, "1_0_0.mat");
    assert_labels(d, 0, 7, 5, six, 7);
    df_dataset_free(d);
    /* floating images x 255 truncated; a big-endian file; the potsdam folder itself as the root */
    copy_file("fixtures/mat/img_double.mat", "potsdam/imgs/1_0_0.mat");
    d = open_layout(o, 1, "1_0_0.mat");
    assert_potsdam_image(d, 0, 1);
    df_dataset_free(d);
    copy_file("fixtures/mat/img_big_endian.mat", "potsdam/imgs/1_0_0.mat");
    char base[128];
    snprintf(base, sizeof base, "%s/potsdam", root);
    ck_assert_ok(df_dataset_open(base, NULL, o, &d));
    assert_potsdam_image(d, 0, 0);
    df_dataset_free(d);
    /* dimensions that claim more than the stored bytes (their product overflows 64 bits) */
    copy_file("fixtures/mat/huge_dims.mat", "potsdam/imgs/1_0_0.mat");
    d = open_layout(o, 1, "1_0_0.mat");
    df_image *image, *labels;
    ck_assert_fails_with(df_dataset_get(d, 0, &image, NULL), DF_E_UNSUPPORTED, "df_dataset_get");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "not an image"));
    df_dataset_free(d);
    copy_file("fixtures/mat/img.mat", "potsdam/imgs/1_0_0.mat");
    /* labels out of 0..255, a file that is no .mat, a split whose list is absent */
    copy_file("fixtures/mat/out_of_range.mat", "potsdam/gt/1_0_0.mat");
    copy_file("fixtures/images/baseline.jpg", "potsdam/imgs/2_10_3.mat");
    d = open_layout(o, 1, "1_0_0.mat");
    ck_assert_fails_with(df_dataset_get(d, 0, &image, &labels), DF_E_UNSUPPORTED, "df_dataset_get");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "value 510 at (6, 0) is outside 0..255"));
    df_dataset_free(d);
    ck_assert_ok(df_options_set_str(o, DF_PARAM_DATASET_SPLIT, "val"));
    d = open_layout(o, 2, "2_10_3.mat");
    ck_assert_fails_with(df_dataset_get(d, 0, &image, NULL), DF_E_FORMAT, "df_dataset_get");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "not a MATLAB level-5 .mat file"));
    df_dataset_free(d);
    ck_assert_ok(df_options_set_str(o, DF_PARAM_DATASET_SPLIT, "all"));
    ck_assert_fails_with(df_dataset_open(root, NULL, o, &d), DF_E_INVALID_ARG, "df_dataset_open");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "all.txt"));
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "STEGO's potsdam download"));
    ck_assert_ok(df_options_set_str(o, DF_PARAM_DATASET_SPLIT, "trainval"));
    ck_assert_fails_with(df_dataset_open(root, NULL, o, &d), DF_E_INVALID_ARG, "df_dataset_open");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "unlabelled_train or all"));
    df_options_free(o);
    remove_root();
}
END_TEST

/* SUIM as its archives unpack: train_val/ and TEST/, JPEG images, BMP masks of SUIM's colours.
 * test/reference/make_bmp_fixtures.py wrote the masks (7 x 5, pixel i coloured COLOURS[i % 10]) in
 * every stored form: 24-bit rows padded to four bytes, 8-bit and 4-bit palettes, 32-bit with
 * bit-field masks, top-down rows. Classes by hand from SUIM's codes (red 4, green 2, blue 1):
 * water 000 -> 5, divers 001 -> 0, plants 010 -> 5, wrecks 011 -> 4, robots 100 -> 1, reefs
 * 101 -> 3, fish 110 -> 2, sea floor 111 -> 5, (250, 3, 130) -> reefs 3, (127, 128, 200) -> wrecks
 * 4 (127 is below the middle, 128 above). */
START_TEST(test_suim_replica) {
    make_root();
    const char *folders[] = {"SUIM", "SUIM/TEST", "SUIM/TEST/images", "SUIM/TEST/masks", "SUIM/train_val",
                             "SUIM/train_val/images", "SUIM/train_val/masks"};
    for (int i = 0; i < 7; i++) make_folder(folders[i]);
    const char *stored[] = {"rgb24", "palette8", "top_down4", "bitfields32", "rgba32"};
    for (int i = 0; i < 5; i++) {
        char image[96], mask[96], fixture[96];
        snprintf(image, sizeof image, "SUIM/TEST/images/d_r_%d_.jpg", i);
        snprintf(mask, sizeof mask, "SUIM/TEST/masks/d_r_%d_.bmp", i);
        snprintf(fixture, sizeof fixture, "fixtures/bmp/%s.bmp", stored[i]);
        copy_file("fixtures/images/baseline.jpg", image);
        copy_file(fixture, mask);
    }
    copy_file("fixtures/images/baseline.jpg", "SUIM/train_val/images/f_r_1_.jpg");
    copy_file("fixtures/bmp/rgb24.bmp", "SUIM/train_val/masks/f_r_1_.bmp");
    const uint8_t classes[10] = {5, 0, 5, 4, 1, 3, 2, 5, 3, 4};
    df_options *o = layout_options(DF_DATASET_LAYOUT_SUIM, "val");
    df_dataset *d = open_layout(o, 5, "d_r_0_.jpg");
    for (size_t i = 0; i < 5; i++) assert_labels(d, i, 7, 5, classes, 10);
    df_dataset_free(d);
    o = (df_options_free(o), layout_options(DF_DATASET_LAYOUT_SUIM, "train"));
    char base[128];
    snprintf(base, sizeof base, "%s/SUIM", root); /* the unpacked folder itself as the root */
    ck_assert_ok(df_dataset_open(base, NULL, o, &d));
    assert_labels(d, 0, 7, 5, classes, 10);
    df_dataset_free(d);
    /* a run-length-encoded mask, a truncated one, a mask that is no bitmap, a missing one */
    df_image *image, *labels;
    const char *broken[] = {"fixtures/bmp/rle8.bmp", "fixtures/bmp/truncated.bmp", "fixtures/images/baseline.jpg"};
    const df_status why[] = {DF_E_UNSUPPORTED, DF_E_FORMAT, DF_E_FORMAT};
    const char *said[] = {"8-bit bitmap with compression 1", "truncated", "not a Windows bitmap"};
    for (int i = 0; i < 3; i++) {
        copy_file(broken[i], "SUIM/train_val/masks/f_r_1_.bmp");
        d = open_layout(o, 1, "f_r_1_.jpg");
        ck_assert_fails_with(df_dataset_get(d, 0, &image, &labels), why[i], "df_dataset_get");
        ck_assert_ptr_nonnull(strstr(df_last_error_message(), said[i]));
        ck_assert_ptr_nonnull(strstr(df_last_error_message(), "f_r_1_.bmp"));
        ck_assert_ok(df_dataset_get(d, 0, &image, NULL)); /* the image alone still reads */
        df_image_free(image);
        df_dataset_free(d);
    }
    copy_file("fixtures/images/baseline.jpg", "SUIM/train_val/images/f_r_0_.jpg"); /* predicted, not scored */
    d = open_layout(o, 2, "f_r_0_.jpg");
    ck_assert_int_ne(df_dataset_get(d, 0, &image, &labels), DF_OK);
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "train_val/masks/f_r_0_.bmp"));
    df_dataset_free(d);
    df_options_free(o);
    remove_root();
}
END_TEST

/* Item item's boxes, which must be want (count of them). */
static void assert_boxes(const df_dataset *d, size_t item, const int32_t *want, size_t count) {
    int32_t boxes[16];
    size_t found;
    ck_assert_ok(df_dataset_boxes(d, item, NULL, 0, &found));
    ck_assert_uint_eq(found, count);
    ck_assert_ok(df_dataset_boxes(d, item, boxes, 4, &found));
    if (count) ck_assert_mem_eq(boxes, want, count * 4 * sizeof *want);
}

/* COCO-20k as TokenCut reads it: the list's images, boxes from the instances JSON
 * (fixtures/coco/instances.json, the fuzzer's seed too) without the crowds, [x, y, x + w, y + h] rounded half to even as Python's round (10.5 -> 10, 2.5 -> 2,
 * 0.5 -> 0, 1.5 -> 2, 3.5 -> 4), segmentations (polygons, RLE) and escaped strings skipped. */
START_TEST(test_coco20k_replica) {
    make_root();
    const char *folders[] = {"images", "images/train2014", "annotations"};
    for (int i = 0; i < 3; i++) make_folder(folders[i]);
    copy_file("fixtures/images/baseline.jpg", "images/train2014/COCO_train2014_000000000009.jpg");
    copy_file("fixtures/images/baseline.jpg", "images/train2014/COCO_train2014_000000000025.jpg");
    write_text("coco_20k_filenames.txt", "train2014/COCO_train2014_000000000025.jpg\ntrain2014/COCO_train2014_000000000009.jpg\n");
    copy_file("fixtures/coco/instances.json", "annotations/instances_train2014.json");
    df_options *o = layout_options(DF_DATASET_LAYOUT_COCO20K, "val");
    df_dataset *d = open_layout(o, 2, "train2014/COCO_train2014_000000000025.jpg");
    const int32_t of25[4] = {1, 2, 4, 6}, of9[8] = {10, 2, 30, 6, 0, 2, 2, 4};
    assert_boxes(d, 0, of25, 1);
    assert_boxes(d, 1, of9, 2);
    int32_t one[4];
    size_t count;
    ck_assert_fails_with(df_dataset_boxes(d, 1, one, 1, &count), DF_E_INVALID_ARG, "df_dataset_boxes");
    df_image *image, *labels = NULL;
    ck_assert_ok(df_dataset_get(d, 0, &image, &labels));
    ck_assert_ptr_null(labels);
    df_image_free(image);
    df_dataset_free(d);
    /* a broken image left out takes its boxes along */
    write_text("images/train2014/COCO_train2014_000000000025.jpg", "not a JPEG");
    ck_assert_ok(df_options_set_int(o, DF_PARAM_DATASET_SKIP_BROKEN, 1));
    d = open_layout(o, 1, "train2014/COCO_train2014_000000000009.jpg");
    assert_boxes(d, 0, of9, 2);
    df_dataset_free(d);
    ck_assert_ok(df_options_set_int(o, DF_PARAM_DATASET_SKIP_BROKEN, 0));
    /* TokenCut's selection is preferred to the whole file */
    write_text("instances_train2014_sel20k.json", "{\"annotations\": [{\"image_id\": 25, \"bbox\": [2, 2, 2, 2]}]}");
    d = open_layout(o, 2, "train2014/COCO_train2014_000000000025.jpg");
    const int32_t selected[4] = {2, 2, 4, 4};
    assert_boxes(d, 0, selected, 1);
    assert_boxes(d, 1, NULL, 0);
    df_dataset_free(d);
    /* malformed JSON, a name without an id, no annotations at all */
    write_text("instances_train2014_sel20k.json", "{\"annotations\": [{\"image_id\": 25, \"bbox\": [2, 2]}]}");
    ck_assert_fails_with(df_dataset_open(root, NULL, o, &d), DF_E_FORMAT, "df_dataset_open");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "instances_train2014_sel20k.json: a malformed annotation"));
    write_text("instances_train2014_sel20k.json", "{\"annotations\": [{\"image_id\": 25, \"bbox\": [1e300, 2, 2, 2]}]}");
    ck_assert_fails_with(df_dataset_open(root, NULL, o, &d), DF_E_FORMAT, "df_dataset_open");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "a malformed annotation"));
    write_text("instances_train2014_sel20k.json", "[]");
    ck_assert_fails_with(df_dataset_open(root, NULL, o, &d), DF_E_FORMAT, "df_dataset_open");
    char path[128];
    snprintf(path, sizeof path, "%s/instances_train2014_sel20k.json", root);
    ck_assert_int_eq(remove(path), 0);
    snprintf(path, sizeof path, "%s/annotations/instances_train2014.json", root);
    ck_assert_int_eq(remove(path), 0);
    ck_assert_fails_with(df_dataset_open(root, NULL, o, &d), DF_E_INVALID_ARG, "df_dataset_open");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "annotations_trainval2014.zip"));
    write_text("coco_20k_filenames.txt", "train2014/no_id_here.jpg\n");
    copy_file("fixtures/images/baseline.jpg", "images/train2014/no_id_here.jpg");
    ck_assert_fails_with(df_dataset_open(root, NULL, o, &d), DF_E_INVALID_ARG, "df_dataset_open");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "no COCO image id in its name"));
    df_options_free(o);
    remove_root();
}
END_TEST

/* CUB-200-2011 as its archives unpack: the split from train_test_split.txt in images.txt's order,
 * masks as stored from segmentations/ beside CUB_200_2011/ or, when there, inside it. */
START_TEST(test_cub_replica) {
    make_root();
    const char *folders[] = {"CUB_200_2011", "CUB_200_2011/images", "CUB_200_2011/images/001.Albatross",
                             "segmentations", "segmentations/001.Albatross"};
    for (int i = 0; i < 5; i++) make_folder(folders[i]);
    copy_file("fixtures/images/baseline.jpg", "CUB_200_2011/images/001.Albatross/b_2.jpg");
    copy_file("fixtures/images/baseline.jpg", "CUB_200_2011/images/001.Albatross/a_1.jpg");
    size_t w, h;
    photo_size(&w, &h);
    const uint8_t soft[4] = {0, 100, 200, 255}, other[2] = {7, 9};
    write_labels("segmentations/001.Albatross/b_2.png", w, h, soft, 4);
    write_labels("segmentations/001.Albatross/a_1.png", w, h, soft + 1, 3);
    write_text("CUB_200_2011/images.txt", "1 001.Albatross/b_2.jpg\n2 001.Albatross/a_1.jpg\n");
    write_text("CUB_200_2011/train_test_split.txt", "1 1\n2 0\n");
    df_options *o = layout_options(DF_DATASET_LAYOUT_CUB, "train");
    df_dataset *d = open_layout(o, 1, "001.Albatross/b_2.jpg");
    assert_labels(d, 0, w, h, soft, 4);
    df_dataset_free(d);
    ck_assert_ok(df_options_set_str(o, DF_PARAM_DATASET_SPLIT, "val"));
    d = open_layout(o, 1, "001.Albatross/a_1.jpg");
    assert_labels(d, 0, w, h, soft + 1, 3);
    df_dataset_free(d);
    /* the masks inside CUB_200_2011/, as HR-Dv2's scripts place them, win; the folder itself as root */
    make_folder("CUB_200_2011/segmentations");
    make_folder("CUB_200_2011/segmentations/001.Albatross");
    write_labels("CUB_200_2011/segmentations/001.Albatross/a_1.png", w, h, other, 2);
    char base[128];
    snprintf(base, sizeof base, "%s/CUB_200_2011", root);
    ck_assert_ok(df_dataset_open(base, NULL, o, &d));
    assert_labels(d, 0, w, h, other, 2);
    df_dataset_free(d);
    /* an image the split does not name; no split file */
    write_text("CUB_200_2011/images.txt", "1 001.Albatross/b_2.jpg\n3 001.Albatross/a_1.jpg\n");
    ck_assert_fails_with(df_dataset_open(root, NULL, o, &d), DF_E_FORMAT, "df_dataset_open");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "image 3 has no line in"));
    char path[160];
    snprintf(path, sizeof path, "%s/CUB_200_2011/train_test_split.txt", root);
    ck_assert_int_eq(remove(path), 0);
    ck_assert_fails_with(df_dataset_open(root, NULL, o, &d), DF_E_INVALID_ARG, "df_dataset_open");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "CUB_200_2011.tgz"));
    df_options_free(o);
    remove_root();
}
END_TEST

Suite *layouts_suite(void) {
    Suite *suite = suite_create("layouts");
    TCase *tc = tcase_create("layouts");
    tcase_add_test(tc, test_cocostuff27_replica);
    tcase_add_test(tc, test_cityscapes27_replica);
    tcase_add_test(tc, test_saliency_set_replicas);
    tcase_add_test(tc, test_voc_replica);
    tcase_add_test(tc, test_coco_supercategory_replicas);
    tcase_add_test(tc, test_cocostuff171_and_ade20k_replicas);
    tcase_add_test(tc, test_potsdam_replica);
    tcase_add_test(tc, test_coco20k_replica);
    tcase_add_test(tc, test_cub_replica);
    tcase_add_test(tc, test_suim_replica);
    suite_add_tcase(suite, tc);
    return suite;
}
