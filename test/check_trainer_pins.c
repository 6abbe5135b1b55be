/* The three trainers' results pinned before their loops are unified (issue 22): STEGO, Sempart and
 * NeCo train a few steps on tiny data through their public df_*_train loops, and every step's
 * losses and a summary of the final weights must equal what test/fixtures/trainer_pins/ recorded.
 * The pins are this library's own results, not an independent reference (the reference tests
 * check the steps against PyTorch): they hold the trainers' behaviour fixed through a refactor.
 *
 * With DINOFEAT_WRITE_PINS=1 the test writes the pins instead of comparing (only to record a
 * deliberate change of behaviour; say so in the commit). */
#include "check_common.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PIN_DIR "fixtures/trainer_pins/"

/* Two float32 trainings of the same steps that differ only in the order of their sums (thread
 * count, BLAS kernel) agree to this much, relative: each step's backward rounds again what the
 * forward rounded (F32_BACKWARD_RTOL per step), and Adam's normalised updates carry a relative
 * gradient error into the weights scaled by the learning rate. */
#define PIN_RTOL F32_BACKWARD_RTOL
/* Sempart's trajectory amplifies rounding: BatchNorm divides every channel by its deviation over
 * a batch of a few 4 x 4 grids, small for a nearly constant channel, and its ReLUs switch on
 * what that divides. Its pins hold at 1e-2: ten times the spread between BLAS kernels and thread
 * counts on one machine, and still ten times below what a 5% change of the learning rate moves
 * (both measured when the pins were recorded); another item order or batch moves it at order one. */
#define SEMPART_PIN_RTOL 1e-2

/* A list of named numbers: what a training produced, or what its pin file holds. */
typedef struct pin_list {
    char names[4096][96];
    double values[4096];
    size_t count;
} pin_list;

static void pin_add(pin_list *pins, double value, const char *format, ...) __attribute__((format(printf, 3, 4)));
static void pin_add(pin_list *pins, double value, const char *format, ...) {
    ck_assert_uint_lt(pins->count, 4096);
    va_list args;
    va_start(args, format);
    vsnprintf(pins->names[pins->count], sizeof pins->names[0], format, args);
    va_end(args);
    pins->values[pins->count++] = value;
}

/* A weight tensor as three numbers: its sum, the sum of magnitudes (the scale the sum is compared
 * against: a sum near zero is cancellation, not a small number) and the sum of squares. */
static void pin_weights(pin_list *pins, const char *name, const float *values, size_t count) {
    double sum = 0, magnitude = 0, squares = 0;
    for (size_t i = 0; i < count; i++) sum += values[i], magnitude += fabs(values[i]), squares += (double)values[i] * values[i];
    pin_add(pins, sum, "%s.sum", name);
    pin_add(pins, magnitude, "%s.abs", name);
    pin_add(pins, squares, "%s.sq", name);
}

/* A trainer's df_*_parameter accessor, for pin_trainer_weights. */
typedef df_status (*parameter_fn)(const void *trainer, size_t index, const char **name, float *values, size_t capacity,
                                  size_t *count);

/* Every state tensor of a trainer (index 0, 1, ... until the accessor refuses), by name. */
static void pin_trainer_weights(pin_list *pins, const void *trainer, parameter_fn parameter) {
    const char *name;
    size_t count;
    for (size_t i = 0; parameter(trainer, i, &name, NULL, 0, &count) == DF_OK; i++) {
        float *values = malloc(count * sizeof *values);
        ck_assert_ok(parameter(trainer, i, NULL, values, count, NULL));
        pin_weights(pins, name, values, count);
        free(values);
    }
}

static pin_list *read_pins(const char *file) {
    char path[256];
    snprintf(path, sizeof path, PIN_DIR "%s", file);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s is missing: run the test with DINOFEAT_WRITE_PINS=1 to record it", path);
    pin_list *pins = calloc(1, sizeof *pins);
    while (pins->count < 4096 && fscanf(f, "%95s %lf", pins->names[pins->count], &pins->values[pins->count]) == 2)
        pins->count++;
    fclose(f);
    return pins;
}

static void write_pins(const char *file, const pin_list *got) {
    mkdir(PIN_DIR, 0755);
    char path[256];
    snprintf(path, sizeof path, PIN_DIR "%s", file);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    for (size_t i = 0; i < got->count; i++) fprintf(f, "%s %.17g\n", got->names[i], got->values[i]);
    ck_assert_int_eq(fclose(f), 0);
}

static double pin_value(const pin_list *pins, const char *name) {
    for (size_t i = 0; i < pins->count; i++)
        if (strcmp(pins->names[i], name) == 0) return pins->values[i];
    ck_abort_msg("the pin %s is missing", name);
    return 0;
}

/* The scale a value is compared at: a weight sum at its tensor's sum of magnitudes, anything else
 * at its own size (with a floor of 1e-6 for losses that reach zero). */
static double pin_scale(const pin_list *want, size_t i) {
    const char *name = want->names[i];
    const size_t length = strlen(name);
    if (length > 4 && strcmp(name + length - 4, ".sum") == 0) {
        char magnitude[96];
        snprintf(magnitude, sizeof magnitude, "%.*s.abs", (int)(length - 4), name);
        return pin_value(want, magnitude);
    }
    return fmax(fabs(want->values[i]), 1e-6);
}

/* got equals the pin file, every value within tolerance of its scale, or writes it. */
static void check_pins(const char *file, const pin_list *got, double tolerance) {
    const char *write = getenv("DINOFEAT_WRITE_PINS");
    if (write && strcmp(write, "1") == 0) {
        write_pins(file, got);
        return;
    }
    pin_list *want = read_pins(file);
    ck_assert_msg(got->count == want->count, "%s: %zu values, the pin has %zu", file, got->count, want->count);
    double worst = 0;
    for (size_t i = 0; i < want->count; i++) {
        ck_assert_str_eq(got->names[i], want->names[i]);
        const double error = fabs(got->values[i] - want->values[i]) / pin_scale(want, i);
        worst = fmax(worst, error);
        ck_assert_msg(error <= tolerance, "%s: %s is %.9g, pinned %.9g (relative error %.3g)", file, want->names[i],
                      got->values[i], want->values[i], error);
    }
    printf("%s: %zu values within %.2g of the pins (largest relative error %.2g)\n", file, want->count, tolerance, worst);
    free(want);
}

/* count 40 x 36 images with texture varying by index; labels (may be NULL): a folder of label maps
 * of classes 0..2 with an ignored (255) half. */
static void write_images(const char *images, const char *labels, int count) {
    ck_assert_int_eq(mkdir(images, 0755), 0);
    if (labels) ck_assert_int_eq(mkdir(labels, 0755), 0);
    for (int i = 0; i < count; i++) {
        df_image *image, *marks;
        ck_assert_ok(df_image_new(40, 36, 3, 8, &image));
        uint8_t *p = df_image_pixels(image);
        for (size_t j = 0; j < 40 * 36 * 3; j++) p[j] = (uint8_t)((j * (7 + (size_t)i * 13) + (size_t)i * 31) % 251);
        char path[600];
        snprintf(path, sizeof path, "%s/%02d.png", images, i);
        ck_assert_ok(df_image_save_png(image, path));
        df_image_free(image);
        if (labels == NULL) continue;
        ck_assert_ok(df_image_new(40, 36, 1, 8, &marks));
        uint8_t *m = df_image_pixels(marks);
        for (size_t j = 0; j < 40 * 36; j++) m[j] = (uint8_t)(j % 40 < 20 ? (j / 40 + (size_t)i) % 3 : 255);
        snprintf(path, sizeof path, "%s/%02d.png", labels, i);
        ck_assert_ok(df_image_save_png(marks, path));
        df_image_free(marks);
    }
}

static df_dataset *open_dataset(const char *images, const char *labels, int five_crop) {
    df_options *o;
    df_dataset *d;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_DATASET_SIZE, 32));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_DATASET_FIVE_CROP, five_crop));
    ck_assert_ok(df_dataset_open(images, labels, o, &d));
    df_options_free(o);
    return d;
}

/* The dataset's float32 feature cache at path (float16 would add its rounding boundaries). */
static df_feature_cache *float_cache(df_model *model, const df_dataset *d, const char *path) {
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_CACHE_HALF, 0));
    ck_assert_ok(df_feature_cache_build(model, d, path, o, NULL, NULL));
    df_options_free(o);
    df_feature_cache *cache;
    ck_assert_ok(df_feature_cache_open(path, &cache));
    return cache;
}

typedef struct step_log {
    pin_list *pins;
    const char *prefix;
    const df_trainer *trainer;
    size_t loss_count;
    uint64_t stop_at; /* the step after which the progress stops the training (0: none) */
} step_log;

/* The losses as every trainer reports them (df_trainer_losses), by their index. */
static int record_step(void *user, uint64_t done, uint64_t total, const char *stage) {
    (void)total, (void)stage;
    step_log *log = user;
    double losses[8];
    size_t count = 0;
    ck_assert_ok(df_trainer_losses(log->trainer, losses, NULL, 8, &count));
    ck_assert_uint_eq(count, log->loss_count);
    for (size_t i = 0; i < log->loss_count; i++) pin_add(log->pins, losses[i], "%s.step%llu.loss%zu", log->prefix, (unsigned long long)done, i);
    return log->stop_at != 0 && done == log->stop_at;
}

static df_status stego_parameter(const void *t, size_t i, const char **name, float *v, size_t capacity, size_t *count) {
    return df_stego_parameter(t, i, name, v, capacity, count);
}
static df_status sempart_parameter(const void *t, size_t i, const char **name, float *v, size_t capacity, size_t *count) {
    return df_sempart_parameter(t, i, name, v, capacity, count);
}

/* Whether a CUDA variant runs: where CUDA is present, or fails where make check-cuda
 * (DINOFEAT_REQUIRE_CUDA=1) asks for it and it is not. */
static int cuda_runs(void) {
    int available = 0;
    ck_assert_ok(df_device_available("cuda", &available));
    ck_assert_msg(available || getenv("DINOFEAT_REQUIRE_CUDA") == NULL, "CUDA required but not available: %s",
                  df_build_info());
    return available;
}

/* Where a pinned training runs: on device from the start and, when resume_at is not 0, saved to a
 * file after that step and finished by the trainer loaded from it (on the CPU). */
typedef struct pin_run {
    const char *device;
    size_t resume_at;
} pin_run;

/* STEGO: 20 steps of batch 4 over the five-cropped cache of 4 images, the linear probe on labels. */
static void stego_as_pinned(pin_run run) {
    char root[] = "/tmp/dinofeat_pins_XXXXXX", images[600], labels[600], cache_path[600], saved[600];
    ck_assert_ptr_nonnull(mkdtemp(root));
    snprintf(images, sizeof images, "%s/img", root);
    snprintf(labels, sizeof labels, "%s/lab", root);
    snprintf(cache_path, sizeof cache_path, "%s/f.dffeat", root);
    snprintf(saved, sizeof saved, "%s/t.dfstego", root);
    write_images(images, labels, 4);
    df_model *model = open_tiny_model("dino_s8.pth");
    df_dataset *d = open_dataset(images, labels, 1); /* 20 crops of 4 x 4 patches */
    df_feature_cache *cache = float_cache(model, d, cache_path);
    int32_t knn[20 * 8];
    ck_assert_ok(df_knn_table(cache, 8, knn));
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_STEGO_CODE_DIM, 8));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_STEGO_CLASSES, 3));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_STEGO_SAMPLES, 4));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_STEGO_SEED, 7));
    ck_assert_ok(df_options_set_str(o, DF_PARAM_STEGO_DEVICE, run.device));
    df_stego *t;
    ck_assert_ok(df_stego_new(16, o, &t));
    pin_list *got = calloc(1, sizeof *got);
    step_log log = {got, "stego", df_stego_trainer(t), 6, 0};
    if (run.resume_at) {
        ck_assert_ok(df_stego_train(t, cache, knn, 8, d, run.resume_at, 4, saved, 0, record_step, &log));
        df_stego_free(t);
        ck_assert_ok(df_stego_load(saved, &t));
        log.trainer = df_stego_trainer(t);
    }
    ck_assert_ok(df_stego_train(t, cache, knn, 8, d, 20, 4, NULL, 0, record_step, &log));
    pin_trainer_weights(got, t, stego_parameter);
    check_pins("stego.txt", got, PIN_RTOL);
    free(got);
    df_stego_free(t), df_options_free(o), df_feature_cache_free(cache), df_dataset_free(d), df_model_free(model);
    remove_tree(root);
}

START_TEST(test_stego_training_as_pinned) { stego_as_pinned((pin_run){"cpu", 0}); }
END_TEST

/* A training resumed from its file continues as the straight one: the pins again. */
START_TEST(test_stego_resumed_training_as_pinned) { stego_as_pinned((pin_run){"cpu", 9}); }
END_TEST

/* 20 steps on CUDA equal the CPU's pins; and a CUDA checkpoint finished on the CPU. */
START_TEST(test_stego_cuda_training_as_pinned) {
    if (!cuda_runs()) return;
    stego_as_pinned((pin_run){"cuda:0", 0});
    stego_as_pinned((pin_run){"cuda:0", 9});
}
END_TEST

/* Sempart: 5 epochs of 6 images in batches of 4 (a short last batch), both branches jointly. */
static void sempart_as_pinned(pin_run run) {
    char root[] = "/tmp/dinofeat_pins_XXXXXX", images[600], cache_path[600], saved[600];
    ck_assert_ptr_nonnull(mkdtemp(root));
    snprintf(images, sizeof images, "%s/img", root);
    snprintf(cache_path, sizeof cache_path, "%s/f.dffeat", root);
    snprintf(saved, sizeof saved, "%s/t.dfsempart", root);
    write_images(images, NULL, 6);
    df_model *model = open_tiny_model("dino_s8.pth");
    df_dataset *d = open_dataset(images, NULL, 0);
    df_feature_cache *cache = float_cache(model, d, cache_path);
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_SEMPART_SEED, 5));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_SEMPART_WIDTH, 16));
    /* the tiny model's key similarities all exceed the default tau 0.2: every affinity would be 1,
     * where the NCut of any partition is 1 and its gradient 0; 0.9 splits them */
    ck_assert_ok(df_options_set_float(o, DF_PARAM_SEMPART_TAU, 0.9));
    /* Adam's default epsilon turns a gradient that rounding leaves near zero (BatchNorm biases
     * here) into a step of +-lr either way; a larger one makes each update follow its gradient */
    ck_assert_ok(df_options_set_float(o, DF_PARAM_SEMPART_ADAM_EPS, 1e-3));
    ck_assert_ok(df_options_set_str(o, DF_PARAM_SEMPART_DEVICE, run.device));
    df_sempart *t;
    ck_assert_ok(df_sempart_new(16, 4, 4, o, &t));
    pin_list *got = calloc(1, sizeof *got);
    step_log log = {got, "sempart", df_sempart_trainer(t), DF_SEMPART_LOSSES, 0};
    if (run.resume_at) { /* in epochs */
        ck_assert_ok(df_sempart_train(t, cache, d, run.resume_at, 4, saved, 0, record_step, &log));
        df_sempart_free(t);
        ck_assert_ok(df_sempart_load(saved, &t));
        log.trainer = df_sempart_trainer(t);
    }
    ck_assert_ok(df_sempart_train(t, cache, d, 5, 4, NULL, 0, record_step, &log));
    pin_trainer_weights(got, t, sempart_parameter);
    check_pins("sempart.txt", got, SEMPART_PIN_RTOL);
    free(got);
    df_sempart_free(t), df_options_free(o), df_feature_cache_free(cache), df_dataset_free(d), df_model_free(model);
    remove_tree(root);
}

START_TEST(test_sempart_training_as_pinned) { sempart_as_pinned((pin_run){"cpu", 0}); }
END_TEST

START_TEST(test_sempart_resumed_training_as_pinned) { sempart_as_pinned((pin_run){"cpu", 2}); }
END_TEST

START_TEST(test_sempart_cuda_training_as_pinned) {
    if (!cuda_runs()) return;
    sempart_as_pinned((pin_run){"cuda:0", 0});
    sempart_as_pinned((pin_run){"cuda:0", 2});
}
END_TEST

/* NeCo: 2 epochs of 8 images in batches of 4 on the tiny DINOv2 with registers, then the exported
 * backbone's patch features of one image. */
static void neco_as_pinned(pin_run run) {
    char root[] = "/tmp/dinofeat_pins_XXXXXX", images[600], exported[600], first[700], saved[600];
    ck_assert_ptr_nonnull(mkdtemp(root));
    snprintf(images, sizeof images, "%s/img", root);
    snprintf(exported, sizeof exported, "%s/neco.safetensors", root);
    snprintf(first, sizeof first, "%s/00.png", images);
    snprintf(saved, sizeof saved, "%s/t.dfneco", root);
    write_images(images, NULL, 8);
    df_model *model = open_tiny_model_on("dinov2_s14_reg4.pth", run.device);
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_NECO_GLOBAL_SIZE, 56));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_NECO_LOCAL_SIZE, 28));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_NECO_HEAD_HIDDEN, 32));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_NECO_HEAD_OUT, 16));
    ck_assert_ok(df_options_set_float(o, DF_PARAM_NECO_LR_HEAD, 1e-3));
    ck_assert_ok(df_options_set_float(o, DF_PARAM_NECO_LR_BACKBONE, 1e-3));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_NECO_SEED, 11));
    df_dataset *d;
    ck_assert_ok(df_dataset_open(images, NULL, NULL, &d));
    df_neco *t;
    ck_assert_ok(df_neco_new(model, 0, o, &t));
    pin_list *got = calloc(1, sizeof *got);
    step_log log = {got, "neco", df_neco_trainer(t), 1, 0};
    if (run.resume_at) { /* in steps: stopped there, then loaded with the backbone on the CPU */
        log.stop_at = run.resume_at;
        ck_assert_fails_with(df_neco_train(t, d, 2, 4, saved, 0, record_step, &log), DF_E_CANCELLED, "df_neco_train");
        df_neco_free(t), df_model_free(model);
        model = open_tiny_model("dinov2_s14_reg4.pth");
        ck_assert_ok(df_neco_load(saved, model, &t));
        log.trainer = df_neco_trainer(t), log.stop_at = 0;
    }
    ck_assert_ok(df_neco_train(t, d, 2, 4, NULL, 0, record_step, &log));
    ck_assert_ok(df_neco_export(t, exported));
    df_options *heads;
    df_model *trained;
    ck_assert_ok(df_options_new(&heads));
    ck_assert_ok(df_options_set_int(heads, DF_PARAM_MODEL_HEADS, 2));
    ck_assert_ok(df_model_open(exported, NULL, heads, &trained));
    df_image *image;
    df_tensor *x;
    df_forward *f;
    const df_tensor *patch;
    ck_assert_ok(df_image_load(first, NULL, &image));
    ck_assert_ok(df_image_to_tensor(image, NULL, NULL, &x));
    ck_assert_ok(df_model_forward(trained, x, DF_OUTPUT_PATCH, &f));
    ck_assert_ok(df_forward_output(f, DF_OUTPUT_PATCH, &patch));
    const size_t count = (size_t)df_tensor_numel(patch);
    float *values = malloc(count * sizeof *values);
    ck_assert_ok(df_tensor_copy_to_host(patch, values, count));
    pin_weights(got, "exported.patch_features", values, count);
    check_pins("neco.txt", got, PIN_RTOL);
    free(values), free(got);
    df_forward_free(f), df_tensor_free(x), df_image_free(image), df_model_free(trained), df_options_free(heads);
    df_neco_free(t), df_dataset_free(d), df_options_free(o), df_model_free(model);
    remove_tree(root);
}

START_TEST(test_neco_training_as_pinned) { neco_as_pinned((pin_run){"cpu", 0}); }
END_TEST

/* Stopped after step 3 (the checkpoint written at the stop), loaded and finished. */
START_TEST(test_neco_resumed_training_as_pinned) { neco_as_pinned((pin_run){"cpu", 3}); }
END_TEST

START_TEST(test_neco_cuda_training_as_pinned) {
    if (!cuda_runs()) return;
    neco_as_pinned((pin_run){"cuda:0", 0});
    neco_as_pinned((pin_run){"cuda:0", 3});
}
END_TEST

/* What view's losses are called, as one comma-separated string. */
static void loss_names(const df_trainer *view, char *text, size_t size) {
    const char *names[8];
    double values[8];
    size_t count = 0;
    ck_assert_ok(df_trainer_losses(view, values, names, 8, &count));
    text[0] = '\0';
    for (size_t i = 0; i < count; i++) {
        ck_assert_double_eq(values[i], 0.0); /* before the first step */
        snprintf(text + strlen(text), size - strlen(text), "%s%s", i ? "," : "", names[i]);
    }
}

/* Where trainers compute: a name that is no device, a device this build or machine lacks (the
 * message says which setting and why), the move to the CPU, NeCo's refusal to move. */
static void check_trainer_devices(df_stego *stego, df_sempart *sempart, df_neco *neco) {
    df_options *on;
    df_stego *no_stego = NULL;
    df_sempart *no_sempart = NULL;
    ck_assert_ok(df_options_new(&on));
    ck_assert_ok(df_options_set_str(on, DF_PARAM_STEGO_DEVICE, "gpu"));
    ck_assert_fails_with(df_stego_new(16, on, &no_stego), DF_E_INVALID_ARG, "df_stego_new");
    ck_assert_ok(df_options_set_str(on, DF_PARAM_STEGO_DEVICE, "cuda:63"));
    ck_assert_fails_with(df_stego_new(16, on, &no_stego), DF_E_UNSUPPORTED, "df_stego_new");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "stego.device cuda:63: "));
    ck_assert_ok(df_options_set_str(on, DF_PARAM_SEMPART_DEVICE, "cuda:63"));
    ck_assert_fails_with(df_sempart_new(16, 4, 4, on, &no_sempart), DF_E_UNSUPPORTED, "df_sempart_new");
    ck_assert_ptr_nonnull(strstr(df_last_error_message(), "sempart.device cuda:63: "));
    int available = 1;
    ck_assert_ok(df_device_available("cuda", &available));
    if (!available) { /* this build or machine: the message says which */
        ck_assert_fails_with(df_trainer_to(df_stego_trainer(stego), "cuda"), DF_E_UNSUPPORTED, "df_trainer_to");
        ck_assert_ptr_nonnull(strstr(df_last_error_message(), "CUDA is not available: this build's libtorch"));
    }
    ck_assert_ok(df_trainer_to(df_stego_trainer(stego), "cpu"));
    ck_assert_ok(df_trainer_to(df_sempart_trainer(sempart), "cpu"));
    ck_assert_fails_with(df_trainer_to(df_sempart_trainer(sempart), "cuda:63"), DF_E_UNSUPPORTED, "df_trainer_to");
    ck_assert_fails_with(df_trainer_to(df_neco_trainer(neco), "cpu"), DF_E_UNSUPPORTED, "df_trainer_to");
    ck_assert_fails_with(df_trainer_to(NULL, "cpu"), DF_E_INVALID_ARG, "df_trainer_to");
    ck_assert_fails_with(df_trainer_to(df_stego_trainer(stego), NULL), DF_E_INVALID_ARG, "df_trainer_to");
    df_options_free(on);
}

/* The view every trainer shares: steps, losses by name, saving; and its refusals. */
START_TEST(test_trainer_view) {
    char root[] = "/tmp/dinofeat_view_XXXXXX", path[600], names[256];
    ck_assert_ptr_nonnull(mkdtemp(root));
    snprintf(path, sizeof path, "%s/t.dfstego", root);
    df_stego *stego, *loaded;
    df_sempart *sempart;
    df_neco *neco;
    df_model *model = open_tiny_model("dinov2_s14_reg4.pth");
    ck_assert_ok(df_stego_new(16, NULL, &stego));
    ck_assert_ok(df_sempart_new(16, 4, 4, NULL, &sempart));
    ck_assert_ok(df_neco_new(model, 10, NULL, &neco));
    loss_names(df_stego_trainer(stego), names, sizeof names);
    ck_assert_str_eq(names, "self,knn,random,total,cluster,linear");
    loss_names(df_sempart_trainer(sempart), names, sizeof names);
    ck_assert_str_eq(names, "ncut,gtv_coarse,gtv_fine,sr,total");
    loss_names(df_neco_trainer(neco), names, sizeof names);
    ck_assert_str_eq(names, "loss");
    size_t count = 9;
    ck_assert_ok(df_trainer_losses(df_stego_trainer(stego), NULL, NULL, 0, &count)); /* the count alone */
    ck_assert_uint_eq(count, 6);
    int64_t steps = -1;
    ck_assert_ok(df_trainer_steps(df_neco_trainer(neco), &steps));
    ck_assert_int_eq(steps, 0);
    ck_assert_ok(df_trainer_save(df_stego_trainer(stego), path));
    ck_assert_ok(df_stego_load(path, &loaded));
    ck_assert_ok(df_trainer_steps(df_stego_trainer(loaded), &steps));
    ck_assert_int_eq(steps, 0);
    ck_assert_ptr_null(df_stego_trainer(NULL));
    ck_assert_ptr_null(df_sempart_trainer(NULL));
    ck_assert_ptr_null(df_neco_trainer(NULL));
    ck_assert_fails_with(df_trainer_steps(NULL, &steps), DF_E_INVALID_ARG, "df_trainer_steps");
    ck_assert_fails_with(df_trainer_steps(df_stego_trainer(stego), NULL), DF_E_INVALID_ARG, "df_trainer_steps");
    ck_assert_fails_with(df_trainer_losses(NULL, NULL, NULL, 0, &count), DF_E_INVALID_ARG, "df_trainer_losses");
    ck_assert_fails_with(df_trainer_losses(df_stego_trainer(stego), NULL, NULL, 0, NULL), DF_E_INVALID_ARG,
                         "df_trainer_losses");
    ck_assert_fails_with(df_trainer_save(NULL, path), DF_E_INVALID_ARG, "df_trainer_save");
    ck_assert_fails_with(df_trainer_save(df_stego_trainer(stego), NULL), DF_E_INVALID_ARG, "df_trainer_save");
    snprintf(path, sizeof path, "%s/missing/t.dfstego", root);
    ck_assert_fails_with(df_trainer_save(df_stego_trainer(stego), path), DF_E_IO, "df_trainer_save");
    check_trainer_devices(stego, sempart, neco);
    df_stego_free(stego), df_stego_free(loaded), df_sempart_free(sempart), df_neco_free(neco), df_model_free(model);
    remove_tree(root);
}
END_TEST

Suite *trainer_pins_suite(void) {
    Suite *s = suite_create("trainer_pins");
    TCase *tc = tcase_create("pins");
    tcase_set_timeout(tc, HANG_GUARD_SECONDS);
    tcase_add_test(tc, test_stego_training_as_pinned);
    tcase_add_test(tc, test_stego_resumed_training_as_pinned);
    tcase_add_test(tc, test_stego_cuda_training_as_pinned);
    tcase_add_test(tc, test_sempart_training_as_pinned);
    tcase_add_test(tc, test_sempart_resumed_training_as_pinned);
    tcase_add_test(tc, test_sempart_cuda_training_as_pinned);
    tcase_add_test(tc, test_neco_training_as_pinned);
    tcase_add_test(tc, test_neco_resumed_training_as_pinned);
    tcase_add_test(tc, test_neco_cuda_training_as_pinned);
    tcase_add_test(tc, test_trainer_view);
    suite_add_tcase(s, tc);
    return s;
}
