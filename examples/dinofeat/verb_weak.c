/* dinofeat weak: train a classifier from scribbles, and segment images with it. */
#include "cli.h"
#include "draw.h"
#include "folder.h"
#include "model_args.h"
#include "output.h"
#include "verb_weak.h"
#include "dinofeat/upsample.h"
#include "dinofeat/weak.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const subverbs[] = {"train", "predict", "live", NULL};

static const char *const usages[] = {
    "train (--image FILE --labels FILE)... --out FILE [options]",
    "predict --classifier FILE (--image FILE --out FILE | --images DIR --out-dir D) [options]",
    "live --image FILE --script FILE [options]",
    NULL};

static const char description[] =
    "Weakly supervised segmentation (HR-Dv2 section 3.3, Trainable Weka style): paint a few strokes\n"
    "per class, train, segment the whole image, apply the classifier to new images. Label images\n"
    "are PNGs where 0 = unlabelled and 1..C = classes (palette PNGs are read as their indices, grey\n"
    "PNGs as their values). Features: the classical stack of HR-Dv2's featuriser (58 channels by\n"
    "default, other groups with --groups; no neural weights needed),\n"
    "deep (HR-Dv2 upsampled features of --model; images larger than 518 px are featurised\n"
    "resized, and the result resized back) or hybrid (both, each channel min-max scaled).\n"
    "Classifiers (balanced class weights): a random forest (the default for classical features)\n"
    "or logistic regression (the default for deep and hybrid). The classifier file records the\n"
    "model it needs; predicting with another is refused.\n";

static const char *const summaries[] = {
    "\ntrain: a classifier from images and their scribbles, written to --out.\n",
    "\npredict: one image (--image, --out) or a folder (--images, --out-dir) segmented.\n",
    "\nlive: an interactive tool's loop, replayed: the classical features once, then after each\n"
    "action of --script the live forest refit on every labelled pixel and the --view predicted,\n"
    "with the step's latency.\n",
    NULL};

#define TRAIN (1u << WEAK_TRAIN)
#define PREDICT (1u << WEAK_PREDICT)
#define LIVE (1u << WEAK_LIVE)

static const cli_row rows[] = {
    ROW_STRINGS("image", "FILE", images, image_count,
                "a grey or colour image, 8 or 16 bits (repeat with --labels for several)", TRAIN),
    ROW_STRINGS("labels", "FILE", labels, label_count, "its label image, the same size", TRAIN),
    ROW_PARAM("features", "F", DF_PARAM_WEAK_FEATURES, "classical, deep or hybrid (these need --model)", TRAIN),
    ROW_PARAM("method", "C", DF_PARAM_WEAK_CLASSIFIER,
              "forest or logreg; auto: forest for classical features, logreg otherwise", TRAIN),
    ROW_PARAM("trees", "N", DF_PARAM_FOREST_TREES, "trees of the forest (live: of the classifier --save writes)",
              TRAIN | LIVE),
    ROW_PARAM("seed", "N", DF_PARAM_FOREST_SEED, "the forest's seed", TRAIN | LIVE),
    ROW_STRING("out", "FILE", out, "the classifier file to write (.dfclf)", TRAIN, CLI_ROW_REQUIRED),
    ROW_STRING("image", "FILE", image, "one image, with --out (a label PNG of classes 1..C)", PREDICT),
    ROW_STRING("image", "FILE", image, "the image being labelled", LIVE, CLI_ROW_REQUIRED),
    ROW_STRING("classifier", "FILE", classifier, "a .dfclf file", PREDICT, CLI_ROW_REQUIRED),
    ROW_STRING("images", "DIR", folder, "every PNG/JPEG of a folder, subfolders included, with --out-dir (label\nPNGs of the same relative names)",
               PREDICT),
    ROW_STRING("out", "FILE", out, "the label PNG of --image", PREDICT),
    ROW_STRING("out-dir", "DIR", out_dir, "the label PNGs of --images", PREDICT),
    ROW_PARAM_FIXED("crf", DF_PARAM_WEAK_CRF, "1", "refine with the dense CRF (HR-Dv2's parameters)", PREDICT),
    ROW_STRING("overlay", "FILE", overlay, "the image with each class in its colour, .png (single image)", PREDICT),
    ROW_STRING("proba", "FILE", proba, "per-class probabilities, (H, W, C) float32 .npy (single image)", PREDICT),
    ROW_STRING("script", "FILE", script,
               "one action per line: 'stroke CLASS RADIUS X,Y [X,Y ...]' paints a polyline,\n"
               "'erase RADIUS X,Y [X,Y ...]' erases, 'labels FILE.png' sets its labelled\n"
               "pixels; '#' starts a comment",
               LIVE, CLI_ROW_REQUIRED),
    ROW_STRING("view", "X,Y,W,H", view, "the region predicted after each step (default the whole image)", LIVE,
               CLI_ROW_NO_DEFAULT),
    ROW_PARAM("live-trees", "N", DF_PARAM_WEAK_LIVE_TREES, "trees of the live forest (as ilastik's live update)", LIVE),
    ROW_STRING("out", "FILE", out, "the final segmentation of the whole image, a label PNG", LIVE),
    ROW_STRING("save", "FILE", save, "a classifier (.dfclf) trained on the final scribbles", LIVE),
    ROW_PARAM("groups", "G,G,...", DF_PARAM_CLASSICAL_GROUPS,
              "classical feature groups (gaussian,sobel,hessian,dog,membrane: the 58\n"
              "channels); also mean, median, minimum, maximum, entropy,\n"
              "structure, neighbours, derivatives, bilateral",
              TRAIN | LIVE),
    ROW_PARAM("min-sigma", "N", DF_PARAM_CLASSICAL_MIN_SIGMA,
              "smallest scale: 0 adds the scale-0 channels, -1 starts at 0.5", TRAIN | LIVE),
    ROW_PARAM("max-sigma", "N", DF_PARAM_CLASSICAL_MAX_SIGMA, "largest scale (scales double)", TRAIN | LIVE),
    ROW_PARAM("membrane-size", "N", DF_PARAM_CLASSICAL_MEMBRANE_SIZE, "side of the membrane kernel", TRAIN | LIVE),
    ROW_PARAM("membrane-thickness", "N", DF_PARAM_CLASSICAL_MEMBRANE_THICKNESS, "width of its line", TRAIN | LIVE),
    ROW_PARAM("stride", "S", DF_PARAM_UPS_STRIDE, "patch stride of the views' forward passes, in pixels", TRAIN),
    ROW_PARAM("shifts", "D,D,...", DF_PARAM_UPS_SHIFTS, "shift distances of the views in pixels ('' for none)", TRAIN),
    ROW_PARAM_FIXED("no-flips", DF_PARAM_UPS_FLIPS, "off", "no flipped views: the shifted ones only", TRAIN),
    MODEL_ROW_FILE(model, TRAIN | PREDICT, 0),
    MODEL_ROWS_OTHER(model, TRAIN | PREDICT),
};

static void init(void *r) { model_args_init(&((request *)r)->model); }

const cli_command weak_command = {
    .verb = "weak", .subverbs = subverbs, .usages = usages, .summaries = summaries, .description = description,
    .rows = rows, .row_count = sizeof rows / sizeof rows[0],
    .epilogue = "Model options are for deep and hybrid features.\n"
                "Exit status: 0 ok, 1 usage, 2 input error, 3 internal.\n",
    .request_size = sizeof(request), .init = init};

int weak_check_classical(const df_options *options, const char *verb) {
    size_t channels;
    if (df_classical_channels(options, &channels) == DF_OK) return EXIT_OK;
    const char *why = df_last_error_message();
    while (strncmp(why, "df_", 3) == 0 && strstr(why, ": ")) why = strstr(why, ": ") + 2;
    return cli_usage_error(verb, "--groups: %s", why);
}

#define MAX_IMAGES 256

df_status weak_load_labels(const char *path, df_image **out) {
    df_options *o = NULL;
    df_status status = cli_options_new(&o);
    if (status == DF_OK) df_options_set_int(o, DF_PARAM_IMAGE_PALETTE_INDICES, 1);
    if (status == DF_OK) status = df_image_load(path, o, out);
    df_options_free(o);
    return status;
}

static int train(int argc, char **argv) {
    request r;
    df_options *o = NULL;
    if (cli_options_new(&o) != DF_OK) return cli_fail("weak train", DF_E_OUT_OF_MEMORY);
    int code = cli_rows_parse(&weak_command, WEAK_TRAIN, argc, argv, &r, o);
    const char **images = r.images, **labels = r.labels, *out = r.out;
    size_t ni = r.image_count, nl = r.label_count;
    model_args margs = r.model;
    if (code == EXIT_OK && (ni == 0 || ni != nl))
        code = cli_usage_error("weak train", "give each --image its --labels (%zu images, %zu label images)", ni, nl);
    if (code == EXIT_OK && ni > MAX_IMAGES) code = cli_usage_error("weak train", "at most %d images", MAX_IMAGES);
    if (code == EXIT_OK) code = weak_check_classical(o, "weak train");
    int64_t set = DF_WEAK_CLASSICAL;
    df_options_get_int(o, DF_PARAM_WEAK_FEATURES, &set);
    if (code == EXIT_OK && set != DF_WEAK_CLASSICAL && margs.path == NULL)
        code = cli_usage_error("weak train", "--features deep and hybrid need --model FILE");
    if (code == EXIT_OK && set == DF_WEAK_CLASSICAL && margs.path != NULL)
        code = cli_usage_error("weak train", "--model is for --features deep or hybrid");
    df_model *model = NULL;
    if (code == EXIT_OK && margs.path) code = model_args_open(&margs, "weak train", &model);
    df_image *pictures[MAX_IMAGES] = {0}, *marks[MAX_IMAGES] = {0};
    for (size_t k = 0; code == EXIT_OK && k < ni; k++) {
        df_status status = df_image_load(images[k], NULL, &pictures[k]);
        if (status == DF_OK) status = weak_load_labels(labels[k], &marks[k]);
        if (status != DF_OK) code = cli_fail("weak train", status);
    }
    df_weak *weak = NULL;
    if (code == EXIT_OK) {
        fprintf(stderr, "dinofeat weak train: features and a classifier from %zu image(s)...\n", ni);
        df_status status = df_weak_train(model, (const df_image *const *)pictures, (const df_image *const *)marks, ni,
                                         o, &weak);
        if (status == DF_OK) status = df_weak_save(weak, out);
        code = status == DF_OK ? EXIT_OK : cli_fail("weak train", status);
    }
    if (code == EXIT_OK) {
        size_t classes = 0;
        df_weak_classes(weak, &classes);
        printf("trained: %zu classes from %zu image(s)\nwrote %s\n", classes, ni, out);
    }
    for (size_t k = 0; k < ni; k++) df_image_free(pictures[k]), df_image_free(marks[k]);
    df_weak_free(weak);
    df_model_free(model);
    df_options_free(o);
    free(images);
    free(labels);
    return code;
}

/* The labels of image into the label PNG out, its overlay and probabilities when asked. */
static int predict_image(const df_weak *weak, df_model *model, const df_options *o, const df_image *image,
                         const char *out, const char *overlay, const char *proba) {
    df_image *rgb = NULL;
    size_t classes = 0, w = df_image_width(image), h = df_image_height(image);
    df_weak_classes(weak, &classes);
    float *p = malloc(w * h * classes * sizeof *p);
    int32_t *labels = malloc(w * h * sizeof *labels);
    df_status status = p && labels ? DF_OK : DF_E_OUT_OF_MEMORY;
    if (status == DF_OK) status = df_weak_predict(weak, model, image, o, p, labels);
    if (status == DF_OK) status = cli_write_label_png(labels, w, h, out);
    if (status == DF_OK && overlay) status = df_image_convert(image, 3, &rgb);
    if (status == DF_OK && overlay)
        status = cli_write_overlay_png(df_image_pixels(rgb), w, h, labels, NULL, NULL, NULL, 0, NULL, overlay);
    int code = status == DF_OK ? EXIT_OK : cli_fail("weak predict", status);
    int64_t shape[3] = {(int64_t)h, (int64_t)w, (int64_t)classes};
    if (code == EXIT_OK && proba && cli_write_npy(proba, p, 3, shape) != 0) {
        fprintf(stderr, "dinofeat weak predict: %s: %s\n", proba, strerror(errno));
        code = EXIT_INPUT;
    }
    free(p);
    free(labels);
    df_image_free(rgb);
    return code;
}

typedef struct folder_run {
    const df_weak *weak;
    df_model *model;
    const df_options *options;
    const char *out_dir;
} folder_run;

static int predict_into_folder(void *context, const df_image *image, const char *name) {
    const folder_run *run = context;
    char *out = cli_output_name(run->out_dir, name, ".png");
    int code = out ? predict_image(run->weak, run->model, run->options, image, out, NULL, NULL) : EXIT_INPUT;
    if (out == NULL) fprintf(stderr, "dinofeat weak predict: %s: %s\n", run->out_dir, strerror(errno));
    free(out);
    return code;
}

static int predict(int argc, char **argv) {
    request r;
    df_options *o = NULL;
    if (cli_options_new(&o) != DF_OK) return cli_fail("weak predict", DF_E_OUT_OF_MEMORY);
    int code = cli_rows_parse(&weak_command, WEAK_PREDICT, argc, argv, &r, o);
    if (code == EXIT_OK && !((r.image && r.out && !r.folder) || (r.folder && r.out_dir && !r.image)))
        code = cli_usage_error("weak predict", "give --image FILE --out FILE, or --images DIR --out-dir DIR");
    df_weak *weak = NULL;
    df_model *model = NULL;
    if (code == EXIT_OK && r.model.path) code = model_args_open(&r.model, "weak predict", &model);
    if (code == EXIT_OK) {
        df_status status = df_weak_load(r.classifier, &weak);
        if (status != DF_OK) code = cli_fail("weak predict", status);
    }
    if (code == EXIT_OK && r.image) {
        df_image *image = NULL;
        df_status loaded = df_image_load(r.image, NULL, &image);
        code = loaded == DF_OK ? predict_image(weak, model, o, image, r.out, r.overlay, r.proba) : cli_fail("weak predict", loaded);
        df_image_free(image);
        if (code == EXIT_OK) {
            printf("wrote %s\n", r.out);
            if (r.overlay) printf("wrote %s\n", r.overlay);
            if (r.proba) printf("wrote %s\n", r.proba);
        }
    } else if (code == EXIT_OK) {
        code = cli_each_image("weak predict", r.folder, r.out_dir, "segmented", predict_into_folder,
                              &(folder_run){weak, model, o, r.out_dir});
    }
    df_model_free(model);
    df_weak_free(weak);
    df_options_free(o);
    return code;
}

static int run(int argc, char **argv) {
    if (argc < 2) return cli_usage_error("weak", "say train, predict or live");
    if (strcmp(argv[1], "train") == 0) return train(argc - 1, argv + 1);
    if (strcmp(argv[1], "predict") == 0) return predict(argc - 1, argv + 1);
    if (strcmp(argv[1], "live") == 0) return weak_live(argc - 1, argv + 1);
    return cli_usage_error("weak", "unknown sub-verb '%s': train, predict or live", argv[1]);
}

const cli_verb verb_weak = {"weak", "weakly supervised segmentation from scribbles: train, predict, live", run,
                            &weak_command};
