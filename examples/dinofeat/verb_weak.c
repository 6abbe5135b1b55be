/* dinofeat weak: train a classifier from scribbles, and segment images with it. */
#include "classical_args.h"
#include "cli.h"
#include "draw.h"
#include "folder.h"
#include "model_args.h"
#include "output.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static const char help[] =
    "Usage: dinofeat weak train --image I --labels L.png [--image I2 --labels L2.png ...]\n"
    "                           [--features classical|deep|hybrid] [--model M]\n"
    "                           [--classifier rf|logreg] [--groups G,...] --out clf.dfclf\n"
    "       dinofeat weak predict --classifier clf.dfclf [--model M] --image I [--crf] --out seg.png\n"
    "                             [--overlay ov.png] [--proba proba.npy]\n"
    "       dinofeat weak predict --classifier clf.dfclf [--model M] --images DIR --out-dir DIR2\n"
    "       dinofeat weak live --image I --script S [--out seg.png] [--save clf.dfclf]\n"
    "\n"
    "Weakly supervised segmentation (HR-Dv2 section 3.3, Trainable Weka style): paint a few strokes\n"
    "per class, train, segment the whole image, apply the classifier to new images. Label images\n"
    "are PNGs where 0 = unlabelled and 1..C = classes (palette PNGs are read as their indices, grey\n"
    "PNGs as their values). Features: the classical stack of HR-Dv2's featuriser (58 channels by\n"
    "default, other groups with --groups; no neural weights needed),\n"
    "deep (HR-Dv2 upsampled features of --model; images larger than 518 px are featurised\n"
    "resized, and the result resized back) or hybrid (both, each channel min-max scaled).\n"
    "Classifiers (balanced class weights): a random forest (the default for classical features)\n"
    "or logistic regression (the default for deep and hybrid). The classifier file records the\n"
    "model it needs; predicting with another is refused.\n"
    "\n"
    "train options:\n"
    "  --image FILE        a grey or colour image, 8 or 16 bits (repeat with --labels for several)\n"
    "  --labels FILE       its label image, the same size\n"
    "  --features F        classical (default), deep or hybrid (these need --model)\n"
    "  --classifier C      rf or logreg (default: rf for classical, logreg otherwise)\n"
    "  --trees N           trees of the forest (default 200)\n"
    "  --stride S          patch stride of the upsampling views (default 4)\n"
    "  --shifts D,D,...    shift distances of the views (default 1,2)\n"
    "  --no-flips          no flipped views\n"
    "  --seed N            the forest's seed (default 0)\n"
    "  --out FILE          the classifier file to write (.dfclf, required)\n"
    CLASSICAL_ARGS_HELP
    "predict options:\n"
    "  --classifier FILE   a .dfclf file (required)\n"
    "  --image FILE        one image, with --out (a label PNG of classes 1..C)\n"
    "  --images DIR        every PNG/JPEG of a folder, with --out-dir (label PNGs of the same names)\n"
    "  --crf               refine with the dense CRF (HR-Dv2's parameters)\n"
    "  --model FILE        the backbone a deep or hybrid classifier was trained with\n"
    "  --overlay FILE      the image with each class in its colour, .png (single image)\n"
    "  --proba FILE        per-class probabilities, (H, W, C) float32 .npy (single image)\n"
    "live options (an interactive tool's loop, replayed; classical features and the options above):\n"
    "  --image FILE        the image being labelled\n"
    "  --script FILE       one action per line: 'stroke CLASS RADIUS X,Y [X,Y ...]' paints a polyline,\n"
    "                      'erase RADIUS X,Y [X,Y ...]' erases, 'labels FILE.png' sets its labelled\n"
    "                      pixels; '#' starts a comment. After each, the forest is refit and the\n"
    "                      view predicted, and the step's latency printed\n"
    "  --view X,Y,W,H      the region predicted after each step (default the whole image)\n"
    "  --trees N           trees of the live forest (default 100, as ilastik's live update)\n"
    "  --full-trees N      trees of the classifier --save writes (default 200)\n"
    "  --out FILE          the final segmentation of the whole image, a label PNG\n"
    "  --save FILE         a classifier (.dfclf) trained on the final scribbles\n"
    "model options (deep and hybrid):\n" MODEL_ARGS_HELP
    "  -h, --help          this text\n"
    "\n"
    "Exit status: 0 ok, 1 usage, 2 input error, 3 internal.\n";

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
    static const struct option options[] = {
        {"image", required_argument, NULL, 'i'},    {"labels", required_argument, NULL, 'l'},
        {"features", required_argument, NULL, 'f'}, {"classifier", required_argument, NULL, 'c'},
        {"trees", required_argument, NULL, 't'},    {"seed", required_argument, NULL, 's'},
        {"out", required_argument, NULL, 'o'},      {"shifts", required_argument, NULL, 'S'},
        {"no-flips", no_argument, NULL, 'F'},       MODEL_ARGS_OPTIONS,
        CLASSICAL_ARGS_OPTIONS,                     {NULL, 0, NULL, 0}};
    const char *images[MAX_IMAGES], *labels[MAX_IMAGES], *out = NULL;
    size_t ni = 0, nl = 0;
    df_options *o = NULL;
    if (cli_options_new(&o) != DF_OK) return cli_fail("weak train", DF_E_OUT_OF_MEMORY);
    model_args margs;
    model_args_init(&margs);
    int code = EXIT_OK;
    optind = 1;
    opterr = 0;
    for (int option; code == EXIT_OK && (option = getopt_long(argc, argv, ":", options, NULL)) != -1;) {
        int handled = option == 1005 ? 0 : model_args_parse(&margs, option, optarg, "weak train");
        if (handled == 0) handled = classical_args_parse(o, option, optarg, "weak train");
        if (handled < 0) code = EXIT_USAGE;
        if (handled) continue;
        char *end;
        switch (option) {
        case 'i':
        case 'l':
            if ((option == 'i' ? ni : nl) == MAX_IMAGES) code = cli_usage_error("weak train", "at most %d images", MAX_IMAGES);
            else if (option == 'i') images[ni++] = optarg;
            else labels[nl++] = optarg;
            break;
        case 'f': {
            int set = strcmp(optarg, "classical") == 0 ? DF_WEAK_CLASSICAL
                      : strcmp(optarg, "deep") == 0    ? DF_WEAK_DEEP
                      : strcmp(optarg, "hybrid") == 0  ? DF_WEAK_HYBRID
                                                       : -1;
            if (set < 0) code = cli_usage_error("weak train", "--features takes classical, deep or hybrid, not '%s'", optarg);
            else df_options_set_int(o, DF_PARAM_WEAK_FEATURES, set);
            break;
        }
        case 'c':
            if (strcmp(optarg, "rf") == 0) df_options_set_int(o, DF_PARAM_WEAK_CLASSIFIER, DF_WEAK_FOREST);
            else if (strcmp(optarg, "logreg") == 0) df_options_set_int(o, DF_PARAM_WEAK_CLASSIFIER, DF_WEAK_LOGREG);
            else code = cli_usage_error("weak train", "--classifier takes rf or logreg, not '%s'", optarg);
            break;
        case 1005: /* --stride: the views' stride */
            if (df_options_set_int(o, DF_PARAM_UPS_STRIDE, strtol(optarg, &end, 10)) != DF_OK || *end)
                code = cli_usage_error("weak train", "--stride takes a number of pixels >= 1, not '%s'", optarg);
            break;
        case 'S':
            if (df_options_set_str(o, DF_PARAM_UPS_SHIFTS, optarg) != DF_OK) code = cli_fail("weak train", DF_E_INVALID_ARG);
            break;
        case 'F': df_options_set_int(o, DF_PARAM_UPS_FLIPS, DF_UPS_FLIPS_OFF); break;
        case 't':
        case 's':
            if (df_options_set_int(o, option == 't' ? DF_PARAM_FOREST_TREES : DF_PARAM_FOREST_SEED,
                                   strtoll(optarg, &end, 10)) != DF_OK || *end || end == optarg)
                code = cli_usage_error("weak train", "%s does not take '%s'", option == 't' ? "--trees" : "--seed", optarg);
            break;
        case 'o': out = optarg; break;
        case ':': code = cli_usage_error("weak train", "%s needs a value", argv[optind - 1]); break;
        default: code = cli_usage_error("weak train", "unknown option '%s'", argv[optind - 1]); break;
        }
    }
    if (code == EXIT_OK && optind < argc) code = cli_usage_error("weak train", "unexpected argument '%s'", argv[optind]);
    if (code == EXIT_OK && (ni == 0 || ni != nl))
        code = cli_usage_error("weak train", "give each --image its --labels (%zu images, %zu label images)", ni, nl);
    if (code == EXIT_OK && out == NULL) code = cli_usage_error("weak train", "--out FILE is required");
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
    return code;
}

typedef struct predict_request {
    const char *classifier, *image, *images, *out, *out_dir, *overlay, *proba;
    int crf;
} predict_request;

static int predict_one(const df_weak *weak, df_model *model, const df_options *o, const char *path, const char *out,
                       const char *overlay, const char *proba) {
    df_image *image = NULL, *rgb = NULL;
    df_status status = df_image_load(path, NULL, &image);
    size_t classes = 0, w = image ? df_image_width(image) : 0, h = image ? df_image_height(image) : 0;
    df_weak_classes(weak, &classes);
    float *p = status == DF_OK ? malloc(w * h * classes * sizeof *p) : NULL;
    int32_t *labels = status == DF_OK ? malloc(w * h * sizeof *labels) : NULL;
    if (status == DF_OK && (p == NULL || labels == NULL)) status = DF_E_OUT_OF_MEMORY;
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
    df_image_free(image);
    df_image_free(rgb);
    return code;
}

static int predict_folder(const df_weak *weak, df_model *model, const df_options *o, const predict_request *r) {
    DIR *d = opendir(r->images);
    if (d == NULL) {
        fprintf(stderr, "dinofeat weak predict: %s: %s\n", r->images, strerror(errno));
        return EXIT_INPUT;
    }
    if (mkdir(r->out_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "dinofeat weak predict: %s: %s\n", r->out_dir, strerror(errno));
        closedir(d);
        return EXIT_INPUT;
    }
    char **names = NULL;
    size_t count = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.' || !cli_is_image_name(e->d_name)) continue;
        char **grown = realloc(names, (count + 1) * sizeof *names);
        if (grown == NULL) break;
        names = grown;
        names[count++] = strdup(e->d_name);
    }
    closedir(d);
    cli_progress progress;
    cli_progress_init(&progress, "weak predict");
    int code = EXIT_OK, failures = 0;
    for (size_t i = 0; i < count; i++) {
        char in[4096], out[4096];
        snprintf(in, sizeof in, "%s/%s", r->images, names[i]);
        char *dot = strrchr(names[i], '.');
        *dot = 0;
        snprintf(out, sizeof out, "%s/%s.png", r->out_dir, names[i]);
        if (predict_one(weak, model, o, in, out, NULL, NULL) != EXIT_OK) failures++;
        cli_progress_report(&progress, i + 1, count, "images");
        free(names[i]);
    }
    free(names);
    printf("segmented %zu image(s) into %s%s\n", count - (size_t)failures, r->out_dir, failures ? "" : "");
    if (failures) {
        fprintf(stderr, "dinofeat weak predict: %d image(s) failed (listed above)\n", failures);
        code = EXIT_INPUT;
    }
    return code;
}

static int predict(int argc, char **argv) {
    static const struct option options[] = {
        {"classifier", required_argument, NULL, 'c'}, {"image", required_argument, NULL, 'i'},
        {"images", required_argument, NULL, 'I'},     {"out", required_argument, NULL, 'o'},
        {"out-dir", required_argument, NULL, 'O'},    {"overlay", required_argument, NULL, 'v'},
        {"proba", required_argument, NULL, 'p'},      {"crf", no_argument, NULL, 'C'},
        MODEL_ARGS_OPTIONS,
        {NULL, 0, NULL, 0}};
    predict_request r = {0};
    model_args margs;
    model_args_init(&margs);
    int code = EXIT_OK;
    optind = 1;
    opterr = 0;
    for (int option; code == EXIT_OK && (option = getopt_long(argc, argv, ":", options, NULL)) != -1;) {
        int handled = model_args_parse(&margs, option, optarg, "weak predict");
        if (handled < 0) code = EXIT_USAGE;
        if (handled) continue;
        switch (option) {
        case 'c': r.classifier = optarg; break;
        case 'i': r.image = optarg; break;
        case 'I': r.images = optarg; break;
        case 'o': r.out = optarg; break;
        case 'O': r.out_dir = optarg; break;
        case 'v': r.overlay = optarg; break;
        case 'p': r.proba = optarg; break;
        case 'C': r.crf = 1; break;
        case ':': code = cli_usage_error("weak predict", "%s needs a value", argv[optind - 1]); break;
        default: code = cli_usage_error("weak predict", "unknown option '%s'", argv[optind - 1]); break;
        }
    }
    if (code == EXIT_OK && optind < argc) code = cli_usage_error("weak predict", "unexpected argument '%s'", argv[optind]);
    if (code == EXIT_OK && r.classifier == NULL) code = cli_usage_error("weak predict", "--classifier FILE is required");
    if (code == EXIT_OK && !((r.image && r.out && !r.images) || (r.images && r.out_dir && !r.image)))
        code = cli_usage_error("weak predict", "give --image FILE --out FILE, or --images DIR --out-dir DIR");
    df_weak *weak = NULL;
    df_options *o = NULL;
    df_model *model = NULL;
    if (code == EXIT_OK && margs.path) code = model_args_open(&margs, "weak predict", &model);
    if (code == EXIT_OK) {
        df_status status = df_weak_load(r.classifier, &weak);
        if (status == DF_OK) status = cli_options_new(&o);
        if (status == DF_OK) df_options_set_int(o, DF_PARAM_WEAK_CRF, r.crf);
        if (status != DF_OK) code = cli_fail("weak predict", status);
    }
    if (code == EXIT_OK && r.image) {
        code = predict_one(weak, model, o, r.image, r.out, r.overlay, r.proba);
        if (code == EXIT_OK) {
            printf("wrote %s\n", r.out);
            if (r.overlay) printf("wrote %s\n", r.overlay);
            if (r.proba) printf("wrote %s\n", r.proba);
        }
    } else if (code == EXIT_OK) {
        code = predict_folder(weak, model, o, &r);
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

const cli_verb verb_weak = {"weak", "weakly supervised segmentation from scribbles: train, predict, live", help, run};
