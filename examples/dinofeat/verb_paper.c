/* dinofeat paper: one paper's evaluation protocol end to end on a dataset as distributed, its
 * figures printed beside the published ones. */
#include "cli.h"
#include "draw.h"
#include "folder.h"
#include "model_args.h"
#include "paper_clustering.h"
#include "paper_incontext.h"
#include "paper_linear.h"
#include "scoring.h"
#include "verb_datus.h"
#include "dinofeat/crf.h"
#include "dinofeat/eval.h"
#include "dinofeat/segment.h"
#include "dinofeat/sempart.h"
#include "dinofeat/stego.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum method { TOKENCUT, SEMPART, STEGO, HRDV2, NECO, NECO_LINEAR, NECO_INCONTEXT, DATUS };

/* A table row of a paper: the method, the dataset (dataset.* settings), what is scored, and the
 * published figures in percent, in the order the task prints them (semseg: mIoU, accuracy;
 * saliency: accuracy, IoU, maxF; corloc: CorLoc; NeCo's clustering: mIoU at K = classes, 300, 500). */
typedef struct protocol {
    const char *name;
    enum method method;
    int task;
    const char *settings[6];
    long classes;
    const char *source;
    double published[3];
    int multi;  /* CorLoc of every box, not only the main one */
    int linear; /* STEGO's linear probe, scored without matching */
    long clusters; /* DatUS²'s k-means clusters (0: the classes) */
    int decimals;  /* of the published figures (0: 1) */
    const char *train_split; /* NeCo's linear probe: the split it trains on */
    double train_fraction;   /* and the share of it drawn (0: all) */
    long fraction;       /* NeCo's in-context rows: the memory is 1 / fraction of the training split
                            (the official lists, --train-lists); 0: all of it */
    long memory_classes; /* and the memory's classes (0: the classes) */
    long unlabelled;     /* the memory's class of unlabelled pixels */
} protocol;

#define HBIRD_MEMORY "retrieval.bank=10240000", "retrieval.temperature=0.02" /* NeCo's memory, Hummingbird's 0.02 */
#define HBIRD_VOC {"dataset.layout=voc12", "dataset.split=Segmentation/val", "dataset.size=448", "dataset.stretch=1", HBIRD_MEMORY}
#define HBIRD_ADE {"dataset.layout=ade20k", "dataset.split=val", "dataset.size=448", "dataset.stretch=1", HBIRD_MEMORY}
#define HBIRD_SOURCE "NeCo ViT-S/14 (DINOv2 with registers, NeCo-trained; Table 8)"
#define STEGO_EVAL "dataset.size=320", "dataset.filter=nearest" /* STEGO's eval: 320 short side, centre crop */
static const protocol protocols[] = {
    {"tokencut-voc07", TOKENCUT, EVAL_CORLOC, {"dataset.layout=voc07", "dataset.split=trainval"}, 0,
     "TokenCut, DINO ViT-S/16 (Sempart Table 3)", {68.8}},
    {"tokencut-voc12", TOKENCUT, EVAL_CORLOC, {"dataset.layout=voc12", "dataset.split=trainval"}, 0,
     "TokenCut, DINO ViT-S/16 (Sempart Table 3)", {72.1}},
    {"tokencut-ecssd", TOKENCUT, EVAL_SALIENCY, {"dataset.layout=ecssd"}, 0,
     "TokenCut, DINO ViT-S/16 (Sempart Table 1)", {91.8, 71.2, 80.3}},
    {"tokencut-duts", TOKENCUT, EVAL_SALIENCY, {"dataset.layout=duts_te"}, 0,
     "TokenCut, DINO ViT-S/16 (Sempart Table 1)", {90.3, 57.6, 67.2}},
    {"tokencut-dut-omron", TOKENCUT, EVAL_SALIENCY, {"dataset.layout=dut_omron"}, 0,
     "TokenCut, DINO ViT-S/16 (Sempart Table 1)", {88.0, 53.3, 60.0}},
    {"sempart-voc07", SEMPART, EVAL_CORLOC, {"dataset.layout=voc07", "dataset.split=trainval"}, 0,
     "Sempart-Fine, DINO ViT-S/8 (Table 3)", {75.1}},
    {"sempart-voc12", SEMPART, EVAL_CORLOC, {"dataset.layout=voc12", "dataset.split=trainval"}, 0,
     "Sempart-Fine, DINO ViT-S/8 (Table 3)", {76.8}},
    {"sempart-ecssd", SEMPART, EVAL_SALIENCY, {"dataset.layout=ecssd"}, 0, "Sempart-Fine, DINO ViT-S/8 (Table 1)",
     {96.4, 85.5, 94.7}},
    {"sempart-duts", SEMPART, EVAL_SALIENCY, {"dataset.layout=duts_te"}, 0, "Sempart-Fine, DINO ViT-S/8 (Table 1)",
     {95.9, 74.9, 86.7}},
    {"sempart-dut-omron", SEMPART, EVAL_SALIENCY, {"dataset.layout=dut_omron"}, 0,
     "Sempart-Fine, DINO ViT-S/8 (Table 1)", {93.2, 66.8, 76.4}},
    {"stego-cocostuff27", STEGO, EVAL_SEMSEG, {"dataset.layout=cocostuff27", STEGO_EVAL}, 27,
     "STEGO, DINO ViT-B/8, CRF (Table 1)", {28.2, 56.9}},
    {"stego-cityscapes27", STEGO, EVAL_SEMSEG, {"dataset.layout=cityscapes27", STEGO_EVAL}, 27,
     "STEGO, DINO ViT-B/8, CRF (Table 3)", {21.0, 73.2}},
    {"stego-cocostuff27-linear", STEGO, EVAL_SEMSEG, {"dataset.layout=cocostuff27", STEGO_EVAL}, 27,
     "STEGO's linear probe, DINO ViT-B/8, CRF (Table 1)", {41.0, 76.1}, 0, 1},
    {"stego-potsdam3", STEGO, EVAL_SEMSEG, {"dataset.layout=potsdam3", STEGO_EVAL}, 3,
     "STEGO (appendix Table 4; accuracy only)", {NAN, 77.0}},
    {"tokencut-coco20k", TOKENCUT, EVAL_CORLOC, {"dataset.layout=coco20k"}, 0, "TokenCut, DINO ViT-S/16 (Sempart Table 3)",
     {58.8}},
    {"sempart-coco20k", SEMPART, EVAL_CORLOC, {"dataset.layout=coco20k"}, 0, "Sempart-Fine, DINO ViT-S/8 (Table 3)",
     {66.4}},
    {"hrdv2-voc07", HRDV2, EVAL_CORLOC, {"dataset.layout=voc07", "dataset.split=test", "dataset.remove_hards=1"}, 0,
     "HR-Dv2, DINOv2 ViT-S/14 with registers (Table 1)", {55.4}},
    {"hrdv2-voc07-multi", HRDV2, EVAL_CORLOC, {"dataset.layout=voc07", "dataset.split=test", "dataset.remove_hards=1"},
     0, "HR-Dv2 (multi), DINOv2 ViT-S/14 with registers (Table 1)", {71.8}, 1},
    {"hrdv2-voc12", HRDV2, EVAL_CORLOC, {"dataset.layout=voc12", "dataset.split=trainval", "dataset.remove_hards=1"},
     0, "HR-Dv2, DINOv2 ViT-S/14 with registers (Table 1)", {57.2}},
    {"hrdv2-voc12-multi", HRDV2, EVAL_CORLOC,
     {"dataset.layout=voc12", "dataset.split=trainval", "dataset.remove_hards=1"}, 0,
     "HR-Dv2 (multi), DINOv2 ViT-S/14 with registers (Table 1)", {72.5}, 1},
    {"hrdv2-duts", HRDV2, EVAL_SALIENCY, {"dataset.layout=duts_te"}, 0,
     "HR-Dv2, DINOv2 ViT-S/14 with registers (Table 2, IoU only)", {NAN, 65.4, NAN}},
    {"hrdv2-cub", HRDV2, EVAL_SALIENCY, {"dataset.layout=cub", "dataset.split=train"}, 0,
     "HR-Dv2, DINOv2 ViT-S/14 with registers (Table 2, IoU only)", {NAN, 78.5, NAN}},
    {"neco-voc12-clustering", NECO, EVAL_SEMSEG,
     {"dataset.layout=voc12", "dataset.split=Segmentation/val", "dataset.size=448", "dataset.stretch=1"}, 21,
     "NeCo ViT-S/14 (DINOv2 with registers, NeCo-trained; Table 7)", {17.8, 69.4, 72.6}},
    {"neco-cocothings-clustering", NECO, EVAL_SEMSEG,
     {"dataset.layout=cocothings", "dataset.split=val", "dataset.size=448", "dataset.stretch=1"}, 12,
     "NeCo ViT-S/14 (DINOv2 with registers, NeCo-trained; Table 7)", {18.2, 61.2, 64.5}},
    {"neco-voc12-linear", NECO_LINEAR, EVAL_SEMSEG,
     {"dataset.layout=voc12", "dataset.split=Segmentation/val", "dataset.size=448", "dataset.stretch=1"}, 21,
     "NeCo ViT-S/14 (DINOv2 with registers, NeCo-trained; Table 2)", {81.3}, .train_split = "Segmentation/trainaug"},
    {"neco-cocothings-linear", NECO_LINEAR, EVAL_SEMSEG,
     {"dataset.layout=cocothings", "dataset.split=val", "dataset.size=448", "dataset.stretch=1"}, 12,
     "NeCo ViT-S/14 (DINOv2 with registers, NeCo-trained; Table 2)", {82.3}, .train_split = "train",
     .train_fraction = 0.1},
    {"neco-cocostuff-linear", NECO_LINEAR, EVAL_SEMSEG,
     {"dataset.layout=cocostuff15", "dataset.split=val", "dataset.size=448", "dataset.stretch=1"}, 15,
     "NeCo ViT-S/14 (DINOv2 with registers, NeCo-trained; Table 2)", {62.0}, .train_split = "train",
     .train_fraction = 0.1},
    {"neco-ade20k-linear", NECO_LINEAR, EVAL_SEMSEG,
     {"dataset.layout=ade20k", "dataset.split=val", "dataset.size=448", "dataset.stretch=1"}, 150,
     "NeCo ViT-S/14 (DINOv2 with registers, NeCo-trained; Table 2)", {40.1}, .train_split = "train"},
    {"neco-voc12-incontext", NECO_INCONTEXT, EVAL_SEMSEG, HBIRD_VOC, 21, HBIRD_SOURCE, {78.9},
     .train_split = "Segmentation/trainaug", .fraction = 0},
    {"neco-voc12-incontext-8", NECO_INCONTEXT, EVAL_SEMSEG, HBIRD_VOC, 21, HBIRD_SOURCE, {76.3},
     .train_split = "Segmentation/trainaug", .fraction = 8},
    {"neco-voc12-incontext-64", NECO_INCONTEXT, EVAL_SEMSEG, HBIRD_VOC, 21, HBIRD_SOURCE, {70.3},
     .train_split = "Segmentation/trainaug", .fraction = 64},
    {"neco-voc12-incontext-128", NECO_INCONTEXT, EVAL_SEMSEG, HBIRD_VOC, 21, HBIRD_SOURCE, {66.5},
     .train_split = "Segmentation/trainaug", .fraction = 128},
    {"neco-ade20k-incontext", NECO_INCONTEXT, EVAL_SEMSEG, HBIRD_ADE, 150, HBIRD_SOURCE, {39.8},
     .train_split = "train", .fraction = 0, .memory_classes = 151, .unlabelled = 150},
    {"neco-ade20k-incontext-8", NECO_INCONTEXT, EVAL_SEMSEG, HBIRD_ADE, 150, HBIRD_SOURCE, {34.0},
     .train_split = "train", .fraction = 8, .memory_classes = 151, .unlabelled = 150},
    {"neco-ade20k-incontext-64", NECO_INCONTEXT, EVAL_SEMSEG, HBIRD_ADE, 150, HBIRD_SOURCE, {27.2},
     .train_split = "train", .fraction = 64, .memory_classes = 151, .unlabelled = 150},
    {"neco-ade20k-incontext-128", NECO_INCONTEXT, EVAL_SEMSEG, HBIRD_ADE, 150, HBIRD_SOURCE, {23.7},
     .train_split = "train", .fraction = 128, .memory_classes = 151, .unlabelled = 150},
    {"datus-suim", DATUS, EVAL_SEMSEG, {"dataset.layout=suim", "dataset.split=val"}, 6,
     "DatUS², DINO ViT-B/8 (Table V; mean F1: Table IV)", {28.48, 64.67, 39.52}, .decimals = 2},
    {"datus-suim-k7", DATUS, EVAL_SEMSEG, {"dataset.layout=suim", "dataset.split=val"}, 6,
     "DatUS² + overclustering (K = 7), DINO ViT-B/8 (Table V)", {34.02, 69.98, NAN}, .clusters = 7, .decimals = 2},
    {"datus-suim-train", DATUS, EVAL_SEMSEG, {"dataset.layout=suim", "dataset.split=train"}, 6,
     "DatUS², DINO ViT-B/8 (Table I)", {23.44, 62.18, 31.97}, .decimals = 2},
    {"datus-cocostuff27", DATUS, EVAL_SEMSEG, {"dataset.layout=cocostuff27", "dataset.split=val"}, 27,
     "DatUS², DINO ViT-B/8 (Table V)", {12.01, 34.11, NAN}, .decimals = 2},
    {"datus-cocostuff27-k63", DATUS, EVAL_SEMSEG, {"dataset.layout=cocostuff27", "dataset.split=val"}, 27,
     "DatUS² + overclustering (K = 63), DINO ViT-B/8 (Table V)", {15.97, 33.94, NAN}, .clusters = 63, .decimals = 2},
    {"datus-cocostuff27-train", DATUS, EVAL_SEMSEG, {"dataset.layout=cocostuff27", "dataset.split=train"}, 27,
     "DatUS², DINO ViT-B/8 (Table III)", {10.60, 31.50, 16.77}, .decimals = 2},
};
#define PROTOCOL_COUNT (sizeof protocols / sizeof protocols[0])

static const char *const usages[] = {"PROTOCOL --data DIR --model FILE [--head FILE | --sempart FILE] [options]", NULL};

static const char description[] =
    "Runs one paper's evaluation protocol on a dataset as it is distributed (see dataset.layout in\n"
    "dinofeat params) and prints our figures beside the published ones. Predictions stream into\n"
    "--out, one file an image, each written whole: run the same command again to resume after an\n"
    "interruption (OUT/paper.txt records the command: a folder holding the predictions of\n"
    "another one, --set settings included, is refused).\n"
    "PROTOCOL (the published figures are the row the paper reports for that model):\n"
    "  tokencut-voc07, tokencut-voc12, tokencut-coco20k  CorLoc (IoU > 0.5) of TokenCut's box on\n"
    "                     VOC07 / VOC12 trainval (every object's box) or COCO-20k (every non-crowd\n"
    "                     box); the image zero-padded to whole patches\n"
    "  tokencut-ecssd, tokencut-duts, tokencut-dut-omron  saliency: accuracy, IoU, maxF_beta of\n"
    "                     TokenCut's object mask (without the bilateral solver), the image resized\n"
    "                     to the nearest whole patches (bicubic; the official code: Lanczos), the\n"
    "                     mask resized back by nearest neighbour\n"
    "  sempart-voc07, sempart-voc12, sempart-coco20k, sempart-ecssd, sempart-duts,\n"
    "  sempart-dut-omron  the same\n"
    "                     with a trained Sempart (--sempart): its fine mask, its largest box\n"
    "  stego-cocostuff27, stego-cityscapes27, stego-potsdam3  unsupervised mIoU and accuracy of\n"
    "                     a trained STEGO head (--head) with the CRF on the 27 (3) classes,\n"
    "                     Hungarian matching, val images resized to 320 on the short side and\n"
    "                     centre-cropped (nearest)\n"
    "  stego-cocostuff27-linear  the same with the head's linear probe (trained with stego train\n"
    "                     --labels), its classes scored as they are, without matching\n"
    "  hrdv2-voc07, hrdv2-voc12, hrdv2-voc07-multi, hrdv2-voc12-multi  CorLoc of HR-Dv2's\n"
    "                     superbox (-multi: and every box it keeps) from the class-agnostic\n"
    "                     segmentation (the library's settings) of the image centre-cropped to whole\n"
    "                     patches, on VOC07 test / VOC12 trainval without difficult and truncated\n"
    "                     objects (dataset.remove_hards), images left without one skipped\n"
    "  hrdv2-duts, hrdv2-cub  IoU of HR-Dv2's foreground (the saliency mask of its class-agnostic\n"
    "                     segmentation, the library's settings) on DUTS-TE or CUB-200-2011, images\n"
    "                     and masks centre-cropped to whole patches (dataset.multiple); on CUB the\n"
    "                     training images, which the official preparation script selects\n"
    "  neco-voc12-clustering, neco-cocothings-clustering  k-means over the patch tokens of every\n"
    "                     VOC12 segmentation val image or COCO val2017 image (stretched to 448 x\n"
    "                     448; standardised, 50 PCA components), for K = the classes (21, 12), 300\n"
    "                     and 500 (--clusterings), mIoU of the cluster maps at 100 x 100: K = the\n"
    "                     classes matched one to one by IoU, more clusters each to the class it\n"
    "                     overlaps most; the mean over seeds 0..4. --out keeps the feature cache\n"
    "  neco-voc12-linear, neco-cocothings-linear, neco-cocostuff-linear, neco-ade20k-linear  a\n"
    "                     linear probe (probe.* settings: SGD, lr 0.01, momentum 0.9, weight decay\n"
    "                     1e-4, the rate x 0.1 after epoch 20) on the frozen patch tokens, trained\n"
    "                     --epochs (25) of --batch (128) random resized crops (448 x 448, scale\n"
    "                     0.8..1, flipped at random) of VOC12's trainaug list (ImageSets/\n"
    "                     Segmentation/trainaug.txt, masks in SegmentationClassAug/), 10% of COCO\n"
    "                     train2017 (Things: 12 classes, Stuff: 15) or ADE20K's training images,\n"
    "                     tokens and labels at 100 x 100; scored on the val images stretched to 448\n"
    "                     x 448, at 100 x 100, the classes as they are: mIoU, accuracy. --out keeps\n"
    "                     the probe after every epoch (a rerun resumes) and the val feature cache\n"
    "  neco-voc12-incontext, neco-ade20k-incontext  Hummingbird's in-context protocol (dense\n"
    "                     nearest-neighbour retrieval): a memory of the patch tokens of VOC12's\n"
    "                     trainaug list or ADE20K's training images, each once as a random resized\n"
    "                     crop (448 x 448, scale 0.5..2) with colour jitter, each patch labelled with\n"
    "                     its pixels' class fractions (unlabelled pixels: VOC's background, ADE20K's\n"
    "                     \"other\"), of each image the patches of rarest classes, up to 10,240,000\n"
    "                     patches in all (retrieval.bank); each val patch (images stretched to 448 x\n"
    "                     448) the softmax(cosine / 0.02)-weighted labels of its 30 nearest memory\n"
    "                     patches (retrieval.*), upsampled to 448 x 448, argmax; mIoU after one-to-one\n"
    "                     matching by IoU. The whole memory takes ~17 GB (VOC) or ~22 GB (ADE20K) and\n"
    "                     an exact search of it for every val patch: hours of a many-core machine.\n"
    "                     --out keeps the val feature cache; the memory is built again each run\n"
    "  neco-voc12-incontext-8, -64, -128, neco-ade20k-incontext-8, -64, -128  the same with a\n"
    "                     memory of 1/8, 1/64 or 1/128 of the training images: --train-lists names\n"
    "                     the official subsets (open-hummingbird-eval's file_sets/voc/1_div_N/*.txt\n"
    "                     or file_sets/ade20k/1_div_N/*.txt, one a seed), one memory each, the mean\n"
    "  datus-suim, datus-cocostuff27, datus-suim-k7, datus-cocostuff27-k63  DatUS²'s initial pseudo\n"
    "                     masks (the library's datus.* settings: 224 x 224, tau = 5) of SUIM's TEST\n"
    "                     images or COCO-Stuff-27's curated val list, k-means with K = the classes\n"
    "                     (6, 27) or the paper's over-clustering (7, 63); the masks at the images'\n"
    "                     size scored on the classes, one to one (Hungarian; clusters left unmatched\n"
    "                     count as errors), unlabelled (noise) pixels not scored: mIoU, accuracy,\n"
    "                     mean F1. --out keeps the segment store (OUT/segments.dfds), so a rerun\n"
    "                     resumes\n"
    "  datus-suim-train, datus-cocostuff27-train  the same on SUIM's train_val images (Table I) or\n"
    "                     COCO-Stuff-27's curated training list (Table III)\n"
    "A protocol's dataset settings (layout, split, size) come first; --set changes them.\n";

typedef struct request {
    const char *data, *out, *head, *sempart, *json, *clusterings, *train_lists;
    long epochs, batch;
    model_args model;
} request;

static const cli_row rows[] = {
    ROW_STRING("data", "DIR", data, "the dataset's root, as distributed", 0, CLI_ROW_REQUIRED),
    ROW_STRING("head", "FILE", head, "stego-*: the trained STEGO head (dinofeat stego train)"),
    ROW_STRING("sempart", "FILE", sempart, "sempart-*: the trained network (dinofeat sempart train)"),
    ROW_STRING("out", "DIR", out, "the predictions (default: paper-PROTOCOL)", 0, CLI_ROW_NO_DEFAULT),
    ROW_STRING("json", "FILE", json, "the figures as JSON"),
    ROW_STRING("clusterings", "LIST", clusterings, "neco-*: the K values, comma-separated (default: the classes, 300, 500)", 0,
               CLI_ROW_NO_DEFAULT),
    ROW_STRING("train-lists", "LIST", train_lists, "neco-*-incontext-N: the official 1/N subsets' image lists, "
               "comma-separated (one memory each, the mean mIoU)"),
    ROW_LONG("epochs", "N", epochs, 1, 1000000, "neco-*-linear: the probe's epochs (25: NeCo's)"),
    ROW_LONG("batch", "N", batch, 1, 65536, "neco-*-linear: images per step (128: NeCo's)"),
    MODEL_ROWS(model),
};

static void init(void *r) {
    request *q = r;
    model_args_init(&q->model);
    q->epochs = 25, q->batch = 128;
}

static const cli_command paper_command = {
    .verb = "paper", .usages = usages, .description = description, .rows = rows,
    .row_count = sizeof rows / sizeof rows[0], .epilogue = "Exit status: 0 ok, 1 usage, 2 input error, 3 internal.\n",
    .request_size = sizeof(request), .init = init};

/* What predicting one image needs. */
typedef struct run_state {
    const protocol *p;
    const char *out;
    df_model *model;
    df_stego *head;
    df_sempart *sempart;
    df_options *options, *crf;
    size_t kept;   /* predictions an earlier run wrote */
    char why[256]; /* a failure the CLI found itself, said in place of the library's last message */
} run_state;

/* The boxes as JSON at path; DF_E_IO with s->why set when it cannot be written. */
static df_status write_boxes(run_state *s, const char *path, const int32_t *boxes, size_t count) {
    cli_output out;
    FILE *f = cli_output_open(path, &out);
    if (f == NULL) {
        snprintf(s->why, sizeof s->why, "%s: %s", path, strerror(errno));
        return DF_E_IO;
    }
    fprintf(f, "{\"boxes\": [");
    for (size_t i = 0; i < count; i++)
        fprintf(f, "%s{\"class\": 1, \"box\": [%d, %d, %d, %d]}", i ? ", " : "", boxes[4 * i], boxes[4 * i + 1],
                boxes[4 * i + 2], boxes[4 * i + 3]);
    fprintf(f, "]}\n");
    if (cli_output_commit(&out) == 0) return DF_OK;
    snprintf(s->why, sizeof s->why, "%s: %s", path, strerror(errno));
    return DF_E_IO;
}

static df_status write_grey(const uint8_t *pixels, size_t w, size_t h, const char *path) {
    df_image *png = NULL;
    df_status status = df_image_from_pixels(pixels, w, h, 1, 8, w, &png);
    if (status == DF_OK) status = df_image_save_png(png, path);
    df_image_free(png);
    return status;
}

/* length / patch rounded as Python's round (halves to even: 2.5 -> 2), whole patches of it. */
static size_t nearest_patches(size_t length, size_t patch) {
    const size_t whole = length / patch, rest = length % patch;
    const size_t n = 2 * rest > patch ? whole + 1 : 2 * rest == patch ? whole + whole % 2 : whole;
    return (n ? n : 1) * patch;
}

/* TokenCut's saliency protocol (get_saliency.py's resize_pil): the image resized to the nearest
 * whole patches, its object mask resized back to the image by nearest neighbour. */
static df_status tokencut_mask(const run_state *s, const df_image *image, const char *path) {
    int64_t patch = 16;
    df_model_info_int(s->model, DF_MODEL_INFO_PATCH, &patch);
    const size_t w = df_image_width(image), h = df_image_height(image), p = (size_t)patch;
    const size_t fw = nearest_patches(w, p), fh = nearest_patches(h, p);
    df_image *fitted = NULL, *mask_image = NULL, *back = NULL;
    df_tensor *pixels = NULL, *mask = NULL;
    df_tensor_view view = {.struct_size = sizeof view};
    df_status status = df_image_resize(image, fw, fh, DF_RESIZE_BICUBIC, &fitted);
    if (status == DF_OK) status = df_image_to_tensor(fitted, NULL, NULL, &pixels);
    if (status == DF_OK) status = df_tokencut(s->model, pixels, s->options, &mask, NULL, NULL);
    if (status == DF_OK) status = df_tensor_view_of(mask, &view);
    if (status == DF_OK)
        status = df_image_from_pixels(view.data, df_image_width(fitted), df_image_height(fitted), 1, 8,
                                      df_image_width(fitted), &mask_image);
    if (status == DF_OK) status = df_image_resize(mask_image, w, h, DF_RESIZE_NEAREST, &back);
    if (status == DF_OK) status = df_image_save_png(back, path);
    df_image_free(fitted), df_image_free(mask_image), df_image_free(back);
    df_tensor_free(pixels), df_tensor_free(mask);
    return status;
}

/* TokenCut's object-discovery protocol: the image as it is, zero-padded inside df_tokencut. */
static df_status tokencut_box(run_state *s, const df_image *image, const char *path) {
    df_tensor *pixels = NULL, *mask = NULL;
    int32_t box[4];
    df_status status = df_image_to_tensor(image, NULL, NULL, &pixels);
    if (status == DF_OK) status = df_tokencut(s->model, pixels, s->options, &mask, box, NULL);
    if (status == DF_OK) status = write_boxes(s, path, box, 1);
    df_tensor_free(pixels), df_tensor_free(mask);
    return status;
}

static df_status sempart_output(run_state *s, const df_image *image, const char *path) {
    df_tensor *fine = NULL, *boxes = NULL;
    int64_t shape[2] = {0, 4};
    df_tensor_view view = {.struct_size = sizeof view};
    const int corloc = s->p->task == EVAL_CORLOC;
    df_status status = df_sempart_predict(s->sempart, s->model, image, s->options, NULL, corloc ? NULL : &fine,
                                          corloc ? &boxes : NULL);
    if (status == DF_OK) status = df_tensor_shape(corloc ? boxes : fine, shape, 2);
    if (status == DF_OK) status = df_tensor_view_of(corloc ? boxes : fine, &view);
    if (status == DF_OK && corloc) status = write_boxes(s, path, view.data, shape[0] ? 1 : 0);
    if (status == DF_OK && !corloc) status = write_grey(view.data, (size_t)shape[1], (size_t)shape[0], path);
    df_tensor_free(fine), df_tensor_free(boxes);
    return status;
}

static df_status stego_labels(const run_state *s, const df_image *image, const char *path) {
    const size_t w = df_image_width(image), h = df_image_height(image);
    int32_t *labels = malloc(w * h * sizeof *labels);
    df_status status = labels ? (s->p->linear ? df_stego_segment_linear : df_stego_segment)(s->head, s->model, image,
                                                                                             320, s->crf, labels)
                              : DF_E_OUT_OF_MEMORY;
    if (status == DF_OK) status = cli_write_label_png(labels, w, h, path);
    free(labels);
    return status;
}

/* HR-Dv2's foreground segmentation (its Table 2): the saliency mask of the class-agnostic
 * segmentation; the dataset crops the image to whole patches as the official closest_crop does,
 * so the mask covers it all. */
static df_status hrdv2_mask(run_state *s, const df_image *image, const char *path) {
    df_tensor *pixels = NULL;
    df_cas_result *result = NULL;
    df_cas_view v = {.struct_size = sizeof v};
    df_status status = df_image_to_tensor(image, NULL, NULL, &pixels);
    if (status == DF_OK) status = df_cas_segment(s->model, pixels, s->options, NULL, NULL, &result);
    if (status == DF_OK) status = df_cas_result_view(result, &v);
    if (status == DF_OK && ((size_t)v.width != df_image_width(image) || (size_t)v.height != df_image_height(image))) {
        snprintf(s->why, sizeof s->why, "the segmentation covers %lld x %lld of %zu x %zu pixels: keep "
                 "dataset.multiple at the patch size", (long long)v.width, (long long)v.height, df_image_width(image),
                 df_image_height(image));
        status = DF_E_INVALID_ARG;
    }
    if (status == DF_OK) status = write_grey(v.saliency, (size_t)v.width, (size_t)v.height, path);
    df_cas_result_free(result);
    df_tensor_free(pixels);
    return status;
}

/* excess / 2 rounded as Python's round (halves to even), where torchvision's CenterCrop starts. */
static size_t centre_offset(size_t excess) {
    const size_t half = excess / 2;
    return excess % 2 && half % 2 ? half + 1 : half;
}

/* HR-Dv2's object localisation (its Table 1): the class-agnostic segmentation of the image
 * centre-cropped to whole patches (as closest_crop), its superbox (and, multi, every box it
 * keeps) moved back to the whole image's pixels. */
static df_status hrdv2_boxes(run_state *s, df_image *image, const char *path) {
    int64_t patch = 14;
    df_model_info_int(s->model, DF_MODEL_INFO_PATCH, &patch);
    const size_t w = df_image_width(image), h = df_image_height(image), p = (size_t)patch,
                 depth = df_image_bit_depth(image), pixel = 3 * depth / 8; /* RGB, 8- or 16-bit */
    const size_t cw = w / p * p, ch = h / p * p, ox = centre_offset(w - cw), oy = centre_offset(h - ch);
    df_image *cropped = NULL;
    df_tensor *pixels = NULL;
    df_cas_result *result = NULL;
    df_cas_view v = {.struct_size = sizeof v};
    int32_t *boxes = NULL;
    df_status status = cw && ch ? DF_OK : DF_E_INVALID_ARG;
    if (status != DF_OK) snprintf(s->why, sizeof s->why, "%zu x %zu is smaller than a patch", w, h);
    if (status == DF_OK)
        status = df_image_from_pixels((uint8_t *)df_image_pixels(image) + pixel * (oy * w + ox), cw, ch, 3, depth,
                                      pixel * w, &cropped);
    if (status == DF_OK) status = df_image_to_tensor(cropped, NULL, NULL, &pixels);
    if (status == DF_OK) status = df_cas_segment(s->model, pixels, s->options, NULL, NULL, &result);
    if (status == DF_OK) status = df_cas_result_view(result, &v);
    const size_t count = !v.has_superbox ? 0 : s->p->multi ? 1 + v.box_count : 1;
    if (status == DF_OK && (boxes = malloc((count + 1) * 4 * sizeof *boxes)) == NULL) status = DF_E_OUT_OF_MEMORY;
    if (status == DF_OK && count) memcpy(boxes, v.superbox, sizeof v.superbox);
    if (status == DF_OK && count > 1) memcpy(boxes + 4, v.boxes, v.box_count * 4 * sizeof *boxes);
    for (size_t i = 0; status == DF_OK && i < count; i++)
        boxes[4 * i] += (int32_t)ox, boxes[4 * i + 1] += (int32_t)oy, boxes[4 * i + 2] += (int32_t)ox,
            boxes[4 * i + 3] += (int32_t)oy;
    if (status == DF_OK) status = write_boxes(s, path, boxes, count);
    free(boxes);
    df_cas_result_free(result);
    df_tensor_free(pixels);
    df_image_free(cropped);
    return status;
}

/* One image's prediction into the output folder, unless an earlier run wrote it (written whole,
 * so a file there is complete). */
static int predict_one(void *context, const df_image *image, const char *name) {
    run_state *s = context;
    char *path = cli_output_name(s->out, name, s->p->task == EVAL_CORLOC ? ".json" : ".png");
    if (path == NULL) {
        fprintf(stderr, "dinofeat paper: %s: %s\n", s->out, strerror(errno));
        return EXIT_INPUT;
    }
    df_status status = DF_OK;
    if (access(path, F_OK) == 0) s->kept++;
    else {
        df_image *rgb = NULL;
        status = df_image_convert(image, 3, &rgb);
        if (status == DF_OK)
            status = s->p->method == HRDV2 && s->p->task == EVAL_CORLOC ? hrdv2_boxes(s, rgb, path)
                     : s->p->method == HRDV2              ? hrdv2_mask(s, rgb, path)
                     : s->p->method == STEGO              ? stego_labels(s, rgb, path)
                     : s->p->method == SEMPART            ? sempart_output(s, rgb, path)
                     : s->p->task == EVAL_CORLOC          ? tokencut_box(s, rgb, path)
                                                          : tokencut_mask(s, rgb, path);
        df_image_free(rgb);
    }
    if (status != DF_OK) fprintf(stderr, "dinofeat paper: %s: %s\n", name, s->why[0] ? s->why : df_last_error_message());
    s->why[0] = '\0';
    free(path);
    return status == DF_OK ? EXIT_OK : status == DF_E_OUT_OF_MEMORY || status == DF_E_INTERNAL ? EXIT_INTERNAL : EXIT_INPUT;
}

/* Whether argv[i] names where the results go or what is computed from the folder's contents
 * (--clusterings: NeCo's clusterings of its cached features; --epochs: the total the linear
 * probe saved there trains on to; --train-lists: the memories labelling its cached val features),
 * not what the folder holds. */
static int outside_record(const char *argument, int *takes_value) {
    static const char *const names[] = {"--out", "--json", "--clusterings", "--epochs", "--train-lists"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const size_t n = strlen(names[i]);
        if (strncmp(argument, names[i], n) == 0 && (argument[n] == '\0' || argument[n] == '=')) {
            *takes_value = argument[n] == '\0';
            return 1;
        }
    }
    return 0;
}

/* What decides the predictions: every argument but those outside_record names, and every --set. */
static char *run_record(int argc, char **argv) {
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    if (f == NULL) return NULL;
    fprintf(f, "dinofeat");
    for (int i = 0; i < argc; i++) {
        int takes_value = 0;
        if (outside_record(argv[i], &takes_value)) i += takes_value;
        else fprintf(f, " %s", argv[i]);
    }
    for (int i = 0; i < cli_setting_count(); i++) fprintf(f, " --set %s", cli_setting_text(i));
    fprintf(f, "\n");
    if (fclose(f) == 0) return text;
    free(text);
    return NULL;
}

/* The folder's record of the command that made its predictions (OUT/paper.txt): written by the
 * first run, compared by the next, so that a resumed run never mixes two models' or two
 * settings' predictions. */
static int check_record(int argc, char **argv, const char *out) {
    char *path = cli_suffixed(out, "/paper.txt"), *expected = run_record(argc, argv), *found = NULL;
    if (path == NULL || expected == NULL) {
        free(path), free(expected);
        return cli_fail("paper", DF_E_OUT_OF_MEMORY);
    }
    FILE *f = fopen(path, "r");
    size_t capacity = 0;
    int code = EXIT_OK;
    if (f) {
        const ssize_t length = getdelim(&found, &capacity, '\0', f);
        fclose(f);
        if (length < 0 || strcmp(found, expected) != 0) {
            fprintf(stderr, "dinofeat paper: %s holds the predictions of another command (%s): give another --out, "
                            "or remove it to start over\n", out, path);
            code = EXIT_INPUT;
        }
    } else if (cli_make_parents(path) != 0 || cli_write_file(path, expected, strlen(expected)) != 0) {
        fprintf(stderr, "dinofeat paper: %s: %s\n", path, strerror(errno));
        code = EXIT_INPUT;
    }
    free(found), free(expected), free(path);
    return code;
}

static int open_method(const request *r, run_state *s) {
    const protocol *p = s->p;
    if (p->method == STEGO && r->head == NULL) return cli_usage_error("paper", "%s needs --head FILE (dinofeat stego train)", p->name);
    if (p->method == SEMPART && r->sempart == NULL)
        return cli_usage_error("paper", "%s needs --sempart FILE (dinofeat sempart train)", p->name);
    df_status status = cli_options_new(&s->options);
    if (status == DF_OK && p->method == STEGO) status = df_stego_load(r->head, &s->head);
    if (status == DF_OK && p->method == STEGO) status = df_stego_check_model(s->head, s->model);
    if (status == DF_OK && p->method == STEGO) status = cli_options_new(&s->crf);
    if (status == DF_OK && p->method == STEGO) status = df_crf_preset_apply(s->crf, DF_CRF_PRESET_STEGO);
    if (status == DF_OK && p->method == SEMPART) status = df_sempart_load(r->sempart, &s->sempart);
    if (status == DF_OK && p->method == SEMPART) status = df_sempart_check_model(s->sempart, s->model);
    return status == DF_OK ? EXIT_OK : cli_fail("paper", status);
}

/* The figures beside the paper's, in percent. */
static void print_row(const protocol *p, const eval_scores *e) {
    const char *names[3];
    double ours[3];
    int n = 0;
    if (p->task == EVAL_SEMSEG) names[0] = "mIoU", ours[0] = e->miou, names[1] = "accuracy", ours[1] = e->accuracy, n = 2;
    if (p->method == DATUS) names[2] = "mean F1", ours[2] = e->mean_f1, n = 3; /* DatUS²'s "Avg. F1" */
    if (p->task == EVAL_SALIENCY)
        names[0] = "accuracy", ours[0] = e->accuracy, names[1] = "IoU", ours[1] = e->iou, names[2] = "maxF_beta",
        ours[2] = e->max_f_beta, n = 3;
    if (p->task == EVAL_CORLOC) names[0] = "CorLoc", ours[0] = e->corloc, n = 1;
    printf("\n%s on %zu images; published: %s\n  %-10s %8s %10s\n", p->name, e->images, p->source, "", "ours",
           "published");
    const int d = p->decimals ? p->decimals : 1; /* as the paper prints them */
    for (int i = 0; i < n; i++)
        isnan(p->published[i]) ? printf("  %-10s %8.*f %10s\n", names[i], d, 100 * ours[i], "-")
                               : printf("  %-10s %8.*f %10.*f\n", names[i], d, 100 * ours[i], d, p->published[i]);
}

static int write_json(const char *path, const protocol *p, const eval_scores *e) {
    char text[1024];
    const double ours[3][3] = {{e->miou, e->accuracy, e->mean_f1}, {e->accuracy, e->iou, e->max_f_beta}, {e->corloc}};
    const int n = p->method == DATUS || p->task == EVAL_SALIENCY ? 3 : p->task == EVAL_SEMSEG ? 2 : 1;
    int length = snprintf(text, sizeof text, "{\"protocol\": \"%s\", \"images\": %zu, \"ours\": [", p->name, e->images);
    for (int i = 0; i < n; i++) length += snprintf(text + length, sizeof text - (size_t)length, "%s%.9g", i ? ", " : "", 100 * ours[p->task][i]);
    length += snprintf(text + length, sizeof text - (size_t)length, "], \"published\": [");
    for (int i = 0; i < n; i++)
        length += isnan(p->published[i]) ? snprintf(text + length, sizeof text - (size_t)length, "%snull", i ? ", " : "")
                                         : snprintf(text + length, sizeof text - (size_t)length, "%s%.*f", i ? ", " : "", p->decimals ? p->decimals : 1,
                                                    p->published[i]);
    length += snprintf(text + length, sizeof text - (size_t)length, "], \"source\": \"%s\"}\n", p->source);
    if (cli_write_file(path, text, (size_t)length) == 0) return EXIT_OK;
    fprintf(stderr, "dinofeat paper: %s: %s\n", path, strerror(errno));
    return EXIT_INPUT;
}

/* HR-Dv2's evaluations crop images and masks alike to whole patches (dataset.multiple, unless
 * --set gives it). */
static int crop_to_patches(df_model *model) {
    int64_t patch = 14;
    df_model_info_int(model, DF_MODEL_INFO_PATCH, &patch);
    char setting[64];
    snprintf(setting, sizeof setting, "dataset.multiple=%lld", (long long)patch);
    return cli_default_setting(setting) == DF_OK ? EXIT_OK : cli_fail("paper", DF_E_INTERNAL);
}

/* NeCo's clustering protocol over the dataset, its feature cache kept in out: what it needs. */
static int neco_clustering(const request *r, const protocol *p, df_model *model, const char *out,
                           clustering_request *c_) {
    clustering_request c = {.data = r->data, .out = out, .json = r->json, .name = p->name, .source = p->source,
                            .model = model, .classes = p->classes};
    if (r->clusterings && clustering_parse_k(r->clusterings, c.k, &c.k_count) != 0)
        return cli_usage_error("paper", "--clusterings takes up to %d comma-separated K values of 2..100000, not '%s'",
                               CLUSTERING_MAX_K, r->clusterings);
    if (r->clusterings == NULL) c.k[0] = p->classes, c.k[1] = 300, c.k[2] = 500, c.k_count = 3;
    for (size_t j = 0; j < c.k_count; j++)
        c.published[j] = c.k[j] == p->classes ? p->published[0] : c.k[j] == 300 ? p->published[1]
                         : c.k[j] == 500                       ? p->published[2]
                                                               : NAN;
    *c_ = c;
    return EXIT_OK;
}

/* DatUS²'s pseudo masks of the dataset into out (its segment store beside them), K clusters and
 * the seed from the settings. */
static int datus_masks(const request *r, const protocol *p, df_model *model, const char *out) {
    df_options *settings = NULL;
    datus_images listing;
    memset(&listing, 0, sizeof listing);
    char *store = cli_suffixed(out, "/segments.dfds");
    int64_t seed = 0;
    df_status status = store ? cli_options_new(&settings) : DF_E_OUT_OF_MEMORY;
    if (status == DF_OK) status = df_options_get_int(settings, DF_PARAM_DATUS_SEED, &seed);
    if (status == DF_OK) status = df_options_set_int(settings, DF_PARAM_KMEANS_SEED, seed);
    if (status == DF_OK) status = df_options_set_int(settings, DF_PARAM_KMEANS_K, p->clusters ? p->clusters : p->classes);
    int code = status == DF_OK ? datus_images_open(r->data, settings, "paper", &listing) : cli_fail("paper", status);
    df_datus *run = NULL;
    int some_failed = 0;
    const datus_job job = {"paper", "datus.size", &listing, model, settings, store, out};
    if (code == EXIT_OK) code = datus_pseudo_masks(&job, &run, &some_failed);
    if (code == EXIT_OK && some_failed) code = EXIT_INPUT; /* a figure over part of the dataset is not the paper's */
    df_datus_free(run);
    datus_images_free(&listing);
    df_options_free(settings);
    free(store);
    return code;
}

/* NeCo's in-context protocol: what it needs, the --train-lists split into copy (freed by the
 * caller). A fraction row takes the official lists, the whole-split row none. */
static int neco_incontext(const request *r, const protocol *p, df_model *model, const char *out, char **copy,
                          incontext_request *c) {
    *c = (incontext_request){.data = r->data, .out = out, .json = r->json, .name = p->name, .source = p->source,
                             .train_split = p->train_split, .model = model, .classes = p->classes,
                             .memory_classes = p->memory_classes ? p->memory_classes : p->classes,
                             .unlabelled = p->unlabelled, .published = p->published[0]};
    if (p->fraction && r->train_lists == NULL)
        return cli_usage_error("paper", "%s needs --train-lists: the official 1/%ld subsets of the %s split (open-"
                               "hummingbird-eval's file_sets, five seeds)", p->name, p->fraction, p->train_split);
    if (!p->fraction && r->train_lists)
        return cli_usage_error("paper", "%s builds its memory from the whole %s split; the subsets' rows (%s-8, -64, "
                               "-128) take --train-lists", p->name, p->train_split, p->name);
    if (r->train_lists == NULL) return EXIT_OK;
    if ((*copy = strdup(r->train_lists)) == NULL) return cli_fail("paper", DF_E_OUT_OF_MEMORY);
    for (char *next = *copy, *list; (list = strsep(&next, ",")) != NULL;) {
        if (*list == '\0' || c->list_count == INCONTEXT_MAX_LISTS)
            return cli_usage_error("paper", "--train-lists takes 1..%d comma-separated files, not '%s'",
                                   INCONTEXT_MAX_LISTS, r->train_lists);
        c->lists[c->list_count++] = list;
    }
    return EXIT_OK;
}

static const protocol *find_protocol(const char *name) {
    for (size_t i = 0; name && i < PROTOCOL_COUNT; i++)
        if (strcmp(protocols[i].name, name) == 0) return &protocols[i];
    return NULL;
}

static int run(int argc, char **argv) {
    const int named = argc > 1 && argv[1][0] != '-';
    const protocol *p = find_protocol(named ? argv[1] : NULL);
    if (p == NULL)
        return cli_usage_error("paper", named ? "unknown protocol '%s' (dinofeat paper --help lists them)"
                                              : "a protocol comes first (dinofeat paper --help lists them)%s",
                               named ? argv[1] : "");
    for (int i = 0; i < 6 && p->settings[i]; i++)
        if (cli_default_setting(p->settings[i]) != DF_OK) return cli_fail("paper", DF_E_INTERNAL);
    request r;
    int code = cli_rows_parse(&paper_command, -1, argc - 1, argv + 1, &r, NULL);
    char *default_out = cli_suffixed("paper-", p->name);
    const char *out = r.out ? r.out : default_out;
    run_state s = {.p = p, .out = out};
    if (code == EXIT_OK) code = model_args_open(&r.model, "paper", &s.model);
    if (code == EXIT_OK) code = open_method(&r, &s);
    if (code == EXIT_OK && p->method == HRDV2 && p->task != EVAL_CORLOC) code = crop_to_patches(s.model);
    if (code == EXIT_OK && out == NULL) code = cli_fail("paper", DF_E_OUT_OF_MEMORY);
    clustering_request clustering;
    if (code == EXIT_OK && p->method == NECO) code = neco_clustering(&r, p, s.model, out, &clustering);
    incontext_request incontext;
    char *lists = NULL;
    if (code == EXIT_OK && p->method == NECO_INCONTEXT) code = neco_incontext(&r, p, s.model, out, &lists, &incontext);
    if (code == EXIT_OK) code = check_record(argc, argv, out);
    const linear_request linear = {.data = r.data, .out = out, .json = r.json, .name = p->name, .source = p->source,
                                   .train_split = p->train_split, .train_fraction = p->train_fraction ? p->train_fraction : 1,
                                   .model = s.model, .classes = p->classes, .epochs = r.epochs, .batch = r.batch,
                                   .published = p->published[0]};
    if (code == EXIT_OK && p->method == NECO) code = paper_clustering(&clustering);
    else if (code == EXIT_OK && p->method == NECO_LINEAR) code = paper_linear(&linear);
    else if (code == EXIT_OK && p->method == NECO_INCONTEXT) code = paper_incontext(&incontext);
    else if (code == EXIT_OK && p->method == DATUS) code = datus_masks(&r, p, s.model, out);
    else if (code == EXIT_OK) code = cli_each_image("paper", r.data, out, "predicted", predict_one, &s);
    if (code == EXIT_OK && s.kept) printf("(%zu of them kept from an earlier run)\n", s.kept);
    eval_scores scores;
    const eval_request scoring = {.pred = out, .gt = r.data, .classes = p->classes, .task = p->task,
                                  .clusters = p->method == DATUS ? (p->clusters ? p->clusters : p->classes) : 0,
                                  .protocol = p->linear ? DF_MATCH_NONE : DF_MATCH_HUNGARIAN};
    const int scored_here = p->method != NECO && p->method != NECO_LINEAR && p->method != NECO_INCONTEXT;
    if (code == EXIT_OK && scored_here) code = eval_score(&scoring, &scores);
    if (code == EXIT_OK && scored_here) print_row(p, &scores);
    if (code == EXIT_OK && scored_here && r.json) code = write_json(r.json, p, &scores);
    if (code == EXIT_OK && scored_here && r.json) printf("wrote %s\n", r.json);
    df_options_free(s.options), df_options_free(s.crf);
    df_stego_free(s.head);
    df_sempart_free(s.sempart);
    df_model_free(s.model);
    free(default_out), free(lists);
    return code;
}

const cli_verb verb_paper = {"paper", "a paper's evaluation protocol on a distributed dataset, beside its figures",
                             run, &paper_command};
