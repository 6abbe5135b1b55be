/* dinofeat stego: STEGO's KNN table, training of the segmentation head, prediction. */
#include "cli.h"
#include "draw.h"
#include "folder.h"
#include "model_args.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char help[] =
    "Usage: dinofeat stego knn --model M --images DIR --out knn.bin [--cache F] [--size 224] [--k 30]\n"
    "       dinofeat stego train --model M --images DIR --knn knn.bin --out head.dfstego [--cache F]\n"
    "                            [--steps 5000] [--batch 16] [--classes 27] [--log-every 50] [--preset code|paper]\n"
    "                            [--labels DIR]\n"
    "       dinofeat stego predict --head H --model M --image I --out labels.png [--overlay ov.png] [--crf]\n"
    "       dinofeat stego predict --head H --model M --images DIR --out-dir D [--crf]\n"
    "\n"
    "STEGO (Hamilton et al. 2022): a segmentation head trained to reproduce the backbone's feature\n"
    "correspondences, and a cluster probe over its codes.\n"
    "  knn      five-crops every image (half its width and height), resizes each crop (short side,\n"
    "           centre square, --size), stores their patch features in a cache file (--cache,\n"
    "           default OUT.dffeat; an interrupted run resumes) and writes each crop's 30 nearest\n"
    "           crops (cosine of average-pooled features)\n"
    "  train    trains on the cache (built or completed if needed, default KNN.dffeat) with KNN\n"
    "           partners from ranks 1..7: the loss terms every --log-every steps on stdout, every\n"
    "           step in OUT.csv, a checkpoint in OUT every --log-every steps and the loss curves in\n"
    "           OUT.png at the end (total blue, self orange, KNN green, random red, probe purple).\n"
    "           Run it again with a larger --steps to continue from OUT. Under dinofeat launch (or\n"
    "           torchrun's variables) the ranks split every batch: the same steps, N processes.\n"
    "  predict  cluster labels of an image (features of it and of its mirror image, averaged),\n"
    "           optionally refined by the dense CRF with STEGO's parameters; a label PNG of the\n"
    "           image's size. Score folders with: dinofeat eval --task semseg.\n"
    "\n"
    "Options:\n"
    "  --images DIR        images (PNG/JPEG, subfolders included)\n"
    "  --out FILE          knn: the KNN table; train: the head (.dfstego); predict: the label PNG\n"
    "  --cache FILE        the feature cache\n"
    "  --size S            crops and images are resized to S (short side; default 224)\n"
    "  --k K               neighbours kept per crop (default 30)\n"
    "  --knn FILE          the KNN table of stego knn\n"
    "  --labels DIR        label PNGs of the images (same relative names, .png; 255 ignored): they\n"
    "                      also train the linear probe, whose loss then appears in the CSV\n"
    "  --steps N           total steps to reach (default 5000)\n"
    "  --batch B           crops per step (default 16)\n"
    "  --classes C         cluster-probe classes (default 27)\n"
    "  --seed N            the trainer's seed (default 0)\n"
    "  --log-every N       steps between printed losses and checkpoints (default 50)\n"
    "  --preset P          code (the official code's loss weights, default) or paper (Table 6)\n"
    "  --head FILE         a trained head (.dfstego)\n"
    "  --image FILE        one image (predict)\n"
    "  --out-dir DIR       label PNGs of the same names (predict --images)\n"
    "  --overlay FILE      the image with its clusters in colour (predict --image)\n"
    "  --crf               refine with the dense CRF (STEGO's parameters)\n"
    "model options:\n" MODEL_ARGS_HELP
    "  -h, --help          this text\n"
    "\n"
    "Images that cannot be decoded are left out and listed. Ctrl-C or SIGTERM during training ends\n"
    "the step under way, saves the checkpoint and exits with 130 or 143: run the same command to\n"
    "resume.\n"
    "Exit status: 0 ok, 1 usage, 2 input error, 3 internal, 130/143 stopped by a signal (saved).\n";

typedef struct request {
    const char *images, *labels, *out, *cache, *knn, *head, *image, *out_dir, *overlay;
    long size, k, steps, batch, classes, seed, log_every;
    int crf, paper;
    int classes_set, seed_set; /* given on the command line: a resumed training must agree */
    model_args model;
} request;

static int parse(int argc, char **argv, request *r) {
    static const struct option options[] = {
        {"images", required_argument, NULL, 'i'},   {"out", required_argument, NULL, 'o'},
        {"cache", required_argument, NULL, 'c'},    {"size", required_argument, NULL, 's'},
        {"k", required_argument, NULL, 'k'},        {"knn", required_argument, NULL, 'n'},
        {"steps", required_argument, NULL, 'S'},    {"batch", required_argument, NULL, 'b'},
        {"classes", required_argument, NULL, 'C'},  {"seed", required_argument, NULL, 'e'},
        {"log-every", required_argument, NULL, 'l'}, {"preset", required_argument, NULL, 'p'},
        {"head", required_argument, NULL, 'H'},     {"image", required_argument, NULL, 'I'},
        {"out-dir", required_argument, NULL, 'O'},  {"overlay", required_argument, NULL, 'v'},
        {"crf", no_argument, NULL, 'r'},            {"labels", required_argument, NULL, 'L'},
        MODEL_ARGS_OPTIONS,
        {NULL, 0, NULL, 0}};
    static const cli_number numbers[] = {{'s', "--size", 8, 4096, offsetof(request, size)},
                   {'k', "--k", 2, 4096, offsetof(request, k)},
                   {'S', "--steps", 1, 100000000, offsetof(request, steps)},
                   {'b', "--batch", 1, 4096, offsetof(request, batch)},
                   {'C', "--classes", 1, 65536, offsetof(request, classes)},
                   {'e', "--seed", 0, 2147483647, offsetof(request, seed)},
                   {'l', "--log-every", 1, 100000000, offsetof(request, log_every)}};
    optind = 2; /* argv[1] is the sub-command */
    opterr = 0;
    for (int option; (option = getopt_long(argc, argv, ":", options, NULL)) != -1;) {
        const int handled = model_args_parse(&r->model, option, optarg, "stego");
        if (handled < 0) return EXIT_USAGE;
        if (handled) continue;
        const int number = cli_parse_number(numbers, sizeof numbers / sizeof *numbers, option, optarg, r, "stego");
        if (number < 0) return EXIT_USAGE;
        r->classes_set |= option == 'C', r->seed_set |= option == 'e';
        if (number) continue;
        switch (option) {
        case 'i': r->images = optarg; break;
        case 'L': r->labels = optarg; break;
        case 'o': r->out = optarg; break;
        case 'c': r->cache = optarg; break;
        case 'n': r->knn = optarg; break;
        case 'H': r->head = optarg; break;
        case 'I': r->image = optarg; break;
        case 'O': r->out_dir = optarg; break;
        case 'v': r->overlay = optarg; break;
        case 'r': r->crf = 1; break;
        case 'p':
            if (strcmp(optarg, "code") != 0 && strcmp(optarg, "paper") != 0)
                return cli_usage_error("stego", "--preset takes code or paper, not '%s'", optarg);
            r->paper = strcmp(optarg, "paper") == 0;
            break;
        case ':': return cli_usage_error("stego", "%s needs a value", argv[optind - 1]);
        default: return cli_usage_error("stego", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("stego", "unexpected argument '%s'", argv[optind]);
    return EXIT_OK;
}

/* The five-cropped, resized dataset and its feature cache, built or completed. */
static int cached_features(const request *r, df_model *model, const char *cache_path, df_dataset **dataset) {
    df_options *o = NULL;
    df_status status = cli_options_new(&o);
    if (status == DF_OK) status = df_options_set_int(o, DF_PARAM_DATASET_FIVE_CROP, 1);
    if (status == DF_OK) status = df_options_set_int(o, DF_PARAM_DATASET_SIZE, r->size);
    if (status == DF_OK) status = cli_open_dataset(r->images, r->labels, o, "stego", dataset);
    if (status == DF_OK) status = cli_build_cache(model, *dataset, cache_path, "stego");
    df_options_free(o);
    return status == DF_OK ? EXIT_OK : cli_fail("stego", status);
}

static int knn_command(request *r, df_model *model) {
    if (r->images == NULL || r->out == NULL) return cli_usage_error("stego knn", "--model, --images and --out are required");
    char *cache_path = r->cache ? strdup(r->cache) : cli_suffixed(r->out, ".dffeat");
    df_dataset *dataset = NULL;
    df_feature_cache *cache = NULL;
    int32_t *table = NULL;
    size_t items = 0;
    int code = cached_features(r, model, cache_path, &dataset);
    df_status status = DF_OK;
    if (code == EXIT_OK) status = df_feature_cache_open(cache_path, &cache);
    if (code == EXIT_OK && status == DF_OK) status = df_feature_cache_shape(cache, &items, NULL, NULL, NULL);
    const size_t k = items < (size_t)r->k ? items : (size_t)r->k;
    if (code == EXIT_OK && status == DF_OK && (table = malloc(items * k * sizeof *table)) == NULL) status = DF_E_OUT_OF_MEMORY;
    if (code == EXIT_OK && status == DF_OK) status = df_knn_table(cache, k, table);
    if (code == EXIT_OK && status == DF_OK) status = df_knn_save(r->out, table, items, k);
    if (code == EXIT_OK && status != DF_OK) code = cli_fail("stego knn", status);
    if (code == EXIT_OK) printf("knn: %zu crops, %zu neighbours each; wrote %s (features in %s)\n", items, k, r->out, cache_path);
    free(table);
    df_feature_cache_free(cache);
    df_dataset_free(dataset);
    free(cache_path);
    return code;
}

/* The KNN table of path (new), items x *k. */
static df_status load_knn(const char *path, int32_t **table, size_t *items, size_t *k) {
    df_status status = df_knn_load(path, NULL, 0, items, k);
    if (status == DF_OK && (*table = malloc(*items * *k * sizeof **table)) == NULL) status = DF_E_OUT_OF_MEMORY;
    if (status == DF_OK) status = df_knn_load(path, *table, *items * *k, items, k);
    return status;
}

/* The trainer in r->out to resume, or a new one for dim-channel features. */
static df_status open_trainer(const request *r, size_t dim, df_stego **out) {
    if (access(r->out, F_OK) == 0) {
        fprintf(stderr, "dinofeat stego: resuming from %s\n", r->out);
        df_status status = df_stego_load(r->out, out);
        int64_t classes = 0, seed = 0;
        if (status == DF_OK) status = df_stego_get_int(*out, DF_PARAM_STEGO_CLASSES, &classes);
        if (status == DF_OK) status = df_stego_get_int(*out, DF_PARAM_STEGO_SEED, &seed);
        /* a resumed training keeps its settings: a different one asked for is refused, not ignored */
        const char *option = NULL;
        long long had = 0, asked = 0;
        if (status == DF_OK && r->classes_set && classes != r->classes) option = "--classes", had = classes, asked = r->classes;
        else if (status == DF_OK && r->seed_set && seed != r->seed) option = "--seed", had = seed, asked = r->seed;
        if (option != NULL) {
            fprintf(stderr, "dinofeat stego train: %s was trained with %s %lld, not %lld: resume it with %s %lld, or "
                            "train anew into another --out\n", r->out, option, had, asked, option, had);
            df_stego_free(*out);
            *out = NULL;
            return DF_E_INVALID_ARG;
        }
        return status;
    }
    df_options *o = NULL;
    df_status status = cli_options_new(&o);
    if (status == DF_OK) status = df_options_set_int(o, DF_PARAM_STEGO_CLASSES, r->classes);
    if (status == DF_OK) status = df_options_set_int(o, DF_PARAM_STEGO_SEED, r->seed);
    if (status == DF_OK && r->paper) status = df_stego_preset_apply(o, DF_STEGO_PRESET_PAPER);
    if (status == DF_OK) status = df_stego_new(dim, o, out);
    df_options_free(o);
    return status;
}

/* Every row of the CSV log (step then 5 losses), as 5 series for the curve plot. */
static int plot_log(const char *csv, const char *png) {
    FILE *f = fopen(csv, "r");
    if (f == NULL) return -1;
    size_t count = 0, capacity = 1024;
    double *rows = malloc(capacity * 5 * sizeof *rows), v[5];
    char line[512];
    long step;
    while (rows && fgets(line, sizeof line, f))
        if (sscanf(line, "%ld,%lf,%lf,%lf,%lf,%lf", &step, &v[0], &v[1], &v[2], &v[3], &v[4]) == 6) {
            if (count == capacity) {
                double *grown = realloc(rows, (capacity *= 2) * 5 * sizeof *rows);
                if (grown == NULL) break;
                rows = grown;
            }
            memcpy(rows + count * 5, v, sizeof v);
            count++;
        }
    fclose(f);
    double *series = rows && count > 1 ? malloc(count * 5 * sizeof *series) : NULL;
    static const int order[5] = {3, 0, 1, 2, 4}; /* total first: the first colour */
    for (size_t s = 0; series && s < 5; s++)
        for (size_t i = 0; i < count; i++) series[s * count + i] = rows[i * 5 + (size_t)order[s]];
    const int failed = series == NULL || cli_write_curves_png(series, count, 5, png) != DF_OK;
    free(series);
    free(rows);
    return failed ? -1 : 0;
}

/* Steps up to --steps; rank 0 (log not NULL) writes each one's losses and every --log-every
 * steps prints them and checkpoints. */
static int train_steps(const request *r, df_stego *trainer, const df_feature_cache *cache, const int32_t *knn, size_t k,
                       const df_dataset *labels, FILE *log) {
    int64_t done = 0;
    df_stego_steps(trainer, &done);
    df_status status = DF_OK;
    for (int64_t s = done; status == DF_OK && s < r->steps; s++) {
        double l[6];
        status = df_stego_train(trainer, cache, knn, k, labels, 1, (size_t)r->batch, NULL, 0, NULL, NULL);
        if (status == DF_OK) df_stego_last_losses(trainer, l);
        if (status == DF_OK && log)
            fprintf(log, "%lld,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g\n", (long long)s + 1, l[0], l[1], l[2], l[3], l[4], l[5]);
        const int report = (s + 1) % r->log_every == 0 || s + 1 == r->steps, stop = cli_stop_signal() != 0;
        if (status == DF_OK && report && log) {
            printf("step %lld: total %.5f (self %.5f, knn %.5f, random %.5f), cluster probe %.5f\n", (long long)s + 1, l[3],
                   l[0], l[1], l[2], l[4]);
            fflush(stdout);
        }
        if (status == DF_OK && (report || stop) && log) {
            if (fflush(log) != 0) status = DF_E_IO, fprintf(stderr, "dinofeat stego train: the loss log: %s\n", strerror(errno));
            if (status == DF_OK) status = df_stego_save(trainer, r->out);
        }
        if (status == DF_OK && stop) return cli_stopped("stego train", s + 1, log ? r->out : NULL);
    }
    return status == DF_OK ? EXIT_OK : cli_fail("stego train", status);
}

/* The feature cache, the KNN table and the trainer (new or resumed) of a training. */
static int open_training(request *r, df_model *model, const char *cache_path, df_dataset **dataset,
                         df_feature_cache **cache, int32_t **table, size_t *k, df_stego **trainer) {
    size_t items = 0, cached = 0, dim = 0;
    /* the table first: a missing or broken one is refused before the folder is encoded */
    df_status status = load_knn(r->knn, table, &items, k);
    if (status != DF_OK) return cli_fail("stego train", status);
    int code = cached_features(r, model, cache_path, dataset);
    if (code == EXIT_OK) status = df_feature_cache_open(cache_path, cache);
    if (code == EXIT_OK && status == DF_OK) status = df_feature_cache_shape(*cache, &cached, NULL, NULL, &dim);
    if (code == EXIT_OK && status == DF_OK && items != cached) {
        fprintf(stderr, "dinofeat stego train: %s has %zu crops, the cache %zu: run stego knn on these images\n", r->knn,
                items, cached);
        code = EXIT_INPUT;
    }
    if (code == EXIT_OK && status == DF_OK) status = open_trainer(r, dim, trainer);
    if (code == EXIT_OK && status != DF_OK) code = cli_fail("stego train", status);
    return code;
}

static int train_command(request *r, df_model *model) {
    if (r->images == NULL || r->out == NULL || r->knn == NULL)
        return cli_usage_error("stego train", "--model, --images, --knn and --out are required");
    /* under dinofeat launch, torchrun or a cluster's launcher: join the data-parallel group */
    df_status joined = df_distributed_init(NULL);
    if (joined != DF_OK) return cli_fail("stego train", joined);
    char *cache_path = r->cache ? strdup(r->cache) : cli_suffixed(r->knn, ".dffeat"), *csv = cli_suffixed(r->out, ".csv"),
         *png = cli_suffixed(r->out, ".png");
    df_dataset *dataset = NULL;
    df_feature_cache *cache = NULL;
    df_stego *trainer = NULL;
    int32_t *table = NULL;
    size_t k = 0;
    int code = open_training(r, model, cache_path, &dataset, &cache, &table, &k, &trainer);
    int rank = 0;
    df_distributed_rank(&rank, NULL);
    int64_t done = 0;
    if (code == EXIT_OK) df_stego_steps(trainer, &done);
    /* rows past the checkpoint (a run stopped between two) are dropped: they will be redone */
    FILE *log = code == EXIT_OK && rank == 0 ? cli_open_step_log(csv, "step,self,knn,random,total,cluster,linear", done) : NULL;
    if (code == EXIT_OK && rank == 0 && log == NULL) {
        fprintf(stderr, "dinofeat stego train: %s: %s\n", csv, strerror(errno));
        code = EXIT_INPUT;
    }
    cli_catch_stop_signals();
    if (code == EXIT_OK) code = train_steps(r, trainer, cache, table, k, r->labels ? dataset : NULL, log);
    if (log && fclose(log) != 0 && code == EXIT_OK) {
        fprintf(stderr, "dinofeat stego train: %s: cannot write: %s\n", csv, strerror(errno));
        code = EXIT_INPUT;
    }
    if (code == EXIT_OK && rank == 0 && plot_log(csv, png) != 0)
        fprintf(stderr, "dinofeat stego train: no loss curves in %s\n", png);
    if (code == EXIT_OK && rank == 0) printf("wrote %s (losses in %s, curves in %s)\n", r->out, csv, png);
    df_stego_free(trainer);
    free(table);
    df_feature_cache_free(cache);
    df_dataset_free(dataset);
    free(cache_path), free(csv), free(png);
    df_distributed_shutdown();
    return code;
}

/* The (1, D, h, w) patch features of rgb resized so its short side is size (sides rounded to whole
 * patches), and of its mirror image when mirror is set. */
static df_status image_features(df_model *model, const df_image *rgb, long size, int mirror, df_tensor **out) {
    int64_t patch = 0, shape[4];
    df_status status = df_model_info_int(model, DF_MODEL_INFO_PATCH, &patch);
    const size_t w = df_image_width(rgb), h = df_image_height(rgb), shortest = w < h ? w : h;
    const double scale = (double)size / (double)shortest;
    const size_t nw = (size_t)fmax(1, lround(w * scale / patch)) * (size_t)patch,
                 nh = (size_t)fmax(1, lround(h * scale / patch)) * (size_t)patch;
    df_image *sized = NULL;
    df_tensor *x = NULL;
    df_forward *forward = NULL;
    const df_tensor *features = NULL;
    float *hwd = NULL, *dhw = NULL;
    if (status == DF_OK) status = df_image_resize(rgb, nw, nh, DF_RESIZE_BICUBIC, &sized);
    if (status == DF_OK && mirror) {
        uint8_t *p = df_image_pixels(sized);
        for (size_t y = 0; y < nh; y++)
            for (size_t a = 0, b = nw - 1; a < b; a++, b--)
                for (int c = 0; c < 3; c++) {
                    const uint8_t t = p[(y * nw + a) * 3 + c];
                    p[(y * nw + a) * 3 + c] = p[(y * nw + b) * 3 + c], p[(y * nw + b) * 3 + c] = t;
                }
    }
    if (status == DF_OK) status = df_image_to_tensor(sized, NULL, NULL, &x);
    if (status == DF_OK) status = df_model_forward(model, x, DF_OUTPUT_PATCH, &forward);
    if (status == DF_OK) status = df_forward_output(forward, DF_OUTPUT_PATCH, &features);
    if (status == DF_OK) status = df_tensor_shape(features, shape, 4);
    const size_t n = status == DF_OK ? (size_t)(shape[1] * shape[2] * shape[3]) : 0, cells = n ? (size_t)(shape[1] * shape[2]) : 0;
    if (status == DF_OK && ((hwd = malloc(n * sizeof *hwd)) == NULL || (dhw = malloc(n * sizeof *dhw)) == NULL))
        status = DF_E_OUT_OF_MEMORY;
    if (status == DF_OK) status = df_tensor_copy_to_host(features, hwd, n);
    for (size_t c = 0; status == DF_OK && c < (size_t)shape[3]; c++)
        for (size_t q = 0; q < cells; q++) dhw[c * cells + q] = hwd[q * (size_t)shape[3] + c];
    const int64_t chw[4] = {1, shape[3], shape[1], shape[2]};
    if (status == DF_OK) status = df_tensor_from_host(dhw, 4, chw, out);
    free(hwd), free(dhw);
    df_forward_free(forward);
    df_tensor_free(x);
    df_image_free(sized);
    return status;
}

/* Cluster labels of one image at its size, CRF-refined with STEGO's parameters when asked. */
static df_status predict_labels(const request *r, const df_stego *head, df_model *model, const df_image *rgb,
                                int32_t *labels) {
    const size_t w = df_image_width(rgb), h = df_image_height(rgb);
    size_t classes = 0;
    df_tensor *f = NULL, *g = NULL;
    df_options *crf = NULL;
    df_status status = df_stego_parameter(head, 6, NULL, NULL, 0, &classes);
    size_t code_dim = 0;
    if (status == DF_OK) status = df_stego_parameter(head, 1, NULL, NULL, 0, &code_dim);
    classes /= code_dim ? code_dim : 1;
    float *p = status == DF_OK && r->crf ? malloc(w * h * classes * sizeof *p) : NULL;
    if (status == DF_OK && r->crf && p == NULL) status = DF_E_OUT_OF_MEMORY;
    if (status == DF_OK) status = image_features(model, rgb, r->size, 0, &f);
    if (status == DF_OK) status = image_features(model, rgb, r->size, 1, &g);
    if (status == DF_OK) status = df_stego_predict(head, f, g, w, h, p, labels);
    if (status == DF_OK && r->crf) status = cli_options_new(&crf);
    if (status == DF_OK && r->crf) status = df_crf_preset_apply(crf, DF_CRF_PRESET_STEGO);
    if (status == DF_OK && r->crf)
        status = df_crf_infer(df_image_pixels((df_image *)rgb), w, h, p, classes, DF_CRF_PROBABILITIES, crf, NULL, labels);
    df_options_free(crf);
    free(p);
    df_tensor_free(f), df_tensor_free(g);
    return status;
}

static int predict_one(const request *r, const df_stego *head, df_model *model, const char *path, const char *out,
                       const char *overlay) {
    df_image *rgb = NULL;
    int32_t *labels = NULL;
    df_status status = cli_load_rgb(path, 0, 0, &rgb);
    const size_t w = rgb ? df_image_width(rgb) : 0, h = rgb ? df_image_height(rgb) : 0;
    if (status == DF_OK && (labels = malloc(w * h * sizeof *labels)) == NULL) status = DF_E_OUT_OF_MEMORY;
    if (status == DF_OK) status = predict_labels(r, head, model, rgb, labels);
    if (status == DF_OK) status = cli_write_label_png(labels, w, h, out);
    if (status == DF_OK && overlay)
        status = cli_write_overlay_png(df_image_pixels(rgb), w, h, labels, NULL, NULL, NULL, 0, NULL, overlay);
    if (status != DF_OK) fprintf(stderr, "dinofeat stego predict: %s: %s\n", path, df_last_error_message());
    free(labels);
    df_image_free(rgb);
    return status == DF_OK ? EXIT_OK : status == DF_E_OUT_OF_MEMORY || status == DF_E_INTERNAL ? EXIT_INTERNAL : EXIT_INPUT;
}

static int predict_folder(const request *r, const df_stego *head, df_model *model) {
    df_dataset *listing = NULL;
    size_t count = 0, failures = 0;
    df_status status = df_dataset_open(r->images, NULL, NULL, &listing);
    if (status == DF_OK) status = df_dataset_count(listing, &count);
    if (status != DF_OK) return cli_fail("stego predict", status);
    cli_progress progress;
    cli_progress_init(&progress, "stego");
    for (size_t i = 0; i < count; i++) {
        const char *name;
        df_dataset_name(listing, i, &name, NULL);
        char *png = cli_png_name(name), in[4096], out[4096];
        snprintf(in, sizeof in, "%s/%s", r->images, name);
        snprintf(out, sizeof out, "%s/%s", r->out_dir, png ? png : name);
        free(png);
        if (cli_make_parents(out) != 0 || predict_one(r, head, model, in, out, NULL) != EXIT_OK) failures++;
        cli_progress_report(&progress, i + 1, count, "images");
    }
    df_dataset_free(listing);
    printf("segmented %zu image(s) into %s\n", count - failures, r->out_dir);
    if (failures) fprintf(stderr, "dinofeat stego predict: %zu image(s) failed (listed above)\n", failures);
    return failures ? EXIT_INPUT : EXIT_OK;
}

static int predict_command(request *r, df_model *model) {
    if (r->head == NULL || (r->image == NULL) == (r->images == NULL))
        return cli_usage_error("stego predict", "--head, --model and one of --image or --images are required");
    if ((r->image && r->out == NULL) || (r->images && r->out_dir == NULL))
        return cli_usage_error("stego predict", "--image needs --out, --images needs --out-dir");
    df_stego *head = NULL;
    df_status status = df_stego_load(r->head, &head);
    if (status == DF_OK) status = df_stego_check_model(head, model);
    int code = status == DF_OK ? EXIT_OK : cli_fail("stego predict", status);
    if (code == EXIT_OK && r->image) {
        code = predict_one(r, head, model, r->image, r->out, r->overlay);
        if (code == EXIT_OK) printf("wrote %s\n", r->out);
    } else if (code == EXIT_OK)
        code = predict_folder(r, head, model);
    df_stego_free(head);
    return code;
}

static int run(int argc, char **argv) {
    if (argc < 2) return cli_usage_error("stego", "a sub-command is required: knn, train or predict");
    request r = {.size = 224, .k = 30, .steps = 5000, .batch = 16, .classes = 27, .log_every = 50};
    model_args_init(&r.model);
    const char *command = argv[1];
    const int which = strcmp(command, "knn") == 0 ? 0 : strcmp(command, "train") == 0 ? 1 : strcmp(command, "predict") == 0 ? 2 : -1;
    if (which < 0) return cli_usage_error("stego", "unknown sub-command '%s' (knn, train or predict)", command);
    int code = parse(argc, argv, &r);
    if (code == EXIT_OK && r.model.path == NULL) code = cli_usage_error("stego", "--model is required");
    df_model *model = NULL;
    if (code == EXIT_OK) code = model_args_open(&r.model, "stego", &model);
    if (code == EXIT_OK) code = which == 0 ? knn_command(&r, model) : which == 1 ? train_command(&r, model) : predict_command(&r, model);
    df_model_free(model);
    return code;
}

const cli_verb verb_stego = {"stego", "STEGO: KNN table, head training, cluster prediction", help, run};
