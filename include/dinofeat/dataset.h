/*
 * dinofeat datasets: an image folder (and optionally its label folder) as a sequence of items,
 * decoded, five-cropped and resized on worker threads ahead of the consumer, in an order that
 * depends only on the seed and the epoch, never on the threads.
 */
#ifndef DINOFEAT_DATASET_H
#define DINOFEAT_DATASET_H

#include "dinofeat/core.h"
#include "dinofeat/image.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct df_dataset df_dataset;

/* What df_dataset_open's images folder is (DF_PARAM_DATASET_LAYOUT). A distributed dataset is
 * opened at its root with labels NULL and DF_PARAM_DATASET_SPLIT; its items are the split's
 * images in list order (the layout's list, or DF_PARAM_DATASET_LIST), and df_dataset_get gives
 * their labels mapped to the evaluated classes, 255 (DF_IGNORE_LABEL) where a pixel is not scored.
 * A missing list or listed image is DF_E_INVALID_ARG naming it (and where the list comes from);
 * a missing label file fails only where labels are asked for, so a split can be predicted first. */
typedef enum df_dataset_layout {
    DF_DATASET_LAYOUT_FOLDER = 0,      /* any folder of PNG/JPEG images (labels: a parallel folder) */
    DF_DATASET_LAYOUT_COCOSTUFF27 = 1, /* COCO-Stuff-27 as STEGO evaluates it: ROOT/images/SPLIT2017/
                                          ID.jpg, ROOT/annotations/SPLIT2017/ID.png (COCO-Stuff 164k's
                                          stuffthingmaps: 0..181, 255 unlabelled) and ROOT/curated/
                                          SPLIT2017/ the lists (STEGO's download, from IIC): val
                                          Coco164kFull_Stuff_Coarse_7.txt, train
                                          Coco164kFull_Stuff_Coarse.txt; the 182 classes mapped to
                                          STEGO's 27 coarse ones */
    DF_DATASET_LAYOUT_CITYSCAPES27 = 2, /* Cityscapes as STEGO evaluates it: ROOT/leftImg8bit/SPLIT/
                                          CITY/NAME_leftImg8bit.png and ROOT/gtFine/SPLIT/CITY/
                                          NAME_gtFine_labelIds.png (the official packages); labelIds
                                          7..33 become classes 0..26, the void ids 0..6 are ignored */
    /* The saliency test sets TokenCut and Sempart report maxF on, as their official archives
       unpack (the split is ignored; img/ and gt/, as TokenCut's download scripts rename them, are
       read too); labels are the grey masks as stored, foreground > 127: */
    DF_DATASET_LAYOUT_ECSSD = 3,       /* ROOT/images/NAME.jpg, ROOT/ground_truth_mask/NAME.png */
    DF_DATASET_LAYOUT_DUTS_TE = 4,     /* ROOT/DUTS-TE-Image/NAME.jpg, ROOT/DUTS-TE-Mask/NAME.png */
    DF_DATASET_LAYOUT_DUT_OMRON = 5,   /* ROOT/DUT-OMRON-image/NAME.jpg,
                                          ROOT/pixelwiseGT-new-PNG/NAME.png */
    /* PASCAL VOC as its tar files unpack: ROOT/VOCdevkit/VOC2007/ (or ROOT itself) holding
       JPEGImages/ID.jpg, the split's ImageSets/Main/SPLIT.txt (train, val, trainval, test; a
       split FOLDER/NAME reads ImageSets/FOLDER/NAME.txt: Segmentation/val is the segmentation
       subset's val list that NeCo and Leopart score),
       Annotations/ID.xml (the boxes of df_dataset_boxes: CorLoc) and, for the segmentation
       subset, SegmentationClass/ID.png (classes 0..20, 255 the unscored border); a split whose
       name holds "aug" (Segmentation/trainaug: the 10,582 images of the SBD-augmented training
       set that NeCo's and Leopart's linear probes train on, its list from the augmented masks'
       download, e.g. DeepLab's train_aug.txt) reads SegmentationClassAug/ID.png instead: */
    DF_DATASET_LAYOUT_VOC07 = 6,
    DF_DATASET_LAYOUT_VOC12 = 7,
    /* Potsdam as STEGO's download holds it (IIC's preprocessing): ROOT/potsdam/ (or ROOT itself)
       with imgs/ID.mat (MATLAB level 5, "img": RGB and infrared, the infrared dropped), gt/ID.mat
       ("gt": 0 roads, 1 buildings, 2 low vegetation, 3 trees, 4 cars, 5 clutter) and the lists
       labelled_train.txt (split train), labelled_test.txt (val), unlabelled_train.txt, all.txt: */
    DF_DATASET_LAYOUT_POTSDAM = 8,     /* the six classes as stored */
    DF_DATASET_LAYOUT_POTSDAM3 = 9,    /* STEGO's Potsdam-3: roads + cars, buildings + clutter,
                                          vegetation + trees */
    /* COCO-20k, the object-discovery papers' CorLoc set (LOST, TokenCut, Sempart; the split is
       ignored): the 19,817 images of TokenCut's datasets/coco_20k_filenames.txt (at the root, or
       DF_PARAM_DATASET_LIST) under ROOT/images/ or ROOT/ (train2014/...jpg), no labels, and as
       df_dataset_boxes every non-crowd box of ROOT/instances_train2014_sel20k.json or else
       ROOT/annotations/instances_train2014.json ([x, y, x + w, y + h] rounded half to even),
       read once at open: */
    DF_DATASET_LAYOUT_COCO20K = 10,
    /* CUB-200-2011 (HR-Dv2's foreground segmentation): ROOT/CUB_200_2011/ (or ROOT) holding
       images.txt, train_test_split.txt (split train: its training images, val: its test images)
       and images/; the masks of segmentations.tgz in segmentations/ inside that folder or beside
       it, grey as stored, foreground > 127: */
    DF_DATASET_LAYOUT_CUB = 11,
    /* COCO as Leopart's and NeCo's clustering and linear evaluations read it: every ROOT/images/
       SPLIT2017/ID.jpg (or DF_PARAM_DATASET_LIST's) with the classes of COCO's supercategories,
       numbered in the supercategories' alphabetical order: */
    DF_DATASET_LAYOUT_COCOTHINGS = 12, /* ROOT/annotations/SPLIT2017/ID.png: the semantic masks
                                          of panoptic_SPLIT2017 (category ids, as panopticapi's
                                          panoptic2semantic_segmentation.py writes them); the 80
                                          thing categories as their 12 supercategories (accessory
                                          0 .. vehicle 11), stuff and unlabelled ignored */
    DF_DATASET_LAYOUT_COCOSTUFF15 = 13, /* ROOT/annotations/stuff_annotations/stuff_SPLIT2017_
                                          pixelmaps/ID.png (stuff_annotations_trainval2017.zip:
                                          0 things, 92..182 stuff, 183 other); the 91 stuff
                                          categories as their 15 supercategories (building 0 ..
                                          window 14), things and "other" ignored */
    DF_DATASET_LAYOUT_COCOSTUFF171 = 14, /* COCO-Stuff 164k, all 171 classes (the frozen-feature
                                          linear probes' COCO-Stuff): every ROOT/images/SPLIT2017/
                                          ID.jpg, ROOT/annotations/SPLIT2017/ID.png stuffthingmaps
                                          (0..181) with the 11 ids no category has removed, as
                                          MMSegmentation's conversion numbers them (0..170) */
    DF_DATASET_LAYOUT_ADE20K = 15,     /* ADE20K as the scene-parsing benchmark distributes it
                                          (ADEChallengeData2016.zip): ROOT/ADEChallengeData2016/ (or
                                          ROOT) holding images/SPLIT/NAME.jpg and annotations/SPLIT/
                                          NAME.png, split train = training, val = validation; the
                                          150 classes 1..150 as 0..149, 0 ("other") ignored */
    DF_DATASET_LAYOUT_SUIM = 16        /* SUIM (Islam et al. 2020) as its archives unpack: ROOT/SUIM/
                                          (or ROOT) holding train_val/ (split train) and TEST/
                                          (split val) with images/NAME.jpg and masks/NAME.bmp (RGB,
                                          each channel > 127 a bit); the six classes of SUIM's
                                          benchmark and DatUS²: 0 divers, 1 robots, 2 fish, 3 reefs,
                                          4 wrecks, 5 the rest (water, plants, sea floor) */
} df_dataset_layout;

/* out: new, free with df_dataset_free. The images are every PNG/JPEG under the folder images,
 * subfolders included, hidden entries skipped, sorted bytewise by relative path. labels (may be
 * NULL) is a folder holding, for each image, a label image of the same relative path with the
 * extension .png (palette PNGs read as their indices); a missing one is DF_E_INVALID_ARG naming
 * it. With DF_PARAM_DATASET_LAYOUT other than the folder, images is the dataset's root and labels
 * must be NULL (df_dataset_layout). options: DF_PARAM_DATASET_* and DF_PARAM_IMAGE_* (decoding). Errors: DF_E_IO for an
 * unreadable folder, DF_E_INVALID_ARG for a folder without images. */
DF_API df_status df_dataset_open(const char *images, const char *labels, const df_options *options, df_dataset **out);
/* The images DF_PARAM_DATASET_SKIP_BROKEN left out: count (may be NULL) of them; with index <
 * count, name (may be NULL; borrowed, lives as long as dataset) the relative path and reason (may
 * be NULL; borrowed likewise) why it failed to decode. index >= count is DF_E_INVALID_ARG. */
DF_API df_status df_dataset_skipped(const df_dataset *dataset, size_t index, size_t *count, const char **name,
                                    const char **reason);
/* Items: the images, or five per image with DF_PARAM_DATASET_FIVE_CROP. */
DF_API df_status df_dataset_count(const df_dataset *dataset, size_t *items);
/* Borrowed (lives as long as dataset): the relative path of item's image; crop (may be NULL)
 * gets its five-crop position (0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right, 4 centre)
 * or -1 without five-crop. */
DF_API df_status df_dataset_name(const df_dataset *dataset, size_t item, const char **name, int *crop);
/* Decodes one item now, on the calling thread: image (may be NULL when labels is not: scoring
 * needs only the labels; new; as decoded: grey, RGB or RGBA, 8- or 16-bit, 16-bit samples kept
 * through the resizes) and labels (may be NULL;
 * new, one channel; NULL when the dataset has no labels), both five-cropped and resized as the
 * options say. */
DF_API df_status df_dataset_get(const df_dataset *dataset, size_t item, df_image **image, df_image **labels);
/* Starts a pass over every item: in item order, or with DF_PARAM_DATASET_SHUFFLE a permutation
 * drawn from the seed and epoch. Worker threads decode ahead, at most DF_PARAM_DATASET_PREFETCH
 * items, so memory stays bounded. Ends a pass in progress first. */
DF_API df_status df_dataset_start(df_dataset *dataset, uint64_t epoch);
/* The pass's next item, in the pass's order whatever thread decoded it: item, image and labels
 * as df_dataset_get (each may be NULL to discard it). At the end of the pass *done is 1 and
 * nothing else is set. An item that fails to decode returns its error (the message names the
 * file); the pass goes on with the next call. DF_E_INVALID_ARG before df_dataset_start. */
DF_API df_status df_dataset_next(df_dataset *dataset, size_t *item, df_image **image, df_image **labels, int *done);
/* The true boxes of item's image (4 int32 each: x_min, y_min, x_max exclusive, y_max exclusive)
 * in a layout that has them (VOC: every object of its annotation, as df_boxes_load reads it;
 * COCO-20k: its non-crowd annotations): call
 * with boxes NULL to learn *count, then with room for capacity boxes. DF_E_UNSUPPORTED for a
 * layout without boxes; a missing annotation DF_E_IO naming it. */
DF_API df_status df_dataset_boxes(const df_dataset *dataset, size_t item, int32_t *boxes, size_t capacity,
                                  size_t *count);
/* Stops the workers and frees everything. Does nothing when dataset is NULL. */
DF_API void df_dataset_free(df_dataset *dataset);

#ifdef __cplusplus
}
#endif

#endif /* DINOFEAT_DATASET_H */
