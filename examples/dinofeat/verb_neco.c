/* dinofeat neco: NeCo post-pretraining of a backbone on an image folder; writes a backbone every
 * other verb takes through --model. */
#include "cli.h"
#include "draw.h"
#include "model_args.h"

#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char help[] =
    "Usage: dinofeat neco train --model M --images DIR --out neco_backbone.safetensors [--epochs 25]\n"
    "                           [--batch 64] [--crop 224] [--local-crop 98] [--seed 0] [--queue 0]\n"
    "                           [--lr-head 1e-4] [--lr-backbone 1e-5] [--log-every 50]\n"
    "\n"
    "NeCo (Pariza et al. 2024): post-pretraining that makes a backbone's patch features keep the\n"
    "order of their nearest neighbours across crops. A student copy of the backbone and a projection\n"
    "head learn, through differentiable sorting networks (bitonic, cauchy, steepness 100), to rank\n"
    "each patch's similarities to reference patches as the EMA teacher does; crops (2 global, 4 local,\n"
    "colour jitter, greyscale, blur) are brought onto their common boxes by ROI align. AdamW with the\n"
    "paper's learning rates and cosine schedules, teacher momentum 0.9995 to 1, drop-path 0.1.\n"
    "  train    trains for --epochs epochs over the images: the loss every --log-every steps on\n"
    "           stdout, every step in OUT.csv, the curve in OUT.png; the whole training state in\n"
    "           OUT.dfneco every --log-every steps and at the end (run the same command again to\n"
    "           resume an interrupted run: same --epochs, --batch and images); the student backbone\n"
    "           in OUT at the end, in the official layout: give it to any verb with --model.\n"
    "           Under dinofeat launch (or torchrun's variables) the ranks split every batch and\n"
    "           together take the steps one process would.\n"
    "\n"
    "Options:\n"
    "  --images DIR        training images (PNG/JPEG, subfolders included; any sizes)\n"
    "  --out FILE          the trained backbone (.safetensors)\n"
    "  --epochs N          epochs (default 25, the paper's on COCO)\n"
    "  --batch B           images per step (default 64, the paper's)\n"
    "  --crop S            global crops' side (default 224; 518 in the released DINOv2 configs)\n"
    "  --local-crop S      local crops' side (default 98 for patch 14, else 96); both multiples of\n"
    "                      the patch\n"
    "  --seed N            crops, drop-path, references, head and epoch orders (default 0)\n"
    "  --queue N           references from a queue of N teacher patches per global crop (at least\n"
    "                      49 x batch) instead of the batch (default 0: the batch)\n"
    "  --lr-head X         the head's peak learning rate (default 1e-4)\n"
    "  --lr-backbone X     the backbone's peak learning rate (default 1e-5, ViT-S DINOv2)\n"
    "  --log-every N       steps between printed losses and checkpoints (default 50)\n"
    "model options:\n" MODEL_ARGS_HELP
    "  -h, --help          this text\n"
    "\n"
    "Images that cannot be decoded are left out and listed. Ctrl-C or SIGTERM during training ends\n"
    "the step under way, saves the checkpoint and exits with 130 or 143: run the same command to\n"
    "resume.\n"
    "Exit status: 0 ok, 1 usage, 2 input error, 3 internal, 130/143 stopped by a signal (saved).\n";

typedef struct request {
    const char *images, *out;
    long epochs, batch, crop, local_crop, seed, queue, log_every;
    double lr_head, lr_backbone;
    model_args model;
} request;

static int parse_rate(const char *value, double *out) {
    char *end;
    errno = 0;
    const double v = strtod(value, &end);
    if (errno || *end || !(v >= 0 && v <= 10)) return cli_usage_error("neco", "a learning rate in 0..10, not '%s'", value);
    *out = v;
    return EXIT_OK;
}

static int parse(int argc, char **argv, request *r) {
    static const struct option options[] = {
        {"images", required_argument, NULL, 'i'},     {"out", required_argument, NULL, 'o'},
        {"epochs", required_argument, NULL, 'E'},     {"batch", required_argument, NULL, 'b'},
        {"crop", required_argument, NULL, 'c'},       {"local-crop", required_argument, NULL, 'L'},
        {"seed", required_argument, NULL, 'e'},       {"queue", required_argument, NULL, 'q'},
        {"lr-head", required_argument, NULL, 'H'},    {"lr-backbone", required_argument, NULL, 'K'},
        {"log-every", required_argument, NULL, 'l'},  MODEL_ARGS_OPTIONS,
        {NULL, 0, NULL, 0}};
    static const cli_number numbers[] = {{'E', "--epochs", 1, 1000000, offsetof(request, epochs)},
                                         {'b', "--batch", 1, 65536, offsetof(request, batch)},
                                         {'c', "--crop", 14, 4096, offsetof(request, crop)},
                                         {'L', "--local-crop", 14, 4096, offsetof(request, local_crop)},
                                         {'e', "--seed", 0, 2147483647, offsetof(request, seed)},
                                         {'q', "--queue", 0, 1048576, offsetof(request, queue)},
                                         {'l', "--log-every", 1, 100000000, offsetof(request, log_every)}};
    optind = 2; /* argv[1] is the sub-command */
    opterr = 0;
    for (int option; (option = getopt_long(argc, argv, ":", options, NULL)) != -1;) {
        const int handled = model_args_parse(&r->model, option, optarg, "neco");
        if (handled < 0) return EXIT_USAGE;
        if (handled) continue;
        const int number = cli_parse_number(numbers, sizeof numbers / sizeof *numbers, option, optarg, r, "neco");
        if (number < 0) return EXIT_USAGE;
        if (number) continue;
        switch (option) {
        case 'i': r->images = optarg; break;
        case 'o': r->out = optarg; break;
        case 'H':
            if (parse_rate(optarg, &r->lr_head) != EXIT_OK) return EXIT_USAGE;
            break;
        case 'K':
            if (parse_rate(optarg, &r->lr_backbone) != EXIT_OK) return EXIT_USAGE;
            break;
        case ':': return cli_usage_error("neco", "%s needs a value", argv[optind - 1]);
        default: return cli_usage_error("neco", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("neco", "unexpected argument '%s'", argv[optind]);
    return EXIT_OK;
}

/* The training in OUT.dfneco to resume, or a new one. */
static df_status open_trainer(const request *r, df_model *model, const char *state, df_neco **out) {
    if (access(state, F_OK) == 0) {
        fprintf(stderr, "dinofeat neco: resuming from %s\n", state);
        return df_neco_load(state, model, out);
    }
    int64_t patch = 14;
    df_options *o = NULL;
    df_status status = df_model_info_int(model, DF_MODEL_INFO_PATCH, &patch);
    if (status == DF_OK) status = cli_options_new(&o);
    const long local = r->local_crop ? r->local_crop : patch == 14 ? 98 : 96;
    if (status == DF_OK) status = df_options_set_int(o, DF_PARAM_NECO_GLOBAL_SIZE, r->crop);
    if (status == DF_OK) status = df_options_set_int(o, DF_PARAM_NECO_LOCAL_SIZE, local);
    if (status == DF_OK) status = df_options_set_int(o, DF_PARAM_NECO_SEED, r->seed);
    if (status == DF_OK) status = df_options_set_int(o, DF_PARAM_NECO_QUEUE, r->queue);
    if (status == DF_OK) status = df_options_set_float(o, DF_PARAM_NECO_LR_HEAD, r->lr_head);
    if (status == DF_OK) status = df_options_set_float(o, DF_PARAM_NECO_LR_BACKBONE, r->lr_backbone);
    if (status == DF_OK) status = df_neco_new(model, 0, o, out);
    df_options_free(o);
    return status;
}

typedef struct training_log {
    const request *r;
    df_neco *trainer;
    FILE *csv;
    uint64_t per_epoch;
    int write_error; /* errno of a failed write of the CSV: the training stops */
} training_log;

static int log_step(void *user_data, uint64_t done, uint64_t total, const char *stage) {
    training_log *log = user_data;
    (void)stage;
    if (log->csv == NULL) return cli_stop_signal() != 0; /* not rank 0 */
    double loss = 0;
    df_neco_last_loss(log->trainer, &loss);
    const uint64_t epoch = (done - 1) / log->per_epoch + 1;
    fprintf(log->csv, "%llu,%llu,%.9g\n", (unsigned long long)done, (unsigned long long)epoch, loss);
    if (done % (uint64_t)log->r->log_every == 0 || done == total) {
        printf("step %llu/%llu (epoch %llu): loss %.5f\n", (unsigned long long)done, (unsigned long long)total,
               (unsigned long long)epoch, loss);
        fflush(stdout);
        if (fflush(log->csv) != 0 || ferror(log->csv)) {
            log->write_error = errno ? errno : EIO;
            return 1;
        }
    }
    return cli_stop_signal() != 0; /* stops after this step: the caller saves */
}

/* The loss column of the CSV as a curve. */
static int plot_log(const char *csv, const char *png) {
    FILE *f = fopen(csv, "r");
    if (f == NULL) return -1;
    size_t count = 0, capacity = 1024;
    double *losses = malloc(capacity * sizeof *losses), loss;
    char line[512];
    long long step, epoch;
    while (losses && fgets(line, sizeof line, f))
        if (sscanf(line, "%lld,%lld,%lf", &step, &epoch, &loss) == 3) {
            if (count == capacity) {
                double *grown = realloc(losses, (capacity *= 2) * sizeof *losses);
                if (grown == NULL) break;
                losses = grown;
            }
            losses[count++] = loss;
        }
    fclose(f);
    const int failed = losses == NULL || count < 2 || cli_write_curves_png(losses, count, 1, png) != DF_OK;
    free(losses);
    return failed ? -1 : 0;
}

static int train_command(request *r, df_model *model) {
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
    if (status == DF_OK) status = open_trainer(r, model, state, &trainer);
    int64_t done = 0;
    if (status == DF_OK) df_neco_steps(trainer, &done);
    int code = status == DF_OK ? EXIT_OK : cli_fail("neco train", status);
    training_log log = {r, trainer, code == EXIT_OK && rank == 0 ? cli_open_step_log(csv, "step,epoch,loss", done) : NULL,
                        (items + (size_t)r->batch - 1) / (size_t)r->batch, 0};
    if (code == EXIT_OK && rank == 0 && log.csv == NULL) {
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
                               log_step, &log);
        const int stopped = status == DF_E_CANCELLED && cli_stop_signal() && !log.write_error;
        int64_t steps = 0;
        df_neco_steps(trainer, &steps);
        const df_status saved = stopped && rank == 0 ? df_neco_save(trainer, state) : DF_OK;
        if (status == DF_OK && rank == 0) status = df_neco_export(trainer, r->out);
        code = cli_training_end("neco train", status, log.write_error, steps, saved, rank == 0 ? state : NULL);
    }
    if (log.csv && fclose(log.csv) != 0 && code == EXIT_OK) {
        fprintf(stderr, "dinofeat neco train: %s: cannot write: %s\n", csv, strerror(errno));
        code = EXIT_INPUT;
    }
    if (code == EXIT_OK && rank == 0 && plot_log(csv, png) != 0)
        fprintf(stderr, "dinofeat neco train: no loss curve in %s\n", png);
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
    if (strcmp(argv[1], "train") != 0) return cli_usage_error("neco", "unknown sub-command '%s' (train)", argv[1]);
    request r = {.epochs = 25, .batch = 64, .crop = 224, .log_every = 50, .lr_head = 1e-4, .lr_backbone = 1e-5};
    model_args_init(&r.model);
    int code = parse(argc, argv, &r);
    if (code == EXIT_OK && r.model.path == NULL) code = cli_usage_error("neco", "--model is required");
    if (code == EXIT_OK && r.queue > 0 && r.queue < r.batch * 49)
        code = cli_usage_error("neco", "--queue %ld is too short: it must hold at least --batch x 49 = %ld references "
                               "(7 x 7 an image), or be 0 for none", r.queue, r.batch * 49);
    df_model *model = NULL;
    if (code == EXIT_OK) code = model_args_open(&r.model, "neco", &model);
    if (code == EXIT_OK) code = train_command(&r, model);
    df_model_free(model);
    return code;
}

const cli_verb verb_neco = {"neco", "NeCo: post-pretraining that writes a backbone with better patch features", help, run};
