/* dinofeat sempart: training of the Sempart network on an image folder, and its saliency masks
 * and boxes for new images. */
#include "cli.h"
#include "draw.h"
#include "folder.h"
#include "model_args.h"
#include "training.h"
#include "dinofeat/cache.h"
#include "dinofeat/distributed.h"
#include "dinofeat/sempart.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const subverbs[] = {"train", "predict", NULL};

static const char *const usages[] = {
    "train --model M --images DIR --out FILE [options]",
    "predict --model M --sempart FILE (--image FILE | --images DIR) --out-dir D [options]",
    NULL};

static const char description[] =
    "Sempart (Ravindran and Basu 2023): a small network over the frozen backbone's patch features\n"
    "that predicts a coarse saliency mask on the patch grid and a fine one at 8x its resolution,\n"
    "trained without labels by the normalized cut of the patch graph, graph total variation and the\n"
    "two masks' agreement (the paper's weights, Adam at lr 1e-4).\n";

static const char *const summaries[] = {
    "\ntrain: resizes every image (short side --side, centre square), stores the patch features\n"
    "in a cache (--cache, default OUT.dffeat; an interrupted build resumes) and trains for\n"
    "--epochs epochs: the losses every --log-every steps on stdout, every step in OUT.csv,\n"
    "a checkpoint in OUT every --log-every steps and at the end, the loss curves in OUT.png.\n"
    "Run it again to continue from OUT (a larger --epochs trains further); OUT records the\n"
    "backbone it needs. Under dinofeat launch (or torchrun's variables) the ranks split every\n"
    "batch: the same steps, N processes.\n",
    "\npredict: for each image: D/masks/NAME.png (the fine mask at the image's size, grey: 255 x\n"
    "the foreground probability), D/coarse/NAME.png (the patch-grid mask),\n"
    "D/overlay/NAME.png (the image, the mask tinted, the boxes outlined) and\n"
    "D/boxes/NAME.json (\"boxes\": the largest component's box, the single-object\n"
    "prediction; \"components\": every component's box). Score them with\n"
    "dinofeat eval --task saliency --pred D/masks and --task corloc --pred D/boxes.\n",
    NULL};

typedef struct request {
    const char *images, *out, *cache, *sempart, *image, *out_dir;
    long size, epochs, batch, log_every;
    int branches; /* -1 unset (a resumed network keeps its own), else coarse, fine, both */
    model_args model;
} request;

#define TRAIN (1u << 0)
#define PREDICT (1u << 1)

static const cli_row rows[] = {
    ROW_STRING("images", "DIR", images, "images (PNG/JPEG, subfolders included)"),
    ROW_STRING("out", "FILE", out, "the trained network (.dfsempart)", TRAIN),
    ROW_STRING("cache", "FILE", cache, "the feature cache", TRAIN),
    ROW_LONG("side", "S", size, 16, 4096, "training images' side (320: a 40 x 40 grid at patch 8)", TRAIN),
    ROW_LONG("epochs", "N", epochs, 1, 1000000, "epochs to reach", TRAIN),
    ROW_LONG("batch", "N", batch, 1, 4096, "images per step; keep it when resuming", TRAIN),
    ROW_PARAM("seed", "N", DF_PARAM_SEMPART_SEED, "initial weights and epoch orders", TRAIN),
    ROW_CHOICE("branches", "B", branches, "coarse|fine|both",
               "both (default), coarse (encoder and coarse branch) or fine (fine branch,\n"
               "the rest fixed): the paper's ablation trains coarse, then fine",
               TRAIN, CLI_ROW_NO_DEFAULT),
    ROW_PARAM_FIXED("separate", DF_PARAM_SEMPART_JOINT, "0",
                    "the fine branch sees the encoder's output detached (new networks)", TRAIN),
    ROW_LONG("log-every", "N", log_every, 1, 100000000, "steps between printed losses and checkpoints", TRAIN),
    ROW_STRING("sempart", "FILE", sempart, "a trained network", PREDICT),
    ROW_STRING("image", "FILE", image, "one image", PREDICT),
    ROW_STRING("out-dir", "DIR", out_dir, "where predict writes", PREDICT, CLI_ROW_REQUIRED),
    ROW_PARAM("select", "R", DF_PARAM_SEMPART_SELECT,
              "which partition is the object: corners (touching fewer image corners),\n"
              "centrality, framing (not spanning the image), attention (more of the\n"
              "backbone's [CLS] attention)",
              PREDICT),
    MODEL_ROWS(model),
};

static void init(void *request_) {
    request *r = request_;
    *r = (request){.size = 320, .epochs = 20, .batch = 8, .log_every = 50, .branches = -1};
    model_args_init(&r->model);
}

static const cli_command sempart_command = {
    .verb = "sempart", .subverbs = subverbs, .usages = usages, .summaries = summaries, .description = description,
    .rows = rows, .row_count = sizeof rows / sizeof rows[0],
    .epilogue = CLI_TRAINING_EPILOGUE,
    .request_size = sizeof(request), .init = init};

/* The resized dataset and its feature cache, built or completed. */
static df_status cached_features(const request *r, df_model *model, const char *cache_path, df_dataset **dataset,
                                 df_feature_cache **cache) {
    df_options *o = NULL;
    df_status status = cli_options_new(&o);
    if (status == DF_OK) status = df_options_set_int(o, DF_PARAM_DATASET_SIZE, r->size);
    if (status == DF_OK) status = cli_open_dataset(r->images, NULL, o, "sempart train", dataset);
    if (status == DF_OK) status = cli_build_cache(model, *dataset, cache_path, "sempart");
    if (status == DF_OK) status = df_feature_cache_open(cache_path, cache);
    df_options_free(o);
    return status;
}

/* The network in r->out to resume, or a new one for the cache's features. */
static df_status open_trainer(const request *r, const df_feature_cache *cache, const df_options *o, df_sempart **out) {
    if (access(r->out, F_OK) == 0) {
        fprintf(stderr, "dinofeat sempart: resuming from %s\n", r->out);
        df_status status = df_sempart_load(r->out, out);
        if (status == DF_OK && r->branches >= 0) status = df_sempart_set_branches(*out, r->branches + 1);
        if (status == DF_OK) status = cli_resume_on_device(df_sempart_trainer(*out), o, DF_PARAM_SEMPART_DEVICE);
        return status;
    }
    size_t h = 0, w = 0, d = 0;
    df_options *options = NULL;
    df_status status = df_feature_cache_shape(cache, NULL, &h, &w, &d);
    if (status == DF_OK) status = df_options_copy(o, &options);
    if (status == DF_OK && r->branches >= 0) status = df_options_set_int(options, DF_PARAM_SEMPART_BRANCHES, r->branches + 1);
    if (status == DF_OK) status = df_sempart_new(d, h, w, options, out);
    df_options_free(options);
    return status;
}

/* ncut, gtv coarse, gtv fine, sr, total: the CSV's columns. */
/* The CSV log's columns the loss curves show. */
static const char *const sempart_curves[] = {"total", "ncut"};

static int train_command(request *r, df_model *model, const df_options *o) {
    if (r->images == NULL || r->out == NULL) return cli_usage_error("sempart train", "--model, --images and --out are required");
    /* under dinofeat launch, torchrun or a cluster's launcher: join the data-parallel group */
    df_status joined = df_distributed_init(NULL);
    if (joined != DF_OK) return cli_fail("sempart train", joined);
    char *cache_path = r->cache ? strdup(r->cache) : cli_suffixed(r->out, ".dffeat"), *csv = cli_suffixed(r->out, ".csv"),
         *png = cli_suffixed(r->out, ".png");
    df_dataset *dataset = NULL;
    df_feature_cache *cache = NULL;
    df_sempart *trainer = NULL;
    size_t items = 0;
    df_status status = cached_features(r, model, cache_path, &dataset, &cache);
    if (status == DF_OK) status = open_trainer(r, cache, o, &trainer);
    if (status == DF_OK) status = df_feature_cache_shape(cache, &items, NULL, NULL, NULL);
    int64_t done = 0;
    if (status == DF_OK) df_sempart_steps(trainer, &done);
    int code = status == DF_OK ? EXIT_OK : cli_fail("sempart train", status);
    int rank = 0;
    df_distributed_rank(&rank, NULL);
    cli_step_log log = {.per_epoch = (items + (size_t)r->batch - 1) / (size_t)r->batch,
                        .log_every = (uint64_t)r->log_every, .trainer = df_sempart_trainer(trainer), .shown = "total"};
    cli_training_bar_init(&log.bar, done);
    if (code == EXIT_OK && rank == 0 && cli_step_log_open(&log, csv, done) != 0) {
        fprintf(stderr, "dinofeat sempart train: %s: %s\n", csv, strerror(errno));
        code = EXIT_INPUT;
    }
    if (code == EXIT_OK) {
        if (rank == 0)
            printf("training on %zu images, %llu steps an epoch, %ld epochs\n", items, (unsigned long long)log.per_epoch,
                   r->epochs);
        cli_catch_stop_signals();
        status = df_sempart_train(trainer, cache, dataset, (size_t)r->epochs, (size_t)r->batch, r->out,
                                  (size_t)r->log_every, cli_step_log_report, &log);
        cli_training_bar_clear(&log.bar);
        int64_t steps = 0;
        df_sempart_steps(trainer, &steps);
        code = cli_training_end("sempart train", status, log.write_error, steps, rank == 0 ? r->out : NULL);
    }
    code = cli_close_step_log("sempart train", code, log.csv, csv, png, sempart_curves, 2);
    if (code == EXIT_OK && rank == 0) printf("wrote %s (losses in %s, curves in %s)\n", r->out, csv, png);
    df_sempart_free(trainer);
    df_feature_cache_free(cache);
    df_dataset_free(dataset);
    free(cache_path), free(csv), free(png);
    df_distributed_shutdown();
    return code;
}

/* D/kind/NAME (NAME's extension replaced by extension), its folders made; NULL on failure. */
static char *output_path(const char *dir, const char *kind, const char *name, const char *extension) {
    char folder[4096];
    snprintf(folder, sizeof folder, "%s/%s", dir, kind);
    return cli_output_name(folder, name, extension);
}

static int write_boxes(const char *path, const char *image, const int32_t *boxes, size_t count) {
    cli_output out;
    FILE *f = cli_output_open(path, &out);
    if (f == NULL) return -1;
    fprintf(f, "{\n  \"image\": \"%s\",\n  \"boxes\": [", image);
    if (count) fprintf(f, "\n    {\"class\": 1, \"box\": [%d, %d, %d, %d]}\n  ", boxes[0], boxes[1], boxes[2], boxes[3]);
    fprintf(f, "],\n  \"components\": [");
    for (size_t i = 0; i < count; i++)
        fprintf(f, "%s[%d, %d, %d, %d]", i ? ", " : "", boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2], boxes[4 * i + 3]);
    fprintf(f, "]\n}\n");
    return cli_output_commit(&out);
}

static df_status save_grey(const df_tensor *mask, const char *path) {
    int64_t shape[2];
    df_tensor_view view = {.struct_size = sizeof view};
    df_image *png = NULL;
    df_status status = df_tensor_shape(mask, shape, 2);
    if (status == DF_OK) status = df_tensor_view_of(mask, &view);
    if (status == DF_OK) status = df_image_from_pixels(view.data, (size_t)shape[1], (size_t)shape[0], 1, 8, (size_t)shape[1], &png);
    if (status == DF_OK) status = df_image_save_png(png, path);
    df_image_free(png);
    return status;
}

/* The four outputs of one image, named name under the output folder. */
static df_status predict_image(const request *r, const df_sempart *net, df_model *model, const df_options *o,
                               const df_image *image, const char *name) {
    df_image *rgb = NULL;
    df_tensor *coarse = NULL, *fine = NULL, *boxes = NULL;
    char *files[4] = {output_path(r->out_dir, "masks", name, ".png"), output_path(r->out_dir, "coarse", name, ".png"),
                      output_path(r->out_dir, "overlay", name, ".png"), output_path(r->out_dir, "boxes", name, ".json")};
    df_status status = files[0] && files[1] && files[2] && files[3] ? df_image_convert(image, 3, &rgb) : DF_E_IO;
    if (status == DF_OK) status = df_sempart_predict(net, model, rgb, o, &coarse, &fine, &boxes);
    if (status == DF_OK) status = save_grey(fine, files[0]);
    if (status == DF_OK) status = save_grey(coarse, files[1]);
    int64_t shape[2] = {0, 4};
    df_tensor_view mask = {.struct_size = sizeof mask}, box = {.struct_size = sizeof box};
    if (status == DF_OK) status = df_tensor_shape(boxes, shape, 2);
    if (status == DF_OK) status = df_tensor_view_of(fine, &mask);
    if (status == DF_OK) status = df_tensor_view_of(boxes, &box);
    const size_t w = rgb ? df_image_width(rgb) : 0, h = rgb ? df_image_height(rgb) : 0;
    uint8_t *binary = status == DF_OK ? malloc(w * h) : NULL;
    for (size_t i = 0; binary && i < w * h; i++) binary[i] = ((const uint8_t *)mask.data)[i] > 127;
    if (status == DF_OK && binary == NULL) status = DF_E_OUT_OF_MEMORY;
    if (status == DF_OK)
        status = cli_write_overlay_png(df_image_pixels(rgb), w, h, NULL, binary, box.data, NULL, (size_t)shape[0], NULL,
                                       files[2]);
    if (status == DF_OK && write_boxes(files[3], name, box.data, (size_t)shape[0]) != 0) status = DF_E_IO;
    if (status != DF_OK) fprintf(stderr, "dinofeat sempart predict: %s: %s\n", name, df_last_error_message());
    free(binary);
    for (int i = 0; i < 4; i++) free(files[i]);
    df_tensor_free(coarse), df_tensor_free(fine), df_tensor_free(boxes);
    df_image_free(rgb);
    return status;
}

typedef struct folder_run {
    const request *r;
    const df_sempart *net;
    df_model *model;
    const df_options *options;
} folder_run;

static int predict_into_folder(void *context, const df_image *image, const char *name) {
    const folder_run *run = context;
    return predict_image(run->r, run->net, run->model, run->options, image, name) == DF_OK ? EXIT_OK : EXIT_INPUT;
}

static int predict_command(request *r, df_model *model, const df_options *o) {
    if (r->sempart == NULL || (r->image == NULL) == (r->images == NULL) || r->out_dir == NULL)
        return cli_usage_error("sempart predict", "--sempart, --model, --out-dir and one of --image or --images are required");
    df_sempart *net = NULL;
    df_status status = df_sempart_load(r->sempart, &net);
    if (status == DF_OK) status = df_sempart_check_model(net, model);
    int code = status == DF_OK ? EXIT_OK : cli_fail("sempart predict", status);
    folder_run run = {r, net, model, o};
    if (code == EXIT_OK && r->images) {
        code = cli_each_image("sempart predict", r->images, r->out_dir, "predicted", predict_into_folder, &run);
    } else if (code == EXIT_OK) {
        const char *slash = strrchr(r->image, '/');
        df_image *image = NULL;
        df_status loaded = cli_load_rgb(r->image, 0, 0, &image);
        code = loaded == DF_OK ? predict_into_folder(&run, image, slash ? slash + 1 : r->image) : cli_fail("sempart predict", loaded);
        df_image_free(image);
        if (code == EXIT_OK) printf("predicted 1 image(s) into %s\n", r->out_dir);
    }
    df_sempart_free(net);
    return code;
}

static int run(int argc, char **argv) {
    if (argc < 2) return cli_usage_error("sempart", "a sub-command is required: train or predict");
    const int which = cli_subverb_index(&sempart_command, argv[1]);
    if (which < 0) return cli_usage_error("sempart", "unknown sub-command '%s' (train or predict)", argv[1]);
    request r;
    df_options *o = NULL;
    if (cli_options_new(&o) != DF_OK) return cli_fail("sempart", DF_E_OUT_OF_MEMORY);
    int code = cli_rows_parse(&sempart_command, which, argc - 1, argv + 1, &r, o);
    df_model *model = NULL;
    if (code == EXIT_OK) code = model_args_open(&r.model, "sempart", &model);
    if (code == EXIT_OK) code = which == 0 ? train_command(&r, model, o) : predict_command(&r, model, o);
    df_model_free(model);
    df_options_free(o);
    return code;
}

const cli_verb verb_sempart = {"sempart", "Sempart: saliency network training and its masks and boxes", run,
                               &sempart_command};
