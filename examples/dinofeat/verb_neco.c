/* dinofeat neco: NeCo post-pretraining of a backbone on an image folder; writes a backbone every
 * other verb takes through --model. */
#include "cli.h"
#include "draw.h"
#include "model_args.h"
#include "training.h"
#include "dinofeat/distributed.h"
#include "dinofeat/neco.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const subverbs[] = {"train", NULL};

static const char *const usages[] = {"train --model M --images DIR --out FILE [options]", NULL};

static const char description[] =
    "NeCo (Pariza et al. 2024): post-pretraining that makes a backbone's patch features keep the\n"
    "order of their nearest neighbours across crops. A student copy of the backbone and a projection\n"
    "head learn, through differentiable sorting networks (bitonic, cauchy, steepness 100), to rank\n"
    "each patch's similarities to reference patches as the EMA teacher does; crops (2 global, 4 local,\n"
    "colour jitter, greyscale, blur) are brought onto their common boxes by ROI align. AdamW with the\n"
    "paper's learning rates and cosine schedules, teacher momentum 0.9995 to 1, drop-path 0.1.\n";

static const char *const summaries[] = {
    "\ntrain: trains for --epochs epochs over the images: the loss every --log-every steps on\n"
    "stdout, every step in OUT.csv, the curve in OUT.png; the whole training state in\n"
    "OUT.dfneco every --log-every steps and at the end (run the same command again to\n"
    "resume an interrupted run: same --epochs, --batch and images); the student backbone\n"
    "in OUT at the end, in the official layout: give it to any verb with --model.\n"
    "Under dinofeat launch (or torchrun's variables) the ranks split every batch and\n"
    "together take the steps one process would.\n",
    NULL};

typedef struct request {
    const char *images, *out;
    long epochs, batch, crop, local_crop, log_every;
    model_args model;
} request;

static const cli_row rows[] = {
    ROW_STRING("images", "DIR", images, "training images (PNG/JPEG, subfolders included; any sizes)"),
    ROW_STRING("out", "FILE", out, "the trained backbone (.safetensors)"),
    ROW_LONG("epochs", "N", epochs, 1, 1000000, "epochs (25: the paper's on COCO)"),
    ROW_LONG("batch", "N", batch, 1, 65536, "images per step (64: the paper's)"),
    ROW_LONG("side", "S", crop, 14, 4096, "global crops' side (518 in the released DINOv2 configs)"),
    ROW_LONG("local-side", "S", local_crop, 14, 4096,
             "local crops' side (default 98 for patch 14, else 96); both multiples of\n"
             "the patch",
             0, CLI_ROW_NO_DEFAULT),
    ROW_PARAM("seed", "N", DF_PARAM_NECO_SEED, "crops, drop-path, references, head and epoch orders"),
    ROW_PARAM("queue", "N", DF_PARAM_NECO_QUEUE,
              "references from a queue of N teacher patches per global crop (at least\n"
              "49 x batch) instead of the batch (0: the batch)"),
    ROW_PARAM("lr-head", "X", DF_PARAM_NECO_LR_HEAD, "the head's peak learning rate"),
    ROW_PARAM("lr-backbone", "X", DF_PARAM_NECO_LR_BACKBONE, "the backbone's peak learning rate (ViT-S DINOv2)"),
    ROW_LONG("log-every", "N", log_every, 1, 100000000, "steps between printed losses and checkpoints"),
    MODEL_ROWS(model),
};

static void init(void *request_) {
    request *r = request_;
    *r = (request){.epochs = 25, .batch = 64, .crop = 224, .log_every = 50};
    model_args_init(&r->model);
    r->model.trains_backbone = 1;
}

static const cli_command neco_command = {
    .verb = "neco", .subverbs = subverbs, .usages = usages, .summaries = summaries, .description = description,
    .rows = rows, .row_count = sizeof rows / sizeof rows[0],
    .epilogue = CLI_TRAINING_EPILOGUE,
    .request_size = sizeof(request), .init = init};

/* The training in OUT.dfneco to resume, or a new one with the verb's options o. */
static df_status open_trainer(const request *r, df_model *model, const char *state, df_options *o, df_neco **out) {
    if (access(state, F_OK) == 0) {
        fprintf(stderr, "dinofeat neco: resuming from %s\n", state);
        return df_neco_load(state, model, out);
    }
    int64_t patch = 14;
    df_status status = df_model_info_int(model, DF_MODEL_INFO_PATCH, &patch);
    const long local = r->local_crop ? r->local_crop : patch == 14 ? 98 : 96;
    if (status == DF_OK) status = df_options_set_int(o, DF_PARAM_NECO_GLOBAL_SIZE, r->crop);
    if (status == DF_OK) status = df_options_set_int(o, DF_PARAM_NECO_LOCAL_SIZE, local);
    if (status == DF_OK) status = df_neco_new(model, 0, o, out);
    return status;
}

/* The CSV log's columns the loss curves show. */
static const char *const neco_curves[] = {"loss"};

static int train_command(request *r, df_model *model, df_options *o) {
    if (r->images == NULL || r->out == NULL) return cli_usage_error("neco train", "--model, --images and --out are required");
    /* under dinofeat launch, torchrun or a cluster's launcher: join the data-parallel group */
    df_status joined = df_distributed_init(NULL);
    if (joined != DF_OK) return cli_fail("neco train", joined);
    int rank = 0;
    df_distributed_rank(&rank, NULL);
    char *state = cli_suffixed(r->out, ".dfneco"), *csv = cli_suffixed(r->out, ".csv"), *png = cli_suffixed(r->out, ".png");
    df_dataset *dataset = NULL;
    df_neco *trainer = NULL;
    size_t items = 0;
    df_status status = cli_open_dataset(r->images, NULL, NULL, "neco train", &dataset);
    if (status == DF_OK) status = df_dataset_count(dataset, &items);
    if (status == DF_OK && items == 0) status = DF_E_INVALID_ARG, fprintf(stderr, "dinofeat neco train: no images in %s\n", r->images);
    if (status == DF_OK) status = open_trainer(r, model, state, o, &trainer);
    int64_t done = 0;
    if (status == DF_OK) df_neco_steps(trainer, &done);
    int code = status == DF_OK ? EXIT_OK : cli_fail("neco train", status);
    cli_step_log log = {.per_epoch = (items + (size_t)r->batch - 1) / (size_t)r->batch,
                        .log_every = (uint64_t)r->log_every, .trainer = df_neco_trainer(trainer), .shown = "loss"};
    cli_training_bar_init(&log.bar, done);
    if (code == EXIT_OK && rank == 0 && cli_step_log_open(&log, csv, done) != 0) {
        fprintf(stderr, "dinofeat neco train: %s: %s\n", csv, strerror(errno));
        code = EXIT_INPUT;
    }
    if (code == EXIT_OK) {
        if (rank == 0)
            printf("training on %zu images, %llu steps an epoch, %ld epochs\n", items, (unsigned long long)log.per_epoch,
                   r->epochs);
        fflush(stdout);
        cli_catch_stop_signals();
        status = df_neco_train(trainer, dataset, (size_t)r->epochs, (size_t)r->batch, state, (size_t)r->log_every,
                               cli_step_log_report, &log);
        cli_training_bar_clear(&log.bar);
        int64_t steps = 0;
        df_neco_steps(trainer, &steps);
        if (status == DF_OK && rank == 0) status = df_neco_export(trainer, r->out);
        code = cli_training_end("neco train", status, log.write_error, steps, rank == 0 ? state : NULL);
    }
    code = cli_close_step_log("neco train", code, log.csv, csv, png, neco_curves, 1);
    if (code == EXIT_OK && rank == 0)
        printf("wrote %s (training state in %s, losses in %s, curve in %s)\n", r->out, state, csv, png);
    df_neco_free(trainer);
    df_dataset_free(dataset);
    free(state), free(csv), free(png);
    df_distributed_shutdown();
    return code;
}

static int run(int argc, char **argv) {
    if (argc < 2) return cli_usage_error("neco", "a sub-command is required: train");
    if (cli_subverb_index(&neco_command, argv[1]) < 0)
        return cli_usage_error("neco", "unknown sub-command '%s' (train)", argv[1]);
    request r;
    df_options *o = NULL;
    if (cli_options_new(&o) != DF_OK) return cli_fail("neco", DF_E_OUT_OF_MEMORY);
    int code = cli_rows_parse(&neco_command, 0, argc - 1, argv + 1, &r, o);
    int64_t queue = 0;
    df_options_get_int(o, DF_PARAM_NECO_QUEUE, &queue);
    if (code == EXIT_OK && queue > 0 && queue < r.batch * 49)
        code = cli_usage_error("neco train", "--queue %lld is too short: it must hold at least --batch x 49 = %ld "
                               "references (7 x 7 an image), or be 0 for none", (long long)queue, r.batch * 49);
    df_model *model = NULL;
    if (code == EXIT_OK) code = model_args_open(&r.model, "neco", &model);
    if (code == EXIT_OK) code = train_command(&r, model, o);
    df_model_free(model);
    df_options_free(o);
    return code;
}

const cli_verb verb_neco = {"neco", "NeCo: post-pretraining that writes a backbone with better patch features", run,
                            &neco_command};
