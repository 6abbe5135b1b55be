/* dinofeat eval: scores a folder of predictions against a folder of ground truth. */
#include "cli.h"
#include "rows.h"
#include "scoring.h"
#include "dinofeat/eval.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const usages[] = {"--pred DIR --gt DIR --task semseg|saliency|corloc [options]", NULL};

static const char description[] =
    "Scores predictions against ground truth, file by file (a prediction is the file of the same\n"
    "name, any extension, in --pred; a missing one is an error), streaming over the dataset:\n"
    "  semseg    label-map PNGs (palette PNGs are read as their indices; 255 = ignore in the\n"
    "            ground truth, and in predictions unless --clusters exceeds 255: DatUS² marks\n"
    "            unlabelled pixels so): a clusters x classes confusion matrix, matched one-to-one by the\n"
    "            Hungarian method (clusters left unmatched count as errors) or many-to-one;\n"
    "            mIoU, pixel accuracy, mean F1 and per-class IoU\n"
    "  saliency  grey PNGs: the prediction 0..255 (soft or binary), the truth foreground > 127;\n"
    "            mean IoU, accuracy, maxF_beta (beta^2 = 0.3)\n"
    "  corloc    box lists: JSON as dinofeat segment / tokencut write them (every \"box\": [...])\n"
    "            or text with one 'x_min y_min x_max y_max' per line; CorLoc (IoU > 0.5)\n"
    "With --set dataset.layout=cocostuff27|cityscapes27|voc07|voc12|potsdam3|cocothings|ade20k|\n"
    "suim|... (semseg; dinofeat params lists them), ecssd|duts_te|dut_omron|cub (saliency) or\n"
    "voc07|voc12|coco20k (corloc: every object's box), and dataset.split,\n"
    "dataset.size, --gt is that dataset's root and its labels, mapped to the classes the papers\n"
    "score, are the truth; the prediction of image NAME is PRED/NAME with .png (.json or .txt for\n"
    "boxes), as the predict verbs write it given the same settings.\n"
    "Prints a table; --json also writes the figures.\n";

typedef eval_request request;

static const cli_row rows[] = {
    ROW_STRING("pred", "DIR", pred, "predictions", 0, CLI_ROW_REQUIRED),
    ROW_STRING("gt", "DIR", gt, "ground truth", 0, CLI_ROW_REQUIRED),
    ROW_CHOICE("task", "T", task, "semseg|saliency|corloc", "semseg, saliency or corloc", 0, CLI_ROW_REQUIRED),
    ROW_LONG("clusters", "K", clusters, 1, 1L << 30, "predicted labels 0..K-1 (default: the largest found + 1)", 0,
             CLI_ROW_NO_DEFAULT),
    ROW_LONG("classes", "C", classes, 1, 1L << 30, "true classes 0..C-1 (default: the largest found + 1, 255 excepted)",
             0, CLI_ROW_NO_DEFAULT),
    ROW_CHOICE("protocol", "P", protocol, "hungarian|many-to-one|hungarian-iou|none",
               "clusters to classes: hungarian (most matched pixels), many-to-one, hungarian-iou\n"
               "(largest IoU sum: NeCo's K = classes) or none (a probe's classes as they are)"),
    ROW_STRING("json", "FILE", json, "the scores as JSON"),
};

/* --protocol's values, in df_match's order. */
static const char *const match_names[] = {"hungarian", "many-to-one", "hungarian-iou", "none"};

static const cli_command eval_command = {
    .verb = "eval", .usages = usages, .description = description, .rows = rows,
    .row_count = sizeof rows / sizeof rows[0], .epilogue = "Exit status: 0 ok, 1 usage, 2 input error, 3 internal.\n",
    .request_size = sizeof(request)};

typedef struct pair_list {
    char **gt, **pred;
    size_t count;
    df_dataset *truth; /* a distributed dataset's labels in place of gt's files */
} pair_list;

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static size_t stem_length(const char *name) {
    const char *dot = strrchr(name, '.');
    return dot && dot != name ? (size_t)(dot - name) : strlen(name);
}

static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = malloc(n);
    if (path) snprintf(path, n, "%s/%s", dir, name);
    return path;
}

static void free_pairs(pair_list *p) {
    df_dataset_free(p->truth);
    for (size_t i = 0; i < p->count; i++) free(p->gt[i]), free(p->pred[i]);
    free(p->gt);
    free(p->pred);
}

/* Every visible file of a folder, sorted. */
static int list_files(const char *dir, char ***names, size_t *count) {
    DIR *d = opendir(dir);
    if (d == NULL) return -1;
    size_t capacity = 64;
    *names = malloc(capacity * sizeof **names);
    *count = 0;
    for (struct dirent *e; *names && (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.') continue;
        if (*count == capacity) {
            char **grown = realloc(*names, (capacity *= 2) * sizeof **names);
            if (grown == NULL) break;
            *names = grown;
        }
        (*names)[(*count)++] = strdup(e->d_name);
    }
    closedir(d);
    if (*names == NULL) return -1;
    qsort(*names, *count, sizeof **names, by_name);
    return 0;
}

static int pair_files(const request *r, pair_list *pairs) {
    char **gt = NULL, **pred = NULL;
    size_t ngt = 0, npred = 0;
    memset(pairs, 0, sizeof *pairs);
    const char *failed = list_files(r->gt, &gt, &ngt) != 0 ? r->gt : list_files(r->pred, &pred, &npred) != 0 ? r->pred : NULL;
    int code = EXIT_OK;
    if (failed) {
        fprintf(stderr, "dinofeat eval: %s: %s\n", failed, strerror(errno));
        code = EXIT_INPUT;
    } else if (ngt == 0) {
        fprintf(stderr, "dinofeat eval: %s holds no files\n", r->gt);
        code = EXIT_INPUT;
    }
    pairs->gt = calloc(ngt + 1, sizeof *pairs->gt);
    pairs->pred = calloc(ngt + 1, sizeof *pairs->pred);
    for (size_t i = 0; code == EXIT_OK && i < ngt; i++) {
        size_t stem = stem_length(gt[i]), found = npred;
        for (size_t j = 0; j < npred && found == npred; j++)
            if (stem_length(pred[j]) == stem && strncmp(pred[j], gt[i], stem) == 0) found = j;
        if (found == npred) {
            fprintf(stderr, "dinofeat eval: no prediction for %s/%s in %s\n", r->gt, gt[i], r->pred);
            code = EXIT_INPUT;
            break;
        }
        pairs->gt[i] = join(r->gt, gt[i]);
        pairs->pred[i] = join(r->pred, pred[found]);
        pairs->count = i + 1;
    }
    for (size_t i = 0; i < ngt; i++) free(gt[i]);
    for (size_t i = 0; i < npred; i++) free(pred[i]);
    free(gt);
    free(pred);
    return code;
}

/* With --set dataset.layout: the ground truth is that dataset at --gt, its labels mapped as the
 * papers score them (and resized as dataset.size says); the prediction of item NAME is
 * PRED/NAME with .png, as the predicting verbs write it. */
static int pair_dataset(const request *r, pair_list *pairs, int boxes) {
    df_options *o = NULL;
    size_t count = 0;
    df_status status = cli_options_new(&o);
    if (status == DF_OK) status = df_dataset_open(r->gt, NULL, o, &pairs->truth);
    if (status == DF_OK) status = df_dataset_count(pairs->truth, &count);
    df_options_free(o);
    if (status == DF_OK && ((pairs->gt = calloc(count + 1, sizeof *pairs->gt)) == NULL ||
                            (pairs->pred = calloc(count + 1, sizeof *pairs->pred)) == NULL))
        status = DF_E_OUT_OF_MEMORY;
    for (size_t i = 0; status == DF_OK && i < count; i++) {
        const char *name;
        df_dataset_name(pairs->truth, i, &name, NULL);
        const size_t stem = stem_length(name), n = strlen(r->pred) + stem + 7;
        if ((pairs->pred[i] = malloc(n)) == NULL || (pairs->gt[i] = strdup(name)) == NULL) status = DF_E_OUT_OF_MEMORY;
        else snprintf(pairs->pred[i], n, "%s/%.*s.%s", r->pred, (int)stem, name, boxes ? "json" : "png");
        /* boxes: a segmenter's JSON, or a text file of them */
        if (status == DF_OK && boxes && access(pairs->pred[i], R_OK) != 0) strcpy(pairs->pred[i] + strlen(pairs->pred[i]) - 4, "txt");
        pairs->count = i + 1;
        if (status == DF_OK && access(pairs->pred[i], R_OK) != 0) {
            fprintf(stderr, "dinofeat eval: no prediction for %s: %s: %s\n", name, pairs->pred[i], strerror(errno));
            return EXIT_INPUT;
        }
    }
    return status == DF_OK ? EXIT_OK : cli_fail("eval", status);
}

/* An int32 copy of a one-channel label image. */
static df_status label_values(const df_image *image, int32_t **labels, size_t *w, size_t *h) {
    *w = df_image_width(image), *h = df_image_height(image);
    *labels = malloc(*w * *h * sizeof **labels);
    const void *p = df_image_pixels((df_image *)image);
    for (size_t i = 0; *labels && i < *w * *h; i++)
        (*labels)[i] = df_image_bit_depth(image) == 16 ? ((const uint16_t *)p)[i] : ((const uint8_t *)p)[i];
    return *labels ? DF_OK : DF_E_OUT_OF_MEMORY;
}

/* A single-channel label map as int32; palette PNGs give their indices. */
static df_status load_labels(const char *path, int32_t **labels, size_t *w, size_t *h) {
    df_image *image = NULL;
    df_status status = weak_load_labels(path, &image);
    if (status != DF_OK) return status;
    if (df_image_channels(image) != 1) {
        fprintf(stderr, "dinofeat eval: %s: a label map must have one channel (grey or palette), not %zu\n", path,
                df_image_channels(image));
        df_image_free(image);
        return DF_E_FORMAT;
    }
    status = label_values(image, labels, w, h);
    df_image_free(image);
    return status;
}

/* Item i's true labels: its label file, or the distributed dataset's mapped labels. */
static df_status load_truth(const pair_list *pairs, size_t i, int32_t **labels, size_t *w, size_t *h) {
    if (pairs->truth == NULL) return load_labels(pairs->gt[i], labels, w, h);
    df_image *marks = NULL;
    df_status status = df_dataset_get(pairs->truth, i, NULL, &marks);
    if (status == DF_OK) status = label_values(marks, labels, w, h);
    df_image_free(marks);
    return status;
}

static int load_pair(const pair_list *pairs, size_t i, int32_t **pred, int32_t **gt, size_t *n) {
    size_t pw, ph, gw, gh;
    df_status status = load_labels(pairs->pred[i], pred, &pw, &ph);
    if (status == DF_OK) status = load_truth(pairs, i, gt, &gw, &gh);
    if (status != DF_OK) return cli_fail("eval", status);
    if (pw != gw || ph != gh) {
        fprintf(stderr, "dinofeat eval: %s is %zu x %zu, %s is %zu x %zu\n", pairs->pred[i], pw, ph, pairs->gt[i], gw, gh);
        return EXIT_INPUT;
    }
    *n = pw * ph;
    return EXIT_OK;
}

/* The scores as a JSON file (the whole file or none); the text is built in memory first. */
static FILE *begin_json(const char *path, char **text, size_t *size) { return path ? open_memstream(text, size) : NULL; }

/* text and size are the memory stream's: closing it sets them. */
static int finish_json(FILE *f, const char *path, char **text, const size_t *size) {
    if (f == NULL) return EXIT_OK;
    int code = EXIT_OK;
    if (fclose(f) != 0 || cli_write_file(path, *text, *size) != 0) {
        fprintf(stderr, "dinofeat eval: %s: cannot write: %s\n", path, strerror(errno ? errno : EIO));
        code = EXIT_INPUT;
    }
    free(*text);
    return code;
}

/* Unlabelled predicted pixels (255, DatUS²'s noise) are not scored, as the protocol says for
 * initial pseudo masks; with more than 255 clusters, 255 is a cluster like any other. */
static void drop_unlabelled(const request *r, int32_t *pred, int32_t *gt, size_t n) {
    if (r->clusters > DF_IGNORE_LABEL) return;
    for (size_t p = 0; p < n; p++)
        if (pred[p] == DF_IGNORE_LABEL) pred[p] = 0, gt[p] = DF_IGNORE_LABEL;
}

static int eval_semseg(const request *r, const pair_list *pairs, eval_scores *scores) {
    long clusters = r->clusters, classes = r->classes;
    int code = EXIT_OK;
    for (size_t i = 0; code == EXIT_OK && (r->clusters <= 0 || r->classes <= 0) && i < pairs->count; i++) {
        int32_t *pred = NULL, *gt = NULL;
        size_t n = 0;
        code = load_pair(pairs, i, &pred, &gt, &n);
        if (code == EXIT_OK) drop_unlabelled(r, pred, gt, n);
        for (size_t p = 0; code == EXIT_OK && p < n; p++) {
            if (r->clusters <= 0 && pred[p] + 1 > clusters) clusters = pred[p] + 1;
            if (r->classes <= 0 && gt[p] != DF_IGNORE_LABEL && gt[p] + 1 > classes) classes = gt[p] + 1;
        }
        free(pred), free(gt);
    }
    df_confusion *confusion = NULL;
    if (code == EXIT_OK && (clusters <= 0 || classes <= 0)) {
        fprintf(stderr, "dinofeat eval: no labelled pixels\n");
        code = EXIT_INPUT;
    }
    if (code == EXIT_OK && df_confusion_new((size_t)clusters, (size_t)classes, &confusion) != DF_OK)
        code = cli_fail("eval", DF_E_INVALID_ARG);
    for (size_t i = 0; code == EXIT_OK && i < pairs->count; i++) {
        int32_t *pred = NULL, *gt = NULL;
        size_t n = 0;
        code = load_pair(pairs, i, &pred, &gt, &n);
        if (code == EXIT_OK) drop_unlabelled(r, pred, gt, n);
        if (code == EXIT_OK && df_confusion_add(confusion, pred, gt, n) != DF_OK) {
            fprintf(stderr, "dinofeat eval: %s / %s: %s\n", pairs->pred[i], pairs->gt[i], df_last_error_message());
            code = EXIT_INPUT;
        }
        free(pred), free(gt);
    }
    double miou = 0, accuracy = 0, f1 = 0, *iou = calloc((size_t)(classes > 0 ? classes : 1), sizeof *iou);
    if (code == EXIT_OK && df_confusion_scores(confusion, (df_match)r->protocol, &miou, &accuracy, &f1, iou) != DF_OK)
        code = cli_fail("eval", DF_E_INTERNAL);
    if (code == EXIT_OK) {
        printf("semseg: %zu images, %ld clusters, %ld classes, %s matching\n", pairs->count, clusters, classes,
               match_names[r->protocol]);
        printf("  %-8s %8s\n", "class", "IoU");
        for (long c = 0; c < classes; c++) printf("  %-8ld %8.4f\n", c, iou[c]);
        printf("  mIoU %.4f   accuracy %.4f   mean F1 %.4f\n", miou, accuracy, f1);
        scores->miou = miou, scores->accuracy = accuracy, scores->mean_f1 = f1;
        char *text = NULL;
        size_t size = 0;
        FILE *f = begin_json(r->json, &text, &size);
        if (f) {
            fprintf(f, "{\"task\": \"semseg\", \"images\": %zu, \"clusters\": %ld, \"classes\": %ld, \"protocol\": \"%s\", "
                       "\"miou\": %.9g, \"accuracy\": %.9g, \"mean_f1\": %.9g, \"iou\": [",
                    pairs->count, clusters, classes, match_names[r->protocol], miou, accuracy, f1);
            for (long c = 0; c < classes; c++)
                isnan(iou[c]) ? fprintf(f, "%snull", c ? ", " : "") : fprintf(f, "%s%.9g", c ? ", " : "", iou[c]);
            fprintf(f, "]}\n");
        }
        code = finish_json(f, r->json, &text, &size);
    }
    free(iou);
    df_confusion_free(confusion);
    return code;
}

static df_status load_grey(const char *path, uint8_t **out, size_t *w, size_t *h) {
    df_image *image = NULL, *grey = NULL;
    df_status status = df_image_load(path, NULL, &image);
    if (status == DF_OK) status = df_image_convert(image, 1, &grey);
    if (status == DF_OK && df_image_bit_depth(grey) != 8) status = DF_E_UNSUPPORTED;
    if (status == DF_OK) {
        *w = df_image_width(grey), *h = df_image_height(grey);
        *out = malloc(*w * *h);
        if (*out) memcpy(*out, df_image_pixels(grey), *w * *h);
        else status = DF_E_OUT_OF_MEMORY;
    }
    df_image_free(image);
    df_image_free(grey);
    return status;
}

/* Item i's true mask from a distributed saliency set. */
static df_status dataset_mask(const df_dataset *truth, size_t i, uint8_t **out, size_t *w, size_t *h) {
    df_image *mask = NULL;
    df_status status = df_dataset_get(truth, i, NULL, &mask);
    if (status == DF_OK && df_image_bit_depth(mask) != 8) status = DF_E_UNSUPPORTED;
    if (status == DF_OK) {
        *w = df_image_width(mask), *h = df_image_height(mask);
        *out = malloc(*w * *h);
        if (*out) memcpy(*out, df_image_pixels(mask), *w * *h);
        else status = DF_E_OUT_OF_MEMORY;
    }
    df_image_free(mask);
    return status;
}

static int eval_saliency(const request *r, const pair_list *pairs, eval_scores *scores) {
    df_saliency *s = NULL;
    int code = df_saliency_new(&s) == DF_OK ? EXIT_OK : EXIT_INTERNAL;
    for (size_t i = 0; code == EXIT_OK && i < pairs->count; i++) {
        uint8_t *pred = NULL, *gt = NULL;
        size_t pw = 0, ph = 0, gw = 0, gh = 0;
        df_status status = load_grey(pairs->pred[i], &pred, &pw, &ph);
        if (status == DF_OK) status = pairs->truth ? dataset_mask(pairs->truth, i, &gt, &gw, &gh) : load_grey(pairs->gt[i], &gt, &gw, &gh);
        if (status != DF_OK) code = cli_fail("eval", status);
        else if (pw != gw || ph != gh) {
            fprintf(stderr, "dinofeat eval: %s is %zu x %zu, %s is %zu x %zu\n", pairs->pred[i], pw, ph, pairs->gt[i], gw, gh);
            code = EXIT_INPUT;
        } else {
            df_saliency_add(s, pred, gt, pw * ph);
        }
        free(pred), free(gt);
    }
    double iou = 0, accuracy = 0, f = 0;
    if (code == EXIT_OK) {
        df_saliency_scores(s, &iou, &accuracy, &f);
        scores->iou = iou, scores->accuracy = accuracy, scores->max_f_beta = f;
        printf("saliency: %zu images\n  IoU %.4f   accuracy %.4f   maxF_beta %.4f\n", pairs->count, iou, accuracy, f);
        char *text = NULL;
        size_t size = 0;
        FILE *out = begin_json(r->json, &text, &size);
        if (out)
            fprintf(out, "{\"task\": \"saliency\", \"images\": %zu, \"iou\": %.9g, \"accuracy\": %.9g, \"max_f_beta\": %.9g}\n",
                    pairs->count, iou, accuracy, f);
        code = finish_json(out, r->json, &text, &size);
    }
    df_saliency_free(s);
    return code;
}

/* The boxes of a box file (new); its error said. */
static int read_boxes(const char *path, int32_t **boxes, size_t *count) {
    df_status status = df_boxes_load(path, NULL, 0, count);
    if (status == DF_OK && (*boxes = malloc((*count ? *count : 1) * 4 * sizeof **boxes)) == NULL) status = DF_E_OUT_OF_MEMORY;
    if (status == DF_OK) status = df_boxes_load(path, *boxes, *count, count);
    if (status != DF_OK) fprintf(stderr, "dinofeat eval: %s\n", df_last_error_message());
    return status == DF_OK ? 0 : -1;
}

/* Item i's true boxes from a distributed dataset (new); its error said. */
static int dataset_boxes(const df_dataset *truth, size_t i, int32_t **boxes, size_t *count) {
    df_status status = df_dataset_boxes(truth, i, NULL, 0, count);
    if (status == DF_OK && (*boxes = malloc((*count ? *count : 1) * 4 * sizeof **boxes)) == NULL) status = DF_E_OUT_OF_MEMORY;
    if (status == DF_OK) status = df_dataset_boxes(truth, i, *boxes, *count, count);
    if (status != DF_OK) fprintf(stderr, "dinofeat eval: %s\n", df_last_error_message());
    return status == DF_OK ? 0 : -1;
}

static int eval_corloc(const request *r, const pair_list *pairs, eval_scores *scores) {
    size_t hits = 0;
    int code = EXIT_OK;
    for (size_t i = 0; code == EXIT_OK && i < pairs->count; i++) {
        int32_t *pred = NULL, *gt = NULL;
        size_t np = 0, ng = 0;
        const int failed = read_boxes(pairs->pred[i], &pred, &np) != 0 ||
                           (pairs->truth ? dataset_boxes(pairs->truth, i, &gt, &ng) : read_boxes(pairs->gt[i], &gt, &ng)) != 0;
        int hit = 0;
        if (failed) /* read_boxes said why */
            code = EXIT_INPUT;
        else if (df_corloc_hit(pred, np, gt, ng, &hit) != DF_OK) {
            code = cli_fail("eval", DF_E_INVALID_ARG);
        }
        hits += (size_t)hit;
        free(pred), free(gt);
    }
    if (code == EXIT_OK) {
        double corloc = (double)hits / (double)pairs->count;
        scores->corloc = corloc;
        printf("corloc: %zu images, %zu hits\n  CorLoc %.4f\n", pairs->count, hits, corloc);
        char *text = NULL;
        size_t size = 0;
        FILE *out = begin_json(r->json, &text, &size);
        if (out)
            fprintf(out, "{\"task\": \"corloc\", \"images\": %zu, \"hits\": %zu, \"corloc\": %.9g}\n", pairs->count, hits,
                    corloc);
        code = finish_json(out, r->json, &text, &size);
    }
    return code;
}

int eval_score(const eval_request *r, eval_scores *scores) {
    eval_scores ignored;
    if (scores == NULL) scores = &ignored;
    memset(scores, 0, sizeof *scores);
    pair_list pairs = {0};
    int64_t layout = 0;
    df_options *settings = NULL;
    if (cli_options_new(&settings) == DF_OK) df_options_get_int(settings, DF_PARAM_DATASET_LAYOUT, &layout);
    df_options_free(settings);
    int code = layout != DF_DATASET_LAYOUT_FOLDER ? pair_dataset(r, &pairs, r->task == EVAL_CORLOC) : pair_files(r, &pairs);
    scores->images = pairs.count;
    if (code == EXIT_OK)
        code = r->task == EVAL_SEMSEG     ? eval_semseg(r, &pairs, scores)
               : r->task == EVAL_SALIENCY ? eval_saliency(r, &pairs, scores)
                                          : eval_corloc(r, &pairs, scores);
    if (code == EXIT_OK && r->json) printf("wrote %s\n", r->json);
    if (code != EXIT_OK && r->json && errno) fprintf(stderr, "dinofeat eval: %s: %s\n", r->json, strerror(errno));
    free_pairs(&pairs);
    return code;
}

static int run(int argc, char **argv) {
    request r;
    int code = cli_rows_parse(&eval_command, -1, argc, argv, &r, NULL);
    return code == EXIT_OK ? eval_score(&r, NULL) : code;
}

const cli_verb verb_eval = {"eval", "score predictions against ground truth: semseg, saliency, corloc", run,
                           &eval_command};
