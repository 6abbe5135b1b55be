/* Datasets as they are distributed: which images a split holds, where their labels are, and the
 * classes the papers score them on. Each layout follows the official evaluation's loader (STEGO's
 * src/data.py for COCO-Stuff-27 and Cityscapes-27), so a mIoU computed here is the paper's; the
 * saliency sets are their archives' folders, masks as stored. */
#include "dataset_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* COCO-Stuff 164k's 182 classes (stuffthingmaps: 0..90 things, 91..181 stuff) to the 27 coarse
 * classes of STEGO's Coco loader; 255 (unlabelled) and values no class has are not scored. */
static const uint8_t cocostuff_coarse_of_fine[182] = {
    9,  11, 11, 11, 11, 11, 11, 11, 11, 8,  8,  8,  8,  8,  8,  7,  7,  7,  7,  7,  7,  7,  7,  7,  7,  6,
    6,  6,  6,  6,  6,  6,  6,  10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 5,  5,  5,  5,  5,  5,  5,  5,  2,
    2,  2,  2,  2,  2,  2,  2,  2,  2,  3,  3,  3,  3,  3,  3,  3,  3,  3,  3,  0,  0,  0,  0,  0,  0,  1,
    1,  1,  1,  1,  1,  4,  4,  4,  4,  4,  4,  4,  4,  17, 17, 22, 20, 20, 22, 15, 25, 16, 13, 12, 12, 17,
    17, 23, 15, 15, 17, 15, 21, 15, 25, 13, 13, 13, 13, 13, 22, 26, 14, 14, 15, 22, 21, 21, 24, 20, 22, 15,
    17, 16, 15, 22, 24, 21, 17, 25, 16, 21, 17, 22, 16, 21, 21, 25, 21, 26, 21, 24, 20, 17, 14, 21, 26, 15,
    23, 20, 21, 24, 15, 24, 22, 25, 15, 20, 17, 17, 22, 14, 18, 18, 18, 18, 18, 18, 18, 26, 26, 19, 19, 24};

/* STEGO's coarse classes are IIC's order of COCO's supercategories (things 0..11: electronic,
 * appliance, food, furniture, indoor, kitchen, accessory, animal, outdoor, person, sports, vehicle;
 * stuff 12..26: ceiling, floor, food, furniture, raw material, textile, wall, window, building,
 * ground, plant, sky, solid, structural, water). Leopart's and NeCo's loaders number the
 * supercategories in alphabetical order instead. */
static const uint8_t sorted_thing_of_coarse[12] = {3, 2, 4, 5, 6, 7, 0, 1, 8, 9, 10, 11};
static const uint8_t sorted_stuff_of_coarse[15] = {1, 2, 3, 4, 7, 11, 12, 14, 0, 5, 6, 8, 9, 10, 13};

/* Ids 1..90 that no COCO thing category has (their masks never hold them; the official loader
 * ignores any id its category list lacks). */
static int unused_thing_id(int id) {
    static const int unused[] = {12, 26, 29, 30, 45, 66, 68, 69, 71, 83};
    for (size_t i = 0; i < sizeof unused / sizeof unused[0]; i++)
        if (unused[i] == id) return 1;
    return 0;
}

static uint8_t cocostuff27_map[256], cityscapes27_map[256], potsdam_map[256], potsdam3_map[256], cocothings_map[256],
    cocostuff15_map[256], cocostuff171_map[256], ade20k_map[256], suim_map[256];

/* The label maps, filled once (pthread_once in dfi_layout_open). */
static void fill_maps(void) {
    for (int v = 0; v < 256; v++) {
        cocostuff27_map[v] = v < 182 ? cocostuff_coarse_of_fine[v] : 255;
        /* labelIds 0..6 are void (unlabeled, ego vehicle, rectification border, out of roi,
           static, dynamic, ground): STEGO's loader subtracts 7 and ignores what falls below 0 */
        cityscapes27_map[v] = v >= 7 && v <= 33 ? (uint8_t)(v - 7) : 255;
        /* Potsdam's six classes (roads, buildings, low vegetation, trees, cars, clutter) and
           STEGO's three: roads and cars, buildings and clutter, vegetation and trees */
        static const uint8_t three[6] = {0, 1, 2, 2, 0, 1};
        potsdam_map[v] = v < 6 ? (uint8_t)v : 255;
        potsdam3_map[v] = v < 6 ? three[v] : 255;
        /* category id v is fine class v - 1 of the stuffthingmaps */
        cocothings_map[v] = v >= 1 && v <= 90 && !unused_thing_id(v) ? sorted_thing_of_coarse[cocostuff_coarse_of_fine[v - 1]] : 255;
        cocostuff15_map[v] = v >= 92 && v <= 182 ? sorted_stuff_of_coarse[cocostuff_coarse_of_fine[v - 1] - 12] : 255;
        /* ADE20K's 0 is "other", not a class (MMSegmentation's reduce_zero_label) */
        ade20k_map[v] = v >= 1 && v <= 150 ? (uint8_t)(v - 1) : 255;
    }
    /* SUIM's colour codes (red 4, green 2, blue 1): divers 001, robots 100, fish 110, reefs 101,
       wrecks 011 in the order of DatUS²'s reader; water 000, plants 010 and sea floor 111 are
       one class, as SUIM's benchmark merges them */
    static const uint8_t suim[8] = {5, 0, 5, 4, 1, 3, 2, 5};
    for (int v = 0; v < 256; v++) suim_map[v] = v < 8 ? suim[v] : 255;
    /* the stuffthingmaps' values 0..181 without those of the unused thing ids (and 90, id 91) */
    for (int v = 0, next = 0; v < 256; v++)
        cocostuff171_map[v] = v < 182 && !unused_thing_id(v + 1) && v != 90 ? (uint8_t)next++ : 255;
}

static char *joined(const char *a, const char *b, const char *c) {
    const size_t n = strlen(a) + strlen(b) + (c ? strlen(c) : 0) + 3;
    char *out = malloc(n);
    if (out) snprintf(out, n, "%s/%s%s%s", a, b, c ? "/" : "", c ? c : "");
    return out;
}

static df_status keep_name(dfi_layout *l, size_t *capacity, char *name) {
    if (name == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    if (l->count == *capacity) {
        *capacity = *capacity ? 2 * *capacity : 256;
        char **grown = realloc(l->names, *capacity * sizeof *grown);
        if (grown == NULL) {
            free(name);
            return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
        }
        l->names = grown;
    }
    l->names[l->count++] = name;
    return DF_OK;
}

/* The names a list file gives (one a line, blank lines skipped, surrounding blanks dropped),
 * prefix/ before each and extension after one that has none. `origin` says where the layout's
 * own list comes from, for the error when it is missing. */
static df_status read_list(const char *path, const char *prefix, const char *extension, const char *origin,
                           dfi_layout *l) {
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return dfi_error(DF_E_INVALID_ARG, "%s: %s (%s; another list with dataset.list)", path, strerror(errno), origin);
    char line[4096];
    size_t capacity = 0;
    df_status status = DF_OK;
    while (status == DF_OK && fgets(line, sizeof line, f)) {
        char *start = line, *end = line + strlen(line);
        while (*start == ' ' || *start == '\t') start++;
        while (end > start && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t')) *--end = '\0';
        if (*start == '\0') continue;
        const char *slash = strrchr(start, '/'), *dot = strrchr(start, '.');
        const int has_extension = dot && (!slash || dot > slash);
        const size_t n = strlen(prefix) + strlen(start) + strlen(extension) + 2;
        char *name = malloc(n);
        if (name) snprintf(name, n, "%s%s%s%s", prefix, *prefix ? "/" : "", start, has_extension ? "" : extension);
        status = keep_name(l, &capacity, name);
    }
    if (status == DF_OK && ferror(f)) status = dfi_error(DF_E_IO, "%s: read error", path);
    fclose(f);
    if (status == DF_OK && l->count == 0) status = dfi_error(DF_E_INVALID_ARG, "%s lists no image", path);
    return status;
}

/* Every listed image must be there: a split with holes would score a different set. */
static df_status check_images(const dfi_layout *l) {
    for (size_t i = 0; i < l->count; i++) {
        char *path = joined(l->images, l->names[i], NULL);
        const int missing = path == NULL || access(path, R_OK) != 0;
        df_status status = path == NULL ? dfi_error(DF_E_OUT_OF_MEMORY, "out of memory")
                           : missing    ? dfi_error(DF_E_INVALID_ARG, "%s: listed but absent", path)
                                        : DF_OK;
        free(path);
        if (status != DF_OK) return status;
    }
    return DF_OK;
}

/* The list's images, or every image under l->images (sorted); where the folder is missing or
 * empty, the error says how the dataset's archive unpacks (hint). */
static df_status list_folder(dfi_layout *l, const char *list, const char *hint) {
    if (*list) return read_list(list, "", ".jpg", "dataset.list", l);
    df_status status = dfi_list_images(l->images, &l->names, &l->count);
    char reason[512]; /* the message is rewritten from itself */
    snprintf(reason, sizeof reason, "%s", status == DF_OK ? "" : df_last_error_message());
    if (status != DF_OK) return dfi_error(status, "%s (%s)", reason, hint);
    if (l->count == 0) return dfi_error(DF_E_INVALID_ARG, "%s holds no image (%s)", l->images, hint);
    return DF_OK;
}

static df_status open_cocostuff27(const char *root, const char *split, const char *list, dfi_layout *l) {
    char folder[32];
    snprintf(folder, sizeof folder, "%s2017", split);
    l->images = joined(root, "images", NULL);
    l->labels = joined(root, "annotations", NULL);
    l->label_map = cocostuff27_map;
    /* STEGO evaluates on the curated list of 7 (IIC's), and trains on the full coarse list */
    const char *own = strcmp(split, "val") == 0 ? "Coco164kFull_Stuff_Coarse_7.txt" : "Coco164kFull_Stuff_Coarse.txt";
    char *curated = *list ? NULL : joined(root, "curated", folder);
    char *path = *list ? strdup(list) : curated ? joined(curated, own, NULL) : NULL;
    df_status status = l->images && l->labels && path ? DF_OK : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    if (status == DF_OK)
        status = read_list(path, folder, ".jpg", *list ? "dataset.list" : "the curated lists come with STEGO's cocostuff download", l);
    free(curated);
    free(path);
    return status;
}

static df_status open_cityscapes27(const char *root, const char *split, const char *list, dfi_layout *l) {
    l->images = joined(root, "leftImg8bit", split);
    l->labels = joined(root, "gtFine", split);
    l->label_from = "_leftImg8bit";
    l->label_to = "_gtFine_labelIds";
    l->label_map = cityscapes27_map;
    if (l->images == NULL || l->labels == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    if (*list) return read_list(list, "", ".png", "dataset.list", l);
    char **all = NULL;
    size_t count = 0, capacity = 0;
    df_status status = dfi_list_images(l->images, &all, &count);
    if (status != DF_OK) {
        char reason[512]; /* the message is rewritten from itself */
        snprintf(reason, sizeof reason, "%s", df_last_error_message());
        return dfi_error(status, "%s (leftImg8bit_trainvaltest.zip unpacked at the root)", reason);
    }
    for (size_t i = 0; status == DF_OK && i < count; i++) {
        const size_t n = strlen(all[i]);
        if (n > 16 && strcmp(all[i] + n - 16, "_leftImg8bit.png") == 0) status = keep_name(l, &capacity, all[i]), all[i] = NULL;
    }
    dfi_free_names(all, count);
    if (status == DF_OK && l->count == 0) status = dfi_error(DF_E_INVALID_ARG, "%s holds no *_leftImg8bit.png", l->images);
    return status;
}

/* COCO with every image of images/SPLIT2017: the supercategories as classes (Leopart's and NeCo's
 * COCO-Things and COCO-Stuff), or COCO-Stuff's 171 classes. */
static df_status open_coco_folder(const char *root, const char *split, const char *list, int64_t layout,
                                  dfi_layout *l) {
    char folder[64], masks[128];
    snprintf(folder, sizeof folder, "%s2017", split);
    snprintf(masks, sizeof masks,
             layout == DF_DATASET_LAYOUT_COCOSTUFF15 ? "annotations/stuff_annotations/stuff_%s2017_pixelmaps"
                                                    : "annotations/%s2017",
             split);
    l->images = joined(root, "images", folder);
    l->labels = joined(root, masks, NULL);
    l->label_map = layout == DF_DATASET_LAYOUT_COCOTHINGS ? cocothings_map
                   : layout == DF_DATASET_LAYOUT_COCOSTUFF15 ? cocostuff15_map
                                                             : cocostuff171_map;
    if (l->images == NULL || l->labels == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    char hint[64];
    snprintf(hint, sizeof hint, "COCO's %s2017.zip unpacked under images/", split);
    return list_folder(l, list, hint);
}

/* ADE20K's scene-parsing release: ROOT/ADEChallengeData2016 or ROOT, images/ and annotations/
 * with training/ and validation/ folders; every image of the split's folder. */
static df_status open_ade20k(const char *root, const char *split, const char *list, dfi_layout *l) {
    char *nested = joined(root, "ADEChallengeData2016", NULL);
    char *base = nested && access(nested, F_OK) == 0 ? nested : strdup(root);
    if (base != nested) free(nested);
    const char *folder = strcmp(split, "train") == 0 ? "training" : "validation";
    l->images = base ? joined(base, "images", folder) : NULL;
    l->labels = base ? joined(base, "annotations", folder) : NULL;
    l->label_map = ade20k_map;
    free(base);
    if (l->images == NULL || l->labels == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    return list_folder(l, list, "ADEChallengeData2016.zip unpacked at the root");
}

/* SUIM as its two archives unpack (train_val.zip, TEST.zip): ROOT/SUIM/ or ROOT holding
 * train_val/ and TEST/, each with images/NAME.jpg and masks/NAME.bmp. */
static df_status open_suim(const char *root, const char *split, const char *list, dfi_layout *l) {
    char *nested = joined(root, "SUIM", NULL);
    char *base = nested && access(nested, F_OK) == 0 ? nested : strdup(root);
    if (base != nested) free(nested);
    const char *folder = strcmp(split, "train") == 0 ? "train_val" : "TEST";
    l->images = base ? joined(base, folder, "images") : NULL;
    l->labels = base ? joined(base, folder, "masks") : NULL;
    l->label_extension = ".bmp";
    l->label_colours = 1;
    l->label_map = suim_map;
    free(base);
    if (l->images == NULL || l->labels == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    char hint[64];
    snprintf(hint, sizeof hint, "SUIM's %s.zip unpacked at the root", folder);
    return list_folder(l, list, hint);
}

/* A saliency test set: the images of one folder (sorted, or as the list says), each mask the
 * same stem as .png in another; masks as stored. */
static df_status open_masks(const char *root, const char *images, const char *masks, const char *list, dfi_layout *l) {
    l->images = joined(root, images, NULL);
    if (l->images && access(l->images, F_OK) != 0) {
        /* TokenCut's download scripts rename the archives' folders img/ and gt/ */
        char *renamed = joined(root, "img", NULL);
        if (renamed && access(renamed, F_OK) == 0) free(l->images), l->images = renamed, renamed = NULL, masks = "gt";
        free(renamed);
    }
    l->labels = joined(root, masks, NULL);
    if (l->images == NULL || l->labels == NULL) return dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    char hint[128];
    snprintf(hint, sizeof hint,
             "the archive unpacked at the root: %s/ and %s/, or img/ and gt/ as TokenCut's scripts name them", images,
             masks);
    return list_folder(l, list, hint);
}

/* LOST's remove_hards: every listed image's boxes read now without the difficult and truncated
 * objects; the images left without one are dropped. */
static df_status keep_easy_boxes(dfi_layout *l) {
    size_t *offsets = malloc((l->count + 1) * sizeof *offsets), total = 0, capacity = 0, kept = 0;
    int32_t *values = NULL;
    df_status status = offsets ? DF_OK : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    size_t i = 0;
    for (; status == DF_OK && i < l->count; i++) {
        const char *dot = strrchr(l->names[i], '.');
        const int stem = (int)(dot ? (size_t)(dot - l->names[i]) : strlen(l->names[i]));
        const size_t length = strlen(l->boxes) + (size_t)stem + 6;
        char *path = malloc(length);
        size_t n = 0;
        if (path) snprintf(path, length, "%s/%.*s.xml", l->boxes, stem, l->names[i]);
        status = path ? dfi_voc_easy_boxes(path, NULL, 0, &n) : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
        if (status == DF_OK && total + n > capacity) {
            capacity = 2 * (total + n) + 64;
            int32_t *grown = realloc(values, capacity * 4 * sizeof *values);
            if (grown == NULL) status = dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
            else values = grown;
        }
        if (status == DF_OK && n) status = dfi_voc_easy_boxes(path, values + 4 * total, n, &n);
        free(path);
        if (status != DF_OK) break; /* names[i..] untouched */
        if (n == 0) {
            free(l->names[i]);
            continue;
        }
        l->names[kept] = l->names[i];
        offsets[kept++] = total;
        total += n;
    }
    if (status == DF_OK && kept == 0)
        status = dfi_error(DF_E_INVALID_ARG, "dataset.remove_hards: no image of the split has an object that is "
                                             "neither difficult nor truncated");
    if (status != DF_OK) {
        /* the names kept and those not reached stay, for the caller to free */
        memmove(l->names + kept, l->names + i, (l->count - i) * sizeof *l->names);
        l->count = kept + (l->count - i);
        free(offsets), free(values);
        return status;
    }
    offsets[kept] = total;
    l->count = kept;
    l->box_values = values, l->box_offsets = offsets;
    return DF_OK;
}

/* PASCAL VOC of year under root: ROOT/VOCdevkit/VOCyear when it is there, else ROOT itself. */
static df_status open_voc(const char *root, const char *year, const char *split, const char *list, dfi_layout *l) {
    char devkit[32];
    snprintf(devkit, sizeof devkit, "VOCdevkit/VOC%s", year);
    char *nested = joined(root, devkit, NULL);
    char *base = nested && access(nested, F_OK) == 0 ? nested : strdup(root);
    if (base != nested) free(nested);
    l->images = base ? joined(base, "JPEGImages", NULL) : NULL;
    /* the SBD-augmented training set (trainaug, train_aug) has its masks in SegmentationClassAug */
    l->labels = base ? joined(base, strstr(split, "aug") ? "SegmentationClassAug" : "SegmentationClass", NULL) : NULL;
    l->boxes = base ? joined(base, "Annotations", NULL) : NULL;
    /* "val" is ImageSets/Main/val.txt; "Segmentation/val" names another of ImageSets' lists */
    char file[320];
    snprintf(file, sizeof file, strchr(split, '/') ? "ImageSets/%s.txt" : "ImageSets/Main/%s.txt", split);
    char *own = base && !*list ? joined(base, file, NULL) : NULL;
    df_status status = l->images && l->labels && l->boxes && (*list || own) ? DF_OK : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    if (status == DF_OK)
        status = read_list(*list ? list : own, "", ".jpg", *list ? "dataset.list" : "VOCtrainval / VOCtest tar files", l);
    free(own);
    free(base);
    return status;
}

/* Potsdam as STEGO reads it (IIC's preprocessing): ROOT/potsdam/ or ROOT holding imgs/ID.mat
 * ("img", RGB + infrared), gt/ID.mat ("gt", 0..5) and the split lists labelled_train.txt (train),
 * labelled_test.txt (val), unlabelled_train.txt, all.txt. */
static df_status open_potsdam(const char *root, const char *split, const char *list, int three, dfi_layout *l) {
    char *nested = joined(root, "potsdam", NULL);
    char *base = nested && access(nested, F_OK) == 0 ? nested : strdup(root);
    if (base != nested) free(nested);
    const char *own = strcmp(split, "train") == 0 ? "labelled_train.txt" : strcmp(split, "val") == 0 ? "labelled_test.txt"
                                                                          : strcmp(split, "all") == 0 ? "all.txt"
                                                                                                     : "unlabelled_train.txt";
    l->images = base ? joined(base, "imgs", NULL) : NULL;
    l->labels = base ? joined(base, "gt", NULL) : NULL;
    l->label_extension = ".mat";
    l->label_map = three ? potsdam3_map : potsdam_map;
    char *path = base && !*list ? joined(base, own, NULL) : NULL;
    df_status status = l->images && l->labels && (*list || path) ? DF_OK : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    if (status == DF_OK)
        status = read_list(*list ? list : path, "", ".mat", *list ? "dataset.list" : "STEGO's potsdam download", l);
    free(path);
    free(base);
    return status;
}

/* COCO-20k as TokenCut (after LOST) reads it: the images of its list (TokenCut's
 * datasets/coco_20k_filenames.txt, "train2014/COCO_train2014_ID.jpg" a line; ROOT/ or
 * dataset.list) under ROOT/images/ (TokenCut's download script) or ROOT/ (train2014.zip
 * unpacked), their boxes from ROOT/instances_train2014_sel20k.json (TokenCut's selection) or
 * else ROOT/annotations/instances_train2014.json. */
static df_status open_coco20k(const char *root, const char *list, dfi_layout *l) {
    char *nested = joined(root, "images", "train2014");
    const int under_images = nested && access(nested, F_OK) == 0;
    free(nested);
    l->images = under_images ? joined(root, "images", NULL) : strdup(root);
    char *own = *list ? NULL : joined(root, "coco_20k_filenames.txt", NULL);
    char *selection = joined(root, "instances_train2014_sel20k.json", NULL);
    char *annotations = selection && access(selection, F_OK) == 0 ? selection : joined(root, "annotations", "instances_train2014.json");
    if (annotations != selection) free(selection);
    df_status status = l->images && annotations && (*list || own) ? DF_OK : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    if (status == DF_OK)
        status = read_list(*list ? list : own, "", ".jpg", *list ? "dataset.list" : "TokenCut's datasets/coco_20k_filenames.txt", l);
    if (status == DF_OK) status = dfi_coco_boxes(annotations, l->names, l->count, &l->box_values, &l->box_offsets);
    free(own);
    free(annotations);
    return status;
}

/* CUB's split: the images of images.txt ("ID PATH") whose train_test_split.txt line ("ID FLAG")
 * has FLAG 1 (train) or 0 (val, CUB's test images), in images.txt's order. */
static df_status read_cub_split(const char *base, int train, dfi_layout *l) {
    char *paths[2] = {joined(base, "train_test_split.txt", NULL), joined(base, "images.txt", NULL)};
    FILE *files[2] = {paths[0] ? fopen(paths[0], "r") : NULL, paths[1] ? fopen(paths[1], "r") : NULL};
    df_status status = paths[0] && paths[1] ? DF_OK : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    for (int i = 0; status == DF_OK && i < 2; i++)
        if (files[i] == NULL)
            status = dfi_error(DF_E_INVALID_ARG, "%s: %s (CUB_200_2011.tgz, unpacked at the root, holds it)", paths[i],
                               strerror(errno));
    uint8_t *flags = NULL; /* per id: 0 none, 1 test, 2 train */
    size_t ids = 0, capacity = 0;
    long id;
    int flag;
    while (status == DF_OK && fscanf(files[0], "%ld %d", &id, &flag) == 2) {
        if (id < 0 || id > 10000000 || (flag != 0 && flag != 1)) {
            status = dfi_error(DF_E_FORMAT, "%s: a line that is no \"ID 0|1\"", paths[0]);
            break;
        }
        if ((size_t)id >= ids) {
            uint8_t *grown = realloc(flags, (size_t)id + 1);
            if (grown == NULL) status = dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
            else memset(grown + ids, 0, (size_t)id + 1 - ids), flags = grown, ids = (size_t)id + 1;
        }
        if (status == DF_OK) flags[id] = (uint8_t)(flag + 1);
    }
    char line[4096], path[4096];
    while (status == DF_OK && fgets(line, sizeof line, files[1])) {
        if (sscanf(line, "%ld %4095s", &id, path) != 2) continue;
        if (id < 0 || (size_t)id >= ids || flags[id] == 0)
            status = dfi_error(DF_E_FORMAT, "%s: image %ld has no line in %s", paths[1], id, paths[0]);
        else if (flags[id] == (train ? 2 : 1))
            status = keep_name(l, &capacity, strdup(path));
    }
    if (status == DF_OK && l->count == 0) status = dfi_error(DF_E_INVALID_ARG, "%s lists no image of the split", paths[1]);
    for (int i = 0; i < 2; i++) {
        if (files[i]) fclose(files[i]);
        free(paths[i]);
    }
    free(flags);
    return status;
}

/* CUB-200-2011 as its archives unpack: ROOT/CUB_200_2011/ (or ROOT itself) holding images.txt
 * ("ID PATH"), train_test_split.txt ("ID 1" for training images) and images/PATH, the masks of
 * segmentations.tgz at segmentations/PATH with .png inside that folder (where HR-Dv2's scripts
 * put them) or beside it. */
static df_status open_cub(const char *root, const char *split, const char *list, dfi_layout *l) {
    char *nested = joined(root, "CUB_200_2011", NULL);
    char *base = nested && access(nested, F_OK) == 0 ? nested : strdup(root);
    if (base != nested) free(nested);
    char *inside = base ? joined(base, "segmentations", NULL) : NULL, *beside = joined(root, "segmentations", NULL);
    l->images = base ? joined(base, "images", NULL) : NULL;
    l->labels = inside && access(inside, F_OK) != 0 && beside && access(beside, F_OK) == 0 ? beside : inside;
    if (l->labels == inside) free(beside);
    else free(inside);
    df_status status = l->images && l->labels ? DF_OK : dfi_error(DF_E_OUT_OF_MEMORY, "out of memory");
    if (status == DF_OK && *list) status = read_list(list, "", ".jpg", "dataset.list", l);
    else if (status == DF_OK) status = read_cub_split(base, strcmp(split, "train") == 0, l);
    free(base);
    return status;
}

/* A VOC split naming one of ImageSets' lists by folder and name (Segmentation/val): no way up. */
static int voc_list(const char *split) {
    const char *slash = strchr(split, '/');
    return slash && slash != split && slash[1] && strchr(slash + 1, '/') == NULL && strstr(split, "..") == NULL;
}

df_status dfi_layout_open(const char *root, const df_options *options, dfi_layout *out) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, fill_maps);
    memset(out, 0, sizeof *out);
    const int64_t layout = dfi_option_int(options, DF_PARAM_DATASET_LAYOUT);
    const char *split = dfi_option_str(options, DF_PARAM_DATASET_SPLIT), *list = dfi_option_str(options, DF_PARAM_DATASET_LIST);
    const int voc = layout == DF_DATASET_LAYOUT_VOC07 || layout == DF_DATASET_LAYOUT_VOC12,
              potsdam = layout == DF_DATASET_LAYOUT_POTSDAM || layout == DF_DATASET_LAYOUT_POTSDAM3;
    if (strcmp(split, "train") != 0 && strcmp(split, "val") != 0 &&
        !(voc && (strcmp(split, "trainval") == 0 || strcmp(split, "test") == 0 || voc_list(split))) &&
        !(potsdam && (strcmp(split, "unlabelled_train") == 0 || strcmp(split, "all") == 0)))
        return dfi_error(DF_E_INVALID_ARG, "dataset.split '%s': train or val%s", split,
                         voc ? ", trainval, test or a list under ImageSets (Segmentation/val)" : potsdam ? ", unlabelled_train or all" : "");
    df_status status;
    switch (layout) {
    case DF_DATASET_LAYOUT_COCOSTUFF27: status = open_cocostuff27(root, split, list, out); break;
    case DF_DATASET_LAYOUT_CITYSCAPES27: status = open_cityscapes27(root, split, list, out); break;
    case DF_DATASET_LAYOUT_ECSSD: status = open_masks(root, "images", "ground_truth_mask", list, out); break;
    case DF_DATASET_LAYOUT_DUTS_TE: status = open_masks(root, "DUTS-TE-Image", "DUTS-TE-Mask", list, out); break;
    case DF_DATASET_LAYOUT_DUT_OMRON: status = open_masks(root, "DUT-OMRON-image", "pixelwiseGT-new-PNG", list, out); break;
    case DF_DATASET_LAYOUT_VOC07: status = open_voc(root, "2007", split, list, out); break;
    case DF_DATASET_LAYOUT_VOC12: status = open_voc(root, "2012", split, list, out); break;
    case DF_DATASET_LAYOUT_POTSDAM: status = open_potsdam(root, split, list, 0, out); break;
    case DF_DATASET_LAYOUT_POTSDAM3: status = open_potsdam(root, split, list, 1, out); break;
    case DF_DATASET_LAYOUT_COCO20K: status = open_coco20k(root, list, out); break;
    case DF_DATASET_LAYOUT_CUB: status = open_cub(root, split, list, out); break;
    case DF_DATASET_LAYOUT_COCOTHINGS:
    case DF_DATASET_LAYOUT_COCOSTUFF15:
    case DF_DATASET_LAYOUT_COCOSTUFF171: status = open_coco_folder(root, split, list, layout, out); break;
    case DF_DATASET_LAYOUT_ADE20K: status = open_ade20k(root, split, list, out); break;
    case DF_DATASET_LAYOUT_SUIM: status = open_suim(root, split, list, out); break;
    default: status = dfi_error(DF_E_INVALID_ARG, "dataset.layout %lld", (long long)layout);
    }
    if (status == DF_OK) status = check_images(out);
    if (status == DF_OK && voc && dfi_option_int(options, DF_PARAM_DATASET_REMOVE_HARDS)) status = keep_easy_boxes(out);
    if (status != DF_OK) {
        dfi_free_names(out->names, out->count);
        free(out->images), free(out->labels), free(out->boxes), free(out->box_values), free(out->box_offsets);
        memset(out, 0, sizeof *out);
    }
    return status;
}
