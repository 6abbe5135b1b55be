/* dinofeat stego: STEGO's KNN table, training of the segmentation head, prediction. */
#include "cli.h"
#include "draw.h"
#include "folder.h"
#include "model_args.h"
#include "training.h"
#include "dinofeat/cache.h"
#include "dinofeat/crf.h"
#include "dinofeat/distributed.h"
#include "dinofeat/stego.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const subverbs[] = {"knn", "train", "predict", NULL};

static const char *const usages[] = {
    "knn --model M --images DIR --out FILE [options]",
    "train --model M --images DIR --knn FILE --out FILE [options]",
    "predict --model M --head FILE (--image FILE --out FILE | --images DIR --out-dir D) [options]",
    NULL};

static const char description[] =
    "STEGO (Hamilton et al. 2022): a segmentation head trained to reproduce the backbone's feature\n"
    "correspondences, and a cluster probe over its codes.\n";

static const char *const summaries[] = {
    "\nknn: five-crops every image (half its width and height), resizes each crop (short side,\n"
    "centre square, --side), stores their patch features in a cache file (--cache, default\n"
    "OUT.dffeat; an interrupted run resumes) and writes each crop's 30 nearest crops (cosine of\n"
    "average-pooled features).\n",
    "\ntrain: trains on the cache (built or completed if needed, default KNN.dffeat) with KNN\n"
    "partners from ranks 1..7: the loss terms every --log-every steps on stdout, every step in\n"
    "OUT.csv, a checkpoint in OUT every --log-every steps and the loss curves in OUT.png at the\n"
    "end. Run it again with a larger --steps to continue from OUT. Under dinofeat launch (or\n"
    "torchrun's variables) the ranks split every batch: the same steps, N processes.\n",
    "\npredict: cluster labels of an image (features of it and of its mirror image, averaged),\n"
    "optionally refined by the dense CRF with STEGO's parameters; a label PNG of the image's\n"
    "size. Score folders with: dinofeat eval --task semseg.\n",
    NULL};

typedef struct request {
    const char *images, *labels, *out, *cache, *knn, *head, *image, *out_dir, *overlay;
    long size, k, steps, batch, classes, seed, log_every;
    int crf, paper, linear;
    int classes_set, seed_set; /* given on the command line: a resumed training must agree */
    model_args model;
} request;

#define KNN (1u << 0)
#define TRAIN (1u << 1)
#define PREDICT (1u << 2)

static const cli_row rows[] = {
    ROW_STRING("images", "DIR", images, "images (PNG/JPEG, subfolders included)"),
    ROW_STRING("labels", "DIR", labels,
               "label PNGs of the images (same relative names, .png; 255 ignored): they\n"
               "also train the linear probe, whose loss then appears in the CSV",
               KNN | TRAIN),
    ROW_STRING("out", "FILE", out, "knn: the KNN table; train: the head (.dfstego); predict: the label PNG"),
    ROW_STRING("cache", "FILE", cache, "the feature cache", KNN | TRAIN),
    ROW_LONG("side", "S", size, 8, 4096, "crops and images are resized to S (short side) and centre-cropped"),
    ROW_LONG("k", "K", k, 2, 4096, "neighbours kept per crop", KNN),
    ROW_STRING("knn", "FILE", knn, "the KNN table of stego knn", TRAIN),
    ROW_LONG("steps", "N", steps, 1, 100000000, "total steps to reach", TRAIN),
    ROW_LONG("batch", "N", batch, 1, 4096, "crops per step", TRAIN),
    {"classes", CLI_ROW_LONG, "C", "cluster-probe classes", offsetof(request, classes), offsetof(request, classes_set),
     0, 1, 65536, NULL, TRAIN, CLI_ROW_MARK_GIVEN},
    {"seed", CLI_ROW_LONG, "N", "the trainer's seed", offsetof(request, seed), offsetof(request, seed_set), 0, 0,
     2147483647, NULL, TRAIN, CLI_ROW_MARK_GIVEN},
    ROW_LONG("log-every", "N", log_every, 1, 100000000, "steps between printed losses and checkpoints", TRAIN),
    ROW_CHOICE("preset", "P", paper, "code|paper", "code (the official code's loss weights) or paper (Table 6)", TRAIN),
    ROW_STRING("head", "FILE", head, "a trained head (.dfstego)", PREDICT),
    ROW_STRING("image", "FILE", image, "one image", PREDICT),
    ROW_STRING("out-dir", "DIR", out_dir, "label PNGs of the same names (with --images)", PREDICT),
    ROW_STRING("overlay", "FILE", overlay, "the image with its clusters in colour (with --image)", PREDICT),
    ROW_SWITCH("crf", crf, "refine with the dense CRF (STEGO's parameters)", PREDICT),
    ROW_CHOICE("probe", "P", linear, "cluster|linear",
               "cluster (the cluster probe's clusters) or linear (the linear probe's classes, trained with\n"
               "--labels: score them with eval --protocol none)",
               PREDICT),
    MODEL_ROWS(model),
};

static void init(void *request_) {
    request *r = request_;
    *r = (request){.size = 224, .k = 30, .steps = 5000, .batch = 16, .classes = 27, .log_every = 50};
    model_args_init(&r->model);
}

static const cli_command stego_command = {
    .verb = "stego", .subverbs = subverbs, .usages = usages, .summaries = summaries, .description = description,
    .rows = rows, .row_count = sizeof rows / sizeof rows[0],
    .epilogue = CLI_TRAINING_EPILOGUE,
    .request_size = sizeof(request), .init = init};

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
        df_options *o = NULL;
        if (status == DF_OK) status = cli_options_new(&o);
        if (status == DF_OK) status = cli_resume_on_device(df_stego_trainer(*out), o, DF_PARAM_STEGO_DEVICE);
        df_options_free(o);
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

/* The CSV log's columns the loss curves show. */
static const char *const stego_curves[] = {"total", "self", "knn", "random", "cluster"};

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
    cli_step_log log = {.log_every = (uint64_t)r->log_every, .trainer = df_stego_trainer(trainer), .shown = "total"};
    cli_training_bar_init(&log.bar, done);
    if (code == EXIT_OK && rank == 0 && cli_step_log_open(&log, csv, done) != 0) {
        fprintf(stderr, "dinofeat stego train: %s: %s\n", csv, strerror(errno));
        code = EXIT_INPUT;
    }
    if (code == EXIT_OK) {
        cli_catch_stop_signals();
        df_status status = df_stego_train(trainer, cache, table, k, r->labels ? dataset : NULL, (size_t)r->steps,
                                          (size_t)r->batch, rank == 0 ? r->out : NULL, (size_t)r->log_every,
                                          cli_step_log_report, &log);
        cli_training_bar_clear(&log.bar);
        int64_t steps = 0;
        df_stego_steps(trainer, &steps);
        code = cli_training_end("stego train", status, log.write_error, steps, rank == 0 ? r->out : NULL);
    }
    code = cli_close_step_log("stego train", code, log.csv, csv, png, stego_curves, 5);
    if (code == EXIT_OK && rank == 0) printf("wrote %s (losses in %s, curves in %s)\n", r->out, csv, png);
    df_stego_free(trainer);
    free(table);
    df_feature_cache_free(cache);
    df_dataset_free(dataset);
    free(cache_path), free(csv), free(png);
    df_distributed_shutdown();
    return code;
}

/* Cluster labels of one image at its size, CRF-refined with STEGO's parameters when asked. */
static df_status predict_labels(const request *r, const df_stego *head, df_model *model, const df_image *rgb,
                                int32_t *labels) {
    df_options *crf = NULL;
    df_status status = r->crf ? cli_options_new(&crf) : DF_OK;
    if (status == DF_OK && r->crf) status = df_crf_preset_apply(crf, DF_CRF_PRESET_STEGO);
    if (status == DF_OK)
        status = (r->linear ? df_stego_segment_linear : df_stego_segment)(head, model, rgb, (size_t)r->size, crf, labels);
    df_options_free(crf);
    return status;
}

/* The labels of image (named name in errors) into the label PNG out, and its overlay when asked. */
static int predict_image(const request *r, const df_stego *head, df_model *model, const df_image *image,
                         const char *name, const char *out, const char *overlay) {
    const size_t w = df_image_width(image), h = df_image_height(image);
    df_image *rgb = NULL;
    int32_t *labels = malloc(w * h * sizeof *labels);
    df_status status = labels ? predict_labels(r, head, model, image, labels) : DF_E_OUT_OF_MEMORY;
    if (status == DF_OK) status = cli_write_label_png(labels, w, h, out);
    if (status == DF_OK && overlay) status = df_image_convert(image, 3, &rgb);
    if (status == DF_OK && overlay)
        status = cli_write_overlay_png(df_image_pixels(rgb), w, h, labels, NULL, NULL, NULL, 0, NULL, overlay);
    if (status != DF_OK) fprintf(stderr, "dinofeat stego predict: %s: %s\n", name, df_last_error_message());
    free(labels);
    df_image_free(rgb);
    return status == DF_OK ? EXIT_OK : status == DF_E_OUT_OF_MEMORY || status == DF_E_INTERNAL ? EXIT_INTERNAL : EXIT_INPUT;
}

typedef struct folder_run {
    const request *r;
    const df_stego *head;
    df_model *model;
} folder_run;

static int predict_into_folder(void *context, const df_image *image, const char *name) {
    const folder_run *run = context;
    char *out = cli_output_name(run->r->out_dir, name, ".png");
    int code = out ? predict_image(run->r, run->head, run->model, image, name, out, NULL) : EXIT_INPUT;
    if (out == NULL) fprintf(stderr, "dinofeat stego predict: %s: %s\n", run->r->out_dir, strerror(errno));
    free(out);
    return code;
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
        df_image *rgb = NULL;
        df_status loaded = cli_load_rgb(r->image, 0, 0, &rgb);
        code = loaded == DF_OK ? predict_image(r, head, model, rgb, r->image, r->out, r->overlay) : cli_fail("stego predict", loaded);
        df_image_free(rgb);
        if (code == EXIT_OK) printf("wrote %s\n", r->out);
        if (code == EXIT_OK && r->overlay) printf("wrote %s\n", r->overlay);
    } else if (code == EXIT_OK)
        code = cli_each_image("stego predict", r->images, r->out_dir, "segmented", predict_into_folder,
                              &(folder_run){r, head, model});
    df_stego_free(head);
    return code;
}

static int run(int argc, char **argv) {
    if (argc < 2) return cli_usage_error("stego", "a sub-command is required: knn, train or predict");
    const int which = cli_subverb_index(&stego_command, argv[1]);
    if (which < 0) return cli_usage_error("stego", "unknown sub-command '%s' (knn, train or predict)", argv[1]);
    request r;
    int code = cli_rows_parse(&stego_command, which, argc - 1, argv + 1, &r, NULL);
    df_model *model = NULL;
    if (code == EXIT_OK) code = model_args_open(&r.model, "stego", &model);
    if (code == EXIT_OK) code = which == 0 ? knn_command(&r, model) : which == 1 ? train_command(&r, model) : predict_command(&r, model);
    df_model_free(model);
    return code;
}

const cli_verb verb_stego = {"stego", "STEGO: KNN table, head training, cluster prediction", run, &stego_command};
