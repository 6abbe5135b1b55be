/* NeCo's linear segmentation protocol as its linear_finetune.py runs it (after Leopart): the
 * backbone frozen; each training image a random resized crop (scale 0.8..1, aspect 3/4..4/3) to
 * 448 x 448, image bilinear and labels nearest, flipped with probability 0.5; the patch tokens
 * and the labels (nearest) at 100 x 100 train a linear probe (the library's, DF_PARAM_PROBE_*:
 * SGD, lr 0.01, momentum 0.9, weight decay 1e-4, the rate x 0.1 after epoch 20) for 25 epochs of
 * 128 images, the last partial batch dropped as the official VOC loader does; val images
 * stretched to 448 x 448 (dataset.size, dataset.stretch), predictions and labels compared at 100 x
 * 100, classes as they are (no matching). The crops and orders come from our own seeded
 * generator (probe.seed), so a resumed run repeats them; torchvision draws other ones. */
#include "paper_linear.h"
#include "cli.h"
#include "paper_clustering.h"
#include "paper_crops.h"
#include "training.h"
#include "dinofeat/cache.h"
#include "dinofeat/dataset.h"
#include "dinofeat/eval.h"
#include "dinofeat/image.h"
#include "dinofeat/tensor.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CROP_SIDE 448   /* the training crops' and val images' side */
#define LABEL_SIDE 100  /* the side labels and predictions are compared at */
#define FORWARD_CHUNK 8 /* images per forward pass */

#define CROP_PURPOSE 0x6c696e6561727072ull /* "linearpr": this protocol's generators */

static uint64_t generator_for(uint64_t seed, uint64_t epoch, uint64_t item) {
    return crops_generator(seed, CROP_PURPOSE, epoch, item);
}

/* labels (any size, 8-bit) at LABEL_SIDE x LABEL_SIDE by PyTorch's nearest neighbour. */
static void labels_at_side(df_image *labels, uint8_t *out) {
    const size_t w = df_image_width(labels), h = df_image_height(labels);
    const uint8_t *p = df_image_pixels(labels);
    for (size_t y = 0; y < LABEL_SIDE; y++)
        for (size_t x = 0; x < LABEL_SIDE; x++)
            out[y * LABEL_SIDE + x] = p[torch_nearest_index(y, h, LABEL_SIDE) * w + torch_nearest_index(x, w, LABEL_SIDE)];
}

/* One training item: its crop as normalised pixels (3 x CROP_SIDE^2) and its labels at LABEL_SIDE.
 * Labels of another size than their image are said here (*said set). */
static df_status training_item(const df_dataset *dataset, size_t item, uint64_t rng, float *pixels, uint8_t *labels,
                               int *said) {
    df_image *image = NULL, *truth = NULL, *crop = NULL, *crop_labels = NULL, *rgb = NULL;
    df_tensor *x = NULL;
    df_status status = df_dataset_get(dataset, item, &image, &truth);
    if (status == DF_OK && (df_image_width(image) != df_image_width(truth) || df_image_height(image) != df_image_height(truth))) {
        const char *name = "";
        df_dataset_name(dataset, item, &name, NULL);
        fprintf(stderr, "dinofeat paper: %s: the image is %zu x %zu, its labels %zu x %zu\n", name, df_image_width(image),
                df_image_height(image), df_image_width(truth), df_image_height(truth));
        status = DF_E_FORMAT, *said = 1;
    }
    size_t box[4] = {0};
    if (status == DF_OK) crops_box(&rng, df_image_width(image), df_image_height(image), 0.8, 1.0, box);
    const int flip = crops_uniform(&rng, 0, 1) < 0.5;
    if (status == DF_OK) status = df_image_convert(image, 3, &rgb);
    if (status == DF_OK) status = crops_resized(rgb, box, CROP_SIDE, DF_RESIZE_BILINEAR, flip, &crop);
    if (status == DF_OK) status = crops_resized(truth, box, CROP_SIDE, DF_RESIZE_NEAREST, flip, &crop_labels);
    if (status == DF_OK) status = df_image_to_tensor(crop, NULL, NULL, &x);
    if (status == DF_OK) status = df_tensor_copy_to_host(x, pixels, 3 * CROP_SIDE * CROP_SIDE);
    if (status == DF_OK) labels_at_side(crop_labels, labels);
    df_tensor_free(x);
    df_image_free(image), df_image_free(truth), df_image_free(crop), df_image_free(crop_labels), df_image_free(rgb);
    return status;
}

typedef struct trainer_state {
    const linear_request *r;
    const df_dataset *dataset;
    const size_t *subset; /* the training items, subset_count of them */
    size_t subset_count, per_step, grid_side, dim;
    uint64_t seed;
    float *pixels, *tokens;
    uint8_t *labels;
    int said; /* the failure was said here, not by the library */
} trainer_state;

/* One step over batch items of the epoch's order. */
static df_status batch_step(trainer_state *t, df_linear_probe *probe, const size_t *items, size_t count, uint64_t epoch,
                            double *loss) {
    const size_t plane = 3 * CROP_SIDE * CROP_SIDE, grid = t->grid_side * t->grid_side * t->dim;
    df_status status = DF_OK;
    for (size_t first = 0; status == DF_OK && first < count; first += FORWARD_CHUNK) {
        const size_t n = count - first < FORWARD_CHUNK ? count - first : FORWARD_CHUNK;
        for (size_t i = 0; status == DF_OK && i < n; i++)
            status = training_item(t->dataset, items[first + i], generator_for(t->seed, epoch, items[first + i]),
                                   t->pixels + i * plane, t->labels + (first + i) * LABEL_SIDE * LABEL_SIDE, &t->said);
        if (status == DF_OK)
            status = crops_forward_tokens(t->r->model, t->pixels, n, CROP_SIDE, t->tokens + first * grid, t->grid_side, t->dim,
                                          &t->said);
    }
    const int64_t shape[4] = {(int64_t)count, (int64_t)t->grid_side, (int64_t)t->grid_side, (int64_t)t->dim};
    df_tensor *x = NULL;
    if (status == DF_OK) status = df_tensor_borrow_host(t->tokens, 4, shape, &x);
    if (status == DF_OK) status = df_linear_probe_step(probe, x, t->labels, LABEL_SIDE, LABEL_SIDE, loss);
    df_tensor_free(x);
    return status;
}

/* The epochs left, each saved to probe_path when it ends. An exit code. */
static int train_epochs(trainer_state *t, df_linear_probe *probe, const char *probe_path) {
    const linear_request *r = t->r;
    int64_t epoch = 0, steps = 0;
    df_linear_probe_progress(probe, &epoch, &steps);
    const size_t steps_per_epoch = t->subset_count / t->per_step;
    size_t *order = malloc(t->subset_count * sizeof *order), *items = malloc(t->per_step * sizeof *items);
    if (order == NULL || items == NULL) {
        free(order), free(items);
        return cli_fail("paper", DF_E_OUT_OF_MEMORY);
    }
    cli_training_bar bar;
    cli_training_bar_init(&bar, epoch * (int64_t)steps_per_epoch);
    df_status status = DF_OK;
    int code = EXIT_OK;
    for (; code == EXIT_OK && epoch < r->epochs; epoch++) {
        crops_shuffle(order, t->subset_count, generator_for(t->seed, (uint64_t)epoch, UINT64_MAX));
        double loss = 0, sum = 0;
        for (size_t s = 0; status == DF_OK && s < steps_per_epoch && !cli_stop_signal(); s++) {
            for (size_t i = 0; i < t->per_step; i++) items[i] = t->subset[order[s * t->per_step + i]];
            status = batch_step(t, probe, items, t->per_step, (uint64_t)epoch, &loss);
            sum += loss;
            cli_training_bar_draw(&bar, epoch * (int64_t)steps_per_epoch + (int64_t)s + 1, r->epochs * (int64_t)steps_per_epoch, loss);
        }
        cli_training_bar_clear(&bar);
        if (status != DF_OK) code = t->said ? EXIT_INPUT : cli_fail("paper", status);
        else if (cli_stop_signal()) code = cli_stopped("paper", steps, probe_path);
        if (code != EXIT_OK) break;
        status = df_linear_probe_end_epoch(probe);
        if (status == DF_OK) status = df_linear_probe_save(probe, probe_path);
        if (status == DF_OK) status = df_linear_probe_progress(probe, NULL, &steps);
        if (status != DF_OK) code = cli_fail("paper", status);
        else printf("epoch %lld/%ld: mean loss %.5f over %zu steps of %zu images\n", (long long)epoch + 1, r->epochs,
                    sum / (double)steps_per_epoch, steps_per_epoch, t->per_step);
        fflush(stdout);
    }
    free(order), free(items);
    return code;
}

/* The items the probe trains on: all, or a seeded draw of r->train_fraction of them (at least
 * one), in item order. */
static size_t *training_subset(const linear_request *r, size_t items, uint64_t seed, size_t *count) {
    size_t *subset = malloc((items ? items : 1) * sizeof *subset);
    if (subset == NULL) return NULL;
    crops_shuffle(subset, items, generator_for(seed, UINT64_MAX, UINT64_MAX));
    size_t n = r->train_fraction < 1 ? (size_t)((double)items * r->train_fraction) : items;
    *count = n ? n : items < 1 ? 0 : 1;
    return subset;
}

/* The probe at path when an earlier run left one (OUT/paper.txt has made sure it was this
 * command's), else a new one. An exit code. */
static int open_probe(const linear_request *r, size_t dim, const char *path, df_linear_probe **probe) {
    df_options *o = NULL;
    df_status status = DF_OK;
    if (access(path, F_OK) == 0) {
        int64_t epochs = 0;
        status = df_linear_probe_load(path, probe);
        if (status == DF_OK) status = df_linear_probe_progress(*probe, &epochs, NULL);
        if (status == DF_OK) printf("resuming from %s after epoch %lld\n", path, (long long)epochs);
    } else {
        status = cli_options_new(&o);
        if (status == DF_OK) status = df_linear_probe_new(dim, (size_t)r->classes, o, probe);
    }
    df_options_free(o);
    return status == DF_OK ? EXIT_OK : cli_fail("paper", status);
}

/* mIoU and accuracy of the probe on the val split's cached tokens, at LABEL_SIDE. */
static df_status score_val(const df_linear_probe *probe, const df_feature_cache *cache, const df_dataset *dataset,
                           long classes, double *miou, double *accuracy, size_t *images) {
    size_t items = 0, gh = 0, gw = 0, dim = 0;
    df_status status = df_feature_cache_shape(cache, &items, &gh, &gw, &dim);
    float *features = status == DF_OK ? malloc(gh * gw * dim * sizeof *features) : NULL;
    df_confusion *confusion = NULL;
    if (status == DF_OK && features == NULL) status = DF_E_OUT_OF_MEMORY;
    if (status == DF_OK) status = df_confusion_new((size_t)classes, (size_t)classes, &confusion);
    uint8_t predicted[LABEL_SIDE * LABEL_SIDE], truth[LABEL_SIDE * LABEL_SIDE];
    int32_t p32[LABEL_SIDE * LABEL_SIDE], t32[LABEL_SIDE * LABEL_SIDE];
    const int64_t shape[4] = {1, (int64_t)gh, (int64_t)gw, (int64_t)dim};
    for (size_t i = 0; status == DF_OK && i < items; i++) {
        df_image *labels = NULL;
        df_tensor *x = NULL;
        status = df_feature_cache_read(cache, i, features);
        if (status == DF_OK) status = df_dataset_get(dataset, i, NULL, &labels);
        if (status == DF_OK) labels_at_side(labels, truth);
        if (status == DF_OK) status = df_tensor_borrow_host(features, 4, shape, &x);
        if (status == DF_OK) status = df_linear_probe_predict(probe, x, LABEL_SIDE, LABEL_SIDE, predicted);
        for (size_t j = 0; status == DF_OK && j < LABEL_SIDE * LABEL_SIDE; j++)
            p32[j] = predicted[j], t32[j] = truth[j] < classes ? truth[j] : 255;
        if (status == DF_OK) status = df_confusion_add(confusion, p32, t32, LABEL_SIDE * LABEL_SIDE);
        df_tensor_free(x);
        df_image_free(labels);
    }
    if (status == DF_OK) status = df_confusion_scores(confusion, DF_MATCH_NONE, miou, accuracy, NULL, NULL);
    *images = items;
    df_confusion_free(confusion);
    free(features);
    return status;
}

static int write_json(const linear_request *r, size_t images, size_t train_images, double miou, double accuracy) {
    char text[1024];
    const int n = snprintf(text, sizeof text,
                           "{\"protocol\": \"%s\", \"images\": %zu, \"training_images\": %zu, \"epochs\": %ld, "
                           "\"ours\": {\"mIoU\": %.9g, \"accuracy\": %.9g}, \"published\": {\"mIoU\": %.1f}, "
                           "\"source\": \"%s\"}\n",
                           r->name, images, train_images, r->epochs, 100 * miou, 100 * accuracy, r->published, r->source);
    if (n < 0 || (size_t)n >= sizeof text) return cli_fail("paper", DF_E_INTERNAL);
    if (cli_write_file(r->json, text, (size_t)n) == 0) return printf("wrote %s\n", r->json), EXIT_OK;
    fprintf(stderr, "dinofeat paper: %s: %s\n", r->json, strerror(errno));
    return EXIT_INPUT;
}

int paper_linear(const linear_request *r) {
    df_options *o = NULL;
    df_dataset *train = NULL, *val = NULL;
    df_feature_cache *cache = NULL;
    df_linear_probe *probe = NULL;
    trainer_state t = {.r = r};
    int64_t dim = 0, patch = 0, seed = 0;
    size_t items = 0;
    char *probe_path = cli_suffixed(r->out, "/probe.dfprobe"), *cache_path = cli_suffixed(r->out, "/features.dffeat");
    df_status status = probe_path && cache_path ? cli_options_new(&o) : DF_E_OUT_OF_MEMORY;
    if (status == DF_OK) status = df_options_get_int(o, DF_PARAM_PROBE_SEED, &seed);
    if (status == DF_OK) status = df_model_info_int(r->model, DF_MODEL_INFO_DIM, &dim);
    if (status == DF_OK) status = df_model_info_int(r->model, DF_MODEL_INFO_PATCH, &patch);
    if (status == DF_OK) status = crops_open_split(r->data, r->train_split, NULL, &train);
    if (status == DF_OK) status = df_dataset_count(train, &items);
    int code = status == DF_OK ? EXIT_OK : cli_fail("paper", status);
    size_t *subset = code == EXIT_OK ? training_subset(r, items, (uint64_t)seed, &t.subset_count) : NULL;
    if (code == EXIT_OK && subset == NULL) code = cli_fail("paper", DF_E_OUT_OF_MEMORY);
    if (code == EXIT_OK && t.subset_count == 0) {
        fprintf(stderr, "dinofeat paper: the %s split of %s has no images to train on\n", r->train_split, r->data);
        code = EXIT_INPUT;
    }
    t.dataset = train, t.subset = subset, t.dim = (size_t)dim, t.seed = (uint64_t)seed;
    t.grid_side = patch > 0 ? CROP_SIDE / (size_t)patch : 0;
    /* the official VOC loader drops the last partial batch; a split smaller than one batch is one */
    t.per_step = t.subset_count < (size_t)r->batch ? t.subset_count : (size_t)r->batch;
    if (code == EXIT_OK) {
        t.pixels = malloc(FORWARD_CHUNK * 3 * CROP_SIDE * CROP_SIDE * sizeof *t.pixels);
        t.tokens = malloc(t.per_step * t.grid_side * t.grid_side * t.dim * sizeof *t.tokens);
        t.labels = malloc(t.per_step * LABEL_SIDE * LABEL_SIDE);
        if (t.pixels == NULL || t.tokens == NULL || t.labels == NULL) code = cli_fail("paper", DF_E_OUT_OF_MEMORY);
    }
    if (code == EXIT_OK) {
        printf("%s: a linear probe on %zu of the %zu %s images (%zu a step, %ld epochs)\n", r->name, t.subset_count,
               items, r->train_split, t.per_step, r->epochs);
        fflush(stdout);
        cli_catch_stop_signals();
        code = open_probe(r, t.dim, probe_path, &probe);
    }
    if (code == EXIT_OK) code = train_epochs(&t, probe, probe_path);
    double miou = 0, accuracy = 0;
    size_t images = 0;
    if (code == EXIT_OK) status = cli_open_dataset(r->data, NULL, o, "paper", &val);
    if (code == EXIT_OK && status == DF_OK) status = cli_build_cache(r->model, val, cache_path, "paper");
    if (code == EXIT_OK && status == DF_OK) status = df_feature_cache_open(cache_path, &cache);
    if (code == EXIT_OK && status == DF_OK) status = score_val(probe, cache, val, r->classes, &miou, &accuracy, &images);
    if (code == EXIT_OK && status != DF_OK) code = cli_fail("paper", status);
    if (code == EXIT_OK) {
        printf("\n%s on %zu images (the probe trained on %zu, %ld epochs); published: %s\n  %-10s %8s %10s\n"
               "  %-10s %8.1f %10.1f\n  %-10s %8.1f %10s\n",
               r->name, images, t.subset_count, r->epochs, r->source, "", "ours", "published", "mIoU", 100 * miou,
               r->published, "accuracy", 100 * accuracy, "-");
        if (r->json) code = write_json(r, images, t.subset_count, miou, accuracy);
    }
    size_t left_out[2] = {0, 0};
    if (train) df_dataset_skipped(train, SIZE_MAX, &left_out[0], NULL, NULL);
    if (val) df_dataset_skipped(val, SIZE_MAX, &left_out[1], NULL, NULL);
    if (code == EXIT_OK && left_out[0] + left_out[1] > 0) {
        /* a figure over part of a split is not the paper's: said, and the exit status says it too */
        fprintf(stderr, "dinofeat paper: %zu training and %zu val images were left out (listed above): the figure is "
                        "not over the whole splits\n", left_out[0], left_out[1]);
        code = EXIT_INPUT;
    }
    free(t.pixels), free(t.tokens), free(t.labels), free(subset);
    df_linear_probe_free(probe);
    df_feature_cache_free(cache);
    df_dataset_free(train), df_dataset_free(val);
    df_options_free(o);
    free(probe_path), free(cache_path);
    return code;
}
