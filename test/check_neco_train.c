/* NeCo post-pretraining on a tiny DINOv2 with registers: a 30-step run whose loss falls and whose
 * exported backbone df_model_open reads with changed features; kill-and-resume equal to an
 * uninterrupted run; save / load / export and their failure paths. */
#include "check_common.h"

#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* 32 images of 64 x 64: a bright disc on a textured background, at places and colours varying
 * with the index. */
static void write_images(const char *directory, int count) {
    for (int n = 0; n < count; n++) {
        df_image *image;
        ck_assert_ok(df_image_new(64, 64, 3, 8, &image));
        unsigned char *px = df_image_pixels(image);
        const double cx = 16 + (n * 7) % 32, cy = 16 + (n * 13) % 32, r = 8 + n % 9;
        for (int y = 0; y < 64; y++)
            for (int x = 0; x < 64; x++) {
                const int inside = (x - cx) * (x - cx) + (y - cy) * (y - cy) < r * r;
                unsigned char *p = px + 3 * (y * 64 + x);
                p[0] = inside ? (unsigned char)(200 + n) : (unsigned char)(40 + 30 * sin(x * 0.5 + n));
                p[1] = inside ? (unsigned char)(60 + 5 * n) : (unsigned char)(60 + 30 * cos(y * 0.4));
                p[2] = inside ? 30 : (unsigned char)(90 + (x ^ y) % 40);
            }
        char path[512];
        snprintf(path, sizeof path, "%s/%03d.png", directory, n);
        ck_assert_ok(df_image_save_png(image, path));
        df_image_free(image);
    }
}

static df_options *tiny_options(void) {
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_NECO_GLOBAL_SIZE, 56));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_NECO_LOCAL_SIZE, 28));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_NECO_HEAD_HIDDEN, 32));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_NECO_HEAD_OUT, 16));
    /* a tiny random backbone learns in 30 steps only at rates far above the paper's */
    ck_assert_ok(df_options_set_float(o, DF_PARAM_NECO_LR_HEAD, 1e-3));
    ck_assert_ok(df_options_set_float(o, DF_PARAM_NECO_LR_BACKBONE, 1e-3));
    ck_assert_ok(df_options_set_int(o, DF_PARAM_NECO_SEED, 3));
    return o;
}

typedef struct loss_log {
    df_neco *trainer;
    double losses[64];
    size_t count, stop_after;
} loss_log;

static int record_loss(void *user, uint64_t done, uint64_t total, const char *stage) {
    (void)total, (void)stage;
    loss_log *log = user;
    ck_assert_ok(df_neco_last_loss(log->trainer, &log->losses[log->count]));
    log->count++;
    return log->stop_after && done >= log->stop_after;
}

static void patch_tokens(df_model *model, const df_tensor *images, float *out, size_t count) {
    df_forward *f;
    const df_tensor *patch;
    ck_assert_ok(df_model_forward(model, images, DF_OUTPUT_PATCH, &f));
    ck_assert_ok(df_forward_output(f, DF_OUTPUT_PATCH, &patch));
    ck_assert_ok(df_tensor_copy_to_host(patch, out, count));
    df_forward_free(f);
}

START_TEST(test_neco_train_loss_falls_and_exports) {
    char root[] = "/tmp/dinofeat_neco_XXXXXX", images[600], exported[600];
    ck_assert_ptr_nonnull(mkdtemp(root));
    snprintf(images, sizeof images, "%s/images", root);
    snprintf(exported, sizeof exported, "%s/neco.safetensors", root);
    ck_assert_int_eq(mkdir(images, 0755), 0);
    write_images(images, 32);
    df_model *model = open_tiny_model("dinov2_s14_reg4.pth");
    df_options *o = tiny_options();
    df_dataset *dataset;
    ck_assert_ok(df_dataset_open(images, NULL, NULL, &dataset));
    df_neco *trainer;
    ck_assert_ok(df_neco_new(model, 0, o, &trainer));
    loss_log log = {trainer, {0}, 0, 0};
    ck_assert_ok(df_neco_train(trainer, dataset, 15, 16, NULL, 0, record_loss, &log));
    ck_assert_uint_eq(log.count, 30);
    double first = 0, last = 0;
    for (int i = 0; i < 10; i++) first += log.losses[i] / 10, last += log.losses[20 + i] / 10;
    printf("neco tiny run: mean loss of steps 1-10 %.4f, of steps 21-30 %.4f\n", first, last);
    ck_assert_msg(last < first, "the loss did not fall: %g then %g", first, last);

    ck_assert_ok(df_neco_export(trainer, exported));
    df_options *heads;
    ck_assert_ok(df_options_new(&heads));
    ck_assert_ok(df_options_set_int(heads, DF_PARAM_MODEL_HEADS, 2));
    df_model *trained;
    ck_assert_ok(df_model_open(exported, NULL, heads, &trained));
    int64_t registers;
    const char *interp;
    ck_assert_ok(df_model_info_int(trained, DF_MODEL_INFO_REGISTERS, &registers));
    ck_assert_int_eq(registers, 4);
    ck_assert_ok(df_model_info_str(trained, DF_MODEL_INFO_POS_INTERP, &interp));
    ck_assert_str_eq(interp, "size_aa");
    df_image *image;
    df_tensor *x;
    char first_image[700];
    snprintf(first_image, sizeof first_image, "%s/000.png", images);
    ck_assert_ok(df_image_load(first_image, NULL, &image));
    ck_assert_ok(df_image_to_tensor(image, NULL, NULL, &x));
    enum { N = 4 * 4 * 16 };
    float before[N], after[N];
    patch_tokens(model, x, before, N);
    patch_tokens(trained, x, after, N);
    double change = 0;
    for (int i = 0; i < N; i++) change = fmax(change, fabs(after[i] - before[i]));
    ck_assert_msg(change > 1e-3, "the exported backbone gives the starting features (largest change %g)", change);
    df_tensor_free(x), df_image_free(image), df_model_free(trained), df_options_free(heads);
    df_neco_free(trainer), df_dataset_free(dataset), df_options_free(o), df_model_free(model);
    remove_tree(root);
}
END_TEST

/* Cancelled after step 3 of 6 with a checkpoint every 2 steps: the checkpoint of step 2, loaded
 * and trained to the end, equals six straight steps, bit for bit (the exports compared). */
START_TEST(test_neco_resume_equals_straight_run) {
    char root[] = "/tmp/dinofeat_neco_resume_XXXXXX", images[600], path[600], a[600], b[600];
    ck_assert_ptr_nonnull(mkdtemp(root));
    snprintf(images, sizeof images, "%s/images", root);
    snprintf(path, sizeof path, "%s/run.dfneco", root);
    snprintf(a, sizeof a, "%s/a.safetensors", root);
    snprintf(b, sizeof b, "%s/b.safetensors", root);
    ck_assert_int_eq(mkdir(images, 0755), 0);
    write_images(images, 12);
    df_model *model = open_tiny_model("dinov2_s14_reg4.pth");
    df_options *o = tiny_options();
    ck_assert_ok(df_options_set_int(o, DF_PARAM_NECO_QUEUE, 4 * 49));
    /* not the default: a resumed run that lost it would take other steps */
    ck_assert_ok(df_options_set_float(o, DF_PARAM_NECO_ADAM_EPS, 1e-3));
    df_dataset *dataset;
    ck_assert_ok(df_dataset_open(images, NULL, NULL, &dataset));
    df_neco *straight, *cancelled, *resumed;
    ck_assert_ok(df_neco_new(model, 0, o, &straight));
    ck_assert_ok(df_neco_train(straight, dataset, 2, 4, NULL, 0, NULL, NULL));
    ck_assert_ok(df_neco_export(straight, a));
    ck_assert_ok(df_neco_new(model, 0, o, &cancelled));
    loss_log log = {cancelled, {0}, 0, 3};
    ck_assert_fails_with(df_neco_train(cancelled, dataset, 2, 4, path, 2, record_loss, &log), DF_E_CANCELLED,
                         "df_neco_train");
    ck_assert_ok(df_neco_load(path, model, &resumed));
    int64_t steps; /* the checkpoint written at the stop */
    ck_assert_ok(df_neco_steps(resumed, &steps));
    ck_assert_int_eq(steps, 3);
    ck_assert_fails_with(df_neco_train(resumed, dataset, 3, 4, NULL, 0, NULL, NULL), DF_E_INVALID_ARG, "df_neco_train");
    ck_assert_fails_with(df_neco_train(resumed, dataset, 2, 3, NULL, 0, NULL, NULL), DF_E_INVALID_ARG, "df_neco_train");
    ck_assert_ok(df_neco_train(resumed, dataset, 2, 4, NULL, 0, NULL, NULL));
    ck_assert_ok(df_neco_export(resumed, b));
    double la, lb;
    ck_assert_ok(df_neco_last_loss(straight, &la));
    ck_assert_ok(df_neco_last_loss(resumed, &lb));
    ck_assert_double_eq(la, lb);
    size_t sa, sb;
    unsigned char *da = read_fixture_from("", a, &sa), *db = read_fixture_from("", b, &sb);
    ck_assert_ptr_nonnull(da);
    ck_assert_ptr_nonnull(db);
    ck_assert_uint_eq(sa, sb);
    ck_assert_int_eq(memcmp(da, db, sa), 0);
    free(da), free(db);

    /* another backbone is refused; a corrupt file is a format error */
    df_model *other = open_tiny_model("dinov2_s14.pth");
    df_neco *refused = (df_neco *)1;
    ck_assert_fails_with(df_neco_load(path, other, &refused), DF_E_INVALID_ARG, "df_neco_load");
    ck_assert_ptr_null(refused);
    FILE *f = fopen(path, "r+b");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(ftruncate(fileno(f), 100), 0);
    fclose(f);
    ck_assert_fails_with(df_neco_load(path, model, &refused), DF_E_FORMAT, "df_neco_load");
    df_model_free(other);
    df_neco_free(straight), df_neco_free(cancelled), df_neco_free(resumed);
    df_dataset_free(dataset), df_options_free(o), df_model_free(model);
    remove_tree(root);
}
END_TEST

START_TEST(test_neco_trainer_errors) {
    df_model *model = open_tiny_model("dinov2_s14_reg4.pth");
    df_options *o = tiny_options();
    df_neco *t = (df_neco *)1;
    ck_assert_fails_with(df_neco_new(NULL, 0, o, &t), DF_E_INVALID_ARG, "df_neco_new");
    ck_assert_ptr_null(t);
    ck_assert_ok(df_options_set_int(o, DF_PARAM_NECO_LOCAL_SIZE, 30));
    ck_assert_fails_with(df_neco_new(model, 0, o, &t), DF_E_INVALID_ARG, "df_neco_new");
    ck_assert_ok(df_options_set_int(o, DF_PARAM_NECO_LOCAL_SIZE, 28));
    ck_assert_ok(df_neco_new(model, 0, o, &t));
    df_image *image;
    ck_assert_ok(df_image_new(40, 40, 3, 8, &image));
    const df_image *batch[1] = {image};
    double loss;
    ck_assert_fails_with(df_neco_step(t, batch, 1, &loss), DF_E_INVALID_ARG, "df_neco_step");
    ck_assert_fails_with(df_neco_step(t, batch, 0, &loss), DF_E_INVALID_ARG, "df_neco_step");
    ck_assert_fails_with(df_neco_step(NULL, batch, 1, &loss), DF_E_INVALID_ARG, "df_neco_step");
    df_neco_free(t);
    ck_assert_ok(df_neco_new(model, 4, o, &t));
    ck_assert_ok(df_neco_step(t, batch, 1, &loss));
    ck_assert(isfinite(loss) && loss > 0);
    int64_t steps;
    ck_assert_ok(df_neco_steps(t, &steps));
    ck_assert_int_eq(steps, 1);
    ck_assert_fails_with(df_neco_steps(t, NULL), DF_E_INVALID_ARG, "df_neco_steps");
    ck_assert_fails_with(df_neco_last_loss(NULL, &loss), DF_E_INVALID_ARG, "df_neco_last_loss");
    ck_assert_fails_with(df_neco_train(t, NULL, 1, 1, NULL, 0, NULL, NULL), DF_E_INVALID_ARG, "df_neco_train");
    ck_assert_fails_with(df_neco_save(t, NULL), DF_E_INVALID_ARG, "df_neco_save");
    ck_assert_fails_with(df_neco_save(t, "/nonexistent/dir/x.dfneco"), DF_E_IO, "df_neco_save");
    ck_assert_fails_with(df_neco_export(NULL, "x"), DF_E_INVALID_ARG, "df_neco_export");
    ck_assert_fails_with(df_neco_export(t, "/nonexistent/dir/x.safetensors"), DF_E_IO, "df_neco_export");
    df_neco *loaded = (df_neco *)1;
    ck_assert_fails_with(df_neco_load("/nonexistent.dfneco", model, &loaded), DF_E_IO, "df_neco_load");
    ck_assert_ptr_null(loaded);
    ck_assert_fails_with(df_neco_load("fixtures/models/dino_s8.pth", model, &loaded), DF_E_FORMAT, "df_neco_load");
    df_neco_free(t), df_neco_free(NULL);
    df_image_free(image), df_options_free(o), df_model_free(model);
}
END_TEST


/* Before any step the exported student is the starting backbone: the same features, to float32
 * rounding, for DINO and for DINOv2 with registers (names, registers and position embedding kept). */
START_TEST(test_neco_export_before_training_is_the_backbone) {
    const char *files[2] = {"dino_s8.pth", "dinov2_s14_reg4.pth"};
    char root[] = "/tmp/dinofeat_neco_export_XXXXXX", path[600];
    ck_assert_ptr_nonnull(mkdtemp(root));
    snprintf(path, sizeof path, "%s/start.safetensors", root);
    for (int k = 0; k < 2; k++) {
        df_model *model = open_tiny_model(files[k]), *exported;
        df_options *o = tiny_options();
        if (k == 0) {
            ck_assert_ok(df_options_set_int(o, DF_PARAM_NECO_GLOBAL_SIZE, 64));
            ck_assert_ok(df_options_set_int(o, DF_PARAM_NECO_LOCAL_SIZE, 32));
        }
        df_neco *trainer;
        ck_assert_ok(df_neco_new(model, 10, o, &trainer));
        ck_assert_ok(df_neco_export(trainer, path));
        /* the file records its 2 heads (dim 16 alone would not give them) */
        ck_assert_ok(df_model_open(path, NULL, NULL, &exported));
        int64_t recorded_heads = 0;
        ck_assert_ok(df_model_info_int(exported, DF_MODEL_INFO_HEADS, &recorded_heads));
        ck_assert_int_eq(recorded_heads, 2);
        const int64_t shape[4] = {1, 3, 56, 56};
        float pixels[3 * 56 * 56];
        for (int i = 0; i < 3 * 56 * 56; i++) pixels[i] = (float)sin(i * 0.01);
        df_tensor *x;
        ck_assert_ok(df_tensor_from_host(pixels, 4, shape, &x));
        enum { N = 7 * 7 * 16 };
        float want[N], got[N];
        const size_t n = k == 0 ? 7 * 7 * 16 : 4 * 4 * 16;
        patch_tokens(model, x, want, n);
        patch_tokens(exported, x, got, n);
        for (size_t i = 0; i < n; i++) ck_assert_float_eq_tol(got[i], want[i], 1e-5);
        df_tensor_free(x), df_model_free(exported);
        df_neco_free(trainer), df_options_free(o), df_model_free(model);
    }
    remove_tree(root);
}
END_TEST

#define NECO_STEP_DIR "fixtures/neco_step/"

typedef struct step_reference {
    df_image *images[4];
    size_t image_count, steps, total, parameters;
    double losses[8];
    char names[256][64];
    size_t numel[256];
} step_reference;

/* An option named neco.KEY set from its text, with the key's type. */
static void set_neco_option(df_options *o, const char *key, const char *value) {
    char name[96];
    snprintf(name, sizeof name, "neco.%s", key);
    df_param param;
    df_param_type type;
    ck_assert_ok(df_param_from_name(name, &param));
    ck_assert_ok(df_param_type_of(param, &type));
    if (type == DF_PARAM_TYPE_INT) ck_assert_ok(df_options_set_int(o, param, strtoll(value, NULL, 10)));
    else ck_assert_ok(df_options_set_float(o, param, strtod(value, NULL)));
}

static void read_step_reference(step_reference *r, df_options *o) {
    FILE *m = fopen(NECO_STEP_DIR "manifest.txt", "r");
    ck_assert_ptr_nonnull(m);
    char line[256], a[64], b[64];
    unsigned h, w;
    size_t step;
    double loss;
    memset(r, 0, sizeof *r);
    while (fgets(line, sizeof line, m)) {
        if (sscanf(line, "image %63s %u %u", a, &h, &w) == 3) {
            ck_assert_uint_lt(r->image_count, 4);
            char file[96];
            snprintf(file, sizeof file, "%s.rgb.u8", a);
            size_t size;
            unsigned char *bytes = read_fixture_from(NECO_STEP_DIR, file, &size);
            ck_assert_ptr_nonnull(bytes);
            ck_assert_uint_eq(size, (size_t)h * w * 3);
            df_image *image;
            ck_assert_ok(df_image_new(w, h, 3, 8, &image));
            memcpy(df_image_pixels(image), bytes, size);
            free(bytes);
            r->images[r->image_count++] = image;
        } else if (sscanf(line, "settings %63s %63s", a, b) == 2) {
            set_neco_option(o, a, b);
        } else if (sscanf(line, "steps %zu %zu", &r->steps, &r->total) == 2) {
        } else if (sscanf(line, "loss %zu %lf", &step, &loss) == 2) {
            ck_assert(step >= 1 && step <= 8);
            r->losses[step - 1] = loss;
        } else if (sscanf(line, "param %63s %zu", a, &step) == 2) {
            ck_assert_uint_lt(r->parameters, 256);
            snprintf(r->names[r->parameters], sizeof r->names[0], "%s", a);
            r->numel[r->parameters++] = step;
        }
    }
    fclose(m);
    ck_assert(r->steps >= 1 && r->steps <= 8 && r->total >= r->steps && r->parameters > 0);
}

/* The per-parameter states of a .dfneco file (its documented layout: magic, version, header
 * length, header, then student, teacher, m, v of each parameter): one float array. */
static float *saved_states(df_neco *trainer, size_t floats) {
    char path[] = "/tmp/dinofeat_neco_step_XXXXXX";
    const int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_ok(df_neco_save(trainer, path));
    size_t size;
    unsigned char *bytes = read_fixture_from("", path, &size);
    remove(path);
    ck_assert_ptr_nonnull(bytes);
    ck_assert_int_eq(memcmp(bytes, "DFNECO01", 8), 0);
    uint32_t header;
    memcpy(&header, bytes + 12, 4);
    ck_assert_uint_ge(size, 16 + (size_t)header + floats * 4);
    float *states = malloc(floats * 4);
    memcpy(states, bytes + 16 + header, floats * 4);
    free(bytes);
    return states;
}

/* Largest |got - want| over n values, and the largest |want|. */
static double worst_difference(const float *got, const float *want, size_t n, size_t stride_got, double *scale) {
    double worst = 0;
    *scale = 0;
    for (size_t i = 0; i < n; i++) {
        worst = fmax(worst, fabs((double)got[i * stride_got] - want[i]));
        *scale = fmax(*scale, fabs((double)want[i]));
    }
    return worst;
}

/* Three steps of df_neco_step against the official step written in PyTorch
 * (test/reference/make_neco_step_fixtures.py: the views from the seeds the library draws, the
 * backbone, head, ROI align, references, the loss, AdamW's four groups with their cosine
 * schedules, the teacher's EMA), with Adam's eps 1 so that each update follows the gradient's
 * size, and drop-path 0: the head's initial draws exactly, every step's loss, and after the last
 * step the student, teacher and AdamW's moments of every parameter.
 * A gradient is a float32 backward pass: each layer's backward rounds again what the forward
 * rounded, so its relative error is held to F32_BACKWARD_RTOL of each tensor's largest value, the
 * student's and teacher's values and m (linear in the gradient, an update being about lr x m with
 * eps 1) likewise, v (the gradient squared) to twice that. Measured on an AMD EPYC: 4e-5 at most
 * (the head's last bias), at 1 or 2 threads and every OpenBLAS core type. */
START_TEST(test_neco_steps_match_reference) {
    df_options *o;
    ck_assert_ok(df_options_new(&o));
    static step_reference r;
    read_step_reference(&r, o);
    df_model *model = open_tiny_model("dinov2_s14.pth");
    df_neco *trainer;
    ck_assert_ok(df_neco_new(model, r.total, o, &trainer));
    size_t total = 0;
    for (size_t i = 0; i < r.parameters; i++) total += r.numel[i];
    size_t size;
    float *initial = (float *)read_fixture_from(NECO_STEP_DIR, "initial.f32", &size);
    ck_assert_ptr_nonnull(initial);
    ck_assert_uint_eq(size, total * 4);
    float *start = saved_states(trainer, 4 * total);
    for (size_t i = 0, at = 0; i < r.parameters; at += r.numel[i], i++) /* the student's values, in order */
        for (size_t k = 0; k < r.numel[i]; k++)
            ck_assert_msg(start[4 * at + k] == initial[at + k], "%s[%zu] starts at %.9g, the reference at %.9g",
                          r.names[i], k, start[4 * at + k], initial[at + k]);
    for (size_t step = 0; step < r.steps; step++) {
        double loss;
        ck_assert_ok(df_neco_step(trainer, (const df_image *const *)r.images, r.image_count, &loss));
        fprintf(stderr, "neco step %zu: loss %.10f, reference %.10f\n", step + 1, loss, r.losses[step]);
        /* float32 sums of one loss: F32_FORWARD_RTOL of its size */
        ck_assert_msg(fabs(loss - r.losses[step]) <= F32_FORWARD_RTOL * fabs(r.losses[step]),
                      "step %zu: loss %.10f, reference %.10f", step + 1, loss, r.losses[step]);
    }
    float *got = saved_states(trainer, 4 * total);
    float *want = (float *)read_fixture_from(NECO_STEP_DIR, "state.f32", &size);
    ck_assert_ptr_nonnull(want);
    ck_assert_uint_eq(size, total * 4 * 4);
    static const char *kinds[4] = {"student", "teacher", "m", "v"};
    double worst_kind[4] = {0}, worst_change = 0;
    for (size_t i = 0, at = 0; i < r.parameters; at += r.numel[i], i++) {
        const size_t n = r.numel[i];
        for (int kind = 0; kind < 4; kind++) {
            double scale;
            const double worst = worst_difference(got + 4 * at + (size_t)kind * n, want + 4 * at + (size_t)kind * n, n,
                                                  1, &scale);
            const double relative = worst / fmax(scale, 1e-30);
            worst_kind[kind] = fmax(worst_kind[kind], relative);
            ck_assert_msg(relative <= (kind == 3 ? 2 : 1) * F32_BACKWARD_RTOL,
                          "%s of %s: largest difference %g of scale %g", kinds[kind], r.names[i], worst, scale);
        }
        /* the student's change, held to its own size: the steps did what the reference's did */
        double change_worst = 0, change_scale = 0;
        for (size_t k = 0; k < n; k++) {
            const double want_change = (double)want[4 * at + k] - initial[at + k];
            const double got_change = (double)got[4 * at + k] - initial[at + k];
            change_worst = fmax(change_worst, fabs(got_change - want_change));
            change_scale = fmax(change_scale, fabs(want_change));
        }
        ck_assert_msg(change_scale > 0, "%s did not move", r.names[i]);
        worst_change = fmax(worst_change, change_worst / change_scale);
        ck_assert_msg(change_worst <= F32_BACKWARD_RTOL * change_scale,
                      "%s moved by up to %g as the reference did, largest difference %g", r.names[i], change_scale,
                      change_worst);
    }
    fprintf(stderr, "neco steps: largest relative differences student %.2g teacher %.2g m %.2g v %.2g, change %.2g\n",
            worst_kind[0], worst_kind[1], worst_kind[2], worst_kind[3], worst_change);
    free(initial), free(start), free(got), free(want);
    df_neco_free(trainer);
    for (size_t i = 0; i < r.image_count; i++) df_image_free(r.images[i]);
    df_model_free(model);
    df_options_free(o);
}
END_TEST

Suite *neco_train_suite(void) {
    Suite *s = suite_create("neco_train");
    TCase *tc = tcase_create("train");
    tcase_set_timeout(tc, HANG_GUARD_SECONDS);
    tcase_add_test(tc, test_neco_trainer_errors);
    tcase_add_test(tc, test_neco_steps_match_reference);
    tcase_add_test(tc, test_neco_export_before_training_is_the_backbone);
    tcase_add_test(tc, test_neco_resume_equals_straight_run);
    tcase_add_test(tc, test_neco_train_loss_falls_and_exports);
    suite_add_tcase(s, tc);
    return s;
}
